"""One fit of one library in a process of its own, timed, for the benchmark's anchor rows.

    python -m benchmarks.anchors TASK LIBRARY SOLVER DATA.npz [option=value …]

``DATA.npz`` holds ``X`` (dense, or the CSR arrays ``data``/``indices``/``indptr``/``shape``)
and ``y``. The fit runs first once (its time includes JAX's compilation for jaxlin), then
up to 5 more times in this process (10 s at most): the *warm* time is their median. Prints
one JSON line: the times, the iterations, the objective ``J = mean loss + l2 ‖W‖²
(+ l1 ‖W‖₁)`` at the solution (float64, computed here the same way for every library), the
non-zero coefficients and the held-out accuracy.

Libraries: ``jaxlin``, ``sklearn``, ``sklearnex`` (scikit-learn-intelex, oneDAL), ``glum``,
``skglm``, ``snapml`` — each imported only in its own process (oneDAL's threads slow JAX
when the two share one).
"""

from __future__ import annotations

import json
import os
import resource
import sys
import time
import warnings

import numpy as np


def load(path):
    z = np.load(path, allow_pickle=False)
    y = z["y"]
    if "indptr" in z.files:
        import scipy.sparse as sp

        X = sp.csr_matrix((z["data"], z["indices"], z["indptr"]), shape=tuple(z["shape"]))
    else:
        X = z["X"]
    test = None
    if "test_y" in z.files:
        import scipy.sparse as sp

        test = (
            sp.csr_matrix(
                (z["test_data"], z["test_indices"], z["test_indptr"]), shape=tuple(z["test_shape"])
            )
            if "test_indptr" in z.files
            else z["test_X"],
            z["test_y"],
        )
    return X, y, test


def objective(W, b, X, y, l1, l2):
    """``mean loss + l2 ‖W‖² + l1 ‖W‖₁`` in float64 with NumPy (binary or multinomial)."""
    W = np.asarray(W, np.float64).reshape(X.shape[1], -1)
    Z = np.asarray(X @ W) + np.asarray(b, np.float64)
    if Z.shape[1] == 1:
        z = Z[:, 0]
        loss = np.mean(np.logaddexp(0.0, z) - y * z)
    else:
        m = Z.max(axis=1, keepdims=True)
        lse = m[:, 0] + np.log(np.exp(Z - m).sum(axis=1))
        loss = np.mean(lse - Z[np.arange(len(y)), y.astype(int)])
    return float(loss + l2 * np.sum(W * W) + l1 * np.sum(np.abs(W)))


def _sklearn_like(module, solver, opts, n, k):
    """A scikit-learn(-intelex) LogisticRegression for jaxlin's (l1, l2)."""
    l1, l2 = opts["l1"], opts["l2"]
    C = 1.0 / (2.0 * l2 * n) if l2 else 1.0 / (l1 * n)
    kw = dict(
        C=C,
        solver=solver,
        tol=opts["tol"],
        max_iter=opts.get("max_iter", 10000),
        fit_intercept=opts["fit_intercept"],
    )
    if l1:
        kw["l1_ratio"] = 1.0
    return module.LogisticRegression(**kw)


def run_fit(library, solver, X, y, opts):
    """``(fit function, its result → (W (d, K), b (K,), iterations))``."""
    n, k = X.shape[0], len(np.unique(y))
    if library == "jaxlin":
        import jax.numpy as jnp
        import jaxlin

        kw = dict(
            optimizer=solver,
            l1=opts["l1"],
            l2=opts["l2"],
            epochs=opts.get("max_iter", 10000),
            dtype=jnp.float64,
            fit_intercept=opts["fit_intercept"],
        )
        kw.update(
            {
                key: opts[key]
                for key in ("grad_tol", "tol", "batch_size", "learning_rate", "shuffle")
                if key in opts
            }
        )
        loss = "binary_cross_entropy" if k == 2 else "softmax_cross_entropy"
        if k == 2 and "epochs" in opts:
            kw["epochs"] = opts["epochs"]
        return (lambda: jaxlin.fit(X, y, loss, **kw)), (
            lambda r: (np.asarray(r.params.W), np.asarray(r.params.b), int(r.epochs))
        )
    if library in ("sklearn", "sklearnex"):
        if library == "sklearnex":
            import sklearnex.linear_model as module
        else:
            import sklearn.linear_model as module
        if solver == "sgd":
            est = module.SGDClassifier(
                loss="log_loss",
                alpha=2 * opts["l2"],
                max_iter=1,
                tol=None,
                fit_intercept=opts["fit_intercept"],
                random_state=0,
            )
        else:
            est = _sklearn_like(module, solver, opts, n, k)
        return (lambda: est.fit(X, y)), (
            lambda e: (e.coef_.T, e.intercept_, int(np.max(getattr(e, "n_iter_", [0]))))
        )
    if library == "glum":
        from glum import GeneralizedLinearRegressor

        est = GeneralizedLinearRegressor(
            family="binomial",
            alpha=2 * opts["l2"] + opts["l1"],
            l1_ratio=opts["l1"] / (2 * opts["l2"] + opts["l1"]),
            fit_intercept=opts["fit_intercept"],
            gradient_tol=opts["tol"],
            solver=solver,
            max_iter=opts.get("max_iter", 1000),
        )
        return (lambda: est.fit(X, y)), (
            lambda e: (e.coef_[:, None], np.atleast_1d(e.intercept_), int(e.n_iter_))
        )
    if library == "skglm":
        from skglm import SparseLogisticRegression

        est = SparseLogisticRegression(
            alpha=opts["l1"],
            tol=opts["tol"],
            fit_intercept=opts["fit_intercept"],
            max_iter=opts.get("max_iter", 1000),
        )
        return (lambda: est.fit(X, y)), (
            lambda e: (e.coef_.T, np.atleast_1d(e.intercept_), int(getattr(e, "n_iter_", 0)))
        )
    if library == "snapml":
        from snapml import LogisticRegression

        # Snap ML minimises Σ loss + regularizer/2 ‖w‖²: regularizer = 1/C = 2 l2 N
        est = LogisticRegression(
            regularizer=2.0 * opts["l2"] * n,
            tol=opts["tol"],
            fit_intercept=opts["fit_intercept"],
            max_iter=opts.get("max_iter", 1000),
            n_jobs=2,
        )
        return (lambda: est.fit(X, y)), (lambda e: (e.coef_.T, np.atleast_1d(e.intercept_), 0))
    raise ValueError(f"unknown library {library!r}")


# the warm fits after the first; the suite's smoke run (``--tiny``) asks for one
WARM_FITS = int(os.environ.get("JAXLIN_BENCH_WARM_FITS", "5"))


def parse(rest) -> dict:
    """The fit's options from ``key=JSON`` arguments, over the defaults."""
    opts = {"l1": 0.0, "l2": 0.0, "tol": 1e-8, "fit_intercept": False}
    for item in rest:
        key, _, value = item.partition("=")
        opts[key] = json.loads(value)
    return opts


def measure(task, library, solver, path, opts) -> dict:
    """Load ``path``, fit once (``first``), then up to ``WARM_FITS`` more times unless
    ``task`` is ``"first"`` (``warm``: their median); the times, the objective reached, the
    held-out accuracy and the process's resident memory."""
    base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    X, y, test = load(path)
    loaded = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    y_fit = y if library != "glum" else y.astype(float)
    fit, unpack = run_fit(library, solver, X, y_fit, opts)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        t = time.perf_counter()
        result = fit()
        first = time.perf_counter() - t
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        warm = None
        if task != "first":  # the median of up to WARM_FITS further fits (10 s at most)
            times = []
            while len(times) < WARM_FITS and sum(times) < 10:
                t = time.perf_counter()
                result = fit()
                times.append(time.perf_counter() - t)
            warm = float(np.median(times))
    W, b, iters = unpack(result)
    out = {
        "library": library,
        "solver": solver,
        "first": first,
        "warm": warm,
        "iterations": iters,
        "J": objective(W, b, X, y, opts["l1"], opts["l2"]),
        "nonzero": float(np.mean(np.abs(np.asarray(W)) > 0)),
        "rss_base_kib": base,
        "rss_loaded_kib": loaded,
        "rss_peak_kib": peak,
    }
    if test is not None:
        Z = np.asarray(test[0] @ np.asarray(W).reshape(X.shape[1], -1)) + b
        pred = (Z[:, 0] > 0).astype(int) if Z.shape[1] == 1 else np.argmax(Z, axis=1)
        out["accuracy"] = float(np.mean(pred == test[1]))
    return out


def main(argv):
    task, library, solver, path, *rest = argv
    print(json.dumps(measure(task, library, solver, path, parse(rest))))


if __name__ == "__main__":
    main(sys.argv[1:])
