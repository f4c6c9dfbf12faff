"""Rosenblatt's perceptron learning algorithm, labels ``{0, 1}``."""

from __future__ import annotations

from jaxlin._lazy import module
from jaxlin.records import RUNNING, SEPARATED, Hyper, Problem, Settings, Solver, SolverRecord, Step
from jaxlin.solvers.gradient import epoch_order

jax, jnp = module("jax"), module("jax.numpy")
linear = module("jaxlin.linear")


def perceptron(problem: Problem, hyper: Hyper, s: Settings) -> Solver:
    """Rosenblatt's perceptron learning algorithm, labels ``{0, 1}``.

    Each epoch visits the examples in a fresh random order (``shuffle=False``: in order):
    if ``y = 1`` and ``w·x + b < 0`` then ``w += x, b += 1``; if ``y = 0`` and ``w·x + b ≥ 0`` then
    ``w −= x, b −= 1`` (``b`` stays 0 without an intercept). It has converged (status
    ``separated``) when every training example is classified correctly; on non-separable
    data it runs to the epoch limit. Its value is the number of misclassified examples.
    """
    X, obj = problem.X, problem.objective
    n = s.real_rows(X)  # padding rows (sharding) are neither visited nor counted
    y = problem.T[:, 0] > 0.5
    real = jnp.arange(X.shape[0]) < n

    def errors(params):
        z = linear.logits(params, X)[:, 0]
        return jnp.sum(real & jnp.where(y, z < 0, z >= 0)).astype(X.dtype)

    def visit(params, i):
        z = linear.row_scores(params, X, i)[0]
        sign = jnp.where(y[i] & (z < 0), 1.0, jnp.where(~y[i] & (z >= 0), -1.0, 0.0))
        sign = sign.astype(X.dtype)
        # the objective decides whether b moves (it stays 0 without an intercept)
        b = obj.mask_bias(params._replace(b=params.b + sign)).b
        return linear.Params(linear.add_row(params.W, X, i, sign), b), None

    def init(params):
        return (), errors(params)

    def step(params, state, m, key):
        new, _ = jax.lax.scan(visit, params, epoch_order(key, n, s.shuffle))
        n_err = errors(new)
        status = jnp.where(n_err == 0, SEPARATED, RUNNING)
        return Step(new, (), n_err, None, jnp.asarray(jnp.nan, X.dtype), False, status)

    return Solver(init, step)


PERCEPTRON = SolverRecord(
    "perceptron",
    perceptron,
    "Rosenblatt's perceptron learning algorithm",
    penalty=False,
    weighted=False,
    visits_rows=True,
    targets=("binary",),
    stops=(),
    learning_rate=False,
    defaults=dict(learning_rate=1.0, epochs=100),
)
RECORDS = (PERCEPTRON,)
