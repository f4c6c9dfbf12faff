"""Case 1: the full-batch value-and-gradient step against one read of X and against jax.grad."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from benchmarks.harness import fmt_s, interleaved_medians
from jaxlin import backend, datasets, linear
from jaxlin import objective as obj
from jaxlin.linear import Params

BARS = {1: 2.0}  # reads of X for K = 1; for K > 1: ≤ 1.15 × the two bare matrix products
PRODUCTS_BAR = 1.15


def _contractions(X, D):
    """The formulations of Xᵀ Δ we compared (reads of X each)."""
    return {
        "X.T @ D": jax.jit(lambda X, D: X.T @ D),
        "einsum(nk,nd->kd).T (transpose folded into the dot)": jax.jit(
            lambda X, D: jnp.einsum("nk,nd->kd", D, X).T
        ),
        "jaxlin.contract: barrier(einsum(nk,nd->kd)).T": jax.jit(linear.contract),
    }


def run(s):
    """The case at the precision ``jaxlin.fit`` computes in (full float32 products on every
    platform: on a GPU, JAX's default would round them to TF32), the bare products too."""
    with backend.precision(np.float32):
        return _run(s)


def _run(s):
    if s.tiny:
        shapes = [("synthetic", 2_000, 16)]
    elif s.quick:
        shapes = [("synthetic", 50_000, 256), ("MNIST", 10_000, 784)]
    else:
        shapes = [("synthetic", 200_000, 256), ("MNIST", 10_000, 784)]
    rows, checks, formulations = [], [], []
    for name, n, d in shapes:
        if name == "MNIST":
            X = jnp.asarray(datasets.load("mnist").X, jnp.float32)
        else:
            X = jax.random.normal(jax.random.key(0), (n, d), jnp.float32)
        read = jax.jit(lambda X: X.sum(0))
        xw = jax.jit(lambda X, W: X @ W)
        xtd = jax.jit(lambda X, D: X.T @ D)
        contract = jax.jit(linear.contract)  # the fastest Xᵀ Δ alone (the table below)
        for k, loss in [(1, "binary_cross_entropy"), (10, "softmax_cross_entropy")]:
            y = np.asarray(jax.random.randint(jax.random.key(1), (n,), 0, 2 if k == 1 else k))
            T = obj.encode_targets(y, loss)
            p = Params(jnp.full((d, k), 0.01, jnp.float32), jnp.zeros((k,), jnp.float32))
            hand = jax.jit(lambda p, X, T, loss=loss: obj.value_and_grad(p, X, T, loss))
            auto = jax.jit(lambda p, X, T, loss=loss: obj.autodiff_value_and_grad(p, X, T, loss))
            Dk = jax.random.normal(jax.random.key(3), (n, k), jnp.float32)
            t = interleaved_medians(
                {
                    "read": lambda: read(X),
                    "hand": lambda: hand(p, X, T),
                    "auto": lambda: auto(p, X, T),
                    "xw": lambda: xw(X, p.W),
                    "xtd": lambda: xtd(X, Dk),
                    "contract": lambda: contract(X, Dk),
                },
                s.repeats,
            )
            hr, ar = t["hand"] / t["read"], t["auto"] / t["read"]
            floor = t["xw"] + t["xtd"]
            label = f"{name} {n:,} × {d}, K = {k}"
            rows.append(
                [
                    label,
                    fmt_s(t["read"]),
                    f"{fmt_s(t['xw'])} + {fmt_s(t['xtd'])}",
                    fmt_s(t["hand"]),
                    f"{hr:.2f}",
                    f"{t['hand'] / floor:.2f}",
                    fmt_s(t["auto"]),
                    f"{ar:.2f}",
                    f"{t['hand'] / t['auto']:.2f}",
                ]
            )
            if k == 1:  # the floor: X @ w and the fastest Xᵀ δ, each alone, in reads
                best = (t["xw"] + t["contract"]) / t["read"]
                checks.append(
                    (
                        f"{label}: hand step ≤ {BARS[k]:g} reads of X",
                        f"{hr:.2f} (X @ w and the fastest Xᵀ δ alone: {best:.2f})",
                        hr <= BARS[k],
                    )
                )
            else:
                checks.append(
                    (
                        f"{label}: hand step ≤ {PRODUCTS_BAR:g} × the two bare products "
                        "(X @ W, Xᵀ @ Δ)",
                        f"{t['hand'] / floor:.2f}",
                        t["hand"] / floor <= PRODUCTS_BAR,
                    )
                )
            if name != "MNIST":
                D = jax.random.normal(jax.random.key(2), (n, k), jnp.float32)
                fs = _contractions(X, D)
                tc = interleaved_medians(
                    {**{f: (lambda f=f: fs[f](X, D)) for f in fs}, "read": lambda: read(X)},
                    s.repeats,
                )
                for f in fs:
                    formulations.append([f"K = {k}", f, f"{tc[f] / tc['read']:.2f}"])
    return {
        "title": "1. Gradient step vs the memory limit",
        "what": "Full-batch value and gradient of the objective, float32, products at full "
        "float32 precision (as `jaxlin.fit` runs them). 'reads' = time ÷ time "
        "of one plain read of X (`X.sum(0)`, X an argument); the floor of a step is the "
        "two bare matrix products it needs, `X @ W` and `Xᵀ @ Δ`, each timed alone in "
        "the same run. Hand = jaxlin's δ and contraction (one pass over row blocks "
        "when X exceeds the caches); jax.grad = `jax.value_and_grad` of the same "
        "objective.",
        "header": [
            "data",
            "read of X",
            "X @ W + Xᵀ @ Δ",
            "hand step",
            "reads",
            "÷ the two products",
            "jax.grad step",
            "reads",
            "hand ÷ jax.grad",
        ],
        "rows": rows,
        "extra": {
            "header": ["K", "formulation of Xᵀ Δ (alone)", "reads of X"],
            "rows": formulations,
        },
        "checks": checks,
    }
