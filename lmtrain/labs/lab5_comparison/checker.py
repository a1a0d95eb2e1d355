"""Checker of lab 5: the Table 12.2 set-up and the rows run with ``run_trials``.

The student's functions are called with a few trials and compared with
``lm.experiments.run_trials`` on the set-up the sheet describes (the one
``chapters/fig_12_8.py`` uses): equal trials give equal results, since trial
i starts from weights fixed by the seed.
"""

from __future__ import annotations

import math

import numpy as np

import lmtrain as lm

from .._kit import Failure, call, fmt, unpack

ROWS = {
    "EBP alpha=1": ("ebp", {"alpha": 1.0 / 32, "max_iter": 2000}),
    "EBP alpha=100": ("ebp", {"alpha": 100.0 / 32, "max_iter": 2000}),
    "Gauss-Newton": ("gauss_newton", {"max_iter": 1000}),
    "LM": ("lm", {"mu": 0.1, "max_iter": 1000}),
}
TRIALS = 8


def prepare():
    net = lm.mlp([3, 3, 1], gain=0.5)
    X, D = lm.datasets.parity(3)
    for algorithm, options in ROWS.values():
        lm.experiments.run_trials(net, X, D, algorithm=algorithm, trials=2, progress=False,
                                  **dict(options, max_iter=2))


def expected(n, algorithm, options, trials, seed):
    network = lm.mlp([n, n, 1], gain=0.5)
    X, D = lm.datasets.parity(n)
    return lm.experiments.run_trials(network, X, D, algorithm=algorithm, trials=trials, seed=seed,
                                     goal=len(X) / 200.0, progress=False, **options)


def check_parity_setup(fn) -> str:
    for n in (3, 4):
        details = [f"call:     parity_setup({n})"]
        network, X, D, goal = unpack(call(fn, n), 4, "parity_setup", "§12.4", details)
        want = lm.mlp([n, n, 1], gain=0.5)
        X_exp, D_exp = lm.datasets.parity(n)
        if not isinstance(network, lm.Network):
            raise Failure("Fig. 12.7", f"the network should be an lmtrain Network, got {type(network).__name__}",
                          details)
        if network != want:
            raise Failure("Fig. 12.7", f"the network should be lm.mlp([{n}, {n}, 1], gain=0.5): an MLP {n}-{n}-1 of "
                                       f"bipolar neurons with gain 0.5; got {network!r}", details)
        if np.shape(X) != X_exp.shape or np.shape(D) != D_exp.shape or not (
                np.array_equal(X, X_exp) and np.array_equal(D, D_exp)):
            raise Failure("Fig. 12.6", f"X, D should be lm.datasets.parity({n}): bipolar patterns and targets",
                          details)
        P = len(X_exp)
        try:
            goal = float(goal)
        except (TypeError, ValueError):
            raise Failure("§12.4", "the goal should be a number", details) from None
        if not math.isclose(goal, P / 200.0, rel_tol=1e-12):
            hint = ""
            if math.isclose(goal, 0.01):
                hint = ": 0.01 is the goal on SSE/P; on E = 1/2 sum e^2 it is P * 0.01 / 2"
            elif math.isclose(goal, P / 100.0):
                hint = ": that is SSE <= 0.01 P; lmtrain's E has the 1/2 (eq. 12.1)"
            raise Failure("§12.4, eq. 12.1", f"for parity-{n} (P = {P}) the goal on E is P/200 = {fmt(P / 200.0)}, "
                                             f"got {fmt(goal)}{hint}", details)
    return "parity-3 and parity-4: network, patterns and goal"


def check_table_rows(fn) -> str:
    got = call(fn)
    if not isinstance(got, dict):
        raise Failure("Table 12.2", f"table_rows should return a dict, got {type(got).__name__}")
    if set(got) != set(ROWS):
        raise Failure("Table 12.2", f"the rows are named {sorted(ROWS)}; got {sorted(got)}")
    for name, (algorithm, options) in ROWS.items():
        details = [f"row:      {name!r}", f"expected: {(algorithm, options)!r}", f"got:      {got[name]!r}"]
        a, o = unpack(got[name], 2, "each row", "Table 12.2", details)
        if a != algorithm:
            raise Failure("Table 12.1", f"row {name!r} runs algorithm {algorithm!r}", details)
        if not isinstance(o, dict) or set(o) != set(options) or any(
                not math.isclose(float(o[k]), float(v), rel_tol=1e-12) for k, v in options.items()):
            raise Failure("§12.4 set-up", f"row {name!r} takes the options {options!r}", details)
    return "the four rows with the set-up's options"


def check_run_row(fn) -> str:
    cases = [(3, "lm", {"mu": 0.1, "max_iter": 1000}, 1), (3, "ebp", {"alpha": 1.0 / 32, "max_iter": 2000}, 2),
             (4, "lm", {"mu": 0.1, "max_iter": 1000}, 3)]
    for n, algorithm, options, seed in cases:
        exp = expected(n, algorithm, options, TRIALS, seed)
        details = [f"call:     run_row({n}, {algorithm!r}, {options!r}, trials={TRIALS}, seed={seed})",
                   f"expected: iterations {exp.iterations.tolist()}, success {exp.success.astype(int).tolist()}"]
        got = call(fn, n, algorithm, dict(options), trials=TRIALS, seed=seed)
        it = getattr(got, "iterations", None)
        ok = getattr(got, "success", None)
        if it is None or ok is None:
            raise Failure("§12.4", f"run_row should return the TrialSummary of run_trials, got {type(got).__name__}",
                          details)
        details.append(f"got:      iterations {np.asarray(it).tolist()}, success {np.asarray(ok).astype(int).tolist()}")
        if not (np.array_equal(np.asarray(it), exp.iterations) and np.array_equal(np.asarray(ok), exp.success)):
            raise Failure("§12.4 set-up", f"the trials differ from run_trials on parity-{n} with goal P/200 = "
                                          f"{fmt(2 ** n / 200)}, the given algorithm, options, trials and seed",
                          details)
    return f"{len(cases)} rows of {TRIALS} trials equal to run_trials"


def check_table(fn) -> str:
    got = call(fn, 3, trials=TRIALS, seed=4)
    if not isinstance(got, dict) or set(got) != set(ROWS):
        raise Failure("Table 12.2", f"table should return a dict with the rows {sorted(ROWS)}")
    for name, (algorithm, options) in ROWS.items():
        exp = expected(3, algorithm, options, TRIALS, 4)
        want = (exp.success_rate, exp.mean_iterations)
        details = [f"call:     table(3, trials={TRIALS}, seed=4)", f"row:      {name!r}",
                   f"expected: (success rate, mean iterations) = ({fmt(want[0])}, {fmt(want[1])})",
                   f"got:      {got[name]!r}"]
        rate, iters = unpack(got[name], 2, "each row", "Table 12.2", details)
        try:
            rate, iters = float(rate), float(iters)
        except (TypeError, ValueError):
            raise Failure("Table 12.2", "each row is a pair of numbers", details) from None
        if math.isclose(rate, 100 * want[0]) and want[0] > 0:
            raise Failure("Table 12.2", "the success rate is a fraction in [0, 1], not a percentage", details)
        same_iters = (math.isnan(iters) and math.isnan(want[1])) or math.isclose(iters, want[1], rel_tol=1e-12)
        if not math.isclose(rate, want[0]) or not same_iters:
            raise Failure("Table 12.2", "success rate and mean iterations of the successful trials "
                                        "(TrialSummary.success_rate, .mean_iterations)", details)
    return f"parity-3, {TRIALS} trials per row, equal to run_trials"


CHECKS = {
    "parity_setup": check_parity_setup,
    "table_rows": check_table_rows,
    "run_row": check_run_row,
    "table": check_table,
}
