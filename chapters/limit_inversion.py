"""§12.5, first limit: the matrix inversion, "LM may be even slower than steepest descent" on large networks.

The chapter's Summary (§12.5) says that LM solves a system in every try of
every iteration (eq. 12.25), that for large networks this "inversion
calculation is going to be a disaster", and that LM may then be slower than
steepest descent (EBP, eq. 12.4). This script measures it on one fixed
problem as the network grows:

* problem: y = sin(πx₁)·cos(πx₂/2) on a 16 × 16 grid of [−1, 1]² (P = 256);
  goal RMS error 0.1, i.e. E = ½Σe² ≤ ½·P·0.1² = 1.28, which both algorithms
  reach at every size measured;
* networks: MLP 2-h-1 (tanh hidden neurons, linear output), h = 8 … 768,
  i.e. N = 4h + 1 = 33 … 3,073 weights; both algorithms start from the same
  weights (``--seed``);
* EBP: w ← w − αg with α = 1.5/λ_max(JᵀJ) at the initial weights (λ_max by
  power iteration) — close to the largest stable step 2/λ_max, the best of
  the factors 0.5, 1, 1.5 and 1.9 tried in a pilot; LM: lmtrain's defaults
  (μ₀ = 0.01, ``jacobian="auto"``).

Measured, for each size, in a child process that runs everything on one core
(BLAS and Numba limited to one thread: on a shared two-core machine,
multithreaded BLAS waiting for busy cores made LM's times swing tenfold):
time per iteration of EBP and of LM, best of three runs with the two
alternated (times stay noisy, ±30 %); the
iterations and the time to reach the goal, for N up to ``TO_GOAL_MAX``
weights (EBP's thousands of iterations make the larger sizes too long for
this run); and, beside lmtrain's LM, one step of the textbook LM as eq. 12.25
is written — J, the N × N product JᵀJ and ``numpy.linalg.solve`` on
JᵀJ + μI — with the solve timed alone, to show the N³ of the inversion.

Then the scaling is fitted (log–log least squares) and the crossover — the
size beyond which EBP reaches the goal sooner — is looked for in the
measured sizes and, failing that, in a cost model (an extrapolation, reported
as such; :func:`cost_model`). What sets it: an EBP iteration costs about P·N
multiply-adds (one forward and one backward pass), a textbook LM iteration
P·N² (forming JᵀJ) plus about N³ (the solve), and LM needs hundreds of times
fewer iterations; EBP wins once the cost ratio, growing like N², overtakes
the iteration ratio. lmtrain's LM never pays the N³ when P·M < N: it then
solves the P·M × P·M system Jᵀ(JJᵀ + μI)⁻¹e instead, whose cost grows like N.

The table files hold what a rerun repeats exactly (sizes, iterations);
times, fits and the crossover go to the printed report and the figure.

Writes ``limit_inversion.md`` and ``limit_inversion.csv``; the figure of
times, ``limit_inversion.png``, and the report's tables,
``limit_inversion_times.md``, go to ``figures/measured/`` in a full run (git
ignores that folder: times change from run to run).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import subprocess
import sys
import time
from pathlib import Path

import _common  # noqa: I001  (selects the Agg backend before pyplot)
import matplotlib.pyplot as plt
import numpy as np

import lmtrain as lm

GRID = 16
GOAL_RMS = 0.1
EBP_STEP = 1.5  # α = EBP_STEP / λ_max(JᵀJ) at the initial weights
EBP_CAP = 20_000
LM_CAP = 200
TO_GOAL_MAX = 1100  # time to the goal measured up to this many weights

FULL = dict(hidden=(8, 16, 32, 64, 128, 256, 512, 768), repeats=3)
QUICK = dict(hidden=(8, 16), repeats=2)

COLUMNS = ["h", "N", "P", "system lmtrain solves", "EBP α·λ_max", "LM iterations to goal",
           "EBP iterations to goal"]
REPORT_COLUMNS = ["N", "LM ms/iteration", "EBP ms/iteration", "ratio", "textbook LM step ms", "of which solve ms",
                  "LM iterations", "EBP iterations", "LM s to goal", "EBP s to goal"]


def problem():
    """The fixed regression: inputs (P, 2), targets (P, 1), goal on E = ½Σe²."""
    g = np.linspace(-1.0, 1.0, GRID)
    X = np.array([(a, b) for a in g for b in g])
    D = (np.sin(np.pi * X[:, 0]) * np.cos(0.5 * np.pi * X[:, 1])).reshape(-1, 1)
    return X, D, 0.5 * len(X) * GOAL_RMS ** 2


def network(h: int) -> lm.Network:
    return lm.mlp([2, h, 1], activation="bipolar", gain=1.0, output_activation="linear")


def lambda_max(J: np.ndarray, iterations: int = 60) -> float:
    """Largest eigenvalue of JᵀJ by power iteration on J (JᵀJ itself is never formed)."""
    v = np.ones(J.shape[1]) / math.sqrt(J.shape[1])
    lam = 0.0
    for _ in range(iterations):
        u = J.T @ (J @ v)
        lam = float(np.linalg.norm(u))
        v = u / lam
    return lam


#: the child measures on one core: these variables must be set before NumPy loads its BLAS
ONE_CORE = {"OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "NUMBA_NUM_THREADS": "1"}


def textbook_step(net, w, X, D, mu=0.01):
    """Seconds of one LM step as eq. 12.25 is written (J, JᵀJ, solve) and of its solve alone."""
    t0 = time.perf_counter()
    J = net.jacobian(w, X)
    e = (D - net.forward(w, X)).ravel()
    A = J.T @ J
    g = J.T @ e
    A[np.diag_indices_from(A)] += mu
    t1 = time.perf_counter()
    np.linalg.solve(A, g)
    t2 = time.perf_counter()
    return t2 - t0, t2 - t1


def measure(h: int, X, D, goal, repeats: int, seed: int) -> dict:
    net = network(h)
    N, P = net.n_weights, len(X)
    w0 = net.init_weights(seed)
    lam = lambda_max(net.jacobian(w0, X))
    alpha = EBP_STEP / lam
    k_ebp = max(10, math.ceil(3e6 / (P * N)))  # enough EBP iterations for a timing of several ms
    lm_times, ebp_times, book, solve = [], [], [], []
    for _ in range(repeats):  # alternate the methods: load on a shared machine hits both alike
        r = lm.train(net, X, D, "lm", w0=w0, max_iter=3)
        lm_times.append(r.elapsed / max(1, r.iterations))
        r = lm.train(net, X, D, "ebp", w0=w0, alpha=alpha, max_iter=k_ebp)
        ebp_times.append(r.elapsed / max(1, r.iterations))
        if not book or book[-1] < 0.3:  # a step of a second or more is timed once: noise is then small
            a, b = textbook_step(net, w0, X, D)
            book.append(a)
            solve.append(b)
    row = {"h": h, "N": N, "P": P, "system lmtrain solves": f"{min(N, P)} × {min(N, P)}" +
           (" (P·M < N)" if P < N else ""), "EBP α·λ_max": EBP_STEP,
           "lm_iter": min(lm_times), "ebp_iter": min(ebp_times), "book_iter": min(book), "solve": min(solve),
           "LM iterations to goal": math.nan, "EBP iterations to goal": math.nan,
           "lm_goal_s": math.nan, "ebp_goal_s": math.nan}
    if N <= TO_GOAL_MAX:
        r = lm.train(net, X, D, "lm", w0=w0, goal=goal, max_iter=LM_CAP)
        row["LM iterations to goal"] = r.iterations if r.reached_goal else math.nan
        row["lm_goal_s"] = r.elapsed if r.reached_goal else math.nan
        r = lm.train(net, X, D, "ebp", w0=w0, goal=goal, alpha=alpha, max_iter=EBP_CAP)
        row["EBP iterations to goal"] = r.iterations if r.reached_goal else math.nan
        row["ebp_goal_s"] = r.elapsed if r.reached_goal else math.nan
    return row


def rounded(n: float) -> int:
    """``n`` to two significant digits: an extrapolated size deserves no more."""
    return int(round(n, 1 - int(math.floor(math.log10(n)))))


def fit_power(x, y):
    """(a, k) of y ≈ a·x^k by least squares on logarithms (finite, positive points only; NaN if fewer than 2)."""
    x, y = np.asarray(x, float), np.asarray(y, float)
    ok = np.isfinite(y) & (y > 0)
    if ok.sum() < 2:
        return math.nan, math.nan
    k, log_a = np.polyfit(np.log(x[ok]), np.log(y[ok]), 1)
    return math.exp(log_a), float(k)


def _ratio_fit(x, t) -> float:
    """c of t ≈ c·x: the geometric mean of t/x (each point weighs by its relative error)."""
    x, t = np.asarray(x, float), np.asarray(t, float)
    return float(np.exp(np.mean(np.log(t / x))))


def cost_model(rows: list[dict]) -> dict:
    """Seconds per iteration as the operation counts say, constants fitted to the measurements.

    * EBP: c_E·P·N — one forward and one backward pass over the P patterns;
    * textbook LM step: c_G·P·N² + c_S·N³ — JᵀJ, then the N × N solve
      (relative least squares on both terms together);
    * lmtrain's LM when N > 2P: c_L·N — with P fixed, the P × P system costs
      P²·N to form and P³ to solve;
    * iterations to the goal: EBP a·N^k (an empirical power law), LM its mean
      over the three largest sizes.

    Fitted from N = 256 on, where fixed costs per call no longer show (a
    quick run with only small networks fits all its points).
    """
    N = np.array([r["N"] for r in rows], float)
    P = float(rows[0]["P"])
    big = N >= 256 if (N >= 256).sum() >= 2 else np.ones_like(N, bool)
    dual = N > 2 * P if (N > 2 * P).sum() >= 1 else big
    t_ebp = np.array([r["ebp_iter"] for r in rows])
    t_book = np.array([r["book_iter"] for r in rows])
    t_lm = np.array([r["lm_iter"] for r in rows])
    A = np.column_stack([P * N[big] ** 2, N[big] ** 3]) / t_book[big, None]
    (c_g, c_s), *_ = np.linalg.lstsq(A, np.ones(big.sum()), rcond=None)
    if c_g < 0 or c_s < 0:  # one term alone, the one that fits better
        c_g, c_s = max(c_g, 0.0), max(c_s, 0.0)
    lm_its = [r["LM iterations to goal"] for r in rows if np.isfinite(r["LM iterations to goal"])]
    return {"P": P, "c_E": _ratio_fit(P * N[big], t_ebp[big]), "c_G": float(c_g), "c_S": float(c_s),
            "c_L": _ratio_fit(N[dual], t_lm[dual]),
            "ebp_iterations": fit_power(N, [r["EBP iterations to goal"] for r in rows]),
            "lm_iterations": float(np.mean(lm_its[-3:])) if lm_its else math.nan}


def model_times(m: dict, N) -> dict:
    """Modelled seconds to the goal at sizes N: EBP, textbook LM, lmtrain's LM (for N > 2P)."""
    N = np.asarray(N, float)
    a, k = m["ebp_iterations"]
    return {"ebp": a * N ** k * m["c_E"] * m["P"] * N,
            "book_iter": m["lm_iterations"] * (m["c_G"] * m["P"] * N ** 2 + m["c_S"] * N ** 3),
            "lm_iter": m["lm_iterations"] * m["c_L"] * N}


def analyse(rows: list[dict]) -> dict:
    """Scaling fits, the cost model and the crossover: measured if any, else where the model's curves cross."""
    N = np.array([r["N"] for r in rows], float)
    P = rows[0]["P"]

    def fit(key, mask):
        mask = mask if mask.sum() >= 2 else np.ones_like(mask)
        return fit_power(N[mask], [r[key] for r, m in zip(rows, mask) if m])

    fits = {"ebp_iter": fit("ebp_iter", N >= 256), "book_iter": fit("book_iter", N >= 256),
            "solve": fit("solve", N >= 512), "lm_iter": fit("lm_iter", N > 2 * P)}
    model = cost_model(rows)
    measured = [r["N"] for r in rows if np.isfinite(r["ebp_goal_s"]) and np.isfinite(r["lm_goal_s"])
                and r["ebp_goal_s"] < r["lm_goal_s"]]
    out = {"fits": fits, "model": model, "measured_crossover": min(measured) if measured else None, "P": P,
           "book_iter_crossover": None, "lm_iter_crossover": None, "extrapolated": N.max() >= 1000}
    if not out["extrapolated"]:  # a quick run's small networks say nothing about large ones
        return out
    grid = np.geomspace(N.max(), 1e7, 600)
    t = model_times(model, grid)
    for key in ("book_iter", "lm_iter"):
        crossed = np.nonzero(t["ebp"] < t[key])[0]
        out[f"{key}_crossover"] = float(grid[crossed[0]]) if len(crossed) else None
    return out


def report(rows, result) -> str:
    fmt = {"LM ms/iteration": ".3f", "EBP ms/iteration": ".4f", "ratio": ".1f", "textbook LM step ms": ".2f",
           "of which solve ms": ".2f", "LM iterations": ".0f", "EBP iterations": ".0f", "LM s to goal": ".4f",
           "EBP s to goal": ".3f"}
    lines = ["| " + " | ".join(REPORT_COLUMNS) + " |", "|" + "---|" * len(REPORT_COLUMNS)]
    for r in rows:
        vals = {"N": r["N"], "LM ms/iteration": 1e3 * r["lm_iter"], "EBP ms/iteration": 1e3 * r["ebp_iter"],
                "ratio": r["lm_iter"] / r["ebp_iter"], "textbook LM step ms": 1e3 * r["book_iter"],
                "of which solve ms": 1e3 * r["solve"], "LM iterations": r["LM iterations to goal"],
                "EBP iterations": r["EBP iterations to goal"], "LM s to goal": r["lm_goal_s"],
                "EBP s to goal": r["ebp_goal_s"]}
        lines.append("| " + " | ".join("—" if isinstance(v, float) and not np.isfinite(v) else
                                       format(v, fmt.get(c, "")) for c, v in vals.items()) + " |")
    f, m_ = result["fits"], result["model"]
    lines.append("")
    lines.append(f"scaling (log-log fits, N ≥ 256): EBP s/iteration ∝ N^{f['ebp_iter'][1]:.2f}; textbook LM s/step "
                 f"∝ N^{f['book_iter'][1]:.2f}, its solve alone ∝ N^{f['solve'][1]:.2f} (N ≥ 512); lmtrain LM "
                 f"s/iteration (N > 2P) ∝ N^{f['lm_iter'][1]:.2f}; EBP iterations to the goal ≈ "
                 f"{m_['ebp_iterations'][0]:.0f}·N^{m_['ebp_iterations'][1]:.2f}; LM iterations ≈ "
                 f"{m_['lm_iterations']:.1f} (mean of the largest three)")
    lines.append(f"cost model (s): EBP iteration {m_['c_E']:.3g}·P·N; textbook LM step {m_['c_G']:.3g}·P·N² + "
                 f"{m_['c_S']:.3g}·N³; lmtrain LM iteration (N > 2P) {m_['c_L']:.3g}·N")
    m = result["measured_crossover"]
    lines.append("crossover in the measured sizes: " + (f"EBP first faster to the goal at N = {m}" if m else
                                                         "none: LM reached the goal sooner at every size"))
    if not result["extrapolated"]:
        lines.append("too few and too small networks to extrapolate (quick run)")
        return "\n".join(lines)
    for key, name in (("book_iter", "textbook LM (N × N solve)"), ("lm_iter", "lmtrain's LM (P × P solve)")):
        c = result[f"{key}_crossover"]
        lines.append(f"cost model, {name} against EBP: " +
                     (f"EBP would reach the goal first beyond N ≈ {rounded(c):,} weights (extrapolated; "
                      f"{c:,.0f} before rounding)" if c else
                      "no crossover up to N = 10^7 (extrapolated)"))
    return "\n".join(lines)


def figure(rows, result):
    """(a) time per iteration, (b) iterations to the goal, (c) time to the goal, (d) the two ratios that decide."""
    N = np.array([r["N"] for r in rows], float)
    P = result["P"]
    m = result["model"]
    lm_its, ebp_its = (np.array([r[c] for r in rows], float) for c in ("LM iterations to goal", "EBP iterations to goal"))
    trend = np.geomspace(512, max(N.max(), 512) * 10, 60)  # the fits hold from N = 512 on: draw them there
    fig, axes = plt.subplots(2, 2, figsize=(8.6, 7.6), layout="constrained")
    ax = axes[0, 0]
    ax.plot(N, [1e3 * r["ebp_iter"] for r in rows], "o-", color="C0", label="EBP (lmtrain)")
    ax.plot(N, [1e3 * r["lm_iter"] for r in rows], "s-", color="C3", label="LM (lmtrain)")
    ax.plot(N, [1e3 * r["book_iter"] for r in rows], "^--", color="C1", label="textbook LM step (NumPy)")
    ax.plot(N, [1e3 * r["solve"] for r in rows], "v:", color="C1", label="its N × N solve alone")
    ax.set_title("(a) time per iteration, one core", loc="left", fontsize=10)
    ax.set_ylabel("ms (best of several runs)")
    ax = axes[0, 1]
    ax.plot(N, ebp_its, "o-", color="C0", label="EBP")
    ax.plot(N, lm_its, "s-", color="C3", label="LM")
    a, k = m["ebp_iterations"]
    ax.plot(N, a * N ** k, ":", color="C0", lw=1.2, label=f"EBP fit ∝ N^{k:.2f}")
    ax.set_title("(b) iterations to the goal", loc="left", fontsize=10)
    ax.set_ylabel("iterations")
    ax = axes[1, 0]
    ax.plot(N, [r["ebp_goal_s"] for r in rows], "o-", color="C0", label="EBP, measured")
    ax.plot(N, [r["lm_goal_s"] for r in rows], "s-", color="C3", label="LM (lmtrain), measured")
    model = model_times(result["model"], trend)
    ax.plot(trend, model["ebp"], ":", color="C0", lw=1.5, label="EBP, cost model")
    ax.plot(trend, model["book_iter"], ":", color="C1", lw=1.5, label="textbook LM, cost model")
    ax.plot(trend, model["lm_iter"], ":", color="C3", lw=1.5, label="LM (lmtrain), cost model")
    ax.set_title("(c) time to the goal", loc="left", fontsize=10)
    ax.set_ylabel("seconds")
    ax = axes[1, 1]
    ebp_iter = np.array([r["ebp_iter"] for r in rows])
    ax.plot(N, np.array([r["lm_iter"] for r in rows]) / ebp_iter, "s-", color="C3", label="LM (lmtrain) / EBP, time per iteration")
    ax.plot(N, np.array([r["book_iter"] for r in rows]) / ebp_iter, "^--", color="C1",
            label="textbook LM / EBP, time per iteration")
    ax.plot(N, ebp_its / lm_its, "o-", color="C0", label="EBP / LM, iterations to the goal")
    ax.plot(trend, m["ebp_iterations"][0] * trend ** m["ebp_iterations"][1] / m["lm_iterations"], ":", color="C0",
            lw=1.5, label="EBP / LM iterations, fitted trend")
    book_over_ebp = (m["c_G"] * m["P"] * trend ** 2 + m["c_S"] * trend ** 3) / (m["c_E"] * m["P"] * trend)
    ax.plot(trend, book_over_ebp, ":", color="C1", lw=1.5, label="textbook LM / EBP per iteration, cost model")
    ax.set_title("(d) the two ratios that decide", loc="left", fontsize=10)
    ax.set_ylabel("ratio")
    for key, color, name in (("book_iter", "C1", "textbook LM"), ("lm_iter", "C3", "LM (lmtrain)")):
        c = result[f"{key}_crossover"]
        if c and c <= trend[-1]:
            for a_ in (axes[1, 0], axes[1, 1]):
                a_.axvline(c, color=color, lw=0.9, ls="--")
            axes[1, 0].annotate(f"EBP first to the goal\nbeyond N ≈ {rounded(c):,}\n(against the {name},\nextrapolated)",
                                (c, 0.02), xycoords=("data", "axes fraction"), xytext=(4, 0),
                                textcoords="offset points", ha="left", va="bottom", fontsize=7.5, color=color)
    for ax in axes.flat:
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.axvline(P, color="0.6", lw=0.8)
        ax.set_xlabel("N, weights (MLP 2-h-1)")
        ax.grid(True, which="major", alpha=0.3)
        where = {id(axes[0, 1]): "center left"}.get(id(ax), "upper left")
        ax.legend(fontsize=7.5, frameon=False, loc=where)
    axes[0, 1].annotate(f"N = P = {P}: beyond it lmtrain\nsolves the P × P system", (P, 0.5),
                        xycoords=("data", "axes fraction"), xytext=(4, 0), textcoords="offset points", fontsize=7.5,
                        color="0.4", va="center")
    fig.suptitle(f"Matrix inversion (§12.5): LM against EBP as the network grows (P = {P} patterns, "
                 f"goal RMS error {GOAL_RMS:g})", fontsize=10)
    return fig


def measure_all(config: dict, seed: int, log=print) -> list[dict]:
    """Every size, in this process; ``main`` runs it in a one-core child."""
    X, D, goal = problem()
    rows = []
    for h in config["hidden"]:
        t = time.perf_counter()
        rows.append(measure(h, X, D, goal, config["repeats"], seed))
        r = rows[-1]
        log(f"  N = {r['N']:5d}: LM {1e3 * r['lm_iter']:8.3f} ms/it, EBP {1e3 * r['ebp_iter']:8.4f} ms/it; "
            f"to the goal LM {r['LM iterations to goal']:.0f} it, EBP {r['EBP iterations to goal']:.0f} it "
            f"({time.perf_counter() - t:.1f} s)")
    return rows


def measure_on_one_core(quick: bool, seed: int, out: Path) -> list[dict]:
    """Run :func:`measure_all` in a child process limited to one thread; its log goes to our stdout."""
    argv = [sys.executable, str(Path(__file__).resolve()), "--child", "--seed", str(seed), "--out", str(out)]
    argv += ["--quick"] if quick else []
    out = subprocess.run(argv, env={**os.environ, **ONE_CORE}, capture_output=True, text=True, check=False)
    if out.returncode != 0:
        raise RuntimeError(f"the one-core measurement failed:\n{out.stderr.strip()}")
    lines = out.stdout.strip().splitlines()
    print("\n".join(lines[:-1]))
    return json.loads(lines[-1])


def main(argv=None) -> int:
    def options(p):
        p.add_argument("--child", action="store_true", help=argparse.SUPPRESS)

    args = _common.parse_args(argv, __doc__, options)
    config = QUICK if args.quick else FULL
    if args.child:
        rows = measure_all(config, args.seed)
        print(json.dumps(rows))
        return 0
    t0 = time.perf_counter()
    # a quick run measures in this process, as it is: a child process would take longer to start than it runs
    rows = measure_all(config, args.seed) if args.quick else measure_on_one_core(False, args.seed, args.out)
    result = analyse(rows)
    seconds = time.perf_counter() - t0
    md, csv = _common.write_table(rows, COLUMNS, "limit_inversion", args.out,
                                  {"EBP α·λ_max": "g", "LM iterations to goal": ".0f", "EBP iterations to goal": ".0f"})
    measured = _common.measured_dir(args.out)
    png = _common.save_figure(figure(rows, result), "limit_inversion", measured)
    where = "in this process" if args.quick else "on one core"
    print(f"matrix inversion study in {seconds:.1f} s (measured {where}); this run's times:")
    text = report(rows, result)
    print(text)
    times = measured / "limit_inversion_times.md"
    times.write_text(f"Times of one run, {time.strftime('%Y-%m-%d %H:%M')} (they change from run to run)\n\n"
                     + text + "\n", encoding="utf-8")
    print(times)
    print(md)
    print(csv)
    print(png)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
