"""Training on data larger than memory: rows streamed from disk in chunks.

Two sources, both read chunk by chunk with positioned reads (resident memory stays at a
few chunks, whatever the file size):

* a binary ``.npy`` of shape ``(N, d + 1)`` float32 whose last column is the label, as
  written by ``convert_csv`` (``jaxlin convert``); chunks are read with
  ``numpy.fromfile`` at an offset — a ``numpy.memmap`` would keep every page it touched
  resident;
* a CSV with a header: a first pass records the byte offset of every chunk, then chunks
  are parsed with numpy on demand.

**The epoch.** Rows are grouped into chunks of ``chunk_rows`` consecutive rows. Every epoch
visits the chunks in a fresh random order (a permutation drawn from the run's key), and
within each chunk runs the in-memory mini-batch solver for one pass over a fresh
permutation of that chunk's rows (the chunk's last partial batch is a smaller batch). So
an epoch is one pass over all rows; the order is shuffled by chunk and within chunk.
While the device works on one chunk, a background thread reads the next (prefetching).
"""

from __future__ import annotations

import concurrent.futures
import csv
import dataclasses
import hashlib
import json
import os
import warnings
from functools import partial
from typing import TYPE_CHECKING, Any, Callable, NamedTuple

import numpy as np

from jaxlin import checkpoint as checkpoint_io
from jaxlin import class_weights, data, sparse, svmlight, validation
from jaxlin._lazy import module
from jaxlin.atomic import atomic_path
from jaxlin.records import STOPS, Hyper, Problem
from jaxlin.presets import STREAM_DEFAULTS

if TYPE_CHECKING:
    from jaxlin.objective import Objective
    from jaxlin.options import Options

# the training side, imported when a stream is trained: reading and converting files
# (``open_source``, ``convert_csv``) never imports JAX
jax, jnp = module("jax"), module("jax.numpy")
backend, driver = module("jaxlin.backend"), module("jaxlin.driver")
losses, objective = module("jaxlin.losses"), module("jaxlin.objective")
options_, penalties, solvers, training = (
    module("jaxlin.options"),
    module("jaxlin.penalties"),
    module("jaxlin.solvers"),
    module("jaxlin.training"),
)


class _Npy(NamedTuple):
    path: str
    n: int
    width: int
    offset: int
    dtype: np.dtype


def _open_npy(path) -> _Npy:
    with open(path, "rb") as fh:
        try:
            major, _ = np.lib.format.read_magic(fh)
            read_header = (
                np.lib.format.read_array_header_1_0
                if major == 1
                else np.lib.format.read_array_header_2_0
            )
            shape, fortran, dtype = read_header(fh)
        except ValueError as exc:
            raise ValueError(f"{path}: not a .npy file ({exc})") from None
        offset = fh.tell()
    if len(shape) != 2 or fortran or dtype.kind != "f":
        raise ValueError(
            f"{path}: expected a C-ordered 2-D float array (N, d + 1), got "
            f"shape {shape}, dtype {dtype}"
        )
    expected = offset + shape[0] * shape[1] * dtype.itemsize
    if os.path.getsize(path) < expected:
        raise ValueError(
            f"{path}: truncated ({os.path.getsize(path)} bytes, header promises {expected})"
        )
    return _Npy(path, shape[0], shape[1], offset, dtype)


class _CsvIndex(NamedTuple):
    path: str
    header: list
    offsets: list  # byte offset of each chunk's first row
    counts: list  # rows in each chunk (blank lines aside)
    lines: list  # the file line number of each chunk's first row
    sep: str = ","  # the cells' separator (``validation.csv_separator``)
    decimal: str = "."  # the numbers' decimal mark (``validation.csv_decimal``)


def _index_csv(path, chunk_rows) -> _CsvIndex:
    """One streaming pass over the file: the byte offset of every ``chunk_rows``-th row
    (blank lines are no rows; every other line is one)."""
    offsets, counts, lines = [], [], []
    with open(path, "rb") as fh:
        first = fh.readline()
        if not first.strip():
            raise ValueError(f"{path}: the file is empty")
        if b"\r" in first.rstrip(b"\r\n"):
            raise ValueError(
                f"{path}: its lines end in a carriage return alone (an old Mac text file); "
                "a streamed CSV needs \\n or \\r\\n line ends (jaxlin.data.read_csv reads it)"
            )
        try:
            text = first.decode("utf-8-sig")
            sep = validation.csv_separator(text)
            header = next(csv.reader([text], delimiter=sep))
        except UnicodeDecodeError as exc:
            raise data.not_utf8(path, exc) from None
        pos, rows = len(first), 0
        for number, line in enumerate(fh, 2):
            if line.strip():
                if rows % chunk_rows == 0:
                    offsets.append(pos)
                    counts.append(0)
                    lines.append(number)
                counts[-1] += 1
                rows += 1
            pos += len(line)
    if rows == 0:
        raise ValueError(f"{path}: no data rows below the header")
    header = validation.check_header(header, path)
    decimal = validation.csv_decimal(path, sep)
    return _CsvIndex(path, header, offsets, counts, lines, sep, decimal)


class _SvmIndex(NamedTuple):
    path: str
    offsets: list  # byte offset of each chunk's first line
    counts: list  # examples in each chunk
    lines: list  # the file line number of each chunk's first line
    n_features: int
    zero_based: bool
    max_row_nnz: int
    max_chunk_nnz: int


def _line_indices(tokens, path, number) -> list:
    """The feature indices of one svmlight line's ``tokens`` (its label first), as ints; a
    non-numeric one is named with its line (the chunks' parser checks the rest)."""
    keys = [t.split(b":", 1)[0] for t in tokens[1:] if not t.startswith(b"qid:") and b":" in t]
    try:
        return [int(k) for k in keys]
    except ValueError:
        bad = next(k for k in keys if not k.strip().lstrip(b"+-").isdigit())
        raise ValueError(
            f"{path}: line {number}: non-numeric index {bad.decode(errors='replace')!r}"
        ) from None


def _index_svmlight(path, chunk_rows, n_features=None) -> _SvmIndex:
    """One streaming pass over an svmlight file: where each chunk of ``chunk_rows`` examples
    starts, the width (largest index), the index base, the longest row and the fullest
    chunk (so that every chunk's sparse rows share one shape)."""
    offsets: list = []
    counts: list = []
    lines: list = []
    nnz: list = []
    lo, hi, widest, longest, pos, rows = None, -1, 0, 0, 0, 0
    with open(path, "rb") as fh:
        for number, raw in enumerate(fh, 1):
            tokens = raw.split(b"#", 1)[0].split()
            if tokens:
                if rows % chunk_rows == 0:
                    for column, value in ((offsets, pos), (counts, 0), (lines, number), (nnz, 0)):
                        column.append(value)
                keys = _line_indices(tokens, path, number)
                counts[-1] += 1
                nnz[-1] += len(keys)
                longest = max(longest, len(keys))
                if keys:
                    lo = min(keys[0], lo) if lo is not None else keys[0]
                    if keys[-1] > hi:
                        hi, widest = keys[-1], number
                rows += 1
            pos += len(raw)
    if rows == 0:
        raise ValueError(f"{path}: no examples (every line is blank or a comment)")
    zero_based = lo == 0
    width = hi + (1 if zero_based else 0)
    if width > sparse.INDEX_MAX:
        raise svmlight.beyond_indices(path, widest, hi)
    if n_features is not None:
        width = svmlight.check_n_features(n_features)
    return _SvmIndex(path, offsets, counts, lines, max(width, 1), zero_based, longest, max(nnz))


class Source(NamedTuple):
    """A file of rows on disk, read chunk by chunk (see ``open_source``)."""

    path: str
    n_rows: int
    feature_names: list
    chunk_rows: int
    n_chunks: int
    kind: str  # "npy", "csv" or "svmlight"
    impl: Any  # the kind's index: _Npy, _CsvIndex or _SvmIndex
    columns: tuple  # (feature column indices, target column index)
    classes: Any = None  # the labels, sorted (their codes: 0..C−1): a CSV's text, or given
    label_values: Any = None  # numbers in the label column whose positions are the codes

    def _span(self, i: int) -> tuple:
        """``(first row, rows)`` of chunk ``i``."""
        start = i * self.chunk_rows
        return start, min(self.chunk_rows, self.n_rows - start)

    def _label_codes(self) -> dict:
        """``{label: code}`` of a CSV's text labels (empty for numeric labels)."""
        if self.label_values is not None:  # numbers, coded by ``_coded``
            return {}
        return {label: code for code, label in enumerate(self.classes or ())}

    def _csv_lines(self, i: int) -> list:
        """The lines (bytes) of chunk ``i`` of a CSV: its rows, blank lines among them."""
        t = self.impl
        return _chunk_lines(t.path, t.offsets[i], t.counts[i], lambda line: line.strip())

    def read(self, i: int):
        """Chunk ``i`` as ``(X (rows, d) float32, y (rows,) float32)``, read from disk (an
        svmlight file's ``X`` is a SciPy CSR matrix; text labels, and labels of ``classes``
        given as numbers, come as their codes)."""
        X, y = self._read(i)
        return X, self._coded(y, i)

    def labels(self, i: int) -> np.ndarray:
        """Chunk ``i``'s labels alone, float64, as ``read`` gives them (a CSV's read without
        parsing the other columns; anything unusual in them is read, and named, as ``read``
        reads it)."""
        return self._coded(self._labels(i), i)

    def _coded(self, y, i: int):
        """Labels as their positions in ``label_values`` (unchanged without them); a label
        that is not among them is named with its data row."""
        if self.label_values is None:
            return y
        values = self.label_values.astype(y.dtype)  # a float32 file's 0.1 is float32's 0.1
        order = np.argsort(values, kind="stable")
        at = np.searchsorted(values[order], y).clip(0, len(values) - 1)
        found = values[order][at] == y
        if not found.all():
            r = int(np.argmax(~found))
            raise ValueError(
                f"{self.path}: label {y[r]:g} in data row {i * self.chunk_rows + r + 1} is not "
                f"one of the classes {list(self.classes)}"
            )
        return order[at].astype(y.dtype)

    def _read(self, i: int):
        """Chunk ``i`` as ``read`` gives it, labels as the file holds them."""
        if self.kind == "svmlight":
            return self._read_svmlight(i)
        if self.kind == "npy":
            t = self.impl
            start, rows = self._span(i)
            with open(t.path, "rb") as fh:
                fh.seek(t.offset + start * t.width * t.dtype.itemsize)
                block = np.fromfile(fh, dtype=t.dtype, count=rows * t.width)
            block = block.reshape(rows, t.width)
        else:
            block = self._read_csv(i)
        feats, target = self.columns
        used = block[:, [*feats, target]]  # a dropped column may hold anything
        if not np.all(np.isfinite(used)):
            r = np.argwhere(~np.isfinite(used))[0][0] + i * self.chunk_rows
            raise ValueError(f"{self.path}: NaN or infinite value in data row {r + 1}")
        with np.errstate(over="ignore"):
            X = np.ascontiguousarray(block[:, feats], dtype=np.float32)
        if not np.all(np.isfinite(X)):  # finite in the file, beyond float32's range
            r, c = np.argwhere(~np.isfinite(X))[0]
            raise ValueError(
                f"{self.path}: the value {block[r, feats[c]]:.3g} in data row "
                f"{r + i * self.chunk_rows + 1}, column {self.feature_names[c]!r} is beyond "
                "float32's range, in which a stream trains; scale the column"
            )
        return X, block[:, target]

    def _labels(self, i: int) -> np.ndarray:
        """Chunk ``i``'s labels as the file holds them (``labels``)."""
        if self.kind == "csv":
            t, target, codes = self.impl, self.columns[1], self._label_codes()
            read_label = {target: lambda cell: codes[cell.strip()]} if codes else None
            try:
                text = (line.decode("utf-8") for line in self._csv_lines(i))
                y = np.loadtxt(
                    text if t.decimal == "." else map(data.comma_to_point, text),
                    delimiter=t.sep,
                    usecols=[target],
                    quotechar='"',
                    comments=None,
                    ndmin=1,
                    converters=read_label,
                )
                if len(y) == t.counts[i] and np.all(np.isfinite(y)):
                    return y
            except (ValueError, KeyError, UnicodeDecodeError):
                pass
        if self.kind == "npy":
            t, (start, rows) = self.impl, self._span(i)
            block = np.memmap(t.path, t.dtype, "r", t.offset, (self.n_rows, t.width))
            y = np.array(block[start : start + rows, self.columns[1]])
            if np.all(np.isfinite(y)):
                return y.astype(np.float64)
        if self.kind == "svmlight":  # the first field of each line, the rest not parsed
            y = svmlight.first_fields(self._svmlight_lines(i))
            if y is not None:
                return y
        return self._read(i)[1]

    def _read_csv(self, i: int):
        """Chunk ``i`` of a CSV, float64: its ``counts[i]`` rows, blank lines skipped."""
        t, text = self.impl, self._csv_lines(i)
        raw = b"".join(text)
        try:
            decoded = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise data.not_utf8(t.path, exc, t.offsets[i]) from None
        feats, target = self.columns  # a dropped column may hold text
        codes = self._label_codes()
        labels = (target, codes) if codes else None
        block = data.numeric_rows(
            decoded, t.header, t.path, t.lines[i], t.sep, [*feats, target], labels, t.decimal
        )
        if len(block) != t.counts[i]:  # a quoted cell over several lines joined them
            raise ValueError(
                f"{t.path}: rows {t.lines[i]}–{t.lines[i] + len(text) - 1} hold a quoted cell "
                "that spans lines; a streamed CSV has one row per line"
            )
        return block

    def _svmlight_lines(self, i: int) -> list:
        """The lines (bytes) of chunk ``i`` of an svmlight file, comments among them."""
        t = self.impl
        return _chunk_lines(
            t.path, t.offsets[i], t.counts[i], lambda line: line.split(b"#", 1)[0].split()
        )

    def _read_svmlight(self, i: int):
        t, lines = self.impl, self._svmlight_lines(i)
        rows = svmlight.parse_lines([line.decode("utf-8") for line in lines], t.path, t.lines[i])
        X, y = svmlight.to_csr(rows, t.n_features, t.zero_based, t.path, np.float32)
        return X, y


def _chunk_lines(path, offset: int, count: int, is_row) -> list:
    """The lines (bytes) of a chunk: from byte ``offset``, up to its ``count``-th line that
    ``is_row`` (blank and comment lines between rows come along, uncounted)."""
    lines, rows = [], 0
    with open(path, "rb") as fh:
        fh.seek(offset)
        while rows < count:
            line = fh.readline()
            if not line:  # the file ended early (changed since it was indexed)
                break
            rows += bool(is_row(line))
            lines.append(line)
    return lines


def open_source(path, target=None, drop=(), chunk_rows: int = 65536, format=None) -> Source:
    """Open a ``.npy`` (from ``convert_csv``), a CSV or an svmlight file (by its suffix,
    or ``format="svmlight"``) for chunked reading."""
    path = validation.check_file(path, "path")
    validation.check_positive(chunk_rows, "chunk_rows", integer=True)
    if svmlight.is_svmlight(path, format):
        if target is not None or drop:
            raise ValueError(
                "--target/--drop: an svmlight file's label is its first field; "
                "it has no named columns"
            )
        svm = _index_svmlight(path, chunk_rows)
        return Source(
            path,
            sum(svm.counts),
            [f"f{j}" for j in range(svm.n_features)],
            chunk_rows,
            len(svm.counts),
            "svmlight",
            svm,
            (),
        )
    if path.endswith(".npy"):
        t: Any = _open_npy(path)
        names = data.npy_column_names(path, t.width) or [f"x{i}" for i in range(t.width - 1)] + [
            "target"
        ]
        kind, n = "npy", t.n
    else:
        t = _index_csv(path, chunk_rows)
        names, kind, n = t.header, "csv", sum(t.counts)
    target = names[-1] if target is None else target
    drop = validation.check_not_dropped(target, drop)
    for note in validation.header_notes(names, path, drop) if kind == "csv" else ():
        warnings.warn(note, UserWarning, stacklevel=2)
    for name, what in [(target, "target")] + [(d, "drop") for d in drop]:
        if name not in names:
            raise ValueError(f"{path}: no {what} column {name!r}; columns are {names}")
    feats = [i for i, h in enumerate(names) if h != target and h not in drop]
    if not feats:
        raise ValueError(f"{path}: no feature columns left after taking the target and drops")
    classes: tuple | None = None
    if kind == "csv" and _text_target(t, feats, names.index(target)):
        classes = data.text_labels(t.path, t.sep, t.header, names.index(target))
    elif kind == "npy" and target == names[-1]:  # text labels that convert encoded
        classes = tuple(data.npy_classes(path) or ()) or None
    return Source(
        path,
        n,
        [names[i] for i in feats],
        chunk_rows,
        -(-n // chunk_rows),
        kind,
        t,
        (feats, names.index(target)),
        classes,
    )


def _text_target(t: _CsvIndex, feats, target: int) -> bool:
    """Whether the first row's target is text (its labels are then read ahead,
    ``jaxlin.data.text_labels``). A feature column of text is named when the source opens,
    from its first row, rather than by the chunk that meets it mid-run (the chunks' order
    is random); so is a number with the other decimal mark."""
    line = _chunk_lines(t.path, t.offsets[0], 1, lambda line: line.strip())[-1]
    row = next(csv.reader([line.decode("utf-8", errors="replace")], delimiter=t.sep), [])
    for column in [*feats, target]:
        cell = row[column] if column < len(row) else ""  # empty or short: the chunk's reader
        name, note = t.header[column], validation.decimal_note(cell, t.decimal)
        if note:  # a number but for its decimal mark
            raise ValueError(
                f"{t.path}: non-numeric value {cell!r} at row {t.lines[0]}, column "
                f"{column + 1} ({name!r}){note}"
            )
        if validation.is_text(cell, t.decimal):
            if column == target:
                return True
            raise ValueError(
                f"{t.path}: the column {name!r} holds text ({cell!r} in row {t.lines[0]}); a "
                f"stream reads numbers: leave it out (drop=[{name!r}], --drop {name}) or "
                "train without streaming (text columns one-hot encoded)"
            )
    return False


def convert_csv(csv_path, out_path, chunk_rows: int = 65536) -> dict:
    """Write a CSV as a float32 ``.npy`` (all columns, in order), one chunk at a time.

    Memory holds one chunk, never the whole CSV. The column names go to
    ``out_path + ".json"`` — and, when the last column holds text labels, their sorted
    names (``"classes"``; the column then holds their codes). Both are written atomically
    (``jaxlin.atomic``). Returns the metadata (rows, columns, classes).
    """
    out_path = os.fspath(out_path)
    index = _index_csv(validation.check_file(csv_path, "csv_path"), chunk_rows)
    n, width = sum(index.counts), len(index.header)
    classes = None
    if _text_target(index, list(range(width - 1)), width - 1):
        classes = data.text_labels(index.path, index.sep, index.header, width - 1)
    src = Source(
        csv_path,
        n,
        index.header,
        chunk_rows,
        len(index.counts),
        "csv",
        index,
        (list(range(width - 1)), width - 1),
        classes,
    )
    with atomic_path(out_path) as tmp:
        out = np.lib.format.open_memmap(tmp, mode="w+", dtype=np.float32, shape=(n, width))
        start = 0
        for i in range(src.n_chunks):
            X, y = src.read(i)
            out[start : start + len(y), :-1] = X
            out[start : start + len(y), -1] = y
            out.flush()
            start += len(y)
        del out
    meta = {"columns": index.header, "rows": n, "source": os.path.basename(csv_path)}
    if classes is not None:  # the last column holds their codes
        meta["classes"] = list(classes)
    with atomic_path(out_path + ".json") as tmp, open(tmp, "w") as fh:
        json.dump(meta, fh)
    return meta


def convert_to_svmlight(in_path, out_path, chunk_rows: int = 65536, target=None, drop=()) -> dict:
    """Write a CSV's (or an svmlight file's) rows as svmlight, one chunk in memory at a time:
    only the non-zero values, indices one-based. Written atomically. Returns the metadata."""
    src = open_source(in_path, target, drop, chunk_rows)
    import scipy.sparse as sp

    nnz = 0
    with atomic_path(os.fspath(out_path)) as tmp, open(tmp, "w", encoding="utf-8") as fh:
        for i in range(src.n_chunks):
            X, y = src.read(i)
            X = sp.csr_matrix(X)
            X.eliminate_zeros()
            nnz += X.nnz
            svmlight.write_lines(fh, X, y)
    return {
        "rows": src.n_rows,
        "features": len(src.feature_names),
        "nnz": nnz,
        "feature_names": src.feature_names,
    }


def _first_state(problem, hyper, settings):
    return driver.run(problem, hyper, settings, None, 0)


def _one_pass(problem, hyper, state, settings):
    return driver.run(problem, hyper, settings, state, state.epoch + 1)


def _start(problem, hyper, settings):
    """The driver's first state (compiled once per settings and chunk shape, with the
    options of the in-memory run: ``jaxlin.training.compiled``)."""
    return training.compiled(_first_state, problem.X, settings, ("settings",))(
        problem, hyper, settings=settings
    )


def _advance(problem, hyper, state, settings):
    """One pass of the mini-batch solver over one chunk, continuing from ``state``."""
    return training.compiled(_one_pass, problem.X, settings, ("settings",))(
        problem, hyper, state, settings=settings
    )


class StreamResult(NamedTuple):
    params: Any  # Params
    objective: np.ndarray  # (epochs,) mean objective of each epoch's mini-batches
    epochs: int
    n_rows: int
    n_classes: Any
    classes: Any = None  # the labels, text or given (class c is classes[c]), else None


def _stream_options(options, control):
    """``(Options, RunControl)`` of a stream: mini-batches, a fixed number of epochs, progress
    and checkpoints."""
    opts, ctrl, key = options_.split_options(options, "fit_stream", STREAM_DEFAULTS, control)
    if not opts.record.mini_batches:  # before the checks, which see the default batch size
        raise ValueError(
            f"optimizer: {opts.optimizer!r} is a full-batch method; a stream trains by "
            f"mini-batches ({', '.join(solvers.names(mini_batches=True))})"
        )
    opts = opts.check()
    for name in ("devices", "buckets", "key", "one_vs_rest", "callback"):
        if (
            key if name == "key" else getattr(ctrl if name in ctrl._fields else opts, name)
        ) not in (None, False):
            raise ValueError(f"{name}: not available when streaming")
    if opts.batch_size is None:
        raise ValueError("batch_size: a stream trains by mini-batches; give their size")
    for name in (*STOPS, "patience"):
        if getattr(opts, name) is not None:
            raise ValueError(
                f"{name}: not available when streaming (a run is a fixed number of epochs)"
            )
    return opts, ctrl


def _chunk_passes(opts, src: Source):
    """The driver's options for a stream: its epoch is one chunk, so ``epochs × chunks`` of
    them (a 32-bit count), with batches no larger than a chunk."""
    total = validation.check_non_negative_int(
        opts.epochs * src.n_chunks, f"epochs × chunks ({opts.epochs} × {src.n_chunks})"
    )
    return opts._replace(batch_size=min(opts.batch_size, src.chunk_rows), epochs=total)


def fit_stream(
    source,
    loss="binary_cross_entropy",
    *,
    target=None,
    drop=(),
    chunk_rows: int = 65536,
    n_classes=None,
    classes=None,
    class_weight=None,
    seed: int = 0,
    control=None,
    **options,
) -> StreamResult:
    """Mini-batch training from a file on disk, one chunk in memory at a time.

    ``source``: a path (``.npy`` from ``convert_csv``, a CSV or an svmlight file) or a
    ``Source``. Labels: 0/1, ±1 or 0..K−1 (``n_classes`` for a multi-class loss: the file is
    not read ahead for it); a CSV's text (read ahead when its first row's is text); or the
    labels ``classes`` names (``given_classes``). Class ``c`` is ``result.classes[c]``. A
    binary loss finds two other numbers (``{1, 2}``) itself (``_binary_classes``). Features
    are used as they are. See the module docstring for the epoch. ``class_weight``
    (``jaxlin.class_weights``) weighs each row by its class, the labels counted in one pass
    first (``_stream_class_weights``).
    ``prefetch=False`` reads each chunk when it is needed rather than during the last.
    ``options`` are those of ``Options``, with the streaming defaults ``STREAM_DEFAULTS``
    (``sgd``, ``learning_rate`` 0.01, ``batch_size`` 256, one epoch). The run controls
    (``RunControl``, or its fields as keywords) that apply: ``progress(epochs_done,
    epochs_total)``, and the checkpoint:

    ``checkpoint``: a ``.npz`` path written after every ``checkpoint_every`` chunks and at the
    end (``jaxlin.checkpoint``): the driver's state, the epoch and the position in its
    chunk order. With ``resume=True`` a run starts from that file when it exists — it must
    come from the same file contents and settings — and ends with the parameters of the
    uninterrupted run, bit for bit. Under ``jaxlin.checkpoint.catch_interrupts``, Ctrl-C
    stops after the current chunk, writes the checkpoint and raises ``Interrupted``.
    """
    src = _opened(source, target, drop, chunk_rows)
    prefetch = validation.check_flag(options.pop("prefetch", True), "prefetch")
    given, loss, (opts, ctrl) = loss, losses.get_loss(loss), _stream_options(options, control)
    training.verified(loss, given, ctrl)
    src = _binary_classes(given_classes(src, classes), loss)
    n_classes = _stream_classes(src, loss, n_classes)
    saving, progress = ctrl.checkpointing(), ctrl.progress
    k = n_classes if loss.target == "onehot" else 1
    weights = _stream_class_weights(src, loss, k, class_weight)
    passes = _chunk_passes(opts, src)
    settings = passes.settings(k)
    penalty = penalties.Penalty(*backend.put_all((opts.l1, opts.l2), jnp.float32))
    obj = objective.Objective.build(loss, penalty, fit_intercept=opts.fit_intercept)
    start = training.initial_params(opts.init, len(src.feature_names), k, jnp.float32)
    hyper = passes.hyper(backend.random_key(validation.check_seed(seed)), start, jnp.float32)

    fingerprint = saving and _fingerprint(src, loss, opts, settings, seed, weights)
    load = partial(_load_chunk, src, obj, k, weights)
    saving = saving and saving._replace(fingerprint=fingerprint)
    run = _Run(src, seed, load, hyper, settings, saving, opts.epochs)
    state, position = run.resume()
    with (
        concurrent.futures.ThreadPoolExecutor(1) as pool,
        checkpoint_io.chunked_loop(),
        backend.precision(np.float32),
    ):
        for e in range(position["epoch"], opts.epochs):
            state = run.epoch(e, pool if prefetch else None, state, position)
            if progress is not None:
                progress(e + 1, opts.epochs)
        if state is None:  # epochs=0: the start point (the first chunk gives the shapes)
            state = _start(run.load(0), hyper, settings=settings)
    return StreamResult(
        driver.trained(state).params,  # the mean of the iterates, with average
        np.asarray(position["J"]),
        opts.epochs,
        src.n_rows,
        n_classes if loss.target == "onehot" else 2,
        src.classes,
    )


def _opened(source, target, drop, chunk_rows) -> Source:
    """``fit_stream``'s ``source``: a ``Source`` as it is, or a path opened."""
    if isinstance(source, Source):
        return source
    if not isinstance(source, (str, os.PathLike)):
        raise TypeError(
            f"source: expected a file path or a jaxlin.stream.Source, got {type(source).__name__}"
        )
    return open_source(validation.check_file(source, "source"), target, drop, chunk_rows)


def given_classes(src: Source, classes) -> Source:
    """``src`` whose labels read as the codes of ``classes``, sorted (scikit-learn's
    ``classes_`` order; its ``partial_fit`` argument): the numbers its label column holds
    (``range(1, 8)``), or text labels that hold the file's own (a class it lacks still
    gets its column). ``None``: ``src`` as it is."""
    if classes is None:
        return src
    values = validation.numeric_labels(validation.as_host_array(classes, "classes"))
    if values.ndim != 1 or len(values) < 2:
        raise ValueError(f"classes: expected two labels or more, got {values.tolist()!r}")
    if values.dtype.kind in "iuf":
        validation.check_finite_values(values, "classes")
    found, counts = np.unique(values, return_counts=True)
    if (counts > 1).any():
        raise ValueError(f"classes: the label {found[counts > 1][0].item()!r} is given twice")
    if src.classes is None:
        if found.dtype.kind not in "iuf":
            raise ValueError(
                f"classes: the labels of {src.path} are numbers, got {found.tolist()[:5]}"
            )
        return src._replace(classes=tuple(found.tolist()), label_values=found.astype(float))
    names = tuple(str(c) for c in found.tolist())
    missing = [c for c in src.classes if c not in names]
    if missing:
        raise ValueError(f"classes: {src.path} has the labels {missing[:5]}, not among them")
    if src.kind == "npy":  # its label column holds the codes of the file's own classes
        own = {c: j for j, c in enumerate(src.classes)}
        return src._replace(
            classes=names, label_values=np.array([own.get(c, -1) for c in names], float)
        )
    return src._replace(classes=names)


def _binary_classes(src: Source, loss) -> Source:
    """A binary loss's two labels when they are not 0/1: ±1 when the first chunk holds −1
    and 1 only (rcv1's; no pass: a 0 met later is named), other numbers (``{1, 2}``:
    LIBSVM's covtype.binary) found in one pass over the labels when the first chunk holds
    one; ``src`` as it is otherwise (a label that fits no class is then named with its row
    as training meets it)."""
    if loss.target != "binary" or src.classes is not None:
        return src
    first = src.labels(0)
    if np.isin(first, (0.0, 1.0)).all():
        return src
    if np.isin(first, (-1.0, 1.0)).all():
        return given_classes(src, [-1, 1])
    found = np.unique(np.concatenate([np.unique(src.labels(i)) for i in range(src.n_chunks)]))
    if len(found) != 2:
        return src
    return given_classes(src, found.astype(np.int64) if np.all(found % 1 == 0) else found)


def _stream_classes(src: Source, loss, n_classes):
    """The class count of a stream: ``n_classes`` as given (needed for a multi-class loss on
    numeric labels: the file is not read ahead), or a CSV's number of text labels, which
    must fit the loss and ``n_classes``."""
    n_classes = validation.check_n_classes(n_classes)
    if src.classes is not None:
        found = len(src.classes)
        if found < 2:
            raise ValueError(f"{src.path}: only one class present ({src.classes[0]!r})")
        if loss.target == "binary" and found > 2:
            raise ValueError(
                f"{src.path}: {found} classes {list(src.classes)[:5]} for the binary loss "
                f"{loss.name!r}; stream them with a multi-class loss (softmax_cross_entropy)"
            )
        if n_classes is not None and n_classes < found:
            raise ValueError(f"n_classes: {n_classes}, but the file has {found} classes")
        n_classes = n_classes or found
    if loss.target == "onehot" and n_classes is None:
        raise ValueError("n_classes: needed for a multi-class loss when streaming")
    if loss.target == "binary" and n_classes is not None and n_classes > 2:
        raise ValueError(
            f"n_classes: {n_classes} classes for the binary loss {loss.name!r}; a stream trains "
            "no one-vs-rest models: stream them with a multi-class loss (softmax_cross_entropy)"
        )
    return n_classes


def _stream_class_weights(src: Source, loss, k: int, class_weight):
    """``(per-class weights (C,), their mean over the file's rows)`` for ``class_weight``,
    or ``None``: the labels are counted in one pass over the chunks, read and checked as
    training reads them (a ``±1`` file's dict may key them so)."""
    if class_weight is None:
        return None
    if loss.target == "real":
        raise ValueError(f"class_weight: loss {loss.name!r} has real targets, not classes")
    n = max(k, 2)
    counts = np.zeros(n, np.int64)
    for i in range(src.n_chunks):
        y = src.labels(i)
        _chunk_targets(y, loss, k, src, i)
        counts += np.bincount(_codes(y, k), minlength=n)
    classes = src.classes
    if classes is None and n == 2 and isinstance(class_weight, dict) and -1 in class_weight:
        classes = [-1, 1]
    cw = class_weights.per_class(class_weight, None, n, classes, counts)
    mean = float(cw @ counts) / counts.sum()
    if mean == 0:
        raise ValueError(
            f"class_weight: every class present weighs 0 ({cw.tolist()}), so no row counts"
        )
    return cw, mean


def _codes(y, k: int) -> np.ndarray:
    """Checked labels (``_chunk_targets``) as class codes: ``0..k−1``, or 0/1 for a binary
    loss (``±1`` labels too)."""
    return y.astype(np.intp) if k > 1 else (y > 0).astype(np.intp)


def _chunk_targets(y, loss, k: int, src: Source, i: int):
    """The targets of chunk ``i``'s labels (only a multi-class loss's take the class count);
    a label that cannot be one is named with its data row in the file."""
    try:
        return objective.encode_targets(y, loss, k if loss.target == "onehot" else None)
    except ValueError as exc:
        if loss.target == "onehot":
            bad = (y != np.round(y)) | (y < 0) | (y >= k)
        else:
            bad = ~np.isin(y, (0.0, 1.0, -1.0))
        if not bad.any():
            raise
        r = int(np.argmax(bad))
        hint = "; classes= names the file's labels" * (src.classes is None)
        raise ValueError(
            f"{src.path}: label {y[r]:g} in data row {i * src.chunk_rows + r + 1}: {exc}{hint}"
        ) from None


def _load_chunk(src: Source, obj: Objective, k: int, weights, i: int) -> Problem:
    """Chunk ``i`` of ``src`` on the device, as the problem of one driver epoch; its rows
    weigh their classes' ``weights`` (``_stream_class_weights``) when given."""
    X, y = src.read(i)
    T = _chunk_targets(y, obj.loss, k, src, i)
    if weights is not None:
        cw, mean = weights
        obj = dataclasses.replace(
            obj,
            sample_weight=jnp.asarray(cw[_codes(y, k)], jnp.float32),
            mean_weight=jnp.float32(mean),
        )
    if src.kind == "svmlight":  # every chunk padded to one shape: one compiled program
        X = sparse.to_device(X, np.float32, src.impl.max_row_nnz, src.impl.max_chunk_nnz)
        return Problem(X, T, obj)
    return Problem(jax.device_put(X), T, obj)


def _fingerprint(src: Source, loss, opts: Options, settings, seed, weights=None) -> dict:
    """What a checkpoint of a stream must match: the file (size, shape and the digest of its
    first and last MiB) and every setting."""
    size = os.path.getsize(src.path)
    with open(src.path, "rb") as fh:
        head = fh.read(2**20)
        fh.seek(max(0, size - 2**20))
        tail = fh.read()
    facts: tuple = (
        size,
        src.n_rows,
        src.kind,
        src.columns,
        src.chunk_rows,
        hashlib.sha256(head + tail).hexdigest(),
    )
    if src.label_values is not None:  # labels coded by given (or found) classes
        facts += (src.classes,)
    return checkpoint_io.fingerprint(
        data=repr(facts),
        loss=repr(loss),
        seed=repr(seed),
        **checkpoint_io.by_field(opts, settings._replace(optimizer=None)),
        **({} if weights is None else {"class_weight": repr(weights[0].tolist())}),
    )


class _Run(NamedTuple):
    """The pieces of one streaming run that every epoch uses."""

    src: Source
    seed: int
    load: Callable  # chunk index → Problem
    hyper: Hyper
    settings: object
    saving: object  # a Checkpointing with its fingerprint, or None
    epochs: int  # passes over the file

    def resume(self):
        """The state and position to start from: a checkpoint's, or the beginning."""
        position = {"epoch": 0, "chunk": 0, "values": [], "rows": [], "J": []}
        s = self.saving
        if s is None or not s.resume or not os.path.exists(s.path):
            return None, position
        problem = self.load(0)
        template = jax.eval_shape(partial(_start, settings=self.settings), problem, self.hyper)
        return checkpoint_io.load(s.path, template, s.fingerprint)

    def epoch(self, e, pool, state, position):
        """One pass over the chunks in a fresh order, from ``position["chunk"]`` on; the next
        chunk is read while one trains. Appends the epoch's objective to ``position["J"]``:
        the mean of the chunks' objectives, each weighing its rows."""
        order = data.shuffled_rows(self.src.n_chunks, seed=self.seed, fold_in=(1, e))
        first = position["chunk"]
        pending = pool.submit(self.load, order[first]) if pool else None
        for j in range(first, len(order)):
            problem = pending.result() if pool else self.load(order[j])
            if pool and j + 1 < len(order):
                pending = pool.submit(self.load, order[j + 1])  # read ahead while we compute
            if state is None:
                state = _start(problem, self.hyper, settings=self.settings)
            state = _advance(problem, self.hyper, state, settings=self.settings)
            if int(state.status) == driver.DIVERGED:
                raise ValueError(f"training diverged in epoch {e + 1}; lower the learning rate")
            position["values"].append(float(problem.objective.reported(float(state.value))))
            position["rows"].append(int(problem.X.shape[0]))
            position["chunk"] = j + 1
            if j + 1 == len(order):
                position["J"].append(
                    float(
                        objective.Objective.running_mean(
                            np.asarray(position["values"]), np.asarray(position["rows"], float)
                        )
                    )
                )
                position.update(epoch=e + 1, chunk=0, values=[], rows=[])
            self.save(state, position, position["epoch"] == self.epochs)
        return state

    def save(self, state, position, last):
        """Write the checkpoint when it is due, and honour a stop request."""
        s, stop = self.saving, checkpoint_io.stop_requested() and not last
        done = position["epoch"] * self.src.n_chunks + position["chunk"]
        if s is not None and (last or stop or done % s.every == 0):
            checkpoint_io.save(s.path, state, position, s.fingerprint)
        if stop:
            raise checkpoint_io.Interrupted(None if s is None else s.path, position["epoch"])
