"""Command line: ``lmtrain demo`` (and, as they land, reproduce/train/predict/...).

Bad user input gives one line on stderr and exit status 2, never a traceback.
"""

from __future__ import annotations

import argparse
import sys
from typing import Sequence


class UsageError(Exception):
    """A problem with what the user asked for: reported in one line, exit 2."""


def _cmd_demo(args) -> int:
    import numpy as np

    from . import datasets, experiments, mlp

    X, D = datasets.parity(3)
    net = mlp([3, 3, 1], activation="bipolar", gain=0.5)
    print(f"parity-3 on {net}")
    print(f"{'algorithm':<16}{'success':>9}{'iterations':>12}{'ms/trial':>10}")
    for name, opts in [("ebp", {"alpha": 1.0}), ("gauss_newton", {}), ("lm", {})]:
        s = experiments.run_trials(net, X, D, name, trials=args.trials, seed=args.seed, goal=0.01, **opts)
        print(f"{name:<16}{100 * s.success_rate:>8.0f}%{s.mean_iterations:>12.2f}{1e3 * s.mean_time:>10.3f}")
    del np
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="lmtrain", description="Levenberg–Marquardt training for neural networks")
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("demo", help="parity-3 with EBP, Gauss–Newton and LM (100 seeded trials)")
    p.add_argument("--trials", type=int, default=100)
    p.add_argument("--seed", type=int, default=0)
    p.set_defaults(func=_cmd_demo)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except UsageError as exc:
        print(f"lmtrain: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    raise SystemExit(main())
