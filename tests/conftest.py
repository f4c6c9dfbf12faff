import os

# scikit-learn's array-API check (NumPy inputs with dispatch on) runs only with this set,
# and it must be set before SciPy is imported.
os.environ.setdefault("SCIPY_ARRAY_API", "1")
# The command line turns on a persistent compilation cache in ~/.cache/jaxlin; the suite runs
# without one (tests of the cache set their own folder).
os.environ["JAXLIN_CACHE_DIR"] = "off"

import jax
import pytest

# a script the multi-host test starts in subprocesses, not a test module (nor doctests)
collect_ignore = ["_multihost_worker.py"]

# Gradient checks run in float64; float32 tests ask for float32 explicitly.
jax.config.update("jax_enable_x64", True)


@pytest.fixture
def key():
    return jax.random.key(20261122)
