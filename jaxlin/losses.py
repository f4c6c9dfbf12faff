"""Per-example losses ``L(z, y)`` and their hand-derived score gradients ``δ = ∂L/∂z``.

Every loss is a pure function of one example's scores ``z`` (shape ``(K,)``)
and its target ``y`` (shape ``(K,)``): the 0/1 label for ``K = 1`` binary losses,
a one-hot row for multi-class losses, real values for regression. Every loss
returns one scalar per example; batching (``jax.vmap``) and averaging happen in
:mod:`jaxlin.objective`, nowhere else.

Each ``delta_*`` sits right under its loss, with its derivation in the docstring.
Each loss is registered in :data:`LOSSES` as a :class:`Loss` record, so tests,
``jaxlin check`` and the solvers all see the same list.

Kinks: ``jnp.maximum(0, m)`` has autodiff derivative ½ at ``m = 0``; our ``δ`` uses
``1[m > 0]`` (0 at the kink), the same convention as ``jax.nn.relu``. Comparisons
with autodiff are made at least 1e-6 away from a kink (``Loss.kink_distance``).
"""
from __future__ import annotations

from typing import Callable, NamedTuple, Optional

import jax
import jax.numpy as jnp

from jaxlin.activations import sigmoid, softmax, step, step_straight_through


class Loss(NamedTuple):
    """One registered objective.

    Attributes:
      name: registry key.
      value: ``(z (K,), y (K,)) -> scalar`` per-example loss.
      delta: ``(z, y) -> (K,)`` hand-derived ``∂L/∂z``.
      target: ``"real"``, ``"binary"`` (0/1 per column) or ``"onehot"``.
      formula / delta_formula: the maths, as printed by ``jaxlin check``.
      convex: whether ``mean L`` is convex in ``(W, b)``.
      maximise: the objective is to be maximised (log-likelihood ascent).
      min_classes: smallest ``K`` the loss makes sense for.
      surrogate: the function autodiff must differentiate to reproduce ``delta``
        (defaults to ``value``; differs only for the straight-through step).
      kink_distance: ``(z, y) -> scalar`` distance to the nearest point where
        ``L`` is not differentiable (``inf`` for smooth losses).
      curvature: ``(z, y) -> (K,)`` second derivative ``∂²L/∂z²`` (element-wise
        losses only), used for the Hessian ``(1/N) X̃ᵀ diag(h) X̃``.
      spec: its short label in the tables of the docs.
    """

    name: str
    value: Callable
    delta: Callable
    target: str
    formula: str
    delta_formula: str
    convex: bool
    maximise: bool = False
    min_classes: int = 1
    surrogate: Optional[Callable] = None
    kink_distance: Optional[Callable] = None
    curvature: Optional[Callable] = None
    spec: str = ""

    def autodiff_value(self, z, y):
        """The function whose ``jax.grad`` equals :attr:`delta`."""
        return (self.surrogate or self.value)(z, y)


def _smooth(z, y):
    return jnp.asarray(jnp.inf, dtype=jnp.result_type(z))


# --- a. squared error, identity activation (linear regression / ADALINE) ---------------

def squared_error(z, y):
    """``L = Σ_k (y_k − z_k)²``.

    >>> float(squared_error(jnp.array([0.5]), jnp.array([1.0])))
    0.25
    """
    return jnp.sum((y - z) ** 2)


def delta_squared_error(z, y):
    """``∂/∂z (y − z)² = −2 (y − z)``."""
    return -2.0 * (y - z)


def curvature_squared_error(z, y):
    """``∂²L/∂z² = 2``."""
    return jnp.full_like(z, 2.0)


# --- b. squared error, step activation (the classic perceptron rule) ------------------

def squared_error_step(z, y):
    """``L = Σ_k (y_k − step(z_k))²`` with ``step(z) = 1[z > 0]``."""
    return jnp.sum((y - step(z)) ** 2)


def delta_squared_error_step(z, y):
    """Straight-through gradient ``δ = −2 (y − step(z))`` — the perceptron rule.

    The true derivative of the step is 0 almost everywhere, so the exact gradient
    of this loss is 0 (erratum E1). The classic notes state the update rule
    ``−2x(y−1)`` if ``xθ > 0`` else ``−2xy``, which is this ``δ`` times ``x``:
    the chain rule with the step's derivative replaced by 1 (straight-through).
    """
    return -2.0 * (y - step(z))


def _squared_error_step_surrogate(z, y):
    return jnp.sum((y - step_straight_through(z)) ** 2)


def _kink_step(z, y):
    return jnp.min(jnp.abs(z))


# --- c. squared error, sigmoid activation (not convex) ----------------------------------

def squared_error_sigmoid(z, y):
    """``L = Σ_k (y_k − σ(z_k))²``."""
    return jnp.sum((y - sigmoid(z)) ** 2)


def delta_squared_error_sigmoid(z, y):
    """``δ = −2 σ(z)(1 − σ(z)) (y − σ(z))``: chain rule with ``σ' = σ(1 − σ)``.

    Element-wise products (erratum E2: the classic batch form reads as a matrix
    product, which is a different vector).
    """
    s = sigmoid(z)
    return -2.0 * s * (1.0 - s) * (y - s)


def curvature_squared_error_sigmoid(z, y):
    """``∂²L/∂z² = 2 σ'(σ' − (1 − 2σ)(y − σ))`` with ``σ' = σ(1 − σ)``.

    Equals ``−2 (y − 2yŷ − 2ŷ + 3ŷ²) ŷ(1 − ŷ)``: the classic notes' expression times 2
    (the seed drops the factor 2 of ``(y − ŷ)²``). It is negative for some
    ``z``, so this loss is not convex.
    """
    s = sigmoid(z)
    ds = s * (1.0 - s)
    return 2.0 * ds * (ds - (1.0 - 2.0 * s) * (y - s))


# --- d/f. binary cross-entropy = negative log-likelihood (one-vs-all: summed over k) -----

def binary_cross_entropy(z, y):
    """``L = −Σ_k [y_k ln σ(z_k) + (1 − y_k) ln(1 − σ(z_k))]`` = ``Σ_k softplus(z_k) − y_k z_k``.

    Computed with ``log_sigmoid`` (``ln(1 − σ(z)) = log_sigmoid(−z)``), never
    ``log(σ)``, which is ``−inf`` once ``σ`` rounds to 0 or 1.

    >>> round(float(binary_cross_entropy(jnp.array([0.0]), jnp.array([1.0]))), 6)
    0.693147
    """
    return -jnp.sum(y * jax.nn.log_sigmoid(z) + (1.0 - y) * jax.nn.log_sigmoid(-z))


def delta_binary_cross_entropy(z, y):
    """``δ = σ(z) − y``.

    ``∂/∂z softplus(z) = σ(z)`` and ``∂/∂z (y z) = y``.
    """
    return sigmoid(z) - y


def curvature_binary_cross_entropy(z, y):
    """``∂²L/∂z² = σ(z)(1 − σ(z)) ≥ 0`` (so the loss is convex in ``(W, b)``)."""
    s = sigmoid(z)
    return s * (1.0 - s)


# --- e. log-likelihood (maximised: the ascent form of d) --------------------------------

def log_likelihood(z, y):
    """``LL = Σ_k [y_k ln σ(z_k) + (1 − y_k) ln(1 − σ(z_k))]`` = ``−binary_cross_entropy``."""
    return -binary_cross_entropy(z, y)


def delta_log_likelihood(z, y):
    """``∂LL/∂z = y − σ(z)`` (the classic ascent rule ``θ += η xᵀ(y − ŷ)``)."""
    return y - sigmoid(z)


# --- g. softmax cross-entropy --------------------------------------------------------

def softmax_cross_entropy(z, y):
    """``L = −Σ_k y_k ln softmax(z)_k`` = ``logsumexp(z) − Σ_k y_k z_k`` (``Σ_k y_k = 1``).

    ``logsumexp`` subtracts ``max z`` first, so it is finite for any finite scores.
    """
    return jax.nn.logsumexp(z) - jnp.sum(y * z)


def delta_softmax_cross_entropy(z, y):
    """``δ = softmax(z) − y``: ``∂ logsumexp(z)/∂z = softmax(z)`` and ``Σ y = 1``."""
    return softmax(z) - y


# --- h/i/j. Weston–Watkins multi-class hinge -----------------------------

def _ww_margins(z, y, margin):
    """``m_j = z_j − z_y + Δ`` for ``j ≠ y``; the true class is masked with ``−inf``."""
    z_true = jnp.sum(y * z)
    m = z - z_true + margin
    return jnp.where(y > 0, -jnp.inf, m)


def multiclass_hinge(z, y, margin=1.0):
    """Weston–Watkins hinge ``L = Σ_{j≠y} max(0, z_j − z_y + Δ)``, ``Δ = 1``.

    Sum over the wrong classes (not the max: that is Crammer–Singer, which is
    what ``optax.multiclass_hinge_loss`` computes).
    """
    return jnp.sum(jnp.maximum(_ww_margins(z, y, margin), 0.0))


def delta_multiclass_hinge(z, y, margin=1.0):
    """``δ_j = 1[z_j − z_y + Δ > 0]`` for ``j ≠ y``, ``δ_y = −Σ_{j≠y} δ_j``.

    Each active wrong class pushes ``z_j`` up (``+1``) and ``z_y`` down (``−1``).
    """
    active = (_ww_margins(z, y, margin) > 0).astype(z.dtype)
    return active - y * jnp.sum(active)


def _kink_ww(margin):
    def dist(z, y):
        return jnp.min(jnp.abs(_ww_margins(z, y, margin)))
    return dist


def multiclass_perceptron(z, y):
    """Multi-class perceptron loss: :func:`multiclass_hinge` with ``Δ = 0``."""
    return multiclass_hinge(z, y, margin=0.0)


def delta_multiclass_perceptron(z, y):
    """:func:`delta_multiclass_hinge` with ``Δ = 0``."""
    return delta_multiclass_hinge(z, y, margin=0.0)


def multiclass_squared_hinge(z, y, margin=1.0):
    """``L = Σ_{j≠y} max(0, z_j − z_y + Δ)²``."""
    return jnp.sum(jnp.maximum(_ww_margins(z, y, margin), 0.0) ** 2)


def delta_multiclass_squared_hinge(z, y, margin=1.0):
    """``δ_j = 2 max(0, z_j − z_y + Δ)`` for ``j ≠ y``, ``δ_y = −Σ_{j≠y} δ_j``."""
    a = 2.0 * jnp.maximum(_ww_margins(z, y, margin), 0.0)
    return a - y * jnp.sum(a)


# --- binary hinge and Crammer–Singer --------------------------------------------------

def hinge(z, y):
    """Binary hinge ``L = Σ_k max(0, 1 − s_k z_k)`` with ``s = 2y − 1 ∈ {−1, +1}``.

    Targets are 0/1 here; labels given as ``{−1, +1}`` are mapped to 0/1 once,
    at the public boundary (:func:`jaxlin.objective.encode_targets`).
    """
    s = 2.0 * y - 1.0
    return jnp.sum(jnp.maximum(1.0 - s * z, 0.0))


def delta_hinge(z, y):
    """``δ = −s · 1[1 − s z > 0]``."""
    s = 2.0 * y - 1.0
    return -s * (1.0 - s * z > 0).astype(z.dtype)


def squared_hinge(z, y):
    """Binary squared hinge ``L = Σ_k max(0, 1 − s_k z_k)²``, ``s = 2y − 1`` (``LinearSVC``'s default)."""
    s = 2.0 * y - 1.0
    return jnp.sum(jnp.maximum(1.0 - s * z, 0.0) ** 2)


def delta_squared_hinge(z, y):
    """``δ = −2 s max(0, 1 − s z)``."""
    s = 2.0 * y - 1.0
    return -2.0 * s * jnp.maximum(1.0 - s * z, 0.0)


def _kink_hinge(z, y):
    return jnp.min(jnp.abs(1.0 - (2.0 * y - 1.0) * z))


def _cs_rival(z, y):
    return jnp.where(y > 0, -jnp.inf, z)


def crammer_singer_hinge(z, y, margin=1.0):
    """Crammer–Singer hinge ``L = max(0, Δ + max_{j≠y} z_j − z_y)``.

    Same as ``optax.multiclass_hinge_loss``.
    """
    return jnp.maximum(margin + jnp.max(_cs_rival(z, y)) - jnp.sum(y * z), 0.0)


def delta_crammer_singer_hinge(z, y, margin=1.0):
    """If active: ``δ = e_{j*} − e_y`` with ``j* = argmax_{j≠y} z_j``; else 0."""
    rival = _cs_rival(z, y)
    active = (margin + jnp.max(rival) - jnp.sum(y * z) > 0).astype(z.dtype)
    return active * (jax.nn.one_hot(jnp.argmax(rival), z.shape[-1], dtype=z.dtype) - y)


def _kink_cs(z, y, margin=1.0):
    rival = _cs_rival(z, y)
    top2 = jax.lax.top_k(rival, 2)[0]
    return jnp.minimum(jnp.abs(margin + top2[0] - jnp.sum(y * z)), top2[0] - top2[1])


_BCE = dict(value=binary_cross_entropy, delta=delta_binary_cross_entropy,
            formula="−[y ln σ(z) + (1−y) ln(1−σ(z))] = softplus(z) − y z",
            delta_formula="σ(z) − y", convex=True, curvature=curvature_binary_cross_entropy)

LOSSES: dict[str, Loss] = {
    loss.name: loss
    for loss in [
        Loss("squared_error", squared_error, delta_squared_error, "real",
             "(y − z)²", "−2 (y − z)", convex=True,
             curvature=curvature_squared_error, spec="a"),
        Loss("squared_error_step", squared_error_step, delta_squared_error_step, "binary",
             "(y − step(z))²", "−2 (y − step(z))  [straight-through]", convex=False,
             surrogate=_squared_error_step_surrogate, kink_distance=_kink_step, spec="b"),
        Loss("squared_error_sigmoid", squared_error_sigmoid, delta_squared_error_sigmoid,
             "binary", "(y − σ(z))²", "−2 σ(z)(1−σ(z)) (y − σ(z))", convex=False,
             curvature=curvature_squared_error_sigmoid, spec="c"),
        Loss("binary_cross_entropy", target="binary", spec="d", **_BCE),
        Loss("log_likelihood", log_likelihood, delta_log_likelihood, "binary",
             "y ln σ(z) + (1−y) ln(1−σ(z))  [maximised]", "y − σ(z)", convex=True,
             maximise=True, spec="e"),
        Loss("one_vs_rest_logistic", target="onehot", min_classes=2, spec="f", **_BCE),
        Loss("softmax_cross_entropy", softmax_cross_entropy, delta_softmax_cross_entropy,
             "onehot", "logsumexp(z) − z_y", "softmax(z) − y", convex=True,
             min_classes=2, spec="g"),
        Loss("multiclass_hinge", multiclass_hinge, delta_multiclass_hinge, "onehot",
             "Σ_{j≠y} max(0, z_j − z_y + 1)  [Weston–Watkins]",
             "δ_j = 1[z_j − z_y + 1 > 0], δ_y = −Σ_{j≠y} δ_j", convex=True, min_classes=2,
             kink_distance=_kink_ww(1.0), spec="h"),
        Loss("multiclass_perceptron", multiclass_perceptron, delta_multiclass_perceptron,
             "onehot", "Σ_{j≠y} max(0, z_j − z_y)", "δ_j = 1[z_j − z_y > 0], δ_y = −Σ_{j≠y} δ_j",
             convex=True, min_classes=2, kink_distance=_kink_ww(0.0), spec="i"),
        Loss("multiclass_squared_hinge", multiclass_squared_hinge,
             delta_multiclass_squared_hinge, "onehot", "Σ_{j≠y} max(0, z_j − z_y + 1)²",
             "δ_j = 2 max(0, z_j − z_y + 1), δ_y = −Σ_{j≠y} δ_j", convex=True,
             min_classes=2, spec="j"),
        Loss("hinge", hinge, delta_hinge, "binary", "max(0, 1 − s z), s = 2y − 1",
             "−s 1[1 − s z > 0]", convex=True, kink_distance=_kink_hinge, spec="binary hinge"),
        Loss("squared_hinge", squared_hinge, delta_squared_hinge, "binary",
             "max(0, 1 − s z)², s = 2y − 1", "−2 s max(0, 1 − s z)", convex=True,
             spec="binary squared hinge"),
        Loss("crammer_singer_hinge", crammer_singer_hinge, delta_crammer_singer_hinge,
             "onehot", "max(0, 1 + max_{j≠y} z_j − z_y)", "e_{j*} − e_y if active",
             convex=True, min_classes=2, kink_distance=_kink_cs, spec="Crammer–Singer"),
    ]
}


def get_loss(name: str) -> Loss:
    """Look a loss up by name; a clear ``ValueError`` lists the known names."""
    if isinstance(name, Loss):
        return name
    try:
        return LOSSES[name]
    except (KeyError, TypeError):
        raise ValueError(
            f"loss: unknown loss {name!r}; known losses: {', '.join(sorted(LOSSES))}"
        ) from None
