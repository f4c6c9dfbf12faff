"""jaxlin.verify and `jaxlin check --loss`: a user's derivation is proved or refuted."""

import json
import os
import subprocess
import sys

import jax
import jax.numpy as jnp
import pytest

import jaxlin
from jaxlin import cli, losses
from jaxlin.verification import verify_rows

import user_losses as u

TESTS = os.path.dirname(os.path.abspath(__file__))


@pytest.fixture(scope="module")
def focal_report():
    return jaxlin.verify(u.FOCAL)


def _failed(report):
    return [r.name for r in report.rows if not r.passed]


# ---------------------------------------------------------------- construction


def test_loss_needs_only_name_value_delta_target():
    by_position = jaxlin.Loss("focal", u.focal, u.delta_focal, "binary")
    by_keyword = jaxlin.Loss(name="focal", value=u.focal, delta=u.delta_focal, target="binary")
    assert by_position == by_keyword
    assert by_keyword.formula == "" and by_keyword.convex is False
    assert by_keyword.curvature is None and by_keyword.kink_distance is None
    assert by_keyword.min_classes == 1 and not by_keyword.maximise


@pytest.mark.parametrize(
    "kwargs,error,words",
    [
        (dict(name="", value=u.focal, delta=u.delta_focal, target="binary"), TypeError, "name"),
        (dict(name="f", value=1.0, delta=u.delta_focal, target="binary"), TypeError, "value"),
        (dict(name="f", value=u.focal, delta=None, target="binary"), TypeError, "delta"),
        (dict(name="f", value=u.focal, delta=u.delta_focal, target="multi"), ValueError, "target"),
        (
            dict(name="f", value=u.focal, delta=u.delta_focal, target="binary", curvature=2.0),
            TypeError,
            "curvature",
        ),
        (
            dict(name="f", value=u.focal, delta=u.delta_focal, target="binary", min_classes=0),
            ValueError,
            "min_classes",
        ),
    ],
)
def test_bad_loss_fields_are_named(kwargs, error, words):
    with pytest.raises(error, match=words):
        jaxlin.Loss(**kwargs)


def test_a_loss_prints_short():
    assert repr(u.FOCAL) == "Loss('focal', target='binary')"


# ---------------------------------------------------------------- verify


def test_correct_focal_passes_every_check(focal_report):
    assert focal_report.passed
    names = [r.name for r in focal_report.rows]
    for k in (1, 3):  # K = 1 and K > 1
        for check in (
            "δ = ∂L/∂z",
            "jit + vmap = one at a time",
            "∇J",
            "∇J + L2",
            "∇J + L1",
            "∇J + elastic net",
        ):
            assert f"{check} [K={k}]" in names
    delta = next(r for r in focal_report.rows if r.name == "δ = ∂L/∂z [K=1]")
    assert delta.err_autodiff <= 1e-10 and delta.err_fd <= 1e-6
    assert delta.err_autodiff < 1e-12  # float64 without the global flag (float32 is ~1e-7)


def test_focal_delta_scaled_by_1_1_fails():
    report = jaxlin.verify(u.WRONG_FOCAL)
    assert not report.passed
    delta = next(r for r in report.rows if r.name == "δ = ∂L/∂z [K=1]")
    assert delta.err_autodiff == pytest.approx(0.1, rel=1e-6)  # |1.1 δ − δ| / |δ|
    assert delta.err_fd == pytest.approx(0.1, rel=1e-4)
    assert all(not r.passed for r in report.rows if r.name.startswith(("δ", "∇J")))


def test_squared_error_sigmoid_declared_convex_fails_on_the_claim_only():
    report = jaxlin.verify(u.SE_SIGMOID_CLAIMED_CONVEX)
    assert not report.passed
    assert set(_failed(report)) == {
        "convexity claim, ∇²J ⪰ 0 [K=1]",
        "convexity claim, ∇²J ⪰ 0 [K=3]",
    }
    assert jaxlin.verify(u.SE_SIGMOID_CLAIMED_CONVEX._replace(convex=False)).passed


def test_every_builtin_convexity_claim_holds():
    claimed = [loss for loss in losses.LOSSES.values() if loss.convex]
    rows, _ = verify_rows(claimed, lambda loss: [3 if loss.min_classes > 1 else 1])
    convex_rows = [r for r in rows if r.name.startswith("convexity")]
    assert len(convex_rows) == len(claimed) and all(r.passed for r in convex_rows)


def test_non_elementwise_loss_at_k_2_and_3():
    report = jaxlin.verify(u.SOFTMAX)
    assert report.passed, report
    assert {r.name[-5:] for r in report.rows} == {"[K=2]", "[K=3]"}
    unnormalised = u.SOFTMAX._replace(delta=lambda z, y: jnp.exp(z - jnp.max(z)) - y)
    assert not jaxlin.verify(unnormalised).passed


def test_kinks_are_found_skipped_and_reported():
    report = jaxlin.verify(u.HINGE)
    assert report.passed, report
    skipped = [n for n in report.notes if "skipped" in n and "one-sided differences" in n]
    assert len(skipped) == 2  # one note per K: the grid points sit on the hinge's kink
    # with the kinks declared instead, those points are skipped by kink_distance
    declared = u.HINGE._replace(kink_distance=lambda z, y: jnp.min(jnp.abs(1 - (2 * y - 1) * z)))
    report = jaxlin.verify(declared)
    assert report.passed and any("kink_distance" in n for n in report.notes)


def test_a_wrong_delta_away_from_kinks_still_fails():
    wrong = u.HINGE._replace(delta=lambda z, y: -(2 * y - 1) * 1.0)  # ignores the margin
    assert not jaxlin.verify(wrong).passed


def test_curvature_is_checked_against_autodiff():
    assert jaxlin.verify(u.FOCAL_CURVED).passed
    doubled = u.FOCAL_CURVED._replace(curvature=lambda z, y: 2 * u.curvature_focal(z, y))
    failed = _failed(jaxlin.verify(doubled))
    for k in (1, 3):  # the curvature and every product built on it fail; δ and ∇J do not
        for name in ("curvature ∂²L/∂z²", "∇²J v", "∇²J v + L2"):
            assert f"{name} [K={k}]" in failed
    assert all(name.startswith(("curvature", "∇²J")) for name in failed)


@pytest.mark.parametrize(
    "name",
    [
        "hinge",
        "squared_hinge",
        "crammer_singer_hinge",
        "multiclass_hinge",
        "multiclass_squared_hinge",
    ],
)
def test_a_stated_dual_is_checked_against_the_loss(name):
    from jaxlin.records import DualBox, DualPairwise, DualSimplex

    loss = jaxlin.get_loss(name)
    assert jaxlin.verify(loss).passed
    if name == "hinge":  # a box twice as wide
        wrong = loss._replace(dual=lambda C, y: DualBox(2 * y - 1, 2 * C, jnp.zeros_like(C)))
    elif name == "squared_hinge":  # half the diagonal
        wrong = loss._replace(
            dual=lambda C, y: DualBox(2 * y - 1, jnp.full_like(C, jnp.inf), 1 / (4 * C))
        )
    elif name == "crammer_singer_hinge":  # a margin of 2
        wrong = loss._replace(dual=lambda C, y: DualSimplex(C * y, 2 * (1 - y)))
    elif name == "multiclass_hinge":  # a box twice as wide
        wrong = loss._replace(
            dual=lambda C, y: DualPairwise(y, 2 * C * (1 - y), jnp.zeros_like(C), 1 - y)
        )
    else:  # the squared form's diagonal on the wrong side of its conjugate: 2C
        wrong = loss._replace(
            dual=lambda C, y: DualPairwise(
                y, jnp.where(y > 0, 0.0, jnp.inf), 2 * C * (1 - y), 1 - y
            )
        )
    failed = _failed(jaxlin.verify(wrong))
    sizes = (1, 3) if name in ("hinge", "squared_hinge") else (2, 3)
    assert set(failed) == {f"dual: C L = its maximum over the dual's set [K={k}]" for k in sizes}


def test_a_diagonal_curvature_of_a_non_elementwise_loss_fails():
    def p_one_minus_p(z, y):
        p = jax.nn.softmax(z)
        return p * (1 - p)  # the diagonal only: softmax couples the classes

    report = jaxlin.verify(u.SOFTMAX._replace(curvature=p_one_minus_p))
    curv = [r for r in report.rows if r.name.startswith("curvature")]
    assert curv and not any(r.passed for r in curv)
    assert all("not element-wise" in r.note for r in curv)
    assert all(r.err_autodiff < 1e-12 for r in curv)  # the diagonal itself is right


def test_wrong_shapes_are_a_failed_row_not_a_traceback():
    scalar_delta = u.FOCAL._replace(delta=lambda z, y: jnp.sum(u.delta_focal(z, y)))
    report = jaxlin.verify(scalar_delta, n_outputs=3)
    assert not report.passed and "delta must return shape (3,)" in report.rows[0].note
    vector_value = u.FOCAL._replace(value=lambda z, y: z * y)
    report = jaxlin.verify(vector_value, n_outputs=3)
    assert "value must return a scalar" in report.rows[0].note


def test_n_outputs_is_validated():
    with pytest.raises(ValueError, match="n_outputs"):
        jaxlin.verify(u.SOFTMAX, n_outputs=1)
    assert {r.name[-5:] for r in jaxlin.verify(u.FOCAL, n_outputs=2).rows} == {"[K=2]"}


def test_report_prints_and_serialises(focal_report):
    text = str(focal_report)
    assert "PASSED: 12 of 12" in text and max(map(len, text.splitlines())) <= 100
    data = json.loads(focal_report.json())
    assert data["passed"] is True and data["loss"] == "focal"
    assert len(data["checks"]) == len(focal_report.rows)
    assert data["tolerances"] == {"autodiff": 1e-10, "finite_differences": 1e-6, "convexity": 1e-8}


def test_the_same_seed_gives_the_same_report():
    a, b = jaxlin.verify(u.FOCAL, seed=3), jaxlin.verify(u.FOCAL, seed=3)
    assert [r.err_fd for r in a.rows] == [r.err_fd for r in b.rows]


def test_float64_without_the_global_flag():
    code = (
        "import jax, jaxlin, user_losses as u; r = jaxlin.verify(u.FOCAL); "
        "assert not jax.config.jax_enable_x64; "
        "assert r.passed and r.rows[0].err_autodiff < 1e-12, r; "
        "assert jax.numpy.zeros(1).dtype == 'float32'; print('ok')"
    )
    env = dict(os.environ, JAX_ENABLE_X64="0", PYTHONPATH=TESTS)
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    assert out.returncode == 0 and out.stdout.strip() == "ok", out.stderr[-2000:]


# ---------------------------------------------------------------- the command


def test_check_loss_command(capsys, monkeypatch):
    monkeypatch.chdir(TESTS)
    assert cli.main(["check", "--loss", "user_losses:FOCAL"]) == 0
    assert "PASSED" in capsys.readouterr().out
    assert cli.main(["check", "--loss", "user_losses:WRONG_FOCAL"]) == 1
    assert "FAILED" in capsys.readouterr().out
    assert cli.main(["check", "--loss", "user_losses:SE_SIGMOID_CLAIMED_CONVEX", "--json"]) == 1
    assert json.loads(capsys.readouterr().out)["passed"] is False
    path = os.path.join(TESTS, "user_losses.py")
    assert cli.main(["check", "--loss", f"{path}:FOCAL", "--n-outputs", "2"]) == 0
    assert "[K=2]" in capsys.readouterr().out


@pytest.mark.parametrize(
    "spec,words",
    [
        ("user_losses", "MODULE:ATTR"),
        ("no_such_module_xyz:FOCAL", "cannot import 'no_such_module_xyz'"),
        ("no_such_module_xyz:FOCAL", "the folder that holds no_such_module_xyz.py"),
        ("user_losses:MISSING", "no attribute 'MISSING'"),
        ("user_losses:NOT_A_LOSS", "is a function, not a jaxlin.Loss"),
        ("/no/such/file.py:FOCAL", "no file"),
    ],
)
def test_check_loss_bad_spec_is_one_line(spec, words, capsys, monkeypatch):
    monkeypatch.chdir(TESTS)
    assert cli.main(["check", "--loss", spec]) == 2
    err = capsys.readouterr().err.strip()
    assert words in err and len(err.splitlines()) == 1 and err.startswith("jaxlin check")


@pytest.mark.parametrize(
    "source, words",
    [
        ("def f(:\n", "importing '{m}' raised SyntaxError: invalid syntax"),
        ("raise RuntimeError('at import')\n", "importing '{m}' raised RuntimeError: at import"),
        ("import no_such_module_xyz\n", "importing '{m}' failed: No module named"),
    ],
    ids=["syntax", "raises", "imports-a-missing-module"],
)
@pytest.mark.parametrize("as_path", [False, True], ids=["module", "file"])
def test_a_loss_module_that_fails_to_import_is_named(source, words, as_path, tmp_path, capsys,
                                                     monkeypatch):  # fmt: skip
    """Its own failure came out as a traceback (a syntax error, an exception) or as advice
    to run from the folder that holds it (an import inside it failed): one line now."""
    name = f"broken_loss_{abs(hash((source, as_path))) % 10**6}"
    (tmp_path / f"{name}.py").write_text(source)
    monkeypatch.chdir(tmp_path)
    m = f"{name}.py" if as_path else name
    assert cli.main(["check", "--loss", f"{m}:LOSS"]) == 2
    err = capsys.readouterr().err.strip()
    assert words.format(m=m) in err and len(err.splitlines()) == 1, err
    assert "the folder that holds" not in err


@pytest.mark.parametrize(
    "seed, error, words", [(-1, ValueError, "non-negative"), ("a", TypeError, "an integer")]
)
def test_verify_names_a_bad_seed(seed, error, words):
    # the points come from NumPy's default_rng, which takes non-negative integers only
    with pytest.raises(error, match=f"^seed: .*{words}"):
        jaxlin.verify("binary_cross_entropy", seed=seed)


def test_check_names_a_negative_seed(capsys):
    assert cli.main(["check", "--seed", "-1"]) == 2
    assert "--seed: must be a non-negative integer, got -1" in capsys.readouterr().err
