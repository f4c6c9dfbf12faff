"""Case 8: `jaxlin check` wall time, a fresh process each run (imports, compilation, report)."""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time

from benchmarks.harness import fmt_s

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _wall(args, cwd, cache="off") -> float:
    t = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-m", "jaxlin", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        env=dict(os.environ, PYTHONPATH=ROOT, JAXLIN_CACHE_DIR=cache),
    )
    seconds = time.perf_counter() - t
    if proc.returncode != 0:
        raise RuntimeError(f"jaxlin {' '.join(args)} failed: {proc.stderr[-2000:]}")
    return seconds


def run(s):
    tests = os.path.join(ROOT, "tests")  # user_losses.py: the focal loss of the tutorial
    repeats = 1 if s.tiny else s.repeats
    cases = [
        ("jaxlin check (every built-in derivation)", ["check"], 10.0),
        ("jaxlin check --loss user_losses:FOCAL", ["check", "--loss", "user_losses:FOCAL"], None),
    ]
    if s.tiny:  # the test suite's smoke run: the short command only
        cases = cases[1:]
    rows, checks = [], []
    for name, args, bar in cases:
        times = [_wall(args, tests) for _ in range(repeats)]
        median = statistics.median(times)
        rows.append([name, "none", fmt_s(median), ", ".join(fmt_s(t) for t in times)])
        if bar is not None:
            checks.append((f"{name} ≤ {bar:g} s", fmt_s(median), median <= bar))
        with tempfile.TemporaryDirectory() as cache:
            _wall(args, tests, cache)  # fills the cache
            warm = [_wall(args, tests, cache) for _ in range(repeats)]
        rows.append(
            [name, "warm", fmt_s(statistics.median(warm)), ", ".join(fmt_s(t) for t in warm)]
        )
    return {
        "title": "8. Derivation check",
        "what": "Wall time of the command in a fresh process (Python start, imports, "
        "compilation of the check programs, the report), median of the runs: without "
        "a compilation cache (a first run), and with the cache the command line keeps "
        "warm (every later run). Before the check was compiled it ran every row "
        "eagerly: 26–35 s on this machine.",
        "header": ["command", "compilation cache", "median wall time", "runs"],
        "rows": rows,
        "checks": checks,
    }
