"""Dual coordinate descent: the exact L2-regularised hinge and squared-hinge SVM.

The derivation is in ``docs/optimisers.md`` ("Dual coordinate descent"); the loss owns its dual
box ``(U, D)`` (``Loss.dual``) and the objective the map from weights and ``l2`` to it
(``Objective.dual_problem``).
"""

from __future__ import annotations

from jaxlin._lazy import module
from jaxlin.records import Hyper, Problem, Settings, Solver, SolverRecord, Step
from jaxlin.solvers.gradient import epoch_order

jax, jnp = module("jax"), module("jax.numpy")
linear = module("jaxlin.linear")


def dual_coordinate_descent(problem: Problem, hyper: Hyper, s: Settings) -> Solver:
    """Hsieh et al.'s dual coordinate descent (liblinear's dual SVM solvers), without
    shrinking.

    The dual of ``½‖W‖² + Σ C_i L(s_i z_i)`` is ``min_α ½ αᵀ(Q + diag D)α − Σα`` over
    ``0 ≤ α ≤ U`` with ``W = Σ α_i s_i x_i`` kept as it moves. Each epoch visits the rows in
    a fresh random order (``shuffle=False``: in order) and minimises the dual along each
    ``α_i`` exactly, for every column of ``W`` at once (``K`` independent binary problems):
    ``G = s_i x_i W − 1 + D_i α_i``, ``α_i ← min(max(α_i − G / (‖x_i‖² + D_i), 0), U_i)``,
    ``W ← W + (Δα_i s_i) x_i``. Its optimality measure is liblinear's: the spread
    ``max − min`` of the projected gradient over the epoch's visits, the largest over the
    columns; the run ends (``gradient_tol``) once it is under ``grad_tol``. Starts at
    ``α = 0``, ``W = 0``; the intercept stays 0 (liblinear's is a constant feature's weight).
    """
    X, T, obj = problem.X, problem.T, problem.objective
    n = s.n_rows or X.shape[0]
    sign, upper, diag = obj.dual_problem(T, n)
    ones = linear.Params(jnp.ones((X.shape[1], 1), X.dtype), jnp.zeros(1, X.dtype))
    curvature = linear.logits(ones, linear.squared(X)) + diag  # ‖x_i‖² + D_i  (N, K)

    def visit(carry, i):
        W, alpha, high, low = carry
        a, u = alpha[i], upper[i]
        G = sign[i] * linear.row_scores(linear.Params(W, 0), X, i) - 1 + diag[i] * a
        projected = jnp.where(a <= 0, jnp.minimum(G, 0), jnp.where(a >= u, jnp.maximum(G, 0), G))
        projected = jnp.where(u > 0, projected, 0)  # a fixed α (weight 0) is optimal as it is
        q = curvature[i]
        moved = jnp.clip(a - G / jnp.where(q > 0, q, 1), 0, u)
        moved = jnp.where((q > 0) & (projected != 0), moved, a)
        W = linear.add_row(W, X, i, (moved - a) * sign[i])
        high, low = jnp.maximum(high, projected), jnp.minimum(low, projected)
        return (W, alpha.at[i].set(moved), high, low), None

    def init(params):
        return jnp.zeros_like(T), obj.value(params, X, T)

    def step(params, alpha, m, key):
        K = T.shape[1]
        start = (params.W, alpha, jnp.full(K, -jnp.inf, X.dtype), jnp.full(K, jnp.inf, X.dtype))
        (W, alpha, high, low), _ = jax.lax.scan(visit, start, epoch_order(key, n, s.shuffle))
        new = linear.Params(W, params.b)
        nan = jnp.asarray(jnp.nan, X.dtype)  # no step size
        spread = jnp.max(high - low)  # the driver's grad_tol bounds it
        return Step(new, alpha, obj.value(new, X, T), None, nan, optimality=spread)

    return Solver(init, step)


DCD = SolverRecord(
    "dcd",
    dual_coordinate_descent,
    "dual coordinate descent: the exact L2-regularised hinge / squared-hinge SVM",
    targets=("binary",),
    stops=("grad_tol",),
    learning_rate=False,
    dual=True,
    defaults=dict(learning_rate=1.0, epochs=1000, grad_tol=1e-4),
)
RECORDS = (DCD,)
