"""scikit-learn's ``RidgeClassifier``: the least-squares (ADALINE) classifier, solved exactly."""

from __future__ import annotations

import warnings
from numbers import Integral, Real

import numpy as np
from sklearn.base import _fit_context
from sklearn.exceptions import ConvergenceWarning
from sklearn.preprocessing import LabelBinarizer
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.class_weight import compute_sample_weight
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import (
    _check_sample_weight,
    check_is_fitted,
    column_or_1d,
)

from jaxlin import sparse, validation
from jaxlin.cache import enable_compilation_cache
from jaxlin.losses import get_loss
from jaxlin.records import MAX_EPOCHS
from jaxlin.sklearn._base import CLASS_WEIGHT, NON_NEGATIVE, SPARSE, _checked_total, validated
from jaxlin.sklearn._base import _LinearClassifier
from jaxlin.solvers import hessian_fits
from jaxlin.solvers.newton import NEWTON
from jaxlin.solvers.newton_cholesky import NEWTON_CHOLESKY
from jaxlin.training import fit as _fit

LOSS = "squared_error"  # (t − z)²: the linear neuron's loss, here on signed targets t = ±1
LABELS = "signed_squared_error"  # the same scores as labels: classes_[1] where z > 0, argmax
GRAD_TOL = 1e-12  # the optimum to rounding: scikit-learn's default solvers are direct
SOLVERS = {"auto", "svd", "cholesky", "lsqr", "sparse_cg", "sag", "saga", "lbfgs"}  # its names


class RidgeClassifier(_LinearClassifier):
    """scikit-learn's ``RidgeClassifier``: least squares on signed targets, one column per
    class, with scikit-learn's signature.

    ``min_W,b  Σ_i w_i ‖t_i − W x_i − b‖² + α ‖W‖²``, where ``t_ik = +1`` if row ``i`` is
    of class ``k`` and ``−1`` otherwise (two classes: one column, ``+1`` for
    ``classes_[1]``; a multilabel indicator ``y`` ``(N, L)``: its columns as given), ``w_i``
    the sample weights times ``class_weight``, and the intercept ``b`` unpenalised. In
    jaxlin's terms it is the weighted mean of the ``"squared_error"`` ``(t − z)²`` plus
    ``l2 Σ w²``, ``l2 = α / Σ_i w_i`` — a quadratic, which Newton's method solves in one
    step: Newton–Cholesky on the explicit Hessian ``2 (Xᵀ diag(w) X / Σw + l2 I)`` (dense
    ``X`` centred first when there is an intercept, as scikit-learn's; its ``K`` outputs
    share one block) while ``K (d + 1)²`` is within its limit, else
    Newton-CG on the hand-derived Hessian-vector product (sparse ``X`` too), both to a
    gradient of ``1e-12`` (float64) or to rounding. ``predict``: ``classes_[1]`` where the
    score is ``> 0`` (two classes, where ``coef_`` is ``(d,)`` as scikit-learn's), the
    argmax, or for a multilabel ``y`` every column whose score is ``> 0``.

    ``solver`` takes scikit-learn's names and every one reaches the same optimum (its
    direct solvers' answer; ``"lbfgs"`` needs ``positive=True``, as there);
    ``positive=True`` (non-negative coefficients) is refused: jaxlin has no bound-constrained
    solver. ``alpha`` may be an array, one strength per target column. ``max_iter`` bounds
    Newton's iterations (``None``: 100); ``tol``, ``copy_X`` and ``random_state`` are
    accepted and change nothing (the solve is exact and draws nothing). ``n_iter_``: the
    Newton iterations run, per fit; ``solver_``: the jaxlin solver that ran
    (``"newton-cholesky"`` or, past its limit, ``"newton"``).
    """

    _parameter_constraints = {
        "alpha": [Interval(Real, 0, None, closed="left"), np.ndarray],
        "fit_intercept": ["boolean"],
        "copy_X": ["boolean"],
        "max_iter": [Interval(Integral, 1, None, closed="left"), None],
        "tol": [NON_NEGATIVE],
        "class_weight": CLASS_WEIGHT,
        "solver": [StrOptions(SOLVERS)],
        "positive": ["boolean"],
        "random_state": ["random_state"],
    }

    def __init__(
        self,
        alpha=1.0,
        *,
        fit_intercept=True,
        copy_X=True,
        max_iter=None,
        tol=1e-4,
        class_weight=None,
        solver="auto",
        positive=False,
        random_state=None,
    ):
        self.alpha = alpha
        self.fit_intercept = fit_intercept
        self.copy_X = copy_X
        self.max_iter = max_iter
        self.tol = tol
        self.class_weight = class_weight
        self.solver = solver
        self.positive = positive
        self.random_state = random_state

    def _check_settings(self):
        """scikit-learn's rule for ``lbfgs``, and what jaxlin cannot solve, named."""
        if self.positive:
            raise ValueError(
                "positive: jaxlin has no bound-constrained solver; fit without "
                "positive=True (or use scikit-learn's RidgeClassifier for it)"
            )
        if self.solver == "lbfgs":  # scikit-learn's words
            raise ValueError(
                "'lbfgs' solver can be used only when positive=True. Please use another solver."
            )

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y, sample_weight=None):
        """Fit on ``X`` ``(N, d)`` (dense or sparse) and labels ``y`` ``(N,)``, or a
        multilabel indicator ``(N, L)``; returns ``self``."""
        self._check_settings()
        enable_compilation_cache()
        X, y, targets, sw = self._prepared(X, y, sample_weight)
        alpha = self._alphas(targets.shape[1])
        total = float(_checked_total(sw).sum())
        # dense X with an intercept is centred (weighted means, as scikit-learn's): the same
        # optimum, better conditioned, and a column whose targets are all equal gets exactly
        # zero weights; sparse X is not (that would densify it): its intercept is fitted
        centre = self.fit_intercept and not sparse.is_sparse(X)
        if centre:
            validation.check_squares(X, "X", X.dtype)  # the cell as given, before centring
            x_mean = np.average(X, axis=0, weights=sw).astype(X.dtype)
            t_mean = np.average(targets, axis=0, weights=sw).astype(X.dtype)
            X, targets = X - x_mean, targets - t_mean
        if np.ptp(alpha) == 0:  # one strength: every column in one run
            fits = [self._solve(X, targets, alpha[0] / total, sw, not centre)]
        else:  # one run per column, each with its strength
            fits = [
                self._solve(X, targets[:, k : k + 1], a / total, sw, not centre)
                for k, a in enumerate(alpha)
            ]
        W = np.hstack([np.asarray(r.params.W, X.dtype) for r in fits])
        b = np.concatenate([np.asarray(r.params.b, X.dtype) for r in fits])
        if centre:
            b = (t_mean - x_mean @ W).astype(X.dtype)
        # two classes: coef_ (d,), as scikit-learn's RidgeClassifier (intercept_ (1,))
        self.coef_, self.intercept_ = (W[:, 0].copy() if W.shape[1] == 1 else W.T.copy()), b
        if not self.fit_intercept:  # scikit-learn's: the number 0.0
            self.intercept_ = 0.0
        self.loss_function_ = LABELS  # decides the labels of the scores
        self.n_iter_ = np.array([int(np.max(np.asarray(r.epochs))) for r in fits], np.int32)
        self.stop_reason_ = fits[0].stop_reason
        if any(np.any(np.asarray(r.status) == MAX_EPOCHS) for r in fits):
            warnings.warn(
                f"RidgeClassifier: Newton's method ran max_iter={self._epochs()} iterations "
                f"before its gradient fell under {GRAD_TOL:g}; increase max_iter, or scale "
                "the features",
                ConvergenceWarning,
                stacklevel=3,  # the caller of fit (past scikit-learn's fit context)
            )
        return self

    def _prepared(self, X, y, sample_weight):
        """``X`` validated (float64 or float32, as given), the labels, their signed targets
        ``(N, K)`` in ``X``'s type and the row weights (sample times class weights)."""
        X, y = validated(
            self,
            X,
            y,
            dtype=[np.float64, np.float32],
            accept_sparse=SPARSE,
            multi_output=True,
            y_numeric=False,
        )
        check_classification_targets(y)  # before the binarizer: its words are less clear
        binarizer = LabelBinarizer(pos_label=1, neg_label=-1)
        signs = binarizer.fit_transform(y)  # (N, 1) two classes, else (N, K): ±1
        if not binarizer.y_type_.startswith("multilabel"):
            # one class is fitted as scikit-learn's: one column of −1 (it predicts that class)
            y = column_or_1d(y, warn=True)
        self._label_binarizer = binarizer
        self.classes_ = binarizer.classes_
        sw = _check_sample_weight(sample_weight, X, dtype=np.float64, ensure_non_negative=True)
        if self.class_weight is not None:  # one weight per row, the same for every column
            sw = sw * compute_sample_weight(self.class_weight, y)
        return X, y, np.asarray(signs, dtype=X.dtype), sw

    def _epochs(self) -> int:
        return 100 if self.max_iter is None else self.max_iter

    def _alphas(self, n_columns: int) -> np.ndarray:
        """``alpha`` as one finite, non-negative strength per target column."""
        alpha = np.asarray(self.alpha, dtype=np.float64).ravel()
        if alpha.size == 1:
            alpha = np.repeat(alpha, n_columns)
        if alpha.shape != (n_columns,):
            raise ValueError(
                f"alpha: expected one number or one per target ({n_columns}), got "
                f"{np.shape(self.alpha)}"
            )
        if not np.all(np.isfinite(alpha)) or np.any(alpha < 0):
            raise ValueError(f"alpha: must be finite and >= 0, got {self.alpha!r}")
        return alpha

    def _solve(self, X, targets, l2, sw, intercept: bool):
        """One exact least-squares fit of the signed target columns ``targets`` ``(N, K)``
        (``intercept``: fit one; not for centred data)."""
        k = targets.shape[1]
        small = hessian_fits(NEWTON_CHOLESKY, X.shape[1], k, get_loss(LOSS))
        uniform = np.all(sw == sw[0])
        self.solver_ = (NEWTON_CHOLESKY if small else NEWTON).name  # scikit-learn's: the one used
        return _fit(
            X,
            targets,
            LOSS,
            optimizer=(NEWTON_CHOLESKY if small else NEWTON).name,
            l2=l2,
            grad_tol=GRAD_TOL,
            epochs=self._epochs(),
            fit_intercept=self.fit_intercept and intercept,
            sample_weight=None if uniform else sw,
            dtype=X.dtype,
        )

    def predict(self, X):
        """Labels: as every classifier for classes, or the multilabel indicator
        ``(N, L)`` of the columns whose score is ``> 0``."""
        check_is_fitted(self)
        if not self._label_binarizer.y_type_.startswith("multilabel"):
            return super().predict(X)
        scores = self._scores(X)
        return self._label_binarizer.inverse_transform(np.where(scores > 0, 1, -1))

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_label = True
        return tags
