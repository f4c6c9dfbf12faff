"""jaxlin, one run per point: a fit of ``n`` iterations for each ``n`` benchopt asks (one
compiled program for all of them)."""

from benchopt import BaseSolver

from benchmark_utils.jaxlin_solver import JaxlinLogreg


class Solver(JaxlinLogreg, BaseSolver):
    name = "jaxlin-iteration"
    sampling_strategy = "iteration"
    parameters = {"solver": ["newton", "lbfgs"]}
    requirements = []  # jaxlin from the checkout: pip install -e .
