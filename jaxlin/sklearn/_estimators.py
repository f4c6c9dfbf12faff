"""LogisticRegression, Perceptron, LinearSVC and SGDClassifier."""

from __future__ import annotations

import warnings
from numbers import Integral, Real

import numpy as np
from sklearn.base import _fit_context
from sklearn.utils._param_validation import HasMethods, Hidden, Interval, StrOptions
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import validate_data

from jaxlin import solvers
from jaxlin.cache import enable_compilation_cache
from jaxlin.losses import Loss
from jaxlin.presets import COMMAND_DEFAULTS
from jaxlin.sklearn._base import (
    CLASS_WEIGHT,
    ITERATIONS,
    NON_NEGATIVE,
    POSITIVE,
    POSITIVE_OR_INF,
    SPARSE,
    UNIT,
    _LinearClassifier,
    _penalty,
)
from jaxlin.solvers.gradient import GD, SGD
from jaxlin.solvers.lbfgs import LBFGS

# scikit-learn's solver names that leave the choice to the penalty: jaxlin's default solver
# for a smooth penalty, or for one with an L1 part (scikit-learn's own aliases of jaxlin's
# solvers, such as 'newton-cg', are in their records)
SKLEARN_AUTO = ("liblinear", "sag", "saga")
DEFAULT_SOLVER = solvers.default_for("smooth").name
# the solvers that train logistic regression: binary and multinomial losses, with a penalty
LOGISTIC_SOLVERS = tuple(
    n for n in solvers.names(penalty=True) if {"binary", "onehot"} <= set(solvers.get(n).targets)
)


def _sgd_penalty(penalty, alpha, l1_ratio):
    """jaxlin's ``(l1, l2)`` for scikit-learn's SGD penalty ``α R(w)``: L2 ``R = ½‖w‖²``, L1
    ``‖w‖₁``, the elastic net ``ρ‖w‖₁ + ½(1 − ρ)‖w‖²`` (jaxlin's L2 term is ``l2 Σ w²``)."""
    a = float(alpha)
    return {
        "l2": (0.0, a / 2),
        "l1": (a, 0.0),
        None: (0.0, 0.0),
        "elasticnet": (a * l1_ratio, a * (1 - l1_ratio) / 2),
    }[penalty]


class LogisticRegression(_LinearClassifier):
    """Logistic regression: binary cross-entropy, or softmax cross-entropy for > 2 classes.

    Minimises ``C Σ w_i L_i + ½ (1 − ρ) ‖W‖² + ρ ‖W‖₁`` (ρ = ``l1_ratio``), as scikit-learn.
    ``solver``: ``"newton"`` (trust-region Newton-CG, the default: faster than L-BFGS to the
    optimum in the benchmarks), ``"newton-cholesky"``, ``"lbfgs"`` (smooth penalties only),
    ``"owlqn"`` (orthant-wise L-BFGS: L1 and elastic net), ``"fista"`` (accelerated proximal
    gradient: L1 and elastic net) or a jaxlin optimiser (``"gd"``, ``"adam"``, …; L1 by
    proximal steps). ``tol`` means what it means in scikit-learn: for L-BFGS, Newton, OWL-QN
    and FISTA the run stops once the gradient's norm (with L1, the proximal gradient
    mapping's) is ≤ ``tol`` (no other stop); for the first-order
    optimisers, once the objective changes by less than ``tol`` (relative).
    ``learning_rate="auto"``: plain ``"gd"``/``"sgd"`` steps use the bold driver from
    ``η = 1`` (a rejected step halves ``η``), so no ``C`` makes them diverge; the other
    optimisers their usual rate. A ``ConvergenceWarning`` says when ``max_iter`` was reached
    first (``max_iter=0`` returns the starting coefficients).

    scikit-learn's other parameters are accepted so code written for it runs unchanged:
    its solver names (``"newton-cg"`` is jaxlin's Newton-CG; ``"liblinear"``, ``"sag"`` and
    ``"saga"`` run Newton for a smooth penalty and OWL-QN with L1, all reaching the same
    optimum), the deprecated ``penalty`` (``None`` is ``C=inf``, ``"l1"`` ``l1_ratio=1``,
    ``"l2"`` ``l1_ratio=0``, ``"elasticnet"`` keeps ``l1_ratio``),
    ``intercept_scaling`` (the intercept is never penalised, so it has no effect), ``verbose``
    and ``n_jobs`` (one compiled program either way). ``dual=True`` is refused: jaxlin solves
    the primal problem.
    """

    _symmetric_multinomial = True  # as scikit-learn's (see _base._symmetric)
    _parameter_constraints = {
        "penalty": [
            StrOptions({"l1", "l2", "elasticnet"}),
            None,
            Hidden(StrOptions({"deprecated"})),
        ],
        "C": [POSITIVE_OR_INF],
        "l1_ratio": [UNIT, None],
        "dual": ["boolean"],
        "fit_intercept": ["boolean"],
        "intercept_scaling": [POSITIVE],
        "max_iter": [Interval(Integral, 0, None, closed="left")],
        "tol": [NON_NEGATIVE],
        "solver": [StrOptions({*LOGISTIC_SOLVERS, *solvers.aliases(), *SKLEARN_AUTO})],
        "learning_rate": [POSITIVE, StrOptions({"auto"})],
        "class_weight": CLASS_WEIGHT,
        "random_state": ["random_state"],
        "warm_start": ["boolean"],
        "verbose": ["verbose"],
        "n_jobs": [None, Integral],
    }

    def __init__(
        self,
        penalty="deprecated",
        *,
        C=1.0,
        l1_ratio=0.0,
        dual=False,
        fit_intercept=True,
        intercept_scaling=1,
        max_iter=1000,
        tol=1e-6,
        solver=DEFAULT_SOLVER,
        learning_rate="auto",
        class_weight=None,
        random_state=None,
        warm_start=False,
        verbose=0,
        n_jobs=None,
    ):
        self.penalty = penalty
        self.dual = dual
        self.intercept_scaling = intercept_scaling
        self.verbose = verbose
        self.n_jobs = n_jobs
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

    def _penalty_settings(self):
        """``(C, l1_ratio)`` after the deprecated ``penalty`` and ``dual``."""
        if self.dual:
            raise ValueError("dual: jaxlin solves the primal problem; use dual=False")
        if self.penalty == "deprecated":
            return self.C, self.l1_ratio
        warnings.warn(
            "'penalty' was deprecated in scikit-learn 1.8; use l1_ratio and C "
            "(C=np.inf for no penalty)",
            FutureWarning,
            stacklevel=4,
        )
        return {
            None: (np.inf, 0.0),
            "l1": (self.C, 1.0),
            "l2": (self.C, 0.0),
            "elasticnet": (self.C, self.l1_ratio),
        }[self.penalty]

    def _solver_kwargs(self, n_classes, total_weight):
        C, l1_ratio = self._penalty_settings()
        l1, l2 = _penalty(C, l1_ratio, total_weight)
        return {**self._optimizer_kwargs(l1 > 0, "l1_ratio"), "l1": l1, "l2": l2}

    def _optimizer_kwargs(self, has_l1: bool, l1_name: str) -> dict:
        """jaxlin's optimiser settings for ``solver``, ``tol``, ``max_iter`` and
        ``learning_rate`` (the penalty aside)."""
        tol = self.tol if self.tol > 0 else None  # 0: run max_iter iterations
        record = (
            solvers.default_for("l1" if has_l1 else "smooth")
            if self.solver in SKLEARN_AUTO
            else solvers.get(self.solver)
        )
        if has_l1 and not record.l1:
            raise ValueError(
                f"{l1_name}: solver {self.solver!r} needs a smooth penalty "
                f"({l1_name}=0); use solver={solvers.default_for('l1').name!r} "
                "for an L1 or elastic-net penalty"
            )
        rate = COMMAND_DEFAULTS[record.name]["learning_rate"]
        if record.tol_bounds == "gradient":
            # scikit-learn's meaning of tol for these solvers: a bound on the gradient (with
            # L1, the proximal gradient mapping), as a gradient's norm
            return dict(
                optimizer=record.name, learning_rate=rate, epochs=self.max_iter, grad_tol=tol
            )
        lr, bold = self.learning_rate, False
        if lr == "auto":  # plain steps: the bold driver from η = 1 (it cannot diverge)
            bold = record.bold_driver
            lr = 1.0 if bold else rate
        return dict(
            optimizer=record.name, learning_rate=lr, adaptive_lr=bold, epochs=self.max_iter, tol=tol
        )

    def predict_proba(self, X):
        """``[1 − σ(z), σ(z)]`` for two classes, ``softmax(z)`` otherwise."""
        return self._proba(X)

    def predict_log_proba(self, X):
        return np.log(self.predict_proba(X))


class Perceptron(_LinearClassifier):
    """scikit-learn's ``Perceptron``: Rosenblatt's mistake-driven rule, as SGD.

    One example at a time, with a constant rate ``eta0``, on the perceptron criterion
    ``max(0, −s z)`` (``s = ±1``): a misclassified example — a score of exactly 0 counts as a
    mistake — moves ``w += eta0 s x``, ``b += eta0 s`` (one-vs-rest for more than 2 classes).
    ``penalty`` (``"l2"``, ``"l1"``, ``"elasticnet"``, ``None``) with ``alpha`` and
    ``l1_ratio`` adds scikit-learn's SGD penalty. ``shuffle=False`` visits the rows in order.
    ``tol``: the run stops once an epoch's mean loss changes by less than ``tol`` (relative;
    one epoch suffices, so ``n_iter_no_change`` has no effect); ``None`` runs ``max_iter``
    epochs. A ``ConvergenceWarning`` says when ``max_iter`` came first. ``verbose`` and
    ``n_jobs`` are accepted and have no effect; ``early_stopping=True`` is refused.
    """

    _parameter_constraints = {
        "penalty": [StrOptions({"l2", "l1", "elasticnet"}), None],
        "alpha": [NON_NEGATIVE],
        "l1_ratio": [UNIT],
        "fit_intercept": ["boolean"],
        "max_iter": [ITERATIONS],
        "tol": [NON_NEGATIVE, None],
        "shuffle": ["boolean"],
        "verbose": ["verbose"],
        "eta0": [POSITIVE],
        "n_jobs": [None, Integral],
        "random_state": ["random_state"],
        "early_stopping": ["boolean"],
        "validation_fraction": [Interval(Real, 0, 1, closed="neither")],
        "n_iter_no_change": [Interval(Integral, 1, None, closed="left")],
        "class_weight": CLASS_WEIGHT,
        "warm_start": ["boolean"],
    }

    def __init__(
        self,
        *,
        penalty=None,
        alpha=0.0001,
        l1_ratio=0.15,
        fit_intercept=True,
        max_iter=1000,
        tol=1e-3,
        shuffle=True,
        verbose=0,
        eta0=1.0,
        n_jobs=None,
        random_state=0,
        early_stopping=False,
        validation_fraction=0.1,
        n_iter_no_change=5,
        class_weight=None,
        warm_start=False,
    ):
        self.penalty = penalty
        self.alpha = alpha
        self.l1_ratio = l1_ratio
        self.fit_intercept = fit_intercept
        self.max_iter = max_iter
        self.tol = tol
        self.shuffle = shuffle
        self.verbose = verbose
        self.eta0 = eta0
        self.n_jobs = n_jobs
        self.random_state = random_state
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.n_iter_no_change = n_iter_no_change
        self.class_weight = class_weight
        self.warm_start = warm_start

    def _loss(self, n_classes):
        return "perceptron_criterion"

    def _solver_kwargs(self, n_classes, total_weight):
        if self.early_stopping:
            raise ValueError(
                "early_stopping: not supported by jaxlin's Perceptron; use "
                "early_stopping=False (tol stops on the training loss)"
            )
        l1, l2 = _sgd_penalty(self.penalty, self.alpha, self.l1_ratio)
        return dict(
            optimizer=SGD.name,
            learning_rate=float(self.eta0),
            batch_size=1,
            epochs=self.max_iter,
            tol=self.tol or None,
            l1=l1,
            l2=l2,
            shuffle=self.shuffle,
            one_vs_rest=n_classes > 2,
        )


class LinearSVC(_LinearClassifier):
    """Linear SVM: ``C Σ w_i L_i + ½‖W‖²`` with the hinge or squared hinge.

    ``multi_class``: ``"weston_watkins"`` (sum over wrong classes) or
    ``"crammer_singer"`` (max over wrong classes; hinge only). Squared hinge trains with
    L-BFGS; the (non-smooth) hinge with full-batch subgradient steps of ``learning_rate``.
    """

    _parameter_constraints = {
        "C": [POSITIVE_OR_INF],
        "loss": [StrOptions({"hinge", "squared_hinge"})],
        "multi_class": [StrOptions({"weston_watkins", "crammer_singer"})],
        "fit_intercept": ["boolean"],
        "max_iter": [ITERATIONS],
        "tol": [NON_NEGATIVE],
        "learning_rate": [POSITIVE],
        "class_weight": CLASS_WEIGHT,
        "random_state": ["random_state"],
    }

    def __init__(
        self,
        *,
        C=1.0,
        loss="squared_hinge",
        multi_class="weston_watkins",
        fit_intercept=True,
        max_iter=1000,
        tol=1e-10,
        learning_rate=0.1,
        class_weight=None,
        random_state=None,
    ):
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
        if n_classes == 2:
            return self.loss
        if self.multi_class == "crammer_singer":
            if self.loss != "hinge":
                raise ValueError("multi_class: 'crammer_singer' is implemented for the hinge only")
            return "crammer_singer_hinge"
        return "multiclass_hinge" if self.loss == "hinge" else "multiclass_squared_hinge"

    def _solver_kwargs(self, n_classes, total_weight):
        _, l2 = _penalty(self.C, 0.0, total_weight)
        tol = self.tol if self.tol > 0 else None
        if self.loss == "squared_hinge":
            return dict(optimizer=LBFGS.name, l2=l2, epochs=self.max_iter, grad_tol=tol)
        return dict(
            optimizer=GD.name,
            learning_rate=self.learning_rate,
            l2=l2,
            epochs=self.max_iter,
            tol=tol,
        )


class SGDClassifier(_LinearClassifier):
    """Mini-batch stochastic gradient descent, scikit-learn's ``SGDClassifier`` objective.

    Minimises ``mean_i w_i L_i + α · ½‖W‖²`` (``penalty="l2"``), ``α ‖W‖₁`` (``"l1"``), or
    the elastic net with ``l1_ratio``. ``loss``: ``"log_loss"``, ``"hinge"``,
    ``"squared_hinge"``, ``"perceptron"`` (one-vs-rest for more than 2 classes, as
    scikit-learn), ``"softmax"`` (multinomial), or a ``jaxlin.Loss`` of your own
    (one-vs-rest for a binary target, multinomial for a one-hot one). ``optimizer``: any
    jaxlin optimiser name.
    Like scikit-learn's, it runs up to ``epochs`` (1000) and stops once the epoch's mean
    objective changes by less than ``tol`` (``None``: never).
    """

    _LOSSES = {
        "log_loss": "binary_cross_entropy",
        "hinge": "hinge",
        "squared_hinge": "squared_hinge",
        "perceptron": "perceptron_criterion",
    }

    _parameter_constraints = {
        "loss": [StrOptions({"log_loss", "hinge", "squared_hinge", "perceptron", "softmax"}), Loss],
        "penalty": [StrOptions({"l2", "l1", "elasticnet"}), None],
        "alpha": [NON_NEGATIVE],
        "l1_ratio": [UNIT],
        "batch_size": [ITERATIONS],
        "learning_rate": [POSITIVE],
        "epochs": [ITERATIONS],
        "tol": [NON_NEGATIVE, None],
        "optimizer": [
            StrOptions(set(solvers.names(mini_batches=True))),
            HasMethods(["init", "update"]),
            callable,
        ],
        "fit_intercept": ["boolean"],
        "class_weight": CLASS_WEIGHT,
        "random_state": ["random_state"],
        "warm_start": ["boolean"],
    }
    _max_iter = "epochs"

    def __init__(
        self,
        *,
        loss="log_loss",
        penalty="l2",
        alpha=1e-4,
        l1_ratio=0.15,
        batch_size=32,
        learning_rate=0.01,
        epochs=1000,
        tol=1e-4,
        optimizer=SGD.name,
        fit_intercept=True,
        class_weight=None,
        random_state=None,
        warm_start=False,
    ):
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

    @_fit_context(prefer_skip_nested_validation=True)
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
            raise ValueError(
                "class_weight 'balanced' is not supported for partial_fit: "
                "the class frequencies of later chunks are unknown; pass a dict"
            )
        X, y = validate_data(
            self,
            X,
            y,
            dtype=[np.float64, np.float32],
            y_numeric=False,
            reset=first,
            accept_sparse=SPARSE,
        )
        check_classification_targets(y)
        if classes is not None:
            classes = np.unique(classes)
            if not first and not np.array_equal(classes, self.classes_):
                raise ValueError(
                    f"classes={classes!r} is not the same as on the last call to "
                    f"partial_fit, was: {self.classes_!r}"
                )
            if len(classes) < 2:
                raise ValueError(f"classes: need at least 2 classes, got {classes!r}")
        known = self.classes_ if classes is None else classes
        unknown = np.setdiff1d(y, known)
        if unknown.size:
            raise ValueError(f"y: labels {unknown!r} are not in classes {known!r}")
        self.classes_ = known
        return self._train(
            X,
            y,
            np.searchsorted(known, y),
            sample_weight,
            hasattr(self, "coef_"),
            {"epochs": 1, "tol": None},
            chunk=True,
        )

    def _loss(self, n_classes):
        if isinstance(self.loss, Loss):  # a user's own loss (see jaxlin.verify)
            return self.loss
        if self.loss == "softmax":
            return "softmax_cross_entropy"
        return self._LOSSES[self.loss]

    def _solver_kwargs(self, n_classes, total_weight):
        l1, l2 = _sgd_penalty(self.penalty, self.alpha, self.l1_ratio)
        return dict(
            optimizer=self.optimizer,
            learning_rate=self.learning_rate,
            batch_size=self.batch_size,
            epochs=self.epochs,
            tol=self.tol,
            l1=l1,
            l2=l2,
            one_vs_rest=n_classes > 2 and self._multinomial() is False,
        )

    def _multinomial(self):
        if isinstance(self.loss, Loss):
            return self.loss.target == "onehot"
        return self.loss == "softmax"

    def predict_proba(self, X):
        if self.loss not in ("log_loss", "softmax"):
            raise AttributeError("predict_proba is available for loss='log_loss' or 'softmax'")
        return self._proba(X)  # one-vs-rest: the sigmoids, normalised
