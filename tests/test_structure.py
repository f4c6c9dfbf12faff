"""The code stays readable: short functions with few positional parameters, one owner per rule."""
import ast
import pathlib

import pytest

PACKAGE = pathlib.Path(__file__).resolve().parent.parent / "jaxlin"
MAX_LINES, MAX_POSITIONAL = 80, 10


def _functions():
    for path in sorted(PACKAGE.glob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                yield f"{path.name}:{node.lineno} {node.name}", node


def test_the_checker_sees_every_module():
    names = {name.split(":")[0] for name, _ in _functions()}
    assert {"objective.py", "driver.py", "solvers.py", "training.py", "cli.py"} <= names


@pytest.mark.parametrize("where,node", list(_functions()), ids=lambda v: v if isinstance(v, str) else "")
def test_functions_are_short_and_take_few_positional_parameters(where, node):
    lines = node.end_lineno - node.lineno + 1
    positional = len(node.args.posonlyargs) + len(node.args.args)
    assert lines <= MAX_LINES, f"{where}: {lines} lines"
    assert positional <= MAX_POSITIONAL, f"{where}: {positional} positional parameters"


def test_solvers_never_see_a_loss_name_a_sign_or_a_weight():
    source = (PACKAGE / "solvers.py").read_text(encoding="utf-8")
    for word in ("maximise", "sign(", "get_loss", "sample_weight", ".loss", "fit_intercept:"):
        assert word not in source, word
