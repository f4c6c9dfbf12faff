"""Long runs survive interruption: warm starts, checkpoints, resume, Ctrl-C and SIGKILL."""

import json
import os
import signal
import subprocess
import sys
import time

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jaxlin
from jaxlin import checkpoint as ckpt
from jaxlin.linear import Params
from jaxlin.stream import fit_stream

from helpers import wait_for_event

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(240, 4))
    y = (X @ [1.0, -1.0, 0.5, 0.0] + 0.3 * rng.normal(size=240) > 0).astype(int)
    return X, y


def _same(a, b):
    for x, y in zip(jax.tree.leaves(a), jax.tree.leaves(b)):
        np.testing.assert_array_equal(np.asarray(x), np.asarray(y))


def _close(a, b):  # float32 parameters, equal up to their last bits
    for x, y in zip(jax.tree.leaves(a), jax.tree.leaves(b)):
        np.testing.assert_allclose(np.asarray(x), np.asarray(y), rtol=1e-6, atol=1e-7)


# ---------------------------------------------------------------------- warm starts


def test_warm_start_continues_plain_gradient_descent_exactly(data):
    X, y = data
    kw = dict(optimizer="gd", learning_rate=0.5)
    whole = jaxlin.fit(X, y, epochs=40, **kw)
    first = jaxlin.fit(X, y, epochs=15, **kw)
    _same(jaxlin.fit(X, y, epochs=25, init=first, **kw).params, whole.params)
    _same(jaxlin.fit(X, y, epochs=25, init=first.params, **kw).params, whole.params)


def test_warm_start_at_the_optimum_stays_there(data):
    X, y = data
    opt = jaxlin.fit(
        X, y, optimizer="lbfgs", l2=1e-2, epochs=500, tol=None, grad_tol=1e-12, dtype=jnp.float64
    )
    again = jaxlin.fit(
        X, y, optimizer="newton", l2=1e-2, epochs=5, grad_tol=1e-9, init=opt, dtype=jnp.float64
    )
    assert int(again.epochs) <= 1
    np.testing.assert_allclose(np.asarray(again.params.W), np.asarray(opt.params.W), atol=1e-10)


def test_warm_start_one_vs_rest_and_many_models(data):
    X, _ = data
    y3 = np.arange(len(X)) % 3
    a = jaxlin.fit(X, y3, "binary_cross_entropy", optimizer="gd", epochs=10)
    whole = jaxlin.fit(X, y3, "binary_cross_entropy", optimizer="gd", epochs=20)
    again = jaxlin.fit(X, y3, "binary_cross_entropy", optimizer="gd", epochs=10, init=a)
    # the same arithmetic, but a run's first gradient is compiled outside its loop, and XLA
    # may fuse the first sums of several models (one-vs-rest's, fit_many's) differently
    # there (it does on CPUs with AVX-512): equal up to float32 rounding, as the warm-start
    # docs say (one model: bit for bit, the test above)
    _close(again.params, whole.params)
    y = (X[:, 0] > 0).astype(int)
    m1 = jaxlin.fit_many(X, y, learning_rate=[0.1, 0.3], epochs=10)
    m_whole = jaxlin.fit_many(X, y, learning_rate=[0.1, 0.3], epochs=20)
    _close(
        jaxlin.fit_many(X, y, learning_rate=[0.1, 0.3], epochs=10, init=m1, pairing="zip").params,
        m_whole.params,
    )
    shared = jaxlin.fit_many(
        X,
        y,
        learning_rate=[0.1, 0.3],
        epochs=1,
        init=a.params._replace(W=a.params.W[:, :1], b=a.params.b[:1]),
    )
    assert shared.params.W.shape == (2, 4, 1)


@pytest.mark.parametrize(
    "init,match",
    [
        (Params(np.zeros((3, 1)), np.zeros(1)), r"init: expected W \(4, 1\)"),
        (Params(np.full((4, 1), np.nan), np.zeros(1)), "init: .*NaN"),
        ({"W": 1}, "init: expected 'zeros', 'uniform', Params or a FitResult"),
        ("ones", "init: unknown init 'ones'"),
    ],
)
def test_bad_warm_starts_are_named(data, init, match):
    X, y = data
    with pytest.raises((ValueError, TypeError), match=match):
        jaxlin.fit(X, y, init=init, epochs=2)


# ------------------------------------------------------- checkpoints of in-memory fit


def test_fit_interrupted_by_ctrl_c_resumes_bit_for_bit(data, tmp_path):
    X, y = data
    kw = dict(optimizer="adam", learning_rate=0.05, epochs=200, batch_size=16)
    whole = jaxlin.fit(X, y, **kw)
    path = tmp_path / "run.npz"
    seen = []

    def progress(done, total):  # Ctrl-C arrives during the run (its handler, called here:
        seen.append(done)  # a real SIGINT is sent to a `jaxlin train` process below)
        if len(seen) == 5:
            catcher.handle(signal.SIGINT, None)

    with ckpt.catch_interrupts() as catcher, pytest.raises(ckpt.Interrupted) as info:
        jaxlin.fit(X, y, progress=progress, checkpoint=path, **kw)
    assert info.value.checkpoint == str(path) and 0 < info.value.epoch < 200
    assert sorted(os.listdir(tmp_path)) == ["run.npz"]  # no temporary file left
    resumed = jaxlin.fit(X, y, checkpoint=path, resume=True, **kw)
    _same(resumed.params, whole.params)
    np.testing.assert_array_equal(
        np.asarray(resumed.history.objective), np.asarray(whole.history.objective)
    )
    with np.load(path, allow_pickle=False) as z:  # no pickle: plain arrays and a JSON record
        assert json.loads(str(z["record"]))["position"]["epoch"] == 200


def test_a_checkpoint_of_other_data_or_settings_is_refused(data, tmp_path):
    X, y = data
    path = tmp_path / "run.npz"
    jaxlin.fit(X, y, epochs=10, checkpoint=path)
    with pytest.raises(ValueError, match=r"checkpoint: .*\(they differ in: learning_rate\)"):
        jaxlin.fit(X, y, epochs=10, learning_rate=0.2, checkpoint=path, resume=True)
    with pytest.raises(ValueError, match=r"differ in: epochs\);.* not extended .*init=result"):
        jaxlin.fit(X, y, epochs=20, checkpoint=path, resume=True)
    with pytest.raises(ValueError, match=r"\(they differ in: seed, shuffle\)"):
        jaxlin.fit(X, y, epochs=10, seed=3, shuffle=False, checkpoint=path, resume=True)
    with pytest.raises(ValueError, match=r"\(they differ in: tol\)"):  # (not its structure)
        jaxlin.fit(X, y, epochs=10, tol=1e-3, checkpoint=path, resume=True)
    with pytest.raises(ValueError, match="checkpoint: .*differ in: data"):
        jaxlin.fit(X[:-1], y[:-1], epochs=10, checkpoint=path, resume=True)
    with pytest.raises(ValueError, match=r"checkpoint: .*\(they differ in: batch_size\)"):
        jaxlin.fit(X, y, epochs=10, batch_size=8, checkpoint=path, resume=True)
    # without resume the file is simply replaced by the new run's
    jaxlin.fit(X, y, epochs=10, learning_rate=0.2, checkpoint=path)
    jaxlin.fit(X, y, epochs=10, learning_rate=0.2, checkpoint=path, resume=True)


def test_bad_checkpoint_arguments_are_named(data, tmp_path):
    X, y = data
    with pytest.raises(ValueError, match="resume: needs a checkpoint"):
        jaxlin.fit(X, y, resume=True)
    with pytest.raises(ValueError, match="checkpoint: no such folder"):
        jaxlin.fit(X, y, checkpoint=tmp_path / "missing" / "c.npz")
    with pytest.raises(ValueError, match="checkpoint: .* is a folder; give the path of a file"):
        jaxlin.fit(X, y, checkpoint=tmp_path)  # unchecked: found when writing, after training
    with pytest.raises(ValueError, match="checkpoint_every"):
        jaxlin.fit(X, y, checkpoint=tmp_path / "c.npz", checkpoint_every=0)
    bogus = tmp_path / "bogus.npz"
    bogus.write_bytes(b"not a zip file")
    with pytest.raises(ValueError, match="not a jaxlin checkpoint"):
        jaxlin.fit(X, y, checkpoint=bogus, resume=True)
    # a checkpoint cut short (a full disk): zipfile's BadZipFile came through unnamed
    whole = tmp_path / "whole.npz"
    jaxlin.fit(X, y, epochs=2, checkpoint=whole)
    bogus.write_bytes(whole.read_bytes()[:200])
    with pytest.raises(ValueError, match="not a jaxlin checkpoint"):
        jaxlin.fit(X, y, epochs=2, checkpoint=bogus, resume=True)


# --------------------------------------------------------------- streaming, CLI, kills


def _write_stream(path, n=6000, d=6, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d)).astype(np.float32)
    y = (X @ rng.normal(size=d) > 0).astype(np.float32)
    np.save(path, np.column_stack([X, y]))


def test_fit_stream_checkpoints_and_resumes_bit_for_bit(tmp_path):
    src = tmp_path / "d.npy"
    _write_stream(src, n=1000)
    kw = dict(chunk_rows=100, epochs=3, optimizer="adam", learning_rate=0.01, batch_size=32)
    whole = fit_stream(src, **kw)
    path = tmp_path / "c.npz"
    chunks = []
    import jaxlin.stream as st

    original = st._advance

    def counting(*args, **kwargs):  # Ctrl-C in the middle of the second epoch
        chunks.append(1)
        if len(chunks) == 14:
            catcher.handle(signal.SIGINT, None)
        return original(*args, **kwargs)

    st._advance = counting
    catcher = ckpt.catch_interrupts()
    try:
        with catcher, pytest.raises(ckpt.Interrupted) as info:
            fit_stream(src, checkpoint=path, checkpoint_every=4, **kw)
    finally:
        st._advance = original
    assert info.value.epoch == 1
    resumed = fit_stream(src, checkpoint=path, resume=True, **kw)
    _same(resumed.params, whole.params)
    np.testing.assert_array_equal(resumed.objective, whole.objective)
    with pytest.raises(ValueError, match=r"\(they differ in: learning_rate\)"):
        fit_stream(src, checkpoint=path, resume=True, **{**kw, "learning_rate": 0.02})
    _write_stream(src, n=1000, seed=1)
    with pytest.raises(ValueError, match="differ in: data"):
        fit_stream(src, checkpoint=path, resume=True, **kw)


def _train(*args):
    return [sys.executable, "-m", "jaxlin", "train", "--quiet", *map(str, args)]


def _wait_for(path, proc):
    wait_for_event(lambda: os.path.exists(path), proc, "a checkpoint written")


def test_streaming_train_killed_with_sigkill_resumes_to_the_same_model(tmp_path):
    src = tmp_path / "d.npy"
    _write_stream(src, n=12000)
    common = [
        "--data",
        src,
        "--stream",
        "--chunk-rows",
        "200",
        "--epochs",
        "8",
        "--batch-size",
        "32",
        "--optimizer",
        "adam",
        "--lr",
        "0.01",
    ]
    env = {**os.environ, "JAXLIN_CACHE_DIR": "off"}
    subprocess.run(
        _train(*common, "--save", tmp_path / "whole.npz"),
        check=True,
        env=env,
        cwd=ROOT,
        timeout=300,
    )
    ck = tmp_path / "run.npz"
    proc = subprocess.Popen(
        _train(
            *common,
            "--checkpoint",
            ck,
            "--checkpoint-every",
            "3",
            "--save",
            tmp_path / "resumed.npz",
        ),
        env=env,
        cwd=ROOT,
    )
    _wait_for(ck, proc)
    time.sleep(0.3)
    assert proc.poll() is None, "the run ended before it could be killed"
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    with np.load(ck, allow_pickle=False) as z:
        position = json.loads(str(z["record"]))["position"]
    assert position["epoch"] < 8  # killed part-way
    subprocess.run(
        _train(
            *common,
            "--checkpoint",
            ck,
            "--checkpoint-every",
            "3",
            "--resume",
            "--save",
            tmp_path / "resumed.npz",
        ),
        check=True,
        env=env,
        cwd=ROOT,
        timeout=300,
    )
    with np.load(tmp_path / "whole.npz") as a, np.load(tmp_path / "resumed.npz") as b:
        for name in ("W", "b"):
            np.testing.assert_array_equal(a[name], b[name])
    assert not [n for n in os.listdir(tmp_path) if n.endswith(".jaxlin-tmp")]


def test_ctrl_c_stops_train_cleanly_with_status_130(tmp_path):
    src = tmp_path / "d.npy"
    _write_stream(src, n=20000)
    ck = tmp_path / "run.npz"
    proc = subprocess.Popen(
        _train(
            "--data", src, "--stream", "--chunk-rows", "200", "--epochs", "50", "--checkpoint", ck
        ),
        env={**os.environ, "JAXLIN_CACHE_DIR": "off"},
        cwd=ROOT,
        stderr=subprocess.PIPE,
        text=True,
    )
    _wait_for(ck, proc)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err
    assert "Traceback" not in err
    assert "interrupted after epoch" in err and f"checkpoint written to {ck}" in err
    assert "--resume" in err
    with np.load(ck, allow_pickle=False) as z:
        assert json.loads(str(z["record"]))["position"]["epoch"] < 50


def test_cli_checkpoint_flags_are_checked(capsys, tmp_path):
    from jaxlin import cli

    assert cli.main(["train", "--resume"]) == 2
    assert "--resume: needs --checkpoint" in capsys.readouterr().err
    ck = tmp_path / "m.npz"
    assert cli.main(["train", "--quiet", "--optimizer", "gd", "--checkpoint", str(ck)]) == 0
    assert (
        cli.main(
            [
                "train",
                "--quiet",
                "--optimizer",
                "gd",
                "--lr",
                "0.5",
                "--checkpoint",
                str(ck),
                "--resume",
            ]
        )
        == 2
    )
    assert "(they differ in: learning_rate)" in capsys.readouterr().err


def test_a_stream_checkpoint_names_a_changed_warm_start(tmp_path):
    """A warm start is part of what a checkpoint must match, compared by its every value
    (the ``repr`` of a long array elides its middle: a changed middle weight was missed)."""
    rng = np.random.default_rng(1)
    X = rng.normal(size=(64, 1200))
    src = tmp_path / "s.npy"
    np.save(src, np.c_[X, (X[:, 0] > 0).astype(float)])
    W = np.zeros((1200, 1))
    start = jaxlin.Params(W, np.zeros(1))
    path = tmp_path / "run.npz"
    kw = dict(optimizer="sgd", batch_size=16, epochs=2, checkpoint=path)
    fit_stream(src, init=start, **kw)
    W[600, 0] = 1.0  # the middle of the array, which its repr leaves out
    with pytest.raises(ValueError, match=r"\(they differ in: init\)"):
        fit_stream(src, init=jaxlin.Params(W, np.zeros(1)), resume=True, **kw)


def test_a_stream_checkpoint_names_other_classes(tmp_path):
    """A checkpoint keeps the classes its labels were coded by: the same file resumed with
    other classes (its label 3 then another class) is named, not trained on."""
    rng = np.random.default_rng(3)
    X = rng.normal(size=(60, 2)).astype(np.float32)
    src = tmp_path / "d.npy"
    np.save(src, np.column_stack([X, np.where(X[:, 0] > 0, 3.0, 1.0)]))
    kw = dict(loss="softmax_cross_entropy", chunk_rows=20, epochs=1, batch_size=8)
    path = tmp_path / "c.npz"
    fit_stream(src, classes=[1, 2, 3], checkpoint=path, **kw)
    fit_stream(src, classes=[1, 2, 3], checkpoint=path, resume=True, **kw)  # the same: resumes
    with pytest.raises(ValueError, match="differ in: data"):
        fit_stream(src, classes=[1, 3, 5], checkpoint=path, resume=True, **kw)
