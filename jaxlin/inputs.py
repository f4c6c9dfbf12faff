"""The data record: features, targets, weights and validation rows, checked and converted once.

``prepare`` is the public boundary of training: every user mistake in the data gets a
clear error naming the argument here, and labels become the ``(N, K)`` float targets the
losses take (``jaxlin.objective.encode_targets``), once.
"""

from __future__ import annotations

import math
import threading
from typing import Any, NamedTuple, Optional

import jax.numpy as jnp
import numpy as np

from jaxlin import backend, sparse, validation
from jaxlin.backend import put, put_all
from jaxlin.losses import Loss
from jaxlin.objective import host_targets, targets_and_labels


class Data(NamedTuple):
    """Training data as the compiled program takes it.

    ``X`` ``(N, d)``, ``T`` ``(N, K)`` in ``dtype``; ``sample_weight`` ``(N,)`` or ``None``;
    ``X_val``/``T_val`` or ``None``; ``n_classes`` (``None`` for regression); ``n_rows`` the
    real rows (the rest, if any, are weight-0 padding: ``pad_rows``).
    """

    X: Any
    T: Any
    sample_weight: Any
    X_val: Any
    T_val: Any
    n_classes: Optional[int]
    n_rows: Optional[int] = None


def prepare(
    X,
    y,
    loss: Loss,
    *,
    validation_data=None,
    sample_weight=None,
    n_classes=None,
    dtype=jnp.float32,
    rows_for=None,
    finite: bool = True,
) -> Data:
    """Check and convert ``X``, ``y``, the weights and ``validation_data = (X_val, y_val)``.

    ``rows_for``: optional ``X ↦ rows`` (``X`` the checked features): pad the training rows
    to that many on the host (``pad_rows``) before they move to the device.
    ``finite=False``: leave the scan of a dense ``X`` for NaN and infinite values to the
    caller (``check_finite_after``).
    """
    Xn = validation.check_features(X, "X", finite=finite)
    n = Xn.shape[0]
    y_arr = validation.as_host_array(y, "y")
    if y_arr.ndim > 2:
        raise ValueError(f"y: expected labels (N,) or targets (N, K), got shape {y_arr.shape}")
    if y_arr.ndim == 0:
        raise ValueError(f"y: expected labels (N,) or targets (N, K), got the scalar {y!r}")
    if y_arr.shape[0] != n:
        raise ValueError(f"y: has {y_arr.shape[0]} labels but X has {n} rows")
    w = validation.check_sample_weight(sample_weight, n)
    if w is not None:
        validation.check_weights_in_range(w, "sample_weight", dtype)
    if loss.target == "real":
        validation.check_in_float_range(y_arr, "y", dtype)
    T, labels = targets_and_labels(y_arr, loss, n_classes, dtype=np.dtype(dtype))
    if (
        labels is not None and T.shape[1] == 1 and len(labels) < 2 and n_classes is None
    ):  # stated classes: a chunk may show one (partial_fit)
        raise ValueError(
            "y: only one class present; a classifier needs at least two (pass "
            "n_classes when the data is one chunk of more)"
        )
    Xv = Tv = None
    if validation_data is not None:
        Xv, Tv = validation_targets(validation_data, loss, Xn.shape[1], T.shape[1], dtype)
        Xv, Tv = put_features(Xv, dtype), put(Tv, dtype)
    n_cls = None if loss.target == "real" else max(2, T.shape[1])
    if rows_for is not None:
        Xn, T, w = pad_rows(Xn, T, w, rows_for(Xn))
    T, w = put_all((T, w), dtype)  # one transfer: each costs a round trip
    return Data(
        put_features(Xn, dtype),
        T,
        w,
        Xv,
        Tv,
        n_cls,
        n,
    )


def check_finite_after(X, data: Data) -> None:
    """For a run that diverged: raise naming the first NaN or infinite cell of ``X`` as
    given (the scan ``prepare(finite=False)`` left out), or the first value, finite as
    given, that became infinite in the run's float type (a float64 value beyond float32's
    range; dense or sparse, never densified). Nothing when ``X`` holds neither."""
    if not sparse.is_sparse(X):
        validation.check_finite(validation.check_features(X, "X", finite=False), "X", data.X)
        return
    check_features_in_range(X, "X", data.X.dtype)  # (as_csr names a NaN first)


def check_features_in_range(X, name: str, dtype) -> None:
    """Raise naming the first cell (row, column) of the checked, finite features ``X``
    (dense, or SciPy CSR: its stored entries, never densified) that becomes infinite in
    ``dtype``, in which they are computed (``validation.first_beyond``)."""
    if not sparse.is_sparse(X):
        at = validation.first_beyond(X, dtype)
        if at is not None:
            row, col = at
            raise validation.beyond_range(name, row, col, dtype)
        return
    coo = sparse.as_csr(X, name).tocoo()
    at = validation.first_beyond(coo.data, dtype)
    if at is not None:
        raise validation.beyond_range(name, coo.row[at[0]], coo.col[at[0]], dtype)


def check_squares_after(X, dtype) -> None:
    """For a run that fell short of its tolerance: raise naming the first value of ``X``
    (as given, dense or sparse: its stored entries, never densified) whose square overflows
    the run's float type (``validation.check_squares``); nothing when there is none."""
    if not sparse.is_sparse(X):
        validation.check_squares(validation.check_features(X, "X", finite=False), "X", dtype)
        return
    coo = sparse.as_csr(X).tocoo()  # SciPy's, JAX's BCOO/BCSR, or jaxlin's rows
    big = ~(np.abs(coo.data) < validation.square_limit(dtype))
    if np.any(big):
        e = int(np.argmax(big))
        raise validation.too_large_to_train("X", coo.row[e], coo.col[e], coo.data[e], dtype)


def put_features(X, dtype):
    """Checked features on the device: a dense array of ``dtype``, or a SciPy CSR matrix as
    ``SparseRows`` (its stored entries only)."""
    if sparse.is_sparse(X) and not isinstance(X, sparse.SparseRows):
        return sparse.to_device(X, dtype)
    if isinstance(X, sparse.SparseRows):
        return X if X.dtype == dtype else X.astype(dtype)
    return put(X, dtype)


# below this many rows a full batch costs next to nothing to run and a program ~1 s to
# compile, so the row counts share a few coarse sizes (docs/first-results.md)
SMALL_ROWS = 256


def bucket_rows(n: int) -> int:
    """``n`` rounded up to a shared size: up to ``SMALL_ROWS`` rows one of 64, 128 and 256
    (small data: at most 256 rows, run in microseconds, so one program serves them all);
    above it one of 16 sizes per power of two (sizes ``m · 2^e``, ``16 ≤ m < 32``): at most
    ``n/16`` extra rows, and row counts a few percent apart share a size — and one compiled
    program.

    >>> tuple(bucket_rows(n) for n in (9, 40, 100, 256, 257, 3680, 3681, 3712, 4601))
    (64, 64, 128, 256, 272, 3712, 3712, 3712, 4608)
    """
    if n <= SMALL_ROWS:
        return max(64, 1 << (n - 1).bit_length())
    step = 1 << (n.bit_length() - 5)
    return -(-n // step) * step


# Room for a refit: a cross-validation fits its folds (k−1)/k of the rows and then refits
# all of them, which fall in another bucket. On small data, where a program compiles in
# half a second and runs in milliseconds, the first fit pads to ``ROOM`` times its rows
# and later fits reuse that size (docs/first-results.md): a 5-fold search runs its folds
# and its refit (5/4 of a fold) in one program.
ROOM = 1.3
_SIZES: dict = {}  # (columns, float type, sparse) → sizes small fits padded to, oldest first
_SIZES_KEPT = 16  # per kind of data; the oldest is forgotten first
_SIZES_LOCK = threading.Lock()


def shared_rows(X, dtype) -> int:
    """The rows a full batch of ``X`` (checked features ``(N, d)``, dense or SciPy CSR)
    pads to when computed in ``dtype``.

    Large data: ``bucket_rows(N)`` (at most ``N/16`` extra rows). Small data — a step over
    ``bucket_rows(⌈ROOM · N⌉)`` rows reads at most ``backend.small_data``'s limit — pads to
    the oldest size this process padded data of the same columns, type and kind to with
    ``N ≤ size ≤ bucket_rows(⌈ROOM · N⌉)``, else to ``bucket_rows(⌈ROOM · N⌉)``, which is
    remembered. So a fit of 3,681 rows pads to 4,864, and a later refit of 4,601 rows (its
    5-fold cross-validation's) runs at 4,864 too, in the same compiled program; the same
    fit repeated in a process pads the same way. Padding rows have weight 0: the result
    equals the unpadded fit to float rounding (``pad_rows``).
    """
    n, itemsize = X.shape[0], np.dtype(dtype).itemsize
    roomy = bucket_rows(math.ceil(ROOM * n))
    if sparse.is_sparse(X):  # its stored entries, as a training step reads them
        nbytes = sparse.entry_bytes(X.nnz, itemsize)
    else:
        nbytes = roomy * X.shape[1] * itemsize
    if not backend.small_data(nbytes, itemsize):
        return bucket_rows(n)
    key = (X.shape[1], np.dtype(dtype).name, sparse.is_sparse(X))
    with _SIZES_LOCK:
        sizes = _SIZES.setdefault(key, [])
        for size in sizes:
            if n <= size <= roomy:
                return size
        sizes.append(roomy)
        del sizes[:-_SIZES_KEPT]
    return roomy


def forget_shared_rows() -> None:
    """Forget the sizes ``shared_rows`` remembered: the next small fit of each kind of data
    chooses its size afresh."""
    with _SIZES_LOCK:
        _SIZES.clear()


def pad_rows(X, T, w, rows: int):
    """Append ``rows − N`` zero rows with zero targets and weight 0 (``w`` becomes ones on
    the real rows when ``None``). The weighted mean ``Σ w L / Σ w`` ignores them, so a
    full-batch objective, its gradient and its minimiser are unchanged up to float rounding.
    NumPy arrays stay on the host; JAX arrays are padded on the device."""
    n = X.shape[0]
    if rows <= n:
        return X, T, w
    if sparse.is_sparse(X):  # empty rows; the targets and weights as for dense rows
        empty = (np if isinstance(T, np.ndarray) else jnp).zeros((n, 0), T.dtype)
        return (sparse.pad_rows(X, rows), *pad_rows(empty, T, w, rows)[1:])
    xp = np if isinstance(X, np.ndarray) else jnp
    zeros = lambda A: xp.zeros((rows - n,) + A.shape[1:], A.dtype)  # noqa: E731
    w = xp.ones(n, X.dtype) if w is None else w
    return (
        xp.concatenate([X, zeros(X)]),
        xp.concatenate([T, zeros(T)]),
        xp.concatenate([w, xp.zeros(rows - n, w.dtype)]),
    )


def validation_targets(
    validation_data, loss: Loss, n_features: int, n_outputs: int, dtype=np.float64
):
    """``(X_val, T_val)`` checked against the training data's features and outputs, and
    within the range of the run's float type ``dtype`` (they are scored in it)."""
    try:
        Xv, yv = validation_data
    except (TypeError, ValueError):
        raise ValueError("validation_data: expected a pair (X_val, y_val)") from None
    Xv = validation.check_features(Xv, "X_val", n_features=n_features)
    check_features_in_range(Xv, "X_val", dtype)
    yv = validation.as_host_array(yv, "y_val")
    validation.check_rows(Xv.shape[0], yv, "y_val")
    if loss.target == "real":
        validation.check_in_float_range(yv, "y_val", dtype)
    Tv = host_targets(yv, loss, n_outputs if loss.target == "onehot" else None, "y_val")
    if Tv.shape[1] != n_outputs:
        raise ValueError(f"y_val: gives {Tv.shape[1]} outputs but y gives {n_outputs}")
    return Xv, Tv
