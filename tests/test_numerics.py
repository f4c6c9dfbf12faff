"""Losses and gradients stay finite for extreme logits; stable forms agree with naive ones."""
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxlin import objective as obj
from jaxlin.losses import LOSSES

EXTREMES = [(jnp.float32, 1e4), (jnp.float64, 1e30)]


@pytest.mark.parametrize("name", sorted(LOSSES))
@pytest.mark.parametrize("dtype,big", EXTREMES, ids=["float32-1e4", "float64-1e30"])
def test_finite_at_extreme_logits(name, dtype, big):
    loss = LOSSES[name]
    k = 3 if loss.min_classes > 1 else 1
    signs = jnp.array([[1.0, -1.0, 1.0], [-1.0, 1.0, -1.0], [1.0, 1.0, -1.0], [-1.0, -1.0, -1.0]],
                      dtype)[:, :k]
    Z = signs * jnp.asarray(big, dtype)
    if loss.target == "onehot":
        T = jax.nn.one_hot(jnp.array([0, 1, 2, 0]) % k, k, dtype=dtype)
    else:
        T = jnp.array([[1.0], [0.0], [1.0], [0.0]], dtype) * jnp.ones((1, k), dtype)
    L = obj.per_example_losses(loss, Z, T)
    D = obj.score_gradients(loss, Z, T)
    G = jax.vmap(jax.grad(loss.autodiff_value))(Z, T)
    assert L.dtype == dtype and D.dtype == dtype
    assert bool(jnp.all(jnp.isfinite(L))), L
    assert bool(jnp.all(jnp.isfinite(D))), D
    assert bool(jnp.all(jnp.isfinite(G))), G
    if loss.surrogate is None:
        # away from kinks (ties of huge scores are kinks) the hand-derived δ equals autodiff
        away = (jnp.ones(Z.shape[0], bool) if loss.kink_distance is None
                else jax.vmap(loss.kink_distance)(Z, T) > 1e-6)
        np.testing.assert_allclose(D[away], G[away], rtol=1e-6, atol=1e-6)


def test_bce_stable_matches_naive_where_naive_is_finite(key):
    # beyond |z| ≈ 15 the naive 1 − σ(z) loses digits (still finite, but wrong) before it overflows
    z = jnp.linspace(-15, 15, 601)
    y = jax.random.bernoulli(key, 0.5, z.shape).astype(z.dtype)
    s = 1.0 / (1.0 + jnp.exp(-z))
    naive = -(y * jnp.log(s) + (1 - y) * jnp.log(1 - s))
    stable = jax.vmap(LOSSES["binary_cross_entropy"].value)(z[:, None], y[:, None])
    ok = jnp.isfinite(naive)
    assert bool(jnp.all(ok))
    np.testing.assert_allclose(stable[ok], naive[ok], rtol=1e-6, atol=1e-12)
    # where naive overflows the stable form still gives the right answer: −ln σ(−40) ≈ 40
    big = jax.vmap(LOSSES["binary_cross_entropy"].value)(jnp.array([[-40.0]]), jnp.array([[1.0]]))
    np.testing.assert_allclose(big, [40.0], rtol=1e-12)
    naive32 = -jnp.log(1.0 / (1.0 + jnp.exp(jnp.float32(200.0))))
    assert not bool(jnp.isfinite(naive32))  # the failure the stable form avoids


def test_softmax_ce_stable_matches_naive_where_naive_is_finite(key):
    Z = jax.random.normal(key, (200, 5)) * 20
    y = jax.random.randint(key, (200,), 0, 5)
    e = jnp.exp(Z)
    naive = -jnp.log(e[jnp.arange(200), y] / e.sum(1))
    stable = obj.per_example_losses(LOSSES["softmax_cross_entropy"], Z, jax.nn.one_hot(y, 5))
    ok = jnp.isfinite(naive)
    assert int(ok.sum()) > 150
    np.testing.assert_allclose(stable[ok], naive[ok], rtol=1e-8, atol=1e-10)
    Z32 = jnp.array([[1000.0, 0.0, -1000.0]], jnp.float32)
    naive32 = -jnp.log(jnp.exp(Z32[0, 1]) / jnp.exp(Z32).sum())
    assert not bool(jnp.isfinite(naive32))
    stable32 = obj.per_example_losses(LOSSES["softmax_cross_entropy"], Z32,
                                      jax.nn.one_hot(jnp.array([1]), 3, dtype=jnp.float32))
    np.testing.assert_allclose(stable32, [1000.0], rtol=1e-6)


def test_objective_gradient_finite_for_huge_float32_scores(key):
    X = jnp.array([[1e4, -1e4], [-1e4, 1e4]], jnp.float32)
    p = obj.Params(jnp.ones((2, 3), jnp.float32), jnp.zeros(3, jnp.float32))
    T = jax.nn.one_hot(jnp.array([0, 2]), 3, dtype=jnp.float32)
    for name in ("softmax_cross_entropy", "one_vs_rest_logistic", "multiclass_hinge"):
        J, g = obj.value_and_grad(p, X * 1e3, T, name)
        assert bool(jnp.isfinite(J)) and bool(jnp.all(jnp.isfinite(g.W))), name
