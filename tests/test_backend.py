"""Accelerator paths: CPU-only forms are gated on the platform, one precision rule, and no
host round-trips inside the compiled training loop."""

import subprocess
import sys
import textwrap
import warnings

from functools import partial

import jax
import jax.extend
import jax.numpy as jnp
import numpy as np
import optax
import pytest

import jaxlin
from jaxlin import backend, objective, stream, training
from jaxlin import linear
from jaxlin.linear import Params, contract
from jaxlin.objective import Objective
from jaxlin import solvers
from jaxlin.penalties import Penalty


@pytest.fixture(params=["gpu", "tpu"])
def accelerator(request, monkeypatch):
    monkeypatch.setattr(backend, "platform", lambda: request.param)
    return request.param


def _primitives(jaxpr):
    """Every primitive name in a (closed) jaxpr, sub-jaxprs included."""
    names = set()
    for eqn in jaxpr.eqns:
        names.add(eqn.primitive.name)
        for sub in jax.extend.core.jaxprs_in_params(eqn.params):
            names |= _primitives(sub)
    return names


def _traced(fn, *args):
    """The primitives of ``fn(*args)``, traced afresh (``make_jaxpr`` caches by function, and
    the platform stub is not part of its key)."""
    return _primitives(jax.make_jaxpr(lambda *a: fn(*a))(*args).jaxpr)


def test_platform_is_jaxs_default():
    name = jax.default_backend()
    assert backend.platform() == ("gpu" if name in ("cuda", "rocm") else name)
    assert backend.cpu_tricks() == (name == "cpu")


def test_row_blocks_only_on_the_cpu(monkeypatch):
    big = jax.ShapeDtypeStruct((2**20, 64), jnp.float32)  # 256 MiB: blocked on the CPU
    monkeypatch.setattr(backend, "platform", lambda: "cpu")
    assert objective.block_rows(big, 1) is not None
    assert objective.block_rows(big, 10) is not None
    for name in ("gpu", "tpu"):
        monkeypatch.setattr(backend, "platform", lambda: name)
        assert objective.block_rows(big, 1) is None
        assert objective.block_rows(big, 10) is None


def test_contract_barrier_only_on_the_cpu(accelerator, monkeypatch):
    X = np.random.default_rng(0).normal(size=(40, 5))
    D = np.random.default_rng(1).normal(size=(40, 3))
    plain = _traced(contract, X, D)
    got = np.asarray(contract(X, D))
    monkeypatch.setattr(backend, "platform", lambda: "cpu")
    tuned = _traced(contract, X, D)
    assert "optimization_barrier" in tuned and "optimization_barrier" not in plain
    np.testing.assert_allclose(got, X.T @ D, rtol=1e-12)
    np.testing.assert_allclose(np.asarray(contract(X, D)), X.T @ D, rtol=1e-12)


@pytest.mark.parametrize("loss,k", [("binary_cross_entropy", 1), ("softmax_cross_entropy", 4)])
def test_the_by_rows_layout_gives_the_transposed_gradient(loss, k):
    """``W`` laid out ``(K, d)`` (the CPU's mini-batch steps): the same value, and the
    gradient's ``W`` part transposed, from its own products (float64, weights and L2)."""
    rng = np.random.default_rng(3)
    X = rng.normal(size=(33, 7))
    T = np.eye(k)[rng.integers(0, k, 33)] if k > 1 else rng.integers(0, 2, (33, 1)) * 1.0
    p = Params(jnp.asarray(rng.normal(size=(7, k))), jnp.asarray(rng.normal(size=k)))
    obj = Objective.build(loss, Penalty(0.0, 0.1), rng.uniform(0.5, 2.0, 33))
    m, g = obj.smooth_value_and_grad(p, X, T)
    m_r, g_r = obj.smooth_value_and_grad(linear.by_rows(p), X, T, by_rows=True)
    assert g_r.W.shape == (k, 7)
    np.testing.assert_allclose(float(m_r), float(m), rtol=1e-12)
    np.testing.assert_allclose(np.asarray(g_r.W).T, np.asarray(g.W), rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(np.asarray(g_r.b), np.asarray(g.b), rtol=1e-12, atol=1e-15)
    with pytest.raises(ValueError, match="objective: shapes do not agree"):
        obj.smooth_value_and_grad(p, X, T, by_rows=True)  # W given (d, K)


def test_mini_batch_epochs_turn_w_on_the_cpu_only(monkeypatch):
    """On the CPU the mini-batch epochs carry ``W`` as ``(K, d)``; elsewhere (a GPU, stubbed:
    a TPU would compute in float32) as ``(d, K)``. Both train the same model (momentum's
    state and the mean of the iterates included)."""
    rng = np.random.default_rng(4)
    X = rng.normal(size=(90, 6))
    y = rng.integers(0, 3, 90)
    calls = []
    product = objective.logits_by_rows

    def recorded(params, X):
        calls.append(params.W.shape)
        return product(params, X)

    monkeypatch.setattr(objective, "logits_by_rows", recorded)
    monkeypatch.setattr(backend, "platform", lambda: "gpu")
    kw = dict(optimizer="momentum", batch_size=16, epochs=4, l2=0.01, average=True)

    def trained():
        jax.clear_caches()  # trace afresh under the platform stub
        return jaxlin.fit(X, y, "softmax_cross_entropy", dtype=jnp.float64, **kw)

    plain = trained()
    assert calls == []
    monkeypatch.setattr(backend, "platform", lambda: "cpu")
    turned = trained()
    assert calls and set(calls) == {(3, 6)}
    for a, b in zip(turned.params, plain.params):
        np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(
        np.asarray(turned.history.objective), np.asarray(plain.history.objective), rtol=1e-10
    )


def test_a_users_optax_transformation_sees_w_as_d_by_k(monkeypatch):
    """The ``(K, d)`` carry is jaxlin's own business: a user's transformation that holds an
    array shaped like ``W`` (a per-weight step size) gets ``W`` and its updates as ``(d, K)``
    on the CPU too, and trains what the plain layout trains."""
    rng = np.random.default_rng(5)
    X = rng.normal(size=(60, 4))
    y = rng.integers(0, 3, 60)
    scale = Params(jnp.linspace(0.5, 1.5, 12).reshape(4, 3), jnp.ones(3))
    seen = []

    def per_weight(updates, params):
        seen.append(updates.W.shape)
        return jax.tree.map(lambda u, c: u * c, updates, scale)

    tx = optax.chain(optax.sgd(0.1), optax.stateless(per_weight))

    def trained(platform):
        monkeypatch.setattr(backend, "platform", lambda: platform)
        jax.clear_caches()
        kw = dict(optimizer=tx, batch_size=8, epochs=3, dtype=jnp.float64)
        return jaxlin.fit(X, y, "softmax_cross_entropy", **kw)

    cpu, gpu = trained("cpu"), trained("gpu")
    assert set(seen) == {(4, 3)}
    for a, b in zip(cpu.params, gpu.params):
        np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("loss,k", [("binary_cross_entropy", 1), ("softmax_cross_entropy", 4)])
def test_both_paths_give_the_same_gradient(loss, k, row_blocks, monkeypatch):
    """The CPU's blocked one-pass sums and the plain fused form agree (blocks made small)."""
    row_blocks(4096)
    rng = np.random.default_rng(2)
    X = rng.normal(size=(1500, 8))
    T = np.eye(k)[rng.integers(0, k, 1500)] if k > 1 else rng.integers(0, 2, (1500, 1)) * 1.0
    p = Params(jnp.asarray(rng.normal(size=(8, k))), jnp.asarray(rng.normal(size=k)))
    obj = Objective.build(loss, Penalty(0.0, 0.1), rng.uniform(0.5, 2.0, 1500))
    assert objective.block_rows(X, k) is not None
    cpu_names = _traced(obj.smooth_value_and_grad, p, X, T)
    m_cpu, g_cpu = obj.smooth_value_and_grad(p, X, T)
    for name in ("gpu", "tpu"):
        monkeypatch.setattr(backend, "platform", lambda: name)
        assert objective.block_rows(X, k) is None
        names = _traced(obj.smooth_value_and_grad, p, X, T)
        loops = {"while", "scan"}
        assert loops & cpu_names and not loops & names
        m, g = obj.smooth_value_and_grad(p, X, T)
        np.testing.assert_allclose(float(m), float(m_cpu), rtol=1e-12)
        for a, b in zip(g, g_cpu):
            np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=1e-10, atol=1e-14)


# ------------------------------------------------------------------ the precision rule


def test_compute_dtype_honours_float32_and_float64():
    assert backend.compute_dtype(None) == np.float32
    assert backend.compute_dtype(jnp.float32) == np.float32
    assert backend.compute_dtype("float64") == np.float64
    assert backend.compute_dtype(np.float64) == np.float64


@pytest.mark.parametrize("bad", [np.int32, "float16", "complex64", "nonsense", object()])
def test_compute_dtype_refuses_other_types_naming_the_argument(bad):
    with pytest.raises(ValueError, match="dtype"):
        backend.compute_dtype(bad)


def test_fit_refuses_a_bad_dtype():
    with pytest.raises(ValueError, match="dtype"):
        jaxlin.fit(np.zeros((4, 1)), np.array([0, 1, 0, 1]), dtype=np.int64)


def test_float64_becomes_float32_on_a_tpu_with_one_warning(monkeypatch):
    monkeypatch.setattr(backend, "platform", lambda: "tpu")
    X = np.random.default_rng(0).normal(size=(30, 2))
    y = (X[:, 0] > 0).astype(int)
    with pytest.warns(UserWarning, match="TPU") as rec:
        r = jaxlin.fit(X, y, dtype=jnp.float64, epochs=3)
    assert len([w for w in rec if "TPU" in str(w.message)]) == 1
    assert r.params.W.dtype == jnp.float32


def test_float64_is_honoured_on_a_gpu(monkeypatch):
    monkeypatch.setattr(backend, "platform", lambda: "gpu")
    X = np.random.default_rng(0).normal(size=(30, 2))
    y = (X[:, 0] > 0).astype(int)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        r = jaxlin.fit(X, y, dtype=jnp.float64, epochs=3)
    assert r.params.W.dtype == jnp.float64


def test_the_bridge_uses_the_same_rule(monkeypatch):
    pytest.importorskip("sklearn")
    from jaxlin.sklearn import LogisticRegression

    X = np.random.default_rng(0).normal(size=(40, 3))
    y = (X[:, 0] + 0.3 * X[:, 1] > 0).astype(int)
    assert LogisticRegression().fit(X.astype(np.float32), y).coef_.dtype == np.float32
    monkeypatch.setattr(backend, "platform", lambda: "tpu")
    with pytest.warns(UserWarning, match="TPU"):
        m = LogisticRegression().fit(X, y)
    assert m.coef_.dtype == np.float64  # X's type, though computed in float32


def test_the_precision_context_asks_for_full_precision_products():
    """Inside ``precision``: matrix products at the type's full precision (not JAX's platform
    default, TF32 on a GPU) and x64 for float64; both as they were afterwards."""
    before = (jax.config.jax_default_matmul_precision, jax.config.jax_enable_x64)
    for dtype in (np.float32, np.float64):
        with backend.precision(dtype):
            assert jax.config.jax_default_matmul_precision == backend.MATMUL_PRECISION
            assert jax.config.jax_enable_x64 or dtype == np.float32
    assert (jax.config.jax_default_matmul_precision, jax.config.jax_enable_x64) == before


def _products_traced_under(monkeypatch, run):
    """The matmul precision in force wherever ``Xᵀ Δ`` is traced during ``run()`` (in
    either layout of ``W``: ``contract``, or ``contract_by_rows`` of the mini-batch steps)."""
    seen = []

    def recording(product):
        def recorded(X, D):
            seen.append(jax.config.jax_default_matmul_precision)
            return product(X, D)

        return recorded

    for name in ("contract", "contract_by_rows"):
        monkeypatch.setattr(objective, name, recording(getattr(objective, name)))
    jax.clear_caches()  # trace afresh, so the recording wrapper is called
    run()
    return set(seen)


def test_fit_and_stream_trace_their_products_at_full_precision(monkeypatch, tmp_path):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(64, 3)).astype(np.float32)
    y = (X[:, 0] > 0).astype(int)
    for dtype in (jnp.float32, jnp.float64):
        seen = _products_traced_under(
            monkeypatch, lambda: jaxlin.fit(X, y, optimizer="lbfgs", epochs=3, dtype=dtype)
        )
        assert seen == {backend.MATMUL_PRECISION}
    np.save(tmp_path / "d.npy", np.c_[X, y].astype(np.float32))
    seen = _products_traced_under(
        monkeypatch, lambda: stream.fit_stream(tmp_path / "d.npy", epochs=1)
    )
    assert seen == {backend.MATMUL_PRECISION}


def test_float64_without_the_global_flag():
    """In a fresh process with JAX's x64 flag off: ``dtype=float64`` computes in float64 and
    the bridge follows X's type; the flag stays off."""
    code = textwrap.dedent("""
        import warnings; warnings.simplefilter("error")
        import jax, jax.numpy as jnp, numpy as np, jaxlin
        from jaxlin.sklearn import LogisticRegression
        rng = np.random.default_rng(0)
        X = rng.normal(size=(200, 4)); y = (X @ [1.0, -2.0, 0.5, 0.0] + rng.normal(size=200) > 0)
        r = jaxlin.fit(X, y.astype(int), dtype=jnp.float64, optimizer="lbfgs", l2=1e-3,
                       epochs=200, tol=None, grad_tol=1e-12)
        with jax.enable_x64(True):  # float64 arithmetic outside fit is asked for the same way
            g = jaxlin.objective.grad(r.params, jnp.asarray(X), jnp.asarray(y[:, None] * 1.0),
                                      "binary_cross_entropy", jaxlin.Penalty(0.0, 1e-3))
        print(r.params.W.dtype, float(np.max(np.abs(np.asarray(g.W)))) < 1e-10)
        m64 = LogisticRegression(tol=1e-10).fit(X, y)
        m32 = LogisticRegression().fit(X.astype(np.float32), y)
        print(m64.coef_.dtype, m32.coef_.dtype, jax.config.jax_enable_x64)
    """)
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        env={**__import__("os").environ, "JAX_ENABLE_X64": "0"},
        timeout=300,
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["float64", "True", "float64", "float32", "False"]


# ------------------------------------------------------------ no host round-trips


@pytest.mark.parametrize("optimizer", solvers.names())
def test_no_host_transfer_inside_the_compiled_loop(optimizer, monkeypatch):
    """Around the whole ``fit`` no implicit device-to-host transfer happens, the compiled
    call moves nothing implicitly either way, and its program holds no host callback."""
    seen = []
    original = training._advance

    def guarded(*args, **kwargs):
        seen.append(_primitives(jax.make_jaxpr(partial(original, **kwargs))(*args).jaxpr))
        with jax.transfer_guard("disallow"):
            return original(*args, **kwargs)

    monkeypatch.setattr(training, "_advance", guarded)
    X = np.random.default_rng(0).normal(size=(48, 3))
    y = (X[:, 0] > 0).astype(int)
    loss = "squared_error_step" if optimizer == "perceptron" else "binary_cross_entropy"
    record, extra = solvers.get(optimizer), {}
    if record.dual:  # the hinge's dual: an L2 term, no intercept
        loss, extra = "hinge", dict(l2=0.01, fit_intercept=False)
    loss = record.defined_for[0] if record.defined_for else loss  # defined for one loss
    full = not record.mini_batches
    with jax.transfer_guard_device_to_host("disallow"):
        r = jaxlin.fit(
            X, y, loss, optimizer=optimizer, epochs=3, batch_size=None if full else 16, **extra
        )
    assert len(seen) == 1 and int(jax.device_get(r.epochs)) >= 1
    assert not {n for n in seen[0] if "callback" in n}


@pytest.mark.parametrize("shape", [(), (7,), (1000, 3), (0, 4)])
def test_host_zeros_are_aligned_zeros_of_the_shape_asked(shape):
    a = backend.host_zeros(shape, np.float32)
    assert a.shape == shape and a.dtype == np.float32 and not a.any()
    assert a.flags.c_contiguous and (a.size == 0 or a.ctypes.data % backend.ALIGN == 0)


@pytest.mark.parametrize("source", [np.float64, np.int64, np.float32])
def test_put_never_shares_the_callers_array(source):
    # a converted array moves uncopied, the caller's own one is copied: changing the
    # caller's array afterwards changes nothing on the device
    a = np.arange(12, dtype=source).reshape(3, 4)[:, ::2]  # strided too
    d = backend.put(a, np.float32)
    a[...] = -1
    assert d.dtype == np.float32
    np.testing.assert_array_equal(np.asarray(d), np.arange(12).reshape(3, 4)[:, ::2])


def test_a_programs_call_pauses_the_cyclic_collector_and_restores_it():
    """While a training program runs (traced, compiled, called) the collector is off; after
    it, on again — or still off when the caller had it off, and on again after an error."""
    import gc

    seen = []

    def fn(x):
        seen.append(gc.isenabled())  # at trace time
        return x + 1

    program = backend.jit_for(fn, 0)
    assert gc.isenabled()
    assert float(program(jnp.float32(1.0))) == 2.0
    assert seen == [False] and gc.isenabled()
    gc.disable()
    try:
        program(jnp.ones(3))  # another shape: traced again
        assert seen == [False, False] and not gc.isenabled()
    finally:
        gc.enable()
    with pytest.raises(TypeError):
        program(jnp.ones(3), 2)  # a call that fails inside
    assert gc.isenabled()
    assert program.trace(jnp.ones(2)).lower().compile() is not None  # jit's own methods
