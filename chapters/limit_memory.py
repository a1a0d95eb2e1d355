"""§12.5, second limit: "the Jacobian matrix has to be stored ... its size is P × M × N".

The chapter's Summary (§12.5) warns that J, with P·M rows and N columns, may
take too much memory for large training sets. lmtrain can train either way:

* ``jacobian="full"`` stores J (P·M × N) as eq. 12.25 is written, and forms
  JᵀJ from it;
* ``jacobian="blocks"`` never stores it: it accumulates the quasi-Hessian
  Q = Σ_p j_pᵀj_p and the gradient g = Σ_p j_pᵀe_p (the NBN row of Table
  12.1) over blocks of at most 2¹⁷ Jacobian entries, so its memory is about
  that of one block plus the N × N system, whatever P is.

This script *measures* the peak memory growth of one LM iteration of each,
for P from 10³ to 10⁵ patterns of a two-output regression on an MLP 2-16-2
(tanh hidden neurons, linear outputs; M = 2, N = 82), and lays it beside the
formula P·M·N·8 bytes. Every point is measured in a fresh process
(``_memory_probe.py``): after a warm-up run, ``5`` is written to
``/proc/self/clear_refs`` to reset the high-water mark ``VmHWM``, and the
growth is ``VmHWM`` after training minus ``VmRSS`` before it. Two probes run
at a time, each on one thread. Linux only.

Memory is written to the table in whole MB (10⁶ bytes); the report prints it
to 0.01 MB with the time of each iteration. A measured peak moves by a MB or
two from run to run (more on a first run, while Numba's cache fills), so a
full run writes its outputs to ``figures/measured/``, which git ignores, as
``limit_inversion`` does with its times; the documentation shows a recorded
run.

Writes ``limit_memory.png``, ``limit_memory.md`` and ``limit_memory.csv``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import _common  # noqa: I001  (selects the Agg backend before pyplot)
import matplotlib.pyplot as plt
import numpy as np

PROBE = Path(__file__).resolve().parent / "_memory_probe.py"
HIDDEN = 16  # MLP 2-16-2: N = 82 weights, M = 2 outputs
MODES = {"full": "J stored (jacobian=\"full\")", "blocks": "Q and g by blocks (jacobian=\"blocks\")"}
COLORS = {"full": "C3", "blocks": "C0"}
MB = 1e6
#: two probes run side by side, so each keeps to one thread: BLAS threads waiting for a busy core made
#: the blocked path's times swing thirtyfold (the memory they report did not change)
ONE_CORE = {"OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "NUMBA_NUM_THREADS": "1"}

FULL = dict(patterns=(1_000, 3_000, 10_000, 30_000, 100_000))
QUICK = dict(patterns=(10_000,))

COLUMNS = ["P", "M", "N", "J = P·M·N·8 bytes (MB)", "growth, J stored (MB)", "growth, blocks (MB)",
           "J stored / formula", "blocks / formula"]
FORMATS = {"J = P·M·N·8 bytes (MB)": ".1f", "J stored / formula": ".2f", "blocks / formula": ".2f"}


def available() -> bool:
    """True where the measurement works: Linux with a writable ``/proc/self/clear_refs``."""
    try:
        with open("/proc/self/clear_refs", "w", encoding="ascii") as fh:
            fh.write("5")
        return Path("/proc/self/status").is_file()
    except OSError:
        return False


def probe(P: int, mode: str, seed: int) -> dict:
    """One measurement in a fresh Python process (see ``_memory_probe.py``)."""
    out = subprocess.run([sys.executable, str(PROBE), str(P), mode, str(HIDDEN), str(seed)],
                         capture_output=True, text=True, check=False, env={**os.environ, **ONE_CORE})
    if out.returncode != 0:
        raise RuntimeError(f"memory probe for P={P}, {mode} failed:\n{out.stderr.strip()}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def run(config: dict, seed: int = 0, log=print) -> tuple[list[dict], list[dict]]:
    """Measure every (P, mode), two processes at a time; return (table rows, raw measurements)."""
    jobs = [(P, mode) for P in config["patterns"] for mode in MODES]
    with ThreadPoolExecutor(max_workers=2) as pool:
        raw = list(pool.map(lambda job: probe(job[0], job[1], seed), jobs))
    rows = []
    for P in config["patterns"]:
        got = {r["mode"]: r for r in raw if r["P"] == P}
        M, N = got["full"]["M"], got["full"]["N"]
        formula = P * M * N * 8
        full, blocks = round(got["full"]["growth"] / MB), round(got["blocks"]["growth"] / MB)
        rows.append({"P": P, "M": M, "N": N, "J = P·M·N·8 bytes (MB)": formula / MB,
                     "growth, J stored (MB)": full, "growth, blocks (MB)": blocks,
                     "J stored / formula": full * MB / formula, "blocks / formula": blocks * MB / formula})
        log(f"  P = {P:>7,}: formula {formula / MB:8.2f} MB   J stored {got['full']['growth'] / MB:8.2f} MB "
            f"({1e3 * got['full']['seconds']:7.1f} ms/iteration)   blocks {got['blocks']['growth'] / MB:7.2f} MB "
            f"({1e3 * got['blocks']['seconds']:7.1f} ms/iteration)")
    return rows, raw


def figure(rows: list[dict]):
    """Measured growth of both modes beside the formula, log–log."""
    P = np.array([r["P"] for r in rows], dtype=float)
    fig, ax = plt.subplots(figsize=(7.0, 4.4), layout="constrained")
    formula = [r["J = P·M·N·8 bytes (MB)"] for r in rows]
    ax.plot(P, formula, "k--", lw=1.2, label="formula: J = P·M·N·8 bytes")
    ax.annotate(f"{formula[-1]:,.0f} MB", (P[-1], formula[-1]), textcoords="offset points", xytext=(4, -12),
                ha="left", fontsize=8)
    for mode, col in (("full", "growth, J stored (MB)"), ("blocks", "growth, blocks (MB)")):
        y = np.maximum([r[col] for r in rows], 0.5)  # whole MB; "0" drawn at 0.5 on the log axis
        ax.plot(P, y, "o-", color=COLORS[mode], label=f"measured: {MODES[mode]}")
        for x, v, r in zip(P, y, rows):
            ax.annotate(f"{r[col]:,} MB", (x, v), textcoords="offset points", xytext=(0, 6 if mode == "full" else -13),
                        ha="center", fontsize=8, color=COLORS[mode])
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlim(P[0] / 1.6, P[-1] * 1.9)
    ax.set_ylim(0.4, 2000)
    ax.set_xlabel("P, training patterns")
    ax.set_ylabel("peak memory growth, one LM iteration (MB)")
    M, N = rows[0]["M"], rows[0]["N"]
    ax.set_title(f"Storing J (§12.5): MLP 2-{HIDDEN}-2, M = {M} outputs, N = {N} weights; "
                 "each point a fresh process", fontsize=9.5, loc="left")
    ax.grid(True, which="major", alpha=0.3)
    ax.legend(loc="upper left", fontsize=8.5, frameon=False)
    return fig


def main(argv=None) -> int:
    args = _common.parse_args(argv, __doc__)
    if not available():
        print("limit_memory: needs Linux's /proc/self/clear_refs and /proc/self/status; nothing measured")
        return 0
    config = QUICK if args.quick else FULL
    t0 = time.perf_counter()
    rows, _ = run(config, seed=args.seed)
    seconds = time.perf_counter() - t0
    out = _common.measured_dir(args.out)
    md, csv = _common.write_table(rows, COLUMNS, "limit_memory", out, FORMATS)
    png = _common.save_figure(figure(rows), "limit_memory", out)
    print(f"peak memory growth for P = {min(config['patterns']):,} … {max(config['patterns']):,} in {seconds:.1f} s")
    print(md)
    print(csv)
    print(png)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
