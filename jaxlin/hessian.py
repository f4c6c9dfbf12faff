"""Second order: the Hessian of ``J`` for losses with a curvature, and a convexity check.

For ``z_i = x̃_i θ`` with ``x̃ = [x, 1]`` and ``θ = [W; b]`` (the bias trick):

    ∇²J = (1/N) X̃ᵀ diag(h) X̃ + 2 l2 [I_d 0; 0 0],   h_i = ∂²L/∂z² at (z_i, y_i)

For binary cross-entropy ``h = σ(1 − σ) ≥ 0``, so ``∇²J`` is PSD (convex); for the
squared error with a sigmoid ``h`` changes sign and the smallest eigenvalue
can be negative (not convex).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from jaxlin import penalties, sparse, validation
from jaxlin.linear import Params, add_bias
from jaxlin.sparse import SparseRows
from jaxlin.losses import get_loss
from jaxlin.objective import Objective, check_shapes, on_device
from jaxlin.penalties import Penalty
from jaxlin.records import every


def hessian(params: Params, X, T, loss, penalty: Penalty = Penalty()):
    """Hessian of ``J`` with respect to ``θ = [W; b]`` for a loss with a curvature.

    ``θ`` is ``W`` row by row, then ``b`` (``jax.flatten_util.ravel_pytree`` of the
    ``Params``): for ``K = 1`` the bias trick's ``[w; b]``, and ``(1/N) X̃ᵀ diag(h) X̃ +
    2 l2 I_d``. For ``K > 1`` (softmax cross-entropy, one-vs-rest logistic) each example
    adds ``x̃ᵢ ⊗ Cᵢ ⊗ x̃ᵢ`` with ``Cᵢ`` its ``K × K`` curvature (``hessian_matrix``). For a
    maximised loss (the log-likelihood) ``J = mean LL − R`` and its Hessian is that of
    ``−m`` (the penalty's term enters with a minus).

    Args:
      params: ``W`` ``(d, K)``, ``b`` ``(K,)``. X: ``(N, d)``. T: ``(N, K)`` (or labels).
    Returns:
      ``((d+1) K, (d+1) K)``.
    """
    loss = get_loss(loss)
    if not loss.twice_differentiable:
        raise ValueError(f"loss: {loss.name!r} has no second derivative (curvature)")
    params, X, T, _ = on_device(params, X, T, loss=loss)
    penalty = penalties.checked(penalty)
    check_shapes(params, X, T)
    o = Objective(loss, penalty)
    return o.reported(hessian_matrix(o, params, X, T))


def min_eigenvalue(H):
    """Smallest eigenvalue of a symmetric matrix (``≥ 0`` everywhere ⇔ convex). ``H``
    ``(n, n)``; one whose values are known (outside ``jit``) must be finite (NaN has no
    eigenvalues) and symmetric to ``1e-6`` of its largest entry."""
    host = not isinstance(H, jax.core.Tracer)
    if host:
        H = validation.numeric(validation.as_host_array(H, "H"), "H")
    if H.ndim != 2 or H.shape[0] != H.shape[1] or H.shape[0] == 0:
        raise ValueError(f"H: expected a square matrix (n, n), got shape {H.shape}")
    if host:
        validation.check_finite(H, "H")
        scale = float(np.max(np.abs(H)))
        gap = np.abs(H - H.T)
        if np.any(gap > 1e-6 * scale):  # eigvalsh would read one triangle and ignore the other
            i, j = np.unravel_index(np.argmax(gap), H.shape)
            raise ValueError(
                f"H: expected a symmetric matrix; H[{i}, {j}] = {H[i, j]:.6g} but "
                f"H[{j}, {i}] = {H[j, i]:.6g}"
            )
    return jnp.linalg.eigvalsh(jnp.asarray(H))[0]


def hessian_matrix(objective, params: Params, X, T, Z=None, X_sums=None):
    """The Hessian of the smooth part of the minimised objective ``m``, for any ``K``.

    ``θ`` is ``ravel(Params(W, b))``: ``W`` row by row, then ``b``. From each example's
    curvature matrix ``C_i = ∂²(s L)/∂z²`` (``K × K``, weighted by ``w_i / Σw``):

        H[(j, k), (j', k')] = Σ_i x̃_ij C_i[k, k'] x̃_ij' + 2 l2 1[j = j' < d, k = k']

    with ``x̃ = [x, 1]``. Cost ``N (d+1)² K²``: meant for ``(d+1) K`` up to a few thousand
    (``optimizer="newton-cholesky"``); larger problems use Hessian-vector products. Without
    an intercept the bias rows and columns are those of the identity. ``Z``: the scores
    ``X W + b`` at ``params`` when the caller has them (then ``X`` is read once, by the sum).
    ``X_sums``: a copy of a dense ``X`` in a lower precision (float32) to run the sums in —
    twice as fast on a CPU; the curvatures are rounded to it and the result is in ``X``'s.
    """
    d, k = params.W.shape
    C = objective.curvature_matrices(params, X, T, Z)  # (N, K, K)
    if isinstance(X, SparseRows):
        H = _sparse_gram(X, C).reshape((d + 1) * k, (d + 1) * k)
    else:
        Xs = X if X_sums is None else X_sums
        H = _dense_gram(Xs, C.astype(Xs.dtype)).astype(X.dtype).reshape((d + 1) * k, -1)
    reg = jnp.concatenate(
        [jnp.full((d * k,), 2.0 * objective.penalty.l2, H.dtype), jnp.zeros((k,), H.dtype)]
    )
    H = H + jnp.diag(reg)
    if not objective.fit_intercept:
        bias = jnp.arange((d + 1) * k) >= d * k
        H = jnp.where(bias[:, None] | bias[None, :], jnp.eye((d + 1) * k, dtype=H.dtype), H)
    return H


# a Cholesky pivot ``L_ii²`` below this fraction of ``H_ii``: the column is a combination of
# the others up to float64's rounding (a duplicated feature, more features than rows
# without a penalty); that pivot would divide rounding noise into a step of any size
SINGULAR_PIVOT = 1e3 * 2.0**-52


def cholesky_factor(H):
    """``(L, ok)``: the Cholesky factor of ``H`` and whether it is usable — finite, and no
    pivot singular up to rounding (``SINGULAR_PIVOT``)."""
    L = jnp.linalg.cholesky(H)
    pivots = jnp.diagonal(L, axis1=-2, axis2=-1) ** 2
    return L, every(pivots >= SINGULAR_PIVOT * jnp.diagonal(H, axis1=-2, axis2=-1))


# float64 values whose float32 copies keep about 7 significant digits and whose squares,
# times a curvature and summed over rows, stay within float32's range
LOW_PRECISION_RANGE = (2.0**-50, 2.0**50)


def low_precision_sums(X, exact: bool = False):
    """``(X32, in_range)`` — a float32 copy of ``X`` to sum a one-output float64 Hessian over,
    and whether every value of ``X`` is 0 or in ``LOW_PRECISION_RANGE`` (else the float64
    sums are taken) — or ``None`` where the Hessian is summed in the data's precision
    (``exact``: more than one output, or a model without an L2 term). Made once a run
    (``SolverRecord.prepare``), on ``X`` alone, so that it is one branch under ``vmap`` over
    models.

    Dense float64 rows only, and one output (``K = 1``): the Hessian only chooses the
    direction — the gradient, the values and the stops stay float64 — and an error of
    float32's rounding in it slows Newton's convergence by a factor of that size, below one
    step's gain (the same steps on standardised and raw Spambase and KidCreative, condition
    numbers up to 3e11); twice as fast on a CPU. Not for ``K > 1``: the softmax Hessian is
    singular without a penalty (all scores may shift by one constant), and float32's
    rounding turns that null space into tiny pivots and huge steps; nor, for the same
    reason, when a model has no L2 term (``Settings.unpenalised``) — a duplicated feature,
    or more features than rows, then leave the Hessian singular, and only float64's sums
    keep its null space exact, for the damped solve to stay out of it
    (``jaxlin.solvers.newton_cholesky.newton_direction``)."""
    if exact or isinstance(X, SparseRows) or X.dtype != jnp.float64:
        return None
    lo, hi = LOW_PRECISION_RANGE
    magnitude = jnp.abs(X)
    return X.astype(jnp.float32), every((magnitude == 0) | ((magnitude >= lo) & (magnitude <= hi)))


def hessian_at(obj, X, T, sums=None):
    """``(params, Z) ↦ ∇²m``, summed over ``sums``' float32 copy of ``X`` where its values
    allow (``low_precision_sums``, which says when there is none; Newton-Cholesky's
    directions and Newton-CG's preconditioner), in the data's precision
    otherwise."""
    if sums is None:
        return lambda params, Z: hessian_matrix(obj, params, X, T, Z)
    X32, in_range = sums

    def at(params, Z):
        return jax.lax.cond(
            in_range,
            lambda: hessian_matrix(obj, params, X, T, Z, X32),
            lambda: hessian_matrix(obj, params, X, T, Z),
        )

    return at


def in_blocks(owner, n_outputs: int) -> bool:
    """Whether the Hessian is ``K`` diagonal blocks (``hessian_blocks``): more than one
    output of a loss whose curvature is diagonal (``owner``: the ``Loss``, or an
    ``Objective`` of one; ``None``: not known)."""
    return n_outputs > 1 and owner is not None and owner.diagonal_curvature


def hessian_blocks(objective, params: Params, X, T, Z=None):
    """The Hessian of ``m`` for a loss with a diagonal curvature (``Loss.diagonal_curvature``),
    as its ``K`` diagonal blocks ``(K, d+1, d+1)``: the scores do not meet in the loss, so
    ``hessian_matrix``'s entries between two outputs are zero and output ``k``'s block is

        H_k = Σ_i c_ik x̃_iᵀ x̃_i + 2 l2 [I_d 0; 0 0],   c_ik = (w_i / Σw) ∂²(s L)/∂z_k²

    over ``θ_k = [W[:, k]; b_k]``. Cost ``N (d+1)² K`` — ``K`` times less than the whole
    matrix's sums, ``K²`` less to factor. Without an intercept the bias row and column are
    the identity's."""
    return curvature_blocks(objective, X, objective.curvature_diagonals(params, X, T, Z))


def curvature_blocks(objective, X, c):
    """``hessian_blocks`` from the weighted curvatures ``c`` ``(N, B)``: one block per
    column of ``c`` ``(B, d+1, d+1)``. Outputs whose curvatures are all equal (a squared
    error's: ``c_ik = 2 w_i / Σw``) share one block: pass that column alone."""
    d = X.shape[1]

    def gram(ci):
        if isinstance(X, SparseRows):
            return _sparse_gram(X, ci[:, None, None]).reshape(d + 1, d + 1)
        return _dense_gram(X, ci[:, None, None]).reshape(d + 1, d + 1)

    blocks = jax.vmap(gram, in_axes=1)(c) if c.shape[1] > 1 else gram(c[:, 0])[None]
    l2 = jnp.full((d,), 2.0 * objective.penalty.l2, blocks.dtype)
    blocks = blocks + jnp.diag(jnp.concatenate([l2, jnp.zeros(1, blocks.dtype)]))
    if not objective.fit_intercept:
        bias = jnp.arange(d + 1) == d
        eye = jnp.eye(d + 1, dtype=blocks.dtype)
        blocks = jnp.where(bias[:, None] | bias[None, :], eye, blocks)
    return blocks


def _dense_gram(X, C):
    """``Σ_i x̃_i ⊗ C_i ⊗ x̃_i`` ``(d+1, K, d+1, K)`` for dense rows.

    For ``K = 1`` in blocks, without building ``x̃ = [x, 1]`` (a copy of ``X`` at every Newton
    step): ``(c ⊙ X)ᵀ X`` for ``W``, ``cᵀ X`` between ``W`` and ``b``, ``Σ c`` for ``b`` — on
    Spambase's Newton-Cholesky run 8% faster. For ``K > 1`` the single sum over ``x̃`` is the
    faster inside the compiled loop (digits, ``K = 10``: 0.44 s a run against 0.68 s for the
    blocks; XLA:CPU times the two forms alike outside it).
    """
    if C.shape[-1] > 1:
        Xt = add_bias(X)
        return jnp.einsum("ni,nkl,nj->ikjl", Xt, C, Xt)
    c = C[:, 0, 0]
    Wb = c @ X  # the (W, b) block, (d,)
    top = jnp.concatenate([(X * c[:, None]).T @ X, Wb[:, None]], axis=1)
    H = jnp.concatenate([top, jnp.concatenate([Wb, jnp.sum(c)[None]])[None]], axis=0)
    return H[:, None, :, None]


def _sparse_gram(X: SparseRows, C):
    """``Σ_i x̃_i ⊗ C_i ⊗ x̃_i`` ``(d+1, K, d+1, K)`` for sparse rows, a block of rows at a
    time: each block is made dense (``rows × d``, about 1 MiB), never the whole ``(N, d)``.
    For the explicit Hessian, whose ``d`` is small (``newton-cholesky``'s limit)."""
    n, d = X.shape
    k = C.shape[-1]
    block = max(1, min(n, 2**17 // max(d, 1)))
    n_blocks = -(-n // block)

    def one(i, acc):
        idx = jnp.minimum(i * block + jnp.arange(block), n - 1)
        real = (i * block + jnp.arange(block)) < n  # the last block repeats row n − 1: masked
        rows = sparse.take_rows(X, idx)
        dense = (
            jnp.zeros((block, d), X.dtype).at[sparse.entry_rows(rows), rows.indices].add(rows.data)
        )
        Xt = add_bias(dense)
        Cb = jnp.where(real[:, None, None], C[idx], 0.0)
        return acc + jnp.einsum("ni,nkl,nj->ikjl", Xt, Cb, Xt)

    zero = jnp.zeros((d + 1, k, d + 1, k), X.dtype)
    return jax.lax.fori_loop(0, n_blocks, one, zero)
