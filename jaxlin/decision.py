"""From scores to decisions: predicted labels and probabilities, by the loss's target kind.

* one output (``K = 1``): class 1 when ``z ≥ 0`` (``σ(z) ≥ 0.5 ⇔ z ≥ 0``, SPEC §5);
  a regression loss (``squared_error`` on 0/1 labels) decides at ``z ≥ 0.5``.
* several outputs: ``argmax_k z_k`` (softmax, one-vs-rest and SVM alike).
"""
from __future__ import annotations

import jax
import jax.numpy as jnp

from jaxlin.losses import get_loss


def predict_labels(loss, Z):
    """Integer class labels ``(N,)`` from scores ``Z`` ``(N, K)``."""
    loss = get_loss(loss)
    if Z.shape[-1] == 1:
        threshold = 0.5 if loss.target == "real" else 0.0
        return (Z[..., 0] >= threshold).astype(jnp.int32)
    return jnp.argmax(Z, axis=-1).astype(jnp.int32)


def target_labels(T):
    """Integer labels ``(N,)`` from ``(N, K)`` targets (0/1 column or one-hot rows)."""
    if T.shape[-1] == 1:
        return (T[..., 0] >= 0.5).astype(jnp.int32)
    return jnp.argmax(T, axis=-1).astype(jnp.int32)


def predict_proba(loss, Z):
    """Class probabilities ``(N, C)`` for losses that model them, else ``None``.

    Logistic losses: ``[1 − σ(z), σ(z)]`` for ``K = 1``, normalised one-vs-rest sigmoids
    for ``K > 1``; softmax cross-entropy: ``softmax(z)``.
    """
    loss = get_loss(loss)
    if loss.name == "softmax_cross_entropy":
        return jax.nn.softmax(Z, axis=-1)
    if loss.name in ("binary_cross_entropy", "log_likelihood", "one_vs_rest_logistic"):
        s = jax.nn.sigmoid(Z)
        if Z.shape[-1] == 1:
            return jnp.concatenate([1.0 - s, s], axis=-1)
        return s / jnp.sum(s, axis=-1, keepdims=True)
    return None
