"""The bridge's ``SGDClassifier`` against scikit-learn's with the same settings (its defaults:
hinge, the ``"optimal"`` rate, one row at a time, one-vs-rest), each library in its own
fresh process, warm medians of repeats; and jaxlin's mini-batches (``batch_size=32``) beside
them. Run: ``python -m benchmarks.bridge_sgd``.

Problems: scikit-learn's own sparse case from ``test_sgd.py`` (500 × 2,000 CSR, 2% non-zero,
20 classes, 1,000 epochs) and the MNIST test set (10,000 × 784 dense, standardised,
10 classes, 5 epochs).
"""

import json
import subprocess
import sys

CODE = """
import json, time, numpy as np
from benchmarks.harness import median_time
from sklearn.utils.fixes import _sparse_random_array
if {lib!r} == "jaxlin":
    from jaxlin.sklearn import SGDClassifier
else:
    from sklearn.linear_model import SGDClassifier
from jaxlin import datasets
rs = np.random.RandomState(42)
problems = {{
    "sparse": (_sparse_random_array((500, 2000), density=0.02, format="csr", rng=rs),
               rs.choice(20, 500), 1000),
}}
d = datasets.load("mnist")
from sklearn.preprocessing import StandardScaler
Xm = StandardScaler().fit_transform(np.asarray(d.X, np.float64))
problems["mnist"] = (Xm, np.asarray(d.y), 5)
out = {{}}
for name, (X, y, epochs) in problems.items():
    kw = dict(max_iter=epochs, tol=None, random_state=0, **{extra})
    m = SGDClassifier(**kw)
    t0 = time.perf_counter(); m.fit(X, y); first = time.perf_counter() - t0
    warm = median_time(lambda: SGDClassifier(**kw).fit(X, y), 3, warmup=0)
    out[name] = dict(first=first, warm=warm, score=float(m.score(X, y)))
print(json.dumps(out))
"""

RUNS = {
    "scikit-learn SGDClassifier": ("sklearn", {}),
    "jaxlin SGDClassifier (the same settings)": ("jaxlin", {}),
    "jaxlin SGDClassifier(batch_size=32)": ("jaxlin", {"batch_size": 32}),
}


def main():
    results = {}
    for label, (lib, extra) in RUNS.items():
        code = CODE.format(lib=lib, extra=extra)
        done = subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, check=True
        )
        results[label] = json.loads(done.stdout.strip().splitlines()[-1])
    base = results["scikit-learn SGDClassifier"]
    print("| problem | estimator | first call | warm | training accuracy | warm vs scikit-learn |")
    print("|---|---|---|---|---|---|")
    for problem in ("sparse", "mnist"):
        for label, r in results.items():
            p = r[problem]
            ratio = base[problem]["warm"] / p["warm"]
            print(
                f"| {problem} | {label} | {p['first']:.2f} s | {p['warm']:.2f} s | "
                f"{p['score']:.4f} | {ratio:.2f}× |"
            )


if __name__ == "__main__":
    main()
