"""The solvers: whole training runs as one compiled program (SPEC §4).

Each solver is a factory ``solver(X, T, sample_weight, X_val, T_val, hyper, cfg)`` →
``(init, body)``: the first loop state and one epoch. :func:`run` drives them in a
``lax.while_loop``; it is jit-compiled with the static :class:`Config` and ``vmap``-able
over ``hyper`` (learning rate, penalty strengths, PRNG key) and ``sample_weight``.

* gradient descent — epochs are a ``lax.while_loop`` (it may stop early); with a
  ``batch_size`` each epoch is an inner ``lax.scan`` over a fresh permutation of the
  training rows. Batch size ``N`` is batch GD, 1 is SGD, anything else mini-batch.
  **Last partial batch:** when ``B`` does not divide ``N`` the epoch ends with one
  smaller batch of the ``N mod B`` remaining rows, averaged over those rows only
  (padded to ``B`` with zero weights so every step has the same shape). With sample
  weights a batch's weighted sum is divided by its row count times the mean weight.
  Updates are the hand-derived gradient fed to an optax transformation; L1 is
  applied by a proximal soft-threshold step after each update (exact zeros).
* L-BFGS — optax's ``lbfgs`` with its zoom line search on the full batch, run on
  :func:`jaxlin.objective.hand_objective` so the line search uses the hand gradient.
* Rosenblatt's perceptron — the learning algorithm of seed 001, in random order.

Stopping, decided inside the loop: the epoch limit; ``|J_t − J_(t−1)| < tol``;
``‖G‖ < grad_tol`` where ``G`` is the gradient (the proximal-gradient mapping
``(θ − prox(θ − ηg))/η`` with L1); validation patience; and divergence (a non-finite
objective: the run stops and keeps the last finite parameters).
"""
from __future__ import annotations

from functools import partial
from typing import Any, NamedTuple, Optional

import jax
import jax.numpy as jnp
import optax

from jaxlin import penalties
from jaxlin.decision import predict_labels, target_labels
from jaxlin.linear import Params, add_bias, init_params, logits
from jaxlin.losses import Loss
from jaxlin.objective import hand_objective, objective, value_and_grad
from jaxlin.penalties import Penalty

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
BOLD_DRIVER_GROW, BOLD_DRIVER_SHRINK = 1.05, 0.5


class Hyper(NamedTuple):
    """Per-model numbers: what ``vmap`` maps over when many models train at once."""

    learning_rate: Any
    l1: Any
    l2: Any
    key: Any


class Config(NamedTuple):
    """Static settings (hashable; one compilation per distinct config and shapes)."""

    loss: Loss
    n_outputs: int
    optimizer: Any = "gd"  # name, optax GradientTransformation, or callable lr -> transformation
    epochs: int = 100
    batch_size: Optional[int] = None  # None: the full batch
    tol: Optional[float] = None
    grad_tol: Optional[float] = None
    adaptive_lr: bool = False
    patience: Optional[int] = None
    has_validation: bool = False
    init: str = "zeros"
    memory_size: int = 10
    use_prox: bool = True  # False when every l1 is 0: the soft-threshold step is skipped
    fit_intercept: bool = True  # False: b stays 0 (its gradient is dropped)
    n_rows: Optional[int] = None  # real rows; the rest of X is zero-weight padding (sharding)


class History(NamedTuple):
    """Per-epoch arrays of length ``epochs``; entries after the last epoch run are NaN.

    ``objective[e]`` is ``J`` after epoch ``e`` (training data, with the penalty; for
    mini-batches, the mean of the epoch's mini-batch objectives);
    ``val_objective`` the mean validation loss (no penalty); ``val_accuracy`` its accuracy.
    """

    objective: Any
    val_objective: Any
    val_accuracy: Any
    learning_rate: Any
    grad_norm: Any


class Trained(NamedTuple):
    params: Params
    history: History
    epochs: Any  # number of epochs run
    status: Any  # a key of STOP_REASONS


OPTIMIZERS = {
    "gd": optax.sgd,
    "sgd": optax.sgd,
    "momentum": partial(optax.sgd, momentum=0.9),
    "nesterov": partial(optax.sgd, momentum=0.9, nesterov=True),
    "adam": optax.adam,
    "adagrad": optax.adagrad,
    "rmsprop": optax.rmsprop,
}


def make_transformation(optimizer, learning_rate):
    """An optax transformation; named ones carry the learning rate in their state.

    ``optax.inject_hyperparams`` keeps the rate as an array in the optimiser state,
    so it can be a ``vmap``-ped argument and the bold driver can change it.
    """
    if isinstance(optimizer, str):
        return optax.inject_hyperparams(OPTIMIZERS[optimizer])(learning_rate=learning_rate)
    if isinstance(optimizer, optax.GradientTransformation):
        return optimizer
    return optimizer(learning_rate)


def _current_lr(opt_state, default):
    hp = getattr(opt_state, "hyperparams", None)
    return hp["learning_rate"] if hp is not None else default


def _set_lr(opt_state, lr):
    return opt_state._replace(hyperparams={**opt_state.hyperparams, "learning_rate": lr})


def _norm(tree):
    return jnp.sqrt(sum(jnp.sum(x * x) for x in jax.tree.leaves(tree)))


def _all_finite(tree):
    return jnp.all(jnp.stack([jnp.all(jnp.isfinite(x)) for x in jax.tree.leaves(tree)]))


def _select(pred, a, b):
    return jax.tree.map(lambda x, y: jnp.where(pred, x, y), a, b)


def _no_bias(params: Params) -> Params:
    return params._replace(b=jnp.zeros_like(params.b))


def _init(key, d, cfg: Config, dtype, n_outputs=None):
    p = init_params(key, d, cfg.n_outputs if n_outputs is None else n_outputs, cfg.init, dtype)
    return p if cfg.fit_intercept else _no_bias(p)


def _nan_history(epochs, dtype):
    nan = jnp.full((epochs,), jnp.nan, dtype)
    return History(nan, nan, nan, nan, nan)


def _record(hist: History, e, **values) -> History:
    return hist._replace(**{k: getattr(hist, k).at[e].set(v) for k, v in values.items()})


class _Parts(NamedTuple):
    """The objective as a solver sees it: minimised value and smooth-part gradient."""

    m: Any  # minimised objective: J, or −J for a maximised loss; includes L1
    g: Params  # gradient of the smooth part of m (L1 is left to the prox step)


def _objective_parts(params, X, T, w, loss: Loss, pen: Penalty, with_grad=True):
    sign = -1.0 if loss.maximise else 1.0
    l1_term = pen.l1 * jnp.sum(jnp.abs(params.W))
    if not with_grad:
        J = objective(params, X, T, loss, pen._replace(l1=0.0), w)
        return _Parts(sign * J + l1_term, None)
    J, g = value_and_grad(params, X, T, loss, pen, w, smooth_only=True)
    return _Parts(sign * J + l1_term, jax.tree.map(lambda x: sign * x, g))


def _prox_grad_norm(params, g, lr, l1):
    """``‖(θ − prox(θ − ηg))/η‖``: the gradient norm, generalised to the L1 prox step."""
    W_step = params.W - lr * g.W
    gW = (params.W - penalties.soft_threshold(W_step, lr * l1)) / lr
    return _norm(Params(gW, g.b))


def _validate(params, X_val, T_val, loss):
    Z = logits(params, X_val)
    val_J = objective(params, X_val, T_val, loss)
    acc = jnp.mean(predict_labels(loss, Z) == target_labels(T_val))
    return val_J, acc


class _GDState(NamedTuple):
    epoch: Any
    params: Params
    opt_state: Any
    key: Any
    parts: _Parts
    status: Any
    best_params: Params
    best_val: Any
    bad_epochs: Any
    history: History


def gradient_descent(X, T, w, X_val, T_val, hyper: Hyper, cfg: Config):
    """Batch, stochastic or mini-batch gradient descent with any optax transformation.

    Returns ``(init, body)``: the loop's first state and one epoch (see :func:`run`).
    """
    loss, dtype = cfg.loss, X.dtype
    d = X.shape[1]
    n = cfg.n_rows or X.shape[0]  # padding rows (weight 0) are never drawn into a batch
    pen = Penalty(jnp.asarray(hyper.l1, dtype), jnp.asarray(hyper.l2, dtype))
    lr0 = jnp.asarray(hyper.learning_rate, dtype)
    tx = make_transformation(cfg.optimizer, lr0)
    sign = -1.0 if loss.maximise else 1.0
    w_full = jnp.ones((X.shape[0],), dtype) if w is None else w.astype(dtype)
    full_batch = cfg.batch_size is None  # fit maps B >= N to None; a short chunk stays mini-batch

    def parts(params, with_grad=True):
        p = _objective_parts(params, X, T, w, loss, pen, with_grad)
        return p if cfg.fit_intercept or p.g is None else p._replace(g=_no_bias(p.g))

    def apply(params, g, opt_state):
        lr = _current_lr(opt_state, lr0)
        updates, opt_state = tx.update(g, opt_state, params)
        new = optax.apply_updates(params, updates)
        if cfg.use_prox:
            new = new._replace(W=penalties.prox(pen, new.W, lr))
        return new, opt_state

    def full_batch_epoch(s: _GDState):
        new, opt_state = apply(s.params, s.parts.g, s.opt_state)
        new_parts = parts(new)
        if not cfg.adaptive_lr:
            return new, opt_state, new_parts, jnp.isfinite(new_parts.m)
        # Bold driver: accept and grow η if J fell, else reject the step and halve η.
        lr = _current_lr(s.opt_state, lr0)
        accept = jnp.isfinite(new_parts.m) & (new_parts.m <= s.parts.m)
        opt_state = _set_lr(_select(accept, opt_state, s.opt_state),
                            jnp.where(accept, lr * BOLD_DRIVER_GROW, lr * BOLD_DRIVER_SHRINK))
        return (_select(accept, new, s.params), opt_state, _select(accept, new_parts, s.parts),
                jnp.asarray(True))

    def mini_batch_epoch(s: _GDState, key):
        b = cfg.batch_size
        n_batches = -(-n // b)
        perm = jax.random.permutation(key, n)
        pad = n_batches * b - n
        idx = jnp.concatenate([perm, jnp.zeros((pad,), perm.dtype)]).reshape(n_batches, b)
        mask = jnp.concatenate([jnp.ones((n,), dtype), jnp.zeros((pad,), dtype)])
        mask = mask.reshape(n_batches, b)
        unweighted = w is None and pad == 0  # every batch full: a plain mean, no weights
        mean_w = jnp.sum(w_full) / n

        def step(carry, batch):
            params, opt_state = carry
            i, m = batch
            bw = None if unweighted else m * w_full[i]
            # A weighted batch divides by (its rows × the mean weight), not by its own weight
            # sum: its gradient is then an unbiased estimate of the full weighted gradient.
            norm = None if unweighted else jnp.sum(m) * mean_w
            J, g = value_and_grad(params, X[i], T[i], loss, pen, bw, smooth_only=True,
                                  normalizer=norm)
            g = jax.tree.map(lambda x: sign * x, g)
            if not cfg.fit_intercept:
                g = _no_bias(g)
            return apply(params, g, opt_state), (J, jnp.asarray(b, dtype) if bw is None
                                                 else jnp.sum(m))

        (new, opt_state), (J_b, w_b) = jax.lax.scan(step, (s.params, s.opt_state), (idx, mask))
        # The epoch's objective is the running mean of its mini-batch objectives (as
        # scikit-learn's SGDClassifier and Keras report it): no extra pass over X. Only a
        # gradient-norm stop needs the full-batch gradient at the epoch's end.
        l1_term = pen.l1 * jnp.sum(jnp.abs(new.W))
        m_epoch = sign * jnp.sum(J_b * w_b) / jnp.sum(w_b) + l1_term
        if cfg.grad_tol is not None:
            new_parts = parts(new)._replace(m=m_epoch)
        else:
            new_parts = _Parts(m_epoch, None)
        return new, opt_state, new_parts, jnp.isfinite(new_parts.m) & _all_finite(new)

    def body(s: _GDState) -> _GDState:
        key, sub = jax.random.split(s.key)
        if full_batch:
            new, opt_state, new_parts, finite = full_batch_epoch(s)
        else:
            new, opt_state, new_parts, finite = mini_batch_epoch(s, sub)
        # Divergence: keep the last finite parameters and say so.
        status = jnp.where(finite, RUNNING, DIVERGED)
        new = _select(finite, new, s.params)
        new_parts = _select(finite, new_parts, s.parts)
        lr = _current_lr(opt_state, lr0)
        gnorm = (_prox_grad_norm(new, new_parts.g, lr, pen.l1) if new_parts.g is not None
                 else jnp.asarray(jnp.nan, dtype))
        hist = _record(s.history, s.epoch, objective=sign * new_parts.m, learning_rate=lr,
                       grad_norm=gnorm)
        moved = new_parts.m != s.parts.m  # a rejected bold-driver step is not convergence
        if cfg.tol is not None:
            status = jnp.where((status == RUNNING) & moved
                               & (jnp.abs(new_parts.m - s.parts.m) < cfg.tol), OBJECTIVE_TOL, status)
        if cfg.grad_tol is not None:
            status = jnp.where((status == RUNNING) & (gnorm < cfg.grad_tol), GRADIENT_TOL, status)
        best_params, best_val, bad = s.best_params, s.best_val, s.bad_epochs
        if cfg.has_validation:
            val_J, acc = _validate(new, X_val, T_val, loss)
            hist = _record(hist, s.epoch, val_objective=val_J, val_accuracy=acc)
            better = val_J < best_val
            best_params = _select(better, new, best_params)
            best_val = jnp.where(better, val_J, best_val)
            bad = jnp.where(better, 0, bad + 1)
            if cfg.patience is not None:
                stop = (status == RUNNING) & (bad >= cfg.patience)
                status = jnp.where(stop, EARLY_STOPPING, status)
                new = _select(stop, best_params, new)
        epoch = s.epoch + 1
        status = jnp.where((status == RUNNING) & (epoch >= cfg.epochs), MAX_EPOCHS, status)
        return _GDState(epoch, new, opt_state, key, new_parts, status, best_params, best_val,
                        bad, hist)

    def init():
        key_init, key_loop = jax.random.split(hyper.key)
        params0 = _init(key_init, d, cfg, dtype)
        if full_batch or cfg.grad_tol is not None:
            parts0 = parts(params0)
        else:  # mini-batch epochs report their running mean: no full pass needed up front
            parts0 = _Parts(jnp.asarray(jnp.inf, dtype), None)
        return _GDState(jnp.asarray(0), params0, tx.init(params0), key_loop, parts0,
                        jnp.asarray(RUNNING), params0, jnp.asarray(jnp.inf, dtype),
                        jnp.asarray(0), _nan_history(cfg.epochs, dtype))

    return init, body


class _LBFGSState(NamedTuple):
    epoch: Any
    params: Params
    opt_state: Any
    value: Any
    status: Any
    history: History


def lbfgs(X, T, w, X_val, T_val, hyper: Hyper, cfg: Config):
    """Full-batch L-BFGS (optax, zoom line search) on the hand-derived gradient.

    One epoch = one L-BFGS iteration (one full-batch gradient plus line-search
    evaluations). Smooth objectives only: L1 is refused by :func:`jaxlin.fit`.
    """
    loss, dtype = cfg.loss, X.dtype
    n, d = X.shape
    pen = Penalty(0.0, jnp.asarray(hyper.l2, dtype))
    sign = -1.0 if loss.maximise else 1.0
    J = hand_objective(X, T, loss, pen, w)

    def f(params):
        # without an intercept b never reaches J, so its gradient is 0 and it stays 0
        return sign * J(params if cfg.fit_intercept else _no_bias(params))

    tx = optax.lbfgs(memory_size=cfg.memory_size,
                     linesearch=optax.scale_by_zoom_linesearch(max_linesearch_steps=30))
    value_and_grad_fn = optax.value_and_grad_from_state(f)

    def body(s: _LBFGSState) -> _LBFGSState:
        v, g = value_and_grad_fn(s.params, state=s.opt_state)
        updates, opt_state = tx.update(g, s.opt_state, s.params, value=v, grad=g, value_fn=f)
        new = optax.apply_updates(s.params, updates)
        new_v = optax.tree.get(opt_state, "value")
        new_g = optax.tree.get(opt_state, "grad")
        finite = jnp.isfinite(new_v) & _all_finite(new)
        new = _select(finite, new, s.params)
        gnorm = _norm(new_g)
        hist = _record(s.history, s.epoch, objective=sign * jnp.where(finite, new_v, v),
                       grad_norm=gnorm, learning_rate=optax.tree.get(opt_state, "learning_rate"))
        status = jnp.where(finite, RUNNING, DIVERGED)
        if cfg.has_validation:
            val_J, acc = _validate(new, X_val, T_val, loss)
            hist = _record(hist, s.epoch, val_objective=val_J, val_accuracy=acc)
        if cfg.grad_tol is not None:
            status = jnp.where((status == RUNNING) & (gnorm < cfg.grad_tol), GRADIENT_TOL, status)
        if cfg.tol is not None:
            small = jnp.abs(new_v - v) <= cfg.tol * jnp.maximum(1.0, jnp.abs(v))
            status = jnp.where((status == RUNNING) & small, OBJECTIVE_TOL, status)
        epoch = s.epoch + 1
        status = jnp.where((status == RUNNING) & (epoch >= cfg.epochs), MAX_EPOCHS, status)
        return _LBFGSState(epoch, new, opt_state, new_v, status, hist)

    def init():
        params0 = _init(hyper.key, d, cfg, dtype)
        return _LBFGSState(jnp.asarray(0), params0, tx.init(params0), f(params0),
                           jnp.asarray(RUNNING), _nan_history(cfg.epochs, dtype))

    return init, body


class _PerceptronState(NamedTuple):
    epoch: Any
    params: Params
    key: Any
    status: Any
    history: History


def perceptron(X, T, w, X_val, T_val, hyper: Hyper, cfg: Config):
    """Rosenblatt's perceptron learning algorithm (seed 001), labels ``{0, 1}``.

    Each epoch visits the examples in a fresh random order: if ``y = 1`` and
    ``w·x < 0`` then ``w += x``; if ``y = 0`` and ``w·x ≥ 0`` then ``w −= x``
    (``x`` carries the bias feature). It has converged (status ``separated``) when
    every training example is classified correctly; on non-separable data it runs
    to the epoch limit. ``history.objective`` counts the misclassified examples.
    """
    dtype = X.dtype
    n, d = X.shape
    Xb = add_bias(X) if cfg.fit_intercept else jnp.concatenate(
        [X, jnp.zeros((n, 1), dtype)], axis=1)  # a zero bias feature: b never moves
    y = T[:, 0] > 0.5

    def errors(wv):
        s = Xb @ wv
        return jnp.sum(jnp.where(y, s < 0, s >= 0))

    def visit(wv, i):
        s = Xb[i] @ wv
        sign = jnp.where(y[i] & (s < 0), 1.0, jnp.where(~y[i] & (s >= 0), -1.0, 0.0))
        return wv + sign.astype(dtype) * Xb[i], None

    def body(s: _PerceptronState) -> _PerceptronState:
        key, sub = jax.random.split(s.key)
        w0 = jnp.concatenate([s.params.W[:, 0], s.params.b])
        wv, _ = jax.lax.scan(visit, w0, jax.random.permutation(sub, n))
        n_err = errors(wv)
        hist = _record(s.history, s.epoch, objective=n_err.astype(dtype))
        epoch = s.epoch + 1
        status = jnp.where(n_err == 0, SEPARATED,
                           jnp.where(epoch >= cfg.epochs, MAX_EPOCHS, RUNNING))
        return _PerceptronState(epoch, Params(wv[:-1, None], wv[-1:]), key, status, hist)

    def init():
        return _PerceptronState(jnp.asarray(0), _init(hyper.key, d, cfg, dtype, 1),
                                hyper.key, jnp.asarray(RUNNING), _nan_history(cfg.epochs, dtype))

    return init, body


SOLVERS = {"gradient": gradient_descent, "lbfgs": lbfgs, "perceptron": perceptron}
SOLVER_STATES = {"gradient": _GDState, "lbfgs": _LBFGSState, "perceptron": _PerceptronState}


def run(solver: str, X, T, w, X_val, T_val, hyper: Hyper, cfg: Config, state=None, until=None):
    """Run a solver's epochs in a ``lax.while_loop``: from its first state, or from ``state``.

    The loop stops when the status leaves ``RUNNING`` or after epoch ``until`` (default:
    ``cfg.epochs``). Running to ``until = e₁``, then on from that state, gives exactly the
    run made in one go: that is how a progress bar updates between chunks of epochs.
    Returns the loop state; :func:`trained` turns it into a :class:`Trained`.
    """
    init, body = SOLVERS[solver](X, T, w, X_val, T_val, hyper, cfg)
    s = init() if state is None else state
    until = cfg.epochs if until is None else until
    return jax.lax.while_loop(lambda s: (s.status == RUNNING) & (s.epoch < until), body, s)


def run_lockstep(solver: str, X, T, w, X_val, T_val, hyper: Hyper, cfg: Config, axes,
                 state=None, until=None):
    """Many models with one shared PRNG key, advanced epoch by epoch in lock step.

    ``vmap`` of :func:`run` would batch the while loop's predicate, which forces every
    carried value to be batched — the key too — so each model would draw and gather its
    own mini-batches. Here the loop runs while any model runs, the epoch body is
    ``vmap``-ped with the key left unbatched (one permutation, one gather per batch for all
    models), and a model that has stopped keeps its state. Each model's result equals its
    run alone: while it runs, its epoch ``e`` uses the key every model uses at epoch ``e``.

    ``axes = (hyper_axes, w_axis, t_axis, tv_axis)`` as for ``jax.vmap``; the key axis in
    ``hyper_axes`` must be ``None``.
    """
    hyper_axes, w_axis, t_axis, tv_axis = axes

    def init_one(T, w, T_val, hyper):
        return SOLVERS[solver](X, T, w, X_val, T_val, hyper, cfg)[0]()

    def body_one(T, w, T_val, hyper, s):
        return SOLVERS[solver](X, T, w, X_val, T_val, hyper, cfg)[1](s)

    data_axes = (t_axis, w_axis, tv_axis, hyper_axes)
    shared = {f for f in ("key",) if f in SOLVER_STATES[solver]._fields}  # unbatched fields
    if state is None:
        state = jax.vmap(init_one, in_axes=data_axes)(T, w, T_val, hyper)
        # the key is identical for every model: unbatch it
        state = state._replace(**{f: getattr(state, f)[0] for f in shared})
    state_axes = state._replace(**{f: (None if f in shared else 0) for f in state._fields})
    body_many = jax.vmap(body_one, in_axes=(*data_axes, state_axes), out_axes=state_axes)
    until = cfg.epochs if until is None else until

    def running(s):
        return (s.status == RUNNING) & (s.epoch < until)

    def body(s):
        new = body_many(T, w, T_val, hyper, s)
        keep = running(s)

        def pick(a, b):
            return jnp.where(keep.reshape(keep.shape + (1,) * (a.ndim - 1)), a, b)
        none = {f: None for f in shared}
        merged = jax.tree.map(pick, new._replace(**none), s._replace(**none))
        return merged._replace(**{f: getattr(new, f) for f in shared})

    return jax.lax.while_loop(lambda s: jnp.any(running(s)), body, state)


def trained(state) -> Trained:
    """The result carried by a finished (or paused) loop state."""
    return Trained(state.params, state.history, state.epoch, state.status)
