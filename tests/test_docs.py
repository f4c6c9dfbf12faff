"""The documentation's code runs: every ```python block of a page, in order, as one script,
in a fresh process (a page may set JAX's global flags). A block right after the line
``<!-- template: not run ... -->`` is a template and is skipped."""
import os
import re
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PAGES = ["README.md", "docs/tutorials/your-own-loss.md"]
TEMPLATE = "<!-- template: not run"


def python_blocks(path):
    """The page's ```python blocks, templates left out."""
    with open(os.path.join(ROOT, path), encoding="utf-8") as fh:
        text = fh.read()
    blocks = []
    for m in re.finditer(r"^```python\n(.*?)^```", text, re.S | re.M):
        before = text[:m.start()].rstrip().splitlines()
        if not (before and before[-1].startswith(TEMPLATE)):
            blocks.append(m.group(1))
    return blocks


def test_the_readme_marks_its_multi_host_template():
    with open(os.path.join(ROOT, "README.md"), encoding="utf-8") as fh:
        assert TEMPLATE in fh.read()
    assert not any("jax.distributed.initialize" in b for b in python_blocks("README.md"))


@pytest.mark.parametrize("page", PAGES)
def test_page_code_runs(page, tmp_path):
    blocks = python_blocks(page)
    assert blocks, f"{page} has no python code"
    script = tmp_path / "page.py"
    script.write_text("\n\n".join(blocks), encoding="utf-8")
    env = dict(os.environ, PYTHONPATH=ROOT)
    out = subprocess.run([sys.executable, str(script)], cwd=tmp_path, env=env,
                         capture_output=True, text=True, timeout=600)
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
