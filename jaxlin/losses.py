"""Per-example losses ``L(z, y)`` and their hand-derived score gradients ``δ = ∂L/∂z``.

Every loss is a pure function of one example's scores ``z`` (shape ``(K,)``)
and its target ``y`` (shape ``(K,)``): the 0/1 label for ``K = 1`` binary losses,
a one-hot row for multi-class losses (or its class index), real values for regression.
Every loss returns one scalar per example; given scores with leading axes (a batch
``(N, K)``) it returns each row's, as ``jax.vmap`` of it would (a 1-D ``z`` is one
example's ``K`` scores: a binary loss sums over them, the one-vs-rest loss). Averaging
happens in ``jaxlin.objective``, nowhere else.

Each ``delta_*`` sits right under its loss, with its derivation in the docstring.
Each loss is registered in ``LOSSES`` as a ``Loss`` record, so tests,
``jaxlin check`` and the solvers all see the same list.

Kinks: ``jnp.maximum(0, m)`` has autodiff derivative ½ at ``m = 0``; our ``δ`` uses
``1[m > 0]`` (0 at the kink), the same convention as ``jax.nn.relu``. Comparisons
with autodiff are made at least 1e-6 away from a kink (``Loss.kink_distance``).
"""

from __future__ import annotations

import functools
import math
from typing import Any, Callable, NamedTuple, Optional

import jax
import jax.numpy as jnp
import numpy as np

from jaxlin.activations import (
    log_sigmoid,
    check_scores_axis,
    numeric_argument,
    sigmoid,
    softmax,
    step,
    step_straight_through,
)
from jaxlin.records import DualBox, DualPairwise, DualSimplex


TARGETS = ("real", "binary", "onehot")


def per_example(fn=None, *, classes: bool = False, unit: bool = False):
    """A loss, its ``δ`` or its curvature as a function of one example: ``z`` (its ``K``
    scores) and ``y`` (its ``K`` targets) of one shape, checked at the call (at trace time
    under ``jit`` or ``vmap``, where shapes are static: no cost in the compiled program). Two
    shapes that would broadcast (``z`` ``(3,)`` with a float ``y`` ``()``, ``(N, 1)`` with
    ``(N,)``) gave a wrong number silently. ``classes``: a multi-class loss, whose ``z``
    needs its class scores along a last axis (a scalar met an ``IndexError``), and whose
    ``y`` may be class indices (integers of ``z``'s shape but its last axis: one-hot rows
    then). Scores with leading axes, ``(N, K)``, are a batch: the function of each row
    (``(N,)`` losses, ``(N, K)`` gradients), as ``jax.vmap`` of it gives — a loss summed
    everything (a softmax cross-entropy took every row's scores as one example's).
    ``unit``: targets are 0/1 (or soft, in ``[0, 1]``): others are named where they are known
    (not under ``jit``) — a ±1 label gave a wrong number silently."""
    if fn is None:
        return functools.partial(per_example, classes=classes, unit=unit)

    @functools.wraps(fn)
    def checked(z, y, *args, **kwargs):
        z = numeric_argument(z, "z", fn.__name__)
        if classes:
            check_scores_axis(z, fn.__name__)
            y = _indices_as_rows(y, z, fn.__name__)
        y = numeric_argument(y, "y", fn.__name__)
        if unit:
            _check_unit_targets(y, fn.__name__)
        if np.shape(z) != np.shape(y):
            raise ValueError(
                f"{fn.__name__}: z and y must have one shape (an example's K scores and its "
                f"K targets{', or its class index' if classes else ''}), got z "
                f"{np.shape(z)} and y {np.shape(y)}"
            )
        if np.ndim(z) < 2:
            return fn(z, y, *args, **kwargs)
        return _over_rows(functools.partial(fn, **kwargs), z, y, args)

    return checked


def _check_unit_targets(y, fn: str) -> None:
    """Targets in ``[0, 1]`` where their values are known (outside ``jit``)."""
    if isinstance(y, jax.core.Tracer):
        return
    arr = np.asarray(y)
    outside = (arr < 0) | (arr > 1)
    if outside.any():
        raise ValueError(
            f"{fn}: y holds targets in [0, 1] (0/1 labels, or soft targets), got "
            f"{arr[outside].flat[0].item()!r}; labels become targets through "
            "jaxlin.encode_targets(y, loss) (±1 labels too)"
        )


def _indices_as_rows(y, z, fn: str):
    """Class indices ``y`` (integers of ``z``'s shape but its last axis) as one-hot rows
    of ``z``'s ``K``; any other ``y`` as given. Indices outside ``0..K−1`` are named where
    they are known (not under ``jit``)."""
    kind = y.dtype.kind if hasattr(y, "dtype") else np.asarray(y).dtype.kind
    if kind not in "iu" or np.shape(y) != np.shape(z)[:-1]:
        return y
    k = np.shape(z)[-1]
    if not isinstance(y, jax.core.Tracer):
        arr = np.asarray(y)
        outside = (arr < 0) | (arr >= k)
        if outside.any():
            raise ValueError(
                f"{fn}: class index {arr[outside].flat[0]} is outside 0..{k - 1} (z holds "
                f"K = {k} scores)"
            )
    return jax.nn.one_hot(y, k, dtype=z.dtype)


def _over_rows(one, z, y, args):
    """``one`` of each row of ``z`` and ``y`` (``(..., K)``), and of the rows of each
    argument of their shape (others shared): results with ``z``'s leading axes."""
    lead, k = np.shape(z)[:-1], np.shape(z)[-1]
    rowwise = [np.shape(a) == np.shape(z) for a in args]
    flat = [jnp.reshape(a, (-1, k)) if r else a for a, r in zip((z, y, *args), (1, 1, *rowwise))]
    axes = (0, 0, *(0 if r else None for r in rowwise))
    out = jax.vmap(one, in_axes=axes)(*flat)
    return jax.tree.map(lambda o: jnp.reshape(o, lead + o.shape[1:]), out)


class _LossFields(NamedTuple):
    name: str
    value: Callable
    delta: Callable
    target: str
    formula: str = ""
    delta_formula: str = ""
    convex: bool = False
    maximise: bool = False
    min_classes: int = 1
    surrogate: Optional[Callable] = None
    kink_distance: Optional[Callable] = None
    curvature: Optional[Callable] = None
    spec: str = ""
    curvature_product: Optional[Callable] = None
    docs: str = ""
    dual: Optional[Callable] = None


class Loss(_LossFields):
    """One objective: a per-example loss and its hand-derived score gradient.

    Only ``name``, ``value``, ``delta`` and ``target`` are required:

        Loss(name="focal", value=focal, delta=delta_focal, target="binary")

    Attributes:
      name: registry key, and the name printed in reports.
      value: ``(z (K,), y (K,)) -> scalar`` per-example loss.
      delta: ``(z, y) -> (K,)`` hand-derived ``∂L/∂z``.
      target: ``"real"``, ``"binary"`` (0/1 per column) or ``"onehot"``.
      formula / delta_formula: the maths as text, for reports (optional).
      convex: a claim that ``mean L`` is convex in ``(W, b)``;
        ``jaxlin.verify`` tests it (default ``False``: no claim).
      maximise: the objective is to be maximised (log-likelihood ascent).
      min_classes: smallest ``K`` the loss makes sense for.
      surrogate: the function autodiff must differentiate to reproduce ``delta``
        (defaults to ``value``; differs only for a straight-through rule).
      kink_distance: ``(z, y) -> scalar`` distance to the nearest point where
        ``L`` is not differentiable (``None``: ``jaxlin.verify`` looks for kinks itself).
      curvature: ``(z, y) -> (K,)`` second derivative ``∂²L/∂z_k²`` of an element-wise
        loss, used for the Hessian ``(1/N) X̃ᵀ diag(h) X̃``.
      spec: its short label in the tables of the docs.
      curvature_product: ``(z, y, u) -> (K,)`` the product ``(∂²L/∂z²) u`` for a loss that
        is not element-wise (softmax): Hessian-vector products and Newton's method use it,
        or ``curvature ⊙ u`` when only ``curvature`` is given.
      docs: where its derivation is written, ``"page.md#section"`` under ``docs/`` (the
        row of ``jaxlin check`` that proves it links there).
      dual: ``(C (N, K), y (N, K)) -> DualBox | DualSimplex | DualPairwise``
        (``jaxlin.records``): the dual of the L2-regularised problem
        ``½‖W‖² + Σ C_i L(z_i, y_i)``, box-constrained per column for a margin loss (the
        binary hinges), one simplex-like set per row for Crammer–Singer, a box per wrong
        class coupled through the true class for Weston–Watkins; dual coordinate descent
        (``optimizer="dcd"``) solves it.
    """

    __slots__ = ()

    def __new__(cls, name, value, delta, target, *args, **kwargs):
        if not isinstance(name, str) or not name:
            raise TypeError(f"Loss: name must be a non-empty string, got {name!r}")
        for field, f in (("value", value), ("delta", delta)):
            if not callable(f):
                raise TypeError(
                    f"Loss {name!r}: {field} must be a function (z, y) -> ..., "
                    f"got {type(f).__name__}"
                )
        if target not in TARGETS:
            raise ValueError(
                f"Loss {name!r}: target must be one of {', '.join(TARGETS)}, got {target!r}"
            )
        self = super().__new__(cls, name, value, delta, target, *args, **kwargs)
        for field in ("surrogate", "kink_distance", "curvature", "curvature_product", "dual"):
            f = getattr(self, field)
            if f is not None and not callable(f):
                raise TypeError(f"Loss {name!r}: {field} must be a function or None")
        if not isinstance(self.min_classes, int) or self.min_classes < 1:
            raise ValueError(
                f"Loss {name!r}: min_classes must be a positive integer, got {self.min_classes!r}"
            )
        return self

    def __repr__(self):
        return f"Loss({self.name!r}, target={self.target!r})"

    def autodiff_value(self, z, y):
        """The function whose ``jax.grad`` equals ``delta``."""
        return (self.surrogate or self.value)(z, y)

    @property
    def twice_differentiable(self) -> bool:
        """Whether the loss states its second derivative (``curvature`` or its product)."""
        return self.curvature is not None or self.curvature_product is not None

    @property
    def diagonal_curvature(self) -> bool:
        """Whether ``∂²L/∂z²`` is diagonal: an element-wise ``curvature``, each score's
        second derivative on its own (no ``curvature_product`` coupling the scores)."""
        return self.curvature is not None and self.curvature_product is None

    def curvature_times(self, z, y, u):
        """``(∂²L/∂z²) u`` for one example: ``(K,)``."""
        if self.curvature_product is not None:
            return self.curvature_product(z, y, u)
        if self.curvature is not None:
            return self.curvature(z, y) * u
        raise ValueError(
            f"loss: {self.name!r} states no second derivative (curvature or curvature_product)"
        )


# --- a. squared error, identity activation (linear regression / ADALINE) ---------------


@per_example
def squared_error(z, y):
    """``L = Σ_k (y_k − z_k)²``.

    >>> float(squared_error(jnp.array([0.5]), jnp.array([1.0])))
    0.25
    """
    return jnp.sum((y - z) ** 2)


@per_example
def delta_squared_error(z, y):
    """``∂/∂z (y − z)² = −2 (y − z)``."""
    return -2.0 * (y - z)


@per_example
def curvature_squared_error(z, y):
    """``∂²L/∂z² = 2``."""
    return jnp.full_like(z, 2.0)


# --- b. squared error, step activation (the classic perceptron rule) ------------------


@per_example(unit=True)
def squared_error_step(z, y):
    """``L = Σ_k (y_k − step(z_k))²`` with ``step(z) = 1[z > 0]``."""
    return jnp.sum((y - step(z)) ** 2)


@per_example(unit=True)
def delta_squared_error_step(z, y):
    """Straight-through gradient ``δ = −2 (y − step(z))`` — the perceptron rule.

    The true derivative of the step is 0 almost everywhere, so the exact gradient of this loss
    is 0 (correction E1, ``docs/corrections.md``). The classic update rule, ``−2x(y−1)`` if
    ``xθ > 0`` else ``−2xy``, is this ``δ`` times ``x``: the chain rule with the step's
    derivative replaced by 1 (straight-through).
    """
    return -2.0 * (y - step(z))


def _squared_error_step_surrogate(z, y):
    return jnp.sum((y - step_straight_through(z)) ** 2)


def _kink_step(z, y):
    return jnp.min(jnp.abs(z))


# --- c. squared error, sigmoid activation (not convex) ----------------------------------


@per_example(unit=True)
def squared_error_sigmoid(z, y):
    """``L = Σ_k (y_k − σ(z_k))²``."""
    return jnp.sum((y - sigmoid(z)) ** 2)


def _residual(z, y):
    """``y − σ(z)`` without cancellation: ``y σ(−z) − (1 − y) σ(z)`` (``1 − σ(z) = σ(−z)``).

    ``σ(z) − y`` loses every digit once ``σ(z)`` rounds to ``y`` (``z = 38``, ``y = 1`` gives 0
    in float64, not ``−σ(−38) ≈ −3.1e−17``); this form keeps full relative precision for
    0/1 targets and equals ``y − σ(z)`` for any ``y``.
    """
    return y * sigmoid(-z) - (1.0 - y) * sigmoid(z)


@per_example(unit=True)
def delta_squared_error_sigmoid(z, y):
    """``δ = −2 σ(z)(1 − σ(z)) (y − σ(z))``: chain rule with ``σ' = σ(1 − σ)``.

    Element-wise products (correction E2: the classic batch form reads as a matrix
    product, which is a different vector). ``1 − σ(z)`` is computed as ``σ(−z)``.
    """
    return -2.0 * sigmoid(z) * sigmoid(-z) * _residual(z, y)


@per_example(unit=True)
def curvature_squared_error_sigmoid(z, y):
    """``∂²L/∂z² = 2 σ'(σ' − (1 − 2σ)(y − σ))`` with ``σ' = σ(1 − σ)``.

    Equals ``−2 (y − 2yŷ − 2ŷ + 3ŷ²) ŷ(1 − ŷ)``: the classic expression times 2 (it drops
    the factor 2 of ``(y − ŷ)²``, correction E7). It is negative for some ``z``, so this loss
    is not convex.
    """
    ds = sigmoid(z) * sigmoid(-z)
    return 2.0 * ds * (ds - (sigmoid(-z) - sigmoid(z)) * _residual(z, y))


# --- d/f. binary cross-entropy = negative log-likelihood (one-vs-all: summed over k) -----


@per_example(unit=True)
def binary_cross_entropy(z, y):
    """``L = −Σ_k [y_k ln σ(z_k) + (1 − y_k) ln(1 − σ(z_k))]`` = ``Σ_k softplus(z_k) − y_k z_k``.

    Computed with ``log_sigmoid`` (``ln(1 − σ(z)) = log_sigmoid(−z)``), never
    ``log(σ)``, which is ``−inf`` once ``σ`` rounds to 0 or 1.

    >>> round(float(binary_cross_entropy(jnp.array([0.0]), jnp.array([1.0]))), 6)
    0.693147
    """
    return -jnp.sum(y * log_sigmoid(z) + (1.0 - y) * log_sigmoid(-z))


@per_example(unit=True)
def delta_binary_cross_entropy(z, y):
    """``δ = σ(z) − y``.

    ``∂/∂z softplus(z) = σ(z)`` and ``∂/∂z (y z) = y``. Computed as
    ``(1 − y) σ(z) − y σ(−z)``, the same number without cancellation (see ``_residual``):
    for ``y = 1`` it is ``−σ(−z)``, exact at any ``z``.

    >>> import numpy as np
    >>> bool(np.isclose(float(delta_binary_cross_entropy(jnp.array([30.0]), jnp.array([1.0]))[0]),
    ...                 -1 / (1 + np.exp(30.0)), rtol=1e-5, atol=0))
    True
    """
    return -_residual(z, y)


@per_example(unit=True)
def curvature_binary_cross_entropy(z, y):
    """``∂²L/∂z² = σ(z)(1 − σ(z)) = σ(z) σ(−z) ≥ 0`` (so the loss is convex in ``(W, b)``)."""
    return sigmoid(z) * sigmoid(-z)


# --- e. log-likelihood (maximised: the ascent form of d) --------------------------------


@per_example(unit=True)
def log_likelihood(z, y):
    """``LL = Σ_k [y_k ln σ(z_k) + (1 − y_k) ln(1 − σ(z_k))]`` = ``−binary_cross_entropy``."""
    return -binary_cross_entropy(z, y)


@per_example(unit=True)
def curvature_log_likelihood(z, y):
    """``∂²LL/∂z² = −σ(z) σ(−z)`` (the log-likelihood is concave)."""
    return -sigmoid(z) * sigmoid(-z)


@per_example(unit=True)
def delta_log_likelihood(z, y):
    """``∂LL/∂z = y − σ(z)`` (the classic ascent rule ``θ += η xᵀ(y − ŷ)``), without
    cancellation."""
    return _residual(z, y)


# --- g. softmax cross-entropy --------------------------------------------------------


@per_example(classes=True, unit=True)
def softmax_cross_entropy(z, y):
    """``L = −Σ_k y_k ln softmax(z)_k`` = ``logsumexp(z) − Σ_k y_k z_k`` (``Σ_k y_k = 1``).

    Computed relative to the true score ``c = Σ_k y_k z_k`` (``= z_y`` for a one-hot row):
    ``L = (Σ y) logsumexp(z − c) − Σ_k y_k (z_k − c)``, which is ``logsumexp(z − z_y)`` for
    one-hot targets. The plain difference ``logsumexp(z) − z_y`` cancels: in float32
    ``z = [1e8, 1e8]`` gives 0 instead of ``ln 2``.

    >>> round(float(softmax_cross_entropy(jnp.array([1e8, 1e8]), jnp.array([1.0, 0.0]))), 6)
    0.693147
    """
    c = jnp.sum(y * z)
    # y_k = 0 drops z_k even where z_k − c overflows (0 · ∞ would be NaN)
    return jnp.sum(y) * _logsumexp(z - c) - jnp.sum(jnp.where(y != 0, y * (z - c), 0.0))


def _logsumexp(v):
    """``ln Σ_k e^(v_k)`` as ``m + log1p(Σ_{k≠a} e^(v_k − m))``, ``a = argmax v``, ``m = v_a``.

    ``jax.nn.logsumexp`` takes ``ln`` of a sum near 1 when one score dominates, which keeps
    only absolute precision: for ``v = [0, −8]`` in float32 it is off by 2e−5 relative.
    """
    a = jnp.argmax(v)
    m = v[a]
    # a tie with an overflowed maximum counts e^0 = 1 (∞ − ∞ would be NaN)
    gap = jnp.where(jnp.isinf(m) & (v == m), 0.0, v - m)
    rest = jnp.sum(jnp.where(jnp.arange(v.shape[-1]) == a, 0.0, jnp.exp(gap)))
    return m + jnp.log1p(rest)


@per_example(classes=True, unit=True)
def curvature_product_softmax_cross_entropy(z, y, u):
    """``(∂²L/∂z²) u = (Σ y) (p ⊙ u − p (pᵀu))``: the softmax Jacobian ``diag(p) − p pᵀ``
    applied to ``u`` (``∂δ/∂z`` with ``δ = (Σ y) p − y``)."""
    p = softmax(z)
    return jnp.sum(y) * (p * u - p * jnp.sum(p * u))


@per_example(classes=True, unit=True)
def delta_softmax_cross_entropy(z, y):
    """``δ = softmax(z) − y``: ``∂ logsumexp(z)/∂z = softmax(z)`` and ``Σ y = 1``.

    For the true class of a one-hot row, ``p_y − 1`` is computed as ``−Σ_{j≠y} p_j`` (a sum of
    small positive numbers, exact where ``p_y`` rounds to 1).
    """
    p = softmax(z)
    rest = jnp.sum(jnp.where(y == 1, 0.0, p))
    return jnp.where(y == 1, -rest, p - y)


# --- h/i/j. Weston–Watkins multi-class hinge -----------------------------


def _ww_margins(z, y, margin):
    """``m_j = z_j − z_y + Δ`` for ``j ≠ y``; the true class is masked with ``−inf``."""
    z_true = jnp.sum(y * z)
    m = z - z_true + margin
    return jnp.where(y > 0, -jnp.inf, m)


@per_example(classes=True, unit=True)
def multiclass_hinge(z, y, margin=1.0):
    """Weston–Watkins hinge ``L = Σ_{j≠y} max(0, z_j − z_y + Δ)``, ``Δ = 1``.

    Sum over the wrong classes (not the max: that is Crammer–Singer, which is
    what ``optax.multiclass_hinge_loss`` computes).
    """
    return jnp.sum(jnp.maximum(_ww_margins(z, y, margin), 0.0))


@per_example(classes=True, unit=True)
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


def dual_multiclass_hinge(C, y, margin=1.0):
    """Weston–Watkins's dual (``docs/optimisers.md``): ``0 ≤ β_m ≤ C`` for each wrong
    class, no diagonal, each costing its margin ``Δ``."""
    wrong = 1.0 - y
    return DualPairwise(y, C * wrong, jnp.zeros_like(C), margin * wrong)


def dual_multiclass_squared_hinge(C, y, margin=1.0):
    """Its squared form's: ``β_m ≥ 0`` unbounded for each wrong class, diagonal
    ``1 / (2C)`` (as the binary squared hinge's)."""
    wrong = 1.0 - y
    upper = jnp.where(wrong > 0, jnp.inf, 0.0).astype(C.dtype)
    return DualPairwise(y, upper, wrong / (2.0 * C), margin * wrong)


@per_example(classes=True, unit=True)
def multiclass_perceptron(z, y):
    """Multi-class perceptron loss: ``multiclass_hinge`` with ``Δ = 0``."""
    return multiclass_hinge(z, y, margin=0.0)


@per_example(classes=True, unit=True)
def delta_multiclass_perceptron(z, y):
    """``delta_multiclass_hinge`` with ``Δ = 0``."""
    return delta_multiclass_hinge(z, y, margin=0.0)


@per_example(classes=True, unit=True)
def multiclass_squared_hinge(z, y, margin=1.0):
    """``L = Σ_{j≠y} max(0, z_j − z_y + Δ)²``."""
    return jnp.sum(jnp.maximum(_ww_margins(z, y, margin), 0.0) ** 2)


@per_example(classes=True, unit=True)
def delta_multiclass_squared_hinge(z, y, margin=1.0):
    """``δ_j = 2 max(0, z_j − z_y + Δ)`` for ``j ≠ y``, ``δ_y = −Σ_{j≠y} δ_j``."""
    a = 2.0 * jnp.maximum(_ww_margins(z, y, margin), 0.0)
    return jnp.where(y > 0, -y * jnp.sum(a), a)  # a wrong class's overflow: not 0 · ∞


# --- binary hinge and Crammer–Singer --------------------------------------------------


@per_example(unit=True)
def hinge(z, y):
    """Binary hinge ``L = Σ_k max(0, 1 − s_k z_k)`` with ``s = 2y − 1 ∈ {−1, +1}``.

    Targets are 0/1 here; labels given as ``{−1, +1}`` are mapped to 0/1 once,
    at the public boundary (``jaxlin.objective.encode_targets``).
    """
    s = 2.0 * y - 1.0
    return jnp.sum(jnp.maximum(1.0 - s * z, 0.0))


@per_example(unit=True)
def delta_hinge(z, y):
    """``δ = −s · 1[1 − s z > 0]``."""
    s = 2.0 * y - 1.0
    return -s * (1.0 - s * z > 0).astype(z.dtype)


@per_example(unit=True)
def perceptron_criterion(z, y):
    """The perceptron criterion ``L = Σ_k max(0, −s_k z_k)``, ``s = 2y − 1``: the hinge with
    margin 0, zero for a correct side and ``|z|`` for a wrong one."""
    s = 2.0 * y - 1.0
    return jnp.sum(jnp.maximum(-s * z, 0.0))


@per_example(unit=True)
def delta_perceptron_criterion(z, y):
    """``δ = −s · 1[s z ≤ 0]``: at ``z = 0`` the subgradient ``−s`` (a score of exactly 0 is
    a mistake for both classes), so one SGD step of rate 1 from a mistake is Rosenblatt's
    update ``w += s x``, as scikit-learn's ``Perceptron``."""
    s = 2.0 * y - 1.0
    return -s * (s * z <= 0).astype(z.dtype)


@per_example(unit=True)
def squared_hinge(z, y):
    """Binary squared hinge ``L = Σ_k max(0, 1 − s_k z_k)²``, ``s = 2y − 1``
    (``LinearSVC``'s default)."""
    s = 2.0 * y - 1.0
    return jnp.sum(jnp.maximum(1.0 - s * z, 0.0) ** 2)


@per_example(unit=True)
def delta_squared_hinge(z, y):
    """``δ = −2 s max(0, 1 − s z)``."""
    s = 2.0 * y - 1.0
    return -2.0 * s * jnp.maximum(1.0 - s * z, 0.0)


def dual_hinge(C, y):
    """The hinge's dual box: ``0 ≤ α_i ≤ C_i``, no diagonal (``docs/optimisers.md``)."""
    return DualBox(2.0 * y - 1.0, C, jnp.zeros_like(C))


def dual_squared_hinge(C, y):
    """The squared hinge's: ``α_i ≥ 0`` unbounded, diagonal ``1 / (2 C_i)`` (its conjugate's
    quadratic, ``docs/optimisers.md``)."""
    return DualBox(2.0 * y - 1.0, jnp.full_like(C, jnp.inf), 1.0 / (2.0 * C))


@per_example(unit=True)
def modified_huber(z, y):
    """Binary modified Huber ``L = Σ_k max(0, 1 − s_k z_k)²`` where ``s z ≥ −1``, else
    ``−4 s z`` (``s = 2y − 1``): the squared hinge continued by its tangent at ``s z = −1``,
    so a badly wrong score costs linearly (Zhang's loss; scikit-learn's
    ``"modified_huber"``)."""
    m = (2.0 * y - 1.0) * z
    return jnp.sum(jnp.where(m >= -1.0, jnp.maximum(1.0 - m, 0.0) ** 2, -4.0 * m))


@per_example(unit=True)
def delta_modified_huber(z, y):
    """``δ = −2 s max(0, 1 − s z)`` where ``s z ≥ −1``, else ``−4 s`` (the two agree at
    ``s z = −1``: the loss is continuously differentiable)."""
    s = 2.0 * y - 1.0
    m = s * z
    return jnp.where(m >= -1.0, -2.0 * s * jnp.maximum(1.0 - m, 0.0), -4.0 * s)


# --- regression losses on ±1 labels (scikit-learn's SGDClassifier takes them) ----------
# The label s = 2y − 1 is a number to fit: r = z − s. EPSILON is scikit-learn's default.

EPSILON = 0.1


@per_example(unit=True)
def signed_squared_error(z, y):
    """``L = Σ_k ½ (z_k − s_k)²``, ``s = 2y − 1``: least squares on ±1 labels."""
    return 0.5 * jnp.sum((z - (2.0 * y - 1.0)) ** 2)


@per_example(unit=True)
def delta_signed_squared_error(z, y):
    """``δ = z − s``."""
    return z - (2.0 * y - 1.0)


@per_example(unit=True)
def signed_huber(z, y, epsilon=EPSILON):
    """Huber's loss of ``r = z − s`` (``s = 2y − 1``): ``½ r²`` where ``|r| ≤ ε``, else
    ``ε |r| − ½ ε²`` (the parabola continued by its tangents)."""
    r = jnp.abs(z - (2.0 * y - 1.0))
    return jnp.sum(jnp.where(r <= epsilon, 0.5 * r**2, epsilon * r - 0.5 * epsilon**2))


@per_example(unit=True)
def delta_signed_huber(z, y, epsilon=EPSILON):
    """``δ = r`` where ``|r| ≤ ε``, else ``ε sign(r)``: ``clip(r, −ε, ε)``."""
    return jnp.clip(z - (2.0 * y - 1.0), -epsilon, epsilon)


@per_example(unit=True)
def signed_epsilon_insensitive(z, y, epsilon=EPSILON):
    """``L = Σ_k max(0, |z_k − s_k| − ε)``, ``s = 2y − 1`` (the support-vector regression
    loss)."""
    return jnp.sum(jnp.maximum(jnp.abs(z - (2.0 * y - 1.0)) - epsilon, 0.0))


@per_example(unit=True)
def delta_signed_epsilon_insensitive(z, y, epsilon=EPSILON):
    """``δ = sign(r) 1[|r| > ε]``, ``r = z − s``."""
    r = z - (2.0 * y - 1.0)
    return jnp.sign(r) * (jnp.abs(r) > epsilon).astype(z.dtype)


@per_example(unit=True)
def signed_squared_epsilon_insensitive(z, y, epsilon=EPSILON):
    """``L = Σ_k max(0, |z_k − s_k| − ε)²``, ``s = 2y − 1``."""
    return jnp.sum(jnp.maximum(jnp.abs(z - (2.0 * y - 1.0)) - epsilon, 0.0) ** 2)


@per_example(unit=True)
def delta_signed_squared_epsilon_insensitive(z, y, epsilon=EPSILON):
    """``δ = 2 sign(r) max(0, |r| − ε)``, ``r = z − s``."""
    r = z - (2.0 * y - 1.0)
    return 2.0 * jnp.sign(r) * jnp.maximum(jnp.abs(r) - epsilon, 0.0)


def _kink_epsilon(z, y, epsilon=EPSILON):
    return jnp.min(jnp.abs(jnp.abs(z - (2.0 * y - 1.0)) - epsilon))


def _kink_hinge(z, y):
    return jnp.min(jnp.abs(1.0 - (2.0 * y - 1.0) * z))


def _cs_rival(z, y):
    return jnp.where(y > 0, -jnp.inf, z)


@per_example(classes=True, unit=True)
def crammer_singer_hinge(z, y, margin=1.0):
    """Crammer–Singer hinge ``L = max(0, Δ + max_{j≠y} z_j − z_y)``.

    Same as ``optax.multiclass_hinge_loss``.
    """
    return jnp.maximum(margin + jnp.max(_cs_rival(z, y)) - jnp.sum(y * z), 0.0)


def dual_crammer_singer_hinge(C, y, margin=1.0):
    """Crammer–Singer's dual (``docs/optimisers.md``): ``α`` of a row sums to 0, at most
    ``C`` for the true class and 0 for the others, each costing its margin ``Δ (1 − y)``."""
    return DualSimplex(C * y, margin * (1.0 - y))


@per_example(classes=True, unit=True)
def delta_crammer_singer_hinge(z, y, margin=1.0):
    """If active: ``δ = e_{j*} − e_y`` with ``j* = argmax_{j≠y} z_j``; else 0."""
    rival = _cs_rival(z, y)
    active = (margin + jnp.max(rival) - jnp.sum(y * z) > 0).astype(z.dtype)
    return active * (jax.nn.one_hot(jnp.argmax(rival), z.shape[-1], dtype=z.dtype) - y)


def _kink_cs(z, y, margin=1.0):
    rival = _cs_rival(z, y)
    top2 = jax.lax.top_k(rival, 2)[0]
    return jnp.minimum(jnp.abs(margin + top2[0] - jnp.sum(y * z)), top2[0] - top2[1])


_BCE = dict(
    value=binary_cross_entropy,
    delta=delta_binary_cross_entropy,
    formula="−[y ln σ(z) + (1−y) ln(1−σ(z))] = softplus(z) − y z",
    delta_formula="σ(z) − y",
    convex=True,
    curvature=curvature_binary_cross_entropy,
)


@per_example(unit=True)
def _curvature_signed_squared_error(z, y):
    return jnp.ones_like(z)


@per_example(unit=True)
def _curvature_signed_huber(z, y, epsilon=EPSILON):
    return (jnp.abs(z - (2.0 * y - 1.0)) <= epsilon).astype(z.dtype)


@per_example(unit=True)
def _curvature_signed_squared_epsilon_insensitive(z, y, epsilon=EPSILON):
    return 2.0 * (jnp.abs(z - (2.0 * y - 1.0)) > epsilon).astype(z.dtype)


# name → (value, δ, formula, δ formula, curvature, kink distance)
SIGNED: dict[str, tuple[Any, ...]] = {
    "signed_squared_error": (
        signed_squared_error,
        delta_signed_squared_error,
        "½ r²",
        "r",
        _curvature_signed_squared_error,
        None,
    ),
    "signed_huber": (
        signed_huber,
        delta_signed_huber,
        "½ r² if |r| ≤ ε else ε |r| − ½ ε²",
        "clip(r, −ε, ε)",
        _curvature_signed_huber,
        None,
    ),
    "signed_epsilon_insensitive": (
        signed_epsilon_insensitive,
        delta_signed_epsilon_insensitive,
        "max(0, |r| − ε)",
        "sign(r) 1[|r| > ε]",
        None,
        _kink_epsilon,
    ),
    "signed_squared_epsilon_insensitive": (
        signed_squared_epsilon_insensitive,
        delta_signed_squared_epsilon_insensitive,
        "max(0, |r| − ε)²",
        "2 sign(r) max(0, |r| − ε)",
        _curvature_signed_squared_epsilon_insensitive,
        None,
    ),
}


# jaxlin's own losses built for a width other than the registry's (``signed_loss``):
# derived and tested like the registry's, so not checked again before each fit
DERIVED: dict[str, Loss] = {}


def is_builtin(loss) -> bool:
    """Whether ``loss`` is one of jaxlin's own (the registry's, or ``DERIVED``)."""
    return LOSSES.get(loss.name) is loss or DERIVED.get(loss.name) is loss


@functools.lru_cache(maxsize=None)
def _signed(name: str, epsilon: float) -> Loss:
    value, delta, formula, delta_formula, curvature, kink = SIGNED[name]
    width = "" if name == "signed_squared_error" else f"ε = {epsilon:g}"
    return _derived(
        Loss(
            name if epsilon == EPSILON or not width else f"{name}(epsilon={epsilon:g})",
            value if not width else functools.partial(value, epsilon=epsilon),
            delta if not width else functools.partial(delta, epsilon=epsilon),
            "binary",
            f"{formula}, r = z − s, s = 2y − 1" + (f", {width}" if width else ""),
            delta_formula,
            convex=True,
            curvature=curvature
            if not width or curvature is None
            else functools.partial(curvature, epsilon=epsilon),
            kink_distance=None if kink is None else functools.partial(kink, epsilon=epsilon),
            spec=name.replace("signed_", "").replace("_", " ") + " on ±1",
            docs="losses.md#regression-losses-on-1-labels",
        )
    )


def _derived(loss: Loss) -> Loss:
    DERIVED[loss.name] = loss
    return loss


LOSSES: dict[str, Loss] = {
    loss.name: loss
    for loss in [
        Loss(
            "squared_error",
            squared_error,
            delta_squared_error,
            "real",
            "(y − z)²",
            "−2 (y − z)",
            convex=True,
            curvature=curvature_squared_error,
            spec="a",
            docs="losses.md#squared-error",
        ),
        Loss(
            "squared_error_step",
            squared_error_step,
            delta_squared_error_step,
            "binary",
            "(y − step(z))²",
            "−2 (y − step(z))  [straight-through]",
            convex=False,
            surrogate=_squared_error_step_surrogate,
            kink_distance=_kink_step,
            spec="b",
            docs="corrections.md#step-activation",
        ),
        Loss(
            "squared_error_sigmoid",
            squared_error_sigmoid,
            delta_squared_error_sigmoid,
            "binary",
            "(y − σ(z))²",
            "−2 σ(z)(1−σ(z)) (y − σ(z))",
            convex=False,
            curvature=curvature_squared_error_sigmoid,
            spec="c",
            docs="losses.md#squared-error-through-a-sigmoid",
        ),
        Loss(
            "binary_cross_entropy",
            target="binary",
            spec="d",
            **_BCE,
            docs="losses.md#binary-cross-entropy",
        ),
        Loss(
            "log_likelihood",
            log_likelihood,
            delta_log_likelihood,
            "binary",
            "y ln σ(z) + (1−y) ln(1−σ(z))  [maximised]",
            "y − σ(z)",
            convex=True,
            maximise=True,
            spec="e",
            curvature=curvature_log_likelihood,
            docs="losses.md#log-likelihood",
        ),
        Loss(
            "one_vs_rest_logistic",
            target="onehot",
            min_classes=2,
            spec="f",
            **_BCE,
            docs="losses.md#binary-cross-entropy",
        ),
        Loss(
            "softmax_cross_entropy",
            softmax_cross_entropy,
            delta_softmax_cross_entropy,
            "onehot",
            "logsumexp(z − z_y)",
            "softmax(z) − y",
            convex=True,
            min_classes=2,
            spec="g",
            curvature_product=curvature_product_softmax_cross_entropy,
            docs="losses.md#softmax-cross-entropy",
        ),
        Loss(
            "multiclass_hinge",
            multiclass_hinge,
            delta_multiclass_hinge,
            "onehot",
            "Σ_{j≠y} max(0, z_j − z_y + 1)  [Weston–Watkins]",
            "δ_j = 1[z_j − z_y + 1 > 0], δ_y = −Σ_{j≠y} δ_j",
            convex=True,
            min_classes=2,
            kink_distance=_kink_ww(1.0),
            spec="h",
            docs="losses.md#hinge-losses",
            dual=dual_multiclass_hinge,
        ),
        Loss(
            "multiclass_perceptron",
            multiclass_perceptron,
            delta_multiclass_perceptron,
            "onehot",
            "Σ_{j≠y} max(0, z_j − z_y)",
            "δ_j = 1[z_j − z_y > 0], δ_y = −Σ_{j≠y} δ_j",
            convex=True,
            min_classes=2,
            kink_distance=_kink_ww(0.0),
            spec="i",
            docs="losses.md#hinge-losses",
        ),
        Loss(
            "multiclass_squared_hinge",
            multiclass_squared_hinge,
            delta_multiclass_squared_hinge,
            "onehot",
            "Σ_{j≠y} max(0, z_j − z_y + 1)²",
            "δ_j = 2 max(0, z_j − z_y + 1), δ_y = −Σ_{j≠y} δ_j",
            convex=True,
            min_classes=2,
            spec="j",
            docs="losses.md#hinge-losses",
            dual=dual_multiclass_squared_hinge,
        ),
        Loss(
            "hinge",
            hinge,
            delta_hinge,
            "binary",
            "max(0, 1 − s z), s = 2y − 1",
            "−s 1[1 − s z > 0]",
            convex=True,
            kink_distance=_kink_hinge,
            spec="binary hinge",
            docs="losses.md#hinge-losses",
            dual=dual_hinge,
        ),
        Loss(
            "perceptron_criterion",
            perceptron_criterion,
            delta_perceptron_criterion,
            "binary",
            "max(0, −s z), s = 2y − 1",
            "−s 1[s z ≤ 0]",
            convex=True,
            kink_distance=_kink_step,
            spec="perceptron criterion",
            docs="losses.md#hinge-losses",
        ),
        Loss(
            "squared_hinge",
            squared_hinge,
            delta_squared_hinge,
            "binary",
            "max(0, 1 − s z)², s = 2y − 1",
            "−2 s max(0, 1 − s z)",
            convex=True,
            spec="binary squared hinge",
            docs="losses.md#hinge-losses",
            dual=dual_squared_hinge,
        ),
        Loss(
            "modified_huber",
            modified_huber,
            delta_modified_huber,
            "binary",
            "max(0, 1 − s z)² if s z ≥ −1 else −4 s z, s = 2y − 1",
            "−2 s max(0, 1 − s z) if s z ≥ −1 else −4 s",
            convex=True,
            spec="modified Huber",
            docs="losses.md#hinge-losses",
        ),
        *(_signed(name, EPSILON) for name in SIGNED),
        Loss(
            "crammer_singer_hinge",
            crammer_singer_hinge,
            delta_crammer_singer_hinge,
            "onehot",
            "max(0, 1 + max_{j≠y} z_j − z_y)",
            "e_{j*} − e_y if active",
            convex=True,
            min_classes=2,
            kink_distance=_kink_cs,
            spec="Crammer–Singer",
            docs="losses.md#hinge-losses",
            dual=dual_crammer_singer_hinge,
        ),
    ]
}


def signed_loss(name: str, epsilon: float = EPSILON) -> Loss:
    """A regression loss on ±1 labels (``"signed_huber"``, ``"signed_epsilon_insensitive"``,
    ``"signed_squared_epsilon_insensitive"``; ``"signed_squared_error"`` has no ``ε``) with
    its width ``ε``: the registry's own loss for ``EPSILON``, else one named
    ``"NAME(epsilon=ε)"``, the same object for the same ``ε`` (one compiled program)."""
    if name not in SIGNED:
        raise ValueError(f"loss: {name!r} is not one of {', '.join(SIGNED)}")
    epsilon = float(epsilon)
    if not (math.isfinite(epsilon) and epsilon >= 0):
        raise ValueError(f"epsilon: expected a finite number >= 0, got {epsilon!r}")
    return (
        LOSSES[name]
        if epsilon == EPSILON or name == "signed_squared_error"
        else _signed(name, epsilon)
    )


# --- δ bounded as scikit-learn's SGD bounds it ------------------------------------------
# Its SGD clips each example's dloss to ±MAX_DLOSS, so a squared loss at a large step
# (the "optimal" rate starts near α^(−1/2)) stays finite where the exact δ overflows.

MAX_DLOSS = 1e12


def _excess_squared_hinge(z, y, epsilon):
    """``u = max(0, 1 − s z)``, ``∂u/∂z = −s`` where ``u > 0``."""
    s = 2.0 * y - 1.0
    return jnp.maximum(1.0 - s * z, 0.0), -s


def _excess_signed_squared_error(z, y, epsilon):
    """``u = |r|``, ``∂u/∂z = sign(r)``, ``r = z − s``."""
    r = z - (2.0 * y - 1.0)
    return jnp.abs(r), jnp.sign(r)


def _excess_signed_squared_epsilon_insensitive(z, y, epsilon):
    """``u = max(0, |r| − ε)``, ``∂u/∂z = sign(r)`` where ``u > 0``."""
    r = z - (2.0 * y - 1.0)
    return jnp.maximum(jnp.abs(r) - epsilon, 0.0), jnp.sign(r)


# the losses whose δ grows without bound, each ``L = c u²``: name → (u and ∂u/∂z, c)
UNBOUNDED = {
    "squared_hinge": (_excess_squared_hinge, 1.0),
    "signed_squared_error": (_excess_signed_squared_error, 0.5),
    "signed_squared_epsilon_insensitive": (_excess_signed_squared_epsilon_insensitive, 1.0),
}


def _capped_delta(z, y, excess, c, bound, epsilon=EPSILON):
    """``δ = (∂u/∂z) min(2 c u, D)``: the loss's own ``δ = 2 c u ∂u/∂z``, clipped."""
    u, du = excess(z, y, epsilon)
    return du * jnp.minimum(2.0 * c * u, bound)


def _capped_surrogate(z, y, excess, c, bound, epsilon=EPSILON):
    """``c u²`` up to ``u = D / (2c)``, then its tangent ``D u − D² / (4c)``: the function
    whose gradient is the clipped ``δ``."""
    u, _ = excess(z, y, epsilon)
    knee = bound / (2.0 * c)
    return jnp.sum(jnp.where(u <= knee, c * u**2, bound * u - bound**2 / (4.0 * c)))


def capped(name: str, epsilon: float = EPSILON, bound: float = MAX_DLOSS) -> Loss:
    """A squared loss stepped as scikit-learn's SGD steps it: each example's ``δ`` clipped
    to ``[−D, D]`` (``D = bound``, its ``MAX_DLOSS``). Its value is the loss's own (the
    objective a run reports and stops on, as scikit-learn's sum of losses); the clipped
    ``δ`` is the exact gradient of its ``surrogate``, the loss continued by its tangent
    where ``|δ|`` reaches ``D``. Below ``D`` the two ``δ`` are equal, bit for bit.
    ``name``: one of ``UNBOUNDED``; ``epsilon``: the ε-insensitive loss's width."""
    if name not in UNBOUNDED:
        raise ValueError(f"loss: {name!r} is not one of {', '.join(UNBOUNDED)}")
    wide = name == "signed_squared_epsilon_insensitive"  # the others take no width
    return _capped(name, float(epsilon) if wide else EPSILON, float(bound))


@functools.lru_cache(maxsize=None)
def _capped(name: str, epsilon: float, bound: float) -> Loss:
    """``capped``'s loss, one object for one name, width and bound (one compiled program)."""
    base = signed_loss(name, epsilon) if name in SIGNED else LOSSES[name]
    excess, c = UNBOUNDED[name]
    width = {"epsilon": epsilon} if name == "signed_squared_epsilon_insensitive" else {}
    shape = dict(excess=excess, c=c, bound=bound, **width)

    def delta_capped(z, y):
        return _capped_delta(z, y, **shape)

    def surrogate_capped(z, y):
        return _capped_surrogate(z, y, **shape)

    return _derived(
        base._replace(
            name=f"{base.name}(|δ| ≤ {bound:g})",
            delta=per_example(unit=True)(delta_capped),
            delta_formula=f"clip({base.delta_formula}, −{bound:g}, {bound:g})",
            surrogate=per_example(unit=True)(surrogate_capped),
            curvature=None,
            kink_distance=None,
        )
    )


def load_loss(spec: str) -> Loss:
    """Import a user's loss from ``"MODULE:ATTR"`` (a dotted module name or a ``.py`` path).

    The current directory is searched too, so ``jaxlin train --loss myloss:FOCAL`` finds
    ``./myloss.py``. Raises ``ValueError`` naming ``loss`` and what was wrong.
    """
    import importlib
    import importlib.util
    import os
    import sys

    module_name, _, attr = spec.rpartition(":")
    if not module_name or not attr:
        raise ValueError(f"loss: expected MODULE:ATTR, got {spec!r}")
    try:
        if module_name.endswith(".py"):
            if not os.path.isfile(module_name):
                raise ImportError(f"no file {module_name!r}")
            name = "_jaxlin_user_" + os.path.splitext(os.path.basename(module_name))[0]
            module = sys.modules.get(name)
            if module is None or getattr(module, "__file__", None) != os.path.abspath(module_name):
                unit = importlib.util.spec_from_file_location(name, os.path.abspath(module_name))
                if unit is None or unit.loader is None:
                    raise ImportError(f"cannot load {module_name!r} as a Python module")
                module = importlib.util.module_from_spec(unit)
                sys.modules[name] = module
                unit.loader.exec_module(module)
        else:
            if os.getcwd() not in sys.path and "" not in sys.path:
                sys.path.append(os.getcwd())
            module = importlib.import_module(module_name)
    except ImportError as e:
        missing = getattr(e, "name", None)
        if missing and (module_name.endswith(".py") or missing != module_name.split(".")[0]):
            raise ValueError(  # the module was found; an import inside it failed
                f"loss: importing {module_name!r} failed: {e} (an import in {module_name!r} itself)"
            ) from None
        where = (
            ""
            if module_name.endswith(".py")
            else f"; run from the folder that holds {module_name.replace('.', '/')}.py, or add "
            "that folder to PYTHONPATH (a model trained with this loss needs it to load)"
        )
        raise ValueError(f"loss: cannot import {module_name!r} from {spec!r}: {e}{where}") from None
    except Exception as e:  # the module's own code failed: a syntax error, an exception
        raise ValueError(
            f"loss: importing {module_name!r} raised {type(e).__name__}: {e}"
        ) from None
    try:
        loss = getattr(module, attr)
    except AttributeError:
        raise ValueError(f"loss: module {module_name!r} has no attribute {attr!r}") from None
    if not isinstance(loss, Loss):
        raise ValueError(
            f"loss: {spec!r} is a {type(loss).__name__}, not a jaxlin.Loss; build "
            f"one with jaxlin.Loss(name=, value=, delta=, target=)"
        )
    return loss


def get_loss(name) -> Loss:
    """A ``Loss`` itself, a built-in's name, or ``"MODULE:ATTR"`` naming a user's loss.

    Unknown names raise a ``ValueError`` that lists the known ones.
    """
    if isinstance(name, Loss):
        return name
    if isinstance(name, str) and ":" in name:
        return load_loss(name)
    try:
        return LOSSES[name]
    except (KeyError, TypeError):
        raise ValueError(
            f"loss: unknown loss {name!r}; known losses: {', '.join(sorted(LOSSES))}, "
            f"a jaxlin.Loss, or MODULE:ATTR naming one"
        ) from None


def loss_key(loss):
    """How a result records its loss: a built-in's name, else the ``Loss`` itself."""
    loss = get_loss(loss)
    return loss.name if LOSSES.get(loss.name) is loss else loss
