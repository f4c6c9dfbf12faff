"""L-BFGS: optax's ``lbfgs`` with its zoom line search on the full batch, run on
``as_function`` so the line search uses the hand gradient."""

from __future__ import annotations

from jaxlin._lazy import module
from jaxlin.records import Hyper, Problem, Settings, Solver, SolverRecord, Step, first_value

jax, optax = module("jax"), module("optax")


def lbfgs(problem: Problem, hyper: Hyper, s: Settings) -> Solver:
    """Full-batch L-BFGS (optax, zoom line search) on the hand-derived gradient.

    One epoch = one L-BFGS iteration (one full-batch gradient plus line-search
    evaluations). Smooth objectives only: L1 is refused when the options are checked.
    """
    f = problem.objective.as_function(problem.X, problem.T)
    tx = optax.lbfgs(
        memory_size=s.memory_size,
        linesearch=optax.scale_by_zoom_linesearch(max_linesearch_steps=30),
    )

    def init(params):
        # the first value and gradient go into the line search's state, where each step
        # leaves those of its new point: one evaluation site fewer in the program than
        # optax.value_and_grad_from_state (a cond that evaluates on the first step only)
        v, g = jax.value_and_grad(f)(params)
        return optax.tree.set(tx.init(params), value=v, grad=g), first_value(v, g)

    def step(params, opt_state, m, key):
        v, g = optax.tree.get(opt_state, "value"), optax.tree.get(opt_state, "grad")
        updates, opt_state = tx.update(g, opt_state, params, value=v, grad=g, value_fn=f)
        new = optax.apply_updates(params, updates)
        return Step(
            new,
            opt_state,
            optax.tree.get(opt_state, "value"),
            optax.tree.get(opt_state, "grad"),
            optax.tree.get(opt_state, "learning_rate"),
        )

    return Solver(init, step, lambda state: optax.tree.get(state, "grad"))


LBFGS = SolverRecord(
    "lbfgs",
    lbfgs,
    "L-BFGS (zoom line search)",
    learning_rate=False,
    defaults=dict(learning_rate=1.0, epochs=1000, tol=1e-9, grad_tol=1e-6),
)
RECORDS = (LBFGS,)
