import jax
import pytest

# Gradient checks run in float64 (SPEC §1); float32 tests ask for float32 explicitly.
jax.config.update("jax_enable_x64", True)


@pytest.fixture
def key():
    return jax.random.key(20261122)
