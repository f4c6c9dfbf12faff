"""Newton's method with the explicit Hessian, a Cholesky solve and a backtracking line search:
for ``(d+1) K`` up to a few thousand (``K`` blocks of ``(d+1)²`` for a loss whose curvature is
diagonal). Full batch, smooth objectives."""

from __future__ import annotations

from jaxlin._lazy import module
from jaxlin.records import (
    Hyper,
    Problem,
    Settings,
    Solver,
    SolverRecord,
    Step,
    every,
    first_value,
    held_grad,
    not_above,
    select,
)
from jaxlin.solvers.newton import NewtonState, flat

jax, jnp = module("jax"), module("jax.numpy")

MAX_PARAMETERS = 4096  # (d + 1) K; its Hessian then holds 16.8 million numbers (134 MB)
flatten_util, hessian = module("jax.flatten_util"), module("jaxlin.hessian")
linear = module("jaxlin.linear")


def newton_direction(H, g):
    """``p = −H⁻¹ g`` by a Cholesky solve. A singular ``H`` (an unpenalised multinomial
    model, whose scores may all shift by one constant; duplicated features, or more
    features than rows, without a penalty) is solved again as ``H + λI`` with
    ``λ = √ε · max|diag H|``, which leaves ``p`` out of ``H``'s null space (``g`` has no part
    there): from a start in the data's span, the steps stay there and reach the optimum of
    least norm, as a least-squares solver's; if that fails too, or ``p`` is no descent
    direction, ``p = −g``."""

    def damped(_):
        lam = jnp.sqrt(jnp.finfo(H.dtype).eps) * jnp.max(jnp.abs(jnp.diag(H)))
        L_damped = jnp.linalg.cholesky(H + lam * jnp.eye(H.shape[0], dtype=H.dtype))
        return jax.scipy.linalg.cho_solve((L_damped, True), -g)

    L, ok = hessian.cholesky_factor(H)
    p = jax.lax.cond(ok, lambda _: jax.scipy.linalg.cho_solve((L, True), -g), damped, None)
    return jnp.where(every(jnp.isfinite(p)) & (g @ p < 0), p, -g)


def _solve_blocks(L, G):
    """``−H_k⁻¹ g_k`` for each row ``g_k`` of ``G`` ``(K, n)`` from the blocks' Cholesky
    factors ``L`` ``(K, n, n)``, or one factor ``(1, n, n)`` that all ``K`` share."""
    if L.shape[0] == 1:
        return jax.scipy.linalg.cho_solve((L[0], True), -G.T).T
    return jax.vmap(lambda F, g: jax.scipy.linalg.cho_solve((F, True), -g))(L, G)


def block_direction(H, G):
    """``newton_direction`` for a block-diagonal Hessian: ``H`` ``(K, n, n)`` or one shared
    block ``(1, n, n)``, ``G`` ``(K, n)`` each block's part of the gradient; ``(K, n)``. A
    block that fails (or is singular up to rounding) is solved again damped as there
    (every block, then), and a block whose step is no descent direction takes ``−g_k``."""

    def damped(_):
        diag = jnp.abs(jnp.diagonal(H, axis1=1, axis2=2))
        lam = jnp.sqrt(jnp.finfo(H.dtype).eps) * jnp.max(diag, axis=1)
        eye = jnp.eye(H.shape[1], dtype=H.dtype)
        return _solve_blocks(jnp.linalg.cholesky(H + lam[:, None, None] * eye), G)

    L, ok = hessian.cholesky_factor(H)
    P = jax.lax.cond(ok, lambda _: _solve_blocks(L, G), damped, None)
    descent = every(jnp.isfinite(P), axis=1) & (jnp.sum(G * P, axis=1) < 0)
    return jnp.where(descent[:, None], P, -G)


def _blocks_direction(obj, X, T):
    """``(params, Z, grad) ↦ p`` from the Hessian's diagonal blocks
    (``jaxlin.hessian.curvature_blocks``), one block summed and factored when every output
    has the same curvatures (a squared error's), one per output otherwise."""

    def at(params, Z, grad):
        c = obj.curvature_diagonals(params, X, T, Z)  # (N, K)
        G = jnp.concatenate([grad.W, grad.b[None]], axis=0).T  # (K, d+1): [W[:, k]; b_k]
        P = jax.lax.cond(
            every(c == c[:, :1]),
            lambda: block_direction(hessian.curvature_blocks(obj, X, c[:, :1]), G),
            lambda: block_direction(hessian.curvature_blocks(obj, X, c), G),
        )
        return flat(type(grad)(P[:, :-1].T, P[:, -1]))

    return at


def _direction(obj, X, T, sums):
    """``(params, Z, grad) ↦ p``, the Newton direction at ``params`` (scores ``Z``): from
    the Hessian's diagonal blocks for more than one output of a loss whose curvature is
    diagonal, from the whole Hessian otherwise (its sums over ``sums``' copy of ``X`` where
    there is one, ``jaxlin.hessian.hessian_at``)."""
    if hessian.in_blocks(obj, T.shape[1]):
        return _blocks_direction(obj, X, T)
    hessian_at = hessian.hessian_at(obj, X, T, sums)
    return lambda params, Z, g: newton_direction(hessian_at(params, Z), flat(g))


def _prepare(problem: Problem, s: Settings):
    """``SolverRecord.prepare``: the run's ``jaxlin.hessian.low_precision_sums``."""
    return hessian.low_precision_sums(problem.X, s.n_outputs > 1 or s.unpenalised)


def newton_cholesky(problem: Problem, hyper: Hyper, s: Settings) -> Solver:
    """Newton's method with the explicit Hessian (``jaxlin.hessian.hessian_matrix``; for
    ``K > 1`` outputs of a loss whose curvature is diagonal its blocks,
    ``jaxlin.hessian.curvature_blocks``), a Cholesky solve and a backtracking (Armijo) line
    search. A Hessian that is not positive
    definite falls back to the gradient direction. Values are compared up to their
    rounding (``jaxlin.records.not_above``).

    The scores ``Z = X W + b`` are carried from step to step: a step reads ``X`` for the
    Hessian, the scores of the full step (which are the new scores when it is taken whole,
    as it is near the optimum) and the gradient's contraction; a shortened step's scores
    come with its value out of the line search, as does the value at the step taken (the
    loss is evaluated once a step, not again beside the new gradient).
    """
    X, T, obj = problem.X, problem.T, problem.objective
    direction = _direction(obj, X, T, problem.derived)  # _prepare's, made by the driver

    def init(params):
        Z = linear.logits(params, X)
        m, g = obj.smooth_value_and_grad(params, X, T, Z)
        return NewtonState(jnp.asarray(1.0, X.dtype), g, scores=Z), first_value(m, g)

    def step(params, state: NewtonState, m, key):
        unravel = flatten_util.ravel_pytree(params)[1]
        g = flat(state.grad)
        p = direction(params, state.scores, state.grad)
        slope = g @ p

        def value(at):  # m and the scores Z at ``at``
            Z = linear.logits(at, X)
            return obj.smooth_value_and_grad(at, X, T, Z)[0], Z

        def shrink(c):
            a = 0.5 * c[0]
            return (a, *value(jax.tree.map(lambda x, u: x + a * u, params, unravel(p))))

        def too_high(c):
            a, m_a, _ = c
            return ~not_above(m_a, m + 1e-4 * a * slope) & (a > 1e-10)

        whole = jax.tree.map(jnp.add, params, unravel(p))
        start = (jnp.asarray(1.0, X.dtype), *value(whole))
        a, m_new, Z_new = jax.lax.while_loop(too_high, shrink, start)
        new = jax.tree.map(lambda x, u: x + a * u, params, unravel(p))
        g_new = obj.smooth_value_and_grad(new, X, T, Z_new)[1]  # m_new: the search's, there
        accept = jnp.isfinite(m_new) & not_above(m_new, m)
        grad = select(accept, g_new, state.grad)
        return Step(
            select(accept, new, params),
            NewtonState(a, grad, scores=select(accept, Z_new, state.scores)),
            jnp.where(accept, m_new, m),
            grad,
            a,
            accept,
        )

    return Solver(init, step, held_grad)


NEWTON_CHOLESKY = SolverRecord(
    "newton-cholesky",
    newton_cholesky,
    "Newton with the explicit Hessian (Cholesky, backtracking)",
    curvature=True,
    learning_rate=False,
    max_parameters=MAX_PARAMETERS,
    defaults=dict(learning_rate=1.0, epochs=100, tol=1e-9, grad_tol=1e-6),
    prepare=_prepare,
)
RECORDS = (NEWTON_CHOLESKY,)
