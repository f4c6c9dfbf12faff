"""scikit-learn's own ``svm/tests/test_bounds.py``, run against jaxlin's bridge.

``l1_min_c`` is the smallest ``C`` at which an L1-penalised model is not all zero. Its test
fits ``LogisticRegression(solver="liblinear")`` and ``LinearSVC(penalty="l1")`` at that
``C`` (every coefficient and the intercept exactly 0) and just above it (not all 0), with
and without liblinear's penalised intercept, on dense and sparse containers. The module's
source is executed with both classes rebound to ``jaxlin.sklearn``'s. Its other tests
check ``l1_min_c``'s own errors and libsvm's random-number generator, no estimator: not run.
"""

import inspect
import re

import pytest

import jaxlin.sklearn

_T = pytest.importorskip("sklearn.svm.tests.test_bounds")
_SOURCE = inspect.getsource(_T)
_NS = {"__name__": "sklearn_test_bounds_on_jaxlin"}
exec(
    compile(
        _SOURCE + "\nfrom jaxlin.sklearn import LinearSVC, LogisticRegression\n",
        _T.__file__,
        "exec",
    ),
    _NS,
)

RUN = ["test_l1_min_c"]
NOT_RUN = {
    "test_ill_posed_min_c": "l1_min_c's own error, no estimator",
    "test_newrand_default": "libsvm's random-number generator",
    "test_newrand_set_seed": "libsvm's random-number generator",
    "test_newrand_set_seed_overflow": "libsvm's random-number generator",
    "test_newrand_bounded_rand_int": "libsvm's random-number generator",
    "test_newrand_bounded_rand_int_limits": "libsvm's random-number generator",
}
for _name in RUN:
    globals()[_name] = _NS[_name]


def test_every_test_of_the_module_is_run_or_listed():
    assert set(re.findall(r"^def (test_\w+)", _SOURCE, re.M)) == set(RUN) | set(NOT_RUN)
    assert _NS["LogisticRegression"] is jaxlin.sklearn.LogisticRegression
    assert _NS["LinearSVC"] is jaxlin.sklearn.LinearSVC
