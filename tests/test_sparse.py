"""Sparse X: the two products on the stored entries equal the dense ones and autodiff, every
solver trains the same model from sparse and dense rows, the lazy mini-batch update equals
the eager one, and nothing forms the dense (N, d) array."""

import subprocess
import sys

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import scipy.sparse as sp
from jax.experimental import sparse as jsparse

import jaxlin
from jaxlin import objective as obj
from jaxlin import sparse
from jaxlin.linear import Params, contract, logits
from jaxlin.penalties import Penalty

F64 = jnp.float64


def _problem(n=120, d=40, k=1, density=0.15, seed=0):
    rng = np.random.default_rng(seed)
    X = sp.random(n, d, density=density, random_state=seed, format="csr")
    X.data = rng.normal(size=X.nnz)
    X[3] = 0  # an empty row
    X.eliminate_zeros()
    y = rng.integers(0, max(k, 2), n) if k > 1 else (X @ rng.normal(size=d) > 0).astype(int)
    return X, y


def _device(X, dtype=np.float64, lanes=None):
    return sparse.to_device(sparse.as_csr(X), dtype, lanes=lanes)


@pytest.mark.parametrize("lanes", [1, 4, 16])
@pytest.mark.parametrize("k", [1, 3])
def test_products_on_the_stored_entries_equal_dense_and_autodiff(k, lanes):
    X, _ = _problem()
    rng = np.random.default_rng(1)
    W, D = rng.normal(size=(X.shape[1], k)), rng.normal(size=(X.shape[0], k))
    Xs, Xd = _device(X, lanes=lanes), jnp.asarray(X.toarray())
    assert Xs.lanes == lanes
    p = Params(jnp.asarray(W), jnp.zeros(k, F64))
    np.testing.assert_allclose(logits(p, Xs), Xd @ W, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(contract(Xs, jnp.asarray(D)), Xd.T @ D, rtol=1e-12, atol=1e-12)
    # Xᵀ D is the transpose of Z = X W: autodiff's vector-Jacobian product of W ↦ X W
    _, vjp = jax.vjp(lambda w: sparse.matmul(Xs, w), jnp.asarray(W))
    np.testing.assert_allclose(
        contract(Xs, jnp.asarray(D)), vjp(jnp.asarray(D))[0], rtol=1e-12, atol=1e-12
    )
    # the gradient's and the Hessian diagonal's contractions in one pass: Xᵀ D, (X ⊙ X)ᵀ C
    C = rng.random((X.shape[0], k))
    G, G2 = sparse.rmatmul_with_squares(Xs, jnp.asarray(D), jnp.asarray(C))
    np.testing.assert_allclose(G, Xd.T @ D, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(G2, (Xd * Xd).T @ C, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("k", [1, 3])
@pytest.mark.parametrize("lanes", [1, 16])
def test_products_over_blocks_of_entries_equal_the_dense_products(monkeypatch, lanes, k):
    """Past four blocks of ``BLOCK_VALUES / 2^⌈log₂ K⌉`` stored entries the products run
    block by block, the blocks made equal and the last ending at the last entry (its entries
    the block before summed count once): the same sums, and a fit equal to the dense one."""
    X, y = _problem(n=200, d=30, density=0.3)
    Xs, Xd = _device(X, lanes=lanes), X.toarray()
    # blocks of at most 430 entries for this K: 1,7xx entries or more make several
    monkeypatch.setattr(sparse, "BLOCK_VALUES", 430 << (k - 1).bit_length())
    size = sparse._block_size(Xs.nnz, lanes, k)
    assert size % lanes == 0 and size <= 430 + lanes
    assert -(-Xs.nnz // size) >= 3 and Xs.nnz % size != 0  # a last block that overlaps
    layout = sparse.slice_layout(np.diff(X.indptr), lanes)[1]
    assert Xs.nnz == layout  # stored as laid out: no rounding to blocks
    rng = np.random.default_rng(2)
    W, D = rng.normal(size=(X.shape[1], k)), rng.normal(size=(X.shape[0], k))
    Z = jax.jit(sparse.matmul)(Xs, jnp.asarray(W))
    G = jax.jit(sparse.rmatmul)(Xs, jnp.asarray(D))
    np.testing.assert_allclose(Z, Xd @ W, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(G, Xd.T @ D, rtol=1e-12, atol=1e-12)
    C = np.abs(D) + 0.5
    G, G2 = jax.jit(sparse.rmatmul_with_squares)(Xs, jnp.asarray(D), jnp.asarray(C))
    np.testing.assert_allclose(G, Xd.T @ D, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(G2, (Xd * Xd).T @ C, rtol=1e-12, atol=1e-12)
    np.testing.assert_array_equal(sparse._from_rows(Xs).toarray(), Xd)  # nothing lost or added
    monkeypatch.setattr(sparse, "LANES", (lanes,))  # the fit below stores X the same way
    kw = dict(optimizer="lbfgs", l2=0.01, tol=1e-14, grad_tol=1e-10, epochs=300, dtype=F64)
    blocked, dense = jaxlin.fit(X, y, **kw), jaxlin.fit(Xd, y, **kw)
    np.testing.assert_allclose(blocked.params.W, dense.params.W, rtol=1e-8, atol=1e-10)


@pytest.mark.parametrize("lanes", [1, 2, 16])
def test_the_slice_layout_stores_each_entry_once_where_its_row_reads_it(lanes):
    """Sliced storage (``lanes`` rows at a time, rank by rank, padded with zeros) holds
    exactly the matrix: back to CSR it is equal, each stored non-zero sits at its own row and
    column, a gathered mini-batch is the dense rows, and appended empty rows add nothing."""
    X, _ = _problem(n=37, d=11, density=0.3)
    Xs = _device(X, lanes=lanes)
    assert (sparse.as_csr(Xs) != X).nnz == 0
    data, cols = np.asarray(Xs.data), np.asarray(Xs.indices)
    rows = np.asarray(sparse.entry_rows(Xs))
    real = data != 0
    assert real.sum() == X.nnz and Xs.nnz % lanes == 0
    np.testing.assert_array_equal(np.asarray(X[rows[real], cols[real]]).ravel(), data[real])
    idx = np.array([5, 0, 36, 3, 5])
    batch = sparse.take_rows(Xs, jnp.asarray(idx))
    dense = np.zeros((len(idx), X.shape[1]))
    np.add.at(dense, (np.asarray(sparse.entry_rows(batch)), np.asarray(batch.indices)), batch.data)
    np.testing.assert_array_equal(dense, X.toarray()[idx])
    W = np.random.default_rng(3).normal(size=(X.shape[1], 2))
    Z = sparse.matmul(sparse.pad_rows(Xs, 50), jnp.asarray(W))
    np.testing.assert_allclose(Z, np.vstack([X.toarray() @ W, np.zeros((13, 2))]), atol=1e-12)


@pytest.mark.parametrize("k", [1, 3])
def test_a_batch_gathers_and_scatters_rows_as_numpy_does(k):
    """``gather_rows``/``scatter_rows`` (``K = 1`` taken as a vector) against NumPy, with a
    column repeated in the batch; ``batch_entry_terms`` against ``a_e D[r_e]``."""
    X, _ = _problem(n=37, d=11, density=0.3)
    batch = sparse.take_rows(_device(X), jnp.asarray([5, 0, 36, 3, 5]))
    rng = np.random.default_rng(4)
    W, D = rng.normal(size=(11, k)), rng.normal(size=(5, k))
    cols = np.asarray(batch.indices)
    assert len(set(cols.tolist())) < len(cols)  # repeats: summed by add, agreed by set
    np.testing.assert_array_equal(sparse.gather_rows(jnp.asarray(W), batch.indices), W[cols])
    terms = np.asarray(batch.data)[:, None] * D[np.asarray(sparse.entry_rows(batch))]
    np.testing.assert_allclose(sparse.batch_entry_terms(batch, jnp.asarray(D)), terms, atol=0)
    added = W.copy()
    np.add.at(added, cols, terms)
    out = sparse.scatter_rows(jnp.asarray(W), batch.indices, jnp.asarray(terms))
    np.testing.assert_allclose(out, added, rtol=1e-14, atol=1e-15)
    written = W.copy()
    written[cols] = 2.0 * W[cols]
    out = sparse.scatter_rows(jnp.asarray(W), batch.indices, jnp.asarray(2.0 * W[cols]), "set")
    np.testing.assert_array_equal(out, written)


def test_unsorted_and_repeated_entries_are_summed_on_a_copy():
    """A CSR matrix with unsorted columns and a repeated (row, column) trains as its sum,
    and the caller's matrix is left exactly as it was."""
    data, indices, indptr = [3.0, 1.0, 2.0, 5.0, -1.0], [2, 0, 2, 1, 1], [0, 3, 5]
    X = sp.csr_matrix((np.array(data), np.array(indices), np.array(indptr)), shape=(2, 3))
    canonical = sparse.as_csr(X)
    np.testing.assert_array_equal(canonical.toarray(), [[1.0, 0.0, 5.0], [0.0, 4.0, 0.0]])
    assert X.data.tolist() == data and X.indices.tolist() == indices
    assert X.indptr.tolist() == indptr


@pytest.mark.parametrize("lanes", [0, -2, 2.5, True])
def test_a_bad_slice_width_is_named(lanes):
    with pytest.raises(ValueError, match="lanes: expected a positive integer"):
        _device(_problem()[0], lanes=lanes)


def test_rows_of_like_lengths_are_sliced_and_ragged_rows_stay_csr():
    """The default layout: the widest slice whose zero padding stays within
    ``MAX_PADDING`` of the entries, plain CSR when none does (one long row among short ones
    would pad its whole slice)."""
    # one-hot codes of 8 categorical columns: every row has 8 entries, no padding at all
    codes = np.random.default_rng(0).integers(0, 20, size=(403, 8)) + 20 * np.arange(8)
    even = sp.csr_matrix((np.ones(codes.size), codes.ravel(), np.arange(0, codes.size + 1, 8)))
    Xs = _device(even)
    assert Xs.lanes == max(sparse.LANES)
    assert Xs.nnz == 16 * 26 * 8  # 26 slices of 16 rows (the last one 3 rows, padded)
    ragged = sp.lil_matrix((64, 500))
    ragged[np.arange(64), np.arange(64)] = 1.0
    ragged[7, :] = 2.0  # one full row among rows of one entry
    ragged = ragged.tocsr()
    Xr = _device(ragged)
    assert Xr.lanes == 1 and Xr.nnz == ragged.nnz


@pytest.mark.parametrize(
    "loss,k",
    [
        ("binary_cross_entropy", 1),
        ("softmax_cross_entropy", 3),
        ("squared_hinge", 1),
        ("multiclass_hinge", 3),
    ],
)
def test_objective_gradient_and_hvp_equal_the_dense_path(loss, k):
    X, y = _problem(k=k)
    T = jaxlin.encode_targets(y, loss).astype(F64)
    rng = np.random.default_rng(2)
    p = Params(jnp.asarray(rng.normal(size=(X.shape[1], k))), jnp.asarray(rng.normal(size=k)))
    v = Params(jnp.asarray(rng.normal(size=(X.shape[1], k))), jnp.asarray(rng.normal(size=k)))
    o = obj.Objective.build(loss, Penalty(0.0, 0.1))
    Xs, Xd = _device(X), jnp.asarray(X.toarray())
    (ms, gs), (md, gd) = o.smooth_value_and_grad(p, Xs, T), o.smooth_value_and_grad(p, Xd, T)
    np.testing.assert_allclose(ms, md, rtol=1e-12)
    for a, b in zip(gs, gd):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-13)
    # and autodiff through the sparse product itself
    auto = jax.grad(lambda q: o.value(q, Xs, T))(p)
    for a, b in zip(gs, auto):
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12)
    if o.loss.twice_differentiable:
        for a, b in zip(o.hvp(p, Xs, T, v), o.hvp(p, Xd, T, v)):
            np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-13)
        # value, gradient and Hessian diagonal in one pass over the entries (Newton-CG)
        Z = logits(p, Xd)
        m, g, diag = o.smooth_value_grad_and_diagonal(p, Xs, T, Z)
        np.testing.assert_allclose(m, md, rtol=1e-12)
        want = o.hessian_diagonal(p, Xd, T)
        for a, b in zip((*g, *diag), (*gd, *want)):
            np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-13)


SOLVERS = [
    dict(optimizer="lbfgs", epochs=40, l2=1e-2),
    dict(optimizer="newton", epochs=20, l2=1e-2),
    dict(optimizer="gd", epochs=30, learning_rate=0.5, l2=1e-2),
    dict(optimizer="gd", epochs=30, learning_rate=1.0, adaptive_lr=True, l2=1e-2),
    dict(optimizer="fista", epochs=30, l1=0.01, l2=1e-3),
    dict(optimizer="sgd", epochs=4, batch_size=16, learning_rate=0.2, l2=1e-2),
    dict(optimizer="adam", epochs=4, batch_size=16, learning_rate=0.05, l2=1e-2),
]


@pytest.mark.parametrize(
    "kw", SOLVERS, ids=lambda kw: kw["optimizer"] + ("-bold" if kw.get("adaptive_lr") else "")
)
@pytest.mark.parametrize("loss,k", [("binary_cross_entropy", 1), ("softmax_cross_entropy", 3)])
def test_every_solver_trains_the_same_model_from_sparse_and_dense_rows(kw, loss, k):
    X, y = _problem(k=k)
    a = jaxlin.fit(X, y, loss, dtype=F64, **kw)
    b = jaxlin.fit(X.toarray(), y, loss, dtype=F64, **kw)
    assert int(a.epochs) == int(b.epochs)
    np.testing.assert_allclose(a.params.W, b.params.W, rtol=1e-9, atol=1e-10)
    np.testing.assert_allclose(a.params.b, b.params.b, rtol=1e-9, atol=1e-10)


def test_the_perceptron_on_sparse_rows_is_rosenblatts():
    X, y = _problem(density=0.3)
    a = jaxlin.fit(X, y, "squared_error_step", optimizer="perceptron", epochs=30, dtype=F64)
    b = jaxlin.fit(
        X.toarray(), y, "squared_error_step", optimizer="perceptron", epochs=30, dtype=F64
    )
    np.testing.assert_array_equal(a.params.W, b.params.W)
    assert a.stop_reason == b.stop_reason


@pytest.mark.parametrize("l1,l2", [(0.0, 0.0), (0.0, 0.05), (0.02, 0.0), (0.01, 0.05)])
@pytest.mark.parametrize("weighted", [False, True])
def test_lazy_sparse_steps_equal_the_eager_dense_update(l1, l2, weighted):
    """Plain SGD touches only a batch's columns; weights it skips catch up in closed form.
    With the same row order (same key), the result is the eager update's: the dense rows
    take every weight's step at every batch. N = 101 leaves a last partial batch."""
    X, y = _problem(n=101, d=60, density=0.08)
    w = np.random.default_rng(5).uniform(0.2, 2.0, 101) if weighted else None
    kw = dict(
        optimizer="sgd",
        batch_size=8,
        epochs=6,
        learning_rate=0.3,
        l1=l1,
        l2=l2,
        sample_weight=w,
        dtype=F64,
    )
    lazy, eager = jaxlin.fit(X, y, **kw), jaxlin.fit(X.toarray(), y, **kw)
    np.testing.assert_allclose(lazy.params.W, eager.params.W, rtol=1e-11, atol=1e-12)
    np.testing.assert_allclose(lazy.params.b, eager.params.b, rtol=1e-11, atol=1e-12)
    # the epoch's value: batches of several rows on sparse rows add the penalty at the
    # epoch's end, the eager dense steps each batch's (one row a step: both, below)
    if not l2:
        np.testing.assert_allclose(lazy.history.objective, eager.history.objective, rtol=1e-11)
    if l1:
        assert np.any(np.asarray(lazy.params.W) == 0)  # the prox's exact zeros survive


@pytest.mark.parametrize("k", [1, 3])
def test_the_scale_of_w_is_folded_in_before_it_underflows(k):
    """Without L1, sparse SGD carries ``W = a V`` and multiplies ``a`` by ``1 − 2 η l2`` a
    step. Here that factor is 0.1 and an epoch has 400 steps: ``a`` would reach 1e-400,
    under float64's range, unless it is folded into ``V`` on the way. The result is the
    eager dense update's."""
    X, y = _problem(n=400, d=60, k=k, density=0.08)
    loss = "binary_cross_entropy" if k == 1 else "softmax_cross_entropy"
    kw = dict(optimizer="sgd", batch_size=1, epochs=2, learning_rate=0.3, l2=1.5, dtype=F64)
    lazy, eager = jaxlin.fit(X, y, loss, **kw), jaxlin.fit(X.toarray(), y, loss, **kw)
    assert np.all(np.isfinite(lazy.params.W)) and np.any(np.asarray(lazy.params.W) != 0)
    np.testing.assert_allclose(lazy.params.W, eager.params.W, rtol=1e-10, atol=1e-13)
    np.testing.assert_allclose(lazy.params.b, eager.params.b, rtol=1e-10, atol=1e-13)
    np.testing.assert_allclose(lazy.history.objective, eager.history.objective, rtol=1e-10)


@pytest.mark.parametrize("seeds", [0, [0, 1, 2]])
def test_many_models_fold_their_own_scales_and_equal_each_fit(seeds):
    """Under ``vmap`` (``fit_many``: one key for all models, or a key each) the scale's fold
    is one branch for every model, taken when any model needs it; each model folds only
    its own scale, so each equals its fit alone. The first model's ``a`` shrinks by 0.1 a
    step and folds; the others' never reach the bound."""
    X, y = _problem(n=60, d=40, density=0.1)
    l2s = [1.5, 1e-3, 0.2]
    kw = dict(optimizer="sgd", batch_size=1, epochs=2, learning_rate=0.3, dtype=F64)
    many = jaxlin.fit_many(X, y, l2=l2s, seed=seeds, pairing="zip", **kw)
    for m, l2 in enumerate(l2s):
        seed = seeds if isinstance(seeds, int) else seeds[m]
        one = jaxlin.fit(X, y, l2=l2, seed=seed, **kw)
        np.testing.assert_allclose(many.params.W[m], one.params.W, rtol=1e-12, atol=1e-15)
        np.testing.assert_allclose(many.params.b[m], one.params.b, rtol=1e-12, atol=1e-15)


def test_a_rare_branch_stays_one_branch_under_vmap():
    """``rare_cond`` in many models' epochs: the compiled branch is a ``cond`` whose
    predicate is shared (not a select that computes the branch for every model every time),
    and each model's result is its own: the branch where its predicate holds, else its
    operands."""
    from jaxlin.records import MODELS_AXIS, Settings, rare_cond

    s = Settings("sgd", 1, models_axis=MODELS_AXIS)

    def one(a, V):
        return rare_cond(a < 0.5, s, lambda x: (x[0] * x[1], jnp.ones_like(x[1])), (V, a))

    a, V = jnp.array([0.25, 0.75, 0.4]), jnp.arange(12.0).reshape(3, 4)
    many = jax.vmap(one, axis_name=MODELS_AXIS)
    got_V, got_a = many(a, V)
    np.testing.assert_array_equal(got_V, np.where(np.array([1, 0, 1])[:, None], V * a[:, None], V))
    np.testing.assert_array_equal(got_a, [1.0, 0.75, 1.0])
    jaxpr = jax.make_jaxpr(many)(a, V).jaxpr
    assert [e.primitive.name for e in jaxpr.eqns].count("cond") == 1
    alone = Settings("sgd", 1)
    np.testing.assert_array_equal(
        rare_cond(a[1] < 0.5, alone, lambda x: (2 * x[0], x[1]), (V[1], a[1]))[0], V[1]
    )


def test_sparse_and_dense_rows_stop_at_the_same_epoch_on_the_plateau_rule():
    """scikit-learn's SGD stop (``plateau`` epochs in a row without an improvement of the
    epoch's mean objective by ``tol``) sees the same values on sparse and dense rows one row
    a step, the L2 term at each step included, so the two stop at the same epoch with the
    same model."""
    X, y = _problem(n=300, d=200, density=0.03)
    kw = dict(
        optimizer="sgd",
        batch_size=1,
        epochs=300,
        learning_rate=0.5,
        lr_decay=(50.0, 1.0),
        l2=0.01,
        tol=1e-3,
        plateau=5,
        dtype=F64,
    )
    lazy, eager = jaxlin.fit(X, y, "hinge", **kw), jaxlin.fit(X.toarray(), y, "hinge", **kw)
    assert int(lazy.epochs) == int(eager.epochs) < 300
    np.testing.assert_allclose(lazy.history.objective, eager.history.objective, rtol=1e-10)
    np.testing.assert_allclose(lazy.params.W, eager.params.W, rtol=1e-10, atol=1e-12)


def test_repeated_penalty_steps_equal_the_steps_one_by_one():
    from jaxlin.penalties import repeated_steps

    rng = np.random.default_rng(0)
    W = jnp.asarray(rng.normal(size=(50, 2)))
    pen, eta = Penalty(0.03, 0.2), 0.4
    one = W
    for k in range(1, 12):
        one = jnp.sign(one) * jnp.maximum(jnp.abs((1 - 2 * eta * pen.l2) * one) - eta * pen.l1, 0)
        closed = repeated_steps(pen, W, jnp.full(50, k), eta)
        np.testing.assert_allclose(closed, one, rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("kind", ["csr", "csc", "coo", "csr_array", "bcoo", "bcsr", "int"])
def test_every_sparse_format_is_accepted_and_dtype_follows(kind):
    X, y = _problem()
    dense = X.toarray()
    given = {
        "csr": X,
        "csc": X.tocsc(),
        "coo": X.tocoo(),
        "csr_array": sp.csr_array(X),
        "bcoo": jsparse.BCOO.fromdense(dense),
        "bcsr": jsparse.BCSR.fromdense(dense),
        "int": sp.csr_matrix(np.round(dense * 3)),
    }[kind]
    ref = dense if kind != "int" else np.round(dense * 3)
    a = jaxlin.fit(given, y, optimizer="lbfgs", epochs=20, l2=0.1, dtype=F64)
    b = jaxlin.fit(ref, y, optimizer="lbfgs", epochs=20, l2=0.1, dtype=F64)
    np.testing.assert_allclose(a.params.W, b.params.W, rtol=1e-9, atol=1e-10)
    assert jaxlin.fit(given, y, optimizer="lbfgs", epochs=2).params.W.dtype == jnp.float32


def test_bad_sparse_input_is_named():
    X, y = _problem()
    bad = X.copy()
    bad.data[5] = np.nan
    r = int(np.searchsorted(bad.indptr, 5, side="right") - 1)
    with pytest.raises(ValueError, match=rf"X: contains NaN or infinite values \(first at row {r}"):
        jaxlin.fit(bad, y)
    with pytest.raises(ValueError, match="X: empty data"):
        jaxlin.fit(sp.csr_matrix((0, 4)), np.array([]))
    with pytest.raises(ValueError, match="y: has 3 labels but X has 120 rows"):
        jaxlin.fit(X, y[:3])
    with pytest.raises(ValueError, match="X_val: expected 40 features, got 7"):
        jaxlin.fit(X, y, validation_data=(sp.csr_matrix((5, 7)), y[:5]))
    with pytest.raises(ValueError, match="devices: sparse X trains on one device"):
        jaxlin.fit(X, y, devices=1)


def _corrupt(X, kind):
    """``X`` with index arrays that disagree with its shape (SciPy builds it unchecked)."""
    if kind == "csr column past the end":
        bad = X.copy()
        bad.indices[7] = X.shape[1] + 3
    elif kind == "csr negative column":
        bad = X.copy()
        bad.indices[7] = -1
    elif kind == "csr falling pointers":
        bad = X.copy()
        bad.indptr[5] = X.nnz + 10**6
    elif kind == "csc row past the end":
        bad = X.tocsc()
        bad.indices[2] = X.shape[0]
    else:  # "coo column past the end"
        bad = X.tocoo()
        bad.col[4] = X.shape[1]
    return bad


@pytest.mark.parametrize(
    "kind,message",
    [
        ("csr column past the end", r"X: CSR column index 43 of stored entry 7 is outside 0 … 39"),
        ("csr negative column", r"X: CSR column index -1 of stored entry 7"),
        ("csr falling pointers", r"X: a corrupt CSR matrix: its index pointers \(indptr\)"),
        ("csc row past the end", r"X: CSC row index 120 of stored entry 2 is outside 0 … 119"),
        ("coo column past the end", r"X: COO column index 40 of stored entry 4"),
    ],
)
def test_a_matrix_whose_indices_disagree_with_its_shape_is_named(kind, message):
    # unchecked, SciPy's conversion and jaxlin's gathers read past the arrays (a crash, or
    # a silently clamped column)
    X, y = _problem()
    with pytest.raises(ValueError, match=message):
        jaxlin.fit(_corrupt(X, kind), y)


def test_the_scikit_learn_bridge_names_a_corrupt_matrix_when_fitting_and_predicting():
    from jaxlin.sklearn import LogisticRegression

    X, y = _problem()
    bad = _corrupt(X, "csr column past the end")
    with pytest.raises(ValueError, match="X: CSR column index 43"):
        LogisticRegression().fit(bad, y)
    model = LogisticRegression().fit(X, y)
    with pytest.raises(ValueError, match="X: CSR column index 43"):  # SciPy's own product
        model.predict(bad)


@pytest.mark.parametrize("kind", ["BCOO", "BCSR"])
def test_jax_padding_entries_stand_for_nothing_and_negative_indices_are_named(kind):
    X, y = _problem()
    cls = getattr(jsparse, kind)
    padded = cls.fromdense(jnp.asarray(X.toarray(), F64), nse=X.nnz + 9)  # JAX's fill entries
    assert padded.nse == X.nnz + 9
    a = jaxlin.fit(padded, y, optimizer="lbfgs", epochs=20, l2=0.1, dtype=F64)
    b = jaxlin.fit(X.toarray(), y, optimizer="lbfgs", epochs=20, l2=0.1, dtype=F64)
    np.testing.assert_allclose(a.params.W, b.params.W, rtol=1e-9, atol=1e-10)
    arrays = (padded.data, padded.indices.at[0].set(-1))
    bad = cls(arrays + ((padded.indptr,) if kind == "BCSR" else ()), shape=X.shape)
    with pytest.raises(ValueError, match=f"X: a {kind} with a negative index"):
        jaxlin.fit(bad, y)


def test_a_sparse_matrix_of_more_than_two_axes_or_sparse_labels_are_named():
    X, y = _problem()
    cube = jsparse.BCOO.fromdense(jnp.asarray(X.toarray())[None])
    with pytest.raises(ValueError, match=r"X: expected a 2-D sparse matrix \(N, d\), got shape"):
        jaxlin.fit(cube, y)
    with pytest.raises(TypeError, match="y: expected a dense array, got a sparse csr_matrix"):
        jaxlin.fit(X, sp.csr_matrix(y[:, None]))


def test_fit_many_on_sparse_rows_equals_each_fit():
    X, y = _problem()
    many = jaxlin.fit_many(X, y, optimizer="lbfgs", l2=[1e-3, 1e-1], epochs=30, dtype=F64)
    for m, l2 in enumerate([1e-3, 1e-1]):
        one = jaxlin.fit(X, y, optimizer="lbfgs", l2=l2, epochs=30, dtype=F64)
        np.testing.assert_allclose(many.params.W[m], one.params.W, rtol=1e-9, atol=1e-10)


def test_a_matrix_too_large_to_be_dense_trains():
    """200,000 × 2²⁰ would be 1.6 TB dense in float64; its 2 million entries are 24 MB."""
    n, d, per = 200_000, 2**20, 10
    rng = np.random.default_rng(0)
    cols = rng.integers(0, d, n * per)
    X = sp.csr_matrix((rng.random(n * per), (np.repeat(np.arange(n), per), cols)), shape=(n, d))
    y = (np.asarray(X[:, : d // 2].sum(axis=1)).ravel() > per / 4).astype(int)
    r = jaxlin.fit(X, y, optimizer="lbfgs", epochs=3, l2=1e-4)
    assert r.params.W.shape == (d, 1) and bool(jnp.all(jnp.isfinite(r.params.W)))
    s = jaxlin.fit(X, y, optimizer="sgd", batch_size=256, epochs=1, learning_rate=0.1)
    assert bool(jnp.all(jnp.isfinite(s.params.W)))


def test_newton_cholesky_refuses_more_parameters_than_its_limit():
    """Its explicit Hessian is ((d+1)K)²: a wide sparse problem names the limit and the
    Hessian-free alternative instead of allocating it."""
    X = sp.random(50, 5000, density=0.01, random_state=0, format="csr")
    y = np.arange(50) % 2
    with pytest.raises(ValueError, match=r"newton-cholesky.*5001 parameters.*4096.*newton"):
        jaxlin.fit(X, y, optimizer="newton-cholesky")


def test_fit_grid_on_sparse_rows_equals_the_dense_grid():
    from jaxlin.selection import fit_grid

    X, y = _problem(n=90, d=12)
    kw = dict(folds=3, l2=[1e-2, 1.0], optimizer="lbfgs", epochs=40, dtype=F64)
    a, b = fit_grid(X, y, **kw), fit_grid(X.toarray(), y, **kw)
    np.testing.assert_allclose(a.scores, b.scores, rtol=1e-9, atol=1e-12)


def test_sparse_rows_keep_their_values_when_the_callers_matrix_changes():
    # the device layout is built in buffers of its own: the caller's arrays are not shared
    before = sp.random(40, 300, density=0.05, format="csr", random_state=0, dtype=np.float64)
    for dtype, lanes in ((np.float32, None), (np.float64, None), (np.float64, 1)):
        X = before.copy()
        S = sparse.to_device(X, dtype, lanes=lanes)
        X.data[:], X.indices[:] = 7.0, 0
        want = before.astype(dtype).toarray()
        np.testing.assert_array_equal(sparse._from_rows(S).toarray(), want)


def test_dense_input_is_told_apart_without_importing_scipy_sparse():
    """Checking a NumPy array does not import SciPy's sparse module (a command's start pays
    for it otherwise); every sparse kind is still recognised once it exists."""
    code = (
        "import sys, numpy as np\n"
        "from jaxlin import sparse\n"
        "before = 'scipy.sparse' in sys.modules\n"
        "assert not sparse.is_sparse(np.zeros((2, 2)))\n"
        "print(before, 'scipy.sparse' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    before, after = out.stdout.split()
    assert after == before  # the check imported nothing
    dense = np.eye(3)
    for X in (sp.csr_matrix(dense), sp.csc_array(dense), sp.coo_matrix(dense)):
        assert sparse.is_sparse(X)
    assert sparse.is_sparse(jsparse.BCOO.fromdense(dense))
    assert not sparse.is_sparse(dense) and not sparse.is_sparse(jnp.asarray(dense))


def test_the_public_objective_functions_take_a_scipy_matrix():
    # value_and_grad, objective and the autodiff reference on SciPy's CSR/COO equal the dense
    # calls; a NaN stored entry is named (it returned a SciPy matrix as J before)
    rng = np.random.default_rng(4)
    X = sp.random(30, 8, density=0.3, random_state=4, format="csr")
    y = rng.integers(0, 3, 30)
    T = jaxlin.encode_targets(y, "softmax_cross_entropy")
    p = jaxlin.Params(jnp.asarray(rng.normal(size=(8, 3))), jnp.asarray(rng.normal(size=3)))
    pen, w = Penalty(0.1, 0.2), rng.random(30)
    Xd = X.toarray()
    for Xs in (X, X.tocoo(), X.tocsc()):
        J, g = jaxlin.value_and_grad(p, Xs, T, "softmax_cross_entropy", pen, w)
        Jd, gd = jaxlin.value_and_grad(p, Xd, T, "softmax_cross_entropy", pen, w)
        np.testing.assert_allclose(float(J), float(Jd), rtol=1e-12)
        np.testing.assert_allclose(np.asarray(g.W), np.asarray(gd.W), rtol=1e-11, atol=1e-13)
        _, ga = obj.autodiff_value_and_grad(p, Xs, T, "softmax_cross_entropy", pen, w)
        np.testing.assert_allclose(np.asarray(ga.W), np.asarray(gd.W), rtol=1e-11, atol=1e-13)
        assert float(obj.objective(p, Xs, T, "softmax_cross_entropy", pen, w)) == pytest.approx(
            float(Jd), rel=1e-12
        )
    bad = X.copy()
    bad.data[0] = np.nan
    with pytest.raises(ValueError, match="X: contains NaN"):
        jaxlin.value_and_grad(p, bad, T, "softmax_cross_entropy")
