"""FISTA (accelerated proximal gradient): L1 and elastic-net optima, judged independently."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jaxlin
from jaxlin.objective import autodiff_objective
from jaxlin.penalties import Penalty


def _data(k=1, n=150, d=12, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d)) * rng.uniform(0.2, 3.0, size=d)  # unequal scales
    z = X[:, :4] @ rng.normal(size=(4, max(k, 1)))
    y = (
        (z[:, 0] + rng.normal(size=n) > 0).astype(int)
        if k == 1
        else np.argmax(z + rng.normal(size=z.shape), axis=1)
    )
    return X, y


def _kkt_violation(r, X, y, loss, l1, l2):
    """The largest violation of the optimality conditions of ``f + l1‖W‖₁``: with ``g`` the
    smooth part's gradient (by autodiff), ``|g + l1 sign w| = 0`` where ``w ≠ 0`` and
    ``|g| ≤ l1`` where ``w = 0``; the intercept's gradient is 0."""
    T = (
        jaxlin.encode_targets(y, loss)
        if loss != "softmax_cross_entropy"
        else jax.nn.one_hot(y, int(y.max()) + 1, dtype=jnp.float64)
    )
    g = jax.grad(autodiff_objective)(
        r.params, jnp.asarray(X), jnp.asarray(T, jnp.float64), loss, Penalty(0.0, l2)
    )
    W, gW = np.asarray(r.params.W), np.asarray(g.W)
    nonzero = np.abs(gW + l1 * np.sign(W))[W != 0]
    zero = np.maximum(np.abs(gW) - l1, 0.0)[W == 0]
    return max(
        np.max(nonzero, initial=0.0),
        np.max(zero, initial=0.0),
        float(np.max(np.abs(np.asarray(g.b)))),
    )


@pytest.mark.parametrize(
    "loss, k, l1, l2",
    [
        ("binary_cross_entropy", 1, 0.02, 0.0),
        ("binary_cross_entropy", 1, 0.01, 0.01),
        ("softmax_cross_entropy", 3, 0.01, 0.001),
    ],
)
def test_fista_reaches_the_l1_optimum(loss, k, l1, l2):
    X, y = _data(k)
    r = jaxlin.fit(
        X, y, loss, optimizer="fista", l1=l1, l2=l2, epochs=5000, grad_tol=1e-9, dtype=jnp.float64
    )
    assert r.stop_reason == "gradient_tol"
    assert _kkt_violation(r, X, y, loss, l1, l2) < 1e-8
    W = np.asarray(r.params.W)
    assert np.any(W == 0) and np.any(W != 0)  # a sparse solution, with exact zeros


def test_fista_is_faster_than_proximal_gradient_descent_to_the_same_point():
    X, y = _data()
    fista = jaxlin.fit(
        X, y, optimizer="fista", l1=0.02, epochs=5000, grad_tol=1e-8, dtype=jnp.float64
    )
    gd = jaxlin.fit(
        X,
        y,
        optimizer="gd",
        adaptive_lr=True,
        learning_rate=1.0,
        l1=0.02,
        epochs=5000,
        grad_tol=1e-8,
        dtype=jnp.float64,
    )
    np.testing.assert_allclose(fista.params.W, gd.params.W, atol=1e-6)
    assert int(fista.epochs) < int(gd.epochs) / 2


def test_fista_objective_never_rises_and_matches_newton_without_l1():
    X, y = _data()
    r = jaxlin.fit(X, y, optimizer="fista", l2=0.01, epochs=3000, grad_tol=1e-9, dtype=jnp.float64)
    J = np.asarray(r.history.objective)[: int(r.epochs)]
    assert np.all(np.diff(J) <= 1e-12 * np.abs(J[1:]))
    newton = jaxlin.fit(
        X, y, optimizer="newton", l2=0.01, epochs=100, grad_tol=1e-11, dtype=jnp.float64
    )
    np.testing.assert_allclose(r.params.W, newton.params.W, atol=1e-7)


def test_fista_many_models_equal_each_fit_and_batches_are_refused():
    X, y = _data()
    many = jaxlin.fit_many(
        X, y, optimizer="fista", l1=[0.005, 0.05], epochs=500, grad_tol=1e-7, dtype=jnp.float64
    )
    for i, l1 in enumerate([0.005, 0.05]):
        one = jaxlin.fit(
            X, y, optimizer="fista", l1=l1, epochs=500, grad_tol=1e-7, dtype=jnp.float64
        )
        np.testing.assert_allclose(many.params.W[i], one.params.W, atol=1e-10)
    with pytest.raises(ValueError, match="batch_size: fista is a full-batch method"):
        jaxlin.fit(X, y, optimizer="fista", batch_size=16)


def test_fista_without_intercept_keeps_b_zero():
    X, y = _data()
    r = jaxlin.fit(
        X, y, optimizer="fista", l1=0.01, fit_intercept=False, epochs=300, dtype=jnp.float64
    )
    assert np.all(np.asarray(r.params.b) == 0.0)


@pytest.mark.parametrize("k", [1, 3])
def test_fista_reaches_the_same_point_with_and_without_carried_scores(k, row_blocks):
    """FISTA carries the scores ``Z = X W + b`` (those of the extrapolated point by
    linearity) unless the gradient runs over row blocks; both ways reach the optimum that
    the optimality conditions judge, at the same point. (Unit weights make the second run a
    program of its own, compiled with X over the patched blocking threshold.)"""
    from jaxlin import objective

    loss = "binary_cross_entropy" if k == 1 else "softmax_cross_entropy"
    X, y = _data(k, n=600)
    kw = dict(optimizer="fista", l1=0.01, epochs=5000, grad_tol=1e-10, dtype=jnp.float64)
    carried = jaxlin.fit(X, y, loss, **kw)
    row_blocks(2048)  # 256 rows a block
    assert objective.block_rows(jnp.asarray(X), k) is not None
    blocked = jaxlin.fit(X, y, loss, sample_weight=np.ones(len(y)), **kw)
    for r in (carried, blocked):
        assert r.stop_reason == "gradient_tol"
        assert _kkt_violation(r, X, y, loss, 0.01, 0.0) <= 1e-8
    np.testing.assert_allclose(carried.params.W, blocked.params.W, atol=1e-8)
    np.testing.assert_allclose(carried.params.b, blocked.params.b, atol=1e-8)
