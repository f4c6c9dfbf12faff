"""Labels are converted once, at the boundary, with clear errors."""

import numpy as np
import pytest

from jaxlin.objective import encode_targets


def test_binary_labels_zero_one_and_plus_minus_one():
    np.testing.assert_array_equal(
        encode_targets([0, 1, 1], "binary_cross_entropy"), [[0], [1], [1]]
    )
    np.testing.assert_array_equal(encode_targets([-1, 1, 1], "hinge"), [[0], [1], [1]])


def test_integer_labels_become_one_hot():
    T = encode_targets(np.array([2, 0, 1]), "softmax_cross_entropy")
    np.testing.assert_array_equal(T, np.eye(3)[[2, 0, 1]])
    T4 = encode_targets(np.array([2, 0, 1]), "softmax_cross_entropy", n_classes=4)
    assert T4.shape == (3, 4)


@pytest.mark.parametrize(
    "y,loss,match",
    [
        ([0, 1, 2], "binary_cross_entropy", "binary and needs labels in"),
        ([0, 1, 5], ("softmax_cross_entropy", 3), "out of range for 3 classes"),
        ([0.5, 1.0], "softmax_cross_entropy", "integer class labels"),
        ([0, np.nan], "binary_cross_entropy", "NaN or infinite"),
        ([], "binary_cross_entropy", "N > 0"),
        ([0, 0, 0], "softmax_cross_entropy", "at least 2 classes"),
        ([[1, 1], [0, 1]], "softmax_cross_entropy", "must each sum to 1"),
        ([0, 1], "no_such_loss", "unknown loss 'no_such_loss'"),
    ],
)
def test_bad_labels_are_named(y, loss, match):
    n_classes = None
    if isinstance(loss, tuple):
        loss, n_classes = loss
    with pytest.raises(ValueError, match=match):
        encode_targets(np.asarray(y), loss, n_classes)


def test_non_numeric_labels_are_a_type_error():
    with pytest.raises(TypeError, match="y: expected numeric labels"):
        encode_targets(np.array(["a", "b"]), "binary_cross_entropy")


@pytest.mark.parametrize(
    "y",
    [
        np.array([1, 1, 1]),
        np.array([0, 1, 0, 1]),
        np.array([-1, 1, -1]),
        np.array([3, 4, 3], dtype=np.uint8),
        np.array([5, 0, 9, 0]),
        np.array([-7, 2, 2, 40], dtype=np.int32),
        np.array([2.0, 0.0, 2.0]),
        np.array([0.5, 1.0, 0.5]),
        np.array([1.0, np.nan, 1.0]),
        np.array([0, 10**12, 3]),
        np.array([True, False, True]),
        np.random.default_rng(0).integers(0, 20, 5_000),
    ],
)
def test_distinct_labels_are_numpys_unique(y):
    """The fast paths (two ends, a scatter over a narrow range) agree with np.unique,
    values and dtype, on every kind of label array."""
    from jaxlin.validation import distinct_labels

    got, ref = distinct_labels(y), np.unique(y)
    assert got.dtype == ref.dtype
    np.testing.assert_array_equal(got, ref)


def test_labels_beyond_the_models_columns_name_them():
    """Labels given to the objective take their classes from ``W``'s columns: a label past
    them names ``W``'s shape (it said only "out of range for 1 classes")."""
    import jax.numpy as jnp

    from jaxlin import Params, value_and_grad

    X, y = np.ones((3, 2)), np.array([0, 1, 2])
    p = Params(jnp.zeros((2, 1)), jnp.zeros(1))
    with pytest.raises(ValueError, match=r"the classes are params\.W's 1 columns \(W \(2, 1\)\)"):
        value_and_grad(p, X, y, "softmax_cross_entropy")
    three = Params(jnp.zeros((2, 3)), jnp.zeros(3))
    J, _ = value_and_grad(three, X, y, "softmax_cross_entropy")
    assert float(J) == pytest.approx(np.log(3), rel=1e-6)
