"""Leave-one-out of penalised least squares (``jaxlin.leave_one_out``) against refits without
each row in NumPy, and the bridge's ``RidgeClassifierCV`` against scikit-learn's."""

import warnings

import numpy as np
import pytest
import scipy.sparse as sp

from jaxlin.leave_one_out import least_squares_loo


def _ridge(X, T, w, alpha, intercept):
    """The weighted ridge fit by its normal equations (NumPy): ``W`` ``(d, K)``, ``b``."""
    if intercept:
        x_mean, t_mean = w @ X / w.sum(), w @ T / w.sum()
    else:
        x_mean, t_mean = np.zeros(X.shape[1]), np.zeros(T.shape[1])
    Xc, Tc = X - x_mean, T - t_mean
    W = np.linalg.solve((Xc.T * w) @ Xc + alpha * np.eye(X.shape[1]), (Xc.T * w) @ Tc)
    return W, t_mean - x_mean @ W


@pytest.mark.parametrize("shape", [(30, 4), (8, 12)], ids=["tall", "wide"])
@pytest.mark.parametrize("intercept", [True, False])
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("sparse", [False, True], ids=["dense", "csr"])
def test_leave_one_out_predictions_are_refits_without_the_row(shape, intercept, weighted, sparse):
    """Each row's prediction is the fit on the other rows (a refit per row by the normal
    equations), for every strength; the full fit and the hat diagonal too."""
    rng = np.random.default_rng(1)
    n, d = shape
    X = rng.normal(size=(n, d)) * (rng.random((n, d)) < 0.6)
    T = rng.normal(size=(n, 3))
    w = rng.uniform(0.3, 2.0, n) if weighted else np.ones(n)
    alphas = np.array([0.05, 1.0, 20.0])
    got = least_squares_loo(
        sp.csr_matrix(X) if sparse else X, T, alphas, w if weighted else None, intercept
    )
    assert got.predictions.shape == (3, n, 3) and got.W.shape == (3, d, 3)
    for a, alpha in enumerate(alphas):
        W, b = _ridge(X, T, w, alpha, intercept)
        np.testing.assert_allclose(got.W[a], W, rtol=1e-9, atol=1e-11)
        np.testing.assert_allclose(got.b[a], b, rtol=1e-9, atol=1e-11)
        for i in range(n):
            keep = np.arange(n) != i
            Wi, bi = _ridge(X[keep], T[keep], w[keep], alpha, intercept)
            np.testing.assert_allclose(got.predictions[a, i], X[i] @ Wi + bi, rtol=1e-8, atol=1e-10)
        Xt = np.hstack([X, np.ones((n, 1))]) if intercept else X
        reg = np.diag(np.r_[np.full(d, alpha), np.zeros(Xt.shape[1] - d)])
        hat = w * np.einsum("ij,ji->i", Xt, np.linalg.solve((Xt.T * w) @ Xt + reg, Xt.T))
        np.testing.assert_allclose(got.leverages[a], hat, rtol=1e-8, atol=1e-12)


def test_a_zero_weight_rows_prediction_is_the_full_fits():
    """Leaving out a row of weight 0 changes nothing: its prediction is the full fit's."""
    rng = np.random.default_rng(2)
    X, T = rng.normal(size=(20, 3)), rng.normal(size=(20, 2))
    w = np.r_[0.0, np.ones(19)]
    got = least_squares_loo(X, T, [1.0], w)
    np.testing.assert_allclose(got.predictions[0, 0], X[0] @ got.W[0] + got.b[0], rtol=1e-12)
    assert got.leverages[0, 0] == 0.0


def test_a_vanishing_strength_on_wide_data_is_the_minimum_norm_fit():
    """``α → 0`` with fewer rows than features: the interpolating fit of least norm
    (NumPy's ``lstsq``), as the ``A Aᵀ`` form keeps it exact."""
    rng = np.random.default_rng(3)
    X, T = rng.normal(size=(6, 15)), rng.normal(size=(6, 2))
    got = least_squares_loo(X, T, [1e-14], fit_intercept=False)
    np.testing.assert_allclose(got.W[0], np.linalg.lstsq(X, T, rcond=None)[0], atol=1e-9)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(alphas=[1.0, 0.0]), r"alphas: every strength must be > 0"),
        (dict(alphas=[np.nan]), r"alphas: expected finite"),
        (dict(T=np.ones(4)), r"T: expected targets .* N = 5"),
        (dict(X=np.full((5, 2), np.nan)), r"X: contains NaN"),
        (dict(X=np.zeros((0, 2)), T=np.zeros(0)), r"X: expected a non-empty"),
        (dict(sample_weight=np.zeros(5)), r"sample_weight: expected 5 finite non-negative"),
        (dict(sample_weight=-np.ones(5)), r"sample_weight"),
        (dict(X=np.array([["a", "b"]] * 5)), r"X: expected a numeric"),
        (dict(X=np.full((5, 2), 1e200)), r"X: the value at row 0, column 0 .* too large"),
        (dict(X=sp.csr_matrix(np.eye(5, 2) * 1e200)), r"X: the value at row 0, column 0"),
        # one row of weight: left out, nothing is left to fit (its prediction was NaN)
        (dict(sample_weight=np.eye(5)[2]), r"X: leave-one-out with an intercept needs at least"),
        (dict(X=np.ones((1, 2)), T=np.ones(1)), r"needs at least two rows .* \(got 1 sample\)"),
    ],
)
def test_bad_input_is_named(kwargs, match):
    args = dict(X=np.ones((5, 2)), T=np.arange(5.0), alphas=[1.0], sample_weight=None)
    args.update(kwargs)
    with pytest.raises((ValueError, TypeError), match=match):
        least_squares_loo(**args)


def _compare(ours, theirs, cv_results=False):
    assert ours.alpha_ == theirs.alpha_
    assert ours.best_score_ == pytest.approx(theirs.best_score_, rel=1e-10, abs=1e-12)
    assert ours.coef_.shape == theirs.coef_.shape and ours.coef_.dtype == theirs.coef_.dtype
    np.testing.assert_allclose(ours.coef_, theirs.coef_, rtol=1e-8, atol=1e-10)
    np.testing.assert_allclose(ours.intercept_, theirs.intercept_, rtol=1e-8, atol=1e-10)
    if cv_results:
        assert ours.cv_results_.shape == theirs.cv_results_.shape
        np.testing.assert_allclose(ours.cv_results_, theirs.cv_results_, rtol=1e-8, atol=1e-10)


@pytest.mark.parametrize(
    "params",
    [
        {},
        {"store_cv_results": True},
        {"scoring": "accuracy", "store_cv_results": True},
        {"class_weight": "balanced", "alphas": np.logspace(-3, 3, 7)},
        {"fit_intercept": False},
        {"cv": 3},
    ],
    ids=["default", "cv-results", "accuracy", "balanced", "no-intercept", "folds"],
)
@pytest.mark.parametrize("sparse", [False, True], ids=["dense", "csr"])
@pytest.mark.parametrize("n_classes", [2, 3])
def test_ridge_classifier_cv_is_sklearns(params, sparse, n_classes):
    """Strength, score, coefficients and stored results equal scikit-learn's, weighted."""
    from sklearn.datasets import make_classification
    from sklearn.linear_model import RidgeClassifierCV as Theirs

    from jaxlin.sklearn import RidgeClassifierCV

    X, y = make_classification(90, 6, n_informative=4, n_classes=n_classes, random_state=n_classes)
    if sparse:
        X = sp.csr_matrix(np.where(np.abs(X) < 0.5, 0.0, X))
    sw = np.random.default_rng(0).uniform(0.5, 2.0, len(y))
    ours = RidgeClassifierCV(**params).fit(X, y, sample_weight=sw)
    theirs = Theirs(**params).fit(X, y, sample_weight=sw)
    if sparse and "cv" in params:  # its folds' sparse_cg stops at tol=1e-4: refit exactly
        from sklearn.linear_model import RidgeClassifier

        exact = RidgeClassifier(alpha=theirs.alpha_, tol=1e-14).fit(X, y, sample_weight=sw)
        theirs.coef_, theirs.intercept_ = exact.coef_, exact.intercept_
    _compare(ours, theirs, params.get("store_cv_results", False))
    np.testing.assert_array_equal(ours.predict(X), theirs.predict(X))


def test_ridge_classifier_cv_float32_and_multilabel():
    """float32 in, float32 coefficients (computed in float64, as scikit-learn's); a
    multilabel indicator's columns each a target."""
    from sklearn.datasets import make_multilabel_classification
    from sklearn.linear_model import RidgeClassifierCV as Theirs

    from jaxlin.sklearn import RidgeClassifierCV

    X, Y = make_multilabel_classification(60, 5, n_classes=3, random_state=0)
    X = X.astype(np.float32)
    ours, theirs = RidgeClassifierCV().fit(X, Y), Theirs().fit(X, Y)
    assert ours.coef_.dtype == np.float32
    _compare(ours, theirs)
    np.testing.assert_array_equal(ours.predict(X), theirs.predict(X))


def test_float32_features_are_checked_without_overflow_warnings():
    # float32 X beside float64's square limit: the comparison cast 1.3e154 to float32
    X = np.random.default_rng(0).normal(size=(12, 3)).astype(np.float32)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        got = least_squares_loo(X, np.arange(12.0), [1.0])
    assert np.all(np.isfinite(got.predictions))


def test_a_nan_score_is_never_the_best_as_in_sklearn():
    """Strengths are compared as scikit-learn compares them: the first of equal scores
    wins and a NaN score (a scorer undefined on some predictions) is never better."""
    from sklearn.linear_model import RidgeClassifierCV as Theirs
    from sklearn.metrics import make_scorer

    from jaxlin.sklearn import RidgeClassifierCV

    X = np.random.default_rng(0).normal(size=(30, 3))
    y = np.arange(30) % 3
    for table in ([np.nan, 0.5, 0.7, 0.7], [0.5, np.nan, 0.7, np.nan]):
        chosen = []
        for make in (RidgeClassifierCV, Theirs):
            calls = iter(table)
            scoring = make_scorer(lambda yt, yp, calls=calls, **kw: next(calls))
            chosen.append(make(alphas=[1, 2, 3, 4], scoring=scoring).fit(X, y).alpha_)
        assert chosen[0] == chosen[1]
