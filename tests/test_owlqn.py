"""OWL-QN: its pieces against hand and NumPy computations, and its fits against the
optimality conditions of the L1 problem computed in NumPy, FISTA, and L-BFGS without L1."""

import jax.numpy as jnp
import numpy as np
import pytest
import scipy.sparse as sp
from scipy.special import expit

import jaxlin
from jaxlin import penalties
from jaxlin.penalties import Penalty
from jaxlin.solvers.owlqn import two_loop

F64 = jnp.float64


def test_pseudo_gradient_and_orthant_projection_by_hand():
    l1 = Penalty(l1=1.0, l2=0.0)
    W = jnp.array([2.0, -3.0, 0.0, 0.0, 0.0])
    g = jnp.array([0.5, 0.5, -1.5, 1.5, 0.4])
    # w > 0: g + 1; w < 0: g − 1; at 0: g + 1 = −0.5 < 0, g − 1 = 0.5 > 0, |0.4| ≤ 1 → 0
    pg = penalties.pseudo_gradient(l1, W, g)
    np.testing.assert_array_equal(pg, [1.5, -0.5, -0.5, 0.5, 0.0])
    # the orthant: sign(w), or sign(−pg) at 0 (+, −, and none for a 0 pseudo-gradient)
    trial = jnp.array([-0.1, -2.0, 0.3, 0.2, 0.7])
    np.testing.assert_array_equal(
        penalties.orthant_projection(W, pg, trial), [0.0, -2.0, 0.3, 0.0, 0.0]
    )


def _bfgs_inverse(pairs, scale, n):
    """The L-BFGS matrix built explicitly, oldest pair first:
    H ← (I − ρ s yᵀ) H (I − ρ y sᵀ) + ρ s sᵀ, from H = scale · I."""
    H = scale * np.eye(n)
    for s, y in pairs:
        rho = 1.0 / (y @ s)
        V = np.eye(n) - rho * np.outer(y, s)
        H = V.T @ H @ V + rho * np.outer(s, s)
    return H


@pytest.mark.parametrize("stored", [0, 2, 4, 6])  # none, some, full, wrapped round
def test_the_two_loop_recursion_is_the_bfgs_matrix(stored):
    rng = np.random.default_rng(stored)
    n, memory = 6, 4
    A = rng.normal(size=(n, n))
    A = A @ A.T + n * np.eye(n)  # pairs of a convex quadratic: yᵀs > 0
    S, Y, head, pairs = np.zeros((memory, n)), np.zeros((memory, n)), 0, []
    for _ in range(stored):
        s = rng.normal(size=n)
        S[head], Y[head] = s, A @ s
        pairs = (pairs + [(s, A @ s)])[-memory:]
        head = (head + 1) % memory
    v, scale = rng.normal(size=n), 0.3
    got = two_loop(jnp.asarray(S, F64), jnp.asarray(Y, F64), head, scale, jnp.asarray(v, F64))
    np.testing.assert_allclose(got, _bfgs_inverse(pairs, scale, n) @ v, rtol=1e-10, atol=1e-12)


def _logistic_gradient(X, y, W, b):
    """∇ of the mean logistic loss, in NumPy."""
    r = (expit(X @ W + b) - y) / len(y)
    return X.T @ r, r.sum()


def _problem(n=300, d=25, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d))
    w = np.where(rng.random(d) < 0.3, rng.normal(size=d), 0.0)
    y = (X @ w + 0.5 * rng.normal(size=n) > 0).astype(int)
    return X, y


@pytest.mark.parametrize("l1,l2", [(0.02, 0.0), (0.01, 0.005)])
def test_the_fit_meets_the_optimality_conditions_of_the_l1_problem(l1, l2):
    """At the minimiser of mean L + l1 Σ|w| + l2 Σw²: ∂f/∂w = −l1 sign(w) where w ≠ 0,
    |∂f/∂w| ≤ l1 where w = 0, ∂f/∂b = 0 (f the smooth part), here in NumPy."""
    X, y = _problem()
    r = jaxlin.fit(X, y, optimizer="owlqn", l1=l1, l2=l2, dtype=F64, grad_tol=1e-11, tol=None)
    assert r.stop_reason in ("gradient_tol", "rounding")
    W, b = np.asarray(r.params.W)[:, 0], float(r.params.b[0])
    gW, gb = _logistic_gradient(X, y, W, b)
    gW = gW + 2 * l2 * W
    on = W != 0
    assert 0 < on.sum() < len(W)  # a sparse solution: both conditions are exercised
    np.testing.assert_allclose(gW[on], -l1 * np.sign(W[on]), atol=1e-9)
    assert np.all(np.abs(gW[~on]) <= l1 + 1e-9)
    assert abs(gb) < 1e-9


@pytest.mark.parametrize(
    "loss,k", [("binary_cross_entropy", 2), ("softmax_cross_entropy", 3), ("squared_hinge", 2)]
)
def test_owlqn_and_fista_reach_the_same_minimiser(loss, k):
    X, y = _problem()
    if k > 2:
        y = np.random.default_rng(1).integers(0, k, len(y))
    kw = dict(l1=0.01, dtype=F64, grad_tol=1e-10, tol=None, epochs=3000)
    a = jaxlin.fit(X, y, loss, optimizer="owlqn", **kw)
    b = jaxlin.fit(X, y, loss, optimizer="fista", **kw)
    np.testing.assert_allclose(a.params.W, b.params.W, atol=1e-8)
    np.testing.assert_array_equal(np.asarray(a.params.W) == 0, np.asarray(b.params.W) == 0)
    assert int(a.epochs) < int(b.epochs)  # the quasi-Newton direction takes fewer epochs


def test_without_l1_it_is_l_bfgs_and_sparse_rows_and_many_models_give_the_same_fit():
    X, y = _problem()
    kw = dict(dtype=F64, grad_tol=1e-10, tol=None)
    a = jaxlin.fit(X, y, optimizer="owlqn", l2=0.01, **kw)
    b = jaxlin.fit(X, y, optimizer="lbfgs", l2=0.01, **kw)
    np.testing.assert_allclose(a.params.W, b.params.W, atol=1e-8)
    Xs = sp.random(200, 40, density=0.1, random_state=0, format="csr")
    ys = np.random.default_rng(0).integers(0, 2, 200)
    dense = jaxlin.fit(Xs.toarray(), ys, optimizer="owlqn", l1=0.005, **kw)
    sparse = jaxlin.fit(Xs, ys, optimizer="owlqn", l1=0.005, **kw)
    np.testing.assert_allclose(sparse.params.W, dense.params.W, atol=1e-12)
    many = jaxlin.fit_many(X, y, optimizer="owlqn", l1=[0.005, 0.05], **kw)
    for i, l1 in enumerate([0.005, 0.05]):
        one = jaxlin.fit(X, y, optimizer="owlqn", l1=l1, **kw)
        np.testing.assert_allclose(many.params.W[i], one.params.W, atol=1e-12)


@pytest.mark.parametrize("optimizer", ["owlqn", "fista"])
def test_a_tolerance_below_float32_resolution_stops_at_rounding_not_at_the_epoch_limit(
    optimizer,
):
    # FISTA's steps that change m by rounding alone ran to the epoch limit here before the
    # driver's rounding stop applied to it; the objective is then at float32's resolution
    X, y = _problem()
    r = jaxlin.fit(X, y, optimizer=optimizer, l1=0.02, grad_tol=1e-12, tol=None, epochs=2000)
    assert r.stop_reason == "rounding" and int(r.epochs) < 500
    ref = jaxlin.fit(X, y, optimizer="owlqn", l1=0.02, dtype=F64, grad_tol=1e-12, tol=None)
    J = [float(f.history.objective[int(f.epochs) - 1]) for f in (r, ref)]
    assert abs(J[0] - J[1]) <= 1e-6 * J[1]


def test_mini_batches_are_refused_by_name():
    X, y = _problem()
    with pytest.raises(ValueError, match="batch_size"):
        jaxlin.fit(X, y, optimizer="owlqn", l1=0.01, batch_size=32)
