"""Where ``jacobian="auto"`` should switch from the compiled loop to the blocked path.

For each network and pattern count it times LM iterations through
``lmtrain.train`` with ``jacobian="full"`` (the whole Jacobian and JᵀJ in
compiled loops) and with ``jacobian="blocks"`` (Jacobian rows a block at a
time, JᵀJ by BLAS and pair products, LAPACK's Cholesky), from the same initial
weights, and prints the time per iteration of each next to the Gram matrix's
work, min(R, N)²·max(R, N) multiply-adds with R = P·M residuals and N weights —
the number ``lmtrain.algorithms._fast.blocked.CROSSOVER_WORK`` is compared with
(``blocked.use_blocks`` also takes the blocked path whenever the whole J would
exceed ``FULL_JACOBIAN_BYTES``).
The last lines say which rows the current switch gets wrong and by how much.
``benchmarks/run.py`` prints the same table.

Run::

    python benchmarks/crossover.py            # about a minute
    python benchmarks/crossover.py --repeat 9
"""

from __future__ import annotations

import argparse
import datetime
import math
import os
import platform
import sys
import time

from _machine import cpu_model, one_blas_thread_and_this_tree

one_blas_thread_and_this_tree(__file__)  # before NumPy is imported

import numpy as np  # noqa: E402

import lmtrain as lm  # noqa: E402
from lmtrain.algorithms._fast import blocked  # noqa: E402
from lmtrain.algorithms.records import JACOBIAN_AUTO  # noqa: E402
from lmtrain.experiments import trial_weights  # noqa: E402

ACT = dict(activation="bipolar", gain=1.0, output_activation="linear")


def _regression(P, seed=7):
    rng = np.random.default_rng(seed)
    X = rng.uniform(-np.pi, np.pi, size=(P, 2))
    return X, (np.sin(X[:, 0]) * np.cos(X[:, 1])).reshape(-1, 1)


def cases():
    """(label, network, X, D): MLPs and cascades, tall, square and wide Gram matrices."""
    out = []
    X7, D7 = lm.datasets.parity(7)
    par = dict(activation="bipolar", gain=0.5)
    out.append(("7-7-1, parity-7", lm.mlp([7, 7, 1], **par), X7, D7))
    out.append(("FCC 7, parity-7", lm.fcc(7, 7, **par), X7, D7))
    for sizes, Ps in (([2, 3, 3, 1], (1000, 3000, 10000)),
                      ([2, 5, 5, 1], (300, 1000, 3000)),
                      ([2, 8, 8, 1], (100, 200, 500)),
                      ([2, 12, 12, 1], (50, 100, 300)),
                      ([2, 20, 20, 1], (20, 50, 100, 200))):
        for P in Ps:
            X, D = _regression(P)
            out.append(("-".join(map(str, sizes)) + f", {P:,}", lm.mlp(sizes, **ACT), X, D))
    for n, Ps in ((6, (500, 2000)), (12, (200, 1000))):
        for P in Ps:
            X, D = _regression(P)
            out.append((f"FCC {n}, {P:,}", lm.fcc(2, n, **ACT), X, D))
    return out


def per_iteration(net, X, D, w0, iters, repeat):
    """Best seconds per iteration and iterations, ``jacobian="full"`` then ``"blocks"``.

    Each repeat times the two paths one after the other, so that a spell of
    load on a shared machine falls on both.
    """
    modes = ("full", "blocks")
    opts = dict(w0=w0, goal=0.0, max_iter=iters, min_grad=0.0)
    its = [lm.train(net, X, D, jacobian=m, **opts).iterations for m in modes]  # warm-up: compile, BLAS buffers
    best = [math.inf, math.inf]
    for _ in range(repeat):
        for k, m in enumerate(modes):
            t = time.perf_counter()
            lm.train(net, X, D, jacobian=m, **opts)
            best[k] = min(best[k], time.perf_counter() - t)
    return [b / max(1, i) for b, i in zip(best, its)], its


def _fmt(s):
    if not math.isfinite(s):
        return "—"
    return f"{s * 1e3:.3g} ms" if s >= 1e-3 else f"{s * 1e6:.3g} µs"


def _ratio(a, b, spec=".2f"):
    """``a / b`` formatted, or "—" where there is no ratio."""
    r = a / b if b and math.isfinite(a) and math.isfinite(b) else math.nan
    return f"{r:{spec}}x" if math.isfinite(r) else "—"


def table(repeat=5, iters=20):
    """Time both paths on every case and print the table; returns its rows as dicts."""
    switch = blocked.CROSSOVER_WORK
    head = f"  {'network, patterns':<22}{'weights':>8}{'work':>10}{'full':>11}{'blocks':>11}{'full/blocks':>13}  auto"
    print(head)
    print("  " + "-" * (len(head) - 2))
    rows = []
    for label, net, X, D in cases():
        P, M, N = X.shape[0], net.n_outputs, net.n_weights
        R = P * M
        work = min(R, N) ** 2 * max(R, N)
        w0 = trial_weights(net, 1, 0)[0]
        (t_full, t_blk), (i_full, i_blk) = per_iteration(net, X, D, w0, iters, repeat)
        auto = "blocks" if blocked.use_blocks(JACOBIAN_AUTO, True, P, M, N) else "full"  # what "auto" takes
        rows.append(dict(case=label, weights=N, work=work, full=t_full, blocks=t_blk, auto=auto))
        note = "" if i_full == i_blk else f"  (iterations {i_full} vs {i_blk})"
        print(f"  {label:<22}{N:>8}{work:>10.2g}{_fmt(t_full):>11}{_fmt(t_blk):>11}{_ratio(t_full, t_blk):>13}"
              f"  {auto}{note}")
    print(f"\n  switch: blocks when work >= {switch:.3g} (lmtrain.algorithms._fast.blocked.CROSSOVER_WORK)")
    wrong = [r for r in rows if (r["auto"] == "full") != (r["full"] <= r["blocks"])]
    if not wrong:
        print("  it picks the faster path for every row")
    for r in wrong:
        lost = _ratio(r["full"], r["blocks"]) if r["auto"] == "full" else _ratio(r["blocks"], r["full"])
        print(f"  {r['case']}: work {r['work']:.2g}, auto takes '{r['auto']}', {lost} slower than the other path")
    faster_blocks = [r["work"] for r in rows if r["blocks"] < r["full"]]
    faster_full = [r["work"] for r in rows if r["full"] <= r["blocks"]]
    if faster_blocks and faster_full:
        print(f"  blocks faster from work {min(faster_blocks):.2g}; full faster up to {max(faster_full):.2g}")
    return rows


def main(argv=None):
    p = argparse.ArgumentParser(prog="benchmarks/crossover.py", description=__doc__.split("\n\n")[0])
    p.add_argument("--repeat", type=int, default=5, help="repeats per measurement, best kept (default 5)")
    p.add_argument("--iters", type=int, default=20, help="LM iterations per measured call (default 20)")
    args = p.parse_args(argv)
    if args.repeat < 1 or args.iters < 1:
        p.error("--repeat and --iters must be >= 1")
    print(f"{datetime.date.today()}, {cpu_model()}, Python {platform.python_version()}, NumPy {np.__version__}; "
          f"BLAS threads {os.environ['OPENBLAS_NUM_THREADS']}; best of {args.repeat}, {args.iters} iterations each")
    table(args.repeat, args.iters)
    return 0


if __name__ == "__main__":
    sys.exit(main())
