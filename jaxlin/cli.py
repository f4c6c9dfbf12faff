"""The ``jaxlin`` command.

Subcommands:
  check     every hand-derived derivation against autodiff and finite differences
"""
from __future__ import annotations

import argparse
import json
import sys


def _cmd_check(args) -> int:
    from jaxlin import derivations

    report = derivations.run(seed=args.seed)
    if args.json:
        print(json.dumps(derivations.to_json(report), indent=2, ensure_ascii=False))
    else:
        print(derivations.format_report(report))
    return 0 if report.ok else 1


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="jaxlin", description="Linear classifiers in JAX with hand-derived gradients.")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    check = sub.add_parser("check", help="verify every hand-derived gradient against autodiff")
    check.add_argument("--json", action="store_true", help="print the report as JSON")
    check.add_argument("--seed", type=int, default=0, help="seed of the random test points")
    check.set_defaults(func=_cmd_check)
    return parser


class UserError(Exception):
    """A mistake in the user's input: reported as one line on stderr, exit code 2."""


def main(argv=None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        return args.func(args)
    except (ValueError, TypeError, FileNotFoundError, UserError) as exc:
        print(f"jaxlin {args.command}: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
