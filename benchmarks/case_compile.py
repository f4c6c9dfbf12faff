"""Case 5: the first call of a full training run, in a fresh process (compilation included)."""

from __future__ import annotations

from benchmarks.harness import first_call_seconds, fmt_s

_CODE = """
import json, time, numpy as np
import jax
from jaxlin import data, datasets
from jaxlin.training import fit
d = datasets.load("mnist")
X, y = (d.X[:{n}], d.y[:{n}])
sp = data.train_test_split(X, y, seed=0)
kw = {kw}
jax.block_until_ready(jax.numpy.ones(3) + 1)  # start the runtime before timing
t = time.perf_counter()
jax.block_until_ready(fit(sp.X_train, sp.y_train, "softmax_cross_entropy", **kw).params.W)
first = time.perf_counter() - t
t = time.perf_counter()
jax.block_until_ready(fit(sp.X_train, sp.y_train, "softmax_cross_entropy", **kw).params.W)
warm = time.perf_counter() - t
print(json.dumps({{"first": first, "warm": warm}}))
"""


def run(s):
    n = 1500 if s.tiny else 10000
    cases = [
        (
            "mini-batch SGD, B = 32, 10 epochs",
            dict(optimizer="sgd", batch_size=32, learning_rate=0.1, epochs=10),
            1.5,
        ),
        (
            "L-BFGS to tol 1e-9, C = 1",
            dict(optimizer="lbfgs", l2=1 / 13334, epochs=1000, tol=1e-9, grad_tol=1e-6),
            3.0,
        ),
    ]
    rows, checks = [], []
    for name, kw, bar in cases:
        r = first_call_seconds(_CODE.format(n=n, kw=repr(kw)))
        compile_s = r["first"] - r["warm"]
        rows.append([name, fmt_s(r["first"]), fmt_s(r["warm"]), fmt_s(compile_s)])
        checks.append((f"{name}: first call ≤ {bar:g} s", fmt_s(r["first"]), r["first"] <= bar))
    return {
        "title": "5. Compilation",
        "what": "MNIST (2/3 split). First call of `jaxlin.fit` in a fresh Python process "
        "(tracing, compilation and the run itself), then a second, warm call.",
        "header": ["training run", "first call", "warm call", "difference (compile)"],
        "rows": rows,
        "checks": checks,
    }
