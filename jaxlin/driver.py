"""The epoch driver: one loop for every solver, and every stopping rule written once.

The contract, in the style of ``jax.example_libraries.optimizers``: a solver is a factory
``make(problem, hyper, settings) → Solver(init, step)`` (see ``jaxlin.solvers``):

    init(params)                      → (state, m)          its first state and m(params)
    step(params, state, m, key)       → Step(params, state, m, grad, learning_rate,
                                             accepted, status)

where ``m`` is the minimised objective of ``jaxlin.objective.Objective``. The driver
owns everything else, for every solver alike, inside one ``lax.while_loop``:

* **divergence** — a non-finite objective or parameter ends the run (status ``diverged``)
  and keeps the last finite parameters;
* **tol** — ``|m_t − m_(t−1)| < tol · max(1, |m_(t−1)|)`` after an accepted step; with
  ``plateau`` instead ``plateau`` epochs in a row whose ``m`` is above the best so far less
  ``tol`` (scikit-learn's SGD rule; with ``lr_plateau`` the solver divides its rate instead,
  and stops itself once the rate is spent);
* **grad_tol** — ``‖G‖ < grad_tol``, ``G`` the gradient (the proximal gradient mapping with
  L1), computed on the full batch at the epoch's end when the solver did not; the norm is
  ``Settings.grad_norm``'s (Euclidean, or the largest entry as scikit-learn's solvers);
  a full-batch solver's start is judged too (``Solver.start_grad``; not with L1): a start
  that meets it runs no epoch;
* **step_tol** — ``max|θ_t − θ_(t−1)| ≤ step_tol · max|θ_t|`` after an accepted step, ``θ``
  the weights and the intercept (scikit-learn's rule for its ``sag`` and ``saga`` solvers,
  which leaves the intercept out: a quasi-Newton epoch may move the intercept alone, and
  without it such an epoch would look like convergence);
* **rounding** — a tolerance below the float resolution could never be met: with ``tol`` or
  ``step_tol`` on, or a ``grad_tol`` below the resolution of the first epoch's gradient
  norm, a full-batch solver whose record lists the stop ends the run (status ``rounding``)
  after 5 accepted epochs in a row that changed ``m`` by no more than its float resolution
  (``jaxlin.records.float_resolution``) without reaching a smaller gradient norm;
* **validation** — the mean validation loss (no penalty) and accuracy after every epoch, the
  best parameters so far, and with ``patience`` early stopping that returns them (with
  ``plateau`` and ``tol`` instead scikit-learn's rule: ``patience`` epochs in a row whose
  validation accuracy did not rise by more than ``tol``, keeping the last parameters);
* **history** — per-epoch arrays; **chunks** — ``run`` can stop after any epoch and go on
  later from the returned state, bit for bit (a progress bar updates in between);
* **callback** — with ``Settings.callback`` the host's ``callback(epoch, params, objective)``
  after every epoch; ``True`` stops the run (status ``callback``);
* **averaging** — with ``Settings.average`` the result is the solver's running mean of
  its iterates (``jaxlin.records.Average``), the last iterate beside it;
* **many models** — ``run_lockstep`` advances ``vmap``-ped models epoch by epoch with one
  shared key.
"""

from __future__ import annotations

from typing import Any, NamedTuple, Optional

import jax
import jax.experimental
import jax.numpy as jnp
import numpy as np

from jaxlin import solvers
from jaxlin.decision import predict_labels, target_labels
from jaxlin.linear import Params, init_params, logits
from jaxlin.objective import Objective
from jaxlin.records import (  # noqa: F401  (the records of a run, named here too)
    CALLBACK,
    CONVERGED,
    DIVERGED,
    EARLY_STOPPING,
    GRADIENT_TOL,
    MAX_EPOCHS,
    MODELS_AXIS,
    OBJECTIVE_TOL,
    ROUNDING,
    STEP_TOL,
    RUNNING,
    SEPARATED,
    STOP_REASONS,
    History,
    Hyper,
    Problem,
    RowOrder,
    Settings,
    Solver,
    Step,
    all_finite,
    float_resolution,
    plateau_count,
    select,
)


class Loop(NamedTuple):
    """The ``lax.while_loop`` state; ``solver`` is the solver's own state."""

    epoch: Any
    params: Params
    solver: Any
    key: Any
    value: Any
    status: Any
    best_params: Optional[Params]  # the best validation objective's (None without validation)
    best_val: Any
    bad_epochs: Any
    history: History
    flat_epochs: Any  # consecutive accepted epochs that changed m only by rounding
    best_grad: Any  # the smallest gradient norm so far
    grad_scale: Any  # the first epoch's gradient norm (NaN before it)
    best_value: Any  # the smallest m so far (the plateau stop)
    stale: Any  # epochs in a row that did not lower best_value by more than tol


class Trained(NamedTuple):
    params: Params
    history: History
    epochs: Any  # number of epochs run
    status: Any  # a key of STOP_REASONS
    last: Optional[Params] = None  # the last iterate, when params is their mean (averaging)


def _record(hist: History, e, record: History) -> History:
    """``hist`` with ``record``'s numbers at epoch ``e`` (``e`` ``(M,)`` for ``M`` models'
    histories ``(M, E)``, where ``record``'s are ``(M,)``; a field ``None`` in ``record``
    is left as it is); an epoch beyond the history's length is not kept."""
    at = e if jnp.ndim(e) == 0 else (jnp.arange(e.shape[0]), e)
    written = {k: v for k, v in record._asdict().items() if v is not None}
    return hist._replace(
        **{k: getattr(hist, k).at[at].set(v, mode="drop") for k, v in written.items()}
    )


def _validate(params, problem: Problem):
    """``(m_val, J_val, accuracy)``: the unpenalised validation objective, minimised and in
    the loss's direction, and the accuracy of the predicted labels."""
    val = Objective(problem.objective.loss)
    m = val.value(params, problem.X_val, problem.T_val)
    pred = predict_labels(val.loss, logits(params, problem.X_val))
    hits = (pred == target_labels(problem.T_val)).astype(problem.X_val.dtype)
    return m, val.reported(m), jnp.mean(hits)


def _grad_norm(st: Step, problem: Problem, s: Settings):
    if st.optimality is not None:
        return st.optimality
    if st.grad is None and not s.grad_tol:
        return jnp.asarray(jnp.nan, problem.X.dtype)
    g = st.grad
    if g is None:  # a mini-batch epoch: the full-batch gradient, only for the stop
        g = problem.objective.smooth_value_and_grad(st.params, problem.X, problem.T)[1]
    return problem.objective.gradient_mapping_norm(st.params, g, st.learning_rate, s.grad_norm)


ROUNDING_EPOCHS = 5  # flat epochs in a row, without a smaller gradient, that end a run


def _stops(loop: Loop, st: Step, finite, gnorm, s: Settings, hyper: Hyper):
    """The stop status after an epoch, and the rounding stop's counters ``(flat, best)``."""
    status = jnp.where(finite, st.status, DIVERGED)
    change = jnp.abs(st.value - loop.value)
    stale = loop.stale
    if s.tol and s.plateau and not s.lr_plateau and s.patience is None:  # (else validation)
        _, stale = plateau_count(loop.best_value, stale, st.value, hyper.tol)
        status = jnp.where((status == RUNNING) & (stale >= s.plateau), OBJECTIVE_TOL, status)
    elif s.tol and not s.plateau:  # consecutive epochs, relative
        small = change < hyper.tol * jnp.maximum(1.0, jnp.abs(loop.value))
        status = jnp.where((status == RUNNING) & st.accepted & small, OBJECTIVE_TOL, status)
    improved = gnorm < loop.best_grad
    best = jnp.where(improved, gnorm, loop.best_grad)
    flat = jnp.where(
        st.accepted & (change <= float_resolution(loop.value)) & ~improved, loop.flat_epochs + 1, 0
    )
    if (
        (s.tol or s.grad_tol or s.step_tol)
        and s.batch_size is None
        and "rounding" in solvers.for_optimizer(s.optimizer).stops
    ):
        # a tolerance below the float resolution could never be met: the objective's or the
        # parameters' (any tol; a larger one stops first), or the gradient's, judged against
        # its first norm
        unreachable = (
            True if s.tol or s.step_tol else hyper.grad_tol < float_resolution(loop.grad_scale)
        )
        stuck = unreachable & (flat >= ROUNDING_EPOCHS)
        status = jnp.where((status == RUNNING) & stuck, ROUNDING, status)
    if s.grad_tol:
        status = jnp.where((status == RUNNING) & (gnorm < hyper.grad_tol), GRADIENT_TOL, status)
    if s.step_tol:  # no parameter moved by more than step_tol of the largest (0 ≤ 0 too)
        moved = jnp.max(
            jnp.stack([jnp.max(jnp.abs(a - b)) for a, b in zip(st.params, loop.params)])
        )
        largest = jnp.max(jnp.stack([jnp.max(jnp.abs(a)) for a in st.params]))
        still = st.accepted & (moved <= hyper.step_tol * largest)
        status = jnp.where((status == RUNNING) & still, STEP_TOL, status)
    return status, flat, best, stale


def _epoch(solver: Solver, problem: Problem, hyper: Hyper, s: Settings, loop: Loop) -> Loop:
    """One epoch of ``loop``, its numbers written into the history at ``loop.epoch``."""
    new, record = _epoch_record(solver, problem, hyper, s, loop)
    return new._replace(history=_record(loop.history, loop.epoch, record))


def _epoch_record(solver, problem: Problem, hyper: Hyper, s: Settings, loop: Loop):
    """One epoch of ``loop``: the next state (its history as it was, or ``None``) and the
    epoch's numbers for the history, a ``History`` of scalars in ``X``'s type (the
    validation's ``None`` without validation data: its history stays NaN)."""
    if isinstance(loop.key, RowOrder):  # the given permutation, applied once more
        key = sub = loop.key.next(hyper.order)
    elif draws(s):
        key, sub = jax.random.split(loop.key)
    else:  # a deterministic epoch: the key is passed on untouched
        key = sub = loop.key
    st = solver.step(loop.params, loop.solver, loop.value, sub)
    finite = jnp.isfinite(st.value) & all_finite(st.params)
    # Divergence: keep the last finite parameters and say so.
    params = select(finite, st.params, loop.params)
    value = jnp.where(finite, st.value, loop.value)
    gnorm = _grad_norm(st, problem, s)
    reported = problem.objective.reported(value)
    record = History(reported, None, None, st.learning_rate, gnorm, st.inner_steps)
    status, flat, best_grad, stale = _stops(loop, st, finite, gnorm, s, hyper)
    best_params, best_val, bad = loop.best_params, loop.best_val, loop.bad_epochs
    if problem.X_val is not None:
        m_val, J_val, acc = _validate(params, problem)
        record = record._replace(val_objective=J_val, val_accuracy=acc)
        if s.patience is not None and s.plateau is not None and s.tol:
            # scikit-learn's early stopping: the validation accuracy must rise by more than
            # tol within patience epochs; the last parameters are kept
            best_val, bad = plateau_count(best_val, bad, -acc, hyper.tol)
            stop = (status == RUNNING) & (bad >= s.patience)
            status = jnp.where(stop, EARLY_STOPPING, status)
        else:
            better = m_val < best_val
            best_params = select(better, params, best_params)
            best_val = jnp.where(better, m_val, best_val)
            bad = jnp.where(better, 0, bad + 1)
            if s.patience is not None:
                stop = (status == RUNNING) & (bad >= s.patience)
                status = jnp.where(stop, EARLY_STOPPING, status)
                params = select(stop, best_params, params)
    epoch = loop.epoch + 1
    if s.callback:
        stop = calling(loop.epoch, params, problem.objective.reported(value))
        status = jnp.where((status == RUNNING) & stop, CALLBACK, status)
    status = jnp.where((status == RUNNING) & (epoch >= epoch_limit(hyper, s)), MAX_EPOCHS, status)
    grad_scale = jnp.where(jnp.isnan(loop.grad_scale), gnorm, loop.grad_scale)
    new = Loop(
        epoch,
        params,
        st.state,
        key,
        value,
        status,
        best_params,
        best_val,
        bad,
        loop.history,
        flat,
        best_grad,
        grad_scale,
        jnp.minimum(loop.best_value, value),
        stale,
    )
    return new, jax.tree.map(lambda v: jnp.asarray(v, problem.X.dtype), record)


# The run's per-epoch callback (RunControl.callback). The compiled program calls this one
# trampoline, which calls whatever callback the current run set: runs with different
# callbacks share one program.
_callback: dict = {"fn": None, "error": None}


def _host_callback(epoch, params, objective):
    """The callback's answer; an exception it raises stops the run and is raised again by
    ``with_callback`` when the run has ended (not wrapped in XLA's runtime error)."""
    fn = _callback["fn"]
    if fn is None or _callback["error"] is not None:
        return np.asarray(_callback["error"] is not None)
    try:
        stop = _stop_flag(fn(int(epoch), jax.tree.map(np.asarray, params), float(objective)))
    except Exception as error:  # noqa: BLE001 — any error of the user's code, raised later
        _callback["error"], stop = error, True
    return np.asarray(stop)


def _stop_flag(answer) -> bool:
    """The callback's answer as a stop flag: ``None`` (no answer) continues, and anything
    with one truth value says; an answer of several values is named."""
    try:
        return bool(answer)
    except (ValueError, TypeError):
        shape = getattr(answer, "shape", None)
        raise TypeError(
            "callback: must return a stop flag (True, False or None), got "
            f"{type(answer).__name__}{'' if shape is None else f' of shape {shape}'}"
        ) from None


def calling(epoch, params, objective):
    """``callback(epoch, params, objective) → stop``, on the host, in order (the run's
    callback, set by ``with_callback``)."""
    return jax.experimental.io_callback(
        _host_callback, jax.ShapeDtypeStruct((), bool), epoch, params, objective, ordered=True
    )


class with_callback:
    """``with with_callback(fn):`` runs call ``fn`` after each epoch (``fn`` may be ``None``)."""

    def __init__(self, fn):
        self.fn = fn

    def __enter__(self):
        self.previous = _callback["fn"], _callback["error"]
        _callback["fn"], _callback["error"] = self.fn, None
        return self

    def __exit__(self, *exc):
        if self.fn is not None:
            jax.effects_barrier()  # every callback of the run has returned
        error = _callback["error"]
        _callback["fn"], _callback["error"] = self.previous
        if error is not None and exc[0] is None:
            raise error
        return False


def epoch_limit(hyper: Hyper, s: Settings):
    """The run's epoch limit: ``hyper.epochs`` (traced), or the history's length if unset."""
    return s.epochs if hyper.epochs is None else hyper.epochs


def _start(solver: Solver, problem: Problem, hyper: Hyper, s: Settings) -> Loop:
    if s.init == "uniform" or draws(s):
        key_init, key_loop = jax.random.split(hyper.key)
    else:  # nothing drawn, at the start or in the epochs
        key_init = key_loop = hyper.key
    if hyper.order is not None:  # epochs visit rows in orders made from the permutation
        key_loop = RowOrder(jnp.arange(hyper.order.shape[-1], dtype=hyper.order.dtype))
    dtype = problem.X.dtype
    if s.init == "given":  # a warm start: the solver's own state starts afresh
        params = jax.tree.map(lambda a: jnp.asarray(a, dtype), hyper.init)
    else:
        params = init_params(key_init, problem.X.shape[1], s.n_outputs, s.init, dtype)
    params = problem.objective.mask_bias(params)
    state, value = solver.init(params)
    nan = jnp.full((s.epochs,), jnp.nan, dtype)
    status = jnp.where(epoch_limit(hyper, s) > 0, RUNNING, MAX_EPOCHS)  # 0: the start itself
    if solvers.for_optimizer(s.optimizer).start_reads_every_value(s.batch_size):
        # a full-batch start reads every row: a NaN or an infinity in X (or scores that
        # overflow) ends the run here, and the caller names the cell (jaxlin.training.fit)
        status = jnp.where(jnp.isfinite(value), status, DIVERGED)
    if s.grad_tol and solver.start_grad is not None and not problem.objective.has_l1:
        # a start that meets the gradient stop is the answer, as scikit-learn's lbfgs and
        # newton-cg judge it before their first iteration (a warm start at an optimum)
        gnorm = problem.objective.gradient_mapping_norm(
            params, solver.start_grad(state), 1.0, s.grad_norm
        )
        status = jnp.where((status == RUNNING) & (gnorm < hyper.grad_tol), GRADIENT_TOL, status)
    return Loop(
        jnp.asarray(0),
        params,
        state,
        key_loop,
        value,
        status,
        None if problem.X_val is None else params,  # no copy of W carried without validation
        jnp.asarray(jnp.inf, dtype),
        jnp.asarray(0),
        History(nan, nan, nan, nan, nan, nan),
        jnp.asarray(0),
        jnp.asarray(jnp.inf, dtype),
        jnp.asarray(jnp.nan, dtype),
        jnp.asarray(jnp.inf, dtype),
        jnp.asarray(0),
    )


def draws(s: Settings) -> bool:
    """Whether the run's epochs draw from its key (``SolverRecord.draws``)."""
    return solvers.for_optimizer(s.optimizer).draws(s.batch_size, s.shuffle)


def _solver(problem: Problem, hyper: Hyper, s: Settings) -> Solver:
    return solvers.for_optimizer(s.optimizer).make(prepared(problem, s), hyper, s)


def prepared(problem: Problem, s: Settings) -> Problem:
    """``problem`` with what its solver derives from ``X`` (``SolverRecord.prepare``) in
    ``Problem.derived``: made here unless a run made it already, once, outside its loop."""
    prepare = solvers.for_optimizer(s.optimizer).prepare
    if prepare is None or problem.derived is not None:
        return problem
    return problem._replace(derived=prepare(problem, s))


def run(
    problem: Problem, hyper: Hyper, s: Settings, state: Optional[Loop] = None, until=None
) -> Loop:
    """Run the epochs in a ``lax.while_loop``: from the first state, or on from ``state``.

    The loop stops when the status leaves ``RUNNING`` or after epoch ``until`` (default:
    ``hyper.epochs``). Running to ``until = e₁``, then on from that state, gives exactly the run
    made in one go. Returns the loop state; ``trained`` turns it into a ``Trained``.
    """
    solver = _solver(problem, hyper, s)  # outside the loop: what it derives, once
    loop = _start(solver, problem, hyper, s) if state is None else state
    until = epoch_limit(hyper, s) if until is None else until
    return jax.lax.while_loop(
        lambda lp: (lp.status == RUNNING) & (lp.epoch < until),
        lambda lp: _epoch(solver, problem, hyper, s, lp),
        loop,
    )


def run_lockstep(problem: Problem, hyper: Hyper, s: Settings, axes, state=None, until=None):
    """Many models with one shared PRNG key, advanced epoch by epoch in lock step.

    ``vmap`` of ``run`` would batch the while loop's predicate, which forces every
    carried value to be batched — the key too — so each model would draw and gather its
    own mini-batches. Here the loop runs while any model runs, and a model that has stopped
    keeps its state. A run that draws (``draws``) ``vmap``s the epoch body with the key
    left unbatched (one permutation, one gather per batch for all models); a deterministic
    run takes each model's epoch in turn (``_in_turn``). Each model's result equals its run
    alone: while it runs, its epoch ``e`` uses the key every model uses at epoch ``e``.

    ``axes = (problem_axes, hyper_axes)`` as for ``jax.vmap``; ``hyper_axes.key`` is ``None``,
    or mapped for a run that draws nothing (each model's key then seeds its start alone).
    With a row order per model (``hyper_axes.order`` mapped) each model carries its own
    (``RowOrder``) and gathers its own rows; the loop is still one, in lock step.
    """
    problem_axes, hyper_axes = axes
    if problem_axes.X is None:  # derived from the models' shared X: no model axis
        problem = prepared(problem, s)
        problem_axes = problem_axes._replace(derived=None)

    def init_one(problem, hyper):
        return _start(_solver(problem, hyper, s), problem, hyper, s)

    def body_one(problem, hyper, loop, s=s):  # the epoch and its numbers, no history:
        # written below for every model at once, in place (carried through each model's
        # epoch, every model's whole history, M × epochs numbers, was rewritten each epoch)
        return _epoch_record(_solver(problem, hyper, s), problem, hyper, s, loop)

    own_orders = hyper_axes.order is not None  # each model its row order (Hyper.order)
    if state is None:
        state = jax.vmap(init_one, in_axes=(problem_axes, hyper_axes))(problem, hyper)
        if not own_orders:  # the key (or the one row order) is identical for every model
            state = state._replace(key=jax.tree.map(lambda a: a[0], state.key))
    loop_axes = jax.tree.map(lambda _: 0, state._replace(key=None, history=None))
    loop_axes = loop_axes._replace(key=0 if own_orders else None)
    record_axes = jax.tree.map(lambda _: 0, _unvalidated(state.history, problem))
    until = epoch_limit(hyper, s) if until is None else until

    def running(lp):
        return (lp.status == RUNNING) & (lp.epoch < until)

    in_turn = not (draws(s) or isinstance(state.key, RowOrder))  # (own orders are RowOrders)
    if not in_turn:  # one draw (one gather) for every model
        body_many = over_models(
            lambda many, p, h, lp: body_one(p, h, lp, many),
            s,
            in_axes=(problem_axes, hyper_axes, loop_axes),
            out_axes=(loop_axes, record_axes),
        )
    else:  # deterministic epochs: each model's in turn

        def skipped(p, h, lp):  # a stopped model: its state, and numbers nobody writes
            nan = jnp.asarray(jnp.nan, p.X.dtype)
            return lp, _unvalidated(History(*(nan,) * len(History._fields)), p)

        body_many = _in_turn(
            lambda p, h, lp: jax.lax.cond(running(lp), body_one, skipped, p, h, lp),
            (problem_axes, hyper_axes, loop_axes),
        )

    def body(lp):
        keep = running(lp)
        new, record = body_many(problem, hyper, lp._replace(history=None))
        at = jnp.where(keep, lp.epoch, lp.history.objective.shape[-1])  # (a stopped model's:
        history = _record(lp.history, at, record)  # beyond the end, not kept)
        if in_turn:  # a stopped model's epoch was skipped; the key is untouched
            return new._replace(key=lp.key, history=history)

        def pick(a, b):
            return jnp.where(keep.reshape(keep.shape + (1,) * (a.ndim - 1)), a, b)

        merged = jax.tree.map(pick, new._replace(key=None), lp._replace(key=None, history=None))
        return merged._replace(key=new.key, history=history)

    return jax.lax.while_loop(lambda lp: jnp.any(running(lp)), body, state)


def _unvalidated(record: History, problem: Problem) -> History:
    """``record`` with the validation's fields ``None`` where there is no validation data
    (the fields ``_epoch_record`` leaves out)."""
    if problem.X_val is not None:
        return record
    return record._replace(val_objective=None, val_accuracy=None)


def over_models(fn, s: Settings, **axes):
    """``jax.vmap`` (with ``axes``) of ``args ↦ fn(settings, *args)`` over many models: the
    settings say that the epoch is one of many (``Settings.models_axis``) and the models'
    axis has that name, so a solver's rare branch stays a branch (``records.rare_cond``)."""
    many = s._replace(models_axis=MODELS_AXIS)
    return jax.vmap(lambda *args: fn(many, *args), axis_name=MODELS_AXIS, **axes)


def _in_turn(fn, in_axes):
    """``jax.vmap(fn, in_axes)`` (axes ``0`` or ``None``; the outputs on axis 0) computed as
    a loop over the models (``lax.map``), the unmapped arguments shared.

    The full-batch solvers branch on their own numbers (line searches, trust regions,
    conjugate gradients): under ``vmap`` each ``lax.cond`` on a per-model predicate runs both
    branches and broadcasts every operand it reads — ``X`` included — to one copy per model.
    In turn, each model runs its own epoch with the operations it runs alone, and a
    model that has stopped costs nothing (``docs/training.md``, many models).
    """

    def mapped(*args):
        axes = jax.tree.map(
            lambda a, x: jax.tree.map(lambda _: a, x), in_axes, args, is_leaf=lambda a: a is None
        )
        leaves, tree = jax.tree.flatten(args)
        flags = tree.flatten_up_to(axes)
        per_model = [x for x, a in zip(leaves, flags) if a is not None]

        def one(xs):
            it = iter(xs)
            own = [next(it) if a is not None else x for x, a in zip(leaves, flags)]
            return fn(*tree.unflatten(own))

        return jax.lax.map(one, per_model)

    return mapped


def trained(loop: Loop) -> Trained:
    """The result carried by a finished (or paused) loop state: with iterate averaging
    (a solver state's ``Average``), the mean of the iterates, and the last one beside it."""
    average = getattr(loop.solver, "average", None)
    if average is None:
        return Trained(loop.params, loop.history, loop.epoch, loop.status)
    return Trained(average.result(loop.params), loop.history, loop.epoch, loop.status, loop.params)
