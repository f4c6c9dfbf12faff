"""The exact hinge SVM: jaxlin's dual coordinate descent (``optimizer="dcd"``) against
liblinear's (scikit-learn's ``LinearSVC(loss="hinge", dual=True)``), each in a process of
its own. Run: ``python -m benchmarks.dual_svm``.

Spambase (the 2/3 training split, standardised), float64, C = 1, no intercept, liblinear's
stop (the spread of the dual's projected gradient) at 0.1 and 0.01: time (median of 5 warm
fits), epochs, and the primal ``P(w) = ½‖w‖² + C Σ max(0, 1 − s x·w)`` reached.
"""

from __future__ import annotations

import time
import warnings

import numpy as np

from benchmarks.harness import in_own_process

TOLS = (0.1, 0.01)
C = 1.0


def _data():
    from jaxlin import data, datasets

    d = datasets.load("spambase")
    p = data.prepare(d.X, d.y, seed=0)
    return np.asarray(p.X_train, np.float64), np.asarray(p.y_train).astype(int)


def _primal(X, y, w):
    return float(0.5 * w @ w + C * np.maximum(0, 1 - (2 * y - 1) * (X @ w)).sum())


def _fit(library, X, y, tol):
    if library == "jaxlin":
        import jaxlin

        r = jaxlin.fit(
            X, y, "hinge", optimizer="dcd", l2=1 / (2 * C * len(y)), fit_intercept=False,
            grad_tol=tol, epochs=10_000, dtype=np.float64,
        )  # fmt: skip
        return np.asarray(r.params.W)[:, 0], int(r.epochs)
    from sklearn.svm import LinearSVC

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        m = LinearSVC(
            loss="hinge", C=C, fit_intercept=False, dual=True, tol=tol, max_iter=10_000,
            random_state=0,
        ).fit(X, y)  # fmt: skip
    return m.coef_[0], int(m.n_iter_)


def _one_library(library):
    if library == "jaxlin":
        import jax

        jax.config.update("jax_enable_x64", True)
    X, y = _data()
    out = {}
    for tol in TOLS:
        w, epochs = _fit(library, X, y, tol)  # warm-up (compilation)
        times = []
        for _ in range(5):
            t = time.perf_counter()
            w, epochs = _fit(library, X, y, tol)
            times.append(time.perf_counter() - t)
        out[str(tol)] = dict(time=float(np.median(times)), epochs=epochs, P=_primal(X, y, w))
    return out


def main() -> str:
    runs = {}
    for library in ("jaxlin", "liblinear"):
        runs[library] = in_own_process("benchmarks.dual_svm", "_one_library", library)
    rows = ["| tol | library | time | epochs | P(w) |", "|---|---|---|---|---|"]
    for tol in TOLS:
        for library, r in runs.items():
            x = r[str(tol)]
            rows.append(
                f"| {tol} | {library} | {x['time'] * 1e3:.1f} ms | {x['epochs']} | {x['P']:.6f} |"
            )
    return "\n".join(rows)


if __name__ == "__main__":
    print(main())
