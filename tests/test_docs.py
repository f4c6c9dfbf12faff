"""The documentation's code runs: every ```python block of a page, in order, as one script."""
import os
import re

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PAGES = ["docs/tutorials/your-own-loss.md"]


def python_blocks(path):
    """The page's ```python blocks (```text and other blocks are templates, not run)."""
    with open(os.path.join(ROOT, path), encoding="utf-8") as fh:
        return re.findall(r"^```python\n(.*?)^```", fh.read(), re.S | re.M)


@pytest.mark.parametrize("page", PAGES)
def test_page_code_runs(page, capsys):
    blocks = python_blocks(page)
    assert blocks, f"{page} has no python code"
    namespace = {"__name__": "__docs__"}
    exec(compile("\n".join(blocks), page, "exec"), namespace)  # the page's own asserts judge
    assert capsys.readouterr().out  # the blocks print what the page shows
