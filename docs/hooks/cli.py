"""mkdocs hook: the command-line page's reference, generated from the parser itself.

The marker ``<!-- jaxlin help -->`` in ``cli.md`` becomes the ``--help`` text of ``jaxlin`` and
of every subcommand, so the page cannot drift from the code.
"""

from __future__ import annotations

import argparse

MARKER = "<!-- jaxlin help -->"


def reference() -> str:
    """``jaxlin --help`` and each subcommand's ``--help``, as Markdown sections."""
    from jaxlin.cli import build_parser

    parser = build_parser()
    parts = ["### jaxlin", "", "```text", parser.format_help().rstrip(), "```", ""]
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    for name, command in sub.choices.items():
        parts += [f"### jaxlin {name}", "", "```text", command.format_help().rstrip(), "```", ""]
    return "\n".join(parts)


def on_page_markdown(markdown, page, config, files):  # noqa: ARG001  (mkdocs' signature)
    return markdown.replace(MARKER, reference()) if MARKER in markdown else markdown
