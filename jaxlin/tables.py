"""Tables to train on: a bundled dataset or a file, with class labels and a split.

The command line's data step. ``load_labelled`` turns a bundled name (``jaxlin.
datasets``) or a CSV, svmlight, IDX or ``.npy`` file (``jaxlin.data``) into features,
labels ``0..C−1`` and the names of both; ``training_split`` shuffles and holds out the
test (and validation) rows and fits the imputation and the standardiser on the training
rows only.

CSV files are read as users have them: the columns are chosen first (``target``, ``drop``,
``features``), then their cells are parsed. Class labels may be any text. A text column is
one-hot encoded — on request (``categorical``), or when every cell of it is text (with a
notice saying so); a column mixing numbers and text is an error that names the cell and the
options that fix it. Missing cells (empty, ``NA``, ``NaN``, ``?``, ``null``) are an error,
or filled with the training rows' mean (``impute="mean"``), or their rows are dropped
(``impute="drop-rows"``). How the columns became features is an ``Encoding``, saved
with a model so that ``jaxlin predict`` applies the same one.
"""

from __future__ import annotations

import csv
import json
import os
from typing import NamedTuple, Optional

import numpy as np

from jaxlin import datasets, sparse, svmlight, validation
from jaxlin.data import Standardizer, is_idx, not_utf8, read_idx_pair, read_npy, train_test_split

MISSING = frozenset({"", "na", "nan", "n/a", "null", "none", "?"})
IMPUTE = ("mean", "drop-rows")
SPARSE_WIDTH = 1000  # one-hot tables at least this wide and ≤ 10% non-zero stay sparse


class Encoding(NamedTuple):
    """How a CSV's columns become features: the raw ``columns`` in order, the ``categories``
    of each one-hot column, and ``fill``, each feature's value for a missing cell (the
    training mean; ``None``: missing cells are refused)."""

    columns: tuple
    categories: dict
    fill: Optional[tuple] = None

    @property
    def feature_names(self) -> list:
        names = []
        for c in self.columns:
            names += [f"{c}={v}" for v in self.categories[c]] if c in self.categories else [c]
        return names

    def to_json(self) -> str:
        return json.dumps(
            {
                "columns": list(self.columns),
                "categories": self.categories,
                "fill": None if self.fill is None else list(self.fill),
            }
        )

    @classmethod
    def from_json(cls, text: str) -> "Encoding":
        d = json.loads(text)
        return cls(
            tuple(d["columns"]),
            {k: tuple(v) for k, v in d["categories"].items()},
            None if d["fill"] is None else tuple(d["fill"]),
        )

    def encode(self, cells: dict, path: str, first_row=2, header=None, advice=None):
        """Features ``(N, d)`` from each column's cells (strings): numbers parsed, text
        one-hot (an unseen category gives all zeros), missing cells NaN. Returns
        ``(X, unseen categories {column: count})``. ``first_row``: the cells' lines in the
        file (``_line``) and ``header`` the file's columns (their positions), for messages
        (``advice``: ``_numeric``'s)."""
        parts, unseen = [], {}
        for c in self.columns:
            col = cells[c]
            if c in self.categories:
                cats = {v: j for j, v in enumerate(self.categories[c])}
                codes = np.array([cats.get(v.strip(), -1) for v in col])
                missing = np.array([_is_missing(v) for v in col])
                unseen[c] = int(np.sum((codes < 0) & ~missing))
                onehot = np.zeros((len(col), len(cats)))
                onehot[np.flatnonzero(codes >= 0), codes[codes >= 0]] = 1.0
                parts.append(onehot)
            else:
                position = header.index(c) + 1 if header else None
                parts.append(_numeric(col, c, path, first_row, position, advice)[:, None])
        X = np.concatenate(parts, axis=1) if parts else np.zeros((0, 0))
        return X, {c: n for c, n in unseen.items() if n}


class Labelled(NamedTuple):
    """A dataset ready to train on: features, labels ``0..C−1`` and the names of both.
    ``encoding``: how a CSV's columns became the features (``None`` for other sources);
    ``notices``: what was decided for the user (columns one-hot encoded, rows dropped)."""

    X: object  # (N, d) NumPy array, or SciPy CSR for sparse sources
    y: np.ndarray  # (N,) int64 in 0..C−1
    feature_names: list
    class_names: list
    name: str
    encoding: Optional[Encoding] = None
    notices: tuple = ()


def _is_missing(cell: str) -> bool:
    return cell.strip().lower() in MISSING


def _line(first_row, r: int) -> int:
    """The file line of cell ``r``: ``first_row`` is the first cell's line (the cells are
    consecutive lines) or every cell's (``_csv_rows``'s ``lines``)."""
    return first_row + r if isinstance(first_row, int) else int(first_row[r])


PREDICTING = "the model reads this column as numbers; fix the cell"


def _numeric(col, name, path, first_row, position=None, advice=None):
    """A column's cells as float64, missing cells NaN; a text cell or an infinite value is
    an error saying which option fixes it (``advice``: what to say instead, as ``PREDICTING``
    where a saved model fixes the columns). ``position``: the column's, for messages;
    ``first_row``: the cells' lines (``_line``)."""
    where = f"{position} ({name!r})" if position else repr(name)
    try:
        out = np.array([np.nan if _is_missing(v) else validation.cell_number(v) for v in col])
    except ValueError:
        for r, v in enumerate(col):
            if not _is_missing(v) and not _is_number(v):
                note = validation.decimal_note(v)  # the fix, not a category
                hint = advice or (
                    ""
                    if note
                    else f"pass --categorical {name} to one-hot encode it, or --drop {name}"
                )
                raise ValueError(
                    f"{path}: non-numeric value {v!r} at row {_line(first_row, r)}, "
                    f"column {where}{note}" + (f"; {hint}" if hint else "")
                ) from None
        raise
    if np.isinf(out).any():
        r = int(np.flatnonzero(np.isinf(out))[0])
        raise ValueError(
            f"{path}: NaN or infinite value {col[r]!r} at row {_line(first_row, r)}, "
            f"column {where}; " + (advice or f"pass --drop {name}, or fix the cell")
        )
    return out


def read_csv_table(path, target=None, drop=(), features=None, categorical=(), impute=None):
    """A CSV with a header as ``(features X, raw labels, Encoding, notices)``: see the module.

    ``features``: the feature columns (default: every column but the target and ``drop``);
    ``categorical``: columns to one-hot encode; ``impute``: ``None``, ``"mean"`` or
    ``"drop-rows"``. With ``"mean"``, missing feature cells stay NaN here, to be filled with
    the training rows' means (``training_split``).
    """
    header, rows, lines = _csv_rows(path)
    target = header[-1] if target is None else target
    drop = validation.check_not_dropped(target, drop, "--drop")
    for option, names in (
        ("--target", [target]),
        ("--drop", drop),
        ("--features", features or ()),
        ("--categorical", categorical),
    ):
        missing = [n for n in names if n not in header]
        if missing:
            raise ValueError(
                f"{option}: no column {missing[0]!r} in {path}; columns are {', '.join(header)}"
            )
    if impute not in (None, *IMPUTE):
        raise ValueError(f"--impute: expected one of {', '.join(IMPUTE)}, got {impute!r}")
    chosen = _chosen_columns(header, target, drop, features, categorical)
    if not chosen:
        raise ValueError(f"{path}: no feature columns left after taking the target and drops")
    cells = {h: [row[i] for row in rows] for i, h in enumerate(header) if h in chosen + [target]}
    notices, first_row = [], lines
    notices.extend(validation.header_notes(header, path, [h for h in header if h not in chosen]))
    keep = _complete_rows(cells, chosen + [target], impute, path)
    if keep is not None:
        notices.append(
            f"dropped {len(rows) - int(keep.sum())} of {len(rows)} rows with a "
            "missing cell (--impute drop-rows)"
        )
        cells = {h: [v for v, k in zip(col, keep) if k] for h, col in cells.items()}
        first_row = [n for n, k in zip(lines, keep) if k]
        if not cells[target]:
            raise ValueError(f"{path}: no rows left after dropping those with missing cells")
    categories = _categories(cells, chosen, set(categorical), notices)
    encoding = Encoding(tuple(chosen), categories)
    X, _ = encoding.encode(cells, path, first_row, header)
    notices.extend(_row_counters(X, encoding.feature_names))
    if impute is None and np.isnan(X).any():
        _missing_error(cells, chosen, header, path, first_row)
    y = [v.strip() for v in cells[target]]
    bad = [r for r, v in enumerate(y) if _is_missing(v)]
    if bad:
        raise ValueError(
            f"{path}: missing label at row {_line(first_row, bad[0])}, column {target!r}; "
            "pass --impute drop-rows to leave such rows out"
        )
    return X, np.asarray(y), encoding, tuple(notices)


def _chosen_columns(header, target, drop, features, categorical) -> list:
    """The feature columns: ``features`` as given, or every column but the target and
    ``drop``. Options that contradict each other are refused rather than one silently
    winning: a column named twice in ``--features``, the target among the features or the
    categorical columns, a column both chosen and dropped, a categorical column outside
    the features."""
    features, categorical = list(features or ()), list(categorical)
    twice = sorted({c for c in features if features.count(c) > 1})
    if twice:
        raise ValueError(f"--features: column {twice[0]!r} is named twice")
    for option, names in (("--features", features), ("--categorical", categorical)):
        if target in names:
            raise ValueError(
                f"{option}: {target!r} is the target column (the labels), not a feature"
            )
    clash = [c for c in features if c in drop]
    if clash:
        raise ValueError(f"--features and --drop both name column {clash[0]!r}; keep one")
    chosen = features or [h for h in header if h != target and h not in drop]
    outside = [c for c in categorical if c not in chosen]
    if outside:
        why = "dropped with --drop" if outside[0] in drop else "not among --features"
        raise ValueError(f"--categorical: column {outside[0]!r} is {why}")
    return chosen


def _row_counters(X, names) -> list:
    """A notice for each feature column that counts the rows (``k, k+1, k+2, …`` down 20
    rows or more): an identifier, whose values a model would learn the row order from."""
    if X.shape[0] < 20:
        return []
    steps = np.diff(X, axis=0)
    counts = np.flatnonzero(np.all(steps == 1, axis=0) & (X[0] == np.round(X[0])))
    counting = [j for j in counts if not names[j].startswith("Unnamed: ")]  # said already
    return [
        f"column {names[j]!r} counts the rows ({X[0, j]:.0f}, {X[1, j]:.0f}, "
        f"{X[2, j]:.0f}, …): an identifier? it is read as a feature; leave it out with "
        f"--drop '{names[j]}'"
        for j in counting
    ]


def _missing_error(cells, chosen, header, path, first_row):
    """The first missing cell of the chosen columns, named with the options that fix it."""
    r, c = min((r, c) for c in chosen for r, v in enumerate(cells[c]) if _is_missing(v))
    v = cells[c][r]
    what = "an empty cell" if not v.strip() else repr(v)
    if all(_is_missing(v) for v in cells[c]):
        raise ValueError(
            f"{path}: column {header.index(c) + 1} ({c!r}) holds no value at all; --drop {c}"
        )
    raise ValueError(
        f"{path}: missing value ({what}) at row {_line(first_row, r)}, column "
        f"{header.index(c) + 1} ({c!r}); pass --impute mean (the training "
        f"rows' mean) or --impute drop-rows, or --drop {c}"
    )


def _csv_rows(path, min_columns: int = 2):
    """``(header, rows, lines)``: every row of cells below the header, blank lines aside,
    each with the header's number of cells (``validation.check_row``), and each row's line
    in the file (for messages). ``min_columns``: 2 to train (features and a target), 1 to
    predict."""
    validation.check_file(path, "--data")
    rows, lines = [], []
    try:
        with open(path, newline="", encoding="utf-8-sig") as fh:
            sep = validation.csv_separator(fh.readline())
            fh.seek(0)
            reader = csv.reader(fh, delimiter=sep)
            header = validation.check_header(next(reader, []), path, min_columns)
            for row in reader:
                if any(cell.strip() for cell in row):
                    rows.append(validation.check_row(row, len(header), path, reader.line_num))
                    lines.append(reader.line_num)
    except UnicodeDecodeError as exc:
        raise not_utf8(path, exc) from None
    except csv.Error as exc:
        raise ValueError(f"{path}: not a readable CSV file ({exc})") from None
    if not header:
        raise ValueError(f"{path}: the file is empty")
    if not rows:
        raise ValueError(f"{path}: no data rows below the header")
    if validation.csv_decimal(path, sep) == ",":
        _read_decimal_commas(header, rows, lines, path)
    return header, rows, lines


def _read_decimal_commas(header, rows, lines, path) -> None:
    """In a file whose decimal mark is a comma (``validation.csv_decimal``), every number's
    cell in the point form that the readers parse, in place; a number written with a point
    is refused, naming its cell (in such a file a point may group thousands)."""
    for row, line in zip(rows, lines):
        for c, cell in enumerate(row):
            mark = validation.decimal_mark(cell)
            if mark == ",":
                row[c] = cell.replace(",", ".")
            elif mark == ".":
                raise ValueError(
                    f"{path}: the value {cell.strip()!r} at row {line}, column {c + 1} "
                    f"({header[c]!r}) has a decimal point in a file whose numbers have "
                    f"decimal commas; write {cell.strip().replace('.', ',')}"
                )


def _complete_rows(cells, columns, impute, path):
    """With ``impute="drop-rows"``: the mask of rows with no missing cell, else ``None``."""
    if impute != "drop-rows":
        return None
    return np.array(
        [not any(_is_missing(cells[c][r]) for c in columns) for r in range(len(cells[columns[0]]))]
    )


def _categories(cells, chosen, categorical, notices) -> dict:
    """The one-hot columns and their categories (sorted): those asked for, and text columns
    (every present cell text), each with a notice."""
    out = {}
    for c in chosen:
        present = [v.strip() for v in cells[c] if not _is_missing(v)]
        if c not in categorical:
            if not present or any(_is_number(v) for v in present):
                continue  # numeric (a mix is refused when parsed, naming the cell)
            distinct = len(set(present))
            like_an_id = distinct == len(present) > 20  # no value seen twice: a row's name
            notices.append(
                f"column {c!r} is text: one-hot encoded as {distinct} columns"
                + (
                    f"; its values are all different, like an identifier's: leave it out "
                    f"with --drop {c}"
                    if like_an_id
                    else f" (say so with --categorical {c}, or leave it out with --drop {c})"
                )
            )
        out[c] = tuple(sorted(set(present)))
    return out


def _is_number(text: str) -> bool:
    try:
        validation.cell_number(text)
        return True
    except ValueError:
        return False


def _raw_table(spec: str, opts: dict):
    """``(X, y_raw, feature_names, class_names or None, name, encoding, notices)`` from a
    bundled name or a file; ``opts``: the column options of ``load_labelled``."""
    target, drop = opts.get("target"), opts.get("drop", ())
    if opts.get("labels") is not None and not (os.path.isfile(spec) and is_idx(spec)):
        raise ValueError(
            f"--labels: applies to IDX image files, not to {spec!r} (its labels are in it)"
        )
    if datasets.is_bundled(spec):
        _no_column_options(opts, f"the bundled dataset {spec!r}")
        if opts.get("format") is not None:
            raise ValueError(f"--format: applies to files, not to the bundled dataset {spec!r}")
        d = datasets.load(spec)
        return d.X, d.y, d.feature_names, d.class_names, d.name, None, ()
    validation.check_file(
        spec,
        "--data",
        f"--data: no such file or bundled dataset: {spec!r} (bundled: {', '.join(datasets.NAMES)})",
    )
    name = os.path.basename(spec)
    if svmlight.is_svmlight(spec, opts.get("format")):
        _no_column_options(opts, "an svmlight file (each line's first value is its label)")
        X, y = svmlight.read(spec, opts.get("n_features"))
        return X, y, [f"f{j}" for j in range(X.shape[1])], None, name, None, ()
    if is_idx(spec):
        _no_column_options(opts, "IDX files (the labels come from their own file)")
        t = read_idx_pair(spec, _idx_labels(spec, opts.get("labels")))
        return t.X, t.y, t.feature_names, None, name, None, ()
    if spec.endswith(".npy"):
        _no_column_options(opts, "a .npy file", allowed=("target", "drop"))
        t = read_npy(spec, target=target, drop=list(drop))
        return t.X, t.y, t.feature_names, t.class_names, name, None, ()
    X, y, enc, notices = read_csv_table(
        spec, target, drop, opts.get("features"), opts.get("categorical", ()), opts.get("impute")
    )
    X, notices = _maybe_sparse(X, enc, notices)
    return X, y, enc.feature_names, None, name, enc, notices


COLUMN_OPTIONS = ("target", "drop", "features", "categorical", "impute")


def _no_column_options(opts: dict, source: str, allowed=()) -> None:
    """Refuse the options that choose or fill CSV columns (all but ``allowed``) for a source
    without them, naming those given: silently ignored, they would train on other data."""
    given = [
        f"--{k}"
        for k in COLUMN_OPTIONS
        if k not in allowed and opts.get(k) not in (None, (), [], "")
    ]
    if given:
        what = "applies" if len(given) == 1 else "apply"
        raise ValueError(f"{'/'.join(given)}: {what} to CSV files, not to {source}")


def _idx_labels(spec, labels):
    if labels is not None:
        return labels
    guess = spec.replace("images-idx3", "labels-idx1")
    if guess == spec or not os.path.exists(guess):
        raise ValueError(f"--labels: give the IDX labels file for the images {spec!r}")
    return guess


def _maybe_sparse(X, enc, notices):
    """A wide, mostly-zero one-hot table as SciPy CSR (the sparse path), with a notice."""
    if (
        not enc.categories
        or X.shape[1] < SPARSE_WIDTH
        or np.isnan(X).any()
        or np.count_nonzero(X) > 0.1 * X.size
    ):
        return X, notices
    import scipy.sparse as sp

    return sp.csr_matrix(X), notices + (
        f"{X.shape[1]} columns after one-hot encoding, "
        f"{np.count_nonzero(X) / X.size:.1%} non-zero: "
        "trained as sparse data",
    )


def load_labelled(spec: str, target=None, drop=(), labels=None, **columns) -> Labelled:
    """A bundled dataset (by name) or a CSV, svmlight, IDX or ``.npy`` file, with labels
    encoded as ``0..C−1`` (any text or numbers, sorted as scikit-learn's ``LabelEncoder``).

    ``columns``: for CSV files ``features``, ``categorical`` and ``impute`` (see
    ``read_csv_table``); ``format="svmlight"`` for an svmlight file of another suffix,
    ``n_features`` its width. Raises ``ValueError`` for a target that is not class labels or
    holds a single class.
    """
    X, y_raw, feature_names, class_names, name, enc, notices = _raw_table(
        spec, dict(columns, target=target, drop=drop, labels=labels)
    )
    y_raw = _numbers_as_numbers(y_raw)
    if y_raw.dtype.kind == "f" and np.any(y_raw != np.round(y_raw)) and len(np.unique(y_raw)) > 20:
        raise ValueError(
            f"--target: the column has {len(np.unique(y_raw))} distinct "
            "non-integer values; a classifier needs class labels"
        )
    y, class_names = encode_class_labels(y_raw, class_names)
    if len(class_names) < 2:
        raise ValueError("y: the target has a single class; a classifier needs at least two")
    return Labelled(X, y, list(feature_names), class_names, name, enc, tuple(notices))


def _numbers_as_numbers(y_raw) -> np.ndarray:
    """Labels as an array, text that spells numbers as those numbers (a CSV's ``"0"``,
    ``"1"`` labels are numbers)."""
    y_raw = np.asarray(y_raw)
    if y_raw.dtype.kind in "US" and all(_is_number(v) for v in np.unique(y_raw)):
        return y_raw.astype(np.float64)
    return y_raw


def encode_class_labels(y_raw, class_names=None):
    """Labels of any values (numbers or text) → ``0..C−1`` and the class names (the sorted
    values; numbers sorted as numbers)."""
    y_raw = _numbers_as_numbers(y_raw)
    values = np.unique(y_raw)
    if class_names is not None and np.array_equal(values, np.arange(len(values))):
        return y_raw.astype(np.int64), list(class_names)[: max(len(values), len(class_names))]
    y = np.searchsorted(values, y_raw).astype(np.int64)
    if values.dtype.kind in "US":
        return y, [str(v) for v in values]
    return y, [str(int(v)) if float(v).is_integer() else str(v) for v in values]


class TrainingSplit(NamedTuple):
    """Train / validation / test rows; the imputation and ``standardizer`` fitted on the
    training rows only.

    ``X_*`` are the features with missing cells filled; ``X_val``/``y_val`` are ``None``
    without a validation share; ``fill``: each feature's fill value (``None``: none needed).
    """

    X_train: object
    y_train: np.ndarray
    X_val: Optional[object]
    y_val: Optional[np.ndarray]
    X_test: object
    y_test: np.ndarray
    standardizer: Standardizer
    fill: Optional[np.ndarray] = None


def training_split(
    X,
    y,
    train_fraction: float = 2 / 3,
    validation_fraction: float = 0.0,
    seed: int = 0,
    stratify: bool = False,
    standardize: bool = True,
    feature_names=None,
) -> TrainingSplit:
    """Shuffle and split into train and test, then hold out ``validation_fraction`` of the
    training rows; missing cells (NaN) get the training rows' column means, and the
    standardiser uses the remaining training rows only (sparse rows: scaled, not centred).
    ``feature_names`` name a column without a value in the training rows."""
    s = train_test_split(X, y, train_fraction, seed=seed, stratify=stratify)
    X_train, y_train, X_val, y_val = s.X_train, s.y_train, None, None
    if validation_fraction > 0:
        n_val = len(y_train) - int(round((1.0 - validation_fraction) * len(y_train)))
        if not 0 < n_val < len(y_train):  # (train_test_split's rounding)
            raise ValueError(
                f"validation_fraction: {validation_fraction:g} of the {len(y_train)} training "
                f"rows leaves {'no validation' if n_val == 0 else 'no training'} rows"
            )
        inner = train_test_split(X_train, y_train, 1.0 - validation_fraction, seed=seed + 1)
        X_train, X_val, y_train, y_val = inner.X_train, inner.X_test, inner.y_train, inner.y_test
    if len(np.unique(y_train)) < 2:
        raise ValueError(
            "y: the training split holds a single class; use a larger "
            "--train-fraction or --stratify"
        )
    fill = None
    if not sparse.is_sparse(X_train) and np.isnan(X_train).any():
        empty = np.all(np.isnan(X_train), axis=0)
        if empty.any():
            j = int(np.argmax(empty))
            name = f"x{j}" if feature_names is None else feature_names[j]
            raise ValueError(
                f"--impute mean: column {name!r} has no value in the training rows; --drop {name}"
            )
        fill = np.nanmean(X_train, axis=0)
        X_train, X_test = fill_missing(X_train, fill), fill_missing(s.X_test, fill)
        X_val = None if X_val is None else fill_missing(X_val, fill)
    else:
        X_test = s.X_test
    d = np.shape(X)[1]
    st = Standardizer.fit(X_train) if standardize else Standardizer(np.zeros(d), np.ones(d))
    return TrainingSplit(X_train, y_train, X_val, y_val, X_test, s.y_test, st, fill)


def fill_missing(X, fill):
    """``X`` with each NaN replaced by its column's ``fill`` value."""
    return np.where(np.isnan(X), fill, X)
