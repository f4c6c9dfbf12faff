"""Iterate averaging (averaged SGD): the mean of the iterates, against a NumPy replay of the
steps, on dense and sparse rows, across warm starts, and through the scikit-learn bridge."""

import warnings

import jax.numpy as jnp
import numpy as np
import pytest
import scipy.sparse as sp

import jaxlin.sklearn
from jaxlin.training import fit, fit_many

N, D = 40, 6


def _data(seed=0, classes=2):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((N, D))
    X[rng.random((N, D)) < 0.4] = 0.0
    if classes == 2:
        y = (X[:, 0] + 0.5 * rng.standard_normal(N) > 0).astype(int)
    else:
        y = rng.integers(0, classes, N)
    return X, y


def _replay(
    X, y, *, lr, l2, batch, epochs, start, rows_seen=0, decay=None, W=None, b=0.0, bias_rate=1.0
):
    """Logistic-loss mini-batch steps in the rows' order, in NumPy, with the running mean
    of the iterates taken after every step whose rows reach ``start`` (each step weighted by
    its rows): the definition, written out."""
    W = np.zeros(X.shape[1]) if W is None else W.copy()
    mean_W, mean_b, counted, seen = np.zeros_like(W), 0.0, 0, rows_seen
    for _ in range(epochs):
        for s in range(0, len(y), batch):
            Xb, yb = X[s : s + batch], y[s : s + batch]
            rate = lr if decay is None else lr * (1 + seen / decay[0]) ** -decay[1]
            p = 1 / (1 + np.exp(-(Xb @ W + b)))
            g = Xb.T @ (p - yb) / len(yb) + 2 * l2 * W
            W, b = W - rate * g, b - bias_rate * rate * np.mean(p - yb)
            seen += len(yb)
            now = max(seen - start + 1, 0)
            if now > 0:
                mu = (now - counted) / now
                mean_W, mean_b = mean_W + mu * (W - mean_W), mean_b + mu * (b - mean_b)
            counted = now
    return (mean_W, mean_b) if counted > 0 else (W, b), (W, b)


BASE = dict(optimizer="sgd", shuffle=False, dtype=jnp.float64)


@pytest.mark.parametrize("batch,start", [(1, 1), (4, 1), (4, 30), (1, 1000)])
@pytest.mark.parametrize("container", [np.asarray, sp.csr_matrix])
def test_the_mean_of_the_iterates_is_the_replays(batch, start, container):
    """Dense and sparse (``W = a V`` with the lazy mean ``(A + α V) / β``, folded often by a
    strong decay), a decaying rate, averaging from the first row, from a later one, and
    never begun (the result is then the last iterate)."""
    X, y = _data()
    kw = dict(lr=0.5, l2=0.3, batch=batch, epochs=3, start=start, decay=(10.0, 1.0))
    (mW, mb), (W, b) = _replay(X, y, **kw)
    r = fit(
        container(X),
        y,
        batch_size=batch,
        learning_rate=0.5,
        l2=0.3,
        epochs=3,
        lr_decay=(10.0, 1.0),
        average=True if start == 1 else start,
        **BASE,
    )
    np.testing.assert_allclose(np.asarray(r.params.W)[:, 0], mW, rtol=1e-11, atol=1e-13)
    np.testing.assert_allclose(float(r.params.b[0]), mb, rtol=1e-11, atol=1e-13)
    np.testing.assert_allclose(np.asarray(r.last.W)[:, 0], W, rtol=1e-11, atol=1e-13)
    np.testing.assert_allclose(float(r.last.b[0]), b, rtol=1e-11, atol=1e-13)


def test_a_warm_start_from_an_averaged_result_goes_on_with_both():
    """Three calls, each from the last result and the rows seen so far, equal one run over
    the same rows in the same order: the iterate and the mean both go on."""
    X, y = _data(1)
    Xs, ys = np.vstack([X[:15], X[15:], X]), np.concatenate([y[:15], y[15:], y])
    kw = dict(BASE, batch_size=1, learning_rate=0.2, l2=0.05, epochs=1, average=10)
    whole = fit(Xs, ys, **kw)
    r, seen = None, 0
    for rows in (slice(0, 15), slice(15, N), slice(0, N)):
        more = {} if r is None else {"init": r}
        r = fit(X[rows], y[rows], rows_seen=seen, **kw, **more)
        seen += len(y[rows])
    for got, want in ((r.params, whole.params), (r.last, whole.last)):
        np.testing.assert_allclose(np.asarray(got.W), np.asarray(want.W), rtol=1e-12)
        np.testing.assert_allclose(np.asarray(got.b), np.asarray(want.b), rtol=1e-12)


def test_float32_sparse_mean_stays_close_to_float64():
    """The lazy mean in float32 (the fold at ``a < 1e-3`` bounds its cancellation) stays
    within float32 rounding of the float64 run over many folds."""
    X, y = _data(2)
    kw = dict(optimizer="sgd", shuffle=False, batch_size=1, learning_rate=0.3, l2=0.5, epochs=20)
    r64 = fit(sp.csr_matrix(X), y, average=True, dtype=jnp.float64, **kw)
    r32 = fit(sp.csr_matrix(X.astype(np.float32)), y, average=True, dtype=jnp.float32, **kw)
    np.testing.assert_allclose(np.asarray(r32.params.W), np.asarray(r64.params.W), atol=2e-5)


def test_one_vs_rest_and_many_models_average_each_model():
    X, y3 = _data(3, classes=3)
    kw = dict(BASE, batch_size=2, learning_rate=0.3, l2=0.01, epochs=2, average=5)
    ovr = fit(X, y3, "hinge", **kw)
    for k in range(3):
        one = fit(X, (y3 == k).astype(int), "hinge", **kw)
        np.testing.assert_allclose(
            np.asarray(ovr.params.W)[:, k], np.asarray(one.params.W)[:, 0], rtol=1e-12, atol=1e-15
        )
        np.testing.assert_allclose(
            np.asarray(ovr.last.W)[:, k], np.asarray(one.last.W)[:, 0], rtol=1e-12, atol=1e-15
        )
    y = (y3 == 0).astype(int)
    many = fit_many(X, y, l2=[0.01, 0.2], **{k: v for k, v in kw.items() if k != "l2"})
    for m, l2 in enumerate((0.01, 0.2)):
        one = fit(X, y, **{**kw, "l2": l2})
        np.testing.assert_allclose(
            np.asarray(many.params.W[m]), np.asarray(one.params.W), rtol=1e-12, atol=1e-15
        )
        np.testing.assert_allclose(
            np.asarray(many.last.W[m]), np.asarray(one.last.W), rtol=1e-12, atol=1e-15
        )


def test_full_batch_steps_average_too():
    X, y = _data(4)
    r = fit(X, y, optimizer="gd", learning_rate=0.5, epochs=6, average=True, dtype=jnp.float64)
    (mW, mb), (W, b) = _replay(X, y, lr=0.5, l2=0.0, batch=N, epochs=6, start=1)
    np.testing.assert_allclose(np.asarray(r.params.W)[:, 0], mW, rtol=1e-12)
    np.testing.assert_allclose(np.asarray(r.last.W)[:, 0], W, rtol=1e-12)


@pytest.mark.parametrize("container", [np.asarray, sp.csr_matrix])
def test_the_intercepts_rate_scales_its_steps_alone(container):
    """``intercept_lr``: the intercept's steps at that multiple of the weights' rate (dense
    steps, and the sparse ``W = a V`` ones), against the replay; other solvers refuse it."""
    X, y = _data(8)
    (_, _), (W, b) = _replay(X, y, lr=0.3, l2=0.1, batch=3, epochs=2, start=10**9, bias_rate=0.01)
    r = fit(
        container(X),
        y,
        batch_size=3,
        learning_rate=0.3,
        l2=0.1,
        epochs=2,
        intercept_lr=0.01,
        **BASE,
    )
    np.testing.assert_allclose(np.asarray(r.params.W)[:, 0], W, rtol=1e-11, atol=1e-13)
    np.testing.assert_allclose(float(r.params.b[0]), b, rtol=1e-11, atol=1e-15)
    with pytest.raises(ValueError, match="intercept_lr: lbfgs takes no step size"):
        fit(X, y, optimizer="lbfgs", intercept_lr=0.5)
    with pytest.raises(ValueError, match="intercept_lr: must be positive"):
        fit(X, y, optimizer="sgd", intercept_lr=0.0)
    with pytest.raises(ValueError, match="intercept_lr: expected one number"):
        fit(X, y, optimizer="sgd", intercept_lr=[0.1, 0.2])


def test_without_averaging_there_is_no_last_iterate():
    X, y = _data()
    assert fit(X, y, optimizer="sgd", batch_size=4, epochs=1).last is None


@pytest.mark.parametrize(
    "kw,match",
    [
        (dict(optimizer="lbfgs", average=True), "average: lbfgs has no iterates to average"),
        (dict(optimizer="perceptron", loss="perceptron_criterion", average=True), "average"),
        (dict(optimizer="sgd", average=-1), "average: expected True/False or a whole number"),
        (dict(optimizer="sgd", average=2.5), "average: expected True/False or a whole number"),
        (dict(optimizer="sgd", average="yes"), "average: expected True/False or a whole number"),
    ],
)
def test_bad_average_is_named(kw, match):
    X, y = _data()
    loss = kw.pop("loss", "binary_cross_entropy")
    with pytest.raises(ValueError, match=match):
        fit(X, y, loss, **kw)


# --- the scikit-learn bridge ---------------------------------------------------------


@pytest.mark.parametrize(
    "loss,classes,average",
    [
        ("hinge", 2, True),
        ("log_loss", 2, 25),
        ("modified_huber", 3, True),
        ("hinge", 3, 500),  # never begun: coef_ is the last iterate, the mean zeros
        ("log_loss", 3, 90),
    ],
)
def test_bridge_average_equals_scikit_learns(loss, classes, average):
    """With the rows in order: ``coef_`` (the mean once begun), the last iterate
    (``_standard_coef``) and ``_average_coef`` are scikit-learn's, binary and one-vs-rest."""
    from sklearn.linear_model import SGDClassifier as Theirs

    X, y = _data(5, classes=classes)
    kw = dict(loss=loss, average=average, shuffle=False, max_iter=4, tol=None, alpha=1e-3)
    kw.update(learning_rate="invscaling", eta0=0.05)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        theirs = Theirs(**kw).fit(X, y)
        ours = jaxlin.sklearn.SGDClassifier(**kw).fit(X, y)
    for name in ("coef_", "intercept_", "_average_coef", "_average_intercept"):
        np.testing.assert_allclose(
            getattr(ours, name), getattr(theirs, name), rtol=1e-9, atol=1e-12, err_msg=name
        )
    np.testing.assert_allclose(ours._standard_coef, theirs._standard_coef, rtol=1e-9, atol=1e-12)


def test_bridge_partial_fit_with_averaging_is_one_run():
    """A sequence of ``partial_fit`` calls is one run over the same rows: the iterate and
    its mean both go on from call to call (scikit-learn's binary ``partial_fit`` starts each
    call's intercept from its first one instead: not copied)."""
    X, y = _data(6)
    kw = dict(average=True, shuffle=False, max_iter=1, tol=None, learning_rate="constant")
    kw.update(eta0=0.05, alpha=1e-3)
    chunked = jaxlin.sklearn.SGDClassifier(**kw)
    for rows in (slice(0, 15), slice(15, N), slice(0, N)):
        chunked.partial_fit(X[rows], y[rows], classes=[0, 1])
    Xs, ys = np.vstack([X[:15], X[15:], X]), np.concatenate([y[:15], y[15:], y])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        whole = jaxlin.sklearn.SGDClassifier(**kw).fit(Xs, ys)
    np.testing.assert_allclose(chunked.coef_, whole.coef_, rtol=1e-12)
    np.testing.assert_allclose(chunked.intercept_, whole.intercept_, rtol=1e-12)
    np.testing.assert_allclose(chunked._standard_coef, whole._standard_coef, rtol=1e-12)
    assert chunked.t_ == whole.t_ == 2 * N + 1


# --- out of core and on the command line ---------------------------------------------


def _stream_file(tmp_path):
    X, y = _data(7)
    path = tmp_path / "rows.npy"
    np.save(path, np.column_stack([X, y]).astype(np.float32))
    return str(path), X.astype(np.float32), y


def test_a_stream_of_one_chunk_averages_as_fit_does(tmp_path):
    """``fit_stream`` carries the mean across its chunks like every other state: with the
    whole file one chunk it equals ``fit`` on the same rows in the same order."""
    from jaxlin.stream import fit_stream

    path, X, y = _stream_file(tmp_path)
    kw = dict(optimizer="sgd", batch_size=5, learning_rate=0.1, epochs=2, shuffle=False)
    streamed = fit_stream(path, target="target", chunk_rows=N, average=3, **kw)
    fitted = fit(X, y, average=3, **kw)
    np.testing.assert_allclose(
        np.asarray(streamed.params.W), np.asarray(fitted.params.W), rtol=1e-6
    )
    assert not np.allclose(np.asarray(fitted.params.W), np.asarray(fitted.last.W))


def test_the_command_line_saves_the_mean(tmp_path, capsys):
    """``jaxlin train --average``: the saved model is ``fit_stream``'s mean with the command
    line's streaming defaults; ``--average`` with L-BFGS is refused naming the flag."""
    from jaxlin import cli, model_io
    from jaxlin.presets import COMMAND_STREAM_DEFAULTS
    from jaxlin.stream import fit_stream

    path, _, _ = _stream_file(tmp_path)
    saved = tmp_path / "m.npz"
    argv = ["train", "--stream", "--data", path, "--target", "target", "--quiet"]
    assert cli.main([*argv, "--average", "--save", str(saved)]) == 0
    want = fit_stream(path, target="target", **{**COMMAND_STREAM_DEFAULTS, "average": True})
    np.testing.assert_allclose(model_io.load(str(saved)).W, np.asarray(want.params.W), rtol=1e-6)
    assert cli.main(["train", "--optimizer", "lbfgs", "--average", "--quiet"]) == 2
    assert "--average: lbfgs has no iterates to average" in capsys.readouterr().err
