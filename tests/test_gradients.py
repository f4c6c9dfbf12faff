"""Every hand-derived gradient equals jax.grad (float64, 1e-10) and central differences (1e-6)."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax.flatten_util import ravel_pytree

import jaxlin
from jaxlin import derivations
from jaxlin import objective as obj
from jaxlin import penalties
from jaxlin.linear import Params
from jaxlin.losses import LOSSES
from jaxlin.penalties import Penalty

from helpers import random_problem, rel_err

SHAPES = [(1, 1, 1), (5, 3, 1), (9, 4, 2), (17, 6, 2), (32, 7, 5)]
PENALTIES = {
    "none": Penalty(),
    "l2": penalties.l2(0.25),
    "l1": penalties.l1(0.1),
    "elastic_net": penalties.elastic_net(0.2, 0.5),
}


def _cases():
    for name, loss in LOSSES.items():
        for n, d, k in SHAPES:
            if k < loss.min_classes:
                continue
            for pen in PENALTIES:
                yield pytest.param(name, (n, d, k), pen, id=f"{name}-N{n}d{d}K{k}-{pen}")


@pytest.mark.parametrize("name,shape,pen", list(_cases()))
def test_hand_gradient_matches_autodiff_and_finite_differences(name, shape, pen, key):
    """The check behind ``jaxlin check`` (one implementation), on every loss × shape × penalty."""
    loss, penalty = LOSSES[name], PENALTIES[pen]
    params, X, T = random_problem(loss, key, *shape, l1=penalty.l1 != 0.0)
    J, _ = obj.value_and_grad(params, X, T, loss, penalty)
    Ja, _ = obj.autodiff_value_and_grad(params, X, T, loss, penalty)
    assert J.dtype == jnp.float64
    assert abs(float(J - Ja)) <= 1e-12 * max(1.0, abs(float(Ja)))
    row = derivations.gradient_row(loss, penalty, params, X, T)
    assert row.err_autodiff <= 1e-10
    assert (row.err_fd is None) == (loss.surrogate is not None)  # FD skipped for the step only
    assert row.err_fd is None or row.err_fd <= 1e-6
    assert row.passed


def test_straight_through_is_not_the_gradient_of_the_step_loss(key):
    """Erratum E1: autodiff of the step loss itself is 0; the perceptron rule is not."""
    loss = LOSSES["squared_error_step"]
    params, X, T = random_problem(loss, key, 30, 3, 1)
    exact = jax.grad(obj.objective)(params, X, T, loss)
    rule = obj.grad(params, X, T, loss)
    assert float(jnp.max(jnp.abs(exact.W))) == 0.0
    assert float(jnp.max(jnp.abs(rule.W))) > 0.01


def test_penalty_never_touches_the_bias(key):
    loss = LOSSES["binary_cross_entropy"]
    params, X, T = random_problem(loss, key, 10, 3, 1)
    g0 = obj.grad(params, X, T, loss)
    g1 = obj.grad(params, X, T, loss, penalties.elastic_net(5.0, 0.5))
    assert jnp.array_equal(g0.b, g1.b)
    assert not jnp.allclose(g0.W, g1.W)
    J0 = obj.objective(params, X, T, loss)
    J1 = obj.objective(params._replace(b=params.b + 3.0), X, T, loss, penalties.l2(1.0))
    J1_ref = obj.objective(params._replace(b=params.b + 3.0), X, T, loss) + jnp.sum(params.W**2)
    assert jnp.allclose(J1, J1_ref, rtol=1e-14) and not jnp.allclose(J0, J1)


def test_batched_equals_loop_over_single_examples(key):
    for name, loss in LOSSES.items():
        k = 3 if loss.min_classes > 1 else 1
        params, X, T = random_problem(loss, key, 6, 4, k)
        Z = X @ params.W + params.b
        batch_L = obj.per_example_losses(loss, Z, T)
        batch_D = obj.score_gradients(loss, Z, T)
        for i in range(X.shape[0]):
            assert jnp.allclose(batch_L[i], loss.value(Z[i], T[i]), rtol=1e-14, atol=0), name
            assert jnp.allclose(batch_D[i], loss.delta(Z[i], T[i]), rtol=1e-14, atol=0), name
        # the batch gradient is the mean of the single-example gradients
        _, g = obj.value_and_grad(params, X, T, loss)
        singles = [obj.grad(params, X[i : i + 1], T[i : i + 1], loss) for i in range(X.shape[0])]
        mean_W = sum(s.W for s in singles) / X.shape[0]
        mean_b = sum(s.b for s in singles) / X.shape[0]
        assert jnp.allclose(g.W, mean_W, rtol=1e-12, atol=1e-15), name
        assert jnp.allclose(g.b, mean_b, rtol=1e-12, atol=1e-15), name


def test_jit_equals_no_jit(key):
    for name, loss in LOSSES.items():
        k = 3 if loss.min_classes > 1 else 1
        params, X, T = random_problem(loss, key, 8, 3, k)
        pen = penalties.elastic_net(0.1, 0.3)
        eager = obj.value_and_grad(params, X, T, loss, pen)
        jitted = jax.jit(obj.value_and_grad, static_argnums=3)(params, X, T, loss, pen)
        for a, b in zip(ravel_pytree(eager)[0], ravel_pytree(jitted)[0]):
            assert jnp.allclose(a, b, rtol=1e-13, atol=1e-15), name


def test_sample_weight_is_a_weighted_mean(key):
    """Integer weights equal repeating rows; the gradient matches autodiff of the weighted mean."""
    loss = LOSSES["softmax_cross_entropy"]
    params, X, T = random_problem(loss, key, 5, 3, 3)
    w = jnp.array([1.0, 2.0, 0.0, 3.0, 1.0])
    reps = jnp.array([0, 1, 1, 3, 3, 3, 4])
    J, g = obj.value_and_grad(params, X, T, loss, penalties.l2(0.1), sample_weight=w)
    Jr, gr = obj.value_and_grad(params, X[reps], T[reps], loss, penalties.l2(0.1))
    Ja, ga = obj.autodiff_value_and_grad(params, X, T, loss, penalties.l2(0.1), sample_weight=w)
    assert jnp.allclose(J, Jr, rtol=1e-13) and jnp.allclose(J, Ja, rtol=1e-13)
    assert rel_err(ravel_pytree(g)[0], ravel_pytree(gr)[0]) < 1e-12
    assert rel_err(ravel_pytree(g)[0], ravel_pytree(ga)[0]) < 1e-10


def test_log_likelihood_ascent_equals_descent_on_its_negative(key):
    params, X, T = random_problem(LOSSES["log_likelihood"], key, 20, 4, 1)
    eta = 0.3
    for _ in range(5):
        up = jax.tree.map(
            lambda p, g: p + eta * g,
            params,
            obj.grad(params, X, T, "log_likelihood", penalties.l2(0.1)),
        )
        down = jax.tree.map(
            lambda p, g: p - eta * g,
            params,
            obj.grad(params, X, T, "binary_cross_entropy", penalties.l2(0.1)),
        )
        assert rel_err(ravel_pytree(up)[0], ravel_pytree(down)[0]) < 1e-14
        params = up
    assert jnp.allclose(
        obj.objective(params, X, T, "log_likelihood", penalties.l2(0.1)),
        -obj.objective(params, X, T, "binary_cross_entropy", penalties.l2(0.1)),
    )


@pytest.mark.parametrize("name", ["binary_cross_entropy", "softmax_cross_entropy", "hinge"])
@pytest.mark.parametrize("weighted", [False, True])
def test_one_pass_blocked_gradient_matches_autodiff(name, weighted, key, row_blocks):
    """Large X takes the one-pass blocked route (here forced small), with a smaller last block."""
    row_blocks(3 * 8 * 256)
    loss = LOSSES[name]
    n = 3 * 256 + 37
    k = 3 if loss.min_classes > 1 else 1
    params, X, T = random_problem(loss, key, n, 3, k, margin=1e-9)
    assert obj.block_rows(X, k) == 256
    w = jax.random.uniform(key, (n,), jnp.float64) if weighted else None
    J, g = obj.value_and_grad(params, X, T, loss, penalties.l2(0.1), w)
    Ja, ga = obj.autodiff_value_and_grad(params, X, T, loss, penalties.l2(0.1), w)
    assert abs(float(J - Ja)) <= 1e-12 * abs(float(Ja))
    assert rel_err(ravel_pytree(g)[0], ravel_pytree(ga)[0]) <= 1e-10


def _bad_public_inputs():
    rng = np.random.default_rng(8)
    X = rng.normal(size=(6, 3))
    T = np.asarray(jaxlin.encode_targets(np.array([0, 1, 0, 1, 1, 0]), "binary_cross_entropy"))
    p = Params(np.ones((3, 1)), np.zeros(1))
    nan_X = X.copy()
    nan_X[2, 1] = np.nan
    return (
        X,
        T,
        p,
        {
            "X NaN": (dict(X=nan_X), ValueError, r"X: contains NaN .* row 2, column 1"),
            "X text": (dict(X=X.astype(str)), TypeError, "X: expected a numeric array"),
            "X 1-D": (dict(X=X[:, 0]), ValueError, r"X: expected a 2-D array"),
            "T inf": (
                dict(T=np.where(T > 0, np.inf, T)),
                ValueError,
                "T: contains NaN or infinite",
            ),
            "W NaN": (dict(p=Params(np.full((3, 1), np.nan), np.zeros(1))), ValueError, "params.W"),
            "weights negative": (dict(w=-np.ones(6)), ValueError, "sample_weight: must be finite"),
            "weights zero": (
                dict(w=np.zeros(6)),
                ValueError,
                "sample_weight: all weights are zero",
            ),
            "penalty negative": (dict(pen=Penalty(0.0, -0.1)), ValueError, "penalty.l2: must be"),
            "penalty NaN": (dict(pen=Penalty(np.nan, 0.0)), ValueError, "penalty.l1: must be"),
            "T labels of 3": (
                dict(T=np.array([0, 1, 2, 0, 1, 0])),
                ValueError,
                r"T: loss 'binary_cross_entropy' is binary and needs labels in \{0, 1\}",
            ),
            "T of 2": (dict(T=2 * T), ValueError, r"T: loss .* targets in \[0, 1\], got .* 0 to 2"),
            "T negative": (dict(T=T - 1), ValueError, r"T: loss .* targets in \[0, 1\]"),
            # autodiff's reference mapped the rows by vmap: "inconsistent sizes" from JAX
            "T of other rows": (dict(T=T[:5]), ValueError, r"shapes do not agree: X \(6, 3\)"),
        },
    )


@pytest.mark.parametrize("case", list(_bad_public_inputs()[3]))
@pytest.mark.parametrize("fn", ["value_and_grad", "objective", "autodiff_value_and_grad"])
def test_public_objective_functions_name_bad_host_values(fn, case):
    # NumPy values are known: a NaN, text or a negative weight is named, not a NaN J
    X, T, p, cases = _bad_public_inputs()
    given, error, words = cases[case]
    a = {**dict(p=p, X=X, T=T, w=None, pen=Penalty()), **given}
    call = getattr(obj, fn)
    with pytest.raises(error, match=words):
        call(a["p"], a["X"], a["T"], "binary_cross_entropy", a["pen"], sample_weight=a["w"])


@pytest.mark.parametrize(
    "loss, labels",
    [
        ("binary_cross_entropy", [0, 1, 1, 0, 1]),
        ("hinge", [-1, 1, 1, -1, 1]),
        ("softmax_cross_entropy", [0, 2, 1, 2, 0]),
        ("multiclass_hinge", [3, 2, 1, 0, 0]),  # K = 4: a class absent from the labels
        ("squared_error", [0.5, -1.25, 3.0, 0.0, 2.0]),
    ],
)
def test_labels_whose_values_are_known_are_made_targets(loss, labels):
    # 1-D labels were refused ("expected targets of shape (N, K)"); fit takes them
    rng = np.random.default_rng(3)
    X = rng.normal(size=(5, 3))
    k = {"softmax_cross_entropy": 3, "multiclass_hinge": 4}.get(loss, 1)
    p = Params(jnp.asarray(rng.normal(size=(3, k))), jnp.asarray(rng.normal(size=k)))
    y = np.asarray(labels)
    if k > 1:
        T = np.eye(k)[y]
    else:
        T = ((y > 0) if loss == "hinge" else y).astype(float)[:, None]
    for given in (y, list(labels), jnp.asarray(y)):
        J, g = obj.value_and_grad(p, X, given, loss)
        J_t, g_t = obj.value_and_grad(p, X, T, loss)
        assert float(J) == float(J_t)
        np.testing.assert_array_equal(np.asarray(g.W), np.asarray(g_t.W))
        assert float(obj.objective(p, X, given, loss)) == float(J_t)
    with pytest.raises(ValueError, match=r"targets \(N, K\)"):  # inside jit: values unknown
        jax.jit(lambda t: obj.value_and_grad(p, jnp.asarray(X), t, loss))(jnp.asarray(y))


@pytest.mark.parametrize(
    "T, words",
    [
        (np.array([[1.0, 0.0, 0.0], [0.0, 1.0, 1.0]]), r"row 1 sums to 2"),
        (np.array([[1.0, 0.0, 0.0], [0.0, 0.5, 0.0]]), r"row 1 sums to 0.5"),
        (np.array([[2.0, -1.0, 0.0], [0.0, 1.0, 0.0]]), r"targets in \[0, 1\]"),
    ],
)
def test_one_hot_targets_outside_the_simplex_are_named(T, words):
    p = Params(np.zeros((2, 3)), np.zeros(3))
    with pytest.raises(ValueError, match="T: loss 'softmax_cross_entropy' .*" + words):
        obj.value_and_grad(p, np.ones((2, 2)), T, "softmax_cross_entropy")


def test_soft_targets_and_penalty_pairs_are_taken():
    # soft targets (label smoothing) are in the losses' domain; a pair (l1, l2) is a penalty
    X, T, p, _ = _bad_public_inputs()
    soft = 0.9 * T + 0.05
    J, g = obj.value_and_grad(p, X, soft, "binary_cross_entropy", (0.0, 0.1))
    Ja, ga = obj.autodiff_value_and_grad(p, X, soft, "binary_cross_entropy", Penalty(0.0, 0.1))
    np.testing.assert_allclose(float(J), float(Ja), rtol=1e-12)
    np.testing.assert_allclose(np.asarray(g.W), np.asarray(ga.W), rtol=1e-10, atol=1e-14)
    smooth = np.full((2, 3), 0.1) + 0.7 * np.eye(3)[[0, 2]]
    q = Params(np.zeros((2, 3)), np.zeros(3))
    J3 = obj.objective(q, np.ones((2, 2)), smooth, "softmax_cross_entropy")
    np.testing.assert_allclose(float(J3), np.log(3.0), rtol=1e-12)  # uniform p: −Σ t ln(1/3)


def test_public_objective_functions_run_under_jit_on_traced_values():
    # traced values are not checked (they are not known): the jitted call equals the eager one
    X, T, p, _ = _bad_public_inputs()
    eager = obj.value_and_grad(p, X, T, "binary_cross_entropy")
    traced = jax.jit(lambda q, A: obj.value_and_grad(q, A, T, "binary_cross_entropy"))(p, X)
    np.testing.assert_allclose(float(traced[0]), float(eager[0]), rtol=1e-12)
    np.testing.assert_allclose(np.asarray(traced[1].W), np.asarray(eager[1].W), rtol=1e-12)


def test_init_params_and_contract_name_bad_sizes():
    with pytest.raises(ValueError, match="n_features: must be a positive integer"):
        jaxlin.init_params(jax.random.key(0), -1, 2)
    with pytest.raises(ValueError, match="n_outputs: must be a positive integer"):
        jaxlin.init_params(jax.random.key(0), 3, 2.5)
    with pytest.raises(TypeError, match="key: the 'uniform' initialisation needs a JAX PRNG"):
        jaxlin.init_params(None, 3, 2, "uniform")
    with pytest.raises(TypeError, match="key: expected a JAX PRNG key .* got int"):
        jaxlin.init_params(0, 3, 2, "uniform")
    with pytest.raises(TypeError, match="dtype: expected a floating-point dtype, got 'nope'"):
        jaxlin.init_params(None, 3, 2, dtype="nope")
    with pytest.raises(ValueError, match=r"contract: X \(6, 3\) \(N, d\) and D \(5, 1\)"):
        jaxlin.contract(np.ones((6, 3)), np.ones((5, 1)))
