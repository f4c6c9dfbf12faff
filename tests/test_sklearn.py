"""The scikit-learn bridge: scikit-learn's own estimator checks, parity, pipelines."""
import warnings

import numpy as np
import pytest
from sklearn.utils.estimator_checks import parametrize_with_checks

from jaxlin import data, datasets
from jaxlin.sklearn import LinearSVC, LogisticRegression, Perceptron, SGDClassifier

ESTIMATORS = [LogisticRegression(), LogisticRegression(l1_ratio=0.5, solver="gd"),
              Perceptron(), LinearSVC(), LinearSVC(loss="hinge", multi_class="crammer_singer"),
              SGDClassifier(), SGDClassifier(loss="softmax", optimizer="adam")]


def expected_failed_checks(estimator):
    if isinstance(estimator, LinearSVC) and estimator.loss == "squared_hinge":
        return {"check_sample_weight_equivalence_on_dense_data":
                "L-BFGS on the squared hinge (its second derivative jumps) stops ~1e-5 from the "
                "optimum, so weighted and repeated fits agree to 1e-5, not the check's 1e-7"}
    return {}


@parametrize_with_checks(ESTIMATORS, expected_failed_checks=expected_failed_checks)
def test_sklearn_estimator_checks(estimator, check):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        check(estimator)


def _rel(a, b):
    return np.max(np.abs(a - b)) / np.max(np.abs(b))


@pytest.fixture(scope="module")
def spambase():
    d = datasets.load("spambase")
    return data.Standardizer.fit(d.X).transform(d.X), d.y


def test_logistic_parity_with_sklearn_on_spambase(spambase):
    from sklearn.linear_model import LogisticRegression as SkLR
    X, y = spambase
    ours = LogisticRegression(C=1.0, tol=1e-10, max_iter=5000).fit(X, y)
    theirs = SkLR(C=1.0, tol=1e-10, max_iter=100000).fit(X, y)
    assert _rel(ours.coef_, theirs.coef_) <= 1e-4
    assert _rel(ours.intercept_, theirs.intercept_) <= 1e-4
    np.testing.assert_allclose(ours.predict_proba(X), theirs.predict_proba(X), atol=1e-5)
    nb = LogisticRegression(C=1.0, fit_intercept=False, tol=1e-10).fit(X, y)
    sk_nb = SkLR(C=1.0, fit_intercept=False, tol=1e-10, max_iter=100000).fit(X, y)
    assert np.all(nb.intercept_ == 0) and _rel(nb.coef_, sk_nb.coef_) <= 1e-4


def test_class_and_sample_weights_match_sklearn(spambase):
    from sklearn.linear_model import LogisticRegression as SkLR
    X, y = spambase[0][::4], spambase[1][::4]
    sw = np.random.default_rng(0).uniform(0.2, 3.0, len(y))
    ours = LogisticRegression(class_weight="balanced", tol=1e-10).fit(X, y, sample_weight=sw)
    theirs = SkLR(class_weight="balanced", tol=1e-10, max_iter=100000).fit(X, y, sample_weight=sw)
    assert _rel(ours.coef_, theirs.coef_) <= 1e-4


def test_logistic_parity_with_sklearn_on_mnist():
    from sklearn.linear_model import LogisticRegression as SkLR
    d = datasets.load("mnist")
    X, y = d.X, d.y
    ours = LogisticRegression(C=1.0, tol=1e-9, max_iter=5000).fit(X, y)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        theirs = SkLR(C=1.0, tol=1e-8, max_iter=10000).fit(X, y)
    assert _rel(ours.coef_, theirs.coef_) <= 1e-4  # max-norm relative, over all 7,840 weights
    np.testing.assert_allclose(ours.predict_proba(X), theirs.predict_proba(X), atol=1e-5)


def test_in_a_pipeline_grid_search_and_cross_validation():
    from sklearn.model_selection import GridSearchCV, cross_val_score
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler
    d = datasets.load("kidcreative")
    pipe = make_pipeline(StandardScaler(), LogisticRegression())
    pipe.fit(d.X, d.y)
    assert pipe.score(d.X, d.y) > 0.9
    grid = GridSearchCV(pipe, {"logisticregression__C": [0.01, 1.0, 100.0]}, cv=3).fit(d.X, d.y)
    # scikit-learn's own estimator on the same folds picks the same C with the same scores
    from sklearn.linear_model import LogisticRegression as SkLR
    theirs = GridSearchCV(make_pipeline(StandardScaler(), SkLR()),
                          {"logisticregression__C": [0.01, 1.0, 100.0]}, cv=3).fit(d.X, d.y)
    assert grid.best_params_ == theirs.best_params_
    np.testing.assert_allclose(grid.cv_results_["mean_test_score"],
                               theirs.cv_results_["mean_test_score"], atol=0.005)
    scores = cross_val_score(make_pipeline(StandardScaler(), SGDClassifier(random_state=0)),
                             d.X, d.y, cv=5)
    assert scores.shape == (5,) and scores.mean() > 0.85


def test_not_fitted_and_bad_parameters():
    from sklearn.exceptions import NotFittedError
    with pytest.raises(NotFittedError):
        LogisticRegression().predict(np.zeros((2, 3)))
    X, y = np.random.default_rng(0).normal(size=(20, 3)), np.arange(20) % 2
    with pytest.raises(ValueError, match="C: must be positive"):
        LogisticRegression(C=0).fit(X, y)
    with pytest.raises(ValueError, match="l1: optimizer newton needs a smooth objective"):
        LogisticRegression(l1_ratio=0.5).fit(X, y)
    with pytest.raises(ValueError, match="loss: unknown loss 'modified_huber'"):
        SGDClassifier(loss="modified_huber").fit(X, y)
