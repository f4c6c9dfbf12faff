"""scikit-learn estimators backed by jaxlin (needs the ``sklearn`` extra).

``import jaxlin`` does not import this module or scikit-learn. Every estimator follows
scikit-learn's conventions: ``__init__`` only stores its parameters, ``fit`` returns
``self`` and sets ``coef_`` ``(1, d)`` or ``(C, d)``, ``intercept_``, ``classes_``,
``n_features_in_`` (``feature_names_in_`` for data frames) and ``n_iter_``.

Penalties use scikit-learn's scaling: ``C · Σ_i w_i L_i + ½ (1 − ρ) ‖W‖² + ρ ‖W‖₁`` is
jaxlin's weighted mean loss plus ``l2 Σw² + l1 Σ|w|`` with ``l2 = (1 − ρ) / (2 C Σw)`` and
``l1 = ρ / (C Σw)``; ``C = inf`` means no penalty. ``sample_weight`` and ``class_weight``
enter the core objective as weights of its mean.

The arithmetic follows ``X``'s type, as in scikit-learn: float64 input is computed in
float64 (through JAX's scoped x64 mode, no global flag needed) and float32 input in float32,
and ``coef_``/``intercept_`` have ``X``'s type. Other input is converted to float64. On a TPU
float64 is computed in float32 with a warning (``jaxlin.backend.compute_dtype``).
"""

try:
    import sklearn  # noqa: F401
except ModuleNotFoundError as e:  # the bare "No module named 'sklearn'" said nothing of the extra
    raise ModuleNotFoundError(
        "jaxlin.sklearn needs scikit-learn: pip install 'jaxlin[sklearn]'", name="sklearn"
    ) from e

from jaxlin.sklearn._estimators import (
    LogisticRegression,
    PassiveAggressiveClassifier,
    Perceptron,
    SGDClassifier,
)
from jaxlin.sklearn._cv import LogisticRegressionCV
from jaxlin.sklearn._ridge import RidgeClassifier
from jaxlin.sklearn._ridge_cv import RidgeClassifierCV
from jaxlin.sklearn._svc import LinearSVC

__all__ = [
    "LogisticRegression",
    "LogisticRegressionCV",
    "Perceptron",
    "PassiveAggressiveClassifier",
    "RidgeClassifier",
    "RidgeClassifierCV",
    "LinearSVC",
    "SGDClassifier",
]
