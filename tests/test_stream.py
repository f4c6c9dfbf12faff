"""Out-of-core training: equals in-memory training, visits every row, bounded memory."""

import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from jaxlin import Params, cli, data, stream, svmlight
from jaxlin.training import fit

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _write_npy(path, n, width, chunk=8192, seed=0):
    """A float32 .npy written chunk by chunk (so this process never holds it whole)."""
    rng = np.random.default_rng(seed)
    with open(path, "wb") as fh:
        np.lib.format.write_array_header_1_0(
            fh, {"descr": "<f4", "fortran_order": False, "shape": (n, width)}
        )
        for start in range(0, n, chunk):
            rows = min(chunk, n - start)
            block = rng.normal(size=(rows, width)).astype(np.float32)
            block[:, -1] = block[:, 0] > 0
            fh.write(block.tobytes())


@pytest.fixture
def small(tmp_path):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(1000, 5)).astype(np.float32)
    y = (X @ rng.normal(size=5) > 0).astype(int)
    csv_path = tmp_path / "d.csv"
    np.savetxt(
        csv_path,
        np.c_[X, y],
        delimiter=",",
        comments="",
        fmt="%.9g",
        header=",".join([f"f{i}" for i in range(5)] + ["label"]),
    )
    npy_path = tmp_path / "d.npy"
    meta = stream.convert_csv(csv_path, npy_path, chunk_rows=128)
    assert meta["rows"] == 1000 and meta["columns"][-1] == "label"
    np.testing.assert_array_equal(np.load(npy_path)[:, :-1], X)
    return X, y, str(csv_path), str(npy_path)


def test_one_chunk_equals_in_memory_training(small):
    X, y, _, npy = small
    a = stream.fit_stream(npy, chunk_rows=5000, batch_size=32, epochs=3, learning_rate=0.1)
    b = fit(X, y, optimizer="sgd", batch_size=32, epochs=3, learning_rate=0.1)
    np.testing.assert_array_equal(a.params.W, b.params.W)
    np.testing.assert_array_equal(a.objective, b.history.objective)


def test_csv_stream_equals_npy_stream_and_learns(small):
    X, y, csv_path, npy = small
    a = stream.fit_stream(npy, chunk_rows=128, batch_size=32, epochs=3, learning_rate=0.1)
    b = stream.fit_stream(csv_path, chunk_rows=128, batch_size=32, epochs=3, learning_rate=0.1)
    np.testing.assert_array_equal(a.params.W, b.params.W)
    assert a.objective[-1] < a.objective[0] < np.log(2) + 1e-6
    acc = np.mean((X @ np.asarray(a.params.W)[:, 0] + float(a.params.b[0]) >= 0) == y)
    assert acc > 0.9


def test_an_epoch_visits_every_row_exactly_once(tmp_path):
    """Squared error at W = 0 with a negligible step: each row's loss is y², so the epoch's
    mean objective is mean(y²) only if every row is visited once (distinct y² per row)."""
    n = 1003
    y = np.arange(n, dtype=np.float64) / n
    block = np.c_[np.zeros((n, 2)), y].astype(np.float32)
    np.save(tmp_path / "r.npy", block)
    r = stream.fit_stream(
        tmp_path / "r.npy",
        "squared_error",
        chunk_rows=100,
        batch_size=7,
        epochs=2,
        learning_rate=1e-30,
    )
    expected = float(np.mean(block[:, -1].astype(np.float64) ** 2))
    np.testing.assert_allclose(r.objective, [expected, expected], rtol=1e-5)


def test_peak_memory_is_bounded_by_the_chunk_size(tmp_path):
    """Resident memory grows by a few chunks whatever the file size: 96 MiB and 256 MiB files
    with 4 MiB chunks grow it by about the same, and by far less than either file."""
    files = {"warm": 8192, "small": 98304, "big": 262144}  # rows × 256 float32: 8/96/256 MiB
    for name, rows in files.items():
        _write_npy(tmp_path / f"{name}.npy", rows, 256)
    code = f"""
        import threading, time, os, sys
        import numpy as np
        from jaxlin import stream
        page = os.sysconf("SC_PAGE_SIZE")
        def rss():
            with open("/proc/self/statm") as fh:
                return int(fh.read().split()[1]) * page
        kw = dict(chunk_rows=4096, batch_size=256, epochs=1, learning_rate=0.01)
        stream.fit_stream({str(tmp_path / "warm.npy")!r}, **kw)  # compile outside the measure
        for name in ("small", "big"):
            base, peak, done = rss(), [0], [False]
            def sample():
                while not done[0]:
                    peak[0] = max(peak[0], rss()); time.sleep(0.002)
            t = threading.Thread(target=sample); t.start()
            r = stream.fit_stream(os.path.join({str(tmp_path)!r}, name + ".npy"), **kw)
            done[0] = True; t.join()
            print(name, (peak[0] - base) / 2**20, r.n_rows)
    """
    proc = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        timeout=600,
        cwd=ROOT,
        env=dict(os.environ, PYTHONPATH=ROOT),
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    growth = {line.split()[0]: float(line.split()[1]) for line in proc.stdout.splitlines()}
    rows = {line.split()[0]: int(line.split()[2]) for line in proc.stdout.splitlines()}
    assert rows == {"small": 98304, "big": 262144}
    # bounded by the chunk size: 160 MiB more data adds far less than itself (a process that
    # kept the rows would grow by all of it); the margin is the resident size's noise under a
    # loaded machine's thread timing (12-38 MiB measured for the same run) ...
    assert growth["big"] < growth["small"] + 64, growth
    # ... and stays far below the file (a few chunks: read block, copy, device copy, prefetch)
    assert growth["big"] < 96, growth


def test_bad_files_are_named(tmp_path):
    p = tmp_path / "bad.csv"
    p.write_text("a,b,y\n1,2,0\n3,zz,1\n")
    with pytest.raises(ValueError, match=r"non-numeric value 'zz' at row 3, column 2 \('b'\)"):
        stream.convert_csv(p, tmp_path / "bad.npy", chunk_rows=10)
    assert not (tmp_path / "bad.npy").exists()
    with pytest.raises(FileNotFoundError, match="^source: no such file"):
        stream.fit_stream(tmp_path / "none.npy")
    for read in (stream.open_source, svmlight.read, data.read_csv, data.read_idx):
        with pytest.raises(FileNotFoundError, match="^path: no such file"):  # the argument
            read(tmp_path / "none.svm")
    with pytest.raises(FileNotFoundError, match="^csv_path: no such file"):
        stream.convert_csv(tmp_path / "none.csv", tmp_path / "none.npy")
    (tmp_path / "t.npy").write_bytes(b"\x93NUMPY" + b"\x00" * 10)
    with pytest.raises(ValueError, match="not a .npy file"):
        stream.fit_stream(tmp_path / "t.npy")
    with pytest.raises(ValueError, match="n_classes: needed"):
        np.save(tmp_path / "m.npy", np.ones((4, 3), np.float32))
        stream.fit_stream(tmp_path / "m.npy", "softmax_cross_entropy")
    # a binary loss told of 3 classes: named up front, not at the first chunk's label 2
    with pytest.raises(ValueError, match=r"n_classes: 3 classes for the binary loss 'hinge'"):
        stream.fit_stream(tmp_path / "m.npy", "hinge", n_classes=3)
    for source in (lambda: iter([]), [(np.ones((2, 2)), np.ones(2))], None):  # not a file
        with pytest.raises(TypeError, match="source: expected a file path or a jaxlin.stream"):
            stream.fit_stream(source)
    with pytest.raises(TypeError, match="^path: expected a file path .*got int"):
        stream.open_source(3)


@pytest.mark.parametrize(
    "options, message",
    [
        (dict(optimizer="lbfgs"), r"optimizer: 'lbfgs' is a full-batch method; a stream trains"),
        (dict(optimizer="newton"), r"optimizer: 'newton' is a full-batch method"),
        (dict(batch_size=None), r"batch_size: a stream trains by mini-batches"),
        (dict(drop=["a", "b"]), r"s.csv: no feature columns left after taking the target"),
    ],
)
def test_options_a_stream_cannot_take_are_named(tmp_path, options, message):
    """A full-batch optimizer was refused for a ``batch_size`` the user had not given (the
    stream's default), and a stream with every feature dropped named ``n_features``."""
    p = tmp_path / "s.csv"
    p.write_text("a,b,y\n1,2,0\n3,4,1\n")
    with pytest.raises(ValueError, match=message):
        stream.fit_stream(p, **options)


def test_text_labels_stream_as_their_codes(tmp_path):
    """A CSV whose first label is text is read ahead for its labels (sorted, as scikit-learn's
    ``LabelEncoder``): the stream trains exactly as on the file with the labels' codes (the
    chunks' order once met "ham" mid-run and named it), and the result names them."""
    rng = np.random.default_rng(5)
    X = rng.normal(size=(60, 2))
    codes = np.argmax(X @ rng.normal(size=(2, 3)), axis=1)
    names = np.array(["owl", "cat", "dog"])  # class c is sorted(names)[c]: cat, dog, owl
    text, numeric = tmp_path / "pets.csv", tmp_path / "codes.csv"
    rows = [f"{a:.6f},{b:.6f}" for a, b in X]
    text.write_text("a,b,kind\n" + "".join(f"{r}, {names[c]}\n" for r, c in zip(rows, codes)))
    order = np.searchsorted(sorted(names), names)
    numeric.write_text("a,b,kind\n" + "".join(f"{r},{order[c]}\n" for r, c in zip(rows, codes)))
    kw = dict(loss="softmax_cross_entropy", epochs=2, chunk_rows=16, batch_size=8)
    r, ref = stream.fit_stream(text, **kw), stream.fit_stream(numeric, n_classes=3, **kw)
    assert r.classes == ("cat", "dog", "owl") and r.n_classes == 3 and ref.classes is None
    np.testing.assert_array_equal(r.params.W, ref.params.W)
    np.testing.assert_array_equal(r.objective, ref.objective)
    with pytest.raises(ValueError, match=r"3 classes \['cat', 'dog', 'owl'\] for the binary"):
        stream.fit_stream(text, epochs=1)
    with pytest.raises(ValueError, match=r"n_classes: 2, but the file has 3 classes"):
        stream.fit_stream(text, n_classes=2, **kw)
    gap = tmp_path / "gap.csv"
    gap.write_text("a,y\n1,spam\n2,\n3,ham\n")
    with pytest.raises(ValueError, match=r"missing label \(an empty cell\) at row 3, column 2"):
        stream.open_source(gap)
    one = tmp_path / "one.csv"
    one.write_text("a,y\n1,spam\n2,spam\n")
    with pytest.raises(ValueError, match=r"only one class present \('spam'\)"):
        stream.fit_stream(one, epochs=1)
    q = tmp_path / "empty.csv"  # an empty first target is left to the chunk's reader to name
    q.write_text("a,y\n1,\n2,1\n")
    source = stream.open_source(q, chunk_rows=8)
    with pytest.raises(ValueError, match=r"missing value \(an empty cell\) at row 2"):
        source.read(0)


@pytest.mark.parametrize("suffix", [".csv", ".npy", ".svm"])
def test_a_value_beyond_float32_is_named_not_trained_as_infinite(tmp_path, suffix):
    # a stream trains in float32: a finite 1e300 became inf, and the run failed on an
    # IndexError (CSV, .npy) or "diverged" (svmlight)
    p = tmp_path / f"huge{suffix}"
    if suffix == ".svm":
        p.write_text("0 1:0.5 2:1\n1 1:1e300 2:2\n")
        match = r"line 2: the value 1e\+300 is beyond float32's range"
    else:
        rows = np.array([[0.5, 1.0, 0.0], [1e300, 2.0, 1.0]])
        if suffix == ".csv":
            p.write_text("a,b,y\n" + "\n".join(",".join(map(str, r)) for r in rows) + "\n")
        else:
            np.save(p, rows)
        match = r"the value 1e\+300 in data row 2, column '(a|x0)' is beyond float32's range"
    with pytest.raises(ValueError, match=match):
        stream.fit_stream(p, epochs=1)


def test_a_dropped_columns_values_are_not_checked(tmp_path):
    # only the columns trained on are read as numbers that must be finite
    a = np.random.default_rng(0).normal(size=40)
    ids = np.arange(40.0)
    ids[3] = np.nan
    np.save(tmp_path / "d.npy", np.c_[ids, a, a > 0])
    r = stream.fit_stream(tmp_path / "d.npy", drop=["x0"], epochs=1, chunk_rows=16)
    assert np.asarray(r.params.W).shape == (1, 1)
    with pytest.raises(ValueError, match="NaN or infinite value in data row 4"):
        stream.fit_stream(tmp_path / "d.npy", epochs=1, chunk_rows=16)


def test_a_dropped_text_column_of_a_csv_is_left_unread(tmp_path):
    """A text id column left out (``drop``) trains as the file without it, streamed or read
    whole; kept, its first text cell is named (a stream names it when it opens)."""
    from jaxlin import data

    a = np.random.default_rng(1).normal(size=(40, 2))
    y = (a[:, 0] > 0).astype(int)
    lines = ["id,a,b,y"] + [
        f"row-{i},{u:.6f},{v:.6f},{t}" for i, ((u, v), t) in enumerate(zip(a, y))
    ]
    (tmp_path / "ids.csv").write_text("\n".join(lines) + "\n")
    (tmp_path / "plain.csv").write_text("\n".join(ln.split(",", 1)[1] for ln in lines) + "\n")
    whole, plain = (
        data.read_csv(tmp_path / "ids.csv", drop=["id"]),
        data.read_csv(tmp_path / "plain.csv"),
    )
    np.testing.assert_array_equal(whole.X, plain.X)
    np.testing.assert_array_equal(whole.y, plain.y)
    kw = dict(epochs=2, chunk_rows=16)
    r = stream.fit_stream(tmp_path / "ids.csv", drop=["id"], **kw)
    ref = stream.fit_stream(tmp_path / "plain.csv", **kw)
    np.testing.assert_array_equal(r.params.W, ref.params.W)
    with pytest.raises(
        ValueError, match=r"column 'id' holds text \('row-0' in row 2\); .*--drop id"
    ):
        stream.fit_stream(tmp_path / "ids.csv", **kw)
    with pytest.raises(ValueError, match=r"non-numeric value 'row-0' at row 2, column 1 \('id'\)"):
        data.read_csv(tmp_path / "ids.csv")


def test_zero_epochs_return_the_start_point(small):
    # unchecked, the run ended on an AttributeError (no state without a chunk trained)
    X, y, csv_path, _ = small
    r = stream.fit_stream(csv_path, chunk_rows=128, epochs=0, init="uniform", seed=3)
    start = fit(X, y, optimizer="sgd", epochs=0, init="uniform", seed=3)
    np.testing.assert_array_equal(r.params.W, start.params.W)
    assert len(r.objective) == 0 and r.epochs == 0


@pytest.mark.parametrize("as_result", [False, True])
def test_a_warm_start_continues_as_in_memory_training(small, as_result):
    """``init=`` a ``Params`` (or a ``FitResult``) starts the stream there, as ``fit`` does
    (it crashed inside the first step: the start never reached the loop)."""
    X, y, _, npy = small
    first = fit(X, y, optimizer="sgd", batch_size=32, epochs=1, learning_rate=0.1)
    start = first if as_result else first.params
    kw = dict(batch_size=32, epochs=2, learning_rate=0.1, init=start)
    a = stream.fit_stream(npy, chunk_rows=5000, **kw)
    b = fit(X, y, optimizer="sgd", **kw)
    np.testing.assert_array_equal(a.params.W, b.params.W)
    np.testing.assert_array_equal(a.objective, b.history.objective)
    with pytest.raises(ValueError, match=r"init: expected W \(5, 1\)"):
        stream.fit_stream(npy, init=Params(np.zeros((4, 1)), np.zeros(1)))


def test_epochs_times_chunks_beyond_a_32_bit_count_is_named(small):
    # 1,000 rows in chunks of 128 are 8 chunks: 2^29 epochs are 2^32 chunk passes
    _, _, csv_path, _ = small
    with pytest.raises(ValueError, match=r"epochs × chunks \(536870912 × 8\): must be at most"):
        stream.fit_stream(csv_path, chunk_rows=128, epochs=2**29)


def test_a_binary_file_given_as_a_csv_is_named(tmp_path):
    p = tmp_path / "b.csv"
    p.write_bytes(b"\x00\x01\xff\xfe\n1,2\n")
    with pytest.raises(ValueError, match=r"b.csv: not UTF-8 text \(byte b'\\xff' at offset 2\)"):
        stream.fit_stream(p)


def test_convert_encodes_text_labels_and_keeps_their_names(tmp_path):
    """``convert_csv`` of text labels writes their codes and their names (``classes`` in the
    JSON); a stream of the ``.npy`` trains as the stream of the CSV, bit for bit, and
    ``read_npy`` (the command line's whole-file reading) names the classes too."""
    from jaxlin import data

    rng = np.random.default_rng(7)
    X = rng.normal(size=(50, 2))
    label = np.where(X[:, 0] > 0, "yes", "no")
    path = tmp_path / "t.csv"
    path.write_text(
        "a,b,answer\n" + "".join(f"{a:.5f},{b:.5f},{t}\n" for (a, b), t in zip(X, label))
    )
    meta = stream.convert_csv(path, tmp_path / "t.npy", chunk_rows=16)
    assert meta["classes"] == ["no", "yes"]
    A = np.load(tmp_path / "t.npy")
    np.testing.assert_array_equal(A[:, 2], (label == "yes").astype(np.float32))
    kw = dict(epochs=2, chunk_rows=16, batch_size=8)
    a, b = stream.fit_stream(tmp_path / "t.npy", **kw), stream.fit_stream(path, **kw)
    assert a.classes == b.classes == ("no", "yes")
    np.testing.assert_array_equal(a.params.W, b.params.W)
    t = data.read_npy(tmp_path / "t.npy")
    assert (
        t.class_names == ["no", "yes"]
        and data.read_npy(tmp_path / "t.npy", "b").class_names is None
    )


def test_cli_streams_text_labels_and_predicts_them(tmp_path, capsys):
    """``jaxlin train --stream`` on text labels saves their names; ``predict`` writes them,
    each the class of the larger probability."""
    rng = np.random.default_rng(6)
    X = rng.normal(size=(80, 2))
    label = np.where(X[:, 0] - X[:, 1] > 0, "spam", "ham")
    path = tmp_path / "mail.csv"
    path.write_text("a,b,y\n" + "".join(f"{a:.5f},{b:.5f},{t}\n" for (a, b), t in zip(X, label)))
    model = str(tmp_path / "m.npz")
    args = ["train", "--data", str(path), "--stream", "--epochs", "3", "--save", model]
    assert cli.main([*args, "--quiet"]) == 0
    capsys.readouterr()
    assert cli.main(["predict", "--model", model, "--data", str(path)]) == 0
    rows = [r.split(",") for r in capsys.readouterr().out.splitlines()]
    assert rows[0] == ["row", "prediction", "p_ham", "p_spam"] and len(rows) == 81
    for r in rows[1:]:
        assert r[1] == ("spam" if float(r[3]) >= float(r[2]) else "ham")


def test_cli_convert_and_stream_train(small, tmp_path, capsys):
    X, y, csv_path, _ = small
    out = str(tmp_path / "c.npy")
    assert cli.main(["convert", csv_path, out, "--chunk-rows", "300"]) == 0
    assert "1000 rows × 6 columns" in capsys.readouterr().out
    # a .npy again (it was read as a CSV: "not UTF-8 text")
    assert cli.main(["convert", out, str(tmp_path / "again.npy")]) == 2
    assert "is already a .npy (train on it: jaxlin train --data" in capsys.readouterr().err
    model = str(tmp_path / "m.npz")
    assert (
        cli.main(
            [
                "train",
                "--data",
                out,
                "--stream",
                "--epochs",
                "3",
                "--lr",
                "0.1",
                "--chunk-rows",
                "256",
                "--save",
                model,
            ]
        )
        == 0
    )
    text = capsys.readouterr().out
    assert "4 chunks" in text and "epoch   3" in text
    assert cli.main(["predict", "--model", model, "--data", csv_path]) == 0
    preds = [int(r.split(",")[1]) for r in capsys.readouterr().out.splitlines()[1:]]
    assert np.mean(np.array(preds) == y) > 0.9
    assert cli.main(["convert", "/no/file.csv", out]) == 2
    assert "no such file" in capsys.readouterr().err


def test_cli_devices_flag_trains_the_same_model():
    code = """
        import json, sys
        from jaxlin import cli
        for extra in ([], ["--devices", "4"], ["--devices", "auto"]):
            assert cli.main(["train", "--quiet", "--json", "/dev/stdout"] + extra) == 0
    """
    proc = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=ROOT,
        env=dict(os.environ, PYTHONPATH=ROOT, XLA_FLAGS="--xla_force_host_platform_device_count=4"),
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    import json

    reps = [json.loads(part) for part in proc.stdout.replace("}\n{", "}\x00{").split("\x00")]
    assert len(reps) == 3
    accs = [r["test"]["accuracy"] for r in reps]
    assert max(accs) - min(accs) <= 1 / 224 + 1e-9  # at most one test row differs
    assert [r["training"]["devices"] for r in reps] == [1, 4, 4]  # the report says so


def test_many_classes_with_l1_stream_like_memory_with_or_without_prefetch(tmp_path):
    rng = np.random.default_rng(3)
    X = rng.normal(size=(600, 4)).astype(np.float32)
    y = np.argmax(X @ rng.normal(size=(4, 3)), axis=1)
    path = tmp_path / "m.npy"
    np.save(path, np.c_[X, y].astype(np.float32))
    kw = dict(batch_size=32, epochs=2, learning_rate=0.1, l1=0.02)
    one = stream.fit_stream(
        path, "softmax_cross_entropy", n_classes=3, chunk_rows=1000, prefetch=False, **kw
    )
    mem = fit(X, y, "softmax_cross_entropy", optimizer="sgd", **kw)
    np.testing.assert_array_equal(one.params.W, mem.params.W)
    plain = fit(X, y, "softmax_cross_entropy", optimizer="sgd", **dict(kw, l1=0.0))
    assert np.abs(np.asarray(one.params.W)).sum() < np.abs(np.asarray(plain.params.W)).sum()
    a = stream.fit_stream(
        path, "softmax_cross_entropy", n_classes=3, chunk_rows=128, prefetch=True, **kw
    )
    b = stream.fit_stream(
        path, "softmax_cross_entropy", n_classes=3, chunk_rows=128, prefetch=False, **kw
    )
    np.testing.assert_array_equal(a.params.W, b.params.W)
    np.testing.assert_array_equal(a.objective, b.objective)
    acc = np.mean(np.argmax(X @ np.asarray(a.params.W) + np.asarray(a.params.b), 1) == y)
    assert acc > 0.85


@pytest.mark.parametrize("class_weight", ["balanced", {0: 3.0, 1: 0.5}, [0.0, 2.0]])
def test_class_weights_stream_as_fit_weighs_them(small, class_weight):
    """One chunk: the stream is `fit`'s class-weighted SGD (the file's mean weight divides
    every mini-batch, as the rows' own mean does in memory). Many chunks: the same mean
    objective, each chunk's mini-batches dividing by the whole file's mean weight, not the
    chunk's (a chunk of one class does not take a full step)."""
    X, y, csv_path, npy = small
    kw = dict(batch_size=32, epochs=3, learning_rate=0.1, class_weight=class_weight)
    a = stream.fit_stream(npy, chunk_rows=5000, **kw)
    b = fit(X, y, optimizer="sgd", **kw)
    np.testing.assert_allclose(a.params.W, b.params.W, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(a.objective, b.history.objective, rtol=1e-5)
    plain = stream.fit_stream(npy, chunk_rows=5000, batch_size=32, epochs=3, learning_rate=0.1)
    gap = np.max(np.abs(np.asarray(a.params.W) - np.asarray(b.params.W)))
    assert np.max(np.abs(np.asarray(a.params.W) - np.asarray(plain.params.W))) > 10 * gap + 1e-5
    many = stream.fit_stream(csv_path, chunk_rows=128, **kw)
    from jaxlin import class_weights, objective

    w = class_weights.row_weights(class_weight, y, 2)
    T = objective.encode_targets(y, "binary_cross_entropy")
    J, _ = objective.value_and_grad(many.params, X, T, "binary_cross_entropy", sample_weight=w)
    J_plain, _ = objective.value_and_grad(
        plain.params, X, T, "binary_cross_entropy", sample_weight=w
    )
    assert float(J) < min(np.log(2), float(J_plain))  # it learned the weighted problem


def test_a_chunk_of_one_class_divides_by_the_files_mean_weight(small, tmp_path):
    """Sorted by class, a chunk holds one class: its mini-batches divide by the file's mean
    weight (numpy's, here), as the whole file's would, not by the chunk's own."""
    X, y, _, _ = small
    path = tmp_path / "sorted.npy"
    np.save(path, np.c_[X, y][np.argsort(y, kind="stable")].astype(np.float32))
    src = stream.open_source(path, chunk_rows=100)
    weights = stream._stream_class_weights(
        src, stream.losses.get_loss("binary_cross_entropy"), 1, {0: 2.0, 1: 0.5}
    )
    problem = stream._load_chunk(
        src, stream.objective.Objective.build("binary_cross_entropy"), 1, weights, 0
    )
    assert set(np.asarray(problem.objective.sample_weight).tolist()) == {2.0}
    expected = (2.0 * np.sum(y == 0) + 0.5 * np.sum(y == 1)) / len(y)
    assert float(problem.objective.mean_weight) == pytest.approx(expected, rel=1e-7)
    batch = problem.objective.on_rows(np.arange(10), None, 100)
    assert float(batch.normalizer) == pytest.approx(10 * expected, rel=1e-7)


def test_class_weights_in_a_stream_are_checked(small, tmp_path):
    X, y, _, npy = small
    with pytest.raises(
        ValueError, match=r"class_weight: 7 is not a class; the classes are \[0, 1\]"
    ):
        stream.fit_stream(npy, class_weight={7: 1.0})
    with pytest.raises(ValueError, match="class_weight: every class present weighs 0"):
        stream.fit_stream(npy, class_weight=[0, 0])
    with pytest.raises(ValueError, match="class_weight: expected 'balanced'"):
        stream.fit_stream(npy, class_weight="balance")
    with pytest.raises(ValueError, match="class_weight: loss 'squared_error' has real targets"):
        stream.fit_stream(npy, "squared_error", class_weight="balanced")
    signed = tmp_path / "pm.npy"  # ±1 labels keyed as the file holds them
    np.save(signed, np.c_[X, 2 * y - 1].astype(np.float32))
    kw = dict(chunk_rows=5000, batch_size=32, epochs=2, learning_rate=0.1)
    a = stream.fit_stream(signed, class_weight={-1: 3.0, 1: 0.5}, **kw)
    b = stream.fit_stream(npy, class_weight={0: 3.0, 1: 0.5}, **kw)
    np.testing.assert_array_equal(a.params.W, b.params.W)


@pytest.mark.parametrize(
    "loss, labels, bad, row",
    [
        ("softmax_cross_entropy", [0, 1, 2], 2.5, 36),  # was trained as class 2
        ("softmax_cross_entropy", [0, 1, 2], 3.0, 36),
        ("binary_cross_entropy", [0, 1], 0.5, 8),
    ],
)
def test_a_label_that_is_no_class_is_named_with_its_row(tmp_path, loss, labels, bad, row):
    X = np.random.default_rng(0).normal(size=(50, 3))
    y = np.resize(np.asarray(labels, float), 50)
    y[row - 1] = bad
    path = tmp_path / "l.npy"
    np.save(path, np.c_[X, y].astype(np.float32))
    with pytest.raises(ValueError, match=rf"l\.npy: label {bad:g} in data row {row}: y: "):
        stream.fit_stream(path, loss, n_classes=len(labels), chunk_rows=20)


@pytest.mark.parametrize("kind", ["csv", "semicolon", "text", "npy", "svm"])
def test_a_chunks_labels_alone_are_its_labels(tmp_path, kind):
    """The class weights' counting pass reads each chunk's labels without parsing the other
    columns: the labels ``read`` gives, and a bad one named as ``read`` names it."""
    rng = np.random.default_rng(2)
    X = rng.normal(size=(50, 3)).round(3)
    y = rng.integers(0, 3, 50)
    names = np.array(["cat", "dog", "owl"])
    path = tmp_path / f"d.{'npy' if kind == 'npy' else 'svm' if kind == 'svm' else 'csv'}"
    if kind == "npy":
        np.save(path, np.c_[X, y].astype(np.float32))
    elif kind == "svm":
        svmlight.write(X, y, path)
    else:
        sep = ";" if kind == "semicolon" else ","
        cells = [[f"{v:g}".replace(".", "," if sep == ";" else ".") for v in r] for r in X]
        labels = names[y] if kind == "text" else y
        text = "".join(sep.join([*c, str(lab)]) + "\n" for c, lab in zip(cells, labels))
        path.write_text(sep.join(["a", "b", "c", "y"]) + "\n" + text)
    src = stream.open_source(path, chunk_rows=16)
    for i in range(src.n_chunks):
        np.testing.assert_array_equal(src.labels(i), src.read(i)[1])
    if kind == "csv":
        path.write_text("a,y\n1,0\n2,1\n3,x\n")
        with pytest.raises(ValueError, match=r"non-numeric value 'x' at row 4, column 2"):
            stream.open_source(path).labels(0)
    if kind == "svm":  # the first fields alone, a bad one named by the full parse
        path.write_text("\ufeff1 1:2\n# note\n-1 2:1\nx 1:3\n")
        np.testing.assert_array_equal(stream.open_source(path, chunk_rows=2).labels(0), [1, -1])
        with pytest.raises(ValueError, match=r"line 4: .*label"):
            stream.open_source(path, chunk_rows=2).labels(1)


def _labelled_file(path, X, y):
    """``X`` beside labels ``y`` as a CSV, a float32 ``.npy`` or an svmlight file (by
    ``path``'s suffix)."""
    if path.suffix == ".npy":
        np.save(path, np.c_[X, y].astype(np.float32))
    elif path.suffix == ".svm":
        svmlight.write(X, y, path)
    else:
        rows = "".join(",".join(f"{v:.6f}" for v in r) + f",{t}\n" for r, t in zip(X, y))
        path.write_text(",".join(f"f{j}" for j in range(X.shape[1])) + ",y\n" + rows)
    return path


@pytest.mark.parametrize("suffix", [".csv", ".npy", ".svm"])
def test_labels_that_are_other_numbers_stream_as_their_classes(tmp_path, suffix):
    """LIBSVM numbers classes from 1 (covtype.binary's ``{1, 2}``, covtype's ``1..7``): a
    binary loss finds the two labels itself, ``classes=`` names more; either trains exactly
    as the file of the codes ``0..K−1`` does, and the result names the labels."""
    rng = np.random.default_rng(7)
    X = rng.normal(size=(90, 3)).round(4)
    codes = np.argmax(X @ rng.normal(size=(3, 3)), axis=1)
    kw = dict(chunk_rows=32, batch_size=8, epochs=2)
    binary = (codes > 0).astype(int)
    ref = stream.fit_stream(_labelled_file(tmp_path / f"c{suffix}", X, binary), **kw)
    for shift in (1, 3):  # {1, 2} and {3, 4}
        got = stream.fit_stream(_labelled_file(tmp_path / f"b{suffix}", X, binary + shift), **kw)
        assert got.classes == (shift, shift + 1) and got.n_classes == 2
        np.testing.assert_array_equal(got.params.W, ref.params.W)
        np.testing.assert_array_equal(got.objective, ref.objective)
    signed = stream.fit_stream(_labelled_file(tmp_path / f"s{suffix}", X, 2 * binary - 1), **kw)
    assert signed.classes == (-1, 1)  # seen in the first chunk, without a pass
    np.testing.assert_array_equal(signed.params.W, ref.params.W)
    soft = dict(loss="softmax_cross_entropy", **kw)
    ref = stream.fit_stream(_labelled_file(tmp_path / f"c{suffix}", X, codes), n_classes=3, **soft)
    path = _labelled_file(tmp_path / f"m{suffix}", X, 2 * codes + 1)  # 1, 3, 5
    got = stream.fit_stream(path, classes=[5, 1, 3], **soft)
    assert got.classes == (1, 3, 5) and got.n_classes == 3
    np.testing.assert_array_equal(got.params.W, ref.params.W)
    with pytest.raises(ValueError, match=r"label 3 in data row \d+: .*classes= names the file"):
        stream.fit_stream(path, n_classes=3, **soft)
    with pytest.raises(ValueError, match=r"label 5 in data row (\d+) is not one of the cl") as e:
        stream.fit_stream(path, classes=[1, 3], **soft)  # the row of the first chunk met
    assert codes[int(e.value.args[0].split("data row ")[1].split()[0]) - 1] == 2
    wider = stream.fit_stream(path, classes=[1, 3, 5, 7], **soft)  # a class the file lacks
    assert wider.n_classes == 4 and np.shape(wider.params.W) == (3, 4)


def test_a_later_chunks_other_label_names_classes(tmp_path):
    """The first chunk decides whether the labels are looked for: a file whose first chunk
    holds 1s only meets its 2s mid-run, and the error says how to name them."""
    rng = np.random.default_rng(8)
    X = rng.normal(size=(64, 2)).round(4)
    y = np.r_[np.ones(32, int), 1 + (X[32:, 0] > 0)]
    path = _labelled_file(tmp_path / "late.csv", X, y)
    with pytest.raises(ValueError, match=r"label 2 in data row \d+: .*classes= names"):
        stream.fit_stream(path, chunk_rows=32)
    ref = stream.fit_stream(_labelled_file(tmp_path / "c.csv", X, y - 1), chunk_rows=32)
    got = stream.fit_stream(path, chunk_rows=32, classes=(1, 2))
    np.testing.assert_array_equal(got.params.W, ref.params.W)
    signed = _labelled_file(tmp_path / "pm.csv", X, np.r_[2 * (X[:32, 0] > 0) - 1, y[32:] - 1])
    with pytest.raises(
        ValueError, match=r"label 0 in data row \d+ is not one of the classes \[-1, 1\]"
    ):
        stream.fit_stream(signed, chunk_rows=32)


def test_given_text_classes_hold_the_files_and_may_add_more(tmp_path):
    """Text labels given as ``classes`` must hold the file's own (a CSV's and a converted
    ``.npy``'s alike); a class the file lacks gets its column, as in scikit-learn's
    ``partial_fit``."""
    rng = np.random.default_rng(9)
    X = rng.normal(size=(40, 2)).round(4)
    codes = (X[:, 0] > 0).astype(int)
    text = _labelled_file(tmp_path / "t.csv", X, np.array(["cat", "dog"])[codes])
    npy = tmp_path / "t.npy"
    stream.convert_csv(text, npy)
    kw = dict(loss="softmax_cross_entropy", chunk_rows=16, batch_size=8)
    ref = stream.fit_stream(_labelled_file(tmp_path / "c.csv", X, codes), n_classes=3, **kw)
    for path in (text, npy):
        got = stream.fit_stream(path, classes=["owl", "dog", "cat"], **kw)
        assert got.classes == ("cat", "dog", "owl")
        np.testing.assert_array_equal(got.params.W, ref.params.W)
        with pytest.raises(ValueError, match=r"has the labels \['dog'\], not among them"):
            stream.fit_stream(path, classes=["cat", "owl"], **kw)


@pytest.mark.parametrize(
    "classes, message",
    [
        ([1, 1, 2], r"classes: the label 1 is given twice"),
        ([1], r"classes: expected two labels or more, got \[1\]"),
        (["a", "b"], r"classes: the labels of .* are numbers, got \['a', 'b'\]"),
        ([1.0, np.nan], r"classes: .*NaN"),
        ([[1, 2]], r"classes: expected two labels or more"),
    ],
)
def test_bad_classes_are_named(tmp_path, classes, message):
    path = _labelled_file(tmp_path / "d.csv", np.eye(4), np.array([1, 2, 1, 2]))
    with pytest.raises(ValueError, match=message):
        stream.fit_stream(path, classes=classes)


def test_class_weights_are_keyed_by_the_given_labels(small, tmp_path):
    X, y, _, npy = small
    path = _labelled_file(tmp_path / "s.npy", X, y + 1)
    kw = dict(chunk_rows=256, batch_size=32, epochs=2)
    a = stream.fit_stream(path, class_weight={1: 3.0, 2: 0.5}, **kw)
    b = stream.fit_stream(npy, class_weight={0: 3.0, 1: 0.5}, **kw)
    np.testing.assert_array_equal(a.params.W, b.params.W)


def test_cli_streams_numbered_classes_and_predicts_them(tmp_path, capsys):
    """``jaxlin train --stream`` on a ``{1, 2}`` svmlight file and on ``--classes 1,2,3``
    saves the labels; ``predict`` writes them; ``--classes`` is checked and named."""
    rng = np.random.default_rng(10)
    X = rng.normal(size=(60, 2)).round(4)
    y = 1 + np.digitize(X[:, 0], [-0.4, 0.4])
    for path, extra in [
        (_labelled_file(tmp_path / "b.svm", X, 1 + (y > 1)), []),
        (_labelled_file(tmp_path / "m.csv", X, y), ["--model", "softmax", "--classes", "1,2,3"]),
    ]:
        model = str(tmp_path / f"{path.stem}.npz")
        args = ["train", "--data", str(path), "--stream", "--save", model, "--quiet", *extra]
        assert cli.main(args) == 0
        capsys.readouterr()
        assert cli.main(["predict", "--model", model, "--data", str(path)]) == 0
        rows = [r.split(",") for r in capsys.readouterr().out.splitlines()]
        k = 3 if extra else 2
        assert rows[0] == ["row", "prediction", *[f"p_{c}" for c in range(1, k + 1)]]
        for r in rows[1:]:
            assert r[1] == str(1 + int(np.argmax([float(p) for p in r[2:]])))
    path = str(tmp_path / "m.csv")
    for extra, message in [
        (["--stream", "--model", "softmax", "--classes", "1,1,3"], "--classes: the label 1 is"),
        (["--stream", "--model", "softmax", "--classes", "1,2"], "is not one of the classes"),
        (["--classes", "1,2,3"], "--classes: applies with --stream only"),
    ]:
        assert cli.main(["train", "--data", path, *extra]) == 2
        assert message in capsys.readouterr().err


def test_given_classes_match_a_float32_files_labels(tmp_path):
    """A float32 ``.npy`` holds float32's 0.1, not float64's: the classes given as 0.1 and
    0.2 are its labels (they were "not one of the classes [0.1, 0.2]")."""
    X = np.random.default_rng(11).normal(size=(40, 2))
    y = np.where(X[:, 0] > 0, 0.2, 0.1)
    path = tmp_path / "f.npy"
    np.save(path, np.c_[X, y].astype(np.float32))
    ref = stream.fit_stream(_labelled_file(tmp_path / "c.npy", X, (y > 0.15).astype(int)))
    got = stream.fit_stream(path, classes=[0.1, 0.2])
    assert got.classes == (0.1, 0.2)
    np.testing.assert_array_equal(got.params.W, ref.params.W)
