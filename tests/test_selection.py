"""Model selection: fit_many's pairing rule, fit_grid's outer product and held-out scores."""

import jax.numpy as jnp
import numpy as np
import pytest

import jaxlin
from jaxlin.selection import fit_grid


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(3)
    X = rng.normal(size=(90, 3))
    y = (X @ [1.5, -1.0, 0.2] + 0.8 * rng.normal(size=90) > 0).astype(int)
    return X, y


def test_two_varying_arguments_are_ambiguous_unless_paired(data):
    X, y = data
    with pytest.raises(
        ValueError,
        match=r"several arguments vary: learning_rate \(2\), l2 "
        r"\(2\).*pairing='zip'.*fit_grid",
    ):
        jaxlin.fit_many(X, y, learning_rate=[0.1, 0.2], l2=[0.0, 0.1], epochs=3)
    w = np.ones((2, 90))
    with pytest.raises(ValueError, match="several arguments vary: l2 .*sample_weight"):
        jaxlin.fit_many(X, y, l2=[0.0, 0.1], sample_weight=w, epochs=3)
    with pytest.raises(ValueError, match="different lengths"):
        jaxlin.fit_many(X, y, learning_rate=[0.1, 0.2, 0.3], l2=[0.0, 0.1], epochs=3, pairing="zip")
    with pytest.raises(ValueError, match="pairing: expected None or 'zip'"):
        jaxlin.fit_many(X, y, l2=[0.0, 0.1], pairing="outer")
    paired = jaxlin.fit_many(
        X, y, learning_rate=[0.1, 0.2], l2=[0.0, 0.1], epochs=3, pairing="zip", dtype=jnp.float64
    )
    one = jaxlin.fit(X, y, learning_rate=0.2, l2=0.1, epochs=3, dtype=jnp.float64)
    np.testing.assert_allclose(paired.params.W[1], one.params.W, rtol=1e-12)
    # a single varying argument needs no pairing
    assert jaxlin.fit_many(X, y, l2=[0.0, 0.1, 1.0], epochs=2).params.W.shape == (3, 3, 1)


@pytest.mark.parametrize("name", ["learning_rate", "l1", "l2"])
def test_an_empty_sequence_of_values_is_named(data, name):
    X, y = data
    with pytest.raises(ValueError, match=f"^{name}: an empty sequence"):
        jaxlin.fit_many(X, y, epochs=2, **{name: []})


@pytest.mark.parametrize("name", ["learning_rate", "l1", "l2", "seed"])
def test_a_table_of_values_is_named(data, name):
    # unchecked, NumPy's broadcast failed ("more dimensions than allowed by the axis remapping")
    X, y = data
    values = [[1, 2]] if name == "seed" else [[0.1, 0.2]]
    with pytest.raises((ValueError, TypeError), match=f"^{name}: expected a"):
        jaxlin.fit_many(X, y, epochs=2, **{name: values})


@pytest.mark.parametrize("shape", [(0, 90), (2, 2, 90), ()])
def test_weights_of_another_shape_are_refused_not_ignored(data, shape):
    """Weights neither (N,) nor (M, N) were dropped (the models trained unweighted)."""
    X, y = data
    with pytest.raises(ValueError, match=r"sample_weight: expected .* got shape"):
        jaxlin.fit_many(X, y, epochs=2, sample_weight=np.ones(shape))


def test_a_model_whose_weights_are_bad_is_named_by_its_row(data):
    X, y = data
    w = np.ones((3, 90))
    w[1] = 0.0
    with pytest.raises(ValueError, match=r"^sample_weight\[1\] \(model 1\): all weights are zero"):
        jaxlin.fit_many(X, y, epochs=2, sample_weight=w)
    w[1], w[2, 5] = 1.0, np.nan
    with pytest.raises(ValueError, match=r"^sample_weight\[2\] \(model 2\): must be finite"):
        jaxlin.fit_many(X, y, epochs=2, sample_weight=w)


def test_fit_grid_is_every_combination_times_every_fold(data):
    X, y = data
    folds = jaxlin.kfold_weights(90, 3, jaxlin.training.jax.random.key(1))
    g = fit_grid(
        X,
        y,
        folds=folds,
        l2=[0.001, 0.5],
        learning_rate=[0.1, 1.0],
        optimizer="gd",
        epochs=30,
        dtype=jnp.float64,
    )
    assert g.scores.shape == (4, 3) and g.fits.params.W.shape == (12, 3, 1)
    np.testing.assert_array_equal(g.grid["l2"], [0.001, 0.001, 0.5, 0.5])
    np.testing.assert_array_equal(g.grid["learning_rate"], [0.1, 1.0, 0.1, 1.0])
    for p in range(4):
        for f in range(3):
            alone = jaxlin.fit(
                X,
                y,
                optimizer="gd",
                epochs=30,
                l2=g.grid["l2"][p],
                learning_rate=g.grid["learning_rate"][p],
                sample_weight=folds[f],
                dtype=jnp.float64,
            )
            np.testing.assert_allclose(
                g.fits.params.W[p * 3 + f], alone.params.W, rtol=1e-10, atol=1e-14
            )
            held = folds[f] == 0  # the score, recomputed with numpy on the held-out rows
            z = X[held] @ np.asarray(alone.params.W)[:, 0] + float(alone.params.b[0])
            assert g.scores[p, f] == pytest.approx(np.mean((z >= 0) == y[held]), abs=1e-12)
    assert g.best_index == int(np.argmax(g.scores.mean(axis=1)))
    assert g.best == {
        "l2": g.grid["l2"][g.best_index],
        "learning_rate": g.grid["learning_rate"][g.best_index],
    }


def test_fit_grid_class_weights_train_but_do_not_score(data):
    """Class weights weigh the folds' training rows (each model is ``fit`` on its fold with
    the same ``class_weight``), while the held-out score counts every row once, as
    scikit-learn's search scores a class-weighted estimator."""
    X, y = data
    folds = jaxlin.kfold_weights(90, 3, jaxlin.training.jax.random.key(2))
    cw = {0: 4.0}
    kw = dict(optimizer="lbfgs", epochs=40, dtype=jnp.float64)
    g = fit_grid(X, y, folds=folds, l2=[0.01, 0.1], class_weight=cw, **kw)
    for p in range(2):
        for f in range(3):
            alone = jaxlin.fit(
                X, y, l2=g.grid["l2"][p], sample_weight=folds[f], class_weight=cw, **kw
            )
            np.testing.assert_allclose(
                g.fits.params.W[p * 3 + f], alone.params.W, rtol=1e-10, atol=1e-14
            )
            held = folds[f] == 0
            z = X[held] @ np.asarray(alone.params.W)[:, 0] + float(alone.params.b[0])
            assert g.scores[p, f] == pytest.approx(np.mean((z >= 0) == y[held]), abs=1e-12)
    unweighted = fit_grid(X, y, folds=folds, l2=[0.01, 0.1], **kw)
    assert not np.allclose(unweighted.fits.params.W, g.fits.params.W)


def test_fit_grid_scorings_and_multiclass(data):
    X, _ = data
    y3 = np.argmax(X, axis=1)
    g = fit_grid(
        X,
        y3,
        "softmax_cross_entropy",
        folds=3,
        l2=[1e-3, 1.0],
        optimizer="lbfgs",
        epochs=100,
        scoring="neg_loss",
        dtype=jnp.float64,
    )
    W = np.asarray(g.fits.params.W)
    fw = jaxlin.kfold_weights(
        90, 3, jaxlin.training.jax.random.fold_in(jaxlin.training.jax.random.key(0), 7)
    )
    held = fw[1] == 0
    Z = X[held] @ W[1] + np.asarray(g.fits.params.b)[1]
    ce = np.mean(np.log(np.exp(Z).sum(axis=1)) - Z[np.arange(held.sum()), y3[held]])
    assert g.scores[0, 1] == pytest.approx(-ce, rel=1e-10)
    grid = dict(folds=3, l2=[1e-3, 1.0], optimizer="lbfgs", epochs=100, dtype=jnp.float64)
    accuracy = lambda yt, Z: float(np.mean(np.argmax(Z, axis=1) == yt))  # noqa: E731
    custom = fit_grid(X, y3, "softmax_cross_entropy", scoring=accuracy, **grid)
    plain = fit_grid(X, y3, "softmax_cross_entropy", **grid)
    np.testing.assert_allclose(custom.scores, plain.scores)


def test_non_finite_scores_rank_last_with_a_warning(data):
    """A callable scoring that gives NaN on a fold (a metric undefined there) made that
    point's mean NaN, and ``np.argmax`` chose the first NaN as the best, without a word.
    As scikit-learn's search: a warning, and such points rank last."""
    X, y = data
    grid = dict(folds=2, l2=[1e-3, 1.0, 10.0], optimizer="lbfgs", epochs=30)

    def nan_at_small_penalty(yt, Z):  # the held-out accuracy, NaN for the l2=1e-3 models
        acc = float(np.mean((Z[:, 0] > 0) == yt))
        return float("nan") if nan_at_small_penalty.calls.pop(0) else acc

    nan_at_small_penalty.calls = [True, True, False, False, False, False]  # point-major order
    with pytest.warns(UserWarning, match=r"scoring: 1 of 3 grid points have a non-finite"):
        g = fit_grid(X, y, scoring=nan_at_small_penalty, **grid)
    assert np.isnan(g.mean_score[0]) and g.best_index == 1 + int(np.argmax(g.mean_score[1:]))
    with pytest.warns(UserWarning, match=r"3 of 3 grid points"):
        assert fit_grid(X, y, scoring=lambda yt, Z: np.nan, **grid).best_index == 0
    with pytest.raises(TypeError, match=r"scoring: the callable must return a number, got str"):
        fit_grid(X, y, scoring=lambda yt, Z: "high", **grid)


@pytest.mark.parametrize("scoring", ["f1", "roc_auc", 3])
def test_fit_grid_names_a_bad_scoring_before_it_trains(data, monkeypatch, scoring):
    def no_training(*args, **kwargs):
        raise AssertionError("trained before the scoring was checked")

    monkeypatch.setattr(jaxlin.selection, "fit_many", no_training)
    with pytest.raises(ValueError, match=f"scoring: expected .*, got {scoring!r}"):
        fit_grid(*data[:2], folds=2, l2=[0.1, 1.0], scoring=scoring)


def test_fit_grid_bad_arguments_are_named(data):
    X, y = data
    with pytest.raises(ValueError, match="batch_size: only learning_rate, l1, l2"):
        fit_grid(X, y, batch_size=[8, 16])
    with pytest.raises(ValueError, match="folds: expected"):
        fit_grid(X, y, folds=np.ones((2, 5)))
    with pytest.raises(ValueError, match="folds: every fold needs"):
        fit_grid(X, y, folds=np.ones((2, 90)))
    for bad in (2.5, True):  # a number of folds is a whole number
        with pytest.raises(ValueError, match=f"folds: expected a whole number of folds, got {bad}"):
            fit_grid(X, y, folds=bad)
    with pytest.raises(ValueError, match="scoring: expected"):
        fit_grid(X, y, folds=2, l2=[0.1], scoring="f1", epochs=2)
    for bad in (1, 91):  # the argument the caller gave is named, with its bounds
        with pytest.raises(ValueError, match=f"folds: need 2 <= folds <= n = 90 rows, got {bad}"):
            fit_grid(X, y, folds=bad)
    with pytest.raises(ValueError, match="l2: expected a number or a non-empty 1-D sequence"):
        fit_grid(X, y, l2=[])
    with pytest.raises(ValueError, match="learning_rate: expected a number or a non-empty"):
        fit_grid(X, y, learning_rate=[[0.1, 0.2]])
    with pytest.raises(TypeError, match=r"^fit_grid: unexpected arguments \['grid'\]"):
        fit_grid(X, y, grid={"l2": [0.1]})  # (named fit_many, which the caller never called)


@pytest.mark.parametrize(
    "loss, scoring", [("binary_cross_entropy", "accuracy"), ("softmax_cross_entropy", "neg_loss")]
)
def test_text_labels_score_as_their_integer_codes_do(loss, scoring):
    """fit_grid takes labels of any kind, as fit does: the scores equal those of the
    labels' codes (sorted unique values), and the fits keep the text classes."""
    rng = np.random.default_rng(4)
    X = rng.normal(size=(60, 3))
    codes = np.digitize(X[:, 0], [0.0] if loss == "binary_cross_entropy" else [-0.5, 0.5])
    names = np.array(["ham", "spam", "zzz"])[codes]
    kw = dict(folds=3, l2=[1e-3, 1.0], scoring=scoring, optimizer="lbfgs", epochs=50)
    a = jaxlin.fit_grid(X, codes, loss, **kw)
    b = jaxlin.fit_grid(X, names, loss, **kw)
    np.testing.assert_array_equal(a.scores, b.scores)
    assert b.fits.classes.tolist() == sorted(set(names.tolist()))
