"""Loaders and the preparation protocol (shuffle, 2/3–1/3 split, standardise on train)."""

import gzip
import os
import struct
import subprocess
import sys

import numpy as np
import pytest
import scipy.sparse as sp

from jaxlin import data, datasets


def _write_idx(path, arr, compress=False):
    codes = {np.uint8: 0x08, np.int32: 0x0C}
    head = struct.pack(">BBBB", 0, 0, codes[arr.dtype.type], arr.ndim)
    head += struct.pack(f">{arr.ndim}I", *arr.shape)
    body = arr.astype(arr.dtype.newbyteorder(">")).tobytes()
    raw = head + body
    with open(path, "wb") as fh:
        fh.write(gzip.compress(raw) if compress else raw)


@pytest.mark.parametrize("compress", [False, True])
def test_idx_round_trip(tmp_path, compress):
    imgs = np.random.default_rng(0).integers(0, 256, (5, 3, 4), dtype=np.uint8)
    labels = np.array([1, 0, 3, 2, 1], dtype=np.uint8)
    _write_idx(tmp_path / "i.idx", imgs, compress)
    _write_idx(tmp_path / "l.idx", labels, compress)
    np.testing.assert_array_equal(data.read_idx(tmp_path / "i.idx"), imgs)
    t = data.read_idx_pair(tmp_path / "i.idx", tmp_path / "l.idx")
    np.testing.assert_allclose(t.X, imgs.reshape(5, -1) / 255.0)
    np.testing.assert_array_equal(t.y, labels)
    assert len(t.feature_names) == 12


def test_idx_images_and_labels_swapped_are_named(tmp_path):
    # swapped, the labels trained as one-pixel images and the images flattened into labels
    _write_idx(tmp_path / "i.idx", np.zeros((5, 3, 4), np.uint8))
    _write_idx(tmp_path / "l.idx", np.arange(5, dtype=np.uint8))
    with pytest.raises(ValueError, match=r"l.idx: holds a 1-D array \(5,\), not images"):
        data.read_idx_pair(tmp_path / "l.idx", tmp_path / "i.idx")
    with pytest.raises(ValueError, match=r"i.idx: holds an array of shape \(5, 3, 4\), not lab"):
        data.read_idx_pair(tmp_path / "i.idx", tmp_path / "i.idx")


def test_idx_truncated_and_foreign(tmp_path):
    imgs = np.zeros((5, 3, 4), np.uint8)
    _write_idx(tmp_path / "i.idx", imgs)
    raw = (tmp_path / "i.idx").read_bytes()
    (tmp_path / "t.idx").write_bytes(raw[:-7])
    with pytest.raises(ValueError, match="truncated or corrupt"):
        data.read_idx(tmp_path / "t.idx")
    (tmp_path / "f.idx").write_bytes(b"hello world")
    with pytest.raises(ValueError, match="not an IDX file"):
        data.read_idx(tmp_path / "f.idx")


def test_bundled_datasets_match_the_spec():
    shapes = {"kidcreative": (673, 16), "spambase": (4601, 57), "mnist": (10000, 784)}
    for name, shape in shapes.items():
        d = datasets.load(name)
        assert d.X.shape == shape and d.y.shape == (shape[0],)
        assert len(d.feature_names) == shape[1]
        assert np.all(np.isfinite(d.X))
    mnist = datasets.load("mnist")
    assert mnist.X.min() == 0.0 and mnist.X.max() == 1.0 and set(mnist.y) == set(range(10))
    kid = datasets.load("kidcreative")
    assert "Obs No." not in kid.feature_names and "Buy" not in kid.feature_names
    with pytest.raises(ValueError, match="unknown dataset 'iris'"):
        datasets.load("iris")
    with pytest.raises(TypeError, match=r"data: expected a dataset name \(kidcreative, "):
        datasets.load(None)
    with pytest.raises(TypeError, match="sparse: must be True or False, got 'yes'"):
        datasets.load("kidcreative", sparse="yes")


def test_csv_target_and_drop(tmp_path):
    p = tmp_path / "d.csv"
    p.write_text("id,a,b,label\n1,0.5,2,1\n2,1.5,3,0\n")
    t = data.read_csv(p, target="label", drop=["id"])
    np.testing.assert_array_equal(t.X, [[0.5, 2], [1.5, 3]])
    np.testing.assert_array_equal(t.y, [1, 0])
    assert t.feature_names == ["a", "b"]
    # one name given as a string is one column (not its letters)
    p.write_text("id,ab,a,b,label\n1,9,0.5,2,1\n2,9,1.5,3,0\n")
    assert data.read_csv(p, target="label", drop="ab").feature_names == ["id", "a", "b"]
    with pytest.raises(ValueError, match="drop: 'label' is the target column"):
        data.read_csv(p, target="label", drop=["id", "label"])
    with pytest.raises(TypeError, match="^path: expected a file path .*got int"):
        data.read_csv(3)


# The same files through the three CSV readers: the Python reader, the streamed chunks
# (several chunks of 2 rows) and the command line's tables. Each keeps every row or names
# the line (in the file, blank lines counted) that it cannot read.
_ROWS = [[0.5, 2.0, 1.0], [1.5, 3.0, 0.0], [2.5, -1.0, 1.0], [3.5, 4.0, 0.0]]
_READABLE = {
    "quoted cells": 'a,b,y\n"0.5","2",1\n1.5,"3",0\n2.5,-1,1\n3.5,4,"0"\n',
    "blank lines": "a,b,y\n\n0.5,2,1\n1.5,3,0\n\n  \n2.5,-1,1\n3.5,4,0\n\n",
    "a comma ending every line": "a,b,y,\n0.5,2,1,\n1.5,3,0,\n2.5,-1,1,\n3.5,4,0,\n",
    "CRLF, a byte-order mark, spaces": (
        "\ufeffa, b ,y\r\n0.5, 2,1\r\n1.5,3 ,0\r\n2.5,-1,1\r\n3.5,4,0"
    ),
}
_REFUSED = {  # (text, the message; row = the file's line)
    "a row starting with #": (
        "a,b,y\n0.5,2,1\n#1.5,3,0\n2.5,-1,1\n",
        "non-numeric value '#1.5' at row 3, column 1 \\('a'\\)",
    ),
    "digits grouped by _": (
        "a,b,y\n0.5,2,1\n\n1.5,3_000,0\n",
        "non-numeric value '3_000' at row 4, column 2 \\('b'\\)",
    ),
    "an infinite cell": (
        "a,b,y\n0.5,2,1\n1.5,3,0\n2.5,-inf,1\n",
        "NaN or infinite value '-inf' at row 4, column 2",
    ),
    "a value past the header": (
        "a,b,y\n0.5,2,1\n1.5,3,0,7\n",
        "row 3 has 4 cells, the header has 3",
    ),
}


def _three_readers(path):
    from jaxlin import stream, tables

    t = data.read_csv(path)
    src = stream.open_source(path, chunk_rows=2)
    chunks = [src.read(i) for i in range(src.n_chunks)]
    X, y, *_ = tables.read_csv_table(path)
    return {
        "read_csv": (t.X, t.y, t.feature_names),
        "stream": (
            np.concatenate([c[0] for c in chunks]),
            np.concatenate([c[1] for c in chunks]),
            src.feature_names,
        ),
        "tables": (X, y.astype(float), ["a", "b"]),
    }


@pytest.mark.parametrize("case", list(_READABLE))
def test_every_csv_reader_keeps_every_row(tmp_path, case):
    p = tmp_path / "d.csv"
    p.write_bytes(_READABLE[case].encode("utf-8"))
    want = np.array(_ROWS)
    for reader, (X, y, names) in _three_readers(p).items():
        np.testing.assert_array_equal(X, want[:, :2], err_msg=reader)
        np.testing.assert_array_equal(y, want[:, 2], err_msg=reader)
        assert list(names) == ["a", "b"], reader


@pytest.mark.parametrize("case", list(_REFUSED))
def test_every_csv_reader_names_the_line_it_cannot_read(tmp_path, case):
    text, message = _REFUSED[case]
    p = tmp_path / "d.csv"
    p.write_text(text)
    from jaxlin import stream, tables

    for read in (
        data.read_csv,
        lambda p: [
            s.read(i) for s in [stream.open_source(p, chunk_rows=2)] for i in range(s.n_chunks)
        ],
        tables.read_csv_table,
    ):
        with pytest.raises(ValueError, match=message):
            read(p)


def test_lines_ended_by_a_carriage_return_alone_are_read_or_named(tmp_path):
    from jaxlin import stream, tables

    p = tmp_path / "d.csv"
    p.write_bytes(b"a,b,y\r0.5,2,1\r1.5,3,0\r2.5,-1,1\r3.5,4,0\r")
    want = np.array(_ROWS)
    np.testing.assert_array_equal(data.read_csv(p).X, want[:, :2])
    np.testing.assert_array_equal(tables.read_csv_table(p)[0], want[:, :2])
    with pytest.raises(ValueError, match="lines end in a carriage return alone"):
        stream.open_source(p)


def test_a_csv_not_in_utf8_is_named_with_the_byte(tmp_path):
    from jaxlin import stream

    p = tmp_path / "d.csv"
    p.write_bytes("a,b,y\n0.5,2,1\n1.5,3,0\n2,caf\u00e9,1\n".encode("latin-1"))
    for read in (data.read_csv, lambda p: stream.open_source(p, chunk_rows=1).read(2)):
        with pytest.raises(ValueError, match=r"not UTF-8 text \(byte b'\\xe9' at offset 27\)"):
            read(p)


def test_split_standardise_protocol():
    rng = np.random.default_rng(0)
    X = np.c_[rng.normal(5, 3, 90), np.full(90, 7.0)]  # the second feature is constant
    y = np.r_[np.zeros(60, int), np.ones(30, int)]
    s = data.train_test_split(X, y, seed=3)
    assert len(s.y_train) == 60 and len(s.y_test) == 30
    assert set(s.train_index) | set(s.test_index) == set(range(90))
    assert not set(s.train_index) & set(s.test_index)
    st = data.train_test_split(X, y, seed=3, stratify=True)
    assert np.sum(st.y_train == 1) == 20 and np.sum(st.y_test == 1) == 10
    p = data.prepare(X, y, seed=3)
    np.testing.assert_allclose(p.X_train[:, 0].mean(), 0.0, atol=1e-12)
    np.testing.assert_allclose(p.X_train[:, 0].std(), 1.0, rtol=1e-12)
    assert np.all(p.X_train[:, 1] == 0.0) and np.all(np.isfinite(p.X_test))
    # test rows use the training statistics, not their own
    np.testing.assert_allclose(
        p.X_test[:, 0],
        (s.X_test[:, 0] - s.X_train[:, 0].mean()) / s.X_train[:, 0].std(),
        rtol=1e-12,
    )
    np.testing.assert_array_equal(data.add_bias_feature(np.zeros((2, 1)))[:, 1], [1, 1])
    np.testing.assert_array_equal(data.one_hot(np.array([2, 0])), [[0, 0, 1], [1, 0, 0]])


@pytest.mark.parametrize(
    "kwargs,error,message",
    [
        (dict(X=np.arange(6.0)), ValueError, r"X: expected a 2-D array \(N, d\), got shape \(6,\)"),
        (dict(X=np.zeros((0, 2)), y=np.zeros(0)), ValueError, "X: empty data"),
        (dict(X=np.array([["a", "b"]] * 6, object)), TypeError, "X: expected a numeric array"),
        (dict(y=3), ValueError, "y: has 0 rows but X has 6"),
        (dict(train_fraction="0.5"), ValueError, "train_fraction: must be between 0 and 1"),
        (dict(train_fraction=float("nan")), ValueError, "train_fraction: must be between 0 and 1"),
        (dict(key="k"), TypeError, "key: expected a JAX PRNG key"),
        (dict(seed="s"), TypeError, "seed: expected an integer"),
        (dict(y=[0, 1, np.nan, 0, 1, 0]), ValueError, r"y: contains NaN .* \(first at row 2: nan"),
        (dict(y=[0, 1, 0, np.nan, 1, 0], stratify=True), ValueError, "y: contains NaN"),
    ],
)
def test_a_bad_split_argument_is_named(kwargs, error, message):
    args = dict(X=np.eye(6), y=np.arange(6) % 2) | kwargs
    with pytest.raises(error, match=message):
        data.train_test_split(args.pop("X"), args.pop("y"), **args)


@pytest.mark.parametrize("one_hot", [False, True])
def test_a_stratified_split_keeps_each_class_share(one_hot):
    y = np.repeat([0, 1, 2], [30, 12, 6])
    s = data.train_test_split(np.eye(48), np.eye(3)[y] if one_hot else y, 0.5, stratify=True)
    for part, rows in ((s.y_train, s.train_index), (s.y_test, s.test_index)):
        labels = part.argmax(1) if one_hot else part
        np.testing.assert_array_equal(labels, y[rows])
        np.testing.assert_array_equal(np.bincount(labels, minlength=3), [15, 6, 3])
    assert sorted(np.r_[s.train_index, s.test_index]) == list(range(48))  # no row lost


def test_a_split_keeps_missing_cells_for_the_imputation_after_it():
    X = np.eye(6)
    X[2, 1] = np.nan
    s = data.train_test_split(X, np.arange(6) % 2, seed=1)
    assert np.isnan(np.r_[s.X_train, s.X_test]).sum() == 1


@pytest.mark.parametrize(
    "X,message",
    [
        (np.arange(4.0), r"X: expected a 2-D array \(N, d\), got shape \(4,\)"),
        (
            np.array([[1.0, np.nan], [2, 3]]),
            r"X: contains NaN or infinite values \(first at row 0, column 1\)",
        ),
        (np.zeros((0, 3)), "X: empty data"),
    ],
)
def test_standardiser_statistics_refuse_what_they_cannot_describe(X, message):
    # unchecked, a NaN column's mean and an empty X's statistics were NaN, a 1-D X a scalar
    with pytest.raises(ValueError, match=message):
        data.Standardizer.fit(X)


@pytest.mark.parametrize("magnitude", [1e300, 1e-300, 1.0])
def test_standardiser_statistics_of_huge_and_tiny_columns_are_the_columns_scaled(magnitude):
    # unchecked, a column beyond √max gave an infinite standard deviation: the column was
    # standardised to zeros and the model trained without it, silently
    rng = np.random.default_rng(0)
    X = rng.normal(size=(40, 3)) * (rng.random((40, 3)) < 0.7)
    ref = np.sqrt(((X - X.mean(axis=0)) ** 2).mean(axis=0))  # NumPy, at magnitude 1
    dense = data.Standardizer.fit(X * magnitude)
    np.testing.assert_allclose(dense.scale / magnitude, ref, rtol=1e-13)
    np.testing.assert_allclose(dense.mean / magnitude, X.mean(axis=0), rtol=1e-13)
    np.testing.assert_allclose(
        dense.transform(X * magnitude), (X - X.mean(axis=0)) / ref, rtol=1e-12, atol=1e-12
    )
    scaled = data.Standardizer.fit(sp.csr_matrix(X * magnitude))
    root_mean_square = np.sqrt((X**2).mean(axis=0) - X.mean(axis=0) ** 2)
    np.testing.assert_allclose(scaled.scale / magnitude, root_mean_square, rtol=1e-12)


def test_sparse_scale_of_a_column_far_from_zero_does_not_cancel():
    # E[x²] − E[x]² of entries 10⁸ ± 1 kept 0 or 2 of its 16 digits
    x = 1e8 + np.random.default_rng(1).normal(size=30)
    X = sp.csr_matrix(np.c_[x, np.r_[x[:10], np.zeros(20)]])
    np.testing.assert_allclose(data.Standardizer.fit(X).scale, X.toarray().std(axis=0), rtol=1e-9)


def test_a_bad_column_names_file_beside_an_npy_is_named(tmp_path):
    # its JSON error came without the file's name; a list in it was an AttributeError
    from jaxlin import stream

    path = tmp_path / "d.npy"
    np.save(path, np.c_[np.random.default_rng(0).normal(size=(20, 2)), np.arange(20) % 2])
    (tmp_path / "d.npy.json").write_text("{bad")
    for read in (data.read_npy, stream.open_source):
        with pytest.raises(ValueError, match=r"d.npy.json: not the column names of d.npy"):
            read(str(path))
    (tmp_path / "d.npy.json").write_text('["a", "b", "y"]')  # not convert's: default names
    assert data.read_npy(str(path)).feature_names == ["c0", "c1"]
    (tmp_path / "d.npy.json").write_text('{"columns": ["a", "b", "y"]}')
    assert data.read_npy(str(path)).feature_names == ["a", "b"]


def test_a_header_of_numbers_is_said_to_be_read_as_names(tmp_path):
    p = tmp_path / "noheader.csv"
    p.write_text("0.5,1.5,1\n0.25,-1,0\n2,3,1\n")
    with pytest.warns(UserWarning, match=r"header row \(0.5, 1.5, 1\) is all numbers"):
        table = data.read_csv(p)
    assert table.X.shape == (2, 2)


def test_standardiser_transform_names_a_wrong_width_and_missing_values():
    st = data.Standardizer.fit(np.eye(3))
    with pytest.raises(ValueError, match="X: expected 3 features, got 2"):
        st.transform(np.eye(2))
    with pytest.raises(ValueError, match=r"X: contains NaN or infinite values \(first at row 1"):
        st.transform(np.array([[0.0, 1, 2], [np.inf, 0, 0]]))


def test_standardiser_inverse_is_scikit_learns():
    from sklearn.preprocessing import StandardScaler

    rng = np.random.default_rng(4)
    X = rng.normal(3.0, 5.0, size=(30, 4))
    X[:, 2] = 7.0  # constant: scale 1
    st = data.Standardizer.fit(X)
    Z = rng.normal(size=(5, 4))
    ours, theirs = st.inverse_transform(Z), StandardScaler().fit(X).inverse_transform(Z)
    np.testing.assert_allclose(ours, theirs, rtol=1e-12)
    np.testing.assert_allclose(st.inverse_transform(st.transform(X)), X, rtol=1e-12)
    S = sp.random(20, 4, density=0.3, format="csr", random_state=0)
    sst = data.Standardizer.fit(S)
    back = sst.inverse_transform(sst.transform(S))
    assert sp.issparse(back)
    np.testing.assert_allclose(back.toarray(), S.toarray(), rtol=1e-12)
    with pytest.raises(ValueError, match="^Z: expected 4 features, got 3"):
        st.inverse_transform(Z[:, :3])
    with pytest.raises(ValueError, match="^Z: these statistics centre"):
        st.inverse_transform(sp.csr_matrix(Z))


_DATA_ONLY = """
import sys
import numpy as np
import scipy.sparse as sp
from jaxlin import data, datasets, stream, tables
from jaxlin.cli import main
out = sys.argv[1]
d = datasets.load("spambase")
data.read_csv(datasets._path("kidcreative.csv"), target="Buy")
data.write_svmlight(sp.csr_matrix(d.X[::50]), d.y[::50], out + "/a.svm")
data.read_svmlight(out + "/a.svm")
tables.load_labelled(out + "/a.svm")
tables.read_csv_table(datasets._path("kidcreative.csv"), target="Buy")
stream.convert_csv(datasets._path("kidcreative.csv"), out + "/a.npy")
assert main(["convert", out + "/a.svm", out + "/b.svm"]) == 0
assert main(["datasets"]) == 0
print("jax" in sys.modules, sorted(m for m in sys.modules if m.startswith(("jax.", "optax"))))
"""


def test_reading_and_converting_data_never_imports_jax(tmp_path):
    """Loading, reading, writing and converting data is NumPy's work: a script or command
    that only does that does not pay JAX's import (about a second)."""
    env = {**os.environ, "PYTHONPATH": os.path.dirname(os.path.dirname(__file__))}
    run = subprocess.run(
        [sys.executable, "-c", _DATA_ONLY, str(tmp_path)],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip().splitlines()[-1] == "False []"


@pytest.mark.parametrize("sep", [";", "\t", "|"])
def test_a_file_separated_otherwise_reads_as_its_comma_twin(tmp_path, sep):
    """A header that splits on a semicolon, a tab or a bar (and not on a comma) sets the
    file's separator: every reader (the numeric reader, the command line's table, the
    stream's chunks, the conversion to .npy) reads the same numbers as from the comma file,
    a quoted cell included."""
    from jaxlin import stream, tables

    rows = [["x 1", "b", "c", "y"], ["1.5", "-2", '"3"', "0"], ["4", "5e-1", "6", "1"]]
    rows += [[str(i), str(-i), str(i % 3), str(i % 2)] for i in range(7)]
    comma, other = tmp_path / "c.csv", tmp_path / "o.csv"
    comma.write_text("\n".join(",".join(r) for r in rows) + "\n")
    other.write_text("\n".join(sep.join(r) for r in rows) + "\n")
    a, b = data.read_csv(comma), data.read_csv(other)
    assert b.feature_names == a.feature_names == ["x 1", "b", "c"]
    np.testing.assert_array_equal(b.X, a.X)
    np.testing.assert_array_equal(b.y, a.y)
    ta, tb = tables.read_csv_table(comma), tables.read_csv_table(other)
    np.testing.assert_array_equal(tb[0], ta[0])
    np.testing.assert_array_equal(tb[1], ta[1])
    sa, sb = stream.open_source(comma, chunk_rows=4), stream.open_source(other, chunk_rows=4)
    for i in range(sa.n_chunks):
        for u, v in zip(sa.read(i), sb.read(i)):
            np.testing.assert_array_equal(v, u)
    stream.convert_csv(other, tmp_path / "o.npy")
    np.testing.assert_array_equal(np.load(tmp_path / "o.npy"), np.c_[a.X, a.y].astype(np.float32))


def test_a_decimal_comma_is_named_as_such(tmp_path):
    """In a comma-separated file (a quoted cell) or below a first decimal with a point."""
    path = tmp_path / "d.csv"
    path.write_text('a,b,y\n1,"2,25",0\n3,4,1\n')
    with pytest.raises(ValueError, match=r"'2,25' at row 2, column 2 \('b'\) \(a decimal comma: "):
        data.read_csv(path)
    path.write_text("a;b;y\n1.5;2;0\n3;2,25;1\n")
    with pytest.raises(ValueError, match=r"'2,25' at row 3, column 2 \('b'\) \(a decimal comma: "):
        data.read_csv(path)


@pytest.mark.parametrize("sep", [";", "\t", "|"])
def test_decimal_commas_read_as_their_point_twin(tmp_path, sep):
    """A file separated otherwise than by commas whose first decimal has a comma (as the
    spreadsheets of locales that write 1,5 save it) reads, by every reader (the numeric
    reader, the command line's table, the stream's chunks, the conversion to .npy), the
    numbers of the same file written with points; text cells keep their commas."""
    from jaxlin import stream, tables

    rows = [["a", "b", "c", "y"], ["1", "2", "3", "0"], ["1.5", "-2.25", "1e-3", "1"]]
    rows += [[f"{i}.{i}", str(-i), f"{i % 3}.5E1", str(i % 2)] for i in range(7)]
    point, comma = tmp_path / "p.csv", tmp_path / "c.csv"
    point.write_text("\n".join(sep.join(r) for r in rows) + "\n")
    comma.write_text("\n".join(sep.join(r) for r in rows).replace(".", ",") + "\n")
    a, b = data.read_csv(point), data.read_csv(comma)
    np.testing.assert_array_equal(b.X, a.X)
    np.testing.assert_array_equal(b.y, a.y)
    assert a.X[1].tolist() == [1.5, -2.25, 1e-3]
    ta, tb = tables.read_csv_table(point), tables.read_csv_table(comma)
    np.testing.assert_array_equal(tb[0], ta[0])
    sa, sb = stream.open_source(point, chunk_rows=4), stream.open_source(comma, chunk_rows=4)
    for i in range(sa.n_chunks):
        for u, v in zip(sa.read(i), sb.read(i)):
            np.testing.assert_array_equal(v, u)
    stream.convert_csv(comma, tmp_path / "c.npy")
    np.testing.assert_array_equal(np.load(tmp_path / "c.npy"), np.c_[a.X, a.y].astype(np.float32))
    labelled = tmp_path / "t.csv"  # text (a label, a dropped name) keeps its points and commas
    labelled.write_text("name;a;b;y\nMr. X, Jr.;1,5;1;yes\nY.;2;0;no, not\nZ;-0,5;1;yes\n")
    t = data.read_csv(labelled, target="b", drop=["name", "y"])
    assert t.X[:, 0].tolist() == [1.5, 2.0, -0.5]
    X, y, _, _ = tables.read_csv_table(labelled, drop=["name"])
    assert X[:, 0].tolist() == [1.5, 2.0, -0.5] and list(y) == ["yes", "no, not", "yes"]


def test_a_point_in_a_file_of_decimal_commas_is_named(tmp_path):
    """Once a file writes its decimals with commas, a point could group thousands (1.234
    for 1234): every reader names the cell rather than guess."""
    from jaxlin import stream, tables

    path = tmp_path / "m.csv"
    path.write_text("a;b;y\n1,5;2;0\n3;1.234;1\n")
    with pytest.raises(ValueError, match=r"'1\.234' at row 3, column 2 \('b'\) \(the file writes "):
        data.read_csv(path)
    with pytest.raises(ValueError, match=r"'1\.234' at row 3, column 2 \('b'\) has a decimal "):
        tables.read_csv_table(path)
    with pytest.raises(ValueError, match=r"'1\.234' at row 3, column 2 \('b'\) \(the file writes "):
        stream.open_source(path).read(0)


def test_read_csv_reads_text_labels_as_the_command_line_and_streams_do(tmp_path):
    """A first label of text makes the labels text: codes of their sorted names (as
    scikit-learn's ``LabelEncoder``), named in ``class_names``, the codes a stream and the
    command line's table give them; a label cell left empty is named."""
    from jaxlin import stream, tables

    path = tmp_path / "pets.csv"
    kinds = ["owl", "cat", "dog", "cat", "owl", "dog", "cat"]
    path.write_text("a;b;kind\n" + "".join(f"{i},5;{i % 3};{k}\n" for i, k in enumerate(kinds)))
    t = data.read_csv(path)
    assert t.class_names == ["cat", "dog", "owl"]
    np.testing.assert_array_equal(t.y, np.unique(kinds, return_inverse=True)[1])
    assert t.X[1].tolist() == [1.5, 1.0]
    _, y_table, _, _ = tables.read_csv_table(path)
    assert [t.class_names[int(c)] for c in t.y] == list(y_table) == kinds
    np.testing.assert_array_equal(stream.open_source(path).read(0)[1], t.y)
    path.write_text("a,kind\n1,cat\n2,\n3,dog\n")
    with pytest.raises(ValueError, match=r"missing label \(an empty cell\) at row 3, column 2"):
        data.read_csv(path)
    path.write_text("a,kind\n1,0\n2,dog\n")  # numeric labels: a text one is a bad cell
    with pytest.raises(ValueError, match=r"non-numeric value 'dog' at row 3, column 2"):
        data.read_csv(path)


def test_an_unnamed_column_is_named_as_pandas_names_it_and_said(tmp_path, capsys):
    """A DataFrame written by ``to_csv`` starts with its index under an empty name: every
    reader calls it ``Unnamed: 0`` (pandas' name, so ``drop`` can name it) and says that it
    is read as a feature (the row numbers were trained on without a word)."""
    import warnings

    from jaxlin import cli, stream

    path = tmp_path / "frame.csv"
    path.write_text(",a,b,y\n" + "".join(f"{i},{i % 3},{i % 5},{i % 2}\n" for i in range(12)))
    with pytest.warns(UserWarning, match=r"column 1 has no name \(a DataFrame's index"):
        t = data.read_csv(path)
    assert t.feature_names == ["Unnamed: 0", "a", "b"]
    np.testing.assert_array_equal(t.X[:, 0], np.arange(12))
    with pytest.warns(UserWarning, match=r"drop=\['Unnamed: 0'\]"):
        assert stream.open_source(path).feature_names == ["Unnamed: 0", "a", "b"]
    assert cli.main(["train", "--data", str(path), "--epochs", "2"]) == 0
    assert "column 1 has no name" in capsys.readouterr().err
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert data.read_csv(path, drop=["Unnamed: 0"]).feature_names == ["a", "b"]
    assert cli.main(["train", "--data", str(path), "--drop", "Unnamed: 0", "--quiet"]) == 0


def test_a_text_file_named_npy_is_said_not_to_be_one(tmp_path):
    """np.load reads a file without the NumPy header as a pickle, and its refusal spoke of
    ``allow_pickle``: the reader says what the file is not, as the stream's does."""
    from jaxlin import stream

    path = tmp_path / "d.npy"
    path.write_text("a,b,y\n1,2,0\n")
    for read in (data.read_npy, stream.open_source):
        with pytest.raises(ValueError, match=r"d.npy: not a .npy file"):
            read(str(path))


@pytest.mark.parametrize("flag", ["standardize", "stratify"])
def test_prepare_flags_are_true_or_false(flag):
    """A string such as "no" is truthy: it would have standardised (or stratified)."""
    X, y = np.random.default_rng(0).normal(size=(12, 2)), np.arange(12) % 2
    with pytest.raises(TypeError, match=f"^{flag}: must be True or False, got 'no'"):
        data.prepare(X, y, **{flag: "no"})


def test_labels_in_an_object_array_of_numbers_mean_what_the_numbers_do():
    """A DataFrame column of Python ints arrives as an object array: ``fit``, the targets,
    ``one_hot`` and the metrics read it as the same numbers in an integer array (it was
    text to ``fit`` — predictions of objects —, a TypeError to ``encode_targets`` and
    ``one_hot``, and an AttributeError to the metrics)."""
    import sklearn.metrics as skm

    import jaxlin
    from jaxlin import metrics

    rng = np.random.default_rng(0)
    X = rng.normal(size=(60, 3))
    y = np.argmax(X, axis=1)
    o = y.astype(object)
    kw = dict(optimizer="lbfgs", epochs=30)
    r_int = jaxlin.fit(X, y, "softmax_cross_entropy", **kw)
    r_obj = jaxlin.fit(X, o, "softmax_cross_entropy", **kw)
    np.testing.assert_array_equal(r_obj.params.W, r_int.params.W)
    assert r_obj.classes is None and r_obj.predict(X).dtype.kind == "i"
    assert r_obj.score(X, o) == r_int.score(X, y)
    np.testing.assert_array_equal(
        jaxlin.encode_targets(o, "softmax_cross_entropy"),
        jaxlin.encode_targets(y, "softmax_cross_entropy"),
    )
    np.testing.assert_array_equal(data.one_hot(o), np.eye(3)[y])
    pred = r_int.predict(X)
    assert metrics.accuracy(o, pred) == pytest.approx(skm.accuracy_score(y, pred))
    np.testing.assert_array_equal(metrics.confusion_matrix(o, pred.astype(object)),
                                  skm.confusion_matrix(y, pred))  # fmt: skip
    b = (y == 1).astype(object)  # Python booleans too: a boolean array
    assert jaxlin.fit(X, b.astype(bool).astype(object), **kw).classes.dtype == bool
    with pytest.raises(ValueError, match=r"^y_true: text labels \('a'\) beside y_pred's"):
        metrics.accuracy(np.array(["a", "b"], dtype=object), np.array([0, 1]))


@pytest.mark.parametrize(
    "y, n_classes, message",
    [
        (np.array(["a", "b"]), None, r"non-empty 1-D array .* got shape \(2,\) of <U1"),
        (np.zeros((1, 2), int), None, r"got shape \(1, 2\)"),
        (np.array([], int), None, r"got shape \(0,\)"),
        (np.array([0.0, np.nan]), None, "NaN or infinite"),
        (np.array([0, 1]), 2.5, "n_classes"),
    ],
)
def test_one_hot_names_bad_labels(y, n_classes, message):
    with pytest.raises((ValueError, TypeError), match=message):
        data.one_hot(y, n_classes)
