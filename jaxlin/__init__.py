"""jaxlin: linear classifiers in JAX with hand-derived gradients proven against autodiff.

Layers, one direction of data flow (see README):
losses (L, δ = ∂L/∂z) → linear model (Z = XW + b, Xᵀ Δ) → objective (mean + penalty) → solvers.

The names below are loaded on first use (``jaxlin.fit`` imports JAX and optax then), so
``import jaxlin`` and ``jaxlin --help`` start in a few milliseconds.
"""

from importlib import import_module as _import_module

__version__ = "0.1.0"

_SUBMODULES = (
    "activations",
    "data",
    "datasets",
    "hessian",
    "linear",
    "losses",
    "objective",
    "penalties",
)
_NAMES = {
    "jaxlin.training": ("FitResult", "fit", "fit_many", "fit_path", "kfold_weights"),
    "jaxlin.selection": ("GridResult", "fit_grid"),
    "jaxlin.linear": ("Params", "add_bias", "contract", "init_params", "logits", "logits_one"),
    "jaxlin.losses": ("LOSSES", "Loss", "get_loss"),
    "jaxlin.objective": ("encode_targets", "value_and_grad"),
    "jaxlin.penalties": ("Penalty",),
    "jaxlin.verification": ("Verification", "verify"),
    "jaxlin.cache": ("enable_compilation_cache",),
    "jaxlin.records": ("DivergedWarning",),
}
_HOME = {name: module for module, names in _NAMES.items() for name in names}

__all__ = [
    "activations",
    "hessian",
    "linear",
    "losses",
    "objective",
    "penalties",
    "Params",
    "add_bias",
    "contract",
    "init_params",
    "logits",
    "logits_one",
    "LOSSES",
    "Loss",
    "get_loss",
    "encode_targets",
    "value_and_grad",
    "Penalty",
    "data",
    "datasets",
    "FitResult",
    "fit",
    "fit_many",
    "fit_path",
    "fit_grid",
    "GridResult",
    "kfold_weights",
    "verify",
    "Verification",
    "enable_compilation_cache",
    "DivergedWarning",
]


def __getattr__(name):
    if name in _HOME:
        value = getattr(_import_module(_HOME[name]), name)
    elif name in _SUBMODULES or _is_submodule(name):
        value = _import_module(f"jaxlin.{name}")
    else:
        raise AttributeError(f"module 'jaxlin' has no attribute {name!r}")
    globals()[name] = value
    return value


def _is_submodule(name):
    """Every public module of the package is an attribute (``jaxlin.metrics`` as
    ``jaxlin.linear``), imported on first use."""
    from importlib.util import find_spec

    return (
        not name.startswith("_") and name.isidentifier() and find_spec(f"jaxlin.{name}") is not None
    )


def __dir__():
    return sorted(set(globals()) | set(__all__))
