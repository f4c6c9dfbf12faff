"""Reading a user's data and preparing it: CSV, IDX, split, standardise, one-hot.

Parsing is numpy only. Every mistake in a file is a ``ValueError`` (or
``FileNotFoundError``) whose message names the file and, for a bad cell, its row
(1-based, counting the header as row 1) and column.
"""

from __future__ import annotations

import csv
import gzip
import io
import os
import warnings
from typing import Any, NamedTuple, Sequence

import numpy as np

from jaxlin import sparse, validation
from jaxlin._lazy import module

jax, backend = module("jax"), module("jaxlin.backend")


class Table(NamedTuple):
    """Features ``X`` ``(N, d)`` float64, labels/targets ``y`` ``(N,)``, the feature names,
    and the class names of labels stored as codes (a ``.npy`` from ``jaxlin convert`` of
    text labels; else ``None``)."""

    X: np.ndarray
    y: np.ndarray
    feature_names: list
    class_names: list | None = None


def not_utf8(path, exc: UnicodeDecodeError, base: int = 0) -> ValueError:
    """The error for a file that is not UTF-8 text (a CSV is read as UTF-8); ``base``: the
    file offset of the decoded bytes' first."""
    return ValueError(
        f"{path}: not UTF-8 text (byte {exc.object[exc.start : exc.start + 1]!r} at offset "
        f"{base + exc.start}); a CSV is read as UTF-8 text (re-save it as 'CSV UTF-8')"
    )


def numeric_rows(
    text,
    header: list,
    path,
    first_line: int = 2,
    sep: str = ",",
    used=None,
    labels=None,
    decimal: str = ".",
) -> np.ndarray:
    """The rows of CSV ``text`` (the lines below a header; cells separated by ``sep``,
    numbers with the decimal mark ``decimal``: ``validation.csv_decimal``) as
    float64 ``(rows, len(header))``. ``used``: the column indices read (default: all); the
    others' cells are not read (0: a text id column left out by the caller). ``labels``:
    ``(column, {label: code})`` for a column of text labels, read as their codes.

    ``text``: a string, or a function that opens the text afresh (a file positioned below
    the header: NumPy then reads the file as it goes, with no copy of its text).

    Quoted cells are read as their contents and blank lines are skipped; every other line
    is a row, one beginning with ``#`` too (no line is dropped unseen). A cell that is not a
    finite number (``validation.cell_number``) or a row with another number of cells is an
    error naming its line (``first_line``: the file's line number of ``text``'s first line)
    and column. NumPy parses the usual file; the cell-by-cell reading below finds what it
    refused, and takes empty cells past the header (a comma that ends every line).
    """
    width = len(header)
    opened = text if callable(text) else lambda: io.StringIO(text, newline="")
    readers = _readers(width, used, labels)
    try:
        with opened() as fh, warnings.catch_warnings():
            warnings.simplefilter("ignore")  # "input contained no data": the caller's check
            out = np.loadtxt(
                fh if decimal == "." else map(comma_to_point, fh),
                delimiter=sep,
                comments=None,
                quotechar='"',
                ndmin=2,
                dtype=np.float64,
                converters=readers or None,
            )
        if out.size == 0:
            return np.empty((0, width))
        if out.shape[1] == width and np.isfinite(out).all():
            return out
    except ValueError:  # (a UnicodeDecodeError is one too: left to the reading below)
        pass
    rows = []
    with opened() as fh:
        for number, row in enumerate(csv.reader(fh, delimiter=sep), first_line):
            if any(cell.strip() for cell in row):
                row = validation.check_row(row, width, path, number)
                rows.append(
                    [
                        _cell(cell, path, number, c, header, readers.get(c), decimal)
                        for c, cell in enumerate(row)
                    ]
                )
    return np.array(rows, dtype=np.float64).reshape(-1, width)


def _readers(width: int, used, labels) -> dict:
    """``{column: cell → float}`` for the columns not read as numbers: 0 for a column left
    out, the code of a text label (NaN for a label not among them)."""
    out: dict = {}
    if used is not None:
        kept = set(used)
        out = {c: _unread for c in range(width) if c not in kept}
    if labels is not None:
        column, codes = labels
        out[column] = lambda cell: float(codes.get(cell.strip(), np.nan))
    return out


def _unread(cell: str) -> float:
    return 0.0


def comma_to_point(line: str) -> str:
    """A line of a file whose decimal mark is a comma, as NumPy's parser reads it; a
    ``ValueError`` (the cell-by-cell reading then) where a point could be anything else."""
    if "." in line:
        raise ValueError("a point in a file of decimal commas")
    return line.replace(",", ".")


def _cell(text: str, path, row: int, column: int, header, reader=None, decimal: str = ".") -> float:
    """Cell ``(row, column)`` as a float (``reader``: how a column not of numbers reads
    it; ``decimal``: the file's decimal mark), or an error naming the row, the column and
    what is wrong."""
    if reader is not None:
        value = reader(text)
        if np.isnan(value):
            raise ValueError(
                f"{path}: label {text.strip()!r} at row {row}, column {column + 1} "
                f"({header[column]!r}) is not among the file's classes"
            )
        return value
    try:
        value = validation.cell_number(text, decimal)
    except ValueError:
        value = None
    if value is None or not np.isfinite(value):
        what = (
            "missing value (an empty cell)"
            if not text.strip()
            else f"{'non-numeric' if value is None else 'NaN or infinite'} value {text!r}"
        )
        raise ValueError(
            f"{path}: {what} at row {row}, column {column + 1} ({header[column]!r})"
            + validation.decimal_note(text, decimal)
        )
    return value


def text_labels(path, sep: str, header: list, column: int) -> tuple:
    """The sorted distinct labels of a CSV's target ``column`` of text: one pass over the
    file (the readers then read each label as its index among them). A row without a
    label, or with another number of cells than the header, is named."""
    seen: set = set()
    with open(path, newline="", encoding="utf-8-sig") as fh:
        reader = csv.reader(fh, delimiter=sep)
        next(reader, None)
        for row in reader:
            if any(cell.strip() for cell in row):
                row = validation.check_row(row, len(header), path, reader.line_num)
                label = row[column].strip()
                if not label:
                    raise ValueError(
                        f"{path}: missing label (an empty cell) at row {reader.line_num}, "
                        f"column {column + 1} ({header[column]!r})"
                    )
                seen.add(label)
    return tuple(sorted(seen))


def _first_label_is_text(path, sep: str, column: int, decimal: str) -> bool:
    """Whether the first row's label is text (not a number, nor one but for its decimal
    mark, which the reading names): the labels are then text, as a stream reads them."""
    with open(path, newline="", encoding="utf-8-sig") as fh:
        fh.readline()
        line = next((line for line in fh if line.strip()), "")
    row = next(csv.reader([line], delimiter=sep), [])
    return validation.is_text(row[column] if column < len(row) else "", decimal)


def read_csv(path, target: str | None = None, drop: Sequence[str] = ()) -> Table:
    """Read a numeric CSV with a header row (separated by commas, or by semicolons, tabs or
    bars, as its header shows: ``validation.csv_separator``; in the latter, numbers may
    have decimal commas, ``1,5``, as the file's first decimals show:
    ``validation.csv_decimal``).

    Args:
      path: the file.
      target: the label column's name (default: the last column).
      drop: column names to leave out (e.g. an id column).
    Returns:
      ``Table`` with the remaining columns as features, in file order. Text labels (the
      first row's is text) come as the codes ``0..C−1`` of their sorted names,
      ``Table.class_names``, as the command line and streams read them.
    """
    path = validation.check_file(path, "path")

    def below_header():  # the file as text, positioned on the line below the header
        fh = open(path, newline="", encoding="utf-8-sig")
        fh.readline()  # (with newline="", a line ends in \n, \r\n or \r alone)
        return fh

    try:
        with open(path, newline="", encoding="utf-8-sig") as fh:
            line = fh.readline()
        sep = validation.csv_separator(line)
        header = next(csv.reader([line], delimiter=sep), None)
        if not header:
            raise ValueError(f"{path}: the file is empty")
        header = validation.check_header(header, path)
        target = header[-1] if target is None else target
        drop = validation.check_not_dropped(target, drop)
        for note in validation.header_notes(header, path, drop):
            warnings.warn(note, UserWarning, stacklevel=2)
        for name, what in [(target, "target")] + [(d, "drop") for d in drop]:
            if name not in header:
                raise ValueError(f"{path}: no {what} column {name!r}; columns are {header}")
        used = [i for i, h in enumerate(header) if h not in drop]
        decimal, column, classes = validation.csv_decimal(path, sep), header.index(target), None
        if _first_label_is_text(path, sep, column, decimal):
            classes = text_labels(path, sep, header, column)
        labels = classes and (column, {label: code for code, label in enumerate(classes)})
        data = numeric_rows(below_header, header, path, 2, sep, used, labels, decimal)
    except UnicodeDecodeError:
        with open(path, "rb") as binary:
            raw = binary.read()
        try:  # the decoder of a text stream counts from its last buffer: count from the start
            raw.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise not_utf8(path, exc) from None
        raise
    if data.shape[0] == 0:
        raise ValueError(f"{path}: no data rows below the header")
    keep = [i for i, h in enumerate(header) if h != target and h not in drop]
    if not keep:
        raise ValueError(f"{path}: no feature columns left after taking the target and drops")
    names = [header[i] for i in keep]
    return Table(data[:, keep], data[:, column], names, list(classes) if classes else None)


_IDX_TYPES: dict[int, Any] = {
    0x08: np.uint8,
    0x09: np.int8,
    0x0B: ">i2",
    0x0C: ">i4",
    0x0D: ">f4",
    0x0E: ">f8",
}


def _npy_record(path) -> dict:
    """The JSON ``jaxlin convert`` wrote beside the ``.npy`` at ``path`` (``path + ".json"``),
    ``{}`` when there is none; a file that is not such JSON is a ``ValueError``."""
    import json

    meta = os.fspath(path) + ".json"
    if not os.path.exists(meta):
        return {}
    try:
        with open(meta, encoding="utf-8") as fh:
            record = json.load(fh)
    except (ValueError, OSError) as exc:  # UnicodeDecodeError and JSON's errors too
        raise ValueError(
            f"{meta}: not the column names of {os.path.basename(path)} as jaxlin convert "
            f"writes them (a JSON object with 'columns'): {exc}"
        ) from None
    return record if isinstance(record, dict) else {}


def npy_column_names(path, width: int) -> list | None:
    """The ``width`` column names ``jaxlin convert`` wrote beside the ``.npy`` at ``path``
    (``path + ".json"``, ``{"columns": [...]}``), or ``None`` when there is no such file or it
    names another number of columns; a file that is not such JSON is a ``ValueError``."""
    given = _npy_record(path).get("columns")
    if not isinstance(given, list) or len(given) != width:
        return None
    return [str(c) for c in given]


def npy_classes(path) -> list | None:
    """The class names of a ``.npy``'s last column (its labels, as codes ``0..C−1``) when
    ``jaxlin convert`` encoded them from text (``"classes"`` in ``path + ".json"``), else
    ``None``."""
    given = _npy_record(path).get("classes")
    return [str(c) for c in given] if isinstance(given, list) and given else None


def npy_columns(path) -> tuple[np.ndarray, list]:
    """Every column of a 2-D numeric ``.npy`` and their names (from ``path + ".json"``, as
    written by ``jaxlin convert``, else ``c0, c1, …``). Clear errors for anything else."""

    path = validation.check_file(path, "path")
    with open(path, "rb") as fh:
        if fh.read(6) != b"\x93NUMPY":  # np.load would try it as a pickle and say so
            raise ValueError(f"{path}: not a .npy file (no NumPy header)")
    try:
        A = np.load(path, mmap_mode="r", allow_pickle=False)
    except ValueError as exc:
        raise ValueError(f"{path}: not a numeric .npy array ({exc})") from None
    if A.ndim != 2 or A.dtype.kind not in "biuf":
        raise ValueError(
            f"{path}: expected a 2-D numeric array (rows × columns), got shape "
            f"{A.shape} of dtype {A.dtype}"
        )
    names = npy_column_names(path, A.shape[1]) or [f"c{i}" for i in range(A.shape[1])]
    return np.asarray(A, np.float64), names


def read_npy(path, target: str | None = None, drop: Sequence[str] = ()) -> Table:
    """A ``.npy`` table (e.g. from ``jaxlin convert``) as ``Table``: the ``target``
    column (default: the last) as labels, the others but ``drop`` as features (the last
    column's class names too, when ``convert`` encoded text labels)."""
    A, names = npy_columns(path)
    target = names[-1] if target is None else target
    drop = validation.check_not_dropped(target, drop, "--drop")
    for name in [target, *drop]:
        if name not in names:
            raise ValueError(
                f"--target/--drop: no column {name!r} in {path} (columns: "
                f"{', '.join(names[:8])}{', …' if len(names) > 8 else ''})"
            )
    keep = [i for i, n in enumerate(names) if n != target and n not in drop]
    X, y = A[:, keep], A[:, names.index(target)]
    if A.shape[0] == 0 or not keep:
        raise ValueError(f"{path}: no rows or no feature columns")
    bad = np.argwhere(~np.isfinite(X))
    if len(bad) or not np.all(np.isfinite(y)):
        where = f" (row {bad[0][0]}, column {names[keep[bad[0][1]]]!r})" if len(bad) else ""
        raise ValueError(f"{path}: NaN or infinite values{where}")
    classes = npy_classes(path) if target == names[-1] else None  # the converted labels
    return Table(X, y, [names[i] for i in keep], classes)


def read_idx(path) -> np.ndarray:
    """Read an IDX file (the MNIST format), gzip-compressed or not."""
    path = validation.check_file(path, "path")
    with open(path, "rb") as fh:
        raw = fh.read()
    if raw[:2] == b"\x1f\x8b":
        try:
            raw = gzip.decompress(raw)
        except (OSError, EOFError) as exc:
            raise ValueError(f"{path}: corrupt or truncated gzip data ({exc})") from None
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] not in _IDX_TYPES or raw[3] == 0:
        raise ValueError(f"{path}: not an IDX file (bad magic number)")
    ndim = raw[3]
    if len(raw) < 4 + 4 * ndim:
        raise ValueError(f"{path}: truncated IDX header")
    shape = tuple(int(v) for v in np.frombuffer(raw, ">u4", count=ndim, offset=4))
    dtype = np.dtype(_IDX_TYPES[raw[2]])
    expected = int(np.prod(shape)) * dtype.itemsize
    body = raw[4 + 4 * ndim :]
    if len(body) != expected:
        raise ValueError(
            f"{path}: IDX data has {len(body)} bytes, its header promises {expected} "
            f"(shape {shape}); truncated or corrupt"
        )
    return np.frombuffer(body, dtype).reshape(shape)


def read_idx_pair(images_path, labels_path) -> Table:
    """MNIST-style images ``(N, h, w)`` and labels ``(N,)`` → features ``(N, h·w)`` in [0, 1]."""
    images = read_idx(images_path)
    labels = read_idx(labels_path)
    if images.ndim < 2:
        raise ValueError(
            f"{images_path}: holds a 1-D array {images.shape}, not images (N, h, w): is it the "
            "labels file? (images first, labels second)"
        )
    if labels.ndim != 1:
        raise ValueError(
            f"{labels_path}: holds an array of shape {labels.shape}, not labels (N,): is it "
            "an images file? (images first, labels second)"
        )
    if labels.dtype.kind == "f" and not np.all(labels == np.round(labels)):
        raise ValueError(f"{labels_path}: holds fractional values, not class labels")
    if images.shape[0] != labels.shape[0]:
        raise ValueError(
            f"{images_path}: {images.shape[0]} images but {labels_path} has "
            f"{labels.shape[0]} labels"
        )
    X = images.reshape(images.shape[0], -1).astype(np.float64)
    if images.dtype == np.uint8:
        X /= 255.0
    shape = images.shape[1:]
    names = [f"pixel_{'_'.join(map(str, np.unravel_index(i, shape)))}" for i in range(X.shape[1])]
    return Table(X, labels.astype(np.int64), names)


class Split(NamedTuple):
    X_train: np.ndarray
    X_test: np.ndarray
    y_train: np.ndarray
    y_test: np.ndarray
    train_index: np.ndarray
    test_index: np.ndarray


def _permutation(n, key, fold_in):
    for i in range(0 if fold_in is None else fold_in.shape[0]):
        key = jax.random.fold_in(key, fold_in[i])
    return jax.random.permutation(key, n)


def shuffled_rows(n: int, key=None, seed: int = 0, *, fold_in=()) -> np.ndarray:
    """``jax.random.permutation(key or jax.random.key(seed), n)`` as one compiled program (one
    small program per row count; called eagerly, JAX would compile several, 0.1–0.7 s on a
    first call). ``fold_in``: integers folded into the key first, in order
    (``jax.random.fold_in``), in the same program; their values are not part of it (an
    epoch's number can be one)."""
    n = validation.check_non_negative_int(n, "n")
    key = validation.key_or_seed(key, seed)
    salts = np.asarray(fold_in, np.uint32).reshape(-1) if len(fold_in) else None
    return np.asarray(backend.jit_for(_permutation, 4 * n, ("n",), once=True)(n, key, salts))


def train_test_split(
    X, y, train_fraction: float = 2 / 3, key=None, seed: int = 0, stratify: bool = False
) -> Split:
    """Shuffle, then the first ``train_fraction`` of the rows train, the rest test.

    With ``stratify`` each class is split in that proportion separately.
    The number of training rows is ``round(train_fraction · N)``.
    """
    X = validation.check_features(X, "X", finite=False)  # a missing cell is imputed later
    y = validation.as_host_array(y, "y")
    n = X.shape[0]
    if y.ndim not in (1, 2) or y.shape[0] != n:
        raise ValueError(f"y: has {y.shape[0] if y.ndim else 0} rows but X has {n}")
    validation.check_finite_values(y, "y")  # a label is never imputed
    validation.check_fraction(train_fraction, "train_fraction")
    perm = shuffled_rows(n, key, seed)
    if validation.check_flag(stratify, "stratify"):
        train_parts, test_parts = [], []
        group = np.unique(y, axis=0, return_inverse=True)[1].reshape(-1)  # (N, K): by rows
        for c in range(group.max() + 1):
            rows = perm[group[perm] == c]
            k = int(round(train_fraction * len(rows)))
            train_parts.append(rows[:k])
            test_parts.append(rows[k:])
        tr, te = np.concatenate(train_parts), np.concatenate(test_parts)
        tr, te = perm[np.isin(perm, tr)], perm[np.isin(perm, te)]  # keep the shuffled order
    else:
        k = int(round(train_fraction * n))
        tr, te = perm[:k], perm[k:]
    if len(tr) == 0 or len(te) == 0:
        raise ValueError(
            f"train_fraction: {train_fraction} leaves an empty train or test set for N = {n}"
        )
    return Split(X[tr], X[te], y[tr], y[te], tr, te)


class Standardizer(NamedTuple):
    """``(x − mean) / scale`` with statistics of the training rows only.

    A constant feature (standard deviation 0) gets ``scale = 1``: it is centred to 0,
    never divided by zero. Sparse data is scaled, not centred (``mean = 0``, as
    scikit-learn's ``StandardScaler(with_mean=False)``): subtracting a mean would fill every
    zero, making the matrix dense.
    """

    mean: np.ndarray
    scale: np.ndarray

    @classmethod
    def fit(cls, X, with_mean=None) -> "Standardizer":
        """Statistics of ``X``; ``with_mean``: centre too (default: for dense data only;
        asking it for sparse data is a ``ValueError``)."""
        if sparse.is_sparse(X):
            if with_mean:
                raise ValueError(
                    "with_mean: centring sparse X would make it dense; scale it "
                    "only (with_mean=False)"
                )
            X = sparse.as_csr(X)
            return cls(np.zeros(X.shape[1]), sparse.column_scale(X))
        X = np.asarray(validation.check_features(X, "X"), np.float64)
        # each column divided by a power of two above its largest magnitude: its sums cannot
        # overflow, and the statistics are those of X, bit for bit, where they did not
        m = sparse.power_of_two_above(
            np.maximum(X.max(axis=0, initial=0.0), -X.min(axis=0, initial=0.0))
        )
        U = X / m
        std = m * U.std(axis=0)
        mean = m * U.mean(axis=0) if with_mean is None or with_mean else np.zeros(X.shape[1])
        return cls(mean, np.where(std > 0, std, 1.0))

    def transform(self, X):
        """``(X − mean) / scale``: a CSR matrix for sparse ``X`` (only its entries scaled)."""
        X = self._rows(X, "X")
        if sparse.is_sparse(X):
            return sparse.as_csr(X).multiply(1.0 / self.scale).tocsr()
        return (np.asarray(X, np.float64) - self.mean) / self.scale

    def inverse_transform(self, Z):
        """``Z · scale + mean``: the features in their own units again (``transform``'s
        inverse, up to rounding); a CSR matrix for sparse ``Z``."""
        Z = self._rows(Z, "Z")
        if sparse.is_sparse(Z):
            return sparse.as_csr(Z).multiply(self.scale).tocsr()
        return np.asarray(Z, np.float64) * self.scale + self.mean

    def _rows(self, X, name: str):
        """``X`` checked to have the statistics' width; sparse only where they do not centre
        (a mean taken away or added back would fill every zero)."""
        X = validation.check_features(X, name, n_features=self.mean.shape[0])
        if sparse.is_sparse(X) and np.any(self.mean != 0):
            raise ValueError(
                f"{name}: these statistics centre the features, which would make sparse "
                f"{name} dense; fit them with with_mean=False"
            )
        return X


def one_hot(y, n_classes: int | None = None) -> np.ndarray:
    """Integer labels ``(N,)`` → one-hot ``(N, K)`` float64."""
    y = validation.numeric_labels(validation.as_host_array(y, "y"))
    if y.ndim != 1 or y.dtype.kind not in "biuf" or y.size == 0:
        raise ValueError(
            f"y: one_hot needs a non-empty 1-D array of integer labels >= 0, got shape "
            f"{y.shape} of {y.dtype}"
        )
    validation.check_finite_values(y, "y")
    if np.any(y < 0) or np.any(y != np.round(y)):
        raise ValueError("y: one_hot needs a 1-D array of integer labels >= 0")
    k = int(y.max()) + 1 if n_classes is None else validation.check_n_classes(n_classes)
    if y.max() >= k:
        raise ValueError(f"y: label {int(y.max())} is out of range for {k} classes")
    return np.eye(k)[y.astype(int)]


def add_bias_feature(X) -> np.ndarray:
    """Append the bias feature (a column of ones), the explicit form of the bias."""
    X = validation.check_features(X, "X", finite=False)
    return np.concatenate([X, np.ones((X.shape[0], 1), X.dtype)], axis=1)


class Prepared(NamedTuple):
    X_train: np.ndarray
    X_test: np.ndarray
    y_train: np.ndarray
    y_test: np.ndarray
    standardizer: Standardizer


def prepare(
    X,
    y,
    train_fraction: float = 2 / 3,
    key=None,
    seed: int = 0,
    stratify=False,
    standardize: bool = True,
) -> Prepared:
    """The classic protocol: shuffle, split 2/3–1/3, standardise with the training statistics.

    The bias is not appended here: jaxlin's models carry an explicit ``b`` (the two forms
    are equal, see ``jaxlin.linear.add_bias``); use ``add_bias_feature`` for the
    explicit bias column.
    """
    s = train_test_split(X, y, train_fraction, key, seed, stratify)
    if validation.check_flag(standardize, "standardize"):
        st = Standardizer.fit(s.X_train)  # sparse rows: scaled, not centred
    else:
        st = Standardizer(np.zeros(s.X_train.shape[1]), np.ones(s.X_train.shape[1]))
    return Prepared(st.transform(s.X_train), st.transform(s.X_test), s.y_train, s.y_test, st)


def is_idx(path) -> bool:
    try:
        with open(path, "rb") as fh:
            head = fh.read(4)
    except OSError:
        return False
    if head[:2] == b"\x1f\x8b":
        return "idx" in os.path.basename(path).lower()
    return len(head) == 4 and head[0] == 0 and head[1] == 0 and head[2] in (8, 9, 11, 12, 13, 14)


def read_svmlight(
    path, n_features: int | None = None, zero_based="auto", dtype=np.float64, query_id: bool = False
):
    """Read an svmlight / libsvm file as ``(X CSR, y)`` (``(X, y, qid)`` with
    ``query_id``): ``jaxlin.svmlight.read``."""
    from jaxlin import svmlight

    return svmlight.read(path, n_features, zero_based, dtype, query_id)


def write_svmlight(X, y, path, zero_based: bool = False, comment=None, query_id=None) -> str:
    """Write ``(X, y)`` as svmlight: ``jaxlin.svmlight.write``."""
    from jaxlin import svmlight

    return svmlight.write(X, y, path, zero_based, comment, query_id)
