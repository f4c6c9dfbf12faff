"""Activations and their derivatives against autodiff, plus their identities."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxlin import activations as act


@pytest.mark.parametrize("name", ["identity", "step", "sigmoid"])
def test_derivative_matches_autodiff(name, key):
    g, dg = act.ACTIVATIONS[name]
    z = jax.random.normal(key, (64,)) * 4
    z = z[jnp.abs(z) > 1e-6]
    np.testing.assert_allclose(dg(z), jax.vmap(jax.grad(g))(z), rtol=1e-10, atol=0)


def test_sigmoid_derivative_is_exact_in_the_tails():
    """σ'(z) = e^(−|z|) / (1 + e^(−|z|))², computed as σ(z)σ(−z): no 1 − σ cancellation
    (autodiff's σ(1 − σ) keeps only absolute precision for large z)."""
    z = np.array([-700.0, -40.0, -12.4, 0.0, 3.0, 12.4, 40.0, 700.0])
    e = np.exp(-np.abs(z))
    np.testing.assert_allclose(act.sigmoid_grad(jnp.asarray(z)), e / (1 + e) ** 2, rtol=1e-13)


def test_logit_inverts_sigmoid_and_its_derivative(key):
    z = jax.random.normal(key, (64,)) * 5
    np.testing.assert_allclose(act.logit(act.sigmoid(z)), z, rtol=1e-9, atol=1e-12)
    p = act.sigmoid(z)
    np.testing.assert_allclose(act.logit_grad(p), jax.vmap(jax.grad(act.logit))(p), rtol=1e-12)


def test_softmax_jacobian(key):
    for k in (1, 2, 5):
        z = jax.random.normal(jax.random.fold_in(key, k), (k,)) * 3
        J = act.softmax_jacobian(z)
        np.testing.assert_allclose(J, jax.jacfwd(act.softmax)(z), rtol=1e-12, atol=1e-15)
        np.testing.assert_allclose(J.sum(axis=0), 0.0, atol=1e-15)  # softmax sums to 1
    Z = jax.random.normal(key, (2, 4, 3)) * 3  # a batch: one Jacobian a row (it raised)
    np.testing.assert_allclose(
        act.softmax_jacobian(Z), jax.vmap(jax.vmap(jax.jacfwd(act.softmax)))(Z), atol=1e-15
    )


def test_step_threshold():
    z = jnp.array([-1.0, 0.0, 0.5, 2.0])
    np.testing.assert_array_equal(act.step(z), [0, 0, 1, 1])
    np.testing.assert_array_equal(act.step(z, threshold=1.0), [0, 0, 0, 1])


def test_entropy_and_cross_entropy():
    p = jnp.array([0.5, 0.25, 0.25, 0.0])
    np.testing.assert_allclose(act.entropy(p), 1.5 * np.log(2), rtol=1e-14)
    np.testing.assert_allclose(act.cross_entropy(p, p), act.entropy(p), rtol=1e-14)
    q = jnp.array([0.25, 0.25, 0.25, 0.25])
    assert act.cross_entropy(p, q) > act.entropy(p)  # Gibbs' inequality


def test_softmax_is_shift_invariant_and_stable():
    z = jnp.array([1000.0, 1001.0, 999.0])
    s = act.softmax(z)
    assert jnp.all(jnp.isfinite(s))
    np.testing.assert_allclose(s, act.softmax(z - 1000.0), rtol=1e-14)


_PURE = [
    act.identity,
    act.identity_grad,
    act.step,
    act.step_grad,
    act.step_straight_through,
    act.sigmoid,
    act.log_sigmoid,
    act.sigmoid_grad,
    act.softmax,
    act.softmax_jacobian,
    act.logit,
    act.logit_grad,
    act.entropy,
]


@pytest.mark.parametrize("fn", _PURE, ids=lambda f: f.__name__)
def test_an_activation_takes_lists_and_names_text(fn):
    """Lists work as the arrays they hold; text is named with the function and argument
    (JAX's own error came from deep inside it); the values are unchanged."""
    p = [0.2, 0.5, 0.7]
    np.testing.assert_allclose(
        np.asarray(fn(p)), np.asarray(fn(jnp.asarray(p, jnp.float64))), rtol=1e-12
    )
    with pytest.raises(TypeError, match=rf"^{fn.__name__}: \w+ must be numbers, got str"):
        fn("0.5")
    with pytest.raises(TypeError, match=rf"^{fn.__name__}: \w+ must be numbers, got ndarray"):
        fn(np.array([1 + 1j]))


def test_cross_entropy_names_either_argument_and_softmax_an_empty_axis():
    np.testing.assert_allclose(
        float(act.cross_entropy([1.0, 0.0], [0.25, 0.75])), -np.log(0.25), rtol=1e-12
    )
    with pytest.raises(TypeError, match="^cross_entropy: b must be numbers"):
        act.cross_entropy([1.0, 0.0], "b")
    with pytest.raises(ValueError, match=r"^cross_entropy: a \(3,\) and b \(2,\) must hold"):
        act.cross_entropy([1.0, 0.0, 0.0], [0.5, 0.5])  # JAX's "incompatible shapes" came out
    with pytest.raises(TypeError, match="^step: threshold must be numbers, got str"):
        act.step([0.0, 1.0], threshold="0.5")  # by name it went unchecked: NumPy's ufunc error
    np.testing.assert_array_equal(act.step([0.0, 1.0], threshold=0.5), [0.0, 1.0])
    for z in (np.zeros(0), np.zeros((2, 0)), 1.0):
        with pytest.raises(ValueError, match="^softmax: z needs its values along a last axis"):
            act.softmax(z)
    for fn, name in [(act.entropy, "p"), (lambda a: act.cross_entropy(a, [1.0]), "a")]:
        with pytest.raises(ValueError, match=rf"^\w+: {name} needs its values along a last"):
            fn(1.0)  # numpy's "axis -1 is out of bounds" came through


@pytest.mark.parametrize("fn", _PURE, ids=lambda f: f.__name__)
def test_integers_booleans_and_scalars_are_the_numbers_they_hold(fn):
    """``sigmoid(0)`` met XLA's refusal of an integer type, and ``step(0.0)`` compared two
    Python floats: each is now the float it holds, in the default float type."""
    ints = [0, 1, 3] if fn not in (act.logit, act.logit_grad) else [2, 3, 5]
    floats = np.asarray(ints, np.float32)
    for given in (ints, np.asarray(ints), jnp.asarray(ints)):
        out = fn(given)
        assert jnp.issubdtype(jnp.result_type(out), jnp.floating)
        np.testing.assert_allclose(np.asarray(out), np.asarray(fn(floats)), rtol=1e-6)
    np.testing.assert_allclose(np.asarray(fn(np.array([True, False]))), np.asarray(fn([1.0, 0.0])))
    if fn not in (act.softmax, act.softmax_jacobian, act.entropy):  # element-wise
        for scalar in (ints[2], float(ints[2]), np.int64(ints[2])):
            np.testing.assert_allclose(np.asarray(fn(scalar)), np.asarray(fn(floats))[2], rtol=1e-6)
    assert float(act.sigmoid(0)) == 0.5 and float(act.step(0.0)) == 0.0
