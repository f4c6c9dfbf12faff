"""Sparse features: the rows of a sparse ``X`` as JAX arrays, and the linear model's two
products written on its stored entries (``docs/sparse.md``).

``SparseRows`` keeps the ``nnz`` stored entries of an ``(N, d)`` matrix in row order
(compressed sparse rows): the value ``a_e``, the column ``c_e`` and the row ``r_e`` of each
entry ``e``, and ``indptr`` (where each row's entries start). With ``W`` ``(d, K)``:

    Z = X W:     Z[i] = Σ_{e: r_e = i} a_e W[c_e]      a gather of W's rows, a sum per row
    G = Xᵀ D:    G[j] = Σ_{e: c_e = j} a_e D[r_e]      a gather of D's rows, a sum per column

Both cost ``O(nnz · K)`` and never form the dense ``(N, d)`` array; past a million entries
they run over blocks of ``ENTRY_BLOCK`` entries, so their ``nnz × K`` entry-wise terms are
never held at once. ``take_rows``
gathers a mini-batch: the entries of ``B`` rows, each padded with zero entries to the
longest row's length ``L``, so every batch has the static size ``B · L``.

The host side: ``is_sparse`` recognises SciPy's sparse matrices and arrays and JAX's
``BCOO``/``BCSR``; ``as_csr`` turns any of them into a checked SciPy CSR matrix (never a
dense array), and ``to_device`` into ``SparseRows``.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np


@dataclasses.dataclass(frozen=True)
class SparseRows:
    """The stored entries of a sparse ``(N, d)`` matrix, in row order (a pytree).

    Attributes:
      data: ``(nnz,)`` the values ``a_e``.
      indices: ``(nnz,)`` int32, the column ``c_e`` of each entry.
      rows: ``(nnz,)`` int32, the row ``r_e`` of each entry (non-decreasing).
      indptr: ``(N + 1,)`` int32: row ``i``'s entries are ``indptr[i]:indptr[i+1]``.
      shape: ``(N, d)`` (static). max_row_nnz: the longest row's entry count (static: the
        width of a row in a mini-batch).
    """

    data: Any
    indices: Any
    rows: Any
    indptr: Any
    shape: tuple
    max_row_nnz: int

    @property
    def ndim(self) -> int:
        return 2

    @property
    def dtype(self):
        return self.data.dtype

    @property
    def nnz(self) -> int:
        return int(self.data.shape[0])

    @property
    def nbytes(self) -> int:
        """Bytes of the stored arrays."""
        return sum(
            int(np.prod(a.shape)) * a.dtype.itemsize
            for a in (self.data, self.indices, self.rows, self.indptr)
        )

    def astype(self, dtype) -> "SparseRows":
        return dataclasses.replace(self, data=self.data.astype(dtype))

    def __repr__(self):
        return f"SparseRows(shape={self.shape}, nnz={self.nnz}, dtype={self.dtype})"


jax.tree_util.register_dataclass(
    SparseRows,
    data_fields=["data", "indices", "rows", "indptr"],
    meta_fields=["shape", "max_row_nnz"],
)


# ------------------------------------------------------------------ the two products


# A product over more stored entries than this runs over blocks of this many, so its entry-wise
# terms (nnz × K values) are never all held at once (benchmarks/RESULTS.md, case 12).
ENTRY_BLOCK = 2**18


def _over_blocks(X: SparseRows, out, add):
    """``out`` plus ``add(out, data, indices, rows)`` over the stored entries: all at once,
    or, past ``4 · ENTRY_BLOCK`` entries, block by block in a loop, then the remainder."""
    nnz = X.data.shape[0]
    n_blocks = nnz // ENTRY_BLOCK if nnz >= 4 * ENTRY_BLOCK else 0
    if n_blocks == 0:
        return add(out, X.data, X.indices, X.rows)

    def block(i, acc):
        part = [
            jax.lax.dynamic_slice_in_dim(a, i * ENTRY_BLOCK, ENTRY_BLOCK)
            for a in (X.data, X.indices, X.rows)
        ]
        return add(acc, *part)

    out = jax.lax.fori_loop(0, n_blocks, block, out)
    rest = slice(n_blocks * ENTRY_BLOCK, nnz)
    return add(out, X.data[rest], X.indices[rest], X.rows[rest])


def matmul(X: SparseRows, W):
    """``Z = X W``: ``Z[i] = Σ_{e: r_e = i} a_e W[c_e]``. ``W`` ``(d, K)`` → ``(N, K)``."""

    def add(Z, data, cols, rows):
        return Z.at[rows].add(data[:, None] * W[cols], indices_are_sorted=True)

    zero = jnp.zeros((X.shape[0], W.shape[1]), jnp.result_type(X.data, W))
    return _over_blocks(X, zero, add)


def rmatmul(X: SparseRows, D):
    """``Xᵀ D``: ``G[j] = Σ_{e: c_e = j} a_e D[r_e]``. ``D`` ``(N, K)`` → ``(d, K)``."""

    def add(G, data, cols, rows):
        return G.at[cols].add(data[:, None] * D[rows])

    return _over_blocks(X, jnp.zeros((X.shape[1], D.shape[1]), D.dtype), add)


def batch_scores(X: SparseRows, V):
    """``Z[i] = Σ_e a_e V[e]`` over row ``i``'s entries of a batch from ``take_rows`` (each
    row ``max_row_nnz`` entries, in order): ``X W`` when ``V = W[X.indices]``, from weight
    rows already gathered per entry. ``V`` ``(E, K)`` → ``(B, K)``."""
    b, width = X.shape[0], X.max_row_nnz
    return jnp.sum((X.data[:, None] * V).reshape(b, width, V.shape[1]), axis=1)


def take_rows(X: SparseRows, idx) -> SparseRows:
    """The rows ``idx`` ``(B,)`` of ``X`` as a ``(B, d)`` ``SparseRows``: each row's
    entries, padded with zero-valued entries (column 0) to ``max_row_nnz``."""
    width = max(1, X.max_row_nnz)
    start = X.indptr[idx]
    length = X.indptr[idx + 1] - start
    offset = jnp.arange(width, dtype=start.dtype)
    real = offset[None, :] < length[:, None]
    at = jnp.where(real, start[:, None] + offset[None, :], 0).ravel()
    b = idx.shape[0]
    data = jnp.where(real.ravel(), X.data[at], 0)
    cols = jnp.where(real.ravel(), X.indices[at], 0)
    rows = jnp.repeat(jnp.arange(b, dtype=jnp.int32), width, total_repeat_length=b * width)
    indptr = jnp.arange(b + 1, dtype=jnp.int32) * width
    return SparseRows(data.astype(X.dtype), cols, rows, indptr, (b, X.shape[1]), width)


def row(X: SparseRows, i):
    """Row ``i`` as ``(columns (L,), values (L,))``, padded with zero values."""
    batch = take_rows(X, jnp.reshape(i, (1,)))
    return batch.indices, batch.data


# ------------------------------------------------------------------ the host side


def is_sparse(X) -> bool:
    """Whether ``X`` is a SciPy sparse matrix or array, a JAX ``BCOO``/``BCSR`` or already
    ``SparseRows``."""
    if isinstance(X, SparseRows):
        return True
    if type(X).__module__.startswith("jax.experimental.sparse"):
        return True
    try:
        import scipy.sparse as sp
    except ImportError:  # pragma: no cover - scipy comes with scikit-learn and JAX
        return False
    return sp.issparse(X)


def as_csr(X, name: str = "X"):
    """A SciPy CSR matrix of ``X`` (SciPy sparse of any format, or JAX ``BCOO``/``BCSR``),
    checked: 2-D, non-empty, numeric, finite. Integer values become float64. Never dense."""
    import scipy.sparse as sp

    if isinstance(X, SparseRows):
        X = sp.csr_matrix(
            (np.asarray(X.data), np.asarray(X.indices), np.asarray(X.indptr)), shape=X.shape
        )
    elif type(X).__module__.startswith("jax.experimental.sparse"):
        X = _from_jax_sparse(X, name)
    if X.ndim != 2:
        raise ValueError(f"{name}: expected a 2-D sparse matrix (N, d), got shape {X.shape}")
    X = sp.csr_matrix(X)
    if X.shape[0] == 0 or X.shape[1] == 0:
        raise ValueError(f"{name}: empty data, shape {X.shape}")
    if X.dtype.kind not in "biuf":
        raise TypeError(f"{name}: expected numeric values, got dtype {X.dtype}")
    if X.dtype.kind != "f":
        X = X.astype(np.float64)
    X.sum_duplicates()  # sorted indices, one entry per (row, column)
    if not np.all(np.isfinite(X.data)):
        bad = int(np.flatnonzero(~np.isfinite(X.data))[0])
        r = int(np.searchsorted(X.indptr, bad, side="right") - 1)
        raise ValueError(
            f"{name}: contains NaN or infinite values (first at row {r}, column "
            f"{int(X.indices[bad])})"
        )
    return X


def _from_jax_sparse(X, name):
    """A ``BCOO`` or ``BCSR`` (2-D, no batch or dense dimensions) as SciPy CSR."""
    import scipy.sparse as sp

    kind = type(X).__name__
    if getattr(X, "n_batch", 0) or getattr(X, "n_dense", 0):
        raise ValueError(
            f"{name}: a {kind} with batch or dense dimensions is not a 2-D sparse matrix"
        )
    data = np.asarray(X.data)
    if kind == "BCSR":
        return sp.csr_matrix((data, np.asarray(X.indices), np.asarray(X.indptr)), shape=X.shape)
    idx = np.asarray(X.indices)
    return sp.coo_matrix((data, (idx[:, 0], idx[:, 1])), shape=X.shape)


def to_device(X, dtype, max_row_nnz: int | None = None, capacity: int | None = None) -> SparseRows:
    """A checked SciPy CSR matrix (``as_csr``) as ``SparseRows`` of ``dtype``.

    ``max_row_nnz`` and ``capacity`` (entries stored) may be given larger than the matrix
    needs, so that chunks of one file share their shapes (and one compiled program): the
    extra entries are zeros past the last row's end, which no sum or row gather reads.
    """
    n = X.shape[0]
    counts = np.diff(X.indptr)
    longest = int(counts.max(initial=0))
    if max_row_nnz is not None and max_row_nnz < longest:
        raise ValueError(f"max_row_nnz: {max_row_nnz} is less than the longest row ({longest})")
    # at least one stored entry (a zero past the last row): a gather needs a non-empty array
    capacity = max(1, X.nnz if capacity is None else capacity)
    extra = capacity - X.nnz
    if extra < 0:
        raise ValueError(f"capacity: {capacity} is less than the stored entries ({X.nnz})")
    rows = np.repeat(np.arange(n, dtype=np.int32), counts)
    pad = lambda a, v: np.concatenate([a, np.full(extra, v, a.dtype)]) if extra else a  # noqa
    put = lambda a, t: jax.device_put(np.asarray(a, t))  # noqa: E731
    return SparseRows(
        put(pad(np.asarray(X.data, dtype), 0), dtype),
        put(pad(X.indices.astype(np.int32), 0), np.int32),
        put(pad(rows, max(n - 1, 0)), np.int32),
        put(X.indptr, np.int32),
        tuple(int(s) for s in X.shape),
        longest if max_row_nnz is None else int(max_row_nnz),
    )


def pad_rows(X, rows: int):
    """``X`` (SciPy CSR, or ``SparseRows``) with empty rows appended up to ``rows``
    (the weight-0 padding of a shape bucket)."""
    n = X.shape[0]
    if rows <= n:
        return X
    if isinstance(X, SparseRows):
        tail = jnp.full((rows - n,), X.indptr[-1], X.indptr.dtype)
        return dataclasses.replace(
            X, indptr=jnp.concatenate([X.indptr, tail]), shape=(rows, X.shape[1])
        )
    import scipy.sparse as sp

    indptr = np.concatenate([X.indptr, np.full(rows - n, X.indptr[-1], X.indptr.dtype)])
    return sp.csr_matrix((X.data, X.indices, indptr), shape=(rows, X.shape[1]))


def column_scale(X) -> np.ndarray:
    """Each column's standard deviation (its mean not removed from the data), from the
    stored entries of a CSR matrix: ``√(E[x²] − E[x]²)``; 1 for a constant column."""
    n = X.shape[0]
    mean = np.asarray(X.sum(axis=0)).ravel() / n
    sq = np.asarray(X.multiply(X).sum(axis=0)).ravel() / n
    std = np.sqrt(np.maximum(sq - mean**2, 0.0))
    return np.where(std > 0, std, 1.0)
