"""A given row order (``shuffle=π``) and scikit-learn's SGD orders through the bridge.

Epoch ``e`` visits the rows in epoch ``e − 1``'s order permuted by ``π``: checked against
training on the rows written out in those orders (``shuffle=False``), epoch by epoch from
the last epoch's result. The bridge draws scikit-learn's ``π`` for its ``random_state``:
checked against scikit-learn's own dataset shuffle and against scikit-learn's coefficients.
"""

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn import linear_model as sk
from sklearn.datasets import load_iris
from sklearn.preprocessing import StandardScaler

import jaxlin.sklearn as js
from jaxlin.sklearn._api import sgd_permutation
from jaxlin.training import fit

F64 = np.float64


def _data(n=40, d=3, k=3, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d))
    y = np.argmax(X @ rng.normal(size=(d, k)) + 0.5 * rng.normal(size=(n, k)), axis=1)
    return X, y


@pytest.mark.parametrize("optimizer", ["sgd", "perceptron"])
def test_each_epoch_permutes_the_last_epochs_order(optimizer):
    X, y = _data()
    y = (y == 1).astype(int)
    perm = np.random.default_rng(1).permutation(len(y))
    common = dict(optimizer=optimizer, learning_rate=0.1, dtype=F64)
    if optimizer == "sgd":
        common["batch_size"] = 1
    loss = "hinge" if optimizer == "sgd" else "perceptron_criterion"
    r = fit(X, y, loss, epochs=3, shuffle=perm, **common)
    order, init = np.arange(len(y)), "zeros"
    for _ in range(3):  # each epoch alone, on the rows written out in its order
        order = order[perm]
        step = fit(X[order], y[order], loss, epochs=1, shuffle=False, init=init, **common)
        init = step.params
    np.testing.assert_allclose(r.params.W, init.W, rtol=0, atol=1e-13)
    np.testing.assert_allclose(r.params.b, init.b, rtol=0, atol=1e-13)


def test_one_vs_rest_takes_one_order_per_class():
    X, y = _data()
    rng = np.random.default_rng(2)
    perms = np.stack([rng.permutation(len(y)) for _ in range(3)])
    common = dict(optimizer="sgd", batch_size=1, epochs=4, learning_rate=0.05, dtype=F64)
    r = fit(X, y, "hinge", shuffle=perms, **common)
    shared = fit(X, y, "hinge", shuffle=perms[0], **common)
    for c in range(3):
        one = fit(X, (y == c).astype(int), "hinge", shuffle=perms[c], **common)
        np.testing.assert_allclose(r.params.W[:, c], one.params.W[:, 0], atol=1e-13)
        one = fit(X, (y == c).astype(int), "hinge", shuffle=perms[0], **common)
        np.testing.assert_allclose(shared.params.W[:, c], one.params.W[:, 0], atol=1e-13)


@pytest.mark.parametrize(
    "shuffle, error, match",
    [
        (np.zeros(40, int), ValueError, r"shuffle: expected a permutation of 0\.\.39"),
        (np.arange(39), ValueError, r"shuffle: expected a permutation of shape \(40,\)"),
        (np.arange(40.0), TypeError, "shuffle: must be True, False or"),
        ("yes", TypeError, "shuffle: must be True, False or"),
        (np.stack([np.arange(40)] * 2), ValueError, r"shape \(40,\) or \(3, 40\)"),
    ],
)
def test_a_bad_order_is_named(shuffle, error, match):
    X, y = _data()
    with pytest.raises(error, match=match):
        fit(X, y, "hinge", optimizer="sgd", batch_size=1, epochs=1, shuffle=shuffle)


def test_the_permutation_is_scikit_learns_dataset_shuffle():
    from sklearn.utils._seq_dataset import ArrayDataset64

    n = 37
    X, y, w = np.arange(n, dtype=F64)[:, None], np.zeros(n), np.ones(n)
    for seed in (1, 5, 2**31 - 2, 987654321):
        data = ArrayDataset64(X, y, w, seed=1)
        order = np.arange(n)
        for _ in range(3):  # scikit-learn shuffles the last epoch's order with one seed
            data._shuffle_py(seed)
            visited = [int(data._next_py()[-1]) for _ in range(n)]
            order = order[sgd_permutation(n, seed)]
            assert visited == order.tolist()


@pytest.fixture(scope="module")
def iris():
    X, y = load_iris(return_X_y=True)
    return StandardScaler().fit_transform(X), y


@pytest.mark.parametrize(
    "name, kw",
    [
        ("SGDClassifier", dict(loss="hinge")),
        ("SGDClassifier", dict(loss="hinge", average=True, class_weight={0: 2, 1: 1, 2: 0.5})),
        ("SGDClassifier", dict(learning_rate="pa1", eta0=0.1)),
        ("Perceptron", dict(penalty="l2", alpha=1e-3)),
    ],
)
@pytest.mark.parametrize("classes", [2, 3])
@pytest.mark.parametrize("container", [np.asarray, sp.csr_matrix])
def test_shuffled_fits_are_scikit_learns(iris, name, kw, classes, container):
    """With ``shuffle=True`` and the same ``random_state``, the bridge visits the rows in
    scikit-learn's orders: the coefficients are scikit-learn's (piecewise-linear losses,
    whose steps round alike)."""
    X, y = iris
    y = y if classes == 3 else (y == 1).astype(int)
    if classes == 2 and "class_weight" in kw:
        kw = {**kw, "class_weight": {0: 2, 1: 0.5}}
    X = container(X)
    theirs = getattr(sk, name)(random_state=7, max_iter=15, tol=None, **kw).fit(X, y)
    ours = getattr(js, name)(random_state=7, max_iter=15, tol=None, **kw).fit(X, y)
    np.testing.assert_allclose(ours.coef_, theirs.coef_, rtol=0, atol=1e-10)
    np.testing.assert_allclose(ours.intercept_, theirs.intercept_, rtol=0, atol=1e-10)


def test_random_states_draw_as_scikit_learns(iris):
    """A ``RandomState`` goes on from fit to fit as scikit-learn's does, ``partial_fit``
    draws for each chunk, and ``None`` draws from NumPy's global generator."""
    X, y = iris
    for kw in ({}, {"class_weight": {0: 2, 1: 1, 2: 0.5}}):  # one order a class, drawn once
        theirs = sk.SGDClassifier(random_state=np.random.RandomState(3), max_iter=5, tol=None, **kw)
        ours = js.SGDClassifier(random_state=np.random.RandomState(3), max_iter=5, tol=None, **kw)
        for _ in range(2):
            np.testing.assert_allclose(ours.fit(X, y).coef_, theirs.fit(X, y).coef_, atol=1e-10)
    theirs, ours = sk.Perceptron(random_state=4), js.Perceptron(random_state=4)
    for rows in (slice(0, 75), slice(75, 150)):
        theirs.partial_fit(X[rows], y[rows], classes=[0, 1, 2])
        ours.partial_fit(X[rows], y[rows], classes=[0, 1, 2])
    np.testing.assert_allclose(ours.coef_, theirs.coef_, atol=1e-10)
    np.random.seed(11)
    theirs = sk.Perceptron(max_iter=5, tol=None).fit(X, y)
    np.random.seed(11)
    ours = js.Perceptron(max_iter=5, tol=None).fit(X, y)
    np.testing.assert_allclose(ours.coef_, theirs.coef_, atol=1e-10)
