"""The least-squares classifier: the bridge's ``RidgeClassifier`` against scikit-learn's, each
in a process of its own, two rounds interleaved, and ``RidgeClassifierCV`` (leave-one-out over 7
strengths, 1e-3 to 1e3) beside it. Run: ``python -m benchmarks.ridge``.

MNIST (the bundled 10,000 × 784 scaled to [0, 1], ten classes), scikit-learn's digits
(1,797 × 64 scaled to [0, 1], ten classes) and Spambase (4,601 × 57, standardised),
float64, ``alpha = 1``: the first fit and the median of 5 warm ones, and the largest
coefficient difference relative to scikit-learn's largest coefficient. Both solve the same
quadratic exactly (scikit-learn by one Cholesky factorisation of ``X̃ᵀX̃ + αI``, the bridge
by Newton–Cholesky: one step, on the one block a squared error's outputs share).
Beside them, in the bridge's process, the floor both share: the Gram matrix ``XᵀX`` alone in
XLA (what the bridge's step computes) and in NumPy (what scikit-learn's calls).
"""

from __future__ import annotations

import time

import numpy as np

from benchmarks.harness import in_own_process

DATASETS = ("mnist", "digits", "spambase")


def _data(name):
    from jaxlin import datasets

    if name == "digits":
        from sklearn.datasets import load_digits

        X, y = load_digits(return_X_y=True)
        return X / 16.0, y
    d = datasets.load(name)
    X = np.asarray(d.X, np.float64)
    X = X / 255.0 if name == "mnist" else (X - X.mean(0)) / X.std(0)
    return X, np.asarray(d.y)


def _median_seconds(f, repeats=5):
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        f()
        times.append(time.perf_counter() - t)
    return float(np.median(times))


def _gram_floor(X):
    import jax

    jax.config.update("jax_enable_x64", True)
    Xj = jax.numpy.asarray(X)
    gram = jax.jit(lambda X: X.T @ X)
    gram(Xj).block_until_ready()
    return dict(
        xla=_median_seconds(lambda: gram(Xj).block_until_ready()),
        numpy=_median_seconds(lambda: X.T @ X),
    )


ALPHAS = np.logspace(-3, 3, 7)  # RidgeClassifierCV's strengths: leave-one-out over these


def _one_library(library, name):
    if library == "jaxlin":
        from jaxlin.sklearn import RidgeClassifier, RidgeClassifierCV
    else:
        from sklearn.linear_model import RidgeClassifier, RidgeClassifierCV
    X, y = _data(name)
    t = time.perf_counter()
    m = RidgeClassifier(alpha=1.0).fit(X, y)
    first = time.perf_counter() - t
    out = dict(first=first, warm=_median_seconds(lambda: RidgeClassifier(alpha=1.0).fit(X, y)))
    out.update(coef=m.coef_.tolist(), accuracy=float(np.mean(m.predict(X) == y)))
    t = time.perf_counter()
    cv = RidgeClassifierCV(alphas=ALPHAS).fit(X, y)
    out["cv_first"] = time.perf_counter() - t
    out["cv_warm"] = _median_seconds(lambda: RidgeClassifierCV(alphas=ALPHAS).fit(X, y))
    out.update(cv_alpha=float(cv.alpha_), cv_score=float(cv.best_score_))
    if library == "jaxlin":
        out["gram"] = _gram_floor(X)
    return out


def _rows(rows, runs, label, prefix, outcome) -> dict:
    """A table row per library (first calls, the median of its rounds' warm medians, each
    round's, and ``outcome`` of its last round); the medians by library."""
    warm = {lib: float(np.median([r[prefix + "warm"] for r in rs])) for lib, rs in runs.items()}
    for library, rs in runs.items():
        first = " / ".join(f"{r[prefix + 'first'] * 1e3:.0f}" for r in rs)
        each = " / ".join(f"{r[prefix + 'warm'] * 1e3:.1f}" for r in rs)
        rows.append(
            f"| {label} | {library} | {first} ms | {warm[library] * 1e3:.1f} ms ({each}) | "
            f"{outcome(rs[-1])} |"
        )
    return warm


def main() -> str:
    rows = [
        "| data | library | first | warm (median of 2 rounds' medians) | accuracy / choice |",
        "|---|---|---|---|---|",
    ]
    notes = []
    for name in DATASETS:
        runs = {"jaxlin": [], "sklearn": []}
        for _ in range(2):
            for library in runs:
                runs[library].append(
                    in_own_process("benchmarks.ridge", "_one_library", library, name)
                )
        warm = _rows(rows, runs, name, "", lambda r: f"{r['accuracy']:.4f}")
        a, b = np.array(runs["jaxlin"][-1]["coef"]), np.array(runs["sklearn"][-1]["coef"])
        gram = runs["jaxlin"][-1]["gram"]
        cv = _rows(
            rows,
            runs,
            f"{name}, `RidgeClassifierCV` (7 strengths, leave-one-out)",
            "cv_",
            lambda r: f"α = {r['cv_alpha']:g}, score {r['cv_score']:.6f}",
        )
        notes.append(
            f"{name}: `RidgeClassifierCV` warm, jaxlin {cv['sklearn'] / cv['jaxlin']:.2f}× "
            "scikit-learn's speed"
        )
        notes.append(
            f"{name}: warm, jaxlin {warm['sklearn'] / warm['jaxlin']:.2f}× scikit-learn's speed; "
            f"coefficients within {np.abs(a - b).max() / np.abs(b).max():.1e} relative; "
            f"XᵀX alone: XLA {gram['xla'] * 1e3:.1f} ms, NumPy {gram['numpy'] * 1e3:.1f} ms"
        )
    return "\n".join(rows) + "\n\n" + "\n".join(f"- {n}" for n in notes)


if __name__ == "__main__":
    print(main())
