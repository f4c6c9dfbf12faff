"""The bundled datasets, shipped inside the package: no network needed.

``load("kidcreative")``, ``load("spambase")``, ``load("mnist")`` → ``Dataset``.
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
    "kidcreative": (
        "KidCreative (a marketing survey): will a household buy the magazine? 673 × 16, target Buy"
    ),
    "spambase": "UCI Spambase: is an e-mail spam? 4,601 × 57, target spam",
    "mnist": "MNIST official test set: 10,000 handwritten digits, 28×28 pixels / 255",
}
NAMES = tuple(_DESCRIPTIONS)


def is_bundled(name) -> bool:
    """Whether a command line's data argument names a bundled dataset: one of ``NAMES`` (any
    case) that is not a file or folder here (a file of that name is read as a file)."""
    import os

    return isinstance(name, str) and name.lower() in NAMES and not os.path.exists(name)


# Defaults of `jaxlin train` per bundled dataset. MNIST's pixels / 255 already share one
# scale; standardising would blow up the nearly always blank border pixels. Unpenalised
# (or C = 1) softmax regression overfits its 6,667 training images (about 88–90% test
# accuracy); L2 = 3e-4 (scikit-learn's C ≈ 0.25) gave 90.5–91.2% on the splits of seeds 0–3.
TRAIN_DEFAULTS = {"mnist": {"standardize": False, "l2": 3e-4}}


def load(name: str, sparse: bool = False) -> Dataset:
    """Load a bundled dataset by name: features, labels, feature names, class names.

    ``sparse=True``: ``X`` as a SciPy CSR matrix of its non-zero values (MNIST's pixels are
    81% zeros), for the sparse path (``docs/sparse.md``).
    """
    from jaxlin import validation

    sparse = validation.check_flag(sparse, "sparse")
    d = _load(name)
    if sparse:
        import scipy.sparse as sp

        return d._replace(X=sp.csr_matrix(d.X))
    return d


def _load(name: str) -> Dataset:
    if not isinstance(name, str):
        raise TypeError(f"data: expected a dataset name ({', '.join(NAMES)}), got {name!r}")
    key = name.lower()
    if key == "kidcreative":
        t = read_csv(_path("kidcreative.csv"), target="Buy", drop=["Obs No."])
        classes = ["no", "buy"]
    elif key == "spambase":
        t = read_csv(_path("spambase.csv"), target="spam")
        classes = ["ham", "spam"]
    elif key == "mnist":
        t = read_idx_pair(
            _path("mnist", "t10k-images-idx3-ubyte.gz"), _path("mnist", "t10k-labels-idx1-ubyte.gz")
        )
        classes = [str(i) for i in range(10)]
    else:
        raise ValueError(f"data: unknown dataset {name!r}; bundled datasets: {', '.join(NAMES)}")
    return Dataset(t.X, t.y.astype(np.int64), t.feature_names, classes, key, _DESCRIPTIONS[key])


def text_like(
    n_rows: int = 10_000,
    n_features: int = 2**16,
    nnz_per_row: int = 100,
    n_classes: int = 2,
    seed: int = 0,
    zipf: float = 1.1,
    topic_words: float = 0.02,
    topic_boost: float = 4.0,
) -> Dataset:
    """A synthetic bag-of-words problem shaped like text (no data can be downloaded here).

    Each class draws its words from a Zipf law over the vocabulary (word ``j`` has weight
    ``(j + 1)^-zipf``), with a class-specific random ``topic_words`` share of the vocabulary
    ``topic_boost`` times more frequent. Each row draws a Poisson number of words (at least
    one), as many as give ``nnz_per_row`` distinct words per row on average (frequent words
    repeat). Values are tf-idf like: ``(1 + ln count) · ln(N / (1 + df))``, each row scaled
    to unit norm. Labels are balanced, ``0..n_classes−1``.

    Returns a ``Dataset`` whose ``X`` is a SciPy CSR matrix (float64); the same seed
    gives the same matrix.
    """
    import scipy.sparse as sp

    from jaxlin import validation

    for value, name in (
        (n_rows, "n_rows"),
        (n_features, "n_features"),
        (nnz_per_row, "nnz_per_row"),
    ):
        validation.check_positive(value, name, integer=True)
    if validation.check_positive(n_classes, "n_classes", integer=True) < 2:
        raise ValueError(f"n_classes: must be an integer ≥ 2, got {n_classes!r}")
    if nnz_per_row > n_features:  # the rows had about half as many, silently
        raise ValueError(
            f"nnz_per_row: a row holds at most n_features = {n_features} distinct words, "
            f"got {nnz_per_row}"
        )
    validation.check_non_negative(zipf, "zipf")
    validation.check_positive(topic_boost, "topic_boost")
    if validation.check_non_negative(topic_words, "topic_words") > 1:
        raise ValueError(f"topic_words: a share of the vocabulary in [0, 1], got {topic_words!r}")
    rng = np.random.default_rng(validation.numpy_seed(seed))
    y = rng.permutation(np.arange(n_rows) % n_classes)
    base = (np.arange(n_features) + 1.0) ** -zipf
    classes = []
    for c in range(n_classes):
        weights = base.copy()
        topic = rng.choice(n_features, max(1, int(topic_words * n_features)), replace=False)
        weights[topic] *= topic_boost
        classes.append(weights / weights.sum())
    # words repeat, so more draws than distinct words: a pilot of 500 rows measures how many
    pilot = _word_counts(rng, y[:500], np.full(min(500, n_rows), nnz_per_row), classes, n_features)
    draws_per_word = nnz_per_row / max(1.0, pilot.nnz / pilot.shape[0])
    lengths = np.maximum(1, rng.poisson(nnz_per_row * draws_per_word, n_rows))
    counts = _word_counts(rng, y, lengths, classes, n_features)
    df = np.bincount(counts.indices, minlength=n_features)
    counts.data = (1.0 + np.log(counts.data)) * np.log(n_rows / (1.0 + df[counts.indices]))
    counts.data = np.maximum(counts.data, 1e-6)  # a word in (almost) every row: keep it
    norms = np.sqrt(np.asarray(counts.multiply(counts).sum(axis=1)).ravel())
    X = sp.csr_matrix(sp.diags(1.0 / np.maximum(norms, 1e-12)) @ counts)
    X.sort_indices()  # canonical, as a vectorizer's output (the product leaves them unsorted)
    names = [f"w{j}" for j in range(n_features)]
    return Dataset(
        X,
        y.astype(np.int64),
        names,
        [str(c) for c in range(n_classes)],
        "text_like",
        f"synthetic text-like: {n_rows:,} rows × {n_features:,} words, "
        f"~{nnz_per_row} draws per row, {n_classes} classes",
    )


def _word_counts(rng, y, lengths, classes, n_features):
    """``(rows, n_features)`` CSR counts: row ``i`` draws ``lengths[i]`` words of its class."""
    import scipy.sparse as sp

    rows, cols = [], []
    for c, p in enumerate(classes):
        members = np.flatnonzero(y == c)
        rows.append(np.repeat(members, lengths[members]))
        cols.append(rng.choice(n_features, lengths[members].sum(), p=p))
    rows, cols = np.concatenate(rows), np.concatenate(cols)
    counts = sp.csr_matrix((np.ones(len(rows)), (rows, cols)), shape=(len(y), n_features))
    counts.sum_duplicates()
    return counts
