"""The floor under case 4: mini-batch softmax SGD (B = 32) on MNIST as a minimal JAX program
(a gather of the batch, two matrix products, an update; nothing of jaxlin's), for one model
and for 16 learning rates — under ``vmap`` with ``W`` laid out ``(d, K)`` and ``(K, d)`` (the
layout jaxlin's mini-batch steps carry on the CPU), and written by hand as one wide model
whose ``W`` is ``(d, 16, K)`` (one ``(d, 16·K)`` matrix: no transposes) — against jaxlin's
``fit`` and ``fit_many`` on the same data. Run: ``python -m benchmarks.floor_many``."""

import jax
import jax.numpy as jnp
import numpy as np

from benchmarks.harness import median_time

from jaxlin import datasets
from jaxlin.solvers.gradient import shuffled
from jaxlin.training import fit, fit_many

B, EPOCHS, MODELS = 32, 3, 16


def _median(f):
    return median_time(f, 5)


def program(X, T, by_rows=False, epochs=EPOCHS):
    """``epochs`` epochs of ``len(X) // B`` steps on one model ``(W, b, lr)``, returning
    ``(W, b)``; ``by_rows``: ``W`` is ``(K, d)``, the scores ``(W X_Bᵀ)ᵀ`` and the gradient
    ``Δᵀ X_B``."""
    n, steps = X.shape[0], X.shape[0] // B

    def step(carry, idx):
        W, b, lr = carry
        Xb, Tb = X[idx], T[idx]
        Z = (jnp.einsum("kd,nd->kn", W, Xb).T if by_rows else Xb @ W) + b
        D = (jax.nn.softmax(Z) - Tb) / B  # δ of the mean softmax cross-entropy
        G = jnp.einsum("nk,nd->kd", D, Xb) if by_rows else Xb.T @ D
        return (W - lr * G, b - lr * D.sum(0), lr), None

    def run(W, b, lr, key):
        def epoch(carry, k):
            idx = shuffled(k, n)[: steps * B].reshape(steps, B)  # jaxlin's draw
            return jax.lax.scan(step, carry, idx)[0], None

        keys = jax.random.split(key, epochs)
        return jax.lax.scan(epoch, (W, b, lr), keys)[0][:2]

    return run


def wide_program(X, T, models, epochs=EPOCHS):
    """``models`` models (a learning rate each, one row order) as one ``(d, M, K)`` weight
    array, by hand: each step one ``(B, d) × (d, M·K)`` product and its transpose."""
    n, steps = X.shape[0], X.shape[0] // B

    def step(carry, idx):
        W, b, lr = carry
        Xb, Tb = X[idx], T[idx]
        Z = jnp.einsum("nd,dmk->nmk", Xb, W) + b
        D = (jax.nn.softmax(Z, -1) - Tb[:, None, :]) / B
        G = jnp.einsum("nd,nmk->dmk", Xb, D)
        return (W - lr[None, :, None] * G, b - lr[:, None] * D.sum(0), lr), None

    def run(lr, key):
        def epoch(carry, k):
            idx = shuffled(k, n)[: steps * B].reshape(steps, B)  # jaxlin's draw
            return jax.lax.scan(step, carry, idx)[0], None

        W, b = jnp.zeros((X.shape[1], models, T.shape[1])), jnp.zeros((models, T.shape[1]))
        return jax.lax.scan(epoch, (W, b, lr), jax.random.split(key, epochs))[0][0]

    return run


def main():
    d = datasets.load("mnist")
    X = jnp.asarray(np.asarray(d.X, np.float32) / 255.0)
    y = np.asarray(d.y)
    T = jax.nn.one_hot(y, 10, dtype=jnp.float32)
    X, T, y = X[:6667], T[:6667], y[:6667]
    key = jax.random.key(0)
    lrs = jnp.asarray(np.geomspace(0.005, 0.5, MODELS), jnp.float32)
    for by_rows, shape in ((False, (X.shape[1], 10)), (True, (10, X.shape[1]))):
        run = program(X, T, by_rows)
        W0, b0 = jnp.zeros(shape), jnp.zeros(10)
        one = jax.jit(lambda lr, run=run, W0=W0, b0=b0: run(W0, b0, lr, key))
        # one key: one gather for all
        many = jax.jit(jax.vmap(lambda lr, run=run, W0=W0, b0=b0: run(W0, b0, lr, key)))
        t1 = _median(lambda: one(jnp.float32(0.1)))
        tm = _median(lambda: many(lrs))
        print(
            f"minimal program, W {'(K, d)' if by_rows else '(d, K)'}: one model "
            f"{t1 * 1e3:.1f} ms, {MODELS} models {tm * 1e3:.1f} ms ({tm / t1:.1f}×) under vmap"
        )
    wide = jax.jit(wide_program(X, T, MODELS))
    tw = _median(lambda: wide(lrs, key).block_until_ready())
    print(f"{MODELS} models as one wide (d, {MODELS}·K) model: {tw * 1e3:.1f} ms")
    common = dict(optimizer="sgd", batch_size=B, epochs=EPOCHS)
    j1 = _median(lambda: fit(X, y, "softmax_cross_entropy", learning_rate=0.1, **common).params.W)
    jm = _median(
        lambda: (
            fit_many(
                X, y, "softmax_cross_entropy", learning_rate=np.asarray(lrs), **common
            ).params.W
        )
    )
    print(
        f"jaxlin: one model {j1 * 1e3:.1f} ms, {MODELS} models {jm * 1e3:.1f} ms ({jm / j1:.1f}×)"
    )


if __name__ == "__main__":
    main()
