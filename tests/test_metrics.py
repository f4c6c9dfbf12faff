"""jaxlin.metrics against sklearn.metrics on random inputs, including zero denominators."""

import warnings
from functools import partial

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from sklearn import metrics as skm
from sklearn.exceptions import UndefinedMetricWarning

from jaxlin import metrics as M


def _random(seed, n=60, k=2):
    rng = np.random.default_rng(seed)
    return rng.integers(0, k, n), rng.integers(0, k, n)


@pytest.mark.parametrize("seed", range(5))
def test_binary_metrics_match_sklearn(seed):
    yt, yp = _random(seed)
    np.testing.assert_allclose(M.accuracy(yt, yp), skm.accuracy_score(yt, yp), rtol=1e-6)
    np.testing.assert_allclose(M.precision(yt, yp), skm.precision_score(yt, yp), rtol=1e-6)
    np.testing.assert_allclose(M.recall(yt, yp), skm.recall_score(yt, yp), rtol=1e-6)
    np.testing.assert_allclose(M.f1(yt, yp), skm.f1_score(yt, yp), rtol=1e-6)
    tn, fp, fn, tp = skm.confusion_matrix(yt, yp).ravel()
    c = M.binary_counts(jnp.asarray(yt), jnp.asarray(yp))
    assert (int(c.tp), int(c.tn), int(c.fp), int(c.fn)) == (tp, tn, fp, fn)
    np.testing.assert_allclose(M.false_positive_rate(yt, yp), fp / (fp + tn), rtol=1e-6)
    np.testing.assert_allclose(
        M.class_prior_baseline(jnp.asarray(yt), 2), np.bincount(yt).max() / len(yt), rtol=1e-6
    )


def test_zero_denominators_give_zero_like_sklearn():
    yt = np.array([0, 0, 0, 0])
    yp = np.array([0, 0, 0, 0])  # no positive predicted, no positive present
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for ours, theirs in [
            (M.precision, skm.precision_score),
            (M.recall, skm.recall_score),
            (M.f1, skm.f1_score),
        ]:
            assert float(ours(yt, yp)) == theirs(yt, yp) == 0.0
    with pytest.warns(M.UndefinedMetricWarning, match="no example is negative"):
        assert float(M.false_positive_rate(np.array([1, 1]), np.array([1, 0]))) == 0.0


def _per_class_precision(t, p):
    return M.per_class(t, p, 3).precision


def _macro_recall(t, p):
    return M.macro_average(t, p, 3)[1]


@pytest.mark.parametrize(
    "ours, theirs, y_true, y_pred",
    [
        (M.precision, skm.precision_score, [1, 0, 1], [0, 0, 0]),
        (M.recall, skm.recall_score, [0, 0, 0], [0, 1, 0]),
        (M.f1, skm.f1_score, [0, 0], [0, 0]),
        (
            _per_class_precision,
            partial(skm.precision_score, labels=[0, 1, 2], average=None),
            [0, 1, 2],
            [0, 1, 1],
        ),
        (
            _macro_recall,
            partial(skm.recall_score, labels=[0, 1, 2], average="macro"),
            [0, 1, 1],
            [0, 1, 2],
        ),
    ],
)
def test_a_zero_denominator_warns_on_the_host_as_in_sklearn(ours, theirs, y_true, y_pred):
    with pytest.warns(UndefinedMetricWarning):
        expected = theirs(y_true, y_pred)
    with pytest.warns(M.UndefinedMetricWarning, match="ill-defined and set to 0"):
        got = ours(np.array(y_true), np.array(y_pred))
    np.testing.assert_allclose(got, expected, rtol=1e-6)
    with warnings.catch_warnings():  # JAX arrays (as inside jit), the report's summary, and
        warnings.simplefilter("error")  # every denominator positive: silent
        ours(jnp.asarray(y_true), jnp.asarray(y_pred))
        M.summary(np.array(y_true), np.array(y_pred), 3)
        defined = [0, 1, 2, 1] if len(y_true) == 3 and 2 in y_true + y_pred else [0, 1, 1, 0]
        ours(np.array(defined), np.array(defined[::-1]))
    assert np.isnan(float(M.roc_auc(jnp.array([1, 1, 1]), jnp.array([0.1, 0.5, 0.9]))))
    with pytest.warns(M.UndefinedMetricWarning, match="only one class"):  # on the host
        assert np.isnan(float(M.roc_auc(np.array([0, 0]), np.array([0.1, 0.5]))))
    with pytest.warns(UndefinedMetricWarning):  # scikit-learn: NaN with a warning too
        assert np.isnan(skm.roc_curve([0, 0], [0.1, 0.5])[1]).all()


def test_auc_reads_a_decreasing_curve_backwards_as_scikit_learn_does():
    x, y = np.array([1.0, 0.6, 0.2, 0.0]), np.array([1.0, 0.9, 0.3, 0.0])
    assert float(M.auc(x, y)) == pytest.approx(skm.auc(x, y))
    assert float(M.auc(x[::-1], y[::-1])) == pytest.approx(skm.auc(x, y))


@pytest.mark.parametrize("xp", [np, jnp])
@pytest.mark.parametrize("seed", range(3))
def test_the_class_count_left_out_is_inferred_as_scikit_learn_infers_labels(seed, xp):
    # `confusion_matrix(y_true, y_pred)` without the count was a TypeError
    yt, yp = _random(seed, n=60, k=4)
    yt, yp = xp.asarray(yt), xp.asarray(yp)
    np.testing.assert_array_equal(M.confusion_matrix(yt, yp), skm.confusion_matrix(yt, yp))
    p, r, f, _ = skm.precision_recall_fscore_support(yt, yp, zero_division=0)
    pc = M.per_class(yt, yp, warn=False)
    np.testing.assert_allclose(np.stack([pc.precision, pc.recall, pc.f1]), [p, r, f], rtol=1e-6)
    np.testing.assert_allclose(
        M.macro_average(yt, yp, warn=False), [p.mean(), r.mean(), f.mean()], rtol=1e-6
    )
    assert float(M.micro_average(yt, yp)[0]) == pytest.approx(skm.accuracy_score(yt, yp))
    counts = np.bincount(np.asarray(yt))
    assert float(M.class_prior_baseline(yt)) == pytest.approx(counts.max() / counts.sum())
    np.testing.assert_array_equal(
        M.summary(yt, yp)["confusion_matrix"], skm.confusion_matrix(yt, yp)
    )


@pytest.mark.parametrize("seed", range(4))
def test_multiclass_metrics_match_sklearn(seed):
    yt, yp = _random(seed, n=100, k=4)
    np.testing.assert_array_equal(
        M.confusion_matrix(jnp.asarray(yt), jnp.asarray(yp), 4),
        skm.confusion_matrix(yt, yp, labels=range(4)),
    )
    pc = M.per_class(jnp.asarray(yt), jnp.asarray(yp), 4)
    p, r, f, s = skm.precision_recall_fscore_support(yt, yp, labels=range(4), zero_division=0)
    np.testing.assert_allclose(pc.precision, p, rtol=1e-6)
    np.testing.assert_allclose(pc.recall, r, rtol=1e-6)
    np.testing.assert_allclose(pc.f1, f, rtol=1e-6)
    np.testing.assert_array_equal(pc.support, s)
    for avg, fn in [("macro", M.macro_average), ("micro", M.micro_average)]:
        ours = fn(jnp.asarray(yt), jnp.asarray(yp), 4)
        theirs = skm.precision_recall_fscore_support(
            yt, yp, labels=range(4), average=avg, zero_division=0
        )[:3]
        np.testing.assert_allclose(ours, theirs, rtol=1e-6)


def test_per_class_with_a_class_never_predicted():
    yt, yp = np.array([0, 1, 2, 2]), np.array([0, 1, 1, 1])
    pc = M.per_class(jnp.asarray(yt), jnp.asarray(yp), 3)
    p, r, f, _ = skm.precision_recall_fscore_support(yt, yp, zero_division=0)
    np.testing.assert_allclose(pc.precision, p, rtol=1e-6)
    np.testing.assert_allclose(pc.f1, f, rtol=1e-6)


@pytest.mark.parametrize("labels", [(0, 1), (-1, 1)])
def test_log_loss_takes_the_positive_class_probability_as_sklearn(labels):
    rng = np.random.default_rng(1)
    y = np.array(labels)[rng.integers(0, 2, 40)]
    p = rng.uniform(0.01, 0.99, 40)
    want = skm.log_loss(y, p)
    np.testing.assert_allclose(M.log_loss(y, p), want, rtol=1e-12)
    np.testing.assert_allclose(M.log_loss(jnp.asarray(y), jnp.asarray(p)), want, rtol=1e-6)
    column = p[:, None]  # one column is that probability too (it was read as one class)
    assert skm.log_loss(y, column) == pytest.approx(want, rel=1e-12)
    np.testing.assert_allclose(M.log_loss(y, column), want, rtol=1e-12)
    np.testing.assert_allclose(M.log_loss(list(y), column.tolist()), want, rtol=1e-12)
    p[3] = 1.5  # named as a number, not as NumPy's repr of one
    with pytest.raises(
        ValueError, match=r"^proba: expected probabilities in \[0, 1\], got 1.5 at row 3$"
    ):
        M.log_loss(y, p)


@pytest.mark.parametrize("seed", range(4))
def test_log_loss_matches_sklearn(seed):
    rng = np.random.default_rng(seed)
    P = rng.dirichlet(np.ones(3), size=50)
    y = rng.integers(0, 3, 50)
    np.testing.assert_allclose(
        M.log_loss(jnp.asarray(y), jnp.asarray(P)), skm.log_loss(y, P, labels=range(3)), rtol=1e-6
    )
    P[0] = [1.0, 0.0, 0.0]
    y[0] = 2  # a confident mistake: large but finite
    assert np.isfinite(float(M.log_loss(jnp.asarray(y), jnp.asarray(P))))


@pytest.mark.parametrize(
    "eps,message",
    [
        ("a", "eps: must be a non-negative number"),
        (-1e-3, "eps: must be non-negative"),
        (0.7, r"eps: the probabilities' clip, one number in \[0, 0.5\)"),
        ([1e-3, 1e-4], "eps: the probabilities' clip, one number"),
    ],
)
def test_log_loss_names_a_bad_clip(eps, message):
    with pytest.raises(ValueError, match=message):
        M.log_loss([0, 1], np.full((2, 2), 0.5), eps=eps)


def test_log_loss_warns_when_rows_are_not_probabilities():
    """Rows that do not sum to one warn as scikit-learn does (and the value is still the
    mean of −ln p_y: scikit-learn's, too); rows within √ε of one do not."""
    import warnings

    P = np.array([[0.5, 0.2], [0.5, 0.5]])
    with pytest.warns(
        UserWarning, match=r"proba: the rows do not sum to one \(row 0 sums to 0.7\)"
    ):
        got = M.log_loss(np.array([0, 1]), P)
    with pytest.warns(UserWarning, match="do not sum to one"):
        expected = skm.log_loss([0, 1], P)
    np.testing.assert_allclose(got, expected, rtol=1e-12)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        M.log_loss(np.array([0, 1]), np.array([[0.3, 0.7 + 1e-12], [0.5, 0.5]]))


@pytest.mark.parametrize("seed,ties", [(0, False), (1, False), (2, True), (3, True)])
def test_roc_curve_and_auc_match_sklearn(seed, ties):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, 80)
    s = rng.normal(size=80) + y
    if ties:
        s = np.round(s, 1)
    r = M.roc_curve(jnp.asarray(y), jnp.asarray(s))
    fpr, tpr, _ = skm.roc_curve(y, s, drop_intermediate=False)
    pts = np.stack([np.asarray(r.fpr), np.asarray(r.tpr)], axis=1)
    keep = np.r_[True, np.any(pts[1:] != pts[:-1], axis=1)]  # drop the repeats of ties
    np.testing.assert_allclose(pts[keep], np.stack([fpr, tpr], axis=1), atol=1e-6)
    np.testing.assert_allclose(
        M.roc_auc(jnp.asarray(y), jnp.asarray(s)), skm.roc_auc_score(y, s), rtol=1e-6
    )


def test_metrics_are_jittable_and_vmappable_over_models():
    rng = np.random.default_rng(0)
    yt = jnp.asarray(rng.integers(0, 2, 40))
    preds = jnp.asarray(rng.integers(0, 2, (5, 40)))
    scores = jnp.asarray(rng.normal(size=(5, 40)))
    f = jax.jit(
        jax.vmap(lambda p, s: (M.f1(yt, p), M.roc_auc(yt, s), M.confusion_matrix(yt, p, 2)))
    )
    f1s, aucs, cms = f(preds, scores)
    for i in range(5):
        np.testing.assert_allclose(f1s[i], skm.f1_score(yt, preds[i]), rtol=1e-6)
        np.testing.assert_allclose(aucs[i], skm.roc_auc_score(yt, scores[i]), rtol=1e-6)
        np.testing.assert_array_equal(cms[i], skm.confusion_matrix(yt, preds[i]))


@pytest.mark.parametrize("k,ties", [(2, False), (2, True), (4, False)])
def test_host_metrics_equal_the_compiled_ones_and_compile_nothing(k, ties):
    """NumPy inputs run every metric on the host: the same numbers as the compiled summary
    (checked against scikit-learn above), and no program compiled."""
    rng = np.random.default_rng(k + ties)
    yt, yp = (rng.integers(0, k, 300).astype(np.int32) for _ in range(2))
    s = (rng.normal(size=300) + yt).astype(np.float32) if k == 2 else None
    if ties:
        s = np.round(s, 1)
    P = rng.dirichlet(np.ones(k), size=300).astype(np.float32)
    with jax.transfer_guard("disallow"):  # any JAX operation would move the arrays
        host = M.summary(yt, yp, k, s, P)
    assert all(isinstance(v, (np.ndarray, np.generic)) for v in jax.tree.leaves(host))
    dev = M.summary(
        *(None if a is None else jnp.asarray(a) for a in (yt, yp)),
        k,
        None if s is None else jnp.asarray(s),
        jnp.asarray(P),
    )
    assert jax.tree.structure(host) == jax.tree.structure(dev)
    for a, b in zip(jax.tree.leaves(host), jax.tree.leaves(dev)):
        np.testing.assert_allclose(np.asarray(a, float), np.asarray(b, float), rtol=1e-6, atol=1e-7)
    if k == 2:
        np.testing.assert_allclose(host["roc_auc"], skm.roc_auc_score(yt, s), rtol=1e-6)


@pytest.mark.parametrize(
    "call, name",
    [
        (lambda y, p: M.accuracy(y, p[:3]), "y_pred"),
        (lambda y, p: M.confusion_matrix(y, p[:3], 2), "y_pred"),
        (lambda y, p: M.precision(y[:, None], p), "y_true"),
        (lambda y, p: M.accuracy(y[:0], p[:0]), "y_true"),
        (lambda y, p: M.log_loss(y, np.full(5, 0.5)), "proba"),
        (lambda y, p: M.log_loss(y, np.array([0.5, 1.5, 0.5, 0.5])), "proba"),
        (lambda y, p: M.log_loss(np.array([0, 1, 2, 0]), np.full(4, 0.5)), "y_true"),
        (lambda y, p: M.roc_auc(y, np.ones(5)), "scores"),
        (lambda y, p: M.accuracy(np.array([0.0, np.nan, 1.0, 1.0]), p), "y_true"),
        (lambda y, p: M.roc_auc(y, np.array([0.1, np.inf, 0.3, 0.2])), "scores"),
        (lambda y, p: jax.jit(M.accuracy)(jnp.asarray(y), jnp.asarray(p[:2])), "y_pred"),
        (lambda y, p: M.accuracy([[0], [1, 1], [1], [0]], p), "y_true"),
        (lambda y, p: M.accuracy(y, [[0], [1, 1], [1], [0]]), "y_pred"),
        (lambda y, p: M.confusion_matrix(np.array([0, 1, 5, 0]), p, 2), "y_true"),
        (lambda y, p: M.confusion_matrix(y, np.array([0, -1, 0, 0]), 2), "y_pred"),
        (lambda y, p: M.confusion_matrix(y, np.array([0, 0.5, 0, 0]), 2), "y_pred"),
        (lambda y, p: M.per_class(jnp.array([0, 1, 3, 0]), jnp.asarray(p), 2), "y_true"),
        (lambda y, p: M.summary(y, np.array([0, 1, 2, 0]), 2), "y_pred"),
        (lambda y, p: M.class_prior_baseline(np.array([0, 1, 2, 0]), 2), "y_true"),
        (lambda y, p: M.confusion_matrix(y, p, 0), "n_classes"),
        (lambda y, p: M.precision(np.array([0, 1, 2, 0]), p), "y_true"),  # not binary
        (lambda y, p: M.recall(y, jnp.array([0, 2, 0, 0])), "y_pred"),  # positive class 1
        (lambda y, p: M.roc_auc(np.array([0, 2, 2, 0]), np.ones(4)), "y_true"),
        (lambda y, p: M.log_loss(y, np.array([[0.5, 0.5]] * 3 + [[-0.1, 1.1]])), "proba"),
        (lambda y, p: M.log_loss(np.array([0, 1, 2, 0]), np.full((4, 2), 0.5)), "y_true"),
        (lambda y, p: M.accuracy(y, np.array([0.2, 0.9, 0.4, 0.1])), "y_pred"),  # proba
        (lambda y, p: M.f1(y, [0.2, 0.9, 0.4, 0.1]), "y_pred"),
        (lambda y, p: M.accuracy(np.array([0.0, 1.0, 0.5, 0.0]), p), "y_true"),
        (lambda y, p: M.auc([0.0, 1.0], [1.0]), "fpr, tpr"),
        (lambda y, p: M.auc([0.0, 1.0, 0.5], [0.0, 1.0, 0.5]), "fpr"),
        (lambda y, p: M.accuracy(np.array(["a", None, "b", "a"], dtype=object), p), "y_true"),
        (lambda y, p: M.accuracy(y, np.array([0, 1, None, 0], dtype=object)), "y_pred"),
        (lambda y, p: M.accuracy(np.ma.masked_array(y, mask=[0, 1, 0, 0]), p), "y_true"),
        (lambda y, p: M.confusion_matrix(y, np.ma.masked_array(p, mask=[1, 0, 0, 0]), 2), "y_pred"),
        (lambda y, p: jax.jit(M.confusion_matrix)(jnp.asarray(y), jnp.asarray(p)), "n_classes"),
        (lambda y, p: M.confusion_matrix(np.array(["a", "b", "b", "a"]), p), "y_true"),
        (lambda y, p: M.per_class(y, np.array(["a", "b", "b", "a"]), 2), "y_pred"),
        (lambda y, p: M.confusion_matrix(np.array([0, -1, 1, 0]), p), "y_true"),
        # a JAX array's values, known outside jit, are checked as NumPy's (a NaN was counted)
        (lambda y, p: M.accuracy(jnp.array([0.0, jnp.nan, 1.0, 0.0]), jnp.asarray(p)), "y_true"),
        (lambda y, p: M.roc_auc(jnp.asarray(y), jnp.array([0.1, jnp.nan, 0.3, 0.2])), "scores"),
        (lambda y, p: M.f1(jnp.asarray(y), jnp.array([0.2, 0.9, 0.4, 0.1])), "y_pred"),
        (lambda y, p: M.summary(y, p, proba=np.full((4, 3), 1 / 3)), "proba"),
        (lambda y, p: M.summary(jnp.asarray(y), jnp.asarray(p), proba=jnp.ones((4, 3))), "proba"),
        (lambda y, p: M.summary(y, p, proba=[[1.0, 0.0]]), "proba"),
        (lambda y, p: M.summary(np.array([0, 1, 2, 0]), p, scores=[0.1] * 4), "scores"),
    ],
)
def test_bad_metric_arguments_are_named(call, name):
    y, p = np.array([0, 1, 1, 0]), np.array([0, 1, 0, 0])
    with pytest.raises(ValueError, match=f"^{name}: "):
        call(y, p)


@pytest.mark.parametrize("dtype", [np.int64, np.int32, bool])
def test_roc_takes_integer_and_boolean_scores_as_scikit_learn(dtype):
    """The first threshold is +inf, which an integer array cannot hold."""
    y = np.array([0, 1, 1, 0, 1, 0])
    s = np.array([0, 3, 1, 0, 1, 2]).astype(dtype)
    for xp in (np, jnp):
        r = M.roc_curve(xp.asarray(y), xp.asarray(s))
        assert r.thresholds[0] == np.inf
        np.testing.assert_allclose(M.roc_auc(xp.asarray(y), xp.asarray(s)), skm.roc_auc_score(y, s))


def test_whole_float_labels_are_labels():
    y, p = np.array([0.0, 1.0, 1.0, 0.0]), np.array([0, 1, 0, 0])
    assert float(M.accuracy(y, p)) == skm.accuracy_score(y, p)


def test_metrics_take_lists_like_arrays():
    y, p = [0, 1, 1, 0, 1], [0, 1, 0, 0, 1]
    assert float(M.accuracy(y, p)) == pytest.approx(skm.accuracy_score(y, p))
    assert float(M.f1(y, p)) == pytest.approx(skm.f1_score(y, p))


@pytest.mark.parametrize("loss", ["binary_cross_entropy", "softmax_cross_entropy"])
def test_the_report_takes_a_fit_result_and_agrees_with_scikit_learn(loss):
    """``report.evaluate`` on what ``jaxlin.fit`` returns: accuracy, log loss and the
    confusion matrix as scikit-learn computes them from the same model's outputs."""
    import jaxlin
    from jaxlin import report

    rng = np.random.default_rng(5)
    X = rng.normal(size=(120, 4))
    y = np.digitize(X @ [1.0, -1.0, 0.5, 0.0], [0.0] if "binary" in loss else [-0.6, 0.6])
    r = jaxlin.fit(X, y, loss, optimizer="lbfgs", l2=1e-2, dtype=np.float64)
    e = report.evaluate(r, X, y)
    np.testing.assert_allclose(e["accuracy"], skm.accuracy_score(y, r.predict(X)), rtol=1e-6)
    np.testing.assert_allclose(e["log_loss"], skm.log_loss(y, r.predict_proba(X)), rtol=1e-5)
    assert np.array_equal(e["confusion_matrix"], skm.confusion_matrix(y, r.predict(X)))
    with pytest.raises(TypeError, match="model: expected a TrainedModel .* or a FitResult"):
        report.evaluate("model.npz", X, y)
    for bad, error, words in [  # each was cast to int64 and counted (or wrapped) silently
        (y[:-1], ValueError, r"y: expected 120 labels \(N,\), one per row of X, got shape"),
        (y + 0.5, ValueError, r"y: label .*\.5 is not a class index 0\.\."),
        (np.where(y > 0, np.nan, 0.0), ValueError, "y: contains NaN"),
        (np.where(y > 0, "a", "b"), ValueError, "y: label 'a' is not one of the model's"),
        (np.array([0, None] * 60, dtype=object), TypeError, "y: expected class indices 0"),
        (y - 5, ValueError, r"y: label -\d is not a class index"),
    ]:
        with pytest.raises(error, match=f"^{words}"):
            report.evaluate(r, X, bad)


def test_the_report_of_a_fit_on_labels_takes_those_labels():
    # a result trained on text labels predicts them, but its report took class indices
    # only (text was a TypeError)
    import jaxlin
    from jaxlin import report

    rng = np.random.default_rng(8)
    X = rng.normal(size=(90, 3))
    y = np.array(["cat", "dog", "eel"])[
        np.digitize(X[:, 0] + 0.5 * rng.normal(size=90), [-0.5, 0.5])
    ]
    r = jaxlin.fit(X, y, "softmax_cross_entropy", optimizer="lbfgs", dtype=np.float64)
    e = report.evaluate(r, X, y)
    assert e["accuracy"] == pytest.approx(skm.accuracy_score(y, r.predict(X)))
    expected = skm.confusion_matrix(y, r.predict(X), labels=["cat", "dog", "eel"])
    assert np.array_equal(e["confusion_matrix"], expected)
    codes = np.searchsorted(["cat", "dog", "eel"], y)  # indices as before: the same report
    assert np.array_equal(report.evaluate(r, X, codes)["confusion_matrix"], expected)
    with pytest.raises(ValueError, match="^y: label 'fox' is not one of the model's classes"):
        report.evaluate(r, X, np.where(y == "eel", "fox", y))
    with pytest.raises(ValueError, match=r"^rep: expected the report of jaxlin train .* lacks"):
        report.format_text(e)  # a KeyError before
    signs = np.where(X[:, 0] > 0, 1, -1)  # ±1 labels: -1 is class 0
    h = jaxlin.fit(X, signs, "hinge", epochs=50)
    assert report.evaluate(h, X, signs)["accuracy"] == pytest.approx(
        skm.accuracy_score(signs, h.predict(X))
    )


def test_decisions_take_scores_as_rows_and_lists_as_arrays():
    # a 1-D Z was one row of N classes: predict_labels gave one arg-max over the rows,
    # predict_proba a softmax across them; a list met a Python error
    from jaxlin import decision

    Z = [[0.0], [2.0], [-1.0]]
    np.testing.assert_array_equal(decision.predict_labels("binary_cross_entropy", Z), [1, 1, 0])
    p = 1 / (1 + np.exp(-np.array(Z)[:, 0]))
    np.testing.assert_allclose(
        decision.predict_proba("binary_cross_entropy", Z), np.c_[1 - p, p], rtol=1e-12
    )
    np.testing.assert_allclose(decision.softmax([0.0, 1.0]), [1 / (1 + np.e), np.e / (1 + np.e)])
    for fn in (decision.predict_labels, decision.predict_proba):
        with pytest.raises(ValueError, match=rf"^{fn.__name__}: Z must be scores \(N, K\)"):
            fn("binary_cross_entropy", np.array([0.0, 2.0]))


def test_metrics_over_classes_take_text_labels_as_scikit_learn_does():
    """Text labels count as the codes of their sorted names, scikit-learn's order: the
    confusion matrix, per-class scores, averages, the baseline, the log loss and the
    summary equal scikit-learn's on the same text labels (they were refused)."""
    rng = np.random.default_rng(4)
    names = np.array(["owl", "cat", "dog"])
    t, p = names[rng.integers(0, 3, 60)], names[rng.integers(0, 3, 60)]
    np.testing.assert_array_equal(M.confusion_matrix(t, p), skm.confusion_matrix(t, p))
    pc = M.per_class(list(t), list(p), warn=False)
    ref = skm.precision_recall_fscore_support(t, p, zero_division=0)
    for ours, theirs in zip(pc, ref):
        np.testing.assert_allclose(np.asarray(ours), theirs, rtol=1e-6)
    macro = M.macro_average(t, p, warn=False)
    assert float(macro[2]) == pytest.approx(skm.f1_score(t, p, average="macro"), rel=1e-6)
    counts = np.unique(t, return_counts=True)[1]
    assert float(M.class_prior_baseline(t)) == pytest.approx(counts.max() / len(t))
    proba = rng.dirichlet(np.ones(3), size=60)
    assert float(M.log_loss(t, proba)) == pytest.approx(skm.log_loss(t, proba), rel=1e-12)
    binary = np.where(t == "cat", "spam", "ham")
    guess = np.where(p == "cat", "spam", "ham")
    s = M.summary(binary, guess)  # class 1 of two: the second sorted name, "spam"
    assert float(s["recall"]) == pytest.approx(skm.recall_score(binary, guess, pos_label="spam"))
    with pytest.raises(ValueError, match=r"^y_true: text labels \('\w+'\) beside y_pred's num"):
        M.confusion_matrix(t, np.zeros(60, int))
    assert float(M.accuracy(t, p)) == pytest.approx(skm.accuracy_score(t, p))
    with pytest.raises(ValueError, match=r"^y_true: text labels \('\w+'\) beside y_pred's num"):
        M.accuracy(t, np.zeros(60, int))  # was 0.0: text never equals a number
    with pytest.raises(ValueError, match=r"a binary metric needs labels in \{0, 1\}"):
        M.precision(binary, guess)  # which class is positive is not guessed, as there


def test_summary_takes_lists_of_scores_and_probabilities():
    """Lists are read as host arrays, as the labels are (they reached the compiled summary,
    which failed on them): the values are scikit-learn's."""
    yt, yp = [0, 1, 1, 0, 1], [0, 1, 0, 0, 1]
    scores, proba = [0.1, 0.8, 0.4, 0.3, 0.9], [[0.9, 0.1], [0.2, 0.8], [0.6, 0.4], [0.7, 0.3]]
    proba.append([0.1, 0.9])
    s = M.summary(yt, yp, scores=scores, proba=proba)
    np.testing.assert_allclose(s["roc_auc"], skm.roc_auc_score(yt, scores), rtol=1e-6)
    np.testing.assert_allclose(s["log_loss"], skm.log_loss(yt, proba), rtol=1e-6)
