"""From scores to decisions: predicted labels and probabilities, by the loss's target kind.

The one inference path: the training loop's validation accuracy, ``jaxlin.models.
TrainedModel``, the evaluation report and the scikit-learn bridge all decide here.

* one output (``K = 1``): class 1 when ``z ≥ 0`` (``σ(z) ≥ 0.5 ⇔ z ≥ 0``);
  a regression loss (``squared_error`` on 0/1 labels) decides at ``z ≥ 0.5``.
* several outputs: ``argmax_k z_k`` (softmax, one-vs-rest and SVM alike).

Every function takes NumPy or JAX arrays and returns the same kind, so host-side callers
(the bridge, a saved model) keep their float64 arrays and compile nothing.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from jaxlin import activations
from jaxlin.losses import get_loss

# the losses whose scores are log-odds (one sigmoid per output)
LOGISTIC = ("binary_cross_entropy", "log_likelihood", "one_vs_rest_logistic")


def _xp(Z):
    return jnp if isinstance(Z, jax.Array) else np


def _host(Z):
    """A NumPy array as it is (its float type kept); a list or a number as float64."""
    return Z if isinstance(Z, np.ndarray) else np.asarray(Z, np.float64)


def _scores(Z, fn: str):
    """``Z`` as scores ``(N, K)``: a list as a NumPy array; another shape is named (a 1-D
    ``Z`` was one row of ``N`` classes: an arg-max over the rows, a softmax across them)."""
    Z = Z if isinstance(Z, jax.Array) else _host(Z)
    if Z.ndim != 2:
        raise ValueError(f"{fn}: Z must be scores (N, K), one row per example, got {Z.shape}")
    return Z


def threshold(loss) -> float:
    """The score at which a one-output model starts predicting class 1."""
    return 0.5 if get_loss(loss).target == "real" else 0.0


def predict_labels(loss, Z, at_threshold: int = 1):
    """Integer class labels ``(N,)`` from scores ``Z`` ``(N, K)``.

    ``at_threshold``: the class of a one-output score exactly at the threshold — 1 in jaxlin
    (the step function's ``z ≥ 0``), 0 in scikit-learn's convention (``z > 0``).

    >>> predict_labels("binary_cross_entropy", np.array([[-0.1], [0.0], [2.0]])).tolist()
    [0, 1, 1]
    >>> predict_labels("binary_cross_entropy", np.array([[0.0]]), at_threshold=0).tolist()
    [0]
    """
    Z = _scores(Z, "predict_labels")
    xp = _xp(Z)
    if Z.shape[-1] == 1:
        t = threshold(loss)
        above = Z[..., 0] >= t if at_threshold == 1 else Z[..., 0] > t
        return above.astype(xp.int32)
    return xp.argmax(Z, axis=-1).astype(xp.int32)


def target_labels(T):
    """Integer labels ``(N,)`` from ``(N, K)`` targets (0/1 column or one-hot rows)."""
    xp = _xp(T)
    if T.shape[-1] == 1:
        return (T[..., 0] >= 0.5).astype(xp.int32)
    return xp.argmax(T, axis=-1).astype(xp.int32)


def sigmoid(Z):
    """``σ(z) = exp(−softplus(−z))``: no overflow for any finite ``z``."""
    if isinstance(Z, jax.Array):
        return activations.sigmoid(Z)
    return np.exp(-np.logaddexp(0.0, -_host(Z)))


def softmax(Z):
    """``softmax`` over the last axis, with the maximum subtracted first."""
    if isinstance(Z, jax.Array):
        return activations.softmax(Z)
    Z = _host(Z)
    E = np.exp(Z - Z.max(axis=-1, keepdims=True))
    return E / E.sum(axis=-1, keepdims=True)


def has_proba(loss) -> bool:
    """Whether the loss models class probabilities (the logistic losses, softmax
    cross-entropy, the modified Huber loss): which ``predict_proba`` gives."""
    name = get_loss(loss).name
    return name in LOGISTIC or name in ("softmax_cross_entropy", "modified_huber")


def proba_method(loss, decision_function):
    """A model's ``predict_proba``: ``X ↦ predict_proba(loss, decision_function(X))`` where the
    loss models probabilities; else an ``AttributeError`` naming the loss (as a scikit-learn
    estimator of such a loss has no such method, ``hasattr`` is then false)."""
    if not has_proba(loss):
        raise AttributeError(
            f"predict_proba: loss {get_loss(loss).name!r} models no probabilities; use "
            "decision_function (the scores) or predict, or train a logistic, softmax or "
            "modified_huber loss"
        )
    return lambda X: predict_proba(loss, decision_function(X))


def predict_proba(loss, Z):
    """Class probabilities ``(N, C)`` for losses that model them (``has_proba``), else
    ``None``.

    Logistic losses: ``[1 − σ(z), σ(z)]`` for ``K = 1``, normalised one-vs-rest sigmoids
    for ``K > 1``; softmax cross-entropy: ``softmax(z)``; the modified Huber loss:
    ``modified_huber_proba``.

    >>> predict_proba("binary_cross_entropy", np.array([[0.0]])).tolist()
    [[0.5, 0.5]]
    """
    loss, Z = get_loss(loss), _scores(Z, "predict_proba")
    xp = _xp(Z)
    if loss.name == "softmax_cross_entropy":
        return softmax(Z)
    if loss.name in LOGISTIC:
        s = sigmoid(Z)
        if Z.shape[-1] == 1:
            return xp.concatenate([1.0 - s, s], axis=-1)
        return s / xp.sum(s, axis=-1, keepdims=True)
    if loss.name == "modified_huber":
        return modified_huber_proba(Z)
    return None


def modified_huber_proba(Z):
    """The modified Huber loss's probabilities (Zhang): ``p = (clip(z, −1, 1) + 1) / 2``;
    ``[1 − p, p]`` for ``K = 1``; for ``K > 1`` the one-vs-rest ``p`` normalised, and
    uniform over the classes where every ``p`` is 0 (scikit-learn's rule)."""
    xp = _xp(Z)
    p = (xp.clip(Z, -1.0, 1.0) + 1.0) / 2.0
    if Z.shape[-1] == 1:
        return xp.concatenate([1.0 - p, p], axis=-1)
    total = xp.sum(p, axis=-1, keepdims=True)
    return xp.where(total > 0, p / xp.where(total > 0, total, 1.0), 1.0 / Z.shape[-1])
