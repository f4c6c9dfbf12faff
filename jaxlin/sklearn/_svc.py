"""scikit-learn's ``LinearSVC``: liblinear's problems, solved by jaxlin's solvers."""

from __future__ import annotations

from numbers import Integral, Real

import numpy as np
from sklearn.utils._param_validation import Interval, StrOptions

from jaxlin.sklearn._api import FORMULATIONS, LIBLINEAR_NOT_CONVERGED, liblinear_dual
from jaxlin.sklearn._base import CLASS_WEIGHT, NON_NEGATIVE, POSITIVE, POSITIVE_OR_INF
from jaxlin.sklearn._base import _LinearClassifier, _penalty
from jaxlin.solvers.dcd import DCD
from jaxlin.solvers.lbfgs import LBFGS
from jaxlin.solvers.owlqn import OWLQN


def formulation(penalty, loss, dual, multi_class, n_samples, n_features) -> bool:
    """The ``dual`` a fit stands for: ``"auto"`` resolved as scikit-learn does (the dual
    when there are fewer rows than features and liblinear solves it, else the primal when
    it can); a pair liblinear does not solve is refused in scikit-learn's words. The
    optimum does not depend on it: jaxlin solves the primal either way."""
    if multi_class == "crammer_singer":  # its own problem: loss, penalty and dual ignored
        return True
    duals = FORMULATIONS.get((loss, penalty), ())
    if dual == "auto":
        prefer = n_samples < n_features
        dual = prefer if prefer in duals or not duals else not prefer
    return liblinear_dual(penalty, loss, dual)


class LinearSVC(_LinearClassifier):
    """scikit-learn's ``LinearSVC``, with its signature and liblinear's problems:

    ``min_W  P(W) + C Σ_i w_i L(y_i, x_i W + b)``, ``P = ½‖W‖²`` (``penalty="l2"``) or
    ``‖W‖₁`` (``"l1"``, with the squared hinge), ``L`` the hinge ``max(0, 1 − s z)`` or
    the squared hinge ``max(0, 1 − s z)²`` (``s = ±1``). As liblinear, the intercept is the
    weight of one more feature of constant value ``intercept_scaling``, and so it is
    penalised too (raise ``intercept_scaling`` to weaken that); ``intercept_`` is
    ``intercept_scaling`` times that weight, and ``0.0`` without ``fit_intercept``.

    ``multi_class="ovr"``: one binary problem per class (two classes: one);
    ``"crammer_singer"``: Crammer and Singer's joint multi-class hinge (``loss``,
    ``penalty`` and ``dual`` are then ignored, as in scikit-learn); ``"weston_watkins"``
    (jaxlin's own): the sum of the hinges over the wrong classes.

    Solvers: the squared hinge with L2 by L-BFGS, with L1 by OWL-QN, both until the
    gradient's norm (with L1: the pseudo-gradient's) of the mean objective is ≤ ``tol``;
    the hinges — binary, one-vs-rest, Crammer–Singer's and Weston–Watkins's — by dual
    coordinate descent (liblinear's solvers, and the same method for Weston–Watkins:
    ``optimizer="dcd"``) until its dual's optimality measure is under ``tol``.
    ``learning_rate`` (jaxlin's own) is accepted for code written against earlier versions,
    whose Weston–Watkins hinge took subgradient steps of it; no solver uses it now. ``dual`` is
    checked as scikit-learn checks it (a pair liblinear does not solve is refused) and
    does not change the optimum; ``verbose`` is accepted and has no effect. Reaching
    ``max_iter`` first warns with scikit-learn's "Liblinear failed to converge".
    """

    def _fit_dtypes(self):
        """float64 only, as scikit-learn's (liblinear computes in doubles)."""
        return [np.float64]

    _parameter_constraints = {
        "penalty": [StrOptions({"l1", "l2"})],
        "loss": [StrOptions({"hinge", "squared_hinge"})],
        "dual": ["boolean", StrOptions({"auto"})],
        "tol": [NON_NEGATIVE],
        "C": [POSITIVE_OR_INF],
        "multi_class": [StrOptions({"ovr", "crammer_singer", "weston_watkins"})],
        "fit_intercept": ["boolean"],
        "intercept_scaling": [Interval(Real, 0, None, closed="neither")],
        "class_weight": CLASS_WEIGHT,
        "verbose": ["verbose"],
        "random_state": ["random_state"],
        "max_iter": [Interval(Integral, 0, None, closed="left")],
        "learning_rate": [POSITIVE],
    }

    def __init__(
        self,
        penalty="l2",
        loss="squared_hinge",
        *,
        dual="auto",
        tol=1e-4,
        C=1.0,
        multi_class="ovr",
        fit_intercept=True,
        intercept_scaling=1,
        class_weight=None,
        verbose=0,
        random_state=None,
        max_iter=1000,
        learning_rate=0.1,
    ):
        self.penalty = penalty
        self.loss = loss
        self.dual = dual
        self.tol = tol
        self.C = C
        self.multi_class = multi_class
        self.fit_intercept = fit_intercept
        self.intercept_scaling = intercept_scaling
        self.class_weight = class_weight
        self.verbose = verbose
        self.random_state = random_state
        self.max_iter = max_iter
        self.learning_rate = learning_rate

    def _loss(self, n_classes):
        if self.multi_class == "crammer_singer":
            return "crammer_singer_hinge"
        if n_classes == 2 or self.multi_class == "ovr":
            return self.loss
        return "multiclass_hinge" if self.loss == "hinge" else "multiclass_squared_hinge"

    def _bias_column(self):
        return self.intercept_scaling if self.fit_intercept else None

    def _solver_kwargs(self, n_classes, sw):
        formulation(  # refuses what scikit-learn refuses
            self.penalty, self.loss, self.dual, self.multi_class, len(sw), self.n_features_in_
        )
        l1_ratio = 1.0 if self.penalty == "l1" and self.multi_class != "crammer_singer" else 0.0
        l1, l2 = _penalty(self.C, l1_ratio, float(sw.sum()))
        tol = self.tol if self.tol > 0 else None  # 0: run max_iter iterations
        common = dict(
            one_vs_rest=n_classes > 2 and self.multi_class == "ovr",
            epochs=self.max_iter,
        )
        loss = self._loss(n_classes)
        if "squared" in loss:
            optimizer = OWLQN.name if l1 else LBFGS.name
            return dict(optimizer=optimizer, l1=l1, l2=l2, grad_tol=tol, **common)
        # the hinges (binary, one-vs-rest, Crammer–Singer, Weston–Watkins): their duals
        return dict(optimizer=DCD.name, l2=l2, grad_tol=tol, **common)

    def _targets(self, y_enc, n_classes, kwargs):
        """One-vs-rest by dual coordinate descent is one run of ``K`` 0/1 columns (a visit
        moves every column's variable of its row) instead of ``K`` runs side by side: the
        same optimum, an order of magnitude faster (each run's loop is dispatched step by
        step); ``n_iter_`` is the epochs of the slowest class either way."""
        if kwargs.get("optimizer") == DCD.name and kwargs.get("one_vs_rest"):
            return np.eye(n_classes)[y_enc], {**kwargs, "one_vs_rest": False}
        return y_enc, kwargs

    def _coefficients(self, params, loss, dtype, center=False):
        coef, intercept = super()._coefficients(params, loss, dtype, center)
        return coef, intercept if self.fit_intercept else 0.0

    def _set_coefficients(self, res, dtype, center=False):
        super()._set_coefficients(res, dtype, center)
        self.n_iter_ = int(np.max(self.n_iter_))  # scikit-learn's: the most over classes

    def _not_converged(self, optimizer) -> str:
        return (
            f"{LIBLINEAR_NOT_CONVERGED} (jaxlin's LinearSVC: {optimizer} reached "
            f"max_iter={self.max_iter} before tol={self.tol})"
        )
