"""The shared part of the scikit-learn estimators: validation, fitting, predicting."""

from __future__ import annotations

import math
import warnings
from numbers import Integral, Real

import jax
import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, _fit_context
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.class_weight import compute_class_weight
from sklearn.utils.extmath import safe_sparse_dot
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import _check_sample_weight, check_is_fitted, validate_data

from jaxlin import decision, sparse
from jaxlin.cache import enable_compilation_cache
from jaxlin.sklearn._api import not_converged_words
from jaxlin.validation import MAX_COUNT
from jaxlin.records import DIVERGED, MAX_EPOCHS, DivergedWarning
from jaxlin.solvers.dcd import DCD
from jaxlin.linear import Params
from jaxlin.losses import Loss, get_loss
from jaxlin.training import FitResult
from jaxlin.training import fit as _fit
from jaxlin.class_weights import one_vs_rest_weights

# the parameter constraints every estimator shares (scikit-learn's _parameter_constraints)
POSITIVE = Interval(Real, 0, None, closed="neither")
POSITIVE_OR_INF = Interval(Real, 0, None, closed="right")  # C = inf: no penalty
NON_NEGATIVE = Interval(Real, 0, None, closed="left")
UNIT = Interval(Real, 0, 1, closed="both")
ITERATIONS = Interval(Integral, 1, None, closed="left")
CLASS_WEIGHT = [dict, StrOptions({"balanced"}), None]
SPARSE = ["csr", "csc", "coo"]  # sparse X is trained on its stored entries (jaxlin.sparse)


class _LinearClassifier(ClassifierMixin, BaseEstimator):
    """Shared fit/predict: subclasses choose the loss and the solver settings."""

    def _loss(self, n_classes: int) -> str:  # pragma: no cover - abstract
        raise NotImplementedError

    def _solver_kwargs(self, n_classes: int, sw: np.ndarray) -> dict:  # pragma: no cover
        raise NotImplementedError

    _max_iter = "max_iter"  # the name of the iteration limit among the parameters
    _symmetric_multinomial = False  # LogisticRegression: centre multinomial coefficients
    _balanced_by_weight = True  # "balanced" counts weighted rows (SGD's counts rows alone)

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y, sample_weight=None):
        X, y, classes, y_enc = self._fit_inputs(X, y)
        warm = getattr(self, "warm_start", False) and self._fitted_for(X.shape[1], classes)
        self.classes_ = classes
        return self._train(X, y, y_enc, sample_weight, warm, {})

    def _fit_dtypes(self):
        """The float types ``fit`` keeps (another is converted to the first), as
        scikit-learn's estimator of the name: float32 input trains in float32."""
        return [np.float64, np.float32]

    def _fit_inputs(self, X, y):
        """The shared start of every ``fit``: the compilation cache on, ``X`` and ``y``
        validated, ``(X, y, classes, y encoded as 0..C−1)``; fewer than 2 classes refused."""
        enable_compilation_cache()  # refits and cross-validation reuse compiled programs
        X, y = validated(
            self, X, y, dtype=self._fit_dtypes(), y_numeric=False, accept_sparse=SPARSE
        )
        check_classification_targets(y)
        classes, y_enc = np.unique(y, return_inverse=True)
        if len(classes) < 2:
            raise ValueError(
                "This solver needs samples of at least 2 classes in the data, but the data "
                f"contains only one class: {classes[0]!r}"
            )
        return X, y, classes, y_enc

    def _sample_weights(self, X, y, y_enc, sample_weight):
        """``(N,)`` float64 weights: ``sample_weight`` times ``class_weight`` (``_weights``)."""
        return _combined(*self._weights(X, y, sample_weight), y_enc)

    def _weights(self, X, y, sample_weight):
        """``(sample weights (N,), class weights (C,) or None)``, float64, each as given
        (``class_weight="balanced"``: from the classes' counts, weighted by the sample
        weights unless ``_balanced_by_weight`` is off, as each scikit-learn estimator)."""
        sw = _check_sample_weight(sample_weight, X, dtype=np.float64, ensure_non_negative=True)
        if getattr(self, "class_weight", None) is None:
            return _checked_total(sw), None
        counted = sw if self._balanced_by_weight else None
        cw = compute_class_weight(
            self.class_weight, classes=self.classes_, y=y, sample_weight=counted
        )
        cw = np.asarray(cw, np.float64)
        if not np.all(np.isfinite(cw)) or np.any(cw < 0):
            shown = dict(zip(self.classes_.tolist(), cw.tolist()))
            raise ValueError(f"class_weight: weights must be finite and >= 0, got {shown}")
        return sw, cw

    def _fitted_for(self, n_features, classes) -> bool:
        """Whether the current coefficients can start a fit on these features and classes."""
        return (
            hasattr(self, "coef_")
            and self.coef_.shape[1] == n_features
            and np.array_equal(self.classes_, classes)
        )

    def _bias_column(self):
        """liblinear's intercept: the value of a constant feature appended to ``X`` whose
        weight, penalised as every other, is the intercept over that value (``None``: an
        unpenalised intercept, or none)."""
        return None

    def _fits_intercept(self) -> bool:
        """Whether jaxlin fits its own (unpenalised) intercept."""
        return self.fit_intercept and self._bias_column() is None

    def _design(self, X):
        """The matrix jaxlin trains on: ``X``, with liblinear's constant column appended
        where ``_bias_column`` says."""
        value = self._bias_column()
        if value is None:
            return X
        column = np.full((X.shape[0], 1), value, X.dtype)
        if sparse.is_sparse(X):
            import scipy.sparse as sp

            return sp.hstack([X, sp.csr_matrix(column)], format="csr", dtype=X.dtype)
        return np.hstack([X, column])

    def _data_settings(self, X) -> dict:
        """Settings that depend on the data's kind (none here; scikit-learn's SGD damps a
        sparse fit's intercept)."""
        return {}

    def _warm_params(self, n_outputs, coef=None, intercept=None):
        """The current coefficients (or ``coef``, ``intercept`` in their shapes) as jaxlin's
        starting ``Params``."""
        W = _dense(self.coef_ if coef is None else coef).T
        b = self.intercept_ if intercept is None else intercept
        if coef is None and not (np.all(np.isfinite(W)) and np.all(np.isfinite(b))):
            raise ValueError(
                "coef_, intercept_: the coefficients this fit goes on from (warm_start, "
                "partial_fit) hold NaN or infinite values (scikit-learn's words: "
                "Floating-point under-/overflow); set finite ones, or fit from scratch "
                "(warm_start=False)"
            )
        value = self._bias_column()
        if value is not None:  # the intercept as the weight of the constant column
            W, b = np.vstack([W, np.asarray(b, W.dtype)[None] / value]), np.zeros_like(b)
        if W.shape[1] == 1 and n_outputs == 2:  # a binary softmax: scores (0, z)
            W, b = np.hstack([np.zeros_like(W), W]), np.concatenate([[0.0], b])
        return Params(W, b)

    def _data_tolerances(self, kwargs: dict, X, y_enc, weights: list, has_l1) -> dict:
        """``kwargs`` with tolerances that the training data set (a solver whose ``tol`` is
        relative to a number of the data's); ``X`` the design, ``weights`` the row weights
        of each model trained on it (``None``: all 1), ``has_l1`` whether a penalty has an
        L1 part."""
        return kwargs

    def _train(self, X, y, y_enc, sample_weight, warm, overrides, chunk=False):
        """Fit from the encoded labels; ``warm``: start from ``coef_``; ``overrides``:
        settings over the estimator's own (``partial_fit``: one epoch); ``chunk``: the rows
        are one chunk of the data, which may show fewer classes than ``classes_``."""
        n_classes = len(self.classes_)
        base, cw = self._weights(X, y, sample_weight)
        sw = _combined(base, cw, y_enc)
        kwargs = self._ordered(self._settings(n_classes, sw, X, overrides), n_classes, len(sw))
        loss, X = self._loss(n_classes), self._design(X)
        kwargs = self._data_tolerances(kwargs, X, y_enc, [sw], np.any(kwargs.get("l1", 0)))
        if warm:
            kwargs["init"] = self._warm_params(_n_outputs(loss, n_classes))
        if kwargs.get("epochs") == 0:  # max_iter=0: the starting coefficients, unfitted
            return self._no_iterations(X, loss, kwargs.get("init"))
        if kwargs.get("one_vs_rest") and cw is not None and np.ptp(cw) > 0:
            res = self._fit_per_class(X, y_enc, loss, base, cw, kwargs, overrides, chunk)
        else:
            targets, kwargs = self._targets(y_enc, n_classes, kwargs)
            stated = n_classes if n_classes > 2 or chunk else None
            res = self._run(X, targets, loss, sw, stated, kwargs)
        if np.any(np.asarray(res.status) == DIVERGED):
            raise ValueError(diverged(res.epochs))
        self._set_coefficients(res, X.dtype, center=not kwargs.get("l1"))
        if (
            "epochs" not in overrides
            and getattr(self, "tol", 0) is not None
            and np.any(np.asarray(res.status) == MAX_EPOCHS)
        ):
            warnings.warn(
                self._not_converged(kwargs.get("optimizer")), ConvergenceWarning, stacklevel=4
            )
        return self

    def _ordered(self, kwargs: dict, n_classes: int, rows: int) -> dict:
        """The settings with the rows' orders decided (here: as ``shuffle`` says; scikit-learn's
        SGD: its own orders)."""
        return kwargs

    def _settings(self, n_classes, sw, X, overrides) -> dict:
        """jaxlin's settings for a fit on the weights ``sw``: the estimator's own, those of
        the data's kind, then ``overrides``."""
        settings = {
            "fit_intercept": self._fits_intercept(),
            **self._solver_kwargs(n_classes, sw),
            **self._data_settings(X),
            **overrides,
        }
        if isinstance(settings.get("epochs"), Integral):  # any max_iter, as there:
            settings["epochs"] = min(settings["epochs"], MAX_COUNT)  # 2^31 − 1 is no limit
        return settings

    def _run(self, X, targets, loss, sw, n_classes, kwargs) -> FitResult:
        """One call of jaxlin's ``fit`` (no weights passed when they are all equal)."""
        uniform = np.all(sw == sw[0])
        with warnings.catch_warnings():  # a diverged run is scikit-learn's error (``fit``)
            warnings.simplefilter("ignore", DivergedWarning)
            return _fit(
                X,
                targets,
                loss,
                sample_weight=None if uniform else sw,
                n_classes=n_classes,
                dtype=X.dtype,
                # rows in a given order (scikit-learn's SGD) draw nothing more from random_state
                seed=0 if np.ndim(kwargs.get("shuffle", False)) else _seed(self.random_state),
                buckets=True,
                **kwargs,
            )

    def _fit_per_class(self, X, y_enc, loss, base, cw, kwargs, overrides, chunk) -> FitResult:
        """One-vs-rest with class weights, as scikit-learn's (and liblinear's): class
        ``k``'s model weighs its own rows by ``class_weight[k]`` and the rest by 1, so each
        model has its own weights, and with them its own rate, penalty and ``tol`` scale
        (they follow the weights' total). One one-vs-rest run takes them per class
        (``sample_weight`` ``(N, K)``); the dual solver's one run of ``K`` columns has a
        single penalty, so there the ``K`` binary fits run in turn (one compiled program)
        and the result stacks them as a one-vs-rest fit does."""
        k = len(cw)
        weights = one_vs_rest_weights(y_enc, cw, base)
        each = [self._settings(k, _checked_total(weights[:, c]), X, overrides) for c in range(k)]
        differ = {n for n in each[0] if any(_differs(s[n], each[0][n]) for s in each)}
        if kwargs.get("optimizer") != DCD.name and differ <= set(PER_CLASS):
            settings = {**kwargs, **{n: np.array([s[n] for s in each]) for n in differ}}
            stated = k if k > 2 or chunk else None
            return self._run(X, y_enc, loss, weights, stated, settings)
        fits = []
        for c, mine in enumerate(weights.T):
            settings = {**kwargs, **each[c], "one_vs_rest": False}
            if "init" in kwargs:
                settings["init"] = _class_column(kwargs["init"], c)
            if "validation_data" in settings:
                Xv, yv = settings["validation_data"]
                settings["validation_data"] = (Xv, (yv == c).astype(np.int64))
            targets, settings = self._targets((y_enc == c).astype(np.int64), 2, settings)
            fits.append(self._run(X, targets, loss, mine, 2 if chunk else None, settings))
        last = None if fits[0].last is None else _columns([r.last for r in fits])
        history = jax.tree.map(_stacked, *(r.history for r in fits))
        return FitResult(
            _columns([r.params for r in fits]),
            history,
            _stacked(*(r.epochs for r in fits)),
            _stacked(*(r.status for r in fits)),
            fits[0].loss,
            k,
            last=last,
        )

    def _targets(self, y_enc, n_classes, kwargs):
        """What jaxlin trains on, with the settings: the encoded labels (``LinearSVC``'s
        dual solver takes one-vs-rest as one column per class)."""
        return y_enc, kwargs

    def _not_converged(self, optimizer) -> str:
        return not_converged(self, optimizer)

    def _no_iterations(self, X, loss, init):
        """``max_iter=0``, as scikit-learn: the starting coefficients and a warning."""
        k = _n_outputs(loss, len(self.classes_))
        d = X.shape[1]
        W, b = (
            (np.zeros((d, k)), np.zeros(k))
            if init is None
            else (np.asarray(init.W), np.asarray(init.b))
        )
        res = FitResult(Params(W, b), None, np.zeros((), np.int32), MAX_EPOCHS, loss)
        self._set_coefficients(res, X.dtype)
        warnings.warn(
            f"{type(self).__name__}: {self._max_iter}=0: no iteration was run",
            ConvergenceWarning,
            stacklevel=4,
        )
        return self

    def _set_coefficients(self, res, dtype, center=False):
        """``coef_``, ``intercept_`` and ``n_iter_`` from a fit. A multinomial model's scores
        matter only up to a constant shared by the classes, so, as scikit-learn, its intercepts
        are centred (they sum to 0) and, without an L1 part (``center``), its coefficients too
        (at an L2 optimum they already are, up to rounding)."""
        self.coef_, self.intercept_ = self._coefficients(res.params, res.loss, dtype, center)
        # the jaxlin loss the scores belong to: it decides labels and probabilities
        self.loss_function_ = (
            res.loss
            if self.coef_.shape[0] > 1 or res.loss != "softmax_cross_entropy"
            else "binary_cross_entropy"
        )
        self.n_iter_ = np.atleast_1d(np.asarray(res.epochs)).astype(np.int32)
        self.stop_reason_ = res.stop_reason

    def _coefficients(self, params, loss, dtype, center=False):
        """``(coef, intercept)`` ``(C, d)``, ``(C,)`` of jaxlin's ``params``."""
        W, b = np.asarray(params.W, dtype), np.asarray(params.b, dtype)
        if len(self.classes_) == 2 and W.shape[1] == 2:
            # two softmax columns: only z₁ − z₀ matters (K = 2 softmax = BCE of the difference)
            W, b = W[:, 1:] - W[:, :1], b[1:] - b[:1]
        elif loss == "softmax_cross_entropy" and self._symmetric_multinomial:
            W, b = _symmetric(W.T, b, center)
            W = W.T
        value = self._bias_column()
        if value is not None:  # the constant column's weight times its value
            W, b = W[:-1], (b + value * W[-1]).astype(dtype)
        return W.T.copy(), b.copy()

    def decision_function(self, X):
        """Scores: ``(N,)`` for two classes (positive means ``classes_[1]``), else ``(N, C)``."""
        check_is_fitted(self)
        X = validated(self, X, reset=False, dtype=[np.float64, np.float32], accept_sparse=SPARSE)
        if sparse.is_sparse(X):  # SciPy's product reads its index arrays unchecked
            sparse.check_structure(X, "X")
        coef = self.coef_ if self.coef_.ndim == 2 else self.coef_[None, :]  # (d,): one row
        Z = safe_sparse_dot(X, coef.T, dense_output=True) + self.intercept_
        return Z[:, 0] if Z.shape[1] == 1 else Z

    def sparsify(self):
        """Store ``coef_`` as a SciPy CSR matrix (worth it when most coefficients are 0, as
        after an L1 fit); ``decision_function`` and ``predict`` take it, a warm start reads
        it, and ``intercept_`` stays as it is. Returns ``self``."""
        check_is_fitted(self)
        import scipy.sparse as sp

        self.coef_ = sp.csr_matrix(self.coef_)
        return self

    def densify(self):
        """Store ``coef_`` as a NumPy array again (after ``sparsify``). Returns ``self``."""
        check_is_fitted(self)
        self.coef_ = _dense(self.coef_)
        return self

    def _scores(self, X):
        Z = self.decision_function(X)
        return Z[:, None] if Z.ndim == 1 else Z

    def predict(self, X):
        """``classes_[1]`` where the score is ``> 0`` (two classes; a score of exactly 0 gives
        ``classes_[0]``, as in scikit-learn), else the argmax (ties: the first class)."""
        scores = self._scores(X)  # checks that the model is fitted
        return self.classes_[decision.predict_labels(self.loss_function_, scores, at_threshold=0)]

    def _proba(self, X):
        scores = self._scores(X)  # checks that the model is fitted
        return decision.predict_proba(self.loss_function_, scores)

    def _predict_proba_lr(self, X):
        """scikit-learn's one-vs-rest probabilities: each class's sigmoid of its score,
        normalised to sum to 1 (two classes: ``(1 − σ(z), σ(z))``)."""
        Z = self._scores(X)
        p = np.exp(-np.logaddexp(0.0, -Z))  # σ(z), stable
        if p.shape[1] == 1:
            return np.hstack([1.0 - p, p])
        return p / p.sum(axis=1, keepdims=True)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        tags.classifier_tags.multi_class = True
        return tags


def _dense(coef):
    """``coef`` as a NumPy array (a ``sparsify``-ed one converted)."""
    return coef.toarray() if sparse.is_sparse(coef) else coef


def diverged(epochs) -> str:
    """scikit-learn's words for a run whose objective or coefficients overflowed."""
    epoch = max(int(np.max(np.asarray(epochs))), 1)  # the epoch that overflowed
    return (
        f"Floating-point under-/overflow occurred at epoch #{epoch}. Scaling input data "
        "with StandardScaler or MinMaxScaler might help; so might a lower learning rate "
        "(fit: training diverged)"
    )


SGD_NOT_CONVERGED = (  # scikit-learn's SGD words, kept so that filters on them keep working
    "Maximum number of iteration reached before convergence. Consider increasing max_iter "
    "to improve the fit."
)


def not_converged(est, optimizer) -> str:
    """scikit-learn's words for a run that reached its iteration limit first: the message
    begins as scikit-learn's does for the solver the user chose (``solver="newton-cg"``:
    "newton-cg failed to converge"; ``"liblinear"``: "Liblinear failed to converge"), else
    with jaxlin's solver's name, so code that filters on it keeps working."""
    chosen = getattr(est, "solver", None)
    name = optimizer if isinstance(optimizer, str) else type(optimizer).__name__
    if isinstance(chosen, str):
        name = chosen
    limit = getattr(est, est._max_iter)
    return (
        f"{not_converged_words(name, limit)} ({type(est).__name__}: {est._max_iter}={limit} "
        "was reached before tol; increase it, or scale the features)"
    )


def _symmetric(coef, intercept, coef_too=True):
    """A multinomial model in scikit-learn's symmetric form: its scores matter only up to a
    constant shared by the classes, so the intercepts (``(..., K)``) are centred to sum to 0
    and, with ``coef_too``, each feature's coefficients (``coef (..., K, d)``) too — which an
    L2 optimum already is, and an L1 one must not be (its penalty is not shift-invariant)."""
    if intercept.shape[-1] < 2:
        return coef, intercept
    intercept = intercept - intercept.mean(axis=-1, keepdims=True)
    return (coef - coef.mean(axis=-2, keepdims=True) if coef_too else coef), intercept


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
    """jaxlin's ``(l1, l2)`` for scikit-learn's ``C`` and ``l1_ratio`` (``None``: 0, an L2
    penalty); both were validated by the estimator's ``_parameter_constraints``."""
    l1_ratio = 0.0 if l1_ratio is None else float(l1_ratio)
    if math.isinf(C):
        return 0.0, 0.0
    return l1_ratio / (C * total_weight), (1.0 - l1_ratio) / (2.0 * C * total_weight)


def validated(estimator, X, y="no_validation", **params):
    """scikit-learn's ``validate_data`` of ``X`` (and ``y``), a JAX ``BCOO``/``BCSR`` read as
    the SciPy CSR matrix of its entries (scikit-learn's checks take SciPy's sparse types)."""
    if sparse.is_jax_sparse(X):
        X = sparse.jax_to_scipy(X)
    return validate_data(estimator, X, y, **params)


def _checked_total(sw):
    """``sw``, refused when every weight is zero (nothing to fit)."""
    if sw.sum() <= 0:
        raise ValueError("sample_weight: all weights are zero")
    return sw


# the settings a one-vs-rest run takes one per class (jaxlin's fit)
PER_CLASS = ("learning_rate", "l1", "l2", "tol")


def _differs(a, b) -> bool:
    """Whether two classes' values of one setting differ (the same object never does)."""
    return a is not b and not np.array_equal(
        np.asarray(a, dtype=object), np.asarray(b, dtype=object)
    )


def _combined(sw, cw, y_enc):
    """Each row's weight: its sample weight times its class's weight (``cw`` ``None``:
    the sample weight)."""
    return sw if cw is None else _checked_total(sw * cw[y_enc])


def _class_column(init, k):
    """Class ``k``'s binary model of a one-vs-rest start: ``Params`` with ``W`` ``(d, K)``
    as ``(d, 1)``, or an averaged start (a ``FitResult`` of the mean and the last iterate)
    the same way."""
    if isinstance(init, FitResult):
        return init._replace(params=_class_column(init.params, k), last=_class_column(init.last, k))
    return Params(np.asarray(init.W)[:, k : k + 1], np.asarray(init.b)[k : k + 1])


def _stacked(*parts):
    """The per-class results ``parts`` stacked on a leading class axis (``None`` kept)."""
    return None if parts[0] is None else np.stack([np.asarray(p) for p in parts])


def _columns(params) -> Params:
    """Binary models' ``Params`` (``W`` ``(d, 1)`` each) side by side: ``(d, K)``, ``(K,)``."""
    return Params(
        np.hstack([np.asarray(p.W) for p in params]),
        np.concatenate([np.asarray(p.b) for p in params]),
    )
