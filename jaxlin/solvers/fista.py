"""FISTA: accelerated proximal gradient (Beck & Teboulle) for L1 and elastic net."""

from __future__ import annotations

from typing import Any, NamedTuple

from jaxlin._lazy import module
from jaxlin.records import (
    first_value,
    held_grad,
    ROUNDING,
    RUNNING,
    Hyper,
    Problem,
    Settings,
    Solver,
    SolverRecord,
    Step,
    float_resolution,
    not_above,
    select,
)

jax, jnp, optax = module("jax"), module("jax.numpy"), module("optax")
linear, objective = module("jaxlin.linear"), module("jaxlin.objective")


class FistaState(NamedTuple):
    y: Any  # the extrapolated point the next proximal step starts from
    t: Any  # the momentum sequence t_k
    step_size: Any  # η, found by backtracking
    grad: Any  # the smooth gradient at the current parameters (for the stops)
    scores: Any = None  # Z = X W + b at the current parameters, when carried (else None)
    scores_y: Any = None  # the scores at y, when carried


def fista(problem: Problem, hyper: Hyper, s: Settings) -> Solver:
    """FISTA: accelerated proximal gradient (Beck & Teboulle) for L1 and elastic net.

    Each epoch takes the proximal step ``x⁺ = prox_{η l1}(y − η ∇f(y))`` from the
    extrapolated point ``y``, halving ``η`` until the smooth part ``f`` lies under its
    quadratic model (``f(x⁺) ≤ f(y) + ∇f(y)·(x⁺ − y) + ‖x⁺ − y‖²/2η``); ``η`` grows ×1.25 at
    the next epoch. Momentum ``y = x⁺ + (t_k − 1)/t_(k+1) · (x⁺ − x)``; a step that raises
    ``m`` (beyond its float resolution) is rejected and restarts the momentum from ``x``. The
    gradient stop uses the proximal gradient mapping at ``x``; a plain step (no momentum)
    that raises ``m`` — only rounding can — ends the run (``rounding``).

    The scores of ``y`` are ``Z⁺ + (t_k − 1)/t_(k+1) · (Z⁺ − Z)`` (linear in the parameters):
    an epoch reads ``X`` three times (``Xᵀ Δ`` at ``y``, the scores of ``x⁺`` per trial of ``η``,
    ``Xᵀ Δ`` at ``x⁺``), not four. Where the gradient runs over row blocks in one pass
    (``jaxlin.objective.block_rows``) no scores are carried: one read a point, as before.
    """
    X, T, obj = problem.X, problem.T, problem.objective
    tiny = jnp.finfo(X.dtype).tiny
    carry = objective.block_rows(X, T.shape[1]) is None  # scores carried from step to step

    def scores(params):
        return linear.logits(params, X) if carry else None

    def init(params):
        Z = scores(params)
        m, g = obj.smooth_value_and_grad(params, X, T, Z)
        m = m + obj.nonsmooth(params.W)
        eta = hyper.rate(X.dtype)
        return FistaState(params, jnp.asarray(1.0, X.dtype), eta, g, Z, Z), first_value(m, g)

    def prox_step(y, f_y, g_y, eta):
        """``x⁺`` for ``η``, its scores (when carried) and ``f(x⁺)``, and whether ``f(x⁺)``
        lies above the quadratic model (then ``η`` is halved)."""
        p = obj.prox(jax.tree.map(lambda a, b: a - eta * b, y, g_y), eta)
        Z_p = scores(p)
        # with the scores carried, a trial needs f alone (Xᵀ Δ once, for the η kept);
        # without, one pass over the row blocks gives both
        f_p, g_p = obj.smooth_value_and_grad(p, X, T, Z_p)
        d = jax.tree.map(jnp.subtract, p, y)
        # comparisons of values allow their float resolution, so that rounding neither shrinks
        # η to nothing nor stops progress the gradient can still see
        model = f_y + optax.tree.vdot(g_y, d) + 0.5 * optax.tree.vdot(d, d) / eta
        above = ~(f_p <= model + float_resolution(f_y))
        return p, Z_p, f_p, None if carry else g_p, above & (eta > tiny)

    def step(params, st: FistaState, m, key):
        f_y, g_y = obj.smooth_value_and_grad(st.y, X, T, st.scores_y)
        eta = st.step_size * 1.25
        first = prox_step(st.y, f_y, g_y, eta)

        def shrink(c):
            eta, _ = c
            return eta * 0.5, prox_step(st.y, f_y, g_y, eta * 0.5)

        eta, (p, Z_p, f_p, g_p, _) = jax.lax.while_loop(lambda c: c[1][4], shrink, (eta, first))
        if carry:
            g_p = obj.smooth_value_and_grad(p, X, T, Z_p)[1]
        m_p = f_p + obj.nonsmooth(p.W)
        accept = jnp.isfinite(m_p) & not_above(m_p, m)
        t_next = 0.5 * (1.0 + jnp.sqrt(1.0 + 4.0 * st.t**2))
        beta = (st.t - 1.0) / t_next  # the parameters and, linear in them, the scores:
        y = jax.tree.map(lambda a, b: a + beta * (a - b), (p, Z_p), (params, st.scores))
        new, grad, Z = select(accept, (p, g_p, Z_p), (params, st.grad, st.scores))
        y, Z_y = select(accept, y, (params, st.scores))
        state = FistaState(y, jnp.where(accept, t_next, 1.0), eta, grad, Z, Z_y)
        # a plain proximal step (no momentum) lowers m in exact arithmetic; one that raised it
        # beyond its float resolution met rounding elsewhere: nothing is left to gain
        exhausted = (st.t == 1.0) & jnp.isfinite(m_p) & ~accept
        return Step(
            new,
            state,
            jnp.where(accept, m_p, m),
            grad,
            eta,
            accept | exhausted,
            jnp.where(exhausted, ROUNDING, RUNNING),
        )

    return Solver(init, step, held_grad)


FISTA = SolverRecord(
    "fista",
    fista,
    "accelerated proximal gradient for L1 and elastic net (backtracking, monotone restart)",
    l1=True,
    defaults=dict(learning_rate=1.0, epochs=1000, tol=1e-9, grad_tol=1e-6),
)
RECORDS = (FISTA,)
