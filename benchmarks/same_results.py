"""Whether a change altered what the training programs compute: the SHA-256 of ``W`` and
``b`` after 17 fits — each built-in solver family on 1,500 Spambase rows dense and as CSR,
softmax SGD on 1,000 MNIST rows, ``fit_many`` of two rates, a hinge on ±1 labels. Equal
lines at two commits mean equal parameters, bit for bit (same machine). Run it in a
checkout of each and compare: ``python -m benchmarks.same_results > a.txt``."""

import hashlib
import warnings

import numpy as np
import scipy.sparse as sp

import jaxlin
from jaxlin import datasets

CASES = [
    ("sgd", dict(optimizer="sgd", batch_size=32, epochs=3)),
    ("adam", dict(optimizer="adam", batch_size=64, epochs=3)),
    ("gd", dict(optimizer="gd", epochs=20)),
    ("lbfgs", dict(optimizer="lbfgs", epochs=30, l2=1e-3)),
    ("newton", dict(optimizer="newton", epochs=10, l2=1e-3)),
    ("fista", dict(optimizer="fista", epochs=30, l1=1e-3)),
    ("owlqn", dict(optimizer="owlqn", epochs=30, l1=1e-3)),
]


def _digest(*arrays) -> str:
    return hashlib.sha256(b"".join(np.asarray(a).tobytes() for a in arrays)).hexdigest()[:16]


def main() -> None:
    warnings.simplefilter("ignore")
    d = datasets.load("spambase")
    i = np.random.default_rng(0).permutation(len(d.y))[:1500]
    X, y = d.X[i] / (d.X[i].max(0) + 1e-9), d.y[i]
    for name, kw in CASES:
        for tag, data in (("dense", X), ("csr", sp.csr_matrix(X))):
            r = jaxlin.fit(data, y, **kw)
            print(name, tag, _digest(r.params.W, r.params.b))
    m = datasets.load("mnist")
    r = jaxlin.fit(m.X[:1000] / 255.0, m.y[:1000], "softmax_cross_entropy", optimizer="sgd",
                   batch_size=32, epochs=2)  # fmt: skip
    print("mnist-sgd", _digest(r.params.W, r.params.b))
    r = jaxlin.fit_many(X, y, learning_rate=[0.1, 0.2], optimizer="sgd", batch_size=32, epochs=2)
    print("many", _digest(r.params.W, r.params.b))
    r = jaxlin.fit(X, np.where(y == 1, 1, -1), "hinge", optimizer="sgd", batch_size=32, epochs=2)
    print("pm1", _digest(r.params.W, r.params.b))


if __name__ == "__main__":
    main()
