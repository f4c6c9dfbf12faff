"""Fixed costs of a small job: programs compiled by ``jaxlin train``, what ``import jaxlin``
and ``jaxlin --help`` load, and the host-side values that replace tiny compiled programs
(each must equal what JAX itself computes)."""

import textwrap

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxlin import backend, data, datasets, metrics, report
from jaxlin.models import TrainedModel
from jaxlin.penalties import Penalty
from jaxlin.training import kfold_weights

from helpers import run_python


def _python(code, **env):
    return run_python(code, ("JAX_COMPILATION_CACHE_DIR",), **{"JAXLIN_CACHE_DIR": "off", **env})


# the names of the programs JAX compiles, from its own log: ``names`` in ``_counting``'s code
_COUNT_COMPILES = """
import logging, jax
jax.config.update("jax_log_compiles", True)
names = []
class Count(logging.Handler):
    def emit(self, record):
        if record.getMessage().startswith("Compiling "):
            names.append(record.getMessage().split()[1])
logging.getLogger("jax").addHandler(Count())
"""


def _counting(code):
    """``code`` in a fresh process that records the programs it compiles in ``names``."""
    return _python(_COUNT_COMPILES + textwrap.dedent(code))


def test_default_train_compiles_at_most_six_programs():
    """One program for the split's shuffle, one for the training run, one for the report's
    objectives; nothing is compiled for a value made once (counted from JAX's own log)."""
    proc = _counting("""
        from jaxlin import cli
        assert cli.main(["train", "--quiet"]) == 0
        print(len(names), " ".join(names))
    """)
    assert proc.returncode == 0, proc.stderr[-2000:]
    count, *names = proc.stdout.split()
    assert int(count) <= 6 and int(count) == 3, names
    assert not any(
        n.startswith(("jit(convert_element_type", "jit(stage", "jit(_threefry")) for n in names
    ), names


def test_import_and_help_load_no_heavy_module():
    proc = _python("""
        import sys, contextlib, io
        import jaxlin
        print(sorted(m for m in ("jax", "optax", "matplotlib", "sklearn") if m in sys.modules))
        from jaxlin import cli
        with contextlib.redirect_stdout(io.StringIO()):
            try:
                cli.main(["--help"])
            except SystemExit:
                pass
            try:
                cli.main(["train", "--help"])
            except SystemExit:
                pass
        print(sorted(m for m in ("jax", "optax", "matplotlib", "sklearn") if m in sys.modules))
        print(jaxlin.fit.__module__, jaxlin.losses.__name__, "Penalty" in dir(jaxlin))
    """)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.splitlines() == ["[]", "[]", "jaxlin.training jaxlin.losses True"]


def test_every_public_module_is_an_attribute_of_the_package():
    # `import jaxlin; jaxlin.metrics.accuracy(...)` was an AttributeError: only eight modules
    # were listed for lazy loading
    import pkgutil

    import jaxlin as package

    names = [m.name for m in pkgutil.iter_modules(package.__path__) if not m.name.startswith("_")]
    assert {"metrics", "models", "solvers", "report", "sklearn", "stream"} <= set(names)
    proc = _python(f"""
        import jaxlin
        print(all(getattr(jaxlin, n).__name__ == "jaxlin." + n for n in {names!r}))
    """)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.split() == ["True"]


def test_the_bridge_without_scikit_learn_names_the_extra():
    proc = _python("""
        import sys
        sys.modules["sklearn"] = None  # as if scikit-learn were not installed
        try:
            import jaxlin.sklearn
        except ModuleNotFoundError as e:
            print(e)
    """)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.strip() == "jaxlin.sklearn needs scikit-learn: pip install 'jaxlin[sklearn]'"


def test_unknown_attribute_is_an_attribute_error():
    import jaxlin

    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        jaxlin.nope  # noqa: B018


@pytest.mark.parametrize("seed", [0, 1, 41, 2**31 - 1, 2**32 - 1])
def test_host_built_keys_are_jax_keys(seed):
    ours, theirs = backend.random_key(seed), jax.random.key(seed)
    assert ours.dtype == theirs.dtype
    np.testing.assert_array_equal(jax.random.key_data(ours), jax.random.key_data(theirs))
    many = backend.random_key([seed, 3])
    np.testing.assert_array_equal(jax.random.key_data(many[0]), jax.random.key_data(theirs))
    np.testing.assert_array_equal(
        jax.random.key_data(many[1]), jax.random.key_data(jax.random.key(3))
    )


@pytest.mark.parametrize("n,seed", [(1, 0), (7, 3), (673, 0), (1000, 2**31 - 1), (50, 2**40)])
def test_one_program_shuffle_is_jax_permutation(n, seed):
    expected = np.asarray(jax.random.permutation(jax.random.key(seed), n))
    np.testing.assert_array_equal(data.shuffled_rows(n, seed=seed), expected)
    np.testing.assert_array_equal(data.shuffled_rows(n, key=jax.random.key(seed)), expected)


@pytest.mark.parametrize("n", [-1, 2.5, "3", True])
def test_a_shuffle_of_a_count_that_is_not_one_is_named(n):
    # -1 gave an empty permutation without a word
    with pytest.raises(ValueError, match="^n: must be a non-negative integer"):
        data.shuffled_rows(n, seed=0)


@pytest.mark.parametrize("fold_in", [(7,), (1, 0), (1, 5), (2**32 - 1, 3, 4)])
def test_folded_keys_shuffle_as_jax_does(fold_in):
    """Integers folded into the key inside the one program: JAX's own fold_in chain."""
    key = jax.random.key(11)
    for salt in fold_in:
        key = jax.random.fold_in(key, salt)
    expected = np.asarray(jax.random.permutation(key, 103))
    np.testing.assert_array_equal(data.shuffled_rows(103, seed=11, fold_in=fold_in), expected)
    folds = np.array_split(expected, 4)
    w = kfold_weights(103, 4, jax.random.key(11), fold_in=fold_in)
    for i, rows in enumerate(folds):
        assert np.all(w[i, rows] == 0) and w[i].sum() == 103 - len(rows)


def test_model_selection_and_one_vs_rest_compile_only_their_runs():
    """fit_grid's folds are drawn by one program, and a one-vs-rest fit's parameters are
    laid out on the host: no eager JAX operation compiles a program of its own."""
    proc = _counting("""
        import numpy as np, jaxlin
        rng = np.random.default_rng(0)
        X = rng.normal(size=(90, 3)); y = (X[:, 0] > 0).astype(int); y3 = np.arange(90) % 3
        jaxlin.fit_grid(X, y, folds=3, l2=[0.1, 1.0], epochs=5)
        first = jaxlin.fit(X, y3, epochs=5)
        jaxlin.fit(X, y3, epochs=5, init=first)
        print(" ".join(names))
    """)
    assert proc.returncode == 0, proc.stderr[-2000:]
    names = proc.stdout.split()
    assert names and all(
        n.startswith(("jit(_permutation", "jit(_loop", "jit(_epochs")) for n in names
    ), names
    assert sum(n.startswith("jit(_permutation") for n in names) == 1, names


def test_a_stream_and_predictions_on_device_arrays_compile_only_their_programs(tmp_path):
    """A stream's epochs compile their chunk programs and its chunk order (its objective is
    averaged on the host); predicting from a JAX array checks it in one small program."""
    path = tmp_path / "rows.csv"
    rng = np.random.default_rng(1)
    X = rng.normal(size=(300, 3))
    rows = np.c_[X, (X[:, 0] > 0).astype(int)]
    np.savetxt(path, rows, delimiter=",", header="a,b,c,y", comments="")
    proc = _counting(f"""
        import numpy as np, jaxlin
        from jaxlin import stream
        stream.fit_stream({str(path)!r}, target="y", chunk_rows=128, epochs=2)
        print(" ".join(names))
        rows = np.loadtxt({str(path)!r}, delimiter=",", skiprows=1)
        X, y = rows[:, :3], rows[:, 3].astype(int)
        r = jaxlin.fit(X, y, epochs=3)
        on_device = jax.device_put(X.astype(np.float32))
        names.clear()
        assert (r.predict(on_device) == r.predict(X)).all()
        print(" ".join(names))
    """)
    assert proc.returncode == 0, proc.stderr[-2000:]
    streamed, predicted = proc.stdout.splitlines()
    allowed = ("jit(_first_state", "jit(_one_pass", "jit(_permutation")
    assert all(n.startswith(allowed) for n in streamed.split()), streamed
    assert predicted.split() == ["jit(_finite_everywhere)"], predicted


def test_other_generators_are_jax_permutations_too():
    """Raw ``uint32`` keys and other generators: the split is JAX's permutation."""
    raw = jax.random.PRNGKey(3)
    np.testing.assert_array_equal(
        data.shuffled_rows(50, key=raw), np.asarray(jax.random.permutation(raw, 50))
    )
    rbg = jax.random.key(3, impl="rbg")
    np.testing.assert_array_equal(
        data.shuffled_rows(50, key=rbg), np.asarray(jax.random.permutation(rbg, 50))
    )


def test_put_converts_on_the_host_and_keeps_device_arrays():
    a = backend.put(np.arange(3), jnp.float32)
    assert isinstance(a, jax.Array) and a.dtype == jnp.float32
    b = jnp.ones(2, jnp.float32)
    assert backend.put(b, jnp.float32) is b and backend.put(b, jnp.int32).dtype == jnp.int32


@pytest.mark.parametrize("name", ["kidcreative", "iris-like"])
def test_report_metrics_on_host_equal_the_one_program_on_device(name):
    """Both ways of building the report give the same numbers (the default computes the
    metrics on the host, the other puts them in the objectives' program)."""
    if name == "kidcreative":
        d = datasets.load("kidcreative")
        X, y, classes, loss = d.X, d.y, ["no", "buy"], "binary_cross_entropy"
    else:
        rng = np.random.default_rng(0)
        X = rng.normal(size=(150, 4))
        y = np.argmax(X[:, :3] + 0.5 * rng.normal(size=(150, 3)), axis=1)
        classes, loss = ["a", "b", "c"], "softmax_cross_entropy"
    s = data.train_test_split(X, y, seed=1)
    rng = np.random.default_rng(5)
    k = 1 if len(classes) == 2 else len(classes)
    model = TrainedModel(
        "m",
        loss,
        rng.normal(size=(X.shape[1], k)),
        rng.normal(size=k),
        X.mean(0),
        X.std(0),
        [f"f{i}" for i in range(X.shape[1])],
        classes,
    )
    splits = [(s.X_train, s.y_train), (s.X_test, s.y_test)]
    host = report.evaluate_splits(model, splits, Penalty(0.01, 0.02))
    device = report.evaluate_splits(model, splits, Penalty(0.01, 0.02), metrics_on="device")
    assert [sorted(h) for h in host] == [sorted(d) for d in device]
    for h, dv in zip(host, device):
        for key in h:
            np.testing.assert_allclose(
                _flat(h[key]), _flat(dv[key]), rtol=1e-5, atol=1e-6, err_msg=key
            )
        pred = model.predict_codes(splits[host.index(h)][0])
        assert h["accuracy"] == pytest.approx(np.mean(pred == splits[host.index(h)][1]))
    with pytest.raises(ValueError, match="metrics_on"):
        report.evaluate_splits(model, splits, metrics_on="gpu")


def _flat(v):
    if isinstance(v, dict):
        return np.concatenate([_flat(v[k]) for k in sorted(v)])
    return np.ravel(np.asarray(v, float))


def test_summary_keeps_compiling_for_jax_inputs():
    y = jnp.array([0, 1, 1, 0])
    out = metrics.summary(y, y, 2, jnp.array([0.1, 0.9, 0.8, 0.2]), None)
    assert isinstance(out["accuracy"], jax.Array) and float(out["roc_auc"]) == 1.0


# ---------------------------------------------------------------- shape buckets, traced tol


def test_buckets_add_at_most_a_sixteenth_above_small_data_and_are_few():
    from jaxlin.inputs import SMALL_ROWS, bucket_rows

    sizes = [bucket_rows(n) for n in range(1, 20001)]
    assert all(n <= b for n, b in zip(range(1, 20001), sizes))
    # small data shares three sizes; above it at most n/16 extra rows
    assert {b for n, b in zip(range(1, 20001), sizes) if n <= SMALL_ROWS} == {64, 128, 256}
    assert all(b <= n + n / 16 for n, b in zip(range(1, 20001), sizes) if n > SMALL_ROWS)
    assert all(bucket_rows(b) == b for b in set(sizes))  # a bucket is its own bucket
    assert len(set(sizes)) < 3 + 16 * 7  # ≤ 16 sizes per power of two above 256


def test_a_small_fit_leaves_room_for_its_refit_and_later_fits_reuse_it():
    """Small data pads to ``bucket_rows(⌈1.3 N⌉)``, remembered per columns, float type and
    kind; a later fit of ``N'`` rows reuses the oldest size in ``[N', bucket_rows(⌈1.3 N'⌉)]``;
    large data keeps its fine bucket and is not remembered."""
    import scipy.sparse as sp

    from jaxlin.inputs import ROOM, bucket_rows, forget_shared_rows, shared_rows

    def rows(n, d=57, dtype=np.float64):
        return shared_rows(np.zeros((n, d)), dtype)

    forget_shared_rows()
    assert ROOM == 1.3
    first = rows(3681)  # a 5-fold cross-validation's fold of Spambase's 4,601 rows
    assert first == bucket_rows(int(np.ceil(1.3 * 3681))) == 4864
    assert [rows(n) for n in (3680, 3681, 4601)] == [first] * 3  # the other folds, the refit
    assert rows(1000) == bucket_rows(1300) == 1344  # 4,864 would be over 1.3× its rows
    assert rows(1010) == 1344 and rows(3681) == first  # the oldest size that fits, stable
    assert rows(4601, d=56) == bucket_rows(5982)  # other columns: their own sizes
    assert rows(3000, d=16) == bucket_rows(3900)
    assert rows(3681, d=16, dtype=np.float32) == first  # float32 has its own sizes
    assert rows(4601, dtype=np.float32) == bucket_rows(4601)  # 6,144 × 57 float32: over 1 MiB
    big = 200_000  # 91 MB: large data, the fine bucket, nothing remembered
    assert rows(big) == bucket_rows(big) and rows(big - 100) == bucket_rows(big - 100)
    sparse_rows = sp.random(4601, 57, density=0.1, format="csr", random_state=0)
    assert shared_rows(sparse_rows, np.float64) == bucket_rows(5982)  # its own sizes, not 4,864
    forget_shared_rows()
    assert rows(4601) == bucket_rows(5982)  # forgotten: chosen afresh


def test_a_five_fold_grid_search_and_its_refit_run_one_program():
    """GridSearchCV over two Cs on small data: its ten fold fits and the refit on all rows
    run one compiled training program; the refit (padded to its folds' size) equals the
    same fit alone (padded to its own) and scikit-learn's."""
    proc = _counting(
        """
        import numpy as np
        from sklearn.model_selection import GridSearchCV
        from sklearn.linear_model import LogisticRegression as Theirs
        from jaxlin.inputs import forget_shared_rows
        from jaxlin.sklearn import LogisticRegression
        rng = np.random.default_rng(0)
        X = rng.normal(size=(601, 6))
        y = (X @ rng.normal(size=6) + rng.normal(size=601) > 0).astype(int)
        grid = GridSearchCV(LogisticRegression(tol=1e-10), {"C": [0.1, 1.0]}, cv=5).fit(X, y)
        loops = [n for n in names if n == "jit(_loop)"]
        C, refit = grid.best_params_["C"], grid.best_estimator_.coef_
        forget_shared_rows()
        alone = LogisticRegression(C=C, tol=1e-10).fit(X, y).coef_
        theirs = Theirs(C=C, tol=1e-10).fit(X, y).coef_
        print(len(loops), np.abs(refit - alone).max(), np.abs(refit - theirs).max())
        """
    )
    loops, alone, theirs = proc.stdout.split()
    assert int(loops) == 1, proc.stdout
    assert float(alone) < 1e-9 and float(theirs) < 1e-6, proc.stdout


def test_small_data_of_any_size_and_weighting_shares_one_program():
    """Full batches of 9 to 60 rows, with and without sample weights, pad to 64 rows: one
    compiled program, each fit at the optimum of its own rows."""
    from jaxlin import fit

    X, y = _rows(60, d=3, seed=2)
    opts = dict(optimizer="lbfgs", l2=0.1, grad_tol=1e-9, tol=None, epochs=200)
    with _Compiles() as c:
        for n, sw in [(9, None), (25, None), (60, np.linspace(0.5, 2.0, 60))]:
            r = fit(X[:n], y[:n], sample_weight=sw, dtype=jnp.float64, buckets=True, **opts)
            alone = fit(X[:n], y[:n], sample_weight=sw, dtype=jnp.float64, **opts)
            np.testing.assert_allclose(r.params.W, alone.params.W, rtol=1e-7, atol=1e-9)
    # the unpadded fits compile one program per size; the padded ones share a single one
    assert len(c.names) == 1 + 3, c.names


def test_a_one_vs_rest_fit_pads_to_the_shared_size_too():
    """K binary models of a one-vs-rest fit, with one weight per row and class or none:
    padded to 64 rows, the same models as unpadded, and sizes 20 and 45 share a program."""
    from jaxlin import fit

    X, _ = _rows(45, d=3, seed=4)
    y = np.arange(45) % 3
    per_class = np.random.default_rng(2).uniform(0.5, 2.0, (45, 3))
    opts = dict(optimizer="lbfgs", l2=0.1, grad_tol=1e-9, tol=None, epochs=200)
    with _Compiles() as c:
        for n, sw in [(20, None), (45, None), (45, per_class)]:
            r = fit(
                X[:n],
                y[:n],
                "squared_hinge",
                sample_weight=sw,
                buckets=True,
                dtype=jnp.float64,
                **opts,
            )
            alone = fit(X[:n], y[:n], "squared_hinge", sample_weight=sw, dtype=jnp.float64, **opts)
            assert r.params.W.shape == (3, 3) and r.classes == alone.classes
            np.testing.assert_allclose(r.params.W, alone.params.W, rtol=1e-7, atol=1e-9)
            np.testing.assert_allclose(r.params.b, alone.params.b, rtol=1e-7, atol=1e-9)
    # padded: one program for both sizes, one with weights per class; unpadded: one per fit
    assert len(c.names) == 2 + 3, c.names


class _Compiles:
    """Counts the training programs JAX compiles inside the block."""

    def __enter__(self):
        import logging

        from jaxlin.inputs import forget_shared_rows

        forget_shared_rows()  # sizes earlier tests' fits chose would be reused

        self.names, self.logger = [], logging.getLogger("jax")
        outer = self

        class Count(logging.Handler):
            def emit(self, record):
                if record.getMessage().startswith("Compiling jit(_loop)"):
                    outer.names.append(record.getMessage())

        self.handler = Count()
        self.logger.addHandler(self.handler)
        self.flag = jax.config.jax_log_compiles
        jax.config.update("jax_log_compiles", True)
        return self

    def __exit__(self, *exc):
        jax.config.update("jax_log_compiles", self.flag)
        self.logger.removeHandler(self.handler)


def _rows(n, d=13, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d))
    return X, (X @ rng.normal(size=d) + rng.normal(size=n) > 0).astype(int)


def test_folds_of_nearby_sizes_and_other_tolerances_share_one_program():
    from jaxlin import fit

    X, y = _rows(760)
    with _Compiles() as c:
        for n, tol, l2 in [(737, 1e-6, 0.1), (745, 1e-9, 0.01), (760, 1e-7, 0.5)]:
            r = fit(
                X[:n],
                y[:n],
                optimizer="lbfgs",
                l2=l2,
                tol=tol,
                grad_tol=1e-5,
                epochs=200,
                buckets=True,
            )
            assert r.stop_reason in ("objective_tol", "gradient_tol")
    assert len(c.names) == 1, c.names  # 737, 745 and 760 all pad to 768


@pytest.mark.parametrize(
    "optimizer,kw",
    [("lbfgs", {}), ("newton-cholesky", {}), ("gd", dict(learning_rate=1.0, epochs=3000))],
)
def test_a_padded_fit_equals_the_unpadded_one(optimizer, kw):
    """Weight-0 rows change neither the objective nor its minimiser (float64, at the
    optimum); with sample weights too."""
    from jaxlin import fit

    X, y = _rows(301, d=5, seed=3)
    w = np.random.default_rng(1).uniform(0.5, 2.0, 301)
    for sw in (None, w):
        opts = dict(dict(optimizer=optimizer, l2=0.05, tol=1e-14, grad_tol=1e-10, epochs=300), **kw)
        a = fit(X, y, sample_weight=sw, dtype=jnp.float64, buckets=True, **opts)
        b = fit(X, y, sample_weight=sw, dtype=jnp.float64, **opts)
        np.testing.assert_allclose(a.params.W, b.params.W, rtol=1e-7, atol=1e-9)
        np.testing.assert_allclose(a.params.b, b.params.b, rtol=1e-7, atol=1e-9)
        np.testing.assert_allclose(
            a.history.objective[int(a.epochs) - 1],
            b.history.objective[int(b.epochs) - 1],
            rtol=1e-10,
        )


@pytest.mark.parametrize("optimizer,kw", [("sgd", dict(batch_size=16)), ("perceptron", {})])
def test_runs_that_visit_rows_by_index_are_not_padded(optimizer, kw):
    """Mini-batches and the perceptron draw rows by index: their rows stay as given, so
    ``buckets`` changes nothing, bit for bit."""
    from jaxlin import fit

    X, y = _rows(301, d=5, seed=4)
    a = fit(X, y, optimizer=optimizer, epochs=5, buckets=True, **kw)
    b = fit(X, y, optimizer=optimizer, epochs=5, **kw)
    np.testing.assert_array_equal(a.params.W, b.params.W)
    np.testing.assert_array_equal(a.history.objective, b.history.objective)


def test_tolerances_are_traced_not_static():
    from jaxlin.driver import Settings
    from jaxlin.options import Options

    a, b = (
        Options(optimizer="lbfgs", tol=t, grad_tol=g).check(100)
        for t, g in [(1e-3, 1e-4), (1e-9, 1e-7)]
    )
    assert a.settings(1) == b.settings(1) and isinstance(a.settings(1), Settings)
    h = a.hyper(jax.random.key(0), None, jnp.float32)
    assert float(h.tol) == pytest.approx(1e-3) and float(h.grad_tol) == pytest.approx(1e-4)
    assert Options(optimizer="lbfgs").check(100).hyper(None, None, jnp.float32).tol is None


def test_small_data_compiles_quicker_with_the_same_result(monkeypatch):
    """Small data on the CPU gets XLA's quicker-compiling options; the arithmetic is the
    same IEEE arithmetic, so the fit agrees with the default-compiled one to rounding."""
    from jaxlin import fit

    with monkeypatch.context() as m:  # the options are XLA:CPU's (any machine's CPU)
        m.setattr(backend, "platform", lambda: "cpu")
        lighter = jax.config.read("jax_disable_most_optimizations")
        try:  # LLVM's lighter level 1, unless JAX is asked for less already (level 0)
            for off, level in ((False, [("xla_backend_optimization_level", 1)]), (True, [])):
                jax.config.update("jax_disable_most_optimizations", off)
                options = backend.compile_options(1000)
                assert dict(options) == {"xla_cpu_use_fusion_emitters": False, **dict(level)}
                whole = backend.compile_options(1000, full_batch=True)  # YNNPACK's kernels
                assert dict(whole) == {**dict(options), **dict(backend.NO_YNN)}  # left out
                flat = {"xla_disable_hlo_passes": "tree_reduction_rewriter"}
                assert dict(backend.compile_options(1000, 8)) == {**dict(options), **flat}
        finally:
            jax.config.update("jax_disable_most_optimizations", lighter)
        assert backend.compile_options(backend.QUICK_COMPILE_BYTES + 1) is None
        assert backend.compile_options(backend.QUICK_COMPILE_BYTES + 1, 8) is not None
        assert backend.compile_options(4 * backend.QUICK_COMPILE_BYTES + 1, 8) is None
        assert backend.compile_options(None) is None
    X, y = _rows(200, d=6, seed=7)
    kw = dict(optimizer="lbfgs", l2=0.01, tol=1e-14, grad_tol=1e-11, epochs=200, dtype=jnp.float64)
    quick = fit(X, y, **kw)
    monkeypatch.setattr(backend, "QUICK_COMPILE_BYTES", 0)
    default = fit(X, y, **kw)
    np.testing.assert_allclose(quick.params.W, default.params.W, rtol=1e-9, atol=1e-11)
    monkeypatch.setattr(backend, "platform", lambda: "gpu")
    assert backend.compile_options(1000) is None  # an XLA:CPU option: the CPU only


def test_an_xla_that_refuses_the_ynn_option_compiles_without_it(monkeypatch):
    """The option that turns YNNPACK's kernels off is XLA:CPU's, and experimental: an XLA
    that does not know it refuses it at the first compilation; that program is compiled
    without it, and no later one asks for it — the same result, no error."""
    from jaxlin import fit

    monkeypatch.setattr(backend, "platform", lambda: "cpu")
    X, y = _rows(200, d=6, seed=7)
    kw = dict(optimizer="lbfgs", l2=0.01, tol=1e-14, grad_tol=1e-11, epochs=200, dtype=jnp.float64)
    known = fit(X, y, **kw)
    monkeypatch.setattr(backend, "NO_YNN", (("xla_cpu_no_such_option_for_jaxlin", ""),))
    monkeypatch.setitem(backend._YNN_OPTION, "known", True)
    bogus = "xla_cpu_no_such_option_for_jaxlin"
    assert bogus in dict(backend.compile_options(1000, full_batch=True))
    refused = fit(X, y, **kw)  # a full batch: its program asks for the option
    assert backend._YNN_OPTION["known"] is False
    assert bogus not in dict(backend.compile_options(1000, full_batch=True))
    np.testing.assert_allclose(refused.params.W, known.params.W, rtol=1e-9, atol=1e-11)


def test_float64_sums_are_one_reduction_and_float32_ones_keep_their_windows(monkeypatch):
    """XLA ignores a pass name it does not know, so the options are checked on compiled
    programs: a float64 sum of 3,334 values inside a loop stays one reduction (no windowed
    sums), a float32 one keeps XLA's windows, which a float32 mean needs: every quick and
    once-a-call float32 program's mean of 3,334 values near 2.3 (as a mean loss is) stays
    within 4 ε of the float64 mean (without the windows this data's mean was 8.6 ε off at
    level 0, and the mean loss of MNIST's 3,334 test rows 8 ε at level 1, 180 ε at 0)."""
    monkeypatch.setattr(backend, "platform", lambda: "cpu")
    rng = np.random.default_rng(3)
    v = (2.3 + 0.01 * rng.standard_normal(3334)).astype(np.float32)

    def program(v):
        return jax.lax.fori_loop(0, 2, lambda i, c: c + jnp.mean(v * (1.0 + i)), 0.0) / 3

    exact = np.mean(v.astype(np.float64))
    for once in (False, True):
        options = backend.compile_options(v.nbytes, 4, once)
        compiled = jax.jit(program, compiler_options=dict(options)).lower(v).compile()
        assert "reduce-window(" in compiled.as_text()
        assert abs(float(compiled(v)) - exact) / exact <= 4 * np.finfo(np.float32).eps
    wide = v.astype(np.float64)
    options = backend.compile_options(wide.nbytes, 8)
    compiled = jax.jit(program, compiler_options=dict(options)).lower(wide).compile()  # x64 on
    assert "reduce-window(" not in compiled.as_text()
    np.testing.assert_allclose(float(compiled(wide)), exact, rtol=1e-13)


@pytest.mark.parametrize("bad", ["yes", 1, None])
def test_buckets_must_be_a_flag(bad):
    from jaxlin import fit

    X, y = _rows(40, d=3)
    with pytest.raises(TypeError, match="buckets: must be True or False"):
        fit(X, y, buckets=bad)


def test_runs_that_differ_only_in_epochs_share_one_program():
    """The epoch limit is traced (the bridge's ``max_iter`` sweeps over it): 5, 20 and 50
    epochs compile the loop once; each run stops at its own limit."""
    from jaxlin import fit

    X, y = _rows(200, d=4, seed=5)
    with _Compiles() as c:
        runs = [fit(X, y, optimizer="gd", learning_rate=0.1, epochs=e) for e in (5, 20, 50)]
    assert len(c.names) == 1, c.names
    assert [int(r.epochs) for r in runs] == [5, 20, 50]
    assert [len(r.history.objective) for r in runs] == [5, 20, 50]
    # the shorter run is the start of the longer one
    np.testing.assert_array_equal(runs[1].history.objective, runs[2].history.objective[:20])
