"""Training options: one validated record for ``fit``, ``fit_many``, one-vs-rest, ``fit_stream``,
the command line and the scikit-learn bridge.

:class:`Options` holds every setting a user chooses about *how* to train (the data and the
per-model numbers of ``fit_many`` are not options). :meth:`Options.check` validates it once,
with errors that name the option, and :meth:`Options.settings` turns it into the static
:class:`~jaxlin.driver.Settings` of the compiled loop. The command line's per-optimiser
defaults are :mod:`jaxlin.presets` (plain data, importable without JAX).
"""
from __future__ import annotations

from typing import Any, NamedTuple, Optional

import numpy as np

from jaxlin import validation
from jaxlin.backend import put
from jaxlin.driver import Hyper, Settings
from jaxlin.penalties import Penalty
from jaxlin.presets import COMMAND_DEFAULTS, COMMAND_STREAM_DEFAULTS, STREAM_DEFAULTS  # noqa: F401
from jaxlin.solvers import OPTIMIZERS

OPTIMIZER_NAMES = (*OPTIMIZERS, "fista", "lbfgs", "newton", "newton-cholesky", "perceptron")
FULL_BATCH = ("lbfgs", "newton", "newton-cholesky")  # second-order and quasi-Newton solvers
OWN_SOLVERS = (*FULL_BATCH, "fista", "perceptron")  # the names with a solver of their own
INITS = ("zeros", "uniform")

class Options(NamedTuple):
    """How to train. Every field is checked by :meth:`check`.

    Attributes:
      optimizer: ``"gd"``/``"sgd"`` (plain steps), ``"momentum"``, ``"nesterov"``, ``"adam"``,
        ``"adagrad"``, ``"rmsprop"``, ``"fista"`` (accelerated proximal gradient, full
        batch), ``"lbfgs"``, ``"newton"``, ``"newton-cholesky"``, ``"perceptron"`` (Rosenblatt), an optax
        ``GradientTransformation``, or a callable ``learning_rate → GradientTransformation``.
      learning_rate: step size ``η`` (also the prox step for L1); unused by L-BFGS.
      epochs: maximum number of epochs (L-BFGS: iterations).
      batch_size: ``None`` for full batch; ``1`` for SGD; any ``B`` for mini-batches.
      l1, l2: penalty strengths, ``R(W) = l1 Σ|w| + l2 Σw²`` (never the bias).
      tol: stop when ``|J_t − J_(t−1)| < tol · max(1, |J_(t−1)|)``.
      grad_tol: stop when ``‖∇J‖ < grad_tol``.
      adaptive_lr: the bold driver (full-batch gradient descent).
      patience: early stopping after this many epochs without a better validation loss.
      init: ``"zeros"``, ``"uniform"`` in ``[−1, 1]``, or a warm start: the
        :class:`~jaxlin.linear.Params` (or a :class:`~jaxlin.training.FitResult`) to start
        from. The optimiser's own state (momentum, Adam's moments, L-BFGS's history, the
        trust radius) starts afresh.
      fit_intercept: ``False`` keeps ``b = 0``.
      memory_size: L-BFGS's history length.
      shuffle: each epoch of mini-batches (and of the perceptron) visits the rows in a fresh
        random order; ``False``: in their given order, every epoch.

    >>> Options(optimizer="sgd", batch_size=500).check(n_rows=100).batch_size is None
    True
    """

    optimizer: Any = "gd"
    learning_rate: Any = 0.1
    epochs: int = 100
    batch_size: Optional[int] = None
    l1: Any = 0.0
    l2: Any = 0.0
    tol: Optional[float] = None
    grad_tol: Optional[float] = None
    adaptive_lr: bool = False
    patience: Optional[int] = None
    init: Any = "zeros"
    fit_intercept: bool = True
    memory_size: int = 10
    shuffle: bool = True

    @classmethod
    def from_kwargs(cls, kwargs: dict, where: str = "fit", defaults=None) -> "Options":
        """The record from keyword arguments (over ``defaults``); an unknown name is a
        ``TypeError`` that lists the options."""
        unknown = set(kwargs) - set(cls._fields)
        if unknown:
            raise TypeError(f"{where}: unexpected arguments {sorted(unknown)}; the options "
                            f"are {', '.join(cls._fields)}")
        return cls(**{**(defaults or {}), **kwargs})

    @property
    def solver(self) -> str:
        """The solver that runs these options: ``"lbfgs"``, ``"newton"``, ``"newton-cholesky"``,
        ``"fista"``, ``"perceptron"`` or ``"gradient"``."""
        named = isinstance(self.optimizer, str) and self.optimizer in OWN_SOLVERS
        return self.optimizer if named else "gradient"

    @property
    def penalty(self) -> Penalty:
        return Penalty(self.l1, self.l2)

    def check(self, n_rows: Optional[int] = None, loss=None,
              has_validation: bool = True) -> "Options":
        """Validate every option; returns the record with ``batch_size ≥ N`` as full batch.

        Raises ``ValueError`` (or ``TypeError``) naming the option and what it received.
        """
        o = self
        _check_optimizer(o.optimizer)
        if isinstance(o.init, str) or not hasattr(o.init, "_fields"):
            if not isinstance(o.init, str):
                raise TypeError(f"init: expected 'zeros', 'uniform', Params or a FitResult, "
                                f"got {type(o.init).__name__}")
            validation.check_choice(o.init, "init", INITS)
        validation.check_positive(o.learning_rate, "learning_rate")
        validation.check_positive(o.epochs, "epochs", integer=True)
        validation.check_positive(o.batch_size, "batch_size", integer=True, allow_none=True)
        validation.check_positive(o.memory_size, "memory_size", integer=True)
        validation.check_flag(o.shuffle, "shuffle")
        validation.check_non_negative(o.l1, "l1")
        validation.check_non_negative(o.l2, "l2")
        validation.check_positive(o.tol, "tol", allow_none=True)
        validation.check_positive(o.grad_tol, "grad_tol", allow_none=True)
        validation.check_positive(o.patience, "patience", integer=True, allow_none=True)
        if o.batch_size is not None and n_rows is not None and o.batch_size >= n_rows:
            o = o._replace(batch_size=None)  # one batch of every row is the full batch
        _check_combinations(o, loss)
        if o.patience is not None and not has_validation:
            raise ValueError("patience: early stopping needs validation data")
        return o

    def hyper(self, key, init, dtype, learning_rate=None) -> Hyper:
        """The traced numbers of the loop: the learning rate (``learning_rate`` overrides
        it, e.g. one per model), the key, the warm start and the tolerances."""
        lr = self.learning_rate if learning_rate is None else learning_rate
        tol, grad_tol = (None if v is None else put(v, dtype) for v in (self.tol, self.grad_tol))
        return Hyper(put(lr, dtype), key, init, tol, grad_tol)

    def settings(self, n_outputs: int, n_rows: Optional[int] = None) -> Settings:
        """The static settings of the compiled loop (the tolerances' values are traced:
        :meth:`hyper`)."""
        return Settings(
            solver=self.solver, n_outputs=int(n_outputs), optimizer=self.optimizer,
            epochs=int(self.epochs),
            batch_size=None if self.batch_size is None else int(self.batch_size),
            tol=self.tol is not None, grad_tol=self.grad_tol is not None,
            adaptive_lr=bool(self.adaptive_lr), patience=self.patience,
            init=self.init if isinstance(self.init, str) else "given",
            memory_size=int(self.memory_size), n_rows=n_rows, shuffle=bool(self.shuffle))


def _check_optimizer(optimizer):
    named = isinstance(optimizer, str) and optimizer in OPTIMIZER_NAMES
    if not named and (isinstance(optimizer, str) or not (callable(optimizer)
                                                         or hasattr(optimizer, "update"))):
        raise ValueError(f"optimizer: unknown optimizer {optimizer!r}; choose one of "
                         f"{', '.join(OPTIMIZER_NAMES)} or pass an optax GradientTransformation")


def _check_combinations(o: Options, loss):
    has_l1 = bool(np.any(np.asarray(o.l1) > 0))
    if o.optimizer in FULL_BATCH and has_l1:
        raise ValueError(f"l1: optimizer {o.optimizer} needs a smooth objective; use 'fista' "
                         "(accelerated proximal gradient) or 'gd'/'sgd' (proximal steps) for "
                         "an L1 penalty")
    if o.optimizer == "fista" and o.batch_size is not None:
        raise ValueError("batch_size: fista is a full-batch method")
    if o.optimizer in ("newton", "newton-cholesky"):
        if loss is not None and not loss.twice_differentiable:
            raise ValueError(f"optimizer: {o.optimizer} needs the loss's second derivative; "
                             f"loss {loss.name!r} states none (curvature or "
                             "curvature_product)")
        if o.batch_size is not None:
            raise ValueError(f"batch_size: {o.optimizer} is a full-batch method")
    if o.adaptive_lr and (o.optimizer not in ("gd", "sgd") or o.batch_size is not None):
        raise ValueError("adaptive_lr: the bold driver needs full-batch 'gd' (no batch_size)")
    if o.optimizer == "perceptron":
        if loss is not None and loss.target != "binary":
            raise ValueError(f"optimizer: the perceptron learning algorithm is binary; "
                             f"loss {loss.name!r} is not")
        for name in ("tol", "grad_tol", "batch_size"):
            if getattr(o, name) is not None:
                raise ValueError(f"{name}: the perceptron visits every example each epoch and "
                                 f"stops once all are classified; {name} does not apply")
        if has_l1 or bool(np.any(np.asarray(o.l2) > 0)):
            raise ValueError("l1, l2: the perceptron learning algorithm has no penalty")
