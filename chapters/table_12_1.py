"""Table 12.1: update rules of the training algorithms, generated from the algorithm registry.

The chapter's Table 12.1 lists, for EBP, Newton, Gauss–Newton,
Levenberg–Marquardt and NBN (the quasi-Hessian form of LM), the update rule,
whether it converges stably and fast, and what it must compute. lmtrain keeps
the same facts in its algorithm registry (``lmtrain.algorithms.TABLE_12_1``),
so the table is printed from the code that trains — it cannot drift from it.
The last column says how to run each row: the NBN row is lmtrain's LM with
Q = Σ_p j_pᵀj_p and g = Σ_p j_pᵀe_p summed without storing J (the plain
kernels ``lmtrain.kernels.quasi_hessian`` with ``kernels="plain"``, or the
blocked path, ``jacobian="blocks"``, taken automatically for large problems).

Writes ``table_12_1.md`` and ``table_12_1.csv``.
"""

from __future__ import annotations

import _common  # noqa: I001

import lmtrain as lm

COLUMNS = ["algorithm", "name in lmtrain", "update rule", "equation", "convergence", "computation", "in lmtrain"]


def rows() -> list[dict]:
    """The five rows of the registry's Table 12.1, in the chapter's order."""
    return [
        {
            "algorithm": row["algorithm"],
            "name in lmtrain": row["name"],
            "update rule": row["rule"],
            "equation": row["equation"],
            "convergence": row["convergence"],
            "computation": row["computation"],
            "in lmtrain": row["in lmtrain"],
        }
        for row in lm.algorithms.TABLE_12_1
    ]


def main(argv=None) -> int:
    args = _common.parse_args(argv, __doc__)
    md, csv = _common.write_table(rows(), COLUMNS, "table_12_1", args.out)
    print(md)
    print(csv)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
