"""Dual coordinate descent: the exact L2-regularised hinge, squared-hinge, Crammer–Singer
and Weston–Watkins SVMs.

The derivation is in ``docs/optimisers.md`` ("Dual coordinate descent"); the loss owns its dual
box ``(U, D)`` (``Loss.dual``) and the objective the map from weights and ``l2`` to it
(``Objective.dual_problem``).
"""

from __future__ import annotations

from typing import Any, NamedTuple

from jaxlin._lazy import module
from jaxlin.records import (
    DualPairwise,
    DualSimplex,
    Hyper,
    Problem,
    Settings,
    Solver,
    SolverRecord,
    Step,
    every,
    some,
)
from jaxlin.solvers.gradient import epoch_order

jax, jnp = module("jax"), module("jax.numpy")
linear = module("jaxlin.linear")


class DualState(NamedTuple):
    """The dual variables ``alpha`` ``(N, K)``, which of them are still visited (``active``,
    liblinear's shrinking), and the last epoch's projected-gradient bounds ``(K,)`` that
    decide the shrinking (``±inf``: none)."""

    alpha: Any
    active: Any
    high: Any
    low: Any


def dual_coordinate_descent(problem: Problem, hyper: Hyper, s: Settings) -> Solver:
    """Hsieh et al.'s dual coordinate descent with shrinking (liblinear's dual SVM solvers).

    The dual of ``½‖W‖² + Σ C_i L(s_i z_i)`` is ``min_α ½ αᵀ(Q + diag D)α − Σα`` over
    ``0 ≤ α ≤ U`` with ``W = Σ α_i s_i x_i`` kept as it moves. Each epoch visits the active
    rows in a fresh random order (``shuffle=False``: in order) and minimises the dual along
    each ``α_i`` exactly, for every column of ``W`` at once (``K`` independent binary
    problems): ``G = s_i x_i W − 1 + D_i α_i``,
    ``α_i ← min(max(α_i − G / (‖x_i‖² + D_i), 0), U_i)``, ``W ← W + (Δα_i s_i) x_i``.
    Shrinking (with ``grad_tol``): an ``α_i`` at a bound whose ``G`` points out of the box
    beyond the last epoch's projected gradients leaves the visits; once the rest has
    converged every one comes back for a full epoch. The optimality measure is
    liblinear's: the spread ``max − min`` of the projected gradient over an epoch that
    visited every row (NaN after one that did not), the largest over the columns; the
    driver ends the run (``gradient_tol``) once it is under ``grad_tol``. Starts at
    ``α = 0``, ``W = 0``; the intercept stays 0 (liblinear's is a constant feature's weight).
    """
    form = problem.objective.dual_problem(problem.T, s.real_rows(problem.X))
    if isinstance(form, DualSimplex):
        return _simplex_descent(problem, hyper, s, form)
    if isinstance(form, DualPairwise):
        return _pairwise_descent(problem, s, form)
    return _box_descent(problem, hyper, s, form)


def _box_descent(problem: Problem, hyper: Hyper, s: Settings, form) -> Solver:
    """The binary duals' loop (``dual_coordinate_descent``): ``form`` is the signs, upper
    bounds and diagonal ``(s, U, D)`` of ``Objective.dual_problem``."""
    X, T, obj = problem.X, problem.T, problem.objective
    n = s.real_rows(X)
    sign, upper, diag = form
    curvature = linear.row_norms(X)[:, None] + diag  # ‖x_i‖² + D_i  (N, K)
    # without grad_tol nothing decides when the shrunk variables come back: no shrinking
    shrinking, eps = bool(s.grad_tol), hyper.grad_tol if s.grad_tol else -1.0

    def visit(carry, j, i, a, on, old_high, old_low):
        """Row ``i``, the epoch's ``j``-th, with its variables ``a`` and activity ``on``
        as the epoch found them; writes their new values at ``j`` of the epoch's arrays."""
        W, alphas, actives, high, low = carry
        u = upper[i]
        G = sign[i] * linear.row_scores(linear.Params(W, 0), X, i) - 1 + diag[i] * a
        at_low, at_high = a <= 0, a >= u
        shrink = on & (u > 0) & ((at_low & (G > old_high)) | (at_high & (G < old_low)))
        shrink = shrink & shrinking
        projected = jnp.where(at_low, jnp.minimum(G, 0), jnp.where(at_high, jnp.maximum(G, 0), G))
        projected = jnp.where(on & ~shrink & (u > 0), projected, 0)  # fixed α: optimal as it is
        q = curvature[i]  # 0 only for an empty row of the hinge: f is then linear in α_i
        target = jnp.where(q > 0, a - G / jnp.where(q > 0, q, 1), jnp.where(G < 0, u, 0))
        moved = jnp.where(projected != 0, jnp.clip(target, 0, u), a)
        W = linear.add_row(W, X, i, (moved - a) * sign[i])
        high, low = jnp.maximum(high, projected), jnp.minimum(low, projected)
        return W, alphas.at[j].set(moved), actives.at[j].set(on & ~shrink), high, low

    def init(params):
        K, inf = T.shape[1], jnp.full(T.shape[1], jnp.inf, X.dtype)
        state = DualState(jnp.zeros_like(T), jnp.ones((T.shape[0], K), bool), inf, -inf)
        return state, obj.value(params, X, T)

    def step(params, state: DualState, m, key):
        order = epoch_order(key, n, s.shuffle)
        visited = some(state.active[order], axis=1)
        order = order[jnp.argsort(~visited, stable=True)]  # the active rows first
        full = every(state.active[:n] | (upper[:n] <= 0), axis=0)  # (K,)
        K = T.shape[1]
        bounds = jnp.full(K, -jnp.inf, X.dtype), jnp.full(K, jnp.inf, X.dtype)  # high, low
        # an epoch visits each row at most once: its variables are read as the epoch found
        # them and written in the epoch's order, then put back in place. Carried through
        # the loop and updated at row i, the (N, K) arrays were copied at every visit (XLA
        # could not update them in place), a cost growing with N.
        found_alpha, found_active = state.alpha[order], state.active[order]
        start = (params.W, found_alpha, found_active, *bounds)

        def body(j, carry):
            a, on = found_alpha[j], found_active[j]
            return visit(carry, j, order[j], a, on, state.high, state.low)

        W, alphas, actives, high, low = jax.lax.fori_loop(0, jnp.sum(visited), body, start)
        alpha = state.alpha.at[order].set(alphas, unique_indices=True)
        active = state.active.at[order].set(actives, unique_indices=True)
        spread = high - low
        done = spread <= eps
        # converged on a shrunk set: every variable back for a full epoch, no bounds
        back = done & ~full
        active = active | back
        inf = jnp.full(K, jnp.inf, X.dtype)
        high = jnp.where(back | (high <= 0), inf, high)
        low = jnp.where(back | (low >= 0), -inf, low)
        new = linear.Params(W, params.b)
        nan = jnp.asarray(jnp.nan, X.dtype)  # no step size; no spread measured on a shrunk set
        optimality = jnp.where(every(full), jnp.max(spread), nan)
        value = obj.value(new, X, T)
        return Step(
            new, DualState(alpha, active, high, low), value, None, nan, optimality=optimality
        )

    return Solver(init, step)


def _row_descent(problem: Problem, s: Settings, move) -> Solver:
    """The sequential dual method's loop, for the duals whose variables of a row are coupled
    (Crammer–Singer's, Weston–Watkins's; no shrinking): each epoch visits the rows in a
    fresh random order (``shuffle=False``: in order), and at row ``i``
    ``move(W, a, i) → (a_new, v, violation)`` gives its variables' new values, the step
    ``W ← W + x_iᵀ v`` that keeps ``W`` the dual's map of them, and how far they were from
    optimal. The epoch's largest violation is the optimality measure; the driver ends the
    run (``gradient_tol``) once it is under ``grad_tol``. Starts at 0, ``W = 0``."""
    X, T, obj = problem.X, problem.T, problem.objective
    n = s.real_rows(X)

    def visit(carry, row):
        W, worst = carry
        i, a = row
        moved, v, violation = move(W, a, i)
        W = linear.add_row(W, X, i, v)
        return (W, jnp.maximum(worst, violation)), moved

    def init(params):
        return jnp.zeros_like(T), obj.value(params, X, T)

    def step(params, alpha, m, key):
        # an epoch visits each row once, so its variables are read as the epoch found them
        # and written back after it: carried through the loop, the (N, K) array was copied
        # at every visit (XLA could not update it in place), a cost growing with N
        order = epoch_order(key, n, s.shuffle)
        start = (params.W, jnp.zeros((), X.dtype))
        (W, worst), moved = jax.lax.scan(visit, start, (order, alpha[order]))
        alpha = alpha.at[order].set(moved, unique_indices=True)
        new = linear.Params(W, params.b)
        nan = jnp.asarray(jnp.nan, X.dtype)  # no step size
        return Step(new, alpha, obj.value(new, X, T), None, nan, optimality=worst)

    return Solver(init, step)


def _simplex_descent(problem: Problem, hyper: Hyper, s: Settings, form) -> Solver:
    """Crammer–Singer's dual by Keerthi et al.'s sequential dual method (liblinear's
    ``MCSVM_CS``; ``_row_descent``): at each visit the ``K`` variables ``α_i`` of one row
    move together to the exact minimiser of the dual over their set ``Σ_k α_ik = 0``,
    ``α_i ≤ U_i`` (``simplex_step``), and ``W ← W + x_iᵀ Δα_i``. The violation is
    ``max_k G_k − min_{k: α_ik < U_ik} G_k`` with ``G = x_i W + cost_i`` (mass can move to a
    class below its bound)."""
    X = problem.X
    upper, cost = form
    norms = linear.row_norms(X)

    def move(W, a, i):
        u, q = upper[i], norms[i]
        G = linear.row_scores(linear.Params(W, 0), X, i) + cost[i]
        violation = jnp.max(G) - jnp.min(jnp.where(a < u, G, jnp.inf))
        # an empty row's variables move no weight, a weight-0 row's are fixed: both optimal
        violation = jnp.where((q > 0) & (jnp.sum(u) > 0), jnp.maximum(violation, 0), 0)
        moved = jnp.where(violation > 0, simplex_step(q, G - q * a, u), a)
        return moved, moved - a, violation

    return _row_descent(problem, s, move)


def _pairwise_descent(problem: Problem, s: Settings, form) -> Solver:
    """Weston–Watkins's dual by the same sequential method (``_row_descent``): at each visit
    the variables ``β_i`` of one row (one per wrong class) move together to the exact
    minimiser of the dual over their box (``pairwise_step``: they share the true class's
    column, so they are coupled), and ``W ← W + x_iᵀ (t_i ΣΔβ_i − Δβ_i)``. The violation is
    the largest projected-gradient entry (the gradient ``G_m = z_y − z_m − cost_m +
    D_m β_m``, kept to its box's inside at a bound)."""
    X = problem.X
    target, upper, diag, cost = form
    norms = linear.row_norms(X)

    def move(W, a, i):
        u, d, t = upper[i], diag[i], target[i]
        z = linear.row_scores(linear.Params(W, 0), X, i)
        g = jnp.sum(t * z) - z - cost[i]  # the data part's gradient: z_y − z_m − cost_m
        G = g + d * a
        projected = jnp.where(a <= 0, jnp.minimum(G, 0), jnp.where(a >= u, jnp.maximum(G, 0), G))
        violation = jnp.max(jnp.abs(jnp.where(u > 0, projected, 0)))  # U = 0: fixed at 0
        moved = jnp.where(violation > 0, pairwise_step(norms[i], a, g, u, d), a)
        dbeta = moved - a
        return moved, t * jnp.sum(dbeta) - dbeta, violation

    return _row_descent(problem, s, move)


def pairwise_step(q, a, g, u, d):
    """``argmin`` over ``0 ≤ b ≤ u`` of ``½ q ‖b − a‖² + ½ q (Σ(b − a))² + gᵀ(b − a) +
    Σ d b² / 2`` (one row of Weston–Watkins's dual, ``q = ‖x‖²``; ``u = 0`` keeps an entry
    at 0): ``b_m = clip(r_m (c_m − S), 0, u_m)`` with ``r = q / (q + d)``,
    ``c = a − g / q`` and ``S = Σ(b − a)``, the root of a decreasing piecewise-linear
    function whose pieces end where an entry reaches a bound (``docs/optimisers.md``). An
    empty row (``q = 0``) moves no weight: each entry minimises its own term."""
    safe = jnp.where(q > 0, q, 1)
    r, c = safe / (safe + d), a - g / safe
    top = c - jnp.where(jnp.isinf(u), jnp.inf, u / r)  # where b_m reaches u_m (−inf: never)
    P = jnp.concatenate([c, top])  # the pieces' ends
    finite = jnp.isfinite(P)
    at = jnp.where(finite, P, 0)
    h = jnp.sum(jnp.clip(r * (c - at[:, None]), 0, u), axis=1) - jnp.sum(a) - at
    p = jnp.max(jnp.where(finite & (h >= 0), P, -jnp.inf))  # the root's piece starts at p
    free, full = (top <= p) & (p < c), p < top
    S = (jnp.sum(jnp.where(full, u, 0)) + jnp.sum(jnp.where(free, r * c, 0)) - jnp.sum(a)) / (
        1 + jnp.sum(jnp.where(free, r, 0))
    )
    alone = jnp.where(d > 0, -g / jnp.where(d > 0, d, 1), jnp.where(g < 0, jnp.inf, 0))
    return jnp.where(q > 0, jnp.clip(r * (c - S), 0, u), jnp.clip(alone, 0, u))


def simplex_step(A, B, u):
    """``argmin ½ A ‖α‖² + Bᵀα`` over ``Σ_k α_k = 0``, ``α ≤ u`` (``u ≥ 0``, ``A > 0``):
    ``α_k = min(u_k, (β − B_k) / A)`` with ``β`` the mean of the ``r`` largest
    ``D_k = B_k + A u_k`` less ``A Σu / r``, ``r`` the first count at which the next ``D``
    would not exceed it (``docs/optimisers.md``; Crammer and Singer's fixed point)."""
    D = jnp.sort(B + A * u)[::-1]
    r = jnp.arange(1, D.shape[0] + 1, dtype=D.dtype)
    num = jnp.cumsum(D) - A * jnp.sum(u)  # r β for the r largest
    more = num[:-1] < r[:-1] * D[1:]  # the (r + 1)-th largest still above β_r
    count = 1 + jnp.sum(jnp.cumprod(more))
    beta = num[count - 1] / count
    return jnp.minimum(u, (beta - B) / jnp.where(A > 0, A, 1))


DCD = SolverRecord(
    "dcd",
    dual_coordinate_descent,
    "dual coordinate descent: the exact L2-regularised SVM (hinge, squared hinge, "
    "Crammer–Singer, Weston–Watkins)",
    targets=("binary", "onehot"),
    stops=("grad_tol",),
    learning_rate=False,
    dual=True,
    visits_rows=True,
    defaults=dict(learning_rate=1.0, epochs=1000, grad_tol=1e-4),
)
RECORDS = (DCD,)
