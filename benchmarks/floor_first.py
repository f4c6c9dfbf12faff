"""The floors under case 11's compilation-bound rows: the least a JAX implementation compiles
and runs for a first result, with none of jaxlin's training code in it (the SGD program
draws its epochs' row orders as jaxlin does, so both visit the same rows).

* ``LogisticRegression`` — a scikit-learn estimator whose ``fit`` is one jitted Newton–Cholesky
  loop (scikit-learn's objective: the mean log-loss plus ``‖w‖² / (2 C n)``, the intercept
  free; stopped when the gradient's largest entry is at most ``tol = 1e-4``; a halving line
  search). Its rows are padded with weight-0 rows as jaxlin pads small data (a shape bucket
  with room for 30% more rows, remembered for later fits), so the five folds of a
  ``GridSearchCV`` and its refit share one program — the fewest programs shape-specialised
  compilation allows. Named as scikit-learn's, so a pipeline's parameter names
  (``logisticregression__C``) are the same.
* ``sgd_first_call`` — mini-batch softmax SGD (``benchmarks.floor_many``'s program: a gather,
  two products and an update a step) compiled and run once, as a first call pays.

Case 11 runs each in a fresh process beside scikit-learn's and jaxlin's.
"""

from __future__ import annotations

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin

TOL, MAX_ITER = 1e-4, 100


def _bucket(n: int) -> int:
    """jaxlin's shape bucket above 256 rows (16 sizes per power of two), written out here so
    the floor imports nothing of jaxlin's."""
    step = 1 << max(n.bit_length() - 5, 0)
    return -(-n // step) * step


_SIZES: list = []  # the sizes padded to, oldest first (one kind of data in a benchmark)


def _rows(n: int) -> int:
    """jaxlin's small-data rule (``jaxlin.inputs.shared_rows``): the oldest size already
    used that holds ``n`` rows within 1.3× room, else the bucket of ``⌈1.3 n⌉``."""
    roomy = _bucket(-(-13 * n // 10))
    size = next((s for s in _SIZES if n <= s <= roomy), None)
    if size is None:
        _SIZES.append(size := roomy)
    return size


def _newton():
    import jax
    import jax.numpy as jnp

    @jax.jit
    def newton(X, t, w, C):
        """``θ = [w, b]`` minimising ``Σ wᵢ Lᵢ / Σ wᵢ + ‖w‖² / (2 C Σ wᵢ)``."""
        n = w.sum()
        Xa = jnp.concatenate([X, jnp.ones((X.shape[0], 1), X.dtype)], axis=1)
        pen = jnp.ones(Xa.shape[1], X.dtype).at[-1].set(0.0) / (C * n)

        def value(th):
            z = Xa @ th
            return z, (w * (jnp.logaddexp(0.0, z) - t * z)).sum() / n + 0.5 * (pen * th) @ th

        def grad(th, z):
            return Xa.T @ (w * (jax.nn.sigmoid(z) - t)) / n + pen * th

        def step(s):
            it, th, z, J, g = s
            p = jax.nn.sigmoid(z)
            H = (Xa * (w * p * (1.0 - p) / n)[:, None]).T @ Xa + jnp.diag(pen)
            P = -jax.scipy.linalg.cho_solve((jnp.linalg.cholesky(H), True), g)
            slope = g @ P

            def halve(ls):
                a = 0.5 * ls[0]
                return (a, *value(th + a * P))

            def too_high(ls):
                return (ls[2] > J + 1e-4 * ls[0] * slope) & (ls[0] > 1e-10)

            a, z, J = jax.lax.while_loop(too_high, halve, (jnp.ones((), X.dtype), *value(th + P)))
            th = th + a * P
            return it + 1, th, z, J, grad(th, z)

        def running(s):
            return (s[0] < MAX_ITER) & (jnp.max(jnp.abs(s[4])) > TOL)

        th = jnp.zeros(Xa.shape[1], X.dtype)
        z, J = value(th)
        return jax.lax.while_loop(running, step, (0, th, z, J, grad(th, z)))[1]

    return newton


class LogisticRegression(ClassifierMixin, BaseEstimator):
    """Binary L2 logistic regression by the minimal Newton–Cholesky program (float64)."""

    _program = None  # one jitted function per process, as a library would keep it

    def __init__(self, C=1.0, max_iter=MAX_ITER):
        self.C = C
        self.max_iter = max_iter  # accepted as scikit-learn's; the program's limit is MAX_ITER

    def fit(self, X, y):
        import jax

        jax.config.update("jax_enable_x64", True)
        if LogisticRegression._program is None:
            LogisticRegression._program = _newton()
        X = np.asarray(X, np.float64)
        self.classes_ = np.unique(y)
        n, rows = len(y), _rows(len(y))
        Xp = np.zeros((rows, X.shape[1]))
        Xp[:n] = X
        t, w = np.zeros(rows), np.zeros(rows)
        t[:n], w[:n] = np.asarray(y) == self.classes_[1], 1.0
        theta = np.asarray(LogisticRegression._program(Xp, t, w, float(self.C)))
        self.coef_, self.intercept_ = theta[None, :-1], theta[-1:]
        return self

    def decision_function(self, X):
        return np.asarray(X) @ self.coef_[0] + self.intercept_[0]

    def predict(self, X):
        return self.classes_[(self.decision_function(X) > 0).astype(int)]


def sgd_first_call(X_train, y_train, X_test, y_test, epochs: int, lr: float = 0.1) -> float:
    """The minimal SGD program's first call (B = 32, ``epochs`` epochs, float32 from the
    arrays given, zero start): convert, compile, run; its test accuracy."""
    import jax
    import jax.numpy as jnp

    from benchmarks.floor_many import program

    X = jnp.asarray(X_train, jnp.float32)
    T = jax.nn.one_hot(np.asarray(y_train), 10, dtype=jnp.float32)
    run = jax.jit(program(X, T, epochs=epochs))
    W = run(jnp.zeros((X.shape[1], 10)), jnp.zeros(10), jnp.float32(lr), jax.random.key(0))
    W, b = jax.device_get(W)
    return float(np.mean(np.argmax(np.asarray(X_test) @ W + b, 1) == np.asarray(y_test)))
