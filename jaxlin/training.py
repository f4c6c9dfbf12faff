"""``jaxlin.fit`` and ``jaxlin.fit_many``: the public training entry points.

Each builds three records at the boundary — the validated ``Options``,
the checked ``Data`` and the ``Objective`` — and
runs one compiled program of ``jaxlin.driver``. ``fit_many`` trains many models in that
one program by ``vmap`` over learning rates, penalty strengths, seeds and sample weights
(e.g. cross-validation folds as 0/1 weights).
"""

from __future__ import annotations

import dataclasses
import itertools
import os
import warnings
from functools import partial
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from jaxlin import backend, class_weights, driver, inputs, sparse, validation
from jaxlin import checkpoint as ckpt
from jaxlin.backend import put, put_all
from jaxlin.data import shuffled_rows
from jaxlin.records import STOP_REASONS, DivergedWarning, History, Hyper, Problem
from jaxlin.linear import Params
from jaxlin.losses import get_loss, is_builtin, loss_key
from jaxlin.objective import Objective, host_targets
from jaxlin.options import Options, RunControl, local_devices, split_options
from jaxlin.penalties import Penalty
from jaxlin.sparse import SparseRows


class FitResult(NamedTuple):
    """What training returns.

    Attributes:
      params: ``Params`` (``W`` ``(d, K)``, ``b`` ``(K,)``); with a leading
        model axis from ``fit_many``.
      history: ``History`` of per-epoch arrays (NaN after the last epoch).
      epochs: epochs run (for a diverged run: the epoch at which it diverged).
      status: stop code (a key of ``jaxlin.driver.STOP_REASONS``); ``stop_reason``
        is its name.
      loss: the loss as given: a built-in's name, ``"MODULE:ATTR"``, or the user's
        ``Loss``. n_classes: number of classes (``None`` for regression).
      classes: the labels of the classes, in order, when ``y`` was given as labels of any
        kind (text, or numbers other than ``0..K−1``; ``[−1, 1]`` for the ±1 labels of a
        binary loss); ``predict`` maps back to them.
      last: with iterate averaging (``average``), the last iterate (``params`` is the
        mean); else ``None``.
      feature_names: the names of ``X``'s columns when it was a table with named columns
        (a pandas DataFrame); a table given to the result's methods then holds them in
        that order. ``None`` otherwise.
    """

    params: Params
    history: History
    epochs: Any
    status: Any
    loss: Any
    n_classes: Any = None
    classes: Any = None
    last: Any = None
    feature_names: Any = None

    def decision_function(self, X):
        """Scores ``Z = X W + b`` ``(N, K)`` on the host (NumPy; ``X`` dense or sparse)."""
        W, b = np.asarray(self.params.W, np.float64), np.asarray(self.params.b, np.float64)
        if W.ndim != 2:
            raise ValueError(
                "decision_function: one model at a time (this result holds "
                f"{W.shape[0]}; take result.params.W[m])"
            )
        validation.check_column_names(X, self.feature_names)
        X = (
            sparse.as_csr(X)
            if sparse.is_sparse(X)
            else validation.check_features(X, "X", n_features=W.shape[0])
        )
        if X.shape[1] != W.shape[0]:
            raise ValueError(f"X: expected {W.shape[0]} features, got {X.shape[1]}")
        if isinstance(X, jax.Array):  # on the host as documented (an eager product compiles)
            X = np.asarray(X)
        return np.asarray(X @ W) + b

    def predict(self, X):
        """Predicted classes ``(N,)``: the labels ``y`` was given in (class 1 where ``z ≥ 0``
        for one output, else the highest score)."""
        from jaxlin import decision

        labels = decision.predict_labels(self.loss, self.decision_function(X))
        return labels if self.classes is None else np.asarray(self.classes)[labels]

    def score(self, X, y, sample_weight=None):
        """Accuracy of ``predict(X)`` against the labels ``y`` ``(N,)`` (as ``y`` was given
        to ``fit``), weighted by ``sample_weight`` — scikit-learn's ``score``."""
        predicted = self.predict(X)
        y = validation.as_host_array(y, "y")
        if get_loss(self.loss).target == "real" and not np.all(np.isin(y, (0, 1))):
            raise ValueError(
                "y: real targets; the score is the accuracy of class labels, and a "
                "least-squares regression's predictions are decision_function(X)"
            )
        if y.shape != predicted.shape:
            raise ValueError(
                f"y: expected shape {predicted.shape} (one label per row of X), got {y.shape}"
            )
        if not validation.holds_text(y):  # a NaN label would count as a wrong prediction
            validation.check_finite_values(validation.numeric_labels(y), "y")
        # text never equals a number: such a score would be 0.0
        if validation.holds_text(predicted) != validation.holds_text(y):
            raise ValueError(
                f"y: labels of another kind than the model's classes (e.g. "
                f"{np.asarray(y[0]).tolist()!r} against {np.asarray(predicted[0]).tolist()!r}): "
                "text beside numbers"
            )
        if sample_weight is not None:
            sample_weight = validation.check_sample_weight(sample_weight, y.shape[0])
        return float(np.average(predicted == y, weights=sample_weight))

    @property
    def predict_proba(self):
        """``X ↦`` class probabilities ``(N, C)``, for the losses that model them (logistic,
        softmax cross-entropy, modified Huber); with another loss a result has no such
        method (``AttributeError``, as a scikit-learn estimator's)."""
        from jaxlin import decision

        return decision.proba_method(self.loss, self.decision_function)

    @property
    def stop_reason(self):
        status = np.asarray(self.status)
        if status.ndim == 0:
            return STOP_REASONS[int(status)]
        return np.vectorize(lambda s: STOP_REASONS[int(s)])(status)

    @property
    def diverged(self):
        return np.asarray(self.status) == driver.DIVERGED


def compiled(fn, X, settings, static_argnames, many: bool = False):
    """``fn`` jitted with the options ``jaxlin.backend.compile_options`` gives the data one
    step of ``settings`` reads from ``X`` (the rows of a mini-batch, or all of them), and
    whether it trains ``many`` models: every training program, in memory or streamed,
    compiles by this one rule."""
    rows = settings.batch_size or X.shape[0]  # what one step reads
    nbytes: int | None
    if isinstance(X, SparseRows):  # its stored entries: a batch holds rows × the longest row
        entries = rows * X.max_row_nnz if settings.batch_size else X.nnz
        nbytes = sparse.entry_bytes(entries, X.dtype.itemsize)
    else:
        nbytes = rows * X.shape[-1] * X.dtype.itemsize
    if any(isinstance(a, jax.core.Tracer) for a in jax.tree.leaves(X)):  # inside a trace
        nbytes = None  # (eval_shape, make_jaxpr): compile options belong to the outer jit
    # YNNPACK's kernels left out (``backend.no_ynn_fusions``) for a full batch, and for many
    # models' mini-batches (16 SGD models on MNIST, B = 32: 25% faster; one model 25% slower)
    whole = settings.batch_size is None or many
    return backend.jit_for(fn, nbytes, static_argnames, X.dtype.itemsize, full_batch=whole)


def _advance(problem, hyper, state, until, settings, model_axes):
    """One compiled call: run (or continue) the loop of one model or of many under vmap
    (``compiled``)."""
    program = compiled(
        _loop, problem.X, settings, ("settings", "model_axes"), model_axes is not None
    )
    return program(problem, hyper, state, until, settings=settings, model_axes=model_axes)


def _loop(problem, hyper, state, until, settings, model_axes):
    if model_axes is None:
        return driver.run(problem, hyper, settings, state, until)
    problem_axes, hyper_axes = model_axes
    if hyper_axes.key is None or not driver.draws(settings):  # (a key of its own per model
        # matters to a deterministic run's start alone)
        return driver.run_lockstep(problem, hyper, settings, model_axes, state, until)
    return driver.over_models(
        lambda many, p, h, st: driver.run(p, h, many, st, until),
        settings,
        in_axes=(problem_axes, hyper_axes, None if state is None else 0),
    )(problem, hyper, state)


def _epochs(n):
    """An epoch count for the loop, moved explicitly: the compiled call transfers nothing
    implicitly (tested under ``jax.transfer_guard``)."""
    return jax.device_put(np.int32(n))


def execute(
    problem: Problem, hyper: Hyper, settings, model_axes=None, control: RunControl = RunControl()
):
    """The whole run as one compiled call, or — with a ``progress`` callback or a
    ``checkpoint`` in ``control`` — in chunks of epochs (a hundredth of them each). Between
    chunks ``progress(epochs_done, epochs_total)`` is called and the checkpoint written; a
    stop request (Ctrl-C under ``jaxlin.checkpoint.catch_interrupts``) ends the run
    there. Every way gives the same parameters: each chunk continues the loop state where
    the last one stopped, also after a resume from a checkpoint."""
    kw = dict(settings=settings, model_axes=model_axes)
    total = int(np.max(jax.device_get(hyper.epochs)))
    if not control.chunked:
        with driver.with_callback(control.callback):
            out = _advance(problem, hyper, None, hyper.epochs, **kw)
        return _trimmed(driver.trained(out), total)
    chunk, state = max(1, -(-total // 100)), None
    checkpoint = control.checkpointing()
    if checkpoint is not None:
        checkpoint = checkpoint.for_run(problem, hyper, settings, model_axes)
    if checkpoint is not None and checkpoint.resume and os.path.exists(checkpoint.path):
        template = jax.eval_shape(partial(_advance, **kw), problem, hyper, None, _epochs(0))
        state, _ = ckpt.load(checkpoint.path, template, checkpoint.fingerprint)
    with ckpt.chunked_loop(), driver.with_callback(control.callback):
        trained = _chunks(problem, hyper, state, kw, (chunk, total), control.progress, checkpoint)
    return _trimmed(trained, total)


def _trimmed(trained, epochs: int):
    """The result with its history cut to the epoch limit (the compiled program's arrays
    are as long as a bucket of limits, ``jaxlin.records.history_length``), on the host."""
    history = jax.tree.map(lambda a: np.asarray(a)[..., :epochs], jax.device_get(trained.history))
    return trained._replace(history=history)


def _chunks(problem, hyper, state, kw, sizes, progress, checkpoint):
    """``execute``'s loop over chunks of epochs, from ``state`` (``None``: the start);
    ``sizes``: ``(epochs per chunk, the epoch limit)``."""
    chunk, total = sizes
    if state is None:
        state = _advance(problem, hyper, None, _epochs(chunk), **kw)
    for n in itertools.count(1):
        done = int(np.max(np.asarray(jax.device_get(state.epoch))))
        if progress is not None:
            progress(done, total)
        finished = (
            not np.any(np.asarray(jax.device_get(state.status)) == driver.RUNNING) or done >= total
        )
        stop = ckpt.stop_requested() and not finished
        if checkpoint is not None and (finished or stop or n % checkpoint.every == 0):
            ckpt.save(checkpoint.path, state, {"epoch": done}, checkpoint.fingerprint)
        if finished:
            return driver.trained(state)
        if stop:
            raise ckpt.Interrupted(None if checkpoint is None else checkpoint.path, done)
        state = _advance(problem, hyper, state, _epochs(done + chunk), **kw)


def initial_params(init, n_features: int, n_outputs: int, dtype, n_models=None):
    """A warm start's ``Params`` in ``dtype`` (``None`` for a named initialisation).

    ``init`` is a ``Params`` or a ``FitResult`` (its ``last`` iterate where it has one);
    ``W`` must be ``(n_features, n_outputs)`` and ``b`` ``(n_outputs,)`` (with a leading
    model axis of ``n_models`` when given, or without one to share them), all finite.
    """
    if isinstance(init, str):
        return None
    p = init
    if isinstance(init, FitResult):
        p = init.params if init.last is None else init.last
    return _checked_start(p, init, n_features, n_outputs, dtype, n_models)


def initial_mean(init, n_features: int, n_outputs: int, dtype, n_models=None):
    """The mean of the iterates a warm start from an averaged ``FitResult`` continues (its
    ``params``), or ``None``."""
    if not isinstance(init, FitResult) or init.last is None:
        return None
    return _checked_start(init.params, init, n_features, n_outputs, dtype, n_models)


def _checked_start(p, init, n_features, n_outputs, dtype, n_models):
    if not (hasattr(p, "W") and hasattr(p, "b")):
        raise TypeError(
            f"init: expected 'zeros', 'uniform', Params or a FitResult, got {type(init).__name__}"
        )
    W, b = np.asarray(jax.device_get(p.W)), np.asarray(jax.device_get(p.b))
    want = (n_features, n_outputs)
    shared = W.shape == want and b.shape == want[1:]
    per_model = (
        n_models is not None and W.shape == (n_models, *want) and b.shape == (n_models, n_outputs)
    )
    if not (shared or per_model):
        raise ValueError(
            f"init: expected W {want} and b ({n_outputs},), got W {W.shape} and "
            f"b {b.shape}"
            + (f" (or with a leading axis of {n_models} models)" if n_models is not None else "")
        )
    if not (np.all(np.isfinite(W)) and np.all(np.isfinite(b))):
        raise ValueError("init: the parameters contain NaN or infinite values")
    validation.check_in_float_range(W, "init.W", dtype)
    validation.check_in_float_range(b, "init.b", dtype, what="output")
    return Params(put(W, dtype), put(b, dtype))


def _is_one_vs_rest(loss, y, one_vs_rest, n_classes=None):
    """A binary loss on more than two classes: asked for, shown by the labels, or stated by
    ``n_classes`` (labels that do not show every class)."""
    y = np.asarray(y)
    stated = n_classes is not None and n_classes > 2
    return loss.target == "binary" and (
        one_vs_rest or (y.ndim == 1 and (stated or len(validation.distinct_labels(y)) > 2))
    )


def _penalty(opts: Options, dtype, m=None) -> Penalty:
    """The strengths as arrays (``(M,)`` for ``M`` models)."""

    def arr(v):
        return v if m is None else np.broadcast_to(v, (m,))

    return Penalty(*put_all((arr(opts.l1), arr(opts.l2)), dtype))


def _unmapped(obj: Objective, penalty_axis=None, weight_axis=None) -> Objective:
    """``vmap`` axes for an objective: which of its arrays carry a model axis."""
    return dataclasses.replace(
        obj, penalty=penalty_axis, sample_weight=weight_axis, normalizer=None
    )


@backend.computes_in_dtype
def fit(
    X,
    y,
    loss="binary_cross_entropy",
    *,
    validation_data=None,
    sample_weight=None,
    class_weight=None,
    n_classes=None,
    seed=0,
    dtype=jnp.float32,
    control=None,
    **options,
) -> FitResult:
    """Train a linear model ``Z = X W + b`` on ``(X, y)`` by minimising ``mean L + R(W)``.

    Args:
      X: ``(N, d)`` features. y: labels ``(N,)`` (0/1, ±1 or 0..K−1) or targets ``(N, K)``.
      loss: a name of ``jaxlin.LOSSES`` (``"binary_cross_entropy"``, ``"softmax_cross_entropy"``,
        ``"multiclass_hinge"``, …) or a ``Loss``.
      validation_data: ``(X_val, y_val)``, scored each epoch; with ``patience``, early
        stopping that returns the parameters of the best validation objective.
      sample_weight: ``(N,)`` non-negative weights (a weighted mean of the losses).
      class_weight: ``"balanced"``, ``{label: weight}`` or ``K`` weights in class order:
        each row's loss weighs its class's weight times its ``sample_weight``
        (``jaxlin.class_weights``; a one-vs-rest fit as scikit-learn's).
      n_classes: number of classes when ``y`` does not show them all (a whole number;
        with a binary loss, more than 2 trains one model per class, one-vs-rest).
      seed: the seed of the PRNG key of the initialisation and the batch order (or pass
        ``key=``, a ``jax.random`` key; a key beside another seed than 0 is an error).
      dtype: ``float32`` (default) or ``float64``: the arithmetic's type. float64 runs in
        JAX's scoped x64 mode (no global flag needed); on a TPU it becomes float32 with a
        warning (``jaxlin.backend.compute_dtype``).
      control: a ``RunControl``; its fields may also be passed as
        keywords: ``progress`` (a callable ``(epochs_done, epochs_total)``), ``devices``
        (shard the rows over local devices, ``shard_rows``), ``checkpoint``,
        ``checkpoint_every`` and ``resume`` (``jaxlin.checkpoint``), ``buckets`` (pad a
        full-batch run's rows to ``jaxlin.inputs.shared_rows`` so close sizes, and a small
        cross-validation's folds and refit, share one compiled program; not in
        ``fit_many``), ``callback`` (``(epoch, params, objective) → stop``, called on the
        host after each epoch; one model only) and ``verify`` (check a user ``Loss``
        before training; default ``True``).
      **options: the fields of ``Options`` — ``optimizer`` (default
        ``"gd"``), ``learning_rate`` (0.1), ``epochs`` (100), ``batch_size``, ``l1``, ``l2``,
        ``tol``, ``grad_tol``, ``grad_norm``, ``step_tol``, ``adaptive_lr``, ``patience``,
        ``init``, ``fit_intercept``, ``memory_size``, ``shuffle``, ``one_vs_rest`` — and the run
        controls above, and ``key``.
    Returns:
      ``FitResult``.

    >>> import numpy as np
    >>> X = np.array([[0.0], [1.0], [2.0], [3.0]]); y = np.array([0, 0, 1, 1])
    >>> r = fit(X, y, epochs=500, learning_rate=1.0, tol=1e-3)
    >>> r.stop_reason, bool(r.params.W[0, 0] > 0)
    ('objective_tol', True)
    """
    record, loss = _record(loss), get_loss(loss)
    opts, ctrl, key = split_options(options, "fit", control=control)
    verified(loss, record, ctrl)
    key = validation.key_or_seed(key, seed)
    y, validation_data, classes = label_classes(y, validation_data, loss, n_classes)
    n_classes = _agreed_classes(ctrl, loss, y, validation.check_n_classes(n_classes))
    names = validation.column_names(X)
    ovr = _is_one_vs_rest(loss, y, opts.one_vs_rest, n_classes)
    sample_weight = class_weights.for_labels(
        class_weight, y, loss, classes, n_classes, sample_weight=sample_weight, ovr=ovr
    )
    given = Inputs(validation_data, sample_weight, n_classes, dtype)
    res = (_fit_one_vs_rest if ovr else _fit_one)(X, y, loss, opts, ctrl, given, key)
    return _warned(res._replace(loss=record, classes=classes, feature_names=names))


def _fit_one(X, y, loss, opts: Options, ctrl: RunControl, given: Inputs, key) -> FitResult:
    """One model (binary, multi-class or real targets): the inputs checked, one run."""
    deferred = _start_reads_every_value(opts) and ctrl.checkpoint is None
    data = inputs.prepare(
        X,
        y,
        loss,
        validation_data=given.validation_data,
        sample_weight=given.sample_weight,
        n_classes=given.n_classes,
        dtype=given.dtype,
        rows_for=_bucketed(opts, ctrl, given.dtype),
        finite=not deferred,
    )
    opts = opts.check(data.n_rows, loss, has_validation=data.X_val is not None, data=data)
    out = _fit_prepared(data, loss, opts, ctrl, key, given.dtype, X, deferred)
    res = FitResult(out.params, out.history, out.epochs, out.status, loss.name, data.n_classes)
    return res._replace(last=out.last)


def _warned(result: FitResult) -> FitResult:
    """``result``, with a ``DivergedWarning`` first if its run (any class's) diverged: its
    parameters are the last finite ones, which a caller who does not read ``stop_reason``
    would otherwise take for a fit."""
    status = np.asarray(result.status)
    if np.any(status == driver.DIVERGED):
        epochs = int(np.max(np.asarray(result.epochs)[status == driver.DIVERGED]))
        warnings.warn(
            f"fit: training diverged after {epochs} epoch{'s' * (epochs != 1)} (the objective "
            "or the parameters became infinite or NaN); the result holds the last finite "
            "parameters. Lower learning_rate, scale the features or train in float64",
            DivergedWarning,
            stacklevel=4,
        )
    return result


def _start_reads_every_value(opts: Options) -> bool:
    """Whether the run's first objective reads every value of ``X`` (a full-batch solver
    that weighs its rows: ``jaxlin.records.first_value``), so that a NaN or an infinity
    there ends the run at its start (status ``diverged``). Then ``fit`` scans ``X`` only
    when that happens, not before every run (a scan costs about one read of ``X``)."""
    try:
        return opts.record.start_reads_every_value(opts.batch_size)
    except ValueError:  # an unknown optimizer: Options.check names it
        return False


def _agreed_classes(ctrl, loss, y, n_classes):
    """The class count every process agrees on when rows are sharded over several hosts
    (each sees only its own labels); else ``n_classes`` as given."""
    if (
        ctrl.devices is not None
        and jax.process_count() > 1
        and loss.target == "onehot"
        and n_classes is None
        and np.ndim(y) == 1
    ):
        from jax.experimental import multihost_utils

        n_classes = int(np.max(multihost_utils.process_allgather(np.array([np.max(y)])))) + 1
    return n_classes


def _fit_prepared(data, loss, opts, ctrl, key, dtype, X=None, deferred=False):
    """``fit`` on checked inputs: the rows sharded where asked, the objective built, one run
    of the driver. ``X``: the features as given; a run that diverged names the cell that
    made it (``_name_bad_values``), or, ``X`` being finite, stays a run that overflowed.
    ``deferred``: ``prepare`` left its scan for NaN and infinity to the run, which then
    also scans for values whose squares overflow when it falls short of its tolerance."""
    Xj, T, w, n_rows = data.X, data.T, data.sample_weight, None
    if ctrl.devices is not None:
        Xj, T, w, n_rows = shard_rows(Xj, T, w, ctrl.devices)
    obj = Objective.build(loss, _penalty(opts, dtype), w, opts.fit_intercept)
    init = initial_params(opts.init, data.X.shape[1], T.shape[1], dtype)
    mean = initial_mean(opts.init, data.X.shape[1], T.shape[1], dtype)
    out = execute(
        Problem(Xj, T, obj, data.X_val, data.T_val),
        opts.hyper(key, init, dtype, mean=mean),
        opts.settings(T.shape[1], n_rows, ctrl.callback is not None),
        control=ctrl,
    )
    if X is not None:
        _name_bad_values(X, data, out, opts, dtype, init, squares=deferred)
    return out


def _name_bad_values(X, data, out, opts: Options, dtype, init=None, squares=True) -> None:
    """After a run (or a batch of them), raise naming the cell of ``X`` (as given) that
    ended it: a value that is not finite, or not finite in the run's float type, where a
    run diverged; with ``squares``, a value whose square overflows where one fell short of
    its tolerance (``_short_of_its_tolerance``). Nothing when ``X`` holds neither. Each
    scan costs a read of ``X``, made only after such a run."""
    if np.any(np.asarray(out.status) == driver.DIVERGED):
        inputs.check_finite_after(X, data)
    if squares and _short_of_its_tolerance(out, opts, init):
        inputs.check_squares_after(X, dtype)


def _short_of_its_tolerance(out, opts: Options, init=None) -> bool:
    """Whether a run (or any model of a batched one: a leading model axis) ended without
    meeting its tolerance — at its iteration limit, at rounding, with its objective
    unchanged since the first epoch, or exactly where it began (zeros, or the warm start
    ``init`` of a single model) — which is what values whose squares overflow do to every
    solver's steps (the curvature and the scores after a step are infinite): then the
    caller scans ``X`` for them, one read of it after a run of many."""
    if not np.any(np.asarray(out.epochs) > 0):
        return False
    status = np.asarray(out.status)
    aimed = any(t is not None for t in (opts.tol, opts.grad_tol, opts.step_tol))
    if np.any(status == driver.ROUNDING) or (aimed and np.any(status == driver.MAX_EPOCHS)):
        return True  # (a run of fixed epochs is meant to end at its limit)
    objective = np.asarray(out.history.objective)
    for run in objective.reshape(-1, objective.shape[-1]):
        run = run[np.isfinite(run)]
        if run.size >= 2 and run[0] == run[-1]:
            return True  # not one step changed the objective (its rate collapsed to 0)
    W, b = np.asarray(out.params.W), np.asarray(out.params.b)
    if b.ndim == 2:  # one row of intercepts per model
        unmoved = np.all(W.reshape(len(b), -1) == 0, axis=1) & np.all(b == 0, axis=1)
        return opts.init == "zeros" and bool(np.any(unmoved))
    if init is not None:
        return np.array_equal(W, np.asarray(init.W)) and np.array_equal(b, np.asarray(init.b))
    return opts.init == "zeros" and not W.any() and not b.any()


def verified(loss, given, ctrl: RunControl) -> None:
    """Refuse a loss of the user's whose δ disagrees with autodiff (unless ``verify=False``),
    naming the worst point and where to look further (``given``: the loss as passed)."""
    if not ctrl.verify or is_builtin(loss):
        return
    from jaxlin.verification import quick_check

    row = quick_check(loss)
    if not row.passed:
        spec = given if isinstance(given, str) else "MODULE:ATTR"
        raise ValueError(
            f"loss: {loss.name!r} fails the check of its derivation: δ differs "
            f"from autodiff by {row.err_autodiff:.1e} (relative); {row.note}. See "
            f"the whole report with `jaxlin check --loss {spec}` or "
            "jaxlin.verify(loss); fix δ, or pass verify=False to train anyway"
        )


def label_classes(y, validation_data=None, loss=None, n_classes=None):
    """Labels of any kind as ``0..C−1``: ``(y, validation_data, classes)``. Text labels (or
    any non-numeric ones) are encoded by their sorted unique values, as scikit-learn's
    ``LabelEncoder``; numeric labels pass through unchanged (``classes`` ``None``: they are
    class indices), except that two values other than 0 and 1 for a binary ``loss`` (±1,
    ``{1, 2}``; ``n_classes`` not above 2) are encoded so (the larger is class 1), and
    booleans keep ``[False, True]``, so that predictions come back in them. Validation labels
    must be among the training classes."""
    given = validation.as_host_array(y, "y")
    arr = validation.numeric_labels(given)  # Python ints in an object array are numbers
    validation.check_finite_values(arr, "y")  # before a NaN counts as a class
    if arr.ndim == 1 and arr.dtype.kind == "b":  # predictions come back as booleans
        return arr.astype(np.int32), validation_data, np.array([False, True])
    if arr.ndim != 1 or arr.dtype.kind in "iuf":
        if not _two_labels(arr, loss, n_classes):
            return (y if arr is given else arr), validation_data, None
    validation.check_labelled(arr, "y")
    classes, encoded = validation.label_order(arr, "y")
    return encoded, _validation_codes(validation_data, classes), classes


def _two_labels(arr, loss, n_classes) -> bool:
    """Whether numeric labels are the two classes of a binary ``loss`` given as two values
    other than 0 and 1 (±1, ``{1, 2}``, ``{0.5, 1.5}``), which are encoded as text labels
    are; 0/1 labels, and more values, are class indices (one-vs-rest above two)."""
    if loss is None or loss.target != "binary" or arr.ndim != 1 or n_classes not in (None, 2):
        return False
    values = np.unique(arr)
    return len(values) == 2 and not set(values.tolist()) <= {0, 1}


def _validation_codes(validation_data, classes):
    """``(X_val, y_val)`` with ``y_val`` as the codes of the training ``classes`` (each of
    its labels must be one of them); ``None`` as it is."""
    if validation_data is None:
        return None
    try:
        Xv, yv = validation_data
    except (TypeError, ValueError):
        raise ValueError("validation_data: expected a pair (X_val, y_val)") from None
    yv = validation.numeric_labels(validation.as_host_array(yv, "y_val"))
    validation.check_labelled(yv, "y_val")
    try:
        unknown = np.setdiff1d(yv, classes)
    except TypeError:  # another type than the classes': NumPy cannot compare them
        known = set(classes.tolist())
        unknown = np.array([v for v in yv.ravel() if v not in known][:1], dtype=object)
    if unknown.size:
        raise ValueError(
            f"y_val: label {np.asarray(unknown[0]).item()!r} is not among the training classes "
            f"{classes.tolist()}"
        )
    return Xv, np.searchsorted(classes, yv)


class Inputs(NamedTuple):
    """The data arguments of a fit besides ``X`` and ``y``, as given."""

    validation_data: Any = None
    sample_weight: Any = None
    n_classes: Any = None
    dtype: Any = jnp.float32


def _bucketed(opts: Options, ctrl: RunControl, dtype):
    """``X ↦`` the padded row count when ``ctrl.buckets`` (else ``None``): for a full-batch
    run of a solver that weighs its rows, ``inputs.shared_rows`` in ``dtype``, else ``N``
    (mini-batches and a solver that visits rows one by one would see the padding rows, so
    their rows stay as given)."""
    if not ctrl.buckets:
        return None

    def rows_for(X):
        n, b = X.shape[0], opts.batch_size
        full = b is None or (isinstance(b, (int, np.integer)) and b >= n)
        return inputs.shared_rows(X, dtype) if full and opts.record.weighted else n

    return rows_for


def _record(loss):
    """How a result names its loss: as given when a string (a built-in or ``MODULE:ATTR``),
    else the built-in's name or the user's ``Loss`` itself."""
    return loss if isinstance(loss, str) else loss_key(loss)


def _fit_one_vs_rest(X, y, loss, opts: Options, ctrl: RunControl, given: Inputs, key) -> FitResult:
    """K binary models (class k against the rest), trained together by ``vmap``.

    The result stacks them: ``W`` ``(d, K)``, ``b`` ``(K,)``; history, epochs and status
    have a leading class axis. Predict with ``argmax`` of the scores.
    """
    if ctrl.callback is not None:
        raise ValueError("callback: one model at a time; one-vs-rest trains one per class")
    validation_data, dtype = given.validation_data, given.dtype
    y = validation.check_one_vs_rest_labels(y, loss.name)
    multi = get_loss("softmax_cross_entropy")
    onehot = host_targets(y, multi, given.n_classes)
    k = onehot.shape[1]
    per_class = given.sample_weight is not None and np.ndim(given.sample_weight) == 2
    # each class's column is checked as a binary target of 2 stated classes: a chunk of the
    # data (partial_fit) may hold one class only
    data = inputs.prepare(
        X,
        onehot[:, 0],
        loss,
        sample_weight=None if per_class else given.sample_weight,
        n_classes=2,
        dtype=dtype,
        rows_for=_bucketed(opts, ctrl, dtype),
    )
    opts = opts.check(data.n_rows, loss, has_validation=validation_data is not None, classes=k)
    pad = data.X.shape[0] - data.n_rows  # weight-0 rows of a shape bucket
    onehot = np.pad(onehot, ((0, pad), (0, 0)))
    weights, weight_axis = data.sample_weight, None
    if per_class:  # (N, K): column c weighs the rows in class c's model
        columns = _class_weight_columns(given.sample_weight, len(y), k)
        columns = np.pad(
            _weights_in_range(columns, dtype, "sample_weight[:, {0}] (class {0})"),
            ((0, 0), (0, pad)),
        )
        weights, weight_axis = put(columns, dtype), 0
    Xv = Tv = None
    if validation_data is not None:
        Xv, Tv = inputs.validation_targets(validation_data, multi, data.X.shape[1], k, dtype)
        Xv, Tv = (
            inputs.put_features(Xv, dtype),
            put(np.asarray(Tv).T[:, :, None], dtype),
        )  # (K, Nv, 1)
    by_class = any(np.ndim(getattr(opts, n)) == 1 for n in ("l1", "l2"))
    penalty = _penalty(opts, dtype, k if by_class else None)
    obj = Objective.build(loss, penalty, weights, opts.fit_intercept)
    problem = Problem(data.X, put(onehot.T[:, :, None], dtype), obj, Xv, Tv)
    init, mean = (
        _per_class(start(opts.init, data.X.shape[1], k, dtype))
        for start in (initial_params, initial_mean)
    )
    penalty_axis = Penalty(0, 0) if by_class else None
    hyper = opts.hyper(key, init, dtype, mean=mean)
    own_order = np.ndim(opts.shuffle) == 2  # each class's row order: its own batches
    axes = (
        Problem(
            None, 0, _unmapped(obj, penalty_axis, weight_axis), None, None if Xv is None else 0
        ),
        Hyper(
            0 if np.ndim(hyper.learning_rate) == 1 else None,  # one rate per class
            None,
            None if init is None else 0,
            0 if hyper.tol is not None and np.ndim(hyper.tol) == 1 else None,
            order=0 if own_order else None,
        ),
    )
    if hyper.average is not None:  # the mean so far, per class like the start
        axes = (axes[0], axes[1]._replace(average=(None, None if mean is None else 0)))
    out = execute(problem, hyper, opts.settings(1), axes, ctrl)
    _name_bad_values(X, data, out, opts, dtype)
    last = None if out.last is None else _per_class(out.last, back=True)
    params = _per_class(out.params, back=True)
    return FitResult(params, out.history, out.epochs, out.status, loss.name, k, last=last)


def _class_weight_columns(sample_weight, n, k):
    """One-vs-rest weights given per class, ``(N, K)``, checked and as ``(K, N)`` rows
    (class ``c``'s model weighs row ``i`` by ``[i, c]``)."""
    sw = validation.as_host_array(sample_weight, "sample_weight")
    if sw.shape != (n, k):
        raise ValueError(
            f"sample_weight: expected ({n},), or ({n}, {k}) for one weight per row and class "
            f"of a one-vs-rest fit, got {sw.shape}"
        )
    return np.stack(
        [
            validation.check_sample_weight(column, n, f"sample_weight[:, {c}] (class {c})")
            for c, column in enumerate(sw.T)
        ]
    )


def _per_class(params, back=False):
    """``(d, K)`` parameters as ``K`` binary models ``(K, d, 1)``, or (``back``) those as
    ``(d, K)``; ``None`` kept. Rearranged on the host, once a fit: on JAX arrays each of the
    slice, transpose and new axis is a program of its own to compile (0.08–0.13 s of a first
    one-vs-rest fit)."""
    if params is None:
        return None
    W, b = (np.asarray(jax.device_get(a)) for a in params)
    W, b = (W[:, :, 0].T, b[:, 0]) if back else (W.T[:, :, None], b[:, None])
    return Params(*put_all((np.ascontiguousarray(W), b), W.dtype))


def check_no_one_vs_rest(loss, y, n_classes, caller="fit_many"):
    """``caller`` (``fit_many`` and what builds on it) trains no one-vs-rest models: a binary
    loss on more than 2 classes (shown by ``y`` or stated by ``n_classes``) is refused,
    naming which said so."""
    if _is_one_vs_rest(loss, y, False, validation.check_n_classes(n_classes)):
        name = "y" if n_classes is None else "n_classes"
        raise ValueError(
            f"{name}: loss {loss.name!r} is binary and {caller} trains no one-vs-rest "
            "models on more than 2 classes; train them with fit, or use a multi-class loss"
        )


@backend.computes_in_dtype
def fit_many(
    X,
    y,
    loss="binary_cross_entropy",
    *,
    seed=0,
    sample_weight=None,
    validation_data=None,
    n_classes=None,
    dtype=jnp.float32,
    pairing=None,
    control=None,
    **options,
) -> FitResult:
    """Train many models in one compiled program, ``vmap``-ped over their numbers.

    ``learning_rate``, ``l1``, ``l2`` and ``seed`` may each be a scalar or a 1-D sequence;
    ``sample_weight`` may be ``(N,)`` or ``(M, N)`` (e.g. cross-validation folds as 0/1
    weights, see ``kfold_weights``); ``init`` may carry a leading model axis. One varying
    argument gives one model per value, scalars are shared by every model. **Pairing:** when
    several arguments vary, the call could mean "model i takes value i of each" or "every
    combination", so it is an error unless ``pairing="zip"`` says the former (then they
    must have one common length ``M``); for every combination use
    ``jaxlin.selection.fit_grid``. Every other argument is as for ``fit`` (of the run
    controls, ``progress`` and the checkpoint ones; the models are one program on one
    device). The result has a leading model axis; each model equals the one ``fit``
    trains alone with the same numbers.
    """
    given = dict(seed=seed, sample_weight=sample_weight, validation_data=validation_data)
    given.update(n_classes=n_classes, dtype=dtype, pairing=pairing, control=control)
    run = _many("fit_many", X, y, loss, options, **given)
    out = execute(run.problem, run.hyper, run.settings, run.axes, run.ctrl)
    _name_bad_values(X, run.data, out, run.opts, dtype)
    return run.result(out)


class _Many(NamedTuple):
    """A many-model run, checked and placed: what ``fit_many`` and ``fit_path`` execute."""

    problem: Problem
    hyper: Hyper
    settings: Any
    axes: Any
    ctrl: RunControl
    data: Any
    opts: Options
    record: Any
    classes: Any
    names: Any
    models: int

    def result(self, out) -> FitResult:
        p, h, e, status, last = out
        n = self.data.n_classes
        return FitResult(p, h, e, status, self.record, n, self.classes, last, self.names)


def _many(caller, X, y, loss, options, *, seed, sample_weight, validation_data, **given):
    """``fit_many``'s checks and placement (``caller`` names the entry point in errors;
    ``given``: ``n_classes``, ``dtype``, ``pairing`` and ``control``)."""
    n_classes, dtype, pairing = given["n_classes"], given["dtype"], given["pairing"]
    control = given["control"]
    record, loss = _record(loss), get_loss(loss)
    opts, ctrl, key = split_options(options, caller, control=control)
    verified(loss, record, ctrl)
    names = validation.column_names(X)
    y, validation_data, classes = label_classes(y, validation_data, loss, n_classes)
    for name in ("devices", "buckets", "one_vs_rest", "callback"):
        if getattr(ctrl if name in RunControl._fields else opts, name) not in (None, False):
            raise ValueError(f"{name}: not available in {caller} (train one model with fit)")
    check_no_one_vs_rest(loss, y, n_classes, caller)
    lr, a1, a2, sd = (
        np.atleast_1d(np.asarray(v))
        for v in (opts.learning_rate, opts.l1, opts.l2, validation.check_seed(seed, many=True))
    )
    sw = None if sample_weight is None else np.asarray(sample_weight, np.float64)
    m = _models(dict(learning_rate=lr, l1=a1, l2=a2, seed=sd), sw, opts.init, pairing)
    data = inputs.prepare(
        X,
        y,
        loss,
        validation_data=validation_data,
        n_classes=n_classes,
        sample_weight=sw if sw is not None and sw.ndim == 1 else None,
        dtype=dtype,
    )
    opts = opts.check(data.X.shape[0], loss, data.X_val is not None, data, models=True)
    if callable(lr[0]):  # an optax schedule, now in the optimiser; its first rate recorded
        lr = np.atleast_1d(opts.learning_rate)
    w, w_axis = data.sample_weight, None
    if sw is not None and sw.ndim == 2:
        rows = _check_weight_rows(sw, m, data.X.shape[0])
        w, w_axis = put(_weights_in_range(rows, dtype, "sample_weight[{0}] (model {0})"), dtype), 0
    obj = Objective.build(
        loss, _penalty(opts._replace(l1=a1, l2=a2), dtype, m), w, opts.fit_intercept
    )
    keys, key_axis = _model_keys(key, sd)
    init, mean, init_axis, mean_axis = _model_starts(opts.init, data, dtype, m)
    hyper = opts.hyper(keys, init, dtype, learning_rate=np.broadcast_to(lr, (m,)), mean=mean)
    axes = (
        Problem(None, None, _unmapped(obj, Penalty(0, 0), w_axis), None, None),
        Hyper(0, key_axis, init_axis, average=hyper.average and (None, mean_axis)),
    )
    problem = Problem(data.X, data.T, obj, data.X_val, data.T_val)
    settings = opts.settings(data.T.shape[1])
    return _Many(problem, hyper, settings, axes, ctrl, data, opts, record, classes, names, m)


@backend.computes_in_dtype
def fit_path(
    X,
    y,
    loss="binary_cross_entropy",
    *,
    stages=None,
    seed=0,
    sample_weight=None,
    validation_data=None,
    n_classes=None,
    dtype=jnp.float32,
    control=None,
    **options,
) -> FitResult:
    """A regularisation path: ``fit_many``'s models trained at ``S`` penalty strengths in
    turn, each stage starting from the last stage's solutions (a warm start), all in one
    compiled program.

    ``l1``, ``l2`` (options, as everywhere): a number, ``(S,)`` (stage ``s``'s strength,
    shared by every model) or ``(S, M)`` (stage ``s``'s strength of model ``m``). The stages
    go in the order given: from the strongest penalty, whose solution is nearest zero, for
    the warm starts to help. ``stages``: run only the first that many (a traced count:
    paths that differ in it share the program; the result holds those). The first stage
    starts at ``init`` (zeros, or given ``Params``, with or without a model axis). The
    per-model sequences (``learning_rate``, ``seed``, ``sample_weight`` rows, the
    strengths' columns) pair element by element — model ``m`` takes value ``m`` of each
    (``fit_many``'s ``pairing="zip"``). Every other argument is as for ``fit_many``. The
    result has leading ``(S, M)`` axes; stage ``s`` equals ``fit_many`` at its strengths
    started from stage ``s − 1``'s parameters, bit for bit. Without ``progress`` or
    checkpoints (one call).

    >>> import numpy as np
    >>> X = np.array([[0.0], [1.0], [2.0], [3.0]]); y = np.array([0, 0, 1, 1])
    >>> path = fit_path(X, y, l2=[1.0, 0.1, 0.01], optimizer="newton")
    >>> path.params.W.shape, bool(np.all(np.diff(path.params.W[:, 0, 0, 0]) > 0))
    ((3, 1, 1, 1), True)
    """
    l1s, l2s = _stage_strengths(options.pop("l1", 0.0), options.pop("l2", 0.0))
    S = l1s.shape[0]
    n_run = S if stages is None else validation.check_positive(stages, "stages", integer=True)
    if n_run > S:
        raise ValueError(f"stages: {n_run} asked for but the path has {S}")
    given = dict(seed=seed, sample_weight=sample_weight, validation_data=validation_data)
    given.update(n_classes=n_classes, dtype=dtype, pairing="zip", control=control)
    row = int(np.argmax(np.abs(l1s).reshape(S, -1).max(axis=1)))  # (decides has_l1)
    run = _many("fit_path", X, y, loss, {**options, "l1": l1s[row], "l2": l2s[row]}, **given)
    if run.ctrl.chunked:
        raise ValueError("progress, checkpoint: not available in fit_path (one compiled call)")
    if run.settings.average:
        raise ValueError("average: not available in fit_path")
    if isinstance(run.opts.init, str) and run.opts.init != "zeros":
        raise ValueError(f"init: a path starts at zeros or at given Params, got {run.opts.init!r}")
    per_model = [np.broadcast_to(a.reshape(S, -1), (S, run.models)) for a in (l1s, l2s)]
    penalties = Penalty(*put_all(per_model, dtype))  # (S, M) each, in one transfer
    hyper, settings, axes = _per_model_start(run, dtype)
    program = compiled(_path_loop, run.problem.X, settings, ("settings", "model_axes"), True)
    out = program(run.problem, hyper, penalties, _epochs(n_run), settings=settings, model_axes=axes)
    out = _trimmed(out, int(np.max(jax.device_get(hyper.epochs))))
    # the stages run, on the host (small arrays: an eager slice would compile a program)
    out = jax.tree.map(lambda a: np.asarray(a)[:n_run], jax.device_get(out))
    flat = jax.tree.map(lambda a: a.reshape(a.shape[0] * a.shape[1], *a.shape[2:]), out)
    _name_bad_values(X, run.data, flat, run.opts, dtype)
    return run.result(out)


def _stage_strengths(l1, l2):
    """``fit_path``'s ``l1`` and ``l2`` as arrays with one leading stage axis, broadcast
    against each other (a number: one stage); every strength non-negative and finite."""
    arrays = []
    for name, v in (("l1", l1), ("l2", l2)):
        a = np.asarray(validation.check_non_negative(v, name), np.float64)
        if a.ndim > 2 or a.size == 0:
            raise ValueError(
                f"{name}: expected a number, one strength per stage (S,) or per stage and "
                f"model (S, M), got shape {a.shape}"
            )
        arrays.append(np.atleast_1d(a))
    try:
        return np.broadcast_arrays(*arrays)
    except ValueError:
        raise ValueError(
            f"l1, l2: their stages do not match: shapes {np.shape(l1)} and {np.shape(l2)}"
        ) from None


def _per_model_start(run: _Many, dtype):
    """``run``'s hyperparameters, settings and axes with a start of its own for every model
    (the stages hand each model's solution to its next stage): zeros, or ``init`` repeated
    when the models share it."""
    hyper, (problem_axes, hyper_axes) = run.hyper, run.axes
    m, k = run.models, run.data.T.shape[1]
    init = hyper.init
    if init is None:
        d = run.data.X.shape[1]
        init = Params(*put_all((np.zeros((m, d, k)), np.zeros((m, k))), dtype))
    elif hyper_axes.init is None:  # repeated on the host (an eager broadcast compiles)
        shared = jax.device_get(init)
        init = Params(*put_all([np.broadcast_to(a, (m, *a.shape)) for a in shared], dtype))
    hyper = hyper._replace(init=init)
    return hyper, run.settings._replace(init="given"), (problem_axes, hyper_axes._replace(init=0))


def _path_loop(problem, hyper, penalties, stages, settings, model_axes):
    """``fit_path``'s program: a ``lax.scan`` over the stages, stage ``s`` running the
    models (``_loop``) at penalty ``s`` from stage ``s − 1``'s parameters; the stages from
    ``stages`` on get an epoch limit of 0 (their start only: one trace of the models' loop,
    not two, and the same program for every count)."""
    problem = driver.prepared(problem, settings)  # once for every stage
    limit = driver.epoch_limit(hyper, settings)

    def stage(init, xs):
        i, penalty = xs
        obj = dataclasses.replace(problem.objective, penalty=penalty)
        p, h = problem._replace(objective=obj), hyper._replace(init=init)
        until = jnp.where(i < stages, limit, 0)
        out = driver.trained(_loop(p, h, None, until, settings, model_axes))
        return out.params, out

    n = jax.tree.leaves(penalties)[0].shape[0]
    return jax.lax.scan(stage, hyper.init, (jnp.arange(n), penalties))[1]


def _model_keys(key, seeds):
    """``fit_many``'s PRNG keys and their model axis. One seed (or a key) for all models: the
    key stays unbatched, so every model draws the same mini-batches and the gather of each
    batch is done once for all of them; several seeds: one key each (axis 0)."""
    if len(seeds) == 1:
        return validation.key_or_seed(key, int(seeds[0])), None
    if key is not None:
        raise ValueError(
            f"seed, key: both given ({len(seeds)} seeds and a key); the seeds would be used "
            "and the key ignored: give one of them"
        )
    return backend.random_key(seeds), 0


def _model_starts(init, data, dtype, m):
    """``fit_many``'s warm start and mean of the iterates so far (``None`` where there is
    none), and their model axes (``0``, or ``None`` when every model shares them)."""
    starts = [
        start(init, data.X.shape[1], data.T.shape[1], dtype, n_models=m)
        for start in (initial_params, initial_mean)
    ]
    return (*starts, *(0 if p is not None and p.W.ndim == 3 else None for p in starts))


def _models(sequences: dict, sw, init, pairing) -> int:
    """The number of models ``M`` from the per-model arguments, by ``fit_many``'s rule."""
    if pairing not in (None, "zip"):
        raise ValueError(f"pairing: expected None or 'zip', got {pairing!r}")
    for name, values in sequences.items():
        if np.ndim(values) > 1:
            raise ValueError(
                f"{name}: expected a number or a 1-D sequence (one per model), got shape "
                f"{np.shape(values)}"
            )
        if len(values) == 0:
            raise ValueError(f"{name}: an empty sequence; give one value, or one per model")
    if sw is not None and (sw.ndim not in (1, 2) or sw.size == 0):
        raise ValueError(
            f"sample_weight: expected one weight per row (N,) or one row per model (M, N), "
            f"got shape {sw.shape}"
        )
    varying = {k: len(v) for k, v in sequences.items() if len(v) > 1}
    if sw is not None and sw.ndim == 2:
        varying["sample_weight"] = sw.shape[0]
    W = getattr(getattr(init, "params", init), "W", None)
    if W is not None and np.ndim(W) == 3:
        varying["init"] = np.shape(W)[0]
    if len(varying) > 1 and pairing is None:
        listed = ", ".join(f"{k} ({n})" for k, n in varying.items())
        raise ValueError(
            f"fit_many: several arguments vary: {listed}. Pass pairing='zip' to "
            "pair them element by element, or use jaxlin.fit_grid for every "
            "combination"
        )
    if len(set(varying.values())) > 1:
        raise ValueError(f"fit_many: the per-model sequences have different lengths {varying}")
    return next(iter(varying.values()), 1)


def _check_weight_rows(sw, m, n):
    if sw.shape != (m, n):
        raise ValueError(f"sample_weight: expected ({m}, {n}), got {sw.shape}")
    for i, row in enumerate(sw):
        validation.check_sample_weight(row, n, f"sample_weight[{i}] (model {i})")
    return sw


def _weights_in_range(rows, dtype, name):
    """Each weighting of ``rows`` (``(M, N)``: model ``i``'s or class ``i``'s) within the
    run's float type, and its sum too (``validation.check_weights_in_range``)."""
    for i, row in enumerate(rows):
        validation.check_weights_in_range(row, name.format(i), dtype)
    return rows


def shard_rows(X, T, w, devices):
    """Place the rows of ``X``, ``T`` and ``w`` across ``devices`` (data parallelism).

    A 1-D ``Mesh`` named ``"data"``; ``X`` and ``T`` get ``NamedSharding(P("data", None))``,
    the weights ``P("data")``. Parameters are not placed: they are created inside the
    compiled program and stay replicated; XLA's SPMD partitioner inserts the all-reduce of
    the gradient. When N is not a multiple of the device count, zero rows with weight 0 are
    appended (the weighted mean ignores them and no mini-batch draws them), so the result
    equals the unsharded run up to float rounding. Returns ``(X, T, w, n_rows)``.
    """
    from jax.sharding import Mesh, NamedSharding, PartitionSpec as P

    if isinstance(X, SparseRows):
        raise ValueError(
            "devices: sparse X trains on one device (its rows have different "
            "lengths, so they are not split into equal shards); leave devices "
            "unset"
        )
    if jax.process_count() > 1:
        return _shard_rows_multihost(X, T, w)
    devs = local_devices(devices)
    n = X.shape[0]
    X, T, w = inputs.pad_rows(X, T, w, n + (-n) % len(devs))
    mesh = Mesh(np.array(devs), ("data",))
    rows = NamedSharding(mesh, P("data", None))
    X, T = jax.device_put(X, rows), jax.device_put(T, rows)
    if w is not None:
        w = jax.device_put(w, NamedSharding(mesh, P("data")))
    return X, T, w, n


def _shard_rows_multihost(X, T, w):
    """Several processes (``jax.distributed.initialize``): each passes its own rows.

    Every process pads its rows with weight-0 rows to the same count (a multiple of its
    local device count), and the global arrays are assembled with
    ``jax.make_array_from_process_local_data`` over a mesh of all devices of all processes.
    Padding then sits inside the row range, so mini-batches may draw weight-0 rows (full-batch
    solvers are exact); returns ``n_rows = None``.
    """
    from jax.experimental import multihost_utils
    from jax.sharding import Mesh, NamedSharding, PartitionSpec as P

    n_local = X.shape[0]
    counts = np.asarray(multihost_utils.process_allgather(np.array([n_local]))).ravel()
    per = -(-int(counts.max()) // jax.local_device_count()) * jax.local_device_count()
    pad = per - n_local
    Xl = np.concatenate([np.asarray(X), np.zeros((pad, X.shape[1]), X.dtype)])
    Tl = np.concatenate([np.asarray(T), np.zeros((pad, T.shape[1]), T.dtype)])
    wl = np.concatenate(
        [np.ones(n_local, X.dtype) if w is None else np.asarray(w), np.zeros(pad, X.dtype)]
    )
    mesh = Mesh(np.array(jax.devices()), ("data",))
    rows, vec = NamedSharding(mesh, P("data", None)), NamedSharding(mesh, P("data"))
    make = jax.make_array_from_process_local_data
    return make(rows, Xl), make(rows, Tl), make(vec, wl), None


def kfold_weights(n: int, k: int, key, *, argument: str = "k", fold_in=()) -> np.ndarray:
    """``(k, n)`` 0/1 training weights of a shuffled k-fold split (row ``i`` leaves fold
    ``i`` out), shuffled by ``jax.random.permutation(key, n)`` (``key`` with the integers
    ``fold_in`` folded in first, ``data.shuffled_rows``). A bad ``k`` is refused by the name
    ``argument`` (the caller's)."""
    validation.check_positive(n, "n", integer=True)
    validation.check_positive(k, argument, integer=True)
    if k < 2 or k > n:
        raise ValueError(f"{argument}: need 2 <= {argument} <= n = {n} rows, got {k}")
    validation.check_key(key)
    folds = np.array_split(shuffled_rows(n, key, fold_in=fold_in), k)
    w = np.ones((k, n))
    for i, idx in enumerate(folds):
        w[i, idx] = 0.0
    return w
