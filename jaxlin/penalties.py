"""Penalties ``R(W)`` on the weights — never on the bias.

One record, ``Penalty``, holds the strengths of an L1 and an L2 term:
``R(W) = l1 Σ|w| + l2 Σ w²``. Ridge, lasso and elastic net are its three
special cases (``l2``, ``l1``, ``elastic_net``). Strengths are
arrays, so many penalties can be trained at once under ``jax.vmap``.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np


class Penalty(NamedTuple):
    """``R(W) = l1 Σ|w| + l2 Σ w²``."""

    l1: Any = 0.0  # a float, or an array of strengths (one per model, under vmap)
    l2: Any = 0.0


def _given(value, name: str, upper=None):
    """A strength given as a number (or array) is checked: non-negative, finite and at most
    ``upper``; a traced one (inside ``jit``/``vmap``) passes as it is."""
    if isinstance(value, jax.core.Tracer):
        return value
    from jaxlin import validation

    validation.check_non_negative(value, name)
    if upper is not None and np.any(np.asarray(value, np.float64) > upper):
        raise ValueError(f"{name}: must be at most {upper}, got {value!r}")
    return value


def l2(lam) -> Penalty:
    """Ridge ``λ Σ w²``; gradient ``2 λ W``."""
    return Penalty(0.0, _given(lam, "lam"))


def l1(lam) -> Penalty:
    """Lasso ``λ Σ |w|``; subgradient ``λ sign(W)`` (0 at 0); prox = soft-threshold."""
    return Penalty(_given(lam, "lam"), 0.0)


def elastic_net(lam, alpha) -> Penalty:
    """``λ [α Σ|w| + (1 − α) Σ w²]``; gradient ``λ [α sign(W) + 2 (1 − α) W]``;
    ``0 ≤ α ≤ 1``."""
    lam, alpha = _given(lam, "lam"), _given(alpha, "alpha", upper=1.0)
    return Penalty(lam * alpha, lam * (1.0 - alpha))


def _off(strength) -> bool:
    """Whether a strength is a Python number 0: its term is left out of the program (a
    traced strength, even one that is 0, keeps its term, so one program serves all)."""
    return isinstance(strength, (int, float)) and strength == 0


def checked(penalty: Penalty, name: str = "penalty") -> Penalty:
    """``penalty`` (a ``Penalty`` or a pair ``(l1, l2)``) as a ``Penalty``, with strengths
    given on the host checked to be finite and non-negative (a negative one would reward
    large weights); traced strengths as they are."""
    if not isinstance(penalty, tuple) or len(penalty) != 2:
        raise TypeError(f"{name}: expected a Penalty(l1, l2), got {type(penalty).__name__}")
    for part, value in zip(("l1", "l2"), penalty):
        if not isinstance(value, jax.Array):
            _given(value, f"{name}.{part}")
            if np.ndim(value) != 0:  # (a list did not even multiply: a TypeError in JAX)
                raise ValueError(
                    f"{name}.{part}: one model's strength is a number, got shape "
                    f"{np.shape(value)}; many models' strengths go to jaxlin.fit_many"
                )
    return Penalty(*penalty)  # a plain pair (l1, l2) as the record


def _step(step_size, name: str = "step_size"):
    """A step size or threshold given on the host checked to be finite and non-negative."""
    return step_size if isinstance(step_size, jax.Array) else _given(step_size, name)


def _weights(W):
    """``W`` as a JAX array; numeric and finite when given on the host (``host_checked``).
    NumPy float64 without float64 enabled becomes float32, with no JAX warning."""
    from jaxlin.linear import host_checked

    return host_checked(W, "W")


def value(penalty: Penalty, W):
    """``R(W) = l1 Σ|w| + l2 Σ w²`` (a scalar)."""
    penalty, W = checked(penalty), _weights(W)
    r = jnp.zeros((), W.dtype)
    if not _off(penalty.l1):
        r = r + penalty.l1 * jnp.sum(jnp.abs(W))
    if not _off(penalty.l2):
        r = r + penalty.l2 * jnp.sum(W * W)
    return r


def grad(penalty: Penalty, W, smooth_only: bool = False):
    """``∂R/∂W = l1 sign(W) + 2 l2 W`` (``sign(0) = 0``: the minimum-norm subgradient).

    With ``smooth_only=True`` only the L2 part, for proximal steps that handle L1 exactly.
    """
    penalty, W = checked(penalty), _weights(W)
    g = 2.0 * penalty.l2 * W
    if smooth_only:
        return g
    return g + penalty.l1 * jnp.sign(W)


def soft_threshold(W, threshold):
    """``sign(w) max(|w| − t, 0)``: the proximal operator of ``t Σ|w|``; gives exact zeros.
    ``t ≥ 0`` (a negative one would push every weight away from 0)."""
    W, threshold = _weights(W), _step(threshold, "threshold")
    return jnp.sign(W) * jnp.maximum(jnp.abs(W) - threshold, 0.0)


def prox(penalty: Penalty, W, step_size):
    """Proximal step of the L1 part with step ``η ≥ 0``: ``soft_threshold(W, η l1)``."""
    penalty, step_size = checked(penalty), _step(step_size)
    return soft_threshold(W, step_size * penalty.l1)


def pseudo_gradient(penalty: Penalty, W, g):
    """The pseudo-gradient of ``f + l1 Σ|w|`` at ``W``, given ``g = ∇f``: ``g + l1 sign(w)``
    where ``w ≠ 0``; at ``w = 0`` the one-sided derivative that descends (``g + l1`` if it is
    negative, ``g − l1`` if positive), else 0 (``|g| ≤ l1``: 0 is optimal along ``w``). Its
    negative is the steepest-descent direction; it is 0 exactly at a minimiser."""
    right, left = g + penalty.l1, g - penalty.l1
    at_zero = jnp.where(right < 0, right, jnp.where(left > 0, left, 0.0))
    return jnp.where(W > 0, right, jnp.where(W < 0, left, at_zero))


def orthant_projection(W, pg, trial):
    """``trial`` with every weight that left the orthant of ``W`` set to 0: the orthant is
    ``sign(w)``, or ``sign(−pg)`` where ``w = 0`` (the side a descent step enters). Within
    one orthant ``l1 Σ|w|`` is linear, so ``f + l1 Σ|w|`` is smooth there (OWL-QN)."""
    orthant = jnp.where(W != 0, jnp.sign(W), -jnp.sign(pg))
    return jnp.where(jnp.sign(trial) == orthant, trial, 0.0)


def repeated_steps(penalty: Penalty, W, steps, step_size, has_l1: bool = True):
    """``W`` after ``k`` proximal-gradient steps on the penalty alone, in closed form.

    One step is ``w ← prox_{η l1}(c w)`` with ``c = 1 − 2 η l2``: the L2 gradient step, then
    the soft-threshold of the L1 part. While ``w`` keeps its sign each step multiplies its
    magnitude by ``c`` and takes ``t = η l1`` off, so after ``k`` steps

        |w_k| = max(0, c^k |w_0| − t (1 + c + … + c^(k−1)))

    (once at 0 it stays there: the magnitude only falls, so clipping once at the end equals
    clipping at every step). ``steps`` broadcasts against ``W``'s leading axis (one count per
    row); ``has_l1=False`` leaves out the threshold (statically). This is what a lazy
    mini-batch update applies to a weight its batches did not touch for ``k`` steps.
    """
    k = jnp.asarray(steps, W.dtype)
    k = k.reshape(k.shape + (1,) * (W.ndim - k.ndim))
    a = 2.0 * step_size * penalty.l2  # 1 − c, so c^k = exp(k log1p(−a)) without cancellation
    log_c = jnp.log1p(-a)
    ck = jnp.exp(k * log_c)
    if not has_l1:
        return ck * W
    # 1 + c + … + c^(k−1) = (1 − c^k)/(1 − c), and k when there is no L2 part (a = 0)
    geometric = jnp.where(a > 0, -jnp.expm1(k * log_c) / jnp.where(a > 0, a, 1.0), k)
    return jnp.sign(W) * jnp.maximum(ck * jnp.abs(W) - step_size * penalty.l1 * geometric, 0.0)
