"""The bundled datasets (SPEC §8), shipped inside the package: no network needed.

``load("kidcreative")``, ``load("spambase")``, ``load("mnist")`` → :class:`Dataset`.
"""
from __future__ import annotations

from importlib import resources
from typing import NamedTuple

import numpy as np

from jaxlin.data import read_csv, read_idx_pair


class Dataset(NamedTuple):
    X: np.ndarray  # (N, d) float64
    y: np.ndarray  # (N,) int labels
    feature_names: list
    class_names: list
    name: str
    description: str


def _path(*parts):
    return str(resources.files("jaxlin").joinpath("data", *parts))


_DESCRIPTIONS = {
    "kidcreative": "KidCreative (seed 000): will a household buy the magazine? 673 × 16, target Buy",
    "spambase": "UCI Spambase: is an e-mail spam? 4,601 × 57, target spam",
    "mnist": "MNIST official test set: 10,000 handwritten digits, 28×28 pixels / 255",
}
NAMES = tuple(_DESCRIPTIONS)


def load(name: str) -> Dataset:
    """Load a bundled dataset by name: features, labels, feature names, class names."""
    key = name.lower()
    if key == "kidcreative":
        t = read_csv(_path("kidcreative.csv"), target="Buy", drop=["Obs No."])
        classes = ["no", "buy"]
    elif key == "spambase":
        t = read_csv(_path("spambase.csv"), target="spam")
        classes = ["ham", "spam"]
    elif key == "mnist":
        t = read_idx_pair(_path("mnist", "t10k-images-idx3-ubyte.gz"),
                          _path("mnist", "t10k-labels-idx1-ubyte.gz"))
        classes = [str(i) for i in range(10)]
    else:
        raise ValueError(f"data: unknown dataset {name!r}; bundled datasets: {', '.join(NAMES)}")
    return Dataset(t.X, t.y.astype(np.int64), t.feature_names, classes, key, _DESCRIPTIONS[key])
