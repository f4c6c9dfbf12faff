"""Leave-one-out predictions of penalised least squares, for many penalty strengths from one
eigendecomposition (the mathematics: ``docs/second-order.md#leave-one-out``).

The problem, for targets ``T`` ``(N, K)``, row weights ``w`` and a strength ``α``:

    min_{W, b}  Σ_i w_i ‖t_i − Wᵀ x_i − b‖² + α ‖W‖²

(the intercept unpenalised). With ``s = √w``, the weighted means ``x̄``, ``t̄`` (zero without
an intercept) and the centred, scaled rows ``A = diag(s) (X − 1 x̄ᵀ)``, ``B = diag(s) (T −
1 t̄ᵀ)``, the solution is ``W = (AᵀA + α I)⁻¹ Aᵀ B`` and ``b = t̄ − Wᵀ x̄``. Its fitted
values are a linear smoother whose hat matrix has the diagonal

    h_i = a_i + w_i / Σw,     a_i = [A (AᵀA + α I)⁻¹ Aᵀ]_ii

(the second term the intercept's; absent without one), and leaving row ``i`` out moves its
prediction to ``p_i = t_i − e_i / (1 − h_i)``, ``e_i`` its residual — no refit.

One eigendecomposition serves every ``α``: of ``AᵀA = V diag(λ) Vᵀ`` (``d × d``) when there
are more rows than features, then ``W = V diag(1/(λ+α)) Vᵀ Aᵀ B`` and ``a_i = Σ_j (A V)_ij² /
(λ_j + α)``; of ``A Aᵀ = Q diag(λ) Qᵀ`` (``N × N``) otherwise, then ``C = Q diag(1/(λ+α)) Qᵀ
B``, ``W = Aᵀ C``, the scaled residual ``α C`` and ``1 − a_i = α Σ_j Q_ij² / (λ_j + α)`` —
which stays exact as ``α → 0`` on wide data (the minimum-norm least-squares fit).

Sparse rows are never made dense whole: ``A`` is applied as ``diag(s) (X V − 1 x̄ᵀ V)``, and
``AᵀA`` or ``A Aᵀ`` is summed a block of rows at a time.
"""

from __future__ import annotations

import functools
from typing import Any, NamedTuple

import numpy as np

from jaxlin._lazy import module

jax, jnp = module("jax"), module("jax.numpy")
backend, inputs = module("jaxlin.backend"), module("jaxlin.inputs")
sparse, validation = module("jaxlin.sparse"), module("jaxlin.validation")

__all__ = ["LeaveOneOut", "least_squares_loo"]


class LeaveOneOut(NamedTuple):
    """What ``least_squares_loo`` returns, one entry per strength ``α`` (``A`` of them).

    Attributes:
      W: ``(A, d, K)`` coefficients fitted on every row. b: ``(A, K)`` their intercepts.
      predictions: ``(A, N, K)`` each row's prediction by the fit without it.
      leverages: ``(A, N)`` the hat matrix's diagonal ``h_i``.
    """

    W: np.ndarray
    b: np.ndarray
    predictions: np.ndarray
    leverages: np.ndarray


class _Design(NamedTuple):
    """``A = diag(s) (X − 1 x̄ᵀ)`` as products, ``X`` dense or ``SparseRows``."""

    X: Any
    s: Any  # (N,)
    mean: Any  # (d,)

    def times(self, V):
        """``A V`` ``(N, m)``."""
        XV = sparse.matmul(self.X, V) if sparse.is_sparse(self.X) else self.X @ V
        return self.s[:, None] * (XV - self.mean @ V)

    def t_times(self, D):
        """``Aᵀ D`` ``(d, m)``."""
        sD = self.s[:, None] * D
        XtD = sparse.rmatmul(self.X, sD) if sparse.is_sparse(self.X) else self.X.T @ sD
        return XtD - self.mean[:, None] * jnp.sum(sD, axis=0)

    def rows(self, idx):
        """Rows ``idx`` of ``A``, dense ``(len(idx), d)``."""
        X = self.X
        if sparse.is_sparse(X):
            r = sparse.take_rows(X, idx)
            dense = jnp.zeros((idx.shape[0], X.shape[1]), X.dtype)
            dense = dense.at[sparse.entry_rows(r), r.indices].add(r.data)
        else:
            dense = X[idx]
        return self.s[idx, None] * (dense - self.mean)


def _blocks(n, d):
    """Row blocks of about a MiB of float64: ``(block, count)``."""
    block = max(1, min(n, 2**17 // max(d, 1)))
    return block, -(-n // block)


def _dense(A: _Design):
    """``A`` itself, for dense ``X`` (one copy of it, as large as ``X``)."""
    return A.s[:, None] * (A.X - A.mean)


def _covariance(A: _Design, n, d):
    """``AᵀA`` ``(d, d)``: sparse rows a block at a time (each block dense, about a MiB)."""
    if not sparse.is_sparse(A.X):
        D = _dense(A)
        return D.T @ D
    block, count = _blocks(n, d)

    def add(i, acc):
        at = i * block + jnp.arange(block)
        R = jnp.where((at < n)[:, None], A.rows(jnp.minimum(at, n - 1)), 0.0)
        return acc + R.T @ R

    return jax.lax.fori_loop(0, count, add, jnp.zeros((d, d), A.s.dtype))


def _gram(A: _Design, n, d):
    """``A Aᵀ`` ``(N, N)``: for sparse rows a block of its columns (rows of ``A``) at a time."""
    if not sparse.is_sparse(A.X):
        D = _dense(A)
        return D @ D.T
    block, count = _blocks(n, d)

    def columns(i):
        at = i * block + jnp.arange(block)
        R = jnp.where((at < n)[:, None], A.rows(jnp.minimum(at, n - 1)), 0.0)
        return A.times(R.T)  # (N, block)

    G = jax.lax.map(columns, jnp.arange(count))  # (count, N, block)
    return jnp.moveaxis(G, 0, 1).reshape(n, count * block)[:, :n]


def _solve(A: _Design, X, B, T, t_mean, w_share, alphas, by_rows: bool):
    """Every strength's ``W``, ``b``, leave-one-out predictions and leverages."""
    n, d = X.shape
    if by_rows:  # more rows than features: AᵀA
        lam, V = jnp.linalg.eigh(_covariance(A, n, d))
        AV = A.times(V)
        VtAtB = AV.T @ B

        def one(alpha):
            f = 1.0 / (lam + alpha)
            return V @ (f[:, None] * VtAtB), (AV * AV) @ f

    else:  # at most as many rows as features: A Aᵀ
        lam, Q = jnp.linalg.eigh(_gram(A, n, d))
        QtB = Q.T @ B

        def one(alpha):
            f = 1.0 / (lam + alpha)
            C = Q @ (f[:, None] * QtB)
            return A.t_times(C), 1.0 - alpha * ((Q * Q) @ f)

    def with_predictions(alpha):
        W, a = one(alpha)
        b = t_mean - A.mean @ W
        XW = sparse.matmul(X, W) if sparse.is_sparse(X) else X @ W
        h = a + w_share
        residual = T - (XW + b)
        return W, b, T - residual / (1.0 - h)[:, None], h

    return jax.vmap(with_predictions)(alphas)


def least_squares_loo(X, T, alphas, sample_weight=None, fit_intercept: bool = True, dtype=None):
    """Leave-one-out predictions of weighted least squares with an L2 penalty ``α ‖W‖²``,
    for each ``α`` in ``alphas``, from one eigendecomposition (module docstring).

    Args:
      X: ``(N, d)`` dense or sparse (SciPy, JAX ``BCOO``/``BCSR``). T: ``(N, K)`` or ``(N,)``
        targets. alphas: ``(A,)`` strengths ``> 0`` (``α → 0`` is the least-squares fit,
        its minimum-norm one on wide data). sample_weight: ``(N,)`` non-negative, not all 0.
      fit_intercept: fit an unpenalised ``b`` (``X`` and ``T`` centred by the weighted means).
      dtype: the computation's float type (default: float64 where JAX allows it).
    Returns:
      ``LeaveOneOut`` of NumPy arrays, ``K`` kept as given (``(N,)`` targets: ``K = 1``).
    """
    dt = np.dtype(backend.compute_dtype(dtype if dtype is not None else np.float64))
    alphas = np.atleast_1d(np.asarray(alphas, dtype=np.float64))
    if alphas.ndim != 1 or alphas.size == 0 or not np.all(np.isfinite(alphas)):
        raise ValueError(f"alphas: expected finite strengths (A,), got {alphas!r}")
    if np.any(alphas <= 0):
        raise ValueError(f"alphas: every strength must be > 0, got {alphas.tolist()}")
    is_sparse = sparse.is_sparse(X)
    Xh = sparse.as_csr(X, "X") if is_sparse else validation.as_host_array(X, "X")
    if not is_sparse:
        Xh = validation.numeric(Xh, "X")
    if Xh.ndim != 2 or 0 in Xh.shape:
        raise ValueError(f"X: expected a non-empty 2-D array (N, d), got shape {Xh.shape}")
    n = Xh.shape[0]
    validation.check_finite(Xh.data if is_sparse else Xh, "X")
    inputs.check_squares_after(Xh, dt)  # the sums of squares need x² (named, not inf)
    Th = validation.numeric(validation.as_host_array(T, "T"), "T")
    Th = Th.reshape(-1, 1) if Th.ndim == 1 else Th
    if Th.ndim != 2 or Th.shape[0] != n:
        raise ValueError(f"T: expected targets (N,) or (N, K) with N = {n}, got {Th.shape}")
    validation.check_finite(Th, "T")
    w = np.ones(n) if sample_weight is None else np.asarray(sample_weight, np.float64)
    if w.shape != (n,) or not np.all(np.isfinite(w)) or np.any(w < 0) or not w.sum() > 0:
        raise ValueError(f"sample_weight: expected {n} finite non-negative weights, not all zero")
    if fit_intercept and np.count_nonzero(w) < 2:
        raise ValueError(
            "X: leave-one-out with an intercept needs at least two rows of positive weight "
            "(got 1 sample): leaving it out leaves nothing to fit"
        )
    with backend.precision(dt):
        out = _compute(Xh, Th, w, alphas, fit_intercept, dt, is_sparse)
        out = jax.device_get(out)
    return LeaveOneOut(*(np.asarray(a) for a in out))


def _compute(Xh, Th, w, alphas, fit_intercept, dt, is_sparse):
    n, d = Xh.shape
    X = sparse.to_device(Xh, dt) if is_sparse else jnp.asarray(Xh, dt)
    T, wj = jnp.asarray(Th, dt), jnp.asarray(w, dt)
    total = jnp.sum(wj)
    if fit_intercept:
        mean = (sparse.rmatmul(X, wj[:, None])[:, 0] if is_sparse else wj @ X) / total
        t_mean, w_share = wj @ T / total, wj / total
    else:
        mean, t_mean, w_share = jnp.zeros(d, dt), jnp.zeros(T.shape[1], dt), jnp.zeros(n, dt)
    A = _Design(X, jnp.sqrt(wj), mean)
    B = A.s[:, None] * (T - t_mean)
    return _compiled()(A, X, B, T, t_mean, w_share, jnp.asarray(alphas, dt), n > d)


@functools.cache
def _compiled():
    """``_solve`` as one compiled program (per shape, dtype and form)."""
    return jax.jit(_solve, static_argnums=7)
