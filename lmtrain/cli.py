"""Command line: ``lmtrain <command>``.

Each command lives in its own module exposing ``register(subparsers)``, which
adds a sub-parser whose ``func(args) -> int`` runs it. Bad user input raises
:class:`UsageError` (or ``ValueError``/``TypeError``/``OSError`` from our
validation), reported as one line on stderr with exit status 2 — never a
traceback.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from typing import Sequence

#: modules that each register one or more sub-commands
COMMAND_MODULES = ["lmtrain._cmd_demo", "lmtrain._cmd_reproduce"]
COMMAND_MODULES.append("lmtrain._cmd_fit")
COMMAND_MODULES.append("lmtrain._cmd_trace")
COMMAND_MODULES.append("lmtrain._cmd_compare")


class UsageError(Exception):
    """A problem with what the user asked for: reported in one line, exit 2."""


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one line on stderr (exit 2), like every other error."""

    def error(self, message):
        self.exit(2, f"{self.prog}: error: {message} (see '{self.prog} -h')\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="lmtrain", description="Levenberg–Marquardt training for neural networks")
    sub = parser.add_subparsers(dest="command", required=True, metavar="command", parser_class=_Parser)
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except BrokenPipeError:
        # the reader went away (``lmtrain ... | head``): stop quietly, as other
        # command-line tools do, and keep the exit-time flush from complaining
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1
    except (UsageError, ValueError, TypeError, OSError) as exc:
        print(f"lmtrain: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("lmtrain: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    raise SystemExit(main())
