"""Table 12.1: update rules of the training algorithms, generated from ``lmtrain.ALGORITHMS``.

The chapter's Table 12.1 lists, for EBP, Newton, Gauss–Newton and
Levenberg–Marquardt, the update rule, whether it converges stably and fast, and
what it must compute. lmtrain keeps the same facts in its algorithm registry, so
the table is printed from the code that trains — it cannot drift from it.

Writes ``table_12_1.md`` and ``table_12_1.csv``.
"""

from __future__ import annotations

import _common  # noqa: I001

import lmtrain as lm

COLUMNS = ["algorithm", "name in lmtrain", "update rule", "equation", "convergence", "computation"]


def rows() -> list[dict]:
    """One row per registered algorithm, in registry order."""
    return [
        {
            "algorithm": spec.title,
            "name in lmtrain": spec.key,
            "update rule": spec.rule,
            "equation": f"({spec.equation})",
            "convergence": spec.convergence,
            "computation": spec.computation,
        }
        for spec in lm.ALGORITHMS.values()
    ]


def main(argv=None) -> int:
    args = _common.parse_args(argv, __doc__)
    md, csv = _common.write_table(rows(), COLUMNS, "table_12_1", args.out)
    print(md)
    print(csv)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
