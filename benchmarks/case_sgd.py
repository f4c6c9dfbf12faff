"""Cases 3 and 4: mini-batch SGD on MNIST vs scikit-learn's SGDClassifier; many models at once."""

from __future__ import annotations

import time
import warnings

import jax.numpy as jnp
import numpy as np

from benchmarks.harness import fmt_s, median_time
from jaxlin import data, datasets
from jaxlin.training import fit, fit_many


def _mnist(s):
    """The 2/3–1/3 split; jaxlin gets its training X as a float32 device array made once
    (scikit-learn gets numpy float64, its native input), so no run pays a conversion."""
    d = datasets.load("mnist")
    X, y = (d.X[:1500], d.y[:1500]) if s.tiny else (d.X, d.y)
    sp = data.train_test_split(X, y, seed=0)
    return sp, jnp.asarray(sp.X_train, jnp.float32)


def _acc(W, b, X, y):
    return float(np.mean(np.argmax(X @ np.asarray(W) + np.asarray(b), 1) == y))


def _sk_sgd(X, y, epochs, **kw):
    from sklearn.linear_model import SGDClassifier

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return SGDClassifier(loss="log_loss", max_iter=epochs, tol=None, random_state=0, **kw).fit(
            X, y
        )


def run_sgd(s):
    sp, Xj = _mnist(s)
    epochs = 2 if s.tiny else 10
    rows, checks = [], []
    reps = 1 if s.tiny else (3 if s.quick else 5)
    t = time.perf_counter()
    m = _sk_sgd(sp.X_train, sp.y_train, epochs)
    t_sk = time.perf_counter() - t
    if not s.tiny and not s.quick:
        t_sk = min(t_sk, median_time(lambda: _sk_sgd(sp.X_train, sp.y_train, epochs), 2, 0))
    acc_sk = float(m.score(sp.X_test, sp.y_test))
    rows.append(
        [
            "scikit-learn SGDClassifier(log_loss), per-example steps, OvR",
            "1",
            fmt_s(t_sk),
            f"{acc_sk:.4f}",
            "1.0×",
        ]
    )
    for b, lr in [(32, 0.1), (1, 0.01)]:
        kw = dict(optimizer="sgd", batch_size=b, learning_rate=lr, epochs=epochs)

        def ours(kw=kw):
            return fit(Xj, sp.y_train, "softmax_cross_entropy", **kw).params.W

        t_ours = median_time(ours, reps)
        r = fit(sp.X_train, sp.y_train, "softmax_cross_entropy", **kw)
        acc = _acc(r.params.W, r.params.b, sp.X_test, sp.y_test)
        rows.append(
            [
                f"jaxlin softmax regression, sgd, learning rate {lr:g}",
                str(b),
                fmt_s(t_ours),
                f"{acc:.4f}",
                f"{t_sk / t_ours:.1f}×",
            ]
        )
        if b == 32:
            t_floor = _floor_many(Xj, sp.y_train, epochs, [lr], reps)[0]
            rows.append(
                [
                    "JAX floor program (gather, two products, update)",
                    str(b),
                    fmt_s(t_floor),
                    "",
                    f"{t_sk / t_floor:.1f}×",
                ]
            )
            checks.append(
                (
                    "B = 32: ≥ 10× faster than scikit-learn",
                    f"{t_sk / t_ours:.1f}× (floor program {t_sk / t_floor:.1f}×)",
                    t_sk / t_ours >= 10,
                )
            )
            checks.append(
                ("B = 32: accuracy ≥ scikit-learn's", f"{acc:.4f} vs {acc_sk:.4f}", acc >= acc_sk)
            )
    return {
        "title": "3. Mini-batch SGD vs scikit-learn",
        "what": f"{epochs} epochs on MNIST ({len(sp.y_train):,} training / {len(sp.y_test):,} "
        "test images, pixels / 255), warm (compiled), median of repeats. scikit-learn's "
        "SGDClassifier always steps per example (B = 1) and trains 10 one-vs-rest "
        "models; its defaults otherwise (optimal learning rate, alpha 1e-4).",
        "header": ["solver", "batch", "time", "test accuracy", "speed-up vs scikit-learn"],
        "rows": rows,
        "checks": checks,
    }


def _floor_many(X, y, epochs, lrs, reps):
    """``benchmarks.floor_many``'s minimal programs on the same data: one model, and the
    models as one wide model (each step's products ``M`` times as wide: the arithmetic
    floor of many models)."""
    import jax

    from benchmarks.floor_many import program, wide_program

    T = jax.nn.one_hot(np.asarray(y), 10, dtype=jnp.float32)
    key, lr = jax.random.key(0), jnp.asarray(lrs, jnp.float32)
    one = jax.jit(program(X, T, epochs=epochs))
    W0, b0 = jnp.zeros((X.shape[1], 10)), jnp.zeros(10)
    wide = jax.jit(wide_program(X, T, len(lrs), epochs=epochs))
    t_one = median_time(lambda: one(W0, b0, lr[0], key), reps)
    return t_one, (median_time(lambda: wide(lr, key), reps) if len(lrs) > 1 else None)


def run_many(s):
    sp, Xj = _mnist(s)
    epochs = 1 if s.tiny else (3 if s.quick else 10)
    n_models = 4 if s.tiny else 16
    lrs = np.geomspace(0.005, 0.5, n_models)
    reps = 1 if s.tiny else 3
    common = dict(optimizer="sgd", batch_size=32, epochs=epochs)

    def one():
        return fit(Xj, sp.y_train, "softmax_cross_entropy", learning_rate=0.1, **common).params.W

    def many():
        return fit_many(
            Xj, sp.y_train, "softmax_cross_entropy", learning_rate=lrs, **common
        ).params.W

    t_one = median_time(one, reps)
    t_many = median_time(many, reps)
    f_one, f_many = _floor_many(Xj, sp.y_train, epochs, lrs, reps)
    t = time.perf_counter()
    for lr in lrs:
        _sk_sgd(sp.X_train, sp.y_train, epochs, learning_rate="constant", eta0=float(lr))
    t_loop = time.perf_counter() - t
    r = fit_many(sp.X_train, sp.y_train, "softmax_cross_entropy", learning_rate=lrs, **common)
    accs = [_acc(r.params.W[i], r.params.b[i], sp.X_test, sp.y_test) for i in range(n_models)]
    rows = [
        ["jaxlin, one model", fmt_s(t_one), "1.0×"],
        [f"jaxlin, {n_models} learning rates under vmap", fmt_s(t_many), f"{t_many / t_one:.1f}×"],
        ["JAX floor program, one model", fmt_s(f_one), f"{f_one / t_one:.1f}×"],
        [
            f"JAX floor program, {n_models} models as one wide (d, {n_models}·K) model",
            fmt_s(f_many),
            f"{f_many / t_one:.1f}× ({f_many / f_one:.1f}× its one model)",
        ],
        [
            f"scikit-learn, Python loop of {n_models} SGDClassifier fits",
            fmt_s(t_loop),
            f"{t_loop / t_one:.1f}×",
        ],
    ]
    checks = [
        (
            f"{n_models} models ≤ 4× one model",
            f"{t_many / t_one:.1f}× (the floor program: its {n_models} models "
            f"{f_many / f_one:.1f}× its one, {f_many / t_one:.1f}× jaxlin's one)",
            t_many / t_one <= 4,
        ),
        (
            "≥ 25× faster than the scikit-learn loop",
            f"{t_loop / t_many:.1f}×",
            t_loop / t_many >= 25,
        ),
    ]
    return {
        "title": "4. Many models at once",
        "what": f"Mini-batch SGD (B = 32, {epochs} epochs) on MNIST, learning rates "
        f"{lrs[0]:g} … {lrs[-1]:g} (geometric); the best reached test accuracy "
        f"{max(accs):.4f}. scikit-learn: SGDClassifier(log_loss, constant rate) per "
        "learning rate, the same epochs.",
        "header": ["run", "time", "relative to one jaxlin model"],
        "rows": rows,
        "checks": checks,
    }
