"""scikit-learn's own ``linear_model/tests/test_logistic.py``, run against jaxlin's bridge.

The module ships inside scikit-learn's wheel. Its source is executed here with
``LogisticRegression`` and ``LogisticRegressionCV`` rebound to ``jaxlin.sklearn``'s, and the
test functions that apply are collected as tests of this suite (every parametrisation).
The others are listed in ``NOT_RUN`` with the reason; a test checks that every function of
the module is one or the other, so a new scikit-learn test cannot slip by unnoticed.
"""

import inspect
import re
import types

import pytest

_T = pytest.importorskip("sklearn.linear_model.tests.test_logistic")
_SOURCE = inspect.getsource(_T)
_NS = {"__name__": "sklearn_test_logistic_on_jaxlin"}
# rebound where the module imports them, so that its parametrisations (which hold the
# classes themselves) test the bridge's too
_IMPORT = "from sklearn.linear_model import LogisticRegression, LogisticRegressionCV, SGDClassifier"
assert _IMPORT in _SOURCE
_BRIDGE = (
    "from sklearn.linear_model import SGDClassifier\n"
    "from jaxlin.sklearn import LogisticRegression, LogisticRegressionCV"
)
exec(compile(_SOURCE.replace(_IMPORT, _BRIDGE), _T.__file__, "exec"), _NS)

# applies, passes, and runs in a few seconds
RUN = [
    "test_elasticnet_l1_ratio_err_helpful",
    "test_inconsistent_input",
    "test_write_parameters",
    "test_nan",
    "test_logistic_cv",
    "test_logistic_cv_refit_false_non_elasticnet",
    "test_logistic_regression_solvers",
    "test_logistic_regression_solver_class_weights",
    "test_liblinear_decision_function_zero",
    "test_logreg_intercept_scaling_zero",
    "test_elastic_net_l1_l2_equivalence",
    "test_LogisticRegression_elastic_net_objective",
    "test_elastic_net_versus_sgd",
    "test_elastic_net_vs_l1_l2",  # saga's tol: the coefficients' relative change
    "test_sample_weight_not_modified",
    "test_single_feature_newton_cg",
    "test_liblinear_not_stuck",
    "test_zero_max_iter",
    "test_liblinear_multiclass_raises",
    "test_penalty_deprecated",
    "test_sparsify",  # coef_ as a CSR matrix and back
    "test_dtype_match",  # float32 kept, but liblinear's float64 (as scikit-learn's)
    # multinomial models in scikit-learn's symmetric form; the folds' scorers see all classes
    "test_logistic_glmnet",
    "test_multinomial_cv_iris",
    "test_logistic_cv_folds_with_classes_missing",
    "test_logistic_regression_solvers_multiclass_unpenalized",
    "test_multinomial_identifiability_on_iris",
    "test_logreg_predict_proba_multinomial",
    "test_LogisticRegressionCV_on_folds",
    # L1 and elastic net by FISTA, to scikit-learn's optimum
    "test_logistic_regression_cv_refit",
    "test_LogisticRegressionCV_GridSearchCV_elastic_net",
    # sparse input, trained on its stored entries
    "test_predict_2_classes",
    "test_predict_3_classes",
    "test_logistic_cv_sparse",
    "test_logistic_regression_class_weights",
    "test_saga_vs_liblinear",
    "test_logreg_l1",
    # scikit-learn's checks, refusals and warnings, in its words
    "test_max_iter",
    "test_check_solver_option",
    "test_penalty_none",
    "test_l1_ratio_None_deprecated",
    "test_l1_ratio_non_elasticnet",
    "test_lr_penalty_l1ratio_incompatible",
    "test_lr_scoring_warns",
    "test_logisticregression_warns_with_n_jobs",
    "test_logisticregressioncv_warns_with_use_legacy_attributes",
    "test_get_default_scorer",
    # metadata routing: the splitter's and the scorer's parameters
    "test_passing_params_without_enabling_metadata_routing",
    "test_lr_cv_scores_differ_when_sample_weight_is_requested",
    # liblinear's dual=True: the primal problem has its optimum
    "test_logisticregression_liblinear_sample_weight",
    "test_sample_and_class_weight_equivalence_liblinear",
]

_SLOW = "passes against the bridge (measured), but takes 2–45 s: too slow for every CI run"
_PRIVATE = "tests scikit-learn's private path function, not the estimator"
_TOL = (
    "compares two elastic-net runs at tol=1e-3 to 1e-3; with L1 the bridge's tol bounds "
    "the proximal gradient mapping (as L-BFGS's bounds the gradient), looser than saga's "
    "bound on the coefficients' change at the same number"
)
NOT_RUN = {
    # pass, but too slow for every CI run (measured: 2–45 s each on 2 cores)
    "test_n_iter": _SLOW,
    "test_warm_start": _SLOW,
    "test_warm_start_newton_solver": _SLOW,
    "test_logistic_regression_sample_weights": _SLOW,
    "test_logistic_regressioncv_class_weights": _SLOW,
    "test_multinomial_logistic_regression_string_inputs": _SLOW,
    "test_logistic_cv_mock_scorer": _SLOW,
    "test_warm_start_converge_LR": _SLOW,
    "test_elastic_net_coeffs": _SLOW,
    "test_LogisticRegressionCV_elasticnet_attribute_shapes": _SLOW,
    "test_lr_cv_scores_without_enabling_metadata_routing": _SLOW,
    "test_c_inf_no_warning": _SLOW,
    "test_LogisticRegressionCV_no_refit": _SLOW,
    # scikit-learn internals and interfaces the bridge does not offer
    "test_consistency_path": _PRIVATE,
    "test_logistic_regression_path_convergence_fail": _PRIVATE,
    "test_logistic_regression_path_coefs_multinomial": _PRIVATE,
    "test_logistic_regression_path_init_coefs": _PRIVATE,
    "test_logistic_regression_callback_support": "scikit-learn's experimental callback API",
    "test_logistic_regression_callback_fitted_estimator": "scikit-learn's experimental "
    "callback API",
    "test_logistic_regression_callback_support_warning": "scikit-learn's experimental callback API",
    "test_logistic_regression_array_api_compliance": "the array API (the bridge takes NumPy)",
    "test_logistic_regression_array_api_warm_start": "the array API (the bridge takes NumPy)",
    # liblinear's own behaviour (dual, intercept_scaling, its random state and stops)
    "test_liblinear_dual_random_state": (
        "expects liblinear's dual solution to change with random_state; the bridge solves "
        "the primal problem, to the same optimum for every random_state"
    ),
    "test_liblinear_with_large_values": "liblinear's overflow error (X > 1e30)",
    "test_newton_cholesky_fallback_to_lbfgs": (
        "scikit-learn's newton-cholesky falls back to its lbfgs on a singular Hessian; "
        "jaxlin's Newton-Cholesky adds the penalty's curvature and goes on"
    ),
    "test_logistic_regression_solvers_multiclass": _SLOW,
    "test_logistic_cv_multinomial_score": "calls scikit-learn's private _log_reg_scoring_path "
    "with the bridge's parameters",
    "test_scores_attribute_layout_elasticnet": _TOL,
}


# run, but without the parametrisations that test scikit-learn's own solvers: liblinear,
# sag and saga refuse sparse matrices with 64-bit indices (the bridge's solvers take them)
WITHOUT = {
    "test_large_sparse_matrix": ("liblinear", "sag", "saga"),
}


def _without(fn, values):
    """``fn`` with ``values`` left out of its ``solver`` parametrisation."""
    new = types.FunctionType(
        fn.__code__, fn.__globals__, fn.__name__, fn.__defaults__, fn.__closure__
    )
    for mark in reversed(getattr(fn, "pytestmark", [])):
        if mark.name == "parametrize" and mark.args[0] == "solver":
            mark = pytest.mark.parametrize("solver", [v for v in mark.args[1] if v not in values])
        else:
            mark = pytest.mark.__getattr__(mark.name)(*mark.args, **mark.kwargs)
        new = mark(new)
    return new


def _crossed(fn, drop):
    """``fn`` with its ``parametrize`` marks crossed into one, leaving out the combinations
    ``drop(values)`` names (ones that scikit-learn's test skips in its body)."""
    marks = [m for m in fn.pytestmark if m.name == "parametrize"]
    names = [n.strip() for m in marks for n in m.args[0].split(",")]
    combos = [()]
    for m in marks:
        combos = [c + (v if isinstance(v, tuple) else (v,)) for c in combos for v in m.args[1]]
    kept = [c for c in combos if not drop(dict(zip(names, c)))]
    new = types.FunctionType(fn.__code__, fn.__globals__, fn.__name__, fn.__defaults__)
    return pytest.mark.parametrize(",".join(names), kept)(new)


for _name in RUN:
    globals()[_name] = _NS[_name]
for _name, _solvers in WITHOUT.items():
    globals()[_name] = _without(_NS[_name], _solvers)
# scikit-learn skips newton-cholesky beyond max_iter=1 ("might converge very fast")
test_max_iter = _crossed(
    _NS["test_max_iter"], lambda v: v["solver"] == "newton-cholesky" and v["max_iter"] > 1
)


def test_every_test_of_the_module_is_run_or_listed_with_a_reason():
    names = set(re.findall(r"^def (test_\w+)", _SOURCE, re.M))
    classified = set(RUN) | set(NOT_RUN) | set(WITHOUT)
    assert not names - classified, "new scikit-learn tests to classify"
    assert not set(RUN) & set(NOT_RUN) and not set(WITHOUT) & (set(RUN) | set(NOT_RUN))
    assert all(isinstance(r, str) and r for r in NOT_RUN.values())
