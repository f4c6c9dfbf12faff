"""Newton's method: a trust-region Newton-CG (Steihaug's truncated conjugate gradient on the
hand-derived Hessian-vector product, diagonally preconditioned, as LIBLINEAR's TRON). Full
batch, smooth objectives."""

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

jax, jnp = module("jax"), module("jax.numpy")
flatten_util, linear = module("jax.flatten_util"), module("jaxlin.linear")
hessian = module("jaxlin.hessian")

TR_ACCEPT, TR_SHRINK, TR_GROW = 1e-4, 0.25, 0.75  # ρ thresholds of the trust region
MAX_CG = 250  # conjugate-gradient steps per Newton step, at most
FLAT_CURVATURE = 100  # dᵀHd ≤ 100 ε max(curvature seen) dᵀd: no curvature (rounding)


def steihaug(g, hvp, radius, tol, max_iter, a_zero):
    """Truncated CG for ``min_p gᵀp + ½ pᵀHp`` subject to ``‖p‖ ≤ radius`` (Steihaug).

    Stops when the residual ``‖Hp + g‖ ≤ tol``, at the boundary (then ``p`` is extended to
    ``‖p‖ = radius``), at a direction without curvature, or after ``max_iter`` steps. A
    direction has none when ``dᵀHd`` is at most ``FLAT_CURVATURE · ε`` times the largest
    curvature seen per unit length (``dᵀHd / dᵀd``) — below zero, or within rounding of it.
    The first direction, ``−g``, then goes to the boundary (the model falls linearly along
    it); a later one ends CG at the point reached, which lowers the model at least as much
    as the first step did (why: ``docs/second-order.md``). Flat vectors;
    ``hvp`` maps ``v ↦ (Hv, Av)`` for some linear map ``A`` besides ``H`` (the scores' move
    along ``v``; any array, ``a_zero`` its zero). Returns ``(p, Hp, Ap, steps)``: ``Hp`` and
    ``Ap`` are carried along (each step moves ``p`` along ``d``, and them along ``Hd`` and
    ``Ad``, which the step computes anyway), so the model's value at ``p`` and ``Ap`` cost
    no further product.
    """

    def boundary_step(z, d):  # τ ≥ 0 with ‖z + τ d‖ = radius
        a, b, c = d @ d, 2.0 * (z @ d), z @ z - radius**2
        return (-b + jnp.sqrt(jnp.maximum(b * b - 4.0 * a * c, 0.0))) / (2.0 * a)

    def body(c):
        z, Hz, Az, r, d, rr, j, _, peak = c
        Hd, Ad = hvp(d)
        dHd, dd = d @ Hd, d @ d
        flat_d = dHd <= FLAT_CURVATURE * jnp.finfo(dHd.dtype).eps * peak * dd
        alpha = rr / jnp.where(flat_d, 1.0, dHd)
        out = (flat_d & (j == 0)) | (~flat_d & (jnp.linalg.norm(z + alpha * d) >= radius))
        step = jnp.where(out, boundary_step(z, d), jnp.where(flat_d, 0.0, alpha))
        r_next = r + alpha * Hd
        rr_next = r_next @ r_next
        done = out | flat_d | (jnp.sqrt(rr_next) <= tol)
        d_next = -r_next + rr_next / jnp.where(rr > 0, rr, 1.0) * d
        peak = jnp.maximum(peak, dHd / jnp.where(dd > 0, dd, 1.0))  # curvature per unit length
        z, Hz, Az = z + step * d, Hz + step * Hd, Az + step * Ad
        return z, Hz, Az, r_next, d_next, rr_next, j + 1, done, peak

    zero = jnp.zeros_like(g)
    peak = jnp.zeros((), g.dtype)  # the largest curvature per unit length seen
    start = (zero, zero, a_zero, g, -g, g @ g, jnp.asarray(0), jnp.sqrt(g @ g) <= tol, peak)
    z, Hz, Az, *_, steps, _, _ = jax.lax.while_loop(
        lambda c: ~c[7] & (c[6] < max_iter), body, start
    )
    return z, Hz, Az, steps


PRECONDITION = 0.01  # α of the preconditioner M = α diag(∇²m) + (1 − α) 2 l2 (0: none)
# d + 1 up to which a one-output model's CG is preconditioned by the Hessian itself: its
# N (d+1)² float32 products cost about (d+1)/8 Hessian-vector products (4 N (d+1) float64
# products each), at most 8
FULL_PRECONDITIONER = 64


def whole_hessian_preconditions(problem: Problem, s: Settings) -> bool:
    """Whether CG is preconditioned by the Cholesky factor of the whole Hessian (one output,
    ``d + 1 ≤ FULL_PRECONDITIONER``) rather than by its diagonal."""
    return s.n_outputs == 1 and problem.X.shape[-1] + 1 <= FULL_PRECONDITIONER


def preconditioner(diag, l2, flat):
    """``M^-½`` (flat) of the diagonal preconditioner ``M = α diag(∇²m) + (1 − α) 2 l2``:
    Jacobi's, mixed with the penalty's own curvature (the mixture LIBLINEAR's TRON uses, as
    pure Jacobi can slow CG down). The intercept is never penalised: its entries take
    ``min(2 l2, its curvature)``, so a strong penalty cannot put them far above the curvature
    they have (its steps were then far too short). A direction with no curvature at all is
    left unscaled."""
    if diag is None:
        return 1.0
    floor = linear.Params(jnp.full_like(diag.W, 2.0 * l2), jnp.minimum(2.0 * l2, diag.b))
    m = PRECONDITION * flat(diag) + (1.0 - PRECONDITION) * flat(floor)
    tiny = jnp.sqrt(jnp.finfo(m.dtype).tiny)
    return jnp.where(m > tiny, 1.0 / jnp.sqrt(jnp.where(m > tiny, m, 1.0)), 1.0)


def next_radius(rho, pnorm, radius):
    """The trust region after a step of length ``pnorm`` with ratio ``ρ``: ×¼ of the step
    below 0.25, ×2 above 0.75 at the boundary, else kept; within ``[ε, 1e10]``."""
    grown = jnp.where((rho > TR_GROW) & (pnorm >= 0.99 * radius), 2.0 * radius, radius)
    new = jnp.where(rho < TR_SHRINK, TR_SHRINK * pnorm, grown)
    return jnp.clip(new, jnp.finfo(new.dtype).eps, 1e10)


def _verdict(m, m_new, predicted, gnorm, gnorm_new):
    """``(accept, exhausted, ρ)`` for a step the model says lowers ``m`` by ``predicted``.

    Accepted when ``ρ = (m − m_new)/predicted > TR_ACCEPT``. When the model promises less
    than the float resolution of ``m`` (exhausted: nothing is left to gain in this precision),
    ``ρ`` is a ratio of rounding errors and decides nothing: the step is kept only if ``m``
    did not rise beyond its resolution and the gradient did not grow (else it moved by
    rounding alone).
    """
    rho = (m - m_new) / jnp.where(predicted > 0, predicted, 1.0)
    exhausted = predicted <= float_resolution(m)
    resolved = exhausted & not_above(m_new, m) & (gnorm_new <= gnorm)
    accept = jnp.isfinite(m_new) & (predicted > 0) & jnp.where(exhausted, resolved, rho > TR_ACCEPT)
    return accept, exhausted, rho


class NewtonState(NamedTuple):
    radius: Any  # the trust region (newton) or the last step length (newton-cholesky)
    grad: Any  # the smooth gradient at the current parameters
    plain: Any = False  # newton: the preconditioner is off (its path met rounding)
    scores: Any = None  # Z = X W + b at the current parameters
    diag: Any = None  # newton: the Hessian's diagonal there (None without the preconditioner)


def flat(tree):
    """A pytree of parameters as one vector."""
    return flatten_util.ravel_pytree(tree)[0]


def _prepare(problem: Problem, s: Settings):
    """``SolverRecord.prepare``, once a run: the float32 copy of ``X`` the whole Hessian is
    summed over (``jaxlin.hessian.low_precision_sums``; in ``X``'s precision without an L2
    term, whose singular Hessian then has no factor and leaves CG unpreconditioned), or the
    squares ``X ⊙ X`` the diagonal preconditioner contracts
    (``jaxlin.linear.squares_to_keep``; ``None`` for sparse rows or without it)."""
    if whole_hessian_preconditions(problem, s):
        return hessian.low_precision_sums(problem.X, s.unpenalised)
    return linear.squares_to_keep(problem.X) if PRECONDITION > 0 else None


def _parts(problem: Problem, s: Settings):
    """``(unravel, the CG steps allowed, (params, Z) ↦ (m, g, diag ∇²m or None))``: the
    flat parameters' shape and what a Newton step evaluates at a point given its scores."""
    X, T, obj = problem.X, problem.T, problem.objective
    p0 = obj.mask_bias(
        linear.Params(
            jnp.zeros((X.shape[1], s.n_outputs), X.dtype), jnp.zeros((s.n_outputs,), X.dtype)
        )
    )
    precondition = PRECONDITION > 0 and not whole_hessian_preconditions(problem, s)
    X2 = problem.derived  # _prepare's, made by the driver

    def value_grad_diagonal(params, Z):
        if not precondition:
            return (*obj.smooth_value_and_grad(params, X, T, Z), None)
        return obj.smooth_value_grad_and_diagonal(params, X, T, Z, X2)

    size = p0.W.size + p0.b.size
    return flatten_util.ravel_pytree(p0)[1], min(MAX_CG, size), value_grad_diagonal


def _preconditioners(problem: Problem, s: Settings):
    """``(params, state) ↦ (v ↦ L⁻¹ v, v ↦ L⁻ᵀ v)`` for the preconditioner ``M = L Lᵀ`` at
    ``params``: the whole Hessian's Cholesky factor (``whole_hessian_preconditions``; the
    identity where it has none, or where the run has gone on without a preconditioner), or
    ``M^½`` of the diagonal one (``preconditioner``), for which both maps are one scaling."""
    obj = problem.objective
    if not whole_hessian_preconditions(problem, s):

        def diagonal(params, state: NewtonState):
            scale = jnp.where(state.plain, 1.0, preconditioner(state.diag, obj.penalty.l2, flat))
            return (lambda v: scale * v,) * 2

        return diagonal
    hessian_at = hessian.hessian_at(obj, problem.X, problem.T, problem.derived)
    solve = jax.scipy.linalg.solve_triangular

    def whole(params, state: NewtonState):
        L, ok = hessian.cholesky_factor(hessian_at(params, state.scores))
        L = jnp.where(ok & ~state.plain, L, jnp.eye(L.shape[0], dtype=L.dtype))
        return (lambda v: solve(L, v, lower=True), lambda v: solve(L, v, lower=True, trans="T"))

    return whole


def newton(problem: Problem, hyper: Hyper, s: Settings) -> Solver:
    """Trust-region Newton-CG on the hand-derived gradient and Hessian-vector product.

    One epoch = one outer step: a Steihaug-CG solve of the Newton system to the relative
    residual ``min(0.5, √‖g‖)`` (quadratic convergence near the optimum), preconditioned by
    ``M = α diag(∇²m) + (1 − α) 2 l2`` (``preconditioner``) or, for one output and
    ``d + 1 ≤ FULL_PRECONDITIONER``, by ``M = ∇²m`` itself, summed in float32 and factored
    (``M = L Lᵀ``; CG then solves the system to ``√ε`` in two or three steps, its products
    in the data's precision: ``_forcing``); the trust region is ``‖M^½ p‖ ≤ radius`` (``‖Lᵀ p‖``;
    ``docs/second-order.md``), then the ratio ``ρ``
    of actual to predicted decrease accepts the step (``ρ > 1e-4``) and resizes the region
    (×¼ below 0.25, ×2 above 0.75 at the boundary). When the model promises less than the
    float resolution of ``m`` the ratio is rounding: the step is kept unless it raised ``m``
    beyond that resolution; the first time, the run goes on without the preconditioner (its
    path leaves a larger gradient in weakly curved directions), the second it stops
    (``rounding``). The history's
    ``learning_rate`` is the radius and ``inner_steps`` the CG steps.
    """
    X, T, obj = problem.X, problem.T, problem.objective
    unravel, max_cg, value_grad_diagonal = _parts(problem, s)
    preconditioned, forcing = _preconditioners(problem, s), _forcing(problem, s)

    def step(params, state: NewtonState, m, key):
        g = flat(state.grad)
        # in the variables q = Lᵀ p (M = L Lᵀ): CG on L⁻¹ H L⁻ᵀ, the region ‖Lᵀ p‖ ≤ radius;
        # the products at the carried scores, each with how it moves them (X v_W + v_b)
        H = obj.newton_system(params, X, T, state.scores)
        left, right = preconditioned(params, state)  # v ↦ L⁻¹ v, v ↦ L⁻ᵀ v

        def hvp(v):
            h, U = H(unravel(right(v)))
            return left(flat(h)), U

        gnorm = jnp.linalg.norm(g)
        gs = left(g)
        first = jnp.maximum(jnp.linalg.norm(gs), 1.0)  # (init's rule, in these variables)
        radius = jnp.where(jnp.isnan(state.radius), first, state.radius)
        q, Hq, U, cg_steps = steihaug(
            gs,
            hvp,
            radius,
            forcing(gnorm) * jnp.linalg.norm(gs),
            max_cg,
            jnp.zeros_like(state.scores),
        )
        p = right(q)
        predicted = -(gs @ q + 0.5 * q @ Hq)
        new = jax.tree.map(jnp.add, params, unravel(p))
        Z_new = state.scores + U  # the scores are linear: X (W + p_W) + b + p_b
        m_new, g_new, diag_new = value_grad_diagonal(new, Z_new)  # diag: the next step's
        accept, exhausted, rho = _verdict(m, m_new, predicted, gnorm, jnp.linalg.norm(flat(g_new)))
        radius = next_radius(rho, jnp.linalg.norm(q), radius)
        grad = select(accept, g_new, state.grad)
        # rounding met on the preconditioned path: go on without the preconditioner, whose
        # steps still resolve the weakly curved directions (float32: ‖∇J‖ 2e-6 → 6e-8), in
        # a trust region of the plain variables; rounding met again ends the run
        switch = exhausted & ~state.plain
        radius = jnp.where(switch, jnp.maximum(jnp.linalg.norm(flat(grad)), 1.0), radius)
        return Step(
            select(accept, new, params),
            NewtonState(
                radius,
                grad,
                state.plain | exhausted,
                select(accept, Z_new, state.scores),
                select(accept, diag_new, state.diag),
            ),
            jnp.where(accept, m_new, m),
            grad,
            radius,
            (accept | exhausted) & ~switch,
            jnp.where(exhausted & ~switch, ROUNDING, RUNNING),
            inner_steps=cg_steps.astype(X.dtype),
        )

    return Solver(_init(problem, s, value_grad_diagonal), step, held_grad)


def _init(problem: Problem, s: Settings, value_grad_diagonal):
    """Newton's ``init``: the first state, its trust region ``max(‖M^-½ g‖, 1)`` — left to
    the first step (NaN) under the whole Hessian's factor, which comes with that step."""
    X, obj = problem.X, problem.objective
    whole = whole_hessian_preconditions(problem, s)

    def init(params):
        Z = linear.logits(params, X)
        m, g, diag = value_grad_diagonal(params, Z)
        gs = preconditioner(diag, obj.penalty.l2, flat) * flat(g)
        radius = jnp.full((), jnp.nan, X.dtype) if whole else jnp.maximum(jnp.linalg.norm(gs), 1.0)
        plain = jnp.asarray(diag is None and not whole)
        return NewtonState(radius, g, plain, Z, diag), first_value(m, g)

    return init


def _forcing(problem: Problem, s: Settings):
    """``‖g‖ ↦`` CG's relative residual: ``min(0.5, √‖g‖)`` under the diagonal preconditioner
    (inexact Newton, quadratic near the optimum); ``√ε`` under the whole Hessian's factor —
    the Newton system solved, in two or three CG steps, for the factor's float32 rounding
    not to stay in the direction (where it would depend on the order of the sums: twice a
    row's weight and the row twice would part by 1e-6)."""
    if whole_hessian_preconditions(problem, s):
        exact = jnp.sqrt(jnp.finfo(problem.X.dtype).eps)
        return lambda gnorm: exact
    return lambda gnorm: jnp.minimum(0.5, jnp.sqrt(gnorm))


NEWTON = SolverRecord(
    "newton",
    newton,
    "trust-region Newton-CG on the hand-derived Hessian-vector product",
    curvature=True,
    learning_rate=False,
    stops=("tol", "grad_tol", "step_tol"),
    aliases=("newton-cg",),
    default_for=("smooth",),
    defaults=dict(learning_rate=1.0, epochs=100, tol=1e-9, grad_tol=1e-6),
    prepare=_prepare,
)
RECORDS = (NEWTON,)
