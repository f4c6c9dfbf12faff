"""Case 14: what a call costs outside its compiled run, against one L-BFGS iteration.

benchopt's iteration strategy calls ``fit`` once per point of a curve, so the checks of the
inputs are paid again and again: they should stay under 5% of one L-BFGS iteration on the
100,000 × 400 float64 problem of its public logistic-regression benchmark. A full-batch run
checks ``X`` for NaN and infinity through its first objective and gradient
(``jaxlin.records.first_value``); the scan that it replaces is timed beside it.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from benchmarks.harness import fmt_s, interleaved_medians
from jaxlin import inputs
from jaxlin.backend import precision
from jaxlin.losses import get_loss
from jaxlin.training import fit

BAR = 0.05  # the checks' share of one L-BFGS iteration


def run(s):
    n, d = (2_000, 40) if s.tiny else (100_000, 400)
    rng = np.random.default_rng(0)
    X = rng.standard_normal((n, d))
    y = (X[:, 0] + rng.standard_normal(n) > 0).astype(np.int64)
    loss = get_loss("binary_cross_entropy")
    with precision(jnp.float64):
        Xd = jax.device_put(X)

        def lbfgs(epochs):
            kw = dict(optimizer="lbfgs", l2=1e-5, tol=0, grad_tol=0, dtype=jnp.float64)
            return lambda: fit(Xd, y, epochs=epochs, **kw).params.W

        def prepare(A, finite):
            return lambda: inputs.prepare(A, y, loss, dtype=jnp.float64, finite=finite)

        t = interleaved_medians(
            {
                "checks": prepare(Xd, False),
                "scan": prepare(Xd, True),
                "host": prepare(X, False),
                "fit1": lbfgs(1),
                "fit11": lbfgs(11),
            },
            repeats=2 if s.tiny else s.repeats,
        )
    iteration = (t["fit11"] - t["fit1"]) / 10
    share = t["checks"] / iteration
    rows = [
        ["one L-BFGS iteration ((11 − 1 epochs) ÷ 10)", fmt_s(iteration), "1"],
        [
            "the checks a call makes (X on the device; y, weights, options)",
            fmt_s(t["checks"]),
            f"{share:.3f}",
        ],
        [
            "  with a scan of X for NaN/inf before the run (left to the first gradient)",
            fmt_s(t["scan"]),
            f"{t['scan'] / iteration:.3f}",
        ],
        [
            "  X a NumPy array: the checks and the copy to the device",
            fmt_s(t["host"]),
            f"{t['host'] / iteration:.3f}",
        ],
    ]
    return {
        "title": "14. The cost of a call outside its compiled run",
        "what": f"{n:,} × {d} float64, binary logistic, L-BFGS. Medians of interleaved "
        "repeats. Check of X for NaN and infinity: the run's first objective and gradient "
        "read every value (a non-finite one ends the run at its start and the cell is named "
        "then). A NumPy X is copied to the device on every call; put it there once "
        "(`jax.device_put`) when calling many times (the benchopt solver does).",
        "header": ["part", "time", "÷ one iteration"],
        "rows": rows,
        "checks": [
            (
                f"{n:,} × {d}: input checks ≤ {BAR:.0%} of one L-BFGS iteration",
                f"{share:.1%} ({fmt_s(t['checks'])} vs {fmt_s(iteration)})",
                share <= BAR,
            )
        ],
        "ratio": share,
    }
