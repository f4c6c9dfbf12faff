"""scikit-learn's rules and words for its linear classifiers' parameters, kept here once.

Code written for scikit-learn meets the same refusals (a solver with a penalty it does not
take, ``dual=True`` outside liblinear, liblinear on more than two classes) and the same
warnings (its API transitions, its convergence messages), word for word, so the filters
and ``pytest.raises(match=...)`` written against scikit-learn keep working with the bridge.
"""

from __future__ import annotations

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
