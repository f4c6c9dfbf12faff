"""mkdocs hook: every formula rendered to MathML when the site is built.

``pymdownx.arithmatex`` (generic mode) finds the formulas — ``$…$``, ``$$…$$`` — and wraps
them as ``<span class="arithmatex">\\(…\\)</span>`` (``<div>`` and ``\\[…\\]`` for display
math), leaving code alone. This hook turns each one into MathML with ``latex2mathml``, which
browsers render natively: the built site shows every formula with no script and no network.
"""

from __future__ import annotations

import html
import re

from latex2mathml.converter import convert

_FORMULA = re.compile(r'<(span|div) class="arithmatex">\s*\\([\(\[])(.*?)\\[\)\]]\s*</\1>', re.S)


def _mathml(match: re.Match) -> str:
    tag, opening, tex = match.group(1), match.group(2), html.unescape(match.group(3))
    display = "block" if opening == "[" or tag == "div" else "inline"
    return convert(tex.strip(), display=display)


def render(page_html: str) -> str:
    """The page's formulas as MathML."""
    return _FORMULA.sub(_mathml, page_html)


def on_page_content(html_text, page, config, files):  # noqa: ARG001  (mkdocs' signature)
    return render(html_text)
