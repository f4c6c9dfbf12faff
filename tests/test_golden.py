"""The classic worked examples that need no training, to 1e-6."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxlin import activations as act
from jaxlin import objective as obj
from jaxlin.linear import Params
from jaxlin.losses import LOSSES

SCORES = jnp.array([[5.6, 6.4, -4.6], [-1.8, 10.2, 3.5], [2.0, 5.4, -8.6]])
LABELS = jnp.array([0, 1, 2])


def test_one_sgd_step_binary_cross_entropy_seed_002():
    params = Params(jnp.zeros((2, 1)), jnp.zeros((1,)))
    X, T = jnp.array([[3.0, 2.0]]), jnp.array([[1.0]])
    _, g = obj.value_and_grad(params, X, T, "binary_cross_entropy")
    np.testing.assert_allclose(np.r_[g.W[:, 0], g.b], [-1.5, -1.0, -0.5], atol=1e-6)
    new = jax.tree.map(lambda p, d: p - 0.1 * d, params, g)
    np.testing.assert_allclose(np.r_[new.W[:, 0], new.b], [0.15, 0.10, 0.05], atol=1e-6)


@pytest.mark.parametrize(
    "z,expected",
    [
        (
            [1, 2, 3, 2, 1],
            [0.067451, 0.183350, 0.498398, 0.183350, 0.067451],
        ),  # the classic five-score example
        (
            [5.6, 6.4, -4.6],
            [0.310022, 0.689967, 0.000012],
        ),  # the lion example (docs/corrections.md, E5)
    ],
)
def test_softmax_golden(z, expected):
    np.testing.assert_allclose(act.softmax(jnp.array(z, jnp.float64)), expected, atol=1e-6)


def test_cross_entropy_table_seed_004():
    P = jnp.array(
        [
            [0.3792, 0.3104, 0.3104],
            [0.3072, 0.4147, 0.2780],
            [0.4263, 0.2248, 0.3490],
            [0.2668, 0.2978, 0.4354],
        ]
    )
    Y = jax.nn.one_hot(jnp.array([0, 1, 2, 2]), 3)
    per = act.cross_entropy(Y, P)
    np.testing.assert_allclose(per, [0.969692, 0.880200, 1.052683, 0.831490], atol=1e-6)
    np.testing.assert_allclose(per.mean(), 0.933516, atol=1e-6)
    # Through the loss on scores z = ln P: the classic table's rows sum to 0.9999–1.0001 (rounding),
    # and softmax renormalises them, so the loss is −ln(P_y / Σ_k P_k).
    ce = obj.per_example_losses(LOSSES["softmax_cross_entropy"], jnp.log(P), Y)
    Pn = np.asarray(P) / np.asarray(P).sum(1, keepdims=True)
    np.testing.assert_allclose(ce, -np.log(Pn[np.arange(4), [0, 1, 2, 2]]), rtol=1e-12)


@pytest.mark.parametrize(
    "name,per_example,mean",
    [
        ("multiclass_perceptron", [0.8, 0.0, 24.6], 8.466667),
        ("multiclass_hinge", [1.8, 0.0, 26.6], 9.466667),
        ("multiclass_squared_hinge", [3.24, 0.0, 359.56], 120.933333),
    ],
)
def test_scores_table_seed_003(name, per_example, mean):
    Y = jax.nn.one_hot(LABELS, 3, dtype=jnp.float64)
    L = obj.per_example_losses(LOSSES[name], SCORES, Y)
    np.testing.assert_allclose(L, per_example, atol=1e-6)
    np.testing.assert_allclose(L.mean(), mean, atol=1e-6)


def test_scores_table_by_the_loss_name_and_plain_lists():
    """The per-example functions take a loss's name and nested lists, as the other public
    functions do (a name failed with an AttributeError); scores and targets of different
    shapes are named."""
    Y = np.eye(3)[np.asarray(LABELS)].tolist()
    L = obj.per_example_losses("multiclass_hinge", np.asarray(SCORES).tolist(), Y)
    np.testing.assert_allclose(L, [1.8, 0.0, 26.6], atol=1e-5)
    D = obj.score_gradients("multiclass_perceptron", SCORES, Y)  # δ_j = 1[z_j > z_y], δ_y = −Σ
    np.testing.assert_array_equal(D, [[-1, 1, 0], [0, 0, 0], [1, 1, -2]])
    for f in (obj.per_example_losses, obj.score_gradients):
        with pytest.raises(ValueError, match=r"^Z, T: .*\(3, 3\) and \(3, 2\)"):
            f("multiclass_hinge", SCORES, jnp.ones((3, 2)))


def test_scores_table_softmax_cross_entropy_seed_003():
    Y = jax.nn.one_hot(LABELS, 3, dtype=jnp.float64)
    L = obj.per_example_losses(LOSSES["softmax_cross_entropy"], SCORES, Y)
    np.testing.assert_allclose(L.mean(), 5.068393, atol=1e-6)


def test_crammer_singer_matches_optax():
    import optax

    Y = jax.nn.one_hot(LABELS, 3, dtype=jnp.float64)
    ours = obj.per_example_losses(LOSSES["crammer_singer_hinge"], SCORES, Y)
    np.testing.assert_allclose(ours, optax.losses.multiclass_hinge_loss(SCORES, LABELS), atol=1e-12)


def test_softmax_cross_entropy_matches_optax(key):
    import optax

    Z = jax.random.normal(key, (20, 4)) * 5
    y = jax.random.randint(key, (20,), 0, 4)
    ours = obj.per_example_losses(LOSSES["softmax_cross_entropy"], Z, jax.nn.one_hot(y, 4))
    ref = optax.losses.softmax_cross_entropy_with_integer_labels(Z, y)
    np.testing.assert_allclose(ours, ref, rtol=1e-12)
    ours_b = obj.per_example_losses(
        LOSSES["binary_cross_entropy"], Z[:, :1], (y[:, None] % 2) * 1.0
    )
    ref_b = optax.losses.sigmoid_binary_cross_entropy(Z[:, 0], (y % 2) * 1.0)
    np.testing.assert_allclose(ours_b, ref_b, rtol=1e-12)


def test_two_class_softmax_equals_binary_cross_entropy_of_the_difference(key):
    Z = jax.random.normal(key, (50, 2)) * 4
    y = jax.random.bernoulli(key, 0.5, (50,)).astype(jnp.int32)
    ce = obj.per_example_losses(LOSSES["softmax_cross_entropy"], Z, jax.nn.one_hot(y, 2))
    bce = obj.per_example_losses(
        LOSSES["binary_cross_entropy"], (Z[:, 1] - Z[:, 0])[:, None], y[:, None].astype(Z.dtype)
    )
    np.testing.assert_allclose(ce, bce, rtol=1e-9, atol=1e-14)
    # and their score gradients agree through dz = z1 − z0: δ_1 = −δ_0 = δ_bce
    d = obj.score_gradients(LOSSES["softmax_cross_entropy"], Z, jax.nn.one_hot(y, 2))
    db = obj.score_gradients(
        LOSSES["binary_cross_entropy"], (Z[:, 1] - Z[:, 0])[:, None], y[:, None].astype(Z.dtype)
    )
    np.testing.assert_allclose(d[:, 1], db[:, 0], rtol=1e-9, atol=1e-14)
    np.testing.assert_allclose(d[:, 0], -db[:, 0], rtol=1e-9, atol=1e-14)
