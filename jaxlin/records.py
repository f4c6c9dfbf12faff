"""The records a training run is made of, shared by the epoch driver and the solvers.

``jaxlin.driver`` runs the loop and ``jaxlin.solvers`` supplies each epoch's step; both
read these records, and this module imports neither (nor JAX until its helpers run): the
data of a run (``Problem``), its traced numbers (``Hyper``) and static settings
(``Settings``), what a solver's epoch returns (``Step``), the per-epoch
``History``, the stop codes, and the one rule that says when a change of the objective
is only rounding (``float_resolution``).
"""

from __future__ import annotations

from typing import Any, Callable, NamedTuple, Optional

from jaxlin._lazy import module

jax, jnp = module("jax"), module("jax.numpy")

(
    RUNNING,
    MAX_EPOCHS,
    OBJECTIVE_TOL,
    GRADIENT_TOL,
    EARLY_STOPPING,
    DIVERGED,
    SEPARATED,
    ROUNDING,
    CALLBACK,
    STEP_TOL,
) = range(10)
STOP_REASONS = {
    RUNNING: "running",
    MAX_EPOCHS: "max_epochs",
    OBJECTIVE_TOL: "objective_tol",
    GRADIENT_TOL: "gradient_tol",
    EARLY_STOPPING: "early_stopping",
    DIVERGED: "diverged",
    SEPARATED: "separated",
    ROUNDING: "rounding",
    CALLBACK: "callback",
    STEP_TOL: "step_tol",
}
# each stop in words, for reports
STOP_WORDS = {
    "running": "still running",
    "max_epochs": "the epoch limit was reached",
    "objective_tol": "the objective changed by less than tol",
    "gradient_tol": "the gradient's norm fell below grad_tol",
    "early_stopping": "the validation loss stopped improving for patience epochs",
    "diverged": "the objective became infinite or NaN; lower the learning rate",
    "separated": "every training example is classified correctly",
    "rounding": "the objective changes only by rounding: the tolerance is below what this "
    "precision can resolve",
    "callback": "the per-epoch callback asked to stop",
    "step_tol": "no parameter changed by more than step_tol times the largest parameter",
}


class DivergedWarning(RuntimeWarning):
    """``jaxlin.fit`` ended a run whose objective or parameters became infinite or NaN; the
    result holds the last finite parameters (its ``stop_reason`` is ``"diverged"``)."""


STOPS = ("tol", "grad_tol", "step_tol")  # the options that set a stopping rule's tolerance
# the stops that mean "converged" (the scikit-learn bridge warns on none of them)
CONVERGED = (OBJECTIVE_TOL, GRADIENT_TOL, SEPARATED, ROUNDING, CALLBACK, STEP_TOL)


class Problem(NamedTuple):
    """The data of one run, a pytree: training rows, their objective, validation rows.

    ``X`` ``(N, d)``, ``T`` ``(N, K)``; ``X_val``/``T_val`` or ``None``. Rows past
    ``Settings.n_rows`` are weight-0 padding (sharding) that mini-batches never draw.
    ``derived``: what the run's solver derives from ``X`` once for the whole run
    (``SolverRecord.prepare``; ``None`` before the driver prepares it, or when there is
    nothing to derive) — shared by every model of a many-model run.
    """

    X: Any
    T: Any
    objective: Any  # jaxlin.objective.Objective
    X_val: Any = None
    T_val: Any = None
    derived: Any = None


class Hyper(NamedTuple):
    """Per-model numbers besides the penalty (which the objective holds); ``init`` the
    starting ``Params`` of a warm start (``Settings.init == "given"``);
    ``tol``/``grad_tol``/``step_tol`` the stopping tolerances where ``Settings`` turns those
    stops on; ``epochs`` the epoch limit; ``decay`` the learning-rate decay ``(τ, p, rows_seen)`` of
    ``jaxlin.solvers.gradient.step_rate`` (``None``: a constant rate); ``average`` where
    ``Settings.average`` is on: ``(first, params)``, the row of this run (``1`` its first)
    from which iterates are averaged (``≤ 0``: the average began in earlier runs) and that
    average so far (``None``: the start); ``intercept_lr`` the intercept's step as a
    multiple of the weights' (``None``: 1); ``order`` a permutation ``π`` of the rows
    (``None``: fresh random orders from ``key``): epoch ``e`` visits the rows in epoch
    ``e − 1``'s order permuted by ``π`` (``RowOrder``). All are traced values: runs that
    differ only in them share one compiled program."""

    learning_rate: Any
    key: Any
    init: Any = None
    tol: Any = None
    grad_tol: Any = None
    epochs: Any = None
    decay: Any = None
    average: Any = None
    intercept_lr: Any = None
    order: Any = None
    step_tol: Any = None

    def rate(self, dtype):
        """The base learning rate ``η₀`` as a scalar of the data's ``dtype``."""
        return jnp.asarray(self.learning_rate, dtype)


class RowOrder(NamedTuple):
    """The order an epoch visits the rows in, carried where a run with ``Hyper.order``
    carries its key: ``rows`` ``(n,)`` int32, epoch ``e``'s order
    ``rows_e = rows_(e−1)[π]`` from ``rows_0 = 0..n−1`` (scikit-learn's SGD shuffles its
    index array in place with the same Fisher–Yates swaps every epoch: this)."""

    rows: Any

    def next(self, perm) -> "RowOrder":
        return RowOrder(self.rows[perm])


class Settings(NamedTuple):
    """Static settings (hashable: one compilation per distinct settings and shapes)."""

    solver: str  # a name of the solver registry, jaxlin.solvers
    n_outputs: int
    optimizer: Any = None  # a registry name, an optax GradientTransformation, or lr -> one
    epochs: int = 100  # the history's length: at least the epoch limit (Hyper.epochs)
    batch_size: Optional[int] = None  # None: the full batch
    tol: bool = False  # the objective stop is on (its value: Hyper.tol)
    grad_tol: bool = False  # the gradient stop is on (its value: Hyper.grad_tol)
    grad_norm: str = "l2"  # the norm grad_tol bounds: "l2" or "max" (GRAD_NORMS)
    step_tol: bool = False  # the parameters' relative-change stop is on (Hyper.step_tol)
    adaptive_lr: bool = False
    patience: Optional[int] = None
    plateau: Optional[int] = None  # the tol stop's epochs in a row (scikit-learn's SGD rule)
    lr_plateau: bool = False  # the rate ÷ 5 when the plateau rule fires (instead of a stop)
    init: str = "zeros"  # or "given": start from Hyper.init
    memory_size: int = 10
    n_rows: Optional[int] = None  # real rows; the rest of X is zero-weight padding (sharding)
    shuffle: bool = True  # each epoch visits the rows in a fresh random order (else in order)
    callback: bool = False  # call the run's per-epoch callback (jaxlin.driver.calling)
    average: bool = False  # the result is the running mean of the iterates (Hyper.average)
    # a solver with an explicit Hessian (Newton-Cholesky): some model has no L2 term, so its
    # Hessian may be singular (its sums then run in the data's precision); others: False
    unpenalised: bool = False
    models_axis: Optional[str] = None  # set by the driver: this epoch is one of many models'
    # under vmap, on this axis name (MODELS_AXIS); see rare_cond

    def real_rows(self, X) -> int:
        """The rows a solver visits and counts: ``n_rows``, or all of ``X`` (the rows past
        ``n_rows`` are zero-weight padding that shards ``X`` evenly)."""
        return self.n_rows or X.shape[0]


HISTORY_CAP = 64 * 16**4  # 4,194,304 epochs: a run allowed more records its first ones


def history_length(epochs: int) -> int:
    """The history arrays' length for an epoch limit: 64, 1,024, 16,384, … (powers of 16),
    so that runs whose limits differ share one compiled program; at most ``HISTORY_CAP``
    (an epoch beyond it is run, not recorded: a write past the end is dropped)."""
    length = 64
    while length < epochs and length < HISTORY_CAP:
        length *= 16
    return length


class History(NamedTuple):
    """Per-epoch arrays of length ``epochs`` (at most ``HISTORY_CAP``: a longer run keeps its
    first epochs); entries after the last epoch run are NaN.

    ``objective[e]`` is ``J`` after epoch ``e`` in the loss's own direction (training data,
    with the penalty; for mini-batches, the mean of the epoch's mini-batch objectives; for
    the perceptron, the number of misclassified examples); ``val_objective`` the mean
    validation loss (no penalty); ``val_accuracy`` its accuracy; ``learning_rate`` the step
    size (for Newton's method, the trust-region radius); ``inner_steps`` the inner iterations
    of the epoch (Newton: conjugate-gradient steps; NaN for solvers without any).
    """

    objective: Any
    val_objective: Any
    val_accuracy: Any
    learning_rate: Any
    grad_norm: Any
    inner_steps: Any = None


class Step(NamedTuple):
    """What a solver's epoch returns to the driver."""

    params: Any  # jaxlin.linear.Params
    state: Any
    value: Any  # minimised objective after the epoch
    grad: Any  # gradient of the smooth part at the new parameters, or None
    learning_rate: Any
    accepted: Any = True  # False: a rejected step (bold driver), never a convergence
    status: Any = RUNNING  # a solver's own stop (the perceptron: SEPARATED)
    inner_steps: Any = float("nan")  # inner iterations of the epoch (Newton: CG steps)
    # a solver's own optimality measure, which grad_tol bounds in place of the gradient's
    # norm (dual coordinate descent: the spread of its dual's projected gradient)
    optimality: Any = None


class DualBox(NamedTuple):
    """A margin loss's dual, column by column: ``C ℓ(s z) = max over 0 ≤ α ≤ U of
    α (1 − s z) − D α² / 2``, so the L2-regularised problem's dual is
    ``min ½ αᵀ(Q + diag D)α − Σα`` over ``0 ≤ α ≤ U`` (the hinges; ``docs/optimisers.md``).
    Each field ``(N, K)``: the target's sign ``s``, the box ``U``, the diagonal ``D``."""

    sign: Any
    upper: Any
    diag: Any


class DualSimplex(NamedTuple):
    """A loss whose ``K`` dual variables of a row are coupled (Crammer–Singer):
    ``C L(z, t) = max over Σ_k α_k = 0, α ≤ U of −αᵀ(cost + z)``, so ``W = Σ_i x_iᵀ α_i`` and
    the dual is ``min ½‖W‖² + Σ_i costᵢᵀ α_i`` (``docs/optimisers.md``). Each ``(N, K)``."""

    upper: Any
    cost: Any


class DualPairwise(NamedTuple):
    """A loss that sums a margin loss over the wrong classes (Weston–Watkins):
    ``C L(z, t) = max over 0 ≤ β ≤ U of Σ_m β_m (cost_m + z_m − z_y) − D_m β_m² / 2``, one
    variable per (row, wrong class) — ``U = 0`` at the true class, so its ``β`` stays 0 —
    coupled through the true class's column: ``W = Σ_i x_iᵀ (t_i Σ_m β_im − β_i)`` and the
    dual is ``min ½‖W‖² − Σ costᵀβ + Σ D β² / 2`` (``docs/optimisers.md``). Each ``(N, K)``:
    the one-hot target ``t``, the box ``U``, the diagonal ``D``, the margins ``cost``."""

    target: Any
    upper: Any
    diag: Any
    cost: Any


class Average(NamedTuple):
    """Iterate averaging (Polyak–Ruppert): ``params`` the running mean of the iterates after
    each step, each weighted by the rows it stepped over counted from ``Hyper.average``'s
    first row; ``rows`` those rows so far (``0``: not begun). A solver's state that
    averages holds one as its ``average``; the run's result is then the mean
    (``jaxlin.driver.trained``), and the last iterate comes beside it."""

    params: Any
    rows: Any

    @classmethod
    def start(cls, params, hyper: "Hyper", dtype):
        """The average at a run's start: the one given, else ``params``, with the rows
        already counted in it when it began in earlier runs (``first ≤ 0``)."""
        first, given = hyper.average
        rows = jnp.maximum(1 - jnp.asarray(first, dtype), 0)
        return cls(params if given is None else given, rows)

    def counted(self, hyper: "Hyper", rows_after):
        """The rows counted once this run has stepped over ``rows_after`` rows (an int32
        counter: ``jaxlin.solvers.gradient.count_rows``)."""
        return jnp.maximum(rows_after.astype(self.rows.dtype) - hyper.average[0] + 1, 0)

    def weight(self, rows):
        """The new iterate's weight in the mean once ``rows`` rows are counted:
        ``μ = (rows − rows_before) / rows`` (0 before the start, 1 at it)."""
        return jnp.where(rows > 0, (rows - self.rows) / jnp.maximum(rows, 1), 0).astype(rows.dtype)

    def add(self, params, rows):
        """The mean with the iterate ``params``, reached when ``rows`` rows are counted:
        ``Ā ← Ā + μ (θ − Ā)``, ``μ`` its ``weight``."""
        mu = self.weight(rows)
        mean = jax.tree.map(lambda a, p: a + mu * (p - a), self.params, params)
        return Average(mean, rows)

    def result(self, last):
        """The run's parameters: the mean once it has begun (and is finite), else ``last``;
        model by model when the leaves carry leading model axes (those of ``rows``)."""
        lead = self.rows.ndim
        use = self.rows > 0
        for a in jax.tree.leaves(self.params):
            use = use & every(jnp.isfinite(a), axis=tuple(range(lead, a.ndim)))

        def pick(a, b):
            return jnp.where(use.reshape(use.shape + (1,) * (a.ndim - lead)), a, b)

        return jax.tree.map(pick, self.params, last)


class Solver(NamedTuple):
    """A solver for one run: ``init(params) → (state, m)``, ``step(params, state, m, key) →
    Step`` (the contract of ``jaxlin.driver``); a full-batch solver's ``start_grad(state)``
    reads the smooth gradient at the start out of ``init``'s state, so that the gradient
    stop is judged before the first epoch too (a start that meets it runs no epoch)."""

    init: Callable
    step: Callable
    start_grad: Optional[Callable] = None


def held_grad(state):
    """``Solver.start_grad`` of a solver whose state keeps its smooth gradient as ``grad``."""
    return state.grad


def select(pred, a, b):
    """``a`` where ``pred`` else ``b``, leaf by leaf of two pytrees of one structure."""
    return jax.tree.map(lambda x, y: jnp.where(pred, x, y), a, b)


MODELS_AXIS = "models"  # the vmap axis of many models' epochs (Settings.models_axis)


def rare_cond(pred, s: Settings, branch, operands):
    """``branch(operands)`` where ``pred`` holds, else ``operands``: a ``lax.cond`` for a
    costly branch that is rarely taken (a pass over every weight, as folding a scale).

    Under ``vmap`` a per-model predicate turns a ``cond`` into both branches and a select, so
    the branch's cost would be paid at every call. In many models' epochs
    (``s.models_axis``) the ``cond`` asks instead whether ``pred`` holds for any model
    (the maximum over the models' axis, one value for all), and inside the branch each
    model whose own ``pred`` is false keeps its operands: the same results, and the costly
    pass only when some model needs it.
    """
    if s.models_axis is None:
        return jax.lax.cond(pred, branch, lambda x: x, operands)
    anyone = jax.lax.pmax(jnp.asarray(pred).astype(jnp.uint8), s.models_axis) == 1
    return jax.lax.cond(anyone, lambda x: select(pred, branch(x), x), lambda x: x, operands)


def every(pred, axis=None):
    """``jnp.all(pred, axis)``, as the minimum of ``pred`` in bytes.

    The same booleans, compiled faster: XLA:CPU rewrites a long boolean ``and``-reduction
    into a tree of reduce-windows that LLVM takes about 0.2 s to compile (each one, 65,536
    values or more), where the byte's minimum takes about 0.04 s and runs as fast.
    """
    return jnp.min(jnp.asarray(pred).astype(jnp.uint8), axis=axis, initial=1) == 1


def some(pred, axis=None):
    """``jnp.any(pred, axis)``, as the maximum of ``pred`` in bytes (see ``every``)."""
    return jnp.max(jnp.asarray(pred).astype(jnp.uint8), axis=axis, initial=0) == 1


def all_finite(tree):
    """Whether every leaf of ``tree`` is finite everywhere (a scalar boolean)."""
    return every(jnp.stack([every(jnp.isfinite(x)) for x in jax.tree.leaves(tree)]))


def first_value(m, grad):
    """A full-batch solver's first objective ``m``, made NaN unless its gradient
    ``Xᵀ Δ`` is finite too. Every value of ``X`` enters that gradient (``0 · NaN`` and
    ``0 · ∞`` are NaN), whatever the loss does with non-finite scores, so a NaN or an
    infinity in ``X`` makes the first objective non-finite: the driver ends such a run at
    its start (``diverged``) and ``jaxlin.training.fit`` then names the cell, without a
    scan of ``X`` before every run."""
    return jnp.where(all_finite(grad), m, jnp.nan)


def float_resolution(v):
    """``10 ε max(1, |v|)``: a change of an objective value below this is rounding.

    The one rule for every decision that compares two values of the objective: a step whose
    value rises by less than this is not an increase (``not_above``), a model that
    promises a decrease below it promises nothing, and a run whose accepted steps change
    the objective by less than it stops (``rounding``).
    """
    return 10 * jnp.finfo(v.dtype).eps * jnp.maximum(1.0, jnp.abs(v))


def plateau_count(best, stale, value, tol):
    """scikit-learn's SGD rule, epoch by epoch: a ``value`` not below ``best − tol`` adds one
    to ``stale`` (otherwise ``stale`` is 0). Returns ``(min(best, value), stale)``; the
    driver's ``plateau`` stop and the on-plateau learning rate count with it."""
    stale = jnp.where(value <= best - tol, 0, stale + 1)
    return jnp.minimum(best, value), stale


def not_above(new, old):
    """``new ≤ old`` up to rounding: ``new ≤ old + float_resolution(old)``. The sums behind
    two values may run in different orders (sharded rows, another reduction), so a decision
    that turns on a difference below rounding would turn on that order."""
    return new <= old + float_resolution(old)


class SolverRecord(NamedTuple):
    """What a solver is and what it handles: one per name in the registry
    (``jaxlin.solvers``). Options validation, the command line, the scikit-learn bridge,
    the presets and the report all read it; the solver's module owns it.

    Attributes:
      name: what users pass as ``optimizer``.
      make: the factory ``(problem, hyper, settings) → Solver``.
      summary: one line, for the command line's help and the report.
      batches: ``("full",)``, or ``("full", "mini")`` when it also runs mini-batches.
      l1: handles a non-smooth L1 term (proximal or orthant-wise steps); else smooth only.
      penalty: takes a penalty at all (Rosenblatt's perceptron does not).
      weighted: its steps use the objective's weighted mean, so rows of weight 0 (padding
        to a shape bucket) change nothing; ``False`` for a solver that visits rows one by one.
      curvature: needs the loss's second derivative (Newton).
      targets: the loss target kinds it trains (``"real"``, ``"binary"``, ``"onehot"``).
      stops: the stopping rules that apply: ``"tol"``, ``"grad_tol"``, ``"step_tol"``, and
        ``"rounding"`` (the driver ends a full-batch run whose accepted steps change the
        objective only by its ``float_resolution``, while a tolerance is on; Newton and
        FISTA, which know when their own steps can no longer gain, stop themselves instead).
      learning_rate: uses the learning rate (the second-order solvers and the perceptron
        do not; FISTA takes it as its first step size).
      bold_driver: ``adaptive_lr`` applies (plain full-batch steps).
      tol_bounds: what scikit-learn's ``tol`` bounds for it in the bridge: ``"gradient"``
        (the gradient's norm, or the proximal gradient mapping's) or ``"objective"``.
      defaults: the command line's defaults: ``learning_rate``, ``epochs``, ``batch_size``,
        and the tolerances where it has them.
      aliases: other names that mean this solver (scikit-learn's).
      default_for: ``"smooth"`` and/or ``"l1"``: the solver chosen for that kind of penalty
        where a caller leaves the choice to jaxlin (scikit-learn's ``liblinear``/``saga``).
      listed: offered by name (``False`` for the record of a user's optax transformation).
      sparse: takes sparse rows (``SparseRows``).
      max_parameters: the most parameters ``(d + 1) K`` it takes (an explicit Hessian is
        that size squared), or ``None``.
      dual: solves the loss's dual (``Loss.dual``): it needs a loss that has one, an L2
        term, no intercept and the zero start.
      defined_for: the names of the losses it trains, where it is defined for those alone
        (the passive-aggressive steps: the hinge); empty: every loss of its ``targets``.
      intercept_lr: takes the intercept's own rate (``Options.intercept_lr``).
      averages: keeps the running mean of its iterates (``Options.average``).
      visits_rows: its full-batch epochs visit the rows one at a time, in an order drawn
        afresh from the run's key each epoch (the perceptron, passive-aggressive steps, dual
        coordinate descent); ``draws`` says when a run draws at all.
      prepare: ``(problem, settings) → derived`` or ``None``: what its steps read that
        depends on ``X`` alone (a lower-precision copy, the squares of the values), made
        once a run by the driver (``Problem.derived``, what the factory reads) — not once per
        model and epoch when many models take their epochs in turn.
    """

    name: str
    make: Callable
    summary: str
    batches: tuple = ("full",)
    l1: bool = False
    penalty: bool = True
    weighted: bool = True
    curvature: bool = False
    targets: tuple = ("real", "binary", "onehot")
    stops: tuple = ("tol", "grad_tol", "step_tol", "rounding")
    learning_rate: bool = True
    bold_driver: bool = False
    tol_bounds: str = "gradient"
    defaults: Any = None
    aliases: tuple = ()
    default_for: tuple = ()
    listed: bool = True
    sparse: bool = True
    max_parameters: Optional[int] = None
    dual: bool = False
    defined_for: tuple = ()
    intercept_lr: bool = False
    averages: bool = False
    visits_rows: bool = False
    prepare: Optional[Callable] = None

    @property
    def mini_batches(self) -> bool:
        return "mini" in self.batches

    def draws(self, batch_size, shuffle: bool) -> bool:
        """Whether its epochs draw from the run's PRNG key: a shuffled row order, for
        mini-batches or for a solver that ``visits_rows``. The other runs never split the
        key: a deterministic run's program holds no random-number generator (whose
        lowering and compilation were a fifth of a small full-batch fit's first call)."""
        return bool(shuffle) and (batch_size is not None or self.visits_rows)

    def start_reads_every_value(self, batch_size) -> bool:
        """Whether a run's first objective and gradient read every value of ``X``: a
        full-batch run (``batch_size`` ``None``) of a solver that weighs its rows
        (``first_value``). A NaN or an infinity in ``X`` then ends the run at its start."""
        return batch_size is None and self.weighted
