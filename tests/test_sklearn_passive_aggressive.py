"""scikit-learn's own ``linear_model/tests/test_passive_aggressive.py`` (its classifier
tests, dense and sparse containers), run against jaxlin's bridge.

Its source is executed with ``PassiveAggressiveClassifier`` and ``SGDClassifier`` rebound
to jaxlin's; its regressor tests exercise scikit-learn's own regressors (the bridge has
none) and are left out. Then the bridge's ``PassiveAggressiveClassifier`` against
scikit-learn's, shuffled rows and all.
"""

import inspect
import re
import warnings

import numpy as np
import pytest

from jaxlin.sklearn import PassiveAggressiveClassifier

_T = pytest.importorskip("sklearn.linear_model.tests.test_passive_aggressive")
_SOURCE = inspect.getsource(_T)
_NS = {"__name__": "sklearn_test_passive_aggressive_on_jaxlin"}
_REBIND = "\nfrom jaxlin.sklearn import PassiveAggressiveClassifier, SGDClassifier\n"
exec(compile(_SOURCE + _REBIND, _T.__file__, "exec"), _NS)

_ALL = sorted(re.findall(r"^def (test_\w+)", _SOURCE, re.M))
RUN = [name for name in _ALL if "regressor" not in name]
for _name in RUN:
    globals()[_name] = _NS[_name]


def test_every_classifier_test_of_the_module_runs():
    assert len(RUN) >= 10 and all(_name in globals() for _name in RUN)
    assert _NS["PassiveAggressiveClassifier"] is PassiveAggressiveClassifier


@pytest.mark.parametrize("loss", ["hinge", "squared_hinge"])
def test_same_coefficients_as_sklearn_shuffled(loss):
    """With the same ``random_state`` the bridge visits the rows in scikit-learn's order, so
    three classes one-vs-rest, averaged, with class weights and an early ``tol`` stop give
    scikit-learn's coefficients and epochs."""
    from sklearn.datasets import make_classification
    from sklearn.linear_model import PassiveAggressiveClassifier as SkPA

    X, y = make_classification(
        n_samples=150, n_features=6, n_informative=4, n_classes=3, random_state=3
    )
    kw = dict(C=0.3, loss=loss, random_state=7, average=10, class_weight={0: 2.0})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ours, ref = PassiveAggressiveClassifier(**kw).fit(X, y), SkPA(**kw).fit(X, y)
    assert ours.n_iter_ == ref.n_iter_ and ours.t_ == ref.t_
    np.testing.assert_allclose(ours.coef_, ref.coef_, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(ours.intercept_, ref.intercept_, rtol=1e-9, atol=1e-12)


def test_its_parameters_and_fixed_settings_are_sklearns():
    """The same constructor parameters and defaults, and the SGD settings it fixes readable
    under the same names, so code written against scikit-learn's class runs unchanged
    (scikit-learn's ``learning_rate`` and ``alpha`` attributes are its SGD's defaults, not
    the rule it runs; the bridge's say what runs)."""
    from sklearn.linear_model import PassiveAggressiveClassifier as SkPA

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ours, ref = (
            PassiveAggressiveClassifier(loss="squared_hinge", C=0.5),
            SkPA(loss="squared_hinge", C=0.5),
        )
    assert ours.get_params() == ref.get_params()
    assert (ours.penalty, ours.eta0) == (ref.penalty, ref.eta0) == (None, 0.5)
    assert ours.learning_rate == "pa2" and PassiveAggressiveClassifier().learning_rate == "pa1"
