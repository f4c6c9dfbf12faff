"""Sparse features: the rows of a sparse ``X`` as JAX arrays, and the linear model's two
products written on its stored entries (``docs/sparse.md``).

``SparseRows`` keeps the stored entries of an ``(N, d)`` matrix: the value ``a_e``, the column
``c_e`` and the row ``r_e`` of each entry ``e``, and where each row's entries are. The rows are
stored a slice of ``lanes`` rows at a time, rank by rank (sliced ELLPACK), so that neighbouring
entries belong to different rows and a sum per row never waits on its own last addition; a
matrix whose rows differ too much in length is stored as plain compressed sparse rows
(``lanes = 1``). With ``W`` ``(d, K)``:

    Z = X W:     Z[i] = Σ_{e: r_e = i} a_e W[c_e]      a gather of W's rows, a sum per row
    G = Xᵀ D:    G[j] = Σ_{e: c_e = j} a_e D[r_e]      a gather of D's rows, a sum per column

Both cost ``O(nnz · K)`` and never form the dense ``(N, d)`` array; they sum their
``nnz × K`` entry-wise terms over blocks of at most ``BLOCK_VALUES``, so the terms are never
all held at once. ``take_rows`` gathers a mini-batch: the entries of ``B`` rows, each
padded with zero entries to the longest row's length ``L``, so every batch has the static
size ``B · L``.

The host side: ``is_sparse`` recognises SciPy's sparse matrices and arrays and JAX's
``BCOO``/``BCSR``; ``as_csr`` turns any of them into a checked SciPy CSR matrix (never a
dense array), and ``to_device`` into ``SparseRows``.
"""

from __future__ import annotations

import dataclasses
import sys
import threading
from typing import Any

import numpy as np

from jaxlin._lazy import module

jax, jnp, backend = module("jax"), module("jax.numpy"), module("jaxlin.backend")


@dataclasses.dataclass(frozen=True)
class SparseRows:
    """The stored entries of a sparse ``(N, d)`` matrix, in slices of ``lanes`` rows (a pytree).

    Slice ``s`` holds rows ``s · lanes … s · lanes + lanes − 1``, stored rank by rank: the
    first entry of each of its rows, then the second of each, and so on, the shorter rows
    padded with zero-valued entries to the slice's longest. So the stored entries, read
    ``lanes`` at a time, are rows of a ``(E / lanes, lanes)`` table whose column ``l`` is lane
    ``l``'s row; ``slices`` names the slice of each table row, and row ``i``'s ``r``-th entry is
    at ``start[i] + r · lanes``. With ``lanes = 1`` this is plain compressed sparse rows
    (``slices`` is each entry's row, ``start`` CSR's ``indptr[:-1]``).

    Attributes:
      data: ``(E,)`` the values ``a_e`` (``E ≥ nnz``: the padding entries are zeros).
      indices: ``(E,)`` int32, the column ``c_e`` of each entry.
      slices: ``(E / lanes,)`` int32, non-decreasing: the slice of each ``lanes`` entries.
      start: ``(N,)`` int32, where row ``i``'s first entry is stored.
      length: ``(N,)`` int32, row ``i``'s stored entry count.
      shape: ``(N, d)`` (static). max_row_nnz: the longest row's entry count (static: the
        width of a row in a mini-batch). lanes: the rows per slice (static).
    """

    data: Any
    indices: Any
    slices: Any
    start: Any
    length: Any
    shape: tuple
    max_row_nnz: int
    lanes: int = 1

    @property
    def ndim(self) -> int:
        return 2

    @property
    def dtype(self):
        return self.data.dtype

    @property
    def nnz(self) -> int:
        """Entries stored (the matrix's own and the padding's)."""
        return int(self.data.shape[0])

    @property
    def nbytes(self) -> int:
        """Bytes of the stored arrays."""
        return sum(
            int(np.prod(a.shape)) * a.dtype.itemsize
            for a in (self.data, self.indices, self.slices, self.start, self.length)
        )

    @property
    def n_slices(self) -> int:
        return -(-self.shape[0] // self.lanes)

    def astype(self, dtype) -> "SparseRows":
        return dataclasses.replace(self, data=self.data.astype(dtype))

    def __post_init__(self):
        _register()

    def __setstate__(self, state):  # unpickled or copied: no __init__ runs
        _register()
        self.__dict__.update(state)

    def __repr__(self):
        return f"SparseRows(shape={self.shape}, nnz={self.nnz}, dtype={self.dtype})"


_registered: list = []
_registering = threading.Lock()


def _register() -> None:
    """Make ``SparseRows`` a pytree, at its first construction (so that importing this module
    does not import JAX: no ``SparseRows`` exists before one is built); once, whichever
    thread builds the first."""
    if _registered:
        return
    with _registering:
        if not _registered:
            jax.tree_util.register_dataclass(
                SparseRows,
                data_fields=["data", "indices", "slices", "start", "length"],
                meta_fields=["shape", "max_row_nnz", "lanes"],
            )
            _registered.append(True)


def entry_rows(X: SparseRows):
    """The row ``r_e`` of each stored entry ``(E,)`` (a padding entry: its lane's row, or
    past ``N − 1`` in the last slice)."""
    if X.lanes == 1:
        return X.slices
    lane = jnp.arange(X.lanes, dtype=X.slices.dtype)
    return (X.slices[:, None] * X.lanes + lane).ravel()


# ------------------------------------------------------------------ the two products


# The products sum their entry-wise terms (nnz × K values) over blocks of at most this many
# values (2 MB in float64): a block's terms stay in the caches, and the terms are never all held
# at once (benchmarks/RESULTS.md, case 12).
BLOCK_VALUES = 2**18


def _block_size(entries: int, lanes: int, k: int) -> int:
    """Entries per block of a product with ``K = k`` columns over ``entries``: all of them
    up to four blocks' worth, else the fewest blocks of at most ``BLOCK_VALUES /
    2^⌈log₂ k⌉`` entries, made equal, in whole rows of the table (at least one)."""
    largest = max(lanes, BLOCK_VALUES >> (k - 1).bit_length())
    if entries <= 4 * largest:  # a loop costs more than its blocks save
        return entries
    size = -(-entries // -(-entries // largest))
    return -(-size // lanes) * lanes


def _over_blocks(X: SparseRows, out, add, k: int):
    """``out`` plus ``add(out, data, indices, slices)`` over the stored entries: all at once
    when they fit one block (``_block_size``), else block by block in a loop whose last
    block ends at the last entry — its entries that the block before summed count as zeros
    there — so every block has one static size and the program one copy of the product."""
    nnz, lanes = X.data.shape[0], X.lanes
    size = _block_size(nnz, lanes, k)
    if nnz <= size:
        return add(out, X.data, X.indices, X.slices)
    offset = jnp.arange(size)

    def block(i, acc):
        start = jnp.minimum(i * size, nnz - size)  # whole table rows: nnz, size divide by lanes
        fresh = start + offset >= i * size  # not summed by the block before
        data = jnp.where(fresh, jax.lax.dynamic_slice_in_dim(X.data, start, size), 0)
        cols = jax.lax.dynamic_slice_in_dim(X.indices, start, size)
        slices = jax.lax.dynamic_slice_in_dim(X.slices, start // lanes, size // lanes)
        return add(acc, data, cols, slices)

    return jax.lax.fori_loop(0, -(-nnz // size), block, out)


def matmul(X: SparseRows, W):
    """``Z = X W``: ``Z[i] = Σ_{e: r_e = i} a_e W[c_e]``. ``W`` ``(d, K)`` → ``(N, K)``.

    Summed a slice at a time: the terms ``a_e W[c_e]``, read as ``(E / lanes, lanes, K)``,
    summed over each slice's table rows (a sorted segment sum of ``lanes × K`` vectors)."""
    k, lanes = W.shape[1], X.lanes

    def add(Z, data, cols, slices):
        terms = (data[:, None] * W[cols]).reshape(-1, lanes, k)
        return Z.at[slices].add(terms, indices_are_sorted=True, mode="promise_in_bounds")

    zero = jnp.zeros((X.n_slices, lanes, k), jnp.result_type(X.data, W))
    return _over_blocks(X, zero, add, k).reshape(-1, k)[: X.shape[0]]


def rmatmul(X: SparseRows, D):
    """``Xᵀ D``: ``G[j] = Σ_{e: c_e = j} a_e D[r_e]``. ``D`` ``(N, K)`` → ``(d, K)``."""
    return _contract_entries(X, D, 0)


def rmatmul_with_squares(X: SparseRows, D, C):
    """``(Xᵀ D, (X ⊙ X)ᵀ C)`` in one pass over the entries: each entry's rows of ``D`` and
    ``C`` gathered side by side, times ``a_e`` and ``a_e²``, one scatter-add of ``2K``-wide
    rows — a gradient's contraction and a Hessian diagonal's, with no squared copy of the
    values kept. ``D``, ``C`` ``(N, K)`` → two ``(d, K)``."""
    k = D.shape[1]
    G = _contract_entries(X, jnp.concatenate([D, C], axis=1), k)
    return G[:, :k], G[:, k:]


def _contract_entries(X: SparseRows, D, squared: int):
    """``G[j] = Σ_{e: c_e = j} f_e D[r_e]`` with ``f_e = a_e`` on ``D``'s columns but its last
    ``squared``, ``a_e²`` on those."""
    k, lanes = D.shape[1], X.lanes
    Ds = jnp.pad(D, ((0, X.n_slices * lanes - D.shape[0]), (0, 0))).reshape(-1, lanes, k)
    plain = jnp.arange(k) < k - squared

    def add(G, data, cols, slices):
        a = data[:, None]
        f = a if squared == 0 else jnp.where(plain, a, a * a)
        return G.at[cols].add(f * Ds[slices].reshape(-1, k))

    return _over_blocks(X, jnp.zeros((X.shape[1], k), D.dtype), add, k)


def batch_scores(X: SparseRows, V):
    """``Z[i] = Σ_e a_e V[e]`` over row ``i``'s entries of a batch from ``take_rows`` (each
    row ``max_row_nnz`` entries, in order): ``X W`` when ``V = W[X.indices]``, from weight
    rows already gathered per entry. ``V`` ``(E, K)`` → ``(B, K)``."""
    b, width = X.shape[0], X.max_row_nnz
    return jnp.sum((X.data[:, None] * V).reshape(b, width, V.shape[1]), axis=1)


def gather_rows(W, cols):
    """``W[cols]`` ``(E, K)``; for ``K = 1`` gathered from ``W`` as a vector, which XLA:CPU
    does faster than rows of one value (``docs/sparse.md``, mini-batches)."""
    return W[:, 0][cols][:, None] if W.shape[1] == 1 else W[cols]


def scatter_rows(W, cols, values, mode="add", flat=True):
    """``W`` with ``values[e]`` added to row ``cols[e]`` (``mode="add"``: repeats summed) or
    written there (``"set"``: repeats must agree).

    ``K = 1`` goes through a vector view of ``W`` (``flat``), which XLA:CPU scatters into
    faster when a step has many entries (one-vs-rest, 20 models, 32-row batches: 296 against
    377 µs a step). Under ``vmap`` the view's layout makes XLA copy every model's ``W``
    before a branch that follows (the fold of ``W = a V``); a one-row step is small enough
    for that copy to dominate (18 against 29 µs a step), so it passes ``flat=False``."""
    if flat and W.shape[1] == 1:
        return getattr(W[:, 0].at[cols], mode)(values[:, 0])[:, None]
    return getattr(W.at[cols], mode)(values)


def sq_norm_step(X: SparseRows, D, c, XV):
    """How much ``‖V‖²`` changes when a one-row batch's step ``V ← V + c X_Bᵀ D`` is taken
    (``scatter_rows`` of ``c a_e D``), from what the step already has — ``X_B V`` ``XV``
    ``(1, K)`` before it — without reading the rest of ``V``.

    Each column ``j`` of the row changes by ``ΔV_j = c a_j D`` and adds
    ``‖V_j + ΔV_j‖² − ‖V_j‖² = 2 ⟨ΔV_j, V_j⟩ + ‖ΔV_j‖²``. Over the row's columns (distinct in
    a canonical CSR row; a padding entry is worth 0) that is ``2 c ⟨D, X_B V⟩ +
    c² ‖D‖² ‖x‖²``. (In a batch of several rows a shared column sums their terms before it
    is squared, which these numbers cannot tell.)"""
    b, width = X.shape[0], X.max_row_nnz
    x_sq = jnp.sum((X.data * X.data).reshape(b, width), axis=1)
    return 2.0 * c * jnp.sum(D * XV) + c * c * jnp.sum(jnp.sum(D * D, axis=1) * x_sq)


def batch_entry_terms(X: SparseRows, D):
    """``a_e D[r_e]`` for each entry of a batch from ``take_rows``: the terms of ``Xᵀ D``
    before they are summed into their columns. ``D`` ``(B, K)`` → ``(E, K)``; each row's
    ``D`` is broadcast over its ``max_row_nnz`` entries (no gather of rows)."""
    b, width, k = X.shape[0], X.max_row_nnz, D.shape[1]
    spread = jnp.broadcast_to(D[:, None, :], (b, width, k)).reshape(b * width, k)
    return X.data[:, None] * spread


def take_rows(X: SparseRows, idx) -> SparseRows:
    """The rows ``idx`` ``(B,)`` of ``X`` as a ``(B, d)`` ``SparseRows``: each row's
    entries, padded with zero-valued entries (column 0) to ``max_row_nnz``, row after row."""
    width = max(1, X.max_row_nnz)
    start, length = X.start[idx], X.length[idx]
    offset = jnp.arange(width, dtype=start.dtype)
    real = offset[None, :] < length[:, None]
    at = jnp.where(real, start[:, None] + offset[None, :] * X.lanes, 0).ravel()
    b = idx.shape[0]
    data = jnp.where(real.ravel(), X.data[at], 0)
    cols = jnp.where(real.ravel(), X.indices[at], 0)
    rows = jnp.repeat(jnp.arange(b, dtype=jnp.int32), width, total_repeat_length=b * width)
    first = jnp.arange(b, dtype=jnp.int32) * width
    return SparseRows(
        data.astype(X.dtype),
        cols,
        rows,
        first,
        jnp.full(b, width, jnp.int32),
        (b, X.shape[1]),
        width,
    )


def row(X: SparseRows, i):
    """Row ``i`` as ``(columns (L,), values (L,))``, padded with zero values."""
    batch = take_rows(X, jnp.reshape(i, (1,)))
    return batch.indices, batch.data


# ------------------------------------------------------------------ the host side


def entry_bytes(entries: int, itemsize: int) -> int:
    """What a training step reads for ``entries`` stored entries of ``itemsize``-byte
    values: each value and 8 bytes of its column index and slice (the size that picks a
    program's compile options and a small problem's padding)."""
    return entries * (itemsize + 8)


def is_jax_sparse(X) -> bool:
    """Whether ``X`` is one of JAX's sparse arrays (``BCOO``, ``BCSR``)."""
    return type(X).__module__.startswith("jax.experimental.sparse")


def jax_to_scipy(X, name: str = "X"):
    """A JAX ``BCOO``/``BCSR`` (2-D) as the SciPy CSR matrix of its entries, unchecked
    otherwise (for a caller whose checks read SciPy's types). Never dense."""
    return _from_jax_sparse(X, name).tocsr()


def is_sparse(X) -> bool:
    """Whether ``X`` is a SciPy sparse matrix or array, a JAX ``BCOO``/``BCSR`` or already
    ``SparseRows``."""
    if isinstance(X, SparseRows):
        return True
    if is_jax_sparse(X):
        return True
    # a SciPy matrix exists only once SciPy's sparse module is imported: checking dense input
    # does not import it (about 60 ms of a command's start)
    sp = sys.modules.get("scipy.sparse")
    return sp is not None and bool(sp.issparse(X))


INDEX_MAX = 2**31 - 1  # the largest row or column count of a sparse X (int32 indices)


def as_csr(X, name: str = "X"):
    """A SciPy CSR matrix of ``X`` (SciPy sparse of any format, or JAX ``BCOO``/``BCSR``),
    checked: 2-D, non-empty, numeric, finite. Integer values become float64. Never dense."""
    import scipy.sparse as sp

    if len(X.shape) != 2:
        raise ValueError(f"{name}: expected a 2-D sparse matrix (N, d), got shape {X.shape}")
    if isinstance(X, SparseRows):
        X = _from_rows(X)
    elif type(X).__module__.startswith("jax.experimental.sparse"):
        X = _from_jax_sparse(X, name)
    else:
        check_structure(X, name)
    X = sp.csr_matrix(X)
    if X.shape[0] == 0 or X.shape[1] == 0:
        raise ValueError(f"{name}: empty data, shape {X.shape}")
    for n, what in zip(X.shape, ("rows", "columns")):
        if n > INDEX_MAX:  # rows and columns are addressed by 32-bit indices on the device
            raise ValueError(
                f"{name}: {n:,} {what}, more than the {INDEX_MAX:,} a sparse matrix's 32-bit "
                f"indices address (shape {X.shape}); check the file's largest index"
            )
    if X.dtype.kind not in "biuf":
        raise TypeError(f"{name}: expected numeric values, got dtype {X.dtype}")
    if X.dtype.kind != "f":
        X = X.astype(np.float64)
    if not X.has_canonical_format:  # sorted indices, one entry per (row, column), on a copy:
        X = X.copy()  # the caller's matrix may share these arrays and stays as it was
        X.sum_duplicates()
    if not np.all(np.isfinite(X.data)):
        bad = int(np.flatnonzero(~np.isfinite(X.data))[0])
        r = int(np.searchsorted(X.indptr, bad, side="right") - 1)
        raise ValueError(
            f"{name}: contains NaN or infinite values (first at row {r}, column "
            f"{int(X.indices[bad])})"
        )
    return X


def _from_rows(X: SparseRows):
    """``SparseRows`` back to SciPy CSR (its padding entries left out)."""
    import scipy.sparse as sp

    start, length = np.asarray(X.start), np.asarray(X.length)
    indptr = np.concatenate([[0], np.cumsum(length)]).astype(np.int64)
    rank = np.arange(indptr[-1]) - np.repeat(indptr[:-1], length)
    at = np.repeat(start, length) + rank * X.lanes
    data, cols = np.asarray(X.data)[at], np.asarray(X.indices)[at]
    return sp.csr_matrix((data, cols, indptr), shape=X.shape)


def _from_jax_sparse(X, name):
    """A ``BCOO`` or ``BCSR`` (2-D, no batch or dense dimensions) as SciPy CSR."""
    import scipy.sparse as sp

    kind = type(X).__name__
    if getattr(X, "n_batch", 0) or getattr(X, "n_dense", 0):
        raise ValueError(
            f"{name}: a {kind} with batch or dense dimensions is not a 2-D sparse matrix"
        )
    data, idx = np.asarray(X.data), np.asarray(X.indices)
    if kind == "BCSR":
        indptr = np.asarray(X.indptr)
        _check_pointers(indptr, X.shape[0], min(idx.size, data.size), name, kind)
        rows = np.repeat(np.arange(X.shape[0]), np.diff(indptr))
        data, idx = data[: indptr[-1]], np.stack([rows, idx[: indptr[-1]]], axis=1)
    if idx.size and idx.min() < 0:
        at = np.argwhere(idx < 0)[0]
        raise ValueError(
            f"{name}: a {kind} with a negative index ({int(idx[tuple(at)])} in its stored "
            f"entry {int(at[0])})"
        )
    # JAX's padding: a stored entry with an index past the shape stands for nothing (JAX's
    # own todense and products drop it), so it is left out here too
    keep = np.all(idx < np.asarray(X.shape), axis=1)
    if not keep.all():
        data, idx = data[keep], idx[keep]
    return sp.coo_matrix((data, (idx[:, 0], idx[:, 1])), shape=X.shape)


def check_structure(X, name: str = "X") -> None:
    """Raise naming ``name`` when the index arrays of a SciPy CSR, CSC, BSR or COO matrix
    disagree with its shape (pointers that fall or run past the entries, an index outside
    the matrix): SciPy's conversions and products would read or write outside the arrays.
    Costs one pass over the indices."""
    fmt = X.format
    if fmt in ("csr", "csc", "bsr"):
        block = X.blocksize if fmt == "bsr" else (1, 1)
        major, minor = X.shape if fmt != "csc" else X.shape[::-1]
        major, minor = (major // block[0], minor // block[1]) if fmt == "bsr" else (major, minor)
        indices = np.asarray(X.indices)
        _check_pointers(np.asarray(X.indptr), major, min(indices.size, len(X.data)), name, fmt)
        axis = "column" if fmt != "csc" else "row"
        _check_range(indices[: X.indptr[-1]], minor, name, f"{fmt.upper()} {axis}")
    elif fmt == "coo":
        for axis, which, size in zip(("row", "column"), (X.row, X.col), X.shape):
            _check_range(np.asarray(which), size, name, f"COO {axis}")


def _check_pointers(indptr, major: int, entries: int, name: str, kind: str) -> None:
    ok = (
        indptr.ndim == 1
        and indptr.shape[0] == major + 1
        and indptr[0] == 0
        and indptr[-1] <= entries
        and not np.any(np.diff(indptr) < 0)
    )
    if not ok:
        raise ValueError(
            f"{name}: a corrupt {kind.upper()} matrix: its index pointers (indptr) must rise "
            f"from 0 in {major + 1} steps to at most its {entries} stored entries"
        )


def _check_range(indices, size: int, name: str, what: str) -> None:
    if indices.size and (indices.min() < 0 or indices.max() >= size):
        at = int(np.flatnonzero((indices < 0) | (indices >= size))[0])
        raise ValueError(
            f"{name}: {what} index {int(indices[at])} of stored entry {at} is outside "
            f"0 … {size - 1}"
        )


# Rows per slice tried, widest first, and the padding a slice layout may add (entries stored
# per stored entry of the matrix); past it, fewer lanes, down to plain CSR (docs/sparse.md).
LANES = (16, 8, 4, 2)
MAX_PADDING = 1.25


def slice_layout(counts, lanes: int):
    """Where each row starts, and the entries stored, when rows of ``counts`` entries are
    stored ``lanes`` at a time, rank by rank, each slice padded to its longest row."""
    n = counts.shape[0]
    n_slices = -(-n // lanes)
    width = np.zeros(n_slices * lanes, np.int64)
    width[:n] = counts
    width = width.reshape(n_slices, lanes).max(axis=1)
    first = np.concatenate([[0], np.cumsum(width * lanes)])
    start = np.repeat(first[:-1], lanes)[:n] + np.arange(n) % lanes
    return start, int(first[-1])


def _lanes_for(counts) -> int:
    """The widest slice whose padding stays within ``MAX_PADDING``; 1 (CSR) if none does."""
    nnz = int(counts.sum())
    if nnz == 0:
        return 1
    for lanes in LANES:
        if len(counts) >= lanes and slice_layout(counts, lanes)[1] <= MAX_PADDING * nnz:
            return lanes
    return 1


def to_device(
    X,
    dtype,
    max_row_nnz: int | None = None,
    capacity: int | None = None,
    lanes: int | None = None,
) -> SparseRows:
    """A checked SciPy CSR matrix (``as_csr``) as ``SparseRows`` of ``dtype``.

    ``lanes`` (rows per slice) defaults to the widest of ``LANES`` that pads the entries by at
    most ``MAX_PADDING``, or 1 (CSR). ``max_row_nnz`` and ``capacity`` (entries stored) may be
    given larger than the matrix needs, so that chunks of one file share their shapes (and one
    compiled program): the layout is then CSR, the extra entries zeros past the last row's
    end, which no sum or row gather reads.
    """
    n = X.shape[0]
    counts = np.diff(X.indptr)
    longest = int(counts.max(initial=0))
    if max_row_nnz is not None and max_row_nnz < longest:
        raise ValueError(f"max_row_nnz: {max_row_nnz} is less than the longest row ({longest})")
    if lanes is None:
        lanes = 1 if (max_row_nnz, capacity) != (None, None) else _lanes_for(counts)
    if not isinstance(lanes, (int, np.integer)) or isinstance(lanes, bool) or lanes < 1:
        raise ValueError(f"lanes: expected a positive integer (rows per slice), got {lanes!r}")
    if lanes > 1 and capacity is not None:
        raise ValueError("capacity: a fixed capacity needs lanes=1")
    start, stored = slice_layout(counts, lanes)
    # at least one slice stored (zeros past the last row): a gather needs a non-empty array
    capacity = max(lanes, stored if capacity is None else capacity)
    if capacity < stored:
        raise ValueError(f"capacity: {capacity} is less than the stored entries ({stored})")
    # buffers of this function's own, moved to the device uncopied (backend.host_zeros)
    data, cols = backend.host_zeros(capacity, dtype), backend.host_zeros(capacity, np.int32)
    # a padding entry adds a zero; its columns are spread, so no one column's sum queues on them
    spread = np.arange(min(X.shape[1], 4096), dtype=np.int32)
    whole = capacity // spread.size * spread.size
    cols[:whole].reshape(-1, spread.size)[:] = spread
    cols[whole:] = spread[: capacity - whole]
    if lanes == 1:  # CSR as it is, zeros after
        data[: X.nnz], cols[: X.nnz] = X.data, X.indices
    else:  # row i's r-th entry (CSR's indptr[i] + r) to start[i] + r · lanes
        i = np.int32 if X.nnz * lanes < 2**31 else np.int64  # (int32: half the traffic)
        shift = (start - X.indptr[:-1].astype(np.int64) * lanes).astype(i)
        at = np.repeat(shift, counts) + np.arange(X.nnz, dtype=i) * i(lanes)
        data[at], cols[at] = X.data, X.indices
    slices = _slice_ids(start, lanes, capacity, n)
    put = lambda a, t: jax.device_put(np.asarray(a, t))  # noqa: E731
    return SparseRows(
        jax.device_put(data),
        jax.device_put(cols),
        put(slices, np.int32),
        put(start, np.int32),
        put(counts, np.int32),
        tuple(int(s) for s in X.shape),
        longest if max_row_nnz is None else int(max_row_nnz),
        int(lanes),
    )


def _slice_ids(start, lanes, stored, n):
    """The slice of each ``lanes`` stored entries (CSR, ``lanes = 1``: each entry's row; the
    entries past the last row's end: the last row's)."""
    first = start[::lanes]  # each slice's first slot (its lane 0)
    size = np.diff(np.concatenate([first, [stored]])) // lanes
    return np.repeat(np.arange(len(first), dtype=np.int32), size)


def pad_rows(X, rows: int):
    """``X`` (SciPy CSR, or ``SparseRows``) with empty rows appended up to ``rows``
    (the weight-0 padding of a shape bucket)."""
    n = X.shape[0]
    if rows <= n:
        return X
    if isinstance(X, SparseRows):
        empty = jnp.zeros((rows - n,), X.start.dtype)
        return dataclasses.replace(
            X,
            start=jnp.concatenate([X.start, empty]),
            length=jnp.concatenate([X.length, empty]),
            shape=(rows, X.shape[1]),
        )
    import scipy.sparse as sp

    indptr = np.concatenate([X.indptr, np.full(rows - n, X.indptr[-1], X.indptr.dtype)])
    return sp.csr_matrix((X.data, X.indices, indptr), shape=(rows, X.shape[1]))


def power_of_two_above(magnitudes) -> np.ndarray:
    """The power of two ``2^e`` with ``|x| / 2^e`` in ``[0.5, 1)`` for each of the largest
    ``magnitudes`` (1 for 0): a divisor that keeps sums of squares finite and, dividing
    exactly, leaves every other bit of the values as it was.

    >>> power_of_two_above(np.array([0.0, 1.0, 3.0, 0.5])).tolist() == [1.0, 2.0, 4.0, 1.0]
    True
    """
    _, e = np.frexp(np.asarray(magnitudes, np.float64))
    return np.ldexp(1.0, e)


def column_scale(X) -> np.ndarray:
    """Each column's standard deviation (its mean not removed from the data) from the
    stored entries of a CSR matrix, over all ``N`` rows (the unstored ones are zeros); 1 for
    a constant column.

    Two passes, on each column divided by a power of two ``m`` above its largest magnitude
    (``power_of_two_above``), so that neither the sums overflow (entries beyond ``√max``)
    nor ``E[x²] − E[x]²`` cancels (a column of ``10⁸ ± 1``):
    ``σ = m √((Σ_stored (u − ū)² + (N − nnz) ū²) / N)`` with ``u = x / m``."""
    X = as_csr(X)
    n, d = X.shape
    cols, vals = X.indices, X.data.astype(np.float64)
    m = np.zeros(d)
    np.maximum.at(m, cols, np.abs(vals))
    m = power_of_two_above(m)
    u = vals / m[cols]
    mean = np.bincount(cols, weights=u, minlength=d) / n
    stored = np.bincount(cols, minlength=d)
    ss = np.bincount(cols, weights=(u - mean[cols]) ** 2, minlength=d) + (n - stored) * mean**2
    std = m * np.sqrt(ss / n)
    return np.where(std > 0, std, 1.0)
