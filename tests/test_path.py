"""fit_path: a regularisation path in one compiled program, stage by stage equal to fit_many
started from the last stage's solutions."""

import jax.numpy as jnp
import numpy as np
import pytest
import scipy.sparse as sp

import jaxlin
from jaxlin.records import MAX_EPOCHS


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(11)
    X = rng.normal(size=(120, 4))
    y = (X @ [1.2, -0.8, 0.4, 0.0] + 0.7 * rng.normal(size=120) > 0).astype(int)
    folds = np.ones((3, 120))
    for f in range(3):
        folds[f, f::3] = 0.0
    return X, y, folds


def _by_hand(X, y, l1, l2, **kw):
    """The path as separate fit_many calls, each from the last one's parameters."""
    init, out = kw.pop("init", "zeros"), []
    for a, b in zip(l1, l2):
        res = jaxlin.fit_many(X, y, l1=a, l2=b, init=init, pairing="zip", **kw)
        out.append(res)
        init = res.params
    return out


NEWTON = dict(optimizer="newton", tol=0, grad_tol=1e-9, dtype=jnp.float64)


def test_each_stage_is_fit_many_from_the_last_stages_solutions(data):
    X, y, folds = data
    l2 = np.outer([1.0, 0.1, 0.01, 1e-3], [1.0, 1.1, 0.9])  # (stages, models)
    path = jaxlin.fit_path(X, y, l2=l2, sample_weight=folds, **NEWTON)
    assert path.params.W.shape == (4, 3, 4, 1) and path.epochs.shape == (4, 3)
    alone = _by_hand(X, y, np.zeros_like(l2), l2, sample_weight=folds, **NEWTON)
    for s, res in enumerate(alone):
        np.testing.assert_array_equal(path.params.W[s], res.params.W)
        np.testing.assert_array_equal(path.params.b[s], res.params.b)
        np.testing.assert_array_equal(path.epochs[s], res.epochs)
        np.testing.assert_array_equal(path.status[s], res.status)
    # the warm starts pay: a later stage needs fewer steps than a cold start at its strength
    cold = jaxlin.fit_many(X, y, l2=l2[-1], sample_weight=folds, pairing="zip", **NEWTON)
    assert path.epochs[-1].sum() < cold.epochs.sum()


def test_stages_runs_the_first_ones_of_the_same_path(data):
    X, y, _ = data
    l2 = [1.0, 0.1, 0.01]  # one strength per stage, shared by the models (two seeds)
    kw = dict(optimizer="lbfgs", tol=0, grad_tol=1e-8, dtype=jnp.float64, seed=[0, 1])
    full = jaxlin.fit_path(X, y, l2=l2, **kw)
    part = jaxlin.fit_path(X, y, l2=l2, stages=2, **kw)
    assert part.params.W.shape == (2, 2, 4, 1) and part.epochs.shape == (2, 2)
    np.testing.assert_array_equal(part.params.W, full.params.W[:2])
    np.testing.assert_array_equal(part.epochs, full.epochs[:2])
    with pytest.raises(ValueError, match="stages: 4 asked for but the path has 3"):
        jaxlin.fit_path(X, y, l2=l2, stages=4, **kw)
    with pytest.raises(ValueError, match="stages: must be a positive integer"):
        jaxlin.fit_path(X, y, l2=l2, stages=0, **kw)


def test_an_l1_term_that_starts_later_is_applied(data):
    """The L1 term's presence is a static property of the program: a path whose first stage
    has none must still take proximal steps in the later ones."""
    X, y, _ = data
    kw = dict(optimizer="fista", tol=1e-12, epochs=300, dtype=jnp.float64)
    path = jaxlin.fit_path(X, y, l1=[0.0, 0.05], **kw)
    alone = _by_hand(X, y, [0.0, 0.05], [0.0, 0.0], **kw)
    np.testing.assert_allclose(path.params.W[:, 0], [r.params.W[0] for r in alone], atol=1e-12)
    assert np.any(np.asarray(path.params.W[1]) == 0.0)  # the L1 term zeroed a weight


def test_sparse_rows_give_the_dense_path(data):
    X, y, folds = data
    l2 = [[0.5] * 3, [0.05] * 3]
    dense = jaxlin.fit_path(X, y, l2=l2, sample_weight=folds, **NEWTON)
    rows = jaxlin.fit_path(sp.csr_matrix(X), y, l2=l2, sample_weight=folds, **NEWTON)
    np.testing.assert_allclose(rows.params.W, dense.params.W, rtol=0, atol=1e-10)


def test_a_given_start_is_the_first_stages(data):
    X, y, _ = data
    start = jaxlin.fit(X, y, optimizer="newton", l2=0.3, dtype=jnp.float64)
    kw = dict(optimizer="newton", tol=0, grad_tol=1e-9, dtype=jnp.float64)
    path = jaxlin.fit_path(X, y, l2=[0.3, 0.03], init=start.params, **kw)
    assert path.epochs[0, 0] == 0  # the start is already the first stage's solution
    alone = jaxlin.fit(X, y, l2=0.03, init=start.params, **kw)
    np.testing.assert_allclose(path.params.W[1, 0], alone.params.W, atol=1e-12)


@pytest.mark.parametrize(
    "kw, message",
    [
        (dict(l2=np.zeros((2, 2, 2))), r"l2: expected a number, one strength per stage"),
        (dict(l2=["strong", "weak"]), r"l2: must be a non-negative number, got"),
        (dict(l1=[0.0, 0.1], l2=[0.1, 0.2, 0.3]), r"l1, l2: their stages do not match"),
        (dict(l2=[0.1, 0.2], init="uniform"), r"init: a path starts at zeros or at given"),
        (dict(l2=[0.1, 0.2], progress=lambda *a: None), r"progress, checkpoint: not avail"),
        (dict(l2=[[0.1, 0.2]], seed=[0, 1, 2]), r"different lengths"),
        (dict(l2=[0.1, -0.2]), r"l2: must be non-negative, got -0.2"),
        (dict(l1=[0.1, np.nan]), r"l1: must be non-negative, got nan"),
    ],
)
def test_bad_paths_are_refused_by_name(data, kw, message):
    X, y, _ = data
    with pytest.raises(ValueError, match=message):  # never a NumPy or JAX error
        jaxlin.fit_path(X, y, epochs=2, **kw)


def test_a_stage_at_its_limit_says_so(data):
    X, y, _ = data
    path = jaxlin.fit_path(X, y, optimizer="gd", l2=[1.0, 0.1], epochs=2, tol=1e-30)
    assert np.all(np.asarray(path.status) == MAX_EPOCHS)
    np.testing.assert_array_equal(path.epochs, [[2], [2]])


def test_no_epochs_returns_each_stages_start_and_validation_rows_are_scored(data):
    X, y, _ = data
    still = jaxlin.fit_path(X, y, l2=[1.0, 0.1], epochs=0)
    assert still.epochs.shape == (2, 1) and not np.any(still.epochs)
    assert not np.any(still.params.W) and not np.any(still.params.b)
    scored = jaxlin.fit_path(X, y, l2=[1.0, 0.1], epochs=4, validation_data=(X[:30], y[:30]))
    assert scored.history.val_accuracy.shape == (2, 1, 4)
    assert np.all((scored.history.val_accuracy >= 0) & (scored.history.val_accuracy <= 1))


def test_a_binary_loss_on_three_classes_names_fit_path(data):
    X, _, _ = data
    with pytest.raises(ValueError, match="binary and fit_path trains no one-vs-rest"):
        jaxlin.fit_path(X, np.arange(len(X)) % 3, l2=[1.0, 0.1])
