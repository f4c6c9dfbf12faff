"""The scikit-learn bridge: scikit-learn's own estimator checks, parity, pipelines."""

import re
import warnings

import numpy as np
import pytest
from sklearn.utils.estimator_checks import parametrize_with_checks

from jaxlin import data, datasets
from jaxlin.sklearn import (
    LinearSVC,
    LogisticRegression,
    LogisticRegressionCV,
    PassiveAggressiveClassifier,
    Perceptron,
    RidgeClassifier,
    RidgeClassifierCV,
    SGDClassifier,
)

ESTIMATORS = [
    LogisticRegression(),
    LogisticRegression(l1_ratio=0.5, solver="gd"),
    LogisticRegression(l1_ratio=0.5, solver="saga"),  # OWL-QN under scikit-learn's sag stop
    Perceptron(),
    LinearSVC(),
    LinearSVC(loss="hinge", multi_class="crammer_singer"),
    SGDClassifier(),
    SGDClassifier(loss="softmax", optimizer="adam"),
]
with warnings.catch_warnings():  # deprecated, as scikit-learn's
    warnings.simplefilter("ignore", FutureWarning)
    ESTIMATORS.append(PassiveAggressiveClassifier())


def _expected_failures(estimator):
    """scikit-learn lists the same failure for its own Perceptron and SGDClassifier: an
    online rule visits a row of weight 2 once, not twice, so no weighting can equal
    repeating the row. And for its LinearSVC's dual solver: dual coordinate descent gives a
    row of weight 2 one dual variable of twice the box where the repeated row has two, so
    the point it stops at (``tol``) differs though the optimum does not
    (``tests/test_dcd.py`` checks the weighted optimum)."""
    why = None
    if isinstance(estimator, (Perceptron, SGDClassifier)):
        why = "an online rule: weights are not repetitions"
    if isinstance(estimator, LinearSVC) and (
        estimator.loss == "hinge" or estimator.multi_class == "crammer_singer"
    ):
        why = "dual coordinate descent: a weighted row is one dual variable, not two"
    if why is None:
        return {}
    return {
        "check_sample_weight_equivalence_on_dense_data": why,
        "check_sample_weight_equivalence_on_sparse_data": why,
    }


@parametrize_with_checks(ESTIMATORS, expected_failed_checks=_expected_failures)
def test_sklearn_estimator_checks(estimator, check):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        check(estimator)


# LogisticRegressionCV compiles its path and its refit anew for every shape a check uses, so
# the suite runs the checks of its fitting behaviour and API; the whole check_estimator
# passes too, but one check, check_sample_weight_equivalence_on_dense_data, fails by design:
# cross-validation splits the repeated rows into folds differently from the weighted rows.
CV_CHECKS = {
    "check_estimator_cloneable",
    "check_estimator_repr",
    "check_get_params_invariance",
    "check_no_attributes_set_in_init",
    "check_parameters_default_constructible",
    "check_set_params",
    "check_estimators_unfitted",
    "check_mixin_order",
    "check_do_not_raise_errors_in_init_or_set_params",
    "check_estimators_empty_data_messages",
    "check_classifiers_one_label",
    "check_n_features_in",
    "check_requires_y_none",
    "check_estimators_fit_returns_self",
}


def _selected_checks(estimator, keep):
    """scikit-learn's checks of ``estimator`` whose names ``keep`` accepts."""
    from sklearn.utils.estimator_checks import estimator_checks_generator

    for est, check in estimator_checks_generator(estimator, legacy=True):
        name = getattr(check, "func", check).__name__
        if keep(name):
            yield pytest.param(est, check, id=f"{type(est).__name__}-{name}")


# RidgeClassifier and RidgeClassifierCV (multilabel): every check but the one of a
# predict_proba they do not have, as scikit-learn's own have none (it would skip itself)
NO_PROBA_CHECK = "check_classifiers_multilabel_output_format_predict_proba"
SELECTED_CHECKS = [
    *_selected_checks(LogisticRegressionCV(Cs=2, cv=2), CV_CHECKS.__contains__),
    *_selected_checks(RidgeClassifier(), lambda name: name != NO_PROBA_CHECK),
    *_selected_checks(RidgeClassifierCV(), lambda name: name != NO_PROBA_CHECK),
]


@pytest.mark.parametrize("estimator,check", SELECTED_CHECKS)
def test_selected_estimator_checks(estimator, check):
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


# a long full-batch loop on 10,000 × 784: fully optimised code runs it in ¾ of the time
@pytest.mark.fully_optimised
def test_logistic_parity_with_sklearn_on_mnist():
    from sklearn.linear_model import LogisticRegression as SkLR

    d = datasets.load("mnist")
    X, y = d.X[:2500], d.y[:2500]  # ten classes, 784 pixels: scikit-learn's fit dominates
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

    theirs = GridSearchCV(
        make_pipeline(StandardScaler(), SkLR()), {"logisticregression__C": [0.01, 1.0, 100.0]}, cv=3
    ).fit(d.X, d.y)
    assert grid.best_params_ == theirs.best_params_
    np.testing.assert_allclose(
        grid.cv_results_["mean_test_score"], theirs.cv_results_["mean_test_score"], atol=0.005
    )
    scores = cross_val_score(
        make_pipeline(StandardScaler(), SGDClassifier(random_state=0)), d.X, d.y, cv=5
    )
    assert scores.shape == (5,) and scores.mean() > 0.85


def test_not_fitted_and_bad_parameters():
    from sklearn.exceptions import NotFittedError

    with pytest.raises(NotFittedError):
        LogisticRegression().predict(np.zeros((2, 3)))
    X, y = np.random.default_rng(0).normal(size=(20, 3)), np.arange(20) % 2
    for est, name in [
        (LogisticRegression(C=0), "C"),
        (LogisticRegression(max_iter=-1), "max_iter"),
        (LogisticRegression(l1_ratio=1.5), "l1_ratio"),
        (LogisticRegression(solver="bfgs"), "solver"),
        (LogisticRegression(tol=-1), "tol"),
        (LinearSVC(multi_class="ova"), "multi_class"),
        (LinearSVC(penalty="l3"), "penalty"),
        (LinearSVC(intercept_scaling=0), "intercept_scaling"),
        (LinearSVC(dual="primal"), "dual"),
        (Perceptron(max_iter=0), "max_iter"),
        (SGDClassifier(loss="poisson"), "loss"),
        (SGDClassifier(epsilon=-0.1), "epsilon"),
        (SGDClassifier(average=-1), "average"),
        (SGDClassifier(max_iter=0), "max_iter"),
        (SGDClassifier(batch_size=0), "batch_size"),
        (SGDClassifier(learning_rate="pa3"), "learning_rate"),
        (PassiveAggressiveClassifier(C=0), "C"),
        (PassiveAggressiveClassifier(loss="log_loss"), "loss"),
        (RidgeClassifier(solver="qr"), "solver"),
        (RidgeClassifier(max_iter=0), "max_iter"),
    ]:
        with pytest.raises(ValueError, match=f"The '{name}' parameter of {type(est).__name__}"):
            est.fit(X, y)
    with pytest.raises(ValueError, match="l1_ratio: solver 'newton' needs a smooth penalty"):
        LogisticRegression(l1_ratio=0.5).fit(X, y)
    with pytest.raises(ValueError, match="^penalty: solver 'newton' needs a smooth penalty"):
        LogisticRegression(penalty="l1").fit(X, y)  # named l1_ratio, which was not given
    # None means an L2 penalty, as in scikit-learn
    np.testing.assert_array_equal(
        LogisticRegression(l1_ratio=None).fit(X, y).coef_, LogisticRegression().fit(X, y).coef_
    )


@pytest.mark.parametrize(
    "make",
    [
        lambda n: LogisticRegression(max_iter=n),
        lambda n: SGDClassifier(max_iter=n, random_state=0),
        lambda n: Perceptron(max_iter=n, random_state=0),
        lambda n: LinearSVC(max_iter=n),
    ],
    ids=["LogisticRegression", "SGDClassifier", "Perceptron", "LinearSVC"],
)
def test_any_max_iter_is_taken_as_there(make):
    """scikit-learn takes any positive ``max_iter``; one beyond a 32-bit count is no limit
    at all, so it fits as a limit that is never reached does."""
    X, y = _two_blobs()
    a, b = make(1000).fit(X, y), make(2**40).fit(X, y)
    np.testing.assert_array_equal(a.coef_, b.coef_)
    np.testing.assert_array_equal(np.ravel(a.n_iter_), np.ravel(b.n_iter_))


def test_scikit_learn_conventions():
    from sklearn.exceptions import ConvergenceWarning

    X, y = _two_blobs()
    with pytest.warns(ConvergenceWarning, match="max_iter=2"):
        m = LogisticRegression(max_iter=2).fit(X, y)
    assert m.n_iter_[0] == 2
    # the message begins as scikit-learn's, naming the solver, so filters on it keep working
    for solver in ("lbfgs", "newton-cg"):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            LogisticRegression(solver=solver, max_iter=1, tol=1e-12).fit(X, y)
        messages = [str(w.message) for w in caught if w.category is ConvergenceWarning]
        assert messages and re.match(f"{solver} failed to converge", messages[0]), messages
    with warnings.catch_warnings():
        warnings.filterwarnings("error", message="lbfgs failed to converge")
        with pytest.raises(ConvergenceWarning):
            LogisticRegression(solver="lbfgs", max_iter=1, tol=1e-12).fit(X, y)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert LogisticRegression().fit(X, y).n_iter_[0] < 20
    # SGD's words are scikit-learn's SGD's
    with pytest.warns(ConvergenceWarning, match="^Maximum number of iteration reached"):
        SGDClassifier(max_iter=3, tol=1e-12, n_iter_no_change=5).fit(X, y)
    with warnings.catch_warnings():  # tol=None: a fixed number of epochs, nothing to warn
        warnings.simplefilter("error")
        SGDClassifier(max_iter=3, tol=None).fit(X, y)
    # a decision value of exactly 0 is classes_[0]; the argmax of tied scores the first class
    m.coef_, m.intercept_ = np.zeros_like(m.coef_), np.zeros_like(m.intercept_)
    assert list(m.predict(X[:2])) == ["no", "no"]
    y3 = np.array(["a", "b", "c"])[np.arange(len(y)) % 3]
    m3 = LogisticRegression().fit(X, y3)
    m3.coef_, m3.intercept_ = np.zeros_like(m3.coef_), np.zeros_like(m3.intercept_)
    assert list(m3.predict(X[:2])) == ["a", "a"]


def test_plain_gradient_descent_cannot_diverge():
    """C = 0.001 on 300 rows puts the penalty's curvature above 2/η for η = 1; the default
    bold driver halves η instead of diverging, and reaches Newton's optimum."""
    X, y = _two_blobs(n=300)
    for solver in ("gd", "sgd"):
        gd = LogisticRegression(solver=solver, C=0.001, tol=1e-10, max_iter=5000).fit(X, y)
        newton = LogisticRegression(C=0.001, tol=1e-10).fit(X, y)
        np.testing.assert_allclose(gd.coef_, newton.coef_, rtol=1e-4)
    with pytest.raises(ValueError, match="diverged"):  # the fixed step of the old default
        LogisticRegression(solver="gd", C=0.001, learning_rate=1.0).fit(X, y)


def test_tol_is_scikit_learns_gradient_bound():
    """tol = 1e-10 on breast_cancer (float64, unscaled) reaches the exact optimum to 1e-7,
    the reference being scikit-learn's newton-cholesky at tol = 1e-14."""
    from sklearn.datasets import load_breast_cancer
    from sklearn.linear_model import LogisticRegression as SkLogistic

    X, y = load_breast_cancer(return_X_y=True)
    ref = SkLogistic(solver="newton-cholesky", tol=1e-14, max_iter=1000).fit(X, y)
    for solver in ("newton", "newton-cholesky"):
        m = LogisticRegression(solver=solver, tol=1e-10, max_iter=1000).fit(X, y)
        np.testing.assert_allclose(m.coef_, ref.coef_, atol=1e-7)
        np.testing.assert_allclose(m.intercept_, ref.intercept_, atol=1e-7)
    # a smaller tol takes more iterations: tol is not overruled by another stop
    its = [
        LogisticRegression(solver="lbfgs", tol=t, max_iter=20000).fit(X, y).n_iter_[0]
        for t in (1e-2, 1e-4)
    ]
    assert its[0] < its[1]


@pytest.mark.parametrize("solver", ["lbfgs", "newton-cg", "newton-cholesky"])
def test_tol_bounds_the_gradients_largest_entry_and_a_start_there_takes_no_step(solver):
    """scikit-learn's lbfgs (scipy's ``pgtol``), newton-cg and newton-cholesky stop once the
    largest entry of the gradient of ``mean log-loss + ‖w‖² / (2 C n)`` is at most ``tol``,
    and judge the start too. Here a warm start whose gradient (NumPy, by hand) has its
    largest entry under ``tol`` but its Euclidean norm above it is returned as it is; a
    ``tol`` under that entry takes steps."""
    rng = np.random.default_rng(0)
    n, d, C = 400, 30, 1.0
    X = rng.normal(size=(n, d))
    y = (X @ rng.normal(size=d) + rng.normal(size=n) > 0).astype(int)
    w = LogisticRegression(C=C, tol=1e-12).fit(X, y)
    coef, intercept = w.coef_ + 1e-3, w.intercept_.copy()  # every entry moved alike

    def gradient(coef, b):
        r = 1 / (1 + np.exp(-(X @ coef[0] + b[0]))) - y
        return np.r_[X.T @ r / n + coef[0] / (C * n), r.mean()]

    g = gradient(coef, intercept)
    largest, norm = np.max(np.abs(g)), np.linalg.norm(g)
    assert norm > 3 * largest  # the premise: the two norms far apart
    for tol, steps in ((np.sqrt(largest * norm), False), (largest / 3, True)):
        m = LogisticRegression(C=C, solver=solver, tol=tol, warm_start=True, max_iter=100)
        m.coef_, m.intercept_, m.classes_ = coef.copy(), intercept.copy(), np.array([0, 1])
        m.fit(X, y)
        assert (m.n_iter_[0] > 0) == steps
        if not steps:
            np.testing.assert_array_equal(m.coef_, coef)
        else:
            assert np.max(np.abs(gradient(m.coef_, m.intercept_))) <= tol


def test_liblinear_tol_is_relative_to_the_gradient_at_zero_as_liblinear_s():
    """liblinear's trust-region Newton stops once ``‖∇f(w)‖ ≤ tol · max(min(n₊, n₋), 1) / n ·
    ‖∇f(0)‖``: at ``tol = 1e-2`` here under a fifth of the bound ``‖∇f‖ ≤ tol`` itself. The
    fit's gradient (NumPy, by hand, liblinear's intercept a penalised column) is under it,
    in ``LogisticRegressionCV``'s refit too, which then equals a plain fit, as there."""
    rng = np.random.default_rng(2)
    n, C, tol = 200, 1.0, 1e-2
    X = rng.normal(size=(n, 5))
    y = (X @ rng.normal(size=5) + rng.normal(size=n) > 0.8).astype(int)
    Xd = np.hstack([X, np.ones((n, 1))])  # intercept_scaling = 1

    def gradient(w):  # of mean log-loss + ‖w‖² / (2 C n), w with the intercept's weight
        return Xd.T @ (1 / (1 + np.exp(-Xd @ w)) - y) / n + w / (C * n)

    pos = int(y.sum())
    bound = tol * min(pos, n - pos) / n * np.linalg.norm(gradient(np.zeros(6)))
    assert bound < tol / 5
    m = LogisticRegression(solver="liblinear", C=C, tol=tol).fit(X, y)
    assert np.linalg.norm(gradient(np.r_[m.coef_[0], m.intercept_])) <= bound
    cv = LogisticRegressionCV(Cs=[C], solver="liblinear", tol=tol, cv=3).fit(X, y)
    np.testing.assert_allclose(cv.coef_, m.coef_, rtol=1e-10)
    # a zero gradient at zero (no signal, balanced classes): zero is the answer, at once
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no ConvergenceWarning: the stop is not off
        flat = LogisticRegression(solver="liblinear").fit(np.zeros((40, 3)), np.arange(40) % 2)
    assert flat.n_iter_[0] == 0 and not np.any(flat.coef_) and flat.intercept_[0] == 0


def test_sag_and_saga_tol_bounds_the_weights_relative_change():
    """scikit-learn's sag and saga stop once an epoch changes no coefficient by more than
    ``tol`` times the largest (the rule itself: ``tests/test_driver.py``). At ``tol = 1e-2``
    on a weakly penalised problem (C = 100), Newton's steps under that rule end within
    1e-2 of the optimum relative to the largest coefficient (scikit-learn's liblinear at
    ``tol = 1e-12``); a bound of 1e-2 on the gradient, the rule of the other solvers, ends
    farther than that."""
    from sklearn.datasets import make_classification
    from sklearn.linear_model import LogisticRegression as SkLogistic

    X, y = make_classification(375, random_state=0)
    ref = SkLogistic(solver="liblinear", C=100, tol=1e-12, max_iter=1000).fit(X, y)

    def off(solver):
        m = LogisticRegression(solver=solver, C=100, tol=1e-2).fit(X, y)
        return np.abs(m.coef_ - ref.coef_).max() / np.abs(ref.coef_).max()

    assert off("sag") <= 1e-2 and off("saga") <= 1e-2
    assert off("newton-cg") > 1e-2


@pytest.mark.parametrize("l1_ratio", [0.0, 1.0])
def test_liblinear_penalises_its_intercept_as_scikit_learns(l1_ratio):
    """With ``solver="liblinear"`` the intercept is the weight of a constant feature of
    value ``intercept_scaling``, penalised with the others: the coefficients and intercept
    are scikit-learn's liblinear's (tol 1e-10), dense and sparse; a warm start and
    ``LogisticRegressionCV``'s refit keep that layout."""
    import scipy.sparse as sp
    from sklearn.datasets import make_classification
    from sklearn.linear_model import LogisticRegression as SkLogistic

    X, y = make_classification(200, 6, random_state=1)
    X = X + 3.0  # far from centred: the penalised intercept differs from a free one
    kw = dict(solver="liblinear", l1_ratio=l1_ratio, C=0.05, tol=1e-10, max_iter=1000)
    for scaling in (0.5, 10.0):
        ref = SkLogistic(intercept_scaling=scaling, **kw).fit(X, y)
        for Xc in (X, sp.csr_matrix(X)):
            m = LogisticRegression(intercept_scaling=scaling, **kw).fit(Xc, y)
            np.testing.assert_allclose(m.coef_, ref.coef_, atol=1e-6)
            np.testing.assert_allclose(m.intercept_, ref.intercept_, atol=1e-6)
    free = LogisticRegression(**{**kw, "solver": "owlqn" if l1_ratio else "newton"}).fit(X, y)
    assert np.abs(free.intercept_ - ref.intercept_).max() > 1e-2  # an unpenalised intercept
    warm = LogisticRegression(intercept_scaling=10.0, warm_start=True, **kw).fit(X, y)
    warm.set_params(max_iter=1).fit(X, y)  # one more iteration from the optimum
    np.testing.assert_allclose(warm.intercept_, ref.intercept_, atol=1e-6)


def test_dtype_follows_x():
    X, y = _two_blobs()
    for dt in (np.float32, np.float64):
        m = LogisticRegression().fit(X.astype(dt), y)
        assert m.coef_.dtype == dt and m.intercept_.dtype == dt
        assert m.decision_function(X.astype(dt)).dtype == dt


@pytest.mark.parametrize(
    "name, params",
    [
        ("LogisticRegression", {"solver": "liblinear"}),
        ("LogisticRegression", {"solver": "lbfgs"}),
        ("LogisticRegressionCV", {"Cs": 2, "cv": 2}),
        ("LinearSVC", {}),
        ("SGDClassifier", {}),
        ("RidgeClassifier", {}),
    ],
)
def test_float32_input_gives_the_coefficients_type_of_sklearns(name, params):
    # liblinear's solvers and LogisticRegressionCV compute in doubles there: the bridge
    # kept float32 for them
    import sklearn.linear_model
    import sklearn.svm

    import jaxlin.sklearn

    X, y = _two_blobs(n=60)
    X = X.astype(np.float32)
    theirs = getattr(sklearn.linear_model, name, None) or getattr(sklearn.svm, name)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        expected = theirs(**params).fit(X, y).coef_.dtype
        got = getattr(jaxlin.sklearn, name)(**params).fit(X, y)
    assert got.coef_.dtype == expected and np.asarray(got.intercept_).dtype == expected


# ------------------------------------------------------------ warm_start, partial_fit


def _two_blobs(n=300, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 4))
    return X, np.where(X[:, 0] + X[:, 1] + 0.3 * rng.normal(size=n) > 0, "yes", "no")


def test_warm_start_starts_from_the_previous_coefficients():
    X, y = _two_blobs()
    cold = LogisticRegression(C=0.5, tol=1e-10).fit(X, y)
    warm = LogisticRegression(C=0.5, tol=1e-10, warm_start=True).fit(X, y)
    again = warm.fit(X, y)  # already at the optimum: no step, as scikit-learn's lbfgs
    assert again.n_iter_[0] == 0 < cold.n_iter_[0]
    np.testing.assert_allclose(again.coef_, cold.coef_, atol=1e-8)
    # without warm_start every fit starts from zero and repeats the first
    np.testing.assert_array_equal(
        LogisticRegression(C=0.5, tol=1e-10).fit(X, y).n_iter_, cold.n_iter_
    )
    # one epoch of SGD from the previous coefficients differs from one epoch from zero
    sgd = SGDClassifier(max_iter=1, tol=None, warm_start=True, random_state=0).fit(X, y)
    first = sgd.coef_.copy()
    sgd.fit(X, y)
    fresh = SGDClassifier(max_iter=1, tol=None, random_state=0).fit(X, y)
    np.testing.assert_array_equal(fresh.coef_, first)
    assert not np.allclose(sgd.coef_, first)
    # new classes: the warm start does not apply, the fit starts afresh
    y3 = np.array(["a", "b", "c"])[np.arange(len(y)) % 3]
    assert LogisticRegression(warm_start=True).fit(X, y).fit(X, y3).coef_.shape == (3, 4)


def test_a_warm_start_from_non_finite_coefficients_is_refused_by_name():
    X, y = _two_blobs()
    for est, again in [
        (LogisticRegression(warm_start=True), "fit"),
        (SGDClassifier(), "partial_fit"),
    ]:
        est.fit(X, y)
        est.intercept_[:] = np.inf
        with pytest.raises(ValueError, match="^coef_, intercept_: .* NaN or infinite"):
            getattr(est, again)(X, y)


def test_partial_fit_full_batch_calls_equal_gradient_descent_epochs():
    """With batches as large as the chunk, k calls are k full-batch steps of plain SGD."""
    import jaxlin

    X, y = _two_blobs(n=120)
    m = SGDClassifier(
        loss="log_loss",
        batch_size=1000,
        learning_rate="constant",
        eta0=0.1,
        alpha=1e-3,
        random_state=0,
    )
    for _ in range(7):
        m.partial_fit(X, y, classes=["no", "yes"])
    ref = jaxlin.fit(
        X,
        (y == "yes").astype(int),
        optimizer="sgd",
        learning_rate=0.1,
        l2=1e-3 / 2,
        epochs=7,
        dtype=np.float64,
    )
    np.testing.assert_allclose(m.coef_[0], np.asarray(ref.params.W)[:, 0], rtol=1e-12)
    np.testing.assert_allclose(m.intercept_, np.asarray(ref.params.b), rtol=1e-12)


def test_partial_fit_learns_from_chunks_with_any_classes():
    """Chunks that show one class only are accepted, and the steps over them are
    scikit-learn's own (rows in order: its learning-rate schedule goes on across calls)."""
    from sklearn.linear_model import SGDClassifier as SkSGD

    X, y = _two_blobs(n=600)
    order = np.argsort(y, kind="stable")  # the first chunks show one class only
    y3 = np.array(["a", "b", "c"])[np.argmax(X[:, :3], axis=1)]
    for loss, labels in (("hinge", y), ("log_loss", y), ("hinge", y3)):
        ours, theirs = (
            est(loss=loss, shuffle=False, random_state=0) for est in (SGDClassifier, SkSGD)
        )
        for idx in np.array_split(order, 12):
            for m in (ours, theirs):
                m.partial_fit(X[idx], labels[idx], classes=np.unique(labels))
        assert list(ours.classes_) == list(theirs.classes_) and ours.t_ == theirs.t_
        np.testing.assert_allclose(ours.coef_, theirs.coef_, rtol=1e-9, atol=1e-12)
        np.testing.assert_allclose(ours.intercept_, theirs.intercept_, rtol=1e-9, atol=1e-12)
    m3 = SGDClassifier(loss="softmax", random_state=0)  # jaxlin's multinomial loss
    for idx in np.array_split(np.arange(600), 6):
        m3.partial_fit(X[idx], y3[idx], classes=["a", "b", "c"])
    assert m3.coef_.shape == (3, 4) and m3.score(X, y3) > 0.8


def test_partial_fit_follows_scikit_learns_contract():
    X, y = _two_blobs()
    with pytest.raises(ValueError, match="classes must be passed on the first call"):
        SGDClassifier().partial_fit(X, y)
    m = SGDClassifier().partial_fit(X, y, classes=["no", "yes"])
    with pytest.raises(ValueError, match="is not the same as on the last call"):
        m.partial_fit(X, y, classes=["no", "yes", "maybe"])
    with pytest.raises(ValueError, match="y: labels .*maybe.* are not in classes"):
        m.partial_fit(X[:3], np.array(["no", "maybe", "yes"]))
    with pytest.raises(ValueError, match="3 features"):
        m.partial_fit(X[:, :3], y)
    with pytest.raises(ValueError, match="balanced' is not supported for partial_fit"):
        SGDClassifier(class_weight="balanced").partial_fit(X, y, classes=["no", "yes"])
    # partial_fit after fit goes on from the fitted coefficients
    f = SGDClassifier(random_state=0).fit(X, y)
    before = f.coef_.copy()
    f.partial_fit(X, y)
    assert f.coef_.shape == before.shape and not np.array_equal(f.coef_, before)


def test_estimator_checks_pass_with_jaxs_x64_flag_off():
    """The suite turns JAX's x64 flag on; a user's process usually has it off. There the
    bridge computes float64 input in float64 through the scoped mode and float32 input in
    float32: scikit-learn's checks of dtypes, of sample-weight equivalence (which failed in
    float32 before) and of training pass. (The whole check_estimator passes too; it takes
    2.5 minutes for the seven estimators, too long for every run.)"""
    import os
    import subprocess
    import sys

    code = (
        "import warnings; warnings.simplefilter('ignore')\n"
        "import jax\n"
        "from sklearn.utils.estimator_checks import estimator_checks_generator\n"
        "from jaxlin.sklearn import LogisticRegression\n"
        "names = {'check_estimators_dtypes', 'check_classifiers_train',\n"
        "         'check_sample_weight_equivalence_on_dense_data'}\n"
        "ran = []\n"
        "for est, check in estimator_checks_generator(LogisticRegression(), legacy=True):\n"
        "    name = getattr(check, 'func', check).__name__\n"
        "    if name in names:\n"
        "        check(est); ran.append(name)\n"
        "print(len(ran), sorted(set(ran)) == sorted(names), jax.config.jax_enable_x64)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        env={**os.environ, "JAX_ENABLE_X64": "0"},
        timeout=600,
    )
    assert out.returncode == 0, out.stderr[-3000:]
    assert out.stdout.split()[1:] == ["True", "False"] and int(out.stdout.split()[0]) >= 3


@pytest.mark.parametrize(
    "est",
    [
        LogisticRegression(l1_ratio=1.0, C=0.1, solver="owlqn"),
        SGDClassifier(penalty="l1", alpha=0.01, random_state=0, warm_start=True),
        Perceptron(random_state=0),
        LinearSVC(penalty="l1", dual=False, C=0.1),
    ],
    ids=["logistic", "sgd", "perceptron", "linear-svc"],
)
def test_sparsify_keeps_the_scores_and_densify_restores_coef(est):
    """scikit-learn's ``sparsify``/``densify``: ``coef_`` as a CSR matrix and back; the
    scores of dense and sparse rows do not change, and a warm start reads a sparse
    ``coef_``."""
    import scipy.sparse as sp
    from sklearn.datasets import load_iris
    from sklearn.preprocessing import scale

    X, y = load_iris(return_X_y=True)
    X = scale(X)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # max_iter=1 below
        _sparsify_and_back(est, X, y, sp)


def _sparsify_and_back(est, X, y, sp):
    est.fit(X, y)
    dense_coef, scores = est.coef_.copy(), est.decision_function(X)
    assert est.sparsify() is est and sp.issparse(est.coef_)
    np.testing.assert_allclose(est.coef_.toarray(), dense_coef)
    np.testing.assert_allclose(est.decision_function(X), scores, rtol=1e-12)
    np.testing.assert_allclose(est.decision_function(sp.csr_matrix(X)), scores, rtol=1e-12)
    np.testing.assert_array_equal(est.predict(sp.coo_matrix(X)), est.predict(X))
    if getattr(est, "warm_start", False):
        est.set_params(max_iter=1).fit(X, y)  # starts from the sparse coefficients
        assert not sp.issparse(est.coef_) and est.coef_.shape == dense_coef.shape
    else:
        assert est.densify() is est and isinstance(est.coef_, np.ndarray)
        np.testing.assert_array_equal(est.coef_, dense_coef)


def test_perceptron_partial_fit_and_fit_are_scikit_learns():
    """With the rows in order, ``Perceptron``'s ``fit`` and a sequence of ``partial_fit``
    calls give scikit-learn's coefficients and ``t_``; ``coef_init`` starts a fit and
    ``early_stopping`` runs scikit-learn's rule on a held-out split."""
    from sklearn.datasets import load_iris
    from sklearn.linear_model import Perceptron as SkPerceptron
    from sklearn.preprocessing import scale

    X, y = load_iris(return_X_y=True)
    X, classes = scale(X), np.unique(y)
    ours, ref = Perceptron(shuffle=False), SkPerceptron(shuffle=False)
    for _ in range(2):
        for rows in np.array_split(np.arange(len(y)), 3):
            ours.partial_fit(X[rows], y[rows], classes=classes)
            ref.partial_fit(X[rows], y[rows], classes=classes)
    np.testing.assert_allclose(ours.coef_, ref.coef_, atol=1e-12)
    np.testing.assert_allclose(ours.intercept_, ref.intercept_, atol=1e-12)
    assert ours.t_ == ref.t_ == 2 * len(y) + 1
    start = dict(coef_init=ref.coef_, intercept_init=ref.intercept_)
    kw = dict(shuffle=False, tol=None, max_iter=2)
    np.testing.assert_allclose(
        Perceptron(**kw).fit(X, y, **start).coef_, SkPerceptron(**kw).fit(X, y, **start).coef_
    )
    est = Perceptron(early_stopping=True, random_state=0, max_iter=200).fit(X, y)
    assert est.n_iter_ < 200 and est.score(X, y) > 0.8


def test_perceptron_reads_as_scikit_learns_fixed_sgd_settings():
    """scikit-learn's ``Perceptron`` is its SGD with the loss, rate and averaging fixed; code
    that reads them finds the same values here."""
    from sklearn.linear_model import Perceptron as SkPerceptron

    from jaxlin.sklearn import Perceptron

    for name in ("loss", "learning_rate", "power_t", "epsilon", "average"):
        assert getattr(Perceptron(), name) == getattr(SkPerceptron(), name), name


def test_a_diverged_fit_is_scikit_learns_error_without_jaxlins_warning():
    # jaxlin.fit warns of a diverged run (DivergedWarning); the bridge raises scikit-learn's
    # ValueError for it instead, and the warning would have said the same thing twice
    rng = np.random.default_rng(0)
    X = rng.normal(size=(60, 3)) * 1e10
    y = (X[:, 0] > 0).astype(int)
    est = SGDClassifier(learning_rate="constant", eta0=1e30, max_iter=5, tol=None)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(ValueError, match="^Floating-point under-/overflow occurred at epoch"):
            est.fit(X, y)


def test_a_value_whose_square_overflows_is_named_not_fitted_around():
    """With a value past √max the Newton steps are infinite: the fit used to stop at
    rounding with that feature's weight left at 0, as if fitted."""
    X, y = _two_blobs()
    X = np.array(X, dtype=np.float64)
    X[3, 0] = 3e160
    with pytest.raises(ValueError, match=r"X: the value at row 3, column 0 .* too large"):
        LogisticRegression().fit(X, y)


@pytest.mark.parametrize("kind", ["BCOO", "BCSR"])
def test_jax_sparse_arrays_fit_and_predict_as_their_scipy_matrix(kind):
    """Every bridge estimator takes a JAX ``BCOO``/``BCSR`` where it takes a SciPy matrix:
    the same coefficients, bit for bit, as from the CSR of its entries, and the same
    predictions (``partial_fit`` too)."""
    import scipy.sparse as sp
    from jax.experimental import sparse as jsparse

    import jaxlin.sklearn

    rng = np.random.default_rng(4)
    X = rng.normal(size=(40, 5)) * (rng.random((40, 5)) < 0.5)
    y = np.arange(40) % 3
    J = getattr(jsparse, kind).fromdense(X)
    for name in jaxlin.sklearn.__all__:
        make = getattr(jaxlin.sklearn, name)
        seeded = {"random_state": 0} if "random_state" in make().get_params() else {}
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ours = make(**seeded).fit(J, y)
            theirs = make(**seeded).fit(sp.csr_matrix(X), y)
        np.testing.assert_array_equal(ours.coef_, theirs.coef_, err_msg=name)
        np.testing.assert_array_equal(ours.predict(J), theirs.predict(X), err_msg=name)
    a, b = SGDClassifier(random_state=0), SGDClassifier(random_state=0)
    a.partial_fit(J, y, classes=[0, 1, 2])
    b.partial_fit(sp.csr_matrix(X), y, classes=[0, 1, 2])
    np.testing.assert_array_equal(a.coef_, b.coef_)
