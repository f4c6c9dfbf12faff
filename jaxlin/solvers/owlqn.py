"""OWL-QN: L-BFGS for L1 and elastic net, one orthant at a time (Andrew & Gao, 2007)."""

from __future__ import annotations

from typing import Any, NamedTuple

from jaxlin._lazy import module
from jaxlin.records import (
    ROUNDING,
    RUNNING,
    Hyper,
    Problem,
    Settings,
    Solver,
    SolverRecord,
    Step,
    first_value,
    held_grad,
    float_resolution,
    select,
    some,
)

jax, jnp = module("jax"), module("jax.numpy")
linear, objective = module("jaxlin.linear"), module("jaxlin.objective")
flatten_util = module("jax.flatten_util")

ARMIJO = 1e-4  # the sufficient decrease asked of a step, a fraction of the model's
MAX_HALVINGS = 40  # trial steps of one line search before the step is given up


class OwlqnState(NamedTuple):
    S: Any  # (memory, P) the last steps θ⁺ − θ, flattened (a zero row: an empty slot)
    Y: Any  # (memory, P) the matching differences of the smooth gradient
    head: Any  # the slot the next pair goes to
    stored: Any  # how many pairs the memory holds (0: the next direction is −γ pg)
    scale: Any  # γ = sᵀy / yᵀy of the newest pair: the initial inverse curvature
    grad: Any  # the smooth gradient at the parameters (Params)
    scores: Any = None  # Z = X W + b at the parameters, when carried


def two_loop(S, Y, head, scale, v):
    """``H v``, ``H`` the L-BFGS inverse-Hessian estimate of the stored pairs ``(sᵢ, yᵢ)``
    (newest first, then back; an empty or non-convex slot changes nothing), starting from
    ``scale · I``. ``S``, ``Y``: ``(memory, P)``; ``head``: the slot after the newest."""
    memory = S.shape[0]
    curv = jnp.sum(S * Y, axis=1)
    rho = jnp.where(curv > 0, 1.0 / jnp.where(curv > 0, curv, 1.0), 0.0)

    def back(k, c):
        q, a = c
        i = (head - 1 - k) % memory
        ai = rho[i] * jnp.vdot(S[i], q)
        return q - ai * Y[i], a.at[i].set(ai)

    q, a = jax.lax.fori_loop(0, memory, back, (v, jnp.zeros_like(rho)))

    def forth(k, r):
        i = (head + k) % memory
        return r + (a[i] - rho[i] * jnp.vdot(Y[i], r)) * S[i]

    return jax.lax.fori_loop(0, memory, forth, scale * q)


def owlqn(problem: Problem, hyper: Hyper, s: Settings) -> Solver:
    """OWL-QN: the L-BFGS direction of the pseudo-gradient, kept in one orthant.

    Each epoch: the pseudo-gradient ``pg`` of ``m`` (``Objective.pseudo_gradient``); the
    direction ``d = −H pg`` (``two_loop`` over pairs of the smooth gradient), each component
    whose sign disagrees with ``−pg`` set to 0; trial points ``θ + α d`` kept in the orthant
    of ``θ`` (``Objective.orthant_projection``), ``α = 1, ½, ¼ …`` until ``m`` falls by
    ``ARMIJO · pgᵀ(θ⁺ − θ)`` (up to its float resolution). The pair
    ``(θ⁺ − θ, ∇f⁺ − ∇f)`` joins the memory when its curvature is positive. A line search
    that finds no decrease clears the memory; one that fails with an empty memory met
    rounding, and the run stops (``rounding``); steps that keep changing ``m`` by rounding
    alone meet the driver's rounding stop. The step size reported (for the gradient
    stop's proximal mapping) is ``γ = sᵀy / yᵀy``.

    With the scores carried, a trial reads ``X`` once (its scores) and the accepted point
    once more (``Xᵀ Δ``); without (row blocks), each trial is one pass for both.
    """
    X, T, obj = problem.X, problem.T, problem.objective
    carry = objective.block_rows(X, T.shape[1]) is None

    def evaluate(params):
        Z = linear.logits(params, X) if carry else None
        f, g = obj.smooth_value_and_grad(params, X, T, Z)
        return f + obj.nonsmooth(params.W), (None if carry else g), Z

    def init(params):
        Z = linear.logits(params, X) if carry else None
        f, g = obj.smooth_value_and_grad(params, X, T, Z)
        flat_pg = _flat(obj.pseudo_gradient(params, g))
        zeros = jnp.zeros((s.memory_size, flat_pg.size), X.dtype)
        scale = 1.0 / jnp.maximum(jnp.linalg.norm(flat_pg), jnp.finfo(X.dtype).tiny)
        none = jnp.asarray(0, jnp.int32)
        state = OwlqnState(zeros, zeros, none, none, scale, g, Z)
        return state, first_value(f + obj.nonsmooth(params.W), g)

    def step(params, st: OwlqnState, m, key):
        pg = obj.pseudo_gradient(params, st.grad)
        flat_pg, unflat = flatten_util.ravel_pytree(pg)
        d = -two_loop(st.S, st.Y, st.head, st.scale, flat_pg)
        d = unflat(jnp.where(d * flat_pg < 0, d, 0.0))
        theta = _flat(params)

        def trial(alpha):
            p = obj.orthant_projection(
                params, pg, jax.tree.map(lambda a, b: a + alpha * b, params, d)
            )
            m_p, g_p, Z_p = evaluate(p)
            step = _flat(p) - theta
            model = ARMIJO * jnp.vdot(flat_pg, step)
            ok = jnp.isfinite(m_p) & (m_p <= m + jnp.minimum(model, 0.0) + float_resolution(m))
            return p, m_p, g_p, Z_p, ok & some(step != 0)

        new, m_new, g_new, Z_new, found = _backtrack(trial, X.dtype)
        if carry:  # the accepted point's gradient: Xᵀ Δ from its scores
            g_new = obj.smooth_value_and_grad(new, X, T, Z_new)[1]
        state = _remember(st, found, _flat(new) - theta, g_new, Z_new)
        exhausted = ~found & (st.stored == 0)
        return Step(
            select(found, new, params),
            state,
            jnp.where(found, m_new, m),
            state.grad,
            state.scale,
            found | exhausted,
            jnp.where(exhausted, ROUNDING, RUNNING),
        )

    return Solver(init, step, held_grad)


def _flat(tree):
    return flatten_util.ravel_pytree(tree)[0]


def _backtrack(trial, dtype):
    """The first trial ``α = 2⁻ʲ`` (``j < MAX_HALVINGS``) that ``trial`` accepts, as
    ``trial``'s outputs; the last one tried (``found`` false) when none is."""

    def halve(c):
        j, alpha, _ = c
        return j + 1, alpha * 0.5, trial(alpha * 0.5)

    one = jnp.asarray(1.0, dtype)
    return jax.lax.while_loop(
        lambda c: ~c[2][4] & (c[0] < MAX_HALVINGS), halve, (0, one, trial(one))
    )[2]


def _remember(st: OwlqnState, found, s_vec, g_new, Z_new) -> OwlqnState:
    """The state after a step: the pair joins the memory when the step was found and its
    curvature ``sᵀy`` is positive; a step not found clears the memory (a scaled
    pseudo-gradient step comes next)."""
    y_vec = _flat(g_new) - _flat(st.grad)
    sy, yy = jnp.vdot(s_vec, y_vec), jnp.vdot(y_vec, y_vec)
    keep = found & (sy > jnp.finfo(sy.dtype).eps * yy)
    S, Y = (jnp.where(keep, A.at[st.head].set(v), A) for A, v in ((st.S, s_vec), (st.Y, y_vec)))
    S, Y = select(found, (S, Y), (jnp.zeros_like(S), jnp.zeros_like(Y)))
    memory = S.shape[0]
    return OwlqnState(
        S,
        Y,
        jnp.where(keep, (st.head + 1) % memory, jnp.where(found, st.head, 0)),
        jnp.where(keep, jnp.minimum(st.stored + 1, memory), jnp.where(found, st.stored, 0)),
        jnp.where(keep, sy / jnp.where(keep, yy, 1.0), st.scale),
        select(found, g_new, st.grad),
        None if Z_new is None else select(found, Z_new, st.scores),
    )


OWLQN = SolverRecord(
    "owlqn",
    owlqn,
    "orthant-wise L-BFGS for L1 and elastic net (Andrew & Gao; backtracking)",
    l1=True,
    learning_rate=False,
    defaults=dict(learning_rate=1.0, epochs=1000, tol=1e-9, grad_tol=1e-6),
    default_for=("l1",),
)
RECORDS = (OWLQN,)
