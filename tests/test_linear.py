"""The linear model: layout, bias trick, initialisation."""

import os
import subprocess
import sys

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxlin import objective as obj
from jaxlin.linear import (
    Params,
    add_bias,
    contract,
    contract_bias,
    init_params,
    logits,
    logits_column_layout,
    logits_one,
    split_bias,
    stack_bias,
)


def test_logits_batch_is_vmap_of_one_and_equals_matmul(key):
    X = jax.random.normal(key, (6, 4))
    p = init_params(key, 4, 3, "uniform")
    Z = logits(p, X)
    assert Z.shape == (6, 3)
    np.testing.assert_allclose(Z, np.asarray(X) @ np.asarray(p.W) + np.asarray(p.b), rtol=1e-12)
    for i in range(6):
        np.testing.assert_allclose(Z[i], logits_one(p, X[i]), rtol=1e-14)


def test_bias_trick_equals_explicit_bias(key):
    X = jax.random.normal(key, (7, 3))
    p = init_params(key, 3, 2, "uniform")
    Wt = stack_bias(p)
    assert Wt.shape == (4, 2)
    np.testing.assert_allclose(add_bias(X) @ Wt, logits(p, X), rtol=1e-13)
    # and the gradient with respect to W~ is the explicit (dW, db) stacked
    T = jax.nn.one_hot(jnp.array([0, 1, 1, 0, 1, 0, 0]), 2)
    g = obj.grad(p, X, T, "softmax_cross_entropy")
    g_tilde = obj.grad(Params(Wt, jnp.zeros(2)), add_bias(X), T, "softmax_cross_entropy").W
    np.testing.assert_allclose(g_tilde, stack_bias(g), rtol=1e-12)
    assert jax.tree.all(jax.tree.map(jnp.array_equal, split_bias(Wt), p))


def test_column_layout_of_seed_003_is_the_transpose(key):
    X = jax.random.normal(key, (5, 3))
    p = init_params(key, 3, 4, "uniform")
    W_col = stack_bias(p).T  # (K, p+1)
    X_col = add_bias(X).T  # (p+1, N)
    Z_col = logits_column_layout(W_col, X_col)
    # each score written out from the column layout's definition, bias in the last column
    Xn, Wn = np.asarray(X), np.asarray(W_col)
    for k in range(4):
        for n in range(5):
            z = sum(Wn[k, j] * Xn[n, j] for j in range(3)) + Wn[k, 3]
            np.testing.assert_allclose(Z_col[k, n], z, rtol=1e-12)
    np.testing.assert_allclose(Z_col, logits(p, X).T, rtol=1e-13)
    # and the gradient: autodiff in the column layout = our hand gradient, transposed
    T = jax.nn.one_hot(jnp.array([0, 1, 2, 3, 1]), 4, dtype=X.dtype)

    def J_col(W):
        Z = logits_column_layout(W, X_col).T
        return jnp.mean(jax.nn.logsumexp(Z, axis=1) - jnp.sum(T * Z, axis=1))

    g = obj.grad(p, X, T, "softmax_cross_entropy")
    np.testing.assert_allclose(jax.grad(J_col)(W_col), stack_bias(g).T, rtol=1e-5)  # float32


def test_contract_is_xt_delta(key):
    X = jax.random.normal(key, (9, 4))
    D = jax.random.normal(jax.random.fold_in(key, 1), (9, 3))
    np.testing.assert_allclose(contract(X, D), np.asarray(X).T @ np.asarray(D), rtol=1e-12)


@pytest.mark.parametrize("platform", ["cpu", "gpu"])
@pytest.mark.parametrize("rows,mini_batch", [(1, True), (32, True), (1000, False), (32, False)])
def test_contract_bias_is_the_column_sums(key, monkeypatch, platform, rows, mini_batch):
    """``1ᵀ Δ``: the columns' sums (numpy's, in float64), for a mini-batch as a product with
    ones on the CPU, otherwise (and elsewhere) the plain sum."""
    from jaxlin import backend

    monkeypatch.setattr(backend, "platform", lambda: platform)
    D = np.asarray(jax.random.normal(key, (rows, 3)), np.float64)
    with backend.precision(np.float64):
        fn = jax.jit(lambda D: contract_bias(D, mini_batch))
        got = np.asarray(fn(jnp.asarray(D)))
        text = fn.lower(jnp.asarray(D)).as_text()
    assert got.shape == (3,) and got.dtype == np.float64
    np.testing.assert_allclose(got, D.sum(axis=0), rtol=1e-12, atol=1e-12)
    assert ("dot_general" in text) == (mini_batch and platform == "cpu")


def test_init_refuses_parameters_that_are_not_floating_point():
    with pytest.raises(ValueError, match="dtype: parameters are floating point, got int32"):
        init_params(jax.random.key(0), 3, 1, "uniform", jnp.int32)


def test_init_is_reproducible_and_in_range():
    a = init_params(jax.random.key(3), 50, 4, "uniform", jnp.float32)
    b = init_params(jax.random.key(3), 50, 4, "uniform", jnp.float32)
    c = init_params(jax.random.key(4), 50, 4, "uniform", jnp.float32)
    assert a.W.dtype == jnp.float32 and a.W.shape == (50, 4) and a.b.shape == (4,)
    assert jnp.array_equal(a.W, b.W) and jnp.array_equal(a.b, b.b)
    assert not jnp.array_equal(a.W, c.W)
    assert float(a.W.min()) >= -1.0 and float(a.W.max()) <= 1.0 and float(a.W.std()) > 0.4
    z = init_params(jax.random.key(3), 5, 2, "zeros")
    assert float(jnp.abs(z.W).sum() + jnp.abs(z.b).sum()) == 0.0


def test_bad_init_method_and_bad_shapes_are_clear(key):
    import pytest

    with pytest.raises(ValueError, match="init: unknown method 'normal'"):
        init_params(key, 3, 1, "normal")
    p = init_params(key, 3, 1)
    with pytest.raises(ValueError, match=r"X \(5, 4\)"):
        obj.objective(p, jnp.ones((5, 4)), jnp.ones((5, 1)), "binary_cross_entropy")


def test_logits_name_x_of_the_wrong_width():
    import pytest

    p = Params(jnp.zeros((3, 2)), jnp.zeros(2))
    with pytest.raises(ValueError, match=r"^X: expected shape \(N, 3\) for W of shape \(3, 2\)"):
        logits(p, jnp.ones((4, 2)))
    with pytest.raises(ValueError, match=r"^X: expected shape \(N, 3\)"):
        jax.jit(logits)(p, jnp.ones(3))


def test_a_bias_or_weights_that_would_broadcast_into_other_rows_or_outputs_are_named():
    # unchecked, b of shape (2,) broadcast Z (N, 1) into (N, 2), and 4 weights for 5 rows
    # failed inside JAX's multiplication
    import pytest

    with pytest.raises(
        ValueError, match=r"^b: expected shape \(1,\) for W of shape \(3, 1\), got \(2,\)"
    ):
        logits(Params(jnp.zeros((3, 1)), jnp.zeros(2)), jnp.ones((5, 3)))
    p, X, T = Params(jnp.zeros((3, 1)), jnp.zeros(1)), jnp.ones((5, 3)), jnp.ones((5, 1))
    for f in (obj.objective, obj.value_and_grad, obj.grad):
        with pytest.raises(ValueError, match=r"^sample_weight: expected shape \(5,\)"):
            f(p, X, T, "binary_cross_entropy", sample_weight=jnp.ones(4))


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda p: logits(p, [[1.0, "x", 2.0]]), r"^X: expected a numeric array"),
        (lambda p: logits(p, np.array([[1.0, np.nan, 2.0]])), r"^X: contains NaN or infinite"),
        (lambda p: logits(p, np.zeros((0, 3))), r"^X: empty data"),
        (lambda p: logits(p, [[1.0, 2.0], [3.0]]), r"^X: cannot be read as an array"),
        (lambda p: logits(Params([[1.0], ["w"], [0.0]], [0.0]), np.ones((2, 3))), r"^params\.W"),
        (lambda p: logits(Params(p.W, [np.inf]), np.ones((2, 3))), r"^params\.b: contains NaN"),
        (lambda p: logits((p.W, p.b, p.b), np.ones((2, 3))), r"^params: expected Params"),
        (lambda p: contract(np.ones((2, 3)), [[1.0], [np.nan]]), r"^D: contains NaN"),
        (lambda p: contract([["a", "b", "c"]] * 2, np.ones((2, 1))), r"^X: expected a numeric"),
        (lambda p: contract(np.ones((2, 3)), np.ones(2)), r"^contract: .* D two axes"),  # einsum's
        (lambda p: add_bias([["a", "b"]]), r"^X: expected a numeric array"),
        (lambda p: logits_one(p, np.ones(4)), r"^x: expected shape \(3,\) for W of shape \(3, 1\)"),
        (lambda p: logits_one(p, [1.0, np.nan, 2.0]), r"^x: contains NaN"),
    ],
)
def test_linear_functions_name_bad_values_given_on_the_host(call, message):
    # unchecked, a NumPy X with a NaN gave NaN scores, a list had no `.ndim`, text reached
    # JAX's dtype error and a list of weights no `.shape`
    p = Params(np.zeros((3, 1)), np.zeros(1))
    with pytest.raises((ValueError, TypeError), match=message):
        call(p)


def test_linear_functions_take_scipy_sparse_x_as_the_dense_values():
    sp = pytest.importorskip("scipy.sparse")
    rng = np.random.default_rng(0)
    X = rng.normal(size=(5, 4)) * (rng.random((5, 4)) < 0.4)
    p, D = Params(rng.normal(size=(4, 2)), rng.normal(size=2)), rng.normal(size=(5, 2))
    for S in (sp.csr_matrix(X), sp.csc_array(X), sp.coo_matrix(X)):
        np.testing.assert_allclose(logits(p, S), X @ p.W + p.b, rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(contract(S, D), X.T @ D, rtol=1e-12, atol=1e-12)


def test_public_functions_take_float64_numpy_arrays_quietly_without_float64():
    # JAX without float64 warned from deep inside (arrays made in the data's float64 dtype);
    # the values must equal the same calls on float32 arrays
    code = """
import warnings, numpy as np, jaxlin
from jaxlin import hessian, penalties, objective
warnings.simplefilter("error")
rng = np.random.default_rng(0)
X = rng.normal(size=(6, 3)); y = np.array([0, 1, 0, 1, 1, 0])
p = jaxlin.Params(rng.normal(size=(3, 1)), np.zeros(1))
T = jaxlin.encode_targets(y, "binary_cross_entropy")
pen, w = penalties.Penalty(0.1, 0.2), rng.random(6)
f32 = lambda a: np.asarray(a, np.float32)
p32 = jaxlin.Params(f32(p.W), f32(p.b))
Xt = jaxlin.add_bias(np.arange(6.0).reshape(3, 2))
assert Xt.dtype.name == "float32", Xt.dtype
assert np.array_equal(np.asarray(Xt), [[0, 1, 1], [2, 3, 1], [4, 5, 1]])
calls = [
    lambda p, X, w: jaxlin.value_and_grad(p, X, T, "binary_cross_entropy", pen, w)[1].W,
    lambda p, X, w: objective.objective(p, X, T, "binary_cross_entropy", pen, w),
    lambda p, X, w: objective.autodiff_value_and_grad(p, X, T, "binary_cross_entropy", pen, w)[0],
    lambda p, X, w: hessian.hessian(p, X, T, "binary_cross_entropy", pen),
    lambda p, X, w: penalties.value(pen, p.W),
]
for call in calls:
    got, want = call(p, X, w), call(p32, f32(X), f32(w))
    assert got.dtype.name == "float32", got.dtype
    np.testing.assert_allclose(np.asarray(got), np.asarray(want), rtol=1e-6)
"""
    env = {k: v for k, v in os.environ.items() if k != "JAX_ENABLE_X64"}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr[-1500:]
