"""The passive-aggressive online steps (Crammer, Dekel, Keshet, Shalev-Shwartz and Singer,
2006): PA-I and PA-II for the hinge, one row at a time.

The derivation is in ``docs/optimisers.md`` ("Passive-aggressive steps").
"""

from __future__ import annotations

from typing import Any, NamedTuple

from jaxlin._lazy import module
from jaxlin.records import Hyper, Problem, Settings, Solver, SolverRecord, Step, rare_cond
from jaxlin.solvers.gradient import (
    RESCALE_BELOW,  # the scale of W = a V is folded into V before it can underflow
    averaged,
    bias_step,
    count_rows,
    epoch_order,
    start_average,
)

jax, jnp = module("jax"), module("jax.numpy")
linear = module("jaxlin.linear")


def step_size(kind: str, C, loss, sqnorm):
    """One row's step: PA-I ``τ = min(C, ℓ / ‖x‖²)`` (0 for a row without entries: it can
    change no score), PA-II ``τ = ℓ / (‖x‖² + 1 / (2C))``; ``ℓ`` the row's hinge ``(K,)``."""
    if kind == "pa1":
        return jnp.where(sqnorm > 0, jnp.minimum(C, loss / jnp.where(sqnorm > 0, sqnorm, 1)), 0)
    return loss / (sqnorm + 0.5 / C)


class PAState(NamedTuple):
    """The rows stepped over in this run (an int32 count; a row PA-I skips is not one), and
    the running mean of the iterates (``Average``) with ``Settings.average``, else ``None``."""

    rows: Any
    average: Any = None


def passive_aggressive(problem: Problem, hyper: Hyper, s: Settings) -> Solver:
    """PA-I (``optimizer="pa1"``) or PA-II (``"pa2"``), the aggressiveness ``C`` being the
    ``learning_rate``.

    Each epoch visits the rows in a fresh random order (``shuffle=False``: in order). At
    row ``i``, with its hinge ``ℓ = max(0, 1 − s z)`` column by column and ``τ`` from
    ``step_size``, the step is ``w ← c w − τ ω_i δ x_i``, ``b ← b − τ ω_i δ`` (times
    ``intercept_lr``), ``δ = −s`` where the margin is short (so ``w`` moves by ``τ s x_i``),
    ``ω_i`` the row's weight as given (``Objective.row_weight``) and ``c = max(0, 1 − 2 C
    l2)`` the L2 term's decay at the rate ``C`` (scikit-learn's SGD with
    ``learning_rate="pa1"``/``"pa2"``; PA-I skips a row without entries altogether). The
    decay is carried as a scale, ``W = a V``. The epoch's value is the mean hinge of its
    rows at the visit, before each step (scikit-learn's, without the penalty). With
    ``average``, the mean of the iterates after each step (averaged SGD's, as scikit-learn's
    ``average`` with these rates; each step forms ``W``, so it costs ``d K`` a row).
    """
    X, T, obj = problem.X, problem.T, problem.objective
    n = s.real_rows(X)
    C = hyper.learning_rate
    norms = linear.row_norms(X)
    decay = jnp.maximum(obj.l2_shrink(C), 0)  # 1 − 2 C l2, never below 0
    kind = s.solver

    def visit(carry, i):
        V, a, b, total, rows, mean = carry
        z = a * linear.row_scores(linear.Params(V, 0), X, i) + b
        t, q = T[i], norms[i]
        loss = obj.column_losses(z, t)
        step = -step_size(kind, C, loss, q) * obj.row_weight(i) * obj.row_delta(z, t)
        visited = (q > 0) | (kind != "pa1")
        a = jnp.where(visited, a * decay, a)
        fold = (a < RESCALE_BELOW) | jnp.isnan(jnp.sum(z))
        V, a = rare_cond(fold, s, lambda Va: (Va[1] * Va[0], jnp.ones_like(Va[1])), (V, a))
        V = linear.add_row(V, X, i, step / a)
        b = obj.mask_bias(linear.Params(V, b + bias_step(hyper, step))).b
        rows = count_rows(rows, visited)
        if mean is not None:  # a skipped row adds no iterate
            new = averaged(mean, hyper, linear.Params(a * V, b), rows)
            mean = jax.tree.map(lambda x, y: jnp.where(visited, x, y), new, mean)
        return (V, a, b, total + jnp.sum(loss), rows, mean), None

    def init(params):
        state = PAState(jnp.zeros((), jnp.int32), start_average(params, hyper, s, X.dtype))
        return state, jnp.asarray(jnp.inf, X.dtype)

    def step(params, state: PAState, m, key):
        one, zero = jnp.ones((), X.dtype), jnp.zeros((), X.dtype)
        start = (params.W, one, params.b, zero, state.rows, state.average)
        (V, a, b, total, rows, mean), _ = jax.lax.scan(visit, start, epoch_order(key, n, s.shuffle))
        return Step(linear.Params(a * V, b), PAState(rows, mean), total / n, None, C)

    return Solver(init, step)


def _record(name, summary):
    return SolverRecord(
        name,
        passive_aggressive,
        summary,
        l1=False,
        weighted=False,
        visits_rows=True,
        targets=("binary",),
        stops=("tol",),
        tol_bounds="objective",
        defaults=dict(learning_rate=1.0, epochs=100),
        defined_for=("hinge",),
        intercept_lr=True,
        averages=True,
    )


PA1 = _record("pa1", "passive-aggressive I: one row at a time, steps min(C, ℓ/‖x‖²)")
PA2 = _record("pa2", "passive-aggressive II: one row at a time, steps ℓ/(‖x‖² + 1/(2C))")
RECORDS = (PA1, PA2)
