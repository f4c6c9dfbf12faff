"""Case 7: epoch throughput from memory vs streamed from disk (jaxlin.stream)."""

from __future__ import annotations

import os
import tempfile
import time

import jax
import numpy as np

from benchmarks.harness import fmt_s
from jaxlin import stream
from jaxlin.training import fit


def _write(path, n, width, chunk=16384):
    rng = np.random.default_rng(0)
    with open(path, "wb") as fh:
        np.lib.format.write_array_header_1_0(
            fh, {"descr": "<f4", "fortran_order": False, "shape": (n, width)}
        )
        for start in range(0, n, chunk):
            rows = min(chunk, n - start)
            block = rng.normal(size=(rows, width)).astype(np.float32)
            block[:, -1] = block[:, 0] > 0
            fh.write(block.tobytes())


def run(s):
    d = 256
    n = 16_384 if s.tiny else (262_144 if s.quick else 2_097_152)  # 16 MiB / 256 MiB / 2 GiB
    chunk_rows = 4096 if s.tiny else 65536
    kw = dict(batch_size=256, learning_rate=0.01, epochs=1)
    with tempfile.TemporaryDirectory(dir=os.path.dirname(os.path.dirname(__file__))) as tmp:
        path = os.path.join(tmp, "synthetic.npy")
        t = time.perf_counter()
        _write(path, n, d + 1)
        t_write = time.perf_counter() - t
        size = os.path.getsize(path)
        # from disk: one warm-up epoch (compiles), then timed epochs
        stream.fit_stream(path, chunk_rows=chunk_rows, **kw)
        reps = 1 if s.tiny else 2
        disk = []
        for _ in range(reps):
            t = time.perf_counter()
            stream.fit_stream(path, chunk_rows=chunk_rows, **kw)
            disk.append(time.perf_counter() - t)
        t_disk = float(np.median(disk))
        rows = []
        rows.append(
            [
                f"streamed from disk (.npy, chunks of {chunk_rows:,} rows, prefetch)",
                fmt_s(t_disk),
                f"{n / t_disk:,.0f}",
                f"{size / t_disk / 2**20:,.0f}",
            ]
        )
        # from memory, when it fits: the same rows as one array
        if n * d * 4 <= 2**31 + 2**30:
            data = np.load(path)
            X, y = data[:, :-1], data[:, -1].astype(int)
            del data
            import jax.numpy as jnp

            Xj = jnp.asarray(X)
            del X
            fit(Xj, y, optimizer="sgd", **kw)
            mem = []
            for _ in range(reps):
                t = time.perf_counter()
                jax.block_until_ready(fit(Xj, y, optimizer="sgd", **kw).params.W)
                mem.append(time.perf_counter() - t)
            t_mem = float(np.median(mem))
            rows.insert(
                0,
                [
                    "in memory (jaxlin.fit, one array)",
                    fmt_s(t_mem),
                    f"{n / t_mem:,.0f}",
                    f"{size / t_mem / 2**20:,.0f}",
                ],
            )
            del Xj
            ratio = t_disk / t_mem
        else:
            ratio = float("nan")
    return {
        "title": "7. Out of core",
        "what": f"One epoch of mini-batch SGD (B = 256, binary logistic) over a synthetic file "
        f"of {n:,} × {d} float32 ({size / 2**30:.2f} GiB, written in {t_write:.1f} s). "
        "Streaming reads each chunk with a positioned read while the previous one "
        "trains; the OS page cache may hold part of the file between epochs. "
        f"Streamed epoch ÷ in-memory epoch: {ratio:.2f}× (no bar set).",
        "header": ["source", "epoch", "rows / s", "MiB / s"],
        "rows": rows,
        "checks": [],
        "ratio": ratio,
    }
