"""LogisticRegressionCV: every fold × C (× l1_ratio) trained in one compiled program."""

from __future__ import annotations

import warnings
from numbers import Integral

import jax
import numpy as np
from sklearn.base import _fit_context
from sklearn.exceptions import ConvergenceWarning
from sklearn import config_context
from sklearn.metrics import get_scorer, get_scorer_names
from sklearn.model_selection import check_cv
from sklearn.utils import metadata_routing
from sklearn.utils.metadata_routing import (
    MetadataRouter,
    MethodMapping,
    _raise_for_params,
    _routing_enabled,
    process_routing,
)
from sklearn.utils.validation import _check_method_params
from sklearn.utils._param_validation import Hidden, Interval, StrOptions

from jaxlin.records import DIVERGED, MAX_EPOCHS
from jaxlin.linear import Params
from jaxlin.selection import held_out_scores
from jaxlin.sklearn._api import check_solver, penalty_name, warn
from jaxlin.sklearn._base import _penalty, _seed, _symmetric, diverged, not_converged
from jaxlin.sklearn._estimators import DEFAULT_SOLVER, LogisticRegression
from jaxlin.training import FitResult, fit_path


def _as_result(params):
    """The stacked parameters in the record ``held_out_scores`` reads."""
    return FitResult(params, None, None, None, None)


class LogisticRegressionCV(LogisticRegression):
    """Logistic regression with ``C`` (and ``l1_ratio``) chosen by cross-validation.

    As scikit-learn's: ``Cs`` (a number of values on a log scale from 1e-4 to 1e4, or the
    values), ``cv`` (a number of stratified folds, a splitter or an iterable of splits),
    ``l1_ratios`` (elastic-net mixes: scikit-learn's ``saga`` runs OWL-QN for them, as does
    ``solver="owlqn"``, and ``solver="fista"`` FISTA; Newton and L-BFGS need
    ``l1_ratio = 0``),
    ``scoring`` (``None``: accuracy), ``refit``. Every fold × C × l1_ratio model is trained in
    **one** compiled program (``jaxlin.fit_path``: the C path in warm-started stages, the
    folds as 0/1 weights of the mean, each with scikit-learn's ``C`` scaling by its own
    training rows), and the refit runs in it too. The best point is the
    highest mean held-out score; with ``refit`` the model is trained again on all rows from
    the folds' mean coefficients there, else ``coef_`` is that mean over folds.

    Attributes (scikit-learn's): ``Cs_``, ``l1_ratios_``, ``C_``, ``l1_ratio_``, ``scores_``
    and ``coefs_paths_`` (dicts keyed by class: ``classes_[1]`` for two classes, every class
    otherwise), ``n_iter_`` ``(1, folds, Cs[, l1_ratios])``, ``coef_``, ``intercept_``.
    """

    def _fit_dtypes(self):
        """float64 only, as scikit-learn's ``LogisticRegressionCV``."""
        return [np.float64]

    # scikit-learn's: score's sample_weight goes to the scorer (when it asks), not to self
    __metadata_request__score = {"sample_weight": metadata_routing.UNUSED}
    _parameter_constraints = {
        **{
            k: v
            for k, v in LogisticRegression._parameter_constraints.items()
            if k not in ("C", "l1_ratio", "warm_start")
        },
        "Cs": [Interval(Integral, 1, None, closed="left"), "array-like"],
        "l1_ratios": ["array-like", None, Hidden(StrOptions({"warn"}))],
        "cv": ["cv_object"],
        "scoring": [
            StrOptions(set(get_scorer_names())),
            callable,
            None,
            Hidden(StrOptions({"warn"})),
        ],
        "refit": ["boolean"],
        "use_legacy_attributes": ["boolean", Hidden(StrOptions({"warn"}))],
    }

    def __init__(
        self,
        *,
        Cs=10,
        l1_ratios="warn",
        fit_intercept=True,
        cv=None,
        scoring="warn",
        solver=DEFAULT_SOLVER,
        tol=1e-4,
        max_iter=100,
        learning_rate="auto",
        class_weight=None,
        refit=True,
        random_state=None,
        penalty="deprecated",
        dual=False,
        intercept_scaling=1.0,
        verbose=0,
        n_jobs=None,
        use_legacy_attributes="warn",
    ):
        self.penalty = penalty
        self.dual = dual
        self.intercept_scaling = intercept_scaling
        self.verbose = verbose
        self.n_jobs = n_jobs
        self.use_legacy_attributes = use_legacy_attributes
        self.Cs = Cs
        self.l1_ratios = l1_ratios
        self.fit_intercept = fit_intercept
        self.cv = cv
        self.scoring = scoring
        self.solver = solver
        self.tol = tol
        self.max_iter = max_iter
        self.learning_rate = learning_rate
        self.class_weight = class_weight
        self.refit = refit
        self.random_state = random_state

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y, sample_weight=None, **params):
        """``params``: metadata for the splitter (``groups``) and the scorer, routed as
        scikit-learn routes them (``sklearn.set_config(enable_metadata_routing=True)``);
        without routing, ``sample_weight`` also weighs the held-out scores, as there."""
        _raise_for_params(params, self, "fit")
        X, y, self.classes_, y_enc = self._fit_inputs(X, y)
        sw = self._sample_weights(X, y, y_enc, sample_weight)
        self.Cs_ = (
            np.logspace(-4, 4, self.Cs)
            if isinstance(self.Cs, Integral)
            else np.asarray(self.Cs, dtype=float).ravel()
        )
        if self.Cs_.size == 0 or not np.all(self.Cs_ > 0):
            raise ValueError(f"Cs: expected positive values, got {self.Cs!r}")
        ratios = self._ratios(len(self.classes_))
        self.l1_ratios_ = np.asarray(ratios, dtype=object if ratios == [None] else float)
        if _routing_enabled():
            routed = process_routing(self, "fit", sample_weight=sample_weight, **params)
            split_params, score_params = routed.splitter.split, routed.scorer.score
        else:
            split_params = {}
            score_params = {**params, **_given(sample_weight=sample_weight)}
        splits = list(check_cv(self.cv, y, classifier=True).split(X, y, **split_params))
        train = np.zeros((len(splits), X.shape[0]))
        for f, (rows, _) in enumerate(splits):
            train[f, rows] = 1.0
        design = self._design(X)  # X, or with liblinear's intercept column (solver="liblinear")
        path = self._path(design, y_enc, sw, train, ratios)
        scores = self._held_out(X, design, y, score_params, train, path, ratios)
        self._select(design, y_enc, sw, path, scores, ratios)
        del self._path_run  # (the folds' weights: not kept in a fitted, pickled estimator)
        return self

    def _ratios(self, n_classes) -> list:
        """The l1 ratios to try (``[None]``: an L2 penalty), after scikit-learn's checks and
        its warnings for the API transition (``l1_ratios``, ``penalty``, ``scoring`` and
        ``use_legacy_attributes`` left at ``"warn"``), in its words."""
        l1_ratios = None if _unset(self.l1_ratios) else self.l1_ratios
        if _unset(self.l1_ratios):
            warn(
                "The default value for l1_ratios will change from None to (0.0,) in version "
                "1.10. From version 1.10 onwards, only array-like with values in [0, 1] will "
                "be allowed, None will be forbidden. To avoid this warning, explicitly set a "
                "value, e.g. l1_ratios=(0,).",
                FutureWarning,
            )
        elif self.penalty == "deprecated" and l1_ratios is None:
            warn(
                "'l1_ratios=None' was deprecated in version 1.8 and will trigger an error in "
                "1.10. Use an array-like with values in [0, 1] instead.",
                FutureWarning,
            )
        if self.penalty != "deprecated":
            warn(
                "'penalty' was deprecated in version 1.8 and will be removed in 1.10. To "
                "avoid this warning, leave 'penalty' set to its default value and use "
                "'l1_ratios' and 'Cs' instead. Use l1_ratios=(0,) instead of penalty='l2', "
                "l1_ratios=(1,) instead of penalty='l1', l1_ratios set to floats between 0 "
                "and 1 instead of penalty='elasticnet', and Cs=(np.inf,) instead of "
                "penalty=None.",
                FutureWarning,
            )
        if _unset(self.scoring):
            warn(
                "The default value of the parameter 'scoring' will change from None, i.e. "
                "accuracy, to 'neg_log_loss' in version 1.11. To silence this warning, "
                "explicitly set the scoring parameter: scoring='neg_log_loss' for the new, "
                "scoring='accuracy' or scoring=None for the old default.",
                FutureWarning,
            )
        if _unset(self.use_legacy_attributes):
            name = type(self).__name__
            warn(
                f"The fitted attributes of {name} will be simplified in scikit-learn 1.10 to "
                "remove redundancy. Set`use_legacy_attributes=False` to enable the new "
                "behavior now, or set it to `True` to silence this warning during the "
                "transition period while keeping the deprecated behavior for the time being. "
                "The default value of use_legacy_attributes will change from True to False "
                f"in scikit-learn 1.10. See the docstring of {name} for more details.",
                FutureWarning,
            )
        given = l1_ratios
        # the deprecated penalty decides the mix (an explicit "l2" or "l1" ignores l1_ratios)
        l1_ratios = {"l2": None, "l1": [1.0]}.get(self.penalty, l1_ratios)
        values = [] if l1_ratios is None else np.asarray(l1_ratios, float).ravel().tolist()
        ratios: list = [None] if l1_ratios is None else values
        outside = l1_ratios is not None and (not values or not all(0 <= r <= 1 for r in values))
        if outside or (self.penalty == "elasticnet" and given is None):
            raise ValueError(
                "l1_ratios must be an array-like of numbers between 0 and 1; got "
                f"(l1_ratios={given!r})"
            )
        if self.penalty not in ("deprecated", "elasticnet") and given is not None:
            warn(
                "l1_ratios parameter is only used when penalty is 'elasticnet'. Got "
                f"(penalty={self.penalty})"
            )
        check_solver(self.solver, penalty_name(1.0, ratios), self.dual, n_classes)
        return ratios

    def _path(self, X, y_enc, sw, train, ratios):
        """All fold × C × l1_ratio models: stacked Params of ``M = F · nC · nR`` models.

        The C path (ascending) is one ``fit_path`` call (one per run of Cs with the same
        optimiser settings, ``_stages``): each stage trains every fold × l1_ratio together
        and starts from the previous C's solutions — a warm start that cuts Newton's
        iterations about in half against training all Cs from zero — with no return to the
        host between the Cs.
        """
        F, nR, k = len(train), len(ratios), len(self.classes_)
        order = np.argsort(self.Cs_, kind="stable")
        weights = np.repeat(train * sw[None, :], nR, axis=0)  # model f · nR + r
        totals = weights.sum(axis=1)
        d = X.shape[1]
        out = k if k > 2 else 1
        init = Params(np.zeros((F * nR, d, out)), np.zeros((F * nR, out)))
        fits: list = [None] * len(order)
        for stages in self._stages(X, y_enc, weights, totals, ratios, order):
            res = self._run_path(X, y_enc, weights, stages, init)
            if np.any(np.asarray(res.status) == DIVERGED):
                raise ValueError(diverged(res.epochs))
            host = jax.device_get((res.params, res.epochs, res.status))
            for j, (i, _, kwargs) in enumerate(stages):
                p, e, status = jax.tree.map(lambda a: a[j], host)
                fits[i] = FitResult(p, None, e, status, None)
            init = fits[stages[-1][0]].params
        self._path_run = (weights, len(stages))  # the refit runs in the last run's program
        self._check_converged(fits, kwargs["optimizer"])
        n_iter = np.stack([np.asarray(r.epochs).reshape(F, nR) for r in fits], axis=1)
        self._n_iter = n_iter.astype(np.int32)  # (F, nC, nR)
        self.n_iter_ = self._n_iter[None]  # (1, F, nC, nR)
        if ratios == [None]:
            self.n_iter_ = self.n_iter_[..., 0]
        # one result, models in (fold, C, l1_ratio) order
        W = np.stack(
            [np.asarray(r.params.W).reshape(F, nR, *r.params.W.shape[1:]) for r in fits], axis=1
        )
        b = np.stack([np.asarray(r.params.b).reshape(F, nR, -1) for r in fits], axis=1)
        return Params(W.reshape(-1, *W.shape[3:]), b.reshape(-1, b.shape[-1]))

    def _stages(self, X, y_enc, weights, totals, ratios, order):
        """The C path in runs of one ``fit_path`` call each: ``[(i, (l1, l2) per model,
        kwargs)]`` for the Cs in ``order``, split where the optimiser's settings change (an
        L1 term that appears or vanishes); one run for an L2 path."""
        runs: list = []
        for i in order:
            pen = np.array(
                [_penalty(self.Cs_[i], r, t) for t, r in zip(totals, ratios * len(totals))]
            )
            has_l1 = _any_l1(self.Cs_[i], ratios)
            kwargs = self._optimizer_kwargs(has_l1, "l1_ratios")
            kwargs = self._data_tolerances(kwargs, X, y_enc, weights, has_l1)
            if runs and runs[-1][-1][2] == kwargs:
                runs[-1].append((i, pen, kwargs))
            else:
                runs.append([(i, pen, kwargs)])
        return runs

    def _run_path(self, X, y_enc, weights, stages, init, n_run=None):
        """``fit_path`` of ``stages`` (``_stages``' runs; ``n_run``: the first that many)
        from ``init``."""
        k = len(self.classes_)
        pen = np.stack([p for _, p, _ in stages])  # (S, M, 2)
        return fit_path(
            X,
            y_enc,
            self._loss(k),
            sample_weight=weights,
            l1=pen[..., 0],
            l2=pen[..., 1],
            stages=n_run,
            n_classes=k if k > 2 else None,
            fit_intercept=self._fits_intercept(),
            dtype=X.dtype,
            seed=_seed(self.random_state),
            init=init,
            **stages[0][2],
        )

    def _check_converged(self, fits, optimizer):
        if self.tol > 0 and any(np.any(np.asarray(r.status) == MAX_EPOCHS) for r in fits):
            warnings.warn(
                not_converged(self, optimizer) + " for some folds and Cs",
                ConvergenceWarning,
                stacklevel=5,
            )

    def _held_out(self, X, design, y, score_params, train, path, ratios):
        """Held-out scores ``(F, nC, nR)`` of every model (its parameters those of the
        ``design`` it was trained on; a scorer sees ``X`` and the coefficients);
        ``score_params`` (the scorer's metadata, ``sample_weight`` among them) are taken at
        each model's held-out rows."""
        reps = len(self.Cs_) * len(ratios)
        tw = np.repeat(train, reps, axis=0)
        if self._scoring() is None and set(score_params) <= {"sample_weight"}:
            s = held_out_scores(
                _as_result(path),
                design,
                self.classes_.searchsorted(y),
                self._loss(len(self.classes_)),
                tw,
                "accuracy",
                score_params.get("sample_weight"),
                len(self.classes_) if len(self.classes_) > 2 else None,
            )
        else:
            scorer = self._get_scorer()
            W, b = self._coefs(path, X.dtype)
            s = np.empty(len(tw))
            for m in range(len(tw)):
                rows = np.flatnonzero(tw[m] == 0)
                fold = _check_method_params(X, params=score_params, indices=rows)
                s[m] = self._fold_score(scorer, self._fixed(W[m], b[m]), X[rows], y[rows], fold)
        return s.reshape(len(train), len(self.Cs_), len(ratios))

    def score(self, X, y, sample_weight=None, **score_params):
        """The ``scoring`` of the estimator (accuracy when ``None``) on ``(X, y)``;
        ``score_params`` go to the scorer when metadata routing is on."""
        _raise_for_params(score_params, self, "score")
        score_params = {**score_params, **_given(sample_weight=sample_weight)}
        if _routing_enabled():
            score_params = process_routing(self, "score", **score_params).scorer.score
        else:
            score_params = _given(sample_weight=sample_weight)
        return self._get_scorer()(self, X, y, **score_params)

    def get_metadata_routing(self):
        """scikit-learn's metadata routing of this estimator: its own ``fit``, the splitter's
        ``split`` (from ``fit``) and the scorer's ``score`` (from ``fit`` and ``score``)."""
        return (
            MetadataRouter(owner=self)
            .add_self_request(self)
            .add(splitter=self.cv, method_mapping=MethodMapping().add(caller="fit", callee="split"))
            .add(
                scorer=self._get_scorer(),
                method_mapping=MethodMapping()
                .add(caller="score", callee="score")
                .add(caller="fit", callee="score"),
            )
        )

    def _get_scorer(self):
        """The scorer of ``scoring`` (accuracy when ``None``), as scikit-learn's."""
        return get_scorer(self._scoring() or "accuracy")

    def _scoring(self):
        """``scoring``, with scikit-learn's transition default ``"warn"`` read as ``None``
        (accuracy)."""
        return None if _unset(self.scoring) else self.scoring

    def _fold_score(self, scorer, est, X, y, params):
        """One held-out fold's score. A fold may miss some classes, so a metric that takes
        ``labels`` gets all the classes (and, for two, ``pos_label=classes_[1]``), as
        scikit-learn's own cross-validation path does — passed as the scorer's public keyword
        arguments; a metric that takes neither is called as it is."""
        if len(np.unique(y)) == len(self.classes_):
            return scorer(est, X, y, **params)
        extras = [{"labels": self.classes_}, {}]
        if len(self.classes_) == 2:
            extras.insert(0, {"labels": self.classes_, "pos_label": self.classes_[-1]})
        with config_context(enable_metadata_routing=True):
            for kwargs in extras[:-1]:
                try:
                    return scorer(est, X, y, **kwargs, **params)
                except TypeError as exc:  # the metric has no such parameter
                    if not any(k in str(exc) for k in kwargs):
                        raise
        return scorer(est, X, y, **params)

    def _coefs(self, params, dtype):
        """Each model's ``(coef (C, d), intercept (C,))`` in scikit-learn's layout."""
        W, b = np.swapaxes(np.asarray(params.W, dtype), 1, 2), np.asarray(params.b, dtype)
        value = self._bias_column()
        if value is not None:  # liblinear's intercept: the constant column's weight × value
            W, b = W[..., :-1], b + value * W[..., -1]
        # intercepts only: the path's coefficients are as L1 and L2 leave them
        return _symmetric(W, b, coef_too=False) if len(self.classes_) > 2 else (W, b)

    def _fixed(self, coef, intercept):
        """A fitted LogisticRegression with these coefficients (for a scorer)."""
        est = LogisticRegression()
        est.classes_, est.coef_, est.intercept_ = self.classes_, coef, intercept
        est.n_features_in_ = self.n_features_in_
        est.loss_function_ = self._loss(len(self.classes_))
        return est

    def _select(self, X, y_enc, sw, path, scores, ratios):
        """The best C and l1_ratio, the attributes, and the refit (``X``: the design the path
        was trained on)."""
        F, nC, nR = scores.shape
        W, b = self._coefs(path, X.dtype)
        W, b = W.reshape(F, nC, nR, *W.shape[1:]), b.reshape(F, nC, nR, -1)
        keys = self.classes_[1:] if len(self.classes_) == 2 else self.classes_
        full = np.concatenate([W, b[..., None]], axis=-1) if self.fit_intercept else W
        squeeze = (lambda a: a[:, :, 0]) if ratios == [None] else (lambda a: a)
        self.scores_ = {c: squeeze(scores).copy() for c in keys}
        self.coefs_paths_ = {c: squeeze(full[..., i, :]) for i, c in enumerate(keys)}
        # the first best in (l1_ratio, C) order, as scikit-learn breaks ties
        flat = scores.mean(axis=0).T.ravel()
        best = int(np.argmax(flat))
        r_best, c_best = divmod(best, nC)
        if self.refit:
            C, r = self.Cs_[c_best], ratios[r_best]
            init = Params(W[:, c_best, r_best].mean(axis=0).T, b[:, c_best, r_best].mean(axis=0))
            if self.solver == "liblinear":  # no warm start there: the refit is a plain fit
                init = jax.tree.map(np.zeros_like, init)
            self._refit(X, y_enc, sw, init, ratios, path, (c_best, r_best))
        else:
            per_fold = [divmod(int(np.argmax(scores[f].T.ravel())), nC) for f in range(F)]
            C = float(np.mean([self.Cs_[c] for _, c in per_fold]))
            r = None if ratios == [None] else float(np.mean([ratios[i] for i, _ in per_fold]))
            self.coef_ = np.mean([W[f, c, i] for f, (i, c) in enumerate(per_fold)], axis=0)
            self.intercept_ = np.mean([b[f, c, i] for f, (i, c) in enumerate(per_fold)], axis=0)
            self.loss_function_ = self._loss(len(self.classes_))
        n = 1 if len(self.classes_) == 2 else len(self.classes_)
        self.C_ = np.full(n, C)
        self.l1_ratio_ = np.full(n, r, dtype=object if r is None else float)
        if self.use_legacy_attributes is False:  # scikit-learn's new, simpler layout
            self.C_ = float(C)
            self.l1_ratio_ = float(r) if r is not None else float(self.penalty == "l1")
            self.coefs_paths_ = np.moveaxis(full, 2, 1)  # (F, nR, nC, C, dof)
            self.scores_ = np.moveaxis(scores, 2, 1)  # (F, nR, nC)
            self.n_iter_ = np.moveaxis(self._n_iter, 2, 1)

    def _refit(self, X, y_enc, sw, init, ratios, path, best):
        """All rows of the design ``X`` at the chosen ``C`` and l1_ratio (``best``: their
        indices), from the folds' mean coefficients there (``init``, in scikit-learn's
        layout).

        It runs through the path's own compiled program (``_path``: the same number of
        models and stages, one stage run) instead of compiling a second one. Model 0 is the
        refit; the others only fill the program's model axis: the path's own models at the
        chosen point (``path``, its parameters), from their solutions there — already at
        their stop, they run no epoch."""
        weights, length = self._path_run
        c, i = best
        C, r = self.Cs_[c], ratios[i]
        m, nC = len(weights), len(self.Cs_)
        l1, l2 = _penalty(C, r, float(sw.sum()))
        if self._bias_column() is not None:  # the start in the design's layout
            init = self._warm_params(init.W.shape[1], coef=init.W.T, intercept=init.b)
        weights = weights.copy()
        weights[0] = sw
        F, nR = m // len(ratios), len(ratios)
        start = jax.tree.map(  # the path's models (fold, C, l1_ratio) at the chosen C
            lambda a: (
                np.asarray(a).reshape(F, nC, nR, *a.shape[1:])[:, c].reshape(m, *a.shape[1:]).copy()
            ),
            path,
        )
        start.W[0], start.b[0] = init.W, init.b
        pen = np.array([_penalty(C, rr, t) for t, rr in zip(weights.sum(axis=1), ratios * m)])
        pen[0] = l1, l2  # the refit's l1_ratio, whichever model 0 has on the path
        has_l1 = _any_l1(C, ratios)
        kwargs = self._optimizer_kwargs(has_l1, "l1_ratios")
        kwargs = self._data_tolerances(kwargs, X, y_enc, [sw], l1 > 0)
        res = self._run_path(X, y_enc, weights, [(0, pen, kwargs)] * length, start, n_run=1)
        first = jax.tree.map(
            lambda a: a[0, 0], jax.device_get((res.params, res.epochs, res.status))
        )
        n_iter = self.n_iter_
        self._set_coefficients(
            FitResult(first[0], None, first[1], first[2], res.loss), X.dtype, center=not l1
        )
        self.n_iter_ = n_iter


def _given(**params) -> dict:
    """The parameters that are not ``None``."""
    return {k: v for k, v in params.items() if v is not None}


def _unset(value) -> bool:
    """Whether a parameter is left at scikit-learn's ``"warn"`` (its transition default)."""
    return isinstance(value, str) and value == "warn"


def _any_l1(C, ratios) -> bool:
    """Whether any l1_ratio gives an L1 term at this ``C`` (it picks the optimiser: the C
    path and the refit decide it the same way, so the refit reuses the path's program)."""
    return any(_penalty(C, r, 1.0)[0] > 0 for r in ratios)
