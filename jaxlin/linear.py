"""The linear model: parameters, initialisation, scores ``Z = X W + b``, the contraction ``Xᵀ Δ``.

Layout: ``X`` is ``(N, d)`` with one example per row, ``W`` is ``(d, K)``,
``b`` is ``(K,)``, scores ``Z`` are ``(N, K)``. The classic column layout is the transpose
(``W`` as ``(K, p+1)``, ``X`` as ``(p+1, N)``); ``logits_column_layout``
computes that form so a test can show ``Z_col == Z_row.T``.
"""

from __future__ import annotations

import dataclasses
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from jaxlin import backend, sparse, validation
from jaxlin.sparse import SparseRows


class Params(NamedTuple):
    """Parameters of a linear model: weights ``W`` ``(d, K)`` and biases ``b`` ``(K,)``."""

    W: Any  # a jax.Array, or any array-like (NumPy) where parameters are given
    b: Any


def init_params(
    key, n_features: int, n_outputs: int = 1, method: str = "zeros", dtype=jnp.float32
) -> Params:
    """Initial parameters: ``"zeros"`` or ``"uniform"`` in ``[−1, 1]``.

    Args:
      key: a ``jax.random`` key (needed by ``"uniform"``; ``"zeros"`` takes ``None``).
      n_features: ``d``.
      n_outputs: ``K`` (1 for binary classification and regression).
      method: ``"zeros"`` or ``"uniform"``.
    Returns:
      ``Params`` with ``W`` ``(d, K)`` and ``b`` ``(K,)``.

    >>> init_params(jax.random.key(0), 3, 2).W.shape
    (3, 2)
    """
    n_features = validation.check_positive(n_features, "n_features", integer=True)
    n_outputs = validation.check_positive(n_outputs, "n_outputs", integer=True)
    try:
        dtype = jnp.dtype(dtype)
    except TypeError:
        raise TypeError(f"dtype: expected a floating-point dtype, got {dtype!r}") from None
    if not jnp.issubdtype(dtype, jnp.floating):
        raise ValueError(f"dtype: parameters are floating point, got {dtype}")
    if method == "uniform" and key is None:
        raise TypeError(
            "key: the 'uniform' initialisation needs a JAX PRNG key such as "
            "jax.random.key(0), got None"
        )
    if key is not None:
        validation.check_key(key)
    if method == "zeros":
        return Params(jnp.zeros((n_features, n_outputs), dtype), jnp.zeros((n_outputs,), dtype))
    if method == "uniform":
        kw, kb = jax.random.split(key)
        return Params(
            jax.random.uniform(kw, (n_features, n_outputs), dtype, -1.0, 1.0),
            jax.random.uniform(kb, (n_outputs,), dtype, -1.0, 1.0),
        )
    raise ValueError(f"init: unknown method {method!r}; expected 'zeros' or 'uniform'")


def host_checked(a, name: str):
    """``a`` as a JAX array; numeric and finite if it was given on the host (a NumPy array,
    a list), named ``name`` in the error otherwise. JAX arrays (traced ones too) as they
    are."""
    if isinstance(a, jax.Array):
        return a
    arr = validation.numeric(validation.as_host_array(a, name), name)
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name}: contains NaN or infinite values")
    return jnp.asarray(arr)


def checked_params(params) -> Params:
    """``params`` with host values checked (``host_checked``) and on the device."""
    if not isinstance(params, tuple) or len(params) != 2:
        raise TypeError(f"params: expected Params(W, b), got {type(params).__name__}")
    return Params(host_checked(params[0], "params.W"), host_checked(params[1], "params.b"))


def checked_rows(X, dtype, name: str = "X"):
    """``X`` as the linear model reads it: a JAX array or ``SparseRows`` as they are; a
    SciPy or ``jax.experimental.sparse`` matrix as ``SparseRows`` of ``dtype`` (never made
    dense); anything else checked on the host (numeric, 2-D, non-empty, finite) and put on
    the device in its own dtype (float64 is float32 when JAX's float64 is off)."""
    if isinstance(X, (SparseRows, jax.Array)):
        return X
    if sparse.is_sparse(X):
        return sparse.to_device(sparse.as_csr(X, name), dtype)
    return jnp.asarray(validation.check_features(X, name))


def logits_one(params: Params, x):
    """Scores of one example: ``z = x W + b``. ``x`` ``(d,)`` → ``z`` ``(K,)``.

    Values given on the host are checked first; the shapes always (at trace time under
    ``jit``/``vmap``)."""
    params, x = checked_params(params), host_checked(x, "x")
    if jnp.ndim(x) == 0 or jnp.shape(x)[-1] != jnp.shape(params.W)[0]:
        raise ValueError(
            f"x: expected shape ({jnp.shape(params.W)[0]},) for W of shape "
            f"{tuple(jnp.shape(params.W))}, got {tuple(jnp.shape(x))}"
        )
    return x @ params.W + params.b


def logits(params: Params, X):
    """Scores of a batch, ``Z = X W + b``: ``logits_one`` mapped over rows.

    Args:
      X: ``(N, d)``, dense or ``SparseRows`` (then ``Z`` is summed over
        the stored entries only, ``jaxlin.sparse.matmul``).
    Returns:
      ``(N, K)``.

    Values given on the host are checked first (``checked_rows``, ``checked_params``).
    """
    params = checked_params(params)
    X = checked_rows(X, params.W.dtype)
    if X.ndim != 2 or X.shape[1] != params.W.shape[0]:
        raise ValueError(
            f"X: expected shape (N, {params.W.shape[0]}) for W of shape "
            f"{tuple(params.W.shape)}, got {tuple(X.shape)}"
        )
    if jnp.shape(params.b) not in ((), params.W.shape[1:]):  # would broadcast into other K
        raise ValueError(
            f"b: expected shape {tuple(params.W.shape[1:])} for W of shape "
            f"{tuple(params.W.shape)}, got {tuple(jnp.shape(params.b))}"
        )
    if isinstance(X, SparseRows):
        return sparse.matmul(X, params.W) + params.b
    return jax.vmap(logits_one, in_axes=(None, 0))(params, X)


def squared(X):
    """``X ⊙ X``, entry by entry (sparse: the stored values squared, the structure kept) —
    the matrix of a Hessian's diagonal, ``(X ⊙ X)ᵀ c``."""
    if isinstance(X, SparseRows):
        return dataclasses.replace(X, data=X.data * X.data)
    return X * X


def contract(X, D):
    """The chain rule through the linear map: ``Xᵀ D``, ``(N, d), (N, K) → (d, K)``.

    Written as ``Dᵀ X`` producing ``(K, d)``, then transposed behind an optimisation
    barrier. On XLA:CPU ``X.T @ D`` costs up to 14 reads of X, and without the barrier
    XLA folds the final transpose into the dot's output layout, which costs 6 reads
    for K = 10 instead of 1.7 (benchmarks/RESULTS.md, case 1). The barrier is a CPU layout
    fix, so on GPU and TPU (``jaxlin.backend.cpu_tricks``) the plain ``einsum`` is left
    to XLA.
    """
    D = host_checked(D, "D")
    X = checked_rows(X, D.dtype)
    if jnp.ndim(D) != 2 or X.shape[0] != D.shape[0]:
        raise ValueError(
            f"contract: X {tuple(X.shape)} (N, d) and D {tuple(jnp.shape(D))} (N, K) need the "
            "same number of rows, D two axes"
        )
    if isinstance(X, SparseRows):  # summed over the stored entries (jaxlin.sparse)
        return sparse.rmatmul(X, D)
    if not backend.cpu_tricks():
        return jnp.einsum("nd,nk->dk", X, D)
    return jax.lax.optimization_barrier(jnp.einsum("nk,nd->kd", D, X)).T


def contract_bias(D, mini_batch: bool = False):
    """The chain rule through the intercept: ``1ᵀ D``, ``(N, K) → (K,)``, the sum of each
    column of ``Δ``.

    ``mini_batch``: ``D`` holds a step's few rows. On the CPU that sum is then written as
    the product with a vector of ones: XLA:CPU emits a column sum over a mini-batch's 32
    rows as a loop LLVM unrolls, about 0.1 s of a program's compilation, where the product
    is a small loop or a library call (the first SGD call on MNIST 1.02 → 0.88 s, the same
    time a step; benchmarks/RESULTS.md). Full batches keep the plain sum, which gains
    nothing from it, and on GPU and TPU the plain sum is left to XLA.
    """
    if mini_batch and backend.cpu_tricks():
        return jnp.ones(D.shape[0], D.dtype) @ D
    return jnp.sum(D, axis=0)


def by_rows(params: Params) -> Params:
    """``W`` laid out the other way, ``(d, K) ↔ (K, d)`` (its own inverse); ``b`` kept.

    The mini-batch steps on dense rows carry ``W`` as ``(K, d)`` on the CPU
    (``jaxlin.solvers.gradient``): the gradient ``Δᵀ X_B`` is made in that layout, and so
    are the scores ``(W X_Bᵀ)ᵀ`` without moving ``W``. Under ``vmap`` the models' ``W``,
    ``(M, K, d)``, is then one ``(M·K, d)`` matrix for both products, where ``(M, d, K)``
    is copied into ``(d, M·K)`` at every step (``docs/accelerators.md``).
    """
    return params._replace(W=params.W.T)


def logits_by_rows(params: Params, X):
    """``Z = X W + b`` ``(N, K)`` from ``W`` laid out ``(K, d)`` (``by_rows``), computed
    as ``(W Xᵀ)ᵀ``: XLA:CPU then moves the batch ``X`` (small) rather than ``W``."""
    return jnp.einsum("kd,nd->kn", params.W, X).T + params.b


def contract_by_rows(X, D):
    """``Dᵀ X`` ``(K, d)``: ``contract``'s ``Xᵀ D`` in the ``by_rows`` layout."""
    return jnp.einsum("nk,nd->kd", D, X)


def squares_to_keep(X):
    """``X ⊙ X`` to keep for a run of ``contract_with_squares``: dense rows' squared copy, or
    ``None`` for sparse rows, whose squares are taken as their values are read."""
    return None if isinstance(X, SparseRows) else squared(X)


def contract_with_squares(X, D, C, X2=None):
    """``(Xᵀ D, (X ⊙ X)ᵀ C)``: a gradient's contraction and a Hessian diagonal's together.
    Sparse rows are read once for both, the squares taken as the values are read
    (``jaxlin.sparse.rmatmul_with_squares``; ``X2`` unused); dense rows contract ``X`` and
    ``X2 = X ⊙ X`` (``squared``, made here when not given)."""
    if isinstance(X, SparseRows):
        return sparse.rmatmul_with_squares(X, D, C)
    return contract(X, D), contract(squared(X) if X2 is None else X2, C)


def take_rows(X, idx):
    """The rows ``idx`` ``(B,)`` of ``X``: ``X[idx]``, for a sparse ``X`` its entries padded
    to the longest row (``jaxlin.sparse.take_rows``)."""
    return sparse.take_rows(X, idx) if isinstance(X, SparseRows) else X[idx]


def row_scores(params: Params, X, i):
    """The scores of row ``i`` alone: ``x_i W + b`` ``(K,)``."""
    if isinstance(X, SparseRows):
        cols, vals = sparse.row(X, i)
        return vals @ params.W[cols] + params.b
    return logits_one(params, X[i])


def add_row(W, X, i, scale):
    """``W + scale · x_iᵀ`` (every column of ``W``): a step along one example, touching only
    its stored entries when ``X`` is sparse."""
    if isinstance(X, SparseRows):
        cols, vals = sparse.row(X, i)
        return W.at[cols].add(scale * vals[:, None])
    return W + scale * X[i][:, None]


def row_norms(X):
    """``‖x_i‖²`` of every row, ``(N,)`` (sparse: over the stored entries)."""
    ones = Params(jnp.ones((X.shape[1], 1), X.dtype), jnp.zeros(1, X.dtype))
    return logits(ones, squared(X))[:, 0]


def add_bias(X):
    """Append a column of ones: ``(N, d) → (N, d+1)`` (the bias trick)."""
    X = host_checked(X, "X")  # a NumPy float64 array is float32 here unless float64 is enabled
    return jnp.concatenate([X, jnp.ones((*X.shape[:-1], 1), X.dtype)], axis=-1)


def stack_bias(params: Params):
    """``W~ = [W; b]``, shape ``(d+1, K)``: the last row holds the biases."""
    return jnp.concatenate([params.W, params.b[None, :]], axis=0)


def split_bias(W_tilde) -> Params:
    """Inverse of ``stack_bias``: ``(d+1, K) → Params``."""
    return Params(W_tilde[:-1], W_tilde[-1])


def logits_column_layout(W_col, X_col):
    """The column layout: ``W_col`` ``(K, p+1)`` times ``X_col`` ``(p+1, N)`` → ``(K, N)``.

    The bias is the last column of ``W_col`` and ``X_col`` carries a row of ones.
    """
    return W_col @ X_col
