"""scikit-learn's rules and words for its linear classifiers' parameters, kept here once.

Code written for scikit-learn meets the same refusals (a solver with a penalty it does not
take, ``dual=True`` outside liblinear, liblinear on more than two classes) and the same
warnings (its API transitions, its convergence messages), word for word, so the filters
and ``pytest.raises(match=...)`` written against scikit-learn keep working with the bridge.
"""

from __future__ import annotations

import functools
import warnings

import numpy as np

# scikit-learn's own solver names for LogisticRegression (jaxlin's run them: see the
# estimator); its checks below apply to these names only, jaxlin's names have their own
SKLEARN_SOLVERS = ("lbfgs", "newton-cg", "newton-cholesky", "sag", "saga", "liblinear")

# the (loss, penalty) pairs liblinear solves, and the formulations (dual) it solves each in
FORMULATIONS = {
    ("squared_hinge", "l2"): (True, False),
    ("squared_hinge", "l1"): (False,),
    ("hinge", "l2"): (True,),
    ("logistic_regression", "l2"): (True, False),
    ("logistic_regression", "l1"): (False,),
}

LIBLINEAR_NOT_CONVERGED = "Liblinear failed to converge, increase the number of iterations."

# the first words of scikit-learn's ConvergenceWarning per solver (others: "<solver> failed
# to converge after n iteration(s). Increase the number of iterations ...")
NOT_CONVERGED = {
    "liblinear": LIBLINEAR_NOT_CONVERGED,
    "sag": "The max_iter was reached which means the coef_ did not converge.",
    "saga": "The max_iter was reached which means the coef_ did not converge.",
    "newton-cholesky": "Newton solver did not converge after {n} iterations.",
}


def unsupported(penalty, loss, dual, why: str) -> ValueError:
    """liblinear's refusal of a (penalty, loss, dual) it does not solve, in its words."""
    return ValueError(
        f"Unsupported set of arguments: {why}, Parameters: penalty={penalty!r}, "
        f"loss={loss!r}, dual={dual!r}"
    )


def liblinear_dual(penalty, loss, dual) -> bool:
    """``dual`` (a bool) checked against liblinear's formulations of (loss, penalty)."""
    duals = FORMULATIONS.get((loss, penalty), ())
    if not duals:
        why = f"The combination of penalty={penalty!r} and loss={loss!r} is not supported"
    elif dual not in duals:
        why = (
            f"The combination of penalty={penalty!r} and loss={loss!r} are not supported "
            f"when dual={dual}"
        )
    else:
        return bool(dual)
    raise unsupported(penalty, loss, dual, why)


def penalty_name(C, l1_ratios) -> str | None:
    """scikit-learn's name of the penalty that ``C`` and the l1 ratios (``None``: 0) make:
    ``None`` (``C = inf``), ``"l2"``, ``"l1"`` or ``"elasticnet"``."""
    if np.isinf(C):
        return None
    ratios = np.asarray([0.0 if r is None else r for r in l1_ratios], dtype=float)
    if np.all(ratios == 0):
        return "l2"
    return "l1" if np.all(ratios == 1) else "elasticnet"


def check_solver(solver, penalty, dual, n_classes=None) -> None:
    """scikit-learn's checks of its solver names (``_check_solver`` and liblinear's):
    ``penalty`` is scikit-learn's name (``penalty_name``). jaxlin's own solver names pass
    (their penalty check is the solver record's), except for ``dual``: jaxlin solves the
    primal problem, which has liblinear's dual optimum, so only liblinear accepts it."""
    if solver not in SKLEARN_SOLVERS:
        if dual:
            raise ValueError(f"Solver {solver} supports only dual=False, got dual={dual}")
        return
    if solver not in ("liblinear", "saga") and penalty not in ("l2", None):
        raise ValueError(
            f"Solver {solver} supports only 'l2' or None penalties, got {penalty} penalty."
        )
    if solver != "liblinear" and dual:
        raise ValueError(f"Solver {solver} supports only dual=False, got dual={dual}")
    if penalty == "elasticnet" and solver != "saga":
        raise ValueError(f"Only 'saga' solver supports elasticnet penalty, got solver={solver}.")
    if solver != "liblinear":
        return
    if penalty is None:
        raise ValueError(
            "C=np.inf as well as penalty=None is not supported for the liblinear solver"
        )
    liblinear_dual(penalty, "logistic_regression", bool(dual))
    if n_classes is not None and n_classes > 2:
        raise ValueError(
            "The 'liblinear' solver does not support multiclass classification (n_classes >= "
            "3). Either use another solver or wrap the estimator in a OneVsRestClassifier to "
            "keep applying a one-versus-rest scheme."
        )


def not_converged_words(solver: str, limit: int) -> str:
    """The first sentence of scikit-learn's ConvergenceWarning for ``solver``."""
    if solver in NOT_CONVERGED:
        return NOT_CONVERGED[solver].format(n=limit)
    return (
        f"{solver} failed to converge after {limit} iteration(s). Increase the number of "
        "iterations or scale the data."
    )


def warn(message: str, category=UserWarning) -> None:
    """A warning attributed to the caller of the estimator's ``fit``."""
    warnings.warn(message, category, stacklevel=5)


# scikit-learn's SGD draws its seeds below this, and its generator's values too (its
# our_rand_r returns x mod 2³¹)
MAX_INT = np.iinfo(np.int32).max


@functools.lru_cache(maxsize=64)
def sgd_permutation(n: int, seed: int) -> np.ndarray:
    """The permutation ``π`` (``(n,)``) by which scikit-learn's SGD reorders its rows each
    epoch for ``seed``: the Fisher–Yates swaps of its ``SequentialDataset.shuffle``, drawn
    with its xorshift generator ``our_rand_r``. The same swaps every epoch, applied to the
    last epoch's order (``jaxlin.fit``'s ``shuffle=π``). About a microsecond a row on the
    host, so kept for the fits that follow (read-only)."""
    state = int(seed) & 0xFFFFFFFF
    idx = list(range(n))
    for i in range(n - 1):
        state = state or 1  # the generator's seed is never 0
        state ^= (state << 13) & 0xFFFFFFFF
        state ^= state >> 17
        state ^= (state << 5) & 0xFFFFFFFF
        j = i + (state % (MAX_INT + 1)) % (n - i)
        idx[i], idx[j] = idx[j], idx[i]
    perm = np.asarray(idx, dtype=np.int32)
    perm.flags.writeable = False
    return perm


def sgd_seeds(random_state, n_models: int) -> list:
    """The shuffle seeds of scikit-learn's SGD for a binary fit (``n_models = 1``) or a
    one-vs-rest fit of ``n_models`` classes: each model's ``RandomState`` gives its
    dataset a seed first, then the shuffle its own (``fit_binary``); one-vs-rest draws each
    model's ``RandomState`` seed from the estimator's first."""
    from sklearn.utils import check_random_state

    def shuffle_seed(rs):
        rs.randint(1, MAX_INT)  # the dataset's own seed (random sampling: unused)
        return int(rs.randint(MAX_INT))

    rs = check_random_state(random_state)
    if n_models == 1:
        return [shuffle_seed(rs)]
    return [shuffle_seed(check_random_state(int(s))) for s in rs.randint(MAX_INT, size=n_models)]
