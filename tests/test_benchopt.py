"""The benchopt files in benchmarks/benchopt: the jaxlin solver reaches the objective's
minimum under both of benchopt's sampling strategies (benchopt itself stubbed: its base
classes are plain classes here, so the suite needs no benchopt install)."""

import contextlib
import importlib.util
import pathlib
import sys
import types

import numpy as np
import pytest
from scipy.optimize import minimize

ROOT = pathlib.Path(__file__).resolve().parents[1] / "benchmarks" / "benchopt"


@pytest.fixture
def benchopt_files(monkeypatch):
    stub = types.ModuleType("benchopt")
    stub.BaseSolver = type("BaseSolver", (), {})
    stub.BaseObjective = type("BaseObjective", (), {})
    stub.BaseDataset = type("BaseDataset", (), {})
    stub.safe_import_context = contextlib.nullcontext
    monkeypatch.setitem(sys.modules, "benchopt", stub)
    monkeypatch.syspath_prepend(str(ROOT))  # benchopt puts a benchmark's folder on the path

    def load(relative):
        spec = importlib.util.spec_from_file_location("bo_" + relative.stem, ROOT / relative)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        return module

    return load


def _problem(load):
    data = load(pathlib.Path("datasets/simulated.py")).Dataset()
    data.n_samples, data.n_features = 300, 8
    objective = load(pathlib.Path("objective.py")).Objective()
    objective.lmbd = 1.0
    objective.set_data(**data.get_data())
    return objective


def _minimum(objective):
    X, y, lmbd = objective.X, objective.y, objective.lmbd

    def f(beta):
        z = y * (X @ beta)
        return np.logaddexp(0.0, -z).sum() + 0.5 * lmbd * beta @ beta

    def g(beta):
        z = y * (X @ beta)
        return -X.T @ (y / (1 + np.exp(z))) + lmbd * beta

    return minimize(f, np.zeros(X.shape[1]), jac=g, method="BFGS", tol=1e-12).fun


@pytest.mark.parametrize("solver", ["newton", "lbfgs"])
def test_the_iteration_strategy_reaches_the_minimum(benchopt_files, solver):
    objective = _problem(benchopt_files)
    s = benchopt_files(pathlib.Path("solvers/jaxlin_iteration.py")).Solver()
    assert s.sampling_strategy == "iteration"
    s.solver = solver
    s.set_objective(**objective.get_objective())
    s.run(0)  # benchopt starts at 0 iterations: the start point
    assert objective.evaluate_result(**s.get_result())["value"] == pytest.approx(300 * np.log(2.0))
    s.run(100)
    best = _minimum(objective)
    assert objective.evaluate_result(**s.get_result())["value"] == pytest.approx(best, rel=1e-9)


def test_the_callback_strategy_records_each_epoch_and_stops_when_asked(benchopt_files):
    objective = _problem(benchopt_files)
    s = benchopt_files(pathlib.Path("solvers/jaxlin.py")).Solver()
    assert s.sampling_strategy == "callback"
    s.solver = "lbfgs"
    s.set_objective(**objective.get_objective())
    values = []

    def budget():  # benchopt's callback: record the current result, say whether to go on
        values.append(objective.evaluate_result(**s.get_result())["value"])
        return len(values) < 40

    s.run(budget)
    assert len(values) == 40
    assert values[0] == pytest.approx(300 * np.log(2.0))
    assert values[-1] == pytest.approx(_minimum(objective), rel=1e-8)
    assert all(b <= a + 1e-9 for a, b in zip(values[5:], values[6:]))  # it descends
