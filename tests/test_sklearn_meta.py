"""scikit-learn's own tests of its meta-estimators, run with jaxlin's bridge estimators
inside them: ``tests/test_multiclass.py`` (one-vs-rest, one-vs-one, output codes, grid
search over them) and ``feature_selection/tests/test_from_model.py`` (``SelectFromModel``
on ``coef_``, L1 models, ``partial_fit``).

Each module's source is executed with the names of the bridge's estimators it imports
(``LogisticRegression``, ``SGDClassifier``, ``Perceptron``, ``LinearSVC``, …) rebound to
``jaxlin.sklearn``'s; every test whose code builds one of them runs, every parametrisation.
"""

import importlib
import inspect
import re

import pytest

import jaxlin.sklearn
from helpers import sorted_tests

pytest.importorskip("sklearn")
MODULES = {
    "multiclass": "sklearn.tests.test_multiclass",
    "from_model": "sklearn.feature_selection.tests.test_from_model",
}
BRIDGE = jaxlin.sklearn.__all__


def _bound(module: str):
    """``(source, namespace, the bridge names rebound)``: the module run with the bridge's
    estimators in place of the scikit-learn classes of the same names it imports."""
    mod = importlib.import_module(module)
    source = inspect.getsource(mod)
    used = [
        n
        for n in BRIDGE
        if re.search(rf"^\s+{n},$|^from sklearn\.\w+ import .*\b{n}\b", source, re.M)
    ]
    at = re.search(r"^(def |@|class )", source, re.M).start()  # after the imports
    bound = source[:at] + f"from jaxlin.sklearn import {', '.join(used)}\n" + source[at:]
    ns = {"__name__": f"sklearn_{module.rsplit('.', 1)[1]}_on_jaxlin"}
    exec(compile(bound, mod.__file__, "exec"), ns)
    return source, ns, used


RUN, NOT_OURS, USED = {}, {}, {}
for _key, _module in MODULES.items():
    _source, _ns, USED[_key] = _bound(_module)

    def _ours(fn, used=USED[_key]):
        code = "\n".join(line.split("#")[0] for line in inspect.getsource(fn).splitlines())
        return fn if any(re.search(rf"\b{n}\b", code) for n in used) else None

    _all, _run, NOT_OURS[_key] = sorted_tests(_source, _ns, {}, _ours)
    for _name, _fn in _run.items():
        RUN[f"test_{_key}__{_name[5:]}"] = _fn
    for _name, _value in _ns.items():  # the module's fixtures, under their own names
        if type(_value).__name__ == "FixtureFunctionDefinition":
            globals()[_name] = _value
globals().update(RUN)


def test_the_bridge_estimators_are_the_ones_the_tests_build():
    assert set(USED["multiclass"]) >= {"LogisticRegression", "Perceptron", "SGDClassifier"}
    assert "LinearSVC" in USED["from_model"] and len(RUN) >= 30
