"""jaxlin, one run per curve: every iteration recorded through jaxlin's per-epoch callback."""

from benchopt import BaseSolver

from benchmark_utils.jaxlin_solver import JaxlinLogreg


class Solver(JaxlinLogreg, BaseSolver):
    name = "jaxlin"
    sampling_strategy = "callback"
    parameters = {"solver": ["newton", "lbfgs"]}
    requirements = []  # jaxlin from the checkout: pip install -e .
