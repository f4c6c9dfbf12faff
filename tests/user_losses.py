"""Losses written as a user would write them, for the tests of jaxlin.verify and of training
with a user's loss (also loaded by the CLI tests as ``user_losses:FOCAL``)."""

import jax
import jax.numpy as jnp

import jaxlin

GAMMA = 2.0


def focal(z, y):
    """L = −Σ_k (1 − p_t)^γ ln p_t,  p_t = σ(s z),  s = 2y − 1."""
    u = (2.0 * y - 1.0) * z
    return -jnp.sum(jax.nn.sigmoid(-u) ** GAMMA * jax.nn.log_sigmoid(u))


def delta_focal(z, y):
    """δ = s (γ q^γ p_t ln p_t − q^(γ+1)),  q = σ(−s z) (derived in the docs tutorial)."""
    s = 2.0 * y - 1.0
    u = s * z
    q, p_t = jax.nn.sigmoid(-u), jax.nn.sigmoid(u)
    return s * (GAMMA * q**GAMMA * p_t * jax.nn.log_sigmoid(u) - q ** (GAMMA + 1.0))


def curvature_focal(z, y):
    """∂²L/∂z², by hand: s² = 1, so it is ∂²L/∂u² with L(u) = −q^γ ln p, q = σ(−u), p = σ(u).

    ∂L/∂u = γ q^γ p ln p − q^(γ+1), differentiated term by term with q' = −pq, p' = pq and
    (ln p)' = q.
    """
    u = (2.0 * y - 1.0) * z
    q, p, lp = jax.nn.sigmoid(-u), jax.nn.sigmoid(u), jax.nn.log_sigmoid(u)
    g = GAMMA
    # d/du [γ q^γ p ln p] = γ [γ q^(γ−1)(−pq) p ln p + q^γ (pq) ln p + q^γ p q]
    first = g * (-g * q**g * p * p * lp + q ** (g + 1.0) * p * lp + q ** (g + 1.0) * p)
    # d/du [−q^(γ+1)] = (γ+1) q^γ p q
    second = (g + 1.0) * q ** (g + 1.0) * p
    return first + second


FOCAL = jaxlin.Loss(name="focal", value=focal, delta=delta_focal, target="binary")
FOCAL_CURVED = FOCAL._replace(name="focal_curved", curvature=curvature_focal)
WRONG_FOCAL = FOCAL._replace(name="focal_wrong", delta=lambda z, y: 1.1 * delta_focal(z, y))


def se_sigmoid(z, y):
    return jnp.sum((y - jax.nn.sigmoid(z)) ** 2)


def delta_se_sigmoid(z, y):
    return -2.0 * jax.nn.sigmoid(z) * jax.nn.sigmoid(-z) * (y - jax.nn.sigmoid(z))


SE_SIGMOID_CLAIMED_CONVEX = jaxlin.Loss(
    "se_sigmoid", se_sigmoid, delta_se_sigmoid, "binary", convex=True
)


def my_softmax_ce(z, y):
    return jax.nn.logsumexp(z) - jnp.sum(y * z)


def delta_my_softmax_ce(z, y):
    return jax.nn.softmax(z) - y


SOFTMAX = jaxlin.Loss(
    name="my_softmax",
    value=my_softmax_ce,
    delta=delta_my_softmax_ce,
    target="onehot",
    min_classes=2,
    convex=True,
)


def hinge(z, y):
    s = 2.0 * y - 1.0
    return jnp.sum(jnp.maximum(0.0, 1.0 - s * z))


def delta_hinge(z, y):
    s = 2.0 * y - 1.0
    return -s * (1.0 - s * z > 0)


HINGE = jaxlin.Loss(
    name="my_hinge", value=hinge, delta=delta_hinge, target="binary", convex=True
)  # no kink_distance: verify finds the kinks itself

NOT_A_LOSS = focal
