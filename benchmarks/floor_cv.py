"""The floor under case 10's warm row: ``LogisticRegressionCV(Cs=10, cv=5)`` on standardised
Spambase as one minimal JAX program with nothing of jaxlin's in it, against jaxlin's bridge and
scikit-learn, each in its own process. Run: ``python -m benchmarks.floor_cv``.

The program is the least a JAX implementation of that search runs: the five folds' models
side by side as columns (``Z = X Θᵀ``, ``(N, 5)``: no ``vmap``, no branch per model), each
Newton step one batched Hessian ``X̃ᵀ diag(c_f) X̃`` summed over a float32 copy of ``X̃`` (the
direction only; gradient, values and stop in float64), five Cholesky solves and a halving
line search; the ten strengths one ``lax.scan`` from the smallest, each fold starting from
its solution at the last strength; the held-out accuracies, the best strength (the first
best mean, as scikit-learn picks it) and the refit on every row from the folds' mean at that
strength, all in the same compiled program — one call, no host round trip.

The objective and stop are scikit-learn's: per fold the mean log-loss over its training rows
plus ``‖w‖² / (2 C n_f)`` (the intercept free), stopped when its gradient's largest entry is
at most ``tol = 1e-4``; the folds are ``StratifiedKFold(5)``'s, as ``check_cv`` gives them.
"""

from __future__ import annotations

import statistics
import sys

import numpy as np

from benchmarks.harness import fmt_s, in_own_process

CS = np.logspace(-4, 4, 10)
FOLDS, TOL, MAX_ITER, ROUNDS, REPEATS = 5, 1e-4, 100, 3, 7


def _data():
    """Standardised Spambase ``(X, y)``, read with NumPy (no JAX in scikit-learn's process)."""
    from importlib import resources

    A = np.loadtxt(
        resources.files("jaxlin").joinpath("data", "spambase.csv"), delimiter=",", skiprows=1
    )
    X, y = A[:, :-1], A[:, -1].astype(int)
    return (X - X.mean(axis=0)) / X.std(axis=0), y


def _folds(X, y) -> np.ndarray:
    """``(N, FOLDS)``: 1 where a row trains fold ``f``'s model."""
    from sklearn.model_selection import StratifiedKFold

    train = np.zeros((len(y), FOLDS))
    for f, (rows, _) in enumerate(StratifiedKFold(FOLDS).split(X, y)):
        train[rows, f] = 1.0
    return train


def _program(X, y, train):
    """The whole search as one jitted function of nothing (its data are constants)."""
    import jax
    import jax.numpy as jnp

    n_rows, d = X.shape
    Xa = jnp.asarray(np.hstack([X, np.ones((n_rows, 1))]))  # x̃ = [x, 1]
    X32 = Xa.astype(jnp.float32)
    t = jnp.asarray(y, Xa.dtype)[:, None]
    pen = jnp.ones(d + 1).at[d].set(0.0)  # the intercept is not penalised

    def newton(masks, lam, theta):
        """Newton on the columns of ``masks`` ``(N, F)`` (``lam`` ``(F,)``) from ``theta``
        ``(F, d+1)``, in lock step; a fold that has met the stop keeps its parameters."""
        n = masks.sum(axis=0)

        def value(theta):
            Z = Xa @ theta.T
            loss = (masks * (jnp.logaddexp(0.0, Z) - t * Z)).sum(axis=0) / n
            return Z, loss + 0.5 * lam * jnp.sum((theta * pen) ** 2, axis=1)

        def grad(theta, Z):
            R = masks * (jax.nn.sigmoid(Z) - t) / n
            return R.T @ Xa + lam[:, None] * pen * theta

        def running(s):
            it, _, _, _, _, done = s
            return (it < MAX_ITER) & ~jnp.all(done)

        def step(s):
            it, theta, Z, J, G, done = s
            p = jax.nn.sigmoid(Z)
            c = (masks * p * (1.0 - p) / n).astype(jnp.float32)  # (N, F)
            H = jnp.matmul((X32[None] * c.T[:, :, None]).transpose(0, 2, 1), X32)
            H = H.astype(Xa.dtype) + jax.vmap(jnp.diag)(lam[:, None] * pen)
            L = jnp.linalg.cholesky(H)
            P = -jax.vmap(lambda L, g: jax.scipy.linalg.cho_solve((L, True), g))(L, G)
            slope = jnp.sum(G * P, axis=1)

            def too_high(ls):
                a, _, J_a = ls
                return jnp.any((J_a > J + 1e-4 * a * slope) & (a > 1e-10) & ~done)

            def halve(ls):
                a, _, J_a = ls
                a = jnp.where((J_a > J + 1e-4 * a * slope) & ~done, 0.5 * a, a)
                Z_a, J_a = value(theta + a[:, None] * P)
                return a, Z_a, J_a

            Z1, J1 = value(theta + P)
            a, Z_a, J_a = jax.lax.while_loop(too_high, halve, (jnp.ones_like(J), Z1, J1))
            theta = jnp.where(done[:, None], theta, theta + a[:, None] * P)
            Z, J = jnp.where(done[None], Z, Z_a), jnp.where(done, J, J_a)
            G = grad(theta, Z)
            return it + 1, theta, Z, J, G, jnp.max(jnp.abs(G), axis=1) <= TOL

        Z, J = value(theta)
        G = grad(theta, Z)
        start = (0, theta, Z, J, G, jnp.max(jnp.abs(G), axis=1) <= TOL)
        it, theta, *_ = jax.lax.while_loop(running, step, start)
        return theta, it

    masks = jnp.asarray(train)
    n_train = masks.sum(axis=0)
    held = 1.0 - masks

    def search():
        def one_strength(theta, C):
            theta, it = newton(masks, 1.0 / (C * n_train), theta)
            right = ((Xa @ theta.T > 0) == (t > 0.5)).astype(Xa.dtype)
            return theta, (theta, it, (held * right).sum(axis=0) / held.sum(axis=0))

        theta0 = jnp.zeros((FOLDS, d + 1))
        _, (path, its, acc) = jax.lax.scan(one_strength, theta0, jnp.asarray(CS))
        best = jnp.argmax(acc.mean(axis=1))  # the first best, as scikit-learn's
        start = path[best].mean(axis=0)[None]
        lam = 1.0 / (jnp.asarray(CS)[best] * n_rows)
        refit, refit_it = newton(jnp.ones((n_rows, 1)), lam[None], start)
        return refit[0], best, acc.mean(axis=1)[best], its, refit_it

    return jax.jit(search)


def floor(repeats: int) -> dict:
    """The program's first call and the median of ``repeats`` more, in this process."""
    import time

    import jax

    jax.config.update("jax_enable_x64", True)
    X, y = _data()
    run = _program(X, y, _folds(X, y))
    t = time.perf_counter()
    out = jax.block_until_ready(run())
    first = time.perf_counter() - t
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        out = jax.block_until_ready(run())
        times.append(time.perf_counter() - t)
    theta, best, score, its, refit_it = out
    return {
        "first": first,
        "warm": statistics.median(times),
        "C": float(CS[int(best)]),
        "score": float(score),
        "iterations": [int(i) for i in its] + [int(refit_it)],
        "coef": np.asarray(theta).tolist(),
    }


def estimator(library: str, solver: str, repeats: int) -> dict:
    """``LogisticRegressionCV(Cs=10, cv=5, solver=…)`` of ``library`` fitted ``1 + repeats``
    times in this process: the first fit and the median of the others."""
    import time
    import warnings

    warnings.simplefilter("ignore")
    if library == "jaxlin":
        from jaxlin.sklearn import LogisticRegressionCV
    else:
        from sklearn.linear_model import LogisticRegressionCV
    X, y = _data()

    def fit():
        return LogisticRegressionCV(Cs=10, cv=FOLDS, solver=solver, tol=TOL).fit(X, y)

    t = time.perf_counter()
    m = fit()
    first = time.perf_counter() - t
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        fit()
        times.append(time.perf_counter() - t)
    if library != "jaxlin":
        assert "jax" not in sys.modules  # scikit-learn's run pays no JAX import
    scores = np.asarray(list(m.scores_.values())[0]).mean(axis=0)
    return {
        "first": first,
        "warm": statistics.median(times),
        "C": float(m.C_[0]),
        "score": float(scores.max()),
        "iterations": int(np.asarray(m.n_iter_).sum()),
        "coef": np.concatenate([m.coef_[0], m.intercept_]).tolist(),
    }


RUNS = {  # label: (function, arguments)
    "floor": ("floor", ()),
    "jaxlin newton (the bridge's default)": ("estimator", ("jaxlin", "newton")),
    "jaxlin newton-cholesky": ("estimator", ("jaxlin", "newton-cholesky")),
    "scikit-learn lbfgs (its default)": ("estimator", ("sklearn", "lbfgs")),
    "scikit-learn newton-cholesky": ("estimator", ("sklearn", "newton-cholesky")),
}


def main():
    """``ROUNDS`` rounds of one fresh process a run, the runs interleaved; each process's warm
    median, and the median of those over the rounds."""
    results: dict = {k: [] for k in RUNS}
    for _ in range(ROUNDS):
        for label, (fn, args) in RUNS.items():
            results[label].append(in_own_process("benchmarks.floor_cv", fn, *args, REPEATS))
    sk = statistics.median(r["warm"] for r in results["scikit-learn lbfgs (its default)"])
    ref = np.asarray(results["scikit-learn newton-cholesky"][0]["coef"])
    print(
        "| run | warm (median of rounds) | rounds | vs scikit-learn lbfgs | best C | "
        "mean held-out accuracy | Newton iterations | refit's coef − sklearn's newton-cholesky |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for label, rs in results.items():
        warm = statistics.median(r["warm"] for r in rs)
        its = rs[0]["iterations"]
        gap = float(np.max(np.abs(np.asarray(rs[0]["coef"]) - ref)))
        print(
            f"| {label} | {fmt_s(warm)} | {' / '.join(fmt_s(r['warm']) for r in rs)} | "
            f"{sk / warm:.2f}× | {rs[0]['C']:.4g} | {rs[0]['score']:.4f} | "
            f"{its if isinstance(its, int) else f'{sum(its)} ({its})'} | {gap:.1e} |"
        )


if __name__ == "__main__":
    main()
