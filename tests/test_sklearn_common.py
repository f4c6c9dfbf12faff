"""scikit-learn's own ``linear_model/tests/test_common.py``, run against jaxlin's bridge.

Its tests are parametrised over scikit-learn's linear models (the balance property of a
canonical-link fit with an intercept, the shapes of ``coef_`` and ``intercept_``, a
pipeline's equal results on dense and sparse input). The module's source is executed with
every estimator of ``jaxlin.sklearn`` (``LogisticRegression``, ``LogisticRegressionCV``,
``SGDClassifier``, ``Perceptron``, ``LinearSVC``, ``RidgeClassifier``, ``RidgeClassifierCV``,
``PassiveAggressiveClassifier``) rebound to the bridge's, and each test keeps the parametrisations
that hold one of them (the others test scikit-learn's own estimators). scikit-learn's
marks stay: its ``xfail`` of saga's balance property (saga lacks importance sampling)
applies to scikit-learn's solver, which the bridge's saga name does not run, so there it
may pass (not strict).
"""

import inspect

import pytest

import jaxlin.sklearn
from helpers import narrowed, param_values, sorted_tests

_T = pytest.importorskip("sklearn.linear_model.tests.test_common")
_SOURCE = inspect.getsource(_T)
_ANCHOR = "from sklearn.utils.fixes import CSR_CONTAINERS"
assert _ANCHOR in _SOURCE
_OURS = tuple(getattr(jaxlin.sklearn, name) for name in jaxlin.sklearn.__all__)
_BIND = f"\nfrom jaxlin.sklearn import {', '.join(jaxlin.sklearn.__all__)}\n"
_NS = {"__name__": "sklearn_test_common_on_jaxlin"}
exec(compile(_SOURCE.replace(_ANCHOR, _ANCHOR + _BIND, 1), _T.__file__, "exec"), _NS)


def _is_ours(value) -> bool:
    return value in _OURS if isinstance(value, type) else isinstance(value, _OURS)


def _keep(entry) -> bool:
    """A parametrisation entry that holds no estimator, or one of the bridge's."""
    values = param_values(entry)
    return not any(hasattr(v, "fit") for v in values) or any(_is_ours(v) for v in values)


def _for_the_bridge(fn):
    """``fn`` narrowed to the parametrisations that hold a bridge estimator, or ``None``."""
    marks = [m for m in getattr(fn, "pytestmark", []) if m.name == "parametrize"]
    if not any(_is_ours(v) for m in marks for e in m.args[1] for v in param_values(e)):
        return None
    return narrowed(fn, _keep)


ALL, _RUN, NOT_OURS = sorted_tests(_SOURCE, _NS, {}, _for_the_bridge)
RUN = list(_RUN)
globals().update(_RUN)


def test_every_test_runs_against_the_bridge_or_builds_none_of_its_estimators():
    assert set(RUN) | set(NOT_OURS) == set(ALL) and len(RUN) >= 2
    for name in NOT_OURS:
        assert not any(n in inspect.getsource(_NS[name]) for n in jaxlin.sklearn.__all__), name
