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
float64 is computed in float32 with a warning (:func:`jaxlin.backend.compute_dtype`).
"""
from __future__ import annotations

import math

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.utils.class_weight import compute_class_weight
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import _check_sample_weight, check_is_fitted, validate_data

from jaxlin import decision
from jaxlin.cache import enable_compilation_cache
from jaxlin.driver import DIVERGED
from jaxlin.linear import Params
from jaxlin.losses import Loss, get_loss
from jaxlin.training import fit as _fit

__all__ = ["LogisticRegression", "Perceptron", "LinearSVC", "SGDClassifier"]


class _LinearClassifier(ClassifierMixin, BaseEstimator):
    """Shared fit/predict: subclasses choose the loss and the solver settings."""

    def _loss(self, n_classes: int) -> str:  # pragma: no cover - abstract
        raise NotImplementedError

    def _solver_kwargs(self, n_classes: int, total_weight: float) -> dict:  # pragma: no cover
        raise NotImplementedError

    def fit(self, X, y, sample_weight=None):
        enable_compilation_cache()  # refits and cross-validation reuse compiled programs
        X, y = validate_data(self, X, y, dtype=[np.float64, np.float32], y_numeric=False)
        check_classification_targets(y)
        classes, y_enc = np.unique(y, return_inverse=True)
        if len(classes) < 2:
            raise ValueError(
                "This solver needs samples of at least 2 classes in the data, but the data "
                f"contains only one class: {classes[0]!r}")
        warm = getattr(self, "warm_start", False) and self._fitted_for(X.shape[1], classes)
        self.classes_ = classes
        return self._train(X, y, y_enc, sample_weight, warm, {})

    def _fitted_for(self, n_features, classes) -> bool:
        """Whether the current coefficients can start a fit on these features and classes."""
        return hasattr(self, "coef_") and self.coef_.shape[1] == n_features \
            and np.array_equal(self.classes_, classes)

    def _warm_params(self, n_outputs):
        """The current coefficients as jaxlin's starting :class:`~jaxlin.linear.Params`."""
        W, b = self.coef_.T, self.intercept_
        if W.shape[1] == 1 and n_outputs == 2:  # a binary softmax: scores (0, z)
            W, b = np.hstack([np.zeros_like(W), W]), np.concatenate([[0.0], b])
        return Params(W, b)

    def _train(self, X, y, y_enc, sample_weight, warm, overrides, chunk=False):
        """Fit from the encoded labels; ``warm``: start from ``coef_``; ``overrides``:
        settings over the estimator's own (``partial_fit``: one epoch); ``chunk``: the rows
        are one chunk of the data, which may show fewer classes than ``classes_``."""
        n_classes = len(self.classes_)
        sw = _check_sample_weight(sample_weight, X, dtype=np.float64, ensure_non_negative=True)
        if getattr(self, "class_weight", None) is not None:
            # as scikit-learn: "balanced" counts the classes with the sample weights
            cw = compute_class_weight(self.class_weight, classes=self.classes_, y=y,
                                      sample_weight=sw)
            sw = sw * cw[y_enc]
        if sw.sum() <= 0:
            raise ValueError("sample_weight: all weights are zero")
        kwargs = {**self._solver_kwargs(n_classes, float(sw.sum())), **overrides}
        loss = self._loss(n_classes)
        if warm:
            kwargs["init"] = self._warm_params(_n_outputs(loss, n_classes))
        uniform = np.all(sw == sw[0])
        res = _fit(X, y_enc, loss, sample_weight=None if uniform else sw,
                   n_classes=n_classes if n_classes > 2 or chunk else None,
                   fit_intercept=self.fit_intercept, dtype=X.dtype,
                   seed=_seed(self.random_state), **kwargs)
        if np.any(np.asarray(res.status) == DIVERGED):
            raise ValueError("fit: training diverged; lower the learning rate")
        self._set_coefficients(res, X.dtype)
        return self

    def _set_coefficients(self, res, dtype):
        W, b = np.asarray(res.params.W, dtype), np.asarray(res.params.b, dtype)
        if len(self.classes_) == 2 and W.shape[1] == 2:
            # two softmax columns: only z₁ − z₀ matters (K = 2 softmax = BCE of the difference)
            W, b = W[:, 1:] - W[:, :1], b[1:] - b[:1]
        # the jaxlin loss the scores belong to: it decides labels and probabilities
        self.loss_function_ = res.loss if W.shape[1] > 1 or res.loss != "softmax_cross_entropy" \
            else "binary_cross_entropy"
        self.coef_ = W.T.copy()
        self.intercept_ = b.copy()
        self.n_iter_ = np.atleast_1d(np.asarray(res.epochs)).astype(np.int32)
        self.stop_reason_ = res.stop_reason

    def decision_function(self, X):
        """Scores: ``(N,)`` for two classes (positive means ``classes_[1]``), else ``(N, C)``."""
        check_is_fitted(self)
        X = validate_data(self, X, reset=False, dtype=[np.float64, np.float32])
        Z = X @ self.coef_.T + self.intercept_
        return Z[:, 0] if Z.shape[1] == 1 else Z

    def _scores(self, X):
        Z = self.decision_function(X)
        return Z[:, None] if Z.ndim == 1 else Z

    def predict(self, X):
        """``classes_[1]`` where the score is ``≥ 0`` (two classes), else the argmax."""
        scores = self._scores(X)  # checks that the model is fitted
        return self.classes_[decision.predict_labels(self.loss_function_, scores)]

    def _proba(self, X):
        scores = self._scores(X)  # checks that the model is fitted
        return decision.predict_proba(self.loss_function_, scores)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = False
        tags.classifier_tags.multi_class = True
        return tags


def _seed(random_state) -> int:
    if random_state is None:
        return 0
    if hasattr(random_state, "randint"):
        return int(random_state.randint(2**31 - 1))
    return int(random_state)


def _n_outputs(loss, n_classes) -> int:
    """The columns of ``W`` jaxlin trains for this loss: 1 for a binary loss on two classes,
    else one per class (multinomial, or one-vs-rest)."""
    target = loss.target if isinstance(loss, Loss) else get_loss(loss).target
    return 1 if target != "onehot" and n_classes == 2 else n_classes


def _penalty(C, l1_ratio, total_weight):
    if not C > 0:
        raise ValueError(f"C: must be positive, got {C!r}")
    if not 0.0 <= l1_ratio <= 1.0:
        raise ValueError(f"l1_ratio: must be between 0 and 1, got {l1_ratio!r}")
    if math.isinf(C):
        return 0.0, 0.0
    return l1_ratio / (C * total_weight), (1.0 - l1_ratio) / (2.0 * C * total_weight)


class LogisticRegression(_LinearClassifier):
    """Logistic regression: binary cross-entropy, or softmax cross-entropy for > 2 classes.

    Minimises ``C Σ w_i L_i + ½ (1 − ρ) ‖W‖² + ρ ‖W‖₁`` (ρ = ``l1_ratio``), as scikit-learn.
    ``solver``: ``"newton"`` (trust-region Newton-CG, the default: faster than L-BFGS to the
    optimum in the benchmarks), ``"newton-cholesky"``, ``"lbfgs"`` (smooth penalties only) or
    a jaxlin optimiser (``"gd"``, ``"adam"``, …; L1 by proximal
    steps). ``tol`` bounds the gradient norm (L-BFGS, Newton) or the change of the objective
    (the others).
    """

    def __init__(self, *, C=1.0, l1_ratio=0.0, fit_intercept=True, max_iter=1000, tol=1e-6,
                 solver="newton", learning_rate=1.0, class_weight=None, random_state=None,
                 warm_start=False):
        self.C = C
        self.l1_ratio = l1_ratio
        self.fit_intercept = fit_intercept
        self.max_iter = max_iter
        self.tol = tol
        self.solver = solver
        self.learning_rate = learning_rate
        self.class_weight = class_weight
        self.random_state = random_state
        self.warm_start = warm_start

    def _loss(self, n_classes):
        return "binary_cross_entropy" if n_classes == 2 else "softmax_cross_entropy"

    def _solver_kwargs(self, n_classes, total_weight):
        l1, l2 = _penalty(self.C, self.l1_ratio, total_weight)
        if self.solver == "lbfgs":
            return dict(optimizer="lbfgs", l1=l1, l2=l2, epochs=self.max_iter, grad_tol=self.tol,
                        tol=1e-14)
        if self.solver in ("newton", "newton-cholesky"):
            return dict(optimizer=self.solver, l1=l1, l2=l2, epochs=self.max_iter,
                        grad_tol=self.tol)
        return dict(optimizer=self.solver, learning_rate=self.learning_rate, l1=l1, l2=l2,
                    epochs=self.max_iter, tol=self.tol)

    def predict_proba(self, X):
        """``[1 − σ(z), σ(z)]`` for two classes, ``softmax(z)`` otherwise."""
        return self._proba(X)

    def predict_log_proba(self, X):
        return np.log(self.predict_proba(X))


class Perceptron(_LinearClassifier):
    """Rosenblatt's perceptron learning algorithm (one-vs-rest for more than 2 classes).

    Runs until every training example is classified correctly or ``max_iter`` epochs.
    The algorithm has no objective, so it takes no sample or class weights.
    """

    def __init__(self, *, max_iter=100, fit_intercept=True, random_state=None,
                 warm_start=False):
        self.max_iter = max_iter
        self.fit_intercept = fit_intercept
        self.random_state = random_state
        self.warm_start = warm_start

    def _loss(self, n_classes):
        return "squared_error_step"

    def _solver_kwargs(self, n_classes, total_weight):
        return dict(optimizer="perceptron", epochs=self.max_iter, one_vs_rest=n_classes > 2)

    def fit(self, X, y):
        """Rosenblatt's algorithm has no objective to weight: no ``sample_weight``."""
        return super().fit(X, y)


class LinearSVC(_LinearClassifier):
    """Linear SVM: ``C Σ w_i L_i + ½‖W‖²`` with the hinge or squared hinge.

    ``multi_class``: ``"weston_watkins"`` (sum over wrong classes) or
    ``"crammer_singer"`` (max over wrong classes; hinge only). Squared hinge trains with
    L-BFGS; the (non-smooth) hinge with full-batch subgradient steps of ``learning_rate``.
    """

    def __init__(self, *, C=1.0, loss="squared_hinge", multi_class="weston_watkins",
                 fit_intercept=True, max_iter=1000, tol=1e-8, learning_rate=0.1,
                 class_weight=None, random_state=None):
        self.C = C
        self.loss = loss
        self.multi_class = multi_class
        self.fit_intercept = fit_intercept
        self.max_iter = max_iter
        self.tol = tol
        self.learning_rate = learning_rate
        self.class_weight = class_weight
        self.random_state = random_state

    def _loss(self, n_classes):
        if self.loss not in ("hinge", "squared_hinge"):
            raise ValueError(f"loss: expected 'hinge' or 'squared_hinge', got {self.loss!r}")
        if self.multi_class not in ("weston_watkins", "crammer_singer"):
            raise ValueError(f"multi_class: expected 'weston_watkins' or 'crammer_singer', got "
                             f"{self.multi_class!r}")
        if n_classes == 2:
            return self.loss
        if self.multi_class == "crammer_singer":
            if self.loss != "hinge":
                raise ValueError("multi_class: 'crammer_singer' is implemented for the hinge only")
            return "crammer_singer_hinge"
        return "multiclass_hinge" if self.loss == "hinge" else "multiclass_squared_hinge"

    def _solver_kwargs(self, n_classes, total_weight):
        _, l2 = _penalty(self.C, 0.0, total_weight)
        if self.loss == "squared_hinge":
            return dict(optimizer="lbfgs", l2=l2, epochs=self.max_iter, grad_tol=self.tol,
                        tol=1e-14)
        return dict(optimizer="gd", learning_rate=self.learning_rate, l2=l2,
                    epochs=self.max_iter, tol=self.tol)


class SGDClassifier(_LinearClassifier):
    """Mini-batch stochastic gradient descent, scikit-learn's ``SGDClassifier`` objective.

    Minimises ``mean_i w_i L_i + α · ½‖W‖²`` (``penalty="l2"``), ``α ‖W‖₁`` (``"l1"``), or
    the elastic net with ``l1_ratio``. ``loss``: ``"log_loss"``, ``"hinge"``,
    ``"squared_hinge"``, ``"perceptron"`` (one-vs-rest for more than 2 classes, as
    scikit-learn), ``"softmax"`` (multinomial), or a :class:`jaxlin.Loss` of your own
    (one-vs-rest for a binary target, multinomial for a one-hot one). ``optimizer``: any jaxlin optimiser name.
    Like scikit-learn's, it runs up to ``epochs`` (1000) and stops once the epoch's mean
    objective changes by less than ``tol`` (``None``: never).
    """

    _LOSSES = {"log_loss": "binary_cross_entropy", "hinge": "hinge",
               "squared_hinge": "squared_hinge", "perceptron": "squared_error_step"}

    def __init__(self, *, loss="log_loss", penalty="l2", alpha=1e-4, l1_ratio=0.15,
                 batch_size=32, learning_rate=0.01, epochs=1000, tol=1e-4, optimizer="sgd",
                 fit_intercept=True, class_weight=None, random_state=None, warm_start=False):
        self.loss = loss
        self.penalty = penalty
        self.alpha = alpha
        self.l1_ratio = l1_ratio
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.epochs = epochs
        self.tol = tol
        self.optimizer = optimizer
        self.fit_intercept = fit_intercept
        self.class_weight = class_weight
        self.random_state = random_state
        self.warm_start = warm_start

    def partial_fit(self, X, y, classes=None, sample_weight=None):
        """One pass (epoch) of mini-batch steps over the given rows, from the current
        coefficients — scikit-learn's contract for data that arrives in chunks.

        ``classes`` (every class that will ever appear) is required on the first call and,
        when given later, must be the same. The optimiser's own state (momentum, Adam's
        moments) starts afresh at each call; plain ``"sgd"`` has none, so a sequence of calls
        equals one run over the same mini-batches.
        """
        enable_compilation_cache()
        first = not hasattr(self, "classes_")
        if first and classes is None:
            raise ValueError("classes must be passed on the first call to partial_fit.")
        if self.class_weight == "balanced":
            raise ValueError("class_weight 'balanced' is not supported for partial_fit: "
                             "the class frequencies of later chunks are unknown; pass a dict")
        X, y = validate_data(self, X, y, dtype=[np.float64, np.float32], y_numeric=False,
                             reset=first)
        check_classification_targets(y)
        if classes is not None:
            classes = np.unique(classes)
            if not first and not np.array_equal(classes, self.classes_):
                raise ValueError(f"classes={classes!r} is not the same as on the last call to "
                                 f"partial_fit, was: {self.classes_!r}")
            if len(classes) < 2:
                raise ValueError(f"classes: need at least 2 classes, got {classes!r}")
        known = self.classes_ if classes is None else classes
        unknown = np.setdiff1d(y, known)
        if unknown.size:
            raise ValueError(f"y: labels {unknown!r} are not in classes {known!r}")
        self.classes_ = known
        return self._train(X, y, np.searchsorted(known, y), sample_weight,
                           hasattr(self, "coef_"), {"epochs": 1, "tol": None}, chunk=True)

    def _loss(self, n_classes):
        if isinstance(self.loss, Loss):  # a user's own loss (see jaxlin.verify)
            return self.loss
        if self.loss == "softmax":
            return "softmax_cross_entropy"
        if not isinstance(self.loss, str) or self.loss not in self._LOSSES:
            raise ValueError(f"loss: unknown loss {self.loss!r}; choose one of "
                             f"{', '.join([*self._LOSSES, 'softmax'])} or a jaxlin.Loss")
        return self._LOSSES[self.loss]

    def _solver_kwargs(self, n_classes, total_weight):
        if self.penalty not in ("l2", "l1", "elasticnet", None):
            raise ValueError(f"penalty: unknown penalty {self.penalty!r}")
        a = float(self.alpha)
        l1, l2 = {"l2": (0.0, a / 2), "l1": (a, 0.0), None: (0.0, 0.0),
                  "elasticnet": (a * self.l1_ratio, a * (1 - self.l1_ratio) / 2)}[self.penalty]
        return dict(optimizer=self.optimizer, learning_rate=self.learning_rate,
                    batch_size=self.batch_size, epochs=self.epochs, tol=self.tol, l1=l1, l2=l2,
                    one_vs_rest=n_classes > 2 and self._multinomial() is False)

    def _multinomial(self):
        if isinstance(self.loss, Loss):
            return self.loss.target == "onehot"
        return self.loss == "softmax"

    def predict_proba(self, X):
        if self.loss not in ("log_loss", "softmax"):
            raise AttributeError("predict_proba is available for loss='log_loss' or 'softmax'")
        return self._proba(X)  # one-vs-rest: the sigmoids, normalised
