"""One process of the multi-host test: trains on its own half of the rows (see test_scale.py)."""

import os
import sys

pid, port, out = int(sys.argv[1]), sys.argv[2], sys.argv[3]
os.environ["XLA_FLAGS"] = "--xla_force_host_platform_device_count=2"
import jax  # noqa: E402

jax.config.update("jax_cpu_collectives_implementation", "gloo")
jax.distributed.initialize(coordinator_address=f"127.0.0.1:{port}", num_processes=2, process_id=pid)
import numpy as np  # noqa: E402

from jaxlin.training import fit  # noqa: E402

rng = np.random.default_rng(0)
X = rng.normal(size=(201, 5))
y = rng.integers(0, 3, 201)
rows = slice(0, 101) if pid == 0 else slice(101, 201)  # uneven halves: 101 and 100 rows
results = {}
for name, kw in {
    "gd": dict(optimizer="gd", learning_rate=0.5, epochs=40),
    "lbfgs": dict(optimizer="lbfgs", epochs=40),
}.items():
    r = fit(X[rows], y[rows], "softmax_cross_entropy", l2=0.01, devices="auto", **kw)
    results[name + "_W"] = np.asarray(r.params.W)
    results[name + "_b"] = np.asarray(r.params.b)
if pid == 0:
    np.savez(out, devices=jax.device_count(), **results)
