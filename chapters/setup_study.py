"""Set-up study for Table 12.2: which reading of §12.4 reproduces the book's numbers?

§12.4 fixes the problem (parity-3), the error goal (0.01), the number of trials
(100) and the initial weights (uniform in [−1, 1]), and names the network only
as "three neurons in a multilayer perceptron" (Fig. 12.7). Everything else that
decides the numbers of Table 12.2 is left open. This script runs the four rows
of the table (EBP α = 1, EBP α = 100, Gauss–Newton, LM) for every combination of
the following readings and ranks them by their distance from the book.

=================  ============================================================
axis               values
=================  ============================================================
topology           MLP 3-2-1 (three neurons), MLP 3-3-1 (three hidden neurons),
                   bridged MLP 3-2-1 (three neurons, inputs also feed the
                   output), FCC with 2 neurons (the smallest cascade that
                   solves parity-3)
neurons            tanh(0.5·net) with ±1 patterns (the unipolar sigmoid
                   stretched to [−1, 1], a common textbook "bipolar" neuron);
                   tanh(net) with ±1 patterns; sigmoid(net) with 0/1 patterns
error goal         what "0.01" is measured on. lmtrain keeps one error,
                   E = ½Σe² (eq. 12.1), so each reading becomes a goal on E:
                   ½SSE ≤ 0.01 → E ≤ 0.01; SSE ≤ 0.01 → E ≤ 0.005;
                   MSE = SSE/P ≤ 0.01 → E ≤ 0.04
EBP α scale        which gradient α multiplies. The step is always
                   w ← w − c·α·Jᵀe (batch: one update per pass over all P
                   patterns; per-pattern "online" updates are not implemented):
                   ∇(½SSE) c = 1; ∇SSE c = 2; ∇MSE c = 2/P; ∇(½MSE) c = 1/P;
                   and *ad hoc* c = 1/16, 1/32, 1/64 that no error
                   definition gives, to find what EBP α = 100 would need
LM μ₀              0.001, 0.01, 0.1 (the chapter gives no starting μ)
EBP cap            2,000 and 5,000 iterations (a trial that reaches the
                   cap has failed); Gauss–Newton and LM stop at 1,000
=================  ============================================================

All rows of one set-up start from the same 100 weight vectors
(``trial_weights(net, 100, seed)``). Neither the goal nor the iteration cap
changes a trajectory, only where it stops, so each network and α scale is run
once at the smallest goal and the largest cap with full error histories, and the
outcome for every goal and cap is read off the histories (the first iteration
with E ≤ goal, counted as a success when it is within the cap).

Distance to the book (the ``score``; smaller is better), summed over the four
rows::

    d_row = |s − s_book| + |log10(n / n_book)|

with s the success rate (0…1) and n the mean number of iterations of the
successful trials. A row where none of our trials succeeds has no n; its second
term is then s_book (as if the mean were a factor of 10 off, weighted by how
often the book succeeded). A 30-point gap in success rate thus weighs the same
as a factor of 2 in iterations. Times are not scored: they depend on the
machine. The book's values are recalled, not checked against a printed copy.

Writes ``setup_study.csv`` (every set-up, sorted by score), ``setup_study.md``
(the best 40) and ``setup_study.png``.
"""

from __future__ import annotations

import math
import time

import _common  # noqa: I001  (selects the Agg backend before pyplot)
import matplotlib.pyplot as plt
import numpy as np

import lmtrain as lm
from lmtrain.experiments import TABLE_12_2, run_trials, trial_weights

#: Table 12.2 as recalled from the book (not checked against a printed copy):
#: success rate, mean iterations, mean time in ms; kept with the package's set-up
BOOK = TABLE_12_2.book_values()
ROWS = list(BOOK)
#: the α values of the two EBP rows
EBP_ALPHA = {"EBP α=1": 1.0, "EBP α=100": 100.0}

#: topology key -> (label, builder(activation, gain))
TOPOLOGIES = {
    "mlp321": ("MLP 3-2-1", lambda act, gain: lm.mlp([3, 2, 1], activation=act, gain=gain)),
    "mlp331": ("MLP 3-3-1", lambda act, gain: lm.mlp([3, 3, 1], activation=act, gain=gain)),
    "bmlp321": ("bridged MLP 3-2-1", lambda act, gain: lm.bmlp([3, 2, 1], activation=act, gain=gain)),
    "fcc32": ("FCC 2 neurons", lambda act, gain: lm.fcc(3, 2, activation=act, gain=gain)),
}
#: neuron key -> (label, activation, gain, pattern encoding)
NEURONS = {
    "tanh0.5": ("tanh(0.5·net), ±1", "bipolar", 0.5, "bipolar"),
    "tanh1": ("tanh(net), ±1", "bipolar", 1.0, "bipolar"),
    "sigm1": ("sigmoid(net), 0/1", "unipolar", 1.0, "unipolar"),
}
#: error-goal key -> (label, goal on our E = ½Σe² for P = 8 patterns)
GOALS = {
    "half_sse": ("½SSE ≤ 0.01", 0.01),
    "sse": ("SSE ≤ 0.01", 0.005),
    "mse": ("MSE ≤ 0.01", 0.04),
}
P = 8  # parity-3 patterns
#: α-scale key -> (label, factor c in w ← w − c·α·Jᵀe)
ALPHA_SCALES = {
    "half_sse": ("α·∇(½SSE)", 1.0),
    "sse": ("α·∇SSE", 2.0),
    "mse": ("α·∇MSE", 2.0 / P),
    "half_mse": ("α·∇(½MSE)", 1.0 / P),
    "adhoc16": ("α/16 (ad hoc)", 1.0 / 16.0),
    "adhoc32": ("α/32 (ad hoc)", 1.0 / 32.0),
    "adhoc64": ("α/64 (ad hoc)", 1.0 / 64.0),
}
MU0 = [0.001, 0.01, 0.1]
EBP_CAPS = [2000, 5000]
#: stop of Gauss–Newton and LM (they succeed in a handful of iterations or not at all)
SECOND_ORDER_CAP = 1000

QUICK = dict(trials=10, topologies=["mlp331"], neurons=["tanh0.5"], goals=["half_sse"],
             alpha_scales=["half_sse", "half_mse"], mu0=[0.01], caps=[2000])
FULL = dict(trials=100, topologies=list(TOPOLOGIES), neurons=list(NEURONS), goals=list(GOALS),
            alpha_scales=list(ALPHA_SCALES), mu0=MU0, caps=EBP_CAPS)

MD_ROWS = 40


def build(topology: str, neurons: str):
    """Network and parity-3 data of one set-up: ``(net, X, D)``."""
    if topology not in TOPOLOGIES:
        raise ValueError(f"topology must be one of {sorted(TOPOLOGIES)}, got {topology!r}")
    if neurons not in NEURONS:
        raise ValueError(f"neurons must be one of {sorted(NEURONS)}, got {neurons!r}")
    _, act, gain, encoding = NEURONS[neurons]
    net = TOPOLOGIES[topology][1](act, gain)
    X, D = lm.datasets.parity(3, encoding)
    return net, X, D


def keys_of(setup) -> dict:
    """A :class:`lmtrain.experiments.Setup` of parity-3 named in this study's terms.

    Returns ``dict(topology, neurons, goal, alpha_scale, mu0, ebp_cap)`` with
    keys of :data:`TOPOLOGIES`, :data:`NEURONS`, :data:`GOALS` and
    :data:`ALPHA_SCALES`; ValueError when the set-up is not one of the
    readings studied here.
    """
    algos = setup.algorithms()
    ebp = [opts for algo, opts in algos.values() if algo == "ebp"]
    lm_opts = [opts for algo, opts in algos.values() if algo == "lm"]
    factors = {opts["alpha"] / alpha for opts, alpha in zip(ebp, EBP_ALPHA.values())}
    caps = {opts["max_iter"] for opts in ebp}
    found = dict(
        topology=[k for k in TOPOLOGIES for n in NEURONS if build(k, n)[0] == setup.network()],
        neurons=[k for k, (_, act, gain, enc) in NEURONS.items()
                 if (act, gain, enc) == (setup.activation, setup.gain, setup.encoding)],
        goal=[k for k, (_, g) in GOALS.items() if g == setup.goal],
        alpha_scale=[k for k, (_, c) in ALPHA_SCALES.items() if len(factors) == 1 and math.isclose(c, *factors)],
        mu0=[m for m in MU0 if len(lm_opts) == 1 and lm_opts[0].get("mu") == m],
        ebp_cap=[c for c in EBP_CAPS if caps == {c}],
    )
    missing = [k for k, v in found.items() if not v]
    if setup.parity != 3 or len(ebp) != 2 or missing:
        raise ValueError(f"set-up {setup.name!r} is not a reading of this study (no match for {missing})")
    return {k: v[0] for k, v in found.items()}


def outcome(summary, goal: float, cap: int | None = None):
    """Success and iterations of every trial for a goal and cap, read from the histories.

    Exact when ``summary`` ran with a goal ≤ ``goal``, a cap ≥ ``cap`` and a
    history as long as its cap: training stops at the first iteration with
    E ≤ goal, and neither the goal nor the cap alters the iterates before that.

    Returns
    -------
    success : ndarray of bool, iterations : ndarray of float (NaN where failed)
    """
    if cap is None:
        cap = summary.options["max_iter"]
    H = summary.error_history
    if H.shape[1] < summary.options["max_iter"] and np.any(summary.iterations > H.shape[1]):
        raise ValueError("the summary's error history is shorter than its runs; rerun with history=max_iter")
    if goal < summary.options["goal"] or cap > summary.options["max_iter"]:
        raise ValueError("outcome() can only loosen the goal and lower the cap of the run it reads")
    with np.errstate(invalid="ignore"):
        hit = H <= goal  # NaN after a trial ended compares False
    first = np.where(hit.any(axis=1), hit.argmax(axis=1) + 1, np.iinfo(np.int64).max).astype(float)
    first[summary.initial_error <= goal] = 0.0
    success = first <= cap
    return success, np.where(success, first, np.nan)


def row_distance(success_rate: float, mean_iterations: float, book_rate: float, book_iterations: float) -> float:
    """``|s − s_book| + |log10(n / n_book)|``; second term ``s_book`` when no trial succeeded."""
    d = abs(success_rate - book_rate)
    if success_rate > 0:
        d += abs(math.log10(max(mean_iterations, 0.5) / book_iterations))
    else:
        d += book_rate
    return d


def _stats(success, iterations):
    rate = float(np.mean(success))
    return rate, (float(np.nanmean(iterations)) if rate > 0 else float("nan"))


def study(config: dict, seed: int = 0, log=print, stream=None) -> list[dict]:
    """Run every set-up of ``config`` (:data:`FULL` or :data:`QUICK`); rows sorted by score.

    The full study runs for about a minute: a progress line goes to
    ``stream`` (default stderr) when that is a terminal.
    """
    per_network = len(config["mu0"]) + 1 + len(config["alpha_scales"]) * len(EBP_ALPHA)
    bar = lm.monitor.CountLine("setup_study", len(config["topologies"]) * len(config["neurons"]) * per_network,
                               unit="runs", stream=stream)
    done = 0

    def run(net, X, D, algorithm, what, **options):
        nonlocal done
        done += 1
        bar.update(done, what)
        return run_trials(net, X, D, algorithm, **options)

    try:
        return _study(config, seed, log, run)
    finally:
        bar.close()


def _study(config: dict, seed: int, log, run) -> list[dict]:
    trials = config["trials"]
    goal_min = min(GOALS[g][1] for g in config["goals"])
    cap_max = max(config["caps"])
    results = []
    for topo in config["topologies"]:
        for neur in config["neurons"]:
            t0 = time.perf_counter()
            net, X, D = build(topo, neur)
            W0 = trial_weights(net, trials, seed)
            common = dict(w0=W0, goal=goal_min, progress=False)
            what = f"{TOPOLOGIES[topo][0]}, {NEURONS[neur][0].split(',')[0]}"
            lm_runs = {mu: run(net, X, D, "lm", what, mu=mu, max_iter=SECOND_ORDER_CAP,
                               history=SECOND_ORDER_CAP, **common) for mu in config["mu0"]}
            gn = run(net, X, D, "gauss_newton", what, max_iter=SECOND_ORDER_CAP, history=SECOND_ORDER_CAP, **common)
            ebp = {(sc, row): run(net, X, D, "ebp", what, alpha=EBP_ALPHA[row] * ALPHA_SCALES[sc][1],
                                  max_iter=cap_max, history=cap_max, **common)
                   for sc in config["alpha_scales"] for row in EBP_ALPHA}
            for gk in config["goals"]:
                goal = GOALS[gk][1]
                gn_stats = _stats(*outcome(gn, goal))
                lm_stats = {mu: _stats(*outcome(r, goal)) for mu, r in lm_runs.items()}
                for sc in config["alpha_scales"]:
                    for cap in config["caps"]:
                        ebp_stats = {row: _stats(*outcome(ebp[sc, row], goal, cap)) for row in EBP_ALPHA}
                        for mu in config["mu0"]:
                            stats = {**ebp_stats, "Gauss–Newton": gn_stats, "LM": lm_stats[mu]}
                            row = {"topology": TOPOLOGIES[topo][0], "neurons": NEURONS[neur][0],
                                   "error goal": GOALS[gk][0], "goal on E": goal,
                                   "EBP step": ALPHA_SCALES[sc][0], "alpha factor": ALPHA_SCALES[sc][1],
                                   "LM mu0": mu, "EBP cap": cap, "trials": trials,
                                   "key": f"{topo}/{neur}/{gk}/{sc}/{mu:g}/{cap}"}
                            score = 0.0
                            for name in ROWS:
                                s, n = stats[name]
                                d = row_distance(s, n, BOOK[name][0], BOOK[name][1])
                                row[f"{name} success"] = s
                                row[f"{name} iterations"] = n
                                row[f"{name} distance"] = d
                                score += d
                            row["score"] = score
                            results.append(row)
            log(f"  {TOPOLOGIES[topo][0]:<18} {NEURONS[neur][0]:<20} {time.perf_counter() - t0:5.1f} s")
    results.sort(key=lambda r: (r["score"], r["key"]))
    for i, r in enumerate(results, 1):
        r["rank"] = i
    return results


CSV_COLUMNS = (["rank", "score", "topology", "neurons", "error goal", "goal on E", "EBP step", "alpha factor",
                "LM mu0", "EBP cap", "trials"]
               + [f"{name} {what}" for name in ROWS for what in ("success", "iterations", "distance")] + ["key"])
MD_COLUMNS = ["rank", "score", "topology", "neurons", "error goal", "EBP step", "LM μ₀", "EBP cap"] + ROWS


def _cell(s, n):
    return f"{100 * s:.0f}% / {n:.1f}" if s > 0 else "0% / —"


def markdown_rows(results, limit=MD_ROWS):
    """Rows for the Markdown table: each algorithm as "success / mean iterations"."""
    book = {"rank": "book (recalled)", "score": "", "topology": "", "neurons": "", "error goal": "",
            "EBP step": "", "LM μ₀": "", "EBP cap": ""}
    book.update({name: _cell(BOOK[name][0], BOOK[name][1]) for name in ROWS})
    rows = [book]
    for r in results[:limit]:
        row = {k: r[k] for k in ("rank", "topology", "neurons", "error goal", "EBP step", "EBP cap")}
        row["score"] = f"{r['score']:.2f}"
        row["LM μ₀"] = f"{r['LM mu0']:g}"
        row.update({name: _cell(r[f"{name} success"], r[f"{name} iterations"]) for name in ROWS})
        rows.append(row)
    return rows


_TOPO_SHORT = {"MLP 3-2-1": "3-2-1", "MLP 3-3-1": "3-3-1", "bridged MLP 3-2-1": "bridged 3-2-1",
               "FCC 2 neurons": "FCC-2"}


def _short(r, sep=", "):
    neur = r["neurons"].split(",")[0]
    return (f"{_TOPO_SHORT[r['topology']]}, {neur}, {r['error goal']}{sep}"
            f"{r['EBP step']}, μ₀ {r['LM mu0']:g}, cap {r['EBP cap']:,}")


def _heat(ax, results, rows_key, cols_key, rows=None, cols=None, row_labels=None, col_labels=None):
    """Best score for every (rows_key, cols_key) pair, as an annotated heat map."""
    rows = rows or list(dict.fromkeys(r[rows_key] for r in results))
    cols = cols or list(dict.fromkeys(r[cols_key] for r in results))
    M = np.full((len(rows), len(cols)), np.nan)
    for r in results:
        if r[rows_key] in rows and r[cols_key] in cols:
            i, j = rows.index(r[rows_key]), cols.index(r[cols_key])
            M[i, j] = np.fmin(M[i, j], r["score"])
    im = ax.imshow(M, cmap="viridis_r", aspect="auto", vmin=0.0, vmax=max(3.0, float(np.nanmax(M))))
    for i in range(len(rows)):
        for j in range(len(cols)):
            if np.isfinite(M[i, j]):
                ax.text(j, i, f"{M[i, j]:.2f}", ha="center", va="center", fontsize=9,
                        color="white" if M[i, j] > 1.5 else "black")
    ax.set_xticks(range(len(cols)), col_labels or cols, fontsize=8)
    ax.set_yticks(range(len(rows)), row_labels or rows, fontsize=8)
    return im


def figure(results, top: int = 10):
    """(a) best set-ups, distance split by row; (b), (c) best score by network and by reading."""
    # one bar per distinct reading (topology, neurons, goal, EBP step), at its best μ₀ and cap:
    # μ₀ and the cap change the score little and would fill the chart with near-copies
    best, seen = [], set()
    for r in results:
        k = (r["topology"], r["neurons"], r["error goal"], r["EBP step"])
        if k not in seen:
            seen.add(k)
            best.append(r)
        if len(best) == top:
            break
    fig = plt.figure(figsize=(8.0, 9.0), layout="constrained")
    top_fig, bottom_fig = fig.subfigures(2, 1, height_ratios=[1.35, 1.0])
    ax = top_fig.subplots()
    y = np.arange(len(best))[::-1]
    left = np.zeros(len(best))
    colors = {"EBP α=1": "C0", "EBP α=100": "C1", "Gauss–Newton": "C2", "LM": "C3"}
    for name in ROWS:
        d = np.array([r[f"{name} distance"] for r in best])
        ax.barh(y, d, left=left, color=colors[name], label=name, height=0.7)
        left += d
    ax.set_yticks(y, [f"#{r['rank']}  {_short(r, sep=chr(10))}" for r in best], fontsize=7.5)
    ax.set_xlabel("distance to the book's Table 12.2 (sum over the four rows; 0 = identical)")
    ax.set_title("(a) best readings (each at its best μ₀ and cap), distance split by row", loc="left", fontsize=10)
    ax.legend(ncols=4, fontsize=8, loc="lower left", bbox_to_anchor=(0.0, 1.06), frameon=False)
    ax.grid(True, axis="x", alpha=0.3)

    ax2, ax3 = bottom_fig.subplots(1, 2, width_ratios=[1.0, 1.1])
    _heat(ax2, results, "topology", "neurons",
          row_labels=[_TOPO_SHORT[r] for r in dict.fromkeys(r["topology"] for r in results)],
          col_labels=[lab.replace(", ", chr(10)) for lab in dict.fromkeys(r["neurons"] for r in results)])
    ax2.set_title("(b) best score per network", loc="left", fontsize=10)
    ax2.set_xlabel("neurons, patterns")
    best_net = [r for r in results if (r["topology"], r["neurons"]) == (results[0]["topology"], results[0]["neurons"])]
    im = _heat(ax3, best_net, "EBP step", "error goal")
    ax3.set_title(f"(c) {_TOPO_SHORT[results[0]['topology']]}, {results[0]['neurons'].split(',')[0]}: "
                  "by reading", loc="left", fontsize=10)
    ax3.set_xlabel("error goal (0.01 on …)")
    bottom_fig.colorbar(im, ax=[ax2, ax3], label="score (smaller = closer)", shrink=0.9)
    return fig


def main(argv=None) -> int:
    args = _common.parse_args(argv, __doc__)
    config = QUICK if args.quick else FULL
    t0 = time.perf_counter()
    results = study(config, seed=args.seed)
    seconds = time.perf_counter() - t0
    # every set-up in the CSV; the best MD_ROWS, readable, in the Markdown file
    md, csv = _common.write_table(results, CSV_COLUMNS, "setup_study", args.out)
    top_md, top_csv = _common.write_table(markdown_rows(results), MD_COLUMNS, "setup_study_top", args.out)
    top_md.replace(md)
    top_csv.unlink()
    png = _common.save_figure(figure(results), "setup_study", args.out)
    print(f"{len(results)} set-ups, {config['trials']} trials each, in {seconds:.1f} s")
    for r in results[:5]:
        print(f"#{r['rank']} score {r['score']:.3f}  {_short(r)}  "
              + "  ".join(f"{n}: {_cell(r[f'{n} success'], r[f'{n} iterations'])}" for n in ROWS))
    print(md)
    print(csv)
    print(png)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
