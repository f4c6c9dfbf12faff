"""Losses and gradients stay finite for extreme logits; stable forms agree with naive ones."""

import warnings

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxlin import objective as obj
from jaxlin.losses import LOSSES

EXTREMES = [(jnp.float32, 1e4), (jnp.float64, 1e30)]


@pytest.mark.parametrize("name", sorted(LOSSES))
@pytest.mark.parametrize("dtype,big", EXTREMES, ids=["float32-1e4", "float64-1e30"])
def test_finite_at_extreme_logits(name, dtype, big):
    loss = LOSSES[name]
    k = 3 if loss.min_classes > 1 else 1
    signs = jnp.array(
        [[1.0, -1.0, 1.0], [-1.0, 1.0, -1.0], [1.0, 1.0, -1.0], [-1.0, -1.0, -1.0]], dtype
    )[:, :k]
    Z = signs * jnp.asarray(big, dtype)
    if loss.target == "onehot":
        T = jax.nn.one_hot(jnp.array([0, 1, 2, 0]) % k, k, dtype=dtype)
    else:
        T = jnp.array([[1.0], [0.0], [1.0], [0.0]], dtype) * jnp.ones((1, k), dtype)
    L = obj.per_example_losses(loss, Z, T)
    D = obj.score_gradients(loss, Z, T)
    G = jax.vmap(jax.grad(loss.autodiff_value))(Z, T)
    assert L.dtype == dtype and D.dtype == dtype
    assert bool(jnp.all(jnp.isfinite(L))), L
    assert bool(jnp.all(jnp.isfinite(D))), D
    assert bool(jnp.all(jnp.isfinite(G))), G
    if loss.surrogate is None:
        # away from kinks (ties of huge scores are kinks) the hand-derived δ equals autodiff
        away = (
            jnp.ones(Z.shape[0], bool)
            if loss.kink_distance is None
            else jax.vmap(loss.kink_distance)(Z, T) > 1e-6
        )
        np.testing.assert_allclose(D[away], G[away], rtol=1e-6, atol=1e-6)


def test_softmax_ce_beyond_the_float_range_is_zero_or_infinite_never_nan():
    # score gaps past float32's largest number: right by that margin the loss is 0
    # (0 · ∞ from a zero target made it NaN), wrong by it the loss exceeds the range
    f32 = jnp.float32
    z = jnp.array([3e38, -3e38, -3e38], f32)
    right = LOSSES["softmax_cross_entropy"].value(z, jnp.array([1.0, 0.0, 0.0], f32))
    wrong = LOSSES["softmax_cross_entropy"].value(z, jnp.array([0.0, 1.0, 0.0], f32))
    assert float(right) == 0.0 and float(wrong) == np.inf


@pytest.mark.parametrize("name", sorted(LOSSES))
def test_beyond_the_float_range_a_loss_is_infinite_never_nan(name):
    # scores whose gaps overflow float32: values and δ may be infinite (the true ones are
    # beyond the range), never NaN — softmax CE gave NaN for two tied overflowing rivals,
    # the multi-class squared hinge's δ a NaN from 0 · ∞
    loss = LOSSES[name]
    k = 3 if loss.min_classes > 1 else 1
    f32, big = jnp.float32, 3e38
    for pattern in ([-1.0, 1.0, 1.0], [1.0, -1.0, -1.0], [1.0, 1.0, -1.0], [0.0, 1.0, -1.0]):
        z = jnp.asarray(pattern[:k], f32) * big
        for cls in range(max(k, 2)):
            y = jax.nn.one_hot(cls, k, dtype=f32) if k > 1 else jnp.full((1,), cls, f32)
            parts = [loss.value(z, y), loss.delta(z, y)]
            if loss.curvature is not None:
                parts.append(loss.curvature(z, y))
            for part in parts:
                assert not bool(jnp.any(jnp.isnan(part))), (pattern, cls, parts)


def test_bce_stable_matches_naive_where_naive_is_finite(key):
    # beyond |z| ≈ 15 the naive 1 − σ(z) loses digits (still finite, but wrong) before it overflows
    z = jnp.linspace(-15, 15, 601)
    y = jax.random.bernoulli(key, 0.5, z.shape).astype(z.dtype)
    s = 1.0 / (1.0 + jnp.exp(-z))
    naive = -(y * jnp.log(s) + (1 - y) * jnp.log(1 - s))
    stable = jax.vmap(LOSSES["binary_cross_entropy"].value)(z[:, None], y[:, None])
    ok = jnp.isfinite(naive)
    assert bool(jnp.all(ok))
    np.testing.assert_allclose(stable[ok], naive[ok], rtol=1e-6, atol=1e-12)
    # where naive overflows the stable form still gives the right answer: −ln σ(−40) ≈ 40
    big = jax.vmap(LOSSES["binary_cross_entropy"].value)(jnp.array([[-40.0]]), jnp.array([[1.0]]))
    np.testing.assert_allclose(big, [40.0], rtol=1e-12)
    naive32 = -jnp.log(1.0 / (1.0 + jnp.exp(jnp.float32(200.0))))
    assert not bool(jnp.isfinite(naive32))  # the failure the stable form avoids


def test_softmax_ce_stable_matches_naive_where_naive_is_finite(key):
    Z = jax.random.normal(key, (200, 5)) * 20
    y = jax.random.randint(key, (200,), 0, 5)
    e = jnp.exp(Z)
    naive = -jnp.log(e[jnp.arange(200), y] / e.sum(1))
    stable = obj.per_example_losses(LOSSES["softmax_cross_entropy"], Z, jax.nn.one_hot(y, 5))
    ok = jnp.isfinite(naive)
    assert int(ok.sum()) > 150
    np.testing.assert_allclose(stable[ok], naive[ok], rtol=1e-8, atol=1e-10)
    Z32 = jnp.array([[1000.0, 0.0, -1000.0]], jnp.float32)
    naive32 = -jnp.log(jnp.exp(Z32[0, 1]) / jnp.exp(Z32).sum())
    assert not bool(jnp.isfinite(naive32))
    stable32 = obj.per_example_losses(
        LOSSES["softmax_cross_entropy"], Z32, jax.nn.one_hot(jnp.array([1]), 3, dtype=jnp.float32)
    )
    np.testing.assert_allclose(stable32, [1000.0], rtol=1e-6)


def test_objective_gradient_finite_for_huge_float32_scores(key):
    X = jnp.array([[1e4, -1e4], [-1e4, 1e4]], jnp.float32)
    p = obj.Params(jnp.ones((2, 3), jnp.float32), jnp.zeros(3, jnp.float32))
    T = jax.nn.one_hot(jnp.array([0, 2]), 3, dtype=jnp.float32)
    for name in ("softmax_cross_entropy", "one_vs_rest_logistic", "multiclass_hinge"):
        J, g = obj.value_and_grad(p, X * 1e3, T, name)
        assert bool(jnp.isfinite(J)) and bool(jnp.all(jnp.isfinite(g.W))), name


# ---------------------------------------------------------------- exact at extreme logits
# References are exact: closed forms evaluated on exactly representable score differences.


def _sigmoid_neg(z):
    """σ(−z) to full relative precision in float64 (exp(−z)/(1 + exp(−z)) for z > 0)."""
    import math

    return math.exp(-z) / (1.0 + math.exp(-z)) if z > 0 else 1.0 / (1.0 + math.exp(z))


@pytest.mark.parametrize("z", [0.5, 5.0, 20.0, 38.0, 50.0, 100.0, 700.0, 1e4, 1e30])
@pytest.mark.parametrize("name", ["binary_cross_entropy", "log_likelihood", "one_vs_rest_logistic"])
def test_logistic_delta_keeps_full_relative_precision(name, z):
    loss = LOSSES[name]
    sign = -1.0 if loss.maximise else 1.0  # ∂LL/∂z = −∂BCE/∂z
    for y, zz, want in [
        (1.0, z, -_sigmoid_neg(z)),
        (0.0, -z, _sigmoid_neg(z)),
        (1.0, -z, -_sigmoid_neg(-z)),
        (0.0, z, _sigmoid_neg(-z)),
    ]:
        d = float(loss.delta(jnp.array([zz], jnp.float64), jnp.array([y], jnp.float64))[0])
        assert d == pytest.approx(sign * want, rel=1e-12, abs=0.0), (y, zz)


def test_bce_delta_at_38_is_minus_sigmoid_of_minus_38():
    d = LOSSES["binary_cross_entropy"].delta(
        jnp.array([38.0], jnp.float64), jnp.array([1.0], jnp.float64)
    )
    assert float(d[0]) == pytest.approx(-3.1391327920480296e-17, rel=1e-6)  # −σ(−38)


@pytest.mark.parametrize("dtype,base", [(jnp.float32, 1e8), (jnp.float64, 1e30)])
def test_softmax_cross_entropy_value_does_not_cancel(dtype, base):
    import math

    loss = LOSSES["softmax_cross_entropy"]
    ulp = float(np.spacing(np.asarray(base, dtype)))
    for steps in [(0, 0), (0, 1), (3, 0), (0, 5, 2)]:  # offsets in ulps: exact differences
        z = jnp.asarray([base + s * ulp for s in steps], dtype)
        assert [float(v) - base for v in z] == [s * ulp for s in steps]
        for true in range(len(steps)):
            y = jax.nn.one_hot(true, len(steps), dtype=dtype)
            d = [(s - steps[true]) * ulp for s in steps]  # z_k − z_y, exact
            top = max(range(len(d)), key=d.__getitem__)
            exact = d[top] + math.log1p(
                math.fsum(math.exp(x - d[top]) for j, x in enumerate(d) if j != top)
            )
            got = float(loss.value(z, y))
            assert got == pytest.approx(exact, rel=1e-6), (steps, true)


def test_softmax_tied_logits_give_ln_k_and_the_classic_example_is_exact():
    loss = LOSSES["softmax_cross_entropy"]
    for k in (2, 3, 10):
        z = jnp.full((k,), 1e8, jnp.float32)
        assert float(loss.value(z, jax.nn.one_hot(0, k))) == pytest.approx(np.log(k), rel=1e-6)
    z = jnp.array([1e4, 1e4 + 0.5], jnp.float32)
    assert float(loss.value(z, jnp.array([1.0, 0.0]))) == pytest.approx(
        0.9740769841801067, rel=1e-6
    )


@pytest.mark.parametrize("gap", [5.0, 40.0, 300.0])
def test_softmax_delta_of_the_true_class_keeps_relative_precision(gap):
    loss = LOSSES["softmax_cross_entropy"]
    z = jnp.array([gap, 0.0, -1.0], jnp.float64)
    d = loss.delta(z, jnp.array([1.0, 0.0, 0.0], jnp.float64))
    rest = np.exp(-gap) + np.exp(-gap - 1.0)  # Σ_{j≠y} e^{z_j − z_y}
    want = -rest / (1.0 + rest)  # p_y − 1 = −Σ_{j≠y} p_j
    assert float(d[0]) == pytest.approx(want, rel=1e-12)
    assert float(d[1]) == pytest.approx(np.exp(-gap) / (1.0 + rest), rel=1e-12)


def test_squared_error_sigmoid_delta_keeps_relative_precision():
    loss = LOSSES["squared_error_sigmoid"]
    for z in (20.0, 38.0, 300.0):
        s_neg = _sigmoid_neg(z)
        want = -2.0 * (1.0 - s_neg) * s_neg * s_neg  # y = 1: −2 σ σ(−z) (1 − σ)
        d = float(loss.delta(jnp.array([z]), jnp.array([1.0]))[0])
        assert d == pytest.approx(want, rel=1e-12)


def test_against_optax_where_optax_is_exact(key):
    import optax

    Z = jax.random.normal(key, (64, 5), jnp.float64) * 4.0
    labels = jax.random.randint(jax.random.fold_in(key, 1), (64,), 0, 5)
    Y = jax.nn.one_hot(labels, 5, dtype=jnp.float64)
    ours = jax.vmap(LOSSES["softmax_cross_entropy"].value)(Z, Y)
    np.testing.assert_allclose(ours, optax.softmax_cross_entropy(Z, Y), rtol=1e-13)
    # optax's integer-label form is logsumexp(z) − z_y, which cancels for small losses
    np.testing.assert_allclose(
        ours, optax.softmax_cross_entropy_with_integer_labels(Z, labels), rtol=1e-11
    )
    z, y = Z[:, :1], (labels[:, None] % 2).astype(jnp.float64)
    np.testing.assert_allclose(
        jax.vmap(LOSSES["binary_cross_entropy"].value)(z, y),
        optax.sigmoid_binary_cross_entropy(z, y)[:, 0],
        rtol=1e-13,
    )
    np.testing.assert_allclose(
        jax.vmap(LOSSES["binary_cross_entropy"].delta)(z, y),
        jax.vmap(jax.grad(lambda a, b: optax.sigmoid_binary_cross_entropy(a, b).sum()))(z, y),
        rtol=1e-12,
        atol=1e-300,
    )


def _example_functions():
    for name in sorted(LOSSES):
        loss = LOSSES[name]
        for fn in (loss.value, loss.delta, loss.curvature):
            if fn is not None:
                yield pytest.param(name, fn, id=f"{name}-{_name(fn)}")


def _name(fn):
    return getattr(fn, "func", fn).__name__  # a partial (a width ε): its function's


@pytest.mark.parametrize("name,fn", list(_example_functions()))
def test_a_loss_called_directly_names_a_mismatch(name, fn):
    """A loss, its δ and its curvature take one example's ``z`` and ``y`` of one shape (or,
    for a multi-class loss, a class index: its one-hot row): a float beside K scores, a
    column beside a row, or text is named (these broadcast to a wrong number, or failed
    deep inside JAX); plain lists work as arrays do."""
    k = 3 if LOSSES[name].min_classes > 1 else 2
    z, y = np.array([0.3, -1.2, 2.0])[:k], np.eye(k)[1]
    if LOSSES[name].target == "binary":
        y = np.array([1.0, 0.0, 1.0])[:k]
    with pytest.raises(ValueError, match=rf"{_name(fn)}: z and y must have one shape"):
        fn(z, 1.0)
    if LOSSES[name].target == "onehot" and name != "one_vs_rest_logistic":  # K sigmoids
        np.testing.assert_array_equal(np.asarray(fn(z, 1)), np.asarray(fn(z, np.eye(k)[1])))
    else:
        with pytest.raises(ValueError, match=rf"{_name(fn)}: z and y must have one shape"):
            fn(z, 1)
    with pytest.raises(ValueError, match=r"got z \(3, 1\) and y \(3,\)"):
        fn(np.zeros((3, 1)), np.zeros(3))
    with pytest.raises(TypeError, match=rf"{_name(fn)}: z must be numbers, got str"):
        fn("0.5", y)
    np.testing.assert_allclose(
        np.asarray(fn(list(z), list(y))), np.asarray(fn(jnp.asarray(z), jnp.asarray(y))), rtol=1e-12
    )
    # integer scores are the floats they hold (the sigmoid's losses met XLA's refusal of an
    # integer type); a multi-class loss names a scalar z (an IndexError came through)
    zi = np.array([1, -2, 3])[:k]
    np.testing.assert_allclose(
        np.asarray(fn(zi, y)), np.asarray(fn(zi.astype(float), y)), rtol=1e-6, atol=1e-7
    )
    if LOSSES[name].min_classes > 1 and name != "one_vs_rest_logistic":  # K sigmoids: per score
        with pytest.raises(ValueError, match=rf"^{_name(fn)}: z needs its values along a last"):
            fn(1.0, 1.0)
    # targets outside [0, 1] (a ±1 label, a class code 2) gave a wrong number silently; under
    # jit the values are not known and the function is as before
    if LOSSES[name].target != "real":
        for bad in (-1.0, 2.0):
            with pytest.raises(ValueError, match=rf"^{_name(fn)}: y holds targets in \[0, 1\]"):
                fn(z, np.where(y == 1, bad, y))
        np.testing.assert_allclose(
            np.asarray(jax.jit(fn)(z, y)), np.asarray(fn(z, y)), rtol=1e-6, atol=1e-7
        )


@pytest.mark.parametrize(
    "optimizer,extra",
    [
        ("newton-cholesky", {"grad_tol": 1e-8}),
        ("newton", {"grad_tol": 1e-8}),
        ("lbfgs", {"grad_tol": 1e-8}),
        ("fista", {"l1": 1e-3, "tol": 1e-9}),
    ],
)
@pytest.mark.parametrize("kind", ["dense64", "csr64", "bcoo64", "dense32"])
def test_values_whose_squares_overflow_are_named_not_fitted_around(optimizer, extra, kind):
    """Training needs ``x²`` (the curvature, the scores after one step): with one value past
    ``√max`` of the float type every solver's steps are infinite, and a run used to end at
    its start or part-way (``rounding``, the iteration limit, a flat objective) as if it
    had fitted. The cell is named instead; the same data, scaled, trains. (L-BFGS forms
    no curvature: in float32 the product of the value and a weight stays finite, and it
    converges.)"""
    import scipy.sparse as sp
    from jax.experimental import sparse as jsparse

    import jaxlin

    rng = np.random.default_rng(0)
    X = rng.normal(size=(40, 3))
    y = (X[:, 0] + 0.3 * rng.normal(size=40) > 0).astype(int)
    dtype = np.float32 if kind == "dense32" else np.float64
    big = 4e19 if dtype == np.float32 else 3e160  # both past √max: 1.8e19, 1.3e154
    X = X.astype(dtype)
    X[4, 1] = big
    given = {"csr64": sp.csr_matrix, "bcoo64": jsparse.BCOO.fromdense}.get(kind, np.asarray)(X)
    if (kind, optimizer) == ("dense32", "lbfgs"):  # no curvature: x w stays finite, it fits
        r = jaxlin.fit(given, y, optimizer=optimizer, dtype=dtype, epochs=50, **extra)
        assert r.stop_reason == "gradient_tol" and np.all(np.isfinite(np.asarray(r.params.W)))
        return
    with pytest.raises(ValueError, match=r"X: the value at row 4, column 1 .* too large"):
        jaxlin.fit(given, y, optimizer=optimizer, dtype=dtype, epochs=50, **extra)
    X[4, 1] = 1.0
    r = jaxlin.fit(X, y, optimizer=optimizer, dtype=dtype, epochs=50, **extra)
    assert np.all(np.isfinite(np.asarray(r.params.W))) and np.any(np.asarray(r.params.W))


@pytest.mark.parametrize(
    "dtype,words",
    [
        (np.float64, r"X: the value at row 4, column 1 \(3e\+160\) is too large to train on"),
        (np.float32, r"X: the value at row 4, column 1 is too large for float32"),
    ],
)
def test_one_vs_rest_and_many_models_name_a_value_they_cannot_train_on(dtype, words):
    """The batched runs (one model per class, one per penalty, a grid's folds) end as the
    single one does on such data, and the cell is named for them too: in float64 a value
    whose square overflows; in float32 the same float64 value, which is infinite there
    (the runs used to diverge at their start with a warning, the grid to score them)."""
    import jaxlin

    rng = np.random.default_rng(0)
    X = rng.normal(size=(60, 3))
    y = np.arange(60) % 3
    X[4, 1] = 3e160
    kw = dict(dtype=dtype)
    for run in (
        lambda: jaxlin.fit(X, y, "binary_cross_entropy", optimizer="newton", grad_tol=1e-8, **kw),
        lambda: jaxlin.fit_many(X, y % 2, optimizer="newton", grad_tol=1e-8, l2=[1e-3, 1], **kw),
        lambda: jaxlin.fit_grid(X, y % 2, folds=3, optimizer="lbfgs", tol=1e-9, l2=[1e-3, 1], **kw),
    ):
        with pytest.raises(ValueError, match=words), warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # NumPy's cast to float32
            run()


@pytest.mark.parametrize("kind", ["dense", "csr", "bcoo"])
@pytest.mark.parametrize(
    "optimizer,batch_size", [("sgd", 8), ("perceptron", None), ("lbfgs", None)]
)
def test_a_value_beyond_float32_is_named_for_every_solver_and_input_kind(
    kind, optimizer, batch_size
):
    """A float64 value past float32's largest number is infinite in a float32 run. The
    full-batch dense run named it; a mini-batch run, a solver that visits rows one by
    one, and every sparse run diverged with only a warning. Each names the cell now, and
    the same data in float64 trains."""
    import scipy.sparse as sp
    from jax.experimental import sparse as jsparse

    import jaxlin

    rng = np.random.default_rng(1)
    X = rng.normal(size=(40, 5))
    y = (X[:, 0] > 0).astype(int)
    X[3, 2] = 1e100  # beyond float32's range; its square within float64's
    given = {"csr": sp.csr_matrix, "bcoo": jsparse.BCOO.fromdense}.get(kind, np.asarray)(X)
    loss = "perceptron_criterion" if optimizer == "perceptron" else "binary_cross_entropy"
    kw = dict(optimizer=optimizer, batch_size=batch_size, epochs=3)
    with pytest.raises(
        ValueError, match=r"X: the value at row 3, column 2 is too large for float32"
    ):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # NumPy's cast to float32
            jaxlin.fit(given, y, loss, dtype=np.float32, **kw)
    r = jaxlin.fit(given, y, loss, dtype=np.float64, **kw)
    assert np.all(np.isfinite(np.asarray(r.params.W)))


def _beyond_float32_runs():
    """(what is named, a float32 run given it beyond float32's range) pairs."""
    import scipy.sparse as sp

    import jaxlin

    rng = np.random.default_rng(2)
    X = rng.normal(size=(40, 4))
    y = np.arange(40) % 2
    y3 = np.arange(40) % 3
    big_row = np.r_[1e300, np.ones(39)]
    V = X.copy()
    V[5, 1] = 1e300
    f32 = dict(dtype=np.float32, epochs=3)
    zero = np.zeros((4, 1))
    return [
        (
            r"sample_weight: 1e\+300 at row 0 is beyond the range of float32",
            lambda: jaxlin.fit(X, y, sample_weight=big_row, **f32),
        ),
        (
            r"sample_weight: the weights sum to 4e\+39, beyond the range of float32",
            lambda: jaxlin.fit(X, y, sample_weight=np.full(40, 1e38), **f32),
        ),
        (
            r"sample_weight\[:, 0\] \(class 0\): the weights sum to 4e\+39",
            lambda: jaxlin.fit(X, y3, "hinge", sample_weight=np.full((40, 3), 1e38), **f32),
        ),
        (
            r"sample_weight\[1\] \(model 1\): 1e\+300 at row 0",
            lambda: jaxlin.fit_many(
                X,
                y,
                sample_weight=np.stack([np.ones(40), big_row]),
                l2=[0.1, 0.2],
                pairing="zip",
                **f32,
            ),
        ),
        (
            r"y: 1e\+300 at row 0 is beyond the range of float32",
            lambda: jaxlin.fit(X, big_row, "squared_error", **f32),
        ),
        (
            r"y_val: 1e\+300 at row 0",
            lambda: jaxlin.fit(
                X, np.ones(40), "squared_error", validation_data=(X, big_row), **f32
            ),
        ),
        (
            r"X_val: the value at row 5, column 1 is too large for float32",
            lambda: jaxlin.fit(X, y, validation_data=(V, y), **f32),
        ),
        (
            r"X_val: the value at row 5, column 1 is too large for float32",
            lambda: jaxlin.fit(X, y, validation_data=(sp.csr_matrix(V), y), **f32),
        ),
        (
            r"X_val: the value at row 5, column 1 is too large for float32",
            lambda: jaxlin.fit(X, y3, "hinge", validation_data=(V, y3), **f32),
        ),
        (
            r"init.W: 1e\+300 at row 2, column 0",
            lambda: jaxlin.fit(
                X, y, init=jaxlin.Params(np.r_[zero[:2], [[1e300]], zero[3:]], np.zeros(1)), **f32
            ),
        ),
        (
            r"init.b: 1e\+300 at output 0",
            lambda: jaxlin.fit(X, y, init=jaxlin.Params(zero, np.full(1, 1e300)), **f32),
        ),
    ]


@pytest.mark.parametrize("case", range(11))
def test_weights_targets_validation_rows_and_a_start_beyond_float32_are_named(case):
    """Weights, real targets, validation rows and warm-start parameters that a float32 run
    cannot hold (each, or the weights' sum: the objective's normaliser) are named with
    where they are. They made the run diverge with a warning, or, for validation rows,
    scored it as infinite silently, or, for weights summing past the range, left every
    gradient zero: a fit that stayed at its start."""
    words, run = _beyond_float32_runs()[case]
    with pytest.raises(ValueError, match=words), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        run()


def test_a_value_that_rounds_to_float32s_largest_is_within_its_range():
    """Past float32's largest number but within half its last step, a float64 value rounds
    to that number, not to infinity: it is not refused; twice it is."""
    from jaxlin import validation

    top = float(np.finfo(np.float32).max)
    just_past = np.nextafter(top, np.inf)
    assert np.isfinite(np.float32(just_past))  # the premise: it rounds to the largest
    assert validation.first_beyond(np.array([1.0, just_past]), np.float32) is None
    assert validation.first_beyond(np.array([[1.0, 0.0], [0.0, -2 * top]]), np.float32) == (1, 1)
    assert validation.first_beyond(np.array([2 * top]), np.float64) is None


def test_values_within_float32_and_float64_runs_are_not_refused():
    """The range checks refuse nothing a run can hold: weights summing near float32's
    largest number, and 1e300 weights, targets and validation rows in float64."""
    import jaxlin

    rng = np.random.default_rng(3)
    X = rng.normal(size=(40, 4))
    y = (X[:, 0] > 0).astype(int)
    big_row = np.r_[1e300, np.ones(39)]
    r = jaxlin.fit(X, y, sample_weight=np.full(40, 1e36), dtype=np.float32, epochs=5)
    plain = jaxlin.fit(X, y, dtype=np.float32, epochs=5)
    np.testing.assert_allclose(np.asarray(r.params.W), np.asarray(plain.params.W), rtol=1e-5)
    V = X.copy()
    V[0, 0] = 1e300
    jaxlin.fit(X, y, sample_weight=big_row, validation_data=(V, y), dtype=np.float64, epochs=3)
    r = jaxlin.fit(X, big_row, "squared_error", dtype=np.float64, epochs=3)
    assert r.stop_reason != "diverged" or np.all(np.isfinite(np.asarray(r.params.W)))


@pytest.mark.parametrize("name,fn", list(_example_functions()))
def test_a_loss_given_a_batch_is_the_function_of_each_row(name, fn):
    """Scores ``(N, K)`` (or more leading axes) are a batch: each row's value, as
    ``jax.vmap`` gives it (a loss summed every row's scores as one example's, and a softmax
    cross-entropy mixed the rows); a multi-class loss takes the rows' class indices."""
    k = 3 if LOSSES[name].min_classes > 1 else 2
    rng = np.random.default_rng(0)
    Z = rng.normal(size=(2, 4, k)) * 3
    labels = rng.integers(0, k, size=(2, 4))
    Y = np.eye(k)[labels]
    if LOSSES[name].target == "binary":
        Y = (rng.random((2, 4, k)) > 0.5).astype(float)
    elif LOSSES[name].target == "real":
        Y = rng.normal(size=(2, 4, k))
    rows = jax.vmap(jax.vmap(fn))(jnp.asarray(Z), jnp.asarray(Y))
    np.testing.assert_allclose(np.asarray(fn(Z, Y)), np.asarray(rows), rtol=1e-6, atol=1e-7)
    if LOSSES[name].target == "onehot" and name != "one_vs_rest_logistic":
        np.testing.assert_array_equal(np.asarray(fn(Z, labels)), np.asarray(fn(Z, Y)))
        np.testing.assert_array_equal(np.asarray(jax.jit(fn)(Z, labels)), np.asarray(fn(Z, Y)))
        with pytest.raises(ValueError, match=rf"{_name(fn)}: class index {k} is outside"):
            fn(Z, np.where(labels == 0, k, labels))


def test_the_scores_table_per_example_from_class_indices():
    """The worked scores table (rows = examples, labels 0, 1, 2): per example, and the
    means, with the margin-0 (perceptron), margin-1 hinge, squared hinge and softmax
    cross-entropy, called on the batch as a user writes it."""
    S = np.array([[5.6, 6.4, -4.6], [-1.8, 10.2, 3.5], [2.0, 5.4, -8.6]])
    y = np.array([0, 1, 2])
    expected = {
        "multiclass_perceptron": ([0.8, 0.0, 24.6], 8.466667),
        "multiclass_hinge": ([1.8, 0.0, 26.6], 9.466667),
        "multiclass_squared_hinge": ([3.24, 0.0, 359.56], 120.933333),
    }
    for name, (per, mean) in expected.items():
        got = np.asarray(LOSSES[name].value(S, y), np.float64)
        np.testing.assert_allclose(got, per, atol=1e-4)
        assert got.mean() == pytest.approx(mean, abs=1e-4)
    ce = np.asarray(LOSSES["softmax_cross_entropy"].value(S, y), np.float64)
    assert ce.mean() == pytest.approx(5.068393, abs=1e-5)
