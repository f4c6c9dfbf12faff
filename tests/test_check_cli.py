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
    for required in ["activation sigmoid'", "activation step'", "activation identity'",
                     "activation logit'", "softmax Jacobian", "Hessian", "∇R L1", "∇R L2",
                     "∇R elastic net"]:
        assert required in names
    for loss in losses.LOSSES:  # one row per objective gradient
        assert f"∇J {loss}" in names


def test_errata_show_the_slide_failing_and_the_correction_passing(report):
    by = {}
    for e in report.errata:
        by.setdefault(e.key, {})[e.reading] = e
    for key in ("E1", "E2"):
        assert not by[key]["slide (literal)"].passed and by[key]["slide (literal)"].error > 1e-3
        assert by[key]["corrected"].passed and by[key]["corrected"].error < 1e-12


def test_cli_text_and_json(capsys, monkeypatch, report):
    monkeypatch.setattr(derivations, "run", lambda seed=0: report)  # computed once above
    assert cli.main(["check"]) == 0
    out = capsys.readouterr().out
    assert "FAIL" in out  # the literal slide formulas
    assert "derivations pass" in out
    assert cli.main(["check", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["ok"] is True
    assert all(row["passed"] for row in data["derivations"])
    assert {e["key"] for e in data["errata"]} >= {"E1", "E2", "E3", "E4", "E5", "E6"}


def test_cli_exits_1_when_a_derivation_is_wrong(monkeypatch, capsys):
    wrong = losses.LOSSES["binary_cross_entropy"]._replace(
        delta=lambda z, y: 1.01 * losses.delta_binary_cross_entropy(z, y))
    monkeypatch.setitem(losses.LOSSES, "binary_cross_entropy", wrong)
    assert cli.main(["check"]) == 1
    out = capsys.readouterr().out
    assert any(line.startswith("∇J binary_cross_entropy") and line.rstrip().endswith("FAIL")
               for line in out.splitlines())
