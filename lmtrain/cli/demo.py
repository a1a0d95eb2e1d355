"""``lmtrain demo``: Table 12.2 of the chapter, run with the set-up that reproduces it.

Parity-3 on the 3-3-1 MLP of :data:`lmtrain.experiments.TABLE_12_2` with EBP
(α = 1 and α = 100), Gauss–Newton and LM, every row from the same seeded
initial weights, printed beside the book's values. ``lmtrain compare --setup
table-12-2`` runs the same rows with the options of ``compare`` (CSV, plot).
"""

from __future__ import annotations

import math

from ._common import UsageError


def _fmt(v, spec: str) -> str:
    """``v`` formatted, or "—" when there is no value (e.g. no trial succeeded)."""
    return "—" if v is None or (isinstance(v, float) and math.isnan(v)) else format(v, spec)


def table_text(results: dict, book: dict) -> str:
    """The rows as plain text: ours beside the book's (recalled) success rate and iterations.

    The book's "success rate" is the share of trials that reached the error
    goal, and that is what the column counts (``TrialSummary.goal_rate``).
    """
    width = max(len(k) for k in results) + 2
    head = (f"{'algorithm':<{width}}{'reached goal':>13}{'book':>6}{'iterations':>12}{'book':>9}"
            f"{'ms/trial':>10}  stops")
    lines = [head, "-" * len(head)]
    for label, s in results.items():
        b_rate, b_iter, _ = book.get(label, (math.nan, math.nan, math.nan))
        lines.append(f"{label:<{width}}{_fmt(100 * s.goal_rate, '.0f'):>12}%{_fmt(100 * b_rate, '.0f'):>5}%"
                     f"{_fmt(s.mean_iterations, '.2f'):>12}{_fmt(b_iter, '.2f'):>9}"
                     f"{_fmt(1e3 * s.mean_time, '.3f'):>10}  "
                     + ", ".join(f"{k} {v}" for k, v in s.stop_counts.items()))
    return "\n".join(lines) + "\n"


def _run(args) -> int:
    from ..experiments import TABLE_12_2, run_setup

    if args.trials < 1:
        raise UsageError(f"--trials must be at least 1, got {args.trials}")
    setup = TABLE_12_2
    print(f"Table 12.2 set-up ({setup.name}): {setup.title}; {args.trials} trials, seed {args.seed}")
    results = run_setup(setup, args.trials, args.seed, progress=True)
    print(table_text(results, setup.book_values()), end="")
    print("book: the chapter's Table 12.2 as recalled; times are this machine's, compiled (the book's "
          "ms: " + ", ".join(f"{k} {v[2]:g}" for k, v in setup.book_values().items()) + ")")
    return 0


def register(sub) -> None:
    p = sub.add_parser("demo", help="Table 12.2: parity-3 with EBP, Gauss–Newton and LM, beside the book",
                       description="Run the four rows of the chapter's Table 12.2 (EBP α = 1 and 100, "
                                   "Gauss–Newton, LM) with the set-up that reproduces it, "
                                   "lmtrain.experiments.TABLE_12_2, and print them beside the book's values.")
    p.add_argument("--trials", type=int, default=100, help="trials per algorithm (default 100, as Table 12.2)")
    p.add_argument("--seed", type=int, default=0,
                   help="seed of the initial weights, shared by every row (default 0)")
    p.set_defaults(func=_run)
