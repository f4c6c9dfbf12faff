"""The solvers, and the registry of what each one handles.

Each module of this package is one solver (or one family, as gradient descent with its optax
transformations): its ``init``/``step`` factory, run by ``jaxlin.driver``, and ``RECORDS``,
the ``SolverRecord`` of each name it answers to — its batch modes,
penalties, loss kinds, stops, defaults and scikit-learn aliases. The registry gathers them
by listing this package, so options validation, the command line, the scikit-learn bridge,
the presets and the report all read the same records, and adding a solver is adding one
module (with its docs and tests).

A solver sees only the minimised objective ``m`` of ``Objective`` —
never a loss name, a sign, a weight or an intercept mask — and the stopping rules are the
driver's; it only reports its own end (the perceptron once every example is classified,
Newton and FISTA once rounding is all that is left).

The modules name JAX through ``jaxlin._lazy.module``, so reading the registry (``jaxlin
--help``) imports no JAX.
"""

from __future__ import annotations

import importlib
import pkgutil

import numpy as np

from jaxlin.records import STOPS, SolverRecord


def _gather() -> dict:
    """Every module's records; gradient descent's family first (the simplest), then the
    others by module name."""
    modules = sorted(
        (m.name for m in pkgutil.iter_modules(__path__) if m.name[0] != "_"),
        key=lambda name: (name != "gradient", name),
    )
    return {
        r.name: r for name in modules for r in importlib.import_module(f"{__name__}.{name}").RECORDS
    }


RECORDS: dict = _gather()


def names(**capabilities) -> tuple:
    """The listed solver names, optionally those whose record has these field values
    (``names(l1=True)``) or batch mode (``names(mini_batches=True)``)."""
    return tuple(
        r.name
        for r in RECORDS.values()
        if r.listed and all(getattr(r, k) == v for k, v in capabilities.items())
    )


def aliases() -> tuple:
    """Every alias a record lists (scikit-learn's names of jaxlin solvers)."""
    return tuple(a for r in RECORDS.values() if r.listed for a in r.aliases)


def get(name: str) -> SolverRecord:
    """The record of a solver name (or one of its aliases); an unknown name is a
    ``ValueError`` that names ``optimizer`` and lists the choices."""
    for r in RECORDS.values():
        if r.listed and (name == r.name or name in r.aliases):
            return r
    raise ValueError(
        f"optimizer: unknown optimizer {name!r}; choose one of "
        f"{', '.join(names())} or pass an optax GradientTransformation"
    )


def for_optimizer(optimizer) -> SolverRecord:
    """The record that runs ``optimizer``: a name, or a user's optax transformation (an object
    with ``update``, or a callable ``learning_rate → transformation``)."""
    if isinstance(optimizer, str):
        return get(optimizer)
    if callable(optimizer) or hasattr(optimizer, "update"):
        from jaxlin.solvers.gradient import TRANSFORMATION

        return TRANSFORMATION
    raise ValueError(
        f"optimizer: unknown optimizer {optimizer!r}; choose one of "
        f"{', '.join(names())} or pass an optax GradientTransformation"
    )


def default_for(penalty: str) -> SolverRecord:
    """The solver chosen for a ``"smooth"`` or an ``"l1"`` penalty when the caller leaves the
    choice to jaxlin (scikit-learn's ``liblinear``, ``sag``, ``saga``)."""
    return next(r for r in RECORDS.values() if penalty in r.default_for)


def defaults(record: SolverRecord) -> dict:
    """The command line's defaults of a solver, every field present."""
    return {"batch_size": None, **record.defaults}


def check(record: SolverRecord, options, loss=None) -> None:
    """Refuse options the solver cannot run, with an error that names the option and says
    what can. ``options`` is an ``Options``; ``loss`` the loss or
    ``None`` (then the loss-dependent checks wait for it)."""
    name, has_l1 = record.name, bool(np.any(np.asarray(options.l1) > 0))
    gradient_steps = record.make.__name__ == "gradient_descent"  # a decaying rate
    if not record.penalty and (has_l1 or bool(np.any(np.asarray(options.l2) > 0))):
        raise ValueError(f"l1, l2: {name} takes no penalty")
    if has_l1 and not record.l1:
        raise ValueError(
            f"l1: optimizer {name} needs a smooth objective; use "
            f"{_either(names(l1=True), default_for('l1'))} "
            "(solvers for a non-smooth L1 term) for an L1 penalty"
        )
    if options.batch_size is not None and not record.mini_batches:
        raise ValueError(f"batch_size: {name} is a full-batch method")
    for stop in STOPS:
        if getattr(options, stop) is not None and stop not in record.stops:
            raise ValueError(f"{stop}: {name} stops by its own rule; {stop} does not apply")
    if options.adaptive_lr and (not record.bold_driver or options.batch_size is not None):
        raise ValueError(
            f"adaptive_lr: the bold driver needs full-batch "
            f"{' or '.join(repr(n) for n in names(bold_driver=True))} "
            "(no batch_size)"
        )
    if getattr(options, "lr_decay", None) is not None and (
        not isinstance(options.optimizer, str) or not gradient_steps
    ):
        raise ValueError(
            f"lr_decay: {name} has no decaying step size; it applies to the named gradient "
            f"optimisers ({', '.join(names(bold_driver=True))}, adam, …); an optax "
            "transformation carries its own schedule"
        )
    if options.scales_intercept and not record.intercept_lr:
        raise ValueError(
            f"intercept_lr: {name} takes no step size of its own; the intercept's rate "
            f"applies to the gradient optimisers ({', '.join(names(bold_driver=True))}, …)"
        )
    if getattr(options, "average", False) and not record.averages:
        raise ValueError(
            f"average: {name} has no iterates to average; averaging applies to "
            f"{', '.join(names(averages=True))} or an optax transformation"
        )
    if getattr(options, "lr_decay", None) is not None and options.adaptive_lr:
        raise ValueError("lr_decay: the bold driver (adaptive_lr) sets the step size itself")
    if loss is None:
        return
    if record.curvature and not loss.twice_differentiable:
        raise ValueError(
            f"optimizer: {name} needs the loss's second derivative; loss "
            f"{loss.name!r} states none (curvature or curvature_product)"
        )
    if record.defined_for and loss.name not in record.defined_for:
        raise ValueError(
            f"optimizer: {name} is defined for the {' or '.join(record.defined_for)} loss; "
            f"got {loss.name!r}"
        )
    if loss.target not in record.targets:
        raise ValueError(
            f"optimizer: {name} trains {' or '.join(record.targets)} losses; "
            f"loss {loss.name!r} is {loss.target}"
        )


def hessian_fits(record: SolverRecord, n_features: int, n_outputs: int, loss=None) -> bool:
    """Whether the solver's explicit Hessian is within its limit: ``(d + 1) K`` parameters
    at most ``max_parameters``, or for more than one output of a loss whose curvature is
    diagonal (``Loss.diagonal_curvature``: the Hessian is ``K`` blocks of ``(d + 1)²``)
    blocks holding no more numbers than that limit's whole matrix."""
    from jaxlin.hessian import in_blocks

    limit = record.max_parameters
    if limit is None:
        return True
    side = n_features + 1
    if in_blocks(loss, n_outputs):
        return n_outputs * side * side <= limit * limit
    return side * n_outputs <= limit


def check_data(record: SolverRecord, X, n_outputs: int, loss=None) -> None:
    """Refuse data the solver cannot take: sparse rows, or a larger explicit Hessian than it
    allows (``hessian_fits``), naming the limit and what can."""
    from jaxlin.hessian import in_blocks
    from jaxlin.sparse import is_sparse

    if is_sparse(X) and not record.sparse:
        raise ValueError(
            f"optimizer: {record.name} needs dense rows (it forms the explicit "
            f"Hessian); for sparse X use {default_for('smooth').name!r} (Newton-CG "
            "on Hessian-vector products)"
        )
    if not hessian_fits(record, X.shape[1], n_outputs, loss):
        size, limit = (X.shape[1] + 1) * n_outputs, record.max_parameters or 0
        blocks = (
            f" (or K (d + 1)² = {n_outputs * (X.shape[1] + 1) ** 2:,} numbers in the blocks "
            f"of loss {loss.name!r}'s diagonal curvature, over {limit**2:,})"
            if in_blocks(loss, n_outputs)
            else ""
        )
        raise ValueError(
            f"optimizer: {record.name} forms the explicit Hessian of (d + 1) K = "
            f"{size} parameters, over its limit of {limit}{blocks}; use "
            f"{default_for('smooth').name!r} (Newton-CG on Hessian-vector "
            "products) or another solver that needs no Hessian"
        )


def _either(some, preferred) -> str:
    """``'owlqn' or 'gd'``: the preferred solver first, then others."""
    listed = [preferred.name] + [n for n in some if n != preferred.name]
    return " or ".join(repr(n) for n in listed[:2])
