"""Command line: ``lmtrain <command>``.

Each command lives in its own module of this package exposing
``register(subparsers)``, which adds a sub-parser whose ``func(args) -> int``
runs it; the modules import only :mod:`._common` from here, so this package
imports them and never the other way round. Bad user input raises
:class:`UsageError` (or ``ValueError``/``TypeError``/``OSError`` from our
validation, or an ``OverflowError`` from a number too large), reported as one
line on stderr with exit status 2 — never a traceback. With no command the
help is printed (exit 0).
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
    from .. import __version__

    parser = _Parser(
        prog="lmtrain",
        description="Levenberg–Marquardt training for small neural networks (Yu and Wilamowski, 2011): "
                    "reproduce the chapter, compare training rules, fit a network to a CSV table and predict.",
        epilog="Run 'lmtrain COMMAND -h' for the options of a command. The first run compiles the Numba "
               "kernels (tens of seconds, once); later runs load them from the cache.")
    parser.add_argument("--version", action="version", version=f"lmtrain {__version__}",
                        help="print the version of lmtrain and exit")
    # not required: a bare 'lmtrain' prints the help (exit 0) instead of a usage error
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser,
                                title="commands")
    for module in COMMAND_MODULES:
        module.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 0
    try:
        return int(args.func(args) or 0)
    except BrokenPipeError:
        # the reader went away (``lmtrain ... | head``): stop quietly, as other
        # command-line tools do, and keep the exit-time flush from complaining
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1
    except (UsageError, ValueError, TypeError, OSError, OverflowError) as exc:
        print(f"lmtrain: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt as exc:
        print(f"lmtrain: interrupted{_finished_so_far(exc)}", file=sys.stderr)
        return 130


def _finished_so_far(exc: KeyboardInterrupt) -> str:
    """What an interrupted run had done, from the result a :class:`~lmtrain.TrainingInterrupted` carries."""
    result = getattr(exc, "result", None)
    trials = getattr(result, "trials", None)
    if isinstance(trials, int):
        return f" ({trials} trial{'s' if trials != 1 else ''} had finished)"
    iterations = getattr(result, "iterations", None)
    if isinstance(iterations, int):
        return f" after {iterations} iteration{'s' if iterations != 1 else ''}"
    return ""


if __name__ == "__main__":
    raise SystemExit(main())
