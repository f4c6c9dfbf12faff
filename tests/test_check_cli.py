"""`jaxlin check`: the derivation report, its exit code and its JSON."""

import json

import pytest

from jaxlin import cli, derivations, losses


@pytest.fixture(scope="module")
def report():
    return derivations.run()


def test_every_derivation_passes(report):
    assert report.ok
    names = " ".join(r.name for r in report.rows)
    for required in [
        "activation sigmoid'",
        "activation step'",
        "activation identity'",
        "activation logit'",
        "softmax Jacobian",
        "Hessian",
        "∇R L1",
        "∇R L2",
        "∇R elastic net",
    ]:
        assert required in names
    for name, loss in losses.LOSSES.items():  # δ, ∇J with each penalty, convexity claims
        for check in ["δ = ∂L/∂z", "∇J [K=", "∇J + L2", "∇J + L1", "∇J + elastic net"]:
            assert f"{name}: {check}" in names
        assert (f"{name}: convexity claim" in names) == loss.convex
        assert (f"{name}: curvature" in names) == (loss.curvature is not None)


def test_check_output_fits_in_100_columns(report):
    text = derivations.format_report(report)
    assert max(len(line) for line in text.splitlines()) <= 100


def test_corrections_show_the_classic_formula_failing_and_the_correction_passing(report):
    by = {}
    for e in report.errata:
        by.setdefault(e.key, {})[e.reading] = e
    for key in ("E1", "E2"):
        assert not by[key]["classic"].passed and by[key]["classic"].error > 1e-3
        assert by[key]["corrected"].passed and by[key]["corrected"].error < 1e-12


def test_cli_text_and_json(capsys, monkeypatch, report):
    monkeypatch.setattr(derivations, "run", lambda seed=0: report)  # computed once above
    assert cli.main(["check"]) == 0
    out = capsys.readouterr().out
    assert "FAIL" in out  # the classic formulas
    assert "derivations pass" in out
    assert cli.main(["check", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["ok"] is True
    assert all(row["passed"] for row in data["derivations"])
    assert {e["key"] for e in data["errata"]} >= {"E1", "E2", "E3", "E4", "E5", "E6"}


def test_cli_exits_1_when_a_derivation_is_wrong(monkeypatch, capsys):
    wrong = losses.LOSSES["binary_cross_entropy"]._replace(
        delta=lambda z, y: 1.01 * losses.delta_binary_cross_entropy(z, y)
    )
    monkeypatch.setitem(losses.LOSSES, "binary_cross_entropy", wrong)
    assert cli.main(["check"]) == 1
    out = capsys.readouterr().out
    failed = [line.split("  ")[0] for line in out.splitlines() if line.rstrip().endswith("FAIL")]
    assert "binary_cross_entropy: δ = ∂L/∂z [K=1]" in failed
    assert "binary_cross_entropy: ∇J [K=1]" in failed
    assert not any(name.startswith("softmax_cross_entropy") for name in failed)
