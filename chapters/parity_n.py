"""Parity-N, N = 2 … 7: does LM keep succeeding where Gauss–Newton and EBP fail?

§12.4 ends with a claim it does not show: on parity-N harder than parity-3,
Gauss–Newton "cannot converge at all", EBP becomes less efficient, and LM still
finds solutions. This script measures it with the set-up of Table 12.2
(:data:`lmtrain.experiments.TABLE_12_2`: tanh(0.5·net) neurons, ±1 patterns, error goal
MSE = SSE/P ≤ 0.01, i.e. E = ½Σe² ≤ P/200; EBP's α = 1 row with the same
step w ← w − (1/32)·Jᵀe; LM μ₀ = 0.1) on two networks for every N:

* MLP N-N-1 — one hidden layer as wide as the input, the family of the
  chapter's 3-3-1 (Fig. 12.7);
* FCC with N neurons — a fully connected cascade: every neuron sees the inputs
  and all earlier neurons. k cascaded neurons can represent parity up to
  2^k − 1 inputs, but the smallest such cascades are hard to reach from random
  weights (LM with 3 neurons succeeds in 0–30 % of the trials for N = 4 … 7),
  so we give the cascade N neurons, about as many weights as the MLP.

Trials: 100 for N ≤ 4, 50 for N ≥ 5 (to stay within about 40 s); EBP stops
after 10,000 iterations, Gauss–Newton and LM after 1,000. All algorithms start
from the same weights for each network. Times are per trial, compiled, two
trials at a time on two cores.

Writes ``parity_n.png``, ``parity_n.md`` and ``parity_n.csv``: success rates
and iterations, which a rerun repeats exactly. The times per trial change from
run to run, so they are printed in the report and not written to the files.
"""

from __future__ import annotations

import time

import _common  # noqa: I001  (selects the Agg backend before pyplot)
import matplotlib.pyplot as plt
import numpy as np

import lmtrain as lm
from lmtrain.experiments import TABLE_12_2, compare

SETUP = TABLE_12_2
ALGORITHMS = ["EBP α=1", "Gauss–Newton", "LM"]
NETWORKS = {
    "MLP N-N-1": lambda n, act, gain: lm.mlp([n, n, 1], activation=act, gain=gain),
    "FCC, N neurons": lambda n, act, gain: lm.fcc(n, n, activation=act, gain=gain),
}
FULL = dict(sizes=range(2, 8), trials=lambda n: 100 if n <= 4 else 50, ebp_cap=10_000)
QUICK = dict(sizes=range(2, 5), trials=lambda n: 10, ebp_cap=2_000)

#: columns of the files; the report adds "<algorithm> ms" (mean time per trial) for each algorithm
COLUMNS = (["N", "network", "weights", "patterns", "goal on E", "trials"]
           + [f"{a} {what}" for a in ALGORITHMS for what in ("success", "iterations")])
FORMATS = {"goal on E": "g", **{f"{a} success": ".0%" for a in ALGORITHMS},
           **{f"{a} iterations": ".1f" for a in ALGORITHMS}}
STYLE = {"EBP α=1": ("C0", "o"), "Gauss–Newton": ("C2", "s"), "LM": ("C3", "^")}


def goal_for(patterns: int) -> float:
    """The set-up's goal for P patterns, on E = ½Σe² (MSE ≤ 0.01 gives E ≤ P/200)."""
    per_pattern = SETUP.goal / 2 ** SETUP.parity  # the parity-3 goal per pattern
    return per_pattern * patterns


def algorithms(ebp_cap: int) -> dict:
    """The EBP α = 1, Gauss–Newton and LM rows of Table 12.2, EBP with its own cap."""
    rows = SETUP.algorithms()
    return {name: (rows[name][0], {**rows[name][1], **({"max_iter": ebp_cap} if name.startswith("EBP") else {})})
            for name in ALGORITHMS}


def _it(mean_iterations: float) -> str:
    return "—" if np.isnan(mean_iterations) else f"{mean_iterations:.1f}"


def run(config: dict, seed: int = 0, log=print) -> list[dict]:
    """One row per (N, network) with success rate, mean iterations and ms per trial of each algorithm."""
    act, gain, encoding = SETUP.activation, SETUP.gain, SETUP.encoding
    rows = []
    for n in config["sizes"]:
        X, D = lm.datasets.parity(n, encoding)
        goal = goal_for(len(X))
        trials = config["trials"](n)
        for name, build in NETWORKS.items():
            t0 = time.perf_counter()
            net = build(n, act, gain)
            res = compare(net, X, D, algorithms(config["ebp_cap"]), trials=trials, seed=seed, history=0,
                          progress=False, goal=goal)
            row = {"N": n, "network": name.replace("N", str(n)), "weights": net.n_weights, "patterns": len(X),
                   "goal on E": goal, "trials": trials}
            for a, s in res.items():
                row[f"{a} success"] = s.goal_rate
                row[f"{a} iterations"] = s.mean_iterations
                row[f"{a} ms"] = 1e3 * s.mean_time
            rows.append(row)
            log(f"  parity-{n} {row['network']:<16} " + "  ".join(
                f"{a} {100 * row[f'{a} success']:3.0f}% {_it(row[f'{a} iterations']):>7} it {row[f'{a} ms']:7.3f} ms"
                for a in ALGORITHMS) + f"   {time.perf_counter() - t0:5.1f} s")
    return rows


def figure(rows: list[dict]):
    """Success rate and mean iterations against N, one column per network."""
    fig, axes = plt.subplots(2, 2, figsize=(8.0, 6.2), layout="constrained", sharex=True)
    for j, name in enumerate(NETWORKS):
        sub = [r for r in rows if r["network"] == name.replace("N", str(r["N"]))]
        N = np.array([r["N"] for r in sub])
        for a in ALGORITHMS:
            color, marker = STYLE[a]
            s = np.array([r[f"{a} success"] for r in sub])
            it = np.array([r[f"{a} iterations"] for r in sub])
            axes[0, j].plot(N, 100 * s, color=color, marker=marker, label=a)
            axes[1, j].plot(N, it, color=color, marker=marker, label=a)
        axes[0, j].set_title(f"({'ab'[j]}) {name}: success", loc="left", fontsize=10)
        axes[1, j].set_title(f"({'cd'[j]}) {name}: iterations", loc="left", fontsize=10)
        axes[0, j].set_ylim(-5, 105)
        axes[0, j].set_ylabel("trials reaching the goal (%)")
        axes[1, j].set_yscale("log")
        axes[1, j].set_ylabel("mean iterations (successful trials)")
        axes[1, j].set_xlabel("N (parity-N, $2^N$ patterns)")
        axes[1, j].set_xticks(N)
        for ax in axes[:, j]:
            ax.grid(True, alpha=0.3)
    handles, labels = axes[0, 0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside lower center", ncols=3, fontsize=9, frameon=False)
    return fig


def main(argv=None) -> int:
    args = _common.parse_args(argv, __doc__)
    config = QUICK if args.quick else FULL
    print(f"parity-N, N = {min(config['sizes'])}…{max(config['sizes'])}: success rate, mean iterations and "
          "mean ms per trial (this run's times), seconds per row")
    t0 = time.perf_counter()
    rows = run(config, seed=args.seed)
    _common.write_table(rows, COLUMNS, "parity_n", args.out, FORMATS)
    _common.save_figure(figure(rows), "parity_n", args.out)
    print(f"done in {time.perf_counter() - t0:.1f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
