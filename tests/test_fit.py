"""Training: each solver against an independent loop, scikit-learn, and the documented rules."""

import warnings

import jax
import jax.numpy as jnp
import numpy as np
import optax
from functools import partial
import pytest

import jaxlin

from jaxlin import backend, driver
from jaxlin.records import DivergedWarning
from jaxlin import objective as obj
from jaxlin.training import fit, fit_many, kfold_weights
from jaxlin.linear import Params
from jaxlin.objective import encode_targets
from jaxlin.penalties import Penalty
from jaxlin.solvers.gradient import shuffled

F64 = jnp.float64


def _binary(n=120, d=4, seed=0, noise=0.5):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d))
    y = (X @ rng.normal(size=d) + noise * rng.normal(size=n) > 0).astype(int)
    return X, y


def _multi(n=150, d=4, k=3, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d))
    y = np.argmax(X @ rng.normal(size=(d, k)) + 0.7 * rng.normal(size=(n, k)), axis=1)
    return X, y


def _autodiff_gd(X, T, loss, pen, lr, epochs):
    """Plain gradient descent with jax.grad: an independent reference loop."""
    p = Params(jnp.zeros((X.shape[1], T.shape[1])), jnp.zeros(T.shape[1]))
    g = jax.jit(jax.grad(obj.autodiff_objective), static_argnums=3)
    for _ in range(epochs):
        p = jax.tree.map(lambda a, b: a - lr * b, p, g(p, X, T, loss, pen))
    return p


def test_batch_gradient_descent_equals_an_autodiff_loop():
    X, y = _binary()
    r = fit(X, y, optimizer="gd", learning_rate=0.5, epochs=30, l2=0.01, dtype=F64)
    ref = _autodiff_gd(
        jnp.asarray(X),
        encode_targets(y, "binary_cross_entropy").astype(F64),
        "binary_cross_entropy",
        Penalty(0.0, 0.01),
        0.5,
        30,
    )
    np.testing.assert_allclose(r.params.W, ref.W, rtol=1e-10)
    np.testing.assert_allclose(r.params.b, ref.b, rtol=1e-10)
    assert r.stop_reason == "max_epochs" and int(r.epochs) == 30
    # history[e] is J after epoch e
    np.testing.assert_allclose(
        r.history.objective[-1],
        obj.objective(
            ref,
            jnp.asarray(X),
            encode_targets(y, "binary_cross_entropy").astype(F64),
            "binary_cross_entropy",
            Penalty(0.0, 0.01),
        ),
        rtol=1e-12,
    )


@pytest.mark.parametrize("n", [1, 2, 3, 64, 65, 1000])
@pytest.mark.parametrize("float64", [False, True])
def test_an_epochs_order_is_a_permutation_fixed_by_its_key(n, float64):
    """``shuffled`` returns each row once, whatever the run's float type, and the same order
    for the same key; other keys give other orders."""
    key = jax.random.key(3)
    with backend.precision(np.float64 if float64 else np.float32):
        order = np.asarray(jax.jit(shuffled, static_argnums=1)(key, n))
        again = np.asarray(shuffled(key, n))
        other = np.asarray(shuffled(jax.random.key(4), n))
    assert order.dtype == np.int32
    np.testing.assert_array_equal(np.sort(order), np.arange(n))
    np.testing.assert_array_equal(order, again)
    if n >= 64:
        assert not np.array_equal(order, other)


def test_an_epochs_order_is_uniform():
    """Over 6,000 keys, each of the 6 orders of 3 rows comes up about 1,000 times, and each
    of 10 rows lands first about 600 times: chi-square statistics under their 0.1% points
    (20.5 for 5 degrees of freedom, 27.9 for 9)."""
    keys = jax.random.split(jax.random.key(0), 6000)
    orders = np.asarray(jax.vmap(lambda k: shuffled(k, 3))(keys))
    counts = np.unique(orders @ np.array([9, 3, 1]), return_counts=True)[1]
    assert len(counts) == 6
    assert np.sum((counts - 1000.0) ** 2 / 1000.0) < 20.5
    first = np.asarray(jax.vmap(lambda k: shuffled(k, 10)[0])(keys))
    counts = np.bincount(first, minlength=10)
    assert np.sum((counts - 600.0) ** 2 / 600.0) < 27.9


def _mix_reference(z):
    """SplitMix64's output function as published (Steele, Lea & Flood 2014; Vigna's C
    code); numpy's uint64 arithmetic wraps modulo 2⁶⁴ as C's does."""
    u = np.uint64
    with np.errstate(over="ignore"):
        z = (z ^ (z >> u(30))) * u(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> u(27))) * u(0x94D049BB133111EB)
        return z ^ (z >> u(31))


def _splitmix64_reference(seed, count):
    """SplitMix64's stream: the state steps by γ = 0x9E3779B97F4A7C15, each output is the
    state mixed."""
    with np.errstate(over="ignore"):
        states = np.uint64(seed) + np.arange(1, count + 1, dtype=np.uint64) * np.uint64(
            0x9E3779B97F4A7C15
        )
    return _mix_reference(states)


def test_splitmix64_matches_its_published_stream():
    """The reference's first outputs from seed 1234567 (the published test vector), and
    the stream jaxlin draws from a seed equals the reference's."""
    from jaxlin.solvers.gradient import _GOLDEN_GAMMA, _splitmix64

    expected = [6457827717110365317, 3203168211198807973, 9817491932198370423,
                4593380528125082431, 16408922859458223821]  # fmt: skip
    np.testing.assert_array_equal(_splitmix64_reference(1234567, 5), np.uint64(expected))
    with jax.enable_x64(True):
        i = jnp.arange(1, 6, dtype=jnp.uint64)
        got = _splitmix64(jnp.uint64(1234567) + i * jnp.uint64(_GOLDEN_GAMMA))
    np.testing.assert_array_equal(np.asarray(got), np.uint64(expected))


@pytest.mark.parametrize("impl", ["threefry2x32", "rbg"])
def test_an_epochs_order_sorts_the_keys_stream(impl):
    """The order is the rows sorted by the stream's high bits (ties by index), computed
    here with numpy from the key's words: the seed folds each word through the mix."""
    n, bits = 1000, 10
    key = jax.random.key(11, impl=impl)
    u = np.uint64
    seed = u(0)
    for word in np.asarray(jax.random.key_data(key)).ravel():
        seed = _mix_reference(seed ^ u(word))
    draws = _splitmix64_reference(seed, n) >> u(bits)
    expected = np.lexsort((np.arange(n), draws))
    np.testing.assert_array_equal(np.asarray(shuffled(key, n)), expected)


@pytest.mark.parametrize("n,b", [(23, 5), (20, 5), (7, 1)])
def test_mini_batch_epoch_visits_every_row_once_with_a_smaller_last_batch(n, b):
    """Replays the documented scheme: fresh permutation per epoch, last partial batch alone."""
    X, y = _binary(n=n, seed=3)
    key = jax.random.key(5)
    r = fit(X, y, optimizer="sgd", batch_size=b, learning_rate=0.3, epochs=2, key=key, dtype=F64)
    T = encode_targets(y, "binary_cross_entropy").astype(F64)
    Xj = jnp.asarray(X)
    p = Params(jnp.zeros((X.shape[1], 1)), jnp.zeros(1))
    _, k = jax.random.split(key)
    for _ in range(2):
        k, sub = jax.random.split(k)
        perm = np.asarray(shuffled(sub, n))
        for start in range(0, n, b):
            idx = perm[start : start + b]  # the last batch has n mod b rows
            g = jax.grad(obj.autodiff_objective)(p, Xj[idx], T[idx], "binary_cross_entropy")
            p = jax.tree.map(lambda a, gg: a - 0.3 * gg, p, g)
    np.testing.assert_allclose(r.params.W, p.W, rtol=1e-10, atol=1e-14)
    np.testing.assert_allclose(r.params.b, p.b, rtol=1e-10, atol=1e-14)


def test_batch_size_n_is_batch_gradient_descent():
    """B ≥ N trains as full-batch descent: the same parameters as an autodiff loop."""
    X, y = _binary(n=40)
    a = fit(X, y, batch_size=40, epochs=10, dtype=F64)
    ref = _autodiff_gd(
        jnp.asarray(X),
        encode_targets(y, "binary_cross_entropy").astype(F64),
        "binary_cross_entropy",
        Penalty(),
        0.1,
        10,
    )
    np.testing.assert_allclose(a.params.W, ref.W, rtol=1e-10)
    np.testing.assert_allclose(a.params.b, ref.b, rtol=1e-10)


def test_any_optax_transformation_and_schedule():
    X, y = _multi()
    T = encode_targets(y, "softmax_cross_entropy").astype(F64)
    sched = optax.exponential_decay(0.2, transition_steps=5, decay_rate=0.5)
    cases = [
        ("adam", optax.adam(0.05)),
        (optax.adam(0.05), optax.adam(0.05)),
        (lambda lr: optax.sgd(sched), optax.sgd(sched)),
    ]
    for opt, tx in cases:
        r = fit(
            X, y, "softmax_cross_entropy", optimizer=opt, learning_rate=0.05, epochs=25, dtype=F64
        )
        p = _optax_loop(tx, X, T, 25)
        # adam divides by √v: round-off differences grow to ~1e-8 relative
        np.testing.assert_allclose(r.params.W, p.W, rtol=1e-6, atol=1e-12)


def _optax_loop(tx, X, T, steps):
    """``steps`` full-batch updates of ``tx`` on autodiff's softmax gradient, from zeros."""
    p = Params(jnp.zeros((X.shape[1], T.shape[1])), jnp.zeros(T.shape[1]))
    state = tx.init(p)
    for _ in range(steps):
        g = jax.grad(obj.autodiff_objective)(p, jnp.asarray(X), T, "softmax_cross_entropy")
        u, state = tx.update(g, state, p)
        p = optax.apply_updates(p, u)
    return p


@pytest.mark.parametrize(
    "make, steps",
    [
        (lambda: optax.lbfgs(), 8),  # its zoom line search calls value_fn
        (lambda: optax.polyak_sgd(max_learning_rate=1.0), 10),  # takes the value
        (
            lambda: optax.chain(
                optax.sgd(0.8), optax.contrib.reduce_on_plateau(patience=1, factor=0.5)
            ),
            12,
        ),
    ],
    ids=["lbfgs", "polyak_sgd", "reduce_on_plateau"],
)
def test_optax_transformations_that_take_the_objective(make, steps):
    """optax's transformations with extra arguments (``value``, ``grad``, ``value_fn``)
    failed inside the first step; they get the objective at the parameters, its gradient
    and the objective as a function, and take the steps optax's own loop on autodiff's
    objective takes."""
    X, y = _multi()
    T = encode_targets(y, "softmax_cross_entropy").astype(F64)
    pen = Penalty(0.0, 1e-2)
    r = fit(X, y, "softmax_cross_entropy", optimizer=make(), l2=1e-2, epochs=steps, dtype=F64)
    assert int(r.epochs) == steps

    def f(p):
        return obj.autodiff_objective(p, jnp.asarray(X), T, "softmax_cross_entropy", pen)

    tx, p = make(), Params(jnp.zeros((X.shape[1], T.shape[1])), jnp.zeros(T.shape[1]))
    state = tx.init(p)
    for _ in range(steps):
        v, g = jax.value_and_grad(f)(p)
        u, state = tx.update(g, state, p, value=v, grad=g, value_fn=f)
        p = optax.apply_updates(p, u)
    np.testing.assert_allclose(r.params.W, p.W, rtol=1e-6, atol=1e-9)
    np.testing.assert_allclose(r.params.b, p.b, rtol=1e-6, atol=1e-9)


def test_a_mini_batch_step_gives_the_batch_objective_and_a_foreign_pytree_is_named():
    """On mini-batches ``value`` and ``value_fn`` are the batch's objective (equal at the
    step's parameters); a transformation that wants another pytree than ``Params(W, b)``
    is named instead of failing inside optax."""
    X, y = _binary()
    seen = []

    def update(updates, state, params=None, *, value, grad, value_fn, **extra):
        fv, fg = jax.value_and_grad(value_fn)(params)
        jax.debug.callback(lambda *a: seen.append(a), value, fv, grad, fg)
        return jax.tree.map(lambda g: -0.1 * g, updates), state

    tx = optax.GradientTransformationExtraArgs(lambda p: optax.EmptyState(), update)
    fit(X, y, optimizer=tx, batch_size=16, epochs=2, dtype=F64)
    assert len(seen) == 2 * -(-len(y) // 16)
    for value, fv, grad, fg in seen:
        np.testing.assert_allclose(value, fv, rtol=1e-12)
        np.testing.assert_allclose(grad.W, fg.W, rtol=1e-10, atol=1e-14)
    masked = optax.masked(optax.adam(0.1), (True, False))  # a tuple, not Params
    with pytest.raises(TypeError, match=r"^optimizer: the optax transformation cannot take"):
        fit(X, y, optimizer=masked, epochs=2)


@pytest.mark.parametrize("name", ["sgd", "adam", "nesterov"])
def test_an_optax_schedule_as_the_learning_rate_of_a_named_optimizer(name):
    # `learning_rate=optax.exponential_decay(...)`, as optax's own optimisers take it, was
    # refused ("must be a positive number")
    X, y = _multi()
    T = encode_targets(y, "softmax_cross_entropy").astype(F64)
    sched = optax.exponential_decay(0.3, transition_steps=4, decay_rate=0.5)
    r = fit(
        X, y, "softmax_cross_entropy", optimizer=name, learning_rate=sched, epochs=12, dtype=F64
    )
    tx = {"sgd": optax.sgd, "adam": optax.adam}.get(name) or partial(
        optax.sgd, momentum=0.9, nesterov=True
    )
    p = _optax_loop(tx(sched), X, T, 12)
    np.testing.assert_allclose(r.params.W, p.W, rtol=1e-6, atol=1e-12)
    assert float(r.history.learning_rate[0]) == pytest.approx(0.3)
    with pytest.raises(ValueError, match="^learning_rate: a schedule .* optimizer 'lbfgs'"):
        fit(X, y, "softmax_cross_entropy", optimizer="lbfgs", learning_rate=sched)
    with pytest.raises(ValueError, match="^adaptive_lr: changes the rate itself"):
        fit(X, y, "softmax_cross_entropy", learning_rate=sched, adaptive_lr=True)
    if name == "sgd":  # many models on one schedule: each as trained alone
        many = fit_many(
            X,
            y,
            "softmax_cross_entropy",
            optimizer=name,
            learning_rate=sched,
            l2=[0.0, 0.01],
            epochs=12,
            dtype=F64,
        )
        np.testing.assert_allclose(many.params.W[0], r.params.W, rtol=1e-10, atol=1e-14)


def _sklearn_logistic(X, y, C):
    from sklearn.linear_model import LogisticRegression

    m = LogisticRegression(C=C, tol=1e-12, max_iter=100000).fit(X, y)
    return m.coef_, m.intercept_


@pytest.mark.parametrize("solver", ["lbfgs", "gd"])
def test_binary_l2_logistic_reaches_sklearns_minimiser(solver):
    X, y = _binary(n=200, d=5, seed=1, noise=1.0)
    C = 1.0
    lam = 1.0 / (2 * C * len(y))  # sklearn: C Σ loss + ½‖w‖²  ⇔  mean loss + ‖w‖²/(2CN)
    kw = (
        dict(optimizer="lbfgs", epochs=500, grad_tol=1e-12, tol=1e-15)
        if solver == "lbfgs"
        else dict(optimizer="gd", learning_rate=2.0, epochs=20000, grad_tol=1e-11)
    )
    r = fit(X, y, l2=lam, dtype=F64, **kw)
    coef, intercept = _sklearn_logistic(X, y, C)
    np.testing.assert_allclose(r.params.W[:, 0], coef[0], rtol=1e-4)
    np.testing.assert_allclose(r.params.b, intercept, rtol=1e-4)


@pytest.mark.parametrize("solver", ["lbfgs", "gd"])
def test_multinomial_l2_logistic_reaches_sklearns_minimiser(solver):
    X, y = _multi(n=200, d=4, k=3, seed=2)
    C = 1.0
    lam = 1.0 / (2 * C * len(y))
    kw = (
        dict(optimizer="lbfgs", epochs=500, grad_tol=1e-12, tol=1e-15)
        if solver == "lbfgs"
        else dict(optimizer="gd", learning_rate=2.0, epochs=20000, grad_tol=1e-11)
    )
    r = fit(X, y, "softmax_cross_entropy", l2=lam, dtype=F64, **kw)
    coef, intercept = _sklearn_logistic(X, y, C)
    np.testing.assert_allclose(r.params.W, coef.T, rtol=1e-4, atol=1e-8)
    # the unpenalised intercepts are defined up to a common shift (softmax is shift-invariant)
    b = np.asarray(r.params.b)
    np.testing.assert_allclose(b - b.mean(), intercept - intercept.mean(), rtol=1e-4, atol=1e-8)


def test_log_likelihood_ascent_is_the_same_trajectory_as_descent():
    X, y = _binary()
    up = fit(X, y, "log_likelihood", learning_rate=0.4, epochs=40, l2=0.02, dtype=F64)
    down = fit(X, y, "binary_cross_entropy", learning_rate=0.4, epochs=40, l2=0.02, dtype=F64)
    np.testing.assert_allclose(up.params.W, down.params.W, rtol=1e-12)
    np.testing.assert_allclose(up.history.objective, -down.history.objective, rtol=1e-12)
    assert np.all(np.diff(np.asarray(up.history.objective)) > 0)  # the log-likelihood climbs


def test_bold_driver_rejects_bad_steps_and_adapts():
    X, y = _binary(n=100, d=3)
    X = X * 10  # badly scaled: a learning rate of 5 overshoots
    plain = fit(X, y, learning_rate=5.0, epochs=60, dtype=F64)
    bold = fit(X, y, learning_rate=5.0, epochs=60, adaptive_lr=True, dtype=F64)
    J = np.asarray(bold.history.objective)
    assert np.all(np.diff(J) <= 1e-15)  # accepted steps never raise J
    lr = np.asarray(bold.history.learning_rate)
    assert lr.min() < 5.0 * 0.5 + 1e-12  # it halved at least once
    assert np.any(np.isclose(lr[1:] / lr[:-1], 1.05))  # and grew after good steps
    assert J[-1] < np.nanmin(np.asarray(plain.history.objective))


def test_stopping_rules():
    X, y = _binary()
    r = fit(X, y, learning_rate=1.0, epochs=10000, tol=1e-9, dtype=F64)
    J = np.asarray(r.history.objective)
    e = int(r.epochs)
    assert r.stop_reason == "objective_tol" and e < 10000
    assert abs(J[e - 1] - J[e - 2]) < 1e-9 and abs(J[e - 2] - J[e - 3]) >= 1e-9
    assert np.all(np.isnan(J[e:]))
    g = fit(X, y, learning_rate=1.0, epochs=10000, grad_tol=1e-6, dtype=F64)
    gn = np.asarray(g.history.grad_norm)
    assert g.stop_reason == "gradient_tol" and gn[int(g.epochs) - 1] < 1e-6 <= gn[int(g.epochs) - 2]
    m = fit(X, y, epochs=7)
    assert m.stop_reason == "max_epochs" and int(m.epochs) == 7


@pytest.mark.parametrize(
    "kw",
    [
        dict(optimizer="gd", learning_rate=1.0, epochs=10000),
        dict(optimizer="lbfgs", epochs=500),
        dict(optimizer="newton", epochs=100),
    ],
)
def test_grad_tol_bounds_the_largest_entry_with_grad_norm_max(kw):
    X, y = _binary()
    r = fit(X, y, grad_tol=1e-6, grad_norm="max", l2=1e-3, dtype=F64, **kw)
    e, gn = int(r.epochs), np.asarray(r.history.grad_norm)
    T = encode_targets(y, "binary_cross_entropy").astype(F64)
    # the largest |∂J/∂θ_j| at the result, by autodiff (not the hand-written gradient)
    g = jax.grad(obj.autodiff_objective)(
        r.params, jnp.asarray(X), T, "binary_cross_entropy", Penalty(0.0, 1e-3)
    )
    largest = max(float(jnp.max(jnp.abs(a))) for a in jax.tree.leaves(g))
    assert r.stop_reason == "gradient_tol"
    np.testing.assert_allclose(gn[e - 1], largest, rtol=1e-6, atol=1e-12)
    assert gn[e - 1] < 1e-6 and (e == 1 or gn[e - 2] >= 1e-6)
    # the Euclidean norm of the same gradient is at least as large: the l2 stop comes later
    l2_run = fit(X, y, grad_tol=1e-6, l2=1e-3, dtype=F64, **kw)
    assert int(l2_run.epochs) >= e


def test_a_one_vs_rest_class_that_diverges_is_warned_and_a_converged_run_is_not():
    X, y = _binary()
    labels = y + (X[:, 1] > 0)  # three classes: one-vs-rest with a binary loss
    with pytest.warns(DivergedWarning):
        r = fit(X * 1e3, labels, learning_rate=1e30, epochs=50)
    assert np.any(np.asarray(r.status) == driver.DIVERGED)
    with warnings.catch_warnings():
        warnings.simplefilter("error", DivergedWarning)
        assert fit(X, labels, epochs=5).stop_reason.tolist() == ["max_epochs"] * 3


def test_l1_proximal_steps_give_exact_zeros_and_satisfy_kkt():
    rng = np.random.default_rng(4)
    X = rng.normal(size=(200, 10))
    y = (X[:, 0] - 2 * X[:, 1] + 0.5 * rng.normal(size=200) > 0).astype(int)
    l1 = 0.05
    r = fit(X, y, l1=l1, learning_rate=0.5, epochs=5000, dtype=F64)
    W = np.asarray(r.params.W[:, 0])
    assert np.sum(W == 0.0) >= 5 and W[0] != 0 and W[1] != 0
    g = obj.grad(
        r.params,
        jnp.asarray(X),
        encode_targets(y, "binary_cross_entropy").astype(F64),
        "binary_cross_entropy",
    )
    gW = np.asarray(g.W[:, 0])
    nz = W != 0
    np.testing.assert_allclose(gW[nz], -l1 * np.sign(W[nz]), atol=1e-6)  # stationarity
    assert np.all(np.abs(gW[~nz]) <= l1 + 1e-6)  # 0 ∈ ∂: subgradient condition
    np.testing.assert_allclose(g.b, 0.0, atol=1e-6)


def test_perceptron_converges_on_separable_data_and_not_otherwise():
    X, y = _binary(n=80, d=2, noise=0.0, seed=7)
    r = fit(X, y, optimizer="perceptron", epochs=1000, init="uniform", seed=1)
    assert r.stop_reason == "separated" and int(r.epochs) < 1000
    z = X @ np.asarray(r.params.W[:, 0]) + float(r.params.b[0])
    np.testing.assert_array_equal(z >= 0, y == 1)  # every example classified correctly
    assert float(r.history.objective[int(r.epochs) - 1]) == 0.0
    Xx = np.array([[0.0, 0.0], [1.0, 1.0], [0.0, 1.0], [1.0, 0.0]])
    yx = np.array([0, 0, 1, 1])  # XOR: not linearly separable
    rx = fit(Xx, yx, optimizer="perceptron", epochs=50)
    assert rx.stop_reason == "max_epochs" and int(rx.epochs) == 50


def test_one_vs_rest_equals_k_binary_models_trained_alone():
    X, y = _multi(k=4)
    ovr = fit(X, y, "binary_cross_entropy", learning_rate=0.5, epochs=50, tol=1e-6, dtype=F64)
    assert ovr.params.W.shape == (4, 4) and ovr.n_classes == 4
    for k in range(4):
        alone = fit(X, (y == k).astype(int), learning_rate=0.5, epochs=50, tol=1e-6, dtype=F64)
        np.testing.assert_allclose(ovr.params.W[:, k], alone.params.W[:, 0], rtol=1e-10)
        assert int(ovr.epochs[k]) == int(alone.epochs)


@pytest.mark.parametrize("kind", ["learning_rate", "l2", "seed"])
def test_many_models_equal_each_trained_alone(kind):
    X, y = _multi()
    values = {"learning_rate": [0.05, 0.2, 0.8], "l2": [0.0, 0.01, 0.1], "seed": [0, 1, 2]}[kind]
    common = dict(optimizer="sgd", batch_size=16, epochs=5, init="uniform", dtype=F64)
    many = fit_many(X, y, "softmax_cross_entropy", **{kind: values}, **common)
    assert many.params.W.shape == (3, 4, 3)
    for i, v in enumerate(values):
        alone = fit(X, y, "softmax_cross_entropy", **{kind: v}, **common)
        np.testing.assert_allclose(many.params.W[i], alone.params.W, rtol=1e-10, atol=1e-12)
    assert not np.allclose(many.params.W[0], many.params.W[1])


def test_cross_validation_folds_as_weights_equal_training_on_the_subset():
    X, y = _binary(n=90)
    w = kfold_weights(90, 3, jax.random.key(0))
    assert np.all(w.sum(0) == 2)  # each row is left out exactly once
    many = fit_many(
        X, y, sample_weight=w, optimizer="lbfgs", epochs=200, l2=0.01, grad_tol=1e-10, dtype=F64
    )
    for i in range(3):
        rows = w[i] > 0
        alone = fit(
            X[rows], y[rows], optimizer="lbfgs", epochs=200, l2=0.01, grad_tol=1e-10, dtype=F64
        )
        np.testing.assert_allclose(many.params.W[i], alone.params.W, rtol=1e-7)


@pytest.mark.parametrize("key", ["k", 0, np.zeros(3)])
def test_kfold_weights_name_a_key_that_is_not_one(key):
    with pytest.raises(TypeError, match="key: expected a JAX PRNG key"):
        kfold_weights(10, 2, key)


def test_kfold_weights_name_a_row_count_that_is_not_one():
    with pytest.raises(ValueError, match="n: must be a positive integer, got '3'"):
        kfold_weights("3", 2, jax.random.key(0))


def test_early_stopping_returns_the_best_validation_parameters():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(40, 30))
    y = rng.integers(0, 2, 40)  # pure noise: the validation loss rises as the fit memorises
    Xv, yv = rng.normal(size=(200, 30)), rng.integers(0, 2, 200)
    r = fit(X, y, learning_rate=0.5, epochs=2000, validation_data=(Xv, yv), patience=5, dtype=F64)
    assert r.stop_reason == "early_stopping" and int(r.epochs) < 2000
    v = np.asarray(r.history.val_objective)[: int(r.epochs)]
    assert np.argmin(v) == int(r.epochs) - 6  # 5 epochs without improvement
    Tv = encode_targets(yv, "binary_cross_entropy").astype(F64)
    np.testing.assert_allclose(
        obj.objective(r.params, jnp.asarray(Xv), Tv, "binary_cross_entropy"), v.min(), rtol=1e-12
    )
    acc = np.asarray(r.history.val_accuracy)[np.argmin(v)]
    z = Xv @ np.asarray(r.params.W)[:, 0] + float(r.params.b[0])
    np.testing.assert_allclose(acc, np.mean((z >= 0) == yv), rtol=1e-12)


def test_divergence_stops_and_keeps_finite_parameters():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(50, 3)) * 100
    y = rng.normal(size=50)
    with pytest.warns(DivergedWarning, match=r"^fit: training diverged after \d+ epochs") as w:
        r = fit(X, y, "squared_error", learning_rate=10.0, epochs=500)
    assert w[0].filename == __file__  # the caller's line, not jaxlin's
    assert jaxlin.DivergedWarning is DivergedWarning and issubclass(DivergedWarning, RuntimeWarning)
    assert r.stop_reason == "diverged" and bool(r.diverged)
    assert f"after {int(r.epochs)} epochs" in str(w[0].message)
    e = int(r.epochs)
    assert e < 500 and np.all(np.isfinite(r.params.W)) and np.all(np.isfinite(r.params.b))
    J = np.asarray(r.history.objective)
    assert np.all(np.isfinite(J[:e]))
    assert np.all(np.isnan(J[e:]))


@pytest.mark.parametrize("optimizer", ["lbfgs", "sgd"])
def test_the_largest_epoch_limit_runs_as_a_smaller_one_until_the_stop(optimizer):
    """An epoch limit of 2^31 − 1 ("no limit") stops where a limit of 1,000 does, with the
    same parameters; its history holds the epochs run (it is not sized by the limit)."""
    X, y = _binary(n=40)
    kw = dict(optimizer=optimizer, tol=1e-5, batch_size=8 if optimizer == "sgd" else None)
    a = fit(X, y, epochs=1000, **kw)
    b = fit(X, y, epochs=2**31 - 1, **kw)
    assert a.stop_reason == b.stop_reason == "objective_tol"
    assert int(a.epochs) == int(b.epochs) < 1000
    assert np.array_equal(a.params.W, b.params.W) and np.array_equal(a.params.b, b.params.b)
    e = int(b.epochs)
    np.testing.assert_array_equal(a.history.objective[:e], b.history.objective[:e])
    assert np.all(np.isnan(b.history.objective[e : 10 * e]))


def test_same_key_gives_bit_identical_parameters():
    X, y = _multi()
    kw = dict(optimizer="adam", batch_size=8, epochs=4, init="uniform", learning_rate=0.01)
    a = fit(X, y, "softmax_cross_entropy", key=jax.random.key(11), **kw)
    b = fit(X, y, "softmax_cross_entropy", key=jax.random.key(11), **kw)
    c = fit(X, y, "softmax_cross_entropy", key=jax.random.key(12), **kw)
    assert a.params.W.dtype == jnp.float32
    assert np.array_equal(a.params.W, b.params.W) and np.array_equal(a.params.b, b.params.b)
    assert not np.array_equal(a.params.W, c.params.W)


@pytest.mark.parametrize(
    "kwargs,match",
    [
        (dict(learning_rate=0.0), "learning_rate: must be positive"),
        (dict(learning_rate=-1.0), "learning_rate: must be positive"),
        (dict(batch_size=0), "batch_size: must be a positive integer"),
        (dict(epochs=2.5), "epochs: must be a non-negative integer"),
        (dict(epochs=2**31), r"epochs: must be at most 2,147,483,647 \(a 32-bit count"),
        (dict(epochs=np.int64(2**40)), "epochs: must be at most 2,147,483,647"),
        (dict(batch_size=2**40, optimizer="sgd"), "batch_size: must be at most 2,147,483,647"),
        (dict(optimizer="newtonian"), "optimizer: unknown optimizer 'newtonian'"),
        (dict(optimizer="lbfgs", l1=0.1), "l1: optimizer lbfgs needs a smooth objective"),
        (dict(l2=-1.0), "l2: must be non-negative"),
        (dict(adaptive_lr=True, batch_size=4), "adaptive_lr: the bold driver"),
        (dict(patience=3), "patience: early stopping needs validation data"),
        (dict(init="normal"), "init: unknown init 'normal'"),
        (dict(grad_tol="1e-3"), "grad_tol: must be a non-negative number, got '1e-3'"),
        (dict(grad_norm="l1"), "grad_norm: unknown grad_norm 'l1'; choose one of l2, max"),
        (dict(tol="abc"), "tol: must be a non-negative number"),
        (dict(l2=True), "l2: must be a non-negative number, got True"),
        (dict(learning_rate=b"1"), "learning_rate: must be a positive number"),
        # one model: a sequence of numbers is fit_many's
        (dict(l2=[0.1, 0.2]), r"l2: expected one number, got shape \(2,\) \(fit_many"),
        (dict(learning_rate=[0.1, 0.2]), r"learning_rate: expected one number"),
        (dict(l1=[[0.1]], optimizer="fista"), r"l1: expected one number, got shape \(1, 1\)"),
        (dict(tol=[1e-3, 1e-4]), r"tol: expected one number, got shape \(2,\)$"),
        (dict(grad_tol=[1e-3]), r"grad_tol: expected one number"),
        # beyond float32: inf in the loop, the run "diverged" at epoch 0
        (dict(l2=1e300), r"l2: 1e\+300 is beyond the range of float32, the run's float type"),
        (dict(learning_rate=1e39), r"learning_rate: 1e\+39 is beyond the range of float32"),
    ],
)
def test_bad_arguments_are_named(kwargs, match):
    X, y = _binary(n=20)
    with pytest.raises(ValueError, match=match):
        fit(X, y, **kwargs)


@pytest.mark.parametrize("name", ["fit_intercept", "adaptive_lr", "one_vs_rest"])
@pytest.mark.parametrize("value", ["no", 0, None])
def test_a_flag_that_is_not_true_or_false_is_named(name, value):
    # "no" is truthy: taken as it was, fit_intercept="no" fitted an intercept
    X, y = _binary(n=20)
    with pytest.raises(TypeError, match=f"{name}: must be True or False, got {value!r}"):
        fit(X, y, **{name: value})


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(l2=[[0.1, 0.2]]), r"l2: expected a number or a 1-D sequence \(one per model\)"),
        (dict(tol=[1e-3, 1e-4]), r"tol: expected one number, got shape \(2,\)$"),
        (dict(grad_tol=np.ones((2, 2))), r"grad_tol: expected one number"),
    ],
)
def test_fit_many_takes_a_sequence_only_of_its_model_numbers(kwargs, match):
    X, y = _binary(n=20)
    with pytest.raises(ValueError, match=match):
        fit_many(X, y, **kwargs)


@pytest.mark.parametrize(
    "call, match",
    [
        (lambda X, y: fit(X, y, seed=1.5), "^seed: expected an integer, got 1.5"),
        (lambda X, y: fit(X, y, seed="a"), "^seed: expected an integer"),
        (lambda X, y: fit(X, y, seed=[1, 2]), "^seed: expected an integer"),
        (lambda X, y: fit(X, y, key=3), "^key: expected a JAX PRNG key"),
        (lambda X, y: fit(X, y, key="a"), "^key: expected a JAX PRNG key"),
        (lambda X, y: fit_many(X, y, seed=[1.5, 2.0]), "^seed: expected an integer"),
        # a JAX user's key given as the seed: NumPy's conversion error, from inside
        (lambda X, y: fit(X, y, seed=jax.random.key(1)), r"^seed: .* JAX PRNG key; .* key="),
        (lambda X, y: fit_many(X, y, seed=jax.random.PRNGKey(1)), r"^seed: .* JAX PRNG key"),
    ],
)
def test_bad_seeds_and_keys_are_named(call, match):
    X, y = _binary(n=20)
    with pytest.raises(TypeError, match=match):
        call(X, y)


def test_a_seed_beside_a_key_is_refused_rather_than_ignored():
    """One of the two was dropped in silence (fit kept the key, fit_many's several seeds
    dropped it); the default seed 0 beside a key is the key's run."""
    from jaxlin import data

    X, y = _binary(n=20)
    key = jax.random.key(3)
    for call in (
        lambda: fit(X, y, seed=1, key=key),
        lambda: fit_many(X, y, seed=[1, 2], key=key),
        lambda: data.shuffled_rows(5, key=key, seed=2),
    ):
        with pytest.raises(ValueError, match=r"^seed, key: both given"):
            call()
    kw = dict(optimizer="sgd", batch_size=4, epochs=2)
    np.testing.assert_array_equal(
        fit(X, y, seed=0, key=key, **kw).params.W, fit(X, y, key=key, **kw).params.W
    )


def test_an_array_of_python_numbers_trains_as_their_float64_array_does():
    """An object array whose cells are all numbers (mixed ints and floats, as a column
    assembled in Python) is taken as float64; a cell that is not a number is named."""
    X, y = _binary(n=20)
    mixed = X.astype(object)
    mixed[::2, 0] = [int(v) for v in np.round(X[::2, 0])]
    a = fit(mixed, y, dtype=np.float64)
    b = fit(mixed.astype(np.float64), y, dtype=np.float64)
    np.testing.assert_array_equal(a.params.W, b.params.W)
    np.testing.assert_array_equal(a.predict(mixed), b.predict(mixed.astype(np.float64)))
    mixed[3, 2] = None
    with pytest.raises(
        TypeError, match=r"^X: expected a numeric array; the cell at row 3, column 2 is None"
    ):
        fit(mixed, y)


def test_a_callable_optimizer_that_returns_no_transformation_is_named():
    X, y = _binary(n=20)
    with pytest.raises(TypeError, match="^optimizer: a callable optimizer .* returned int"):
        fit(X, y, optimizer=lambda learning_rate: 3)
    with pytest.raises(TypeError, match="^optimizer: .* calling it with the learning rate failed"):
        fit(X, y, optimizer=lambda: optax.sgd(0.1))  # takes no learning rate


def test_options_that_do_not_apply_to_the_loss_are_named():
    X, y = _binary(n=30)
    y3 = np.arange(30) % 3
    with pytest.raises(ValueError, match="^one_vs_rest: .* 'softmax_cross_entropy' is multi-class"):
        fit(X, y3, "softmax_cross_entropy", one_vs_rest=True)
    with pytest.raises(ValueError, match="^one_vs_rest: .* 'squared_error' is a regression loss"):
        fit(X, X[:, 0], "squared_error", one_vs_rest=True)
    with pytest.raises(ValueError, match="^n_classes: loss 'squared_error' is a regression loss"):
        fit(X, X[:, 0], "squared_error", n_classes=3)


def test_a_seed_beyond_64_bits_is_named_as_such():
    X, y = _binary(n=20)
    with pytest.raises(ValueError, match="^seed: must fit in 64 bits, got 2{70}"):
        fit(X, y, optimizer="sgd", seed=int("2" * 70))


@pytest.mark.parametrize(
    "X, y, name",
    [([[1.0, 2.0], [3.0]], [0, 1], "X"), ([[1.0, 2.0], [3.0, 4.0]], [[0], [1, 0]], "y")],
)
def test_ragged_lists_are_named(X, y, name):
    with pytest.raises(ValueError, match=f"^{name}: cannot be read as an array"):
        fit(X, y)


def test_a_masked_array_with_masked_cells_is_refused_not_read_through():
    # NumPy reads the values under the mask as data: the masked cells would be trained on
    X, y = _binary(n=20)
    masked = np.ma.masked_array(X, mask=np.zeros_like(X, bool))
    masked[3, 1] = np.ma.masked
    with pytest.raises(ValueError, match=r"^X: a masked array with 1 masked cells .*\(3, 1\)"):
        fit(masked, y)
    with pytest.raises(ValueError, match=r"^y: a masked array with 1 masked cells .*index 4"):
        fit(X, np.ma.masked_array(y, mask=np.arange(20) == 4))
    r = fit(np.ma.masked_array(X), y)  # no masked cell: the data as it is
    np.testing.assert_array_equal(r.params.W, fit(X, y).params.W)


@pytest.mark.parametrize("missing", [None, float("nan"), "pandas NA"])
def test_a_missing_text_label_is_named_with_its_row(missing):
    X, y = _binary(n=20)
    labels = np.where(y > 0, "spam", "ham").astype(object)
    if missing == "pandas NA":
        import pandas as pd  # the test extra's

        missing = pd.NA
    labels[7] = missing
    with pytest.raises(ValueError, match=r"^y: row 7 has no label \(.*\); every row needs"):
        fit(X, labels)
    good = np.where(y > 0, "spam", "ham")
    val = np.array(["ham", missing], dtype=object)
    with pytest.raises(ValueError, match=r"^y_val: row 1 has no label"):
        fit(X, good, validation_data=(X[:2], val))
    with pytest.raises(ValueError, match=r"^y_val: label 3 is not among the training classes"):
        fit(X, good, validation_data=(X[:2], np.array(["ham", 3], dtype=object)))


def test_bad_data_is_named():
    X, y = _binary(n=20)
    with pytest.raises(ValueError, match="X: contains NaN or infinite values"):
        fit(np.where(X > 1, np.nan, X), y)
    with pytest.raises(ValueError, match="y: has 19 labels but X has 20 rows"):
        fit(X, y[:-1])
    with pytest.raises(ValueError, match=r"y: expected labels \(N,\) .*, got the scalar None"):
        fit(X, None)
    with pytest.raises(
        ValueError, match=r"^y: contains NaN or infinite values \(first at row 3: nan\)"
    ):
        fit(X, np.where(np.arange(20) == 3, np.nan, y))
    with pytest.raises(ValueError, match=r"^y: contains NaN .* \(first at row 2, column 1: inf\)"):
        fit(X, np.where((np.arange(20) == 2)[:, None] & (np.arange(2) == 1), np.inf, np.eye(2)[y]))
    with pytest.raises(ValueError, match=r"y: expected labels \(N,\) or targets \(N, K\), got"):
        fit(X, y[None, :, None])
    with pytest.raises(ValueError, match="y: only one class present"):
        fit(X, np.zeros(20, int))
    with pytest.raises(ValueError, match="^y: contains NaN or infinite values"):
        fit(X, np.r_[np.nan, y[1:]])  # not taken for a third class
    with pytest.raises(ValueError, match="X: expected a 2-D array"):
        fit(X[:, 0], y)
    with pytest.raises(ValueError, match="X_val: expected 4 features, got 3"):
        fit(X, y, validation_data=(X[:, :3], y))


def test_labels_weights_and_validation_labels_that_cannot_be_used_are_named():
    X, y = _binary(n=20)
    with pytest.raises(TypeError, match=r"^y: labels of mixed types \(int, str\) have no order"):
        fit(X, np.array([1, "a"] * 10, dtype=object))
    with pytest.raises(ValueError, match=r"^sample_weight: expected numbers, got list \['a'"):
        fit(X, y, sample_weight=["a"] * 20)
    with pytest.raises(ValueError, match="^y_val: loss 'binary_cross_entropy' is binary"):
        fit(X, y, validation_data=(X, y + 5))  # the validation labels, not the training ones


def test_pandas_nullable_columns_are_numbers_and_a_missing_cell_is_named():
    import pandas as pd  # in the test extra

    X, y = _binary(n=20)
    frame = pd.DataFrame(
        {f"c{j}": pd.array(np.round(X[:, j] * 10), dtype="Int64") for j in range(4)}
    )
    a = fit(frame, pd.Series(y, dtype="Int64"), optimizer="lbfgs", epochs=5, dtype=F64)
    b = fit(np.round(X * 10), y, optimizer="lbfgs", epochs=5, dtype=F64)
    np.testing.assert_array_equal(a.params.W, b.params.W)
    frame.loc[3, "c2"] = pd.NA
    with pytest.raises(
        ValueError, match=r"X: contains NaN or infinite values \(first at row 3, column 2\)"
    ):
        fit(frame, y)
    with pytest.raises(ValueError, match="^y: contains NaN or infinite values"):
        fit(X, pd.Series([pd.NA, *y[1:]], dtype="Int64"))
    # pandas' nullable booleans are booleans: predictions come back so, as NumPy's do
    flags = fit(X, pd.Series(y.astype(bool), dtype="boolean"), epochs=5)
    np.testing.assert_array_equal(flags.classes, [False, True])
    assert flags.predict(X).dtype == bool
    np.testing.assert_array_equal(flags.params.W, fit(X, y.astype(bool), epochs=5).params.W)


@pytest.mark.parametrize(
    "optimizer,loss,kw",
    [
        # losses whose value stays finite for some non-finite scores: the step activation's
        # (step(NaN) = 0) and the hinge at z = +inf; the gradient Xᵀ Δ still carries them
        ("gd", "squared_error_step", {}),
        ("gd", "multiclass_hinge", dict(init="uniform")),
        ("lbfgs", "binary_cross_entropy", {}),
        ("lbfgs", "hinge", dict(init="uniform")),
        ("fista", "squared_hinge", dict(l1=0.01)),
        ("newton-cg", "softmax_cross_entropy", dict(init="uniform")),
        ("newton-cholesky", "binary_cross_entropy", dict(sample_weight=np.r_[1.0, 0.0, 1.0])),
    ],
)
def test_a_non_finite_value_is_named_by_its_cell_for_every_full_batch_solver(optimizer, loss, kw):
    """A full-batch run leaves the scan of X to its first objective and gradient (no scan
    before every run); a NaN or infinity anywhere in X, also in a row of weight 0, is still
    named by its row and column, before any epoch."""
    X, y = _binary(n=30, d=3)
    if loss in ("multiclass_hinge", "softmax_cross_entropy"):
        y = np.arange(30) % 3
    if "sample_weight" in kw:
        kw = dict(sample_weight=np.resize(kw["sample_weight"], 30))
    for bad in (np.nan, np.inf, -np.inf):
        Xb = X.copy()
        Xb[4, 2] = bad  # row 4 has weight 0 where weights are given
        with pytest.raises(
            ValueError, match=r"^X: contains NaN or infinite values \(first at row 4, column 2\)"
        ):
            fit(Xb, y, loss, optimizer=optimizer, epochs=3, **kw)
        with pytest.raises(
            ValueError, match=r"^X: contains NaN or infinite values \(first at row 4, column 2\)"
        ):
            fit(Xb, y, loss, optimizer=optimizer, epochs=0, **kw)


def test_a_non_finite_value_is_named_in_chunked_and_checkpointed_runs(tmp_path):
    X, y = _binary(n=30, d=3)
    X[6, 0] = np.nan
    named = r"^X: contains NaN or infinite values \(first at row 6, column 0\)"
    with pytest.raises(ValueError, match=named):
        fit(X, y, optimizer="lbfgs", epochs=50, progress=lambda done, total: None)
    path = tmp_path / "run.ckpt"
    with pytest.raises(ValueError, match=named):  # scanned before the run: nothing written
        fit(X, y, optimizer="lbfgs", epochs=50, checkpoint=str(path))
    assert not path.exists()


def test_a_value_beyond_float32_or_scores_that_overflow_at_the_start():
    X, y = _binary(n=30, d=3)
    Xb = X.copy()
    Xb[5, 1] = 1e300  # finite in float64, infinite in float32
    with (
        pytest.warns(RuntimeWarning),
        pytest.raises(
            ValueError, match=r"^X: the value at row 5, column 1 is too large for float32"
        ),
    ):
        fit(Xb, y, optimizer="lbfgs")
    # finite values whose first gradient overflows: the run diverges, as any other run that
    # overflows, with no error about X
    X_big = np.array([[1e308], [1e308], [-1e308], [-1e308]])  # Xᵀ δ sums four 5e307
    with pytest.warns(DivergedWarning, match="after 0 epochs"):
        r = fit(X_big, [0, 0, 1, 1], optimizer="lbfgs", dtype=F64)
    assert r.stop_reason == "diverged" and int(r.epochs) == 0


@pytest.mark.parametrize(
    "optimizer,kw",
    [
        ("sgd", dict(batch_size=7)),
        ("lbfgs", {}),
        ("perceptron", {}),
        ("gd", dict(adaptive_lr=True)),
    ],
)
def test_running_in_chunks_for_a_progress_bar_gives_the_same_result(optimizer, kw):
    X, y = _binary(n=60)
    calls = []
    common = dict(optimizer=optimizer, epochs=37, learning_rate=0.3, init="uniform", **kw)
    whole = fit(X, y, **common)
    chunked = fit(X, y, progress=lambda done, total: calls.append((done, total)), **common)
    assert np.array_equal(whole.params.W, chunked.params.W)
    assert int(whole.epochs) == int(chunked.epochs) and whole.stop_reason == chunked.stop_reason
    assert len(calls) >= 2 or int(whole.epochs) < 2
    assert calls[-1][0] == int(whole.epochs) and all(t == 37 for _, t in calls)
    assert [d for d, _ in calls] == sorted(d for d, _ in calls)


def test_device_arrays_are_accepted_and_checked_without_a_host_copy():
    X, y = _binary(n=30)
    Xj = jnp.asarray(X, jnp.float32)
    a = fit(Xj, y, epochs=5)
    b = fit(np.asarray(X, np.float32), y, epochs=5)
    assert np.array_equal(a.params.W, b.params.W)
    with pytest.raises(ValueError, match=r"X: contains NaN or infinite values \(first at row 2"):
        fit(Xj.at[2, 1].set(jnp.inf), y)


@pytest.mark.parametrize("optimizer,kw", [("sgd", dict(batch_size=16)), ("gd", {}), ("lbfgs", {})])
def test_many_models_that_stop_at_different_epochs_equal_each_alone(optimizer, kw):
    """Lock-step training: models that stop early keep their state while the others go on."""
    X, y = _binary(n=64)
    # L-BFGS ignores the learning rate: its models differ in their penalty instead
    lrs = [0.05, 0.5, 2.0] if optimizer != "lbfgs" else [1.0, 1.0, 1.0]
    l2s = [0.01] * 3 if optimizer != "lbfgs" else [0.0, 0.01, 1.0]
    common = dict(optimizer=optimizer, epochs=300, tol=1e-5, dtype=F64, **kw)
    many = fit_many(X, y, learning_rate=lrs, l2=l2s, pairing="zip", **common)
    assert len(set(np.asarray(many.epochs).tolist())) > 1
    for i, (lr, l2) in enumerate(zip(lrs, l2s)):
        alone = fit(X, y, learning_rate=lr, l2=l2, **common)
        assert int(many.epochs[i]) == int(alone.epochs)
        assert many.stop_reason[i] == alone.stop_reason
        np.testing.assert_allclose(many.params.W[i], alone.params.W, rtol=1e-10, atol=1e-13)
        # each model's history is its own run's: its epochs' numbers, NaN after its stop
        for field in ("objective", "grad_norm", "learning_rate"):
            np.testing.assert_allclose(
                getattr(many.history, field)[i], getattr(alone.history, field), rtol=1e-10
            )
        assert np.all(np.isnan(many.history.objective[i][int(alone.epochs) :]))
    chunked = fit_many(
        X, y, learning_rate=lrs, l2=l2s, pairing="zip", progress=lambda d, t: None, **common
    )
    np.testing.assert_array_equal(chunked.params.W, many.params.W)


@pytest.mark.parametrize("optimizer", ["lbfgs", "newton", "perceptron"])
def test_models_that_differ_only_in_a_rate_their_solver_ignores_are_refused(optimizer):
    """L-BFGS, Newton and the perceptron set their own steps: models (or one-vs-rest classes)
    given different learning rates were the same model, trained several times in silence."""
    X, y = _binary(n=30)
    loss = "perceptron_criterion" if optimizer == "perceptron" else "binary_cross_entropy"
    words = rf"^learning_rate: {optimizer} takes no learning rate"
    with pytest.raises(ValueError, match=words):
        fit_many(X, y, loss, optimizer=optimizer, learning_rate=[0.1, 0.2], epochs=2)
    with pytest.raises(ValueError, match=words):
        fit(X, np.arange(30) % 3, loss, optimizer=optimizer, learning_rate=[0.1, 0.2, 0.3])
    same = fit_many(X, y, loss, optimizer=optimizer, learning_rate=[0.5, 0.5], epochs=2)
    assert np.shape(same.params.W)[0] == 2  # one value twice is no mistake


def _loop_program(monkeypatch, call):
    """The training program ``call()`` runs: ``(jaxpr text, compiled HLO text)``."""
    from jaxlin import training

    seen = {}
    advance = training._advance

    def spy(problem, hyper, state, until, settings, model_axes):
        seen.update(
            args=(problem, hyper, state, until), kw=dict(settings=settings, model_axes=model_axes)
        )
        return advance(problem, hyper, state, until, settings, model_axes)

    monkeypatch.setattr(training, "_advance", spy)
    call()
    loop = jax.jit(training._loop, static_argnames=("settings", "model_axes"))
    jaxpr = jax.make_jaxpr(lambda *a: training._loop(*a, **seen["kw"]))(*seen["args"])
    return str(jaxpr), loop.lower(*seen["args"], **seen["kw"]).compile().as_text()


@pytest.mark.parametrize(
    "optimizer,kw",
    [
        ("lbfgs", dict(l2=[0.0, 0.01, 1.0])),
        ("fista", dict(l1=[1e-3, 1e-2, 1e-1])),
        ("owlqn", dict(l1=[1e-3, 1e-2, 1e-1])),
        ("newton", dict(l2=[1e-3, 1e-2, 1e-1])),
    ],
)
def test_deterministic_many_models_run_in_turn_as_alone_without_copies_of_x(
    optimizer, kw, monkeypatch
):
    """Full-batch solvers branch on each model's own numbers (line searches, trust
    regions): their many-model runs take each model's epoch in turn, so each model runs the
    epochs it runs alone to the same point, in float32 too, and the program holds no copy
    of ``X`` per model (``vmap`` of a branch on a per-model condition broadcasts its
    operands)."""
    X, y = _binary(n=64, d=5)
    common = dict(optimizer=optimizer, epochs=200, tol=1e-7, dtype=jnp.float32)
    ((name, values),) = kw.items()
    _, hlo = _loop_program(monkeypatch, lambda: fit_many(X, y, **{name: values}, **common))
    many = fit_many(X, y, **{name: values}, **common)
    assert len(set(np.asarray(many.epochs).tolist())) > 1  # they stop at different epochs
    for i, v in enumerate(values):
        alone = fit(X, y, **{name: v}, **common)
        assert int(many.epochs[i]) == int(alone.epochs)
        for got, want in ((many.params.W[i], alone.params.W), (many.params.b[i], alone.params.b)):
            np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-7)  # XLA's fusions aside
    assert "[3,64,5]" not in hlo and "[3,5,64]" not in hlo


def test_many_models_sparse_steps_fold_by_one_branch_without_copies_of_w(monkeypatch):
    """Sparse SGD of 3 models under ``vmap``: the fold of each scale into ``V`` is one
    branch (``cond``) shared by the models, not a select that multiplies every model's
    weights at every step, and the compiled loop copies the models' ``(3, d, 1)`` weights
    at most once (when the run starts), not at each step."""
    import scipy.sparse as sp

    X = sp.random(60, 40, density=0.1, random_state=0, format="csr")
    y = np.random.default_rng(0).integers(0, 2, 60)
    kw = dict(optimizer="sgd", batch_size=1, epochs=2, learning_rate=0.3, l2=[1.5, 1e-3, 0.2])
    jaxpr, hlo = _loop_program(monkeypatch, lambda: fit_many(X, y, **kw))
    assert "cond[" in jaxpr
    copies = [line for line in hlo.splitlines() if " copy(" in line and "[3,40,1]" in line]
    assert len(copies) <= 1, copies


def test_a_seed_per_model_starts_each_deterministic_model_as_alone():
    """Per-model seeds matter to a deterministic run's start alone: each model of a
    many-model L-BFGS run from a uniform start is the run alone from its own seed."""
    X, y = _binary(n=50, d=4)
    common = dict(optimizer="lbfgs", init="uniform", epochs=4, l2=0.1, dtype=F64)
    many = fit_many(X, y, seed=[0, 1, 2], **common)
    assert not np.allclose(many.params.W[0], many.params.W[1])  # four epochs from apart
    for i in range(3):
        alone = fit(X, y, seed=i, **common)
        np.testing.assert_allclose(many.params.W[i], alone.params.W, rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize(
    "optimizer,kw,drawn",
    [
        ("lbfgs", {}, False),
        ("newton", {}, False),
        ("gd", {}, False),
        ("gd", dict(batch_size=8), True),
        ("perceptron", {}, True),
        ("gd", dict(batch_size=8, shuffle=False), False),
    ],
)
def test_only_runs_that_draw_rows_hold_a_random_number_generator(optimizer, kw, drawn, monkeypatch):
    X, y = _binary(n=32, d=3)
    loss = "perceptron_criterion" if optimizer == "perceptron" else "binary_cross_entropy"
    jaxpr, _ = _loop_program(
        monkeypatch, lambda: fit(X, y, loss, optimizer=optimizer, epochs=3, **kw)
    )
    assert any(p in jaxpr for p in ("random_split", "random_bits", "threefry2x32")) == drawn


def test_sgd_in_order_on_the_perceptron_criterion_is_rosenblatts_loop():
    """shuffle=False visits the rows in order; one example per step at rate 1 on the
    perceptron criterion is the mistake-driven rule (a score of exactly 0 is a mistake),
    checked against a plain NumPy loop."""
    rng = np.random.default_rng(3)
    X = rng.normal(size=(40, 4))
    y = (X @ np.array([1.0, -2.0, 0.5, 0.0]) + 0.3 * rng.normal(size=40) > 0).astype(int)
    w, b = np.zeros(4), 0.0
    for _ in range(3):
        for x, label in zip(X, 2 * y - 1):
            if label * (x @ w + b) <= 0:
                w, b = w + label * x, b + label
    r = fit(
        X,
        y,
        "perceptron_criterion",
        optimizer="sgd",
        learning_rate=1.0,
        batch_size=1,
        epochs=3,
        shuffle=False,
        dtype=jnp.float64,
    )
    np.testing.assert_allclose(np.asarray(r.params.W)[:, 0], w, atol=1e-12)
    np.testing.assert_allclose(float(r.params.b[0]), b, atol=1e-12)
    shuffled = fit(
        X,
        y,
        "perceptron_criterion",
        optimizer="sgd",
        learning_rate=1.0,
        batch_size=1,
        epochs=3,
        dtype=jnp.float64,
    )
    assert not np.allclose(shuffled.params.W, r.params.W)  # the default order differs
    with pytest.raises(TypeError, match="shuffle: must be True, False or"):
        fit(X, y, optimizer="sgd", batch_size=4, shuffle="no")


@pytest.mark.parametrize(
    "n_classes, match",
    [
        (0, "n_classes: expected at least 1 class, got 0"),
        (-2, "n_classes: expected at least 1 class, got -2"),
        (2.5, "n_classes: expected a whole number of classes, got 2.5"),
        ("3", "n_classes: expected a whole number of classes, got '3'"),
        (True, "n_classes: expected a whole number of classes, got True"),
    ],
)
def test_a_class_count_that_is_no_count_is_named(n_classes, match):
    X, y = _binary(n=20)
    for loss in ("binary_cross_entropy", "softmax_cross_entropy"):
        with pytest.raises(ValueError, match=match):
            fit(X, y, loss, n_classes=n_classes)


def test_more_classes_stated_than_shown_train_one_binary_model_per_class():
    """A binary loss with ``n_classes=3`` on labels that show only 0 and 1 (a chunk of the
    data): one model per class, each the binary fit of that class against the rest."""
    X, y = _binary(n=30)
    kw = dict(optimizer="lbfgs", epochs=500, grad_tol=1e-11, l2=0.01, dtype=np.float64)
    r = fit(X, y, "squared_hinge", n_classes=3, **kw)
    assert r.params.W.shape == (X.shape[1], 3) and r.n_classes == 3
    for k in range(3):
        alone = fit(X, (y == k).astype(int), "squared_hinge", n_classes=2, **kw)
        np.testing.assert_allclose(r.params.W[:, k], alone.params.W[:, 0], atol=1e-9)
    with pytest.raises(ValueError, match=r"one-vs-rest \(loss 'hinge' on more than 2 classes\)"):
        fit(X, 2 * y - 1, "hinge", n_classes=3)


def test_fit_many_names_a_binary_loss_on_more_classes():
    X, y = _binary(n=30)
    with pytest.raises(ValueError, match="^n_classes: loss 'hinge' is binary and fit_many"):
        fit_many(X, y, "hinge", l2=[0.1, 0.2], n_classes=3)
    with pytest.raises(ValueError, match="^y: loss 'hinge' is binary and fit_many"):
        fit_many(X, np.arange(30) % 3, "hinge", l2=[0.1, 0.2])


def test_a_float64_result_stays_float64_after_the_call():
    """Arrays made in JAX's scoped x64 mode compute in float32 once it ends; a float64
    fit hands back NumPy arrays, so what a user computes from them stays float64."""
    import warnings

    X, y = _binary(n=30)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # JAX warns when it truncates a float64 operation
        r = fit(X, y, epochs=3, dtype=np.float64)
        many = fit_many(X, y, l2=[0.1, 0.2], epochs=3, dtype=np.float64)
        assert r.params.W.sum().dtype == np.float64 and many.params.W.sum().dtype == np.float64
        assert r.history.objective.sum().dtype == np.float64 and int(np.max(r.epochs)) == 3
        assert r.decision_function(X).dtype == np.float64


@pytest.mark.parametrize("loss", ["hinge", "perceptron_criterion", "binary_cross_entropy"])
@pytest.mark.parametrize("dtype", [np.int64, np.float64])
def test_plus_minus_one_labels_come_back_from_predict(loss, dtype):
    """Labels given as ±1 (the perceptron's and the SVM's convention) are what ``predict``
    returns — the sign of the score, ``z ≥ 0`` positive — so ``predict(X) == y`` compares
    like with like; 0/1 labels stay 0/1."""
    rng = np.random.default_rng(3)
    X = rng.normal(size=(80, 3))
    y = np.where(X @ [1.0, -1.0, 0.5] > 0, 1, -1).astype(dtype)
    r = fit(X, y, loss, epochs=30)
    signs = np.where(r.decision_function(X)[:, 0] >= 0, 1, -1)
    np.testing.assert_array_equal(r.predict(X), signs)
    assert r.predict(X).dtype == y.dtype and set(np.unique(r.predict(X))) <= {-1, 1}
    many = fit_many(X, y, loss, learning_rate=[0.05, 0.1], epochs=5)
    assert many.classes is not None and many.classes.tolist() == [-1, 1]
    assert fit(X, (y > 0).astype(int), loss, epochs=2).classes is None


@pytest.mark.parametrize("loss", ["binary_cross_entropy", "softmax_cross_entropy"])
def test_boolean_labels_come_back_as_booleans(loss):
    """``y`` of booleans is predicted as booleans (scikit-learn's ``classes_`` ``[False,
    True]``), not as 0/1: ``predict(X) == y`` compares like with like, and a saved model
    names its classes ``False``/``True``."""
    from jaxlin.models import as_trained_model

    rng = np.random.default_rng(3)
    X = rng.normal(size=(80, 3))
    y = X @ [1.0, -1.0, 0.5] > 0
    r = fit(X, y, loss, epochs=30)
    assert r.classes.tolist() == [False, True] and r.predict(X).dtype == np.bool_
    scores = r.decision_function(X)
    expected = scores[:, 0] >= 0 if scores.shape[1] == 1 else scores.argmax(1) == 1
    np.testing.assert_array_equal(r.predict(X), expected)
    same = fit(X, y.astype(int), loss, epochs=30)  # the same model as the 0/1 labels'
    np.testing.assert_array_equal(r.params.W, same.params.W)
    assert as_trained_model(r).class_names == ["False", "True"]


def test_a_results_score_is_scikit_learns_accuracy_of_its_predictions():
    from sklearn.metrics import accuracy_score

    rng = np.random.default_rng(6)
    X = rng.normal(size=(60, 3))
    y = np.array(["cat", "dog", "eel"])[
        np.digitize(X[:, 0] + 0.8 * rng.normal(size=60), [-0.4, 0.4])
    ]
    r = fit(X, y, "softmax_cross_entropy", optimizer="lbfgs", epochs=30)
    w = rng.uniform(size=60)
    assert r.score(X, y) == pytest.approx(accuracy_score(y, r.predict(X)))
    assert r.score(X, y, sample_weight=w) == pytest.approx(
        accuracy_score(y, r.predict(X), sample_weight=w)
    )
    assert 0.5 < r.score(X, y) < 1.0  # the labels' noise: not every row right
    with pytest.raises(ValueError, match=r"^y: expected shape \(60,\)"):
        r.score(X, y[:10])
    # class codes given for text classes never equal them: the score was 0.0 in silence
    with pytest.raises(ValueError, match=r"^y: labels of another kind .* text beside numbers"):
        r.score(X, np.searchsorted(["cat", "dog", "eel"], y))
    codes = np.searchsorted(["cat", "dog", "eel"], y).astype(float)
    numeric = fit(X, codes, "softmax_cross_entropy", optimizer="lbfgs", epochs=30)
    codes[7] = np.nan  # scikit-learn's accuracy_score refuses it; it counted as a miss
    with pytest.raises(ValueError, match=r"^y: contains NaN or infinite values \(first at row 7"):
        numeric.score(X, codes)
    real = X @ [1.0, 2.0, -1.0]  # a least-squares regression has no labels to count
    with pytest.raises(ValueError, match="^y: real targets; the score is the accuracy"):
        fit(X, real, "squared_error", optimizer="lbfgs").score(X, real)


def test_one_vs_rest_takes_weights_and_settings_per_class():
    """A one-vs-rest fit with ``sample_weight`` ``(N, K)`` and one ``learning_rate``, ``l2``
    and ``tol`` per class trains each class's model as its own binary fit with its column
    and its numbers (one program for all, by ``vmap``): each equals that fit, the stopping
    epoch too."""
    X, y = _multi(n=90)
    W = np.random.default_rng(5).uniform(0.5, 2.0, (90, 3))
    per_class = dict(learning_rate=[0.01, 0.02, 0.03], l2=[1e-3, 2e-3, 0.0], tol=[1e-3, 1e-4, 1e-2])
    common = dict(optimizer="sgd", batch_size=1, epochs=6, shuffle=False, plateau=2, dtype=F64)
    r = fit(X, y, "hinge", sample_weight=W, **per_class, **common)
    for c in range(3):
        mine = {name: values[c] for name, values in per_class.items()}
        one = fit(X, (y == c).astype(int), "hinge", sample_weight=W[:, c], **mine, **common)
        np.testing.assert_allclose(r.params.W[:, c], one.params.W[:, 0], atol=1e-12)
        np.testing.assert_allclose(r.params.b[c], one.params.b[0], atol=1e-12)
        assert int(r.epochs[c]) == int(one.epochs)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(sample_weight=np.ones((90, 2))), r"sample_weight: expected \(90,\), or \(90, 3\)"),
        (
            dict(sample_weight=-np.ones((90, 3))),
            r"sample_weight\[:, 0\] \(class 0\): must be finite and non-negative",
        ),
        (
            dict(sample_weight=np.c_[np.ones((90, 2)), np.zeros(90)]),
            r"sample_weight\[:, 2\] \(class 2\): all weights are zero",
        ),
        (dict(l2=[0.1, 0.2]), r"l2: expected one number or one per class \(3,\)"),
        (dict(tol=[1e-3] * 4), r"tol: expected one number or one per class \(3,\)"),
        (dict(grad_tol=[1e-3] * 3), r"grad_tol: expected one number"),
    ],
)
def test_one_vs_rest_names_per_class_numbers_that_do_not_fit(kwargs, match):
    X, y = _multi(n=90)
    with pytest.raises(ValueError, match=match):
        fit(X, y, "hinge", epochs=2, **kwargs)


def test_a_result_keeps_the_names_of_a_tables_columns(tmp_path):
    """As scikit-learn's ``feature_names_in_``: a DataFrame's column names are kept, and a
    table given to the result's methods must hold them in order (by position, reordered
    columns would meet the wrong weights silently); arrays are read by position."""
    import pandas as pd

    from jaxlin import model_io

    X, y = _binary(n=40)
    table = pd.DataFrame(X, columns=[f"f{j}" for j in range(X.shape[1])])
    r = fit(table, y)
    assert r.feature_names == list(table.columns)
    np.testing.assert_array_equal(r.params.W, fit(X, y).params.W)  # the same data
    np.testing.assert_array_equal(r.predict(table), r.predict(X))
    shuffled = table[table.columns[::-1]]
    with pytest.raises(ValueError, match="^X: its columns are the model's features in another"):
        r.predict(shuffled)
    with pytest.raises(ValueError, match=r"^X: .*\(missing \['f0'\], not the model's \['g'\]\)"):
        r.decision_function(table.rename(columns={"f0": "g"}))
    assert fit(X, y).feature_names is None and fit(pd.DataFrame(X), y).feature_names is None
    many = jaxlin.fit_many(table, y, l2=[0.1, 1.0], epochs=3)
    assert many.feature_names == list(table.columns)
    loaded = model_io.load(model_io.save(r, tmp_path / "m.npz"))
    assert list(loaded.feature_names) == list(table.columns)
    with pytest.raises(ValueError, match="^X: its columns are the model's features in another"):
        loaded.predict(shuffled)


def test_two_numeric_labels_of_a_binary_loss_are_its_two_classes():
    """Labels such as {1, 2} (or {3, 8}, {0.5, 1.5}) for a binary loss were refused; they
    are its two classes now, the larger one class 1 (scikit-learn's ``classes_[1]``), as
    ±1 labels were: the same model as on 0/1, predictions in the labels given, validation
    labels and class weights by label. Two labels stated as more classes are indices."""
    from jaxlin import fit_grid

    X, y01 = _binary(n=80)
    y = np.where(y01 == 1, 8, 3)
    kw = dict(optimizer="lbfgs", l2=1e-2, epochs=50, dtype=F64)
    ref, r = fit(X, y01, **kw), fit(X, y, **kw)
    np.testing.assert_array_equal(r.params.W, ref.params.W)
    np.testing.assert_array_equal(r.classes, [3, 8])
    np.testing.assert_array_equal(r.predict(X), np.where(ref.predict(X) == 1, 8, 3))
    assert r.score(X, y) == ref.score(X, y01)
    val = fit(X, y, validation_data=(X[:20], y[:20]), **kw)
    np.testing.assert_array_equal(
        val.params.W, fit(X, y01, validation_data=(X[:20], y01[:20]), **kw).params.W
    )
    with pytest.raises(
        ValueError, match=r"^y_val: label 5 is not among the training classes \[3, 8\]"
    ):
        fit(X, y, validation_data=(X[:2], np.array([3, 5])), **kw)
    weighted = fit(X, y, class_weight={8: 3.0}, **kw)
    np.testing.assert_array_equal(
        weighted.params.W, fit(X, y01, class_weight={1: 3.0}, **kw).params.W
    )
    halves = fit(X, np.where(y01 == 1, 1.5, 0.5), "hinge", epochs=20, dtype=F64)
    assert halves.predict(X).dtype.kind == "f" and set(halves.predict(X).tolist()) <= {0.5, 1.5}
    ovr = fit(X, y01 + 1, n_classes=3, **kw)  # stated as three classes: indices, one-vs-rest
    assert ovr.classes is None and ovr.params.W.shape == (X.shape[1], 3)
    grid = fit_grid(X, y, folds=3, l2=[1e-2, 1.0], optimizer="lbfgs", dtype=F64)
    grid01 = fit_grid(X, y01, folds=3, l2=[1e-2, 1.0], optimizer="lbfgs", dtype=F64)
    np.testing.assert_array_equal(grid.scores, grid01.scores)
