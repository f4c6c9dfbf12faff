"""Evaluation metrics: pure, jittable, and ``vmap``-able over many models.

Labels are integer arrays ``(N,)``; the positive class of binary metrics is 1. The metrics
over classes (the confusion matrix, per-class and averaged scores, the baseline, the log
loss, ``summary``) take text labels on the host too, as the codes of their sorted names
(scikit-learn's order). Every
function takes JAX or NumPy arrays and computes with the same kind: NumPy inputs run on
the host and compile nothing (what a report on a few thousand rows wants).

Zero denominators: precision, recall, F1 and FPR are **0** when their denominator is 0
(scikit-learn's default ``zero_division`` result). Called on NumPy arrays, the functions
that return them say so with an ``UndefinedMetricWarning``, as scikit-learn does; on JAX
arrays (inside ``jit`` the values are not known) and in ``summary`` (the report shows the
counts beside them) they do not warn. The ROC curve and AUC are **NaN** when the labels
hold only one class (on the host with an ``UndefinedMetricWarning``, as scikit-learn's
``roc_curve``).
Binary metrics take labels in ``{0, 1}`` or ``{−1, +1}``; where the values are known
(outside ``jit``) another label is an error, as is a probability outside ``[0, 1]``.
"""

from __future__ import annotations

import warnings
from functools import partial
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from jaxlin import validation


class UndefinedMetricWarning(UserWarning):
    """A metric that is undefined for the labels given (its value is NaN)."""


def _xp(*arrays):
    """NumPy when every array is a host array, else ``jax.numpy``."""
    return (
        np if all(isinstance(a, (np.ndarray, np.generic)) for a in arrays if a is not None) else jnp
    )


def _array(a, name):
    """``a`` as it is when an array (NumPy or JAX), else as a NumPy array (a list, or a
    masked array without masked cells: one with them is refused, as the mean of a masked
    array would leave them out and the counts would not)."""
    if isinstance(a, (np.ndarray, np.generic, jax.Array)) and not isinstance(a, np.ma.MaskedArray):
        return a
    return validation.as_host_array(a, name)


def _labels(a):
    """Host labels as ``validation.numeric_labels`` reads them (an object array of numbers
    holds numbers); JAX arrays as they are."""
    return validation.numeric_labels(a) if isinstance(a, np.ndarray) else a


def _first(a):
    """The first value of an array of labels, as a Python value (for a message)."""
    return np.asarray(a).reshape(-1)[:1].tolist()[0]


def _checked(y_true, other=None, other_name="y_pred", other_ndim=1):
    """``(y_true, other)`` as arrays (lists become NumPy arrays), with the rules every metric
    shares: ``y_true`` is a non-empty ``(N,)`` array, ``other`` has ``other_ndim`` axes and
    ``N`` rows, and known values (NumPy's, a JAX array's outside ``jit``) are finite. The
    shape checks are static, so they hold inside ``jit`` too; a bad argument is named in a
    ``ValueError``."""

    y_true = _labels(_array(y_true, "y_true"))
    if y_true.ndim != 1 or y_true.shape[0] == 0:
        raise ValueError(
            f"y_true: expected a non-empty 1-D array of labels (N,), got shape {y_true.shape}"
        )
    arrays = [("y_true", y_true)]
    if other is not None:
        other = _array(other, other_name)
        other = _labels(other) if other_name == "y_pred" else other
        if other.ndim != other_ndim or other.shape[0] != y_true.shape[0]:
            want = "(N,)" if other_ndim == 1 else "(N, C)"
            raise ValueError(
                f"{other_name}: expected shape {want} with N = {y_true.shape[0]} "
                f"(the rows of y_true), got {other.shape}"
            )
        arrays.append((other_name, other))
    for name, a in arrays:
        if isinstance(a, jax.core.Tracer):
            continue  # inside jit: the values are not known
        host = np.asarray(a)  # (a JAX array outside jit: its values, checked as NumPy's)
        validation.check_finite_values(host, name)
        if name in ("y_true", "y_pred"):
            validation.check_labelled(host, name)
            _check_whole(name, host)
    return y_true, other


def _check_whole(name, labels):
    """Host labels stored as floats must be whole numbers: ``0.7`` is a probability or a
    score passed where a class was expected (scikit-learn refuses such "continuous" targets
    too), and comparing it with the classes would quietly count it wrong."""
    if labels.dtype.kind == "f" and not np.all(labels == np.round(labels)):
        bad = labels[labels != np.round(labels)][0].item()
        raise ValueError(
            f"{name}: class labels must be whole numbers, got {bad!r}; pass predicted "
            "labels (predict), not probabilities or scores"
        )


def _text_codes(y_true, y_pred=None):
    """Text labels (any non-numeric host labels) as the codes of the sorted labels of both
    arrays, as scikit-learn's metrics order classes (``np.unique``); numeric labels as they
    are. Text beside numbers is an error naming both."""
    given = [a for a in (y_true, y_pred) if a is not None]
    kinds = [a.dtype.kind if isinstance(a, jax.Array) else np.asarray(a).dtype.kind for a in given]
    if all(k in "biuf" for k in kinds):
        return y_true, y_pred
    if any(k in "biuf" for k in kinds):
        text, number = (0, 1) if kinds[1] in "biuf" else (1, 0)
        names = ("y_true", "y_pred")
        raise ValueError(
            f"{names[text]}: text labels ({_first(given[text])!r}) beside "
            f"{names[number]}'s numbers ({_first(given[number])!r}); pass "
            "labels of one kind"
        )
    _, codes = validation.label_order(np.concatenate([np.asarray(a) for a in given]), "y_true")
    n = len(given[0])
    return codes[:n], (codes[n:] if y_pred is not None else None)


def _check_classes(n_classes, **labels) -> int:
    """``n_classes`` a positive integer, and every label given in ``0..n_classes − 1``:
    checked where the values are known (NumPy or concrete JAX arrays); inside ``jit`` a label
    out of range is not counted. ``None``: one more than the largest label given (as
    scikit-learn's metrics infer their labels), which needs the values: inside ``jit`` it is
    an error. Returns the count."""
    for name, y in labels.items():
        if not isinstance(y, jax.Array) and np.asarray(y).dtype.kind not in "biuf":
            raise ValueError(
                f"{name}: class labels here are integer codes 0..C−1, got values such as "
                f"{_first(y)!r}; encode them "
                "first (np.unique(labels, return_inverse=True))"
            )
    if n_classes is None:
        if any(isinstance(y, jax.core.Tracer) for y in labels.values()):
            raise ValueError(
                "n_classes: needed inside jit, where the labels' values are not known "
                "(pass the number of classes)"
            )
        n_classes = max(int(np.max(np.asarray(y))) for y in labels.values()) + 1
        n_classes = max(n_classes, 1)
    validation.check_positive(n_classes, "n_classes", integer=True)
    for name, y in labels.items():
        if isinstance(y, jax.core.Tracer):
            continue
        y = np.asarray(y)
        bad = (y < 0) | (y >= n_classes) | (y != np.round(y))
        if np.any(bad):
            raise ValueError(
                f"{name}: label {y[bad][0].item()!r} is outside the classes "
                f"0..{n_classes - 1} (n_classes = {n_classes})"
            )
    return n_classes


def _check_binary(**labels):
    """The labels of a binary metric are in ``{0, 1}`` or ``{−1, +1}`` (1 the positive
    class): another value (a third class, a positive class other than 1) is an error where
    the values are known (NumPy or concrete JAX arrays)."""
    for name, y in labels.items():
        if isinstance(y, jax.core.Tracer):  # inside jit: values unknown, 1 is the positive
            continue
        values = np.unique(np.asarray(y))
        if not (set(values.tolist()) <= {0, 1} or set(values.tolist()) <= {-1, 1}):
            shown = ", ".join(repr(v.item()) for v in values[:5])
            raise ValueError(
                f"{name}: a binary metric needs labels in {{0, 1}} or {{-1, +1}} (1 is the "
                f"positive class), got [{shown}{', ...' if len(values) > 5 else ''}]; for "
                "more classes use per_class or macro_average"
            )


def _div(num, den, what: str | None = None, stacklevel: int = 3):
    """``num / den``, and 0 where ``den == 0``; with ``what`` (the metric, and the cause of a
    zero denominator) an ``UndefinedMetricWarning`` on the host when one is 0."""
    xp = _xp(num, den)
    if what is not None and xp is np and np.any(np.asarray(den) == 0):
        metric, cause = what.split(": ", 1)
        warnings.warn(
            f"{metric} is ill-defined and set to 0 {cause}",
            UndefinedMetricWarning,
            stacklevel=stacklevel,
        )
    num, den = xp.asarray(num, xp.float32), xp.asarray(den, xp.float32)
    return xp.where(den > 0, num / xp.where(den > 0, den, 1.0), xp.float32(0.0))


def accuracy(y_true, y_pred):
    """``mean(y == ŷ)``. Text labels compare as text; text beside numbers is an error (they
    would never be equal)."""
    y_true, y_pred = _text_codes(*_checked(y_true, y_pred))
    xp = _xp(y_true, y_pred)
    return xp.mean((y_true == y_pred).astype(xp.float32))


def _counts(y, n_classes: int):
    """How many labels of each class, ``(C,)``."""
    if _xp(y) is np:  # labels outside 0..C−1 are not counted, as in jnp.bincount
        y = np.asarray(y)
        return np.bincount(y[(y >= 0) & (y < n_classes)], minlength=n_classes)
    return jnp.bincount(y, length=n_classes)


def class_prior_baseline(y_true, n_classes: int | None = None):
    """``max_k P(y = k)``: the accuracy of always predicting the most frequent class."""
    y_true, _ = _text_codes(*_checked(y_true))
    n_classes = _check_classes(n_classes, y_true=y_true)
    return (_counts(y_true, n_classes).max() / y_true.shape[0]).astype(_xp(y_true).float32)


class BinaryCounts(NamedTuple):
    """TP, TN, FP, FN, and the rates made of them (a zero denominator gives 0)."""

    tp: jax.Array
    tn: jax.Array
    fp: jax.Array
    fn: jax.Array

    def precision(self, warn: bool = False):
        why = "Precision: where no example is predicted positive" if warn else None
        return _div(self.tp, self.tp + self.fp, why, 4)

    def recall(self, warn: bool = False):
        why = "Recall: where no example is positive" if warn else None
        return _div(self.tp, self.tp + self.fn, why, 4)

    def f1(self, warn: bool = False):
        why = "F1: where no example is positive or predicted positive" if warn else None
        return _div(2 * self.tp, 2 * self.tp + self.fp + self.fn, why, 4)

    def fpr(self, warn: bool = False):
        why = "The false positive rate: where no example is negative" if warn else None
        return _div(self.fp, self.fp + self.tn, why, 4)


def binary_counts(y_true, y_pred) -> BinaryCounts:
    """TP, TN, FP, FN with class 1 as positive."""
    y_true, y_pred = _checked(y_true, y_pred)
    _check_binary(y_true=y_true, y_pred=y_pred)
    t, p = y_true == 1, y_pred == 1
    return BinaryCounts((t & p).sum(), (~t & ~p).sum(), (~t & p).sum(), (t & ~p).sum())


def precision(y_true, y_pred):
    """``TP / (TP + FP)`` (0 when nothing is predicted positive)."""
    return binary_counts(y_true, y_pred).precision(warn=True)


def recall(y_true, y_pred):
    """Recall = TPR = ``TP / (TP + FN)`` (0 when there is no positive)."""
    return binary_counts(y_true, y_pred).recall(warn=True)


def f1(y_true, y_pred):
    """``2PR / (P + R)`` = ``2TP / (2TP + FP + FN)`` (0 when that denominator is 0)."""
    return binary_counts(y_true, y_pred).f1(warn=True)


def false_positive_rate(y_true, y_pred):
    """FPR = ``FP / (FP + TN)`` (0 when there is no negative)."""
    return binary_counts(y_true, y_pred).fpr(warn=True)


def confusion_matrix(y_true, y_pred, n_classes: int | None = None):
    """``C[i, j]`` = number of examples of true class ``i`` predicted as ``j``; ``(C, C)``.
    A label outside ``0..C−1`` is an error (inside ``jit``, where values are not known, it is
    not counted). Text labels count as the codes of their sorted names (scikit-learn's
    order)."""
    y_true, y_pred = _text_codes(*_checked(y_true, y_pred))
    n_classes = _check_classes(n_classes, y_true=y_true, y_pred=y_pred)
    if _xp(y_true, y_pred) is np:
        cells = y_true.astype(np.int64) * n_classes + y_pred.astype(np.int64)
        return _counts(cells, n_classes**2).reshape(n_classes, n_classes).astype(np.int32)
    return jnp.zeros((n_classes, n_classes), jnp.int32).at[y_true, y_pred].add(1)


class PerClass(NamedTuple):
    precision: jax.Array  # (C,)
    recall: jax.Array
    f1: jax.Array
    support: jax.Array


def per_class(y_true, y_pred, n_classes: int | None = None, warn: bool = True) -> PerClass:
    """One-vs-rest precision, recall and F1 of every class, with its support (``warn``: an
    ``UndefinedMetricWarning`` on the host for a zero denominator, as scikit-learn's)."""
    C = confusion_matrix(y_true, y_pred, n_classes)
    tp = _xp(C).diag(C)
    predicted, actual = C.sum(axis=0), C.sum(axis=1)
    why: list[str | None] = [
        "Precision: for a class with no example predicted as it",
        "Recall: for a class with no example of it",
        "F1: for a class with no example of it or predicted as it",
    ]
    why = why if warn else [None] * 3
    return PerClass(
        _div(tp, predicted, why[0]),
        _div(tp, actual, why[1]),
        _div(2 * tp, predicted + actual, why[2]),
        actual,
    )


def macro_average(y_true, y_pred, n_classes: int | None = None, warn: bool = True):
    """Unweighted means over classes of precision, recall, F1: ``(P, R, F1)`` (``warn``: as
    ``per_class``)."""
    pc = per_class(y_true, y_pred, n_classes, warn)
    return pc.precision.mean(), pc.recall.mean(), pc.f1.mean()


def micro_average(y_true, y_pred, n_classes: int | None = None):
    """Precision, recall, F1 from counts pooled over classes (each equals accuracy)."""
    C = confusion_matrix(y_true, y_pred, n_classes)
    tp = _xp(C).trace(C)
    p = _div(tp, C.sum())
    return p, p, p


def log_loss(y_true, proba, eps: float | None = None):
    """Mean ``−ln p_y`` of the probabilities given to the true class; ``proba`` ``(N, C)``,
    or ``(N,)`` (or ``(N, 1)``) for binary labels (``{0, 1}`` or ``{−1, +1}``): the positive
    class's probability, as scikit-learn takes it.

    Probabilities are clipped to ``[eps, 1 − eps]`` (default: the dtype's machine epsilon,
    as scikit-learn does) so a confident mistake costs a large finite amount. Rows that do
    not sum to one (by more than ``√ε``) raise a ``UserWarning``, as in scikit-learn.
    """
    if eps is not None:
        validation.check_non_negative(eps, "eps")
        if np.ndim(eps) != 0 or not eps < 0.5:
            raise ValueError(f"eps: the probabilities' clip, one number in [0, 0.5), got {eps!r}")
    if np.ndim(proba) == 2 and np.shape(proba)[1] == 1:  # one column: P(y = 1), as there
        proba = proba[:, 0] if isinstance(proba, (np.ndarray, jax.Array)) else np.ravel(proba)
    if np.ndim(proba) == 1:  # binary: P(y = 1) for each row
        y_true, p1 = _checked(y_true, proba, "proba")
        _check_binary(y_true=y_true)
        xp = _xp(y_true, p1)
        if xp is np and (np.min(p1) < 0 or np.max(p1) > 1):
            r = int(np.argmax((p1 < 0) | (p1 > 1)))
            bad = float(p1[r])
            raise ValueError(f"proba: expected probabilities in [0, 1], got {bad!r} at row {r}")
        y_true, proba = (y_true > 0).astype(xp.int32), xp.stack([1 - p1, p1], axis=1)
    y_true, proba = _checked(y_true, proba, "proba", other_ndim=2)
    y_true, _ = _text_codes(y_true)  # its classes in sorted order: proba's columns
    _check_classes(proba.shape[1], y_true=y_true)
    xp = _xp(y_true, proba)
    proba = xp.asarray(proba)
    if xp is np and (proba.min() < 0 or proba.max() > 1):
        r, c = np.argwhere((proba < 0) | (proba > 1))[0]
        raise ValueError(
            f"proba: expected probabilities in [0, 1], got {proba[r, c].item()!r} at row {r}, "
            f"column {c}"
        )
    if xp is np and proba.shape[1] > 1:
        sums = proba.sum(axis=1)
        off = np.abs(sums - 1) > np.sqrt(np.finfo(proba.dtype).eps)
        if off.any():  # scikit-learn warns too; the mean is still of the given values
            r = int(np.argmax(off))
            warnings.warn(
                f"proba: the rows do not sum to one (row {r} sums to {sums[r]:.6g}); "
                "pass probabilities",
                UserWarning,
                stacklevel=2,
            )
    eps = xp.finfo(proba.dtype).eps if eps is None else eps
    p = xp.take_along_axis(proba, y_true[:, None].astype(xp.int32), axis=1)[:, 0]
    return -xp.mean(xp.log(xp.clip(p, eps, 1.0 - eps)))


class RocCurve(NamedTuple):
    fpr: jax.Array  # (N + 1,), starting at 0
    tpr: jax.Array
    thresholds: jax.Array  # +inf, then the scores in decreasing order


def roc_curve(y_true, scores) -> RocCurve:
    """ROC curve of binary labels against scores, one point per threshold (static size).

    Points are ``(FPR, TPR)`` for "predict 1 when score ≥ t" at ``t = +inf`` and at every
    score, decreasing. Tied scores share a threshold: all of a tie moves at once, so the
    points of a tie repeat the point after it (repeats add no area). The distinct points
    are scikit-learn's ``roc_curve(..., drop_intermediate=False)``.
    """
    y_true, scores = _checked(y_true, scores, "scores")
    _check_binary(y_true=y_true)
    xp = _xp(y_true, scores)
    if xp is np and np.unique(y_true).size < 2:
        warnings.warn(
            "y_true: only one class is present, so the ROC curve's other rate is undefined "
            "(NaN), and so is its area",
            UndefinedMetricWarning,
            stacklevel=2,
        )
    n = scores.shape[0]
    scores = scores.astype(xp.result_type(scores.dtype, xp.float32))  # +inf needs a float
    order = xp.argsort(-scores, stable=True)
    s = scores[order]
    y = (y_true[order] == 1).astype(xp.float32)
    tps, fps = xp.cumsum(y), xp.cumsum(1.0 - y)
    last_of_tie = xp.concatenate([s[1:] != s[:-1], xp.array([True])])
    end = xp.where(last_of_tie, xp.arange(n), n)
    end = np.minimum.accumulate(end[::-1])[::-1] if xp is np else jax.lax.cummin(end, reverse=True)
    tps, fps = tps[end], fps[end]
    pos, neg = tps[-1], fps[-1]
    zero, nan = xp.zeros(1, xp.float32), xp.float32(xp.nan)
    tpr = xp.concatenate([zero, xp.where(pos > 0, tps / xp.maximum(pos, 1), nan)])
    fpr = xp.concatenate([zero, xp.where(neg > 0, fps / xp.maximum(neg, 1), nan)])
    thresholds = xp.concatenate([xp.array([xp.inf], s.dtype), s])
    return RocCurve(fpr, tpr, thresholds)


def auc(fpr, tpr):
    """Area under a curve by the trapezoid rule; ``fpr`` and ``tpr`` ``(P,)``, ``P ≥ 2``,
    ``fpr`` non-decreasing (on the host a non-increasing ``fpr`` is read backwards and any
    other order is an error, as in scikit-learn)."""
    fpr, tpr = (_array(a, name) for a, name in ((fpr, "fpr"), (tpr, "tpr")))
    if fpr.ndim != 1 or fpr.shape != tpr.shape or fpr.shape[0] < 2:
        raise ValueError(
            f"fpr, tpr: expected two 1-D arrays of one length P >= 2, got {fpr.shape} and "
            f"{tpr.shape}"
        )
    xp = _xp(fpr, tpr)
    area = xp.sum(xp.diff(fpr) * (tpr[1:] + tpr[:-1]) / 2.0)
    if xp is np and np.any(np.diff(fpr) < 0):
        if np.any(np.diff(fpr) > 0):
            raise ValueError("fpr: is neither non-decreasing nor non-increasing")
        return -area
    return area


def roc_auc(y_true, scores):
    """Area under the ROC curve (NaN when only one class is present)."""
    r = roc_curve(y_true, scores)
    return auc(r.fpr, r.tpr)


def summary(y_true, y_pred, n_classes: int | None = None, scores=None, proba=None) -> dict:
    """Every metric above: in one compiled call for JAX arrays, on the host for NumPy ones
    (what a report needs).

    ``scores`` ``(N,)``: the binary decision scores for the ROC curve; ``proba`` ``(N, C)``:
    probabilities for the log loss. Binary entries are for class 1; per-class entries and
    macro/micro averages are always included. Text labels count as the codes of their
    sorted names (class 1 of two: the second).
    """
    y_true, y_pred = _text_codes(*_checked(y_true, y_pred))
    n_classes = _check_classes(n_classes, y_true=y_true, y_pred=y_pred)
    scores, proba = (
        None if a is None else _array(a, n) for a, n in ((scores, "scores"), (proba, "proba"))
    )
    if scores is not None and n_classes != 2:
        raise ValueError(
            f"scores: the ROC curve's scores are for two classes, got {n_classes} classes "
            "(leave scores out, or pass proba for the log loss)"
        )
    if proba is not None and proba.ndim == 2 and proba.shape[1] not in (1, n_classes):
        raise ValueError(
            f"proba: expected one column per class ({n_classes}), got {proba.shape[1]} "
            "(pass n_classes when the labels do not show every class)"
        )
    if _xp(y_true, y_pred, scores, proba) is np:
        return _summary(y_true, y_pred, n_classes, scores, proba)
    return _compiled_summary(y_true, y_pred, n_classes, scores, proba)


def _summary(y_true, y_pred, n_classes: int, scores=None, proba=None) -> dict:
    out = {
        "accuracy": accuracy(y_true, y_pred),
        "baseline": class_prior_baseline(y_true, n_classes),
        "confusion_matrix": confusion_matrix(y_true, y_pred, n_classes),
        "per_class": per_class(y_true, y_pred, n_classes, warn=False)._asdict(),
        "macro": dict(
            zip(("precision", "recall", "f1"), macro_average(y_true, y_pred, n_classes, False))
        ),
        "micro": dict(zip(("precision", "recall", "f1"), micro_average(y_true, y_pred, n_classes))),
    }
    if n_classes == 2:
        c = binary_counts(y_true, y_pred)  # counted (and checked) once for the four rates
        out.update(c._asdict())
        out.update(precision=c.precision(), recall=c.recall(), f1=c.f1(), fpr=c.fpr())
    if scores is not None:
        r = roc_curve(y_true, scores)
        out.update(roc_auc=auc(r.fpr, r.tpr), roc_fpr=r.fpr, roc_tpr=r.tpr)
    if proba is not None:
        out["log_loss"] = log_loss(y_true, proba)
    return out


_compiled_summary = partial(jax.jit, static_argnames=("n_classes",))(_summary)
