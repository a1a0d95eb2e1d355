"""Fig. 12.8 and Table 12.2: parity-3 trained by EBP (α = 1 and 100), Gauss–Newton and LM.

§12.4 trains parity-3 with each algorithm from 100 random initial weight
vectors (uniform in [−1, 1]) to the error goal 0.01 and reports, in Table 12.2,
the success rate, the mean number of iterations and the mean time; Fig. 12.8
shows the error curves. The chapter leaves the network, the neurons, the error
measure and the scaling of EBP's α open; ``setup_study.py`` tries the plausible
readings and :data:`SETUP` below is the one closest to the book. All four rows
start from the same 100 weight vectors.

Writes ``fig_12_8.png`` (error against iteration, four panels as in the book),
``table_12_2.md`` and ``table_12_2.csv`` (our numbers beside the book's, which
are recalled, not checked against a printed copy).
"""

from __future__ import annotations

import _common  # noqa: I001  (selects the Agg backend before pyplot)
import matplotlib.pyplot as plt
from matplotlib.ticker import MaxNLocator

import setup_study as study
from lmtrain.experiments import compare
from lmtrain.plotting import plot_error_curves

#: The reading of §12.4 used here: rank 1 of ``setup_study.csv`` (score 0.31, the
#: distance to the book's Table 12.2 defined in setup_study.py). A 3-3-1 MLP of
#: tanh(0.5·net) neurons on ±1 patterns; "error 0.01" read as MSE = SSE/P ≤ 0.01,
#: i.e. E = ½Σe² ≤ 0.04; EBP's step w ← w − (α/32)·Jᵀe — a factor that no error
#: definition gives (the closest, ∇(½MSE), is α/8), needed to make α = 100 stable
#: in most trials as in the book; LM μ₀ = 0.1; EBP stops after 2,000 iterations.
#: Fixed here so the figure does not depend on running the study first.
SETUP = dict(topology="mlp331", neurons="tanh0.5", goal="mse", alpha_scale="adhoc32", mu0=0.1, ebp_cap=2000)
SECOND_ORDER_CAP = study.SECOND_ORDER_CAP

PANELS = {"EBP α=1": "(a) EBP, α = 1", "EBP α=100": "(b) EBP, α = 100",
          "Gauss–Newton": "(c) Gauss–Newton", "LM": "(d) LM"}
COLORS = {"EBP α=1": "C0", "EBP α=100": "C1", "Gauss–Newton": "C2", "LM": "C3"}

COLUMNS = ["algorithm", "success, book", "success, lmtrain", "iterations, book", "iterations, lmtrain",
           "ms, book", "ms per successful trial, lmtrain", "ms per trial, lmtrain", "stops, lmtrain"]
FORMATS = {"success, book": ".0%", "success, lmtrain": ".0%", "iterations, book": ".2f",
           "iterations, lmtrain": ".2f", "ms, book": ".1f", "ms per successful trial, lmtrain": ".3f",
           "ms per trial, lmtrain": ".3f"}


def describe(setup: dict = SETUP) -> str:
    """One line naming the set-up, e.g. for titles and logs."""
    return (f"{study.TOPOLOGIES[setup['topology']][0]}, {study.NEURONS[setup['neurons']][0]}, "
            f"goal {study.GOALS[setup['goal']][0]} (E ≤ {study.GOALS[setup['goal']][1]:g}), "
            f"EBP step {study.ALPHA_SCALES[setup['alpha_scale']][0]}, LM μ₀ {setup['mu0']:g}, "
            f"EBP cap {setup['ebp_cap']:,}")


def run(setup: dict = SETUP, trials: int = 100, seed: int = 0, ebp_cap: int | None = None) -> dict:
    """The four rows of Table 12.2 for ``setup``: ``{row name: TrialSummary}``.

    Trials run one after another (``parallel=False``) so that the time of each
    trial is not shared with another trial on the same core.
    """
    net, X, D = study.build(setup["topology"], setup["neurons"])
    goal = study.GOALS[setup["goal"]][1]
    c = study.ALPHA_SCALES[setup["alpha_scale"]][1]
    cap = setup["ebp_cap"] if ebp_cap is None else ebp_cap
    algorithms = {
        "EBP α=1": ("ebp", {"alpha": 1.0 * c, "max_iter": cap}),
        "EBP α=100": ("ebp", {"alpha": 100.0 * c, "max_iter": cap}),
        "Gauss–Newton": ("gauss_newton", {"max_iter": SECOND_ORDER_CAP}),
        "LM": ("lm", {"mu": setup["mu0"], "max_iter": SECOND_ORDER_CAP}),
    }
    # full error histories for the figure (each run keeps at most its own max_iter)
    return compare(net, X, D, algorithms, trials=trials, seed=seed, history=max(cap, SECOND_ORDER_CAP),
                   parallel=False, progress=False, goal=goal)


def table_rows(results: dict) -> list[dict]:
    """Rows of Table 12.2: book values (recalled) beside ours."""
    rows = []
    for name, s in results.items():
        b_rate, b_iter, b_ms = study.BOOK[name]
        rows.append({
            "algorithm": name,
            "success, book": b_rate,
            "success, lmtrain": s.goal_rate,
            "iterations, book": b_iter,
            "iterations, lmtrain": s.mean_iterations,
            "ms, book": b_ms,
            "ms per successful trial, lmtrain": 1e3 * s.mean_time_success,
            "ms per trial, lmtrain": 1e3 * s.mean_time,
            "stops, lmtrain": ", ".join(f"{k} {v}" for k, v in s.stop_counts.items()),
        })
    return rows


def figure(results: dict, goal: float, goal_text: str = ""):
    """Four panels of error curves, one line per trial, failures in grey."""
    fig, axes = plt.subplots(2, 2, figsize=(8.0, 6.4), layout="constrained")
    for ax, (name, s) in zip(axes.flat, results.items()):
        plot_error_curves(s, ax, goal=goal, color=COLORS[name], alpha=0.35, lw=0.8)
        n_ok = int(s.reached_goal.sum())
        ax.set_title(f"{PANELS[name]}: {n_ok}/{s.trials} reach the goal", loc="left", fontsize=10)
        ax.set_xlim(left=0)
        ax.set_ylim(1e-3, 20.0)  # the same range in every panel, as in the book
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    handles = [plt.Line2D([], [], color="0.3", lw=1.5, label="trial reached the goal (colour)"),
               plt.Line2D([], [], color="0.6", lw=1.5, label="did not (grey)"),
               plt.Line2D([], [], color="k", ls=":", lw=1.2, label=f"goal E = {goal:g}{goal_text}")]
    fig.legend(handles=handles, loc="outside lower center", ncols=3, fontsize=9, frameon=False)
    return fig


def main(argv=None) -> int:
    args = _common.parse_args(argv, __doc__)
    trials = 10 if args.quick else 100
    # quick: fewer trials and a lower EBP cap (EBP α = 1 then often stops short of the goal)
    results = run(SETUP, trials=trials, seed=args.seed, ebp_cap=1000 if args.quick else None)
    goal = study.GOALS[SETUP["goal"]][1]
    md, csv = _common.write_table(table_rows(results), COLUMNS, "table_12_2", args.out, FORMATS)
    goal_text = f" ({study.GOALS[SETUP['goal']][0]})"
    png = _common.save_figure(figure(results, goal, goal_text), "fig_12_8", args.out)
    print(f"set-up: {describe()}; {trials} trials")
    for name, s in results.items():
        print(f"  {s!r}")
    print(md)
    print(csv)
    print(png)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
