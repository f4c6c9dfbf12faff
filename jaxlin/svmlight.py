"""The svmlight / libsvm text format of sparse data (the LIBSVM collection: rcv1, news20, …).

One example per line: ``<label> [qid:<int>] <index>:<value> <index>:<value> … [# comment]``,
indices increasing along the line. Blank and comment-only lines are skipped. Indices are
zero- or one-based; ``zero_based="auto"`` reads a file as zero-based when any index is 0
(as scikit-learn does). Parsing is NumPy over the tokens; every mistake names its line and
what is wrong, and nothing is dropped silently.
"""

from __future__ import annotations

import os
from typing import NamedTuple, Optional

import numpy as np

SUFFIXES = (".svm", ".svmlight", ".libsvm")


class Rows(NamedTuple):
    """Parsed lines: labels ``(N,)``, the CSR arrays of the features, query ids or ``None``,
    and the file's line number of each example (for messages)."""

    labels: np.ndarray
    indptr: np.ndarray
    indices: np.ndarray
    values: np.ndarray
    qid: Optional[np.ndarray]
    line_numbers: np.ndarray


def is_svmlight(path, format: str | None = None) -> bool:
    """Whether ``path`` is to be read as svmlight: by ``format`` or by its suffix."""
    if format is not None:
        if format not in ("csv", "svmlight"):
            raise ValueError(f"format: expected 'csv' or 'svmlight', got {format!r}")
        return format == "svmlight"
    return str(path).lower().endswith(SUFFIXES)


def parse_lines(lines, path: str = "data", first_line: int = 1) -> Rows:
    """Parse svmlight lines (``str``); ``first_line`` is the file line of ``lines[0]`` (a
    file's first line may begin with the UTF-8 byte-order mark some editors write)."""
    labels, qids, counts, where, keys, vals = [], [], [], [], [], []
    for number, raw in enumerate(lines, first_line):
        line = (raw.removeprefix("\ufeff") if number == 1 else raw).split("#", 1)[0]
        tokens = line.split()
        if not tokens:
            continue
        if ":" in tokens[0]:
            raise ValueError(
                f"{path}: line {number}: no label (the line starts with {tokens[0]!r})"
            )
        feats = tokens[1:]
        if feats and feats[0].startswith("qid:"):
            qids.append(feats[0][4:])
            feats = feats[1:]
        labels.append(tokens[0])
        where.append(number)
        counts.append(len(feats))
        for tok in feats:
            key, colon, value = tok.partition(":")
            if not colon:
                raise ValueError(f"{path}: line {number}: expected index:value, got {tok!r}")
            keys.append(key)
            vals.append(value)
    line_numbers = np.asarray(where, np.int64)
    indptr = np.concatenate([[0], np.cumsum(counts, dtype=np.int64)])
    y = _numbers(labels, float, path, "label", line_numbers, None)
    idx = _numbers(keys, np.int64, path, "index", line_numbers, indptr)
    x = _numbers(vals, float, path, "value", line_numbers, indptr)
    q = _numbers(qids, np.int64, path, "qid", line_numbers, None) if qids else None
    if q is not None and len(q) != len(y):
        raise ValueError(f"{path}: qid is given on some lines only")
    _check_order(idx, indptr, line_numbers, path)
    return Rows(y, indptr, idx, x, q, line_numbers)


def first_fields(lines):
    """The labels of svmlight lines (``bytes``) without parsing their features: the first
    field of each line that holds a row, float64; ``None`` when one is not a finite number
    (``parse_lines`` then names it with its line)."""
    fields = []
    for raw in lines:
        tokens = raw.split(b"#", 1)[0].split(None, 1)
        if tokens:
            fields.append(tokens[0].removeprefix(b"\xef\xbb\xbf"))
    try:
        y = np.array(fields, np.float64)
    except ValueError:
        return None
    return y if np.all(np.isfinite(y)) else None


def _numbers(texts, kind, path, what, where, indptr):
    """``texts`` as an array of ``kind``; a bad one is named with its line."""
    try:
        out = np.asarray(texts, dtype=np.str_).astype(kind) if texts else np.zeros(0, kind)
    except ValueError:
        for k, t in enumerate(texts):
            try:
                kind(t)
            except ValueError:
                row = k if indptr is None else int(np.searchsorted(indptr, k, side="right")) - 1
                several = " (a multi-label line: one label a line is read)" if "," in t else ""
                raise ValueError(
                    f"{path}: line {where[row]}: non-numeric {what} {t!r}{several}"
                ) from None
        raise
    if kind is float and not np.all(np.isfinite(out)):
        k = int(np.flatnonzero(~np.isfinite(out))[0])
        row = k if indptr is None else int(np.searchsorted(indptr, k, side="right")) - 1
        raise ValueError(f"{path}: line {where[row]}: NaN or infinite {what} {texts[k]!r}")
    return out


def _check_order(idx, indptr, where, path):
    """Indices must be non-negative and increase along each line."""
    if len(idx) and idx.min() < 0:
        k = int(np.argmin(idx))
        row = int(np.searchsorted(indptr, k, side="right")) - 1
        raise ValueError(f"{path}: line {where[row]}: negative index {int(idx[k])}")
    step = np.diff(idx)
    starts = np.zeros(len(idx), bool)
    starts[indptr[:-1][indptr[:-1] < len(idx)]] = True
    bad = np.flatnonzero((step <= 0) & ~starts[1:])
    if len(bad):
        k = int(bad[0]) + 1
        row = int(np.searchsorted(indptr, k, side="right")) - 1
        raise ValueError(
            f"{path}: line {where[row]}: index {int(idx[k])} after "
            f"{int(idx[k - 1])}: indices must increase along a line"
        )


def to_csr(rows: Rows, n_features=None, zero_based="auto", path="data", dtype=np.float64):
    """``(X (N, d) CSR, y (N,))`` of parsed lines. ``zero_based``: ``True``, ``False`` or
    ``"auto"`` (zero-based when an index is 0); ``n_features``: ``d`` (default: the largest
    index + 1), an index at or beyond it is an error naming its line."""
    import scipy.sparse as sp

    if len(rows.labels) == 0:
        raise ValueError(f"{path}: no examples (every line is blank or a comment)")
    base = _base(rows.indices, zero_based, path)
    idx = rows.indices - base
    if base == 1 and len(idx) and idx.min() < 0:
        k = int(np.argmin(idx))
        row = int(np.searchsorted(rows.indptr, k, side="right")) - 1
        raise ValueError(
            f"{path}: line {rows.line_numbers[row]}: index 0 in a one-based file "
            "(pass zero_based=True)"
        )
    d = int(idx.max()) + 1 if len(idx) else 1
    from jaxlin.sparse import INDEX_MAX

    if d > INDEX_MAX:
        k = int(np.argmax(idx))
        row = int(np.searchsorted(rows.indptr, k, side="right")) - 1
        raise beyond_indices(path, rows.line_numbers[row], int(rows.indices[k]))
    if n_features is not None:
        if len(idx) and idx.max() >= n_features:
            k = int(np.argmax(idx))
            row = int(np.searchsorted(rows.indptr, k, side="right")) - 1
            raise ValueError(
                f"{path}: line {rows.line_numbers[row]}: index {int(rows.indices[k])}"
                f" is out of range for n_features={n_features}"
            )
        d = int(n_features)
    with np.errstate(over="ignore"):
        values = rows.values.astype(dtype)
    beyond = np.isfinite(rows.values) & ~np.isfinite(values)
    if beyond.any():  # finite in the file, past the range of a narrower dtype
        k = int(np.argmax(beyond))
        row = int(np.searchsorted(rows.indptr, k, side="right")) - 1
        raise ValueError(
            f"{path}: line {rows.line_numbers[row]}: the value {rows.values[k]:.3g} is beyond "
            f"{np.dtype(dtype).name}'s range; scale the feature"
        )
    X = sp.csr_matrix((values, idx.astype(np.int64), rows.indptr), shape=(len(rows.labels), d))
    return X, rows.labels


def beyond_indices(path, line, index) -> ValueError:
    """The error for an index past the columns a sparse matrix's 32-bit indices address."""
    from jaxlin.sparse import INDEX_MAX

    return ValueError(
        f"{path}: line {line}: index {index:,} is beyond the {INDEX_MAX:,} columns a sparse "
        "matrix's 32-bit indices address"
    )


def check_n_features(n_features):
    """``n_features`` as an int (``None`` kept): a positive integer at most ``INDEX_MAX``."""
    from jaxlin.sparse import INDEX_MAX

    if n_features is None:
        return None
    if isinstance(n_features, bool) or not isinstance(n_features, (int, np.integer)):
        raise TypeError(f"n_features: expected a positive integer, got {n_features!r}")
    if not 1 <= n_features <= INDEX_MAX:
        raise ValueError(
            f"n_features: expected a positive integer at most {INDEX_MAX:,}, got {n_features}"
        )
    return int(n_features)


def _base(indices, zero_based, path):
    if zero_based == "auto":
        return 0 if len(indices) and indices.min() == 0 else 1
    if zero_based not in (True, False):
        raise ValueError(f"zero_based: expected True, False or 'auto', got {zero_based!r}")
    return 0 if zero_based else 1


def read(
    path, n_features: int | None = None, zero_based="auto", dtype=np.float64, query_id: bool = False
):
    """Read an svmlight / libsvm file: ``(X, y)``, or ``(X, y, qid)`` with ``query_id``.

    ``X`` is a SciPy CSR matrix ``(N, d)`` of ``dtype``, ``y`` the labels as float64 (class
    labels, as written). ``n_features``: ``d`` (default: the largest index + 1; give it to
    read a test file with the training file's width). ``zero_based``: see the module.

    >>> import os, tempfile
    >>> path = os.path.join(tempfile.mkdtemp(), "tiny.svm")
    >>> _ = open(path, "w").write("1 1:0.5 3:2\\n0 2:1  # a comment\\n")
    >>> X, y = read(path)
    >>> X.toarray().tolist(), y.tolist()
    ([[0.5, 0.0, 2.0], [0.0, 1.0, 0.0]], [1.0, 0.0])
    """
    from jaxlin import validation

    path = validation.check_file(path, "path")
    n_features = check_n_features(n_features)
    try:
        given = np.dtype(dtype)
    except TypeError:
        given = None
    if given is None or given.kind != "f":  # an integer type would cut the fractions off
        got = repr(dtype) if given is None else given.name
        raise ValueError(f"dtype: expected a floating-point type such as float64, got {got}")
    try:
        with open(path, encoding="utf-8") as fh:
            lines = fh.read().splitlines()
    except UnicodeDecodeError:
        raise ValueError(f"{path}: not a text file (svmlight is text)") from None
    rows = parse_lines(lines, path)
    X, y = to_csr(rows, n_features, zero_based, path, dtype)
    if query_id:
        return X, y, rows.qid if rows.qid is not None else np.zeros(len(y), np.int64)
    return X, y


def write(X, y, path, zero_based: bool = False, comment: str | None = None, query_id=None) -> str:
    """Write ``X`` (dense or sparse ``(N, d)``) and labels ``y`` ``(N,)`` as svmlight: only the
    non-zero values, indices increasing (one-based unless ``zero_based``), written
    atomically. Returns the path."""
    from jaxlin import sparse, validation
    from jaxlin.atomic import atomic_path

    X = validation.check_features(X, "X")  # SciPy CSR when sparse, else a checked array
    X = X.copy() if sparse.is_sparse(X) else _dense_as_csr(X)
    X.eliminate_zeros()
    y = np.asarray(y)
    if y.shape != (X.shape[0],):
        raise ValueError(f"y: expected ({X.shape[0]},) labels, got {y.shape}")
    if y.dtype.kind not in "biuf":
        raise ValueError(
            f"y: svmlight labels are numbers, got dtype {y.dtype} (encode the labels as "
            "integers first)"
        )
    validation.check_finite_values(y, "y")
    if query_id is not None and np.shape(query_id) != (X.shape[0],):
        raise ValueError(f"query_id: expected ({X.shape[0]},), got {np.shape(query_id)}")
    if query_id is not None and np.asarray(query_id).dtype.kind not in "iu":
        raise ValueError(f"query_id: expected integers, got dtype {np.asarray(query_id).dtype}")
    with atomic_path(os.fspath(path)) as tmp, open(tmp, "w", encoding="utf-8") as fh:
        if comment:
            fh.writelines(f"# {line}\n" for line in str(comment).splitlines())
        write_lines(fh, X, y, zero_based, query_id)
    return os.fspath(path)


def write_lines(fh, X, y, zero_based: bool = False, query_id=None) -> None:
    """Append the rows of a CSR ``X`` with labels ``y`` to an open text file, one line each:
    the stored entries in column order (``write`` checks the arguments)."""
    base = 0 if zero_based else 1
    X.sort_indices()
    for i in range(X.shape[0]):
        lo, hi = X.indptr[i], X.indptr[i + 1]
        parts = [_label(y[i])]
        if query_id is not None:
            parts.append(f"qid:{int(query_id[i])}")
        parts += [
            f"{j + base}:{float(v)!r}"
            for j, v in zip(X.indices[lo:hi].tolist(), X.data[lo:hi].tolist())
        ]
        fh.write(" ".join(parts) + "\n")


def _dense_as_csr(X):
    import scipy.sparse as sp

    return sp.csr_matrix(np.asarray(X))


def _label(v) -> str:
    f = float(v)
    return str(int(f)) if f.is_integer() else repr(f)
