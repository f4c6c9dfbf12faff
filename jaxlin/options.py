"""Training options: one validated record for ``fit``, ``fit_many``, one-vs-rest, ``fit_stream``,
the command line and the scikit-learn bridge.

``Options`` holds every setting a user chooses about *how* to train (the data and the
per-model numbers of ``fit_many`` are not options). ``Options.check`` validates it once,
with errors that name the option — what the chosen solver handles is its record in
``jaxlin.solvers`` — and ``Options.settings`` turns it into the static
``Settings`` of the compiled loop.
"""

from __future__ import annotations

import dataclasses
import numbers
from typing import Any, NamedTuple, Optional

import jax
import numpy as np


from jaxlin import solvers, validation
from jaxlin.backend import put_all
from jaxlin.penalties import Penalty
from jaxlin.records import STOPS, Hyper, Settings, SolverRecord, history_length
from jaxlin.solvers.gradient import GD

INITS = ("zeros", "uniform")
GRAD_NORMS = ("l2", "max")  # the norms grad_tol can bound


class Options(NamedTuple):
    """How to train. Every field is checked by ``check``.

    Attributes:
      optimizer: a solver name of the registry (``jaxlin.solvers.names``: plain and
        mini-batch gradient steps, momentum, Adam, …, FISTA, L-BFGS, Newton, the
        perceptron), an optax ``GradientTransformation``, or a callable
        ``learning_rate → GradientTransformation``.
      learning_rate: step size ``η`` (also the prox step for L1; FISTA's first step size);
        unused by the solvers whose record says so (L-BFGS, Newton, the perceptron), which
        refuse several values (models or classes that would differ in nothing). For
        the optax optimisers (``gd``, ``sgd``, ``adam``, …) also an optax schedule, a
        function of the step count (``ScheduledOptimizer``; the history records its first
        rate).
      epochs: maximum number of epochs (L-BFGS: iterations); ``0`` returns the starting
        parameters. A traced value: runs that differ only in it share one compiled program.
      batch_size: ``None`` for full batch; ``1`` for SGD; any ``B`` for mini-batches.
      l1, l2: penalty strengths, ``R(W) = l1 Σ|w| + l2 Σw²`` (never the bias).
      tol: stop when ``|J_t − J_(t−1)| < tol · max(1, |J_(t−1)|)`` (``None`` or 0: off).
      grad_tol: stop when ``‖∇J‖ < grad_tol`` (``None`` or 0: off).
      grad_norm: the norm ``grad_tol`` bounds (and the history's ``grad_norm``): ``"l2"``,
        the Euclidean norm, or ``"max"``, the largest ``|∂J/∂θ_j|`` (what scikit-learn's
        ``tol`` bounds for its ``lbfgs``, ``newton-cg`` and ``newton-cholesky``). With L1,
        the same norm of the proximal gradient mapping.
      step_tol: stop when an accepted epoch changes no parameter (weights and intercept) by
        more than ``step_tol`` times the largest, ``max|Δθ| ≤ step_tol · max|θ|``
        (scikit-learn's rule for its ``sag`` and ``saga`` solvers, which counts the
        weights alone; ``None`` or 0: off).
      adaptive_lr: the bold driver (full-batch gradient descent).
      patience: early stopping after this many epochs without a better validation loss
        (the best parameters are returned); with ``plateau`` and ``tol``, scikit-learn's
        rule instead: this many epochs in a row whose validation accuracy did not rise by
        more than ``tol`` (the last parameters are kept).
      plateau: with ``tol``, stop after this many epochs in a row whose objective is not
        below the best so far by more than ``tol`` (scikit-learn's SGD rule: absolute, and
        ``tol = 0`` stops once the objective stops falling); ``None``: ``tol`` compares
        consecutive epochs, as above. With ``patience`` the validation data decides instead.
      init: ``"zeros"``, ``"uniform"`` in ``[−1, 1]``, or a warm start: the
        ``Params`` (or a ``FitResult``) to start
        from. The optimiser's own state (momentum, Adam's moments, L-BFGS's history, the
        trust radius) starts afresh.
      fit_intercept: ``False`` keeps ``b = 0``.
      memory_size: L-BFGS's history length.
      shuffle: each epoch of mini-batches (and of the perceptron) visits the rows in a fresh
        random order; ``False``: in their given order, every epoch. Or a permutation ``π``
        of the ``N`` rows (integers, ``(N,)``; one-vs-rest: ``(K, N)``, one per class):
        epoch ``e`` visits them in epoch ``e − 1``'s order permuted by ``π``
        (``order_e = order_(e−1)[π]``, ``order_0 = 0..N−1``), as scikit-learn's SGD
        shuffles (``jaxlin.sklearn`` draws its ``π`` as scikit-learn does).
      one_vs_rest: with a binary loss and multi-class labels, train one binary model per
        class (multi-class labels with a binary loss imply it).
      lr_decay: ``(τ, p)``: the gradient steps' rate decays with the rows stepped over,
        ``η_t = η (1 + t / τ)^(−p)``, ``t`` the rows before the step (counted from
        ``rows_seen``): ``p = 1`` is the classic ``1/t`` schedule, ``p = ½`` inverse
        scaling (a negative ``p`` grows the rate). ``None``: a constant ``η``.
        ``"plateau"``: ``η`` until the ``plateau`` rule (with ``tol``) fires, then ``η / 5``
        and so on, and the run stops once the rate would fall under ``1e-6``
        (scikit-learn's ``"adaptive"``). For the named gradient optimisers.
      rows_seen: where the decay's ``t`` starts: a warm start that continues a schedule.
      average: iterate averaging (Polyak–Ruppert, averaged SGD): ``True`` or a row count
        ``n``: the result is the mean of the iterates after each step from the one that
        reaches ``n`` rows stepped over (counted from ``rows_seen``; ``True`` is ``1``), each
        weighted by its rows; the last iterate is ``FitResult.last``. A warm start from a
        ``FitResult`` that has one continues both. ``False`` (or ``0``): the last iterate.
        The steps, the stops and the validation scores follow the iterates; early stopping
        ends the run as usual and the result is the mean up to there. For the gradient
        optimisers.
      intercept_lr: the intercept's step size as a multiple of the weights' (the gradient
        optimisers; default 1): scikit-learn's SGD damps a sparse fit's intercept steps by
        ``0.01``.

    >>> Options(optimizer="sgd", batch_size=500).check(n_rows=100).batch_size is None
    True
    """

    optimizer: Any = GD.name
    learning_rate: Any = 0.1
    epochs: int = 100
    batch_size: Optional[int] = None
    l1: Any = 0.0
    l2: Any = 0.0
    tol: Optional[float] = None
    grad_tol: Optional[float] = None
    grad_norm: str = "l2"
    adaptive_lr: bool = False
    step_tol: Optional[float] = None
    patience: Optional[int] = None
    plateau: Optional[int] = None
    init: Any = "zeros"
    fit_intercept: bool = True
    memory_size: int = 10
    shuffle: bool = True
    one_vs_rest: bool = False
    lr_decay: Any = None
    rows_seen: Any = 0
    average: Any = False
    intercept_lr: Any = 1.0

    @classmethod
    def from_kwargs(cls, kwargs: dict, where: str = "fit", defaults=None) -> "Options":
        """The record from keyword arguments (over ``defaults``); an unknown name is a
        ``TypeError`` that lists the options."""
        unknown = set(kwargs) - set(cls._fields)
        if unknown:
            raise TypeError(
                f"{where}: unexpected arguments {sorted(unknown)}; the options "
                f"are {', '.join(cls._fields)}"
            )
        return cls(**{**(defaults or {}), **kwargs})

    @property
    def record(self):
        """The ``SolverRecord`` that runs these options."""
        return solvers.for_optimizer(self.optimizer)

    @property
    def scales_intercept(self) -> bool:
        """Whether the intercept's steps differ from the weights' (``intercept_lr ≠ 1``)."""
        return bool(np.any(np.asarray(self.intercept_lr) != 1))

    @property
    def penalty(self) -> Penalty:
        return Penalty(self.l1, self.l2)

    def check(
        self,
        n_rows: Optional[int] = None,
        loss=None,
        has_validation: bool = True,
        data=None,
        models: bool = False,
        classes: Optional[int] = None,
    ) -> "Options":
        """Validate every option; returns the record with ``batch_size ≥ N`` as full batch.

        ``data``: the ``Data`` to train on, when known: the solver's
        limits on its size and kind (sparse rows) are checked too. ``models``: the options
        of ``fit_many``, whose ``learning_rate``, ``l1`` and ``l2`` may be 1-D (one value a
        model); ``classes``: the ``K`` models of a one-vs-rest fit, whose
        ``learning_rate``, ``l1``, ``l2`` and ``tol`` may hold one value per class;
        elsewhere every number is one number.

        Raises ``ValueError`` (or ``TypeError``) naming the option and what it received.
        """
        o = _scheduled(self) if callable(self.learning_rate) else self
        record = solvers.for_optimizer(o.optimizer)
        if isinstance(o.init, str) or not hasattr(o.init, "_fields"):
            if not isinstance(o.init, str):
                raise TypeError(
                    f"init: expected 'zeros', 'uniform', Params or a FitResult, "
                    f"got {type(o.init).__name__}"
                )
            validation.check_choice(o.init, "init", INITS)
        validation.check_positive(o.learning_rate, "learning_rate")
        for name in ("learning_rate", "l1", "l2", "tol", "grad_tol", "step_tol"):
            if classes is not None and name in CLASS_NUMBERS:
                _check_per_class(o, name, classes)
            else:
                _check_one_number(o, name, models and name in MODEL_NUMBERS)
        _check_rates_used(o.learning_rate, record)
        validation.check_non_negative_int(o.epochs, "epochs")
        validation.check_positive(o.batch_size, "batch_size", integer=True, allow_none=True)
        validation.check_positive(o.memory_size, "memory_size", integer=True)
        _check_shuffle(o.shuffle, n_rows, classes, models)
        for name in ("one_vs_rest", "fit_intercept", "adaptive_lr"):
            validation.check_flag(getattr(o, name), name)
        validation.check_non_negative(o.l1, "l1")
        validation.check_non_negative(o.l2, "l2")
        for name in STOPS:  # 0 turns the stop off, as None does
            validation.check_non_negative(0 if getattr(o, name) is None else getattr(o, name), name)
        validation.check_choice(o.grad_norm, "grad_norm", GRAD_NORMS)
        validation.check_positive(o.plateau, "plateau", integer=True, allow_none=True)
        tol_off = o.tol is None or not np.any(np.asarray(o.tol))
        o = o._replace(
            tol=None if tol_off and (o.tol is None or o.plateau is None) else o.tol,
            grad_tol=None if not o.grad_tol else o.grad_tol,
            step_tol=None if not o.step_tol else o.step_tol,
        )
        validation.check_positive(o.patience, "patience", integer=True, allow_none=True)
        _check_decay(o.lr_decay, o.rows_seen, o.plateau)
        _check_average(o.average)
        validation.check_positive(o.intercept_lr, "intercept_lr")
        if np.ndim(o.intercept_lr) != 0:
            raise ValueError(
                f"intercept_lr: expected one number, got shape {np.shape(o.intercept_lr)}"
            )
        if o.batch_size is not None and n_rows is not None and o.batch_size >= n_rows:
            o = o._replace(batch_size=None)  # one batch of every row is the full batch
        solvers.check(record, o, loss)
        if o.one_vs_rest and loss is not None and loss.target != "binary":
            raise ValueError(
                f"one_vs_rest: trains one binary model per class; loss {loss.name!r} is "
                f"{'multi-class' if loss.target == 'onehot' else 'a regression loss'} itself "
                f"(use a binary loss such as 'binary_cross_entropy' or 'hinge')"
            )
        if record.dual:
            _check_dual(record, o, loss)
        if data is not None:
            solvers.check_data(record, data.X, data.T.shape[1], loss)
            _check_in_range(o, np.dtype(data.X.dtype))
        if o.patience is not None and not has_validation:
            raise ValueError("patience: early stopping needs validation data")
        return o

    def hyper(self, key, init, dtype, learning_rate=None, mean=None) -> Hyper:
        """The traced numbers of the loop: the learning rate (``learning_rate`` overrides
        it, e.g. one per model), the key, the warm start, the tolerances, and with
        ``average`` its first row and the mean so far (``mean``: ``None`` for the start)."""
        lr = self.learning_rate if learning_rate is None else learning_rate
        decay = first = None
        if self.lr_decay is not None and not isinstance(self.lr_decay, str):
            decay = (*self.lr_decay, self.rows_seen)
        if self.average:  # the row of this run where the mean begins (True: the first)
            first = float(self.average) - float(self.rows_seen)
        bias = self.intercept_lr if self.scales_intercept else None
        lr, tol, grad_tol, step_tol, decay, first, bias = put_all(
            (lr, self.tol, self.grad_tol, self.step_tol, decay, first, bias), dtype
        )
        epochs = jax.device_put(np.int32(self.epochs))
        average = None if first is None else (first, mean)
        order = None
        if not isinstance(self.shuffle, (bool, np.bool_)):  # a permutation of the rows
            order = jax.device_put(np.asarray(self.shuffle, np.int32))
        return Hyper(lr, key, init, tol, grad_tol, epochs, decay, average, bias, order, step_tol)

    def settings(
        self, n_outputs: int, n_rows: Optional[int] = None, callback: bool = False
    ) -> Settings:
        """The static settings of the compiled loop (the tolerances' values are traced:
        ``hyper``)."""
        return Settings(
            solver=self.record.name,
            n_outputs=int(n_outputs),
            optimizer=self.optimizer,
            epochs=history_length(int(self.epochs)),
            batch_size=None if self.batch_size is None else int(self.batch_size),
            tol=self.tol is not None,
            grad_tol=self.grad_tol is not None,
            grad_norm=self.grad_norm,
            step_tol=self.step_tol is not None,
            adaptive_lr=bool(self.adaptive_lr),
            patience=self.patience,
            plateau=self.plateau,
            lr_plateau=isinstance(self.lr_decay, str),
            init=self.init if isinstance(self.init, str) else "given",
            memory_size=int(self.memory_size),
            n_rows=n_rows,
            shuffle=True if np.ndim(self.shuffle) else bool(self.shuffle),
            callback=callback,
            average=bool(self.average),
            # an explicit Hessian (max_parameters) without L2 may be singular
            unpenalised=self.record.max_parameters is not None
            and not np.all(np.asarray(self.l2, dtype=np.float64) > 0),
        )


def _check_rates_used(learning_rate, record) -> None:
    """Several learning rates (one a model or a class) for a solver that sets its own steps
    would train the same model several times: refused."""
    if not record.learning_rate and np.unique(np.asarray(learning_rate)).size > 1:
        raise ValueError(
            f"learning_rate: {record.name} takes no learning rate (it sets its own steps), "
            f"so models that differ only in it are one model; vary l1 or l2, or use a "
            f"gradient optimiser ({', '.join(solvers.names(bold_driver=True))}, adam, …)"
        )


# the numbers fit_many takes one per model
MODEL_NUMBERS = ("learning_rate", "l1", "l2")
CLASS_NUMBERS = (*MODEL_NUMBERS, "tol")  # a one-vs-rest fit's numbers that may differ by class


@dataclasses.dataclass(frozen=True)
class ScheduledOptimizer:
    """A named optax optimiser built with an optax schedule (``learning_rate`` given as a
    function of the step count), run as a user's transformation; equal to another of the
    same name and schedule, so the two share their compiled program."""

    name: str
    schedule: Any

    def __call__(self, learning_rate):
        from jaxlin.solvers.gradient import TRANSFORMATIONS

        return TRANSFORMATIONS[self.name]()(self.schedule)


def _scheduled(o: Options) -> Options:
    """``learning_rate`` as an optax schedule (``optax.exponential_decay(...)``, any function
    of the step count): the named optax optimiser built with it, as optax's own optimisers
    take one; the recorded ``learning_rate`` is its first rate."""
    from jaxlin.solvers.gradient import TRANSFORMATIONS

    if not (isinstance(o.optimizer, str) and o.optimizer in TRANSFORMATIONS):
        raise ValueError(
            f"learning_rate: a schedule (a function of the step count) drives the optax "
            f"optimisers ({', '.join(TRANSFORMATIONS)}); optimizer {o.optimizer!r} takes one "
            "number (or give its own optax transformation as optimizer)"
        )
    for name in ("adaptive_lr", "lr_decay"):
        if getattr(o, name, None) not in (None, False):
            raise ValueError(
                f"{name}: changes the rate itself; it takes one learning_rate, not a schedule"
            )
    try:
        first = float(o.learning_rate(0))
    except Exception as e:  # not a function of the step count
        raise TypeError(
            f"learning_rate: a schedule is a function of the step count (an optax schedule); "
            f"calling it with 0 failed: {e}"
        ) from e
    if not (np.isfinite(first) and first > 0):
        raise ValueError(f"learning_rate: the schedule's first rate must be positive, got {first}")
    return o._replace(
        optimizer=ScheduledOptimizer(o.optimizer, o.learning_rate), learning_rate=first
    )


def _check_shuffle(shuffle, n_rows, classes, models):
    """``shuffle``: a flag, or (``fit``) a permutation of the rows, one per class of a
    one-vs-rest fit (``(K, N)``) or one for every model (``(N,)``)."""
    if isinstance(shuffle, (bool, np.bool_)):
        return
    perm = validation.as_host_array(shuffle, "shuffle") if np.ndim(shuffle) else None
    if perm is None or perm.dtype.kind not in "iu" or models or n_rows is None:
        raise TypeError(
            f"shuffle: must be True, False or (in fit) a permutation of the rows (integers), "
            f"got {shuffle!r}"
        )
    shapes = [(n_rows,)] + ([] if classes is None else [(classes, n_rows)])
    if perm.shape not in shapes:
        raise ValueError(
            f"shuffle: expected a permutation of shape {' or '.join(map(str, shapes))}, "
            f"got {perm.shape}"
        )
    rows = perm.reshape(-1, perm.shape[-1])
    if not np.all(np.sort(rows, axis=1) == np.arange(rows.shape[1])):
        raise ValueError(
            f"shuffle: expected a permutation of 0..{rows.shape[1] - 1} (each row once)"
        )


def _check_in_range(o: "Options", dtype) -> None:
    """Every number of the loop within the run's float type (1e300 in float32 is ``inf``:
    the first step divided by it, or multiplied, and the run diverged at epoch 0)."""
    for name in ("learning_rate", "l1", "l2", "tol", "grad_tol", "step_tol", "intercept_lr"):
        value = getattr(o, name)
        if value is not None and np.any(np.abs(np.asarray(value)) > np.finfo(dtype).max):
            raise ValueError(
                f"{name}: {value!r} is beyond the range of {dtype.name}, the run's float type"
            )


def _check_per_class(o: Options, name: str, k: int):
    """``o.<name>`` is one number, or ``k`` of them (one per class of a one-vs-rest fit)."""
    value = getattr(o, name)
    if value is None or np.ndim(value) == 0 or np.shape(value) == (k,):
        return
    raise ValueError(
        f"{name}: expected one number or one per class ({k},) for one-vs-rest, got shape "
        f"{np.shape(value)}"
    )


def _check_one_number(o: Options, name: str, per_model: bool):
    """``o.<name>`` is one number (with ``per_model``, or a 1-D sequence of them)."""
    value = getattr(o, name)
    if value is None or np.ndim(value) == 0 or (per_model and np.ndim(value) == 1):
        return
    many = " (fit_many trains one model per value)" if name in MODEL_NUMBERS else ""
    raise ValueError(
        f"{name}: expected one number{' or a 1-D sequence' * per_model}, got shape "
        f"{np.shape(value)}{many}"
    )


def _check_decay(lr_decay, rows_seen, plateau) -> None:
    """``lr_decay``: ``None``, ``(τ > 0, p)`` or ``"plateau"`` (with ``plateau``);
    ``rows_seen``: a count ``≥ 0``."""
    validation.check_non_negative(rows_seen, "rows_seen")
    if lr_decay is None:
        return
    if isinstance(lr_decay, str) and lr_decay == "plateau":
        if plateau is None:
            raise ValueError(
                "lr_decay: 'plateau' divides the rate by the plateau rule: pass plateau=n"
            )
        return
    if isinstance(lr_decay, str) or not hasattr(lr_decay, "__len__") or len(lr_decay) != 2:
        raise ValueError(
            f"lr_decay: expected None, a pair (tau, power) or 'plateau', got {lr_decay!r}"
        )
    validation.check_positive(lr_decay[0], "lr_decay (tau)")
    if not np.all(np.isfinite(validation._as_numbers(lr_decay[1], "lr_decay (power)", "finite"))):
        raise ValueError(f"lr_decay (power): must be a finite number, got {lr_decay[1]!r}")


def _check_average(average) -> None:
    """``average``: a flag, or a whole number of rows ``≥ 0``."""
    if isinstance(average, (bool, np.bool_)):
        return
    if not isinstance(average, (int, np.integer)) or average < 0:
        raise ValueError(
            f"average: expected True/False or a whole number of rows >= 0, got {average!r}"
        )


class RunControl(NamedTuple):
    """How a run is carried out, beside what it optimises (``Options``): reporting,
    placement, checkpoints and compile-time sharing. Checked by ``check``.

    Attributes:
      progress: ``callable(epochs_done, epochs_total)``: the run is compiled once and executed
        in chunks of epochs, calling it between chunks (same result).
      devices: ``None`` (default placement), a number of local devices, ``"auto"`` (all)
        or a list of ``jax.Device`` (``local_devices``):
        the rows are sharded across them (``jaxlin.training.shard_rows``).
      checkpoint: a ``.npz`` path: the run goes in chunks of epochs and writes its whole
        state there every ``checkpoint_every`` chunks and at the end
        (``jaxlin.checkpoint``). resume: start from that file when it exists; it must come
        from the same data and settings, and the result equals the uninterrupted run.
      buckets: pad the rows of a full-batch run with weight-0 rows to
        ``jaxlin.inputs.shared_rows`` (``bucket_rows`` of ``N``, with room for a refit on
        small data): folds, refits and slightly different ``N`` share one compiled
        program; the result equals the unpadded fit up to rounding.
      callback: ``callable(epoch, params, objective) → stop`` after every epoch, on the host
        (``params`` as NumPy arrays): a true answer ends the run (stop reason
        ``callback``); an exception it raises ends the run and is raised again by ``fit``.
        Off by default, and the program then holds no host call.
      verify: check a user's ``Loss`` against autodiff before training.
    """

    progress: Any = None
    devices: Any = None
    checkpoint: Any = None
    checkpoint_every: int = 1
    resume: bool = False
    buckets: bool = False
    callback: Any = None
    verify: bool = True

    def check(self) -> "RunControl":
        """Validate every field; errors name the argument."""
        if self.progress is not None and not callable(self.progress):
            raise TypeError(
                f"progress: expected a callable (done, total), got {type(self.progress).__name__}"
            )
        if self.callback is not None and not callable(self.callback):
            raise TypeError(
                f"callback: expected a callable (epoch, params, objective) → "
                f"stop, got {type(self.callback).__name__}"
            )
        local_devices(self.devices)
        validation.check_flag(self.buckets, "buckets")
        validation.check_flag(self.resume, "resume")
        validation.check_flag(self.verify, "verify")
        self.checkpointing()
        return self

    def checkpointing(self):
        """The ``Checkpointing`` of these fields, or ``None``."""
        from jaxlin.checkpoint import Checkpointing

        return Checkpointing.of(self.checkpoint, self.checkpoint_every, self.resume)

    @property
    def chunked(self) -> bool:
        """Whether the run goes in chunks of epochs (a progress callback or a checkpoint)."""
        return self.progress is not None or self.checkpoint is not None


def local_devices(devices) -> list | None:
    """The devices ``RunControl.devices`` names: ``None`` (default placement), ``"auto"``
    (every local device), a number of local devices (the first ones) or a sequence of
    ``jax.Device``; anything else, or more devices than there are, is named."""
    if devices is None:
        return None
    if isinstance(devices, str) and devices == "auto":
        return list(jax.local_devices())
    if isinstance(devices, (list, tuple)) and devices:
        if all(isinstance(d, jax.Device) for d in devices):
            return list(devices)
    elif isinstance(devices, numbers.Integral) and not isinstance(devices, bool):
        devices = int(devices)
        if devices <= 0:
            raise ValueError(f"devices: expected a number of local devices >= 1, got {devices}")
        if devices > jax.local_device_count():
            raise ValueError(
                f"devices: asked for {devices}, but only {jax.local_device_count()} local "
                "devices exist"
            )
        return list(jax.local_devices()[:devices])
    raise ValueError(
        "devices: expected a number of local devices, 'auto' or a list of jax.Device, got "
        f"{devices!r}"
    )


def check_option_names(kwargs: dict, where: str) -> None:
    """A ``TypeError`` naming the entry point ``where`` for any keyword that is no field of
    ``Options`` or ``RunControl`` and not ``key``, with what it accepts."""
    unknown = set(kwargs) - set(Options._fields) - set(RunControl._fields) - {"key"}
    if unknown:
        raise TypeError(
            f"{where}: unexpected arguments {sorted(unknown)}; the options are "
            f"{', '.join(Options._fields)}; the run controls "
            f"{', '.join(RunControl._fields)}"
        )


def split_options(kwargs: dict, where: str, defaults=None, control: Optional[RunControl] = None):
    """Keyword arguments of an entry point → ``(Options, RunControl, key)``.

    ``kwargs`` may hold any field of ``Options`` (over ``defaults``) and of
    ``RunControl`` (over ``control``), and ``key``; anything else is a ``TypeError``
    that lists what is accepted.
    """
    check_option_names(kwargs, where)
    if control is not None and not isinstance(control, RunControl):
        raise TypeError(
            f"control: expected a jaxlin.options.RunControl, got {type(control).__name__}"
        )
    opts = Options.from_kwargs(
        {k: v for k, v in kwargs.items() if k in Options._fields}, where, defaults
    )
    ctrl = (control or RunControl())._replace(
        **{k: v for k, v in kwargs.items() if k in RunControl._fields}
    )
    return opts, ctrl.check(), kwargs.get("key")


def _check_dual(record: SolverRecord, options, loss) -> None:
    """What a dual solver needs: a loss with a dual, an L2 term, no intercept, the zero
    start."""
    name = record.name
    if loss is not None and loss.dual is None:
        raise ValueError(
            f"optimizer: {name} solves a loss's dual (the binary hinge, the squared hinge "
            f"and Crammer–Singer's state theirs); loss {loss.name!r} states none"
        )
    if not np.all(np.asarray(options.l2) > 0):
        raise ValueError(
            f"l2: {name} solves the dual of an L2-regularised problem; give l2 > 0, got "
            f"{options.l2!r}"
        )
    if options.fit_intercept:
        raise ValueError(
            f"fit_intercept: {name} fits no unpenalised intercept; train without one "
            "(fit_intercept=False; --no-intercept on the command line), or append a constant "
            "feature for liblinear's penalised one"
        )
    if not (isinstance(options.init, str) and options.init == "zeros"):
        raise ValueError(f"init: {name} starts at W = 0 (every dual variable 0); leave init")
