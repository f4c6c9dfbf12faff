"""scikit-learn's own ``svm/tests/test_sparse.py``, run against jaxlin's bridge.

Its source is executed with ``svm.LinearSVC`` rebound to ``jaxlin.sklearn.LinearSVC`` and
``linear_model.LogisticRegression`` to ``jaxlin.sklearn.LogisticRegression``. What runs is
every test that builds a ``LinearSVC`` (sparse LIL, DOK and CSR input against dense, the
intercept's scaling, class weights); the rest of the module tests the kernel SVMs
(libsvm), which jaxlin does not have.
"""

import inspect
import re
import types

import pytest

_T = pytest.importorskip("sklearn.svm.tests.test_sparse")
import sklearn.linear_model as _sk_linear_model  # noqa: E402
import sklearn.svm as _sk_svm  # noqa: E402

import jaxlin.sklearn  # noqa: E402
from helpers import sorted_tests  # noqa: E402

_SOURCE = inspect.getsource(_T)
_IMPORT = "from sklearn import base, datasets, linear_model, svm"
assert _IMPORT in _SOURCE


def _shim(module, **ours):
    names = {k: getattr(module, k) for k in dir(module) if not k.startswith("__")}
    return types.SimpleNamespace(**{**names, **ours})


_NS = {
    "__name__": "sklearn_test_svm_sparse_on_jaxlin",
    "_SVM": _shim(_sk_svm, LinearSVC=jaxlin.sklearn.LinearSVC),
    "_LM": _shim(_sk_linear_model, LogisticRegression=jaxlin.sklearn.LogisticRegression),
}
_BOUND = _SOURCE.replace(
    _IMPORT, "from sklearn import base, datasets\nsvm, linear_model = _SVM, _LM"
)
exec(compile(_BOUND, _T.__file__, "exec"), _NS)


def _builds_linear_svc(fn) -> bool:
    """Whether ``fn``'s code (not its comments) names ``LinearSVC``."""
    return any("LinearSVC" in line.split("#")[0] for line in inspect.getsource(fn).splitlines())


ALL, _RUN, NOT_LINEAR_SVC = sorted_tests(
    _SOURCE, _NS, {}, lambda fn: fn if _builds_linear_svc(fn) else None
)
RUN = list(_RUN)
globals().update(_RUN)


def test_every_linearsvc_test_runs():
    assert set(RUN) | set(NOT_LINEAR_SVC) == set(ALL) and len(RUN) >= 4
    assert set(re.findall(r"^def (test_\w+)", _SOURCE, re.M)) == set(ALL)
    assert _NS["svm"].LinearSVC is jaxlin.sklearn.LinearSVC
    assert _NS["linear_model"].LogisticRegression is jaxlin.sklearn.LogisticRegression
