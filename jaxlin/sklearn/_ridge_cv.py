"""scikit-learn's ``RidgeClassifierCV``: the least-squares classifier with its strength chosen
by leave-one-out (``jaxlin.leave_one_out``) or by a splitter's folds."""

from __future__ import annotations

from numbers import Real

import numpy as np
from sklearn.base import BaseEstimator, _fit_context
from sklearn.linear_model._base import LinearClassifierMixin
from sklearn.metrics import check_scoring, get_scorer, get_scorer_names
from sklearn.model_selection import GridSearchCV
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.metadata_routing import (
    MetadataRouter,
    MethodMapping,
    _raise_for_params,
    _routing_enabled,
    process_routing,
)
from sklearn.utils.validation import check_scalar

from jaxlin import sparse
from jaxlin.cache import enable_compilation_cache
from jaxlin.leave_one_out import least_squares_loo
from jaxlin.sklearn._base import CLASS_WEIGHT, _checked_total
from jaxlin.sklearn._ridge import LABELS, RidgeClassifier


class _Scores(LinearClassifierMixin, BaseEstimator):
    """A classifier whose input is its scores: scikit-learn's scorers judge leave-one-out
    predictions through it (class ``k`` is column ``k``, as scikit-learn's GCV has it)."""

    def __init__(self, classes):
        self.classes_ = classes

    def decision_function(self, scores):
        return scores


class RidgeClassifierCV(RidgeClassifier):
    """scikit-learn's ``RidgeClassifierCV``: ``RidgeClassifier`` with ``alpha`` chosen among
    ``alphas``.

    ``cv=None``: by leave-one-out, every strength from one eigendecomposition
    (``jaxlin.leave_one_out.least_squares_loo``, computed in float64; coefficients in
    ``X``'s type): the score is minus the mean of ``w_i (t_ik − p_ik)²`` over rows and
    target columns, ``p`` the prediction without row ``i`` (``scoring``: a scorer of those
    predictions, class ``k`` being column ``k``), and ``cv_results_`` (``store_cv_results``)
    those squared errors or predictions ``(N, K, A)``. Otherwise ``GridSearchCV`` over the
    bridge's ``RidgeClassifier`` with ``cv`` (``alphas`` may hold 0 there). The first best
    strength wins ties. ``alpha_``, ``best_score_``, ``coef_``, ``intercept_``.
    """

    _parameter_constraints = {
        "alphas": ["array-like", Interval(Real, 0, None, closed="neither")],
        "fit_intercept": ["boolean"],
        "scoring": [StrOptions(set(get_scorer_names())), callable, None],
        "cv": ["cv_object"],
        "class_weight": CLASS_WEIGHT,
        "store_cv_results": ["boolean"],
    }

    def __init__(
        self,
        alphas=(0.1, 1.0, 10.0),
        *,
        fit_intercept=True,
        scoring=None,
        cv=None,
        class_weight=None,
        store_cv_results=False,
    ):
        self.alphas = alphas
        self.fit_intercept = fit_intercept
        self.scoring = scoring
        self.cv = cv
        self.class_weight = class_weight
        self.store_cv_results = store_cv_results

    def _checked_alphas(self) -> np.ndarray:
        """``alphas`` as a 1-D float array, each checked in scikit-learn's words (``> 0`` for
        leave-one-out, ``≥ 0`` for folds)."""
        closed = "neither" if self.cv is None else "left"
        given = self.alphas
        if np.ndim(given) == 0:
            given = [given]
        name = "alphas" if len(given) == 1 else "alphas[{}]"
        return np.array(
            [
                check_scalar(a, name.format(i), Real, min_val=0.0, include_boundaries=closed)
                for i, a in enumerate(given)
            ],
            dtype=np.float64,
        )

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y, sample_weight=None, **params):
        """Fit on ``X`` ``(N, d)`` (dense or sparse) and labels ``y`` (or a multilabel
        indicator), choosing ``alpha_``; ``params`` go to the scorer (and the splitter) when
        scikit-learn's metadata routing is on. Returns ``self``."""
        _raise_for_params(params, self, "fit")
        enable_compilation_cache()
        alphas = self._checked_alphas()
        X, y, targets, sw = self._prepared(X, y, sample_weight)
        _checked_total(sw)
        params["sample_weight"] = sw  # the weights the fits use, to the scorer as there
        if self.cv is None:
            self._leave_one_out(X, targets, sw, alphas, params)
        else:
            self._folds(X, y, alphas, params)
        self.loss_function_ = LABELS
        return self

    def _leave_one_out(self, X, targets, sw, alphas, params):
        score_params = (
            process_routing(self, "fit", **params).scorer.score
            if _routing_enabled()
            else {"sample_weight": params["sample_weight"]}
        )
        loo = least_squares_loo(X, targets, alphas, sw, self.fit_intercept)
        T = targets.astype(np.float64)
        if self.scoring is None:
            judged = sw[None, :, None] * (T[None] - loo.predictions) ** 2  # (A, N, K)
            scores = [-float(np.mean(e)) for e in judged]
        else:
            judged = loo.predictions
            scorer, labels = self._get_scorer(), np.argmax(T, axis=1)
            identity = _Scores(np.arange(T.shape[1]))
            scores = [float(scorer(identity, p, labels, **score_params)) for p in judged]
        best = 0  # the first of equal scores; a NaN score is never better (as scikit-learn's)
        for i, score in enumerate(scores):
            best = i if score > scores[best] else best
        dtype = X.dtype
        W = loo.W[best]
        self.alpha_, self.best_score_ = float(alphas[best]), scores[best]
        self.coef_ = (W[:, 0] if W.shape[1] == 1 else W.T).astype(dtype)
        self.intercept_ = loo.b[best].astype(dtype) if self.fit_intercept else 0.0
        if self.store_cv_results:
            self.cv_results_ = np.moveaxis(judged, 0, -1).astype(dtype)  # (N, K, A)

    def _folds(self, X, y, alphas, params):
        if self.store_cv_results:
            raise ValueError("cv!=None and store_cv_results=True are incompatible")
        model = RidgeClassifier(
            fit_intercept=self.fit_intercept, solver="sparse_cg" if sparse.is_sparse(X) else "auto"
        )
        if _routing_enabled():
            model.set_fit_request(sample_weight=True)
        search = GridSearchCV(model, {"alpha": alphas}, cv=self.cv, scoring=self._get_scorer())
        search.fit(X, y, **params)
        best = search.best_estimator_
        self.alpha_, self.best_score_ = best.alpha, float(search.best_score_)
        self.coef_, self.intercept_ = best.coef_, best.intercept_
        self.n_iter_ = best.n_iter_

    def get_metadata_routing(self):
        """scikit-learn's metadata routing of this estimator: its own ``fit``, the scorer's
        ``score`` and the splitter's ``split``."""
        return (
            MetadataRouter(owner=self)
            .add_self_request(self)
            .add(
                scorer=self._get_scorer(),
                method_mapping=MethodMapping().add(caller="fit", callee="score"),
            )
            .add(
                splitter=self.cv,
                method_mapping=MethodMapping().add(caller="fit", callee="split"),
            )
        )

    def _get_scorer(self):
        """The scorer of ``scoring`` (``None``: accuracy, asking for the weights when
        metadata is routed, as scikit-learn's)."""
        if _routing_enabled() and self.scoring is None:
            return get_scorer("accuracy").set_score_request(sample_weight=True)
        return check_scoring(estimator=self, scoring=self.scoring, allow_none=True)
