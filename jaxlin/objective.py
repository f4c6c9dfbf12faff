"""The objective ``J(W, b) = (1/N) Σ_i L(z_i, y_i) + R(W)`` and its hand-derived gradient.

This is the one place where per-example losses are batched (``jax.vmap``) and
averaged. The gradient is the chain rule through the linear map (SPEC §1)::

    Δ = [δ_1; …; δ_N]                (N, K),  δ_i = ∂L/∂z_i  (owned by the loss)
    ∂J/∂W = (1/N) Xᵀ Δ + ∂R/∂W      (d, K)   (contraction owned by the linear model)
    ∂J/∂b = (1/N) Σ_i δ_i           (K,)     (the penalty never touches b)

With ``sample_weight`` ``w`` the mean becomes the weighted mean
``Σ_i w_i L_i / Σ_i w_i`` and ``Δ`` is replaced by ``w ⊙ Δ`` over ``Σ w``.

For a loss that is maximised (the log-likelihood, SPEC §3e) the objective is
the penalised log-likelihood ``mean LL − R(W)``; ascent on it is descent on
``mean(−LL) + R(W)``.
"""
from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from jaxlin import penalties
from jaxlin.linear import Params, contract, logits
from jaxlin.losses import Loss, get_loss
from jaxlin.penalties import Penalty


def _weigh(V, sample_weight):
    """``(w ⊙ V, Σ w)``, or ``(V, N)`` without weights: the single averaging rule."""
    if sample_weight is None:
        return V, V.shape[0]
    w = sample_weight.reshape((-1,) + (1,) * (V.ndim - 1)).astype(V.dtype)
    # a mini-batch made only of zero-weight rows contributes nothing (not 0/0)
    return V * w, jnp.maximum(jnp.sum(sample_weight).astype(V.dtype), jnp.finfo(V.dtype).tiny)


def _check_shapes(params: Params, X, T):
    # Trace-time shape check: a plain ValueError showing the shapes received.
    if X.ndim != 2 or T.ndim != 2 or params.W.ndim != 2 or params.b.ndim != 1:
        raise ValueError(
            f"objective: expected X (N, d), targets (N, K), W (d, K), b (K,); got X "
            f"{X.shape}, targets {T.shape}, W {params.W.shape}, b {params.b.shape}")
    (n, d), (n_t, k) = X.shape, T.shape
    if params.W.shape != (d, k) or params.b.shape != (k,) or n_t != n:
        raise ValueError(
            f"objective: shapes do not agree: X {X.shape} (N, d), targets {T.shape} (N, K), "
            f"W {params.W.shape} (d, K), b {params.b.shape} (K,)")


def per_example_losses(loss: Loss, Z, T):
    """``L(z_i, y_i)`` for each row: ``(N, K), (N, K) → (N,)``."""
    return jax.vmap(loss.value)(Z, T)


def score_gradients(loss: Loss, Z, T):
    """``Δ``, the stacked ``δ_i = ∂L/∂z_i``: ``(N, K), (N, K) → (N, K)``."""
    return jax.vmap(loss.delta)(Z, T)


def _penalty_sign(loss: Loss):
    return -1.0 if loss.maximise else 1.0


def objective(params: Params, X, T, loss, penalty: Penalty = Penalty(), sample_weight=None):
    """``J = mean_i L(x_i W + b, y_i) + R(W)`` (``mean LL − R`` for a maximised loss).

    Args:
      params: ``W`` ``(d, K)``, ``b`` ``(K,)``.
      X: ``(N, d)``. T: targets ``(N, K)`` (see :func:`encode_targets`).
      loss: a :class:`~jaxlin.losses.Loss` or its name.
      penalty: :class:`~jaxlin.penalties.Penalty` on ``W``.
      sample_weight: optional ``(N,)`` non-negative weights.
    Returns:
      scalar.
    """
    loss = get_loss(loss)
    _check_shapes(params, X, T)
    L, total = _weigh(per_example_losses(loss, logits(params, X), T), sample_weight)
    return jnp.sum(L) / total + _penalty_sign(loss) * penalties.value(penalty, params.W)


# The one-pass blocked gradient pays once X no longer sits in the CPU's caches. Measured on
# a 2-core EPYC (benchmarks/RESULTS.md, case 1): 2 MiB blocks suit K = 1, 8 MiB blocks K > 1.
MIN_BLOCKED_BYTES = 64 * 2**20
BLOCK_BYTES = {1: 2 * 2**20, "many": 8 * 2**20}


def block_rows(X, n_outputs: int):
    """Rows per block of the one-pass gradient, or ``None`` to stream X whole."""
    if X.size * X.dtype.itemsize < MIN_BLOCKED_BYTES:
        return None
    target = BLOCK_BYTES[1] if n_outputs == 1 else BLOCK_BYTES["many"]
    rows = max(256, target // (X.shape[1] * X.dtype.itemsize))
    return rows if X.shape[0] >= 2 * rows else None


def _sums(params: Params, X, T, loss: Loss, sample_weight):
    """``(Σ w_i L_i, Xᵀ (w ⊙ Δ), Σ w_i δ_i, Σ w_i)`` over the rows given."""
    Z = logits(params, X)
    L, total = _weigh(per_example_losses(loss, Z, T), sample_weight)
    D, _ = _weigh(score_gradients(loss, Z, T), sample_weight)
    return jnp.sum(L), contract(X, D), jnp.sum(D, axis=0), total


def _blocked_sums(params: Params, X, T, loss: Loss, sample_weight, block: int):
    """:func:`_sums` in one pass over row blocks: each block's scores, ``δ`` and ``Xᵀ Δ``
    are computed while the block is in cache, so X is streamed from memory once instead
    of twice (forward, then contraction). The last ``N mod block`` rows are one smaller
    block."""
    n = X.shape[0]
    n_full = n // block

    def rows(A, start, size):
        return None if A is None else jax.lax.dynamic_slice_in_dim(A, start, size)

    def body(i, acc):
        start = i * block
        part = _sums(params, rows(X, start, block), rows(T, start, block), loss,
                     rows(sample_weight, start, block))
        return jax.tree.map(jnp.add, acc, part)

    d, k = params.W.shape
    dtype = X.dtype
    zero = (jnp.zeros((), dtype), jnp.zeros((d, k), dtype), jnp.zeros((k,), dtype),
            jnp.zeros((), dtype))
    acc = jax.lax.fori_loop(0, n_full, body, zero)
    if n % block:
        tail = slice(n_full * block, n)
        acc = jax.tree.map(jnp.add, acc, _sums(params, X[tail], T[tail], loss,
                                               None if sample_weight is None
                                               else sample_weight[tail]))
    return acc


def value_and_grad(params: Params, X, T, loss, penalty: Penalty = Penalty(),
                   sample_weight=None, smooth_only: bool = False, normalizer=None):
    """``J`` and its hand-derived gradient ``(∂J/∂W, ∂J/∂b)`` through ``δ`` and ``Xᵀ Δ``.

    When X is larger than the caches the sums run in one pass over row blocks
    (:func:`block_rows`, :func:`_blocked_sums`); the result is the same up to rounding.

    Args: as :func:`objective`; ``smooth_only`` leaves the L1 term out of the
      gradient (and the value) for proximal solvers; ``normalizer`` replaces ``Σ w`` as
      the denominator of the mean (a mini-batch of a weighted objective divides by its
      row count times the global mean weight, so its gradient estimates the full one).
    Returns:
      ``(J, Params(dW (d, K), db (K,)))``.
    """
    loss = get_loss(loss)
    _check_shapes(params, X, T)
    rows = block_rows(X, T.shape[1])
    if rows is not None:
        L_sum, XtD, D_sum, total = _blocked_sums(params, X, T, loss, sample_weight, rows)
        if sample_weight is None:
            total = jnp.asarray(X.shape[0], X.dtype)
    else:
        L_sum, XtD, D_sum, total = _sums(params, X, T, loss, sample_weight)
    if normalizer is not None:
        total = normalizer
    sign = _penalty_sign(loss)
    pen = penalty._replace(l1=0.0) if smooth_only else penalty
    J = L_sum / total + sign * penalties.value(pen, params.W)
    dW = XtD / total + sign * penalties.grad(pen, params.W)
    return J, Params(dW, D_sum / total)


def grad(params: Params, X, T, loss, penalty: Penalty = Penalty(), sample_weight=None):
    """The hand-derived gradient alone (see :func:`value_and_grad`)."""
    return value_and_grad(params, X, T, loss, penalty, sample_weight)[1]


def autodiff_objective(params: Params, X, T, loss, penalty: Penalty = Penalty(),
                       sample_weight=None):
    """:func:`objective` built from ``loss.autodiff_value`` — what ``jax.grad`` checks against.

    Identical to :func:`objective` except for the straight-through step loss.
    """
    loss = get_loss(loss)
    Z = X @ params.W + params.b
    L, total = _weigh(jax.vmap(loss.autodiff_value)(Z, T), sample_weight)
    return jnp.sum(L) / total + _penalty_sign(loss) * penalties.value(penalty, params.W)


def autodiff_value_and_grad(params: Params, X, T, loss, penalty: Penalty = Penalty(),
                            sample_weight=None):
    """``jax.value_and_grad`` of :func:`autodiff_objective`: the independent reference."""
    return jax.value_and_grad(autodiff_objective)(params, X, T, loss, penalty, sample_weight)


def encode_targets(y, loss, n_classes: int | None = None):
    """Convert labels once, at the public boundary, to the ``(N, K)`` float targets losses take.

    * ``"binary"`` losses: ``y`` ``(N,)`` with values in ``{0, 1}`` or ``{−1, +1}`` → ``(N, 1)``;
      an ``(N, K)`` 0/1 matrix is kept (one-vs-rest).
    * ``"onehot"`` losses: integer ``y`` ``(N,)`` in ``{0..K−1}`` → one-hot ``(N, K)``;
      an ``(N, K)`` one-hot matrix is kept.
    * ``"real"`` losses: ``(N,)`` → ``(N, 1)``; ``(N, K)`` kept.

    Raises ``ValueError`` naming ``y`` for labels that do not fit the loss.
    """
    loss = get_loss(loss)
    arr = np.asarray(y)
    if arr.ndim not in (1, 2) or arr.shape[0] == 0:
        raise ValueError(f"y: expected labels of shape (N,) or (N, K) with N > 0, got {arr.shape}")
    if arr.dtype.kind not in "biuf":
        raise TypeError(f"y: expected numeric labels, got dtype {arr.dtype}")
    if not np.all(np.isfinite(arr)):
        raise ValueError("y: contains NaN or infinite values")
    if loss.target == "real":
        return jnp.asarray(arr.reshape(arr.shape[0], -1), jnp.float32)
    if arr.ndim == 2:
        if not np.all((arr == 0) | (arr == 1)):
            raise ValueError(f"y: a label matrix for loss {loss.name!r} must hold only 0 and 1")
        if loss.target == "onehot" and not np.all(arr.sum(1) == 1):
            raise ValueError(f"y: one-hot rows for loss {loss.name!r} must each sum to 1")
        return jnp.asarray(arr, jnp.float32)
    values = np.unique(arr)
    if loss.target == "binary":
        if set(values.tolist()) <= {-1, 1} and -1 in values:
            arr = (arr > 0)
        elif not set(values.tolist()) <= {0, 1}:
            raise ValueError(
                f"y: loss {loss.name!r} is binary and needs labels in {{0, 1}} or {{-1, +1}}; "
                f"got {len(values)} distinct values {values[:5].tolist()}")
        return jnp.asarray(arr.reshape(-1, 1), jnp.float32)
    if np.any(arr != np.round(arr)) or values.min() < 0:
        raise ValueError(f"y: loss {loss.name!r} needs integer class labels 0..K-1; got "
                         f"values {values[:5].tolist()}")
    k = int(values.max()) + 1 if n_classes is None else int(n_classes)
    if values.max() >= k:
        raise ValueError(f"y: label {int(values.max())} is out of range for {k} classes")
    if k < loss.min_classes:
        raise ValueError(f"y: loss {loss.name!r} needs at least {loss.min_classes} classes, got {k}")
    return jax.nn.one_hot(jnp.asarray(arr, jnp.int32), k, dtype=jnp.float32)


def hand_objective(X, T, loss, penalty: Penalty = Penalty(), sample_weight=None):
    """``params ↦ J(params)`` whose ``jax.grad`` is the hand-derived gradient.

    A ``jax.custom_vjp``: the forward pass computes ``J`` and ``(∂J/∂W, ∂J/∂b)`` in one
    pass over ``X`` (:func:`value_and_grad`); the backward pass only scales that
    gradient. Any autodiff consumer — ``jax.grad``, optax's L-BFGS line search — then
    runs on the hand-derived gradient instead of differentiating through the loss.
    """
    loss = get_loss(loss)

    @jax.custom_vjp
    def J(params):
        return objective(params, X, T, loss, penalty, sample_weight)

    def fwd(params):
        return value_and_grad(params, X, T, loss, penalty, sample_weight)

    def bwd(g, ct):
        return (jax.tree.map(lambda x: ct * x, g),)

    J.defvjp(fwd, bwd)
    return J
