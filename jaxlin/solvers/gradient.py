"""Gradient descent: batch, stochastic and mini-batch, with any optax transformation.

With a ``batch_size`` each epoch is a ``lax.scan`` over a fresh permutation of the training
rows; without one, a full-batch step. **Last partial batch:** when ``B`` does not divide
``N`` the epoch ends with one smaller batch of the ``N mod B`` remaining rows, averaged over
those rows only (padded to ``B`` with zero weights so every step has the same shape).
Updates are the hand-derived gradient fed to an optax transformation; L1 is applied by the
objective's proximal step after each update. The bold driver (``adaptive_lr``) accepts a
full-batch step that did not raise ``m`` (beyond its rounding) and grows ``η`` ×1.05, or
rejects it and halves ``η``.
"""

from __future__ import annotations

from functools import partial
from typing import Any, NamedTuple

from jaxlin._lazy import module
from jaxlin.records import (
    OBJECTIVE_TOL,
    RUNNING,
    Average,
    Hyper,
    Problem,
    RowOrder,
    Settings,
    Solver,
    SolverRecord,
    Step,
    first_value,
    held_grad,
    not_above,
    plateau_count,
    rare_cond,
    select,
)

jax, jnp, optax = module("jax"), module("jax.numpy"), module("optax")
linear, sparse = module("jaxlin.linear"), module("jaxlin.sparse")
backend = module("jaxlin.backend")

BOLD_DRIVER_GROW, BOLD_DRIVER_SHRINK = 1.05, 0.5

PLAIN = ("gd", "sgd")  # plain steps θ ← θ − η g: on sparse rows, updated lazily

# each name's optax transformation (a function of the learning rate)
TRANSFORMATIONS = {
    "gd": lambda: optax.sgd,
    "sgd": lambda: optax.sgd,
    "momentum": lambda: partial(optax.sgd, momentum=0.9),
    "nesterov": lambda: partial(optax.sgd, momentum=0.9, nesterov=True),
    "adam": lambda: optax.adam,
    "adagrad": lambda: optax.adagrad,
    "rmsprop": lambda: optax.rmsprop,
}


def make_transformation(optimizer, learning_rate):
    """An optax transformation; named ones carry the learning rate in their state.

    ``optax.inject_hyperparams`` keeps the rate as an array in the optimiser state,
    so it can be a ``vmap``-ped argument and the bold driver can change it.
    """
    if isinstance(optimizer, str):
        return optax.inject_hyperparams(TRANSFORMATIONS[optimizer]())(learning_rate=learning_rate)
    if isinstance(optimizer, optax.GradientTransformation):
        return optimizer
    try:
        made = optimizer(learning_rate)
    except TypeError as e:  # not a function of one argument, the learning rate
        raise TypeError(
            f"optimizer: a callable optimizer takes the learning rate and returns an optax "
            f"GradientTransformation; calling it with the learning rate failed: {e}"
        ) from e
    if not (hasattr(made, "init") and hasattr(made, "update")):
        raise TypeError(
            "optimizer: a callable optimizer takes the learning rate and returns an optax "
            f"GradientTransformation; it returned {type(made).__name__}"
        )
    return made


def takes_extra_args(optimizer, tx) -> bool:
    """Whether ``tx`` is a user's transformation that takes optax's extra arguments
    (``value``, ``grad``, ``value_fn``: ``optax.lbfgs``, ``polyak_sgd``,
    ``contrib.reduce_on_plateau``, and every ``optax.chain``, which passes them on to the
    parts that use them). The named optimisers take none: their programs stay as they are."""
    return not isinstance(optimizer, str) and isinstance(tx, optax.GradientTransformationExtraArgs)


def guarded(optimizer, method):
    """``tx.init`` or ``tx.update`` as it is for a named optimiser; for a user's
    transformation, wrapped in ``_named_failure``."""
    return method if isinstance(optimizer, str) else partial(_named_failure, method)


def _named_failure(method, *args, **kwargs):
    """``tx.init`` or ``tx.update`` (run when the program is traced); a user's
    transformation that cannot take jaxlin's parameters (a ``Params(W, b)`` pytree: a mask
    or labels of another structure, a wrapper that wants parameters of its own) is named,
    not left to fail inside optax."""
    try:
        return method(*args, **kwargs)
    except (TypeError, ValueError, AttributeError, KeyError) as e:
        raise TypeError(
            "optimizer: the optax transformation cannot take jaxlin's parameters, a "
            f"Params(W, b) pytree (W (d, K), b (K,)): {type(e).__name__}: {e}"
        ) from None


def _current_lr(opt_state, default):
    hp = getattr(opt_state, "hyperparams", None)
    return hp["learning_rate"] if hp is not None else default


def _set_lr(opt_state, lr):
    return opt_state._replace(hyperparams={**opt_state.hyperparams, "learning_rate": lr})


def step_rate(lr, decay, rows):
    """The step size after ``rows`` rows: ``η (1 + (rows_seen + rows) / τ)^(−p)`` for
    ``decay = (τ, p, rows_seen)`` (``Options.lr_decay``); ``None``: ``η``."""
    if decay is None:
        return lr
    tau, power, seen = decay[0], decay[1], decay[2]
    return lr * (1 + (seen + jnp.asarray(rows, decay.dtype)) / tau) ** -power


# the rows counter is an int32 that stops at its largest value (a float32 counter would stop
# counting single rows at 2²⁴); at 2³¹ − 1 rows a decaying rate hardly changes any more
ROWS_MAX = 2**31 - 1


def count_rows(rows, more):
    """``rows + more``, saturating at ``ROWS_MAX``."""
    more = jnp.asarray(more, jnp.int32)
    return jnp.where(rows > ROWS_MAX - more, ROWS_MAX, rows + more)


# the on-plateau rate (``lr_decay="plateau"``, scikit-learn's "adaptive"): its factor, and
# the rate under which it stops instead
PLATEAU_FACTOR, PLATEAU_MIN_RATE = 0.2, 1e-6


class Schedule(NamedTuple):
    """The step size's own state: the rows stepped over (a decaying rate), and the
    on-plateau multiplier with its plateau counters (``jaxlin.records.plateau_count``)."""

    rows: Any
    scale: Any
    best: Any
    stale: Any

    @classmethod
    def start(cls, dtype):
        rows = jnp.zeros((), jnp.int32)
        return cls(rows, jnp.ones((), dtype), jnp.asarray(jnp.inf, dtype), jnp.asarray(0))

    def rate(self, lr0, hyper: Hyper, rows):
        """The step size after ``rows`` rows."""
        return step_rate(lr0, hyper.decay, rows) * self.scale

    def after_epoch(self, rows, m_epoch, lr0, hyper: Hyper, s: Settings):
        """``(next state, status)``: with ``lr_plateau`` and ``tol``, when the plateau rule
        fires the multiplier shrinks by ``PLATEAU_FACTOR`` — or, once the rate is at most
        ``PLATEAU_MIN_RATE``, the run stops (``objective_tol``)."""
        if not (s.lr_plateau and s.tol):
            return self._replace(rows=rows), RUNNING
        best, stale = plateau_count(self.best, self.stale, m_epoch, hyper.tol)
        fired = stale >= s.plateau
        room = lr0 * self.scale > PLATEAU_MIN_RATE
        scale = jnp.where(fired & room, self.scale * PLATEAU_FACTOR, self.scale)
        status = jnp.where(fired & ~room, OBJECTIVE_TOL, RUNNING)
        return Schedule(rows, scale, best, jnp.where(fired, 0, stale)), status


class GDState(NamedTuple):
    opt_state: Any
    grad: Any  # full-batch smooth gradient at the current parameters (None for mini-batches)
    schedule: Any = None  # the step size's state (Schedule)
    average: Any = None  # the running mean of the iterates (Average), with Settings.average


def start_average(params, hyper: Hyper, s: Settings, dtype):
    """The ``Average`` a run starts with, or ``None`` when it does not average."""
    return Average.start(params, hyper, dtype) if s.average else None


def bias_step(hyper: Hyper, db):
    """The intercept's gradient ``db`` as its step takes it: times ``Hyper.intercept_lr``."""
    return db if hyper.intercept_lr is None else db * hyper.intercept_lr


def averaged(average, hyper: Hyper, params, rows):
    """The mean ``average`` with the iterate ``params`` reached after ``rows`` rows of the
    run (an int32 count), or ``None`` when the run does not average."""
    return None if average is None else average.add(params, average.counted(hyper, rows))


def gradient_descent(problem: Problem, hyper: Hyper, s: Settings) -> Solver:
    """Batch, stochastic or mini-batch gradient descent with any optax transformation."""
    X, T, obj = problem.X, problem.T, problem.objective
    varying = hyper.decay is not None or s.lr_plateau  # the rate changes from step to step
    if s.batch_size is not None and s.optimizer in PLAIN and isinstance(X, sparse.SparseRows):
        if not obj.has_l1:
            return scaled_sparse_steps(problem, hyper, s)
        if not (varying or s.average):  # the lazy L1 steps' closed form: one step size,
            return lazy_sparse_steps(problem, hyper, s)  # and no mean of every weight
    lr0 = hyper.rate(X.dtype)
    tx = make_transformation(s.optimizer, lr0)
    n = s.real_rows(X)
    extra = takes_extra_args(s.optimizer, tx)

    def apply(params, g, opt_state, rate, value=None, value_fn=None):
        """One step of ``tx`` on the gradient ``g``; a user's transformation that takes
        optax's extra arguments gets the smooth objective's ``value`` at ``params``, ``g``
        and ``value_fn`` (line searches, Polyak steps, ``reduce_on_plateau``)."""
        if varying:  # this step's size
            opt_state = _set_lr(opt_state, rate)
        lr = _current_lr(opt_state, lr0)
        kw = dict(value=value, grad=g, value_fn=value_fn) if extra else {}
        step = g._replace(b=bias_step(hyper, g.b))
        updates, opt_state = guarded(s.optimizer, tx.update)(step, opt_state, params, **kw)
        return obj.prox(optax.apply_updates(params, updates), lr), opt_state

    if s.batch_size is not None:
        return mini_batch_steps(problem, hyper, s, (tx, apply, lr0, n))

    f = obj.as_function(X, T) if extra else None  # the smooth objective, hand gradient

    def init(params):
        schedule, average = Schedule.start(X.dtype), start_average(params, hyper, s, X.dtype)
        m, g = obj.value_and_smooth_grad(params, X, T)
        opt_state = guarded(s.optimizer, tx.init)(params)
        return GDState(opt_state, g, schedule, average), first_value(m, g)

    def full_batch_step(params, state: GDState, m, key):
        sched = state.schedule
        rate = sched.rate(lr0, hyper, sched.rows)
        smooth = m - obj.nonsmooth(params.W) if extra else None
        new, opt_state = apply(params, state.grad, state.opt_state, rate, smooth, f)
        m_new, g_new = obj.value_and_smooth_grad(new, X, T)
        rows = count_rows(sched.rows, n)
        if not s.adaptive_lr:
            sched, status = sched.after_epoch(rows, m_new, lr0, hyper, s)
            lr = _current_lr(opt_state, lr0)
            state = GDState(opt_state, g_new, sched, averaged(state.average, hyper, new, rows))
            return Step(new, state, m_new, g_new, lr, status=status)
        lr = _current_lr(state.opt_state, lr0)
        accept = jnp.isfinite(m_new) & not_above(m_new, m)
        lr = jnp.where(accept, lr * BOLD_DRIVER_GROW, lr * BOLD_DRIVER_SHRINK)
        opt_state = _set_lr(select(accept, opt_state, state.opt_state), lr)
        grad = select(accept, g_new, state.grad)
        new = select(accept, new, params)
        average = averaged(state.average, hyper, new, rows)
        return Step(
            new,
            GDState(opt_state, grad, sched._replace(rows=rows), average),
            jnp.where(accept, m_new, m),
            grad,
            lr,
            accept,
        )

    return Solver(init, full_batch_step, held_grad)


def mini_batch_steps(problem: Problem, hyper: Hyper, s: Settings, shared) -> Solver:
    """Epochs of mini-batch steps (``gradient_descent`` with a ``batch_size``): a ``lax.scan``
    over the epoch's batches, each step ``apply``-ing the batch's gradient; the epoch's
    value is the running mean of the batches' values (plus the L1 term at its end).
    ``shared``: ``gradient_descent``'s ``(tx, apply, lr0, n)`` — the transformation, its
    step, the first rate and the rows an epoch visits.

    Dense rows on the CPU carry ``W`` as ``(K, d)`` through the epoch
    (``jaxlin.linear.by_rows``): the optimiser's state is made in that layout, and ``W``
    and the mean of the iterates are turned at the epoch's start and end, two copies an
    epoch instead of one or two a step (``docs/accelerators.md``). Only with a named
    optimiser, whose rule is the same on every weight: a user's optax transformation sees
    ``W`` as ``(d, K)``, as documented (it may hold arrays of that shape).
    """
    X, T, obj = problem.X, problem.T, problem.objective
    tx, apply, lr0, n = shared
    extra = takes_extra_args(s.optimizer, tx)
    turned = (
        backend.cpu_tricks()
        and isinstance(s.optimizer, str)
        and not isinstance(X, sparse.SparseRows)
    )

    def turn(params):
        return linear.by_rows(params) if turned and params is not None else params

    def turn_mean(average):
        return average if average is None else average._replace(params=turn(average.params))

    def init(params):
        average = start_average(params, hyper, s, X.dtype)
        state = GDState(
            guarded(s.optimizer, tx.init)(turn(params)), None, Schedule.start(X.dtype), average
        )
        return state, jnp.asarray(jnp.inf, X.dtype)

    def step(params, state: GDState, m, key):
        idx, mask, counts = batches(key, n, s.batch_size, X.dtype, s.shuffle)
        sched = state.schedule

        def one(carry, batch):
            params, opt_state, rows, average = carry
            i, bm, count = batch
            on_batch, Xb = obj.on_rows(i, bm, n), linear.take_rows(X, i)
            m_b, g = on_batch.smooth_value_and_grad(params, Xb, T[i], by_rows=turned)
            f_b = on_batch.as_function(Xb, T[i]) if extra else None
            params, opt_state = apply(params, g, opt_state, sched.rate(lr0, hyper, rows), m_b, f_b)
            rows = count_rows(rows, count)
            return (params, opt_state, rows, averaged(average, hyper, params, rows)), m_b

        start = (turn(params), state.opt_state, sched.rows, turn_mean(state.average))
        (new, opt_state, rows, average), m_b = jax.lax.scan(one, start, (idx, mask, counts))
        new, average = turn(new), turn_mean(average)
        m_epoch = obj.running_mean(m_b, counts) + obj.nonsmooth(new.W)
        sched, status = sched.after_epoch(rows, m_epoch, lr0, hyper, s)
        lr = _current_lr(opt_state, lr0)
        state = GDState(opt_state, None, sched, average)
        return Step(new, state, m_epoch, None, lr, status=status)

    return Solver(init, step)


# the scale ``a`` of ``W = a V`` is folded into ``V`` before it can underflow; while
# iterates are averaged, sooner: the mean's ``(A + α V) / β`` cancels about ``1 / a``'s
# digits (``docs/sparse.md``), three at most with this bound
RESCALE_BELOW, RESCALE_AVERAGING = 1e-9, 1e-3


class ScaledAverage(NamedTuple):
    """The running mean of ``W = a V`` on sparse steps, ``W̄ = (A + α V) / β``: a step that
    changes ``V`` on a batch's columns changes ``A`` there alone (``A ← A − α ΔV`` keeps
    the mean so far), and takes the new iterate in by the scalars,
    ``β ← β / (1 − μ)``, ``α ← α + μ a β`` (scikit-learn's averaged SGD; ``docs/sparse.md``).
    ``A`` and ``α`` are 0 until the mean begins, so its first step (``μ = 1``) needs no
    division. The intercept's mean ``b`` is kept as it is (``K`` numbers)."""

    A: Any
    alpha: Any
    beta: Any
    b: Any
    rows: Any

    @classmethod
    def of(cls, average: Average):
        begun = (average.rows > 0).astype(average.rows.dtype)
        one = jnp.ones_like(average.rows)
        return cls(begun * average.params.W, 0 * one, one, average.params.b, average.rows)

    def step(self, hyper: Hyper, cols, dV, a, b, rows, flat=True):
        """After ``V ← V + ΔV`` (``dV`` the terms scattered into ``cols``, as
        ``sparse.scatter_rows(..., flat=flat)`` did), ``a`` and ``b`` the new scale and
        intercept, ``rows`` the int32 rows stepped over."""
        so_far = Average(None, self.rows)
        rows = so_far.counted(hyper, rows)
        mu = so_far.weight(rows)
        A = sparse.scatter_rows(self.A, cols, -self.alpha * dV, flat=flat)
        beta = jnp.where(mu < 1, self.beta / (1 - mu), self.beta)
        return ScaledAverage(A, self.alpha + mu * a * beta, beta, self.b + mu * (b - self.b), rows)

    def mean(self, V):
        return (self.A + self.alpha * V) / self.beta

    def folded(self, V):
        """The same mean with ``α = 0`` and ``β = 1`` (when ``V`` is about to be rescaled)."""
        return self._replace(A=self.mean(V), alpha=0 * self.alpha, beta=1 + 0 * self.beta)

    def average(self, V) -> Average:
        return Average(linear.Params(self.mean(V), self.b), self.rows)


def scaled_sparse_steps(problem: Problem, hyper: Hyper, s: Settings) -> Solver:
    """Plain mini-batch steps on sparse rows without L1: ``W = a V``, the scale carrying the
    L2 decay (Bottou's and scikit-learn's SGD).

    The eager step ``W ← c W − η Xᵦᵀ Δ̃`` (``c = 1 − 2 η l2``) is, with ``W = a V``,
    ``a ← c a`` and ``V ← V − (η / a) Xᵦᵀ Δ̃``: every weight's decay is one multiplication
    of the scalar ``a``, and the data part touches only the batch's columns (one gather of
    ``V``'s rows for the scores, one scatter-add). When ``a`` falls under ``RESCALE_BELOW``
    it is folded into ``V``; the epoch ends with ``W = a V``. Equal to the eager update up
    to rounding (``docs/sparse.md``), with a decaying rate too (``c`` is then each step's
    own), and so is the mean of the iterates (``ScaledAverage``). The epoch's value: with
    one row a step, the mean of each row's objective at the weights its step started from,
    as on dense rows — the data term plus ``l2 a² ‖V‖²``, ``‖V‖²`` kept from the row's own
    numbers (``sparse.sq_norm_step``); with larger batches, whose rows share columns, the
    mean of their data terms plus ``R(W)`` at the epoch's end (the exact norm would cost a
    gather a step: 1.4× an epoch of B = 32 on a text-like problem, measured).
    """
    X, T, obj = problem.X, problem.T, problem.objective
    n = s.real_rows(X)
    lr0 = hyper.rate(X.dtype)
    fold_below = RESCALE_AVERAGING if s.average else RESCALE_BELOW
    one_row = s.batch_size == 1  # the L2 term at every step (see the docstring)

    def fold(scaled):
        V, a, sq = scaled
        return a * V, jnp.ones_like(a), a * a * sq

    def one(carry, batch):
        (V, a, sq), b, rows, sched, _, mean = carry  # sq = ‖V‖²
        i, bm, count = batch
        lr = sched.rate(lr0, hyper, rows)
        Xb = sparse.take_rows(X, i)
        XV = sparse.batch_scores(Xb, sparse.gather_rows(V, Xb.indices))  # X_B V
        Z = a * XV + b  # X W + b, W = a V
        m_b, D, db = obj.on_rows(i, bm, n).data_score_gradients(linear.Params(V, b), Xb, T[i], Z)
        if one_row:  # the row's objective at the step's start
            m_b = m_b + obj.l2_value(a * a * sq)
        a = a * obj.l2_shrink(lr)
        dV = (-lr / a) * sparse.batch_entry_terms(Xb, D)
        flat = not one_row  # (see sparse.scatter_rows)
        V, rows = sparse.scatter_rows(V, Xb.indices, dV, flat=flat), count_rows(rows, count)
        if one_row:  # ‖V‖² after the step
            sq = sq + sparse.sq_norm_step(Xb, D, -lr / a, XV)
        b = b - lr * bias_step(hyper, db)
        if mean is not None:
            mean = mean.step(hyper, Xb.indices, dV, a, b, rows, flat)
        folding = a < fold_below
        if mean is not None:  # the mean's fold reads V, so it goes first, and V's waits for
            # it (its predicate reads the mean): so ordered, XLA folds V in place instead of
            # copying V at every step
            mean = rare_cond(folding, s, lambda m: m.folded(V), mean)
            folding = folding | jnp.isnan(mean.alpha)
        V, a, sq = rare_cond(folding, s, fold, (V, a, sq))
        return ((V, a, sq), b, rows, sched, lr, mean), m_b

    def init(params):  # the state: the step size's (Schedule) and the mean's
        average = start_average(params, hyper, s, X.dtype)
        return GDState(None, None, Schedule.start(X.dtype), average), jnp.asarray(jnp.inf, X.dtype)

    def step(params, state: GDState, m, key):
        idx, mask, counts = batches(key, n, s.batch_size, X.dtype, s.shuffle)
        one_, sched = jnp.ones((), X.dtype), state.schedule
        mean = None if state.average is None else ScaledAverage.of(state.average)
        scaled = (params.W, one_, jnp.sum(params.W * params.W))
        ((V, a, _), b, rows, _, lr, mean), m_b = jax.lax.scan(
            one, (scaled, params.b, sched.rows, sched, lr0, mean), (idx, mask, counts)
        )
        new = params._replace(W=a * V, b=b)
        m_epoch = obj.running_mean(m_b, counts)
        if not one_row:
            m_epoch = m_epoch + obj.penalty_value(new.W)
        sched, status = sched.after_epoch(rows, m_epoch, lr0, hyper, s)
        average = None if mean is None else mean.average(V)
        return Step(new, GDState(None, None, sched, average), m_epoch, None, lr, status=status)

    return Solver(init, step)


class LazyState(NamedTuple):
    step: Any  # steps taken so far
    last: Any  # (d,) the step count each row of W is up to date with


def lazy_sparse_steps(problem: Problem, hyper: Hyper, s: Settings) -> Solver:
    """Plain mini-batch steps on sparse rows with L1, touching only the columns a batch holds.

    The eager step ``W ← prox_{η l1}((1 − 2 η l2) W − η Xᵦᵀ Δ̃)`` changes every row of ``W``,
    but on a column absent from the batch it is the penalty's step alone, and ``k`` of those
    have a closed form (``jaxlin.penalties.repeated_steps``). So each weight row keeps
    the step count it is up to date with; a batch first brings its columns up to date, then
    takes the step on them alone, and the epoch's end brings every row up to date. The result
    equals the eager update under the same row order (``docs/sparse.md``). The epoch's
    value is the mean of its batches' data terms plus ``R(W)`` at its end.
    """
    X, T, obj = problem.X, problem.T, problem.objective
    n = s.real_rows(X)
    lr = hyper.rate(X.dtype)

    def one(carry, batch):
        params, last, t = carry
        i, bm = batch
        Xb = sparse.take_rows(X, i)
        cols = Xb.indices
        seen = last[cols]  # the step each of the batch's rows of W is up to date with
        w = obj.penalty_steps(sparse.gather_rows(params.W, cols), t - seen, lr)
        Z = sparse.batch_scores(Xb, w) + params.b  # the scores with those up-to-date weights
        m_b, D, db = obj.on_rows(i, bm, n).data_score_gradients(params, Xb, T[i], Z)
        # this step on the batch's columns: the L2 part, the data part, then L1's prox
        W = sparse.scatter_rows(params.W, cols, obj.l2_shrink(lr) * w, "set")
        W = sparse.scatter_rows(W, cols, -lr * sparse.batch_entry_terms(Xb, D))
        shrunk = obj.prox(params._replace(W=sparse.gather_rows(W, cols)), lr).W
        W = sparse.scatter_rows(W, cols, shrunk, "set")
        b = params.b - lr * bias_step(hyper, db)
        # (t + 1 written as max(t + 1, seen), the same number: the write then follows the
        # read in the data flow, and XLA updates `last` in place instead of copying it, d
        # numbers, at every step)
        last = last.at[cols].set(jnp.maximum(t + 1, seen))
        return (params._replace(W=W, b=b), last, t + 1), m_b

    def init(params):
        return LazyState(
            jnp.asarray(0, jnp.int32), jnp.zeros((X.shape[1],), jnp.int32)
        ), jnp.asarray(jnp.inf, X.dtype)

    def step(params, state: LazyState, m, key):
        idx, mask, counts = batches(key, n, s.batch_size, X.dtype, s.shuffle)
        (new, last, t), m_b = jax.lax.scan(one, (params, state.last, state.step), (idx, mask))
        new = new._replace(W=obj.penalty_steps(new.W, t - last, lr))  # every row up to date
        m_epoch = obj.running_mean(m_b, counts) + obj.penalty_value(new.W)
        return Step(new, LazyState(t, jnp.full_like(last, t)), m_epoch, None, lr)

    return Solver(init, step)


def epoch_order(key, n, shuffle=True):
    """The order an epoch visits ``n`` rows in: a fresh permutation, ``0..n−1``
    (``shuffle=False``), or the run's own (``key`` a ``RowOrder``: ``Hyper.order``)."""
    if isinstance(key, RowOrder):
        return key.rows
    return shuffled(key, n) if shuffle else jnp.arange(n)


def shuffled(key, n):
    """A uniformly random permutation of ``0..n−1`` (``n < 2³¹``): the indices sorted by
    random keys, as one sort of 64-bit words — the key in the high bits, the index in the
    low ``⌈log₂ n⌉`` — which XLA sorts without a comparison function: 5–10 times faster on
    a CPU than ``jax.random.permutation``'s sorts (two or three, of keys and indices). The
    random keys are SplitMix64's stream seeded by the PRNG key's words (``_splitmix64``):
    a few integer operations a row, which compile in a third of the time of the counter
    hash behind ``jax.random.bits``. The words are distinct; two keys tie in their high
    bits with probability about ``n² / 2^(65 − ⌈log₂ n⌉)``, and a tie keeps the index
    order. A TPU, without native 64-bit integers, uses ``jax.random.permutation``."""
    if backend.platform() == "tpu":
        return jax.random.permutation(key, n)
    bits = max(1, (n - 1).bit_length())
    words = jax.random.key_data(key).ravel()
    with jax.enable_x64(True):  # 64-bit words whatever the run's float type
        u64 = jnp.uint64
        seed = u64(0)
        for word in words:  # every word of the key (2 for threefry, 4 for rbg)
            seed = _splitmix64(seed ^ word.astype(u64))
        index = jnp.arange(n, dtype=u64)
        draws = _splitmix64(seed + (index + u64(1)) * u64(_GOLDEN_GAMMA))
        order = jnp.sort(draws >> u64(bits) << u64(bits) | index) & u64((1 << bits) - 1)
        return order.astype(jnp.int32)


_GOLDEN_GAMMA = 0x9E3779B97F4A7C15  # 2⁶⁴ / φ, odd: the stream's step


def _splitmix64(z):
    """SplitMix64's output function (Steele, Lea & Flood, 2014), a bijection of 64-bit
    words with full avalanche; applied to ``seed + i·γ`` it gives the ``i``-th number of
    the stream, a generator that passes BigCrush."""
    u64 = jnp.uint64
    z = (z ^ (z >> u64(30))) * u64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> u64(27))) * u64(0x94D049BB133111EB)
    return z ^ (z >> u64(31))


def batches(key, n, b, dtype, shuffle=True):
    """A fresh permutation of ``n`` rows (``shuffle=False``: the rows in order) as ``⌈n/b⌉``
    batches of ``b`` indices.

    The last batch holds the ``n mod b`` remaining rows, padded with row 0 at mask 0.
    Returns ``(idx (n_batches, b), mask (n_batches, b) or None, rows per batch)``; the mask
    is ``None`` when ``b`` divides ``n``.
    """
    n_batches = -(-n // b)
    pad = n_batches * b - n
    perm = epoch_order(key, n, shuffle)
    idx = jnp.concatenate([perm, jnp.zeros((pad,), perm.dtype)]).reshape(n_batches, b)
    if pad == 0:
        return idx, None, jnp.full((n_batches,), b, dtype)
    mask = jnp.concatenate([jnp.ones((n,), dtype), jnp.zeros((pad,), dtype)])
    mask = mask.reshape(n_batches, b)
    return idx, mask, jnp.sum(mask, axis=1)


def _record(name, summary, defaults, bold_driver=False):
    return SolverRecord(
        name,
        gradient_descent,
        summary,
        batches=("full", "mini"),
        l1=True,
        bold_driver=bold_driver,
        tol_bounds="objective",
        defaults=defaults,
        intercept_lr=True,
        averages=True,
    )


GD = _record(
    "gd", "gradient descent, plain steps", dict(learning_rate=0.1, epochs=1000), bold_driver=True
)
SGD = _record(
    "sgd",
    "stochastic gradient descent, plain steps",
    dict(learning_rate=0.1, epochs=20, batch_size=32),
    bold_driver=True,
)
ADAM = _record("adam", "Adam", dict(learning_rate=0.01, epochs=100, batch_size=32))
RECORDS = (
    GD,
    SGD,
    ADAM,
    _record(
        "momentum", "heavy-ball momentum 0.9", dict(learning_rate=0.05, epochs=20, batch_size=32)
    ),
    _record(
        "nesterov", "Nesterov momentum 0.9", dict(learning_rate=0.05, epochs=20, batch_size=32)
    ),
    _record("adagrad", "AdaGrad", dict(learning_rate=0.1, epochs=20, batch_size=32)),
    _record("rmsprop", "RMSProp", dict(learning_rate=0.001, epochs=20, batch_size=32)),
)
# a user's optax GradientTransformation (or learning_rate → transformation): not a name
TRANSFORMATION = _record(
    "transformation", "an optax transformation", dict(learning_rate=0.1, epochs=100)
)._replace(listed=False)
