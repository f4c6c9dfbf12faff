"""scikit-learn's own ``linear_model/tests/test_ridge.py``, run against jaxlin's bridge
``RidgeClassifier`` and ``RidgeClassifierCV``.

Its source is executed with the names ``RidgeClassifier`` and ``RidgeClassifierCV`` rebound
to the bridge's right after its imports. What runs is every test whose code builds either,
its parametrisations narrowed to the entries that hold no other of scikit-learn's ridge
estimators, except those listed below with the reason; the rest of the module tests
``Ridge``, ``RidgeCV`` and scikit-learn's solvers, which jaxlin does not have.
``test_every_ridge_classifier_test_is_run_or_listed`` keeps the lists honest.
"""

import inspect
import re

import pytest

_T = pytest.importorskip("sklearn.linear_model.tests.test_ridge")

import jaxlin.sklearn  # noqa: E402
from helpers import names_in_code, narrowed, param_values, sorted_tests  # noqa: E402

_SOURCE = inspect.getsource(_T)
_REBOUND = re.sub(  # on the import's own last line: the tests' line numbers stay true
    r"(from sklearn\.linear_model import \([^)]*\))\n",
    r"\1; from jaxlin.sklearn import RidgeClassifier, RidgeClassifierCV\n",
    _SOURCE,
    count=1,
)
assert _REBOUND.count("from jaxlin.sklearn import RidgeClassifier, RidgeClassifierCV") == 1
_NS = {"__name__": "sklearn_test_ridge_on_jaxlin"}
exec(compile(_REBOUND, _T.__file__, "exec"), _NS)

_ARRAY_API = (
    "scikit-learn's array-API dispatch (array_api_strict, torch, cupy, dpnp): the bridge "
    "computes in JAX, and none of those libraries is a dependency"
)
NOT_APPLICABLE = {
    "test_ridge_array_api_compliance": _ARRAY_API,
    "test_ridge_classifier_multilabel_array_api": _ARRAY_API,
}

OTHER_ESTIMATORS = ("Ridge", "RidgeCV", "LinearRegression")


def _keep(entry):
    """A parametrisation entry that builds none of the estimators jaxlin does not have."""
    return not any(
        getattr(x, "__name__", type(x).__name__) in OTHER_ESTIMATORS for x in param_values(entry)
    )


def _builds_ridge_classifier(fn) -> bool:
    return names_in_code(fn, r"\bRidgeClassifier(CV)?\b")


def _helper_builds(entry) -> bool:
    """Whether a parametrisation entry is a helper of the module that builds one
    (``test_dense_sparse`` runs ``_test_ridge_classifiers`` among others)."""
    return any(inspect.isfunction(x) and _builds_ridge_classifier(x) for x in param_values(entry))


def _for_ridge_classifier(fn):
    if _builds_ridge_classifier(fn):
        return narrowed(fn, _keep)
    marks = [m for m in getattr(fn, "pytestmark", []) if m.name == "parametrize"]
    if any(_helper_builds(v) for m in marks for v in m.args[1]):
        return narrowed(
            fn,
            lambda v: not any(inspect.isfunction(x) for x in param_values(v)) or _helper_builds(v),
        )
    return None


ALL, _RUN, NOT_RIDGE_CLASSIFIER = sorted_tests(_SOURCE, _NS, NOT_APPLICABLE, _for_ridge_classifier)
RUN = list(_RUN)
globals().update(_RUN)


def test_every_ridge_classifier_test_is_run_or_listed():
    assert set(RUN) | set(NOT_APPLICABLE) | set(NOT_RIDGE_CLASSIFIER) == set(ALL)
    assert not set(NOT_APPLICABLE) - set(ALL), "a listed test is gone from scikit-learn"
    assert len(RUN) >= 4
    for name in NOT_RIDGE_CLASSIFIER:
        assert not _builds_ridge_classifier(_NS[name]), name


def test_the_rebinding_reaches_jaxlin():
    assert _NS["RidgeClassifier"] is jaxlin.sklearn.RidgeClassifier
    assert _NS["RidgeClassifierCV"] is jaxlin.sklearn.RidgeClassifierCV


# jaxlin's own comparisons with scikit-learn's RidgeClassifier (its direct solvers)


def _pair(X, y, sample_weight=None, **params):
    import numpy as np
    from sklearn.linear_model import RidgeClassifier as SkRidgeClassifier

    ref = SkRidgeClassifier(solver="svd" if not hasattr(X, "tocsr") else "auto", tol=1e-14)
    ref.set_params(**params).fit(X, y, sample_weight=sample_weight)
    ours = jaxlin.sklearn.RidgeClassifier(**params).fit(X, y, sample_weight=sample_weight)
    np.testing.assert_allclose(ours.coef_, ref.coef_, rtol=1e-8, atol=1e-10)
    np.testing.assert_allclose(ours.intercept_, ref.intercept_, rtol=1e-8, atol=1e-10)
    np.testing.assert_array_equal(ours.predict(X), ref.predict(X))
    assert ours.coef_.dtype == ref.coef_.dtype == X.dtype
    return ours


@pytest.mark.parametrize(
    "params",
    [
        {},
        {"alpha": 1e-3},
        {"alpha": 30.0, "fit_intercept": False},
        {"class_weight": "balanced"},
        {"class_weight": {0: 3.0, 2: 0.5}},
    ],
    ids=["default", "weak", "no-intercept", "balanced", "class-weights"],
)
@pytest.mark.parametrize("sparse", [False, True], ids=["dense", "csr"])
def test_the_optimum_is_sklearns(params, sparse):
    """Four classes one-vs-rest on signed targets, with sample weights: the least-squares
    optimum, which scikit-learn's direct solvers reach exactly."""
    import numpy as np
    import scipy.sparse as sp
    from sklearn.datasets import make_classification

    X, y = make_classification(
        n_samples=240, n_features=25, n_informative=8, n_classes=4, random_state=0
    )
    w = np.random.default_rng(0).uniform(0.2, 3.0, len(y))
    if sparse:
        X[np.abs(X) < 0.8] = 0.0
        X = sp.csr_matrix(X)
    ours = _pair(X, y, sample_weight=w, **params)
    assert ours.coef_.shape == (4, 25) and ours.n_iter_.shape == (1,)
    assert ours.solver_ == "newton-cholesky"  # the solver that ran, as scikit-learn's solver_


def test_two_classes_multilabel_per_target_alpha_and_float32():
    """Two classes train one column (``+1`` for ``classes_[1]``); a multilabel indicator
    trains its columns and predicts an indicator; an ``alpha`` per target column; float32
    input stays float32 (to float32's rounding)."""
    import numpy as np
    from sklearn.datasets import make_classification, make_multilabel_classification
    from sklearn.linear_model import RidgeClassifier as SkRidgeClassifier

    X, y = make_classification(n_samples=150, n_features=12, random_state=1)
    ours = _pair(X, np.where(y == 1, "spam", "ham"))
    assert ours.coef_.shape == (12,) and list(ours.classes_) == ["ham", "spam"]
    X, Y = make_multilabel_classification(n_samples=120, n_classes=4, random_state=0)
    ours = _pair(X, Y, alpha=np.array([0.1, 1.0, 10.0, 100.0]))
    assert ours.predict(X).shape == Y.shape
    X32 = X.astype(np.float32)
    ours = jaxlin.sklearn.RidgeClassifier().fit(X32, Y)
    ref = SkRidgeClassifier(solver="svd").fit(X32, Y)
    assert ours.coef_.dtype == np.float32
    np.testing.assert_allclose(ours.coef_, ref.coef_, rtol=1e-3, atol=1e-5)


def test_more_coefficients_than_newton_cholesky_takes():
    """Above the explicit Hessian's limit of parameters the fit runs Newton-CG on the
    Hessian-vector product, to the same optimum."""
    import numpy as np

    rng = np.random.default_rng(0)
    X = rng.normal(size=(60, 4200))
    y = (X[:, 0] + 0.1 * rng.normal(size=60) > 0).astype(int)
    assert _pair(X, y, alpha=5.0).solver_ == "newton"


def test_what_it_refuses_is_named():
    import numpy as np

    X, y = np.random.default_rng(0).normal(size=(20, 3)), np.arange(20) % 2
    for params, words in [
        ({"positive": True}, "positive: jaxlin has no bound-constrained solver"),
        ({"solver": "lbfgs"}, "'lbfgs' solver can be used only when positive=True"),
        ({"alpha": np.array([1.0, 2.0])}, r"alpha: expected one number or one per target"),
        ({"alpha": np.array([np.nan])}, "alpha: must be finite and >= 0"),
        ({"alpha": -1.0}, "The 'alpha' parameter of RidgeClassifier"),
    ]:
        with pytest.raises(ValueError, match=words):
            jaxlin.sklearn.RidgeClassifier(**params).fit(X, y)
    one = jaxlin.sklearn.RidgeClassifier().fit(X, np.full(20, 7))  # as scikit-learn's:
    np.testing.assert_array_equal(one.predict(X), np.full(20, 7))  # targets of −1
    np.testing.assert_allclose(one.intercept_, [-1.0]) and np.testing.assert_allclose(
        one.coef_, np.zeros(3), atol=1e-12
    )


@pytest.mark.parametrize("sparse", [False, True], ids=["dense", "csr"])
def test_a_value_whose_square_overflows_is_named(sparse):
    import numpy as np
    import scipy.sparse as sp

    X, y = np.random.default_rng(0).normal(size=(30, 3)), np.arange(30) % 3
    X[4, 1] = 3e160
    with pytest.raises(ValueError, match=r"X: the value at row 4, column 1 .* too large"):
        jaxlin.sklearn.RidgeClassifier().fit(sp.csr_matrix(X) if sparse else X, y)
