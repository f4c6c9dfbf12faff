"""The passive-aggressive steps: the bridge's ``SGDClassifier(learning_rate="pa1")`` against
scikit-learn's, each in a process of its own. Run: ``python -m benchmarks.passive_aggressive``.

MNIST (the bundled 10,000 rows scaled to [0, 1] in one fixed random order, the first 2/3 to
train, the rest held out),
float64, ten classes one-vs-rest, ``eta0 = 0.01``, L2 ``alpha = 1e-4``, no intercept (an
unscaled intercept step costs both libraries half their accuracy here), the rows in order,
``max_iter = 3`` epochs with ``tol=None``: time (median of 5 warm fits), held-out accuracy,
and the largest coefficient difference between the two libraries (the same steps; over
more epochs PA-I's ``min`` amplifies rounding differences).
"""

from __future__ import annotations

import time
import warnings

import numpy as np

from benchmarks.harness import in_own_process

SETTINGS = dict(
    learning_rate="pa1",
    eta0=0.01,
    alpha=1e-4,
    fit_intercept=False,
    shuffle=False,
    max_iter=3,
    tol=None,
)


def _data():
    from jaxlin import datasets

    d = datasets.load("mnist")
    order = np.random.default_rng(0).permutation(len(d.y))  # the file is sorted by label
    X, y = np.asarray(d.X, np.float64)[order] / 255.0, np.asarray(d.y).astype(int)[order]
    n = 2 * len(y) // 3
    return X[:n], y[:n], X[n:], y[n:]


def _one_library(library):
    if library == "jaxlin":
        from jaxlin.sklearn import SGDClassifier
    else:
        from sklearn.linear_model import SGDClassifier
    X, y, Xt, yt = _data()
    times = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for _ in range(6):  # the first is the warm-up (compilation)
            t = time.perf_counter()
            m = SGDClassifier(**SETTINGS).fit(X, y)
            times.append(time.perf_counter() - t)
    accuracy = float(np.mean(m.predict(Xt) == yt))
    return dict(first=times[0], warm=float(np.median(times[1:])), accuracy=accuracy,
                coef=m.coef_.tolist())  # fmt: skip


def main() -> str:
    runs = {}
    for library in ("jaxlin", "sklearn"):
        runs[library] = in_own_process("benchmarks.passive_aggressive", "_one_library", library)
    gap = np.abs(np.array(runs["jaxlin"]["coef"]) - np.array(runs["sklearn"]["coef"])).max()
    rows = ["| library | first | warm | held-out accuracy |", "|---|---|---|---|"]
    for library, r in runs.items():
        rows.append(
            f"| {library} | {r['first'] * 1e3:.1f} ms | {r['warm'] * 1e3:.1f} ms | "
            f"{r['accuracy']:.4f} |"
        )
    ratio = runs["sklearn"]["warm"] / runs["jaxlin"]["warm"]
    rows.append(f"\nwarm: jaxlin {ratio:.2f}× scikit-learn's speed; coefficients within {gap:.1e}")
    return "\n".join(rows)


if __name__ == "__main__":
    print(main())
