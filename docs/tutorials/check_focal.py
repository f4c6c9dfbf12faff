"""The tutorial's checks: the focal loss passes; a wrong δ and a false claim fail."""

import jax
import jax.numpy as jnp

import jaxlin
from myloss import FOCAL, delta_focal

# --8<-- [start:verify]
report = jaxlin.verify(FOCAL)
print(report)
assert report.passed
# --8<-- [end:verify]

# --8<-- [start:wrong]
wrong = FOCAL._replace(delta=lambda z, y: 1.1 * delta_focal(z, y))
failed = [row for row in jaxlin.verify(wrong).rows if not row.passed]
print(failed[0].note)  # the worst point: z, y, the hand δ and autodiff's
assert failed and "worst at z" in failed[0].note
# --8<-- [end:wrong]


# --8<-- [start:claim]
def se_sigmoid(z, y):
    return jnp.sum((y - jax.nn.sigmoid(z)) ** 2)


def delta_se_sigmoid(z, y):
    return -2.0 * jax.nn.sigmoid(z) * jax.nn.sigmoid(-z) * (y - jax.nn.sigmoid(z))


claimed = jaxlin.Loss(
    name="se_sigmoid", value=se_sigmoid, delta=delta_se_sigmoid, target="binary", convex=True
)
bad = [row.name for row in jaxlin.verify(claimed).rows if not row.passed]
print(bad)
assert bad and all(name.startswith("convexity claim") for name in bad)
# --8<-- [end:claim]
