"""Write ``sincos.csv`` beside this script: 200 seeded samples of y = sin(x1)·cos(x2).

x1 and x2 are uniform in [−3, 3]; numbers are rounded to 6 decimals so the
file is small and identical on every platform. The README's command-line
example trains on it::

    python examples/make_sincos.py            # (re)writes examples/sincos.csv
    lmtrain train examples/sincos.csv --target y --out sincos.json
"""

from __future__ import annotations

import argparse
import csv
import os
from typing import Sequence

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))


def make(n: int = 200, seed: int = 2011):
    """Rows (x1, x2, y) of the table, as floats rounded to 6 decimals."""
    rng = np.random.default_rng(seed)
    x = np.round(rng.uniform(-3.0, 3.0, size=(n, 2)), 6)
    y = np.round(np.sin(x[:, 0]) * np.cos(x[:, 1]), 6)
    return np.column_stack([x, y])


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=os.path.join(HERE, "sincos.csv"), help="file to write")
    parser.add_argument("--rows", type=int, default=200, help="number of samples (default 200)")
    parser.add_argument("--seed", type=int, default=2011, help="seed (default 2011)")
    args = parser.parse_args(argv)
    with open(args.out, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(["x1", "x2", "y"])
        for row in make(args.rows, args.seed):
            w.writerow([f"{v:.6f}" for v in row])
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
