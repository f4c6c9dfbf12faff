"""Atomic writes: normal permissions, no temporary file left behind, even after SIGKILL."""

import os
import signal
import stat
import subprocess
import sys

import numpy as np
import pytest

from jaxlin import atomic, cli, model_io
from jaxlin.models import TrainedModel

from helpers import wait_for_event

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@pytest.fixture
def umask_022():
    old = os.umask(0o022)
    yield
    os.umask(old)


def _model():
    return TrainedModel(
        "logistic",
        "binary_cross_entropy",
        np.ones((2, 1)),
        np.zeros(1),
        np.zeros(2),
        np.ones(2),
        ["a", "b"],
        ["no", "yes"],
    )


def _mode(path):
    return stat.S_IMODE(os.stat(path).st_mode)


def test_saved_model_and_converted_data_follow_the_umask(tmp_path, umask_022, capsys):
    path = model_io.save(_model(), tmp_path / "m.npz")
    assert _mode(path) == 0o644
    csv = tmp_path / "d.csv"
    csv.write_text("a,b,label\n1,2,0\n3,4,1\n")
    assert cli.main(["convert", str(csv), str(tmp_path / "d.npy")]) == 0
    assert _mode(tmp_path / "d.npy") == 0o644 and _mode(tmp_path / "d.npy.json") == 0o644
    assert sorted(os.listdir(tmp_path)) == ["d.csv", "d.npy", "d.npy.json", "m.npz"]


def test_a_failed_write_leaves_nothing(tmp_path):
    target = tmp_path / "out.bin"
    with pytest.raises(RuntimeError):
        with atomic.atomic_path(target) as tmp:
            with open(tmp, "wb") as fh:
                fh.write(b"half")
            raise RuntimeError("interrupted")
    assert os.listdir(tmp_path) == []


def test_a_temp_file_of_a_dead_process_is_removed_on_the_next_write(tmp_path):
    dead = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True
    ).stdout.strip()
    stale = tmp_path / f".m.npz.abc123.{dead}.jaxlin-tmp"
    stale.write_bytes(b"left by a killed process")
    mine = tmp_path / f".m.npz.xyz789.{os.getpid()}.jaxlin-tmp"  # a live writer: kept
    mine.write_bytes(b"")
    other = tmp_path / f".other.npz.abc123.{dead}.jaxlin-tmp"  # another target: kept
    other.write_bytes(b"")
    model_io.save(_model(), tmp_path / "m.npz")
    assert sorted(os.listdir(tmp_path)) == sorted(["m.npz", mine.name, other.name])


def test_convert_killed_with_sigkill_leaves_nothing_once_rewritten(tmp_path):
    csv = tmp_path / "big.csv"
    rng = np.random.default_rng(0)
    with open(csv, "w") as fh:
        fh.write(",".join(f"f{i}" for i in range(20)) + ",label\n")
        for _ in range(20):
            np.savetxt(
                fh,
                np.c_[rng.normal(size=(10000, 20)), rng.integers(0, 2, 10000)],
                delimiter=",",
                fmt="%.6g",
            )
    out = tmp_path / "big.npy"
    proc = subprocess.Popen(
        [sys.executable, "-m", "jaxlin", "convert", str(csv), str(out), "--chunk-rows", "2000"],
        cwd=ROOT,
    )
    wait_for_event(
        lambda: any(n.endswith(".jaxlin-tmp") for n in os.listdir(tmp_path)),
        proc,
        "convert starting to write",
    )
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert not out.exists()  # no half-written target
    assert any(n.endswith(".jaxlin-tmp") for n in os.listdir(tmp_path))  # SIGKILL: no clean-up
    assert cli.main(["convert", str(csv), str(out)]) == 0
    assert sorted(os.listdir(tmp_path)) == ["big.csv", "big.npy", "big.npy.json"]
    assert np.load(out).shape == (200000, 21)


def test_a_stream_given_as_the_target_is_written_in_place_not_replaced(tmp_path):
    """Replacing a named pipe (or /dev/stdout) with the renamed temporary file would put a
    plain file where the stream was; the content goes through the stream instead."""
    import threading

    from jaxlin import data

    fifo = tmp_path / "out.svm"
    os.mkfifo(fifo)
    got = []
    reader = threading.Thread(target=lambda: got.append(fifo.read_text()))
    reader.start()
    data.write_svmlight(np.array([[0.0, 2.0]]), np.array([1]), fifo)
    reader.join(timeout=30)
    assert stat.S_ISFIFO(os.stat(fifo).st_mode)
    assert got == ["1 2:2.0\n"]
    assert [p.name for p in tmp_path.iterdir()] == ["out.svm"]  # no temporary file left


def test_a_folder_or_a_missing_folder_as_the_target_is_named_before_writing(tmp_path):
    with pytest.raises(IsADirectoryError, match=r"^save: .* is a folder; give the path of a file"):
        model_io.save(_model(), tmp_path)
    with pytest.raises(FileNotFoundError, match="^save: no such folder"):
        model_io.save(_model(), tmp_path / "no" / "m.npz")


def test_the_result_of_fit_saves_as_a_model_that_predicts_as_it_did(tmp_path):
    """``model_io.save`` takes ``jaxlin.fit``'s result (its features as they are); the
    loaded model predicts the labels and probabilities the result did."""
    import jaxlin

    rng = np.random.default_rng(2)
    X = rng.normal(size=(50, 3))
    y = np.where(X[:, 0] - X[:, 2] > 0, "yes", "no")
    r = jaxlin.fit(X, y, optimizer="lbfgs", l2=1e-2, dtype=np.float64)
    m = model_io.load(model_io.save(r, tmp_path / "fit.npz"))
    assert m.class_names == ["no", "yes"] and m.feature_names == ["x0", "x1", "x2"]
    np.testing.assert_array_equal(m.predict(X), r.predict(X))  # the labels, as text
    np.testing.assert_array_equal(np.asarray(m.class_names)[m.predict_codes(X)], r.predict(X))
    np.testing.assert_allclose(m.predict_proba(X), r.predict_proba(X), rtol=1e-12)
    with pytest.raises(TypeError, match="^model: expected a TrainedModel .* got str"):
        model_io.save("fit.npz", tmp_path / "m.npz")
    with pytest.raises(TypeError, match="^path: expected a file path .* got int"):
        model_io.save(r, 3)


def test_a_model_without_probabilities_has_no_predict_proba(tmp_path):
    """A hinge model (a result or a saved model) has no ``predict_proba``, as a scikit-learn
    estimator has none: ``hasattr`` is false and the error names the loss and what to use;
    a logistic one gives rows that are probabilities (each sums to one)."""
    import jaxlin

    rng = np.random.default_rng(3)
    X = rng.normal(size=(40, 3))
    y = (X[:, 0] > 0).astype(int)
    hinge = jaxlin.fit(X, y, "hinge", epochs=5)
    for model in (hinge, model_io.load(model_io.save(hinge, tmp_path / "h.npz"))):
        assert not hasattr(model, "predict_proba")
        with pytest.raises(AttributeError, match="loss 'hinge' models no probabilities"):
            model.predict_proba(X)
        assert model.predict(X).shape == (40,)  # its other methods are there
    logistic = jaxlin.fit(X, y, epochs=5)
    for model in (logistic, model_io.load(model_io.save(logistic, tmp_path / "l.npz"))):
        p = model.predict_proba(X)
        assert p.shape == (40, 2) and np.all(p >= 0)
        np.testing.assert_allclose(p.sum(axis=1), 1.0, rtol=1e-12)


@pytest.mark.parametrize(
    "X,error,message",
    [
        (np.array([["a", "b", "c"]]), TypeError, "X: expected a numeric array"),
        (np.zeros((2, 3)) + 1j, TypeError, "X: expected a numeric array, got dtype complex"),
        (np.array([[object()] * 3]), TypeError, "X: expected a numeric array; the cell"),
        (None, ValueError, "X: no data given"),
        (np.zeros(3), ValueError, r"X: the model expects rows of 3 features \(N, 3\)"),
        (np.zeros((2, 2)), ValueError, "X: the model expects 3 features, got 2"),
        (np.zeros((0, 3)), ValueError, "X: empty data"),
        (np.array([[0.0, np.nan, 1.0]]), ValueError, "X: contains NaN"),
    ],
)
def test_a_saved_model_names_bad_features(tmp_path, X, error, message):
    """A loaded model checks ``X`` as training does: text, complex numbers, objects, no
    data, a wrong shape and NaN are named, never converted or dropped silently."""
    import jaxlin

    rng = np.random.default_rng(4)
    Xt = rng.normal(size=(30, 3))
    model = model_io.load(
        model_io.save(jaxlin.fit(Xt, (Xt[:, 1] > 0).astype(int), epochs=3), tmp_path / "m.npz")
    )
    for method in (model.predict, model.predict_proba, model.decision_function):
        with pytest.raises(error, match=message):
            method(X)


def test_a_model_with_named_features_reads_a_table_by_its_column_names(tmp_path):
    """A CLI-trained model keeps its columns' names: a DataFrame of other or reordered
    columns is named (by position it would be read as the model's features silently), as
    scikit-learn refuses it; its own columns, unnamed columns and arrays read by position."""
    import pandas as pd

    from jaxlin import cli

    rng = np.random.default_rng(6)
    X = rng.normal(size=(80, 3))
    y = (X[:, 0] - X[:, 2] > 0).astype(int)
    csv, path = tmp_path / "t.csv", tmp_path / "m.npz"
    pd.DataFrame({"u": X[:, 0], "v": X[:, 1], "w": X[:, 2], "y": y}).to_csv(csv, index=False)
    assert cli.main(["train", "--data", str(csv), "--target", "y", "--save", str(path)]) == 0
    model = model_io.load(path)
    assert list(model.feature_names) == ["u", "v", "w"]
    table = pd.DataFrame(X, columns=["u", "v", "w"])
    expected = model.predict(X)
    np.testing.assert_array_equal(model.predict(table), expected)
    np.testing.assert_array_equal(model.predict(pd.DataFrame(X)), expected)  # unnamed
    with pytest.raises(ValueError, match="^X: its columns are the model's features in another"):
        model.predict(table[["w", "v", "u"]])
    with pytest.raises(ValueError, match=r"^X: .* \(missing \['u'\], not the model's \['U'\]\)"):
        model.decision_function(table.rename(columns={"u": "U"}))
