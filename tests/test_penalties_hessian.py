"""Penalties (value, gradient, prox) and the second-order convexity check."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxlin import penalties
from jaxlin.hessian import hessian, min_eigenvalue
from jaxlin.linear import Params
from jaxlin.losses import LOSSES

from helpers import random_problem


def test_penalty_values_match_their_definitions(key):
    W = jax.random.normal(key, (5, 3))
    np.testing.assert_allclose(penalties.value(penalties.l2(0.3), W), 0.3 * np.sum(np.square(W)))
    np.testing.assert_allclose(penalties.value(penalties.l1(0.3), W), 0.3 * np.sum(np.abs(W)))
    lam, a = 0.3, 0.25
    np.testing.assert_allclose(
        penalties.value(penalties.elastic_net(lam, a), W),
        lam * (a * np.abs(W).sum() + (1 - a) * np.square(W).sum()),
    )


def test_l1_subgradient_is_zero_at_zero():
    W = jnp.array([[0.0, 1.0], [-2.0, 0.0]])
    np.testing.assert_array_equal(penalties.grad(penalties.l1(1.0), W), [[0, 1], [-1, 0]])


def test_soft_threshold_takes_a_list_as_the_array_it_holds():
    # a list met jnp.sign's "requires ndarray or scalar arguments"
    np.testing.assert_allclose(
        penalties.soft_threshold([-1.0, 0.2, 3.0], 0.5), [-0.5, 0.0, 2.5], rtol=1e-7
    )
    np.testing.assert_allclose(penalties.prox(penalties.l1(0.1), [[1.0, -2.0]], 1.0), [[0.9, -1.9]])


@pytest.mark.parametrize("t", [0.0, 0.3, 1.0])
def test_soft_threshold_is_the_proximal_operator(t, key):
    """prox minimises ½(v − w)² + t|v|: compare with a dense grid search, per coordinate."""
    W = jax.random.normal(key, (12,)) * 1.5
    P = penalties.soft_threshold(W, t)
    grid = jnp.linspace(-6, 6, 240001)
    obj = 0.5 * (grid[None, :] - W[:, None]) ** 2 + t * jnp.abs(grid)[None, :]
    np.testing.assert_allclose(P, grid[jnp.argmin(obj, axis=1)], atol=1e-4)
    if t > 0:
        assert bool(jnp.any(P == 0.0))  # exact zeros
        assert bool(jnp.all((P == 0.0) == (jnp.abs(W) <= t)))


def test_hessian_bce_matches_autodiff_and_is_psd(key):
    loss = LOSSES["binary_cross_entropy"]
    params, X, T = random_problem(loss, key, 40, 3, 1)
    H = hessian(params, X, T, loss, penalties.l2(0.1))
    from jaxlin import objective as obj

    def J(theta):
        return obj.objective(Params(theta[:-1, None], theta[-1:]), X, T, loss, penalties.l2(0.1))

    theta = jnp.concatenate([params.W[:, 0], params.b])
    np.testing.assert_allclose(H, jax.hessian(J)(theta), rtol=1e-10, atol=1e-14)
    for i in range(20):  # convex: PSD at every point we try
        p, Xi, Ti = random_problem(loss, jax.random.fold_in(key, i), 30, 3, 1)
        p = p._replace(W=p.W * 5)
        assert float(min_eigenvalue(hessian(p, Xi, Ti, loss))) >= -1e-12


def test_squared_error_sigmoid_is_not_convex(key):
    loss = LOSSES["squared_error_sigmoid"]
    X = jnp.array([[1.0], [2.0], [-1.0]])
    T = jnp.array([[1.0], [1.0], [0.0]])
    # deep in the wrong tail the curvature is negative: the objective bends down
    p = Params(jnp.array([[-3.0]]), jnp.array([0.0]))
    H = hessian(p, X, T, loss)
    assert float(min_eigenvalue(H)) < -1e-3
    # the seed's 1-D second derivative, times 2 (the factor it drops), has the same sign
    s = jax.nn.sigmoid(X @ p.W)
    seed = -jnp.sum((T - 2 * T * s - 2 * s + 3 * s**2) * s * (1 - s) * X**2) / 3
    np.testing.assert_allclose(H[0, 0], 2 * seed, rtol=1e-12)

    # and autodiff agrees
    def J1(w):
        return jnp.mean((T - jax.nn.sigmoid(X * w)) ** 2)

    np.testing.assert_allclose(H[0, 0], jax.hessian(J1)(-3.0), rtol=1e-10)


@pytest.mark.parametrize("name", [n for n, loss in LOSSES.items() if loss.curvature is not None])
def test_every_curvature_is_autodiffs_second_derivative(name, key):
    """``∂²L/∂z²`` of each element-wise loss (squared error: the constant 2) against autodiff."""
    loss = LOSSES[name]
    k = 3 if loss.min_classes > 1 else 1
    _, X, T = random_problem(loss, key, 12, 2, k)
    Z = 3.0 * X[:, :1] + jnp.linspace(-2.0, 2.0, k)  # (12, k) scores over a range

    def second(z, y):
        return jnp.diag(jax.hessian(loss.value)(z, y))

    np.testing.assert_allclose(
        jax.vmap(loss.curvature)(Z, T), jax.vmap(second)(Z, T), rtol=1e-10, atol=1e-14
    )


@pytest.mark.parametrize(
    "make, message",
    [
        (lambda: penalties.l2(-0.1), "lam: must be non-negative"),
        (lambda: penalties.l1(float("nan")), "lam: must be non-negative"),
        (lambda: penalties.l1("a"), "lam: must be a non-negative number"),
        (lambda: penalties.elastic_net(0.1, 1.5), r"alpha: must be at most 1\.0"),
        (lambda: penalties.elastic_net(0.1, -0.5), "alpha: must be non-negative"),
    ],
)
def test_a_bad_strength_is_named_when_given_and_a_traced_one_passes(make, message):
    with pytest.raises(ValueError, match=message):
        make()
    # inside jit the strengths are traced: one program serves every value
    got = jax.jit(lambda lam, a: penalties.elastic_net(lam, a))(0.2, 0.25)
    np.testing.assert_allclose([got.l1, got.l2], [0.05, 0.15], rtol=1e-6)


@pytest.mark.parametrize(
    "call, message",
    [
        # a Penalty built directly skips the constructors' checks: a negative L2 rewarded
        # large weights (R = -3 for three ones), a negative step or threshold pushed every
        # weight away from 0 (1 → 1.1)
        (lambda W: penalties.value(penalties.Penalty(0.0, -1.0), W), "^penalty.l2: must be"),
        (lambda W: penalties.grad(penalties.Penalty(float("nan"), 0.0), W), "^penalty.l1: must"),
        (lambda W: penalties.prox(penalties.Penalty(0.1, 0.0), W, -1.0), "^step_size: must be"),
        (lambda W: penalties.soft_threshold(W, -0.5), "^threshold: must be non-negative"),
        (lambda W: penalties.value((0.1,), W), "^penalty: expected a Penalty"),
        # many strengths for one model (a list failed inside JAX: list * Array)
        (
            lambda W: penalties.value(penalties.Penalty(0.0, [0.1, 0.2]), W),
            r"^penalty.l2: one model's strength is a number, got shape \(2,\)",
        ),
        (lambda W: penalties.value(penalties.l2(0.1), np.where(W > 0, np.nan, W)), "^W: contains"),
        (lambda W: penalties.grad(penalties.l2(0.1), W.astype(str)), "^W: expected a numeric"),
        (lambda W: penalties.soft_threshold(np.where(W > 0, np.inf, W), 0.1), "^W: contains"),
    ],
)
def test_penalty_functions_refuse_strengths_and_steps_that_are_negative(call, message):
    W = np.ones((3, 1))
    with pytest.raises((ValueError, TypeError), match=message):
        call(W)
    # traced values are taken as they are (one program for every strength)
    got = jax.jit(lambda l1, t: penalties.prox(penalties.Penalty(l1, 0.0), W, t))(0.5, 0.4)
    np.testing.assert_allclose(got, np.full((3, 1), 0.8), rtol=1e-6)


@pytest.mark.parametrize(
    "loss, k",
    [
        ("softmax_cross_entropy", 3),
        ("one_vs_rest_logistic", 3),
        ("log_likelihood", 1),  # maximised: the penalty's term was added, not subtracted
        ("squared_error_sigmoid", 1),
    ],
)
def test_hessian_of_any_output_count_and_direction_is_autodiffs(loss, k):
    # the Hessian refused K > 1 ("no element-wise curvature"), and the log-likelihood's
    # was off by 4 l2 on W's diagonal
    from jax.flatten_util import ravel_pytree

    from jaxlin import objective as obj

    rng = np.random.default_rng(5)
    X = rng.normal(size=(9, 4))
    y = np.arange(9) % 3 if k > 1 else np.arange(9) % 2
    p = Params(jnp.asarray(rng.normal(size=(4, k))), jnp.asarray(rng.normal(size=k)))
    pen = penalties.l2(0.3)
    theta, unravel = ravel_pytree(p)
    expected = jax.hessian(lambda t: obj.autodiff_objective(unravel(t), X, y, loss, pen))(theta)
    H = hessian(p, X, y, loss, pen)
    assert H.shape == (5 * k, 5 * k)
    np.testing.assert_allclose(H, expected, rtol=1e-10, atol=1e-13)
    with pytest.raises(ValueError, match="^loss: 'multiclass_hinge' has no second derivative"):
        hessian(p, X, y, "multiclass_hinge")


def test_hessian_and_its_eigenvalue_name_inputs_that_do_not_fit():
    X, y = np.ones((5, 3)), np.array([[0.0], [1.0], [0.0], [1.0], [1.0]])
    p = Params(np.zeros((3, 1)), np.zeros(1))
    # the targets' rows were mapped against X's by vmap: "inconsistent sizes" from inside JAX
    with pytest.raises(ValueError, match=r"^objective: shapes do not agree: X \(5, 3\)"):
        hessian(p, X, y[:4], "binary_cross_entropy")
    with pytest.raises(ValueError, match=r"^H: expected a square matrix \(n, n\), got shape"):
        min_eigenvalue(np.ones((2, 3)))
    for nan in ([[np.nan, 0.0], [0.0, 1.0]], jnp.full((2, 2), jnp.nan)):  # a JAX array too
        with pytest.raises(ValueError, match="^H: contains NaN or infinite values"):
            min_eigenvalue(nan)  # was a NaN eigenvalue
    assert float(jax.jit(min_eigenvalue)(jnp.eye(2) * 3.0)) == 3.0  # traced: unchecked
    np.testing.assert_allclose(min_eigenvalue([[2.0, 1.0], [1.0, 2.0]]), 1.0, rtol=1e-6)
    # eigvalsh reads one triangle: a matrix that is not symmetric got its lower one's answer
    with pytest.raises(ValueError, match=r"^H: expected a symmetric matrix; H\[0, 1\] = 5"):
        min_eigenvalue([[1.0, 5.0], [0.0, 2.0]])
