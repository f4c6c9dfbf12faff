"""FISTA: accelerated proximal gradient (Beck & Teboulle) for L1 and elastic net."""

from __future__ import annotations

from typing import Any, NamedTuple

from jaxlin._lazy import module
from jaxlin.records import (
    first_value,
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


class FistaState(NamedTuple):
    y: Any  # the extrapolated point the next proximal step starts from
    t: Any  # the momentum sequence t_k
    step_size: Any  # η, found by backtracking
    grad: Any  # the smooth gradient at the current parameters (for the stops)


def fista(problem: Problem, hyper: Hyper, s: Settings) -> Solver:
    """FISTA: accelerated proximal gradient (Beck & Teboulle) for L1 and elastic net.

    Each epoch takes the proximal step ``x⁺ = prox_{η l1}(y − η ∇f(y))`` from the
    extrapolated point ``y``, halving ``η`` until the smooth part ``f`` lies under its
    quadratic model (``f(x⁺) ≤ f(y) + ∇f(y)·(x⁺ − y) + ‖x⁺ − y‖²/2η``); ``η`` grows ×1.25 at
    the next epoch. Momentum ``y = x⁺ + (t_k − 1)/t_(k+1) · (x⁺ − x)``; a step that raises
    ``m`` (beyond its float resolution) is rejected and restarts the momentum from ``x``. The
    gradient stop uses the proximal gradient mapping at ``x``; a plain step (no momentum)
    that raises ``m`` — only rounding can — ends the run (``rounding``).
    """
    X, T, obj = problem.X, problem.T, problem.objective
    tiny = jnp.finfo(X.dtype).tiny

    def init(params):
        m, g = obj.value_and_smooth_grad(params, X, T)
        eta = jnp.asarray(hyper.learning_rate, X.dtype)
        return FistaState(params, jnp.asarray(1.0, X.dtype), eta, g), first_value(m, g)

    def prox_step(y, f_y, g_y, eta):
        p = obj.prox(jax.tree.map(lambda a, b: a - eta * b, y, g_y), eta)
        f_p, g_p = obj.smooth_value_and_grad(p, X, T)
        d = jax.tree.map(jnp.subtract, p, y)
        # comparisons of values allow their float resolution, so that rounding neither shrinks
        # η to nothing nor stops progress the gradient can still see
        model = f_y + optax.tree.vdot(g_y, d) + 0.5 * optax.tree.vdot(d, d) / eta
        above = ~(f_p <= model + float_resolution(f_y))
        return p, f_p, g_p, above & (eta > tiny)

    def step(params, st: FistaState, m, key):
        f_y, g_y = obj.smooth_value_and_grad(st.y, X, T)
        eta = st.step_size * 1.25
        first = prox_step(st.y, f_y, g_y, eta)

        def shrink(c):
            eta, _ = c
            return eta * 0.5, prox_step(st.y, f_y, g_y, eta * 0.5)

        eta, (p, f_p, g_p, _) = jax.lax.while_loop(lambda c: c[1][3], shrink, (eta, first))
        m_p = f_p + obj.nonsmooth(p.W)
        accept = jnp.isfinite(m_p) & not_above(m_p, m)
        t_next = 0.5 * (1.0 + jnp.sqrt(1.0 + 4.0 * st.t**2))
        y = jax.tree.map(lambda a, b: a + (st.t - 1.0) / t_next * (a - b), p, params)
        new, grad = select(accept, p, params), select(accept, g_p, st.grad)
        state = FistaState(select(accept, y, params), jnp.where(accept, t_next, 1.0), eta, grad)
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

    return Solver(init, step)


FISTA = SolverRecord(
    "fista",
    fista,
    "accelerated proximal gradient for L1 and elastic net (backtracking, monotone restart)",
    l1=True,
    stops=("tol", "grad_tol"),
    defaults=dict(learning_rate=1.0, epochs=1000, tol=1e-9, grad_tol=1e-6),
    default_for=("l1",),
)
RECORDS = (FISTA,)
