"""Timing helpers shared by the benchmark cases: warm-up, repeats, medians, machine facts."""

from __future__ import annotations

import datetime
import os
import platform
import subprocess
import sys
import time
from typing import Callable, NamedTuple

import numpy as np


class Settings(NamedTuple):
    quick: bool
    tiny: bool  # the test suite's smoke run: smallest sizes, 1 repeat after warm-up
    repeats: int


def block(x):
    import jax

    return jax.block_until_ready(x)


def median_time(fn: Callable, repeats: int, warmup: int = 1) -> float:
    """Median wall time of ``fn()`` over ``repeats`` calls after ``warmup`` calls."""
    for _ in range(warmup):
        block(fn())
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        block(fn())
        times.append(time.perf_counter() - t)
    return float(np.median(times))


def interleaved_medians(fns: dict, repeats: int) -> dict:
    """Medians of several functions timed in turn (ABCABC…) so machine noise hits all alike."""
    for fn in fns.values():
        block(fn())
        block(fn())
    times = {k: [] for k in fns}
    for _ in range(repeats):
        for k, fn in fns.items():
            t = time.perf_counter()
            block(fn())
            times[k].append(time.perf_counter() - t)
    return {k: float(np.median(v)) for k, v in times.items()}


def first_call_seconds(code: str, timeout: int = 600) -> dict:
    """Run ``code`` in a fresh Python process (no compilation cache) and read its JSON output."""
    import json

    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=os.path.dirname(os.path.dirname(__file__)),
    )
    if out.returncode != 0:
        raise RuntimeError(out.stderr[-2000:])
    return json.loads(out.stdout.strip().splitlines()[-1])


def in_own_process(module: str, function: str, *args) -> dict:
    """``module.function(*args)`` in a fresh Python process (each library in its own: one's
    threads slow another's), its JSON-able result."""
    code = f"import json; from {module} import {function} as f; print(json.dumps(f(*{args!r})))"
    return first_call_seconds(code)


def machine() -> dict:
    import jax

    cpu = platform.processor() or "unknown"
    try:
        with open("/proc/cpuinfo") as fh:
            for line in fh:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    dev = jax.devices()[0]
    print(f"running on {dev.platform}: {getattr(dev, 'device_kind', str(dev))}", flush=True)
    return {
        "date": datetime.date.today().isoformat(),
        "cpu": cpu,
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        "jax": jax.__version__,
        "device": f"{dev.platform}: {getattr(dev, 'device_kind', str(dev))}",
    }


def fmt_s(seconds: float) -> str:
    if seconds < 1e-3:
        return f"{seconds * 1e6:.0f} µs"
    if seconds < 1:
        return f"{seconds * 1e3:.1f} ms"
    return f"{seconds:.2f} s"
