"""The benchmark harness runs (smallest sizes) and writes its markdown; no timing is asserted."""

import os
import subprocess
import sys

import numpy as np
import pytest

# the cases in parts of similar length (70–80 s each on a quiet 2-core machine without the
# bench extra), run side by side by the suite's workers
HALVES = {
    "first,compile,stream,step": [
        "11. Time to first result",
        "5. Compilation",
        "7. Out of core",
        "1. Gradient step",
    ],
    "sparse,cv,check,inputs": [
        "12. Sparse, text-like data",
        "10. LogisticRegressionCV",
        "8. Derivation check",
        "14. The cost of a call outside its compiled run",
    ],
    "anchors,newton,fit,scaling,sgd,many": [
        "13. The strongest CPU anchors, dense data",
        "9. Second order",
        "2. Fit to the optimum",
        "6. Scaling",
        "3. Mini-batch SGD",
        "4. Many models",
    ],
}


@pytest.mark.parametrize("cases", list(HALVES))
def test_benchmark_harness_runs_and_reports_every_case(tmp_path, cases):
    out = tmp_path / "results.md"
    proc = subprocess.run(
        [sys.executable, "-m", "benchmarks", "--tiny", "--only", cases, "--out", str(out)],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    md = out.read_text()
    for title in HALVES[cases] + ["## Bars"]:
        assert title in md, title
    assert md.count("| met |") + md.count("| **missed** |") >= 5
    assert "device cpu" in md and "running on cpu" in proc.stdout


def test_every_case_is_in_a_half():
    from benchmarks.run import CASES

    assert sorted(c for h in HALVES for c in h.split(",")) == sorted(CASES)


def test_benchmarks_refuse_an_absent_accelerator():
    """``--device gpu`` on a machine without one says so instead of measuring the CPU."""
    proc = subprocess.run(
        [sys.executable, "-m", "benchmarks", "--device", "gpu", "--tiny"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 2
    assert "--device gpu: no gpu device here" in proc.stderr


def test_the_accelerator_run_stops_a_step_over_its_limit_and_after_a_failed_smoke(
    tmp_path, monkeypatch, capsys
):
    """Each step is a process of its own under its own time limit; when jaxlin cannot train
    (the smoke step fails) the steps after it are not started."""
    from benchmarks import accelerator

    assert all(os.path.exists(os.path.join(accelerator.ROOT, t)) for t in accelerator.TESTS)

    def fake(out, device):
        return {
            "slow": ([sys.executable, "-c", "import time; time.sleep(60)"], 1),
            "facts": ([sys.executable, "-c", "print('here')"], 30),
            "smoke": ([sys.executable, "-c", "raise SystemExit(3)"], 30),
            "after": ([sys.executable, "-c", "print('ran')"], 30),
        }

    monkeypatch.setattr(accelerator, "steps", fake)
    rc = accelerator.main([str(tmp_path), "--steps", "slow,facts,smoke,after", "--device", "cpu"])
    out = capsys.readouterr().out
    assert rc == 1
    assert "slow: timed out" in out and "facts: 0" in out and "smoke: 3" in out
    assert "after:" not in out and not (tmp_path / "after.log").exists()
    assert (tmp_path / "facts.log").read_text().strip() == "here"
    with pytest.raises(SystemExit):
        accelerator.main([str(tmp_path), "--steps", "nonesuch", "--device", "cpu"])
    assert "unknown step(s) ['nonesuch']" in capsys.readouterr().err


def test_sparse_rows_can_leave_out_a_solver_and_refuse_an_unknown_part(monkeypatch):
    from benchmarks import case_sparse

    monkeypatch.setattr(case_sparse, "SKIPPED", {("sklearn", "saga")})
    monkeypatch.setattr(case_sparse, "anchor", lambda *a, **k: pytest.fail("a process ran"))
    r = case_sparse._median_runs("warm", "sklearn", "saga", "unused.npz", 3, l1=0.1)
    assert r["error"].startswith("left out of this run")
    proc = subprocess.run(
        [sys.executable, "-m", "benchmarks.case_sparse", "--parts", "l2,nonesuch"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 2 and "unknown part(s) ['nonesuch']" in proc.stderr


def test_an_anchor_fits_in_a_process_of_its_own_and_reports_its_objective(tmp_path, monkeypatch):
    """The anchor rows' fits each run in a fresh process (the suite's smoke run above keeps
    them in its own): the objective a process reports is computed from the coefficients it
    found, here checked against scikit-learn's fit of the same problem made in this test."""
    from sklearn.datasets import load_breast_cancer
    from sklearn.linear_model import LogisticRegression as SkLogisticRegression
    from sklearn.preprocessing import StandardScaler

    from benchmarks import case_sparse

    monkeypatch.delenv(case_sparse.IN_PROCESS, raising=False)
    X, y = load_breast_cancer(return_X_y=True)
    X = StandardScaler().fit_transform(X)
    path = str(tmp_path / "problem.npz")
    np.savez(path, X=X, y=y)
    l2 = 1.0 / (2 * len(y))  # C = 1
    sk = SkLogisticRegression(C=1.0, fit_intercept=False, tol=1e-12, max_iter=10_000).fit(X, y)
    z = X @ sk.coef_.ravel()
    J = np.mean(np.logaddexp(0.0, z) - y * z) + l2 * np.sum(sk.coef_**2)
    for library, solver, opts in (
        ("sklearn", "lbfgs", dict(tol=1e-12)),
        ("jaxlin", "newton", dict(grad_tol=1e-10)),
    ):
        r = case_sparse.anchor("warm", library, solver, path, l2=l2, **opts)
        assert "error" not in r, r
        assert r["library"] == library and r["first"] > 0 and r["warm"] > 0
        assert abs(r["J"] - J) <= 1e-9 * J, (library, r["J"], J)
        assert r["rss_peak_kib"] >= r["rss_loaded_kib"] > 0


def test_the_cv_floor_program_solves_the_search_it_times():
    """``benchmarks.floor_cv``'s program, the floor that RESULTS.md reports under case 10,
    runs scikit-learn's search: the strength its ``LogisticRegressionCV`` picks on the same
    folds with the same mean held-out accuracy, and a refit at that strength whose gradient
    (by hand, in NumPy) meets the stop."""
    import warnings

    from sklearn.linear_model import LogisticRegressionCV

    from benchmarks import floor_cv

    X, y = floor_cv._data()
    theta, best, score, _, _ = floor_cv._program(X, y, floor_cv._folds(X, y))()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        ref = LogisticRegressionCV(
            Cs=floor_cv.CS, cv=floor_cv.FOLDS, solver="newton-cholesky", tol=1e-10
        ).fit(X, y)
    assert floor_cv.CS[int(best)] == pytest.approx(ref.C_[0])
    assert float(score) == pytest.approx(ref.scores_[1].mean(axis=0).max(), abs=2e-3)
    w, b = np.asarray(theta[:-1]), float(theta[-1])
    r = 1.0 / (1.0 + np.exp(-(X @ w + b))) - y
    g = np.append(X.T @ r / len(y) + w / (ref.C_[0] * len(y)), r.mean())
    assert np.max(np.abs(g)) <= floor_cv.TOL


def test_the_grid_search_floor_program_solves_scikit_learns_problem():
    """``benchmarks.floor_first.LogisticRegression``, the floor case 11 reports under a cold
    GridSearchCV, minimises scikit-learn's objective: on rows padded to a shape bucket its
    gradient (by hand, in NumPy, on the real rows only) meets the stop, and its coefficients
    are scikit-learn's to the stop's accuracy."""
    from sklearn.datasets import make_classification
    from sklearn.linear_model import LogisticRegression

    from benchmarks import floor_first

    X, y = make_classification(n_samples=301, n_features=6, random_state=0)  # pads to 400
    m = floor_first.LogisticRegression(C=0.5).fit(X, y)
    w, b = m.coef_[0], m.intercept_[0]
    r = 1.0 / (1.0 + np.exp(-(X @ w + b))) - y
    g = np.append(X.T @ r / len(y) + w / (0.5 * len(y)), r.mean())
    assert np.max(np.abs(g)) <= floor_first.TOL
    ref = LogisticRegression(C=0.5, tol=1e-10, solver="newton-cholesky").fit(X, y)
    np.testing.assert_allclose(m.coef_, ref.coef_, atol=1e-3)
    assert (m.predict(X) == ref.predict(X)).mean() >= 0.99


def test_the_sgd_floor_programs_train_the_models_they_time():
    """``benchmarks.floor_many``'s programs, the floors of cases 3, 4 and 11: the wide
    program's column ``m`` is the one-model program at learning rate ``m`` (one row order,
    the same steps), and an SGD run learns (accuracy well above chance)."""
    import jax
    import jax.numpy as jnp

    from benchmarks import floor_first, floor_many

    rng = np.random.default_rng(0)
    X = rng.normal(size=(320, 12)).astype(np.float32)
    y = np.argmax(X[:, :10] + 0.1 * rng.normal(size=(320, 10)), axis=1)
    T = jax.nn.one_hot(y, 10, dtype=jnp.float32)
    lrs, key = jnp.asarray([0.05, 0.3], jnp.float32), jax.random.key(3)
    W_wide = floor_many.wide_program(jnp.asarray(X), T, 2, epochs=2)(lrs, key)
    for m in range(2):
        W, _ = floor_many.program(jnp.asarray(X), T, epochs=2)(
            jnp.zeros((12, 10)), jnp.zeros(10), lrs[m], key
        )
        np.testing.assert_allclose(W_wide[:, m], W, rtol=1e-4, atol=1e-5)
    assert floor_first.sgd_first_call(X, y, X, y, epochs=5, lr=0.5) >= 0.5
