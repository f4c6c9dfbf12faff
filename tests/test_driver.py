"""The epoch driver: every stopping rule and validation for every solver, and the objective
record's rules (intercept, tol, mini-batch averaging) against independent computations."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxlin import driver
from jaxlin import objective as obj
from jaxlin.driver import Hyper, Problem
from jaxlin.objective import Objective, encode_targets
from jaxlin.options import Options
from jaxlin.penalties import Penalty
from jaxlin.training import fit

F64 = jnp.float64


def _noise(n=40, d=30, n_val=200, seed=0):
    """Pure noise: the validation loss rises as the fit memorises the training rows."""
    rng = np.random.default_rng(seed)
    return (
        rng.normal(size=(n, d)),
        rng.integers(0, 2, n),
        rng.normal(size=(n_val, d)),
        rng.integers(0, 2, n_val),
    )


def _val_objective(params, Xv, yv, loss="binary_cross_entropy"):
    """The unpenalised validation loss, written out in numpy."""
    z = np.asarray(Xv) @ np.asarray(params.W)[:, 0] + float(params.b[0])
    if loss == "binary_cross_entropy":
        return float(np.mean(np.logaddexp(0, z) - yv * z))
    return float(np.mean((yv - (z > 0)) ** 2))  # the perceptron's: the error rate


@pytest.mark.parametrize(
    "optimizer,kw",
    [
        ("gd", dict(learning_rate=0.5)),
        ("sgd", dict(learning_rate=0.2, batch_size=8)),
        ("lbfgs", {}),
    ],
)
def test_patience_stops_early_and_returns_the_best_validation_parameters(optimizer, kw):
    X, y, Xv, yv = _noise()
    r = fit(
        X,
        y,
        optimizer=optimizer,
        epochs=2000,
        validation_data=(Xv, yv),
        patience=5,
        dtype=F64,
        **kw,
    )
    e = int(r.epochs)
    assert r.stop_reason == "early_stopping" and e < 2000
    v = np.asarray(r.history.val_objective)[:e]
    assert np.argmin(v) == e - 6  # five epochs without improvement, then stop
    assert np.all(np.isnan(np.asarray(r.history.val_objective)[e:]))
    # the returned parameters are those of the best epoch, scored independently
    np.testing.assert_allclose(_val_objective(r.params, Xv, yv), v.min(), rtol=1e-10)
    acc = np.asarray(r.history.val_accuracy)[np.argmin(v)]
    z = Xv @ np.asarray(r.params.W)[:, 0] + float(r.params.b[0])
    np.testing.assert_allclose(acc, np.mean((z >= 0) == yv), rtol=1e-12)


def test_the_perceptron_records_its_validation_history():
    X, y, Xv, yv = _noise(n=60, d=3, seed=1)
    r = fit(
        X,
        y,
        "squared_error_step",
        optimizer="perceptron",
        epochs=12,
        validation_data=(Xv, yv),
        dtype=F64,
    )
    e = int(r.epochs)
    v, acc = np.asarray(r.history.val_objective), np.asarray(r.history.val_accuracy)
    assert np.all(np.isfinite(v[:e])) and np.all(np.isfinite(acc[:e]))
    # its loss is the squared error of the step: the validation error rate
    np.testing.assert_allclose(v[e - 1], _val_objective(r.params, Xv, yv, "step"), rtol=1e-12)
    np.testing.assert_allclose(acc[e - 1], 1.0 - v[e - 1], rtol=1e-12)


def test_the_perceptron_refuses_rules_that_do_not_apply():
    X, y, _, _ = _noise(n=20, d=2)
    for kw, name in [
        (dict(tol=1e-3), "tol"),
        (dict(grad_tol=1e-3), "grad_tol"),
        (dict(step_tol=1e-3), "step_tol"),
        (dict(l2=0.1), "l1, l2"),
    ]:
        with pytest.raises(ValueError, match=f"^{name}: "):
            fit(X, y, optimizer="perceptron", **kw)


def test_validation_of_a_maximised_loss_keeps_the_highest_log_likelihood():
    """Best = lowest minimised objective, so the log-likelihood's best is its highest."""
    X, y, Xv, yv = _noise(seed=3)
    r = fit(
        X,
        y,
        "log_likelihood",
        learning_rate=0.5,
        epochs=2000,
        dtype=F64,
        validation_data=(Xv, yv),
        patience=5,
    )
    v = np.asarray(r.history.val_objective)[: int(r.epochs)]
    assert r.stop_reason == "early_stopping" and np.argmax(v) == int(r.epochs) - 6
    np.testing.assert_allclose(-_val_objective(r.params, Xv, yv), v.max(), rtol=1e-10)


@pytest.mark.parametrize("optimizer", ["gd", "lbfgs"])
def test_tol_is_one_relative_rule_for_every_solver(optimizer):
    rng = np.random.default_rng(5)
    X = rng.normal(size=(80, 3)) * 3
    y = X @ np.array([1.0, -2.0, 0.5]) + 5 * rng.normal(size=80)  # J near 25, far above 1
    tol = 1e-6
    r = fit(
        X,
        y,
        "squared_error",
        optimizer=optimizer,
        learning_rate=0.02,
        epochs=5000,
        tol=tol,
        dtype=F64,
    )
    J, e = np.asarray(r.history.objective), int(r.epochs)
    assert r.stop_reason == "objective_tol" and J[e - 2] > 1
    assert abs(J[e - 1] - J[e - 2]) < tol * abs(J[e - 2])
    assert abs(J[e - 2] - J[e - 3]) >= tol * abs(J[e - 3])


@pytest.mark.parametrize(
    "optimizer,kw",
    [("lbfgs", dict(grad_tol=1e-10)), ("gd", dict(learning_rate=2.0, grad_tol=1e-10))],
)
def test_without_an_intercept_b_stays_zero_at_sklearns_minimiser(optimizer, kw):
    from sklearn.linear_model import LogisticRegression

    rng = np.random.default_rng(2)
    X = rng.normal(size=(150, 4)) + 0.5
    y = (X @ rng.normal(size=4) + rng.normal(size=150) > 1).astype(int)
    r = fit(
        X,
        y,
        optimizer=optimizer,
        epochs=20000,
        l2=1 / (2 * 150),
        fit_intercept=False,
        dtype=F64,
        **kw,
    )
    ref = LogisticRegression(C=1.0, fit_intercept=False, tol=1e-12, max_iter=10000).fit(X, y)
    assert float(r.params.b[0]) == 0.0
    np.testing.assert_allclose(r.params.W[:, 0], ref.coef_[0], rtol=1e-5)


def test_one_mini_batch_of_every_row_is_a_full_batch_step():
    """The mini-batch solver with B = N (forced: fit turns B ≥ N into the full batch) takes the
    same steps as full-batch descent: one permuted batch has the same mean gradient."""
    rng = np.random.default_rng(4)
    X = jnp.asarray(rng.normal(size=(32, 3)))
    T = encode_targets(rng.integers(0, 2, 32), "binary_cross_entropy").astype(F64)
    problem = Problem(X, T, Objective.build("binary_cross_entropy", Penalty(0.0, 0.01)))
    hyper = Hyper(jnp.asarray(0.5, F64), jax.random.key(0))
    mini = driver.run(problem, hyper, Options("sgd", epochs=15, batch_size=32).settings(1))
    full = driver.run(problem, hyper, Options("gd", epochs=15).settings(1))
    np.testing.assert_allclose(mini.params.W, full.params.W, rtol=1e-12)
    np.testing.assert_allclose(
        mini.history.objective[1:], full.history.objective[:-1], rtol=1e-12
    )  # a mini-batch epoch reports J before its step


def test_a_weighted_mini_batch_divides_by_rows_times_the_mean_weight(key):
    """The mini-batch normaliser: Σ_batch w_i L_i / (B · mean w), written out by hand."""
    rng = np.random.default_rng(6)
    X = jnp.asarray(rng.normal(size=(10, 2)))
    T = encode_targets(rng.integers(0, 2, 10), "binary_cross_entropy").astype(F64)
    w = jnp.asarray(rng.uniform(0.5, 2.0, 10))
    o = Objective.build("binary_cross_entropy", sample_weight=w)
    idx, mask = jnp.array([3, 7, 1, 0]), jnp.array([1.0, 1.0, 1.0, 0.0])
    p = obj.Params(jnp.asarray(rng.normal(size=(2, 1))), jnp.asarray([0.3]))
    m, _ = o.on_rows(idx, mask, 10).smooth_value_and_grad(p, X[idx], T[idx])
    z = np.asarray(X[idx] @ p.W + p.b)[:, 0]
    L = np.logaddexp(0, z) - np.asarray(T[idx])[:, 0] * z
    expected = np.sum(np.asarray(mask * w[idx]) * L) / (3 * float(jnp.mean(w)))
    np.testing.assert_allclose(m, expected, rtol=1e-13)


# where float32's rounding stops a run: a user's compilation (tests/conftest.py)
@pytest.mark.fully_optimised
@pytest.mark.parametrize("optimizer", ["lbfgs", "gd"])
def test_a_tolerance_below_float32_resolution_stops_at_rounding(optimizer):
    """tol = 1e-12 cannot be met in float32 (ε = 1.2e-7): the run stops once its accepted
    steps change J only by rounding, long before the epoch limit, with its own reason."""
    rng = np.random.default_rng(3)
    X = rng.normal(size=(300, 8))
    y = (X @ rng.normal(size=8) + rng.normal(size=300) > 0).astype(int)
    r = fit(
        X,
        y,
        optimizer=optimizer,
        l2=0.01,
        learning_rate=1.0,
        epochs=5000,
        tol=1e-12,
        grad_tol=1e-12,
    )
    e = int(r.epochs)
    assert r.stop_reason in ("rounding", "objective_tol") and e < 2000, (r.stop_reason, e)
    J = np.asarray(r.history.objective[:e], np.float64)
    resolution = 10 * np.finfo(np.float32).eps * max(1.0, abs(J[-1]))
    assert abs(J[-1] - J[-2]) <= resolution  # the last step moved by rounding ...
    # ... at the optimum to float32's resolution (float64 SciPy L-BFGS on the same objective)
    import scipy.optimize

    def objective(theta):
        z = X @ theta[:-1] + theta[-1]
        value = np.mean(np.logaddexp(0.0, z) - y * z) + 0.01 * theta[:-1] @ theta[:-1]
        delta = (1.0 / (1.0 + np.exp(-z)) - y) / len(y)
        return value, np.r_[X.T @ delta + 0.02 * theta[:-1], delta.sum()]

    best = scipy.optimize.minimize(
        objective,
        np.zeros(9),
        jac=True,
        method="L-BFGS-B",
        options=dict(gtol=1e-12, ftol=1e-15, maxiter=1000),
    )
    assert abs(J[-1] - best.fun) <= resolution, (J[-1], best.fun)


def test_a_reachable_gradient_tolerance_is_reached_not_cut_short_by_rounding():
    """float64 L-BFGS to ‖∇J‖ ≤ 1e-9: its late steps change J by less than 10 ε, yet the
    gradient still falls, so the rounding stop must not end the run."""
    rng = np.random.default_rng(4)
    X = rng.normal(size=(400, 12))
    y = (X @ rng.normal(size=12) + rng.normal(size=400) > 0).astype(int)
    r = fit(X, y, optimizer="lbfgs", l2=1e-3, epochs=3000, grad_tol=1e-9, dtype=F64)
    assert r.stop_reason == "gradient_tol"
    g = jax.grad(obj.autodiff_objective)(
        r.params,
        jnp.asarray(X),
        encode_targets(y, "binary_cross_entropy").astype(F64),
        "binary_cross_entropy",
        Penalty(0.0, 1e-3),
    )
    assert float(jnp.sqrt(jnp.sum(g.W**2) + jnp.sum(g.b**2))) <= 2e-9


@pytest.mark.parametrize("optimizer", ["gd", "lbfgs", "newton", "newton-cholesky"])
def test_a_start_that_meets_the_gradient_stop_runs_no_epoch(optimizer):
    """A full-batch start whose gradient (autodiff) is already under ``grad_tol`` is the
    answer, returned as it is after no epoch (scikit-learn's lbfgs and newton-cg judge
    their start too); a ``grad_tol`` under its norm runs."""
    rng = np.random.default_rng(5)
    X = rng.normal(size=(300, 8))
    y = (X @ rng.normal(size=8) + rng.normal(size=300) > 0).astype(int)
    opt = fit(X, y, optimizer="lbfgs", l2=1e-2, grad_tol=1e-6, epochs=500, dtype=F64).params
    g = jax.grad(obj.autodiff_objective)(
        opt,
        jnp.asarray(X),
        encode_targets(y, "binary_cross_entropy").astype(F64),
        "binary_cross_entropy",
        Penalty(0.0, 1e-2),
    )
    norm = float(jnp.sqrt(jnp.sum(g.W**2) + jnp.sum(g.b**2)))
    kw = dict(optimizer=optimizer, l2=1e-2, epochs=50, init=opt, dtype=F64)
    at = fit(X, y, grad_tol=2 * norm, **kw)
    assert int(at.epochs) == 0 and at.stop_reason == "gradient_tol"
    np.testing.assert_array_equal(at.params.W, opt.W)
    assert int(fit(X, y, grad_tol=norm / 2, **kw).epochs) >= 1


def test_zero_epochs_returns_the_starting_parameters():
    X, y = _noise(n=30, d=4)[:2]
    r = fit(X, y, optimizer="lbfgs", epochs=0, init="uniform", seed=3)
    s = fit(X, y, optimizer="lbfgs", epochs=1, init="uniform", seed=3)
    assert int(r.epochs) == 0 and r.stop_reason == "max_epochs"
    assert len(r.history.objective) == 0
    # the start of the one-epoch run: same key, same uniform draw, before its first step
    assert not np.allclose(r.params.W, s.params.W)
    r2 = fit(X, y, optimizer="lbfgs", epochs=0, init="uniform", seed=3)
    np.testing.assert_array_equal(r.params.W, r2.params.W)
    assert np.all(np.abs(np.asarray(r.params.W)) <= 1.0) and np.any(np.asarray(r.params.W) != 0)


@pytest.mark.parametrize(
    "optimizer, kw",
    [("gd", dict(learning_rate=0.5)), ("newton", {}), ("owlqn", dict(l1=0.01))],
)
def test_step_tol_stops_at_the_first_small_relative_change_of_the_parameters(optimizer, kw):
    """scikit-learn's sag/saga rule, checked on the iterates a callback records: the run stops
    at the first accepted epoch with ``max|Δθ| ≤ step_tol · max|θ|``, ``θ`` the weights and
    the intercept."""
    X, y = _noise(n=60, d=5, seed=2)[:2]
    seen = [np.zeros(6)]

    def callback(epoch, params, objective):
        seen.append(np.r_[np.ravel(params.W), np.ravel(params.b)])

    tol = 1e-3
    r = fit(
        X,
        y,
        optimizer=optimizer,
        l2=0.01,
        epochs=500,
        step_tol=tol,
        callback=callback,
        dtype=F64,
        **kw,
    )
    e = int(r.epochs)
    change = [np.abs(b - a).max() / np.abs(b).max() for a, b in zip(seen, seen[1:])]
    assert r.stop_reason == "step_tol" and len(change) == e
    assert change[-1] <= tol and all(c > tol for c in change[:-1]), change
    np.testing.assert_array_equal(seen[-1][:5], np.ravel(r.params.W))


def test_step_tol_counts_the_intercept():
    """A strong L1 penalty keeps every weight at 0 while the intercept moves: the weights
    alone (scikit-learn's sag rule) would call the first such epoch converged."""
    X, y = _noise(n=60, d=5, seed=2)[:2]
    y = (np.arange(60) < 50).astype(int)  # the intercept's optimum is far from 0
    free = fit(X, y, optimizer="owlqn", l1=10.0, epochs=500, grad_tol=1e-10, dtype=F64)
    r = fit(X, y, optimizer="owlqn", l1=10.0, epochs=500, step_tol=1e-8, dtype=F64)
    assert np.all(np.asarray(r.params.W) == 0) and r.stop_reason in ("step_tol", "rounding")
    np.testing.assert_allclose(r.params.b, free.params.b, rtol=1e-7)  # log(50 / 10)
    np.testing.assert_allclose(r.params.b, np.log(5.0), rtol=1e-7)


@pytest.mark.parametrize("name", ["tol", "grad_tol", "step_tol"])
def test_a_zero_tolerance_turns_its_stop_off(name):
    X, y = _noise(n=30, d=4)[:2]
    r = fit(X, y, optimizer="gd", learning_rate=0.5, epochs=40, **{name: 0})
    assert int(r.epochs) == 40 and r.stop_reason == "max_epochs"
    with pytest.raises(ValueError, match=f"{name}: must be non-negative"):
        fit(X, y, **{name: -1e-3})


def test_the_callback_sees_each_epoch_and_may_stop_the_run():
    X, y = _noise(n=30, d=4)[:2]
    seen = []

    def callback(epoch, params, objective):
        seen.append((epoch, np.array(params.W), objective))
        return epoch == 6

    r = fit(X, y, optimizer="gd", learning_rate=0.5, epochs=50, callback=callback)
    assert r.stop_reason == "callback" and int(r.epochs) == 7
    assert [e for e, _, _ in seen] == list(range(7))
    # what it saw is the run's own record: the objective per epoch and the final parameters
    np.testing.assert_allclose([j for _, _, j in seen], r.history.objective[:7], rtol=1e-6)
    assert np.all(np.isnan(r.history.objective[7:]))
    np.testing.assert_array_equal(seen[-1][1], r.params.W)
    with pytest.raises(TypeError, match="callback: expected a callable"):
        fit(X, y, callback=3)
    with pytest.raises(TypeError, match=r"callback: must return a stop flag .* shape \(2,\)"):
        fit(X, y, epochs=5, callback=lambda *_: np.array([True, False]))
    # one truth value answers: NumPy's booleans, None (carry on)
    assert int(fit(X, y, epochs=5, callback=lambda e, *_: np.bool_(e == 1)).epochs) == 2
    assert int(fit(X, y, epochs=5, tol=0, callback=lambda *_: None).epochs) == 5


def test_an_error_in_the_callback_stops_the_run_and_is_raised_as_it_was():
    """The user's exception, not XLA's runtime error around it: the run stops at that epoch,
    and the next run (with or without a callback) is not affected."""
    X, y = _noise(n=30, d=4)[:2]
    seen = []

    class Mine(Exception):
        pass

    def callback(epoch, params, objective):
        seen.append(epoch)
        if epoch == 3:
            raise Mine("epoch 3")

    with pytest.raises(Mine, match="epoch 3"):
        fit(X, y, optimizer="gd", learning_rate=0.5, epochs=50, callback=callback)
    assert seen == [0, 1, 2, 3]  # no epoch after the error is shown to it
    a = fit(X, y, optimizer="gd", learning_rate=0.5, epochs=20, callback=lambda *_: False)
    b = fit(X, y, optimizer="gd", learning_rate=0.5, epochs=20)
    assert int(a.epochs) == int(b.epochs) and a.stop_reason == b.stop_reason
    np.testing.assert_array_equal(a.params.W, b.params.W)
