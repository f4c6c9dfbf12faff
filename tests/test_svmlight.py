"""The svmlight / libsvm format: reading and writing against scikit-learn's reader and
writer, every bad line named, the command line on .svm files, and streaming from them."""

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.datasets import dump_svmlight_file, load_svmlight_file

import jaxlin
from jaxlin import cli, data, datasets, stream


@pytest.fixture
def problem():
    rng = np.random.default_rng(0)
    X = sp.random(60, 25, density=0.2, random_state=0, format="csr")
    X.data = np.round(rng.normal(size=X.nnz), 6)
    return X, rng.integers(0, 3, 60)


@pytest.mark.parametrize("zero_based", [False, True])
def test_round_trip_and_scikit_learns_reader_agree(tmp_path, problem, zero_based):
    X, y = problem
    path = tmp_path / "a.svm"
    data.write_svmlight(X, y, path, zero_based=zero_based, comment="two\nlines")
    ours, y_ours = data.read_svmlight(path, n_features=25)
    theirs, y_theirs = load_svmlight_file(str(path), n_features=25, zero_based=zero_based)
    assert abs(ours - X).max() == 0 and abs(theirs - X).max() == 0
    np.testing.assert_array_equal(y_ours, y)
    np.testing.assert_array_equal(y_theirs, y)


def test_scikit_learns_files_with_query_ids_are_read(tmp_path, problem):
    X, y = problem
    path = tmp_path / "q.svm"
    dump_svmlight_file(X, y, str(path), zero_based=True, query_id=np.arange(60) // 7)
    Xr, yr, qid = data.read_svmlight(path, n_features=25, query_id=True)
    assert abs(Xr - X).max() < 1e-12
    np.testing.assert_array_equal(qid, np.arange(60) // 7)


def test_index_base_is_detected_as_scikit_learn_does(tmp_path):
    one = tmp_path / "one.svm"
    one.write_text("1 1:2 3:4\n0 2:5\n")
    X, _ = data.read_svmlight(one)
    assert X.shape == (2, 3) and X[0, 0] == 2 and X[0, 2] == 4
    zero = tmp_path / "zero.svm"
    zero.write_text("1 0:2 3:4\n0 2:5\n")
    X, _ = data.read_svmlight(zero)
    assert X.shape == (2, 4) and X[0, 0] == 2 and X[0, 3] == 4


def test_a_byte_order_mark_before_the_first_label_is_not_part_of_it(tmp_path):
    path = tmp_path / "bom.svm"
    path.write_text("1 1:2 3:4\n0 2:5\n", encoding="utf-8-sig")  # as some editors save
    X, y = data.read_svmlight(path)
    np.testing.assert_array_equal(X.toarray(), [[2, 0, 4], [0, 5, 0]])
    np.testing.assert_array_equal(y, [1, 0])
    s = stream.fit_stream(str(path), chunk_rows=2, batch_size=2, epochs=1)
    assert s.params.W.shape == (3, 1)


BAD_LINES = [
    ("1 3:1 2:1\n", "line 1: index 2 after 3: indices must increase"),
    ("1 1:1\n1 a:1\n", "line 2: non-numeric index 'a'"),
    ("0 1:1\n\n# c\n1 2:x\n", "line 4: non-numeric value 'x'"),
    ("2:1 3:1\n", "line 1: no label"),
    ("one 2:1\n", "line 1: non-numeric label 'one'"),
    ("0 1:1\n1,3 2:1\n", r"line 2: non-numeric label '1,3' \(a multi-label line"),
    ("1 2:nan\n", "line 1: NaN or infinite value 'nan'"),
    ("1 2\n", "line 1: expected index:value, got '2'"),
    ("1 1:1 9:1\n", "line 1: index 9 is out of range for n_features=5"),
    ("\n# only comments\n", "no examples"),
]


@pytest.mark.parametrize("text,message", BAD_LINES)
def test_every_bad_line_is_named(tmp_path, text, message):
    path = tmp_path / "bad.svm"
    path.write_text(text)
    with pytest.raises(ValueError, match=message):
        data.read_svmlight(path, n_features=5)


def test_an_index_beyond_32_bits_and_a_bad_width_are_named(tmp_path):
    path = tmp_path / "wide.svm"
    path.write_text("1 1:1\n0 2:1 99999999999:1\n")
    beyond = r"line 2: index 99,999,999,999 is beyond the 2,147,483,647 columns"
    with pytest.raises(ValueError, match=beyond):
        data.read_svmlight(path)
    with pytest.raises(ValueError, match=beyond):  # streamed: named by the first pass
        stream.fit_stream(str(path), chunk_rows=1, batch_size=1, epochs=1)
    bad = tmp_path / "bad.svm"
    bad.write_text("1 1:1\n0 2:1\n1 x:1\n")
    with pytest.raises(ValueError, match=r"bad.svm: line 3: non-numeric index 'x'"):
        stream.fit_stream(str(bad), chunk_rows=1, batch_size=1, epochs=1)
    for width, error in ((0, ValueError), (-3, ValueError), (2**31, ValueError), (2.5, TypeError)):
        with pytest.raises(error, match="n_features: expected a positive integer"):
            data.read_svmlight(path, n_features=width)
    with pytest.raises(ValueError, match="X: 8,589,934,592 columns, more than the 2,147,483,647"):
        jaxlin.fit(sp.csr_matrix((2, 2**33)), [0, 1])


@pytest.mark.parametrize(
    "X,message",
    [
        ("news.svm", "X: expected a numeric array"),  # the path given where X goes
        ([[1.0, "a"]], "X: expected a numeric array"),
        (np.ones(3), "X: expected a 2-D array"),
        ([[np.nan, 1.0]], "X: contains NaN or infinite values"),
        (sp.csr_matrix(np.zeros((0, 3))), "X: empty data"),
    ],
)
def test_writing_bad_features_names_them_and_writes_nothing(tmp_path, X, message):
    path = tmp_path / "out.svm"
    with pytest.raises((TypeError, ValueError), match=message):
        data.write_svmlight(X, [1], path)
    assert not path.exists()


@pytest.mark.parametrize(
    "y,query_id,message",
    [
        (["spam"], None, "y: svmlight labels are numbers, got dtype <U4"),
        ([np.nan], None, "y: contains NaN or infinite values"),
        ([1], [0.5], "query_id: expected integers, got dtype float64"),
    ],
)
def test_writing_bad_labels_or_query_ids_names_them_and_writes_nothing(
    tmp_path, y, query_id, message
):
    path = tmp_path / "out.svm"
    with pytest.raises(ValueError, match=message):
        data.write_svmlight(np.ones((1, 2)), y, path, query_id=query_id)
    assert not path.exists()


@pytest.mark.parametrize(
    "kwargs,message",
    [
        (dict(n_rows=True), "n_rows: must be a positive integer, got True"),
        (dict(n_classes=1), "n_classes: must be an integer ≥ 2"),
        (dict(zipf=-1.0), "zipf: must be non-negative"),
        (dict(topic_words=2.0), r"topic_words: a share of the vocabulary in \[0, 1\]"),
        (dict(topic_boost=0.0), "topic_boost: must be positive"),
        (dict(seed=-1), "seed: must be a non-negative integer, got -1"),
        (dict(seed="a"), "seed: expected an integer, got 'a'"),
        (dict(nnz_per_row=51), "nnz_per_row: a row holds at most n_features = 50 distinct"),
    ],
)
def test_the_text_generators_bad_arguments_are_named(kwargs, message):
    with pytest.raises((ValueError, TypeError), match=message):
        datasets.text_like(**{"n_rows": 10, "n_features": 50, "nnz_per_row": 5, **kwargs})


def test_writing_leaves_the_callers_matrix_as_it_was(tmp_path):
    X = sp.csr_matrix((np.array([1.0, 0.0, 2.0]), np.array([0, 1, 2]), np.array([0, 3])))
    data.write_svmlight(X, [1], tmp_path / "out.svm")
    assert X.nnz == 3 and X.data.tolist() == [1.0, 0.0, 2.0]  # its explicit zero kept


def test_command_line_trains_predicts_and_converts_svmlight(tmp_path, capsys):
    d = datasets.text_like(600, 300, 15, seed=2)
    path, model = str(tmp_path / "t.svm"), str(tmp_path / "m.npz")
    data.write_svmlight(d.X, d.y, path)
    assert cli.main(["train", "--data", path, "--save", model, "--json", "-"]) == 0
    out = capsys.readouterr()
    assert '"sparse": true' in out.out and "not centred" in out.err
    assert cli.main(["predict", "--model", model, "--data", path]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "row,prediction,p_0,p_1" and len(lines) == 601
    # the same file under another suffix, with --format
    other = tmp_path / "t.txt"
    other.write_text(open(path).read())
    assert cli.main(["train", "--data", str(other), "--format", "svmlight", "--quiet"]) == 0
    copy = str(tmp_path / "copy.svm")
    assert cli.main(["convert", path, copy]) == 0
    X2, y2 = data.read_svmlight(copy, n_features=300)
    assert abs(X2 - d.X).max() < 1e-6 and np.array_equal(y2, d.y)
    assert cli.main(["convert", path, str(tmp_path / "x.npy")]) == 2


def test_streaming_an_svmlight_file_equals_in_memory_training(tmp_path):
    """One chunk: the stream's pass is the in-memory epoch over the same sparse rows."""
    d = datasets.text_like(500, 200, 12, seed=3)
    path = str(tmp_path / "s.svm")
    data.write_svmlight(d.X, d.y, path)
    s = stream.fit_stream(path, chunk_rows=500, batch_size=32, epochs=2, learning_rate=0.5)
    X, y = data.read_svmlight(path, n_features=200, dtype=np.float32)
    m = jaxlin.fit(X, y, optimizer="sgd", batch_size=32, epochs=2, learning_rate=0.5)
    np.testing.assert_allclose(s.params.W, m.params.W, rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(s.objective, m.history.objective, rtol=1e-6)
    several = stream.fit_stream(path, chunk_rows=128, batch_size=32, epochs=3, learning_rate=0.5)
    assert several.objective[-1] < several.objective[0]


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(dtype=np.int32), "dtype: expected a floating-point type such as float64, got int32"),
        (dict(dtype="nope"), "dtype: expected a floating-point type .* got 'nope'"),
    ],
)
def test_reading_into_a_type_that_would_lose_the_values_is_refused(tmp_path, kwargs, message):
    path = tmp_path / "f.svm"
    path.write_text("1 1:0.5 2:3\n0 2:1.25\n")
    with pytest.raises(ValueError, match=message):
        data.read_svmlight(path, **kwargs)
    X, _ = data.read_svmlight(path, dtype=np.float32)
    assert X.dtype == np.float32 and X.toarray().tolist() == [[0.5, 3.0], [0.0, 1.25]]


def test_an_unknown_format_is_named(tmp_path):
    from jaxlin import stream

    path = tmp_path / "d.csv"
    path.write_text("a,y\n1,0\n2,1\n")
    with pytest.raises(ValueError, match="format: expected 'csv' or 'svmlight', got 'parquet'"):
        stream.open_source(path, format="parquet")
