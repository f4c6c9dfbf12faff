"""LogisticRegression, Perceptron, SGDClassifier and PassiveAggressiveClassifier."""

from __future__ import annotations

import warnings
from numbers import Integral, Real
from typing import Any

import numpy as np
from sklearn.base import _fit_context
from sklearn.utils._param_validation import HasMethods, Hidden, Interval, StrOptions
from sklearn.utils._available_if import available_if
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import _check_sample_weight

from jaxlin import solvers, sparse
from jaxlin.cache import enable_compilation_cache
from jaxlin.losses import SIGNED, UNBOUNDED, Loss, capped, signed_loss
from jaxlin.presets import COMMAND_DEFAULTS
from jaxlin.sklearn._api import check_solver, penalty_name, sgd_permutation, sgd_seeds, warn
from jaxlin.sklearn._base import (
    CLASS_WEIGHT,
    ITERATIONS,
    NON_NEGATIVE,
    POSITIVE,
    POSITIVE_OR_INF,
    SGD_NOT_CONVERGED,
    SPARSE,
    UNIT,
    _LinearClassifier,
    validated,
    _n_outputs,
    _penalty,
)
from jaxlin.solvers.gradient import SGD
from jaxlin.solvers.passive_aggressive import PA1, PA2
from jaxlin.solvers.passive_aggressive import RECORDS as _PA_RECORDS
from jaxlin.training import FitResult

# scikit-learn's solver names that leave the choice to the penalty: jaxlin's default solver
# for a smooth penalty, or for one with an L1 part (scikit-learn's own aliases of jaxlin's
# solvers, such as 'newton-cg', are in their records)
SKLEARN_AUTO = ("liblinear", "sag", "saga")
SAG = ("sag", "saga")  # scikit-learn's solvers whose tol bounds the coefficients' relative change
DEFAULT_SOLVER = solvers.default_for("smooth").name
# the solvers that train logistic regression: binary and multinomial losses, with a penalty
# (not the dual solvers: the logistic loss states no dual)
LOGISTIC_SOLVERS = tuple(
    n
    for n in solvers.names(penalty=True, dual=False)
    if {"binary", "onehot"} <= set(solvers.get(n).targets)
)


# scikit-learn's words (code may match on them): later chunks' class frequencies are unknown
BALANCED_PARTIAL_FIT = (
    "class_weight 'balanced' is not supported for partial_fit. In order to use 'balanced' "
    "weights, use compute_class_weight('balanced', classes=classes, y=y). In place of y you "
    "can use a large enough sample of the full training set target to properly estimate the "
    "class frequency distributions. Pass the resulting weights as the class_weight parameter."
)


def _sgd_penalty(penalty, alpha, l1_ratio):
    """jaxlin's ``(l1, l2)`` for scikit-learn's SGD penalty ``α R(w)``: L2 ``R = ½‖w‖²``, L1
    ``‖w‖₁``, the elastic net ``ρ‖w‖₁ + ½(1 − ρ)‖w‖²`` (jaxlin's L2 term is ``l2 Σ w²``)."""
    a = float(alpha)
    if penalty == "elasticnet":
        return a * l1_ratio, a * (1 - l1_ratio) / 2
    return {"l2": (0.0, a / 2), "l1": (a, 0.0), None: (0.0, 0.0)}[penalty]


def _numbers(a, name: str) -> np.ndarray:
    """A float64 array of a starting value (a SciPy sparse one densified: it is one
    coefficient per class and feature); anything that is not numbers is named."""
    if hasattr(a, "toarray"):
        a = a.toarray()
    try:
        return np.asarray(a, dtype=np.float64)
    except (TypeError, ValueError):
        raise ValueError(f"{name}: expected an array of numbers, got {type(a).__name__}") from None


def _raw_weights(steps: dict, sw) -> dict:
    """scikit-learn's SGD steps weigh row ``i``'s gradient by its weight ``w_i`` as given,
    where jaxlin's objective weighs it by ``w_i / mean(w)``: the same steps take jaxlin's
    rate times ``mean(w)``, and its penalties and ``tol`` over ``mean(w)`` (its objective is
    scikit-learn's over ``mean(w)``)."""
    scale = float(np.mean(sw))
    if scale == 1.0:
        return steps
    out = {**steps, "learning_rate": steps["learning_rate"] * scale}
    out.update(l1=steps["l1"] / scale, l2=steps["l2"] / scale)
    if steps.get("tol") is not None:
        out["tol"] = steps["tol"] / scale
    return out


# scikit-learn's passive-aggressive learning rates: jaxlin's solvers of the same names
PASSIVE_AGGRESSIVE = tuple(r.name for r in _PA_RECORDS)

SPARSE_INTERCEPT_RATE = 0.01  # scikit-learn's SGD on sparse rows: the intercept's step × this


class _SGDSteps:
    """What scikit-learn's SGD estimators (``Perceptron``, ``SGDClassifier``) share: their
    penalty, epochs, stopping rule, row order and weighting as jaxlin's settings, ``fit``
    (with ``coef_init``, early stopping and ``t_``), ``partial_fit``, and their warning's
    words."""

    _balanced_by_weight = False  # scikit-learn's SGD: "balanced" from the class counts alone

    # the estimators' own parameters that these read (set by their __init__)
    penalty: Any
    alpha: float
    l1_ratio: Any
    max_iter: int
    tol: Any
    n_iter_no_change: int
    shuffle: bool
    early_stopping: bool
    validation_fraction: float
    class_weight: Any
    warm_start: bool
    random_state: Any

    def _sgd_steps(self, optimizer, rate: dict, batch_size, one_vs_rest, sw) -> dict:
        """jaxlin's settings for these steps; ``rate``: ``learning_rate`` (and ``lr_decay``);
        ``sw``: the weights whose mean rescales them (``_raw_weights``), or ``None``."""
        l1, l2 = _sgd_penalty(self.penalty, self.alpha, self.l1_ratio)
        steps = dict(
            optimizer=optimizer,
            batch_size=batch_size,
            epochs=self.max_iter,
            tol=self.tol,
            plateau=self.n_iter_no_change,
            l1=l1,
            l2=l2,
            shuffle=self.shuffle,
            one_vs_rest=one_vs_rest,
            **rate,
        )
        return steps if sw is None else _raw_weights(steps, sw)

    def _ordered(self, kwargs: dict, n_classes: int, rows: int) -> dict:
        """A shuffled fit's settings with scikit-learn's SGD row orders: each model's
        permutation of the rows (``(rows,)``, or ``(classes, rows)`` one-vs-rest) from the
        seeds scikit-learn draws from ``random_state`` (``None``: NumPy's global generator,
        as there), drawn once a fit. With the same ``random_state`` the epochs visit the rows
        in scikit-learn's order, so the coefficients are its own (with early stopping, the
        order of the training rows alone: not scikit-learn's). Mini-batches (jaxlin's
        ``batch_size > 1``, which scikit-learn does not have) keep jaxlin's own orders, one
        for every class: one gather a batch for all of them, where an order per class costs
        one each (3× on MNIST at ``batch_size=32``)."""
        if kwargs.get("shuffle") is not True or kwargs.get("batch_size") not in (1, None):
            return kwargs
        models = n_classes if kwargs.get("one_vs_rest") else 1
        perms = [sgd_permutation(rows, seed) for seed in sgd_seeds(self.random_state, models)]
        return {**kwargs, "shuffle": perms[0] if models == 1 else np.stack(perms)}

    def _not_converged(self, optimizer) -> str:
        return f"{SGD_NOT_CONVERGED} ({type(self).__name__}: max_iter={self.max_iter})"

    def _data_settings(self, X) -> dict:
        """scikit-learn's SGD takes a sparse fit's intercept steps at a hundredth of the
        rate (its ``SPARSE_INTERCEPT_DECAY``)."""
        return {"intercept_lr": SPARSE_INTERCEPT_RATE} if sparse.is_sparse(X) else {}

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y, coef_init=None, intercept_init=None, sample_weight=None):
        """Train from ``coef_init``/``intercept_init`` (``(1, d)``/``(1,)`` for two classes,
        else ``(C, d)``/``(C,)``), else the current coefficients with ``warm_start``, else
        zeros; ``t_`` starts again at 1."""
        self._check_settings()
        X, y, classes, y_enc = self._fit_inputs(X, y)
        warm = self.warm_start and self._fitted_for(X.shape[1], classes)
        self.classes_ = classes
        overrides = {}
        if coef_init is not None or intercept_init is not None:
            overrides["init"] = self._given_start(coef_init, intercept_init, X.shape[1])
            warm = False
        self.t_ = 1.0
        n_rows = X.shape[0]
        if self.early_stopping:  # scikit-learn's stratified split, as validation_data
            train, val = self._held_out(X.shape[0], y_enc)
            sw = _check_sample_weight(
                sample_weight, X, dtype=np.float64, allow_all_zero_weights=True
            )
            if not np.any(sw[val] > 0):
                raise ValueError(
                    "The sample weights for validation set are all zero, consider using a "
                    "different random state."
                )
            overrides.update(  # scikit-learn's rule on the validation accuracy
                validation_data=(X[val], y_enc[val]),
                patience=None if self.tol is None else self.n_iter_no_change,
            )
            sample_weight, X, y, y_enc = sw[train], X[train], y[train], y_enc[train]
        return self._sgd(X, y, y_enc, sample_weight, warm, overrides, n_rows=n_rows)

    @_fit_context(prefer_skip_nested_validation=True)
    def partial_fit(self, X, y, classes=None, sample_weight=None):
        """One pass (epoch) over the given rows from the current coefficients, the learning
        rate's schedule going on from ``t_`` — scikit-learn's contract for data that arrives
        in chunks.

        ``classes`` (every class that will ever appear) is required on the first call and,
        when given later, must be the same. The optimiser's own state (momentum, Adam's
        moments) starts afresh at each call; plain ``"sgd"`` has none, so a sequence of calls
        equals one run over the same rows.
        """
        self._check_settings()
        if self.early_stopping:
            raise ValueError("early_stopping should be False with partial_fit")
        enable_compilation_cache()
        first = not hasattr(self, "classes_")
        if first and classes is None:
            raise ValueError("classes must be passed on the first call to partial_fit.")
        if self.class_weight == "balanced":
            raise ValueError(BALANCED_PARTIAL_FIT)
        X, y = validated(
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
        if not hasattr(self, "t_"):
            self.t_ = 1.0
        overrides = {"epochs": 1, "tol": None, "rows_seen": self.t_ - 1}
        warm = hasattr(self, "coef_")
        if warm and getattr(self, "average", False) and hasattr(self, "_standard_coef"):
            overrides["init"], warm = self._averaged_start(), False  # the mean goes on too
        return self._sgd(
            X, y, np.searchsorted(known, y), sample_weight, warm, overrides, chunk=True
        )

    def _sgd(self, X, y, y_enc, sample_weight, warm, overrides, chunk=False, n_rows=None):
        """``_train``, then scikit-learn's counters: ``n_iter_`` (the epochs run, the most
        of the one-vs-rest models) and ``t_`` (``1 +`` epochs × ``n_rows``, the rows given)."""
        self._train(X, y, y_enc, sample_weight, warm, overrides, chunk=chunk)
        self.n_iter_ = int(np.max(self.n_iter_))
        self.t_ += self.n_iter_ * (X.shape[0] if n_rows is None else n_rows)
        if hasattr(self, "_average_coef"):  # scikit-learn's shapes, and zeros until it begins
            binary = self._average_coef.shape[0] == 1
            begun = self.average <= self.t_ - 1
            for name in ("_standard_coef", "_average_coef"):
                coef = getattr(self, name) * (begun or name == "_standard_coef")
                setattr(self, name, coef.ravel() if binary else coef)
            self._average_intercept = self._average_intercept * begun
        return self

    def _given_start(self, coef_init, intercept_init, n_features):
        """``Params`` from ``coef_init``/``intercept_init`` (either may be ``None``: zeros)."""
        k = 1 if len(self.classes_) == 2 and not self._multinomial() else len(self.classes_)
        W = np.zeros((k, n_features)) if coef_init is None else _numbers(coef_init, "coef_init")
        b = np.zeros(k) if intercept_init is None else _numbers(intercept_init, "intercept_init")
        W, b = W.reshape((1, -1)) if W.ndim == 1 and k == 1 else W, np.atleast_1d(b)
        if W.shape != (k, n_features):
            raise ValueError(
                f"coef_init: Provided coef_init does not match dataset: expected shape "
                f"{(k, n_features)}, got {np.shape(coef_init)}"
            )
        if b.shape != (k,):
            raise ValueError(
                f"intercept_init: Provided intercept_init does not match dataset: expected "
                f"shape {(k,)}, got {np.shape(intercept_init)}"
            )
        for name, a in (("coef_init", W), ("intercept_init", b)):
            if not np.all(np.isfinite(a)):
                raise ValueError(f"{name}: contains NaN or infinite values")
        self.coef_, self.intercept_ = W, b
        return self._warm_params(_n_outputs(self._loss(len(self.classes_)), len(self.classes_)))

    def _held_out(self, n, y_enc):
        """``(train, validation)`` row indices: a stratified ``validation_fraction`` of the
        ``n`` rows, drawn with ``random_state`` (scikit-learn's split for early stopping)."""
        from sklearn.model_selection import StratifiedShuffleSplit

        n_val = int(np.ceil(self.validation_fraction * n))
        if n_val < len(self.classes_) or n - n_val < len(self.classes_):
            raise ValueError(
                f"early_stopping: validation_fraction={self.validation_fraction} of {n} "
                "samples is too few samples for a validation set and a training set that "
                "hold every class; increase validation_fraction or give more samples"
            )
        split = StratifiedShuffleSplit(
            test_size=self.validation_fraction, random_state=self.random_state
        )
        train, val = next(split.split(np.zeros((n, 1)), y_enc))
        return np.sort(train), val  # the training rows in their given order

    def _check_settings(self):
        """Refuse settings the estimator cannot run (none here)."""

    def _multinomial(self):
        """Whether more than 2 classes train one multinomial model (not one-vs-rest)."""
        return False


class LogisticRegression(_LinearClassifier):
    """Logistic regression: binary cross-entropy, or softmax cross-entropy for > 2 classes.

    Minimises ``C Σ w_i L_i + ½ (1 − ρ) ‖W‖² + ρ ‖W‖₁`` (ρ = ``l1_ratio``), as scikit-learn.
    ``solver``: ``"newton"`` (trust-region Newton-CG, the default: faster than L-BFGS to the
    optimum in the benchmarks), ``"newton-cholesky"``, ``"lbfgs"`` (smooth penalties only),
    ``"owlqn"`` (orthant-wise L-BFGS: L1 and elastic net), ``"fista"`` (accelerated proximal
    gradient: L1 and elastic net) or a jaxlin optimiser (``"gd"``, ``"adam"``, …; L1 by
    proximal steps). ``tol`` means what it means in scikit-learn: for L-BFGS, Newton, OWL-QN
    and FISTA the run stops once the gradient's norm (with L1, the proximal gradient
    mapping's) is ≤ ``tol`` (no other stop); under scikit-learn's names ``"sag"`` and
    ``"saga"``, once an iteration changes no coefficient by more than ``tol`` times the
    largest (their rule); for the first-order optimisers, once the objective changes by
    less than ``tol`` (relative).
    ``learning_rate="auto"``: plain ``"gd"``/``"sgd"`` steps use the bold driver from
    ``η = 1`` (a rejected step halves ``η``), so no ``C`` makes them diverge; the other
    optimisers their usual rate. A ``ConvergenceWarning`` says when ``max_iter`` was reached
    first (``max_iter=0`` returns the starting coefficients).

    scikit-learn's other parameters are accepted so code written for it runs unchanged:
    its solver names (``"newton-cg"`` is jaxlin's Newton-CG; ``"liblinear"``, ``"sag"`` and
    ``"saga"`` run Newton for a smooth penalty and OWL-QN with L1, reaching the optimum of
    scikit-learn's solver of that name) with scikit-learn's checks and words (``"sag"``,
    ``"lbfgs"``, ``"newton-cg"`` and ``"newton-cholesky"`` take an L2 penalty or none, only
    ``"saga"`` an elastic net, ``"liblinear"`` two classes), the deprecated ``penalty``
    (``None`` is ``C=inf``, ``"l1"`` ``l1_ratio=1``, ``"l2"`` ``l1_ratio=0``,
    ``"elasticnet"`` keeps ``l1_ratio``) and scikit-learn's warnings for its API
    transition, ``intercept_scaling`` (with ``"liblinear"``, as there, the intercept is the
    weight of a constant feature of that value and is penalised with the others; the other
    solvers never penalise it, so it has no effect there), ``verbose`` and ``n_jobs`` (one
    compiled program either way). ``dual=True`` is accepted where scikit-learn accepts it
    (``"liblinear"`` with an L2 penalty): the primal problem jaxlin solves has the same
    optimum.
    """

    _symmetric_multinomial = True  # as scikit-learn's (see _base._symmetric)

    def _fit_dtypes(self):
        """As scikit-learn's: float32 kept but by ``"liblinear"`` (it computes in doubles)."""
        return [np.float64] if self.solver == "liblinear" else super()._fit_dtypes()

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

    def _bias_column(self):
        liblinear = self.solver == "liblinear" and self.fit_intercept
        return self.intercept_scaling if liblinear else None

    def _loss(self, n_classes):
        return "binary_cross_entropy" if n_classes == 2 else "softmax_cross_entropy"

    def _penalty_settings(self):
        """``(C, l1_ratio)`` after the deprecated ``penalty``, with scikit-learn's warnings for
        its API transition (the same words, so code that filters on them keeps working)."""
        if self.penalty == "deprecated":
            if self.l1_ratio is None:
                warn(
                    "'l1_ratio=None' was deprecated in version 1.8 and will trigger an error "
                    "in 1.10. Use 0<=l1_ratio<=1 instead.",
                    FutureWarning,
                )
            return self.C, 0.0 if self.l1_ratio is None else self.l1_ratio
        warn(
            "'penalty' was deprecated in version 1.8 and will be removed in 1.10. To avoid "
            "this warning, leave 'penalty' set to its default value and use 'l1_ratio' or "
            "'C' instead. Use l1_ratio=0 instead of penalty='l2', l1_ratio=1 instead of "
            "penalty='l1', l1_ratio set to a float between 0 and 1 instead of "
            "penalty='elasticnet', and C=np.inf instead of penalty=None.",
            FutureWarning,
        )
        given = self.l1_ratio
        if self.penalty != "elasticnet" and given is not None and 0 < given < 1:
            warn(
                "l1_ratio parameter is only used when penalty is 'elasticnet'. Got "
                f"(penalty={self.penalty})"
            )
        if (self.penalty == "l2" and given != 0) or (self.penalty == "l1" and given != 1):
            warn(
                f"Inconsistent values: penalty={self.penalty} with l1_ratio={given}. penalty "
                "is deprecated. Please use l1_ratio only."
            )
        if self.penalty == "elasticnet" and given is None:
            raise ValueError("l1_ratio must be specified when penalty is elasticnet.")
        if self.penalty is None and self.C != 1.0:
            warn("Setting penalty=None will ignore the C and l1_ratio parameters")
        return {
            None: (np.inf, 0.0),
            "l1": (self.C, 1.0),
            "l2": (self.C, 0.0),
            "elasticnet": (self.C, given),
        }[self.penalty]

    def _solver_kwargs(self, n_classes, sw):
        C, l1_ratio = self._penalty_settings()
        check_solver(self.solver, penalty_name(C, [l1_ratio]), self.dual, n_classes)
        if self.n_jobs is not None:
            warn(
                "'n_jobs' has no effect since 1.8 and will be removed in 1.10. You provided "
                f"'n_jobs={self.n_jobs}', please leave it unspecified.",
                FutureWarning,
            )
        l1, l2 = _penalty(C, l1_ratio, float(sw.sum()))
        named = "penalty" if self.penalty in ("l1", "elasticnet") else "l1_ratio"  # as given
        return {**self._optimizer_kwargs(l1 > 0, named), "l1": l1, "l2": l2}

    def _data_tolerances(self, kwargs: dict, X, y_enc, weights: list, has_l1) -> dict:
        """With ``solver="liblinear"`` and an L2 penalty, liblinear's own stop: its bound on
        the gradient is relative to the gradient at its start, zero
        (``liblinear_gradient_tol``; for many models the strictest of theirs)."""
        if self.solver != "liblinear" or not kwargs.get("grad_tol") or has_l1:
            return kwargs
        tol = min(liblinear_gradient_tol(X, y_enc, w, kwargs["grad_tol"]) for w in weights)
        return {**kwargs, "grad_tol": tol}

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
                f"{l1_name}: solver {self.solver!r} needs a smooth penalty (l1_ratio=0, "
                f"penalty 'l2' or None); use solver={solvers.default_for('l1').name!r} "
                "for an L1 or elastic-net penalty"
            )
        rate = COMMAND_DEFAULTS[record.name]["learning_rate"]
        if self.solver in SAG:
            # scikit-learn's meaning of tol for sag and saga: the largest change of a weight
            # in an epoch, relative to the largest (jaxlin's step_tol)
            return dict(
                optimizer=record.name, learning_rate=rate, epochs=self.max_iter, step_tol=tol
            )
        if record.tol_bounds == "gradient":
            # scikit-learn's meaning of tol for these solvers: a bound on the gradient (with
            # L1, the proximal gradient mapping): its largest entry, as its lbfgs (scipy's
            # pgtol), newton-cg and newton-cholesky judge it; liblinear's is Euclidean
            return dict(
                optimizer=record.name,
                learning_rate=rate,
                epochs=self.max_iter,
                grad_tol=tol,
                grad_norm="l2" if self.solver in SKLEARN_AUTO else "max",
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


def liblinear_gradient_tol(X, t, weights, tol: float) -> float:
    """scikit-learn's ``tol`` for ``solver="liblinear"`` (two classes, an L2 penalty) as a
    bound on the Euclidean norm of the gradient of jaxlin's mean objective ``m``.

    liblinear's trust-region Newton stops once ``‖∇f(w)‖ ≤ tol · max(min(n₊, n₋), 1) / n ·
    ‖∇f(0)‖``, ``n₊`` and ``n₋`` the rows of each class among the ``n`` it trains on and ``0``
    its start; ``f = ½‖w‖² + C Σ s_i L_i`` is ``C Σs`` times ``m``, so the same ratio bounds
    ``∇m``, whose value at zero is ``X̃ᵀ (s ⊙ (σ(0) − t)) / Σs``. ``X`` the design (with
    liblinear's intercept column), ``t`` the 0/1 labels, ``weights`` the rows' weights (0:
    not trained on; ``None``: all 1). Where the gradient at zero is zero, zero is the
    optimum: the bound is then the smallest positive number, which that start meets (a
    bound of 0 would turn the stop off).
    """
    t = np.asarray(t, np.float64)
    s = np.ones(len(t)) if weights is None else np.asarray(weights, np.float64)
    rows = s > 0
    n, pos = int(rows.sum()), int(np.sum(rows & (t == 1)))
    if n == 0:
        return tol
    g0 = np.asarray(X.T @ (s * (0.5 - t))).ravel() / s.sum()
    bound = tol * max(min(pos, n - pos), 1) / n * float(np.linalg.norm(g0))
    return max(bound, float(np.finfo(np.float64).tiny))


class Perceptron(_SGDSteps, _LinearClassifier):
    """scikit-learn's ``Perceptron``: Rosenblatt's mistake-driven rule, as SGD.

    One example at a time, with a constant rate ``eta0``, on the perceptron criterion
    ``max(0, −s z)`` (``s = ±1``): a misclassified example — a score of exactly 0 counts as a
    mistake — moves ``w += eta0 s x``, ``b += eta0 s`` (one-vs-rest for more than 2 classes).
    ``penalty`` (``"l2"``, ``"l1"``, ``"elasticnet"``, ``None``) with ``alpha`` and
    ``l1_ratio`` adds scikit-learn's SGD penalty. ``shuffle=False`` visits the rows in order.
    ``tol``: scikit-learn's rule — the run stops after ``n_iter_no_change`` epochs in a row
    whose mean loss is not below the best so far by more than ``tol``; ``None`` runs
    ``max_iter`` epochs. A ``ConvergenceWarning`` says when ``max_iter`` came first. Sample
    weights weigh each step as given. ``verbose`` and ``n_jobs`` are accepted and have no
    effect. As ``SGDClassifier`` (whose ``fit`` and ``partial_fit`` it shares):
    ``fit(X, y, coef_init, intercept_init, sample_weight)``, ``early_stopping`` with
    scikit-learn's stratified split and rule, ``t_``, and ``partial_fit`` for data in
    chunks (one pass over the given rows from the current coefficients).
    """

    # the SGD settings scikit-learn's Perceptron fixes, readable as its attributes
    loss, learning_rate, power_t, epsilon, average = "perceptron", "constant", 0.5, 0.1, False

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

    def _solver_kwargs(self, n_classes, sw):
        rate = {"learning_rate": float(self.eta0)}
        return self._sgd_steps(SGD.name, rate, 1, n_classes > 2, sw)


class SGDClassifier(_SGDSteps, _LinearClassifier):
    """scikit-learn's ``SGDClassifier``: stochastic gradient descent on a regularised linear
    classifier, with its signature, its learning-rate schedules and its stopping rule.

    Minimises ``mean_i w_i L_i + α R(W)``, ``R = ½‖W‖²`` (``penalty="l2"``), ``‖W‖₁``
    (``"l1"``) or the elastic net ``ρ‖W‖₁ + ½(1 − ρ)‖W‖²`` (``ρ = l1_ratio``), one row at
    a time (``batch_size``: jaxlin's mini-batches). ``loss``: ``"hinge"``, ``"log_loss"``,
    ``"modified_huber"``, ``"squared_hinge"``, ``"perceptron"`` (one-vs-rest for more than
    2 classes, as scikit-learn), ``"softmax"`` (multinomial), or a ``jaxlin.Loss`` of your
    own (one-vs-rest for a binary target, multinomial for a one-hot one).

    ``learning_rate``: ``"constant"`` (``η = eta0``), ``"invscaling"``
    (``η_t = eta0 / t^power_t``), ``"optimal"`` (``η_t = 1 / (α (t₀ + t − 1))``, Bottou's
    ``t₀``), ``t`` counting the rows stepped over from 1 (``t_`` after a fit;
    ``partial_fit`` goes on from it), or ``"adaptive"`` (``eta0``, divided by 5 where the
    ``tol`` rule would stop, until it is at most ``1e-6``), or the passive-aggressive
    ``"pa1"``/``"pa2"`` with the hinge (jaxlin's solvers of those names, ``C = eta0``; L2 or
    no penalty, one row at a time). With ``shuffle=False`` and plain
    steps the coefficients are scikit-learn's, up to rounding. ``tol``: the run stops after
    ``n_iter_no_change`` epochs in a row whose mean objective is not below the best so far
    by more than ``tol``; ``None`` runs ``max_iter`` epochs; a ``ConvergenceWarning`` says
    when ``max_iter`` came first. ``early_stopping=True`` holds out a stratified
    ``validation_fraction`` and stops after ``n_iter_no_change`` epochs in a row whose
    validation accuracy did not rise by more than ``tol``, as scikit-learn's.
    ``optimizer``: any named jaxlin optimiser (``"adam"``, …), or an optax transformation
    (with ``learning_rate="constant"``). ``average``: the mean of the iterates (averaged
    SGD) from row ``average`` on (``True``: 1), as scikit-learn's. The regression losses
    (``"squared_error"``, ``"huber"``, ``"epsilon_insensitive"``,
    ``"squared_epsilon_insensitive"``, width ``epsilon``) fit the ±1 labels, as
    scikit-learn's. The squared losses' ``δ`` is clipped to ±1e12 per row, as there
    (``jaxlin.losses.capped``): the "optimal" rate's large first steps stay finite.
    ``verbose`` and ``n_jobs`` are accepted and have no effect. L1 steps are proximal (soft
    thresholding), not scikit-learn's truncated cumulative penalty: the same objective,
    different iterates.
    """

    # scikit-learn's loss names → jaxlin's losses (the regression losses fit the ±1 labels;
    # those with a width take epsilon)
    loss_functions = {
        "hinge": "hinge",
        "log_loss": "binary_cross_entropy",
        "modified_huber": "modified_huber",
        "squared_hinge": "squared_hinge",
        "perceptron": "perceptron_criterion",
        "squared_error": "signed_squared_error",
        "huber": "signed_huber",
        "epsilon_insensitive": "signed_epsilon_insensitive",
        "squared_epsilon_insensitive": "signed_squared_epsilon_insensitive",
    }
    _LOSSES = {**loss_functions, "softmax": "softmax_cross_entropy"}

    _parameter_constraints = {
        "loss": [StrOptions(set(_LOSSES)), Loss],
        "penalty": [StrOptions({"l2", "l1", "elasticnet"}), None],
        "alpha": [NON_NEGATIVE],
        "l1_ratio": [UNIT, None],
        "fit_intercept": ["boolean"],
        "max_iter": [ITERATIONS],
        "tol": [NON_NEGATIVE, None],
        "shuffle": ["boolean"],
        "verbose": ["verbose"],
        "epsilon": [NON_NEGATIVE],
        "n_jobs": [None, Integral],
        "random_state": ["random_state"],
        "learning_rate": [
            StrOptions({"constant", "optimal", "invscaling", "adaptive", *PASSIVE_AGGRESSIVE})
        ],
        "eta0": [POSITIVE],
        "power_t": [Interval(Real, None, None, closed="neither")],
        "early_stopping": ["boolean"],
        "validation_fraction": [Interval(Real, 0, 1, closed="neither")],
        "n_iter_no_change": [Interval(Integral, 1, None, closed="left")],
        "class_weight": CLASS_WEIGHT,
        "warm_start": ["boolean"],
        "average": [Interval(Integral, 0, None, closed="neither"), "boolean"],
        "batch_size": [ITERATIONS],
        "optimizer": [
            StrOptions(set(solvers.names(mini_batches=True))),
            HasMethods(["init", "update"]),
            callable,
        ],
    }

    def __init__(
        self,
        loss="hinge",
        *,
        penalty="l2",
        alpha=0.0001,
        l1_ratio=0.15,
        fit_intercept=True,
        max_iter=1000,
        tol=1e-3,
        shuffle=True,
        verbose=0,
        epsilon=0.1,
        n_jobs=None,
        random_state=None,
        learning_rate="optimal",
        eta0=0.01,
        power_t=0.5,
        early_stopping=False,
        validation_fraction=0.1,
        n_iter_no_change=5,
        class_weight=None,
        warm_start=False,
        average=False,
        batch_size=1,
        optimizer=SGD.name,
    ):
        self.loss = loss
        self.penalty = penalty
        self.alpha = alpha
        self.l1_ratio = l1_ratio
        self.fit_intercept = fit_intercept
        self.max_iter = max_iter
        self.tol = tol
        self.shuffle = shuffle
        self.verbose = verbose
        self.epsilon = epsilon
        self.n_jobs = n_jobs
        self.random_state = random_state
        self.learning_rate = learning_rate
        self.eta0 = eta0
        self.power_t = power_t
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.n_iter_no_change = n_iter_no_change
        self.class_weight = class_weight
        self.warm_start = warm_start
        self.average = average
        self.batch_size = batch_size
        self.optimizer = optimizer

    def _averaged_start(self):
        """The last iterate and the mean of the iterates so far, as a warm start that goes
        on with both (jaxlin's ``init`` from an averaged ``FitResult``)."""
        n_outputs = _n_outputs(self._loss(len(self.classes_)), len(self.classes_))
        k = len(self._standard_intercept)
        mean = self._warm_params(
            n_outputs, self._average_coef.reshape(k, -1), self._average_intercept
        )
        last = self._warm_params(
            n_outputs, self._standard_coef.reshape(k, -1), self._standard_intercept
        )
        return FitResult(mean, None, None, None, None, last=last)

    def _set_coefficients(self, res, dtype, center=False):
        """As for every classifier; with ``average``, ``coef_`` is the mean of the iterates
        once it has begun, and scikit-learn's ``_standard_coef``/``_average_coef`` (and
        intercepts) hold the last iterate and the mean."""
        super()._set_coefficients(res, dtype, center)
        kept = ("_standard_coef", "_standard_intercept", "_average_coef", "_average_intercept")
        for name in kept:
            self.__dict__.pop(name, None)
        if self.average and getattr(res, "last", None) is not None:
            self._standard_coef, self._standard_intercept = self._coefficients(
                res.last, res.loss, dtype, center
            )
            self._average_coef, self._average_intercept = self.coef_.copy(), self.intercept_.copy()

    def _check_settings(self):
        if self.learning_rate == "optimal" and self.alpha == 0:
            raise ValueError(
                "alpha must be > 0 since learning_rate is 'optimal'. alpha is used to "
                "compute the optimal learning rate."
            )
        if self.penalty == "elasticnet" and self.l1_ratio is None:
            raise ValueError("l1_ratio must be set when penalty is 'elasticnet'")
        if self.learning_rate in PASSIVE_AGGRESSIVE:
            self._check_passive_aggressive()
        if self.power_t < 0:
            warnings.warn(
                "Negative values for `power_t` are deprecated in version 1.8 and will raise "
                "an error in 1.10. Use values in the range [0.0, inf) instead.",
                FutureWarning,
                stacklevel=3,
            )
        if not isinstance(self.optimizer, str) and self.learning_rate != "constant":
            raise ValueError(
                f"learning_rate: {self.learning_rate!r} needs a named optimizer; an optax "
                "transformation carries its own schedule (use learning_rate='constant', "
                "with eta0 its rate)"
            )

    def _check_passive_aggressive(self):
        """``"pa1"``/``"pa2"``: scikit-learn's rule (the hinge only), and what jaxlin's
        passive-aggressive steps do not take (an L1 term, mini-batches, another optimiser),
        named."""
        lr = self.learning_rate
        if self.loss != "hinge":
            raise ValueError(f"Learning rate '{lr}' only works with loss 'hinge'.")
        if self.penalty in ("l1", "elasticnet"):
            raise ValueError(
                f"penalty: jaxlin's passive-aggressive steps (learning_rate={lr!r}) take "
                "penalty='l2' or None"
            )
        if self.batch_size != 1 or self.optimizer != SGD.name:
            raise ValueError(
                f"learning_rate={lr!r} is its own step rule, one row at a time: leave "
                "batch_size=1 and optimizer='sgd'"
            )

    def _loss(self, n_classes):
        if isinstance(self.loss, Loss):  # a user's own loss (see jaxlin.verify)
            return self.loss
        name = self._LOSSES[self.loss]
        if name in UNBOUNDED:  # each row's δ clipped to ±1e12, as scikit-learn's steps are
            return capped(name, self.epsilon)
        return signed_loss(name, self.epsilon) if name in SIGNED else name

    def _solver_kwargs(self, n_classes, sw):
        one_vs_rest = n_classes > 2 and self._multinomial() is False
        if self.learning_rate in PASSIVE_AGGRESSIVE:  # jaxlin's "pa1"/"pa2" solvers, C = eta0
            rate = {"learning_rate": float(self.eta0)}
            # their steps weigh each row by its weight as given and their value is the mean
            # hinge, as scikit-learn's: no rescaling by the mean weight
            steps = self._sgd_steps(self.learning_rate, rate, None, one_vs_rest, None)
            return {**steps, "average": self.average}
        steps = self._sgd_steps(self.optimizer, self._rate(), self.batch_size, one_vs_rest, sw)
        return {**steps, "average": self.average}

    def _rate(self) -> dict:
        """jaxlin's ``learning_rate`` and ``lr_decay`` for scikit-learn's schedules, ``t``
        counting the rows from 1: ``"adaptive"`` is ``eta0`` with ``lr_decay="plateau"``;
        ``"invscaling"`` ``eta0 t^(−p)`` is ``η₀ = eta0``,
        ``(τ, p) = (1, power_t)``; ``"optimal"`` ``1 / (α (t₀ + t − 1))`` is
        ``η₀ = 1 / (α t₀)``, ``(τ, p) = (t₀, 1)``, with Bottou's ``t₀ = 1 / (α η_typ)``,
        ``η_typ = α^(−1/4)`` (scikit-learn's: the typical weight over ``max(1, |L'|)``, which
        is 1 for these losses' derivative there)."""
        if self.learning_rate == "constant":
            return {"learning_rate": float(self.eta0)}
        if self.learning_rate == "adaptive":  # eta0, ÷ 5 where the plateau rule would stop
            return {"learning_rate": float(self.eta0), "lr_decay": "plateau"}
        if self.learning_rate == "invscaling":
            return {"learning_rate": float(self.eta0), "lr_decay": (1.0, float(self.power_t))}
        alpha = float(self.alpha)
        typical = alpha**-0.25
        t0 = 1.0 / (typical * alpha)
        return {"learning_rate": 1.0 / (alpha * t0), "lr_decay": (t0, 1.0)}

    def _multinomial(self):
        if isinstance(self.loss, Loss):
            return self.loss.target == "onehot"
        return self.loss == "softmax"

    def _has_proba(self):
        if self.loss not in ("log_loss", "modified_huber", "softmax"):
            raise AttributeError(
                f"probability estimates are not available for loss={self.loss!r} "
                "(only for 'log_loss', 'modified_huber' or 'softmax')"
            )
        return True

    @available_if(_has_proba)
    def predict_proba(self, X):
        """Probabilities: the sigmoid (two classes), the softmax, or one-vs-rest's sigmoids
        normalised to sum to 1; for ``"modified_huber"`` ``(clip(z, −1, 1) + 1) / 2``,
        normalised over the classes (``jaxlin.decision.modified_huber_proba``)."""
        return self._proba(X)

    @available_if(_has_proba)
    def predict_log_proba(self, X):
        return np.log(self.predict_proba(X))


# scikit-learn's words, so that code filtering on them keeps working
PA_DEPRECATED = (
    "Class PassiveAggressiveClassifier is deprecated; scikit-learn deprecated it in version "
    "1.8 and removes it in 1.10. Use `SGDClassifier(loss='hinge', penalty=None, "
    "learning_rate='pa1', eta0=1.0)` instead."
)


class PassiveAggressiveClassifier(SGDClassifier):
    """scikit-learn's ``PassiveAggressiveClassifier`` (deprecated there since 1.8, removed in
    1.10), for code written against it: ``SGDClassifier(loss="hinge", penalty=None,
    learning_rate="pa1", eta0=C)``, or ``"pa2"`` for ``loss="squared_hinge"``.

    Crammer et al.'s passive-aggressive steps, one row at a time on the hinge
    ``ℓ = max(0, 1 − s z)`` (``s = ±1``; one-vs-rest for more than 2 classes):
    ``w += τ s x``, ``b += τ s``, with ``τ = min(C, ℓ / ‖x‖²)`` (PA-I, ``loss="hinge"``) or
    ``τ = ℓ / (‖x‖² + 1 / (2C))`` (PA-II, ``loss="squared_hinge"``: the steps' rule, the
    loss stays the hinge). ``tol``, ``n_iter_no_change``, ``early_stopping``, ``shuffle``,
    ``average``, ``class_weight``, ``warm_start`` and ``partial_fit`` as ``SGDClassifier``.
    Constructing one warns (``FutureWarning``), as scikit-learn's does.
    """

    # the SGD settings it fixes, readable as its attributes (as scikit-learn's)
    penalty, alpha, l1_ratio, epsilon, power_t = None, 1.0, 0.15, 0.1, 0.5
    batch_size, optimizer = 1, SGD.name

    _parameter_constraints = {
        **{
            name: rule
            for name, rule in SGDClassifier._parameter_constraints.items()
            if name not in ("loss", "penalty", "alpha", "l1_ratio", "epsilon", "power_t")
            and name not in ("learning_rate", "eta0", "batch_size", "optimizer")
        },
        "loss": [StrOptions({"hinge", "squared_hinge"})],
        "C": [POSITIVE],
    }

    def __init__(
        self,
        *,
        C=1.0,
        fit_intercept=True,
        max_iter=1000,
        tol=1e-3,
        early_stopping=False,
        validation_fraction=0.1,
        n_iter_no_change=5,
        shuffle=True,
        verbose=0,
        loss="hinge",
        n_jobs=None,
        random_state=None,
        warm_start=False,
        class_weight=None,
        average=False,
    ):
        warnings.warn(PA_DEPRECATED, FutureWarning, stacklevel=2)
        self.C = C
        self.fit_intercept = fit_intercept
        self.max_iter = max_iter
        self.tol = tol
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.n_iter_no_change = n_iter_no_change
        self.shuffle = shuffle
        self.verbose = verbose
        self.loss = loss
        self.n_jobs = n_jobs
        self.random_state = random_state
        self.warm_start = warm_start
        self.class_weight = class_weight
        self.average = average

    @property
    def learning_rate(self) -> str:
        """``"pa1"`` for the hinge, ``"pa2"`` for ``"squared_hinge"`` (scikit-learn's rule)."""
        return PA1.name if self.loss == "hinge" else PA2.name

    @property
    def eta0(self) -> float:
        """The steps' cap ``C``, as ``SGDClassifier``'s ``eta0``."""
        return self.C

    def _check_settings(self):
        """Nothing to refuse: the loss names the step rule and the penalty is fixed."""

    def _loss(self, n_classes):
        return "hinge"  # both rules step on the hinge (PA-II's square is in its step)
