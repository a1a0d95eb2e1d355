"""§12.5, third limit: "LM was implemented only for multilayer perceptron networks".

The chapter's Summary (§12.5) ends its list of LM's problems with this one.
lmtrain computes the Jacobian of any feed-forward network by the same
unit-δ backward pass (eqs. 12.35–12.36 on a node numbering in topological
order), so LM trains bridged and cascade networks as it trains MLPs. What
that buys is smaller networks: parity-N needs

* an MLP with one hidden layer: N hidden neurons (N + 1 in all),
* a bridged MLP (BMLP, the output neuron also sees the inputs): ⌊N/2⌋ hidden
  neurons,
* a fully connected cascade (FCC, every neuron sees the inputs and every
  earlier neuron): K neurons for N ≤ 2^K − 1 — 3 for parity-7, 4 for
  parity-15.

For each problem and topology this script builds the smallest network, shows
that it can represent parity-N (weights set by hand from the threshold
construction of those results, scaled so that tanh neurons saturate), then
trains it by LM from seeded random weights with
:func:`lmtrain.experiments.run_trials` and reports the success rate, the
mean iterations of the successful trials and the time per trial — and the
same with one neuron more, which shows what the smallest networks cost in
trainability.

Set-up, that of Table 12.2 (``fig_12_8.py``): tanh(0.5·net) neurons, ±1
patterns, goal MSE ≤ 0.01 (E = ½Σe² ≤ P/200), initial weights uniform in
[−1, 1], LM μ₀ = 0.1, at most 1,000 iterations. Parity-15 is trained only
with ``--large`` (FCC with 4 and 5 neurons, 40 trials of at most 200
iterations: its 32,768 patterns make an LM iteration 30–100 ms, a trial up to
20 s); the full run checks its hand-set weights.
``--gain`` changes the gain of every neuron (the search reported in
``docs/chapter-limits.md``).

Success rates and iterations are what a rerun repeats exactly; the time per
trial (compiled, two trials at a time on two cores) changes from run to run,
so it goes to the printed report, not to the files.

Writes ``limit_topology.png``, ``limit_topology.md`` and ``limit_topology.csv``.
"""

from __future__ import annotations

import math
import time

import _common  # noqa: I001  (selects the Agg backend before pyplot)
import matplotlib.pyplot as plt
import numpy as np

import lmtrain as lm
from lmtrain.experiments import run_trials

MU0 = 0.1
CAP = 1000
CAP_15 = 200
TOPOLOGIES = ["MLP", "BMLP", "FCC"]
COLORS = {"MLP": "C0", "BMLP": "C1", "FCC": "C3"}

#: parity sizes, trials per network and neurons added to the smallest network, for full and quick runs;
#: parity-15 (FCC only) is trained by LM only with ``--large``: an LM trial there takes up to 20 s
FULL = dict(sizes=(3, 5, 7), trials=300, extra=(0, 1), trials_15=0)
QUICK = dict(sizes=(3, 5), trials=20, extra=(0,), trials_15=0)
LARGE_TRIALS_15 = 40

#: columns of the files: nothing that changes from run to run (the report adds the time per trial)
COLUMNS = ["parity", "topology", "network", "neurons", "weights", "patterns", "E, hand-set weights",
           "trials", "success", "iterations", "stops"]
REPORT_COLUMNS = COLUMNS[:5] + ["success", "iterations", "ms per trial"]
FORMATS = {"E, hand-set weights": ".1e", "success": ".1%", "iterations": ".1f", "ms per trial": ".2f"}


def smallest(topology: str, n: int) -> int:
    """Hidden neurons (MLP, BMLP) or neurons (FCC) of the smallest network for parity-n."""
    if topology == "MLP":
        return n
    if topology == "BMLP":
        return n // 2
    return math.ceil(math.log2(n + 1))


def build(topology: str, n: int, size: int, gain: float) -> lm.Network:
    """The network: MLP n-size-1, BMLP n-size-1 (bridged) or a cascade of ``size`` neurons."""
    if topology == "MLP":
        return lm.mlp([n, size, 1], gain=gain)
    if topology == "BMLP":
        return lm.bmlp([n, size, 1], gain=gain)
    return lm.fcc(n, size, gain=gain)


def describe(topology: str, n: int, size: int) -> str:
    if topology == "FCC":
        return f"{size} in cascade"
    return f"{n}-{size}-1" + (" bridged" if topology == "BMLP" else "")


def hand_weights(net: lm.Network, topology: str, n: int, scale: float) -> np.ndarray:
    """Weights that solve parity-n on ``net``, from threshold units (the constructions of the known results).

    With k the number of +1 inputs (k = (Σx + n)/2) and b_i = (y_i + 1)/2 the
    0/1 value of earlier neuron i, neuron j is a threshold unit
    [k − Σ_i c_ji·b_i ≥ θ_j]: net_j = A·(k − Σ_i c_ji·b_i − θ_j + ½), so that
    |net_j| ≥ A/2 and tanh(gain·net_j) is within a hair of ±1.

    * MLP: hidden j = 1…n fires for k ≥ j; the output fires when
      Σ_j (−1)^(j+1) b_j ≥ 1 (the alternating sum is 1 exactly for odd k).
    * BMLP: hidden j = 1…⌊n/2⌋ fires for k ≥ 2j; the output for k − 2Σ_j b_j ≥ 1.
    * FCC with K neurons: neuron j fires for k − Σ_(i<j) 2^(K−i)·b_i ≥ 2^(K−j),
      so the neurons read off the binary digits of k and the last one its parity.
    """
    K = net.n_neurons
    coef = {}  # (neuron j, earlier neuron i) -> c_ji, and (j, "theta") -> θ_j, (j, "k") -> weight of k
    for j in range(K):
        last = j == K - 1
        if topology == "MLP":
            if last:
                coef[j, "k"] = 0.0
                coef[j, "theta"] = 1.0
                for i in range(K - 1):
                    coef[j, i] = -((-1.0) ** i)  # c = −(−1)^(i+1) with i counted from 0
            else:
                coef[j, "k"], coef[j, "theta"] = 1.0, float(j + 1)
        elif topology == "BMLP":
            coef[j, "k"] = 1.0
            if last:
                coef[j, "theta"] = 1.0
                for i in range(K - 1):
                    coef[j, i] = 2.0
            else:
                coef[j, "theta"] = 2.0 * (j + 1)
        else:
            coef[j, "k"], coef[j, "theta"] = 1.0, float(2 ** (K - 1 - j))
            for i in range(j):
                coef[j, i] = float(2 ** (K - 1 - i))
    w = np.zeros(net.n_weights)
    n_in = net.n_inputs
    for idx, (node, src) in enumerate(net.weight_info()):
        j = node - n_in
        ck = coef[j, "k"]
        if src is None:  # bias: k = Σx/2 + n/2 and b_i = y_i/2 + 1/2 put constants here
            c_sum = sum(v for key, v in coef.items() if key[0] == j and isinstance(key[1], int))
            w[idx] = scale * (ck * n / 2 - c_sum / 2 - coef[j, "theta"] + 0.5)
        elif src < n_in:
            w[idx] = scale * ck / 2
        else:
            w[idx] = -scale * coef.get((j, src - n_in), 0.0) / 2
    return w


def goal_for(patterns: int) -> float:
    """MSE ≤ 0.01 on E = ½Σe²: E ≤ P/200, as in the parity-N study."""
    return patterns / 200.0


def run(config: dict, gain: float = 0.5, seed: int = 0, log=print) -> list[dict]:
    rows = []
    jobs = [(n, t, smallest(t, n) + x) for n in config["sizes"] for x in config["extra"] for t in TOPOLOGIES]
    jobs.sort(key=lambda job: (job[0], job[2] - smallest(job[1], job[0]), TOPOLOGIES.index(job[1])))
    jobs.append((15, "FCC", 4))  # its hand-set weights at least; LM trials with --large
    if config["trials_15"] > 0:
        jobs.append((15, "FCC", 5))
    for n, topology, size in jobs:
        X, D = lm.datasets.parity(n)
        net = build(topology, n, size, gain)
        goal = goal_for(len(X))
        E_hand = net.error(hand_weights(net, topology, n, 20.0 / gain), X, D)
        trials = config["trials_15"] if n == 15 else config["trials"]
        row = {"parity": n, "topology": topology, "network": describe(topology, n, size), "neurons": net.n_neurons,
               "weights": net.n_weights, "patterns": len(X), "E, hand-set weights": E_hand, "trials": trials,
               "success": math.nan, "iterations": math.nan, "ms per trial": math.nan,
               "stops": "not run (--large)",
               "minimal": size == smallest(topology, n)}
        if trials > 0:
            t0 = time.perf_counter()
            s = run_trials(net, X, D, "lm", trials=trials, seed=seed, goal=goal, mu=MU0,
                           max_iter=CAP_15 if n == 15 else CAP, history=0, progress=False)
            row.update({"success": s.goal_rate, "iterations": s.mean_iterations, "ms per trial": 1e3 * s.mean_time,
                        "stops": ", ".join(f"{k} {v}" for k, v in s.stop_counts.items())})
            log(f"  parity-{n:<2} {topology:<4} {row['network']:<16} {net.n_weights:4d} weights  "
                f"{100 * s.goal_rate:5.1f} %  {s.mean_iterations:6.1f} it  {row['stops']}  "
                f"({time.perf_counter() - t0:.1f} s)")
        rows.append(row)
    return rows


def figure(rows: list[dict], config: dict, gain: float):
    """Success rate of LM on the smallest networks (and one neuron more) against parity-N."""
    fig, axes = plt.subplots(1, 2, figsize=(8.6, 4.1), layout="constrained", sharey=True)
    sizes = sorted({r["parity"] for r in rows if r["trials"] > 0})
    width = 0.27
    for k, minimal in enumerate((True, False)):
        ax = axes[k]
        sub = [r for r in rows if r["minimal"] == minimal and r["trials"] > 0]
        ticks = []
        for x_i, n in enumerate(sizes):
            neurons = []
            for t_i, topology in enumerate(TOPOLOGIES):
                r = next((r for r in sub if r["topology"] == topology and r["parity"] == n), None)
                if r is None:
                    neurons.append("–")
                    continue
                neurons.append(str(r["neurons"]))
                x = x_i + (t_i - 1) * width
                s = 100 * r["success"]
                ax.bar(x, s, width * 0.92, color=COLORS[topology], label=topology if x_i == 0 else None)
                label = f"{s:.0f}" if abs(s - round(s)) < 0.05 else f"{s:.1f}"  # 99.7 % is not 100 %
                ax.text(x, s + 1.5, label, ha="center", va="bottom", fontsize=7.5)
            ticks.append(f"parity-{n}\n{' / '.join(neurons)} neurons")
        ax.set_xticks(range(len(sizes)), ticks, fontsize=8.5)
        ax.set_ylim(0, 112)
        title = "(a) smallest network of each topology" if minimal else "(b) one neuron more"
        ax.set_title(title, loc="left", fontsize=10)
        ax.grid(True, axis="y", alpha=0.3)
    axes[0].set_ylabel(f"LM trials reaching the goal (% of {config['trials']})")
    handles, _ = axes[0].get_legend_handles_labels()
    fig.legend(handles, ["MLP (N hidden)", "bridged MLP (⌊N/2⌋ hidden)", "FCC (⌈log₂(N+1)⌉ in cascade)"],
               loc="outside lower center", ncols=3, fontsize=8.5, frameon=False)
    fig.suptitle(f"LM on MLP, bridged MLP and FCC, tanh({gain:g}·net), goal MSE ≤ 0.01; "
                 "numbers on the bars: % of trials", fontsize=10)
    return fig


def report(rows: list[dict]) -> str:
    """The table with this run's time per trial, as Markdown for the printed report."""
    def cell(v, c):
        if isinstance(v, float):
            return "—" if math.isnan(v) else format(v, FORMATS.get(c, "g"))
        return str(v)

    lines = ["| " + " | ".join(REPORT_COLUMNS) + " |", "|" + "---|" * len(REPORT_COLUMNS)]
    lines += ["| " + " | ".join(cell(r[c], c) for c in REPORT_COLUMNS) + " |" for r in rows]
    return "\n".join(lines)


def main(argv=None) -> int:
    def options(p):
        p.add_argument("--gain", type=float, default=0.5, help="gain of every neuron, tanh(gain·net) (default 0.5)")
        p.add_argument("--trials", type=int, default=None, help="trials per network (default 300; quick 20)")
        p.add_argument("--large", action="store_true",
                       help=f"also train parity-15 on 4 and 5 cascaded neurons ({LARGE_TRIALS_15} trials each, "
                            "ten minutes or more)")
        p.add_argument("--trials-15", type=int, default=None,
                       help=f"LM trials on parity-15 with --large (default {LARGE_TRIALS_15})")

    args = _common.parse_args(argv, __doc__, options)
    config = dict(QUICK if args.quick else FULL)
    if args.trials is not None:
        config["trials"] = args.trials
    if args.large:
        config["trials_15"] = LARGE_TRIALS_15 if args.trials_15 is None else args.trials_15
    t0 = time.perf_counter()
    rows = run(config, gain=args.gain, seed=args.seed)
    seconds = time.perf_counter() - t0
    md, csv = _common.write_table(rows, COLUMNS, "limit_topology", args.out, FORMATS)
    png = _common.save_figure(figure(rows, config, args.gain), "limit_topology", args.out)
    print(f"smallest networks for parity-N in {seconds:.1f} s; this run's times:")
    print(report(rows))
    print(md)
    print(csv)
    print(png)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
