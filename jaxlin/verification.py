"""Prove a loss's hand derivation: ``verify`` checks ``δ``, ``∇J``, the curvature and a
convexity claim against autodiff and finite differences, in float64 (``docs/verify.md``).

Every check is one row: an error against ``jax.grad`` (tolerance ``AUTODIFF_TOL``) and,
where it applies, against central differences (``FD_TOL``). Errors are max-norm relative,
``max|a − b| / max(max|b|, 1e-15)``. All arithmetic of one loss and one ``K`` runs in a few
compiled programs, so verifying a loss takes well under a second once compiled.

Kinks. A point where ``L`` is not differentiable has no gradient to compare. With a
``kink_distance`` the loss says where they are and points closer than ``KINK_MARGIN`` are
left out; without one, ``verify`` finds them itself, as the points where the one-sided
differences of ``L`` disagree, leaves them out and says how many it skipped.
"""

from __future__ import annotations

import json
import os
from functools import partial
from typing import Callable, NamedTuple, Optional

import jax
import jax.numpy as jnp
import numpy as np
from jax.flatten_util import ravel_pytree

from jaxlin import backend
from jaxlin import objective as obj
from jaxlin import penalties, validation
from jaxlin.linear import Params
from jaxlin.losses import Loss, get_loss
from jaxlin.penalties import Penalty
from jaxlin.records import DualPairwise, DualSimplex

AUTODIFF_TOL = 1e-10
FD_TOL = 1e-6
FD_STEP = 1e-6
KINK_MARGIN = 1e-3  # points closer than this to a declared kink are left out
KINK_STEP = 1e-4  # one-sided differences over this step find undeclared kinks
KINK_JUMP = 1e-2  # ... when they disagree by more than this (relative)
CONVEX_TOL = 1e-8  # a Hessian eigenvalue below −tol · max|eigenvalue| refutes convexity

PENALTY_CASES = {
    "": Penalty(),
    " + L2": penalties.l2(0.3),
    " + L1": penalties.l1(0.2),
    " + elastic net": penalties.elastic_net(0.3, 0.4),
}


class Row(NamedTuple):
    """One check: errors against autodiff and finite differences (``None``: does not apply)."""

    name: str
    formula: str
    err_autodiff: float
    err_fd: Optional[float]
    passed: bool
    note: str = ""
    docs: str = ""  # the docs section this row proves


def rel_err(a, b) -> float:
    """``max|a − b| / max(max|b|, 1e-15)`` in float64."""
    a, b = np.asarray(a, np.float64).ravel(), np.asarray(b, np.float64).ravel()
    if a.size == 0:
        return 0.0
    return float(np.max(np.abs(a - b)) / max(float(np.max(np.abs(b))), 1e-15))


def _rel(a, b, keep=None):
    """``rel_err`` traced, over the rows ``keep`` (leading axis) only."""
    a, b = a.reshape(a.shape[0], -1), b.reshape(b.shape[0], -1)
    keep = jnp.ones(a.shape[0], bool) if keep is None else keep
    num = jnp.max(jnp.where(keep[:, None], jnp.abs(a - b), 0.0))
    den = jnp.max(jnp.where(keep[:, None], jnp.abs(b), 0.0))
    return num / jnp.maximum(den, 1e-15)


def central_differences(f: Callable, x, h: float = FD_STEP):
    """Gradient (or Jacobian, stacked on the last axis) of ``f`` at ``x`` by
    ``(f(x+he) − f(x−he)) / 2h``.

    Both sides are one batched evaluation of ``f`` (one copy of it in a compiled program)."""
    flat, unravel = ravel_pytree(x)
    eye = jnp.eye(flat.size, dtype=flat.dtype) * h
    values = jax.vmap(lambda e: f(unravel(flat + e)))(jnp.concatenate([eye, -eye]))
    cols = (values[: flat.size] - values[flat.size :]) / (2 * h)  # (P, ...)
    return jnp.moveaxis(cols, 0, -1)


def row(name, formula, hand, auto, fd=None, note="", docs="") -> Row:
    """Compare ``hand`` with ``auto`` (and ``fd``) and judge against the tolerances."""
    ea = rel_err(hand, auto)
    ef = None if fd is None else rel_err(hand, fd)
    return _judged(name, formula, ea, ef, note, docs)


def _judged(name, formula, ea, ef, note="", docs="") -> Row:
    ea, ef = float(ea), None if ef is None else float(ef)
    ok = bool(
        np.isfinite(ea)
        and ea <= AUTODIFF_TOL
        and (ef is None or (np.isfinite(ef) and ef <= FD_TOL))
    )
    return Row(name, formula, ea, ef, ok, note, docs)


# ------------------------------------------------------------------------ sample problems


def random_targets(loss: Loss, rng: np.random.Generator, n: int, k: int) -> np.ndarray:
    """Targets the loss accepts: real values, 0/1 columns or one-hot rows, ``(n, k)`` float64."""
    if loss.target == "real":
        return rng.standard_normal((n, k))
    if loss.target == "binary":
        return (rng.random((n, k)) < 0.5).astype(np.float64)
    return np.eye(k)[rng.integers(0, k, n)]


def sample_scores(rng: np.random.Generator, n: int, k: int) -> np.ndarray:
    """Scores ``(n, k)``: Gaussian at scales 0.3 to 10, and a quarter on the grid {−1, 0, 1}
    (where the classic kinks and ties live)."""
    scale = np.array([0.3, 1.0, 3.0, 10.0])[rng.integers(0, 4, (n, 1))]
    Z = rng.standard_normal((n, k)) * scale
    Z[: n // 4] = rng.integers(-1, 2, (n // 4, k))
    return Z


def problems(loss: Loss, k: int, seed: int) -> dict:
    """Every input of one loss's checks at one ``K``, drawn with NumPy (nothing to compile)."""
    rng = np.random.default_rng([seed, k])
    n, m, d, s = 96, 16, 4, 64
    W = rng.uniform(-2.0, 2.0, (d, k))
    W[np.abs(W) < KINK_MARGIN] = 0.5  # keep |w| off the L1 kink
    scale = np.array([0.3, 1.0, 3.0, 10.0])[np.arange(s) % 4]
    return dict(
        Z=sample_scores(rng, n, k),
        T=random_targets(loss, rng, n, k),
        X=rng.standard_normal((m, d)),
        TX=random_targets(loss, rng, m, k),
        params=Params(W, rng.uniform(-1.0, 1.0, k)),
        U=rng.standard_normal((n, k)),
        V=Params(rng.standard_normal((d, k)), rng.standard_normal(k)),
        pen=Penalty(*np.array([[p.l1, p.l2] for p in PENALTY_CASES.values()]).T),
        Xc=rng.standard_normal((s, 2, 2)),
        Tc=np.stack([random_targets(loss, rng, 2, k) for _ in range(s)]),
        Wc=rng.standard_normal((s, 2, k)) * scale[:, None, None],
        Bc=rng.standard_normal((s, k)) * scale[:, None],
    )


# ------------------------------------------------------------------------ kinks


def _offsets(k: int, dtype):
    """Perturbations of one point: 0, ``± FD_STEP e_j`` and ``± KINK_STEP e_j``: ``(1 + 4K, K)``."""
    eye = jnp.eye(k, dtype=dtype)
    return jnp.concatenate(
        [jnp.zeros((1, k), dtype), FD_STEP * eye, -FD_STEP * eye, KINK_STEP * eye, -KINK_STEP * eye]
    )


def _probe(loss: Loss, Z, T):
    """Central differences of ``L`` at each row, and whether a kink lies within
    ``KINK_STEP``: the one-sided differences ``(L(z + h e_j) − L(z)) / h`` and
    ``(L(z) − L(z − h e_j)) / h`` disagree by more than ``KINK_JUMP`` relative (for a
    smooth ``L`` they differ by about ``h L''``). One batched evaluation of ``L``."""
    k = Z.shape[1]
    V = jax.vmap(lambda z, y: jax.vmap(lambda u: loss.value(z + u, y))(_offsets(k, Z.dtype)))(Z, T)
    f0, fp, fm, kp, km = V[:, 0], *jnp.split(V[:, 1:], 4, axis=1)
    fd = (fp - fm) / (2 * FD_STEP)
    fwd, bwd = (kp - f0[:, None]) / KINK_STEP, (f0[:, None] - km) / KINK_STEP
    scale = jnp.maximum(1.0, jnp.maximum(jnp.abs(fwd), jnp.abs(bwd)))
    kinked = jnp.any(~(jnp.abs(fwd - bwd) <= KINK_JUMP * scale), axis=1)
    if loss.kink_distance is not None:
        kinked = ~(jax.vmap(loss.kink_distance)(Z, T) >= KINK_MARGIN)
    return fd, kinked


# ------------------------------------------------------------------------ the compiled checks


def _pointwise(loss: Loss, Z, T):
    fd, kinked = _probe(loss, Z, T)
    one_by_one = jax.lax.map(lambda zy: (loss.value(*zy), loss.delta(*zy)), (Z, T))
    return dict(
        D=jax.vmap(loss.delta)(Z, T),
        auto=jax.vmap(jax.grad(loss.autodiff_value))(Z, T),
        fd=fd,
        kinked=kinked,
        L=jax.vmap(loss.value)(Z, T),
        L1=one_by_one[0],
        D1=one_by_one[1],
        Z=Z,
        T=T,
    )


def _dual(loss: Loss, Z, T):
    """The dual a loss states, against the loss itself, at a box size ``C`` per row, the
    maximum in closed form: a ``DualBox`` must give ``C L(z, t) = Σ_k max_{0 ≤ α ≤ U}
    α (1 − s z) − D α² / 2`` (the vertex of the concave parabola, clipped to the box), a
    ``DualPairwise`` the same with ``cost_m + z_m − z_y`` in place of ``1 − s z``; a
    ``DualSimplex`` ``C L = max −αᵀ(cost + z)`` over ``Σα = 0, α ≤ U`` (a linear function's
    maximum is at a vertex: every ``α_m`` at its bound but one, which takes the rest)."""
    dual = loss.dual
    assert dual is not None  # battery asks only a loss that states one
    C = 0.1 + jnp.abs(Z[:, :1]) * jnp.ones_like(Z)  # a box of each size, one per row
    form = dual(C, T)
    if isinstance(form, DualSimplex):
        g, U = form.cost + Z, form.upper
        rest = jnp.sum(U, axis=1, keepdims=True) - U  # what the free coordinate takes
        vertex = -(jnp.sum(U * g, axis=1, keepdims=True) - U * g) + rest * g
        best = jnp.max(vertex, axis=1)
    else:
        U, D = form.upper, form.diag
        if isinstance(form, DualPairwise):  # each wrong class's margin over the true class
            margin = form.cost + Z - jnp.sum(form.target * Z, axis=1, keepdims=True)
        else:
            margin = 1 - form.sign * Z
        top = jnp.where(D > 0, margin / jnp.where(D > 0, D, 1), jnp.where(margin > 0, jnp.inf, 0))
        alpha = jnp.clip(top, 0, U)
        best = jnp.sum(alpha * margin - D * alpha**2 / 2, axis=1)
    return dict(dual_primal=C[:, 0] * jax.vmap(loss.value)(Z, T), dual_max=best)


def _curvature(loss: Loss, Z, T):
    if loss.curvature is None:
        raise ValueError(f"loss {loss.name!r} has no curvature to check")
    k = Z.shape[1]
    steps = jnp.concatenate([jnp.eye(k, dtype=Z.dtype), -jnp.eye(k, dtype=Z.dtype)]) * FD_STEP
    Dp = jax.vmap(lambda z, y: jax.vmap(lambda u: loss.delta(z + u, y))(steps))(Z, T)
    jac = (Dp[:, :k] - Dp[:, k:]) / (2 * FD_STEP)  # (n, K step, K out)
    return dict(
        h=jax.vmap(loss.curvature)(Z, T),
        H=jax.vmap(jax.hessian(loss.autodiff_value))(Z, T),
        h_fd=jnp.diagonal(jac, axis1=1, axis2=2),
    )


def gradients(loss: Loss, penalty: Penalty, params: Params, X, T, w=None):
    """The one gradient comparison: the hand-derived ``∇J`` (through δ and ``Xᵀ Δ``),
    ``jax.grad`` of ``J`` written out directly, and central differences of ``J``, flat."""
    flat = lambda g: ravel_pytree(g)[0]
    hand = flat(obj.value_and_grad(params, X, T, loss, penalty, w)[1])
    auto = flat(obj.autodiff_value_and_grad(params, X, T, loss, penalty, w)[1])
    fd = central_differences(lambda q: obj.objective(q, X, T, loss, penalty, w), params)
    return hand, auto, flat(fd)


def _gradients(loss: Loss, params: Params, X, T, pen: Penalty):
    """``gradients`` for each penalty; rows near a kink get weight 0."""
    w = jnp.where(_probe(loss, X @ params.W + params.b, T)[1], 0.0, 1.0)
    hand, auto, fd = jax.vmap(lambda l1, l2: gradients(loss, Penalty(l1, l2), params, X, T, w))(
        pen.l1, pen.l2
    )
    return dict(g_hand=hand, g_auto=auto, g_fd=fd, used=jnp.sum(w))


def _second_order(loss: Loss, Z, T, U, params: Params, X, TX, V: Params, pen: Penalty):
    """The objective's Hessian-vector product ``(∇²J) v`` for each penalty, and for a loss
    that is not element-wise its ``(∂²L/∂z²) u`` per point (an element-wise one has its
    curvature checked directly), against autodiff (``jvp`` of ``grad``) and central
    differences of the hand gradient along ``v`` / of δ along ``u``."""
    out = {}
    if loss.curvature_product is not None:
        cp = jax.vmap(loss.curvature_product)(Z, T, U)
        cp_auto = jax.vmap(
            lambda z, y, u: jax.jvp(lambda a: jax.grad(loss.value)(a, y), (z,), (u,))[1]
        )(Z, T, U)
        side = jnp.array([FD_STEP, -FD_STEP], Z.dtype)
        Dpm = jax.vmap(lambda z, y, u: jax.vmap(lambda t: loss.delta(z + t * u, y))(side))(Z, T, U)
        out = dict(cp=cp, cp_auto=cp_auto, cp_fd=(Dpm[:, 0] - Dpm[:, 1]) / (2 * FD_STEP))
    w = jnp.where(_probe(loss, X @ params.W + params.b, TX)[1], 0.0, 1.0)
    flat = lambda g: ravel_pytree(g)[0]

    def one(l2):
        o = obj.Objective(loss, Penalty(0.0, l2), w)
        hand = flat(o.hvp(params, X, TX, V))
        auto = flat(
            jax.jvp(
                jax.grad(
                    lambda q: obj.autodiff_objective(q, X, TX, loss, Penalty(0.0, l2), w) * o.sign
                ),
                (params,),
                (V,),
            )[1]
        )
        g = jax.vmap(
            lambda t: flat(
                o.smooth_value_and_grad(jax.tree.map(lambda a, b: a + t * b, params, V), X, TX)[1]
            )
        )(jnp.array([FD_STEP, -FD_STEP], X.dtype))
        return hand, auto, (g[0] - g[1]) / (2 * FD_STEP)

    hand, auto, fd = jax.vmap(one)(pen.l2[:2])  # no penalty, and L2
    return dict(out, hv=hand, hv_auto=auto, hv_fd=fd)


def _hessians(loss: Loss, X, T, W, B):
    """Autodiff Hessians of the minimised ``J`` for a batch of 2-row problems: their
    eigenvalues follow ``∂²L/∂z²`` closely."""
    sign = obj.Objective(loss).sign  # the minimised direction (−1 for a maximised loss)

    def one(X, T, W, b):
        theta, unravel = ravel_pytree(Params(W, b))
        return jax.hessian(lambda t: sign * obj.autodiff_objective(unravel(t), X, T, loss))(theta)

    return dict(hess=jax.vmap(one)(X, T, W, B))


@partial(jax.jit, static_argnums=0)
def battery(loss: Loss, p: dict) -> dict:
    """Everything ``verify`` computes for one loss at one ``K``: one compiled program whose
    arrays are judged on the host (``judge``)."""
    out = _pointwise(loss, p["Z"], p["T"])
    if loss.dual is not None:
        out.update(_dual(loss, p["Z"], p["T"]))
    if loss.curvature is not None:
        out.update(_curvature(loss, p["Z"], p["T"]))
    out.update(_gradients(loss, p["params"], p["X"], p["TX"], p["pen"]))
    if loss.twice_differentiable:
        out.update(
            _second_order(
                loss, p["Z"], p["T"], p["U"], p["params"], p["X"], p["TX"], p["V"], p["pen"]
            )
        )
    if loss.convex:
        out.update(_hessians(loss, p["Xc"], p["Tc"], p["Wc"], p["Bc"]))
    return out


# The checks run tiny arrays once: a lighter LLVM pass and XLA:CPU's classic fusion
# emitters (``jaxlin.backend.compile_options``'s choice for small data) compile them in a
# third of the time (26 programs: 18 s → 5 s of compilation, `jaxlin check` 9.8 → 5.5 s on
# a 2-core EPYC). The arithmetic is the same up to rounding (a finite-difference error may
# move in its last digits, far under its tolerance). XLA:CPU options: only the CPU gets them.
_FAST_COMPILE = dict(backend.ONCE_OPTIONS)


def _compile_options():
    return _FAST_COMPILE if backend.cpu_tricks() else None


def run_all(jobs):
    """Run each ``(function, static, inputs)`` (a jitted ``function(static, inputs)``),
    compiling every program first, on every core at once.

    XLA compiles one program on one thread, outside Python's lock; the checks are many small
    programs, so each is compiled in a worker while the next one is traced. Returns each
    job's outputs as NumPy arrays.
    """
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max(1, min(len(jobs), os.cpu_count() or 1))) as pool:
        pending = [
            pool.submit(fn.lower(static, inputs).compile, _compile_options())
            for fn, static, inputs in jobs
        ]
        compiled = [p.result() for p in pending]
    return [jax.tree.map(np.asarray, c(inputs)) for c, (_, _, inputs) in zip(compiled, jobs)]


# ------------------------------------------------------------------------ the report


class Verification(NamedTuple):
    """The result of ``verify``: one ``Row`` per check."""

    loss: str
    rows: list
    notes: list

    @property
    def passed(self) -> bool:
        return bool(self.rows) and all(r.passed for r in self.rows)

    def __str__(self) -> str:
        return (
            format_rows(f"jaxlin verify — loss {self.loss!r}", self.rows, self.notes)
            + f"\n\n{'PASSED' if self.passed else 'FAILED'}: "
            f"{sum(r.passed for r in self.rows)} of {len(self.rows)} checks pass"
        )

    def to_json(self) -> dict:
        return {
            "loss": self.loss,
            "passed": self.passed,
            "tolerances": {
                "autodiff": AUTODIFF_TOL,
                "finite_differences": FD_TOL,
                "convexity": CONVEX_TOL,
            },
            "checks": [r._asdict() for r in self.rows],
            "notes": list(self.notes),
        }

    def json(self) -> str:
        return json.dumps(self.to_json(), indent=2, ensure_ascii=False)


def _fmt(x):
    return "—" if x is None else f"{x:.1e}"


def format_rows(title: str, rows, notes=()) -> str:
    """A table of rows that fits in 100 columns (formulas wrap onto their own line)."""
    w = min(max([len(r.name) for r in rows] + [5]), 70)
    lines = [
        title,
        f"  tolerances: autodiff {AUTODIFF_TOL:g}, finite differences {FD_TOL:g};"
        " max relative error, float64",
        "",
        f"{'check':<{w}}  {'autodiff':>8}  {'fin.diff':>8}  result",
    ]
    for r in rows:
        lines.append(
            f"{r.name[:w]:<{w}}  {_fmt(r.err_autodiff):>8}  {_fmt(r.err_fd):>8}  "
            f"{'PASS' if r.passed else 'FAIL'}"
        )
        for extra in (r.formula, r.note, r.docs and f"see docs/{r.docs}"):
            if extra:
                lines.append(f"    {extra}"[:100])
    lines += [f"note: {n}"[:100] for n in notes]
    return "\n".join(lines)


def _shape_problem(loss: Loss, k: int):
    """Why ``value``/``delta`` cannot be checked at this ``K`` (wrong shapes, an error), or None."""
    z = jnp.full((k,), 0.3, jnp.float64)
    y = jnp.asarray(random_targets(loss, np.random.default_rng(0), 1, k)[0])
    try:
        L, D = jax.eval_shape(loss.value, z, y), jax.eval_shape(loss.delta, z, y)
    except Exception as e:  # noqa: BLE001 - any error in the user's code is the finding
        return f"calling value/delta on z of shape ({k},) raised {type(e).__name__}: {e}"
    if L.shape != ():
        return f"value must return a scalar per example, returned shape {L.shape} for K = {k}"
    if D.shape != (k,):
        return f"delta must return shape ({k},) for K = {k}, returned {D.shape}"
    return None


def judge(loss: Loss, k: int, out: dict) -> tuple[list, list]:
    """The rows (and notes) of one loss at one ``K``, from the arrays of ``battery``."""
    tag, keep = f" [K={k}]", ~out["kinked"]
    straight = loss.surrogate is not None
    rows, notes = [], []
    if out["kinked"].any():
        how = "kink_distance" if loss.kink_distance is not None else "one-sided differences"
        notes.append(
            f"K={k}: skipped {int(out['kinked'].sum())} of {keep.size} points at or "
            f"near a kink (found by {how})"
        )
    rows.append(delta_row(loss, out, keep, tag))
    rows.append(
        _judged(
            "jit + vmap = one at a time" + tag,
            "",
            max(rel_err(out["L"], out["L1"]), rel_err(out["D"], out["D1"])),
            None,
        )
    )
    if loss.curvature is not None:
        rows.append(_curvature_row(out, keep, tag))
    if loss.dual is not None:
        rows.append(
            _judged(
                "dual: C L = its maximum over the dual's set" + tag,
                "",
                rel_err(out["dual_max"], out["dual_primal"]),
                None,
            )
        )
    for i, suffix in enumerate(PENALTY_CASES):
        rows.append(
            _judged(
                f"∇J{suffix}" + tag,
                "",
                rel_err(out["g_hand"][i], out["g_auto"][i]),
                None if straight else rel_err(out["g_hand"][i], out["g_fd"][i]),
            )
        )
    if loss.curvature_product is not None:
        rows.append(
            _judged(
                "(∂²L/∂z²) u" + tag,
                "",
                rel_err(out["cp"][keep], out["cp_auto"][keep]),
                rel_err(out["cp"][keep], out["cp_fd"][keep]),
            )
        )
    if loss.twice_differentiable:
        for i, suffix in [(0, ""), (1, " + L2")]:
            rows.append(
                _judged(
                    f"∇²J v{suffix}" + tag,
                    "",
                    rel_err(out["hv"][i], out["hv_auto"][i]),
                    rel_err(out["hv"][i], out["hv_fd"][i]),
                )
            )
    if loss.convex:
        rows.append(_convexity_row(out["hess"], tag))
    return rows, notes


def delta_row(loss: Loss, out: dict, keep, tag: str = "") -> Row:
    """The row of ``δ`` against autodiff (and central differences); a failing one names its
    worst point: the scores ``z``, the target ``y``, the hand ``δ`` and autodiff's."""
    straight = loss.surrogate is not None
    finite = np.isfinite(out["D"]).all() and np.isfinite(out["L"]).all()
    note = (
        "straight-through rule: δ checked against autodiff of its surrogate; no FD"
        if straight
        else ("" if finite else "non-finite values")
    )
    r = _judged(
        "δ = ∂L/∂z" + tag,
        f"δ = {loss.delta_formula}" if loss.delta_formula else "",
        rel_err(out["D"][keep], out["auto"][keep]),
        None if straight else rel_err(out["D"][keep], out["fd"][keep]),
        note,
    )
    if not r.passed and keep.any():
        rows = np.flatnonzero(keep)
        i = rows[int(np.argmax(np.abs(out["D"][keep] - out["auto"][keep]).max(axis=1)))]
        show = lambda a: np.array2string(np.asarray(a), precision=4, separator=", ")  # noqa
        r = r._replace(
            note=(note + "; " if note else "")
            + f"worst at z = {show(out['Z'][i])}, y = {show(out['T'][i])}: "
            f"hand δ = {show(out['D'][i])}, autodiff {show(out['auto'][i])}"
        )
    return r


@partial(jax.jit, static_argnums=0)
def _quick_battery(loss: Loss, Z, T):
    return _pointwise(loss, Z, T)


_QUICK: dict = {}


def quick_check(loss: Loss) -> Row:
    """δ against autodiff at 64 points of the loss's natural ``K`` (1, or 3 for one-hot
    targets), float64: the check ``jaxlin.fit`` runs on a new loss before training with it.
    The verdict is remembered for the loss (one small program per loss)."""
    if loss not in _QUICK:
        k = 3 if loss.target == "onehot" else max(1, loss.min_classes)
        with jax.enable_x64(True):
            problem = _shape_problem(loss, k)
            if problem is not None:
                _QUICK[loss] = Row("δ = ∂L/∂z", "", float("inf"), None, False, problem)
                return _QUICK[loss]
            rng = np.random.default_rng(0)
            Z, T = sample_scores(rng, 64, k), random_targets(loss, rng, 64, k)
            out = jax.tree.map(np.asarray, _quick_battery(loss, jnp.asarray(Z), jnp.asarray(T)))
        _QUICK[loss] = delta_row(loss, out, ~out["kinked"], f" [K={k}]")
    return _QUICK[loss]


def _curvature_row(out, keep, tag) -> Row:
    H = out["H"][keep]
    diag = np.diagonal(H, axis1=1, axis2=2)
    off = np.abs(H - np.einsum("nk,kj->nkj", diag, np.eye(H.shape[1]))).max(initial=0.0)
    off = float(off / max(np.abs(diag).max(initial=0.0), 1e-15))
    r = _judged(
        "curvature ∂²L/∂z²" + tag,
        "",
        rel_err(out["h"][keep], diag),
        rel_err(out["h"][keep], out["h_fd"][keep]),
        ""
        if off <= AUTODIFF_TOL
        else f"not element-wise: off-diagonal ∂²L/∂z_j∂z_k up to {off:.1e} of the diagonal",
    )
    return r._replace(passed=bool(r.passed and off <= AUTODIFF_TOL))


def _convexity_row(hess, tag) -> Row:
    ev = np.linalg.eigvalsh(hess)
    low, high = float(ev.min()), float(np.abs(ev).max())
    worst = max(0.0, -low) / max(high, 1e-300)
    ok = bool(np.isfinite(worst) and worst <= CONVEX_TOL)
    note = f"{len(hess)} Hessians of J: eigenvalues from {low:.1e}, |largest| {high:.1e}"
    if not ok:
        note = "convex=True is refuted: " + note
    return Row("convexity claim, ∇²J ⪰ 0" + tag, "", worst, None, ok, note)


def output_sizes(loss: Loss, n_outputs: Optional[int] = None) -> list:
    """The ``K`` a loss is verified at: 1 and 3 (element-wise), 2 and 3 (one-hot targets)."""
    if n_outputs is not None:
        if not isinstance(n_outputs, (int, np.integer)) or n_outputs < loss.min_classes:
            raise ValueError(
                f"n_outputs: expected an integer ≥ {loss.min_classes} for loss "
                f"{loss.name!r}, got {n_outputs!r}"
            )
        return [int(n_outputs)]
    low = max(1, loss.min_classes)
    return sorted({low, max(3, low)})


def verify(loss, *, n_outputs: Optional[int] = None, seed: int = 0) -> Verification:
    """Check a loss's hand derivation against autodiff and finite differences.

    Runs in float64 whatever JAX's global setting. For each ``K`` (1 and 3 for element-wise
    targets, 2 and 3 for one-hot ones, or ``n_outputs``):

    * ``δ`` against ``jax.grad`` of the value (≤ 1e-10) and central differences (≤ 1e-6) at
      96 points, leaving out points near a kink (see the module docstring);
    * value and ``δ`` under ``jit`` + ``vmap`` against one example at a time;
    * the curvature against autodiff's second derivative, when given;
    * ``∇J`` through the linear model, alone and with an L2, an L1 and an elastic-net penalty;
    * ``convex=True``, by the eigenvalues of 64 sampled Hessians of ``J``.

    Args:
      loss: a ``Loss`` (or the name of a built-in one).
      n_outputs: verify at this ``K`` only.
      seed: seeds the random points.
    Returns:
      ``Verification``: ``.passed``, ``.rows``, ``print()``-able, ``.to_json()``.
    """
    loss = get_loss(loss)
    seed = validation.numpy_seed(seed)
    rows, notes = verify_rows([loss], lambda _: output_sizes(loss, n_outputs), seed)
    return Verification(loss.name, rows, notes)


def loss_jobs(losses, sizes=None, seed: int = 0) -> tuple[list, list, list]:
    """The compiled checks of each loss at each ``K`` (``sizes(loss)``, default
    ``output_sizes``): ``(jobs for run_all, their (loss, K), rows for unusable shapes)``."""
    jobs, keys, bad = [], [], []
    for loss in losses:
        for k in (sizes or output_sizes)(loss):
            problem = _shape_problem(loss, k)
            if problem:
                bad.append(Row(f"shapes [K={k}]", "", float("inf"), None, False, problem))
            else:
                jobs.append((battery, loss, problems(loss, k, seed)))
                keys.append((loss, k))
    return jobs, keys, bad


def verify_rows(losses, sizes=None, seed: int = 0) -> tuple[list, list]:
    """The rows and notes of ``verify`` for several losses, compiled side by side."""
    with jax.enable_x64(True):
        jobs, keys, rows = loss_jobs(losses, sizes, seed)
        outs = run_all(jobs)
    notes = []
    for (loss, k), out in zip(keys, outs):
        r, n = judge(loss, k, out)
        rows += r
        notes += n
    return rows, notes
