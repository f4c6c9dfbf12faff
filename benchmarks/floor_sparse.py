"""The floor under case 12: one sparse product ``Z = X w`` as a minimal JAX program (a gather
and a sorted segment sum, nothing of jaxlin's) against SciPy's compiled CSR loop, per stored
entry, on the text-like problem of case 12. Run: ``python -m benchmarks.floor_sparse``."""

import time

import jax
import jax.numpy as jnp
import numpy as np

from jaxlin import datasets


def _median(f, n=7):
    times = []
    for _ in range(n):
        t = time.perf_counter()
        f()
        times.append(time.perf_counter() - t)
    return float(np.median(times))


def main():
    jax.config.update("jax_enable_x64", True)
    d = datasets.text_like(n_rows=20_000, n_features=65_536, nnz_per_row=100, seed=0)
    X = d.X.tocsr()
    rows = jnp.asarray(np.repeat(np.arange(X.shape[0]), np.diff(X.indptr)), jnp.int32)
    cols, vals = jnp.asarray(X.indices, jnp.int32), jnp.asarray(X.data)
    w = np.random.default_rng(0).normal(size=X.shape[1])
    wj = jnp.asarray(w)
    n = X.shape[0]
    product = jax.jit(
        lambda v, c, r, w: jax.ops.segment_sum(v * w[c], r, n, indices_are_sorted=True)
    )
    product(vals, cols, rows, wj).block_until_ready()
    t_jax = _median(lambda: product(vals, cols, rows, wj).block_until_ready())
    t_scipy = _median(lambda: X @ w)
    print(
        f"nnz {X.nnz:,}: JAX gather + segment_sum {t_jax * 1e9 / X.nnz:.1f} ns per entry, "
        f"SciPy CSR {t_scipy * 1e9 / X.nnz:.1f} ns per entry ({t_jax / t_scipy:.1f}×)"
    )


if __name__ == "__main__":
    main()
