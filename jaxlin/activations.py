"""Activations ``g(z)`` and their derivatives.

Every activation acts on the scores of one example, ``z`` of shape ``(K,)`` (or
any shape, element-wise, except softmax which normalises over the last axis).
Each derivative sits right under its activation.
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np


def numeric_argument(a, name: str, fn: str):
    """An argument of a pure function as it can be computed on: floating JAX arrays (and
    tracers) and NumPy arrays as given; lists and tuples as NumPy arrays; Python and NumPy
    scalars as JAX scalars (``step(0.0)`` compared two Python floats); integers and booleans
    as the default float type (``sigmoid(0)`` met XLA's refusal of an integer). Text, objects
    and complex numbers are refused with an error naming ``fn`` and ``name`` (JAX's own error
    came from deep inside it)."""
    if isinstance(a, (list, tuple)):
        a = np.asarray(a)
    if not isinstance(a, jax.Array):
        kind = "U" if isinstance(a, (str, bytes)) else np.asarray(a).dtype.kind
        if kind not in "biuf":
            raise TypeError(f"{fn}: {name} must be numbers, got {type(a).__name__} {a!r:.60}")
        if not isinstance(a, np.ndarray):
            a = jnp.asarray(a)
    if not jnp.issubdtype(a.dtype, jnp.floating):
        a = a.astype(jax.dtypes.canonicalize_dtype(np.float64))
    return a


def check_scores_axis(z, fn: str, name: str = "z"):
    """A function over the last axis (softmax, entropy, the multi-class losses) needs one of
    at least one entry: a scalar or an empty axis is named, not an ``IndexError`` from
    inside JAX."""
    if np.ndim(z) == 0 or np.shape(z)[-1] == 0:
        raise ValueError(
            f"{fn}: {name} needs its values along a last axis (the K classes), got shape "
            f"{np.shape(z)}"
        )


def takes_numbers(fn):
    """``fn``'s arguments (positional, or by their names: ``step(z, threshold=t)``) through
    ``numeric_argument`` (at trace time under ``jit``: no cost in a compiled program)."""
    names = fn.__code__.co_varnames[: fn.__code__.co_argcount]

    @functools.wraps(fn)
    def checked(*args, **kwargs):
        kwargs = {
            n: numeric_argument(a, n, fn.__name__) if n in names else a for n, a in kwargs.items()
        }
        return fn(*(numeric_argument(a, n, fn.__name__) for a, n in zip(args, names)), **kwargs)

    return checked


@takes_numbers
def identity(z):
    """Identity (linear neuron): ``g(z) = z``."""
    return z


@takes_numbers
def identity_grad(z):
    """``g'(z) = 1``."""
    return jnp.ones_like(z)


@takes_numbers
def step(z, threshold=0.0):
    """Threshold / step (perceptron): ``g(z) = 1[z > t]`` as floats in {0, 1}.

    >>> step(jnp.array([-1.0, 0.0, 2.0])).tolist()
    [0.0, 0.0, 1.0]
    """
    return (z > threshold).astype(jnp.result_type(z, jnp.float32))


@takes_numbers
def step_grad(z, threshold=0.0):
    """``g'(z) = 0`` almost everywhere (undefined at ``z = t``; we return 0).

    This is why the perceptron rule is not a gradient of the step objective:
    see ``step_straight_through`` (correction E1).
    """
    return jnp.zeros_like(z)


@takes_numbers
def step_straight_through(z, threshold=0.0):
    """The step in the forward pass, the identity in the backward pass.

    ``value = step(z)``, ``d value / dz = 1`` under autodiff. Differentiating the
    squared error through this surrogate gives exactly the perceptron rule
    ``-2 (y - step(z))``, so autodiff can check that rule.
    """
    return z + jax.lax.stop_gradient(step(z, threshold) - z)


@takes_numbers
def sigmoid(z):
    """Logistic sigmoid ``σ(z) = 1 / (1 + e^(−z))``, XLA's stable ``logistic``.

    (``jax.nn.sigmoid`` computes the same, as a separately traced ``jit``: calling the
    primitive directly keeps every program that uses it faster to trace.)
    """
    return jax.lax.logistic(z)


@takes_numbers
def log_sigmoid(z):
    """``ln σ(z) = −softplus(−z) = −ln(1 + e^(−z))``, finite for any finite ``z``."""
    return -jnp.logaddexp(-z, 0.0)


@takes_numbers
def sigmoid_grad(z):
    """``σ'(z) = σ(z) (1 − σ(z))``, computed as ``σ(z) σ(−z)`` (no cancellation for large ``z``)."""
    return sigmoid(z) * sigmoid(-z)


@takes_numbers
def softmax(z):
    """Softmax over the last axis: ``s_j = e^(z_j) / Σ_k e^(z_k)``.

    Shifted by ``max z`` so large scores do not overflow.

    >>> tuple(round(float(s), 6) for s in softmax(jnp.array([1.0, 2.0, 3.0, 2.0, 1.0])))
    (0.067451, 0.18335, 0.498398, 0.18335, 0.067451)
    """
    check_scores_axis(z, "softmax")
    e = jnp.exp(z - jax.lax.stop_gradient(jnp.max(z, axis=-1, keepdims=True)))
    return e / jnp.sum(e, axis=-1, keepdims=True)


@takes_numbers
def softmax_jacobian(z):
    """Jacobian of softmax, ``∂s_i/∂z_j = s_i (1[i=j] − s_j)`` = ``diag(s) − s sᵀ``.

    Args:
      z: scores, shape ``(K,)``, or ``(N, K)`` (any leading axes): one Jacobian a row.
    Returns:
      shape ``(K, K)``, or ``(N, K, K)``.
    """
    s = softmax(z)
    return s[..., :, None] * (jnp.eye(s.shape[-1], dtype=s.dtype) - s[..., None, :])


@takes_numbers
def logit(p):
    """Inverse sigmoid (log-odds) ``log(p / (1 − p))``, so ``logit(σ(z)) = z``.

    Written as ``log(p) − log1p(−p)`` to keep precision near 0 and 1.
    """
    return jnp.log(p) - jnp.log1p(-p)


@takes_numbers
def logit_grad(p):
    """``d logit / dp = 1 / (p (1 − p))``."""
    return 1.0 / (p * (1.0 - p))


@takes_numbers
def entropy(p):
    """Entropy ``H(p) = −Σ_k p_k ln p_k`` over the last axis (``0 ln 0 = 0``)."""
    check_scores_axis(p, "entropy", "p")
    return -jnp.sum(jnp.where(p > 0, p * jnp.log(jnp.where(p > 0, p, 1.0)), 0.0), axis=-1)


@takes_numbers
def cross_entropy(a, b):
    """Cross-entropy ``H(a, b) = −Σ_k a_k ln b_k`` over the last axis.

    ``a`` is the target distribution (e.g. one-hot), ``b`` the predicted
    probabilities (a classic worked table). Terms with ``a_k = 0`` contribute 0.
    """
    check_scores_axis(a, "cross_entropy", "a")
    check_scores_axis(b, "cross_entropy", "b")
    try:
        np.broadcast_shapes(np.shape(a), np.shape(b))
    except ValueError:
        raise ValueError(
            f"cross_entropy: a {np.shape(a)} and b {np.shape(b)} must hold the same classes "
            "(one shape, or shapes that broadcast)"
        ) from None
    return -jnp.sum(jnp.where(a > 0, a * jnp.log(jnp.where(a > 0, b, 1.0)), 0.0), axis=-1)


ACTIVATIONS = {
    "identity": (identity, identity_grad),
    "step": (step, step_grad),
    "sigmoid": (sigmoid, sigmoid_grad),
    "logit": (logit, logit_grad),
}
