"""Class weights: scikit-learn's "balanced" rule, a dict by label or weights in class order,
turned into row weights, in ``fit`` (against scikit-learn's class-weighted optimum) and in
the rows ``--class-weight`` weighs."""

import warnings

import numpy as np
import pytest

import jaxlin
from jaxlin.class_weights import row_weights


@pytest.mark.parametrize("one_vs_rest", [False, True])
def test_balanced_class_weights_are_scikit_learns(one_vs_rest):
    """Each class's weight is scikit-learn's ``compute_class_weight("balanced")`` over the
    classes present; one-vs-rest gives class ``c``'s model its own column, the other
    classes' rows at 1."""
    from sklearn.utils.class_weight import compute_class_weight

    y = np.array([0, 0, 0, 0, 2, 2, 3, 0, 3, 2])  # class 1 absent from these rows
    present = np.unique(y)
    ref = compute_class_weight("balanced", classes=present, y=y)[np.searchsorted(present, y)]
    w = row_weights("balanced", y, 4, one_vs_rest=one_vs_rest)
    if not one_vs_rest:
        np.testing.assert_allclose(w, ref, rtol=1e-15)
        return
    assert w.shape == (10, 4)
    for c in range(4):
        np.testing.assert_allclose(w[:, c], np.where(y == c, ref, 1.0), rtol=1e-15)


def _data(n=120, d=3, classes=2, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d))
    scores = X @ rng.normal(size=(d, classes)) + np.linspace(0, 2.5, classes)  # imbalanced
    return X, np.argmax(scores + rng.gumbel(size=scores.shape), axis=1)


def _newton(X, y, C, weight_sum, **kw):
    return jaxlin.fit(
        X,
        y,
        optimizer="newton",
        epochs=50,
        grad_tol=1e-11,
        l2=1 / (2 * C * weight_sum),
        dtype=np.float64,
        **kw,
    )


@pytest.mark.parametrize("classes,class_weight", [(2, "balanced"), (3, {0: 3.0, 2: 0.5})])
def test_fit_reaches_scikit_learns_class_weighted_optimum(classes, class_weight):
    """``fit(class_weight=...)`` minimises scikit-learn's class-weighted logistic objective
    ``½‖w‖² + C Σ c_{y_i} L_i`` (its ``l2`` is ``1 / (2 C Σ c_{y_i})`` on jaxlin's weighted
    mean): the same coefficients to 1e-6."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.utils.class_weight import compute_class_weight

    X, y = _data(classes=classes)
    cw = compute_class_weight(class_weight, classes=np.arange(classes), y=y)
    loss = "binary_cross_entropy" if classes == 2 else "softmax_cross_entropy"
    r = _newton(X, y, 0.5, cw[y].sum(), loss=loss, class_weight=class_weight)
    ref = LogisticRegression(C=0.5, class_weight=class_weight, tol=1e-12, max_iter=10_000)
    ref.fit(X, y)
    W, b = np.asarray(r.params.W), np.asarray(r.params.b)
    if classes == 2:
        np.testing.assert_allclose(W[:, 0], ref.coef_[0], atol=1e-6)
        np.testing.assert_allclose(b[0], ref.intercept_[0], atol=1e-6)
    else:  # softmax: scikit-learn's coefficients sum to 0 over the classes, as ours do
        np.testing.assert_allclose(W.T, ref.coef_, atol=1e-6)


def test_class_weight_is_the_row_weights_times_the_sample_weights():
    """A dict keyed by text labels, with sample weights, trains exactly the fit given the
    product as sample weights (the same program on the same numbers)."""
    X, y = _data(seed=1)
    text = np.array(["no", "yes"])[y]
    s = np.random.default_rng(2).uniform(0.5, 2.0, len(y))
    kw = dict(optimizer="lbfgs", epochs=30, dtype=np.float64)
    a = jaxlin.fit(X, text, class_weight={"yes": 4.0}, sample_weight=s, **kw)
    b = jaxlin.fit(X, text, sample_weight=s * np.where(y == 1, 4.0, 1.0), **kw)
    np.testing.assert_array_equal(a.params.W, b.params.W)
    np.testing.assert_array_equal(a.params.b, b.params.b)


def test_signed_labels_and_one_vs_rest_weigh_rows_as_stated():
    """±1 labels of a hinge loss are keyed by ±1; a binary loss on three classes trains
    class ``c``'s model with its own rows at ``c``'s weight and the rest at 1."""
    X, y = _data(seed=3)
    signed = 2 * y - 1
    kw = dict(loss="hinge", optimizer="gd", epochs=20, dtype=np.float64)
    a = jaxlin.fit(X, signed, class_weight={-1: 0.25}, **kw)
    b = jaxlin.fit(X, signed, sample_weight=np.where(signed < 0, 0.25, 1.0), **kw)
    np.testing.assert_array_equal(a.params.W, b.params.W)
    X3, y3 = _data(classes=3, seed=4)
    cw = np.array([1.0, 2.0, 5.0])
    kw = dict(optimizer="lbfgs", epochs=20, dtype=np.float64)
    a = jaxlin.fit(X3, y3, class_weight=cw, **kw)
    columns = np.where(y3[:, None] == np.arange(3), cw, 1.0)
    b = jaxlin.fit(X3, y3, sample_weight=columns, **kw)
    assert a.params.W.shape == (3, 3)
    np.testing.assert_array_equal(a.params.W, b.params.W)


@pytest.mark.parametrize(
    "y,loss,class_weight,match",
    [
        ([0, 1, 1, 0], "binary_cross_entropy", {2: 1.0}, r"class_weight: 2 is not a class"),
        (["a", "b", "b", "a"], "binary_cross_entropy", {"c": 1.0}, r"'c' is not a class"),
        ([0, 1, 1, 0], "binary_cross_entropy", [1.0, 2.0, 3.0], r"class_weight: .*shape \(3,\)"),
        ([0, 1, 1, 0], "binary_cross_entropy", [1.0, -2.0], r"class_weight: .*finite and >= 0"),
        ([0, 1, 1, 0], "binary_cross_entropy", {1: np.nan}, r"class_weight\[1\]: .*finite"),
        ([0, 1, 1, 0], "binary_cross_entropy", "balance", r"class_weight: expected 'balanced'"),
        ([0.5, 1.0, 2.0, 3.0], "squared_error", "balanced", r"class_weight: .*real targets"),
        ([0, 1, -3, 0], "binary_cross_entropy", "balanced", r"^y: "),
        ([0, 1, 1, 0], "binary_cross_entropy", {0: 0, 1: 0.0}, r"every class present weighs 0"),
        ([0, 0.5, 1, 0], "softmax_cross_entropy", "balanced", r"^y: "),
        ([0, 1, 1, 0], "binary_cross_entropy", {1: "x"}, r"class_weight\[1\]: expected numbers"),
    ],
)
def test_bad_class_weights_are_named(y, loss, class_weight, match):
    X = np.arange(8.0).reshape(4, 2)
    with pytest.raises((ValueError, TypeError), match=match), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        jaxlin.fit(X, np.array(y), loss, class_weight=class_weight, epochs=1)


def test_class_weight_refuses_target_rows():
    X = np.arange(8.0).reshape(4, 2)
    with pytest.raises(ValueError, match=r"class_weight: needs class labels y of shape \(N,\)"):
        jaxlin.fit(X, np.eye(2)[[0, 1, 1, 0]], "softmax_cross_entropy", class_weight="balanced")
