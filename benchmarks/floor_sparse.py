"""The floors under case 12, as minimal JAX programs with nothing of jaxlin's, on its
text-like problem. Run: ``python -m benchmarks.floor_sparse``.

* one sparse product ``Z = X w`` against SciPy's compiled CSR loop, per stored entry: a
  gather and a segment sum over the entries in row order (each addition waits on the last
  one into the same row), and the same over rows stored 16 at a time, rank by rank (the sum
  of lanes-wide table rows that ``jaxlin.sparse`` runs);
* one epoch of plain SGD on mini-batches of 32 rows (each step gathers its rows' entries
  from the CSR arrays, computes their scores and ``δ``, and scatter-adds ``η δ x`` into
  ``w``; no penalty, no bookkeeping) against scikit-learn's ``SGDClassifier`` epoch (one
  row at a time, in C).
"""

import jax
import jax.numpy as jnp
import numpy as np

from benchmarks.harness import median_time

from jaxlin import datasets


def _median(f):
    return median_time(f, 7)


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
    t_sliced = _sliced_product(X, w)
    print(
        f"nnz {X.nnz:,}, per stored entry: JAX gather + segment_sum in row order "
        f"{t_jax * 1e9 / X.nnz:.1f} ns, over rows stored 16 at a time "
        f"{t_sliced * 1e9 / X.nnz:.1f} ns; SciPy CSR {t_scipy * 1e9 / X.nnz:.1f} ns "
        f"({t_jax / t_scipy:.1f}× and {t_sliced / t_scipy:.1f}×)"
    )
    _sgd_epoch(X, d.y)


def _sliced_product(X, w, lanes=16):
    """``Z = X w`` over rows stored ``lanes`` at a time, rank by rank, each slice padded to
    its longest row: the terms read as a ``(E / lanes, lanes)`` table, summed per slice."""
    counts = np.diff(X.indptr)
    n_slices = -(-X.shape[0] // lanes)
    width = np.zeros(n_slices * lanes, np.int64)
    width[: X.shape[0]] = counts
    width = width.reshape(n_slices, lanes).max(axis=1)
    first = np.concatenate([[0], np.cumsum(width * lanes)])
    start = np.repeat(first[:-1], lanes)[: X.shape[0]] + np.arange(X.shape[0]) % lanes
    rank = np.arange(X.nnz) - np.repeat(X.indptr[:-1], counts)
    at = np.repeat(start, counts) + rank * lanes
    vals, cols = np.zeros(first[-1]), np.zeros(first[-1], np.int32)
    vals[at], cols[at] = X.data, X.indices
    slices = jnp.asarray(np.repeat(np.arange(n_slices), width), jnp.int32)
    product = jax.jit(
        lambda v, c, s, w: jax.ops.segment_sum(
            (v * w[c]).reshape(-1, lanes), s, n_slices, indices_are_sorted=True
        ).ravel()
    )
    args = (jnp.asarray(vals), jnp.asarray(cols), slices, jnp.asarray(w))
    z = product(*args)
    np.testing.assert_allclose(z[: X.shape[0]], X @ w, rtol=1e-10, atol=1e-10)
    return _median(lambda: product(*args).block_until_ready())


def _sgd_epoch(X, y, batch=32, lr=0.1):
    """One epoch of mini-batch SGD as the smallest JAX program, against scikit-learn's."""
    import warnings

    from sklearn.linear_model import SGDClassifier

    width = int(np.diff(X.indptr).max())
    indptr = jnp.asarray(X.indptr, jnp.int32)
    cols, vals = jnp.asarray(X.indices, jnp.int32), jnp.asarray(X.data)
    t = jnp.asarray(y, vals.dtype)
    steps = X.shape[0] // batch

    def step(w, idx):
        start, length = indptr[idx], indptr[idx + 1] - indptr[idx]
        offset = jnp.arange(width)
        real = offset[None, :] < length[:, None]
        at = jnp.where(real, start[:, None] + offset[None, :], 0)
        c, v = cols[at], jnp.where(real, vals[at], 0.0)  # (batch, width)
        z = jnp.sum(v * w[c], axis=1)
        delta = jax.nn.sigmoid(z) - t[idx]
        return w.at[c].add(-lr / batch * delta[:, None] * v), None

    def epoch(w, order):
        return jax.lax.scan(step, w, order[: steps * batch].reshape(steps, batch))[0]

    epoch = jax.jit(epoch)
    w0 = jnp.zeros(X.shape[1])
    order = jax.random.permutation(jax.random.key(0), X.shape[0])
    epoch(w0, order).block_until_ready()
    t_jax = _median(lambda: epoch(w0, order).block_until_ready())
    sgd = SGDClassifier(loss="log_loss", max_iter=1, tol=None, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        sgd.fit(X, y)
        t_sk = _median(lambda: sgd.fit(X, y))
    print(
        f"one SGD epoch ({steps:,} steps of {batch} rows, rows up to {width} entries): "
        f"JAX {t_jax * 1e3:.1f} ms ({t_jax / steps * 1e6:.0f} µs a step), scikit-learn "
        f"{t_sk * 1e3:.1f} ms ({t_jax / t_sk:.1f}×)"
    )


if __name__ == "__main__":
    main()
