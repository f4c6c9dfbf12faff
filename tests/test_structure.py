"""The code stays readable: short functions with few parameters, one owner per rule, and no
import cycles between the modules of the package (subpackages included)."""

import ast
import pathlib

import pytest

PACKAGE = pathlib.Path(__file__).resolve().parent.parent / "jaxlin"
MAX_LINES, MAX_PARAMETERS = 80, 10


def _modules():
    """``{dotted name: parsed tree}`` of every module of the package."""
    out = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        out[name] = (path, ast.parse(path.read_text(encoding="utf-8")))
    return out


MODULES = _modules()


def _functions():
    for name, (path, tree) in MODULES.items():
        for node in ast.walk(tree):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                yield f"{path.relative_to(PACKAGE)}:{node.lineno} {node.name}", node, name


def _parameters(node) -> int:
    a = node.args
    return len(a.posonlyargs) + len(a.args) + len(a.kwonlyargs)


def _is_sklearn_init(module, node) -> bool:
    # scikit-learn estimators take every parameter by keyword in __init__, by its convention
    return module.startswith("jaxlin.sklearn") and node.name == "__init__"


def test_the_checker_sees_every_module_and_subpackage():
    names = set(MODULES)
    assert {
        "jaxlin.objective",
        "jaxlin.driver",
        "jaxlin.solvers",
        "jaxlin.solvers.newton",
        "jaxlin.training",
        "jaxlin.cli",
        "jaxlin.sklearn._base",
    } <= names


@pytest.mark.parametrize(
    "where,node,module",
    list(_functions()),
    ids=lambda v: v if isinstance(v, str) and ":" in v else "",
)
def test_functions_are_short_and_take_few_parameters(where, node, module):
    lines = node.end_lineno - node.lineno + 1
    assert lines <= MAX_LINES, f"{where}: {lines} lines"
    if not _is_sklearn_init(module, node):
        assert _parameters(node) <= MAX_PARAMETERS, (
            f"{where}: {_parameters(node)} parameters (keyword-only ones included)"
        )


def _imports(module: str, tree) -> set:
    """The package's modules that ``module`` imports anywhere (inside functions too, and the
    names given to :func:`jaxlin._lazy.module`)."""
    found = set()
    package = module if MODULES[module][0].name == "__init__.py" else module.rpartition(".")[0]
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(anchor + ([base] if base else []))
            found.add(base)
            found |= {f"{base}.{a.name}" for a in node.names}
        elif (
            isinstance(node, ast.Call)
            and getattr(node.func, "id", "") == "module"
            and node.args
            and isinstance(node.args[0], ast.Constant)
        ):
            found.add(node.args[0].value)
    return {m for m in found if m in MODULES and m != module}


def _cycle(graph):
    """One import cycle as a list of modules, or ``None``."""
    state = {}

    def visit(m, path):
        state[m] = "open"
        for n in sorted(graph[m]):
            if state.get(n) == "open":
                return path[path.index(n) :] + [n]
            if n not in state:
                found = visit(n, path + [n])
                if found:
                    return found
        state[m] = "done"
        return None

    for m in sorted(graph):
        if m not in state:
            found = visit(m, [m])
            if found:
                return found
    return None


def test_no_import_cycles():
    # a subpackage's __init__ may gather its own modules (the solver registry does)
    graph = {
        m: {n for n in _imports(m, tree) if not n.startswith(m + ".")}
        for m, (_, tree) in MODULES.items()
    }
    assert _cycle(graph) is None, " → ".join(_cycle(graph))


def test_the_checker_finds_a_cycle():
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert _cycle({"a": {"b"}, "b": set()}) is None


def test_solvers_never_see_a_loss_name_a_sign_or_a_weight():
    for path in (PACKAGE / "solvers").glob("*.py"):
        source = path.read_text(encoding="utf-8")
        for word in ("maximise", "sign(", "get_loss", "sample_weight", ".loss", "fit_intercept:"):
            assert word not in source, f"{path.name}: {word}"


# the same word naming something else than a solver
OTHER_MEANINGS = {
    ("models.py", "perceptron"): "the perceptron model of the command line",
    ("sklearn/_estimators.py", "perceptron"): "scikit-learn's SGD loss name",
    ("sklearn/_api.py", "lbfgs"): "scikit-learn's solver name, in its own checks",
    ("sklearn/_api.py", "newton-cholesky"): "scikit-learn's solver name, in its own checks",
    ("sklearn/_ridge.py", "lbfgs"): "scikit-learn's RidgeClassifier solver name and its rule",
}


def test_each_solver_name_is_a_literal_only_in_its_own_module():
    """The registry is the one owner of the solver names: other modules ask it."""
    from jaxlin import solvers

    seen = []
    for name, record in solvers.RECORDS.items():
        home = pathlib.Path(__import__(record.make.__module__, fromlist=["_"]).__file__)
        for module, (path, tree) in MODULES.items():
            where = str(path.relative_to(PACKAGE))
            if path == home or (where, name) in OTHER_MEANINGS:
                continue
            literals = {
                n.value
                for n in ast.walk(tree)
                if isinstance(n, ast.Constant) and isinstance(n.value, str)
            }
            if name in literals:
                seen.append(f"{where} spells {name!r}")
    assert not seen


def test_the_modules_handed_out_first_exist_and_are_listed_once():
    """The suite's workers take the modules of ``LONGEST_FIRST`` first; a module renamed or
    removed would quietly lose its place."""
    from conftest import LONGEST_FIRST

    assert len(set(LONGEST_FIRST)) == len(LONGEST_FIRST)
    missing = [p for p in LONGEST_FIRST if not (PACKAGE.parent / p).is_file()]
    assert not missing, missing
