"""scikit-learn's own ``svm/tests/test_svm.py``, run against jaxlin's bridge ``LinearSVC``.

Its source is executed with ``svm.LinearSVC`` (and the bare name ``LinearSVC``) rebound to
``jaxlin.sklearn.LinearSVC``. What runs is every test that builds a ``LinearSVC``, with its
other estimators' parametrisations left out (jaxlin has no ``LinearSVR``), except those
listed below with the reason. The rest of the module tests the kernel SVMs (libsvm), which
jaxlin does not have. ``test_every_linearsvc_test_is_run_or_listed`` keeps the lists honest.
"""

import inspect
import re
import types

import pytest

_T = pytest.importorskip("sklearn.svm.tests.test_svm")
import sklearn.svm as _sk_svm  # noqa: E402

import jaxlin.sklearn  # noqa: E402
from helpers import names_in_code, narrowed, param_values, sorted_tests  # noqa: E402

_SOURCE = inspect.getsource(_T)
_IMPORT = "from sklearn import base, datasets, linear_model, metrics, svm"
assert _IMPORT in _SOURCE
_SHIM = types.SimpleNamespace(
    **{k: getattr(_sk_svm, k) for k in dir(_sk_svm) if not k.startswith("__")}
)
_SHIM.LinearSVC = jaxlin.sklearn.LinearSVC
_REBOUND = (  # the bare name, imported from sklearn.svm, rebound after that import
    re.sub(
        r"(from sklearn\.svm import \([^)]*\)\n)", r"\1LinearSVC = svm.LinearSVC\n", _SOURCE
    ).replace(_IMPORT, "from sklearn import base, datasets, linear_model, metrics\nsvm = _SHIM")
)
assert _REBOUND.count("LinearSVC = svm.LinearSVC") == 1
_NS = {"__name__": "sklearn_test_svm_on_jaxlin", "_SHIM": _SHIM}
exec(compile(_REBOUND, _T.__file__, "exec"), _NS)

NOT_APPLICABLE = {
    "test_linearsvc_verbose": "prints liblinear's own progress to the file descriptor",
    "test_linear_svm_convergence_warnings": (
        "its LinearSVC half passes (the warning begins with liblinear's words); the rest "
        "fits a LinearSVR, which jaxlin does not have"
    ),
    "test_bad_input": "the kernel SVMs' input checks (SVC, NuSVC); LinearSVC's own are run",
}

OTHER_ESTIMATORS = ("LinearSVR", "SVC", "NuSVC", "SVR", "NuSVR", "OneClassSVM")


def _keep(entry):
    """A parametrisation entry that builds none of the estimators jaxlin does not have."""
    return not any(getattr(x, "__name__", None) in OTHER_ESTIMATORS for x in param_values(entry))


def _builds_linear_svc(fn) -> bool:
    return names_in_code(fn, "LinearSVC")


def _for_linear_svc(fn):
    """``fn`` with its parametrisations narrowed to ``LinearSVC``; ``None`` when it builds
    no ``LinearSVC`` or none of its parametrisations is left."""
    return narrowed(fn, _keep) if _builds_linear_svc(fn) else None


ALL, _RUN, NOT_LINEAR_SVC = sorted_tests(_SOURCE, _NS, NOT_APPLICABLE, _for_linear_svc)
RUN = list(_RUN)
globals().update(_RUN)


def test_every_linearsvc_test_is_run_or_listed():
    assert set(RUN) | set(NOT_APPLICABLE) | set(NOT_LINEAR_SVC) == set(ALL)
    assert not set(NOT_APPLICABLE) - set(ALL), "a listed test is gone from scikit-learn"
    assert len(RUN) >= 12
    for name in NOT_LINEAR_SVC:
        assert not _builds_linear_svc(_NS[name]), name


def test_the_rebinding_reaches_jaxlin():
    assert _NS["svm"].LinearSVC is jaxlin.sklearn.LinearSVC
    assert _NS["LinearSVC"] is jaxlin.sklearn.LinearSVC


# jaxlin's own comparisons with scikit-learn's LinearSVC (liblinear), solved tightly by both


def _both(X, y, sample_weight=None, **params):
    import warnings

    import numpy as np
    from sklearn.svm import LinearSVC as SkLinearSVC

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # liblinear's tight runs may stop at max_iter
        # a fixed coordinate order: with the global random state's, liblinear's L1 solver
        # on iris stops at max_iter short of the optimum for 2 seeds in 300 (94, 112)
        ref = SkLinearSVC(tol=1e-10, max_iter=100_000, random_state=0, **params)
        ref.fit(X, y, sample_weight=sample_weight)
    ours = jaxlin.sklearn.LinearSVC(tol=1e-10, max_iter=5000, **params)
    ours.fit(X, y, sample_weight=sample_weight)
    return ref, ours, np


@pytest.mark.parametrize(
    "params",
    [
        {},
        {"C": 10.0, "intercept_scaling": 5.0},
        {"penalty": "l1", "dual": False, "C": 0.5},
        {"fit_intercept": False},
        {"class_weight": "balanced"},
    ],
    ids=["l2", "l2-scaled-intercept", "l1", "no-intercept", "balanced"],
)
def test_squared_hinge_solutions_are_liblinears(params):
    """The squared hinge (the default) is smooth: jaxlin's solvers reach liblinear's optimum,
    the penalised intercept column included, one-vs-rest on iris's three classes."""
    from sklearn.datasets import load_iris

    X, y = load_iris(return_X_y=True)
    ref, ours, np = _both(X, y, **params)
    np.testing.assert_allclose(ours.coef_, ref.coef_, atol=2e-5)
    np.testing.assert_allclose(ours.intercept_, ref.intercept_, atol=2e-5)
    assert ours.coef_.shape == (3, 4) and isinstance(ours.n_iter_, int)
    if params.get("penalty") == "l1":  # the L1 zeros are exact, as liblinear's
        np.testing.assert_array_equal(ours.coef_ == 0, ref.coef_ == 0)


def test_sparse_rows_and_sample_weights_give_the_dense_fit():
    """A CSR matrix (liblinear's intercept column appended to it, sparse) trains to the
    dense fit, and sample weights enter as liblinear's per-row ``C``."""
    import numpy as np
    import scipy.sparse as sp
    from sklearn.datasets import make_classification

    X, y = make_classification(n_samples=120, n_features=30, random_state=0)
    X[np.abs(X) < 1.0] = 0.0
    w = np.random.default_rng(0).uniform(0.2, 3.0, len(y))
    ref, dense, _ = _both(X, y, sample_weight=w)
    csr = jaxlin.sklearn.LinearSVC(tol=1e-10, max_iter=5000).fit(
        sp.csr_matrix(X), y, sample_weight=w
    )
    np.testing.assert_allclose(csr.coef_, dense.coef_, atol=1e-9)
    np.testing.assert_allclose(csr.intercept_, dense.intercept_, atol=1e-9)
    np.testing.assert_allclose(dense.coef_, ref.coef_, atol=2e-5)
    np.testing.assert_allclose(dense.intercept_, ref.intercept_, atol=2e-5)


def test_max_iter_warns_in_liblinears_words_and_n_iter_is_an_int():
    import warnings

    from sklearn.datasets import load_iris
    from sklearn.exceptions import ConvergenceWarning

    X, y = load_iris(return_X_y=True)
    with pytest.warns(ConvergenceWarning, match="^Liblinear failed to converge"):
        est = jaxlin.sklearn.LinearSVC(max_iter=2).fit(X, y)
    assert est.n_iter_ == 2 and isinstance(est.n_iter_, int)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # tol reached first: no warning
        jaxlin.sklearn.LinearSVC().fit(X, y)


@pytest.mark.parametrize("dual", ["auto", True, False])
def test_l1_with_the_hinge_is_refused_as_by_scikit_learn(dual):
    """liblinear solves no L1 hinge problem: refused whatever ``dual`` says (``"auto"``
    too), in scikit-learn's words, before any training."""
    import numpy as np
    from sklearn.svm import LinearSVC as SkLinearSVC

    X, y = np.random.default_rng(0).normal(size=(20, 3)), np.arange(20) % 2
    for est in (SkLinearSVC, jaxlin.sklearn.LinearSVC):
        with pytest.raises(ValueError, match="Unsupported set of arguments.*penalty='l1'"):
            est(penalty="l1", loss="hinge", dual=dual).fit(X, y)
