"""Penalties ``R(W)`` on the weights — never on the bias.

One record, :class:`Penalty`, holds the strengths of an L1 and an L2 term:
``R(W) = l1 Σ|w| + l2 Σ w²``. Ridge, lasso and elastic net are its three
special cases (:func:`l2`, :func:`l1`, :func:`elastic_net`). Strengths are
arrays, so many penalties can be trained at once under ``jax.vmap``.
"""
from __future__ import annotations

from typing import NamedTuple

import jax.numpy as jnp


class Penalty(NamedTuple):
    """``R(W) = l1 Σ|w| + l2 Σ w²``."""

    l1: float = 0.0
    l2: float = 0.0


def l2(lam) -> Penalty:
    """Ridge ``λ Σ w²``; gradient ``2 λ W``."""
    return Penalty(0.0, lam)


def l1(lam) -> Penalty:
    """Lasso ``λ Σ |w|``; subgradient ``λ sign(W)`` (0 at 0); prox = soft-threshold."""
    return Penalty(lam, 0.0)


def elastic_net(lam, alpha) -> Penalty:
    """``λ [α Σ|w| + (1 − α) Σ w²]``; gradient ``λ [α sign(W) + 2 (1 − α) W]``."""
    return Penalty(lam * alpha, lam * (1.0 - alpha))


def value(penalty: Penalty, W):
    """``R(W) = l1 Σ|w| + l2 Σ w²`` (a scalar)."""
    return penalty.l1 * jnp.sum(jnp.abs(W)) + penalty.l2 * jnp.sum(W * W)


def grad(penalty: Penalty, W, smooth_only: bool = False):
    """``∂R/∂W = l1 sign(W) + 2 l2 W`` (``sign(0) = 0``: the minimum-norm subgradient).

    With ``smooth_only=True`` only the L2 part, for proximal steps that handle L1 exactly.
    """
    g = 2.0 * penalty.l2 * W
    if smooth_only:
        return g
    return g + penalty.l1 * jnp.sign(W)


def soft_threshold(W, threshold):
    """``sign(w) max(|w| − t, 0)``: the proximal operator of ``t Σ|w|``; gives exact zeros."""
    return jnp.sign(W) * jnp.maximum(jnp.abs(W) - threshold, 0.0)


def prox(penalty: Penalty, W, step_size):
    """Proximal step of the L1 part with step ``η``: ``soft_threshold(W, η l1)``."""
    return soft_threshold(W, step_size * penalty.l1)
