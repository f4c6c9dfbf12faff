"""The passive-aggressive steps (``optimizer="pa1"``/``"pa2"``) against a plain NumPy loop
of Crammer et al.'s rules, and the bridge's ``SGDClassifier(learning_rate="pa1"/"pa2")``
against scikit-learn's."""

import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.linear_model import SGDClassifier as ScikitSGD

import jaxlin
from jaxlin.sklearn import SGDClassifier


@pytest.fixture(scope="module")
def problem():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(80, 6)) * [1, 2, 0.5, 1, 3, 1]
    y = (X[:, 0] - X[:, 1] + rng.normal(size=80) > 0).astype(int)
    X[5] = 0.0  # a row without entries: PA-I skips it, PA-II steps its intercept
    return X, y


def _numpy_passive_aggressive(X, T, kind, C, l2, w, epochs, intercept_lr=1.0):
    """Row by row, in order: ``ℓ = max(0, 1 − s z)`` per column, ``τ = min(C, ℓ/‖x‖²)``
    (PA-I; a row without entries skipped) or ``ℓ / (‖x‖² + 1/(2C))`` (PA-II), then
    ``W ← max(0, 1 − 2 C l2) W + τ w_i s x_i`` and ``b ← b + τ w_i s``."""
    W, b = np.zeros((X.shape[1], T.shape[1])), np.zeros(T.shape[1])
    for _ in range(epochs):
        for i in range(len(X)):
            s = 2.0 * T[i] - 1.0
            loss = np.maximum(0.0, 1.0 - s * (X[i] @ W + b))
            q = X[i] @ X[i]
            if kind == "pa1" and q == 0:
                continue
            tau = np.minimum(C, loss / q) if kind == "pa1" else loss / (q + 0.5 / C)
            W = max(0.0, 1.0 - 2.0 * C * l2) * W + np.outer(X[i], tau * w[i] * s)
            b = b + intercept_lr * tau * w[i] * s
    return W, b


@pytest.mark.parametrize("kind", ["pa1", "pa2"])
@pytest.mark.parametrize("rows", ["dense", "csr"])
def test_the_steps_are_crammer_et_als(problem, kind, rows):
    X, y = problem
    T = np.c_[y, 1 - y]  # two columns, each its own binary problem
    w = np.random.default_rng(1).uniform(0, 2, len(y))
    C, l2 = 0.3, 0.01
    Xin = sp.csr_matrix(X) if rows == "csr" else X
    r = jaxlin.fit(
        Xin, T, "hinge", optimizer=kind, learning_rate=C, l2=l2, epochs=4, shuffle=False,
        sample_weight=w, intercept_lr=0.5, dtype=np.float64,
    )  # fmt: skip
    W, b = _numpy_passive_aggressive(X, T, kind, C, l2, w, 4, intercept_lr=0.5)
    np.testing.assert_allclose(r.params.W, W, atol=1e-12)
    np.testing.assert_allclose(r.params.b, b, atol=1e-12)
    assert r.stop_reason == "max_epochs"


def test_the_epoch_value_is_the_mean_hinge_before_each_step(problem):
    X, y = problem
    r = jaxlin.fit(X, y, "hinge", optimizer="pa2", learning_rate=0.5, epochs=1, shuffle=False,
                   dtype=np.float64)  # fmt: skip
    W, b = np.zeros(6), 0.0
    losses = []
    for i in range(len(X)):  # PA-II, no penalty
        s = 2.0 * y[i] - 1.0
        loss = max(0.0, 1.0 - s * (X[i] @ W + b))
        losses.append(loss)
        tau = loss / (X[i] @ X[i] + 1.0)
        W, b = W + tau * s * X[i], b + tau * s
    assert float(r.history.objective[0]) == pytest.approx(np.mean(losses), rel=1e-12)


def test_many_aggressiveness_values_equal_their_single_fits(problem):
    X, y = problem
    Cs = [0.05, 0.5, 5.0]
    common = dict(optimizer="pa1", epochs=3, shuffle=False, l2=1e-3, dtype=np.float64)
    many = jaxlin.fit_many(X, y, "hinge", learning_rate=Cs, **common)
    for k, C in enumerate(Cs):
        one = jaxlin.fit(X, y, "hinge", learning_rate=C, **common)
        np.testing.assert_allclose(many.params.W[k], one.params.W, atol=1e-12)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(loss="binary_cross_entropy"), "optimizer: pa1 is defined for the hinge loss"),
        (dict(l1=0.1), "l1: optimizer pa1 needs a smooth objective"),
        (dict(batch_size=8), "batch_size: pa1 is a full-batch method"),
        (dict(lr_decay=(10.0, 1.0)), "lr_decay: pa1 has no decaying step size"),
        (dict(grad_tol=1e-3), "grad_tol: pa1 stops by its own rule"),
    ],
)
def test_what_the_steps_do_not_take_is_named(problem, kwargs, message):
    X, y = problem
    kwargs = {"loss": "hinge", **kwargs}
    with pytest.raises(ValueError, match=message):
        jaxlin.fit(X, y, optimizer="pa1", **kwargs)


@pytest.mark.parametrize("rate", ["pa1", "pa2"])
@pytest.mark.parametrize(
    "kwargs",
    [
        dict(),
        dict(class_weight="balanced", penalty="l2", alpha=0.01),
        dict(penalty=None, fit_intercept=False),
        dict(average=True),
        dict(average=40, penalty="l2", alpha=0.01),
    ],
)
@pytest.mark.parametrize("rows", ["dense", "csr"])
def test_the_bridge_takes_scikit_learns_steps_and_stops(rate, kwargs, rows):
    """Three classes one-vs-rest, scikit-learn's stopping rule (``tol``, ``n_iter_no_change``)
    and its sparse intercept damping: the same coefficients and epochs, rows in order."""
    from sklearn.datasets import load_iris

    X, y = load_iris(return_X_y=True)
    X = sp.csr_matrix(X) if rows == "csr" else X
    kw = dict(learning_rate=rate, eta0=0.1, shuffle=False, **kwargs)
    ours = SGDClassifier(**kw).fit(X, y)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = ScikitSGD(**kw).fit(X, y)
    np.testing.assert_allclose(ours.coef_, ref.coef_, atol=1e-10)
    np.testing.assert_allclose(ours.intercept_, ref.intercept_, atol=1e-10)
    assert ours.n_iter_ == ref.n_iter_
    if kwargs.get("average"):  # the mean of the iterates, and the last iterate beside it
        np.testing.assert_allclose(ours._standard_coef, ref._standard_coef, atol=1e-10)


@pytest.mark.parametrize("average", [False, True])
def test_the_bridge_learns_from_chunks_with_the_passive_aggressive_steps(average):
    """Three chunks, one class each, with ``partial_fit`` equal one epoch over the rows in
    order (scikit-learn's ``fit``, ``max_iter=1``). Its own ``partial_fit`` is not the
    reference with ``average``: from the second multi-class call on it writes the last
    intercepts over the averaged ones (``intercept_`` is then its ``_average_intercept``)."""
    from sklearn.datasets import load_iris

    X, y = load_iris(return_X_y=True)
    kw = dict(learning_rate="pa1", shuffle=False, average=average)
    ours = SGDClassifier(**kw)
    for chunk in np.array_split(np.arange(len(y)), 3):
        ours.partial_fit(X[chunk], y[chunk], classes=[0, 1, 2])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = ScikitSGD(max_iter=1, tol=None, **kw).fit(X, y)
    np.testing.assert_allclose(ours.coef_, ref.coef_, atol=1e-10)
    np.testing.assert_allclose(ours.intercept_, ref.intercept_, atol=1e-10)
    assert ours.t_ == ref.t_


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(loss="log_loss"), "Learning rate 'pa1' only works with loss 'hinge'"),
        (dict(penalty="elasticnet"), "penalty: jaxlin's passive-aggressive steps"),
        (dict(batch_size=4), "leave batch_size=1 and optimizer='sgd'"),
    ],
)
def test_the_bridge_names_what_the_steps_do_not_take(kwargs, message):
    X, y = np.eye(4), np.array([0, 1, 0, 1])
    with pytest.raises(ValueError, match=message):
        SGDClassifier(learning_rate="pa1", **kwargs).fit(X, y)
