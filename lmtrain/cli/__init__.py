"""Command line: ``lmtrain <command>``.

Each command lives in its own module of this package exposing
``register(subparsers)``, which adds a sub-parser whose ``func(args) -> int``
runs it; the modules import only :mod:`._common` from here, so this package
imports them and never the other way round. Bad user input raises
:class:`UsageError` (or ``ValueError``/``TypeError``/``OSError`` from our
validation), reported as one line on stderr with exit status 2 — never a
traceback.
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import Sequence

from . import compare, demo, fit, lab, reproduce, trace
from ._common import UsageError

#: modules that each register one or more sub-commands, in the order of ``lmtrain -h``
COMMAND_MODULES = [demo, reproduce, fit, trace, compare, lab]

__all__ = ["UsageError", "build_parser", "main"]


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one line on stderr (exit 2), like every other error."""

    def error(self, message):
        self.exit(2, f"{self.prog}: error: {message} (see '{self.prog} -h')\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="lmtrain", description="Levenberg–Marquardt training for neural networks")
    sub = parser.add_subparsers(dest="command", required=True, metavar="command", parser_class=_Parser)
    for module in COMMAND_MODULES:
        module.register(sub)
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
