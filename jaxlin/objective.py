"""The objective: one record that owns the mean, the penalty, the sign and the intercept.

``J(W, b) = (1/N) Σ_i L(z_i, y_i) + R(W)`` with ``z_i = x_i W + b`` (the mean is weighted,
``Σ w_i L_i / Σ w_i``, when sample weights are given). Its gradient is the chain rule through
the linear map (``docs/objective.md``):

    Δ = [δ_1; …; δ_N]                (N, K),  δ_i = ∂L/∂z_i  (owned by the loss)
    ∂J/∂W = (1/N) Xᵀ Δ + ∂R/∂W      (d, K)   (contraction owned by the linear model)
    ∂J/∂b = (1/N) Σ_i δ_i           (K,)     (the penalty never touches b)

``Objective`` is built once, at the public boundary, from the loss, the penalty, the
sample weights and ``fit_intercept`` (as scikit-learn's ``LinearModelLoss``). Solvers see only
its *minimised* form ``m = s · mean L + R(W)``, with ``s = −1`` for a maximised loss (the
log-likelihood: ascent on ``mean LL − R`` is descent on ``m``) and ``+1`` otherwise; they never
see a loss name, a sign, an intercept mask or a weight. ``Objective.reported`` turns ``m``
back into the loss's own direction for the history.

The free functions ``objective``, ``value_and_grad`` and ``grad`` are the same
record seen in the loss's own direction, for users and tests.
"""

from __future__ import annotations

import dataclasses
import functools
from functools import partial
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from jaxlin import backend, penalties, sparse, validation
from jaxlin.backend import put
from jaxlin.linear import (
    Params,
    checked_params,
    checked_rows,
    contract,
    contract_bias,
    contract_by_rows,
    contract_with_squares,
    host_checked,
    logits,
    logits_by_rows,
)
from jaxlin.linear import by_rows as by_rows_layout
from jaxlin.linear import squared as linear_squared
from jaxlin.losses import Loss, get_loss
from jaxlin.penalties import Penalty
from jaxlin.records import DualSimplex
from jaxlin.sparse import SparseRows
from jaxlin.validation import distinct_labels


def per_example_losses(loss: Loss, Z, T):
    """``L(z_i, y_i)`` for each row: ``(N, K), (N, K) → (N,)`` (``loss``: a ``Loss`` or its
    name)."""
    loss, Z, T = _rows_of_scores(loss, Z, T)
    return jax.vmap(loss.value)(Z, T)


def score_gradients(loss: Loss, Z, T):
    """``Δ``, the stacked ``δ_i = ∂L/∂z_i``: ``(N, K), (N, K) → (N, K)`` (``loss``: a
    ``Loss`` or its name)."""
    loss, Z, T = _rows_of_scores(loss, Z, T)
    return jax.vmap(loss.delta)(Z, T)


def _rows_of_scores(loss, Z, T):
    """The loss's record, and scores and targets of one shape ``(N, K)`` (a static check:
    it holds inside ``jit``)."""
    Z, T = (a if isinstance(a, jax.Array) else jnp.asarray(a) for a in (Z, T))
    if Z.ndim != 2 or Z.shape != T.shape:
        raise ValueError(
            f"Z, T: expected scores and targets of one shape (N, K), got {Z.shape} and {T.shape}"
        )
    return get_loss(loss), Z, T


def check_shapes(params: Params, X, T):
    # Trace-time shape check: a plain ValueError showing the shapes received.
    if X.ndim != 2 or T.ndim != 2 or params.W.ndim != 2 or params.b.ndim != 1:
        raise ValueError(
            f"objective: expected X (N, d), targets (N, K), W (d, K), b (K,); got X "
            f"{X.shape}, targets {T.shape}, W {params.W.shape}, b {params.b.shape}"
        )
    (n, d), (n_t, k) = X.shape, T.shape
    if params.W.shape != (d, k) or params.b.shape != (k,) or n_t != n:
        raise ValueError(
            f"objective: shapes do not agree: X {X.shape} (N, d), targets {T.shape} (N, K), "
            f"W {params.W.shape} (d, K), b {params.b.shape} (K,)"
        )


# The one-pass blocked gradient pays once X no longer sits in the CPU's caches. Measured on
# a 2-core EPYC (benchmarks/RESULTS.md, case 1): 2 MiB blocks suit K = 1, 8 MiB blocks K > 1.
MIN_BLOCKED_BYTES = 64 * 2**20
BLOCK_BYTES = {1: 2 * 2**20, "many": 8 * 2**20}


def block_rows(X, n_outputs: int):
    """Rows per block of the one-pass gradient, or ``None`` to stream X whole.

    Row blocks are a CPU cache optimisation; on GPU and TPU (``jaxlin.backend.cpu_tricks``)
    the plain fused form is used at every size, so the device keeps its parallelism.
    """
    if (
        isinstance(X, SparseRows)
        or X.size * X.dtype.itemsize < MIN_BLOCKED_BYTES
        or not backend.cpu_tricks()
    ):
        return None
    target = BLOCK_BYTES[1] if n_outputs == 1 else BLOCK_BYTES["many"]
    rows = max(256, target // (X.shape[1] * X.dtype.itemsize))
    return rows if X.shape[0] >= 2 * rows else None


def _rows(A, start, size):
    return None if A is None else jax.lax.dynamic_slice_in_dim(A, start, size)


def _sums(params: Params, X, T, loss: Loss, w, Z=None):
    """``(Σ w_i L_i, Xᵀ (w ⊙ Δ), Σ w_i δ_i)`` over the rows given (``w = 1`` when ``None``);
    ``Z``: the scores ``X W + b`` when the caller has them."""
    L, D = _weighted_terms(loss, logits(params, X) if Z is None else Z, T, w)
    return jnp.sum(L), contract(X, D), contract_bias(D)


def _weighted_terms(loss: Loss, Z, T, w):
    """Each example's ``w_i L_i`` ``(N,)`` and ``w_i δ_i`` ``(N, K)`` at the scores ``Z``."""
    L, D = per_example_losses(loss, Z, T), score_gradients(loss, Z, T)
    if w is not None:
        w = w.astype(Z.dtype)
        L, D = L * w, D * w[:, None]
    return L, D


def _blocked_sums(params: Params, X, T, loss: Loss, w, block: int):
    """``_sums`` in one pass over row blocks: each block's scores, ``δ`` and ``Xᵀ Δ``
    are computed while the block is in cache, so X is streamed from memory once instead
    of twice (forward, then contraction). The last ``N mod block`` rows are one smaller
    block."""
    n, (d, k) = X.shape[0], params.W.shape
    n_full = n // block

    def body(i, acc):
        part = _sums(
            params,
            _rows(X, i * block, block),
            _rows(T, i * block, block),
            loss,
            _rows(w, i * block, block),
        )
        return jax.tree.map(jnp.add, acc, part)

    zero = (jnp.zeros((), X.dtype), jnp.zeros((d, k), X.dtype), jnp.zeros((k,), X.dtype))
    acc = jax.lax.fori_loop(0, n_full, body, zero)
    if n % block:
        tail = slice(n_full * block, n)
        acc = jax.tree.map(
            jnp.add, acc, _sums(params, X[tail], T[tail], loss, None if w is None else w[tail])
        )
    return acc


@partial(
    jax.tree_util.register_dataclass,
    data_fields=("penalty", "sample_weight", "normalizer", "mean_weight"),
    meta_fields=("loss", "fit_intercept", "has_l1"),
)
@dataclasses.dataclass(frozen=True)
class Objective:
    """``m(W, b) = s · Σ_i w_i L_i / Σ_i w_i + R(W)``: what every solver minimises.

    A pytree: the penalty strengths and the weights are arrays (``vmap``-able over many
    models); the loss, ``fit_intercept`` and whether an L1 term exists are static.

    Attributes:
      loss: the ``Loss``.
      penalty: ``Penalty`` on ``W`` (never ``b``).
      sample_weight: ``(N,)`` non-negative weights, or ``None`` for the plain mean.
      normalizer: the denominator of the mean when it is not ``Σ w`` (a mini-batch, see
        ``on_rows``), else ``None``.
      fit_intercept: ``False`` keeps ``b`` at 0 (its gradient is masked).
      has_l1: whether the L1 term can be non-zero (static: proximal steps are skipped when not).
      mean_weight: the mean weight of all the rows these rows are part of (a streamed chunk
        of a file: its mini-batches then divide as the whole file's would, ``on_rows``), or
        ``None``: of these rows.

    >>> o = Objective.build("log_likelihood", Penalty(0.0, 0.5))
    >>> p = Params(jnp.ones((1, 1)), jnp.zeros(1))
    >>> X, T = jnp.zeros((2, 1)), jnp.ones((2, 1))
    >>> round(float(o.value(p, X, T)), 4), round(float(o.reported(o.value(p, X, T))), 4)
    (1.1931, -1.1931)
    """

    loss: Loss
    penalty: Any = Penalty()
    sample_weight: Any = None
    normalizer: Any = None
    fit_intercept: bool = True
    has_l1: bool = False
    mean_weight: Any = None

    @classmethod
    def build(
        cls, loss, penalty: Penalty = Penalty(), sample_weight=None, fit_intercept: bool = True
    ) -> "Objective":
        """The record, from a loss (or its name) and the rest; decides ``has_l1`` once."""
        has_l1 = bool(np.any(np.asarray(jax.device_get(penalty.l1)) != 0))
        return cls(get_loss(loss), penalty, sample_weight, None, bool(fit_intercept), has_l1)

    @property
    def sign(self) -> float:
        """``−1`` for a maximised loss (the log-likelihood), else ``+1``."""
        return -1.0 if self.loss.maximise else 1.0

    def reported(self, m):
        """The minimised value ``m`` in the loss's own direction (``mean LL − R`` climbs)."""
        return self.sign * m

    def _total(self, X):
        """The denominator of the mean: ``N``, ``Σ w``, or the mini-batch normaliser."""
        if self.normalizer is not None:
            return self.normalizer
        if self.sample_weight is None:
            return X.shape[0]
        w = self.sample_weight
        # a mini-batch made only of zero-weight rows contributes nothing (not 0/0)
        return jnp.maximum(jnp.sum(w).astype(X.dtype), jnp.finfo(X.dtype).tiny)

    def smooth_value_and_grad(self, params: Params, X, T, Z=None, by_rows=False):
        """``m`` without its L1 term, and its hand-derived gradient ``(∂m/∂W, ∂m/∂b)``.

        One pass over ``X`` (row blocks when it exceeds the caches, ``block_rows``); given
        the scores ``Z = X W + b`` ``(N, K)`` (a solver that carries them), only the
        contraction ``Xᵀ Δ`` reads ``X``. ``by_rows``: ``W`` and ``dW`` laid out ``(K, d)``
        (``jaxlin.linear.by_rows``; dense rows, the mini-batch steps' layout on the CPU).
        Returns ``(scalar, Params(dW (d, K), db (K,)))``; ``db = 0`` without an intercept.
        """
        if by_rows:
            check_shapes(by_rows_layout(params), X, T)
            Z = logits_by_rows(params, X) if Z is None else Z
            L, D = _weighted_terms(self.loss, Z, T, self.sample_weight)
            XtD, D_sum = contract_by_rows(X, D), contract_bias(D, mini_batch=True)
            return self._value_and_grad_from(params, X, jnp.sum(L), XtD, D_sum)
        check_shapes(params, X, T)
        rows = None if Z is not None else block_rows(X, T.shape[1])
        if rows is None:
            sums = _sums(params, X, T, self.loss, self.sample_weight, Z)
        else:
            sums = _blocked_sums(params, X, T, self.loss, self.sample_weight, rows)
        return self._value_and_grad_from(params, X, *sums)

    def _value_and_grad_from(self, params: Params, X, L_sum, XtD, D_sum):
        total, s, l2 = self._total(X), self.sign, self.penalty._replace(l1=0.0)
        m = s * L_sum / total + penalties.value(l2, params.W)
        g = Params(s * XtD / total + penalties.grad(l2, params.W), s * D_sum / total)
        return m, self.mask_bias(g)

    def smooth_value_grad_and_diagonal(self, params: Params, X, T, Z, X2=None):
        """``smooth_value_and_grad`` and ``hessian_diagonal`` at the scores ``Z`` together:
        sparse rows are read once for both contractions, ``Xᵀ Δ`` and ``(X ⊙ X)ᵀ c`` (the
        squares taken as the values are read); dense rows contract ``X`` and ``X2 = X ⊙ X``
        (``jaxlin.linear.contract_with_squares``). Returns ``(m, g, diag)``."""
        check_shapes(params, X, T)
        L, D = _weighted_terms(self.loss, Z, T, self.sample_weight)
        c = self._curvature_diagonals(Z, T)
        XtD, Xc = contract_with_squares(X, D, c, X2)
        m, g = self._value_and_grad_from(params, X, jnp.sum(L), XtD, contract_bias(D))
        return m, g, self._diagonal_from(X, Xc, c)

    def data_score_gradients(self, params: Params, X, T, Z=None):
        """The data part alone, per row: ``(s · Σ w_i L_i / Σw, Δ̃, ∂/∂b)`` with
        ``Δ̃_i = s w_i δ_i / Σw`` ``(N, K)``, so that ``∂(data part)/∂W = Xᵀ Δ̃``. For a step
        that contracts ``Δ̃`` over its own entries (lazy sparse updates) and leaves the
        penalty to ``penalty_steps``. ``Z``: the scores ``X W + b`` when the caller has
        them."""
        check_shapes(params, X, T)
        Z = logits(params, X) if Z is None else Z
        L, D = _weighted_terms(self.loss, Z, T, self.sample_weight)
        total, s = self._total(X), self.sign
        D = s * D / total
        D_sum = contract_bias(D, mini_batch=True)
        return s * jnp.sum(L) / total, D, self.mask_bias(params._replace(b=D_sum)).b

    def penalty_steps(self, W, steps, step_size):
        """``W`` after ``steps`` proximal-gradient steps of the penalty alone (no data):
        ``w ← prox_{η l1}((1 − 2 η l2) w)`` applied ``steps`` times (an array, one count per
        row of ``W``), in closed form (``jaxlin.penalties.repeated_steps``)."""
        return penalties.repeated_steps(self.penalty, W, steps, step_size, self.has_l1)

    def l2_shrink(self, step_size):
        """``1 − 2 η l2``: what a gradient step of size ``η`` on the L2 term multiplies ``W``
        by."""
        return 1.0 - 2.0 * step_size * self.penalty.l2

    def l2_value(self, sq_norm):
        """``l2 ‖W‖²`` from ``‖W‖²``, for steps that keep the norm themselves (the sparse
        steps' ``W = a V``)."""
        return self.penalty.l2 * sq_norm

    def penalty_value(self, W):
        """``R(W)``, both terms."""
        return penalties.value(self.penalty, W)

    def hvp(self, params: Params, X, T, v: Params) -> Params:
        """The hand-derived Hessian-vector product of the smooth part of ``m``: ``(∇²m) v``.

        With ``U = X v_W + v_b`` (how the scores move along ``v``, ``(N, K)``) and each
        example's curvature applied to its row of ``U`` (``h ⊙ u`` for an element-wise loss,
        the softmax Jacobian for the softmax):

            (∇²m v)_W = s Xᵀ (w ⊙ C U) / Σw + 2 l2 v_W,   (∇²m v)_b = s Σ_i w_i (C U)_i / Σw

        Two passes over ``X``, like the gradient (``docs/second-order.md``), plus the scores
        ``Z`` at ``params``: ``hessian_operator`` computes those once for many products.
        """
        return self.hessian_operator(params, X, T)(v)

    def hessian_operator(self, params: Params, X, T):
        """``v ↦ (∇²m) v`` at ``params`` (``hvp``), with the scores ``Z = X W + b``
        computed once: each product is then two passes over ``X`` (Newton-CG's inner loop
        makes many at one point)."""
        H = self.newton_system(params, X, T)
        return lambda v: H(v)[0]

    def _hvp_at(self, Z, X, T, v: Params):
        """``((∇²m) v, U)`` with ``U = X v_W + v_b``: the product, and how the scores move
        along ``v`` (which a solver may carry: the scores are linear in the parameters)."""
        v = self.mask_bias(v)  # without an intercept the bias is not a direction
        U = logits(v, X)
        CU = jax.vmap(self.loss.curvature_times)(Z, T, U)
        if self.sample_weight is not None:
            CU = CU * self.sample_weight.astype(X.dtype)[:, None]
        total, s = self._total(X), self.sign
        h = Params(
            s * contract(X, CU) / total + 2.0 * self.penalty.l2 * v.W,
            s * contract_bias(CU) / total,
        )
        return self.mask_bias(h), U

    def hessian_diagonal(self, params: Params, X, T, X2=None) -> Params:
        """The diagonal of the smooth part's Hessian ``∇²m`` at ``params``:

            diag_W = s (X ⊙ X)ᵀ (w ⊙ c) / Σw + 2 l2,   diag_b = s Σ_i w_i c_i / Σw

        with ``c_i`` the diagonal of example ``i``'s ``∂²L/∂z²`` (``K`` products with the
        unit vectors: ``h`` for an element-wise loss, ``p ⊙ (1 − p)`` for the softmax). One
        pass over ``X ⊙ X`` (``X2``: ``jaxlin.linear.squared(X)``, made here if not given).
        """
        check_shapes(params, X, T)
        return self._diagonal_at(logits(params, X), linear_squared(X) if X2 is None else X2, T)

    def newton_system(self, params: Params, X, T, Z=None):
        """``v ↦ ((∇²m) v, X v_W + v_b)`` at ``params``: the product, and how the scores move
        along ``v``, with the scores ``Z = X W + b`` computed once for all products (``Z``:
        given by a caller that has them)."""
        check_shapes(params, X, T)
        Z = logits(params, X) if Z is None else Z
        return lambda v: self._hvp_at(Z, X, T, v)

    def _diagonal_at(self, Z, X2, T) -> Params:
        c = self._curvature_diagonals(Z, T)
        return self._diagonal_from(X2, contract(X2, c), c)

    def _curvature_diagonals(self, Z, T):
        """``w_i`` times the diagonal of example ``i``'s ``∂²L/∂z²``, ``(N, K)``."""
        c = jnp.diagonal(self._example_curvatures(Z, T), axis1=1, axis2=2)
        if self.sample_weight is not None:
            c = c * self.sample_weight.astype(Z.dtype)[:, None]
        return c

    def _diagonal_from(self, X, X2c, c) -> Params:
        """The Hessian's diagonal from ``(X ⊙ X)ᵀ c`` and ``c`` (``_curvature_diagonals``)."""
        total, s = self._total(X), self.sign
        d = Params(s * X2c / total + 2.0 * self.penalty.l2, s * contract_bias(c) / total)
        return self.mask_bias(d)

    def curvature_matrices(self, params: Params, X, T, Z=None):
        """Each example's ``∂²(s L)/∂z²`` as a ``(N, K, K)`` array, weighted by ``w_i / Σw``
        (``Z``: the scores ``X W + b`` when the caller has them)."""
        C = self._example_curvatures(logits(params, X) if Z is None else Z, T)
        return self.sign * C * self._weights(X)[:, None, None]

    @property
    def diagonal_curvature(self) -> bool:
        """Whether each score's curvature stands alone (``Loss.diagonal_curvature``): then
        the Hessian is block-diagonal over the outputs (``jaxlin.hessian.hessian_blocks``)."""
        return self.loss.diagonal_curvature

    def curvature_diagonals(self, params: Params, X, T, Z=None):
        """For a loss with a diagonal curvature (``Loss.diagonal_curvature``): each example's
        ``∂²(s L)/∂z_k²`` as a ``(N, K)`` array, weighted by ``w_i / Σw`` — the diagonals of
        ``curvature_matrices``, without their ``K²`` zeros."""
        curvature = self.loss.curvature
        if curvature is None or not self.diagonal_curvature:
            raise ValueError(f"loss: {self.loss.name!r} has no diagonal curvature")
        Z = logits(params, X) if Z is None else Z
        c = jax.vmap(curvature)(Z, T)
        return self.sign * c * self._weights(X)[:, None]

    def _weights(self, X):
        """``w_i / Σw`` ``(N,)`` (``1 / N`` unweighted)."""
        w = (
            jnp.ones((X.shape[0],), X.dtype)
            if self.sample_weight is None
            else self.sample_weight.astype(X.dtype)
        )
        return w / self._total(X)

    def _example_curvatures(self, Z, T):
        """Each example's ``∂²L/∂z²`` at its scores, ``(N, K, K)`` (symmetric): the curvature
        product with the ``K`` unit vectors."""
        eye = jnp.eye(Z.shape[1], dtype=Z.dtype)
        return jax.vmap(lambda z, y: jax.vmap(lambda e: self.loss.curvature_times(z, y, e))(eye))(
            Z, T
        )

    def nonsmooth(self, W):
        """The L1 term ``l1 Σ|w|`` (left to ``prox`` by proximal solvers)."""
        return self.penalty.l1 * jnp.sum(jnp.abs(W))

    def value_and_smooth_grad(self, params: Params, X, T):
        """``m`` (L1 included) and the gradient of its smooth part: what a proximal step takes."""
        m, g = self.smooth_value_and_grad(params, X, T)
        return m + self.nonsmooth(params.W), g

    def value(self, params: Params, X, T):
        """``m``, L1 included (a scalar)."""
        check_shapes(params, X, T)
        L = per_example_losses(self.loss, logits(params, X), T)
        if self.sample_weight is not None:
            L = L * self.sample_weight.astype(L.dtype)
        return self.sign * jnp.sum(L) / self._total(X) + penalties.value(self.penalty, params.W)

    def value_and_grad(self, params: Params, X, T):
        """``m`` and its (sub)gradient, with the minimum-norm ``l1 sign(W)`` for L1."""
        m, g = self.value_and_smooth_grad(params, X, T)
        return m, g._replace(W=g.W + self.penalty.l1 * jnp.sign(params.W))

    def prox(self, params: Params, step_size) -> Params:
        """The proximal step of the L1 term: ``W ← soft_threshold(W, η l1)``; exact zeros."""
        if not self.has_l1:
            return params
        return params._replace(W=penalties.prox(self.penalty, params.W, step_size))

    def pseudo_gradient(self, params: Params, g: Params) -> Params:
        """The pseudo-gradient of ``m`` from the smooth part's gradient ``g``
        (``penalties.pseudo_gradient`` on ``W``; ``b`` carries no L1)."""
        if not self.has_l1:
            return g
        return g._replace(W=penalties.pseudo_gradient(self.penalty, params.W, g.W))

    def orthant_projection(self, params: Params, pg: Params, trial: Params) -> Params:
        """``trial`` kept in the orthant of ``params`` (``penalties.orthant_projection``:
        each weight that crossed 0 set to 0); ``b`` and an objective without L1 unchanged."""
        if not self.has_l1:
            return trial
        return trial._replace(W=penalties.orthant_projection(params.W, pg.W, trial.W))

    def gradient_mapping_norm(self, params: Params, g: Params, step_size, kind: str = "l2"):
        """``‖(θ − prox(θ − η g))/η‖``: the gradient norm, generalised to the L1 prox step;
        ``kind`` ``"l2"`` (Euclidean) or ``"max"`` (the largest entry's magnitude)."""
        if not self.has_l1:
            return _norm(g, kind)
        W_step = params.W - step_size * g.W
        gW = params.W - penalties.soft_threshold(W_step, step_size * self.penalty.l1)
        return _norm(Params(gW / step_size, g.b), kind)

    def dual_problem(self, T, n):
        """The dual of ``m`` for a loss with a ``dual`` (the hinges, Crammer–Singer), an L2
        term and no intercept: the loss's ``DualBox``, ``DualSimplex`` or ``DualPairwise``
        (``jaxlin.records``)
        at each row's ``C_i``, every field ``(N, K)``.

        ``m = Σ w_i L_i / Σw + l2 ‖W‖²`` is ``2 l2`` times ``½‖W‖² + Σ C_i L_i`` with
        ``C_i = w_i / (2 l2 Σw)`` (``Σw = n`` unweighted). A row of weight 0 (or past the
        ``n`` real ones) gets the box ``U = 0``: its dual variables stay 0.
        """
        w = jnp.ones(T.shape[0], T.dtype) if self.sample_weight is None else self.sample_weight
        w = jnp.where(jnp.arange(T.shape[0]) < n, w.astype(T.dtype), 0)
        total = jnp.sum(w) if self.sample_weight is not None else jnp.asarray(n, T.dtype)
        C = jnp.broadcast_to((w / (2 * self.penalty.l2 * total))[:, None], T.shape)
        form = self.loss.dual(jnp.where(C > 0, C, 1), T)
        if isinstance(form, DualSimplex):
            return form._replace(upper=jnp.where(C > 0, form.upper, 0))
        return form._replace(
            upper=jnp.where(C > 0, form.upper, 0), diag=jnp.where(C > 0, form.diag, 0)
        )

    def row_weight(self, i):
        """Row ``i``'s weight as given (1 without weights): what an online rule that
        weighs each row's step by it multiplies the step by (the passive-aggressive steps,
        as scikit-learn's)."""
        if self.sample_weight is None:
            return 1.0
        return self.sample_weight[i]

    def column_losses(self, z, t):
        """One row's loss column by column, ``(K,)``, for a loss that sums over its columns
        (the binary losses): ``L(z_k, t_k)`` each, unweighted, in the minimised direction."""
        one = jax.vmap(lambda zk, tk: self.loss.value(zk[None], tk[None]))(z, t)
        return self.sign * one

    def row_delta(self, z, t):
        """One row's ``δ = ∂L/∂z`` ``(K,)`` in the minimised direction, unweighted."""
        return self.sign * self.loss.delta(z, t)

    def mask_bias(self, params: Params) -> Params:
        """``b`` set to 0 when the model has no intercept (the one place that decides it)."""
        return params if self.fit_intercept else params._replace(b=jnp.zeros_like(params.b))

    def on_rows(self, idx, mask=None, n_rows=None) -> "Objective":
        """The objective of a mini-batch ``X[idx]``: an unbiased estimate of the full one.

        Without weights and without padding (``mask is None``) it is the plain mean over the
        batch. Otherwise each row weighs ``mask_i w_idx_i`` and the batch divides by its real
        row count times the mean weight over the ``n_rows`` real rows (or ``mean_weight``) —
        not by its own weight sum, which would let a batch of one class take a full step.
        """
        if self.sample_weight is None and mask is None:
            return self
        w = self.sample_weight
        if w is None:
            w = jnp.ones((n_rows,), jnp.result_type(mask))
        bw = w[idx] if mask is None else mask * w[idx]
        count = idx.shape[0] if mask is None else jnp.sum(mask)
        mean = jnp.sum(w) / n_rows if self.mean_weight is None else self.mean_weight
        return dataclasses.replace(self, sample_weight=bw, normalizer=count * mean)

    @staticmethod
    def running_mean(values, counts):
        """``Σ c_j v_j / Σ c_j``: the epoch objective from its mini-batches (or chunks), in
        the arrays' own kind (NumPy's on the host: nothing to compile)."""
        return (values * counts).sum() / counts.sum()

    def as_function(self, X, T):
        """``params ↦ m_smooth(params)`` whose ``jax.grad`` is the hand-derived gradient.

        A ``jax.custom_vjp``: the forward pass computes the value and the gradient in one
        pass over ``X`` (``smooth_value_and_grad``); the backward pass only scales that
        gradient. Any autodiff consumer — ``jax.grad``, optax's L-BFGS line search — then runs
        on the hand-derived gradient instead of differentiating through the loss.
        """

        @jax.custom_vjp
        def m(params):
            return self.smooth_value_and_grad(params, X, T)[0]

        def fwd(params):
            return self.smooth_value_and_grad(params, X, T)

        def bwd(g, ct):
            return (jax.tree.map(lambda x: ct * x, g),)

        m.defvjp(fwd, bwd)
        return m


def _norm(tree, kind: str = "l2"):
    """The Euclidean norm of a pytree's entries, or with ``kind="max"`` their largest
    magnitude (``jaxlin.options.GRAD_NORMS``)."""
    if kind == "max":
        return functools.reduce(jnp.maximum, [jnp.max(jnp.abs(x)) for x in jax.tree.leaves(tree)])
    return jnp.sqrt(sum(jnp.sum(x * x) for x in jax.tree.leaves(tree)))


def objective(params: Params, X, T, loss, penalty: Penalty = Penalty(), sample_weight=None):
    """``J = mean_i L(x_i W + b, y_i) + R(W)`` (``mean LL − R`` for a maximised loss).

    Args:
      params: ``W`` ``(d, K)``, ``b`` ``(K,)``.
      X: ``(N, d)``. T: targets ``(N, K)`` (see ``encode_targets``), or labels ``(N,)``
        whose values are known (outside ``jit``), made targets as ``encode_targets`` does.
      loss: a ``Loss`` or its name.
      penalty: ``Penalty`` on ``W``.
      sample_weight: optional ``(N,)`` non-negative weights.
    Returns:
      scalar.

    >>> p = Params(jnp.zeros((2, 1)), jnp.zeros(1))
    >>> round(float(objective(p, jnp.ones((3, 2)), jnp.ones((3, 1)), "binary_cross_entropy")), 6)
    0.693147
    """
    params, X, T, sample_weight = on_device(params, X, T, sample_weight, loss)
    o = Objective(get_loss(loss), penalties.checked(penalty), _rows_weight(sample_weight, X))
    return o.reported(o.value(params, X, T))


def on_device(params: Params, X, T, sample_weight=None, loss=None):
    """The public functions' arrays as JAX arrays: NumPy float64 becomes float32 when
    float64 is off, as ``jnp.asarray`` makes it, rather than a JAX warning from inside
    (arrays made in the data's dtype); a SciPy sparse ``X`` becomes ``SparseRows`` of the
    weights' type (a ``SparseRows`` stays as it is).

    Values given on the host (NumPy arrays, lists, SciPy matrices) are known, so they are
    checked first — numeric, finite, ``X`` 2-D and non-empty, weights non-negative and not
    all zero — and a bad one is named in a ``ValueError``/``TypeError`` rather than turning
    ``J`` into NaN. JAX arrays are taken as they are (inside ``jit`` they are traced). With
    ``loss``, targets whose values are known are also checked to lie in its domain
    (``check_target_values``), and labels ``(N,)`` become the ``(N, K)`` targets
    (``host_targets``: class indices one-hot over ``W``'s ``K`` columns, ``{−1, +1}`` as
    ``{0, 1}``); inside ``jit`` the values are not known and ``T`` must be targets."""
    params = checked_params(params)
    X = checked_rows(X, params.W.dtype)
    if sample_weight is not None and not isinstance(sample_weight, jax.Array):
        sample_weight = validation.check_sample_weight(sample_weight, X.shape[0])
    weight = None if sample_weight is None else jnp.asarray(sample_weight)
    T = host_checked(T, "T")  # numeric and finite when given on the host
    if loss is not None and not isinstance(T, jax.core.Tracer):
        loss = get_loss(loss)
        if np.ndim(T) == 1:  # labels whose values are known: made targets, as fit makes them
            k = params.W.shape[1] if loss.target == "onehot" else None
            try:
                T = host_targets(np.asarray(T), loss, k, "T", np.dtype(params.W.dtype))
            except ValueError as exc:
                if k is None or "out of range" not in str(exc):
                    raise
                raise ValueError(
                    f"{exc}: the classes are params.W's {k} columns (W {params.W.shape})"
                ) from None
        check_target_values(np.asarray(T), loss)
    return params, X, T, weight


def check_target_values(T: np.ndarray, loss: Loss, name: str = "T") -> None:
    """``T`` ``(N, K)``, the targets a loss takes (``encode_targets`` makes them from labels),
    in the loss's domain: any finite value for ``"real"`` losses, ``0 ≤ t ≤ 1`` for
    ``"binary"`` ones (0/1, or soft targets), and rows of non-negative values summing to 1
    for ``"onehot"`` ones (one-hot, or soft). Outside it a loss is not the loss it names."""
    if T.ndim != 2:
        raise ValueError(
            f"{name}: expected targets of shape (N, K), got {T.shape}; labels become targets "
            f"through jaxlin.encode_targets(y, loss)"
        )
    if loss.target == "real" or T.size == 0:
        return
    if T.min() < 0 or (loss.target == "binary" and T.max() > 1):
        raise ValueError(
            f"{name}: loss {loss.name!r} takes targets in [0, 1], got values from "
            f"{T.min():g} to {T.max():g}; labels become targets through "
            f"jaxlin.encode_targets(y, loss)"
        )
    sums = T.sum(axis=1)
    if loss.target == "onehot" and not np.allclose(sums, 1.0, rtol=0, atol=1e-5):
        row = int(np.argmax(np.abs(sums - 1.0)))
        raise ValueError(
            f"{name}: loss {loss.name!r} takes one-hot (or soft) target rows that sum to 1; "
            f"row {row} sums to {sums[row]:g}"
        )


def _rows_weight(sample_weight, X):
    """``sample_weight`` of the public functions, checked to be one weight per row of ``X``
    (broadcasting would mix rows silently or fail deep inside JAX)."""
    if sample_weight is not None and jnp.shape(sample_weight) != (X.shape[0],):
        raise ValueError(
            f"sample_weight: expected shape ({X.shape[0]},) (one weight per row of X), got "
            f"{jnp.shape(sample_weight)}"
        )
    return sample_weight


def value_and_grad(params: Params, X, T, loss, penalty: Penalty = Penalty(), sample_weight=None):
    """``J`` and its hand-derived gradient ``(∂J/∂W, ∂J/∂b)`` through ``δ`` and ``Xᵀ Δ``.

    When X is larger than the caches the sums run in one pass over row blocks
    (``block_rows``); the result is the same up to rounding. Args as ``objective``.

    Returns:
      ``(J, Params(dW (d, K), db (K,)))``; for L1 the minimum-norm subgradient ``l1 sign(W)``.
    """
    params, X, T, sample_weight = on_device(params, X, T, sample_weight, loss)
    o = Objective(get_loss(loss), penalties.checked(penalty), _rows_weight(sample_weight, X))
    m, g = o.value_and_grad(params, X, T)
    return o.reported(m), jax.tree.map(o.reported, g)


def grad(params: Params, X, T, loss, penalty: Penalty = Penalty(), sample_weight=None):
    """The hand-derived gradient alone (see ``value_and_grad``)."""
    return value_and_grad(params, X, T, loss, penalty, sample_weight)[1]


def autodiff_objective(
    params: Params, X, T, loss, penalty: Penalty = Penalty(), sample_weight=None
):
    """``objective`` written out directly from ``loss.autodiff_value``: the independent
    reference that ``jax.grad`` differentiates. It differs from ``objective`` only for
    the straight-through step loss."""
    loss = get_loss(loss)
    params, X, T, sample_weight = on_device(params, X, T, sample_weight, loss)
    check_shapes(params, X, T)  # (a mismatch was JAX's vmap error about sizes)
    penalty = penalties.checked(penalty)
    XW = sparse.matmul(X, params.W) if isinstance(X, SparseRows) else X @ params.W
    L = jax.vmap(loss.autodiff_value)(XW + params.b, T)
    mean = (
        jnp.mean(L)
        if sample_weight is None
        else jnp.sum(sample_weight * L) / jnp.sum(sample_weight)
    )
    R = penalty.l1 * jnp.sum(jnp.abs(params.W)) + penalty.l2 * jnp.sum(params.W**2)
    return mean - R if loss.maximise else mean + R


def autodiff_value_and_grad(
    params: Params, X, T, loss, penalty: Penalty = Penalty(), sample_weight=None
):
    """``jax.value_and_grad`` of ``autodiff_objective``: the independent reference."""
    params, X, T, sample_weight = on_device(params, X, T, sample_weight, loss)  # checked, untraced
    return jax.value_and_grad(autodiff_objective)(params, X, T, loss, penalty, sample_weight)


def host_targets(
    y, loss, n_classes: int | None = None, name: str = "y", dtype=np.float32
) -> np.ndarray:
    """Convert labels once, at the public boundary, to the ``(N, K)`` float targets losses take.

    * ``"binary"`` losses: ``y`` ``(N,)`` with values in ``{0, 1}`` or ``{−1, +1}`` → ``(N, 1)``;
      an ``(N, K)`` 0/1 matrix is kept (one-vs-rest).
    * ``"onehot"`` losses: integer ``y`` ``(N,)`` in ``{0..K−1}`` → one-hot ``(N, K)``;
      an ``(N, K)`` one-hot matrix is kept.
    * ``"real"`` losses: ``(N,)`` → ``(N, 1)``; ``(N, K)`` kept.

    Raises ``ValueError`` naming ``name`` (the argument) for labels that do not fit the
    loss. A NumPy array of ``dtype`` (``encode_targets`` is the same on the device).
    """
    return targets_and_labels(y, loss, n_classes, name, dtype)[0]


def targets_and_labels(y, loss, n_classes=None, name: str = "y", dtype=np.float32):
    """``(T, labels)``: ``host_targets`` and the sorted distinct labels of a 1-D class ``y``
    (``None`` for real targets and label matrices), found in the one pass that checks them."""
    loss = get_loss(loss)
    n_classes = validation.check_n_classes(n_classes)
    arr = validation.numeric_labels(np.asarray(y))
    if arr.ndim not in (1, 2) or arr.shape[0] == 0:
        raise ValueError(
            f"{name}: expected labels of shape (N,) or (N, K) with N > 0, got {arr.shape}"
        )
    if arr.dtype.kind not in "biuf":
        raise TypeError(f"{name}: expected numeric labels, got dtype {arr.dtype}")
    validation.check_finite_values(arr, name)
    if loss.target == "real":
        if n_classes is not None:
            raise ValueError(
                f"n_classes: loss {loss.name!r} is a regression loss (real targets); it has "
                f"no classes, got n_classes={n_classes}"
            )
        return arr.reshape(arr.shape[0], -1).astype(dtype), None
    if arr.ndim == 2:
        if not np.all((arr == 0) | (arr == 1)):
            raise ValueError(
                f"{name}: a label matrix for loss {loss.name!r} must hold only 0 and 1"
            )
        if loss.target == "onehot" and not np.all(arr.sum(1) == 1):
            raise ValueError(f"{name}: one-hot rows for loss {loss.name!r} must each sum to 1")
        return arr.astype(dtype), None
    values = distinct_labels(arr)
    if loss.target == "binary":
        if set(values.tolist()) <= {-1, 1} and -1 in values:
            arr = arr > 0
        elif not set(values.tolist()) <= {0, 1}:
            raise ValueError(
                f"{name}: loss {loss.name!r} is binary and needs labels in {{0, 1}} or {{-1, +1}}; "
                f"got {len(values)} distinct values {values[:5].tolist()}"
            )
        return arr.reshape(-1, 1).astype(dtype), values
    if np.any(values != np.round(values)) or values.min() < 0:
        raise ValueError(
            f"{name}: loss {loss.name!r} needs integer class labels 0..K-1; got "
            f"values {values[:5].tolist()}"
        )
    k = int(values.max()) + 1 if n_classes is None else int(n_classes)
    if values.max() >= k:
        raise ValueError(f"{name}: label {int(values.max())} is out of range for {k} classes")
    if k < loss.min_classes:
        raise ValueError(
            f"{name}: loss {loss.name!r} needs at least {loss.min_classes} classes, got {k}"
        )
    T = np.zeros((arr.shape[0], k), dtype)
    T[np.arange(arr.shape[0]), arr.astype(np.intp, copy=False)] = 1  # half np.eye(k)[arr]'s time
    return T, values


def encode_targets(y, loss, n_classes: int | None = None):
    """``host_targets`` as a float32 JAX array: labels converted once, at the public
    boundary, to the ``(N, K)`` targets losses take.

    >>> encode_targets([0, 2, 1], "softmax_cross_entropy").tolist()
    [[1.0, 0.0, 0.0], [0.0, 0.0, 1.0], [0.0, 1.0, 0.0]]
    """
    return put(host_targets(y, loss, n_classes), jnp.float32)
