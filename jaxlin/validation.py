"""Checks at the public boundary: clear errors that name the argument and what was received.

Inside ``jit`` nothing is checked but shapes (at trace time); everything a user can get
wrong is checked here first, on concrete arrays.
"""

from __future__ import annotations

import csv

import functools
import numbers
import os

import numpy as np

from jaxlin import sparse
from jaxlin._lazy import is_jax_array, module
from jaxlin.records import every

jax, jnp = module("jax"), module("jax.numpy")


def as_path(path, name: str) -> str:
    """``os.fspath(path)``; a ``TypeError`` naming ``name`` when it is not a path at all."""
    try:
        return os.fspath(path)
    except TypeError:
        raise TypeError(
            f"{name}: expected a file path (str or os.PathLike), got {type(path).__name__}"
        ) from None


def check_file(path, name: str = "data", missing: str | None = None) -> str:
    """``path`` as a string; a ``FileNotFoundError`` naming ``name`` when nothing is there
    (``missing``: the message then), an ``IsADirectoryError`` when it is a folder, a
    ``TypeError`` naming ``name`` when it is not a path at all."""
    path = as_path(path, name)
    if not os.path.exists(path):
        raise FileNotFoundError(missing or f"{name}: no such file: {path}")
    if os.path.isdir(path):
        raise IsADirectoryError(f"{name}: {path} is a folder, not a file")
    return path


# the separators a header line is tried with, in order: the first that splits it in two
# or more names is the file's (a comma-separated file with one column stays one column)
SEPARATORS = (",", ";", "\t", "|")


def csv_separator(header_line: str) -> str:
    """The separator of a CSV whose header is ``header_line``: a comma, else the first of
    semicolon, tab and bar that splits the header into two or more names (as a careful
    reader would see it; a quoted name may hold any of them), else a comma.

    >>> csv_separator("a,b"), csv_separator("a;b;y"), csv_separator("x")
    (',', ';', ',')
    """
    for sep in SEPARATORS:
        names = next(csv.reader([header_line], delimiter=sep), [])
        if len([n for n in names if n.strip()]) >= 2:
            return sep
    return ","


def label_order(labels, name: str = "y"):
    """``np.unique(labels, return_inverse=True)``: the sorted distinct labels and each
    label's code among them (the order scikit-learn's encoders and metrics use); labels of
    types NumPy cannot order (text beside numbers in an object array) are a ``TypeError``
    naming ``name``."""
    try:
        return np.unique(labels, return_inverse=True)
    except TypeError:
        kinds = sorted({type(v).__name__ for v in np.asarray(labels).ravel()})
        raise TypeError(
            f"{name}: labels of mixed types ({', '.join(kinds)}) have no order"
        ) from None


def check_header(header, path, min_columns: int = 2) -> list:
    """A CSV header's column names, stripped (and an empty name at the end, a separator
    that ends the line, left out; another empty name is ``Unnamed: c``, ``c`` its position
    from 0, as pandas names it: ``header_notes``); a ``ValueError`` when a name appears twice
    (columns are chosen by name, so one of the two would be lost) or when there is one
    column only where ``min_columns`` is 2 (training: no features beside a target; most
    often a file of a single column). An empty header is left to the caller."""
    names = [h.strip() for h in header]
    while len(names) > 1 and not names[-1]:  # a separator at the end of the line
        names.pop()
    names = [name or f"Unnamed: {c}" for c, name in enumerate(names)]  # pandas' name for it
    if len(names) == 1 < min_columns:
        raise ValueError(f"{path}: need a header with at least 2 columns, got {names}")
    seen: dict = {}
    for c, name in enumerate(names, 1):
        if name in seen:
            raise ValueError(
                f"{path}: column name {name!r} appears twice in the header (columns "
                f"{seen[name]} and {c}); give each column its own name"
            )
        seen[name] = c
    return names


def check_row(row, width: int, path, number: int) -> list:
    """A CSV row's cells for a header of ``width`` names. Empty cells beyond the header
    (a separator at the end of the line) are let go; any other count of cells is an error
    naming the row (its line in the file, ``number``)."""
    if len(row) > width and not any(cell.strip() for cell in row[width:]):
        row = row[:width]
    if len(row) != width:
        raise ValueError(f"{path}: row {number} has {len(row)} cells, the header has {width}")
    return row


def cell_number(text: str, decimal: str = ".") -> float:
    """A CSV cell's number: what Python's ``float`` reads (surrounding spaces, ``nan``,
    ``inf``) but for digits grouped with ``_`` (a code or an identifier, which NumPy's
    and pandas's readers refuse too); a ``ValueError`` otherwise. ``decimal``: the file's
    decimal mark (``csv_decimal``); with ``","`` a cell holding a point is refused (in such
    a file a point may group thousands: ``1.234`` could be 1234)."""
    if "_" in text:
        raise ValueError(f"not a number: {text!r}")
    if decimal == ",":
        if "." in text:
            raise ValueError(f"not a number where the decimal mark is a comma: {text!r}")
        text = text.replace(",", ".")
    return float(text)


def is_text(cell: str, decimal: str = ".") -> bool:
    """Whether a CSV cell is text: not a number (an empty cell is none: missing) nor one
    but for its decimal mark (which the readers name as such).

    >>> is_text("cat"), is_text("1.5"), is_text(""), is_text("1,5"), is_text("1.5", ",")
    (True, False, False, False, False)
    """
    try:
        cell_number(cell or "0", decimal)
    except ValueError:
        return not decimal_note(cell, decimal)
    return False


def decimal_mark(text: str) -> str | None:
    """The decimal mark of a cell that is a number written with one (``"."`` or ``","``),
    else ``None`` (an integer, text, or a number with both marks).

    >>> decimal_mark("1,5"), decimal_mark("-0.25"), decimal_mark("12"), decimal_mark("1.234,5")
    (',', '.', None, None)
    """
    text = text.strip()
    mark = "," if "," in text else "." if "." in text else None
    if mark is None or text.count(mark) > 1 or ("." in text and "," in text) or "_" in text:
        return None
    try:
        float(text.replace(",", "."))
    except ValueError:
        return None
    return mark


# how much of a CSV below its header shows its decimal mark (``csv_decimal``)
DECIMAL_SAMPLE_BYTES = 2**20


def csv_decimal(path, sep: str) -> str:
    """A CSV's decimal mark: ``"."``, or ``","`` in a file separated by semicolons, tabs or
    bars (as the spreadsheets of locales that write 1,5 save them) whose first number
    written with a decimal mark, in its first MiB below the header, has a comma. A
    comma-separated file's numbers have points (a quoted ``"1,234"`` is more often a
    thousand than a decimal). Every reader of CSVs asks here, so all read a file alike."""
    if sep == ",":
        return "."
    with open(path, newline="", encoding="utf-8-sig", errors="replace") as fh:
        fh.readline()
        text = fh.read(DECIMAL_SAMPLE_BYTES)
    lines = text.splitlines()
    if len(text) == DECIMAL_SAMPLE_BYTES:  # the last line may be cut
        lines = lines[:-1]
    for row in csv.reader(lines, delimiter=sep):
        for cell in row:
            if mark := decimal_mark(cell):
                return mark
    return "."


def decimal_note(text: str, decimal: str = ".") -> str:
    """What to say of a cell that is a number but for the file's decimal mark (``decimal``),
    else ``""``.

    >>> decimal_note("1,5"), decimal_note("abc")
    (' (a decimal comma: write 1.5 for 1,5)', '')
    >>> decimal_note("2.5", ",")
    ' (the file writes decimals with a comma: write 2,5 for 2.5)'
    """
    mark = decimal_mark(text)
    if mark is None or mark == decimal:
        return ""
    text = text.strip()
    if mark == ",":
        return f" (a decimal comma: write {text.replace(',', '.')} for {text})"
    return f" (the file writes decimals with a comma: write {text.replace('.', ',')} for {text})"


def numbers_as_header(names, path) -> str | None:
    """A notice when every name of a CSV's header reads as a number (a file without a
    header, whose first row of data would be taken for the column names and left out of
    the data), else ``None``."""
    try:
        [cell_number(n) for n in names]
    except ValueError:
        return None
    shown = ", ".join(names[:4]) + (", …" if len(names) > 4 else "")
    return (
        f"{path}: the header row ({shown}) is all numbers: it is read as the column names, "
        "not as data; if the file has no header, add one as its first line"
    )


def header_notes(names, path, dropped=()) -> list:
    """What a reader says of a CSV header's names (``check_header``'s) before it reads on:
    names that are all numbers (``numbers_as_header``), and columns without a name (most
    often a DataFrame's index, which ``to_csv`` writes unnamed: its row numbers would be
    trained on as a feature; not said of those ``dropped``).

    >>> header_notes(["Unnamed: 0", "a", "y"], "f.csv")  # doctest: +ELLIPSIS
    ["f.csv: column 1 has no name (a DataFrame's index, ...(drop=['Unnamed: 0'])"]
    """
    notes = [note] if (note := numbers_as_header(names, path)) else []
    unnamed = [c for c, name in enumerate(names) if name == f"Unnamed: {c}" and name not in dropped]
    if unnamed:
        many = len(unnamed) > 1
        given = [names[c] for c in unnamed]
        notes.append(
            f"{path}: column{'s' * many} {', '.join(str(c + 1) for c in unnamed)} "
            f"{'have' if many else 'has'} no name (a DataFrame's index, written by to_csv?): "
            f"read as {', '.join(map(repr, given))}, {'features' if many else 'a feature'}; "
            f"leave {'them' if many else 'it'} out with --drop '{','.join(given)}' "
            f"(drop={given})"
        )
    return notes


def check_not_dropped(target, drop, name: str = "drop") -> tuple:
    """The columns to drop as a tuple (one name given as a string is one column), none of
    them the target (it would train on no labels)."""
    drop = (drop,) if isinstance(drop, str) else tuple(drop)
    if target in drop:
        raise ValueError(f"{name}: {target!r} is the target column; it cannot be dropped")
    return drop


def as_host_array(value, name: str) -> np.ndarray:
    """``np.asarray(value)``, with a ragged nested list (rows of different lengths) or any
    other value NumPy cannot make an array of named as ``name`` in the error. A sparse
    matrix is refused (NumPy would wrap it in an array of one object), and so is a masked
    array with masked cells (NumPy would take the values under the mask as data)."""
    if sparse.is_sparse(value):
        raise TypeError(
            f"{name}: expected a dense array, got a sparse {type(value).__name__}; "
            "convert it with .toarray()"
        )
    if isinstance(value, np.ma.MaskedArray) and np.ma.getmaskarray(value).any():
        mask = np.ma.getmaskarray(value)
        first = tuple(int(i) for i in np.argwhere(mask)[0])
        raise ValueError(
            f"{name}: a masked array with {int(mask.sum())} masked cells (the first at index "
            f"{first[0] if len(first) == 1 else first}); its values there are not data: fill "
            "them (.filled(value)) or drop those rows"
        )
    nullable = _nullable_numbers(value)
    if nullable is not None:
        return nullable
    try:
        return np.asarray(value)
    except (ValueError, TypeError) as e:
        raise ValueError(f"{name}: cannot be read as an array ({e})") from None


def _nullable_numbers(value):
    """A pandas DataFrame or Series with a nullable numeric column (``Int64``, ``Float64``,
    ``boolean``) and no other kind, as float64 with a missing cell NaN (which the checks then
    name) — or, with no missing cell, as booleans or int64 when every column is of that
    kind (boolean labels predict booleans); ``None`` for anything else. NumPy would make
    such columns an array of objects."""
    dtypes = getattr(value, "dtypes", None)
    if dtypes is None or not hasattr(value, "to_numpy"):
        return None
    dtypes = list(dtypes) if hasattr(dtypes, "__iter__") else [dtypes]
    if all(isinstance(dt, np.dtype) for dt in dtypes):
        return None  # plain NumPy columns: np.asarray keeps their type
    kinds = {getattr(dt, "kind", "O") for dt in dtypes}
    if not kinds <= set("biuf"):
        return None
    if not np.asarray(value.isna()).any():
        if kinds == {"b"}:
            return value.to_numpy(dtype=bool)
        if kinds <= {"i", "u"}:
            return value.to_numpy(dtype=np.int64)
    return value.to_numpy(dtype=np.float64, na_value=np.nan)


def is_missing(value) -> bool:
    """Whether a cell of an array of objects is a missing value: ``None``, a float NaN (a
    pandas text column's missing cell) or pandas' ``NA``."""
    return (
        value is None
        or (isinstance(value, float) and value != value)
        or type(value).__name__ == "NAType"
    )


def column_names(X) -> list | None:
    """The names of a table's columns (a pandas DataFrame's) when every one is text, else
    ``None`` (an array, or columns numbered as ``pd.DataFrame(array)`` numbers them)."""
    columns = getattr(X, "columns", None)
    if columns is None or sparse.is_sparse(X) or not all(isinstance(c, str) for c in columns):
        return None
    return list(columns)


def check_column_names(X, feature_names, name: str = "X") -> None:
    """A table whose columns have names holds a model's ``feature_names`` in their order,
    as scikit-learn asks: read by position, other or reordered columns would be taken for
    the model's features silently. Arrays, numbered columns and a model without names
    (``None``) are read by position."""
    given = column_names(X)
    if given is None or feature_names is None:
        return
    wanted = [str(f) for f in feature_names]
    if given == wanted:
        return
    known, seen = set(wanted), set(given)
    missing = [f for f in wanted if f not in seen]
    unexpected = [c for c in given if c not in known]
    if not missing and not unexpected:
        raise ValueError(
            f"{name}: its columns are the model's features in another order; select them in "
            f"the model's order: {name}[model.feature_names]"
        )
    raise ValueError(
        f"{name}: its columns are not the model's features (missing {missing[:5]}"
        f"{' …' * (len(missing) > 5)}, not the model's {unexpected[:5]}"
        f"{' …' * (len(unexpected) > 5)}); the model takes {wanted[:8]}"
        f"{' …' * (len(wanted) > 8)}"
    )


def check_finite_values(arr, name: str) -> None:
    """A ``ValueError`` naming ``name`` and the first NaN or infinite entry of the host array
    ``arr`` (its row, and column for a table), if it holds one.

    >>> check_finite_values(np.array([0.0, 1.0, np.nan]), "y")
    Traceback (most recent call last):
    ValueError: y: contains NaN or infinite values (first at row 2: nan)
    """
    arr = np.asarray(arr)
    if arr.dtype.kind not in "fc" or np.all(np.isfinite(arr)):
        return
    at = tuple(int(i) for i in np.argwhere(~np.isfinite(arr))[0])
    if len(at) in (1, 2):
        where = f"row {at[0]}" + (f", column {at[1]}" if len(at) == 2 else "")
    else:
        where = f"index {at}" if at else "the scalar"
    raise ValueError(f"{name}: contains NaN or infinite values (first at {where}: {arr[at]})")


def check_labelled(arr: np.ndarray, name: str) -> None:
    """Labels of objects (text) hold no missing cell (``is_missing``): each is named with
    its row."""
    if arr.dtype.kind != "O":
        return
    missing = [i for i, v in enumerate(arr.reshape(-1)) if is_missing(v)]
    if missing:
        many = f"; {len(missing)} rows in all" if len(missing) > 1 else ""
        raise ValueError(
            f"{name}: row {missing[0]} has no label ({arr.reshape(-1)[missing[0]]!r}{many}); "
            "every row needs a label"
        )


def numeric_labels(arr: np.ndarray) -> np.ndarray:
    """An object array of labels that are all numbers or booleans (a DataFrame column of
    Python ints, say) as a numeric array, so that it means what the same numbers do in a
    numeric array; any other array as it is."""
    if arr.dtype.kind != "O" or arr.size == 0:
        return arr
    values = arr.reshape(-1).tolist()
    if all(isinstance(v, (numbers.Real, np.bool_)) for v in values):  # (a bool is an int)
        return np.array(values).reshape(arr.shape)
    return arr


def holds_text(arr) -> bool:
    """Whether host labels are text or other non-numbers (an object array of numbers holds
    numbers: ``numeric_labels``)."""
    return numeric_labels(np.asarray(arr)).dtype.kind not in "biuf"


def numeric(arr: np.ndarray, name: str) -> np.ndarray:
    """``arr`` if it holds numbers; an array of Python objects that are all real numbers
    (a column of mixed ints and floats, say) as float64; else a ``TypeError`` naming
    ``name`` and the first cell that is not a number."""
    if arr.dtype != object and arr.dtype.kind in "biuf":
        return arr
    if arr.dtype == object:
        flat = arr.reshape(-1)
        bad = next((i for i, v in enumerate(flat) if not isinstance(v, numbers.Real)), None)
        if bad is None:
            return arr.astype(np.float64)
        at = tuple(int(i) for i in np.unravel_index(bad, arr.shape))
        where = f"row {at[0]}, column {at[1]}" if arr.ndim == 2 else f"index {at}"
        raise TypeError(f"{name}: expected a numeric array; the cell at {where} is {flat[bad]!r}")
    raise TypeError(f"{name}: expected a numeric array, got dtype {arr.dtype}")


def check_features(X, name: str = "X", n_features: int | None = None, finite: bool = True):
    """A finite, non-empty 2-D numeric array, optionally with ``n_features`` columns; a
    sparse matrix (SciPy's, or JAX's ``BCOO``/``BCSR``) is checked and returned as SciPy CSR,
    never made dense.

    ``finite=False`` leaves out the scan for NaN and infinite values (a dense array): for a
    caller whose compiled run reads every value anyway and calls ``check_finite`` when its
    result says one was not finite (``jaxlin.training.fit``)."""
    if X is None:
        raise ValueError(f"{name}: no data given")
    if sparse.is_sparse(X):
        X = sparse.as_csr(X, name)
        if n_features is not None and X.shape[1] != n_features:
            raise ValueError(f"{name}: expected {n_features} features, got {X.shape[1]}")
        return X
    if is_jax_array(X) and jnp.issubdtype(X.dtype, jnp.floating):
        return _check_device_features(X, name, n_features, finite)
    arr = numeric(as_host_array(X, name), name)
    if arr.ndim != 2:
        raise ValueError(f"{name}: expected a 2-D array (N, d), got shape {arr.shape}")
    if arr.shape[0] == 0 or arr.shape[1] == 0:
        raise ValueError(f"{name}: empty data, shape {arr.shape}")
    if finite:
        check_finite(arr, name)
    if n_features is not None and arr.shape[1] != n_features:
        raise ValueError(f"{name}: expected {n_features} features, got {arr.shape[1]}")
    return arr


def _check_device_features(X, name, n_features, finite):
    """The same checks for an array already on the device, without copying it to the host."""
    if X.ndim != 2:
        raise ValueError(f"{name}: expected a 2-D array (N, d), got shape {X.shape}")
    if X.shape[0] == 0 or X.shape[1] == 0:
        raise ValueError(f"{name}: empty data, shape {X.shape}")
    if finite:
        check_finite(X, name)
    if n_features is not None and X.shape[1] != n_features:
        raise ValueError(f"{name}: expected {n_features} features, got {X.shape[1]}")
    return X


@functools.cache
def _finite_program():
    """``A ↦`` whether the device array ``A`` is finite everywhere: one small program (eager
    ``jnp.all(jnp.isfinite(A))`` compiles two), built at its first use."""

    def _finite_everywhere(A):
        return every(jnp.isfinite(A))

    return jax.jit(_finite_everywhere)


def check_finite(X, name: str = "X", converted=None) -> None:
    """Raise naming ``name`` and the first cell (row, column) that is NaN or infinite in the
    dense array ``X`` (on the host or the device). ``converted``: ``X`` as the computation
    took it, in another float type: a finite value that became infinite there is named too
    (a float64 value beyond float32's range)."""
    for A, too_large in ((X, False), (converted, True)):
        if A is None:
            continue
        on_device = is_jax_array(A)
        if bool(_finite_program()(A) if on_device else np.all(np.isfinite(A))):
            continue
        row, col = np.argwhere(~np.isfinite(np.asarray(A)))[0]
        if too_large:
            raise beyond_range(name, row, col, A.dtype)
        raise ValueError(
            f"{name}: contains NaN or infinite values (first at row {row}, column {col})"
        )


def beyond_range(name: str, row, col, dtype) -> ValueError:
    """The error for the cell ``(row, col)`` of ``name``, finite as given, that becomes
    infinite in ``dtype`` (a float64 value beyond float32's range)."""
    return ValueError(
        f"{name}: the value at row {row}, column {col} is too large for "
        f"{np.dtype(dtype).name} (it becomes infinite); scale the features or train in float64"
    )


def first_beyond(values, dtype):
    """The index (a tuple) of the first of the finite host ``values`` that becomes infinite
    in the float type ``dtype`` (``1e300`` in float32), or ``None``. Two reductions when
    every value lies within ``dtype``'s largest number; the conversion only past it (a
    value just past it may still round to it)."""
    a = np.asarray(values)
    top = np.finfo(np.dtype(dtype)).max
    if a.size == 0 or a.dtype.kind != "f" or np.finfo(a.dtype).max <= top:
        return None  # (integers of up to 64 bits are within float32's range)
    if a.max() <= top and a.min() >= -top:
        return None
    with np.errstate(over="ignore"):
        infinite = np.isinf(a.astype(dtype))
    return tuple(int(i) for i in np.argwhere(infinite)[0]) if infinite.any() else None


def check_in_float_range(values, name: str, dtype, what: str = "row") -> None:
    """Raise naming ``name`` and the first entry of the finite host array ``values`` that
    the run's float type ``dtype`` cannot hold (``first_beyond``), by its index (``what``
    names the first axis)."""
    at = first_beyond(values, dtype)
    if at is not None:
        where = f"{what} {at[0]}" + (f", column {at[1]}" if len(at) > 1 else "")
        raise ValueError(
            f"{name}: {np.asarray(values)[at]:g} at {where} is beyond the range of "
            f"{np.dtype(dtype).name}, the run's float type; scale it down or train in float64"
        )


def check_weights_in_range(w, name: str, dtype) -> None:
    """Each weight of ``w`` (finite) within the run's float type ``dtype``, and their sum,
    the objective's normaliser: past the range it is infinite and every gradient zero — a
    fit that silently stays where it starts."""
    check_in_float_range(w, name, dtype)
    total = float(np.sum(np.asarray(w, np.float64)))
    if total > np.finfo(np.dtype(dtype)).max:
        raise ValueError(
            f"{name}: the weights sum to {total:g}, beyond the range of "
            f"{np.dtype(dtype).name}, the run's float type; scale them down or train in float64"
        )


def square_limit(dtype) -> float:
    """``√max`` of ``dtype``: the magnitude whose square overflows it (about 1.3e154 in
    float64, 1.8e19 in float32)."""
    return float(np.sqrt(np.finfo(np.dtype(dtype)).max))


def too_large_to_train(name: str, row, col, value, dtype) -> ValueError:
    """The error for the cell ``(row, col)`` of ``name`` whose square overflows ``dtype``."""
    return ValueError(
        f"{name}: the value at row {row}, column {col} ({value:.3g}) is too large to train on "
        f"in {np.dtype(dtype).name}: its square overflows (training needs it); scale the "
        "features (jaxlin.data.Standardizer, or divide by a constant)"
    )


def check_squares(X, name: str, dtype) -> None:
    """Raise naming ``name`` and the first cell of the dense ``X`` (host or device) whose
    square overflows ``dtype`` (``square_limit``): training needs ``x²`` (the curvature,
    and the scores after one step), so on such data every solver's steps are infinite and a
    run stays where it started or stalls part-way."""
    limit = np.float64(square_limit(dtype))  # not a Python float: cast to float32 it overflows
    A = np.asarray(X)
    if not (-limit < A.min() and A.max() < limit):  # two reads, no temporary array
        row, col = np.argwhere(~(np.abs(A) < limit))[0]
        raise too_large_to_train(name, row, col, A[row, col], dtype)


def distinct_labels(y) -> np.ndarray:
    """The sorted distinct values of the 1-D label array ``y`` (``np.unique``), counted in
    one pass when they are integers in a narrow range (as class labels are): a few times
    faster than ``np.unique``'s sort or hash on a large ``y``, which every fit checks.

    >>> distinct_labels(np.array([2.0, 0.0, 2.0])).tolist(), distinct_labels([1, -1]).tolist()
    ([0.0, 2.0], [-1, 1])
    """
    arr = np.asarray(y)
    if arr.ndim != 1 or arr.size == 0 or arr.dtype.kind not in "biuf":
        return np.unique(arr)
    ints = arr
    if arr.dtype.kind == "f":
        if not (np.all(np.isfinite(arr)) and np.all(np.abs(arr) < 2.0**62)):
            return np.unique(arr)
        ints = arr.astype(np.int64)
        if not np.all(ints == arr):
            return np.unique(arr)
    low, high = int(ints.min()), int(ints.max())
    if high - low <= 1:  # both ends are present: binary labels need no further pass
        return np.unique(np.array([low, high])).astype(arr.dtype)
    if high - low > 4 * arr.size + 1024:
        return np.unique(arr)
    seen = np.zeros(high - low + 1, dtype=bool)
    seen[ints - low if low else ints] = True  # a scatter: twice as fast as np.bincount
    return (np.flatnonzero(seen) + low).astype(arr.dtype)


def check_one_vs_rest_labels(y, loss_name: str) -> np.ndarray:
    """``y`` as an array, or an error when its labels are not the whole numbers ``0..K−1``
    a one-vs-rest fit (a binary loss on more than two classes) needs."""
    y = np.asarray(y)
    if (y.dtype.kind not in "biu" and not np.all(y == np.round(y))) or np.min(y) < 0:
        raise ValueError(
            f"y: one-vs-rest (loss {loss_name!r} on more than 2 classes) needs integer class "
            f"labels 0..K-1; got values {distinct_labels(y)[:5].tolist()}"
        )
    return y


def check_rows(n: int, arr, name: str):
    if arr.shape[0] != n:
        raise ValueError(f"{name}: has {arr.shape[0]} rows but X has {n}")


def check_sample_weight(sample_weight, n: int, name: str = "sample_weight") -> np.ndarray | None:
    """``n`` finite, non-negative weights, not all zero, as float64 (``None`` stays
    ``None``); ``name`` names them in the error (one model's row of several:
    ``sample_weight[m]``)."""
    if sample_weight is None:
        return None
    try:
        w = np.asarray(as_host_array(sample_weight, name), dtype=np.float64)
    except (TypeError, ValueError):
        raise ValueError(
            f"{name}: expected numbers, got {type(sample_weight).__name__} "
            f"{np.asarray(sample_weight, dtype=object).ravel()[:3].tolist()}"
        ) from None
    if w.ndim != 1 or w.shape[0] != n:
        raise ValueError(f"{name}: expected shape ({n},), got {w.shape}")
    if not np.all(np.isfinite(w)) or np.any(w < 0):
        raise ValueError(f"{name}: must be finite and non-negative")
    if w.sum() <= 0:
        raise ValueError(f"{name}: all weights are zero")
    return w


MAX_COUNT = 2**31 - 1  # counts (epochs, rows, patience) are 32-bit integers in compiled loops


def _check_count_limit(value, name: str) -> int:
    if value > MAX_COUNT:
        raise ValueError(
            f"{name}: must be at most {MAX_COUNT:,} (a 32-bit count in the compiled loop), "
            f"got {value!r}"
        )
    return int(value)


def check_positive(value, name: str, integer: bool = False, allow_none: bool = False):
    """A positive number (an integer up to ``MAX_COUNT`` where ``integer``); arrays must be
    positive everywhere."""
    if value is None and allow_none:
        return None
    if integer:
        if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value <= 0:
            raise ValueError(f"{name}: must be a positive integer, got {value!r}")
        return _check_count_limit(value, name)
    arr = _as_numbers(value, name, "positive")
    if not np.all(np.isfinite(arr)) or np.any(arr <= 0):
        raise ValueError(f"{name}: must be positive, got {_first_bad(value, arr, arr > 0)}")
    return value


def _first_bad(value, arr, good) -> str:
    """``value`` as shown in a message: itself when a number, else its first element that
    breaks the rule (``good``: where it holds), not an array of a thousand models' values."""
    if arr.ndim == 0:
        return repr(value)
    bad = arr[~(np.isfinite(arr) & good)].flat[0].item()
    return f"{bad!r} (one of its values)"


def _as_numbers(value, name: str, rule: str) -> np.ndarray:
    """``value`` as float64 numbers; text, ``True``/``False`` or anything else that is not a
    number (or an array of them) is refused as not ``rule``, naming ``name``."""
    if not isinstance(value, (str, bytes, bool, np.bool_)):
        try:
            return np.asarray(value, dtype=np.float64)
        except (TypeError, ValueError):
            pass
    raise ValueError(f"{name}: must be a {rule} number, got {value!r}")


def check_non_negative_int(value, name: str) -> int:
    """A non-negative integer up to ``MAX_COUNT`` (``True``/``False`` are not counts)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 0:
        raise ValueError(f"{name}: must be a non-negative integer, got {value!r}")
    return _check_count_limit(value, name)


def check_non_negative(value, name: str):
    """A non-negative number; arrays must be non-negative everywhere."""
    arr = _as_numbers(value, name, "non-negative")
    if not np.all(np.isfinite(arr)) or np.any(arr < 0):
        raise ValueError(f"{name}: must be non-negative, got {_first_bad(value, arr, arr >= 0)}")
    return value


def check_n_classes(n_classes, name: str = "n_classes"):
    """``None`` or a whole number of classes ``≥ 1`` (``True``/``False`` are not counts)."""
    if n_classes is None:
        return None
    if isinstance(n_classes, (bool, np.bool_)) or not isinstance(n_classes, numbers.Integral):
        raise ValueError(f"{name}: expected a whole number of classes, got {n_classes!r}")
    if n_classes < 1:
        raise ValueError(f"{name}: expected at least 1 class, got {n_classes}")
    return int(n_classes)


def check_flag(value, name: str) -> bool:
    """``True`` or ``False`` (NumPy booleans too); anything else is a ``TypeError``."""
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{name}: must be True or False, got {value!r}")
    return bool(value)


def check_seed(seed, name: str = "seed", many: bool = False):
    """An integer seed, or with ``many`` a 1-D sequence of them too (one per model)."""
    if is_jax_array(seed) and (
        jnp.issubdtype(seed.dtype, jax.dtypes.prng_key) or seed.dtype == np.uint32 and seed.ndim
    ):
        raise TypeError(
            f"{name}: expected an integer, got a JAX PRNG key; pass a key as key= "
            "(e.g. key=jax.random.key(0))"
        )
    arr = np.asarray(seed) if not isinstance(seed, (str, bytes)) else np.asarray(None)
    if isinstance(seed, numbers.Integral) and arr.dtype.kind not in "iu":  # beyond 64 bits
        raise ValueError(f"{name}: must fit in 64 bits, got {seed!r}")
    if arr.dtype.kind not in "iu" or arr.ndim > int(many) or arr.size == 0:
        raise TypeError(
            f"{name}: expected an integer{' (or a 1-D sequence of integers)' * many}, got {seed!r}"
        )
    return seed


def numpy_seed(seed, name: str = "seed") -> int:
    """An integer seed that ``np.random.default_rng`` takes: non-negative."""
    if check_seed(seed, name) < 0:
        raise ValueError(f"{name}: must be a non-negative integer, got {seed!r}")
    return int(seed)


def check_key(key, name: str = "key"):
    """A JAX PRNG key: a typed key (``jax.random.key``) or a raw ``uint32[2]`` one."""
    typed = is_jax_array(key) and jnp.issubdtype(key.dtype, jax.dtypes.prng_key)
    raw = (
        (is_jax_array(key) or isinstance(key, np.ndarray))
        and key.dtype == np.uint32
        and key.ndim >= 1
        and key.shape[-1] == 2
    )
    if not (typed or raw):
        raise TypeError(
            f"{name}: expected a JAX PRNG key such as jax.random.key(0), got "
            f"{type(key).__name__} {getattr(key, 'dtype', '')}".rstrip()
        )
    return key


def key_or_seed(key, seed, name: str = "key"):
    """The PRNG key of a call: ``key`` when given (checked, named ``name``), else the key of
    the integer ``seed``. A key beside a seed other than the default 0 is an error: one of
    them would be ignored."""
    if key is not None:
        if not (seed is None or (isinstance(seed, numbers.Integral) and seed == 0)):
            raise ValueError(
                f"seed, {name}: both given (seed={seed!r} and a key); the key would be used "
                "and the seed ignored: give one of them"
            )
        return check_key(key, name)
    from jaxlin import backend

    return backend.random_key(check_seed(seed))


def check_fraction(value, name: str) -> float:
    """A number strictly between 0 and 1."""
    try:
        v = float(_as_numbers(value, name, "positive"))
    except (ValueError, TypeError):
        v = float("nan")  # text, a flag, an array: not a fraction
    if not 0.0 < v < 1.0:
        raise ValueError(f"{name}: must be between 0 and 1, got {value!r}")
    return v


def check_choice(value, name: str, choices):
    if value not in choices:
        raise ValueError(f"{name}: unknown {name} {value!r}; choose one of {', '.join(choices)}")
    return value
