"""The derivation report behind ``jaxlin check``.

Every hand-derived formula (activations, losses, penalties, Hessian) is evaluated in float64 at
random points (away from kinks) and compared with ``jax.grad`` / ``jax.jacfwd`` of the same
function and with central finite differences: each loss through ``jaxlin.verify``, the rest
here. Known mistakes of classic derivations are shown too: the classic formula beside the
corrected one, each with its error, so a reader sees the classic one fail and the correction
pass (``docs/corrections.md``).

All the arithmetic runs in a few compiled programs, compiled side by side
(``jaxlin.verification.run_all``). Errors are max-norm relative:
``max|a − b| / max(max|b|, 1e-15)``.
"""

from __future__ import annotations

from functools import partial
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from jax.flatten_util import ravel_pytree

from jaxlin import activations as act
from jaxlin import objective as obj
from jaxlin import penalties, sparse, validation
from jaxlin.hessian import hessian
from jaxlin.linear import Params
from jaxlin.losses import LOSSES, Loss
from jaxlin.penalties import Penalty
from jaxlin.verification import (
    AUTODIFF_TOL,
    FD_STEP,
    FD_TOL,
    Row,
    central_differences,
    format_rows,
    gradients,
    judge,
    loss_jobs,
    rel_err,
    row,
    run_all,
)

ERRATA_TOL = 1e-8  # errata mix float arithmetic and 3-decimal classic values


class Erratum(NamedTuple):
    """One reading of a classic formula: ``passed`` says whether it agrees with the reference."""

    key: str
    where: str
    reading: str  # "classic" or "corrected"
    formula: str
    error: float
    passed: bool


def _problem(loss: Loss, rng: np.random.Generator, n=12, d=5, k=3):
    """Random float64 data, targets and parameters (NumPy: nothing to compile)."""
    from jaxlin.verification import random_targets

    k = k if loss.min_classes > 1 else 1
    X = rng.standard_normal((n, d))
    T = random_targets(loss, rng, n, k)
    return Params(rng.uniform(-2.0, 2.0, (d, k)), rng.uniform(-1.0, 1.0, k)), X, T


def gradient_row(loss: Loss, penalty: Penalty, params, X, T, name: str = "") -> Row:
    """The hand-derived ``∇J`` against ``jax.grad`` and central differences at one point.

    The test suite runs it on every loss × shape × penalty (``jaxlin check`` runs the same
    comparison through ``jaxlin.verify``). Finite differences are skipped for a
    straight-through loss (its ``δ`` is not the gradient of its value).
    """
    hand, auto, fd = gradients(loss, penalty, params, X, T)
    note = ""
    if loss.surrogate is not None:
        fd, note = None, "straight-through: not the gradient of L; FD gives 0"
    return row(name or f"∇J {loss.name}", f"δ = {loss.delta_formula}", hand, auto, fd, note)


# ---------------------------------------------------------------- the other derivations
# Each returns {row name: (hand, autodiff, finite differences)}, traced inside one compiled
# program (``_extras``) and judged on the host; FORMULAS holds each row's formula and docs.

FORMULAS = {
    "activation identity'": ("g' = 1", "activations.md"),
    "activation step'": ("g' = 0 (a.e.)", "activations.md"),
    "activation sigmoid'": ("σ' = σ(1 − σ)", "activations.md"),
    "activation logit'": ("1 / (p(1 − p))", "activations.md"),
    "softmax Jacobian": ("diag(s) − s sᵀ", "activations.md#softmax"),
    "∇R L2": ("2 λ W", "penalties.md"),
    "∇R L1": ("λ sign(W)", "penalties.md"),
    "∇R elastic net": ("λ [α sign(W) + 2(1 − α) W]", "penalties.md"),
    "Hessian binary_cross_entropy": (
        "(1/N) X̃ᵀ diag(σ(1−σ)) X̃ + 2λI",
        "second-order.md#the-hessian",
    ),
    "Hessian squared_error_sigmoid": (
        "(1/N) X̃ᵀ diag(2σ'(σ' − (1−2σ)(y−σ))) X̃ + 2λI",
        "second-order.md#the-hessian",
    ),
    "ascent on LL = descent on −LL": ("θ + η ∇LL = θ − η ∇(−LL)", "losses.md#log-likelihood"),
    "sparse Z = XW": (
        "Z_i = Σ_{e: r_e=i} a_e W[c_e] (against dense XW)",
        "sparse.md#the-two-products",
    ),
    "sparse Xᵀ Δ": ("G_j = Σ_{e: c_e=j} a_e Δ[r_e]", "sparse.md#the-two-products"),
    "sparse ∇J softmax_cross_entropy": (
        "(Xᵀ Δ / N + 2λW, mean δ) on the stored entries",
        "sparse.md#the-gradient-and-the-hessian",
    ),
    "sparse Hessian-vector product": (
        "Xᵀ (C ⊙ (X V)) / N + 2λV on the stored entries",
        "sparse.md#the-gradient-and-the-hessian",
    ),
}


def activation_checks(z):
    p = jax.nn.sigmoid(z)
    out = {}
    for name, g, dg, x in [
        ("identity", act.identity, act.identity_grad, z),
        ("step", act.step, act.step_grad, z),
        ("sigmoid", act.sigmoid, act.sigmoid_grad, z),
        ("logit", act.logit, act.logit_grad, p),
    ]:
        out[f"activation {name}'"] = (
            dg(x),
            jax.vmap(jax.grad(g))(x),
            jax.vmap(lambda t, g=g: central_differences(g, t))(x),
        )
    s = z[:5]
    out["softmax Jacobian"] = (
        act.softmax_jacobian(s),
        jax.jacfwd(act.softmax)(s),
        central_differences(act.softmax, s),
    )
    return out


def penalty_checks(W):
    out = {}
    for name, pen in [
        ("L2", penalties.l2(0.7)),
        ("L1", penalties.l1(0.7)),
        ("elastic net", penalties.elastic_net(0.7, 0.3)),
    ]:
        f = lambda w, pen=pen: penalties.value(pen, w)
        out[f"∇R {name}"] = (penalties.grad(pen, W), jax.grad(f)(W), central_differences(f, W))
    return out


def hessian_checks(problems):
    out = {}
    for name, (params, X, T) in problems.items():
        loss, pen = LOSSES[name], penalties.l2(0.05)
        unflat = lambda t: Params(t[:-1, None], t[-1:])
        theta = jnp.concatenate([params.W[:, 0], params.b])
        J = lambda t: obj.objective(unflat(t), X, T, loss, pen)
        g = lambda t: ravel_pytree(obj.grad(unflat(t), X, T, loss, pen))[0]
        out[f"Hessian {name}"] = (
            hessian(params, X, T, loss, pen),
            jax.hessian(J)(theta),
            central_differences(g, theta),
        )
    return out


def ascent_checks(params, X, T):
    """Log-likelihood ascent ``θ + η ∇LL`` equals descent ``θ − η ∇(−LL)``."""
    eta, flat = 0.1, lambda t: ravel_pytree(t)[0]
    g_ll = obj.grad(params, X, T, "log_likelihood")
    g_nll = obj.grad(params, X, T, "binary_cross_entropy")
    g_auto = jax.grad(obj.autodiff_objective)(params, X, T, "log_likelihood")
    step = lambda g, s: flat(jax.tree.map(lambda p, gi: p + s * eta * gi, params, g))
    return {
        "ascent on LL = descent on −LL": (step(g_ll, 1.0), step(g_auto, 1.0), step(g_nll, -1.0))
    }


def errata_arrays(e1, e2, e6):
    """Each classic formula and its correction, against its reference: name → (value, ref)."""
    out = {}
    # E1: SE with a step activation. Reference: autodiff of the straight-through surrogate,
    # the only function whose gradient is the classic perceptron rule.
    loss = LOSSES["squared_error_step"]
    params, X, T = e1
    auto = jax.grad(obj.autodiff_objective)(params, X, T, loss).W
    Z = X @ params.W + params.b
    yhat = (Z > 0).astype(X.dtype)
    literal = (-2.0 * X * (Z > 0) * (T - yhat)).mean(0)[:, None]  # ∂g/∂θ = x·1[xθ > 0]
    out["E1 literal"] = (literal, auto)
    out["E1 step"] = (jax.grad(lambda p: obj.objective(p, X, T, loss))(params).W, auto)
    out["E1 corrected"] = (obj.grad(params, X, T, loss).W, auto)
    # E2: SE with a sigmoid, batch form; Y, Ŷ are (N, 1) columns.
    loss = LOSSES["squared_error_sigmoid"]
    params, X, T = e2
    auto = jax.grad(obj.autodiff_objective)(params, X, T, loss).W
    Yh, n = jax.nn.sigmoid(X @ params.W + params.b), X.shape[0]
    out["E2 literal"] = (-(2.0 / n) * X.T @ Yh @ (1.0 - Yh).T @ (T - Yh), auto)
    out["E2 corrected"] = (-(2.0 / n) * X.T @ (Yh * (1.0 - Yh) * (T - Yh)), auto)
    # E6: summed and mean batch gradients are both valid: ∇(Σ L) = N ∇(mean L).
    loss = LOSSES["binary_cross_entropy"]
    params, X, T = e6
    summed = jax.grad(lambda p: jnp.sum(jax.vmap(loss.value)(X @ p.W + p.b, T)))(params).W
    out["E6 corrected"] = (X.shape[0] * obj.grad(params, X, T, loss).W, summed)
    # E3: f(w) = (w1 − 2)² + (w2 + 3)².
    w = jnp.array([0.7, -1.3], X.dtype)
    auto = jax.grad(lambda v: (v[0] - 2) ** 2 + (v[1] + 3) ** 2)(w)
    out["E3 literal"] = (jnp.stack([2 * (w[0] - 2), 3 * (w[1] + 3)]), auto)
    out["E3 corrected"] = (jnp.stack([2 * (w[0] - 2), 2 * (w[1] + 3)]), auto)
    # E4: the scores table: the classic numbers are the margin-0 losses.
    S = jnp.array([[5.6, 6.4, -4.6], [-1.8, 10.2, 3.5], [2.0, 5.4, -8.6]], X.dtype)
    hinge = jax.vmap(LOSSES["multiclass_hinge"].value)(S, jnp.eye(3, dtype=X.dtype))
    out["E4 literal"] = (jnp.array([0.8, 0.0, 24.6], X.dtype), hinge)
    out["E4 corrected"] = (jnp.array([1.8, 0.0, 26.6], X.dtype), hinge)
    # E5: softmax of the lion example (to the 3 decimals the classic table gives).
    lion = jnp.round(act.softmax(S[0])[0], 3)
    out["E5 literal"] = (jnp.array(0.39, X.dtype), lion)
    out["E5 corrected"] = (jnp.array(0.310, X.dtype), lion)
    # E7: the second derivative of (y − σ(z))²: the classic expression drops the factor 2.
    loss = LOSSES["squared_error_sigmoid"]
    z = jnp.linspace(-4.0, 4.0, 9, dtype=X.dtype)[:, None]
    y = (jnp.arange(9) % 2).astype(X.dtype)[:, None]
    auto = jax.vmap(jax.hessian(loss.value))(z, y)[:, 0, 0]
    yh = jax.nn.sigmoid(z[:, 0])
    classic = -(y[:, 0] - 2 * y[:, 0] * yh - 2 * yh + 3 * yh**2) * yh * (1 - yh)
    out["E7 literal"] = (classic, auto)
    out["E7 corrected"] = (jax.vmap(loss.curvature)(z, y)[:, 0], auto)
    return out


def sparse_checks(p):
    """The products and the objective's derivatives on sparse rows: hand (the stored
    entries) against autodiff of the dense form and central differences."""
    Xs, Xd, W, D = p["Xs"], p["Xd"], p["W"], p["D"]
    out = {"sparse Z = XW": (sparse.matmul(Xs, W), Xd @ W, None)}
    f = lambda w: jnp.sum(D * (Xd @ w))  # noqa: E731  ∂/∂W = Xᵀ D
    out["sparse Xᵀ Δ"] = (sparse.rmatmul(Xs, D), jax.grad(f)(W), central_differences(f, W))
    loss, pen = LOSSES["softmax_cross_entropy"], penalties.l2(0.05)
    params, T, v = p["params"], p["T"], p["v"]
    o = obj.Objective(loss, pen)
    J = lambda q: obj.autodiff_objective(q, Xd, T, loss, pen)  # noqa: E731
    flat = lambda t: ravel_pytree(t)[0]  # noqa: E731
    out["sparse ∇J softmax_cross_entropy"] = (
        flat(o.smooth_value_and_grad(params, Xs, T)[1]),
        flat(jax.grad(J)(params)),
        central_differences(J, params),
    )
    g = lambda q: flat(jax.grad(J)(q))  # noqa: E731
    along = lambda h: g(jax.tree.map(lambda a, b: a + h * b, params, v))  # noqa: E731
    out["sparse Hessian-vector product"] = (
        flat(o.hvp(params, Xs, T, v)),
        jax.jvp(g, (params,), (v,))[1],
        (along(FD_STEP) - along(-FD_STEP)) / (2 * FD_STEP),
    )
    return out


@partial(jax.jit, static_argnums=0)
def _sparse_extras(_, p):
    """The sparse rows' checks: one compiled program."""
    return sparse_checks(p)


def _sparse_inputs(seed: int) -> dict:
    import scipy.sparse as sp

    rng = np.random.default_rng([seed, 11])
    X = sp.random(15, 7, density=0.3, random_state=rng, format="csr")
    X.data = rng.standard_normal(X.nnz)
    params, _, T = _problem(LOSSES["softmax_cross_entropy"], rng, n=15, d=7, k=3)
    v = Params(rng.standard_normal((7, 3)), rng.standard_normal(3))
    return dict(
        Xs=sparse.to_device(X, np.float64),
        Xd=X.toarray(),
        W=rng.standard_normal((7, 2)),
        D=rng.standard_normal((15, 2)),
        params=params,
        T=T,
        v=v,
    )


@partial(jax.jit, static_argnums=0)
def _extras(_, p):
    """Everything of the report that is not a loss: one compiled program."""
    return dict(
        checks={
            **activation_checks(p["z"]),
            **penalty_checks(p["W"]),
            **hessian_checks(p["hessian"]),
            **ascent_checks(*p["ascent"]),
        },
        errata=errata_arrays(p["e1"], p["e2"], p["e6"]),
    )


def _extras_inputs(seed: int) -> dict:
    rng = np.random.default_rng([seed, 7])
    z = rng.standard_normal(9) * 3.0
    z[np.abs(z) < 1e-3] = 0.5  # keep the step's kink out
    W = rng.standard_normal((4, 3))
    W[np.abs(W) < 1e-3] = 0.5
    return dict(
        z=z,
        W=W,
        hessian={
            n: _problem(LOSSES[n], rng, n=20, d=4)
            for n in ("binary_cross_entropy", "squared_error_sigmoid")
        },
        ascent=_problem(LOSSES["log_likelihood"], rng),
        e1=_problem(LOSSES["squared_error_step"], rng, n=40, d=3),
        e2=_problem(LOSSES["squared_error_sigmoid"], rng, n=30, d=4),
        e6=_problem(LOSSES["binary_cross_entropy"], rng),
    )


# the formulas, static: (key, where, reading, formula, expected to pass)
_ERRATA = [
    ("E1", "SE + step activation", "classic", "−2 (∂g/∂θ)(y − g), ∂g/∂θ = x·1[xθ > 0]", False),
    (
        "E1",
        "SE + step activation",
        "autodiff of the step itself",
        "∂/∂θ (y − 1[xθ > 0])² = 0",
        False,
    ),
    ("E1", "SE + step activation", "corrected", "−2 x (y − step(xθ))  [straight-through]", True),
    ("E2", "SE + sigmoid, batch form", "classic", "−(2/N) Xᵀ Ŷ (1 − Ŷ)ᵀ (Y − Ŷ)  [matrix]", False),
    ("E2", "SE + sigmoid, batch form", "corrected", "−(2/N) Xᵀ [Ŷ ⊙ (1 − Ŷ) ⊙ (Y − Ŷ)]", True),
    ("E3", "2-D gradient step", "classic", "[2(w₁ − 2), 3(w₂ + 3)]", False),
    ("E3", "2-D gradient step", "corrected", "[2(w₁ − 2), 2(w₂ + 3)]", True),
    ("E4", "hinge scores table", "classic", "hinge Δ=1 = (0.8, 0, 24.6)", False),
    ("E4", "hinge scores table", "corrected", "hinge Δ=1 = (1.8, 0, 26.6)", True),
    ("E5", "softmax of the lion example", "classic", "0.39", False),
    ("E5", "softmax of the lion example", "corrected", "0.310", True),
    ("E6", "sum vs mean gradient, 1/N", "corrected", "∇ Σ L = N ∇ mean L (jaxlin: mean)", True),
    ("E7", "SE + sigmoid, second derivative", "classic", "−(y − 2yŷ − 2ŷ + 3ŷ²) ŷ(1 − ŷ)", False),
    (
        "E7",
        "SE + sigmoid, second derivative",
        "corrected",
        "−2 (y − 2yŷ − 2ŷ + 3ŷ²) ŷ(1 − ŷ)",
        True,
    ),
]


def errata(arrays: dict) -> tuple[list, list]:
    """Each classic formula beside its correction, with its error, and what each should do."""
    keys = [
        "E1 literal",
        "E1 step",
        "E1 corrected",
        "E2 literal",
        "E2 corrected",
        "E3 literal",
        "E3 corrected",
        "E4 literal",
        "E4 corrected",
        "E5 literal",
        "E5 corrected",
        "E6 corrected",
        "E7 literal",
        "E7 corrected",
    ]
    errors = [rel_err(*arrays[k]) for k in keys]
    out = [
        Erratum(key, where, reading, formula, err, err <= ERRATA_TOL)
        for (key, where, reading, formula, _), err in zip(_ERRATA, errors)
    ]
    return out, [want for *_, want in _ERRATA]


class Report(NamedTuple):
    rows: list
    errata: list
    errata_expected: list  # for each erratum: should this reading agree with the reference?

    @property
    def ok(self) -> bool:
        """Every derivation passes and every erratum reading behaves as expected."""
        return all(r.passed for r in self.rows) and all(
            e.passed == want for e, want in zip(self.errata, self.errata_expected)
        )


def check_sizes(loss: Loss) -> list:
    """The ``K`` each built-in is checked at: 3 for one-hot targets, else 1 (one program each)."""
    return [3 if loss.min_classes > 1 else 1]


def run(seed: int = 0) -> Report:
    """Every derivation row and every erratum, computed in float64."""
    seed = validation.numpy_seed(seed)
    with jax.enable_x64(True):
        jobs, keys, rows = loss_jobs(LOSSES.values(), check_sizes, seed)
        *outs, extras, sparse_out = run_all(
            jobs
            + [(_extras, None, _extras_inputs(seed)), (_sparse_extras, None, _sparse_inputs(seed))]
        )
    for (loss, k), out in zip(keys, outs):
        group, _ = judge(loss, k, out)
        rows += [
            r._replace(name=f"{loss.name}: {r.name}", docs=loss.docs if i == 0 else "")
            for i, r in enumerate(group)
        ]
    for name, (hand, auto, fd) in {**extras["checks"], **sparse_out}.items():
        formula, docs = FORMULAS[name]
        rows.append(row(name, formula, hand, auto, fd, docs=docs))
    errs, expected = errata(extras["errata"])
    return Report(rows, errs, expected)


def format_report(report: Report) -> str:
    """The human-readable table printed by ``jaxlin check`` (at most 100 columns)."""
    lines = [
        format_rows(
            "jaxlin check — every hand derivation against autodiff and finite differences",
            report.rows,
        ),
        "",
        f"corrections — each classic formula against its reference (tol {ERRATA_TOL:g}), "
        "docs/corrections.md:",
        "",
    ]
    for e, want in zip(report.errata, report.errata_expected):
        verdict = "PASS" if e.passed else "FAIL"
        flag = "" if e.passed == want else "   <-- unexpected"
        lines.append(
            f"{e.key}  {e.where:<31} {e.reading:<27} {e.error:>8.1e}  {verdict}"
            f"{flag} (expected {'PASS' if want else 'FAIL'})"
        )
        lines.append(f"      {e.formula}")
    n_pass = sum(r.passed for r in report.rows)
    behaved = all(e.passed == w for e, w in zip(report.errata, report.errata_expected))
    lines += [
        "",
        f"{n_pass} of {len(report.rows)} derivations pass; the corrections "
        + ("behave as expected" if behaved else "DO NOT behave as expected"),
    ]
    return "\n".join(lines)


def to_json(report: Report) -> dict:
    """The same report as plain JSON-serialisable data."""
    return {
        "ok": report.ok,
        "tolerances": {
            "autodiff": AUTODIFF_TOL,
            "finite_differences": FD_TOL,
            "errata": ERRATA_TOL,
        },
        "derivations": [r._asdict() for r in report.rows],
        "errata": [
            dict(e._asdict(), expected_to_pass=want)
            for e, want in zip(report.errata, report.errata_expected)
        ],
    }
