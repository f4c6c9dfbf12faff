"""LogisticRegressionCV: scikit-learn's attributes, every fold × C equal to a plain fit,
the same choice as scikit-learn's."""

import warnings

import numpy as np
import pytest
from sklearn.datasets import load_breast_cancer, load_iris
from sklearn.linear_model import LogisticRegressionCV as SkCV
from sklearn.model_selection import StratifiedKFold
from sklearn.preprocessing import StandardScaler

from jaxlin.sklearn import LogisticRegression, LogisticRegressionCV


def _sk(**kw):
    legacy = (
        {"use_legacy_attributes": True} if "use_legacy_attributes" in SkCV().get_params() else {}
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return SkCV(**kw, **legacy)


@pytest.fixture(scope="module")
def cancer():
    X, y = load_breast_cancer(return_X_y=True)
    return StandardScaler().fit_transform(X), y


def test_attributes_have_scikit_learns_shapes():
    X, y = load_iris(return_X_y=True)
    for target, kw in [(y, {}), ((y == 2).astype(int), {"refit": False})]:
        ours = LogisticRegressionCV(Cs=2, cv=2, **kw).fit(X, target)
        theirs = _sk(Cs=2, cv=2, **kw).fit(X, target)
        for name in ("C_", "Cs_", "l1_ratio_", "l1_ratios_", "n_iter_", "coef_", "intercept_"):
            assert np.shape(getattr(ours, name)) == np.shape(getattr(theirs, name)), name
        assert list(ours.scores_) == list(theirs.scores_)
        for key in theirs.scores_:
            assert ours.scores_[key].shape == theirs.scores_[key].shape
            assert ours.coefs_paths_[key].shape == theirs.coefs_paths_[key].shape
        np.testing.assert_allclose(ours.Cs_, theirs.Cs_)


def test_each_fold_and_c_is_the_plain_fit_on_that_folds_rows(cancer):
    X, y = cancer
    cv = LogisticRegressionCV(Cs=[0.01, 1.0, 100.0], cv=3, tol=1e-10, max_iter=200).fit(X, y)
    folds = list(StratifiedKFold(3).split(X, y))
    paths = cv.coefs_paths_[1]  # (folds, Cs, d + 1)
    for f, (train, test) in enumerate(folds):
        for c, C in enumerate(cv.Cs_):
            alone = LogisticRegression(C=C, tol=1e-10, max_iter=200).fit(X[train], y[train])
            np.testing.assert_allclose(paths[f, c, :-1], alone.coef_[0], atol=1e-6)
            np.testing.assert_allclose(paths[f, c, -1], alone.intercept_[0], atol=1e-6)
            assert cv.scores_[1][f, c] == pytest.approx(alone.score(X[test], y[test]))
    best = int(np.argmax(cv.scores_[1].mean(axis=0)))
    assert cv.C_[0] == cv.Cs_[best]
    refit = LogisticRegression(C=cv.C_[0], tol=1e-10, max_iter=200).fit(X, y)
    np.testing.assert_allclose(cv.coef_, refit.coef_, atol=1e-6)


def test_refit_false_averages_each_folds_best(cancer):
    X, y = cancer
    cv = LogisticRegressionCV(Cs=4, cv=3, refit=False).fit(X, y)
    s, paths = cv.scores_[1], cv.coefs_paths_[1]
    best = np.argmax(s, axis=1)
    np.testing.assert_allclose(
        cv.coef_[0], np.mean([paths[f, b, :-1] for f, b in enumerate(best)], axis=0)
    )
    assert cv.C_[0] == pytest.approx(np.mean(cv.Cs_[best]))


def test_same_choice_and_score_as_scikit_learn(cancer):
    X, y = cancer
    ours = LogisticRegressionCV(Cs=5, cv=3).fit(X, y)
    theirs = _sk(Cs=5, cv=3).fit(X, y)
    assert abs(ours.scores_[1].mean(axis=0).max() - theirs.scores_[1].mean(axis=0).max()) <= 0.005
    assert abs(ours.score(X, y) - theirs.score(X, y)) <= 0.005


def test_scoring_l1_ratios_and_errors(cancer):
    X, y = cancer
    ll = LogisticRegressionCV(Cs=3, cv=3, scoring="neg_log_loss").fit(X, y)
    assert np.all(ll.scores_[1] < 0) and ll.score(X, y) < 0
    en = LogisticRegressionCV(
        Cs=2, cv=3, l1_ratios=[0.0, 1.0], solver="gd", max_iter=50, tol=0
    ).fit(X, y)
    assert en.scores_[1].shape == (3, 2, 2) and en.n_iter_.shape == (1, 3, 2, 2)
    assert en.l1_ratio_[0] in (0.0, 1.0)
    with pytest.raises(ValueError, match="l1_ratios: solver 'newton' needs a smooth penalty"):
        LogisticRegressionCV(l1_ratios=[0.5]).fit(X, y)
    with pytest.raises(
        ValueError, match="l1_ratios must be an array-like of numbers between 0 and 1"
    ):
        LogisticRegressionCV(l1_ratios=[1.5], solver="gd").fit(X, y)
    with pytest.raises(ValueError, match="Cs: expected positive"):
        LogisticRegressionCV(Cs=[1.0, -1.0]).fit(X, y)
    with pytest.raises(ValueError, match="The 'cv' parameter"):
        LogisticRegressionCV(cv="five").fit(X, y)


def test_groups_are_routed_to_the_splitter_and_weights_to_the_scores(cancer):
    """Metadata routing as scikit-learn's: ``groups`` reaches a ``GroupKFold`` (no group is
    split between a training and a held-out fold), and without routing ``sample_weight``
    weighs the held-out accuracy, by its own value and not times ``class_weight`` — both
    checked against scikit-learn's own LogisticRegressionCV, fold for fold."""
    from sklearn import config_context
    from sklearn.model_selection import GroupKFold

    X, y = cancer
    groups = np.arange(len(y)) % 7
    kw = dict(Cs=[0.01, 0.1, 1.0], cv=GroupKFold(3), scoring="accuracy", l1_ratios=(0,), tol=1e-8)
    with config_context(enable_metadata_routing=True):
        ours = LogisticRegressionCV(**kw, use_legacy_attributes=True).fit(X, y, groups=groups)
        theirs = _sk(**kw).fit(X, y, groups=groups)
    np.testing.assert_allclose(ours.scores_[1], theirs.scores_[1], atol=2e-3)
    with pytest.raises(ValueError, match="enable_metadata_routing=True"):
        LogisticRegressionCV(**kw, use_legacy_attributes=True).fit(X, y, groups=groups)
    sw = np.where(np.arange(len(y)) % 3 == 0, 3.0, 1.0)
    kw = dict(Cs=[0.01, 0.1, 1.0], cv=3, scoring="accuracy", l1_ratios=(0,), tol=1e-8)
    kw["class_weight"] = "balanced"
    ours = LogisticRegressionCV(**kw, use_legacy_attributes=True).fit(X, y, sample_weight=sw)
    theirs = _sk(**kw).fit(X, y, sample_weight=sw)
    np.testing.assert_allclose(ours.scores_[1], theirs.scores_[1], atol=2e-3)


def test_scikit_learns_solver_checks_and_transition_warnings(cancer):
    X, y = cancer
    with pytest.raises(ValueError, match="Solver sag supports only 'l2' or None penalties"):
        LogisticRegression(solver="sag", l1_ratio=1).fit(X, y)
    with pytest.raises(ValueError, match="Solver lbfgs supports only dual=False"):
        LogisticRegression(solver="lbfgs", dual=True).fit(X, y)
    with pytest.raises(ValueError, match="Solver newton supports only dual=False"):
        LogisticRegression(dual=True).fit(X, y)
    with pytest.raises(ValueError, match="are not supported when dual=True"):
        LogisticRegression(solver="liblinear", l1_ratio=1, dual=True).fit(X, y)
    # liblinear's dual problem has the primal's optimum, which jaxlin solves
    dual = LogisticRegression(solver="liblinear", dual=True, tol=1e-10).fit(X, y)
    primal = LogisticRegression(solver="liblinear", tol=1e-10).fit(X, y)
    np.testing.assert_allclose(dual.coef_, primal.coef_, rtol=1e-9, atol=1e-10)
    with pytest.warns(FutureWarning, match="default value for l1_ratios will change"):
        LogisticRegressionCV(Cs=2, cv=2, scoring="accuracy", use_legacy_attributes=True).fit(X, y)
    with warnings.catch_warnings():  # every transition parameter set: nothing to say
        warnings.simplefilter("error")
        LogisticRegressionCV(
            Cs=2, cv=2, l1_ratios=(0,), scoring="accuracy", use_legacy_attributes=False
        ).fit(X, y)


def test_liblinear_folds_and_refit_penalise_the_intercept(cancer):
    """solver="liblinear": every fold × C is scikit-learn's liblinear fit with the
    ``intercept_scaling`` given (its penalised intercept), and the refit is the plain
    ``LogisticRegression`` at ``C_`` with that scaling (scikit-learn's own refit uses 1)."""
    X, y = cancer
    X = X[:200, :8] + 2.0
    y = y[:200]
    kw = dict(Cs=[0.01, 0.1, 1.0], cv=3, solver="liblinear", tol=1e-10, intercept_scaling=2.0)
    ours = LogisticRegressionCV(l1_ratios=(0.0,), use_legacy_attributes=False, **kw).fit(X, y)
    theirs = _sk(**kw).fit(X, y)
    key = theirs.classes_[1]
    paths = ours.coefs_paths_[:, 0, :, 0]  # (F, nR, nC, classes, d + 1) → (F, nC, d + 1)
    np.testing.assert_allclose(paths, theirs.coefs_paths_[key], atol=1e-5)
    plain = LogisticRegression(solver="liblinear", C=ours.C_, intercept_scaling=2.0, tol=1e-10).fit(
        X, y
    )
    np.testing.assert_allclose(ours.coef_, plain.coef_, atol=1e-6)
    np.testing.assert_allclose(ours.intercept_, plain.intercept_, atol=1e-6)


@pytest.mark.parametrize("ratios", [[0.0, 1.0], [1.0, 0.0]])
def test_the_refit_takes_the_chosen_l1_ratio_in_any_order(cancer, ratios):
    """The refit trains at the chosen ``C`` and l1_ratio — also when that l1_ratio is not the
    first (the refit is model 0 of a program whose models carry every l1_ratio): equal to a
    plain fit there. One of the two orders puts the best l1_ratio second."""
    X, y = cancer
    kw = dict(solver="fista", tol=1e-10, max_iter=2000)
    cv = LogisticRegressionCV(Cs=[0.05, 1.0], cv=3, l1_ratios=ratios, **kw).fit(X, y)
    alone = LogisticRegression(C=cv.C_[0], l1_ratio=cv.l1_ratio_[0], **kw).fit(X, y)
    np.testing.assert_allclose(cv.coef_, alone.coef_, atol=1e-5)
    np.testing.assert_allclose(cv.intercept_, alone.intercept_, atol=1e-5)


def test_a_fitted_search_keeps_nothing_the_size_of_its_rows(cancer):
    """The folds' weights the refit borrows from the path are dropped after it: a pickled
    search on four times the rows is no larger (its attributes are per C and fold)."""
    import pickle

    X, y = cancer
    small = LogisticRegressionCV(Cs=2, cv=3).fit(X, y)
    large = LogisticRegressionCV(Cs=2, cv=3).fit(np.tile(X, (4, 1)), np.tile(y, 4))
    assert abs(len(pickle.dumps(large)) - len(pickle.dumps(small))) < 200
