"""One-vs-rest class weights as scikit-learn (and liblinear) define them: class ``k``'s
binary model weighs its own rows by ``class_weight[k]`` and every other row by 1 (times the
sample weights), so each model has its own weights, penalty scale and step scale. Reference:
scikit-learn's own estimators, rows in order."""

import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn import linear_model as sk
from sklearn import svm as sksvm
from sklearn.datasets import load_iris
from sklearn.preprocessing import StandardScaler

import jaxlin.sklearn as jl

X, Y = load_iris(return_X_y=True)
X = StandardScaler().fit_transform(X)
SW = np.random.default_rng(0).uniform(0.5, 2.0, len(Y))
WEIGHTS = {0: 3.0, 1: 1.0, 2: 0.5}
STEPS = dict(shuffle=False, max_iter=5, tol=None, learning_rate="constant", eta0=0.01)


def _fitted(cls_ours, cls_theirs, params, fit):
    """Both estimators built with ``params`` and trained by ``fit(estimator)``."""
    ours = fit(cls_ours(**params))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # liblinear's tight runs may stop at max_iter
        theirs = fit(cls_theirs(**params))
    return ours, theirs


def _assert_same(ours, theirs, atol):
    np.testing.assert_allclose(ours.coef_, theirs.coef_, atol=atol)
    np.testing.assert_allclose(ours.intercept_, theirs.intercept_, atol=atol)


@pytest.mark.parametrize(
    "params",
    [
        dict(loss="hinge"),
        dict(loss="log_loss", class_weight="balanced"),
        dict(loss="hinge", average=True),
    ],
    ids=["hinge", "log-balanced", "averaged"],
)
@pytest.mark.parametrize("rows", ["dense", "csr"])
def test_sgd_one_vs_rest_weighs_the_rest_by_one(params, rows):
    Xr = sp.csr_matrix(np.where(np.abs(X) > 0.5, X, 0.0)) if rows == "csr" else X
    y = Y.copy()
    y[:20] = 2  # unequal classes: "balanced" weights differ
    kw = {**STEPS, "class_weight": WEIGHTS, **params}
    ours, theirs = _fitted(
        jl.SGDClassifier, sk.SGDClassifier, kw, lambda e: e.fit(Xr, y, sample_weight=SW)
    )
    _assert_same(ours, theirs, 1e-10)
    if params.get("average"):  # the last iterate beside the mean
        np.testing.assert_allclose(ours._standard_coef, theirs._standard_coef, atol=1e-10)


def test_partial_fit_and_a_start_go_on_per_class():
    kw = {**STEPS, "class_weight": WEIGHTS}

    def twice(e):
        for _ in range(2):
            e.partial_fit(X, Y, classes=[0, 1, 2], sample_weight=SW)
        return e

    _assert_same(*_fitted(jl.SGDClassifier, sk.SGDClassifier, kw, twice), 1e-10)
    start = np.random.default_rng(1).normal(size=(3, 4)), np.array([0.1, -0.2, 0.3])

    def started(e):  # scikit-learn writes into coef_init: each gets its own copy
        return e.fit(X, Y, coef_init=start[0].copy(), intercept_init=start[1].copy())

    _assert_same(*_fitted(jl.SGDClassifier, sk.SGDClassifier, kw, started), 1e-10)


def test_early_stopping_scores_each_class_on_its_own_labels():
    kw = {
        **STEPS,
        "class_weight": WEIGHTS,
        "max_iter": 50,
        "tol": 1e-3,
        "early_stopping": True,
        "n_iter_no_change": 3,
        "random_state": 0,
    }
    ours, theirs = _fitted(jl.SGDClassifier, sk.SGDClassifier, kw, lambda e: e.fit(X, Y))
    _assert_same(ours, theirs, 1e-10)
    assert ours.n_iter_ == theirs.n_iter_


def test_perceptron():
    kw = dict(shuffle=False, max_iter=5, tol=None, class_weight=WEIGHTS)
    _assert_same(*_fitted(jl.Perceptron, sk.Perceptron, kw, lambda e: e.fit(X, Y)), 1e-12)


@pytest.mark.parametrize("loss", ["hinge", "squared_hinge"])
def test_linear_svc_gives_each_class_its_own_costs(loss):
    """liblinear's one-vs-rest: class ``k``'s rows cost ``C w_i class_weight[k]``, the rest
    ``C w_i``."""
    kw = dict(loss=loss, class_weight=WEIGHTS, tol=1e-10, max_iter=100_000, random_state=0)
    ours, theirs = _fitted(
        jl.LinearSVC, sksvm.LinearSVC, kw, lambda e: e.fit(X, Y, sample_weight=SW)
    )
    _assert_same(ours, theirs, 1e-6)
    assert isinstance(ours.n_iter_, int)


def test_equal_class_weights_are_one_run():
    """Equal class weights scale every row alike: one one-vs-rest run, the same
    coefficients as the same weights given as sample weights."""
    kw = {**STEPS, "loss": "hinge"}
    ours = jl.SGDClassifier(class_weight={0: 2.0, 1: 2.0, 2: 2.0}, **kw).fit(X, Y)
    same = jl.SGDClassifier(**kw).fit(X, Y, sample_weight=np.full(len(Y), 2.0))
    _assert_same(ours, same, 1e-12)


@pytest.mark.parametrize("bad", [-1.0, np.nan, np.inf])
@pytest.mark.parametrize("cls", [jl.SGDClassifier, jl.LinearSVC, jl.LogisticRegression])
def test_a_weight_that_is_not_a_weight_is_named(cls, bad):
    with pytest.raises(ValueError, match="class_weight: weights must be finite and >= 0"):
        cls(class_weight={0: bad, 1: 1.0, 2: 1.0}).fit(X, Y)
