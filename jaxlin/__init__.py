"""jaxlin: linear classifiers in JAX with hand-derived gradients proven against autodiff.

Layers, one direction of data flow (see README):
losses (L, δ = ∂L/∂z) → linear model (Z = XW + b, Xᵀ Δ) → objective (mean + penalty) → solvers.
"""
from jaxlin import activations, data, datasets, hessian, linear, losses, objective, penalties
from jaxlin.training import FitResult, fit, fit_many, kfold_weights
from jaxlin.selection import GridResult, fit_grid
from jaxlin.linear import Params, add_bias, contract, init_params, logits, logits_one
from jaxlin.losses import LOSSES, Loss, get_loss
from jaxlin.objective import encode_targets, value_and_grad
from jaxlin.penalties import Penalty
from jaxlin.verification import Verification, verify
from jaxlin.cache import enable_compilation_cache

__version__ = "0.1.0"

__all__ = [
    "activations", "hessian", "linear", "losses", "objective", "penalties",
    "Params", "add_bias", "contract", "init_params", "logits", "logits_one",
    "LOSSES", "Loss", "get_loss", "encode_targets", "value_and_grad", "Penalty",
    "data", "datasets", "FitResult", "fit", "fit_many", "fit_grid", "GridResult",
    "kfold_weights", "verify",
    "Verification", "enable_compilation_cache",
]
