"""``jaxlin.fit`` and ``jaxlin.fit_many``: the public training entry points.

They check the inputs (clear ``ValueError``/``TypeError`` naming the argument), convert
labels once, then run one compiled program from :mod:`jaxlin.solvers`. ``fit_many``
trains many models in that one program by ``vmap`` over learning rates, penalty
strengths, seeds and sample weights (e.g. cross-validation folds as 0/1 weights).
"""
from __future__ import annotations

from functools import partial
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from jaxlin import solvers, validation
from jaxlin.linear import Params
from jaxlin.losses import get_loss
from jaxlin.objective import encode_targets
from jaxlin.solvers import STOP_REASONS, Config, History, Hyper

OPTIMIZER_NAMES = (*solvers.OPTIMIZERS, "lbfgs", "perceptron")


class FitResult(NamedTuple):
    """What training returns.

    Attributes:
      params: :class:`~jaxlin.linear.Params` (``W`` ``(d, K)``, ``b`` ``(K,)``); with a leading
        model axis from :func:`fit_many`.
      history: :class:`~jaxlin.solvers.History` of per-epoch arrays (NaN after the last epoch).
      epochs: epochs run (for a diverged run: the epoch at which it diverged).
      status: stop code; :attr:`stop_reason` is its name.
      loss: the loss's name. n_classes: number of classes (``None`` for regression).
    """

    params: Params
    history: History
    epochs: Any
    status: Any
    loss: str
    n_classes: Any = None

    @property
    def stop_reason(self):
        status = np.asarray(self.status)
        if status.ndim == 0:
            return STOP_REASONS[int(status)]
        return np.vectorize(lambda s: STOP_REASONS[int(s)])(status)

    @property
    def diverged(self):
        return np.asarray(self.status) == solvers.DIVERGED


def _solver_name(optimizer):
    if optimizer == "lbfgs":
        return "lbfgs"
    if optimizer == "perceptron":
        return "perceptron"
    return "gradient"


@partial(jax.jit, static_argnames=("cfg", "solver", "model_axes"))
def _advance(X, T, w, X_val, T_val, hyper, state, until, cfg, solver, model_axes):
    """One compiled call: run (or continue) the loop of one model or of many under vmap."""
    def one(T, w, T_val, hyper, state):
        return solvers.run(solver, X, T, w, X_val, T_val, hyper, cfg, state, until)

    if model_axes is None:
        return one(T, w, T_val, hyper, state)
    hyper_axes, w_axis, t_axis, tv_axis = model_axes
    if hyper_axes.key is None:
        return solvers.run_lockstep(solver, X, T, w, X_val, T_val, hyper, cfg, model_axes,
                                    state, until)
    state_axis = None if state is None else 0
    return jax.vmap(one, in_axes=(t_axis, w_axis, tv_axis, hyper_axes, state_axis))(
        T, w, T_val, hyper, state)


def _execute(X, T, w, X_val, T_val, hyper, cfg, solver, model_axes=None, progress=None):
    """The whole run as one compiled call, or — with a ``progress`` callback — in chunks of
    epochs between which ``progress(epochs_done, epochs_total)`` is called. Both give the
    same parameters: each chunk continues the loop state where the last one stopped."""
    args = (X, T, w, X_val, T_val, hyper)
    kw = dict(cfg=cfg, solver=solver, model_axes=model_axes)
    if progress is None:
        return solvers.trained(_advance(*args, None, cfg.epochs, **kw))
    chunk = max(1, -(-cfg.epochs // 100))
    state = _advance(*args, None, chunk, **kw)
    while True:
        done = int(np.max(np.asarray(state.epoch)))
        progress(done, cfg.epochs)
        if not np.any(np.asarray(state.status) == solvers.RUNNING) or done >= cfg.epochs:
            return solvers.trained(state)
        state = _advance(*args, state, done + chunk, **kw)


def _prepare(X, y, loss, optimizer, learning_rate, epochs, batch_size, l1, l2, tol, grad_tol,
             adaptive_lr, validation_data, patience, sample_weight, n_classes, init, dtype,
             fit_intercept=True):
    loss = get_loss(loss)
    if not (isinstance(optimizer, str) and optimizer in OPTIMIZER_NAMES) and \
            not callable(optimizer) and not hasattr(optimizer, "update"):
        raise ValueError(f"optimizer: unknown optimizer {optimizer!r}; choose one of "
                         f"{', '.join(OPTIMIZER_NAMES)} or pass an optax GradientTransformation")
    validation.check_choice(init, "init", ("zeros", "uniform"))
    Xn = validation.check_features(X, "X")
    n = Xn.shape[0]
    y_arr = np.asarray(y)
    if y_arr.ndim == 0 or y_arr.shape[0] != n:
        raise ValueError(f"y: has {y_arr.shape[0] if y_arr.ndim else 0} labels but X has {n} rows")
    validation.check_positive(learning_rate, "learning_rate")
    validation.check_positive(epochs, "epochs", integer=True)
    validation.check_positive(batch_size, "batch_size", integer=True, allow_none=True)
    validation.check_non_negative(l1, "l1")
    validation.check_non_negative(l2, "l2")
    validation.check_positive(tol, "tol", allow_none=True)
    validation.check_positive(grad_tol, "grad_tol", allow_none=True)
    validation.check_positive(patience, "patience", integer=True, allow_none=True)
    w = validation.check_sample_weight(sample_weight, n) if np.ndim(sample_weight) <= 1 else \
        np.asarray(sample_weight, np.float64)
    if optimizer == "lbfgs" and np.any(np.asarray(l1) > 0):
        raise ValueError("l1: L-BFGS needs a smooth objective; use optimizer 'gd'/'sgd' "
                         "(proximal steps) for an L1 penalty")
    if adaptive_lr and (optimizer not in ("gd", "sgd") or (batch_size or n) < n):
        raise ValueError("adaptive_lr: the bold driver needs full-batch 'gd' (no batch_size)")
    if optimizer == "perceptron" and loss.target != "binary":
        raise ValueError(f"optimizer: the perceptron learning algorithm is binary; "
                         f"loss {loss.name!r} is not")
    T = encode_targets(y_arr, loss, n_classes)
    if loss.target != "real" and T.shape[1] == 1 and len(np.unique(y_arr)) < 2:
        raise ValueError("y: only one class present; a classifier needs at least two")
    val = None
    if validation_data is not None:
        Xv, yv = validation_data
        Xv = validation.check_features(Xv, "X_val", n_features=Xn.shape[1])
        yv = np.asarray(yv)
        validation.check_rows(Xv.shape[0], yv, "y_val")
        Tv = encode_targets(yv, loss, T.shape[1] if loss.target == "onehot" else None)
        if Tv.shape[1] != T.shape[1]:
            raise ValueError(f"y_val: gives {Tv.shape[1]} outputs but y gives {T.shape[1]}")
        val = (jnp.asarray(Xv, dtype), Tv.astype(dtype))
    elif patience is not None:
        raise ValueError("patience: early stopping needs validation data")
    cfg = Config(loss=loss, n_outputs=T.shape[1], optimizer=optimizer, epochs=int(epochs),
                 batch_size=None if batch_size is None or batch_size >= n else int(batch_size),
                 tol=None if tol is None else float(tol),
                 grad_tol=None if grad_tol is None else float(grad_tol),
                 adaptive_lr=bool(adaptive_lr), patience=patience, has_validation=val is not None,
                 init=init, use_prox=bool(np.any(np.asarray(l1) > 0)),
                 fit_intercept=bool(fit_intercept))
    Xj = jnp.asarray(Xn, dtype)
    wj = None if w is None else jnp.asarray(w, dtype)
    n_cls = None if loss.target == "real" else max(2, T.shape[1])
    return cfg, Xj, T.astype(dtype), wj, val, n_cls


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

    if jax.process_count() > 1:
        return _shard_rows_multihost(X, T, w)
    if devices == "auto":
        devs = jax.local_devices()
    else:
        validation.check_positive(devices, "devices", integer=True)
        if devices > jax.local_device_count():
            raise ValueError(f"devices: asked for {devices}, but only "
                             f"{jax.local_device_count()} local devices exist")
        devs = jax.local_devices()[:devices]
    n = X.shape[0]
    pad = (-n) % len(devs)
    if pad:
        X = jnp.concatenate([X, jnp.zeros((pad, X.shape[1]), X.dtype)])
        T = jnp.concatenate([T, jnp.zeros((pad, T.shape[1]), T.dtype)])
        w = jnp.concatenate([jnp.ones((n,), X.dtype) if w is None else w,
                             jnp.zeros((pad,), X.dtype)])
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
    wl = np.concatenate([np.ones(n_local, X.dtype) if w is None else np.asarray(w),
                         np.zeros(pad, X.dtype)])
    mesh = Mesh(np.array(jax.devices()), ("data",))
    rows, vec = NamedSharding(mesh, P("data", None)), NamedSharding(mesh, P("data"))
    make = jax.make_array_from_process_local_data
    return make(rows, Xl), make(rows, Tl), make(vec, wl), None


def _key(key, seed):
    if key is not None:
        return key
    return jax.random.key(seed)


def fit(X, y, loss="binary_cross_entropy", *, optimizer="gd", learning_rate=0.1, epochs=100,
        batch_size=None, l1=0.0, l2=0.0, tol=None, grad_tol=None, adaptive_lr=False,
        validation_data=None, patience=None, sample_weight=None, n_classes=None,
        one_vs_rest=False, init="zeros", key=None, seed=0, dtype=jnp.float32,
        progress=None, fit_intercept=True, devices=None) -> FitResult:
    """Train a linear model ``Z = X W + b`` on ``(X, y)`` by minimising ``mean L + R(W)``.

    Args:
      X: ``(N, d)`` features. y: labels ``(N,)`` (0/1, ±1 or 0..K−1) or targets ``(N, K)``.
      loss: a name of :data:`jaxlin.LOSSES` (``"binary_cross_entropy"``, ``"softmax_cross_entropy"``,
        ``"multiclass_hinge"``, …) or a :class:`~jaxlin.losses.Loss`.
      optimizer: ``"gd"``/``"sgd"`` (plain steps), ``"momentum"``, ``"nesterov"``, ``"adam"``,
        ``"adagrad"``, ``"rmsprop"``, ``"lbfgs"``, ``"perceptron"`` (Rosenblatt), an optax
        ``GradientTransformation``, or a callable ``learning_rate -> GradientTransformation``
        (e.g. to use a schedule).
      learning_rate: step size ``η`` (also the prox step for L1).
      epochs: maximum number of epochs (L-BFGS: iterations).
      batch_size: ``None`` for full batch; ``1`` for SGD; any ``B`` for mini-batches of a fresh
        permutation each epoch (the last partial batch is a smaller batch).
      l1, l2: penalty strengths, ``R(W) = l1 Σ|w| + l2 Σw²`` (never the bias). L1 uses proximal
        steps (exact zeros).
      tol: stop when ``|J_t − J_(t−1)| < tol`` (L-BFGS: relative to ``max(1, |J|)``).
      grad_tol: stop when ``‖∇J‖ < grad_tol``.
      adaptive_lr: the bold driver (full-batch ``gd``): grow ``η`` ×1.05 after a step that
        lowered ``J``; reject a step that raised it and halve ``η``.
      validation_data: ``(X_val, y_val)``, scored each epoch; with ``patience``, early
        stopping that returns the parameters of the best validation objective.
      sample_weight: ``(N,)`` non-negative weights (a weighted mean of the losses).
      n_classes: number of classes when ``y`` does not show them all.
      one_vs_rest: with a binary loss and multi-class ``y``, train one binary model per class,
        all together under ``vmap``.
      init: ``"zeros"`` or ``"uniform"`` in ``[−1, 1]``, from ``key`` (or ``seed``).
      dtype: ``jnp.float32`` (default) or ``jnp.float64`` (needs ``jax_enable_x64``).
      progress: optional ``callable(epochs_done, epochs_total)``; the run is then compiled
        once and executed in chunks of epochs, calling it between chunks (same result).
      fit_intercept: ``False`` keeps ``b = 0``.
      devices: ``None`` (default placement), a number of local devices or ``"auto"`` (all):
        the rows are sharded across them (:func:`shard_rows`); the program is the same.
    Returns:
      :class:`FitResult`.

    >>> import numpy as np
    >>> X = np.array([[0.0], [1.0], [2.0], [3.0]]); y = np.array([0, 0, 1, 1])
    >>> fit(X, y, epochs=500, learning_rate=1.0).stop_reason
    'max_epochs'
    """
    loss_obj = get_loss(loss)
    y_arr = np.asarray(y)
    if devices is not None and jax.process_count() > 1 and loss_obj.target == "onehot" \
            and n_classes is None and y_arr.ndim == 1:
        from jax.experimental import multihost_utils  # every process must agree on K
        n_classes = int(np.max(multihost_utils.process_allgather(np.array([y_arr.max()])))) + 1
    multi = (loss_obj.target == "binary" and y_arr.ndim == 1
             and len(np.unique(y_arr)) > 2) or one_vs_rest
    if multi and loss_obj.target == "binary":
        return _fit_one_vs_rest(X, y_arr, loss_obj, optimizer, learning_rate, epochs, batch_size,
                                l1, l2, tol, grad_tol, adaptive_lr, validation_data, patience,
                                sample_weight, n_classes, init, _key(key, seed), dtype, progress,
                                fit_intercept)
    cfg, Xj, T, w, val, n_cls = _prepare(X, y, loss, optimizer, learning_rate, epochs,
                                         batch_size, l1, l2, tol, grad_tol, adaptive_lr,
                                         validation_data, patience, sample_weight, n_classes,
                                         init, dtype, fit_intercept)
    hyper = Hyper(jnp.asarray(learning_rate, dtype), jnp.asarray(l1, dtype),
                  jnp.asarray(l2, dtype), _key(key, seed))
    Xv, Tv = val if val is not None else (None, None)
    if devices is not None:
        Xj, T, w, n_rows = shard_rows(Xj, T, w, devices)
        cfg = cfg._replace(n_rows=n_rows)
    out = _execute(Xj, T, w, Xv, Tv, hyper, cfg, _solver_name(optimizer), progress=progress)
    return FitResult(out.params, out.history, out.epochs, out.status, cfg.loss.name, n_cls)


def _fit_one_vs_rest(X, y, loss, optimizer, learning_rate, epochs, batch_size, l1, l2, tol,
                     grad_tol, adaptive_lr, validation_data, patience, sample_weight, n_classes,
                     init, key, dtype, progress=None, fit_intercept=True) -> FitResult:
    """K binary models (class k against the rest), trained together by ``vmap``.

    The result stacks them: ``W`` ``(d, K)``, ``b`` ``(K,)``; history, epochs and status
    have a leading class axis. Predict with ``argmax`` of the scores.
    """
    if np.asarray(y).dtype.kind not in "biu" and not np.all(np.asarray(y) == np.round(y)):
        raise ValueError("y: one-vs-rest needs integer class labels 0..K-1")
    onehot = np.asarray(encode_targets(y, "softmax_cross_entropy", n_classes))
    k = onehot.shape[1]
    cfg, Xj, _, w, val, _ = _prepare(X, onehot[:, 0], loss, optimizer, learning_rate, epochs,
                                     batch_size, l1, l2, tol, grad_tol, adaptive_lr, None,
                                     None, sample_weight, None, init, dtype, fit_intercept)
    if validation_data is not None:
        Xv, yv = validation_data
        Xv = validation.check_features(Xv, "X_val", n_features=Xj.shape[1])
        Tv = encode_targets(np.asarray(yv), "softmax_cross_entropy", k)
        cfg = cfg._replace(has_validation=True, patience=patience)
        Xv = jnp.asarray(Xv, dtype)
        Tv_cols = jnp.asarray(Tv, dtype).T[:, :, None]
    else:
        Xv, Tv_cols = None, None
    T_cols = jnp.asarray(onehot, dtype).T[:, :, None]  # (K, N, 1)
    hyper = Hyper(jnp.asarray(learning_rate, dtype), jnp.asarray(l1, dtype),
                  jnp.asarray(l2, dtype), key)

    axes = (Hyper(None, None, None, None), None, 0, None if Xv is None else 0)
    out = _execute(Xj, T_cols, w, Xv, Tv_cols, hyper, cfg, _solver_name(optimizer), axes,
                   progress)
    params = Params(out.params.W[:, :, 0].T, out.params.b[:, 0])
    return FitResult(params, out.history, out.epochs, out.status, loss.name, k)


def fit_many(X, y, loss="binary_cross_entropy", *, learning_rate=0.1, l1=0.0, l2=0.0, seed=0,
             key=None, sample_weight=None, **kwargs) -> FitResult:
    """Train many models in one compiled program, ``vmap``-ped over their numbers.

    ``learning_rate``, ``l1``, ``l2`` and ``seed`` may each be a scalar or a 1-D sequence;
    ``sample_weight`` may be ``(N,)`` or ``(M, N)`` (e.g. cross-validation folds as 0/1
    weights, see :func:`kfold_weights`). Sequences are broadcast to a common length ``M``.
    Every other argument is as for :func:`fit`. The result has a leading model axis;
    each model equals the one :func:`fit` trains alone with the same numbers.
    """
    lr, a1, a2, sd = (np.atleast_1d(np.asarray(v)) for v in (learning_rate, l1, l2, seed))
    sw = None if sample_weight is None else np.asarray(sample_weight, np.float64)
    lengths = {len(v) for v in (lr, a1, a2, sd) if len(v) > 1}
    if sw is not None and sw.ndim == 2:
        lengths.add(sw.shape[0])
    if len(lengths) > 1:
        raise ValueError(f"fit_many: the per-model sequences have different lengths {lengths}")
    m = lengths.pop() if lengths else 1
    dtype = kwargs.get("dtype", jnp.float32)
    cfg, Xj, T, _, val, n_cls = _prepare(
        X, y, loss, kwargs.get("optimizer", "gd"), lr, kwargs.get("epochs", 100),
        kwargs.get("batch_size"), a1, a2, kwargs.get("tol"), kwargs.get("grad_tol"),
        kwargs.get("adaptive_lr", False), kwargs.get("validation_data"), kwargs.get("patience"),
        None, kwargs.get("n_classes"), kwargs.get("init", "zeros"), dtype,
        kwargs.get("fit_intercept", True))
    extra = set(kwargs) - {"optimizer", "epochs", "batch_size", "tol", "grad_tol", "adaptive_lr",
                           "validation_data", "patience", "n_classes", "init", "dtype",
                           "progress", "fit_intercept"}
    if extra:
        raise TypeError(f"fit_many: unexpected arguments {sorted(extra)}")
    w_axis = None
    if sw is not None:
        if sw.ndim == 1:
            validation.check_sample_weight(sw, Xj.shape[0])
        else:
            if sw.shape[1] != Xj.shape[0]:
                raise ValueError(f"sample_weight: expected ({m}, {Xj.shape[0]}), got {sw.shape}")
            for row in sw:
                validation.check_sample_weight(row, Xj.shape[0])
            w_axis = 0
    # One seed for all models: the key stays unbatched, so every model draws the same
    # mini-batches and the gather of each batch is done once for all of them.
    shared_key = len(sd) == 1
    if shared_key:
        keys, key_axis = (key if key is not None else jax.random.key(int(sd[0]))), None
    else:
        keys, key_axis = jnp.stack([jax.random.key(int(s)) for s in sd]), 0

    def per_model(v):
        return jnp.asarray(np.broadcast_to(v, (m,)), dtype)

    hyper = Hyper(per_model(lr), per_model(a1), per_model(a2), keys)
    Xv, Tv = val if val is not None else (None, None)
    w = None if sw is None else jnp.asarray(sw, dtype)
    out = _execute(Xj, T, w, Xv, Tv, hyper, cfg, _solver_name(cfg.optimizer),
                   (Hyper(0, 0, 0, key_axis), w_axis, None, None), kwargs.get("progress"))
    return FitResult(out.params, out.history, out.epochs, out.status, cfg.loss.name, n_cls)


def kfold_weights(n: int, k: int, key) -> np.ndarray:
    """``(k, n)`` 0/1 training weights of a shuffled k-fold split (row ``i`` leaves fold ``i`` out)."""
    validation.check_positive(k, "k", integer=True)
    if k < 2 or k > n:
        raise ValueError(f"k: need 2 <= k <= n = {n}, got {k}")
    folds = np.array_split(np.asarray(jax.random.permutation(key, n)), k)
    w = np.ones((k, n))
    for i, idx in enumerate(folds):
        w[i, idx] = 0.0
    return w
