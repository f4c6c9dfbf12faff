"""The benchmark harness runs (smallest sizes) and writes its markdown; no timing is asserted."""

import subprocess
import sys

import pytest

# the cases in parts of similar length, run side by side by the suite's workers
HALVES = {
    "step,fit,sgd,many,compile,newton": [
        "1. Gradient step",
        "2. Fit to the optimum",
        "3. Mini-batch SGD",
        "4. Many models",
        "5. Compilation",
        "9. Second order",
    ],
    "scaling,stream,check,cv,first": [
        "6. Scaling",
        "7. Out of core",
        "8. Derivation check",
        "10. LogisticRegressionCV",
        "11. Time to first result",
    ],
    "sparse,anchors,inputs": [
        "12. Sparse, text-like data",
        "13. The strongest CPU anchors, dense data",
        "14. The cost of a call outside its compiled run",
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
