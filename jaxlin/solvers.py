"""The solvers: each a small ``init``/``step`` pair run by :mod:`jaxlin.driver`.

A solver is a factory ``make(problem, hyper, settings) → Solver(init, step)``; what it builds
once (the optax transformation, the batch layout) is built outside the loop. It sees only the
minimised objective ``m`` of :class:`~jaxlin.objective.Objective` — never a loss name, a sign,
a weight or an intercept mask — and the stopping rules are the driver's. A solver only reports
its own end: the perceptron once every example is classified, Newton once the decrease its
model promises is below the float resolution of ``m`` (``objective_tol``).

* gradient descent — with a ``batch_size`` each epoch is a ``lax.scan`` over a fresh
  permutation of the training rows; without one, a full-batch step. **Last partial batch:**
  when ``B`` does not divide ``N`` the epoch ends with one smaller batch of the ``N mod B``
  remaining rows, averaged over those rows only (padded to ``B`` with zero weights so every
  step has the same shape). Updates are the hand-derived gradient fed to an optax
  transformation; L1 is applied by the objective's proximal step after each update.
  The bold driver (``adaptive_lr``) accepts a full-batch step that lowered ``m`` and grows
  ``η`` ×1.05, or rejects it and halves ``η``.
* FISTA — accelerated proximal gradient for L1 and elastic net (Beck & Teboulle), with a
  backtracking step size and a monotone restart; full batch.
* L-BFGS — optax's ``lbfgs`` with its zoom line search on the full batch, run on
  :meth:`~jaxlin.objective.Objective.as_function` so the line search uses the hand gradient.
* Rosenblatt's perceptron learning algorithm, in random order; it stops itself (status
  ``separated``) once every training example is classified correctly.
* Newton's method — a trust-region Newton-CG (Steihaug's truncated conjugate gradient on the
  hand-derived Hessian-vector product, as LIBLINEAR's TRON), or for small problems the
  explicit Hessian, a Cholesky solve and a backtracking line search (``newton-cholesky``).
  Full batch, smooth objectives only.
"""
from __future__ import annotations

from functools import partial

from jax.flatten_util import ravel_pytree
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import optax

from jaxlin.driver import (OBJECTIVE_TOL, RUNNING, SEPARATED, Hyper, Problem, Settings, Solver,
                           Step, select)
from jaxlin.linear import Params

BOLD_DRIVER_GROW, BOLD_DRIVER_SHRINK = 1.05, 0.5

OPTIMIZERS = {
    "gd": optax.sgd,
    "sgd": optax.sgd,
    "momentum": partial(optax.sgd, momentum=0.9),
    "nesterov": partial(optax.sgd, momentum=0.9, nesterov=True),
    "adam": optax.adam,
    "adagrad": optax.adagrad,
    "rmsprop": optax.rmsprop,
}


def float_resolution(v):
    """``10 ε max(1, |v|)``: changes of an objective value below this are rounding."""
    return 10 * jnp.finfo(v.dtype).eps * jnp.maximum(1.0, jnp.abs(v))


def make_transformation(optimizer, learning_rate):
    """An optax transformation; named ones carry the learning rate in their state.

    ``optax.inject_hyperparams`` keeps the rate as an array in the optimiser state,
    so it can be a ``vmap``-ped argument and the bold driver can change it.
    """
    if isinstance(optimizer, str):
        return optax.inject_hyperparams(OPTIMIZERS[optimizer])(learning_rate=learning_rate)
    if isinstance(optimizer, optax.GradientTransformation):
        return optimizer
    return optimizer(learning_rate)


def _current_lr(opt_state, default):
    hp = getattr(opt_state, "hyperparams", None)
    return hp["learning_rate"] if hp is not None else default


def _set_lr(opt_state, lr):
    return opt_state._replace(hyperparams={**opt_state.hyperparams, "learning_rate": lr})


class GDState(NamedTuple):
    opt_state: Any
    grad: Any  # full-batch smooth gradient at the current parameters (None for mini-batches)


def gradient_descent(problem: Problem, hyper: Hyper, s: Settings) -> Solver:
    """Batch, stochastic or mini-batch gradient descent with any optax transformation."""
    X, T, obj = problem.X, problem.T, problem.objective
    lr0 = jnp.asarray(hyper.learning_rate, X.dtype)
    tx = make_transformation(s.optimizer, lr0)

    def apply(params, g, opt_state):
        lr = _current_lr(opt_state, lr0)
        updates, opt_state = tx.update(g, opt_state, params)
        return obj.prox(optax.apply_updates(params, updates), lr), opt_state

    def init(params):
        if s.batch_size is not None:  # mini-batch epochs report their running mean
            return GDState(tx.init(params), None), jnp.asarray(jnp.inf, X.dtype)
        m, g = obj.value_and_smooth_grad(params, X, T)
        return GDState(tx.init(params), g), m

    def full_batch_step(params, state: GDState, m, key):
        new, opt_state = apply(params, state.grad, state.opt_state)
        m_new, g_new = obj.value_and_smooth_grad(new, X, T)
        if not s.adaptive_lr:
            return Step(new, GDState(opt_state, g_new), m_new, g_new,
                        _current_lr(opt_state, lr0))
        lr = _current_lr(state.opt_state, lr0)
        accept = jnp.isfinite(m_new) & (m_new <= m)
        lr = jnp.where(accept, lr * BOLD_DRIVER_GROW, lr * BOLD_DRIVER_SHRINK)
        opt_state = _set_lr(select(accept, opt_state, state.opt_state), lr)
        grad = select(accept, g_new, state.grad)
        return Step(select(accept, new, params), GDState(opt_state, grad),
                    jnp.where(accept, m_new, m), grad, lr, accept)

    def mini_batch_step(params, state: GDState, m, key):
        idx, mask, counts = _batches(key, s.n_rows or X.shape[0], s.batch_size, X.dtype,
                                     s.shuffle)

        def one(carry, batch):
            params, opt_state = carry
            i, bm = batch
            m_b, g = obj.on_rows(i, bm, s.n_rows or X.shape[0]).smooth_value_and_grad(
                params, X[i], T[i])
            return apply(params, g, opt_state), m_b

        (new, opt_state), m_b = jax.lax.scan(one, (params, state.opt_state), (idx, mask))
        m_epoch = obj.running_mean(m_b, counts) + obj.nonsmooth(new.W)
        return Step(new, GDState(opt_state, None), m_epoch, None, _current_lr(opt_state, lr0))

    return Solver(init, full_batch_step if s.batch_size is None else mini_batch_step)


def _order(key, n, shuffle=True):
    """The order an epoch visits ``n`` rows in: a fresh permutation, or ``0..n−1``."""
    return jax.random.permutation(key, n) if shuffle else jnp.arange(n)


def _batches(key, n, b, dtype, shuffle=True):
    """A fresh permutation of ``n`` rows (``shuffle=False``: the rows in order) as ``⌈n/b⌉``
    batches of ``b`` indices.

    The last batch holds the ``n mod b`` remaining rows, padded with row 0 at mask 0.
    Returns ``(idx (n_batches, b), mask (n_batches, b) or None, rows per batch)``; the mask
    is ``None`` when ``b`` divides ``n``.
    """
    n_batches = -(-n // b)
    pad = n_batches * b - n
    perm = _order(key, n, shuffle)
    idx = jnp.concatenate([perm, jnp.zeros((pad,), perm.dtype)]).reshape(n_batches, b)
    if pad == 0:
        return idx, None, jnp.full((n_batches,), b, dtype)
    mask = jnp.concatenate([jnp.ones((n,), dtype), jnp.zeros((pad,), dtype)])
    mask = mask.reshape(n_batches, b)
    return idx, mask, jnp.sum(mask, axis=1)


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
    that raises ``m`` — only rounding can — ends the run (``objective_tol``).
    """
    X, T, obj = problem.X, problem.T, problem.objective
    tiny = jnp.finfo(X.dtype).tiny

    def init(params):
        m, g = obj.value_and_smooth_grad(params, X, T)
        eta = jnp.asarray(hyper.learning_rate, X.dtype)
        return FistaState(params, jnp.asarray(1.0, X.dtype), eta, g), m

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
        accept = jnp.isfinite(m_p) & (m_p <= m + float_resolution(m))
        t_next = 0.5 * (1.0 + jnp.sqrt(1.0 + 4.0 * st.t ** 2))
        y = jax.tree.map(lambda a, b: a + (st.t - 1.0) / t_next * (a - b), p, params)
        new, grad = select(accept, p, params), select(accept, g_p, st.grad)
        state = FistaState(select(accept, y, params), jnp.where(accept, t_next, 1.0), eta, grad)
        # a plain proximal step (no momentum) lowers m in exact arithmetic; one that raised it
        # beyond its float resolution met rounding elsewhere: nothing is left to gain
        exhausted = (st.t == 1.0) & jnp.isfinite(m_p) & ~accept
        return Step(new, state, jnp.where(accept, m_p, m), grad, eta, accept | exhausted,
                    jnp.where(exhausted, OBJECTIVE_TOL, RUNNING))

    return Solver(init, step)


def lbfgs(problem: Problem, hyper: Hyper, s: Settings) -> Solver:
    """Full-batch L-BFGS (optax, zoom line search) on the hand-derived gradient.

    One epoch = one L-BFGS iteration (one full-batch gradient plus line-search
    evaluations). Smooth objectives only: L1 is refused when the options are checked.
    """
    f = problem.objective.as_function(problem.X, problem.T)
    tx = optax.lbfgs(memory_size=s.memory_size,
                     linesearch=optax.scale_by_zoom_linesearch(max_linesearch_steps=30))

    def init(params):
        # the first value and gradient go into the line search's state, where each step
        # leaves those of its new point: one evaluation site fewer in the program than
        # optax.value_and_grad_from_state (a cond that evaluates on the first step only)
        v, g = jax.value_and_grad(f)(params)
        return optax.tree.set(tx.init(params), value=v, grad=g), v

    def step(params, opt_state, m, key):
        v, g = optax.tree.get(opt_state, "value"), optax.tree.get(opt_state, "grad")
        updates, opt_state = tx.update(g, opt_state, params, value=v, grad=g, value_fn=f)
        new = optax.apply_updates(params, updates)
        return Step(new, opt_state, optax.tree.get(opt_state, "value"),
                    optax.tree.get(opt_state, "grad"),
                    optax.tree.get(opt_state, "learning_rate"))

    return Solver(init, step)


def perceptron(problem: Problem, hyper: Hyper, s: Settings) -> Solver:
    """Rosenblatt's perceptron learning algorithm, labels ``{0, 1}``.

    Each epoch visits the examples in a fresh random order (``shuffle=False``: in order):
    if ``y = 1`` and ``w·x + b < 0`` then ``w += x, b += 1``; if ``y = 0`` and ``w·x + b ≥ 0`` then
    ``w −= x, b −= 1`` (``b`` stays 0 without an intercept). It has converged (status
    ``separated``) when every training example is classified correctly; on non-separable
    data it runs to the epoch limit. Its value is the number of misclassified examples.
    """
    X, obj = problem.X, problem.objective
    n = s.n_rows or X.shape[0]  # padding rows (sharding) are neither visited nor counted
    y = problem.T[:, 0] > 0.5
    real = jnp.arange(X.shape[0]) < n

    def errors(params):
        z = X @ params.W[:, 0] + params.b[0]
        return jnp.sum(real & jnp.where(y, z < 0, z >= 0)).astype(X.dtype)

    def visit(params, i):
        z = X[i] @ params.W[:, 0] + params.b[0]
        sign = jnp.where(y[i] & (z < 0), 1.0, jnp.where(~y[i] & (z >= 0), -1.0, 0.0))
        # the objective decides whether b moves (it stays 0 without an intercept)
        update = obj.mask_bias(Params(X[i][:, None], jnp.ones_like(params.b)))
        return jax.tree.map(lambda p, u: p + sign.astype(X.dtype) * u, params, update), None

    def init(params):
        return (), errors(params)

    def step(params, state, m, key):
        new, _ = jax.lax.scan(visit, params, _order(key, n, s.shuffle))
        n_err = errors(new)
        status = jnp.where(n_err == 0, SEPARATED, RUNNING)
        return Step(new, (), n_err, None, jnp.asarray(jnp.nan, X.dtype), False, status)

    return Solver(init, step)




# ------------------------------------------------------------------- second order

TR_ACCEPT, TR_SHRINK, TR_GROW = 1e-4, 0.25, 0.75  # ρ thresholds of the trust region
MAX_CG = 250  # conjugate-gradient steps per Newton step, at most


def steihaug(g, hvp, radius, tol, max_iter):
    """Truncated CG for ``min_p gᵀp + ½ pᵀHp`` subject to ``‖p‖ ≤ radius`` (Steihaug).

    Stops when the residual ``‖Hp + g‖ ≤ tol``, at negative curvature or at the boundary (then
    ``p`` is extended to ``‖p‖ = radius``), or after ``max_iter`` steps. Flat vectors; ``hvp``
    maps ``v ↦ Hv``. Returns ``(p, steps)``.
    """
    def to_boundary(z, d):  # τ ≥ 0 with ‖z + τ d‖ = radius
        a, b, c = d @ d, 2.0 * (z @ d), z @ z - radius ** 2
        return z + (-b + jnp.sqrt(jnp.maximum(b * b - 4.0 * a * c, 0.0))) / (2.0 * a) * d

    def body(c):
        z, r, d, rr, j, _ = c
        Hd = hvp(d)
        dHd = d @ Hd
        alpha = rr / jnp.where(dHd > 0, dHd, 1.0)
        z_next = z + alpha * d
        out = (dHd <= 0) | (jnp.linalg.norm(z_next) >= radius)
        r_next = r + alpha * Hd
        rr_next = r_next @ r_next
        z_new = jnp.where(out, to_boundary(z, d), z_next)
        done = out | (jnp.sqrt(rr_next) <= tol)
        d_next = -r_next + rr_next / jnp.where(rr > 0, rr, 1.0) * d
        return z_new, r_next, d_next, rr_next, j + 1, done

    zero = jnp.zeros_like(g)
    start = (zero, g, -g, g @ g, jnp.asarray(0), jnp.sqrt(g @ g) <= tol)
    z, *_, steps, _ = jax.lax.while_loop(lambda c: ~c[5] & (c[4] < max_iter), body, start)
    return z, steps


class NewtonState(NamedTuple):
    radius: Any  # the trust region (newton) or the last step length (newton-cholesky)
    grad: Any  # the smooth gradient at the current parameters


def newton(problem: Problem, hyper: Hyper, s: Settings) -> Solver:
    """Trust-region Newton-CG on the hand-derived gradient and Hessian-vector product.

    One epoch = one outer step: a Steihaug-CG solve of the Newton system to the relative
    residual ``min(0.5, √‖g‖)`` (quadratic convergence near the optimum), then the ratio ``ρ``
    of actual to predicted decrease accepts the step (``ρ > 1e-4``) and resizes the region
    (×¼ below 0.25, ×2 above 0.75 at the boundary). The history's ``learning_rate`` is the
    radius and ``inner_steps`` the CG steps.
    """
    X, T, obj = problem.X, problem.T, problem.objective
    p0 = obj.mask_bias(Params(jnp.zeros((X.shape[1], s.n_outputs), X.dtype),
                              jnp.zeros((s.n_outputs,), X.dtype)))
    unravel = ravel_pytree(p0)[1]
    flat = lambda t: ravel_pytree(t)[0]
    max_cg = min(MAX_CG, p0.W.size + p0.b.size)

    def init(params):
        m, g = obj.smooth_value_and_grad(params, X, T)
        return NewtonState(jnp.maximum(jnp.linalg.norm(flat(g)), 1.0), g), m

    def step(params, state: NewtonState, m, key):
        g = flat(state.grad)
        hvp = lambda v: flat(obj.hvp(params, X, T, unravel(v)))
        gnorm = jnp.linalg.norm(g)
        p, cg_steps = steihaug(g, hvp, state.radius, jnp.minimum(0.5, jnp.sqrt(gnorm)) * gnorm,
                               max_cg)
        predicted = -(g @ p + 0.5 * p @ hvp(p))
        new = jax.tree.map(jnp.add, params, unravel(p))
        m_new, g_new = obj.smooth_value_and_grad(new, X, T)
        rho = (m - m_new) / jnp.where(predicted > 0, predicted, 1.0)
        accept = jnp.isfinite(m_new) & (predicted > 0) & (rho > TR_ACCEPT)
        # the model promises less than the float resolution of m: nothing is left to gain in
        # this precision (float32 near the optimum), so the run stops as converged in value
        exhausted = predicted <= float_resolution(m)
        pnorm = jnp.linalg.norm(p)
        radius = jnp.where(rho < TR_SHRINK, TR_SHRINK * pnorm,
                           jnp.where((rho > TR_GROW) & (pnorm >= 0.99 * state.radius),
                                     2.0 * state.radius, state.radius))
        radius = jnp.clip(radius, jnp.finfo(X.dtype).eps, 1e10)
        grad = select(accept, g_new, state.grad)
        return Step(select(accept, new, params), NewtonState(radius, grad),
                    jnp.where(accept, m_new, m), grad, radius, accept | exhausted,
                    jnp.where(exhausted, OBJECTIVE_TOL, RUNNING),
                    inner_steps=cg_steps.astype(X.dtype))

    return Solver(init, step)


def _newton_direction(H, g):
    """``p = −H⁻¹ g`` by a Cholesky solve. A singular ``H`` (an unpenalised multinomial
    model: its scores may all shift by one constant) is solved again as ``H + λI`` with
    ``λ = √ε · max|diag H|``, which leaves ``p`` out of ``H``'s null space (``g`` has no part
    there); if that fails too, or ``p`` is no descent direction, ``p = −g``."""
    def cholesky_solve(A):
        return jax.scipy.linalg.cho_solve((jnp.linalg.cholesky(A), True), -g)

    def damped(_):
        lam = jnp.sqrt(jnp.finfo(H.dtype).eps) * jnp.max(jnp.abs(jnp.diag(H)))
        return cholesky_solve(H + lam * jnp.eye(H.shape[0], dtype=H.dtype))

    p = cholesky_solve(H)
    p = jax.lax.cond(jnp.all(jnp.isfinite(p)), lambda _: p, damped, None)
    return jnp.where(jnp.all(jnp.isfinite(p)) & (g @ p < 0), p, -g)


def newton_cholesky(problem: Problem, hyper: Hyper, s: Settings) -> Solver:
    """Newton's method with the explicit Hessian (:func:`jaxlin.hessian.hessian_matrix`), a
    Cholesky solve and a backtracking (Armijo) line search: for ``(d+1) K`` up to a few
    thousand. A Hessian that is not positive definite falls back to the gradient direction."""
    from jaxlin.hessian import hessian_matrix

    X, T, obj = problem.X, problem.T, problem.objective
    flat = lambda t: ravel_pytree(t)[0]

    def init(params):
        m, g = obj.smooth_value_and_grad(params, X, T)
        return NewtonState(jnp.asarray(1.0, X.dtype), g), m

    def step(params, state: NewtonState, m, key):
        unravel = ravel_pytree(params)[1]
        g = flat(state.grad)
        p = _newton_direction(hessian_matrix(obj, params, X, T), g)
        slope = g @ p

        def shrink(c):
            a, _ = c
            return a * 0.5, obj.smooth_value_and_grad(
                jax.tree.map(lambda x, u: x + 0.5 * a * u, params, unravel(p)), X, T)[0]

        def too_high(c):
            a, m_a = c
            return ~(m_a <= m + 1e-4 * a * slope) & (a > 1e-10)

        m1 = obj.smooth_value_and_grad(jax.tree.map(jnp.add, params, unravel(p)), X, T)[0]
        a, _ = jax.lax.while_loop(too_high, shrink, (jnp.asarray(1.0, X.dtype), m1))
        new = jax.tree.map(lambda x, u: x + a * u, params, unravel(p))
        m_new, g_new = obj.smooth_value_and_grad(new, X, T)
        accept = jnp.isfinite(m_new) & (m_new <= m)
        grad = select(accept, g_new, state.grad)
        return Step(select(accept, new, params), NewtonState(a, grad),
                    jnp.where(accept, m_new, m), grad, a, accept)

    return Solver(init, step)


SOLVERS = {"gradient": gradient_descent, "lbfgs": lbfgs, "fista": fista, "perceptron": perceptron,
           "newton": newton, "newton-cholesky": newton_cholesky}
