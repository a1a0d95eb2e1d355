"""lmtrain against a plain NumPy LM and scipy.optimize.least_squares, in one run, with ratios.

Workloads (each row: time per LM iteration and per successful trial, success
rate, mean iterations, and the ratio to lmtrain measured in the same run):

1. parity-3 on a 3-3-1 bipolar MLP, tanh(0.5·net), goal E ≤ 0.01, 100 trials —
   lmtrain through ``lmtrain.train`` (one call per trial) and through
   ``run_trials`` (1,000 trials in one compiled call, on one core and on all
   cores), the NumPy LM of ``numpy_lm.py`` and scipy's MINPACK LM; EBP
   (α = 1) per iteration, lmtrain and NumPy;
2. parity-7 on a 7-7-1 MLP and on a fully connected cascade of 7 neurons
   (goal MSE ≤ 0.01, i.e. E ≤ P/200);
3. y = sin(x1)·cos(x2) on 2,000 random points in [−π, π]², 2-20-20-1 (tanh
   hidden, linear output, 501 weights), goal MSE ≤ 1e-3 — and the floor: the
   BLAS work every LM implementation does on these matrices (JᵀJ once, one
   Cholesky factorisation per try); then lmtrain and the NumPy LM again in
   two fresh processes with the BLAS libraries' own thread counts (no thread
   variables set: what a user gets);
4. where ``jacobian="auto"`` switches from the compiled loop to the blocked
   path: both timed on 22 networks and pattern counts around the switch
   (``crossover.py``, also runnable alone);
5. the same regression on 100,000 points: time per iteration and peak memory
   growth, in a fresh process, without ever holding the Jacobian;
6. start-up: a fresh process with a warm Numba cache to its first LM trial,
   and (not with ``--quick``) a cold compile of everything ``lmtrain
   reproduce`` uses, into an empty cache.

All three implementations start every trial from the same initial weights.
scipy gets an analytic Jacobian (the NumPy reference's) and is stopped the
moment its E reaches the goal, so "time to goal" is what it is timed on;
MINPACK's LM needs at least as many residuals as weights, so on parity-3 the
residuals are padded with zero rows (said in the table). Times are the best
of ``--repeat`` runs (lmtrain's parity-3 rows: of 30 round-robin rounds; the
2,000-point lmtrain and NumPy rows: of at least 5 rounds in which the two
alternate). The machine's load and BLAS threads are printed: on a
shared machine timings vary by tens of per cent.

Run::

    pip install -e ".[bench]" && python benchmarks/run.py     # several minutes
    python benchmarks/run.py --quick                          # about a minute
"""

from __future__ import annotations

import argparse
import datetime
import json
import math
import os
import platform
import subprocess
import sys
import tempfile
import time

_HERE = os.path.dirname(os.path.abspath(__file__))
_ROOT = os.path.dirname(_HERE)


# ----------------------------------------------------------------- options
def _parse(argv):
    p = argparse.ArgumentParser(prog="benchmarks/run.py", description=__doc__.split("\n\n")[0])
    p.add_argument("--quick", action="store_true", help="fewer trials and repeats, no cold compile")
    p.add_argument("--repeat", type=int, default=None, help="repeats per measurement, best kept (default 3, quick 1)")
    p.add_argument("--blas-threads", type=int, default=1,
                   help="threads for NumPy's BLAS (default 1: lmtrain's compiled code uses one core); "
                        "0 keeps the library default")
    p.add_argument("--no-cold", action="store_true", help="skip the cold-compile measurement")
    p.add_argument("--json", metavar="FILE", help="also write the measurements to FILE")
    args = p.parse_args(argv)
    if args.repeat is None:
        args.repeat = 1 if args.quick else 3
    if args.repeat < 1:
        p.error("--repeat must be >= 1")
    return args


# ------------------------------------------------------------ machine info
from _machine import BLAS_THREAD_VARS  # noqa: E402 (beside this script)
from _machine import cpu_model as _cpu_model  # noqa: E402


def _blas_env(threads):
    if threads > 0:
        for var in BLAS_THREAD_VARS:
            os.environ[var] = str(threads)


def _load():
    try:
        return f"{os.getloadavg()[0]:.2f}"
    except (OSError, AttributeError):
        return "n/a"


def _rss_mb(field):
    """VmRSS / VmHWM of this process in MB (Linux), NaN elsewhere."""
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith(field + ":"):
                    return int(line.split()[1]) / 1024.0
    except OSError:
        pass
    return math.nan


def _fmt(seconds):
    if seconds is None or not math.isfinite(seconds):
        return "—"
    for unit, scale in (("s", 1.0), ("ms", 1e-3), ("µs", 1e-6), ("ns", 1e-9)):
        if seconds >= scale or unit == "ns":
            v = seconds / scale
            return f"{v:.3g} {unit}" if v < 1000 else f"{v:.0f} {unit}"
    return "?"


def _ratio(r):
    """``"2.1x"``, or "—" where there is no ratio (no iterations or no success to divide by)."""
    return _num(r, ".1f", "x")


def _num(x, spec, unit=""):
    """``x`` formatted with ``spec`` and followed by ``unit``, or "—" where there is no value (None, NaN, inf)."""
    return f"{x:{spec}}{unit}" if x is not None and math.isfinite(x) else "—"


def _div(a, b):
    """a / b, NaN where either is missing or b is 0 (printed as "—")."""
    if a is None or b is None or not (math.isfinite(a) and math.isfinite(b)) or b == 0:
        return math.nan
    return a / b


# ------------------------------------------------------------ measurement
def _best(fn, repeat):
    """(best seconds, last result) of ``repeat`` calls of ``fn``."""
    best, out = math.inf, None
    for _ in range(repeat):
        t = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t)
    return best, out


class Row:
    """One implementation on one workload."""

    def __init__(self, name, seconds, iterations, successes, trials, note=""):
        self.name, self.seconds, self.iterations = name, seconds, iterations
        self.successes, self.trials, self.note = successes, trials, note

    @property
    def per_iter(self):
        return self.seconds / self.iterations if self.iterations else math.nan

    @property
    def per_success(self):
        """All the time spent (failed trials included) divided by the successful trials."""
        return self.seconds / self.successes if self.successes else math.nan

    def as_dict(self):
        return dict(name=self.name, seconds=self.seconds, iterations=self.iterations, successes=self.successes,
                    trials=self.trials, per_iter=self.per_iter, per_success=self.per_success, note=self.note)


def _table(title, rows, base):
    """Print rows with ratios to ``base`` (the lmtrain row the others are compared with)."""
    print(f"\n{title}")
    wn = max([44] + [len(r.name) + 2 for r in rows])  # the name column
    head = (f"  {'implementation':<{wn}}{'per iter':>10}{'/ lmtrain':>10}{'per success':>13}{'/ lmtrain':>10}"
            f"{'success':>9}{'mean it':>9}")
    print(head)
    print("  " + "-" * (len(head) - 2))
    for r in rows:
        ri = _div(r.per_iter, base.per_iter) if base else math.nan
        rs = _div(r.per_success, base.per_success) if base else math.nan
        mean_it = _div(r.iterations, r.trials)
        print(f"  {r.name:<{wn}}{_fmt(r.per_iter):>10}{_ratio(ri):>10}{_fmt(r.per_success):>13}{_ratio(rs):>10}"
              f"{_num(_div(100.0 * r.successes, r.trials), '.0f', '%'):>9}{_num(mean_it, '.1f'):>9}")
        if r.note:
            print(f"  {'':<4}{r.note}")


# ---------------------------------------------------------- implementations
def _lmtrain_train(lm, net, X, D, W0, opts):
    """lmtrain.train once per trial; returns (iterations, successes).

    A success is a trial that reached the goal (``TrainResult.reached_goal``, Table 12.2's
    criterion), as for the NumPy LM and scipy; ``TrainResult.success`` also counts a vanished
    gradient or step.
    """
    its = succ = 0
    for w0 in W0:
        r = lm.train(net, X, D, "lm", w0=w0, **opts)
        its += r.iterations
        succ += r.reached_goal
    return its, succ


def _numpy_lm(nlm, sizes, act, X, D, W0, opts):
    its = succ = 0
    for w0 in W0:
        _, _, k, ok = nlm.train_lm(sizes, X, D, w0, **opts, **act)
        its += k
        succ += ok
    return its, succ


class _Reached(Exception):
    pass


def _scipy_lm(least_squares, ref, sizes, act, X, D, W0, goal, method="lm", max_nfev=None):
    """scipy.optimize.least_squares with the analytic Jacobian, stopped at E ≤ goal.

    Returns (Jacobian evaluations, successes, function evaluations). With fewer
    residuals than weights MINPACK's LM is given zero rows up to N.
    """
    import numpy as np

    P, N = X.shape[0], len(W0[0])
    R = P * (D.shape[1] if D.ndim == 2 else 1)
    pad = max(0, N - R) if method == "lm" else 0
    zeros_e, zeros_J = np.zeros(pad), np.zeros((pad, N))
    njev = nfev = succ = 0
    for w0 in W0:
        counts = [0, 0]

        def fun(w):
            counts[0] += 1
            e = ref.errors(sizes, w, X, D, **act)
            if 0.5 * float(e @ e) <= goal:
                raise _Reached
            return np.concatenate([e, zeros_e]) if pad else e

        def jac(w):
            counts[1] += 1
            J = ref.jacobian(sizes, w, X, **act)
            return np.vstack([J, zeros_J]) if pad else J

        try:
            least_squares(fun, w0, jac=jac, method=method, xtol=1e-15, ftol=1e-15, gtol=1e-15,
                          max_nfev=max_nfev)
        except _Reached:
            succ += 1
        nfev += counts[0]
        njev += counts[1]
    return njev, succ, nfev


def _without_lanes(fn):
    """Run ``fn`` with EBP's lanes switched off (one trial at a time, for comparison)."""
    from lmtrain.algorithms._fast import lanes

    keep = lanes.MAX_LANES
    lanes.MAX_LANES = 1
    try:
        return fn()
    finally:
        lanes.MAX_LANES = keep


# ----------------------------------------------------------------- parts
#: round-robin repetitions of parity-3's lmtrain rows (each takes milliseconds)
ROUNDS = 30
#: alternating repetitions of lmtrain and the NumPy LM on the 2,000 points (at least; --repeat can ask more)
REGRESSION_ROUNDS = 5


def _parity3(ctx):
    lm, np, ref, nlm, least_squares = ctx["lm"], ctx["np"], ctx["ref"], ctx["nlm"], ctx["least_squares"]
    from lmtrain.experiments import run_trials, trial_weights

    rep = ctx["repeat"]
    X, D = lm.datasets.parity(3)
    sizes, act = [3, 3, 1], dict(activation="bipolar", gain=0.5)
    net = lm.mlp(sizes, **act)
    T = 100
    W0 = trial_weights(net, T, 0)
    goal = 0.01
    opts = dict(goal=goal)
    rows = {}
    # warm-up (compile or cache load) outside the timings
    _lmtrain_train(lm, net, X, D, W0[:2], opts)
    run_trials(net, X, D, "lm", w0=W0[:2], parallel=False, progress=False, **opts)
    run_trials(net, X, D, "lm", w0=W0[:4], parallel=True, progress=False, **opts)
    run_trials(net, X, D, "ebp", w0=W0[:16], alpha=1.0, parallel=False, progress=False, **opts)  # lanes

    lm_iters = run_trials(net, X, D, "lm", w0=W0, parallel=False, progress=False, **opts).iterations
    # many trials per call: 1,000 (the first 100 are the ones above)
    TB = 1000
    WB = trial_weights(net, TB, 0)
    ebp_T = 20 if ctx["quick"] else 100
    cases = {
        "train": lambda: _lmtrain_train(lm, net, X, D, W0, opts),
        "batch": lambda: run_trials(net, X, D, "lm", w0=WB, parallel=False, progress=False, history=0, **opts),
        "parallel": lambda: run_trials(net, X, D, "lm", w0=WB, parallel=True, progress=False, history=0, **opts),
        "ebp": lambda: run_trials(net, X, D, "ebp", w0=W0[:ebp_T], alpha=1.0, parallel=False, progress=False,
                                  history=0, **opts),
        "ebp_alone": lambda: _without_lanes(lambda: run_trials(net, X, D, "ebp", w0=W0[:ebp_T], alpha=1.0,
                                                               parallel=False, progress=False, history=0, **opts)),
    }
    # the lmtrain rows take milliseconds: repeat them round-robin, so that all see the same
    # machine, and over about a second: when the other vCPU of a shared machine is taken for a
    # few tenths of a second, nine rounds (the first design) could all miss the quiet moments
    best = {k: (math.inf, None) for k in cases}
    for _ in range(ROUNDS):
        for k, f in cases.items():
            t = time.perf_counter()
            out = f()
            dt = time.perf_counter() - t
            if dt < best[k][0]:
                best[k] = (dt, out)
    t, (its, succ) = best["train"]
    rows["train"] = Row("lmtrain: lmtrain.train, one call per trial", t, its, succ, T)
    t, r = best["batch"]
    rows["batch"] = Row(f"lmtrain: run_trials, {TB} trials in one call, 1 core", t, int(r.iterations.sum()),
                        int(r.reached_goal.sum()), TB)
    t, r = best["parallel"]
    rows["parallel"] = Row(f"lmtrain: run_trials, {TB} trials, {ctx['threads']} threads", t,
                           int(r.iterations.sum()), int(r.reached_goal.sum()), TB)
    # the NumPy LM follows the same rule: check that it takes the same iterations
    same = sum(nlm.train_lm(sizes, X, D, W0[i], **opts, **act)[2] == lm_iters[i] for i in range(T))
    t, (its, succ) = _best(lambda: _numpy_lm(nlm, sizes, act, X, D, W0, opts), rep)
    rows["numpy"] = Row("NumPy LM (layer matrices, numpy.linalg)", t, its, succ, T,
                        note=f"same iteration count as lmtrain in {same}/{T} trials")
    t, (njev, succ, nfev) = _best(lambda: _scipy_lm(least_squares, ref, sizes, act, X, D, W0, goal), rep)
    rows["scipy"] = Row("scipy least_squares method='lm' (MINPACK)", t, njev, succ, T,
                        note=f"8 residuals < 16 weights: padded with 8 zero rows; 'iterations' = Jacobian "
                             f"evaluations ({nfev} residual evaluations)")
    _table("parity-3, MLP 3-3-1, tanh(0.5·net), goal E ≤ 0.01, 100 trials (seeds SeedSequence(0).spawn)",
           list(rows.values()), rows["train"])
    print(f"  run_trials per iteration vs lmtrain.train: "
          f"{_num(_div(rows['batch'].per_iter, rows['train'].per_iter), '.2f')}; "
          f"NumPy / run_trials (1 core) per iteration: {_ratio(_div(rows['numpy'].per_iter, rows['batch'].per_iter))}")

    # EBP, alpha = 1: per iteration
    t, r = best["ebp"]
    from lmtrain.algorithms._fast import lanes

    B = lanes.lanes(X.shape[0], ebp_T)
    ebp_l = Row(f"lmtrain: EBP α=1, run_trials, 1 core, {B} lanes", t, int(r.iterations.sum()),
                int(r.reached_goal.sum()), ebp_T)
    t, r2 = best["ebp_alone"]
    same = bool(np.array_equal(r.iterations, r2.iterations) and np.array_equal(r.weights, r2.weights))
    ebp_1 = Row("lmtrain: EBP α=1, run_trials, one trial at a time", t, int(r2.iterations.sum()),
                int(r2.reached_goal.sum()), ebp_T, note=f"the lanes give the same weights and iterations: {same}")
    n_np = 5 if ctx["quick"] else 20

    def numpy_ebp():
        its = succ = 0
        for w0 in W0[:n_np]:
            _, _, k, ok = nlm.train_ebp(sizes, X, D, w0, 1.0, **opts, **act)
            its += k
            succ += ok
        return its, succ

    t, (its, succ) = _best(numpy_ebp, rep)
    ebp_n = Row("NumPy EBP α=1 (backward pass, layer matrices)", t, its, succ, n_np)
    _table(f"parity-3 EBP α=1 (w ← w − g), per iteration ({ebp_T} trials lmtrain, {n_np} NumPy)",
           [ebp_l, ebp_1, ebp_n], ebp_l)
    rows["ebp"], rows["ebp_numpy"] = ebp_l, ebp_n
    return rows


def _parity7(ctx):
    lm, np, ref, nlm, least_squares = ctx["lm"], ctx["np"], ctx["ref"], ctx["nlm"], ctx["least_squares"]
    from lmtrain.experiments import run_trials, trial_weights

    rep = ctx["repeat"]
    X, D = lm.datasets.parity(7)
    act = dict(activation="bipolar", gain=0.5)
    goal = X.shape[0] / 200.0  # MSE ≤ 0.01
    T = 5 if ctx["quick"] else 20
    out = {}
    for key, title, net, sizes in (
            ("mlp", "parity-7, MLP 7-7-1", lm.mlp([7, 7, 1], **act), [7, 7, 1]),
            ("fcc", "parity-7, FCC 7 neurons", lm.fcc(7, 7, **act), None)):
        W0 = trial_weights(net, T, 0)
        opts = dict(goal=goal)
        _lmtrain_train(lm, net, X, D, W0[:1], opts)
        run_trials(net, X, D, "lm", w0=W0[:2], parallel=False, progress=False, **opts)
        rows = {}
        t, (its, succ) = _best(lambda: _lmtrain_train(lm, net, X, D, W0, opts), rep)
        rows["train"] = Row("lmtrain: lmtrain.train, one call per trial", t, its, succ, T)
        t, r = _best(lambda: run_trials(net, X, D, "lm", w0=W0, parallel=False, progress=False, history=0,
                                        **opts), rep)
        rows["batch"] = Row("lmtrain: run_trials, one compiled call, 1 core", t, int(r.iterations.sum()),
                            int(r.reached_goal.sum()), T)
        if sizes is not None:
            t, (its, succ) = _best(lambda: _numpy_lm(nlm, sizes, act, X, D, W0, opts), rep)
            rows["numpy"] = Row("NumPy LM (layer matrices, numpy.linalg)", t, its, succ, T)
            t, (njev, succ, nfev) = _best(lambda: _scipy_lm(least_squares, ref, sizes, act, X, D, W0, goal), 1)
            rows["scipy"] = Row("scipy least_squares method='lm' (MINPACK)", t, njev, succ, T,
                                note="'iterations' = Jacobian evaluations")
        else:
            notes = "NumPy/scipy rows need layer matrices; the cascade is not layered"
            rows["batch"].note = notes
        _table(f"{title}: {net.n_weights} weights, 128 patterns, goal E ≤ {goal:g} (MSE 0.01), {T} trials",
               list(rows.values()), rows["train"])
        out[key] = rows
    return out


def _regression_data(np, P, seed=20240611):
    rng = np.random.default_rng(seed)
    X = rng.uniform(-np.pi, np.pi, size=(P, 2))
    D = (np.sin(X[:, 0]) * np.cos(X[:, 1])).reshape(-1, 1)
    return X, D


def _regression(ctx):
    lm, np, ref, nlm, least_squares = ctx["lm"], ctx["np"], ctx["ref"], ctx["nlm"], ctx["least_squares"]
    from lmtrain.algorithms._fast.gram import cholesky_solve_lower
    from lmtrain.experiments import trial_weights

    rep = ctx["repeat"]
    P = 2000
    X, D = _regression_data(np, P)
    sizes = [2, 20, 20, 1]
    act = dict(activation="bipolar", gain=1.0, output_activation="linear")
    net = lm.mlp(sizes, **act)
    N = net.n_weights
    goal = P * 1e-3 / 2  # MSE ≤ 1e-3
    quick = ctx["quick"]
    T = 1 if quick else 2
    cap = 8 if quick else 300  # quick: a fixed number of iterations, for the time per iteration only
    W0 = trial_weights(net, T, 0)
    opts = dict(goal=goal, max_iter=cap)
    lm.train(net, X, D, w0=W0[0], max_iter=1)  # warm-up
    rows = {}
    # lmtrain and the NumPy LM alternate, so that both see the same phases of a shared machine
    # (run one after the other, the pair's ratio moved with whichever phase each block fell into)
    cases = {"train": lambda: _lmtrain_train(lm, net, X, D, W0, opts),
             "numpy": lambda: _numpy_lm(nlm, sizes, act, X, D, W0, opts)}
    best = {k: (math.inf, None) for k in cases}
    for _ in range(rep if quick else max(REGRESSION_ROUNDS, rep)):
        for k, f in cases.items():
            t, out = _best(f, 1)
            if t < best[k][0]:
                best[k] = (t, out)
    t, (its, succ) = best["train"]
    rows["train"] = Row("lmtrain: lmtrain.train (auto: blocked path, BLAS)", t, its, succ, T)
    r = lm.train(net, X, D, w0=W0[0], max_iter=min(cap, 5), jacobian="full")
    t, r = _best(lambda: lm.train(net, X, D, w0=W0[0], max_iter=min(cap, 5), jacobian="full"), 1)
    rows["full"] = Row("lmtrain: jacobian='full' (all in compiled code)", t, r.iterations, 0, 1,
                       note="first 5 iterations of trial 0; shows why 'auto' takes the blocked path here")
    t, (its, succ) = best["numpy"]
    rows["numpy"] = Row("NumPy LM (layer matrices, numpy.linalg)", t, its, succ, T)
    t, (njev, succ, nfev) = _best(lambda: _scipy_lm(least_squares, ref, sizes, act, X, D, W0, goal,
                                                    max_nfev=cap * 2), 1)
    rows["scipy"] = Row("scipy least_squares method='lm' (MINPACK)", t, njev, succ, T,
                        note="'iterations' = Jacobian evaluations")
    extra = " (quick: 8 iterations per trial, per-iteration times only)" if quick else ""
    _table(f"y = sin(x1)·cos(x2), 2,000 points, MLP 2-20-20-1 (tanh, linear output), {N} weights, goal E ≤ "
           f"{goal:g} (MSE 1e-3), {T} trial(s){extra}", list(rows.values()), rows["train"])

    # the floor: BLAS work on the same matrices, one JᵀJ and `tries` Cholesky factorisations
    r = lm.train(net, X, D, w0=W0[0], max_iter=min(cap, 20))
    tries = 1.0 + float(np.mean(r.history.rejected))
    w = r.weights
    J = net.jacobian(w, X)
    Q = J.T @ J
    A = Q + 1e-3 * np.eye(N)
    g = J.T @ (D.ravel() - net.forward(w, X).ravel())
    t_jtj, _ = _best(lambda: J.T @ J, 5)

    def chol_solve():
        L = np.linalg.cholesky(A)
        x = g.copy()
        cholesky_solve_lower(L, x)
        return x

    chol_solve()
    t_chol, _ = _best(chol_solve, 5)
    t_jac, _ = _best(lambda: net.jacobian(w, X), 3)
    floor = t_jtj + tries * t_chol
    per_iter = rows["train"].per_iter
    print(f"  floor on these matrices (BLAS threads: {ctx['blas']}): JᵀJ {_fmt(t_jtj)} + {_num(tries, '.2f')} tries × Cholesky "
          f"solve {_fmt(t_chol)} = {_fmt(floor)} per iteration; lmtrain {_fmt(per_iter)} = "
          f"{_num(_div(per_iter, floor), '.2f', 'x')} the floor (it forms JᵀJ with fewer multiply-adds, pair products for the layers; "
          f"the rest: Jacobian, forward passes of the tries, Python)")
    print(f"  for scale: lmtrain's whole Jacobian (public method, the plain kernel) {_fmt(t_jac)}; NumPy LM / lmtrain per iteration "
          f"{_num(_div(rows['numpy'].per_iter, per_iter), '.2f', 'x')}")
    rows["floor"] = dict(jtj=t_jtj, chol=t_chol, tries=tries, floor=floor, ratio=_div(per_iter, floor))
    runs = _default_threads(ctx)
    if runs is not None:
        each = "; ".join(f"lmtrain {_fmt(d['lmtrain'])}, NumPy LM {_fmt(d['numpy'])}, "
                         f"{_num(_div(d['numpy'], d['lmtrain']), '.2f', 'x')}" for d in runs)
        print(f"  with the BLAS libraries' default threads ({ctx['cores']} usable cores; no thread variables set, "
              f"{len(runs)} fresh processes), per iteration: {each}")
        rows["default_threads"] = runs
    return rows


_THREADS_SCRIPT = r"""
import json, os, sys, time
import numpy as np
import lmtrain as lm
import numpy_lm as nlm
import run
from lmtrain.experiments import trial_weights
repeat = int(sys.argv[1])
X, D = run._regression_data(np, 2000)
sizes, act = [2, 20, 20, 1], dict(activation="bipolar", gain=1.0, output_activation="linear")
net = lm.mlp(sizes, **act)
W0 = trial_weights(net, 2, 0)
opts = dict(goal=1.0, max_iter=300)
lm.train(net, X, D, w0=W0[0], max_iter=1)  # warm-up
best = {"lmtrain": float("inf"), "numpy": float("inf")}
its = {}
for _ in range(repeat):  # alternating, so that both see the same machine
    t = time.perf_counter()
    its["lmtrain"] = run._lmtrain_train(lm, net, X, D, W0, opts)[0]
    best["lmtrain"] = min(best["lmtrain"], time.perf_counter() - t)
    t = time.perf_counter()
    its["numpy"] = run._numpy_lm(nlm, sizes, act, X, D, W0, opts)[0]
    best["numpy"] = min(best["numpy"], time.perf_counter() - t)
print(json.dumps({k: best[k] / its[k] for k in best}))
"""


def _default_threads(ctx, processes=2):
    """lmtrain and the NumPy LM per iteration on the 2,000 points with the BLAS libraries' own thread
    counts, in ``processes`` fresh processes without the thread variables (what a user gets who sets
    nothing; on a shared virtual machine one process can differ from the next)."""
    env = {k: v for k, v in ctx["env"].items() if k not in BLAS_THREAD_VARS}
    env["PYTHONPATH"] = _HERE + os.pathsep + env["PYTHONPATH"]
    out = []
    for _ in range(processes):
        proc = subprocess.run([sys.executable, "-c", _THREADS_SCRIPT, str(max(2, ctx["repeat"]))],
                              capture_output=True, text=True, env=env, timeout=1800)
        if proc.returncode != 0:
            print(f"  (the run at the default thread counts failed:\n{proc.stderr})")
            return None
        out.append(json.loads(proc.stdout.strip().splitlines()[-1]))
    return out


_BIG_SCRIPT = r"""
import json, math, sys, time
t_start = time.perf_counter()
import numpy as np
import lmtrain as lm
def rss(field):
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024.0
    return math.nan
P, iters = int(sys.argv[1]), int(sys.argv[2])
rng = np.random.default_rng(20240611)
X = rng.uniform(-np.pi, np.pi, size=(P, 2))
D = (np.sin(X[:, 0]) * np.cos(X[:, 1])).reshape(-1, 1)
net = lm.mlp([2, 20, 20, 1], activation="bipolar", gain=1.0, output_activation="linear")
w0 = net.init_weights(0)
lm.train(net, X[:3000], D[:3000], w0=w0, max_iter=1, jacobian="blocks")  # warm-up: compile, BLAS buffers
reset = True
try:
    with open("/proc/self/clear_refs", "w") as fh:
        fh.write("5")  # resets VmHWM to the current RSS
except OSError:
    reset = False
base = rss("VmRSS")
t = time.perf_counter()
r = lm.train(net, X, D, w0=w0, max_iter=iters)
dt = time.perf_counter() - t
print(json.dumps(dict(P=P, N=net.n_weights, iterations=r.iterations, seconds=dt, E0=r.initial_error, E=r.error,
                      base=base, hwm=rss("VmHWM"), reset=reset, data_mb=(X.nbytes + D.nbytes) / 2**20,
                      tries=float(np.mean(r.history.rejected)) + 1.0)))
"""


def _big(ctx):
    P = 100_000
    iters = 2 if ctx["quick"] else 3
    proc = subprocess.run([sys.executable, "-c", _BIG_SCRIPT, str(P), str(iters)], capture_output=True, text=True,
                          env=ctx["env"], timeout=1800)
    if proc.returncode != 0:
        print(f"\n100,000-point run failed:\n{proc.stderr}")
        return None
    r = json.loads(proc.stdout.strip().splitlines()[-1])
    growth = r["hwm"] - r["base"]
    full_j = P * r["N"] * 8 / 2**20
    print(f"\ny = sin(x1)·cos(x2), 100,000 points, MLP 2-20-20-1, {r['N']} weights (fresh process, lmtrain only)")
    print(f"  {r['iterations']} LM iterations in {r['seconds']:.2f} s: {_fmt(_div(r['seconds'], r['iterations']))} per "
          f"iteration ({_num(r['tries'], '.2f')} tries per iteration), E {_num(r['E0'], '.4g')} → {_num(r['E'], '.4g')}")
    how = "VmHWM after resetting it via /proc/self/clear_refs" if r["reset"] else "VmHWM (could not reset it)"
    print(f"  peak RSS growth while training: {_num(growth, '.1f', ' MB')} ({how}); the data: {r['data_mb']:.1f} MB; "
          f"the whole Jacobian would be {full_j:.0f} MB")
    r["growth"] = growth
    return r


_START_SCRIPT = r"""
import time
import lmtrain as lm
X, D = lm.datasets.parity(3)
r = lm.train(lm.mlp([3, 3, 1], activation="bipolar", gain=0.5), X, D, seed=1, goal=0.01)
assert r.iterations > 0
print(time.time())
"""

_COLD_SCRIPT = r"""
import time
t0 = time.perf_counter()
import lmtrain as lm
from lmtrain.experiments import run_trials
X, D = lm.datasets.parity(3)
net = lm.mlp([3, 3, 1], activation="bipolar", gain=0.5)
for algo in ("lm", "ebp", "gauss_newton", "newton"):
    lm.train(net, X, D, algorithm=algo, seed=1, goal=0.01)
t1 = time.perf_counter()
for algo in ("lm", "ebp", "gauss_newton", "newton"):
    run_trials(net, X, D, algo, trials=40, seed=0, goal=0.01, progress=False)  # EBP: in lanes
t2 = time.perf_counter()
print(t1 - t0, t2 - t1)
"""


def _first_trial(code, env):
    """Seconds from spawning a Python process to the end of its first LM trial, and then to its exit."""
    t0 = time.time()
    proc = subprocess.run([sys.executable, "-c", code], env=env, check=True, capture_output=True, text=True)
    t_end = time.time()
    t_trial = float(proc.stdout.strip().splitlines()[-1])
    return t_trial - t0, t_end - t_trial


def _startup(ctx):
    env = ctx["env"]
    _first_trial(_START_SCRIPT, env)  # make sure the cache is warm
    hide = "import sys; sys.modules['scipy'] = None  # as without the optional scipy\n"
    runs = [_first_trial(_START_SCRIPT, env) for _ in range(5)]
    runs_ns = [_first_trial(hide + _START_SCRIPT, env) for _ in range(5)]
    warm, warm_ns = min(r[0] for r in runs), min(r[0] for r in runs_ns)
    out = dict(warm=warm, warm_no_scipy=warm_ns, exit=min(r[1] for r in runs))
    print(f"\nStart-up: a fresh process (interpreter, imports, cache load) to the end of its first LM trial: "
          f"{warm:.2f} s (best of 5, Numba cache warm); {warm_ns:.2f} s when scipy cannot be imported "
          f"(Numba imports scipy.linalg on first use when it is installed); the process then takes "
          f"{out['exit']:.2f} s to exit")
    if ctx["cold"]:
        # the target: everything `lmtrain reproduce` uses, compiled from an empty cache. Measured as
        # `lmtrain reproduce --quick` with an empty Numba cache minus the same run again with it warm
        with tempfile.TemporaryDirectory(prefix="lmtrain-cold-") as cache, \
                tempfile.TemporaryDirectory(prefix="lmtrain-out-") as outdir:
            env2 = dict(env, NUMBA_CACHE_DIR=cache)
            runs = []
            for _ in range(2):
                t = time.perf_counter()
                subprocess.run([sys.executable, "-m", "lmtrain", "reproduce", "--quick", "--out", outdir], env=env2,
                               capture_output=True, text=True, check=True, timeout=1800, cwd=_ROOT)
                runs.append(time.perf_counter() - t)
        out.update(cold_reproduce=runs[0], warm_reproduce=runs[1], cold=runs[0] - runs[1])
        print(f"Cold compile for `lmtrain reproduce --quick`: {runs[0]:.1f} s with an empty Numba cache, "
              f"{runs[1]:.1f} s with it warm: {runs[0] - runs[1]:.1f} s of compiling (the trial loop and EBP's lanes "
              f"compile in two background processes meanwhile)")
        # for comparison, the same kernels compiled one after another in one process
        with tempfile.TemporaryDirectory(prefix="lmtrain-cold-") as cache:
            env2 = dict(env, NUMBA_CACHE_DIR=cache)
            t = time.perf_counter()
            proc = subprocess.run([sys.executable, "-c", _COLD_SCRIPT], env=env2, capture_output=True, text=True,
                                  check=True, timeout=1800)
            wall = time.perf_counter() - t
        a, b = (float(x) for x in proc.stdout.split())
        out.update(cold_serial=wall, cold_train=a, cold_trials=b)
        print(f"  in one process, one after another: train ×4 {a:.1f} s, then run_trials ×4 {b:.1f} s "
              f"({wall:.1f} s in all)")
    return out


# ------------------------------------------------------------------ main
def _switch(ctx):
    """Where jacobian="auto" leaves the compiled loop for the blocked path (``crossover.py``)."""
    import crossover

    repeat = 3 if ctx["quick"] else max(5, ctx["repeat"])
    print(f"\njacobian='auto': LM per iteration with the whole Jacobian in compiled code ('full') and "
          f"block by block with BLAS ('blocks'),\n  from the same weights, best of {repeat} alternating runs; "
          f"work = min(R,N)²·max(R,N) multiply-adds for the Gram matrix")
    return crossover.table(repeat=repeat, iters=20)


def _targets(res):
    """The README's targets, each with the measured figure and met / not met."""
    p3 = res["parity3"]
    lines = []

    def add(text, value, ok):
        lines.append((text, value, "met" if ok else "NOT met"))

    add("LM parity-3, lmtrain.train: ≤ 2 µs per iteration", _fmt(p3["train"].per_iter), p3["train"].per_iter <= 2e-6)
    add("LM parity-3, lmtrain.train: ≤ 20 µs per successful trial", _fmt(p3["train"].per_success),
        p3["train"].per_success <= 20e-6)
    add("LM parity-3, run_trials (one compiled call, 1 core): ≤ 1.5 µs per iteration", _fmt(p3["batch"].per_iter),
        p3["batch"].per_iter <= 1.5e-6)
    add(f"  the same on {p3['parallel'].name.split(', ')[-1]}", _fmt(p3["parallel"].per_iter),
        p3["parallel"].per_iter <= 1.5e-6)
    r = _div(p3["numpy"].per_iter, p3["train"].per_iter)
    add("LM parity-3: ≥ 25× faster per iteration than NumPy", _num(r, ".0f", "×"), r >= 25)
    r = _div(p3["scipy"].per_success, p3["train"].per_success)
    add("LM parity-3: ≥ 50× faster to the goal than scipy's LM", _num(r, ".0f", "×"), r >= 50)
    add("EBP parity-3: ≤ 0.3 µs per iteration", _fmt(p3["ebp"].per_iter), p3["ebp"].per_iter <= 0.3e-6)
    r = _div(p3["batch"].seconds, p3["parallel"].seconds)
    add("multi-trial runs use both cores", _num(r, ".2f", "× the 1-core speed"), r >= 1.3)
    if "regression" in res:
        fl = res["regression"]["floor"]
        add("2,000 points: within 1.5× of the BLAS floor per iteration", _num(fl["ratio"], ".2f", "×"),
            fl["ratio"] <= 1.5)
        r = _div(res["regression"]["numpy"].per_iter, res["regression"]["train"].per_iter)
        add("2,000 points: ≥ 2× faster per iteration than NumPy", _num(r, ".2f", "×"), r >= 2)
    if res.get("big"):
        g = res["big"]["growth"]
        add("100,000 points: peak RSS growth ≤ 64 MB, J never whole", _num(g, ".0f", " MB"), g <= 64)
    st = res.get("startup", {})
    if "warm" in st:
        add("warm cache: fresh process to first LM trial ≤ 1 s", f"{st['warm']:.2f} s", st["warm"] <= 1.0)
        add("  the same without scipy installed", f"{st['warm_no_scipy']:.2f} s", st["warm_no_scipy"] <= 1.0)
    if "cold" in st:
        add("cold compile of what `lmtrain reproduce` uses < 30 s", f"{st['cold']:.1f} s", st["cold"] < 30)
    print("\nTargets")
    wt = max([66] + [len(text) + 2 for text, _, _ in lines])
    for text, value, verdict in lines:
        print(f"  {text:<{wt}}{value:>22}  {verdict}")
    return lines


def main(argv=None) -> int:
    args = _parse(sys.argv[1:] if argv is None else argv)
    _blas_env(args.blas_threads)
    import numpy as np
    import numba

    try:
        from scipy.optimize import least_squares
        import scipy
    except ImportError:
        print("scipy is needed for the benchmark: pip install -e \".[bench]\"", file=sys.stderr)
        return 2
    for path in (_HERE, _ROOT):  # the lmtrain of this source tree, and the references beside this file
        if path not in sys.path:
            sys.path.insert(0, path)
    import lmtrain as lm
    import numpy_lm as nlm
    import numpy_reference as ref
    from lmtrain import algorithms

    env = dict(os.environ)
    env["PYTHONPATH"] = _ROOT + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    ctx = dict(lm=lm, np=np, ref=ref, nlm=nlm, least_squares=least_squares, repeat=args.repeat, quick=args.quick,
               threads=algorithms.threads(), env=env, cold=not (args.quick or args.no_cold),
               blas=os.environ.get("OPENBLAS_NUM_THREADS", "library default"))
    try:
        usable = len(os.sched_getaffinity(0))
    except AttributeError:
        usable = os.cpu_count()
    ctx["cores"] = usable
    print("lmtrain benchmark" + (" (--quick)" if args.quick else ""))
    print(f"  date: {datetime.datetime.now().isoformat(timespec='seconds')}")
    print(f"  machine: {_cpu_model()}, {usable} usable cores, {platform.system()} {platform.machine()}; "
          f"load average (1 min) at start: {_load()}")
    print(f"  python {platform.python_version()}, numpy {np.__version__}, numba {numba.__version__}, "
          f"scipy {scipy.__version__}; BLAS threads: {ctx['blas']}; lmtrain trial threads: {ctx['threads']}")
    regression = args.repeat if args.quick else max(REGRESSION_ROUNDS, args.repeat)
    print(f"  each time is the best of {args.repeat} run(s) ({ROUNDS}, round-robin, for the parity-3 lmtrain rows; "
          f"{regression}, lmtrain and NumPy alternating, for the 2,000-point rows); "
          f"'per success' = all time spent / successful trials (those that reached the goal)")
    res = {}
    res["parity3"] = _parity3(ctx)
    res["parity7"] = _parity7(ctx)
    res["regression"] = _regression(ctx)
    res["switch"] = _switch(ctx)
    res["big"] = _big(ctx)
    res["startup"] = _startup(ctx)
    targets = _targets(res)
    print(f"\nload average (1 min) at end: {_load()}")
    if args.json:
        def conv(x):
            if isinstance(x, Row):
                return x.as_dict()
            if isinstance(x, dict):
                return {k: conv(v) for k, v in x.items()}
            return x
        with open(args.json, "w") as fh:
            json.dump(dict(results=conv(res), targets=targets), fh, indent=1, default=float)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
