"""The tutorial's training: focal against cross-entropy on Spambase, and in scikit-learn."""

import jax.numpy as jnp

import jaxlin
from myloss import FOCAL

# --8<-- [start:fit]
from jaxlin import datasets, metrics

d = datasets.load("spambase")
split = jaxlin.data.prepare(d.X, d.y, seed=0)

focal_fit = jaxlin.fit(
    split.X_train, split.y_train, FOCAL, optimizer="lbfgs", l2=1e-4, epochs=300, tol=1e-9
)
bce_fit = jaxlin.fit(
    split.X_train,
    split.y_train,
    "binary_cross_entropy",
    optimizer="lbfgs",
    l2=1e-4,
    epochs=300,
    tol=1e-9,
)


def accuracy(result):
    return metrics.accuracy(split.y_test, result.predict(split.X_test))


print(f"focal: {accuracy(focal_fit):.4f}   cross-entropy: {accuracy(bce_fit):.4f}")
assert accuracy(focal_fit) > 0.88 and accuracy(bce_fit) > 0.88
# --8<-- [end:fit]

# --8<-- [start:sklearn]
from jaxlin.sklearn import SGDClassifier

# tol=None: run the 20 epochs (with a tol, 20 epochs may end before it is met, and a
# ConvergenceWarning would say so); mini-batches of 32 at a constant rate of 0.01
clf = SGDClassifier(
    loss=FOCAL,
    max_iter=20,
    tol=None,
    learning_rate="constant",
    eta0=0.01,
    batch_size=32,
    random_state=0,
)
clf.fit(split.X_train, split.y_train)
print(f"SGDClassifier(loss=FOCAL): {clf.score(split.X_test, split.y_test):.4f}")
assert clf.score(split.X_test, split.y_test) > 0.85
# --8<-- [end:sklearn]

# --8<-- [start:compare]
norm_focal = float(jnp.linalg.norm(focal_fit.params.W))
norm_bce = float(jnp.linalg.norm(bce_fit.params.W))
print(f"‖W‖ focal {norm_focal:.2f}, cross-entropy {norm_bce:.2f}")
assert norm_focal < norm_bce
# --8<-- [end:compare]
