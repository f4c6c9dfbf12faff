"""Case 10: LogisticRegressionCV(Cs=10, cv=5) in a fresh process, against scikit-learn's.

Each run is a whole Python process (interpreter, imports, data, fit), timed from outside,
the median of several; jaxlin's with an empty compilation cache and with it warm.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time

from benchmarks.harness import fmt_s

_CODE = """
import json, sys, time, warnings
import numpy as np
warnings.simplefilter("ignore")
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
which, impl, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
if which == "spambase":
    from jaxlin import datasets
    d = datasets.load("spambase"); step = max(1, len(d.y) // n)  # both classes when small
    X, y = np.asarray(d.X, float)[::step][:n], d.y[::step][:n]
else:
    from sklearn.datasets import load_digits
    X, y = load_digits(return_X_y=True); X, y = X[:n], y[:n]
if impl == "jaxlin":
    from jaxlin.sklearn import LogisticRegressionCV
    kw = {}
else:
    from sklearn.linear_model import LogisticRegressionCV
    kw = {"use_legacy_attributes": True} if "use_legacy_attributes" in \\
        LogisticRegressionCV().get_params() else {}
t = time.perf_counter()
m = make_pipeline(StandardScaler(), LogisticRegressionCV(Cs=10, cv=5, **kw)).fit(X, y)
fit = time.perf_counter() - t
cv = m[-1]
best = float(list(cv.scores_.values())[0].mean(axis=0).max())
print(json.dumps({"fit": fit, "best": best, "C": float(cv.C_[0])}))
"""


def _process(which, impl, n, env):
    import json

    t = time.perf_counter()
    out = subprocess.run(
        [sys.executable, "-c", _CODE, which, impl, str(n)],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        cwd=os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
    )
    wall = time.perf_counter() - t
    if out.returncode != 0:
        raise RuntimeError(out.stderr[-2000:])
    return wall, json.loads(out.stdout.strip().splitlines()[-1])


def run(s):
    repeats = 1 if s.tiny else (2 if s.quick else 5)
    rows, checks = [], []
    data = (("spambase", 600),) if s.tiny else (("spambase", 4601), ("digits", 1797))
    for which, n in data:
        with tempfile.TemporaryDirectory() as cache:
            runs = {}
            variants = (
                ("sklearn", "off", "scikit-learn"),
                ("jaxlin", "off", "jaxlin, no cache"),
                ("jaxlin", cache, "jaxlin, cache warm"),
            )
            for impl, cache_dir, label in variants[:2] if s.tiny else variants:
                env = {**os.environ, "JAXLIN_CACHE_DIR": cache_dir}
                if cache_dir != "off":
                    _process(which, impl, n, env)  # fills the cache
                got = [_process(which, impl, n, env) for _ in range(repeats)]
                runs[label] = (statistics.median(w for w, _ in got), got[0][1])
            sk_wall = runs["scikit-learn"][0]
            for label, (wall, r) in runs.items():
                rows.append(
                    [
                        which,
                        label,
                        fmt_s(wall),
                        fmt_s(r["fit"]),
                        f"{r['best']:.4f}",
                        f"{r['C']:.4g}",
                        f"{sk_wall / wall:.2f}×",
                    ]
                )
            sk_best = runs["scikit-learn"][1]["best"]
            for label in [k for k in runs if k.startswith("jaxlin")]:
                wall, r = runs[label]
                checks.append(
                    (
                        f"{which}, {label}: ≥ 2× faster than scikit-learn (process)",
                        f"{sk_wall / wall:.2f}×",
                        sk_wall / wall >= 2.0,
                    )
                )
            checks.append(
                (
                    f"{which}: best mean CV accuracy within 0.005 of scikit-learn's",
                    f"{runs['jaxlin, no cache'][1]['best'] - sk_best:+.4f}",
                    abs(runs["jaxlin, no cache"][1]["best"] - sk_best) <= 0.005,
                )
            )
    return {
        "title": "10. LogisticRegressionCV in a fresh process",
        "what": "`make_pipeline(StandardScaler(), LogisticRegressionCV(Cs=10, cv=5))` on "
        "Spambase and digits, each run a whole fresh Python process timed from "
        "outside (median of repeats); 'fit' is the time of the fit inside it "
        "(jaxlin's includes importing JAX and compiling).",
        "header": [
            "data",
            "run",
            "process",
            "fit",
            "best mean CV accuracy",
            "C_",
            "speed-up vs scikit-learn",
        ],
        "rows": rows,
        "checks": checks,
    }
