"""Second order: hand-derived Hessian-vector products and Newton's method."""

from types import SimpleNamespace

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax.flatten_util import ravel_pytree

import jaxlin
from jaxlin import datasets
from jaxlin.hessian import hessian_matrix
from jaxlin.linear import Params
from jaxlin.losses import LOSSES
from jaxlin.objective import Objective, autodiff_objective
from jaxlin.penalties import Penalty
from jaxlin.solvers.newton import FULL_PRECONDITIONER, whole_hessian_preconditions

from helpers import rel_err

SECOND_ORDER = [name for name, loss in LOSSES.items() if loss.twice_differentiable]


def _problem(name, k, rng, n=30, d=5):
    loss = LOSSES[name]
    k = max(k, loss.min_classes) if loss.target == "onehot" else k
    X = jnp.asarray(rng.normal(size=(n, d)))
    if loss.target == "onehot":
        T = jax.nn.one_hot(rng.integers(0, k, n), k, dtype=jnp.float64)
    elif loss.target == "binary":
        T = jnp.asarray((rng.random((n, k)) < 0.5).astype(float))
    else:
        T = jnp.asarray(rng.normal(size=(n, k)))
    p = Params(jnp.asarray(rng.normal(size=(d, k))), jnp.asarray(rng.normal(size=k)))
    v = Params(jnp.asarray(rng.normal(size=(d, k))), jnp.asarray(rng.normal(size=k)))
    return loss, X, T, p, v


def test_every_twice_differentiable_builtin_states_its_second_derivative():
    assert set(SECOND_ORDER) == {
        "squared_error",
        "squared_error_sigmoid",
        "binary_cross_entropy",
        "log_likelihood",
        "one_vs_rest_logistic",
        "softmax_cross_entropy",
        "signed_squared_error",
        "signed_huber",
        "signed_squared_epsilon_insensitive",
    }


@pytest.mark.parametrize("name", SECOND_ORDER)
@pytest.mark.parametrize("k", [1, 3])
@pytest.mark.parametrize("weighted,intercept", [(False, True), (True, True), (True, False)])
def test_hvp_matches_jvp_of_grad_and_differences(name, k, weighted, intercept):
    rng = np.random.default_rng(hash((name, k, weighted, intercept)) % 2**32)
    loss, X, T, p, v = _problem(name, k, rng)
    w = jnp.asarray(rng.random(X.shape[0])) if weighted else None
    o = Objective.build(loss, Penalty(0.0, 0.2), w, fit_intercept=intercept)
    p = o.mask_bias(p)
    hand = ravel_pytree(o.hvp(p, X, T, v))[0]
    # autodiff: forward over reverse of J written out directly (own sign: minimised)
    J = lambda q: o.sign * autodiff_objective(o.mask_bias(q), X, T, loss, o.penalty, w)
    auto = ravel_pytree(o.mask_bias(jax.jvp(jax.grad(J), (p,), (v,))[1]))[0]
    assert rel_err(hand, auto) <= 1e-10
    vm = o.mask_bias(v)  # without an intercept the bias stays at 0: not a direction
    g = lambda t: ravel_pytree(
        o.smooth_value_and_grad(jax.tree.map(lambda a, b: a + t * b, p, vm), X, T)[1]
    )[0]
    fd = (g(1e-6) - g(-1e-6)) / 2e-6
    assert rel_err(hand, fd) <= 1e-6


@pytest.mark.parametrize("name", SECOND_ORDER)
@pytest.mark.parametrize("k", [1, 3])
@pytest.mark.parametrize("intercept", [True, False])
def test_explicit_hessian_matches_autodiff(name, k, intercept):
    """Every block of the explicit Hessian (``W``, ``(W, b)``, ``b``; ``K = 1`` has a form
    of its own), from the scores or given them, against autodiff's Hessian."""
    rng = np.random.default_rng(5)
    loss, X, T, p, _ = _problem(name, k, rng)
    o = Objective.build(
        loss, Penalty(0.0, 0.1), jnp.asarray(rng.random(X.shape[0])), fit_intercept=intercept
    )
    p = o.mask_bias(p)
    theta, unravel = ravel_pytree(p)
    H = jax.hessian(lambda t: o.value(o.mask_bias(unravel(t)), X, T))(theta)
    if not intercept:  # the bias is no variable: its rows and columns are the identity's
        bias = np.arange(theta.size) >= p.W.size
        H = jnp.where(bias[:, None] | bias[None, :], jnp.eye(theta.size), H)
    assert rel_err(hessian_matrix(o, p, X, T), H) <= 1e-10
    Z = jaxlin.linear.logits(p, X)
    assert rel_err(hessian_matrix(o, p, X, T, Z), H) <= 1e-10


@pytest.mark.parametrize("name", ["binary_cross_entropy", "softmax_cross_entropy"])
@pytest.mark.parametrize("blocked", [False, True])
def test_value_and_gradient_given_the_scores_equal_the_ones_computed(name, blocked, row_blocks):
    """A solver that carries ``Z = X W + b`` gets the same value and gradient as one that
    does not, also where the computed ones come from row blocks (X over the threshold)."""
    from jaxlin import objective

    rng = np.random.default_rng(8)
    n = 600 if blocked else 40
    if blocked:
        row_blocks(2048)  # 256 rows a block
    loss, X, T, p, _ = _problem(name, 3, rng, n=n)
    assert (objective.block_rows(X, T.shape[1]) is not None) == blocked
    o = Objective.build(loss, Penalty(0.0, 0.3), jnp.asarray(rng.random(n)))
    m, g = o.smooth_value_and_grad(p, X, T)
    m_z, g_z = o.smooth_value_and_grad(p, X, T, jaxlin.linear.logits(p, X))
    assert rel_err(m_z, m) <= 1e-13
    assert rel_err(ravel_pytree(g_z)[0], ravel_pytree(g)[0]) <= 1e-13


@pytest.mark.parametrize("name", SECOND_ORDER)
@pytest.mark.parametrize("sparse_rows", [False, True])
def test_the_hessian_diagonal_is_autodiffs(name, sparse_rows):
    """Newton's preconditioner: ``diag ∇²m`` from the squared entries of X equals the
    diagonal of autodiff's Hessian (weighted, with the penalty, dense and sparse rows)."""
    import scipy.sparse as sp

    from jaxlin import sparse

    rng = np.random.default_rng(7)
    loss, X, T, p, _ = _problem(name, 3, rng)
    X = X * (rng.random(X.shape) < 0.6)  # some zeros, so the sparse rows skip entries
    w = jnp.asarray(rng.random(X.shape[0]))
    o = Objective.build(loss, Penalty(0.0, 0.1), w)
    theta, unravel = ravel_pytree(p)
    H = jax.hessian(lambda t: o.sign * autodiff_objective(unravel(t), X, T, loss, o.penalty, w))(
        theta
    )
    Xs = sparse.to_device(sp.csr_matrix(np.asarray(X)), np.float64) if sparse_rows else X
    hand = ravel_pytree(o.hessian_diagonal(p, Xs, T))[0]
    assert rel_err(hand, jnp.diagonal(H)) <= 1e-10
    # and with the value and gradient, given the scores (one pass on sparse rows)
    m, g, diag = o.smooth_value_grad_and_diagonal(p, Xs, T, X @ p.W + p.b)
    assert rel_err(ravel_pytree(diag)[0], jnp.diagonal(H)) <= 1e-10
    m_ref, g_ref = o.smooth_value_and_grad(p, X, T)
    assert rel_err(m, m_ref) <= 1e-12
    assert rel_err(ravel_pytree(g)[0], ravel_pytree(g_ref)[0]) <= 1e-12


def test_one_output_cg_preconditioned_by_the_whole_hessian_ends_in_a_few_steps(spambase):
    """Standardised Spambase (d + 1 = 58) under a weak penalty, where CG under the diagonal
    preconditioner takes dozens of steps per Newton step (its features are correlated):
    with the Hessian's own float32 Cholesky factor as the preconditioner CG solves the
    Newton system to √ε of its residual in two or three, and Newton reaches ‖∇J‖ ≤ 1e-9
    (autodiff) in float64."""
    X, y, _ = spambase
    l2 = 1e-7
    r = jaxlin.fit(X, y, optimizer="newton", l2=l2, epochs=100, grad_tol=1e-10, dtype=jnp.float64)
    inner = np.asarray(r.history.inner_steps[: int(r.epochs)])
    assert r.stop_reason == "gradient_tol" and np.all((inner >= 1) & (inner <= 3))
    T = jnp.asarray(y, jnp.float64)[:, None]
    g = jax.grad(autodiff_objective)(
        r.params, jnp.asarray(X), T, "binary_cross_entropy", Penalty(0.0, l2)
    )
    assert float(jnp.sqrt(jnp.sum(g.W**2) + jnp.sum(g.b**2))) <= 1e-9


def test_newton_converges_on_unscaled_columns():
    """Spambase's raw columns range from 0 to 15,841: the preconditioned Newton reaches the
    optimum that L-BFGS (float64, run long) finds, in few steps."""
    d = datasets.load("spambase")
    X, y = np.asarray(d.X, np.float64), d.y
    kw = dict(l2=1e-4, dtype=jnp.float64, tol=None)
    r = jaxlin.fit(X, y, optimizer="newton", grad_tol=1e-8, epochs=60, **kw)
    assert r.stop_reason == "gradient_tol" and int(r.epochs) <= 30
    ref = jaxlin.fit(X, y, optimizer="newton-cholesky", grad_tol=1e-9, epochs=200, **kw)
    J, J_ref = r.history.objective[int(r.epochs) - 1], ref.history.objective[int(ref.epochs) - 1]
    assert abs(J - J_ref) <= 1e-9 * abs(J_ref)


def test_a_loss_without_a_second_derivative_is_refused_by_newton():
    X, y = np.random.default_rng(0).normal(size=(20, 3)), np.arange(20) % 2
    with pytest.raises(ValueError, match="optimizer: newton needs the loss's second derivative"):
        jaxlin.fit(X, y, "hinge", optimizer="newton")
    with pytest.raises(ValueError, match="l1"):
        jaxlin.fit(X, y, optimizer="newton", l1=0.1)
    with pytest.raises(ValueError, match="batch_size"):
        jaxlin.fit(X, y, optimizer="newton-cholesky", batch_size=4)


@pytest.fixture(scope="module")
def spambase():
    d = datasets.load("spambase")
    X = (d.X - d.X.mean(0)) / d.X.std(0)
    return X, d.y, 1.0 / (2 * len(d.y))


@pytest.fixture(scope="module")
def spambase_optimum(spambase):
    X, y, l2 = spambase
    r = jaxlin.fit(X, y, optimizer="newton", l2=l2, epochs=100, grad_tol=1e-10, dtype=jnp.float64)
    return r


def test_newton_reaches_the_spambase_optimum_in_float64(spambase, spambase_optimum):
    X, y, l2 = spambase
    r = spambase_optimum
    assert r.stop_reason == "gradient_tol" and int(r.epochs) <= 30
    # ‖∇J‖ recomputed by autodiff, independently of the hand gradient
    T = jnp.asarray(y, jnp.float64)[:, None]
    g = jax.grad(autodiff_objective)(
        r.params, jnp.asarray(X), T, "binary_cross_entropy", Penalty(0.0, l2)
    )
    assert float(jnp.sqrt(jnp.sum(g.W**2) + jnp.sum(g.b**2))) <= 1e-9
    inner = np.asarray(r.history.inner_steps[: int(r.epochs)])
    assert np.all(inner >= 1) and np.all(inner == np.round(inner))  # CG steps per epoch


def test_newton_in_float32_is_within_1e_4_of_the_float64_optimum(spambase, spambase_optimum):
    X, y, l2 = spambase
    r = jaxlin.fit(X, y, optimizer="newton", l2=l2, epochs=100, grad_tol=1e-6)
    assert r.params.W.dtype == jnp.float32
    np.testing.assert_allclose(r.params.W, spambase_optimum.params.W, rtol=0, atol=1e-4)


def test_newton_cholesky_and_lbfgs_reach_the_same_optimum(spambase, spambase_optimum):
    X, y, l2 = spambase
    chol = jaxlin.fit(
        X, y, optimizer="newton-cholesky", l2=l2, epochs=100, grad_tol=1e-10, dtype=jnp.float64
    )
    assert chol.stop_reason == "gradient_tol"
    np.testing.assert_allclose(chol.params.W, spambase_optimum.params.W, rtol=0, atol=1e-8)
    lb = jaxlin.fit(X, y, optimizer="lbfgs", l2=l2, epochs=2000, grad_tol=1e-9, dtype=jnp.float64)
    np.testing.assert_allclose(lb.params.W, spambase_optimum.params.W, rtol=0, atol=1e-6)


def test_newton_matches_scikit_learns_newton_cg():
    from sklearn.linear_model import LogisticRegression

    d = datasets.load("kidcreative")
    X = (d.X - d.X.mean(0)) / d.X.std(0)
    sk = LogisticRegression(C=1.0, solver="newton-cg", tol=1e-12, max_iter=1000).fit(X, d.y)
    r = jaxlin.fit(
        X,
        d.y,
        optimizer="newton",
        l2=1 / (2 * len(d.y)),
        grad_tol=1e-11,
        epochs=100,
        dtype=jnp.float64,
    )
    np.testing.assert_allclose(np.asarray(r.params.W)[:, 0], sk.coef_[0], atol=1e-6)


@pytest.mark.parametrize("l2", [0.0, 0.01])
def test_newton_cholesky_solves_the_singular_multinomial_hessian(l2):
    """Softmax scores may all shift by one constant: with an intercept (and, without a
    penalty, every feature) the Hessian is singular. Newton-Cholesky must still take Newton
    steps (few iterations to an autodiff-judged stationary point), not gradient steps."""
    rng = np.random.default_rng(1)
    X = rng.normal(size=(120, 4))
    y = np.argmax(X[:, :3] + 1.5 * rng.normal(size=(120, 3)), axis=1)
    H = hessian_matrix(
        Objective(LOSSES["softmax_cross_entropy"], Penalty(0.0, l2)),
        Params(jnp.zeros((4, 3), jnp.float64), jnp.zeros(3, jnp.float64)),
        jnp.asarray(X),
        jax.nn.one_hot(y, 3, dtype=jnp.float64),
    )
    assert float(jnp.min(jnp.linalg.eigvalsh(H))) < 1e-12  # singular, as said
    r = jaxlin.fit(
        X,
        y,
        "softmax_cross_entropy",
        optimizer="newton-cholesky",
        l2=l2,
        epochs=30,
        grad_tol=1e-10,
        dtype=jnp.float64,
    )
    assert r.stop_reason == "gradient_tol" and int(r.epochs) <= 12
    g = jax.grad(autodiff_objective)(
        r.params, jnp.asarray(X), jax.nn.one_hot(y, 3), "softmax_cross_entropy", Penalty(0.0, l2)
    )
    assert max(float(jnp.max(jnp.abs(a))) for a in jax.tree.leaves(g)) < 1e-9


def test_newton_multinomial_with_weights_and_many_models():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(200, 5))
    y = np.argmax(X[:, :3] + rng.normal(size=(200, 3)), axis=1)
    w = rng.random(200)
    many = jaxlin.fit_many(
        X,
        y,
        "softmax_cross_entropy",
        optimizer="newton",
        l2=[0.001, 0.01, 0.1],
        sample_weight=w,
        epochs=50,
        grad_tol=1e-9,
        dtype=jnp.float64,
    )
    for i, l2 in enumerate([0.001, 0.01, 0.1]):
        one = jaxlin.fit(
            X,
            y,
            "softmax_cross_entropy",
            optimizer="newton",
            l2=l2,
            sample_weight=w,
            epochs=50,
            grad_tol=1e-9,
            dtype=jnp.float64,
        )
        np.testing.assert_allclose(many.params.W[i], one.params.W, atol=1e-9)
        # the gradient at the result, by autodiff with the weighted mean
        T = jax.nn.one_hot(y, 3, dtype=jnp.float64)
        g = jax.grad(autodiff_objective)(
            one.params, jnp.asarray(X), T, "softmax_cross_entropy", Penalty(0.0, l2), jnp.asarray(w)
        )
        assert float(jnp.max(jnp.abs(g.W))) < 1e-9


def test_command_line_and_bridge_take_newton(capsys):
    from jaxlin import cli
    from jaxlin.sklearn import LogisticRegression

    assert cli.main(["train", "--optimizer", "newton", "--json", "-", "--quiet"]) == 0
    import json

    rep = json.loads(capsys.readouterr().out)
    assert rep["training"]["stop_reason"] in ("gradient_tol", "objective_tol", "rounding")
    assert rep["training"]["epochs"] < 30
    d = datasets.load("kidcreative")
    X = (d.X - d.X.mean(0)) / d.X.std(0)
    a = LogisticRegression(solver="newton", tol=1e-10).fit(X, d.y)
    b = LogisticRegression(solver="newton-cholesky", tol=1e-10).fit(X, d.y)
    np.testing.assert_allclose(a.coef_, b.coef_, atol=1e-4)


@pytest.mark.parametrize("name", ["kidcreative", "spambase", "spambase+squares"])
def test_float32_newton_on_raw_columns_reaches_the_float64_optimum(name):
    """Unscaled columns (KidCreative's reach 75,000) make the Hessian's diagonal span many
    orders of magnitude: unpreconditioned CG then fixes the steep directions only, and
    float32 Newton stopped 0.1–0.4 above the optimum's objective, calling it rounding.
    With ten squared columns more Spambase has d + 1 = 68 > 64: its diagonal preconditions."""
    d = datasets.load(name.split("+")[0])
    X, y, l2 = np.asarray(d.X), d.y, 1e-3
    if name.endswith("squares"):
        X = np.hstack([X, X[:, :10] ** 2])
    ref = jaxlin.fit(X, y, optimizer="newton", l2=l2, grad_tol=1e-8, dtype=jnp.float64)
    r = jaxlin.fit(X, y, optimizer="newton", l2=l2, epochs=200)
    last = lambda fit, what: float(getattr(fit.history, what)[int(fit.epochs) - 1])  # noqa: E731
    assert last(ref, "grad_norm") <= 1e-8 and r.params.W.dtype == jnp.float32
    J = last(ref, "objective")
    assert abs(last(r, "objective") - J) <= 1e-6 * J


def test_float32_newton_stops_by_itself_when_no_decrease_is_left(spambase):
    X, y, l2 = spambase
    r = jaxlin.fit(X, y, optimizer="newton", l2=l2, epochs=500, grad_tol=1e-12)  # unreachable
    assert r.stop_reason == "rounding" and int(r.epochs) < 40


def test_newton_does_not_decide_on_rounding_the_row_order_changes():
    """The order of the rows changes the order of every sum, so values differ by rounding:
    Newton near the optimum (float32, a tolerance it cannot reach) must give the same
    parameters whatever the order. Accepting or rejecting a step on a change below the
    objective's float resolution made them differ by one Newton step (2e-5 here)."""
    rng = np.random.default_rng(0)
    for _ in range(6):
        X, y = rng.normal(size=(203, 6)), rng.integers(0, 3, 203)
        kw = dict(l2=0.01, optimizer="newton", epochs=30, grad_tol=1e-12)
        ref = jaxlin.fit(X, y, "softmax_cross_entropy", **kw)
        assert ref.stop_reason == "rounding"
        for _ in range(3):
            perm = rng.permutation(len(y))
            r = jaxlin.fit(X[perm], y[perm], "softmax_cross_entropy", **kw)
            np.testing.assert_allclose(r.params.W, ref.params.W, rtol=0, atol=2e-6)


@pytest.mark.parametrize("k", [1, 3])
@pytest.mark.parametrize("extreme", [None, 1e20, 1e-20])
def test_newton_cholesky_sums_float64_rows_in_float32_only_within_range(k, extreme):
    """Newton-Cholesky forms a one-output float64 problem's Hessian over a float32 copy of
    X (the direction only; float32's rounding in it), unless a value's float32 copy or
    square would leave float32's range: then the float64 sums, to float64's rounding. Never
    for K > 1 (the softmax Hessian's null space)."""
    from jaxlin.hessian import hessian_at, low_precision_sums

    rng = np.random.default_rng(3)
    name = "binary_cross_entropy" if k == 1 else "softmax_cross_entropy"
    loss, X, T, p, _ = _problem(name, k, rng, n=200)
    if extreme is not None:
        X = X.at[7, 2].set(extreme)
    o = Objective.build(loss, Penalty(0.0, 0.1), jnp.asarray(rng.random(200)))
    p = Params(p.W * 0.1, p.b)
    exact = hessian_matrix(o, p, X, T)
    sums = low_precision_sums(X, exact=k > 1)  # as the solver prepares it
    mixed = jax.jit(lambda p: hessian_at(o, X, T, sums)(p, jaxlin.linear.logits(p, X)))(p)
    err = rel_err(mixed, exact)
    if extreme is None and k == 1:
        assert 1e-12 < err <= 1e-6  # float32's rounding, not float64's
    else:
        assert err <= 1e-12


DIAGONAL = [name for name in SECOND_ORDER if LOSSES[name].diagonal_curvature]


def _output_indices(d, k, out):
    """Output ``out``'s places in ``θ = ravel(Params(W, b))``: ``W[:, out]``, then ``b[out]``."""
    return np.r_[np.arange(d) * k + out, d * k + out]


@pytest.mark.parametrize("name", DIAGONAL)
@pytest.mark.parametrize("intercept", [True, False])
def test_hessian_blocks_are_autodiffs_hessian_between_one_outputs_parameters(name, intercept):
    """A loss whose curvature is diagonal has a block-diagonal Hessian: autodiff's Hessian
    between two outputs' parameters is zero, and between one output's it is that output's
    block — dense and sparse rows, weighted, with and without an intercept."""
    import scipy.sparse as sp

    from jaxlin.hessian import hessian_blocks
    from jaxlin import sparse

    assert not LOSSES["softmax_cross_entropy"].diagonal_curvature
    rng = np.random.default_rng(8)
    k = 3
    loss, X, T, p, _ = _problem(name, k, rng)
    o = Objective.build(
        loss, Penalty(0.0, 0.1), jnp.asarray(rng.random(X.shape[0])), fit_intercept=intercept
    )
    p = o.mask_bias(p)
    theta, unravel = ravel_pytree(p)
    H = np.asarray(jax.hessian(lambda t: o.value(o.mask_bias(unravel(t)), X, T))(theta))
    d = X.shape[1]
    dense = np.asarray(hessian_blocks(o, p, X, T))
    Xs = np.asarray(X) * (rng.random(X.shape) < 0.4)
    rows = sparse.to_device(sp.csr_matrix(Xs), np.float64)
    sparse_blocks = np.asarray(hessian_blocks(o, p, rows, T))
    Hs = np.asarray(
        jax.hessian(lambda t: o.value(o.mask_bias(unravel(t)), jnp.asarray(Xs), T))(theta)
    )
    for a in range(k):
        ia = _output_indices(d, k, a)
        for want, got in ((H, dense), (Hs, sparse_blocks)):
            block = want[np.ix_(ia, ia)]
            if not intercept:
                block[-1, :] = block[:, -1] = 0.0
                block[-1, -1] = 1.0
            assert rel_err(got[a], block) <= 1e-10
            for b in range(k):
                if b != a:
                    assert np.abs(want[np.ix_(ia, _output_indices(d, k, b))]).max() == 0.0


@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("intercept", [True, False])
def test_newton_cholesky_solves_multi_output_least_squares_in_one_step(weighted, intercept):
    """Every output of a squared error has the same curvature: one shared block, factored
    once, and as the objective is a quadratic one Newton step reaches its minimum — the
    normal equations solved in NumPy, ``(X̃ᵀ D X̃ / Σw + l2 Ĩ) θ = X̃ᵀ D T / Σw``."""
    rng = np.random.default_rng(2)
    n, d, k, l2 = 60, 6, 4, 0.05
    X = rng.normal(size=(n, d))
    T = rng.normal(size=(n, k))
    w = rng.uniform(0.2, 2.0, n) if weighted else np.ones(n)
    r = jaxlin.fit(
        X,
        T,
        "squared_error",
        optimizer="newton-cholesky",
        l2=l2,
        grad_tol=1e-10,
        fit_intercept=intercept,
        sample_weight=w if weighted else None,
        dtype=jnp.float64,
    )
    Xt = np.hstack([X, np.ones((n, 1))]) if intercept else X
    reg = np.diag(np.r_[np.full(d, l2), np.zeros(Xt.shape[1] - d)])
    theta = np.linalg.solve((Xt.T * w) @ Xt / w.sum() + reg, (Xt.T * w) @ T / w.sum())
    assert r.stop_reason == "gradient_tol" and int(r.epochs) == 1
    np.testing.assert_allclose(np.asarray(r.params.W), theta[:d], rtol=1e-10, atol=1e-12)
    if intercept:
        np.testing.assert_allclose(np.asarray(r.params.b), theta[d], rtol=1e-10, atol=1e-12)


def test_newton_cholesky_multi_label_blocks_reach_newton_cgs_optimum():
    """Binary cross-entropy on ``K`` label columns: each output its own block (their
    curvatures differ), at the optimum Newton-CG reaches on the whole problem."""
    rng = np.random.default_rng(4)
    X = rng.normal(size=(80, 5))
    Y = (X @ rng.normal(size=(5, 3)) + rng.normal(size=(80, 3)) > 0).astype(float)
    kw = dict(l2=0.01, grad_tol=1e-10, epochs=100, dtype=jnp.float64)
    a = jaxlin.fit(X, Y, "binary_cross_entropy", optimizer="newton-cholesky", **kw)
    b = jaxlin.fit(X, Y, "binary_cross_entropy", optimizer="newton", **kw)
    assert a.stop_reason == b.stop_reason == "gradient_tol"
    assert rel_err(a.params.W, b.params.W) <= 1e-8
    assert rel_err(a.params.b, b.params.b) <= 1e-8


@pytest.mark.parametrize(
    "loss, l2", [("binary_cross_entropy", 0.0), ("softmax_cross_entropy", 1e-3)]
)
def test_newton_cholesky_reaches_the_least_norm_optimum_of_a_singular_hessian(loss, l2):
    """A duplicated feature without a penalty (and the softmax intercepts' common shift,
    which no penalty reaches): the optimum is a line. The Cholesky factor of the singular
    Hessian had a pivot at rounding level and its steps moved along that line by rounding
    noise — the two copies' weights 0.66 and 0.85, the intercepts' sum away from 0. Solved
    damped, the steps stay in the data's span: equal weights (scikit-learn's and L-BFGS's
    answer from zero) and intercepts summing to 0."""
    rng = np.random.default_rng(0)
    X = rng.normal(size=(200, 3))
    y = (X[:, 0] + rng.normal(size=200) > 0).astype(int)
    if loss == "softmax_cross_entropy":
        y = np.arange(200) % 3  # labels unrelated to X: its rows' sums drifted most
    Xd = np.c_[X, X[:, 0]]
    kw = dict(epochs=40, grad_tol=1e-9, dtype=jnp.float64)
    r = jaxlin.fit(Xd, y, loss, optimizer="newton-cholesky", l2=l2, **kw)
    W, b = np.asarray(r.params.W), np.asarray(r.params.b)
    assert r.stop_reason == "gradient_tol"
    np.testing.assert_allclose(W[0], W[3], rtol=1e-6)
    ref = jaxlin.fit(Xd, y, loss, optimizer="lbfgs", l2=l2, **kw)  # from zero, in the span
    np.testing.assert_allclose(W, np.asarray(ref.params.W), rtol=1e-5, atol=1e-7)
    if loss == "softmax_cross_entropy":
        assert abs(b.sum()) < 1e-6


def test_newton_cholesky_without_a_penalty_on_wide_data_is_the_least_norm_fit():
    """More features than rows, no penalty: every interpolating fit is an optimum. The
    Hessian summed in float32 (one output, float64 rows) turned its null space into pivots
    at float32's rounding, and the fit came out 5× the least norm's length. Unpenalised, the
    sums are float64's and the answer is NumPy's least-squares (minimum-norm) solution, and
    (its rows centred first) scikit-learn's ``RidgeClassifier(alpha=0)``'s."""
    from sklearn.linear_model import RidgeClassifier as TheirRidge

    from jaxlin.sklearn import RidgeClassifier

    rng = np.random.default_rng(0)
    X, t = rng.normal(size=(6, 10)), rng.normal(size=6)
    r = jaxlin.fit(
        X, t, "squared_error", optimizer="newton-cholesky", l2=0.0, grad_tol=1e-12,
        dtype=jnp.float64,
    )  # fmt: skip
    # from zero the steps stay in the span of the rows [x, 1]: the least norm of (W, b)
    theta = np.linalg.lstsq(np.c_[X, np.ones(6)], t, rcond=None)[0]
    got = np.r_[np.asarray(r.params.W)[:, 0], np.asarray(r.params.b)]
    np.testing.assert_allclose(got, theta, rtol=1e-6, atol=1e-8)  # was 23% off
    y = np.array([0, 1, 1, 0, 1, 0])
    ours, theirs = RidgeClassifier(alpha=0.0).fit(X, y), TheirRidge(alpha=0.0).fit(X, y)
    np.testing.assert_allclose(ours.coef_, theirs.coef_, rtol=1e-7, atol=1e-9)


def test_newton_cholesky_solves_a_singular_block_damped():
    """Without a penalty a feature that is zero in every row makes each block singular: the
    damped solve keeps Newton's steps elsewhere and leaves that weight at zero, at the
    least-squares fit of the other features (NumPy's ``lstsq``)."""
    rng = np.random.default_rng(6)
    X = np.hstack([rng.normal(size=(40, 3)), np.zeros((40, 1))])
    T = rng.normal(size=(40, 2))
    r = jaxlin.fit(
        X, T, "squared_error", optimizer="newton-cholesky", grad_tol=1e-9, dtype=jnp.float64
    )
    W = np.asarray(r.params.W)
    assert r.stop_reason == "gradient_tol" and np.all(W[3] == 0.0)
    theta = np.linalg.lstsq(np.hstack([X[:, :3], np.ones((40, 1))]), T, rcond=None)[0]
    np.testing.assert_allclose(W[:3], theta[:3], rtol=1e-8, atol=1e-10)


def test_explicit_hessian_limit_counts_a_diagonal_curvatures_blocks():
    """The limit is on the numbers the Hessian holds: 10 MNIST-sized squared-error outputs
    (10 blocks of 785²) are within it where softmax's whole (7,850)² matrix is not, and
    blocks over it are refused naming their count and the alternative."""
    from jaxlin.solvers import hessian_fits
    from jaxlin.solvers.newton_cholesky import NEWTON_CHOLESKY as NC

    assert hessian_fits(NC, 784, 10, LOSSES["squared_error"])
    assert not hessian_fits(NC, 784, 10, LOSSES["softmax_cross_entropy"])
    assert hessian_fits(NC, 4095, 1, LOSSES["squared_error"])
    assert not hessian_fits(NC, 4096, 1, LOSSES["squared_error"])
    rng = np.random.default_rng(0)
    X, Y = rng.normal(size=(20, 2000)), (rng.random((20, 10)) < 0.5).astype(float)
    with pytest.raises(ValueError, match=r"20010 parameters.*40,040,010 numbers.*newton"):
        jaxlin.fit(X, Y, "binary_cross_entropy", optimizer="newton-cholesky")


def test_newton_cholesky_float64_takes_the_steps_of_exact_sums():
    """The float32 sums change Newton-Cholesky's steps by float32's rounding only: on raw
    and standardised Spambase (condition numbers 6e7 and 4e2) it reaches ‖∇J‖ ≤ 1e-9 in the
    steps that exact float64 sums take (a hand-written float64 Newton with the same
    backtracking, in NumPy) and at its optimum."""
    data = datasets.load("spambase")
    X, y = np.asarray(data.X, np.float64), np.asarray(data.y, np.float64)
    for Xs in (X, (X - X.mean(0)) / X.std(0)):
        n, d = Xs.shape
        l2 = 1.0 / (2 * n)
        Xt = np.hstack([Xs, np.ones((n, 1))])
        reg = np.r_[np.full(d, 2 * l2), 0.0]

        def parts(th):
            z = Xt @ th
            s = 1 / (1 + np.exp(-z))
            J = np.mean(np.logaddexp(0, z) - y * z) + l2 * th[:-1] @ th[:-1]
            return J, Xt.T @ (s - y) / n + reg * th, (Xt.T * (s * (1 - s))) @ Xt / n + np.diag(reg)

        th, steps = np.zeros(d + 1), 0
        while np.linalg.norm(parts(th)[1]) > 1e-9:
            J, g, H = parts(th)
            p, a = -np.linalg.solve(H, g), 1.0
            while parts(th + a * p)[0] > J + 1e-4 * a * (g @ p):
                a /= 2
            th, steps = th + a * p, steps + 1
        r = jaxlin.fit(
            Xs,
            y,
            optimizer="newton-cholesky",
            l2=l2,
            grad_tol=1e-9,
            epochs=100,
            dtype=jnp.float64,
        )
        assert r.stop_reason == "gradient_tol" and int(r.epochs) == steps
        np.testing.assert_allclose(np.asarray(r.params.W)[:, 0], th[:-1], rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize("radius", [0.05, 1e3])  # ends at the boundary / at the residual
@pytest.mark.parametrize("indefinite", [False, True])  # negative curvature ends it too
def test_steihaug_carries_the_images_of_the_point_it_returns(radius, indefinite):
    from jaxlin.solvers.newton import steihaug

    rng = np.random.default_rng(7)
    Q = rng.normal(size=(6, 6))
    H = Q @ Q.T + 0.1 * np.eye(6) - (8.0 * np.eye(6) if indefinite else 0.0)
    A = rng.normal(size=(4, 6))  # any second linear map (Newton-CG: the scores' move)
    g = jnp.asarray(rng.normal(size=6))
    hvp = lambda v: (jnp.asarray(H) @ v, jnp.asarray(A) @ v)  # noqa: E731
    p, Hp, Ap, steps = steihaug(g, hvp, radius, 1e-12, 50, jnp.zeros(4))
    assert int(steps) >= 1
    np.testing.assert_allclose(np.asarray(Hp), H @ np.asarray(p), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(np.asarray(Ap), A @ np.asarray(p), rtol=1e-10, atol=1e-12)
    if radius < 1:
        assert np.linalg.norm(np.asarray(p)) == pytest.approx(radius, rel=1e-10)


def test_steihaug_ends_at_the_point_reached_on_a_direction_of_rounding_curvature():
    """H = diag(1, 1, 0): the third coordinate has no curvature and the gradient only a
    rounding-sized part along it (1e-9). The first CG step (along −g, α = gᵀg / gᵀHg = 1)
    solves the curved part exactly, p = −(1, 0.5) there; the next direction is the rest,
    (0, 0, −1e-9) to rounding, with curvature about 1e-36 — rounding against the 1 seen —
    and going to the boundary along it would move p by the whole radius (10) where the
    model changes by 1e-9 per unit. CG stops at the point it reached."""
    from jaxlin.solvers.newton import steihaug

    g = jnp.asarray([1.0, 0.5, 1e-9])
    H = jnp.asarray(np.diag([1.0, 1.0, 0.0]))
    p, _, _, steps = steihaug(g, lambda v: (H @ v, v[:1]), 10.0, 1e-14, 50, jnp.zeros(1))
    p = np.asarray(p)
    np.testing.assert_allclose(p[:2], [-1.0, -0.5], rtol=1e-12)
    assert abs(p[2]) < 1e-8 and np.linalg.norm(p) < 2.0 and int(steps) == 2


def test_steihaug_runs_a_first_direction_without_curvature_to_the_boundary():
    """A gradient along which the model has no curvature falls linearly without end: the
    step is the boundary's (Cauchy's point at ‖p‖ = radius)."""
    from jaxlin.solvers.newton import steihaug

    H = jnp.asarray(np.diag([0.0, 1.0]))
    g = jnp.asarray([2.0, 0.0])
    p, _, _, steps = steihaug(g, lambda v: (H @ v, v), 3.0, 1e-12, 50, jnp.zeros(2))
    np.testing.assert_allclose(np.asarray(p), [-3.0, 0.0], rtol=1e-12)
    assert int(steps) == 1


@pytest.mark.parametrize("name", ["binary_cross_entropy", "softmax_cross_entropy"])
@pytest.mark.parametrize("intercept", [True, False])
def test_the_newton_system_moves_the_scores_as_the_parameters_move_them(name, intercept):
    # Newton-CG carries Z: the new scores are the old ones plus what the products report
    rng = np.random.default_rng(3)
    loss, X, T, p, v = _problem(name, 3, rng)
    o = Objective.build(loss, Penalty(0.0, 0.2), None, fit_intercept=intercept)
    p = o.mask_bias(p)
    H = o.newton_system(p, X, T)
    hv, U = H(v)
    moved = o.mask_bias(jax.tree.map(jnp.add, p, v))
    Z = lambda q: X @ q.W + q.b  # noqa: E731
    np.testing.assert_allclose(np.asarray(Z(p) + U), np.asarray(Z(moved)), rtol=1e-12, atol=1e-12)
    assert rel_err(ravel_pytree(hv)[0], ravel_pytree(o.hvp(p, X, T, v))[0]) == 0.0


@pytest.mark.parametrize("d", [5, 70])  # the whole Hessian preconditions, its diagonal
@pytest.mark.parametrize("l2", [10.0, 1e3])  # with 2 l2 on the intercept too: 8 and 16 steps
def test_a_strong_penalty_leaves_the_intercepts_steps_their_length(l2, d):
    """The intercept is not penalised, so the preconditioner gives its entries no more than
    their own curvature: under a strong penalty (weights near 0, the intercept at the
    log-odds of the base rate) Newton reaches the optimum in a few steps. With the
    penalty's curvature on the intercept too, its steps were ~√(2 l2 / curvature) times
    too short and the trust region took a dozen or more steps to grow to it."""
    rng = np.random.default_rng(7)
    X = rng.normal(size=(400, d))
    y = (rng.random(400) < 0.15).astype(int)
    problem, settings = SimpleNamespace(X=X), SimpleNamespace(n_outputs=1)
    assert whole_hessian_preconditions(problem, settings) == (d + 1 <= FULL_PRECONDITIONER)
    with jax.enable_x64():
        r = jaxlin.fit(X, y, optimizer="newton", l2=l2, grad_tol=1e-9, dtype=jnp.float64)
    assert r.stop_reason == "gradient_tol" and int(r.epochs) <= 6
    from scipy.optimize import minimize  # the optimum, computed independently

    def J(theta):  # the objective and its gradient in NumPy (a finite-difference gradient
        # left BFGS 5e-5 short of the intercept's optimum on some machines)
        w, b = theta[:-1], theta[-1]
        z = X @ w + b
        r = 1.0 / (1.0 + np.exp(-z)) - y
        grad = np.r_[X.T @ r / len(y) + 2.0 * l2 * w, np.mean(r)]
        return np.mean(np.logaddexp(0, z) - y * z) + l2 * w @ w, grad

    ref = minimize(J, np.zeros(d + 1), jac=True, method="BFGS", options=dict(gtol=1e-11)).x
    np.testing.assert_allclose(np.r_[r.params.W[:, 0], r.params.b], ref, atol=1e-6)
