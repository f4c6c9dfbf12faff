"""Run every benchmark case; print the tables; the full run writes benchmarks/RESULTS.md.

    python -m benchmarks            # full sizes, ≥ 5 repeats, writes RESULTS.md
    python -m benchmarks --quick    # smaller sizes, fewer repeats (under 2 minutes)
    python -m benchmarks --only step,sgd
    python -m benchmarks --device gpu  # on a machine with one: writes RESULTS-gpu.md

Ratios are measured within one run on one machine; times are medians after warm-up.
"""

from __future__ import annotations

import argparse
import os
import sys
import time

from benchmarks import (
    case_anchors,
    case_check,
    case_compile,
    case_cv,
    case_first,
    case_fit,
    case_inputs,
    case_newton,
    case_scaling,
    case_sgd,
    case_sparse,
    case_step,
    case_stream,
)
from benchmarks.harness import Settings, machine

CASES = {
    "step": case_step.run,
    "fit": case_fit.run,
    "sgd": case_sgd.run_sgd,
    "many": case_sgd.run_many,
    "compile": case_compile.run,
    "scaling": case_scaling.run,
    "stream": case_stream.run,
    "check": case_check.run,
    "newton": case_newton.run,
    "cv": case_cv.run,
    "first": case_first.run,
    "sparse": case_sparse.run,
    "anchors": case_anchors.run,
    "inputs": case_inputs.run,
}


def _table(header, rows):
    out = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    out += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return out


def to_markdown(results, info, mode) -> str:
    lines = [
        f"# jaxlin benchmark results ({mode})",
        "",
        f"Measured {info['date']} on {info['cpu']}, {info['cores']} cores, "
        f"Python {info['python']}, JAX {info['jax']}, device {info['device']}. "
        "Every ratio comes from one run on this machine; times are medians of repeats "
        "after warm-up (`block_until_ready`).",
        "",
    ]
    summary = []
    for r in results:
        for text, value, ok in r["checks"]:
            summary.append([r["title"].split(".")[0], text, value, "met" if ok else "**missed**"])
    lines += ["## Bars", ""] + _table(["case", "bar", "measured", ""], summary) + [""]
    for r in results:
        lines += [f"## {r['title']}", "", r["what"], ""] + _table(r["header"], r["rows"]) + [""]
        if r.get("extra") and r["extra"]["rows"]:
            lines += _table(r["extra"]["header"], r["extra"]["rows"]) + [""]
    return "\n".join(lines)


# JAX platform lists per --device; the CPU stays listed for scikit-learn's side and the host
PLATFORMS = {"cpu": "cpu", "gpu": "cuda,cpu", "tpu": "tpu,cpu"}


def use_device(kind: str) -> str | None:
    """Run this process and its measurement subprocesses on ``kind``'s devices.

    Returns an error message when no such device is present, else ``None``. Must be called
    before JAX starts a backend.
    """
    import jax

    os.environ["JAX_PLATFORMS"] = PLATFORMS[kind]
    try:
        jax.config.update("jax_platforms", PLATFORMS[kind])
        found = jax.devices()[0].platform
    except RuntimeError as e:
        return f"no {kind} device here ({str(e).splitlines()[0]})"
    if (found == "cpu") != (kind == "cpu"):
        return f"no {kind} device here (JAX found {found})"
    return None


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m benchmarks")
    ap.add_argument("--quick", action="store_true", help="smaller sizes, fewer repeats")
    ap.add_argument("--tiny", action="store_true", help="smallest sizes (the test suite's check)")
    ap.add_argument("--only", help="comma-separated cases: " + ",".join(CASES))
    ap.add_argument(
        "--out",
        help="write the markdown here (default for a full run: RESULTS.md "
        "on the CPU, RESULTS-gpu.md or RESULTS-tpu.md on an accelerator)",
    )
    ap.add_argument(
        "--device",
        choices=list(PLATFORMS),
        default="cpu",
        help="where jaxlin runs (scikit-learn always runs on the CPU)",
    )
    args = ap.parse_args(argv)
    problem = use_device(args.device)
    if problem:
        ap.error(f"--device {args.device}: {problem}")
    if args.tiny:  # a smoke run: each anchor fits once warm, in this process
        os.environ["JAXLIN_BENCH_WARM_FITS"] = "1"
        os.environ[case_sparse.IN_PROCESS] = "1"
    s = Settings(
        quick=args.quick or args.tiny,
        tiny=args.tiny,
        repeats=1 if args.tiny else (3 if args.quick else 7),
    )
    names = args.only.split(",") if args.only else list(CASES)
    unknown = [n for n in names if n not in CASES]
    if unknown:
        ap.error(f"unknown case(s) {unknown}; choose from {', '.join(CASES)}")
    info = machine()
    results = []
    t0 = time.perf_counter()
    for name in names:
        t = time.perf_counter()
        r = CASES[name](s)
        results.append(r)
        print(f"\n== {r['title']}  ({time.perf_counter() - t:.1f} s)")
        for row in [r["header"]] + r["rows"]:
            print("   " + " | ".join(str(c) for c in row))
        for text, value, ok in r["checks"]:
            print(f"   [{'met' if ok else 'MISSED'}] {text}: {value}")
        sys.stdout.flush()
    mode = "tiny" if args.tiny else ("quick" if args.quick else "full")
    md = to_markdown(results, info, mode)
    name = "RESULTS.md" if args.device == "cpu" else f"RESULTS-{args.device}.md"
    out = args.out or (
        os.path.join(os.path.dirname(__file__), name) if mode == "full" and not args.only else None
    )
    if out:
        with open(out, "w", encoding="utf-8") as fh:
            fh.write(md + "\n")
        print(f"\nwrote {out}")
    print(f"total {time.perf_counter() - t0:.1f} s")
    return 0
