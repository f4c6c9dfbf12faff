"""Tables to train on: a bundled dataset or a file, with class labels and a split.

The command line's data step. :func:`load_labelled` turns a bundled name (:mod:`jaxlin.
datasets`) or a CSV, IDX or ``.npy`` file (:mod:`jaxlin.data`) into features, labels
``0..C−1`` and the names of both; :func:`training_split` shuffles and holds out the test (and
validation) rows and fits the standardiser on the training rows only.
"""
from __future__ import annotations

import os
from typing import NamedTuple, Optional

import numpy as np

from jaxlin import datasets
from jaxlin.data import (Standardizer, is_idx, read_csv, read_idx_pair, read_npy,
                         train_test_split)

class Labelled(NamedTuple):
    """A dataset ready to train on: features, labels ``0..C−1`` and the names of both."""

    X: np.ndarray
    y: np.ndarray  # (N,) int64 in 0..C−1
    feature_names: list
    class_names: list
    name: str


def _raw_table(spec: str, target=None, drop=(), labels=None):
    """``(X, y_raw, feature_names, class_names or None, name)`` from a bundled name or a file."""
    if spec.lower() in datasets.NAMES and not os.path.exists(spec):
        if target is not None or drop:
            raise ValueError("--target/--drop apply to CSV files, not to the bundled "
                             f"dataset {spec!r}")
        d = datasets.load(spec)
        return d.X, d.y, d.feature_names, d.class_names, d.name
    if not os.path.exists(spec):
        raise FileNotFoundError(f"--data: no such file or bundled dataset: {spec!r} "
                                f"(bundled: {', '.join(datasets.NAMES)})")
    if is_idx(spec):
        if labels is None:
            guess = spec.replace("images-idx3", "labels-idx1")
            if guess == spec or not os.path.exists(guess):
                raise ValueError(f"--labels: give the IDX labels file for the images {spec!r}")
            labels = guess
        t = read_idx_pair(spec, labels)
        return t.X, t.y, t.feature_names, None, os.path.basename(spec)
    if spec.endswith(".npy"):
        t = read_npy(spec, target=target, drop=list(drop))
        return t.X, t.y, t.feature_names, None, os.path.basename(spec)
    t = read_csv(spec, target=target, drop=list(drop))
    return t.X, t.y, t.feature_names, None, os.path.basename(spec)


def load_labelled(spec: str, target=None, drop=(), labels=None) -> Labelled:
    """A bundled dataset (by name) or a CSV/IDX/.npy file, with labels encoded as ``0..C−1``.

    Raises ``ValueError`` for a target that is not class labels or holds a single class.
    """
    X, y_raw, feature_names, class_names, name = _raw_table(spec, target, drop, labels)
    if y_raw.dtype.kind == "f" and np.any(y_raw != np.round(y_raw)) and \
            len(np.unique(y_raw)) > 20:
        raise ValueError(f"--target: the column has {len(np.unique(y_raw))} distinct "
                         "non-integer values; a classifier needs class labels")
    y, class_names = encode_class_labels(y_raw, class_names)
    if len(class_names) < 2:
        raise ValueError("y: the target has a single class; a classifier needs at least two")
    return Labelled(X, y, list(feature_names), class_names, name)


def encode_class_labels(y_raw, class_names=None):
    """Labels of any numeric values → ``0..C−1`` and the class names (the sorted values)."""
    values = np.unique(y_raw)
    if class_names is not None and np.array_equal(values, np.arange(len(values))):
        return y_raw.astype(np.int64), list(class_names)[: max(len(values), len(class_names))]
    y = np.searchsorted(values, y_raw).astype(np.int64)
    names = [str(int(v)) if float(v).is_integer() else str(v) for v in values]
    return y, names


class TrainingSplit(NamedTuple):
    """Train / validation / test rows; ``standardizer`` fitted on the training rows only.

    ``X_*`` are the raw features; ``X_val``/``y_val`` are ``None`` without a validation share.
    """

    X_train: np.ndarray
    y_train: np.ndarray
    X_val: Optional[np.ndarray]
    y_val: Optional[np.ndarray]
    X_test: np.ndarray
    y_test: np.ndarray
    standardizer: Standardizer


def training_split(X, y, train_fraction: float = 2 / 3, validation_fraction: float = 0.0,
                   seed: int = 0, stratify: bool = False,
                   standardize: bool = True) -> TrainingSplit:
    """Shuffle and split into train and test, then hold out ``validation_fraction`` of the
    training rows; the standardiser uses the remaining training rows only."""
    s = train_test_split(X, y, train_fraction, seed=seed, stratify=stratify)
    X_train, y_train, X_val, y_val = s.X_train, s.y_train, None, None
    if validation_fraction > 0:
        inner = train_test_split(X_train, y_train, 1.0 - validation_fraction, seed=seed + 1)
        X_train, X_val, y_train, y_val = inner.X_train, inner.X_test, inner.y_train, inner.y_test
    if len(np.unique(y_train)) < 2:
        raise ValueError("y: the training split holds a single class; use a larger "
                         "--train-fraction or --stratify")
    st = Standardizer.fit(X_train) if standardize else \
        Standardizer(np.zeros(np.shape(X)[1]), np.ones(np.shape(X)[1]))
    return TrainingSplit(X_train, y_train, X_val, y_val, s.X_test, s.y_test, st)
