"""Class weights as row weights: what ``fit(class_weight=...)`` and ``--class-weight`` weigh.

A class weight multiplies the loss of each row of its class, so the objective becomes
``Σ_i s_i c_{y_i} L_i / Σ_i s_i c_{y_i}`` (``s`` the sample weights, ``c`` the class weights):
a rare class can count as much as a common one. ``class_weight`` is

* ``"balanced"``: ``c_k = n / (m n_k)`` — ``n`` rows, ``n_k`` of them in class ``k``, ``m``
  classes present — scikit-learn's rule (the counts are of rows, not of sample weights);
* a dict ``{label: weight}`` keyed by the labels as ``y`` holds them (text, ±1 or
  ``0..K−1``); a class left out weighs 1;
* a sequence of ``K`` weights, in class order (the sorted labels).

A one-vs-rest fit (a binary loss on ``K > 2`` classes) trains class ``k``'s model on rows
weighing ``c_k`` in class ``k`` and 1 elsewhere, as scikit-learn's one-vs-rest does: its
weights are ``(N, K)``, column ``k`` class ``k``'s model's.
"""

from __future__ import annotations

import numpy as np

from jaxlin import validation

__all__ = ["per_class", "row_weights", "one_vs_rest_weights", "for_labels"]


def per_class(class_weight, codes, n_classes: int, classes=None, counts=None) -> np.ndarray:
    """The ``(K,)`` float64 class weights for labels ``codes`` (``0..K−1``; ``classes``: the
    labels the codes stand for, ``None`` when the codes are the labels; ``counts``: the rows
    of each class instead of ``codes``, for rows not all in memory)."""
    if isinstance(class_weight, str):
        if class_weight != "balanced":
            raise ValueError(
                f"class_weight: expected 'balanced', a dict {{label: weight}} or {n_classes} "
                f"weights, got {class_weight!r}"
            )
        if counts is None:
            counts = np.bincount(np.asarray(codes), minlength=n_classes)
        return counts.sum() / (np.count_nonzero(counts) * np.maximum(counts, 1))
    if isinstance(class_weight, dict):
        weights = _from_dict(class_weight, n_classes, classes)
    else:
        weights = validation.as_host_array(class_weight, "class_weight")
        if weights.shape != (n_classes,):
            raise ValueError(
                f"class_weight: expected 'balanced', a dict {{label: weight}} or {n_classes} "
                f"weights (one per class), got shape {weights.shape}"
            )
    return _checked(weights)


def _from_dict(class_weight: dict, n_classes: int, classes) -> np.ndarray:
    """A dict's weights in class order; a label that is not a class is named."""
    labels = list(range(n_classes)) if classes is None else np.asarray(classes).tolist()
    index = {label: k for k, label in enumerate(labels)}
    weights = np.ones(n_classes, np.float64)
    for label, weight in class_weight.items():
        try:
            k = index.get(label.item() if isinstance(label, np.generic) else label)
        except TypeError:  # an unhashable key
            k = None
        if k is None:
            raise ValueError(f"class_weight: {label!r} is not a class; the classes are {labels}")
        weights[k] = _checked(np.asarray([weight]), f"class_weight[{label!r}]")[0]
    return weights


def _checked(weights, name: str = "class_weight") -> np.ndarray:
    """Weights as float64, each finite and ≥ 0, or an error naming ``name``."""
    arr = np.asarray(weights)
    if arr.dtype.kind not in "biuf":
        raise TypeError(f"{name}: expected numbers, got {arr.dtype} values {arr.tolist()[:5]}")
    arr = arr.astype(np.float64)
    if not np.all(np.isfinite(arr) & (arr >= 0)):
        raise ValueError(f"{name}: weights must be finite and >= 0, got {arr.tolist()[:10]}")
    return arr


def row_weights(
    class_weight, codes, n_classes: int, classes=None, sample_weight=None, one_vs_rest=False
):
    """Each row's weight: its class's (``per_class``) times its ``sample_weight`` (checked,
    ``(N,)``, or ``(N, K)`` for one-vs-rest); ``(N, K)`` one-vs-rest weights when
    ``one_vs_rest``; ``sample_weight`` as given when ``class_weight`` is ``None``."""
    if class_weight is None:
        return sample_weight
    codes = np.asarray(codes)
    cw = per_class(class_weight, codes, n_classes, classes)
    if not one_vs_rest and not np.any(cw[codes]):
        raise ValueError(
            f"class_weight: every class present weighs 0 ({cw.tolist()}), so no row counts"
        )
    if sample_weight is not None and not (one_vs_rest and np.ndim(sample_weight) == 2):
        sample_weight = validation.check_sample_weight(sample_weight, len(codes))
    if not one_vs_rest:
        return cw[codes] * (1.0 if sample_weight is None else sample_weight)
    return one_vs_rest_weights(codes, cw, sample_weight)


def one_vs_rest_weights(y, class_weight, sample_weight=None) -> np.ndarray:
    """Per-class weights ``(N, K)`` of a one-vs-rest fit from class weights ``(K,)``, as
    scikit-learn's one-vs-rest: class ``c``'s model weighs its own rows by
    ``class_weight[c]`` and every other row by 1, each times its ``sample_weight``
    (``(N,)`` or ``(N, K)``; ``y``: labels ``0..K−1``)."""
    y, cw = np.asarray(y), np.asarray(class_weight, np.float64)
    W = np.where(y[:, None] == np.arange(len(cw)), cw, 1.0)
    if sample_weight is None:
        return W
    sw = np.asarray(sample_weight, np.float64)
    if sw.shape not in ((len(y),), W.shape):
        raise ValueError(
            f"sample_weight: expected ({len(y)},), or {W.shape} for one weight per row and "
            f"class of a one-vs-rest fit, got {sw.shape}"
        )
    return (sw[:, None] if sw.ndim == 1 else sw) * W


def for_labels(
    class_weight, y, loss, classes=None, n_classes=None, *, sample_weight=None, ovr=False
):
    """``fit``'s row weights for labels ``y`` as ``jaxlin.training.label_classes`` returns
    them (codes of text labels, with their ``classes``; ±1 labels with ``classes``
    ``[−1, 1]``; numeric labels ``0..K−1``) under ``loss``: ``sample_weight`` when
    ``class_weight`` is ``None``, else ``row_weights`` (``ovr``: a one-vs-rest fit)."""
    if class_weight is None:
        return sample_weight
    from jaxlin.losses import get_loss
    from jaxlin.objective import host_targets

    arr = np.asarray(y)
    if loss.target == "real" or arr.ndim != 1:
        what = (
            f"loss {loss.name!r} has real targets"
            if loss.target == "real"
            else f"y holds targets of shape {arr.shape}"
        )
        raise ValueError(f"class_weight: needs class labels y of shape (N,); {what}")
    if classes is not None and np.asarray(classes).dtype.kind in "biuf":  # ±1, binary loss
        arr = (arr > 0).astype(np.intp)
    elif classes is None:  # numeric labels: checked as fit checks them
        if ovr:
            validation.check_one_vs_rest_labels(arr, loss.name)
        top = 1 if loss.target == "binary" and not ovr else (n_classes and n_classes - 1)
        if not _are_codes(arr, top):
            # what is wrong, named as fit names it (only then are the targets built here:
            # fit builds them once, and they are N × K)
            host_targets(arr, get_loss("softmax_cross_entropy") if ovr else loss, n_classes)
    codes = arr.astype(np.intp)
    k = max(n_classes or 0, len(classes) if classes is not None else int(codes.max()) + 1, 2)
    return row_weights(class_weight, codes, k, classes, sample_weight, ovr)


def _are_codes(arr: np.ndarray, top) -> bool:
    """Whether ``arr`` holds finite whole numbers ``0..top`` (``top`` ``None``: no bound)
    — class codes, which ``fit`` takes as they are."""
    if arr.size == 0 or arr.dtype.kind not in "biuf" or not np.all(np.isfinite(arr)):
        return False
    low, high = arr.min(), arr.max()
    whole = arr.dtype.kind != "f" or np.all(arr == np.round(arr))
    return bool(whole and low >= 0 and (top is None or high <= top))
