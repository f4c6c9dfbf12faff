"""Case 11: time to first result — fixed costs of small jobs, each in a fresh process.

* the default ``jaxlin train`` (empty compilation cache, then warm) against JAX's own
  start-up floor (``import jax`` and one operation), and the programs it compiles;
* ``GridSearchCV`` (5 folds × 4 values of C) on Spambase against scikit-learn's;
* the first mini-batch SGD call on MNIST against scikit-learn's first ``SGDClassifier``.

Every figure is the median of whole fresh processes; the ratios compare runs of one
benchmark run on one machine.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

from benchmarks.harness import fmt_s

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

FLOOR = "import jax.numpy as jnp; jnp.ones(3).sum().block_until_ready()"
# the default `jaxlin train`, counting the programs it compiles
TRAIN = """
import logging, sys, jax
from jaxlin.cli import main
jax.config.update("jax_log_compiles", True)
n = []
class C(logging.Handler):
    def emit(self, r):
        n.extend([1] if r.getMessage().startswith("Compiling ") else [])
logging.getLogger("jax").addHandler(C())
status = main(["train", "--quiet"]); print(len(n)); sys.exit(status)
"""
GRID = """
import json, sys, time, warnings
import numpy as np
warnings.simplefilter("ignore")
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from jaxlin import datasets
d = datasets.load("spambase"); n = int(sys.argv[2]); step = max(1, len(d.y) // n)
X, y = np.asarray(d.X, float)[::step][:n], d.y[::step][:n]  # both classes when small
KW = {"jaxlin-nc": {"solver": "newton-cholesky"}}.get(sys.argv[1], {})  # jaxlin's other Newton
if sys.argv[1] in ("jaxlin", "jaxlin-nc", "floor"):
    import jax
    if sys.argv[1] != "floor":
        from jaxlin.sklearn import LogisticRegression
    else:  # the minimal JAX program (benchmarks.floor_first)
        from benchmarks.floor_first import LogisticRegression
    jax.block_until_ready(jax.numpy.ones(3) + 1)  # start JAX's runtime before timing
else:
    from sklearn.linear_model import LogisticRegression
def search():
    return GridSearchCV(make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000, **KW)),
                        {"logisticregression__C": [0.01, 0.1, 1.0, 10.0]}, cv=5).fit(X, y)
t = time.perf_counter(); g = search(); first = time.perf_counter() - t
t = time.perf_counter(); search(); again = time.perf_counter() - t  # the same process
print(json.dumps({"fit": first, "again": again, "score": float(g.best_score_),
                  "C": g.best_params_["logisticregression__C"]}))
"""
SGD = """
import json, sys, time, warnings
import numpy as np
warnings.simplefilter("ignore")
from jaxlin import data, datasets
d = datasets.load("mnist"); n = int(sys.argv[2])
sp = data.train_test_split(d.X[:n], d.y[:n], seed=0)
if sys.argv[1] == "jaxlin":
    import jax
    from jaxlin import enable_compilation_cache, fit
    enable_compilation_cache()  # what a library user calls to use the cache
    jax.block_until_ready(jax.numpy.ones(3) + 1)  # start JAX's runtime before timing
    def run():
        r = fit(sp.X_train, sp.y_train, "softmax_cross_entropy", optimizer="sgd",
                batch_size=32, learning_rate=0.1, epochs=10)
        W, b = jax.device_get(r.params)
        return float(np.mean(np.argmax(sp.X_test @ W + b, 1) == sp.y_test))
elif sys.argv[1] == "floor":  # the minimal JAX program (benchmarks.floor_first)
    import jax
    from benchmarks.floor_first import sgd_first_call
    jax.block_until_ready(jax.numpy.ones(3) + 1)
    def run():
        return sgd_first_call(sp.X_train, sp.y_train, sp.X_test, sp.y_test, epochs=10)
else:
    from sklearn.linear_model import SGDClassifier
    def run():
        m = SGDClassifier(loss="log_loss", max_iter=10, tol=None, random_state=0)
        return float(m.fit(sp.X_train, sp.y_train).score(sp.X_test, sp.y_test))
t = time.perf_counter(); acc = run(); first = time.perf_counter() - t
print(json.dumps({"fit": first, "accuracy": acc}))
"""


STUDY = """
import json, sys, time
import numpy as np, jax, jax.numpy as jnp, optax
from jaxlin import backend, datasets, training
which = sys.argv[1]
if which == "optax":  # optax's L-BFGS with its zoom line search on a trivial objective
    f = lambda w: jnp.sum((w - 1.0) ** 2) + jnp.sum(w ** 4)
    tx = optax.lbfgs(memory_size=10,
                     linesearch=optax.scale_by_zoom_linesearch(max_linesearch_steps=30))
    vg = optax.value_and_grad_from_state(f)
    def loop(w):
        def body(c):
            w, st, i = c
            v, g = vg(w, state=st)
            u, st = tx.update(g, st, w, value=v, grad=g, value_fn=f)
            return optax.apply_updates(w, u), st, i + 1
        return jax.lax.while_loop(lambda c: c[2] < 100, body, (w, tx.init(w), 0))[0]
    fn, args, kw = loop, (jnp.zeros(57),), {}
else:
    d = datasets.load(which); X = (d.X - d.X.mean(0)) / (d.X.std(0) + 1e-12)
    seen = {}
    def spy(problem, hyper, state, until, settings, model_axes):
        seen.update(args=(problem, hyper, state, until),
                    kw=dict(settings=settings, model_axes=model_axes))
        raise KeyboardInterrupt
    training._advance = spy
    try:
        training.fit(X, d.y, optimizer="lbfgs", l2=1e-3, tol=1e-9, grad_tol=1e-6, epochs=1000)
    except KeyboardInterrupt:
        pass
    fn, args, kw = training._loop, seen["args"], seen["kw"]
out = {}
for label, nbytes in (("default", 2 ** 40), ("quick", 0)):
    jitted = backend.jit_for(fn, nbytes, tuple(kw))
    t = time.perf_counter(); traced = jitted.trace(*args, **kw); t1 = time.perf_counter()
    lowered = traced.lower(); t2 = time.perf_counter(); compiled = lowered.compile()
    t3 = time.perf_counter()
    jax.block_until_ready(compiled(*args)); t4 = time.perf_counter()
    jax.block_until_ready(compiled(*args)); t5 = time.perf_counter()
    out[label] = dict(trace=t1 - t, lower=t2 - t1, compile=t3 - t2, run=t5 - t4)
print(json.dumps(out))
"""


STUDIED = (
    ("optax", "optax L-BFGS + zoom line search, trivial objective"),
    ("kidcreative", "jaxlin L-BFGS, KidCreative (449 × 16)"),
    ("spambase", "jaxlin L-BFGS, Spambase (4,601 × 57)"),
)


def _study_rows(tiny=False):
    """Where the L-BFGS program's compilation goes, with XLA's default options and with
    the quicker ones used for small data (the smoke run: KidCreative's only)."""
    rows = []
    for which, label in STUDIED[1:2] if tiny else STUDIED:
        r = _process(STUDY, (which,))[1]
        for opt in ("default", "quick"):
            t = r[opt]
            traced = (
                f"trace {fmt_s(t['trace'])}, lower {fmt_s(t['lower'])}"
                if opt == "default"
                else "(traced once)"
            )
            rows.append(
                [
                    f"compile study: {label}, {opt} options",
                    traced,
                    f"XLA compile {fmt_s(t['compile'])}",
                    f"run {fmt_s(t['run'])}",
                ]
            )
    return rows


def _process(code, args=(), cache="off"):
    """Wall seconds of one fresh process and its last JSON line (or ``None``)."""
    env = {**os.environ, "JAXLIN_CACHE_DIR": cache}
    env.pop("JAX_COMPILATION_CACHE_DIR", None)
    t = time.perf_counter()
    out = subprocess.run(
        [sys.executable, "-c", code, *map(str, args)],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    wall = time.perf_counter() - t
    if out.returncode != 0:
        raise RuntimeError(out.stderr[-2000:])
    last = out.stdout.strip().splitlines()[-1] if out.stdout.strip() else ""
    return wall, (json.loads(last) if last.startswith("{") else last)


def _median(code, args, cache, repeats):
    return _fit_median([_process(code, args, cache) for _ in range(repeats)])


def _cold_then_warm(code, args, repeats, warm=True):
    """``repeats`` fresh processes, each with a fresh, empty cache folder, then (``warm``)
    ``repeats`` more with the folder the first one filled: ``(cold runs, warm runs)``,
    each a list of ``(wall, out)``."""
    with tempfile.TemporaryDirectory() as cache:
        cold = [_process(code, args, cache)]  # empty now; this run fills it
        for _ in range(repeats - 1):
            with tempfile.TemporaryDirectory() as empty:
                cold.append(_process(code, args, empty))
        hot = [_process(code, args, cache) for _ in range(repeats)] if warm else []
    return cold, hot


FLOOR_PROGRAM = "JAX floor program"  # benchmarks.floor_first, no cache
CHOLESKY = "jaxlin solver='newton-cholesky', empty cache"  # GRID's "jaxlin-nc"


def _variants(code, args, repeats, warm=True, cholesky=False):
    """scikit-learn / jaxlin (cache empty) / jaxlin (cache warm) / (``cholesky``: jaxlin
    with ``solver="newton-cholesky"``, a smaller program, cache empty) / the minimal JAX
    program: ``{label: (wall, out)}``, the 'fit' of each the median of its processes."""
    out = {"scikit-learn": _median(code, ("sklearn", *args), "off", repeats)}
    cold, hot = _cold_then_warm(code, ("jaxlin", *args), repeats, warm)
    out["jaxlin, empty cache"] = _fit_median(cold)
    if warm:
        out["jaxlin, cache warm"] = _fit_median(hot)
    if cholesky:
        out[CHOLESKY] = _fit_median(_cold_then_warm(code, ("jaxlin-nc", *args), repeats, False)[0])
    out[FLOOR_PROGRAM] = _fit_median([_process(code, ("floor", *args)) for _ in range(repeats)])
    return out


def _fit_median(runs):
    """``(median wall, the first run's output)``, its timings (``fit``, ``again``) the
    medians of the runs' (an output that is not a dict — the JAX start-up process prints
    none, ``jaxlin train`` a count — stays the first run's)."""
    first = runs[0][1]
    if isinstance(first, dict):
        first = {
            k: statistics.median(r[k] for _, r in runs) if k in ("fit", "again") else v
            for k, v in first.items()
        }
    return statistics.median(w for w, _ in runs), first


def _train_rows(repeats):
    floor = _median(FLOOR, (), "off", repeats)[0]
    # the first cold run, with an empty cache, compiles every program and says how many
    runs, hot = _cold_then_warm(TRAIN, (), repeats)
    cold = [w for w, _ in runs]
    warm = statistics.median(w for w, _ in hot)
    compiled = int(runs[0][1])
    cold = statistics.median(cold)
    rows = [
        ["jax floor: import jax, one operation", fmt_s(floor), "", "1.00×"],
        ["jaxlin train, empty cache", fmt_s(cold), "", f"{cold / floor:.2f}×"],
        ["jaxlin train, cache warm", fmt_s(warm), "", f"{warm / floor:.2f}×"],
        ["XLA compilations in one jaxlin train", str(compiled), "", ""],
    ]
    checks = [
        (
            "jaxlin train, empty cache: ≤ 3× the jax floor",
            f"{cold / floor:.2f}×",
            cold <= 3 * floor,
        ),
        (
            "jaxlin train, cache warm: ≤ 1.6× the jax floor",
            f"{warm / floor:.2f}×",
            warm <= 1.6 * floor,
        ),
        ("XLA compilations in a default jaxlin train: ≤ 6", str(compiled), compiled <= 6),
    ]
    return rows, checks


def _compare_rows(name, runs, quality, bar_cold, bar_warm, faster):
    """Rows and checks of one scikit-learn comparison; the bars compare the fit times."""
    sk = runs["scikit-learn"][1]["fit"]
    rows, checks = [], []
    for label, (wall, r) in runs.items():
        rows.append(
            [
                f"{name}: {label}",
                fmt_s(wall),
                fmt_s(r["fit"]),
                f"{r['fit'] / sk:.2f}× ({quality(r)})",
            ]
        )
    floor = runs[FLOOR_PROGRAM][1]["fit"] / sk if FLOOR_PROGRAM in runs else None
    for label, bar in (("jaxlin, empty cache", bar_cold), ("jaxlin, cache warm", bar_warm)):
        if bar is None or label not in runs:
            continue
        ratio = runs[label][1]["fit"] / sk
        shown, at_floor = (1 / ratio, 1 / floor) if faster else (ratio, floor)
        measured = f"{shown:.2f}×" + ("" if floor is None else f" (floor program {at_floor:.2f}×)")
        if faster:
            checks.append(
                (f"{name}, {label}: ≥ {bar:g}× faster than scikit-learn", measured, shown >= bar)
            )
        else:
            checks.append(
                (f"{name}, {label}: ≤ {bar:g}× scikit-learn's time", measured, shown <= bar)
            )
    return rows, checks


def _grid_checks(grid):
    """The bars of a whole model selection: a second GridSearchCV in the same process (its
    programs compiled) ≤ 2× scikit-learn's second; the first, in a fresh process with an
    empty compilation cache, ≤ 5× scikit-learn's first."""
    sk, cold = grid["scikit-learn"][1], grid["jaxlin, empty cache"][1]
    floor = grid[FLOOR_PROGRAM][1]
    same = cold["again"]
    return [
        (
            "GridSearchCV, second run in the same process: ≤ 2× scikit-learn's",
            f"{same / sk['again']:.2f}× ({fmt_s(same)} vs {fmt_s(sk['again'])})",
            same <= 2 * sk["again"],
        ),
        (
            "GridSearchCV, fresh process, empty cache: ≤ 5× scikit-learn's",
            f"{cold['fit'] / sk['fit']:.2f}× (floor program {floor['fit'] / sk['fit']:.2f}×)",
            cold["fit"] <= 5 * sk["fit"],
        ),
    ]


def run(s):
    repeats = 1 if s.tiny else (3 if s.quick else 5)
    rows, checks = _train_rows(repeats)
    grid = _variants(GRID, (600 if s.tiny else 4601,), repeats, warm=not s.tiny, cholesky=True)
    r, c = _compare_rows(
        "GridSearchCV",
        grid,
        lambda r: f"best C {r['C']:g}, CV accuracy {r['score']:.4f}",
        4.0,
        1.2,
        faster=False,
    )
    rows, checks = rows + r, checks + _grid_checks(grid)
    sgd = _variants(SGD, (1500 if s.tiny else 10000,), repeats, warm=not s.tiny)
    r, c = _compare_rows(
        "first SGD call, MNIST",
        sgd,
        lambda r: f"test accuracy {r['accuracy']:.4f}",
        3.0,
        None,
        faster=True,
    )
    r += _study_rows(s.tiny)
    return {
        "title": "11. Time to first result",
        "what": "Fresh processes, medians of repeats. `jaxlin train` (KidCreative, logistic "
        "regression) against the JAX floor (`import jax` and one operation); "
        "`GridSearchCV(make_pipeline(StandardScaler(), LogisticRegression()), "
        "C ∈ {0.01, 0.1, 1, 10}, cv=5)` on Spambase (jaxlin's also with "
        "`solver='newton-cholesky'`, a smaller program); the first call of 10 epochs of "
        "mini-batch SGD on MNIST (jaxlin: softmax, B = 32; scikit-learn: "
        "SGDClassifier(log_loss)). 'fit' is the time inside the process after the "
        "imports and, for jaxlin, after JAX's runtime has started (one operation); "
        "the ratio column divides it by scikit-learn's (or by the floor).",
        "header": ["run", "process", "fit", "ratio"],
        "rows": rows + r,
        "checks": checks + c,
    }
