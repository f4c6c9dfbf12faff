"""The derivation report behind ``jaxlin check``.

Every hand-derived formula (activations, losses, penalties, Hessian) is evaluated in float64 at random
points (away from kinks) and compared with ``jax.grad`` / ``jax.jacfwd`` of the
same function and with central finite differences. Known errors of classic derivations are
shown too: the literal reading of the slide beside the corrected formula, each
with its error, so a reader sees the slide fail and the correction pass.

Errors are max-norm relative: ``max|a − b| / max(max|b|, 1e-15)``.
"""
from __future__ import annotations

from typing import Callable, NamedTuple, Optional

import jax
import jax.numpy as jnp
import numpy as np
from jax.flatten_util import ravel_pytree

from jaxlin import activations as act
from jaxlin import objective as obj
from jaxlin import penalties
from jaxlin.hessian import hessian
from jaxlin.linear import init_params
from jaxlin.losses import LOSSES, Loss
from jaxlin.penalties import Penalty

AUTODIFF_TOL = 1e-10
FD_TOL = 1e-6
FD_STEP = 1e-6
ERRATA_TOL = 1e-8  # errata mix float arithmetic and 3-decimal slide values


class Row(NamedTuple):
    name: str
    formula: str
    err_autodiff: float
    err_fd: Optional[float]  # None: finite differences do not apply
    passed: bool
    note: str = ""


class Erratum(NamedTuple):
    """One reading of a slide: ``passed`` says whether it agrees with the reference."""

    key: str
    where: str
    reading: str  # "slide (literal)" or "corrected"
    formula: str
    error: float
    passed: bool


def rel_err(a, b) -> float:
    a, b = np.asarray(a, np.float64).ravel(), np.asarray(b, np.float64).ravel()
    return float(np.max(np.abs(a - b)) / max(float(np.max(np.abs(b))), 1e-15))


def central_differences(f: Callable, x, h: float = FD_STEP):
    """Gradient (or Jacobian, stacked on the last axis) of ``f`` at ``x`` by ``(f(x+he) − f(x−he)) / 2h``."""
    flat, unravel = ravel_pytree(x)
    eye = jnp.eye(flat.size, dtype=flat.dtype) * h

    def one(e):
        return (f(unravel(flat + e)) - f(unravel(flat - e))) / (2 * h)

    cols = jax.vmap(one)(eye)  # (P, ...)
    return jnp.moveaxis(cols, 0, -1)


def _row(name, formula, hand, auto, fd=None, note=""):
    ea = rel_err(hand, auto)
    ef = None if fd is None else rel_err(hand, fd)
    ok = ea <= AUTODIFF_TOL and (ef is None or ef <= FD_TOL)
    return Row(name, formula, ea, ef, ok, note)


def _problem(loss: Loss, key, n=12, d=5, k=3, penalty=Penalty(), margin=1e-3):
    """Random float64 data, targets and parameters with every example ≥ ``margin`` from a kink."""
    k = k if loss.min_classes > 1 else 1
    for attempt in range(100):
        kx, ky, kp, key = jax.random.split(key, 4)
        X = jax.random.normal(kx, (n, d), jnp.float64)
        if loss.target == "real":
            T = jax.random.normal(ky, (n, k), jnp.float64)
        elif loss.target == "binary":
            T = jax.random.bernoulli(ky, 0.5, (n, k)).astype(jnp.float64)
        else:
            T = jax.nn.one_hot(jax.random.randint(ky, (n,), 0, k), k, dtype=jnp.float64)
        params = init_params(kp, d, k, "uniform", jnp.float64)
        params = params._replace(W=params.W * 2.0)
        if loss.kink_distance is not None:
            Z = X @ params.W + params.b
            if float(jnp.min(jax.vmap(loss.kink_distance)(Z, T))) < margin:
                continue
        if penalty.l1 and float(jnp.min(jnp.abs(params.W))) < margin:
            continue
        return params, X, T
    raise RuntimeError(f"could not draw a point away from the kinks of {loss.name}")


def activation_rows(key) -> list[Row]:
    z = jax.random.normal(key, (9,), jnp.float64) * 3.0
    z = jnp.where(jnp.abs(z) < 1e-3, 0.5, z)  # keep the step's kink out
    p = jax.nn.sigmoid(z)
    rows = []
    for name, g, dg, x in [("identity", act.identity, act.identity_grad, z),
                           ("step", act.step, act.step_grad, z),
                           ("sigmoid", act.sigmoid, act.sigmoid_grad, z),
                           ("logit", act.logit, act.logit_grad, p)]:
        auto = jax.vmap(jax.grad(g))(x)
        fd = jax.vmap(lambda t: central_differences(g, t))(x)
        formula = {"identity": "g' = 1", "step": "g' = 0 (a.e.)",
                   "sigmoid": "σ' = σ(1 − σ)", "logit": "1 / (p(1 − p))"}[name]
        rows.append(_row(f"activation {name}'", formula, dg(x), auto, fd))
    s = z[:5]
    rows.append(_row("softmax Jacobian", "diag(s) − s sᵀ", act.softmax_jacobian(s),
                     jax.jacfwd(act.softmax)(s), central_differences(act.softmax, s)))
    return rows


_PENALTY_CASES = {
    "": Penalty(),
    " + L2": penalties.l2(0.3),
    " + elastic net": penalties.elastic_net(0.3, 0.4),
}


def gradient_row(loss: Loss, penalty: Penalty, params, X, T, name: str = "") -> Row:
    """The hand-derived ``∇J`` against ``jax.grad`` and central differences at one point.

    The one gradient check: ``jaxlin check`` runs it on its problems, the test suite on every
    loss × shape × penalty. Finite differences are skipped for a straight-through loss (its
    ``δ`` is not the gradient of its value).
    """
    _, g = obj.value_and_grad(params, X, T, loss, penalty)
    _, ga = obj.autodiff_value_and_grad(params, X, T, loss, penalty)
    hand, auto = ravel_pytree(g)[0], ravel_pytree(ga)[0]
    if loss.surrogate is None:
        fd = central_differences(lambda p: obj.objective(p, X, T, loss, penalty), params)
        note = ""
    else:
        fd, note = None, "straight-through: not the gradient of L; FD gives 0"
    return _row(name or f"∇J {loss.name}", f"δ = {loss.delta_formula}", hand, auto, fd, note)


def objective_rows(key) -> list[Row]:
    rows = []
    for i, (name, loss) in enumerate(LOSSES.items()):
        for j, (suffix, pen) in enumerate(_PENALTY_CASES.items()):
            if suffix and name not in ("binary_cross_entropy", "softmax_cross_entropy",
                                       "multiclass_hinge", "squared_error"):
                continue
            params, X, T = _problem(loss, jax.random.fold_in(key, 100 * i + j), penalty=pen)
            rows.append(gradient_row(loss, pen, params, X, T, f"∇J {name}{suffix}"))
    return rows


def penalty_rows(key) -> list[Row]:
    W = jax.random.normal(key, (4, 3), jnp.float64)
    W = jnp.where(jnp.abs(W) < 1e-3, 0.5, W)
    rows = []
    for name, pen, formula in [("L2", penalties.l2(0.7), "2 λ W"),
                               ("L1", penalties.l1(0.7), "λ sign(W)"),
                               ("elastic net", penalties.elastic_net(0.7, 0.3),
                                "λ [α sign(W) + 2(1 − α) W]")]:
        f = lambda w, pen=pen: penalties.value(pen, w)
        rows.append(_row(f"∇R {name}", formula, penalties.grad(pen, W), jax.grad(f)(W),
                         central_differences(f, W)))
    return rows


def second_order_rows(key) -> list[Row]:
    rows = []
    for name in ("binary_cross_entropy", "squared_error_sigmoid"):
        loss = LOSSES[name]
        pen = penalties.l2(0.05)
        params, X, T = _problem(loss, jax.random.fold_in(key, len(name)), n=20, d=4, penalty=pen)
        theta = jnp.concatenate([params.W[:, 0], params.b])
        J = lambda t: obj.objective(obj.Params(t[:-1, None], t[-1:]), X, T, loss, pen)
        g = lambda t: ravel_pytree(obj.grad(obj.Params(t[:-1, None], t[-1:]), X, T, loss, pen))[0]
        H = hessian(params, X, T, loss, pen)
        formula = ("(1/N) X̃ᵀ diag(σ(1−σ)) X̃ + 2λI" if name == "binary_cross_entropy"
                   else "(1/N) X̃ᵀ diag(2σ'(σ' − (1−2σ)(y−σ))) X̃ + 2λI")
        rows.append(_row(f"Hessian {name}", formula, H, jax.hessian(J)(theta),
                         central_differences(g, theta)))
    return rows


def ascent_row(key) -> list[Row]:
    """Log-likelihood ascent ``θ + η ∇LL`` equals descent ``θ − η ∇(−LL)``."""
    params, X, T = _problem(LOSSES["log_likelihood"], key)
    eta = 0.1
    _, g_ll = obj.value_and_grad(params, X, T, "log_likelihood")
    _, g_nll = obj.value_and_grad(params, X, T, "binary_cross_entropy")
    up = jax.tree.map(lambda p, g: p + eta * g, params, g_ll)
    down = jax.tree.map(lambda p, g: p - eta * g, params, g_nll)
    up_auto = jax.tree.map(lambda p, g: p + eta * g, params,
                           jax.grad(obj.autodiff_objective)(params, X, T, "log_likelihood"))
    return [_row("ascent on LL = descent on −LL", "θ + η ∇LL = θ − η ∇(−LL)",
                 ravel_pytree(up)[0], ravel_pytree(up_auto)[0], ravel_pytree(down)[0])]


def errata(key) -> list[Erratum]:
    """Each classic formula beside its correction, with its error."""
    out = []
    # E1: SE with a step activation. Reference: autodiff of the straight-through surrogate,
    # the only function whose gradient is the rule the slide states.
    loss = LOSSES["squared_error_step"]
    params, X, T = _problem(loss, jax.random.fold_in(key, 1), n=40, d=3)
    auto = jax.grad(obj.autodiff_objective)(params, X, T, loss).W
    Z = X @ params.W + params.b
    yhat = (Z > 0).astype(X.dtype)
    slide_dg = X * (Z > 0)  # ∂g/∂θ_i = x_i if xθ > 0 else 0, plugged into the chain rule
    literal = (-2.0 * slide_dg * (T - yhat)).mean(0)[:, None]
    corrected = obj.grad(params, X, T, loss).W
    plain_step = jax.grad(lambda p: obj.objective(p, X, T, loss))(params).W
    out += [
        Erratum("E1", "SE + step activation", "slide (literal)",
                "−2 (∂g/∂θ)(y − g), ∂g/∂θ = x·1[xθ > 0]", rel_err(literal, auto), False),
        Erratum("E1", "SE + step activation", "autodiff of the step itself",
                "∂/∂θ (y − 1[xθ > 0])² = 0", rel_err(plain_step, auto), False),
        Erratum("E1", "SE + step activation", "corrected",
                "−2 x (y − step(xθ))  [straight-through]", rel_err(corrected, auto), True),
    ]
    # E2: SE with a sigmoid, batch form; Y, Ŷ are (N, 1) columns.
    loss = LOSSES["squared_error_sigmoid"]
    params, X, T = _problem(loss, jax.random.fold_in(key, 2), n=30, d=4)
    auto = jax.grad(obj.autodiff_objective)(params, X, T, loss).W
    Yh = jax.nn.sigmoid(X @ params.W + params.b)
    n = X.shape[0]
    literal = -(2.0 / n) * X.T @ Yh @ (1.0 - Yh).T @ (T - Yh)
    corrected = -(2.0 / n) * X.T @ (Yh * (1.0 - Yh) * (T - Yh))
    out += [
        Erratum("E2", "SE + sigmoid, batch form", "slide (literal)",
                "−(2/N) Xᵀ Ŷ (1 − Ŷ)ᵀ (Y − Ŷ)  [matrix products]", rel_err(literal, auto), False),
        Erratum("E2", "SE + sigmoid, batch form", "corrected",
                "−(2/N) Xᵀ [Ŷ ⊙ (1 − Ŷ) ⊙ (Y − Ŷ)]", rel_err(corrected, auto), True),
    ]
    # E3: f(w) = (w1 − 2)² + (w2 + 3)².
    w = jnp.array([0.7, -1.3], jnp.float64)
    auto = jax.grad(lambda v: (v[0] - 2) ** 2 + (v[1] + 3) ** 2)(w)
    out += [
        Erratum("E3", "2-D gradient step", "slide (literal)", "[2(w₁ − 2), 3(w₂ + 3)]",
                rel_err(jnp.array([2 * (w[0] - 2), 3 * (w[1] + 3)]), auto), False),
        Erratum("E3", "2-D gradient step", "corrected", "[2(w₁ − 2), 2(w₂ + 3)]",
                rel_err(jnp.array([2 * (w[0] - 2), 2 * (w[1] + 3)]), auto), True),
    ]
    # E4: the scores table: the slide's numbers are the margin-0 losses.
    S = jnp.array([[5.6, 6.4, -4.6], [-1.8, 10.2, 3.5], [2.0, 5.4, -8.6]], jnp.float64)
    Y = jax.nn.one_hot(jnp.array([0, 1, 2]), 3, dtype=jnp.float64)
    hinge = jax.vmap(LOSSES["multiclass_hinge"].value)(S, Y)
    out += [
        Erratum("E4", "hinge scores table", "slide (literal)",
                "hinge Δ=1 = (0.8, 0, 24.6)", rel_err(jnp.array([0.8, 0.0, 24.6]), hinge), False),
        Erratum("E4", "hinge scores table", "corrected", "hinge Δ=1 = (1.8, 0, 26.6)",
                rel_err(jnp.array([1.8, 0.0, 26.6]), hinge), True),
    ]
    # E5: softmax of the lion example (to the 3 decimals the slide gives).
    lion = float(act.softmax(S[0])[0])
    out += [
        Erratum("E5", "softmax of the lion example", "slide (literal)", "0.39",
                rel_err(0.39, round(lion, 3)), False),
        Erratum("E5", "softmax of the lion example", "corrected", "0.310",
                rel_err(0.310, round(lion, 3)), True),
    ]
    # E6: summed and mean batch gradients are both valid: ∇(Σ L) = N ∇(mean L).
    loss = LOSSES["binary_cross_entropy"]
    params, X, T = _problem(loss, jax.random.fold_in(key, 6))
    summed = jax.grad(lambda p: jnp.sum(jax.vmap(loss.value)(X @ p.W + p.b, T)))(params).W
    mean = obj.grad(params, X, T, loss).W
    out += [Erratum("E6", "sum vs mean gradient, 1/N", "corrected",
                    "∇ Σ L = N ∇ mean L (jaxlin: mean)", rel_err(X.shape[0] * mean, summed), True)]
    # "passed" above is what the reading is expected to do; the report shows whether it does.
    return [e._replace(passed=e.error <= ERRATA_TOL) for e in out], [e.passed for e in out]


class Report(NamedTuple):
    rows: list
    errata: list
    errata_expected: list  # for each erratum: should this reading agree with the reference?

    @property
    def ok(self) -> bool:
        """Every derivation passes and every erratum reading behaves as expected."""
        return all(r.passed for r in self.rows) and all(
            e.passed == want for e, want in zip(self.errata, self.errata_expected))


def run(seed: int = 0) -> Report:
    """Every derivation row and every erratum, computed in float64."""
    with jax.enable_x64(True):
        key = jax.random.key(seed)
        rows = (activation_rows(jax.random.fold_in(key, 1))
                + objective_rows(jax.random.fold_in(key, 2))
                + penalty_rows(jax.random.fold_in(key, 3))
                + second_order_rows(jax.random.fold_in(key, 4))
                + ascent_row(jax.random.fold_in(key, 5)))
        errs, expected = errata(jax.random.fold_in(key, 6))
    return Report(rows, errs, expected)


def _fmt(x):
    return "—" if x is None else f"{x:.1e}"


def format_report(report: Report) -> str:
    """The human-readable table printed by ``jaxlin check``."""
    w = max(len(r.name) for r in report.rows)
    f = max(len(r.formula) for r in report.rows)
    lines = [f"jaxlin check — hand-derived vs autodiff (tol {AUTODIFF_TOL:g}) and finite "
             f"differences (tol {FD_TOL:g}), float64, max relative error", "",
             f"{'derivation':<{w}}  {'formula':<{f}}  {'autodiff':>8}  {'fin.diff':>8}  result"]
    for r in report.rows:
        lines.append(f"{r.name:<{w}}  {r.formula:<{f}}  {_fmt(r.err_autodiff):>8}  "
                     f"{_fmt(r.err_fd):>8}  {'PASS' if r.passed else 'FAIL'}"
                     + (f"  ({r.note})" if r.note else ""))
    lines += ["", "corrections — each classic formula against the reference "
              f"(autodiff or the recomputed value, tol {ERRATA_TOL:g}):", ""]
    for e, want in zip(report.errata, report.errata_expected):
        verdict = "PASS" if e.passed else "FAIL"
        flag = "" if e.passed == want else "   <-- unexpected"
        lines.append(f"{e.key}  {e.where:<32} {e.reading:<28} {e.formula:<48} "
                     f"{_fmt(e.error):>8}  {verdict}{flag}")
    n_pass = sum(r.passed for r in report.rows)
    lines += ["", f"{n_pass} of {len(report.rows)} derivations pass; errata "
              + ("behave as expected" if all(e.passed == w for e, w in
                                                   zip(report.errata, report.errata_expected))
                 else "DO NOT behave as expected")]
    return "\n".join(lines)


def to_json(report: Report) -> dict:
    """The same report as plain JSON-serialisable data."""
    return {
        "ok": report.ok,
        "tolerances": {"autodiff": AUTODIFF_TOL, "finite_differences": FD_TOL,
                       "errata": ERRATA_TOL},
        "derivations": [r._asdict() for r in report.rows],
        "errata": [dict(e._asdict(), expected_to_pass=want)
                   for e, want in zip(report.errata, report.errata_expected)],
    }
