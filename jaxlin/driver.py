"""The epoch driver: one loop for every solver, and every stopping rule written once.

The contract, in the style of ``jax.example_libraries.optimizers``: a solver is a factory
``make(problem, hyper, settings) → Solver(init, step)`` (see :mod:`jaxlin.solvers`)::

    init(params)                      → (state, m)          its first state and m(params)
    step(params, state, m, key)       → Step(params, state, m, grad, learning_rate,
                                             accepted, status)

where ``m`` is the minimised objective of :class:`jaxlin.objective.Objective`. The driver
owns everything else, for every solver alike, inside one ``lax.while_loop``:

* **divergence** — a non-finite objective or parameter ends the run (status ``diverged``)
  and keeps the last finite parameters;
* **tol** — ``|m_t − m_(t−1)| < tol · max(1, |m_(t−1)|)`` after an accepted step;
* **grad_tol** — ``‖G‖ < grad_tol``, ``G`` the gradient (the proximal gradient mapping with
  L1), computed on the full batch at the epoch's end when the solver did not;
* **validation** — the mean validation loss (no penalty) and accuracy after every epoch, the
  best parameters so far, and with ``patience`` early stopping that returns them;
* **history** — per-epoch arrays; **chunks** — :func:`run` can stop after any epoch and go on
  later from the returned state, bit for bit (a progress bar updates in between);
* **many models** — :func:`run_lockstep` advances ``vmap``-ped models epoch by epoch with one
  shared key.
"""
from __future__ import annotations

from typing import Any, Callable, NamedTuple, Optional

import jax
import jax.numpy as jnp

from jaxlin.decision import predict_labels, target_labels
from jaxlin.linear import Params, init_params, logits
from jaxlin.objective import Objective

RUNNING, MAX_EPOCHS, OBJECTIVE_TOL, GRADIENT_TOL, EARLY_STOPPING, DIVERGED, SEPARATED = range(7)
STOP_REASONS = {
    RUNNING: "running",
    MAX_EPOCHS: "max_epochs",
    OBJECTIVE_TOL: "objective_tol",
    GRADIENT_TOL: "gradient_tol",
    EARLY_STOPPING: "early_stopping",
    DIVERGED: "diverged",
    SEPARATED: "separated",
}


class Problem(NamedTuple):
    """The data of one run, a pytree: training rows, their objective, validation rows.

    ``X`` ``(N, d)``, ``T`` ``(N, K)``; ``X_val``/``T_val`` or ``None``. Rows past
    ``Settings.n_rows`` are weight-0 padding (sharding) that mini-batches never draw.
    """

    X: Any
    T: Any
    objective: Objective
    X_val: Any = None
    T_val: Any = None


class Hyper(NamedTuple):
    """Per-model numbers besides the penalty (which the objective holds); ``init`` the
    starting :class:`~jaxlin.linear.Params` of a warm start (``Settings.init == "given"``);
    ``tol``/``grad_tol`` the stopping tolerances where ``Settings`` turns those stops on.
    All are traced values: runs that differ only in them share one compiled program."""

    learning_rate: Any
    key: Any
    init: Any = None
    tol: Any = None
    grad_tol: Any = None


class Settings(NamedTuple):
    """Static settings (hashable: one compilation per distinct settings and shapes)."""

    solver: str  # a key of jaxlin.solvers.SOLVERS
    n_outputs: int
    optimizer: Any = "gd"  # name, optax GradientTransformation, or callable lr -> transformation
    epochs: int = 100
    batch_size: Optional[int] = None  # None: the full batch
    tol: bool = False  # the objective stop is on (its value: Hyper.tol)
    grad_tol: bool = False  # the gradient stop is on (its value: Hyper.grad_tol)
    adaptive_lr: bool = False
    patience: Optional[int] = None
    init: str = "zeros"  # or "given": start from Hyper.init
    memory_size: int = 10
    n_rows: Optional[int] = None  # real rows; the rest of X is zero-weight padding (sharding)
    shuffle: bool = True  # each epoch visits the rows in a fresh random order (else in order)


class History(NamedTuple):
    """Per-epoch arrays of length ``epochs``; entries after the last epoch run are NaN.

    ``objective[e]`` is ``J`` after epoch ``e`` in the loss's own direction (training data,
    with the penalty; for mini-batches, the mean of the epoch's mini-batch objectives; for
    the perceptron, the number of misclassified examples); ``val_objective`` the mean
    validation loss (no penalty); ``val_accuracy`` its accuracy; ``learning_rate`` the step
    size (for Newton's method, the trust-region radius); ``inner_steps`` the inner iterations
    of the epoch (Newton: conjugate-gradient steps; NaN for solvers without any).
    """

    objective: Any
    val_objective: Any
    val_accuracy: Any
    learning_rate: Any
    grad_norm: Any
    inner_steps: Any = None


class Step(NamedTuple):
    """What a solver's epoch returns to the driver."""

    params: Params
    state: Any
    value: Any  # minimised objective after the epoch
    grad: Any  # gradient of the smooth part at the new parameters, or None
    learning_rate: Any
    accepted: Any = True  # False: a rejected step (bold driver), never a convergence
    status: Any = RUNNING  # a solver's own stop (the perceptron: SEPARATED)
    inner_steps: Any = jnp.nan  # inner iterations of the epoch (Newton: CG steps)


class Solver(NamedTuple):
    init: Callable
    step: Callable


class Loop(NamedTuple):
    """The ``lax.while_loop`` state; ``solver`` is the solver's own state."""

    epoch: Any
    params: Params
    solver: Any
    key: Any
    value: Any
    status: Any
    best_params: Params
    best_val: Any
    bad_epochs: Any
    history: History


class Trained(NamedTuple):
    params: Params
    history: History
    epochs: Any  # number of epochs run
    status: Any  # a key of STOP_REASONS


def all_finite(tree):
    return jnp.all(jnp.stack([jnp.all(jnp.isfinite(x)) for x in jax.tree.leaves(tree)]))


def select(pred, a, b):
    return jax.tree.map(lambda x, y: jnp.where(pred, x, y), a, b)


def _record(hist: History, e, **values) -> History:
    return hist._replace(**{k: getattr(hist, k).at[e].set(v) for k, v in values.items()})


def _validate(params, problem: Problem):
    """``(m_val, J_val, accuracy)``: the unpenalised validation objective, minimised and in
    the loss's direction, and the accuracy of the predicted labels."""
    val = Objective(problem.objective.loss)
    m = val.value(params, problem.X_val, problem.T_val)
    pred = predict_labels(val.loss, logits(params, problem.X_val))
    hits = (pred == target_labels(problem.T_val)).astype(problem.X_val.dtype)
    return m, val.reported(m), jnp.mean(hits)


def _grad_norm(st: Step, problem: Problem, s: Settings):
    if st.grad is None and not s.grad_tol:
        return jnp.asarray(jnp.nan, problem.X.dtype)
    g = st.grad
    if g is None:  # a mini-batch epoch: the full-batch gradient, only for the stop
        g = problem.objective.smooth_value_and_grad(st.params, problem.X, problem.T)[1]
    return problem.objective.gradient_mapping_norm(st.params, g, st.learning_rate)


def _stops(loop: Loop, st: Step, finite, gnorm, s: Settings, hyper: Hyper):
    status = jnp.where(finite, st.status, DIVERGED)
    if s.tol:
        small = jnp.abs(st.value - loop.value) < hyper.tol * jnp.maximum(1.0, jnp.abs(loop.value))
        status = jnp.where((status == RUNNING) & st.accepted & small, OBJECTIVE_TOL, status)
    if s.grad_tol:
        status = jnp.where((status == RUNNING) & (gnorm < hyper.grad_tol), GRADIENT_TOL, status)
    return status


def _epoch(solver: Solver, problem: Problem, hyper: Hyper, s: Settings, loop: Loop) -> Loop:
    key, sub = jax.random.split(loop.key)
    st = solver.step(loop.params, loop.solver, loop.value, sub)
    finite = jnp.isfinite(st.value) & all_finite(st.params)
    # Divergence: keep the last finite parameters and say so.
    params = select(finite, st.params, loop.params)
    value = jnp.where(finite, st.value, loop.value)
    gnorm = _grad_norm(st, problem, s)
    reported = problem.objective.reported(value)
    hist = _record(loop.history, loop.epoch, objective=reported,
                   learning_rate=st.learning_rate, grad_norm=gnorm, inner_steps=st.inner_steps)
    status = _stops(loop, st, finite, gnorm, s, hyper)
    best_params, best_val, bad = loop.best_params, loop.best_val, loop.bad_epochs
    if problem.X_val is not None:
        m_val, J_val, acc = _validate(params, problem)
        hist = _record(hist, loop.epoch, val_objective=J_val, val_accuracy=acc)
        better = m_val < best_val
        best_params = select(better, params, best_params)
        best_val = jnp.where(better, m_val, best_val)
        bad = jnp.where(better, 0, bad + 1)
        if s.patience is not None:
            stop = (status == RUNNING) & (bad >= s.patience)
            status = jnp.where(stop, EARLY_STOPPING, status)
            params = select(stop, best_params, params)
    epoch = loop.epoch + 1
    status = jnp.where((status == RUNNING) & (epoch >= s.epochs), MAX_EPOCHS, status)
    return Loop(epoch, params, st.state, key, value, status, best_params, best_val, bad, hist)


def _start(solver: Solver, problem: Problem, hyper: Hyper, s: Settings) -> Loop:
    key_init, key_loop = jax.random.split(hyper.key)
    dtype = problem.X.dtype
    if s.init == "given":  # a warm start: the solver's own state starts afresh
        params = jax.tree.map(lambda a: jnp.asarray(a, dtype), hyper.init)
    else:
        params = init_params(key_init, problem.X.shape[1], s.n_outputs, s.init, dtype)
    params = problem.objective.mask_bias(params)
    state, value = solver.init(params)
    nan = jnp.full((s.epochs,), jnp.nan, dtype)
    return Loop(jnp.asarray(0), params, state, key_loop, value, jnp.asarray(RUNNING), params,
                jnp.asarray(jnp.inf, dtype), jnp.asarray(0), History(nan, nan, nan, nan, nan, nan))


def _solver(problem: Problem, hyper: Hyper, s: Settings) -> Solver:
    from jaxlin.solvers import SOLVERS  # solvers build on the driver's records

    return SOLVERS[s.solver](problem, hyper, s)


def run(problem: Problem, hyper: Hyper, s: Settings, state: Loop = None, until=None) -> Loop:
    """Run the epochs in a ``lax.while_loop``: from the first state, or on from ``state``.

    The loop stops when the status leaves ``RUNNING`` or after epoch ``until`` (default:
    ``s.epochs``). Running to ``until = e₁``, then on from that state, gives exactly the run
    made in one go. Returns the loop state; :func:`trained` turns it into a :class:`Trained`.
    """
    solver = _solver(problem, hyper, s)
    loop = _start(solver, problem, hyper, s) if state is None else state
    until = s.epochs if until is None else until
    return jax.lax.while_loop(lambda lp: (lp.status == RUNNING) & (lp.epoch < until),
                              lambda lp: _epoch(solver, problem, hyper, s, lp), loop)


def run_lockstep(problem: Problem, hyper: Hyper, s: Settings, axes, state=None, until=None):
    """Many models with one shared PRNG key, advanced epoch by epoch in lock step.

    ``vmap`` of :func:`run` would batch the while loop's predicate, which forces every
    carried value to be batched — the key too — so each model would draw and gather its
    own mini-batches. Here the loop runs while any model runs, the epoch body is
    ``vmap``-ped with the key left unbatched (one permutation, one gather per batch for all
    models), and a model that has stopped keeps its state. Each model's result equals its
    run alone: while it runs, its epoch ``e`` uses the key every model uses at epoch ``e``.

    ``axes = (problem_axes, hyper_axes)`` as for ``jax.vmap``; ``hyper_axes.key`` is ``None``.
    """
    problem_axes, hyper_axes = axes

    def init_one(problem, hyper):
        return _start(_solver(problem, hyper, s), problem, hyper, s)

    def body_one(problem, hyper, loop):
        return _epoch(_solver(problem, hyper, s), problem, hyper, s, loop)

    if state is None:
        state = jax.vmap(init_one, in_axes=(problem_axes, hyper_axes))(problem, hyper)
        state = state._replace(key=state.key[0])  # the key is identical for every model
    loop_axes = jax.tree.map(lambda _: 0, state._replace(key=None))._replace(key=None)
    body_many = jax.vmap(body_one, in_axes=(problem_axes, hyper_axes, loop_axes),
                         out_axes=loop_axes)
    until = s.epochs if until is None else until

    def running(lp):
        return (lp.status == RUNNING) & (lp.epoch < until)

    def body(lp):
        new, keep = body_many(problem, hyper, lp), running(lp)

        def pick(a, b):
            return jnp.where(keep.reshape(keep.shape + (1,) * (a.ndim - 1)), a, b)
        merged = jax.tree.map(pick, new._replace(key=None), lp._replace(key=None))
        return merged._replace(key=new.key)

    return jax.lax.while_loop(lambda lp: jnp.any(running(lp)), body, state)


def trained(loop: Loop) -> Trained:
    """The result carried by a finished (or paused) loop state."""
    return Trained(loop.params, loop.history, loop.epoch, loop.status)
