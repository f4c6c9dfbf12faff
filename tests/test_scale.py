"""Scaling out: sharded training equals one device; several processes; data from disk."""

import os
import socket
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from jaxlin.training import fit

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _run(code, env_extra=None, timeout=300):
    env = dict(os.environ, PYTHONPATH=ROOT, **(env_extra or {}))
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env,
        cwd=ROOT,
    )


def test_sharded_over_4_devices_equals_one_device():
    """float32: full-batch GD and L-BFGS agree to 1e-5 absolute (the all-reduce sums in
    another order); mini-batch SGD draws the same batches and agrees to 1e-6."""
    proc = _run(
        """
        import numpy as np, jax
        from jaxlin.training import fit, shard_rows
        import jax.numpy as jnp
        assert jax.device_count() == 4
        rng = np.random.default_rng(0)
        for n in (203, 200):  # 203 = 4 * 50 + 3: three zero-weight padding rows
            X = rng.normal(size=(n, 6)); y = rng.integers(0, 3, n)
            for kw in [dict(optimizer="gd", epochs=50, learning_rate=0.5),
                       dict(optimizer="sgd", batch_size=16, epochs=5),
                       dict(optimizer="lbfgs", epochs=50),
                       dict(optimizer="newton", epochs=8)]:
                a = fit(X, y, "softmax_cross_entropy", l2=0.01, **kw)
                b = fit(X, y, "softmax_cross_entropy", l2=0.01, devices=4, **kw)
                tol = 1e-6 if kw["optimizer"] == "sgd" else 1e-5
                err = float(np.max(np.abs(np.asarray(a.params.W) - np.asarray(b.params.W))))
                assert err <= tol, (n, kw, err)
                assert int(a.epochs) == int(b.epochs)
        # a list of devices places the rows as the same number does
        c = fit(X, y, "softmax_cross_entropy", l2=0.01, devices=jax.devices()[1:3], epochs=8)
        d = fit(X, y, "softmax_cross_entropy", l2=0.01, devices=2, epochs=8)
        np.testing.assert_allclose(np.asarray(c.params.W), np.asarray(d.params.W), atol=1e-6)
        Xs, Ts, ws, n_rows = shard_rows(jnp.ones((203, 6)), jnp.ones((203, 1)), None, 4)
        assert Xs.shape == (204, 6) and n_rows == 203 and float(ws.sum()) == 203.0
        assert len(Xs.sharding.device_set) == 4 and len(Xs.addressable_shards) == 4
        assert Xs.addressable_shards[0].data.shape == (51, 6)
        print("ok")
    """,
        {"XLA_FLAGS": "--xla_force_host_platform_device_count=4"},
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert proc.stdout.strip().endswith("ok")


def test_devices_argument_is_checked():
    X, y = np.random.default_rng(0).normal(size=(20, 3)), np.arange(20) % 2
    with pytest.raises(ValueError, match="devices: asked for 64"):
        fit(X, y, devices=64)
    for bad in (0, -1, True, "gpu", [], ["cpu:0"], 1.5):
        with pytest.raises(ValueError, match="devices: expected a number of local devices"):
            fit(X, y, devices=bad)
    with pytest.raises(ValueError, match="checkpoint_every: needs a checkpoint path"):
        fit(X, y, checkpoint_every=2)


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_two_processes_each_with_its_own_rows_equal_one_process(tmp_path):
    """jax.distributed.initialize on localhost: 2 processes × 2 CPU devices, gloo collectives."""
    port, out = str(_free_port()), str(tmp_path / "mh.npz")
    worker = os.path.join(ROOT, "tests", "_multihost_worker.py")
    env = dict(os.environ, PYTHONPATH=ROOT)
    env.pop("XLA_FLAGS", None)
    procs = [
        subprocess.Popen(
            [sys.executable, worker, str(i), port, out],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for i in range(2)
    ]
    for p in procs:
        _, err = p.communicate(timeout=300)
        assert p.returncode == 0, err[-3000:]
    got = np.load(out)
    assert int(got["devices"]) == 4
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(201, 5)), rng.integers(0, 3, 201)
    for name, kw in {
        "gd": dict(optimizer="gd", learning_rate=0.5, epochs=40),
        "lbfgs": dict(optimizer="lbfgs", epochs=40),
    }.items():
        ref = fit(X, y, "softmax_cross_entropy", l2=0.01, **kw)
        np.testing.assert_allclose(got[name + "_W"], ref.params.W, atol=1e-5)
        np.testing.assert_allclose(got[name + "_b"], ref.params.b, atol=1e-5)
