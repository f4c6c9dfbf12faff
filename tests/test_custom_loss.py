"""A user's loss trains wherever a built-in one does: every solver, fit_many, one-vs-rest,
streaming, the command line, the scikit-learn bridge and the Hessian tools."""

import json
import os

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from sklearn.base import clone

import jaxlin
from jaxlin import cli, hessian, model_io, objective as obj, stream
from jaxlin.linear import Params
from jaxlin.sklearn import SGDClassifier

import user_losses as u

TESTS = os.path.dirname(os.path.abspath(__file__))


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(1)
    X = rng.normal(size=(300, 4))
    y3 = np.argmax(X[:, :3] + 0.5 * rng.normal(size=(300, 3)), axis=1)
    return X, (y3 == 0).astype(int), y3


def _autodiff_gradient(params, X, y, l2):
    T = jnp.asarray(y, jnp.float64)[:, None]
    g = jax.grad(obj.autodiff_objective)(
        params, jnp.asarray(X), T, u.FOCAL, jaxlin.Penalty(0.0, l2)
    )
    return float(jnp.sqrt(jnp.sum(g.W**2) + jnp.sum(g.b**2)))


def test_lbfgs_reaches_a_stationary_point_of_the_focal_objective(data):
    X, y, _ = data
    r = jaxlin.fit(
        X, y, u.FOCAL, optimizer="lbfgs", l2=0.01, epochs=500, grad_tol=1e-9, dtype=jnp.float64
    )
    assert r.stop_reason == "gradient_tol"
    assert _autodiff_gradient(r.params, X, y, 0.01) < 1e-8  # judged by autodiff, not δ
    assert r.loss is u.FOCAL


def test_gradient_descent_equals_a_plain_autodiff_loop(data):
    X, y, _ = data
    r = jaxlin.fit(
        X, y, u.FOCAL, optimizer="gd", learning_rate=0.5, epochs=25, l2=0.01, dtype=jnp.float64
    )
    p = Params(jnp.zeros((4, 1)), jnp.zeros(1))
    T = jnp.asarray(y, jnp.float64)[:, None]
    for _ in range(25):
        g = jax.grad(obj.autodiff_objective)(
            p, jnp.asarray(X), T, u.FOCAL, jaxlin.Penalty(0.0, 0.01)
        )
        p = jax.tree.map(lambda a, b: a - 0.5 * b, p, g)
    np.testing.assert_allclose(r.params.W, p.W, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(r.params.b, p.b, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("optimizer", ["sgd", "adam", "momentum"])
def test_stochastic_solvers_lower_the_focal_objective(data, optimizer):
    X, y, _ = data
    r = jaxlin.fit(X, y, u.FOCAL, optimizer=optimizer, batch_size=32, epochs=20, learning_rate=0.05)
    start = float(u.focal(jnp.zeros(1), jnp.ones(1)))  # every example at z = 0
    assert np.isfinite(r.history.objective[:20]).all()
    assert r.history.objective[19] < min(0.6 * start, r.history.objective[0])


def test_a_module_attr_string_trains_the_same_model(data, monkeypatch):
    X, y, _ = data
    monkeypatch.chdir(TESTS)
    a = jaxlin.fit(X, y, u.FOCAL, optimizer="lbfgs", epochs=30)
    b = jaxlin.fit(X, y, "user_losses:FOCAL", optimizer="lbfgs", epochs=30)
    np.testing.assert_array_equal(a.params.W, b.params.W)
    assert b.loss == "user_losses:FOCAL"


def test_fit_many_equals_each_model_alone(data):
    X, y, _ = data
    many = jaxlin.fit_many(
        X, y, u.FOCAL, optimizer="gd", learning_rate=0.5, epochs=15, l2=[0.0, 0.01, 0.1]
    )
    for i, l2 in enumerate([0.0, 0.01, 0.1]):
        one = jaxlin.fit(X, y, u.FOCAL, optimizer="gd", learning_rate=0.5, epochs=15, l2=l2)
        np.testing.assert_allclose(many.params.W[i], one.params.W, rtol=1e-5, atol=1e-6)


def test_one_vs_rest_column_k_is_the_binary_fit_of_class_k(data):
    X, _, y3 = data
    ovr = jaxlin.fit(X, y3, u.FOCAL, optimizer="gd", learning_rate=0.5, epochs=15)
    assert ovr.params.W.shape == (4, 3)
    for k in range(3):
        one = jaxlin.fit(
            X, (y3 == k).astype(int), u.FOCAL, optimizer="gd", learning_rate=0.5, epochs=15
        )
        np.testing.assert_allclose(ovr.params.W[:, k], one.params.W[:, 0], rtol=1e-5, atol=1e-6)


# two programs equal bit for bit: a user's compilation (tests/conftest.py)
@pytest.mark.fully_optimised
def test_streaming_one_chunk_equals_in_memory_training(data, tmp_path):
    X, y, _ = data
    path = str(tmp_path / "d.npy")
    np.save(path, np.c_[X, y].astype(np.float32))
    a = stream.fit_stream(
        path, u.FOCAL, chunk_rows=1000, batch_size=32, epochs=3, learning_rate=0.1
    )
    b = jaxlin.fit(
        X.astype(np.float32),
        y,
        u.FOCAL,
        optimizer="sgd",
        batch_size=32,
        epochs=3,
        learning_rate=0.1,
    )
    np.testing.assert_array_equal(a.params.W, b.params.W)
    np.testing.assert_array_equal(a.objective, b.history.objective)


def test_command_line_trains_saves_and_predicts_with_a_user_loss(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(TESTS)
    path = str(tmp_path / "m.npz")
    assert (
        cli.main(["train", "--loss", "user_losses:FOCAL", "--json", "-", "--quiet", "--save", path])
        == 0
    )
    rep = json.loads(capsys.readouterr().out)
    assert rep["model"]["loss"] == "focal" and rep["settings"]["loss"] == "user_losses:FOCAL"
    assert rep["test"]["accuracy"] > rep["test"]["baseline"]
    model = model_io.load(path)
    assert model.loss == "user_losses:FOCAL"
    assert cli.main(["train", "--loss", "user_losses:SOFTMAX", "--quiet"]) == 0  # K = 2 one-hot
    assert cli.main(["train", "--loss", "user_losses:NOT_A_LOSS"]) == 2
    assert "not a jaxlin.Loss" in capsys.readouterr().err


def test_command_line_loss_takes_a_built_in_loss_by_name(tmp_path, capsys):
    path = str(tmp_path / "m.npz")
    argv = ["train", "--loss", "squared_hinge", "--json", "-", "--quiet", "--save", path]
    assert cli.main(argv) == 0
    rep = json.loads(capsys.readouterr().out)
    assert rep["model"]["loss"] == "squared_hinge" and "built-in" in rep["model"]["description"]
    assert rep["test"]["accuracy"] > rep["test"]["baseline"]
    assert model_io.load(path).loss == "squared_hinge"
    assert cli.main(["check", "--loss", "hinge"]) == 0
    assert "loss 'hinge'" in capsys.readouterr().out
    for command in ("train", "check"):
        assert cli.main([command, "--loss", "no_such_loss"]) == 2
        err = capsys.readouterr().err.strip()
        assert err.startswith(f"jaxlin {command}: error: --loss: unknown loss 'no_such_loss'")
        assert "squared_hinge" in err and "MODULE:ATTR" in err and len(err.splitlines()) == 1


def test_sgdclassifier_takes_a_loss_record(data):
    X, y, y3 = data
    steps = dict(learning_rate="constant", eta0=0.01, batch_size=32)  # mini-batches of 32
    clf = SGDClassifier(loss=u.FOCAL, max_iter=20, tol=None, random_state=0, **steps).fit(X, y)
    assert clf.score(X, y) > 0.85
    assert clone(clf).get_params()["loss"] == u.FOCAL
    multi = SGDClassifier(loss=u.FOCAL, max_iter=10, tol=None, random_state=0, **steps)
    multi.fit(X, y3)
    assert multi.coef_.shape == (3, 4) and multi.score(X, y3) > 0.6  # one-vs-rest
    softmax = SGDClassifier(loss=u.SOFTMAX, max_iter=10, tol=None, random_state=0, **steps)
    softmax.fit(X, y3)
    assert softmax.coef_.shape == (3, 4) and softmax.score(X, y3) > 0.6  # multinomial
    with pytest.raises(AttributeError):
        clf.predict_proba(X)
    with pytest.raises(ValueError) as err:
        SGDClassifier(loss=3).fit(X, y)
    msg = str(err.value)
    assert len(msg.splitlines()) == 1 and "'loss' parameter" in msg and "Loss" in msg


def test_hessian_tools_take_a_user_curvature(data):
    X, y, _ = data
    params = Params(jnp.array([[0.3], [-0.2], [0.1], [0.5]]), jnp.array([0.1]))
    T = jnp.asarray(y, jnp.float64)[:, None]
    pen = jaxlin.Penalty(0.0, 0.05)
    H = hessian.hessian(params, jnp.asarray(X), T, u.FOCAL_CURVED, pen)
    unflat = lambda t: Params(t[:-1, None], t[-1:])
    theta = jnp.concatenate([params.W[:, 0], params.b])
    Ha = jax.hessian(lambda t: obj.autodiff_objective(unflat(t), jnp.asarray(X), T, u.FOCAL, pen))(
        theta
    )
    np.testing.assert_allclose(H, Ha, rtol=1e-10, atol=1e-12)
    with pytest.raises(ValueError, match="curvature"):
        hessian.hessian(params, jnp.asarray(X), T, u.FOCAL, pen)
