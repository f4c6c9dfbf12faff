"""The benchmark on a machine with a GPU, as one short prepared run of named steps.

    python -m benchmarks.accelerator OUT_DIR [--steps facts,smoke,cases,quick,tests,sparse]

Each step runs in its own process under its own time limit (a step that runs over is stopped
and the next one starts), and writes its log to ``OUT_DIR/<step>.log``; the cases write their
tables to ``OUT_DIR/*.md``. jaxlin runs on the GPU (``JAX_PLATFORMS=cuda,cpu``); scikit-learn
and the other anchors run on the same machine's CPU, each in its own process. Every process
takes a fifth of the GPU's memory up front, so a measuring process and the fresh
processes it starts can hold the GPU at the same time.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

from benchmarks.run import PLATFORMS

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PY = sys.executable

FACTS = """
import shutil, subprocess
import jax, jax.numpy as jnp, numpy as np, optax, scipy, sklearn
if shutil.which("nvidia-smi"):
    subprocess.run(["nvidia-smi", "-L"])
print("jax", jax.__version__, "optax", optax.__version__, "numpy", np.__version__,
      "scipy", scipy.__version__, "scikit-learn", sklearn.__version__)
d = jax.devices()[0]
print(d.platform, getattr(d, "device_kind", d))
# a float32 product at the platform's default precision, against float64 (TF32 shows ~1e-3)
rng = np.random.default_rng(0)
A, B = rng.standard_normal((1024, 1024)), rng.standard_normal((1024, 1024))
ref = A @ B
got = np.asarray(jnp.asarray(A, jnp.float32) @ jnp.asarray(B, jnp.float32), np.float64)
print("float32 X @ W relative error at default precision:",
      f"{np.linalg.norm(got - ref) / np.linalg.norm(ref):.1e}")
"""

# the gradient, solver and sparse tests: the maths on the accelerator's kernels
TESTS = [
    "tests/test_gradients.py",
    "tests/test_linear.py",
    "tests/test_numerics.py",
    "tests/test_sparse.py",
    "tests/test_newton.py",
    "tests/test_fista.py",
    "tests/test_fit.py",
]


def steps(out: str, device: str) -> dict:
    """name → (command, time limit in seconds)."""
    bench = [PY, "-m", "benchmarks", "--device", device]
    return {
        "facts": ([PY, "-c", FACTS], 60),
        "smoke": ([PY, "-m", "jaxlin", "train"], 90),
        "cases": (bench + ["--only", "step,sgd,many", "--out", f"{out}/cases.md"], 200),
        "quick": (bench + ["--quick", "--only", "fit,newton", "--out", f"{out}/quick.md"], 150),
        "tests": (
            [PY, "-m", "pytest", "-p", "no:cacheprovider", "-o", "addopts=", "-v", "-rfE"]
            + ["-n", "4", *TESTS],
            120,
        ),
        "sparse": (
            [PY, "-m", "benchmarks.case_sparse", "--full", "--skip", "sklearn:saga"]
            + ["--parts", "l2,sgd,multi,l1"],
            420,
        ),
    }


def main(argv=None) -> int:
    import argparse

    ap = argparse.ArgumentParser(prog="python -m benchmarks.accelerator")
    ap.add_argument("out", help="folder for the logs and tables")
    ap.add_argument("--steps", help="comma-separated, of " + ",".join(steps("", "gpu")))
    ap.add_argument(
        "--device", choices=list(PLATFORMS), default="gpu", help="cpu: a dry run of the steps"
    )
    args = ap.parse_args(argv)
    out = os.path.abspath(args.out)
    chosen = args.steps.split(",") if args.steps else None
    os.makedirs(out, exist_ok=True)
    env = dict(
        os.environ,
        PYTHONPATH=ROOT,
        PYTHONUNBUFFERED="1",
        JAX_PLATFORMS=PLATFORMS[args.device],
        # four test workers, or a measuring process and the fresh ones it starts, side by side
        XLA_PYTHON_CLIENT_MEM_FRACTION="0.2",
    )
    known = steps(out, args.device)
    unknown = [name for name in chosen or () if name not in known]
    if unknown:
        ap.error(f"unknown step(s) {unknown}; choose from {', '.join(known)}")
    for name in chosen or known:
        cmd, limit = known[name]
        t = time.perf_counter()
        with open(os.path.join(out, f"{name}.log"), "w") as log:
            # a session of its own, so that a step over its limit stops with all it started
            proc = subprocess.Popen(
                cmd, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
            )
            try:
                rc = proc.wait(timeout=limit)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
                rc = "timed out"
        print(f"{name}: {rc} in {time.perf_counter() - t:.0f} s (limit {limit} s)", flush=True)
        if name == "smoke" and rc != 0:
            print("jaxlin does not train here: the other steps would fail too", flush=True)
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
