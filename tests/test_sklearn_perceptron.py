"""scikit-learn's own ``linear_model/tests/test_perceptron.py`` (every test, dense and sparse
containers), run against jaxlin's bridge.

Its source is executed with ``Perceptron`` rebound to ``jaxlin.sklearn.Perceptron``.
scikit-learn's ``test_sgd.py`` runs against the bridge's ``SGDClassifier`` in
``test_sklearn_sgd.py``.
"""

import inspect
import re

import pytest

_T = pytest.importorskip("sklearn.linear_model.tests.test_perceptron")
_SOURCE = inspect.getsource(_T)
_NS = {"__name__": "sklearn_test_perceptron_on_jaxlin"}
exec(compile(_SOURCE + "\nfrom jaxlin.sklearn import Perceptron\n", _T.__file__, "exec"), _NS)

RUN = sorted(re.findall(r"^def (test_\w+)", _SOURCE, re.M))
for _name in RUN:
    globals()[_name] = _NS[_name]


def test_every_test_of_the_module_runs():
    assert len(RUN) >= 4 and all(_name in globals() for _name in RUN)
