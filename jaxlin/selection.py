"""Model selection: every combination of hyperparameters × every fold, in one program.

``fit_grid`` takes the outer product of the listed values of ``learning_rate``, ``l1``
and ``l2`` (the numbers a compiled run takes as traced values) with the folds of a
cross-validation, trains all of them with one ``jaxlin.fit_many`` call (folds as 0/1
weights of the mean), and scores each model on the rows its fold left out.
"""

from __future__ import annotations

import itertools
import warnings
from typing import NamedTuple

import numpy as np

from jaxlin import backend, class_weights, decision, sparse, validation
from jaxlin.losses import get_loss
from jaxlin.objective import host_targets, per_example_losses
from jaxlin.options import check_option_names
from jaxlin.training import FitResult, check_no_one_vs_rest, fit_many, kfold_weights, label_classes

__all__ = ["GridResult", "fit_grid", "held_out_scores", "GRID_OPTIONS"]

GRID_OPTIONS = ("learning_rate", "l1", "l2")  # traced per model: one program for the grid


class GridResult(NamedTuple):
    """What ``fit_grid`` returns.

    Attributes:
      grid: ``{name: (G,) values}`` — grid point ``g``'s value of each listed option (the
        outer product in the order given, the last option varying fastest).
      scores: ``(G, F)`` held-out score of grid point ``g`` on fold ``f`` (higher is better).
      mean_score: ``(G,)`` the mean over folds. best_index: its argmax (the first on ties).
      best: ``{name: value}`` at ``best_index``.
      fits: the ``FitResult`` of all ``G × F`` models (model
        ``g · F + f``).
    """

    grid: dict
    scores: np.ndarray
    mean_score: np.ndarray
    best_index: int
    best: dict
    fits: FitResult


def _fold_weights(folds, n, seed):
    if isinstance(folds, (int, np.integer)) and not isinstance(folds, bool):
        key = backend.random_key(validation.check_seed(seed))
        return kfold_weights(n, int(folds), key, argument="folds", fold_in=(7,))
    if np.ndim(folds) == 0:  # a number, but not a whole one
        raise ValueError(f"folds: expected a whole number of folds, got {folds!r}")
    w = np.asarray(folds, np.float64)
    if w.ndim != 2 or w.shape[1] != n or not np.all((w == 0) | (w == 1)):
        raise ValueError(
            f"folds: expected a number of folds or (F, {n}) 0/1 training "
            f"weights, got {np.shape(folds)}"
        )
    if np.any(w.sum(axis=1) == 0) or np.any(w.sum(axis=1) == n):
        raise ValueError("folds: every fold needs training rows and held-out rows")
    return w


SCORINGS = ("accuracy", "neg_loss")


def held_out_scores(
    result: FitResult,
    X,
    y,
    loss,
    train_weights,
    scoring="accuracy",
    sample_weight=None,
    n_classes=None,
) -> np.ndarray:
    """Each model's score on the rows its training weights left out (weight 0).

    ``result`` has ``M`` models and ``train_weights`` is ``(M, N)``. ``scoring``:
    ``"accuracy"``, ``"neg_loss"`` (minus the mean loss, no penalty), or a callable
    ``(y_true, Z) → float`` of the held-out labels and scores. Computed in NumPy on the host
    (one small matrix product per model; nothing is compiled for it). Returns ``(M,)``.
    """
    check_scoring(scoring)
    loss = get_loss(loss)
    X = sparse.as_csr(X).astype(np.float64) if sparse.is_sparse(X) else np.asarray(X, np.float64)
    T = host_targets(np.asarray(y), loss, n_classes).astype(np.float64)
    W, b = np.asarray(result.params.W, np.float64), np.asarray(result.params.b, np.float64)
    sw = np.ones(X.shape[0]) if sample_weight is None else np.asarray(sample_weight, float)
    out = np.empty(W.shape[0])
    for m in range(W.shape[0]):
        rows = np.asarray(train_weights[m]) == 0
        Z, Tm, wm = np.asarray(X[rows] @ W[m]) + b[m], T[rows], sw[rows]
        if callable(scoring):
            out[m] = _score_value(scoring(np.asarray(y)[rows], Z))
        elif scoring == "accuracy":
            hit = decision.predict_labels(loss, Z) == decision.target_labels(Tm)
            out[m] = np.sum(wm * hit) / np.sum(wm)
        else:  # "neg_loss"
            L = np.asarray(per_example_losses(loss, Z, Tm))
            out[m] = -(-1.0 if loss.maximise else 1.0) * np.sum(wm * L) / np.sum(wm)
    return out


def _score_value(value) -> float:
    """A callable scoring's answer as a float, or a ``TypeError`` naming ``scoring``."""
    try:
        return float(value)
    except (TypeError, ValueError):
        got = f"{type(value).__name__} {value!r}"[:120]
        raise TypeError(f"scoring: the callable must return a number, got {got}") from None


def _best(mean) -> int:
    """The index of the best mean score (the first on ties). Non-finite means (a scoring
    that gave NaN on some fold) are ranked last with a warning, as scikit-learn's search
    does; when none is finite, the first point, with the same warning."""
    finite = np.isfinite(mean)
    if finite.all():
        return int(np.argmax(mean))
    warnings.warn(
        f"scoring: {int((~finite).sum())} of {len(mean)} grid points have a non-finite mean "
        f"score (mean scores: {np.array2string(mean, precision=4)}); they rank last",
        UserWarning,
        stacklevel=3,
    )
    return int(np.argmax(np.where(finite, mean, -np.inf))) if finite.any() else 0


def check_scoring(scoring) -> None:
    """``scoring`` is ``"accuracy"``, ``"neg_loss"`` or a callable (checked before any fit)."""
    if not callable(scoring) and (not isinstance(scoring, str) or scoring not in SCORINGS):
        raise ValueError(
            f"scoring: expected 'accuracy', 'neg_loss' or a callable (y_true, Z) → float, "
            f"got {scoring!r}"
        )


def _grid_lists(options: dict) -> dict:
    """The options given as lists (``GRID_OPTIONS`` only), whose outer product is the grid;
    a list anywhere else, or an empty or nested one, is named."""
    check_option_names(options, "fit_grid")  # in its own name, not fit_many's
    lists = {
        k: list(np.atleast_1d(v))
        for k, v in options.items()
        if k in GRID_OPTIONS and np.ndim(v) > 0
    }
    for k, v in lists.items():
        if np.ndim(options[k]) > 1 or not v:
            raise ValueError(
                f"{k}: expected a number or a non-empty 1-D sequence of numbers, got {options[k]!r}"
            )
    for k, v in options.items():
        if k not in GRID_OPTIONS and isinstance(v, (list, tuple, np.ndarray)) and k != "init":
            raise ValueError(
                f"{k}: only {', '.join(GRID_OPTIONS)} can take several values in "
                "a grid (the others change the compiled program)"
            )
    return lists


def fit_grid(
    X,
    y,
    loss="binary_cross_entropy",
    *,
    folds=5,
    scoring="accuracy",
    seed=0,
    sample_weight=None,
    class_weight=None,
    n_classes=None,
    dtype=None,
    **options,
) -> GridResult:
    """Train every combination of the listed hyperparameters on every fold, in one program.

    Args:
      X, y, loss, n_classes, dtype: as for ``jaxlin.fit``.
      folds: a number of folds (shuffled by ``seed``, ``kfold_weights``) or
        ``(F, N)`` 0/1 training weights.
      scoring: see ``held_out_scores``.
      sample_weight: ``(N,)`` weights, multiplied into each fold's weights and the scores.
      class_weight: as for ``jaxlin.fit``: multiplied into the training weights only (the
        held-out scores weigh rows by ``sample_weight`` alone, as scikit-learn's search).
      **options: the options of ``jaxlin.fit``; ``learning_rate``, ``l1`` and ``l2`` may
        be lists, whose outer product is the grid.
    Returns:
      ``GridResult``.

    >>> import numpy as np
    >>> X = np.random.default_rng(0).normal(size=(60, 2)); y = (X[:, 0] > 0).astype(int)
    >>> g = fit_grid(X, y, folds=3, l2=[0.001, 10.0], optimizer="lbfgs", epochs=50)
    >>> g.scores.shape, g.best
    ((2, 3), {'l2': 0.001})
    """
    lists = _grid_lists(options)
    check_scoring(scoring)
    n = np.shape(X)[0]
    fw = _fold_weights(folds, n, seed)
    if sample_weight is not None:
        sample_weight = validation.check_sample_weight(sample_weight, n)
    points = list(itertools.product(*lists.values())) or [()]
    F = fw.shape[0]
    per_model = {k: np.repeat([p[i] for p in points], F) for i, k in enumerate(lists)}
    codes, _, classes = label_classes(y, None, get_loss(loss), n_classes)  # labels as indices
    check_no_one_vs_rest(get_loss(loss), codes, n_classes)
    train = class_weights.for_labels(
        class_weight, codes, get_loss(loss), classes, n_classes, sample_weight=sample_weight
    )
    weights = np.tile(fw, (len(points), 1)) * (1.0 if train is None else np.asarray(train)[None, :])
    fits = fit_many(
        X,
        y,
        loss,
        seed=seed,
        sample_weight=weights,
        n_classes=n_classes,
        dtype=dtype,
        pairing="zip",
        **{**options, **per_model},
    )
    scores = held_out_scores(
        fits, X, codes, loss, np.tile(fw, (len(points), 1)), scoring, sample_weight, n_classes
    ).reshape(len(points), F)
    mean = scores.mean(axis=1)
    best = _best(mean)
    grid = {k: np.asarray([p[i] for p in points]) for i, k in enumerate(lists)}
    return GridResult(grid, scores, mean, best, {k: v[best].item() for k, v in grid.items()}, fits)
