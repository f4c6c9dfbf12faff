"""Dual coordinate descent (``optimizer="dcd"``): the exact L2-regularised hinge and
squared-hinge SVM, against liblinear's dual solvers (scikit-learn's ``LinearSVC``) and
jaxlin's primal solvers."""

import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.svm import LinearSVC as LiblinearSVC

import jaxlin
from jaxlin.sklearn import LinearSVC

C = 0.5


@pytest.fixture(scope="module")
def problem():
    """Overlapping classes (no separating plane), 3 classes, features of unequal scale."""
    rng = np.random.default_rng(0)
    centers = np.array([[0.0, 0, 0, 0, 0], [1.5, 1, 0, 0, 0], [0, 1.5, 1, 0, 0]])
    y = rng.integers(0, 3, 150)
    X = centers[y] + rng.normal(size=(150, 5)) * [1, 1, 2, 0.5, 1]
    return X, y


def _dual_reference(X, t, C_rows, loss):
    """``W = Σ α_i s_i x_i`` at the dual's optimum, by SciPy's L-BFGS-B (an independent
    bound-constrained solver): ``min ½ αᵀ(Q + diag D)α − Σα``, ``0 ≤ α ≤ U``."""
    from scipy.optimize import minimize

    s = 2.0 * np.asarray(t, float) - 1.0
    A = s[:, None] * X
    hinge = loss == "hinge"
    D = np.zeros(len(s)) if hinge else 1 / (2 * C_rows)
    Q = A @ A.T + np.diag(D)

    def f(a):
        return 0.5 * a @ Q @ a - a.sum(), Q @ a - 1

    bounds = [(0, c if hinge else None) for c in C_rows]
    options = dict(ftol=0, gtol=1e-13, maxiter=100_000, maxcor=50)
    res = minimize(f, np.zeros(len(s)), jac=True, method="L-BFGS-B", bounds=bounds, options=options)
    return A.T @ res.x


def _dcd(X, y, loss, **kw):
    kw = {"optimizer": "dcd", "fit_intercept": False, "grad_tol": 1e-10, "epochs": 20_000, **kw}
    return jaxlin.fit(X, y, loss, dtype=np.float64, **kw)


@pytest.mark.parametrize("loss", ["hinge", "squared_hinge"])
def test_binary_svm_is_the_duals_optimum(problem, loss):
    X, y = problem
    b = (y == 1).astype(int)
    r = _dcd(X, b, loss, l2=1 / (2 * C * len(b)))  # ½‖w‖² + C Σ L_i, divided by C N
    assert r.stop_reason == "gradient_tol"
    spread = np.asarray(r.history.grad_norm)[: int(r.epochs)]
    assert spread[-1] < 1e-10  # measured on an epoch that visited every row
    assert np.isnan(spread).any()  # and not on those that skipped the shrunk variables
    W = np.asarray(r.params.W)[:, 0]
    np.testing.assert_allclose(W, _dual_reference(X, b, np.full(len(b), C), loss), atol=1e-7)
    assert float(np.abs(np.asarray(r.params.b)).max()) == 0.0


@pytest.mark.parametrize("loss", ["hinge", "squared_hinge"])
def test_sample_weights_scale_each_rows_box_as_liblinears(problem, loss):
    X, y = problem
    b = (y == 2).astype(int)
    w = np.random.default_rng(1).uniform(0, 3, len(b))
    w[:10] = 0.0  # rows that count for nothing
    r = _dcd(X, b, loss, l2=1 / (2 * C * w.sum()), sample_weight=w)
    ref = _dual_reference(X[10:], b[10:], C * w[10:], loss)  # liblinear's C_i = C w_i
    np.testing.assert_allclose(np.asarray(r.params.W)[:, 0], ref, atol=1e-7)


def test_one_column_per_class_solves_each_class_against_the_rest(problem):
    X, y = problem
    T = np.eye(3)[y]  # 0/1 targets (N, K): K binary problems solved side by side
    for loss in ("hinge", "squared_hinge"):
        r = _dcd(X, T, loss, l2=1 / (2 * C * len(y)))
        for k in range(3):
            one = _dual_reference(X, T[:, k], np.full(len(y), C), loss)
            np.testing.assert_allclose(np.asarray(r.params.W)[:, k], one, atol=1e-7)


def test_squared_hinge_optimum_is_the_primal_solvers(problem):
    X, y = problem
    b = (y == 0).astype(int)
    common = dict(l2=0.01, fit_intercept=False, dtype=np.float64)
    dual = _dcd(X, b, "squared_hinge", l2=0.01)
    primal = jaxlin.fit(X, b, "squared_hinge", optimizer="lbfgs", grad_tol=1e-12, **common)
    np.testing.assert_allclose(dual.params.W, primal.params.W, atol=1e-8)


def test_sparse_rows_give_the_dense_result(problem):
    X, y = problem
    X = np.where(np.abs(X) < 0.7, 0.0, X)  # about half the entries stored
    b = (y == 1).astype(int)
    kw = dict(l2=0.01, grad_tol=None, seed=3, epochs=50)
    dense, csr = _dcd(X, b, "hinge", **kw), _dcd(sp.csr_matrix(X), b, "hinge", **kw)
    # without grad_tol nothing shrinks: every epoch visits every row and measures its spread
    assert np.isfinite(np.asarray(dense.history.grad_norm)[:50]).all()
    np.testing.assert_allclose(csr.params.W, dense.params.W, rtol=0, atol=1e-12)
    again = _dcd(X, b, "hinge", **kw)
    np.testing.assert_array_equal(again.params.W, dense.params.W)  # same key, same bits


def test_an_empty_row_takes_its_whole_box_and_the_run_converges(problem):
    X, y = problem
    X = X.copy()
    X[:3] = 0.0  # f is linear along their α: its minimum is at the box's end, U = C
    b = (y == 1).astype(int)
    for rows in (X, sp.csr_matrix(X)):
        r = _dcd(rows, b, "hinge", l2=1 / (2 * C * len(b)))
        assert r.stop_reason == "gradient_tol"
        ref = _dual_reference(X, b, np.full(len(b), C), "hinge")
        np.testing.assert_allclose(np.asarray(r.params.W)[:, 0], ref, atol=1e-7)


def test_many_penalties_at_once_equal_their_single_fits(problem):
    X, y = problem
    b = (y == 1).astype(int)
    l2s = [0.003, 0.03]
    kw = dict(optimizer="dcd", fit_intercept=False, epochs=30, dtype=np.float64)
    many = jaxlin.fit_many(X, b, "hinge", l2=l2s, **kw)
    for k, l2 in enumerate(l2s):
        one = jaxlin.fit(X, b, "hinge", l2=l2, **kw)
        np.testing.assert_allclose(np.asarray(many.params.W)[k], one.params.W, atol=1e-12)


def test_the_bridges_hinge_linear_svc_solves_liblinears_problem(problem):
    X, y = problem
    kw = dict(loss="hinge", C=C, intercept_scaling=2.0)
    ours = LinearSVC(max_iter=20_000, tol=1e-10, **kw).fit(X, y)
    Xb = np.c_[X, np.full(len(y), 2.0)]  # liblinear's intercept: a constant feature's weight
    for k in range(3):
        W = _dual_reference(Xb, y == k, np.full(len(y), C), "hinge")
        np.testing.assert_allclose(ours.coef_[k], W[:-1], atol=1e-6)
        np.testing.assert_allclose(ours.intercept_[k], 2.0 * W[-1], atol=1e-6)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = LiblinearSVC(max_iter=100_000, tol=1e-10, random_state=0, **kw).fit(X, y)
    assert np.mean(ours.predict(X) == ref.predict(X)) > 0.97  # liblinear stops short of it


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(l2=0.0), "l2: dcd solves the dual of an L2-regularised problem"),
        (dict(fit_intercept=True), "fit_intercept: dcd fits no unpenalised intercept"),
        (dict(init="uniform"), "init: dcd starts at W = 0"),
        (dict(l1=0.1), "l1: optimizer dcd needs a smooth objective"),
        (dict(batch_size=8), "batch_size: dcd is a full-batch method"),
        (dict(tol=1e-3), "tol: dcd stops by its own rule"),
        (dict(loss="binary_cross_entropy"), "dcd solves a loss's dual"),
        (dict(loss="multiclass_perceptron"), "loss .multiclass_perceptron. states none"),
    ],
)
def test_what_dcd_cannot_solve_is_named(problem, kwargs, message):
    X, y = problem
    kwargs = {"loss": "hinge", "l2": 0.01, "fit_intercept": False, **kwargs}
    with pytest.raises(ValueError, match=message):
        jaxlin.fit(X, y if "multiclass" in kwargs["loss"] else y == 1, optimizer="dcd", **kwargs)


def _crammer_singer_reference(X, y, C_rows, K):
    """``W`` at the optimum of Crammer and Singer's primal, a quadratic programme solved by
    SciPy's SLSQP (an independent solver): ``min ½‖W‖² + Σ C_i ξ_i`` over ``W`` and
    ``ξ ≥ 0`` with ``x_i w_{y_i} − x_i w_m ≥ 1 − ξ_i`` for every ``m ≠ y_i``."""
    from scipy.optimize import minimize

    N, d = X.shape
    size = d * K

    def f(v):
        return 0.5 * v[:size] @ v[:size] + C_rows @ v[size:], np.r_[v[:size], C_rows]

    A = []
    for i in range(N):
        for m in set(range(K)) - {y[i]}:
            a = np.zeros(size + N)
            a[np.arange(d) * K + y[i]] += X[i]
            a[np.arange(d) * K + m] -= X[i]
            a[size + i] = 1.0
            A.append(a)
    A = np.array(A)
    margins = dict(type="ineq", fun=lambda v: A @ v - 1.0, jac=lambda v: A)
    bounds = [(None, None)] * size + [(0, None)] * N
    start = np.r_[np.zeros(size), np.full(N, 2.0)]
    res = minimize(
        f, start, jac=True, method="SLSQP", constraints=[margins], bounds=bounds,
        options=dict(ftol=1e-14, maxiter=1000),
    )  # fmt: skip
    return res.x[:size].reshape(d, K)


def test_crammer_singer_is_the_primal_programmes_optimum(problem):
    X, y = problem
    w = np.random.default_rng(2).uniform(0.5, 2, len(y))  # each row's box C w_i
    r = _dcd(X, y, "crammer_singer_hinge", l2=1 / (2 * C * w.sum()), sample_weight=w)
    assert r.stop_reason == "gradient_tol"
    ref = _crammer_singer_reference(X, y, C * w, 3)
    np.testing.assert_allclose(r.params.W, ref, atol=1e-7)
    csr = _dcd(sp.csr_matrix(X), y, "crammer_singer_hinge", l2=1 / (2 * C * w.sum()),
               sample_weight=w)  # fmt: skip
    np.testing.assert_allclose(csr.params.W, r.params.W, atol=1e-10)


def test_the_bridges_crammer_singer_linear_svc_solves_liblinears_problem(problem):
    X, y = problem
    kw = dict(multi_class="crammer_singer", C=C, intercept_scaling=2.0)
    ours = LinearSVC(max_iter=20_000, tol=1e-10, **kw).fit(X, y)
    W = _crammer_singer_reference(np.c_[X, np.full(len(y), 2.0)], y, np.full(len(y), C), 3)
    np.testing.assert_allclose(ours.coef_, W[:-1].T, atol=1e-6)
    np.testing.assert_allclose(ours.intercept_, 2.0 * W[-1], atol=1e-6)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = LiblinearSVC(max_iter=100_000, tol=1e-10, random_state=0, **kw).fit(X, y)
    np.testing.assert_allclose(ours.coef_, ref.coef_, atol=1e-6)


def _weston_watkins_reference(X, y, C_rows, K, squared):
    """``W`` at the optimum of Weston and Watkins's primal, a quadratic programme solved by
    SciPy's SLSQP: ``min ½‖W‖² + Σ C_i Σ_m ξ_im`` (squared: ``ξ_im²``) over ``W`` and
    ``ξ ≥ 0`` with ``x_i w_{y_i} − x_i w_m ≥ 1 − ξ_im``, one slack per wrong class."""
    from scipy.optimize import minimize

    N, d = X.shape
    size = d * K
    pairs = [(i, m) for i in range(N) for m in range(K) if m != y[i]]
    c = np.array([C_rows[i] for i, _ in pairs])

    def f(v):
        W, xi = v[:size], v[size:]
        if squared:
            return 0.5 * W @ W + c @ xi**2, np.r_[W, 2 * c * xi]
        return 0.5 * W @ W + c @ xi, np.r_[W, c]

    A = np.zeros((len(pairs), size + len(pairs)))
    for j, (i, m) in enumerate(pairs):
        A[j, np.arange(d) * K + y[i]] += X[i]
        A[j, np.arange(d) * K + m] -= X[i]
        A[j, size + j] = 1.0
    margins = dict(type="ineq", fun=lambda v: A @ v - 1.0, jac=lambda v: A)
    bounds = [(None, None)] * size + [(0, None)] * len(pairs)
    start = np.r_[np.zeros(size), np.full(len(pairs), 2.0)]
    res = minimize(
        f, start, jac=True, method="SLSQP", constraints=[margins], bounds=bounds,
        options=dict(ftol=1e-14, maxiter=2000),
    )  # fmt: skip
    return res.x[:size].reshape(d, K)


@pytest.mark.parametrize("loss", ["multiclass_hinge", "multiclass_squared_hinge"])
def test_weston_watkins_is_the_primal_programmes_optimum(problem, loss):
    X, y = problem
    w = np.random.default_rng(3).uniform(0.5, 2, len(y))  # each row's box C w_i
    w[:5] = 0.0  # rows that count for nothing
    l2 = 1 / (2 * C * w.sum())
    r = _dcd(X, y, loss, l2=l2, sample_weight=w)
    assert r.stop_reason == "gradient_tol"
    assert np.asarray(r.history.grad_norm)[int(r.epochs) - 1] <= 1e-10
    ref = _weston_watkins_reference(X[5:], y[5:], C * w[5:], 3, "squared" in loss)
    np.testing.assert_allclose(r.params.W, ref, atol=1e-7)
    csr = _dcd(sp.csr_matrix(X), y, loss, l2=l2, sample_weight=w)
    np.testing.assert_allclose(csr.params.W, r.params.W, atol=1e-10)


def test_weston_watkins_rows_without_entries_take_their_whole_box(problem):
    X, y = problem
    X = X.copy()
    X[:4] = 0.0  # each wrong class's β of an empty row: its box's top, C
    r = _dcd(X, y, "multiclass_hinge", l2=1 / (2 * C * len(y)))
    assert r.stop_reason == "gradient_tol"
    ref = _weston_watkins_reference(X[4:], y[4:], np.full(len(y) - 4, C), 3, False)
    np.testing.assert_allclose(r.params.W, ref, atol=1e-7)


def test_the_bridges_weston_watkins_linear_svc_is_exact(problem):
    X, y = problem
    ours = LinearSVC(multi_class="weston_watkins", loss="hinge", C=C, tol=1e-10,
                     max_iter=20_000, intercept_scaling=2.0).fit(X, y)  # fmt: skip
    W = _weston_watkins_reference(np.c_[X, np.full(len(y), 2.0)], y, np.full(len(y), C), 3, False)
    np.testing.assert_allclose(ours.coef_, W[:-1].T, atol=1e-6)
    np.testing.assert_allclose(ours.intercept_, 2.0 * W[-1], atol=1e-6)


@pytest.mark.parametrize("squared", [False, True])
def test_a_weston_watkins_row_moves_to_its_subproblems_minimiser(squared):
    """``pairwise_step`` against SciPy's L-BFGS-B on the row's box-constrained quadratic
    ``½ q‖b − a‖² + ½ q (Σ(b − a))² + gᵀ(b − a) + Σ d b²/2``; the true class's entry
    (``u = 0``) stays 0."""
    from scipy.optimize import minimize

    from jaxlin.solvers.dcd import pairwise_step

    rng = np.random.default_rng(4)
    for _ in range(20):
        K, q = 5, float(rng.uniform(0.1, 3))
        u = np.full(K, np.inf) if squared else rng.uniform(0.2, 1.5, K)
        d = rng.uniform(0.1, 1, K) if squared else np.zeros(K)
        u[0], d[0] = 0.0, 0.0  # the true class
        a = rng.uniform(0, 1, K) * np.where(np.isinf(u), 2.0, u)  # a point of the box
        a[0] = 0.0
        g = rng.normal(size=K) * 2

        def f(b):
            db = b - a
            value = 0.5 * q * db @ db + 0.5 * q * db.sum() ** 2 + g @ db + 0.5 * d @ b**2
            return value, q * db + q * db.sum() + g + d * b

        bounds = [(0, None if np.isinf(x) else x) for x in u]
        ref = minimize(f, a, jac=True, method="L-BFGS-B", bounds=bounds,
                       options=dict(ftol=0, gtol=1e-13, maxiter=10_000)).x  # fmt: skip
        got = np.asarray(pairwise_step(q, a, g, u, d))
        np.testing.assert_allclose(got, ref, atol=1e-8)
        assert got[0] == 0.0
