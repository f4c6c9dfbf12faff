"""The focal loss as a jaxlin.Loss: the file the tutorial saves as myloss.py."""

# --8<-- [start:value]
import jax
import jax.numpy as jnp

import jaxlin

GAMMA = 2.0


def focal(z, y):
    """L = −Σ_k (1 − p_t)^γ ln p_t,  p_t = σ(s z),  s = 2y − 1."""
    u = (2.0 * y - 1.0) * z
    return -jnp.sum(jax.nn.sigmoid(-u) ** GAMMA * jax.nn.log_sigmoid(u))


# --8<-- [end:value]


# --8<-- [start:delta]
def delta_focal(z, y):
    """δ = s (γ q^γ p_t ln p_t − q^(γ+1)),  q = σ(−s z)."""
    s = 2.0 * y - 1.0
    u = s * z
    q, p_t = jax.nn.sigmoid(-u), jax.nn.sigmoid(u)
    return s * (GAMMA * q**GAMMA * p_t * jax.nn.log_sigmoid(u) - q ** (GAMMA + 1.0))


FOCAL = jaxlin.Loss(
    name="focal",
    value=focal,
    delta=delta_focal,
    target="binary",
    formula="−(1 − p_t)^γ ln p_t",
    delta_formula="s (γ q^γ p_t ln p_t − q^(γ+1))",
)
# --8<-- [end:delta]
