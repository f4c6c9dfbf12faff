"""What iterate averaging (``average=True``) costs over the same steps without it, in one
process, interleaved medians. Run: ``python -m benchmarks.averaging``.

Dense: MNIST (10,000 × 784, 10 classes, float32), mini-batches of 32, 5 epochs; the mean
is one more ``(d, K)`` update a step. Sparse: a text-like problem (50,000 × 65,536, about 50
words a row, binary), mini-batches of 32, one epoch; the mean is carried by scalars beside
``W = a V`` and touches only a batch's columns (``docs/sparse.md``).
"""

from __future__ import annotations

import sys

import jax
import numpy as np

from benchmarks.harness import fmt_s, interleaved_medians
from jaxlin import datasets
from jaxlin.training import fit


def _runs(X, y, loss, **kw):
    def one(average):
        return lambda: fit(X, y, loss, average=average, **kw).params.W

    return {"plain": one(False), "averaged": one(True)}


def main(repeats: int = 5) -> str:
    d = datasets.load("mnist")
    Xm = jax.device_put(np.asarray(d.X, np.float32) / 255.0)
    t = datasets.text_like(n_rows=50_000, n_features=65_536, nnz_per_row=50, seed=0)
    steps = dict(optimizer="sgd", batch_size=32)  # the same steps, with and without the mean
    dense = _runs(Xm, d.y, "softmax_cross_entropy", learning_rate=0.1, epochs=5, l2=1e-4, **steps)
    sparse = _runs(t.X, t.y, "binary_cross_entropy", learning_rate=0.5, epochs=1, l2=1e-5, **steps)
    rows = ["| problem | plain | averaged | averaged ÷ plain |", "|---|---|---|---|"]
    for name, fns in (
        ("MNIST dense, B = 32, 5 epochs", dense),
        ("text-like CSR, B = 32, 1 epoch", sparse),
    ):
        m = interleaved_medians(fns, repeats)
        rows.append(
            f"| {name} | {fmt_s(m['plain'])} | {fmt_s(m['averaged'])} | "
            f"{m['averaged'] / m['plain']:.2f} |"
        )
    return "\n".join(rows)


if __name__ == "__main__":
    print(main(int(sys.argv[1]) if len(sys.argv) > 1 else 5))
