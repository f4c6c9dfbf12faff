"""The documentation's code runs: every ```python block of a page, in order, as one script,
in a fresh process (a page may set JAX's global flags); a block right after the line
``<!-- template: not run ... -->`` is a template and is skipped. The tutorial's files run as
they are. The built site reads well offline: formulas as MathML, no Sphinx markup, no asset
from the network, and the command line's reference generated from its parser."""

import os
import re
import shutil
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PAGES = [
    "README.md",
    "docs/getting-started.md",
    "docs/training.md",
    "docs/sklearn.md",
    "docs/sparse.md",
]
TEMPLATE = "<!-- template: not run"
TUTORIAL = os.path.join(ROOT, "docs", "tutorials")


def python_blocks(path):
    """The page's ```python blocks, templates left out."""
    with open(os.path.join(ROOT, path), encoding="utf-8") as fh:
        text = fh.read()
    blocks = []
    for m in re.finditer(r"^```python\n(.*?)^```", text, re.S | re.M):
        before = text[: m.start()].rstrip().splitlines()
        if not (before and before[-1].startswith(TEMPLATE)):
            blocks.append(m.group(1))
    return blocks


def test_the_scaling_page_marks_its_multi_host_template():
    with open(os.path.join(ROOT, "docs", "scaling.md"), encoding="utf-8") as fh:
        assert TEMPLATE in fh.read()
    assert not any("jax.distributed.initialize" in b for b in python_blocks("docs/scaling.md"))


@pytest.mark.parametrize("script", ["check_focal.py", "train_focal.py"])
def test_the_tutorial_files_run_as_saved(script, tmp_path):
    """ "Save this as myloss.py" is exactly the file beside the page; the scripts import it."""
    for name in os.listdir(TUTORIAL):
        if name.endswith(".py"):
            shutil.copy(os.path.join(TUTORIAL, name), tmp_path)
    env = dict(os.environ, PYTHONPATH=ROOT)
    out = subprocess.run(
        [sys.executable, script], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600
    )
    assert out.returncode == 0, out.stderr[-3000:]
    assert "ConvergenceWarning" not in out.stderr


def test_the_tutorial_page_shows_its_files():
    with open(os.path.join(TUTORIAL, "your-own-loss.md"), encoding="utf-8") as fh:
        page = fh.read()
    included = set(re.findall(r'--8<-- "docs/tutorials/(\w+\.py):(\w+)"', page))
    for name in ("myloss.py", "check_focal.py", "train_focal.py"):
        with open(os.path.join(TUTORIAL, name), encoding="utf-8") as fh:
            sections = set(re.findall(r"# --8<-- \[start:(\w+)\]", fh.read()))
        assert sections and {(name, s) for s in sections} <= included, name
    # the loss file holds only the loss: running it prints nothing and checks nothing
    with open(os.path.join(TUTORIAL, "myloss.py"), encoding="utf-8") as fh:
        text = fh.read()
    assert "print(" not in text and "verify(" not in text


@pytest.mark.parametrize("page", PAGES)
def test_page_code_runs(page, tmp_path):
    blocks = python_blocks(page)
    assert blocks, f"{page} has no python code"
    script = tmp_path / "page.py"
    script.write_text("\n\n".join(blocks), encoding="utf-8")
    env = dict(os.environ, PYTHONPATH=ROOT)
    out = subprocess.run(
        [sys.executable, str(script)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert out.returncode == 0, out.stderr[-3000:]  # the page's own asserts judge
    assert out.stdout.strip()  # the blocks print what the page shows


def _anchors(page):
    """The heading slugs of a docs page, as mkdocs' toc makes them."""
    with open(os.path.join(ROOT, "docs", page), encoding="utf-8") as fh:
        heads = [line.lstrip("#").strip() for line in fh if line.startswith("#")]
    return {re.sub(r"[\s]+", "-", re.sub(r"[^\w\s-]", "", h.lower())).strip("-") for h in heads}


def test_every_check_row_names_a_docs_section_that_exists():
    from jaxlin import LOSSES, derivations

    targets = [loss.docs for loss in LOSSES.values()]
    targets += [docs for _, docs in derivations.FORMULAS.values()]
    assert all(targets), [name for name, loss in LOSSES.items() if not loss.docs]
    for target in targets:
        page, _, anchor = target.partition("#")
        assert os.path.exists(os.path.join(ROOT, "docs", page)), target
        assert not anchor or anchor in _anchors(page), target


def test_no_text_outside_the_repository_is_cited():
    pattern = re.compile(r"SPEC|seed 00\d|[Ss]eed 0\d\d|the slides?\b|lecture notes")
    for folder in ("jaxlin", "docs"):
        for dirpath, _, files in os.walk(os.path.join(ROOT, folder)):
            for name in files:
                if name.endswith((".py", ".md")):
                    with open(os.path.join(dirpath, name), encoding="utf-8") as fh:
                        hits = pattern.findall(fh.read())
                    assert not hits, (name, hits)
    with open(os.path.join(ROOT, "README.md"), encoding="utf-8") as fh:
        assert not pattern.findall(fh.read())


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    """The documentation site, built strictly as CI builds it."""
    pytest.importorskip("mkdocs")
    out = tmp_path_factory.mktemp("site")
    env = dict(os.environ, NO_MKDOCS_2_WARNING="1")
    proc = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(out)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    pages = {}
    for dirpath, _, files in os.walk(out):
        for name in files:
            if name.endswith(".html"):
                with open(os.path.join(dirpath, name), encoding="utf-8") as fh:
                    pages[os.path.relpath(os.path.join(dirpath, name), out)] = fh.read()
    return pages


def test_the_site_renders_every_formula_without_a_script(site):
    losses = site["losses/index.html"]
    assert losses.count("<math") > 20
    for name, html in site.items():
        text = re.sub(r"<(pre|code)[^>]*>.*?</\1>", "", html, flags=re.S)
        assert "arithmatex" not in text and "\\(" not in text and "\\[" not in text, name


def test_the_site_loads_nothing_from_the_network(site):
    for name, html in site.items():
        remote = re.findall(r'<(?:script|link|img)[^>]+(?:src|href)="(https?://[^"]+)"', html)
        assert not remote, (name, remote)


def test_no_sphinx_markup_is_left_in_the_site(site):
    api = site["api/index.html"]
    for module in (
        "jaxlin.sklearn",
        "jaxlin.stream",
        "jaxlin.options",
        "jaxlin.data",
        "jaxlin.datasets",
        "jaxlin.metrics",
        "jaxlin.sparse",
        "jaxlin.solvers",
    ):
        assert module in api, module
    for name, html in site.items():
        text = re.sub(r"<(pre|code)[^>]*>.*?</\1>", "", html, flags=re.S)
        assert not re.search(r":(mod|class|func|meth|data|attr):", text), name


def test_the_command_line_page_is_generated_from_the_parser(site):
    from jaxlin.cli import build_parser

    page = site["cli/index.html"]
    for command in ("check", "train", "predict", "convert", "datasets"):
        assert f"jaxlin {command}" in page
    for action in build_parser()._subparsers._group_actions[0].choices["train"]._actions:
        for flag in action.option_strings:
            assert flag in page, flag
