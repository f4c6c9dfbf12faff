"""Case 6: epoch time and peak memory as N grows (d = 256)."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from benchmarks.harness import fmt_s, median_time
from jaxlin import driver
from jaxlin.driver import Hyper, Problem
from jaxlin.objective import Objective
from jaxlin.options import Options
from jaxlin.penalties import Penalty


def _program(settings):
    hyper = Hyper(jnp.float32(0.1), jax.random.key(0))
    obj = Objective.build("binary_cross_entropy", Penalty(jnp.float32(0.0), jnp.float32(1e-4)))

    def train(X, T):
        return driver.trained(driver.run(Problem(X, T, obj), hyper, settings))

    return jax.jit(train)


def run(s):
    d = 256
    sizes = (
        [2_000, 8_000]
        if s.tiny
        else (
            [10_000, 30_000, 100_000, 300_000]
            if s.quick
            else [10_000, 30_000, 100_000, 300_000, 1_000_000]
        )
    )
    rows, checks, fits = [], [], {}
    reps = 1 if s.tiny else 3
    for mode, batch in [("full batch", None), ("mini-batch B = 256", 256)]:
        times = []
        for n in sizes:
            X = jax.random.normal(jax.random.key(n), (n, d), jnp.float32)
            T = (X[:, :1] > 0).astype(jnp.float32)
            epochs = 5
            settings = Options("sgd", epochs=epochs, batch_size=batch).settings(n_outputs=1)
            prog = _program(settings)
            mem = prog.lower(X, T).compile().memory_analysis()
            peak = (
                mem.argument_size_in_bytes
                + mem.output_size_in_bytes
                + mem.temp_size_in_bytes
                - mem.alias_size_in_bytes
            )
            t = median_time(lambda prog=prog, X=X, T=T: prog(X, T).params.W, reps) / epochs
            times.append(t)
            ratio = peak / X.nbytes
            rows.append(
                [
                    mode,
                    f"{n:,}",
                    f"{X.nbytes / 2**20:.0f} MiB",
                    fmt_s(t),
                    f"{t / n * 1e9:.1f} ns",
                    f"{peak / 2**20:.0f} MiB",
                    f"{ratio:.3f}",
                ]
            )
            checks.append(
                (f"{mode}, N = {n:,}: peak memory < 1.5 × data", f"{ratio:.3f}", ratio < 1.5)
            )
            del X, T, prog
        slope, intercept = np.polyfit(sizes, times, 1)
        pred = slope * np.asarray(sizes) + intercept
        r2 = 1 - np.sum((np.asarray(times) - pred) ** 2) / np.sum((times - np.mean(times)) ** 2)
        loglog = np.polyfit(np.log(sizes), np.log(times), 1)[0]
        fits[mode] = (slope, intercept, r2, loglog)
        checks.append(
            (
                f"{mode}: epoch time linear in N (log-log slope ≈ 1, R² of the line)",
                f"slope {loglog:.2f}, R² {r2:.4f}",
                0.8 <= loglog <= 1.2 and r2 >= 0.98,
            )
        )
    notes = "; ".join(
        f"{m}: t(N) ≈ {a * 1e9:.2f} ns × N + {fmt_s(max(b, 0))}, R² {r2:.4f}, "
        f"log-log slope {ll:.2f}"
        for m, (a, b, r2, ll) in fits.items()
    )
    return {
        "title": "6. Scaling",
        "what": "Synthetic X of N × 256 float32, binary logistic, plain SGD, 5 epochs per timed "
        "run. Peak memory = arguments + outputs + temporaries of the compiled training "
        "program (XLA's memory analysis), relative to the bytes of X. Fits: " + notes,
        "header": ["mode", "N", "X", "epoch", "per row", "peak memory", "÷ data bytes"],
        "rows": rows,
        "checks": checks,
    }
