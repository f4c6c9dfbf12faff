"""Decaying step sizes (``lr_decay``), the plateau stop, the modified Huber loss, and the
bridge's ``SGDClassifier`` step for step against scikit-learn's own."""

import jax.numpy as jnp
import numpy as np
import pytest
import scipy.sparse as sp

import jaxlin
from jaxlin.losses import LOSSES

sklearn = pytest.importorskip("sklearn")
from sklearn.linear_model import Perceptron as SkPerceptron  # noqa: E402
from sklearn.linear_model import SGDClassifier as SkSGD  # noqa: E402

from jaxlin.sklearn import Perceptron, SGDClassifier  # noqa: E402


def _data(n=37, d=5, classes=2, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d))
    X[rng.random((n, d)) < 0.4] = 0.0  # sparse-looking, for the CSR runs
    y = np.argmax(X @ rng.normal(size=(d, classes)) + 0.3 * rng.normal(size=(n, classes)), 1)
    return X, (y if classes > 2 else (X[:, 0] + 0.3 * rng.normal(size=n) > 0).astype(int))


def _numpy_sgd(X, y, lr, tau, power, l2, l1, epochs, batch, seen=0.0):
    """Plain mini-batch steps on the mean cross-entropy of each batch, rows in order, with
    ``η_t = lr (1 + t/τ)^(−p)``, ``t`` the rows before the step; L1 by soft thresholding."""
    w, b, t = np.zeros(X.shape[1]), 0.0, seen
    for _ in range(epochs):
        for start in range(0, len(y), batch):
            xb, yb = X[start : start + batch], y[start : start + batch]
            g = 1 / (1 + np.exp(-(xb @ w + b))) - yb
            eta = lr * (1 + t / tau) ** -power
            w = w - eta * (xb.T @ g / len(yb) + 2 * l2 * w)
            w = np.sign(w) * np.maximum(np.abs(w) - eta * l1, 0.0)
            b -= eta * g.mean()
            t += len(yb)
    return w, b


@pytest.mark.parametrize("container", [np.asarray, sp.csr_matrix])
@pytest.mark.parametrize("batch, l1", [(1, 0.0), (4, 0.0), (1, 0.01)])
def test_decaying_steps_equal_numpy(container, batch, l1):
    X, y = _data()
    r = jaxlin.fit(
        container(X),
        y,
        optimizer="sgd",
        batch_size=batch,
        learning_rate=0.4,
        lr_decay=(3.0, 0.7),
        rows_seen=11,
        l2=0.02,
        l1=l1,
        epochs=3,
        shuffle=False,
        dtype=np.float64,
    )
    w, b = _numpy_sgd(X, y, 0.4, 3.0, 0.7, 0.02, l1, 3, batch, seen=11)
    np.testing.assert_allclose(np.asarray(r.params.W)[:, 0], w, rtol=1e-11, atol=1e-13)
    np.testing.assert_allclose(float(r.params.b[0]), b, rtol=1e-11, atol=1e-13)


def test_decay_power_zero_is_the_constant_rate():
    X, y = _data()
    kw = dict(optimizer="sgd", batch_size=5, learning_rate=0.3, epochs=2, dtype=np.float64)
    a = jaxlin.fit(X, y, lr_decay=(2.0, 0.0), **kw)
    b = jaxlin.fit(X, y, **kw)
    np.testing.assert_allclose(np.asarray(a.params.W), np.asarray(b.params.W), rtol=1e-13)


def test_lr_decay_is_refused_where_it_cannot_apply():
    X, y = _data()
    with pytest.raises(ValueError, match="lr_decay: lbfgs has no decaying step size"):
        jaxlin.fit(X, y, optimizer="lbfgs", lr_decay=(1.0, 1.0))
    with pytest.raises(ValueError, match="lr_decay: the bold driver"):
        jaxlin.fit(X, y, optimizer="gd", adaptive_lr=True, lr_decay=(1.0, 1.0))
    with pytest.raises(ValueError, match=r"lr_decay: expected None, a pair"):
        jaxlin.fit(X, y, optimizer="sgd", batch_size=4, lr_decay=1.0)
    with pytest.raises(ValueError, match=r"lr_decay \(tau\): must be positive"):
        jaxlin.fit(X, y, optimizer="sgd", batch_size=4, lr_decay=(0.0, 1.0))
    with pytest.raises(ValueError, match=r"lr_decay \(power\)"):
        jaxlin.fit(X, y, optimizer="sgd", batch_size=4, lr_decay=(1.0, float("nan")))
    with pytest.raises(ValueError, match="rows_seen: must be non-negative"):
        jaxlin.fit(X, y, optimizer="sgd", batch_size=4, lr_decay=(1.0, 1.0), rows_seen=-1)


def _plateau_stop(history, tol, patience):
    """The epoch (1-based) the plateau rule stops at, from the recorded objectives."""
    best, stale = np.inf, 0
    for e, m in enumerate(history, start=1):
        stale = 0 if m <= best - tol else stale + 1
        best = min(best, m)
        if stale >= patience:
            return e
    return None


@pytest.mark.parametrize("tol, patience", [(0.0, 3), (1e-3, 2), (1e-2, 5)])
def test_plateau_stops_where_the_rule_says(tol, patience):
    X, y = _data(n=80)
    r = jaxlin.fit(
        X,
        y,
        optimizer="sgd",
        batch_size=1,
        learning_rate=0.2,
        epochs=300,
        tol=tol,
        plateau=patience,
        dtype=np.float64,
    )
    hist = np.asarray(r.history.objective)[: int(r.epochs)]
    assert r.stop_reason == "objective_tol"
    assert _plateau_stop(hist, tol, patience) == int(r.epochs)


def test_modified_huber_is_scikit_learns():
    from sklearn.linear_model._sgd_fast import ModifiedHuber

    ref = ModifiedHuber()
    L = LOSSES["modified_huber"]
    for z in (-3.0, -1.0, -0.999, -0.2, 0.0, 0.7, 1.0, 2.5):
        for y in (0.0, 1.0):
            s = 2 * y - 1
            zz, yy = np.array([z]), np.array([y])
            assert float(L.value(zz, yy)) == pytest.approx(ref.py_loss(z, s), abs=1e-12)
            assert float(L.delta(zz, yy)[0]) == pytest.approx(ref.py_dloss(z, s), abs=1e-12)


CASES = [
    (loss, lr)
    for loss in ("hinge", "log_loss", "modified_huber", "squared_hinge", "perceptron")
    for lr in ("optimal", "constant", "invscaling")
    if (loss, lr) != ("squared_hinge", "optimal")  # diverges in both (η₀ = α^(−1/4) ≈ 5.6)
]


@pytest.mark.parametrize("loss, learning_rate", CASES)
def test_sgdclassifier_steps_are_scikit_learns(loss, learning_rate):
    """Rows in order (shuffle=False): the same coefficients as scikit-learn's, binary and
    one-vs-rest, dense and sparse, and t_ and n_iter_ as its."""
    kw = dict(loss=loss, learning_rate=learning_rate, eta0=0.05, alpha=1e-3, max_iter=4)
    kw.update(tol=None, shuffle=False)
    for classes in (2, 3):
        X, y = _data(classes=classes)
        for container in (np.asarray, sp.csr_matrix):  # sparse: the intercept's steps ÷ 100
            ours, theirs = (
                SGDClassifier(**kw).fit(container(X), y),
                SkSGD(**kw).fit(container(X), y),
            )
            assert ours.t_ == theirs.t_ and ours.n_iter_ == theirs.n_iter_
            np.testing.assert_allclose(ours.coef_, theirs.coef_, rtol=1e-9, atol=1e-12)
            np.testing.assert_allclose(ours.intercept_, theirs.intercept_, rtol=1e-9, atol=1e-14)


def test_sample_weights_weigh_steps_as_scikit_learns():
    X, y = _data()
    w = np.random.default_rng(1).uniform(0.1, 3.0, len(y))
    kw = dict(loss="log_loss", learning_rate="constant", eta0=0.1, max_iter=3, tol=None)
    kw.update(shuffle=False, alpha=1e-2, penalty="elasticnet", l1_ratio=0.0)
    ours = SGDClassifier(**kw).fit(X, y, sample_weight=w)
    theirs = SkSGD(**kw).fit(X, y, sample_weight=w)
    np.testing.assert_allclose(ours.coef_, theirs.coef_, rtol=1e-9)
    p_ours = Perceptron(shuffle=False, max_iter=3, tol=None).fit(X, y, sample_weight=w)
    p_theirs = SkPerceptron(shuffle=False, max_iter=3, tol=None).fit(X, y, sample_weight=w)
    np.testing.assert_allclose(p_ours.coef_, p_theirs.coef_, rtol=1e-9)


def test_coef_init_and_partial_fit_go_on_as_scikit_learns():
    X, y = _data(classes=3)
    kw = dict(loss="hinge", shuffle=False, max_iter=2, tol=None, alpha=1e-3)
    start = np.random.default_rng(2).normal(size=(3, X.shape[1]))
    ours = SGDClassifier(**kw).fit(X, y, coef_init=start, intercept_init=np.ones(3))
    theirs = SkSGD(**kw).fit(X, y, coef_init=start, intercept_init=np.ones(3))
    np.testing.assert_allclose(ours.coef_, theirs.coef_, rtol=1e-9)
    for m in (ours, theirs):
        m.partial_fit(X[:10], y[:10])
    assert ours.t_ == theirs.t_
    np.testing.assert_allclose(ours.coef_, theirs.coef_, rtol=1e-9)
    with pytest.raises(ValueError, match=r"coef_init: .*expected shape \(3, 5\)"):
        SGDClassifier(**kw).fit(X, y, coef_init=np.zeros((1, 5)))
    with pytest.raises(ValueError, match=r"intercept_init: .*expected shape \(3,\)"):
        SGDClassifier(**kw).fit(X, y, intercept_init=np.zeros(2))
    with pytest.raises(ValueError, match="coef_init: contains NaN"):
        SGDClassifier(**kw).fit(X, y, coef_init=np.full((3, 5), np.nan))
    with pytest.raises(ValueError, match="coef_init: expected an array of numbers"):
        SGDClassifier(**kw).fit(X, y, coef_init="zeros")
    # a sparse start is one coefficient per class and feature: taken as it is
    dense = SGDClassifier(**kw).fit(X, y, coef_init=start)
    sparse = SGDClassifier(**kw).fit(X, y, coef_init=sp.csr_matrix(start))
    np.testing.assert_array_equal(dense.coef_, sparse.coef_)


@pytest.mark.parametrize("container", [np.asarray, sp.csr_matrix])
def test_adaptive_rate_and_the_stopping_rule_are_scikit_learns(container):
    """tol with n_iter_no_change stops at scikit-learn's epoch; "adaptive" divides the rate
    by 5 there instead, and stops at scikit-learn's epoch too."""
    from sklearn.datasets import load_iris

    X, y = load_iris(return_X_y=True)
    for lr in ("constant", "adaptive"):
        kw = dict(learning_rate=lr, eta0=0.01, tol=1e-3, max_iter=100, shuffle=False)
        ours, theirs = SGDClassifier(**kw).fit(container(X), y), SkSGD(**kw).fit(container(X), y)
        assert ours.n_iter_ == theirs.n_iter_ and ours.t_ == theirs.t_
        np.testing.assert_allclose(ours.coef_, theirs.coef_, rtol=1e-8)


def test_the_plateau_rate_needs_the_plateau_rule():
    X, y = _data()
    with pytest.raises(ValueError, match="lr_decay: 'plateau' .* pass plateau=n"):
        jaxlin.fit(X, y, optimizer="sgd", batch_size=4, lr_decay="plateau", tol=1e-3)
    with pytest.raises(ValueError, match="lr_decay: expected None, a pair"):
        jaxlin.fit(X, y, optimizer="sgd", batch_size=4, lr_decay="halving", plateau=2)


def test_modified_huber_probabilities_are_scikit_learns():
    for classes in (2, 3):
        X, y = _data(classes=classes)
        kw = dict(loss="modified_huber", shuffle=False, max_iter=3, tol=None)
        ours, theirs = SGDClassifier(**kw).fit(X, y), SkSGD(**kw).fit(X, y)
        np.testing.assert_allclose(ours.predict_proba(X), theirs.predict_proba(X), rtol=1e-8)
    assert not hasattr(SGDClassifier(loss="hinge").fit(X, y), "predict_proba")


def test_bad_settings_are_refused_in_scikit_learns_words():
    X, y = _data()
    for kw, match in [
        (dict(alpha=0.0), "alpha must be > 0 since learning_rate is 'optimal'"),
        (dict(penalty="elasticnet", l1_ratio=None), "l1_ratio must be set"),
    ]:
        with pytest.raises(ValueError, match=match):
            SGDClassifier(**kw).fit(X, y)
    with pytest.raises(ValueError, match="early_stopping should be False with partial_fit"):
        SGDClassifier(early_stopping=True).partial_fit(X, y, classes=[0, 1])
    with pytest.raises(ValueError, match="validation set are all zero"):
        SGDClassifier(early_stopping=True, validation_fraction=0.5, random_state=0).fit(
            X, y, sample_weight=np.zeros(len(y))
        )


def test_early_stopping_holds_out_scikit_learns_split():
    """The held-out rows are scikit-learn's stratified split: with tol=None the run trains
    on the other rows, in their order, for max_iter epochs."""
    from sklearn.model_selection import StratifiedShuffleSplit

    X, y = _data(n=60, classes=3)
    kw = dict(learning_rate="constant", eta0=0.01, max_iter=5, tol=None, shuffle=False)
    es = SGDClassifier(early_stopping=True, validation_fraction=0.3, random_state=7, **kw)
    es.fit(X, y)
    train, _ = next(StratifiedShuffleSplit(test_size=0.3, random_state=7).split(X, y))
    plain = SGDClassifier(**kw).fit(X[np.sort(train)], y[np.sort(train)])
    assert es.n_iter_ == 5 and es.t_ == 1 + 5 * len(y)
    np.testing.assert_allclose(es.coef_, plain.coef_, rtol=1e-12)


def test_sparse_validation_data_for_one_vs_rest():
    X, y = _data(n=60, classes=3)
    kw = dict(optimizer="sgd", batch_size=1, epochs=4, one_vs_rest=True, dtype=np.float64)
    dense = jaxlin.fit(X, y, "hinge", validation_data=(X[:15], y[:15]), **kw)
    csr = jaxlin.fit(
        sp.csr_matrix(X), y, "hinge", validation_data=(sp.csr_matrix(X[:15]), y[:15]), **kw
    )
    np.testing.assert_allclose(
        np.asarray(csr.history.val_objective), np.asarray(dense.history.val_objective), rtol=1e-10
    )


def test_the_rows_counter_counts_past_float32_and_saturates():
    """A float32 counter would stop counting single rows at 2²⁴; the int32 one goes on, and
    stops at its largest value instead of wrapping to a negative count."""
    import jax.numpy as jnp

    from jaxlin.solvers.gradient import ROWS_MAX, count_rows

    assert int(count_rows(jnp.int32(2**24), jnp.float32(1.0))) == 2**24 + 1
    assert int(count_rows(jnp.int32(ROWS_MAX - 2), 5)) == ROWS_MAX
    assert float(jnp.float32(2**24) + jnp.float32(1.0)) == 2**24  # the float32 counter's stall


def test_early_stopping_follows_scikit_learns_rule():
    """Binary, rows in order: the validation accuracy's plateau ends the run at
    scikit-learn's epoch with its (last, not best) coefficients."""
    from sklearn.datasets import load_iris

    X, y = load_iris(return_X_y=True)
    y = (y == 2).astype(int)
    kw = dict(alpha=1e-3, tol=1e-3, early_stopping=True, n_iter_no_change=5, shuffle=False)
    ours, theirs = SGDClassifier(random_state=0, **kw), SkSGD(random_state=0, **kw)
    ours.fit(X, y), theirs.fit(X, y)
    assert ours.n_iter_ == theirs.n_iter_ < 1000
    np.testing.assert_allclose(ours.coef_, theirs.coef_, rtol=1e-8)


@pytest.mark.parametrize(
    "loss,epsilon",
    [
        ("squared_error", 0.1),
        ("huber", 0.7),
        ("epsilon_insensitive", 0.1),
        ("squared_epsilon_insensitive", 0.7),
    ],
)
def test_regression_losses_fit_the_signed_labels_as_scikit_learns(loss, epsilon):
    """scikit-learn's regression losses on the classifier: the ±1 labels fitted as numbers,
    binary and one-vs-rest, dense and sparse, the default width and another."""
    kw = dict(loss=loss, epsilon=epsilon, learning_rate="constant", eta0=0.02, alpha=1e-3)
    kw.update(max_iter=3, tol=None, shuffle=False)
    for classes in (2, 3):
        X, y = _data(classes=classes)
        for container in (np.asarray, sp.csr_matrix):
            ours = SGDClassifier(**kw).fit(container(X), y)
            theirs = SkSGD(**kw).fit(container(X), y)
            np.testing.assert_allclose(ours.coef_, theirs.coef_, rtol=1e-9, atol=1e-12)
            np.testing.assert_allclose(ours.intercept_, theirs.intercept_, rtol=1e-9, atol=1e-14)
    assert not hasattr(SGDClassifier(loss=loss), "predict_proba")


def test_a_signed_loss_of_another_width_is_one_loss():
    from jaxlin.losses import LOSSES, is_builtin, signed_loss

    wide = signed_loss("signed_huber", 0.7)
    assert wide is signed_loss("signed_huber", 0.7) and is_builtin(wide)
    assert wide.name == "signed_huber(epsilon=0.7)"
    assert signed_loss("signed_huber") is LOSSES["signed_huber"]
    z, y = jnp.array([0.5, -3.0]), jnp.array([1.0, 1.0])  # r = −0.5 (inside), −4 (outside)
    np.testing.assert_allclose(wide.delta(z, y), [-0.5, -0.7])
    np.testing.assert_allclose(float(wide.value(z, y)), 0.5 * 0.5**2 + (0.7 * 4 - 0.5 * 0.49))
    with pytest.raises(ValueError, match="epsilon: expected a finite number >= 0"):
        signed_loss("signed_huber", -1)
    with pytest.raises(ValueError, match="loss: 'hinge' is not one of"):
        signed_loss("hinge", 0.1)


@pytest.mark.parametrize("loss", ["squared_hinge", "squared_error", "squared_epsilon_insensitive"])
def test_a_squared_loss_at_the_optimal_rate_steps_as_scikit_learns(loss):
    """scikit-learn's "optimal" rate starts near α^(−1/2) (10 here), and a squared loss's δ
    then grows past 1e12: its SGD clips each row's δ to ±1e12 and trains on (standardised
    breast cancer: 0.98 accuracy with the squared hinge), where the bridge stopped with an
    overflow error. The clipped steps are scikit-learn's: its coefficients after an epoch
    in that regime (they pass 1e13), to rounding."""
    from sklearn.datasets import load_breast_cancer
    from sklearn.preprocessing import StandardScaler

    X, y = load_breast_cancer(return_X_y=True)
    X = StandardScaler().fit_transform(X)
    kw = dict(loss=loss, shuffle=False, max_iter=1, tol=None)
    ours, theirs = SGDClassifier(**kw).fit(X, y), SkSGD(**kw).fit(X, y)
    assert np.abs(theirs.coef_).max() > 1e13  # the clip acted
    scale = np.abs(theirs.coef_).max()
    np.testing.assert_allclose(ours.coef_ / scale, theirs.coef_ / scale, atol=1e-7)
    np.testing.assert_allclose(ours.intercept_ / scale, theirs.intercept_ / scale, atol=1e-7)
    if loss == "squared_hinge":  # the defaults: a usable model, as scikit-learn's
        ours, theirs = SGDClassifier(loss=loss, random_state=0), SkSGD(loss=loss, random_state=0)
        assert ours.fit(X, y).score(X, y) > 0.95 and theirs.fit(X, y).score(X, y) > 0.95


@pytest.mark.parametrize(
    "name", ["squared_hinge", "signed_squared_error", "signed_squared_epsilon_insensitive"]
)
def test_a_capped_loss_is_the_gradient_of_its_surrogate(name):
    """The clipped δ is the exact gradient of the loss continued by its tangent where |δ|
    reaches the bound (autodiff, on both sides of that knee); below it δ is the loss's own,
    bit for bit; the value is the loss's own everywhere (what a run reports)."""
    import jax

    from jaxlin.losses import LOSSES, capped, is_builtin, signed_loss

    bound = 10.0
    loss = capped(name, 0.2, bound)
    base = signed_loss(name, 0.2) if name != "squared_hinge" else LOSSES[name]
    assert loss is capped(name, 0.2, bound) and is_builtin(loss)
    if name != "signed_squared_epsilon_insensitive":  # no width: one loss for any epsilon
        assert capped(name, 0.7, bound) is loss and is_builtin(loss)
    z = jnp.linspace(-40.0, 40.0, 161, dtype=jnp.float64).reshape(-1, 1)
    for label in (0.0, 1.0):
        y = jnp.full_like(z, label)
        auto = jax.vmap(jax.grad(loss.surrogate))(z, y)
        np.testing.assert_allclose(loss.delta(z, y), auto, rtol=1e-12, atol=1e-12)
        assert float(jnp.abs(loss.delta(z, y)).max()) == bound  # reached, and no further
        np.testing.assert_array_equal(loss.value(z, y), base.value(z, y))
        inside = jnp.abs(base.delta(z, y)) < bound
        np.testing.assert_array_equal(loss.delta(z, y)[inside], base.delta(z, y)[inside])
        knee = jnp.abs(base.delta(z, y))[:, 0] <= bound  # the surrogate is the loss up to there
        np.testing.assert_allclose(loss.surrogate(z, y)[knee], base.value(z, y)[knee], rtol=1e-12)
    with pytest.raises(ValueError, match="loss: 'hinge' is not one of squared_hinge"):
        capped("hinge")
