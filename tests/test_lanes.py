"""EBP trials run side by side in lanes must end exactly as each trial run alone.

The oracle is the one-trial compiled loop (``lmtrain.train``'s path, itself
tested against the general path and the update rule): for every trial the stop
reason, iteration count, final and initial error, final weights and error
history must be equal bit for bit, whatever the lane count, across topologies,
activations, several outputs, momentum, and every way an EBP run can stop
(goal, iteration limit, min_grad, min_step, divergence, goal met at the start).
"""

from __future__ import annotations

import numpy as np
import pytest

import lmtrain as lm
from lmtrain.algorithms import EBP, records, resolve_options
from lmtrain.algorithms._fast import lanes as _lanes
from lmtrain.algorithms._fast import trials as _batch
from lmtrain.experiments import run_trials, trial_weights
from lmtrain.result import StopReason


def _two_output_dag():
    # one, two and three inputs per neuron; two outputs of mixed activations
    net = lm.Network(2, [
        {"inputs": [0, 1], "activation": "bipolar", "gain": 0.7},
        {"inputs": [2], "activation": "unipolar", "gain": 1.3},
        {"inputs": [1, 2, 3], "activation": "linear", "gain": 0.9},
    ], outputs=[3, 4])
    X, D = lm.datasets.xor()
    D2 = np.column_stack([D[:, 0], 0.5 * X[:, 0] - 0.25])
    return net, X, D2


def _problems():
    p3 = lm.datasets.parity(3)
    return {
        "mlp-parity3": (lm.mlp([3, 3, 1], gain=0.5), *p3),
        "fcc-parity3": (lm.fcc(3, 3), *p3),
        "bmlp-unipolar-parity3": (lm.bmlp([3, 2, 1], activation="unipolar", output_activation="linear"), *p3),
        "two-output-dag-xor": _two_output_dag(),
        "mlp-parity4": (lm.mlp([4, 4, 1]), *lm.datasets.parity(4)),
    }


PROBLEMS = _problems()
CASES = [
    ("mlp-parity3", {"alpha": 1.0, "goal": 0.01, "max_iter": 400}),
    ("mlp-parity3", {"alpha": 0.5, "momentum": 0.7, "goal": 0.01, "max_iter": 300}),
    ("mlp-parity3", {"alpha": 1e4, "goal": 0.01, "max_iter": 50}),  # chaotic steps
    ("bmlp-unipolar-parity3", {"alpha": 1e6, "max_iter": 200}),  # a linear output: these diverge
    ("mlp-parity3", {"alpha": 1.0, "min_grad": 0.05, "max_iter": 400}),  # MIN_GRAD stops
    ("mlp-parity3", {"alpha": 1e-3, "min_step": 2e-3, "max_iter": 100}),  # MIN_STEP stops
    ("mlp-parity3", {"alpha": 1.0, "goal": 1e9}),  # the goal holds before any step
    ("fcc-parity3", {"alpha": 0.3, "momentum": 0.5, "goal": 0.01, "max_iter": 250}),
    ("bmlp-unipolar-parity3", {"alpha": 0.2, "goal": 0.01, "max_iter": 200}),
    ("two-output-dag-xor", {"alpha": 0.4, "goal": 1e-3, "max_iter": 300}),
    ("mlp-parity4", {"alpha": 0.5, "goal": 0.01, "max_iter": 150}),
]


def _alone(net, X, D, W0, options):
    """Every trial through the one-trial loop (lmtrain.train)."""
    return [lm.train(net, X, D, "ebp", w0=w, **options) for w in W0]


def _check(summary, alone, what):
    for t, r in enumerate(alone):
        tag = f"{what}, trial {t}"
        assert summary.stop_reason[t] == int(r.stop_reason), tag
        assert summary.iterations[t] == r.iterations, tag
        assert summary.error[t] == r.error or (np.isnan(summary.error[t]) and np.isnan(r.error)), tag
        assert summary.initial_error[t] == r.initial_error, tag
        np.testing.assert_array_equal(summary.weights[t], r.weights, err_msg=tag)
        n = min(r.iterations, summary.error_history.shape[1])
        np.testing.assert_array_equal(summary.error_history[t, :n], r.history.error[:n], err_msg=tag)
        assert np.all(np.isnan(summary.error_history[t, n:])), tag


@pytest.mark.parametrize("name,options", CASES, ids=[f"{n}-{i}" for i, (n, _) in enumerate(CASES)])
def test_lanes_equal_trials_run_alone(name, options):
    net, X, D = PROBLEMS[name]
    W0 = trial_weights(net, 21, seed=len(name))
    assert _lanes.lanes(X.shape[0], len(W0)) > 1, "these problems are small enough for lanes"
    alone = _alone(net, X, D, W0, options)
    for parallel in (False, True):
        s = run_trials(net, X, D, "ebp", w0=W0, history=40, parallel=parallel, progress=False, **options)
        _check(s, alone, f"{name} {options} parallel={parallel}")


def test_stop_reasons_covered():
    """The cases above reach every way an EBP trial can stop (else they test less than they claim)."""
    seen = set()
    for name, options in CASES:
        net, X, D = PROBLEMS[name]
        W0 = trial_weights(net, 21, seed=len(name))
        s = run_trials(net, X, D, "ebp", w0=W0, history=0, parallel=False, progress=False, **options)
        seen.update(int(c) for c in s.stop_reason)
        if options.get("goal") == 1e9:
            assert np.all(s.iterations == 0)
    for reason in (StopReason.GOAL, StopReason.MAX_ITER, StopReason.MIN_GRAD, StopReason.MIN_STEP,
                   StopReason.DIVERGED):
        assert int(reason) in seen, reason


@pytest.mark.parametrize("n_lanes", [1, 2, 3, 5, 16])
def test_any_lane_count_gives_the_same_trials(n_lanes):
    """Called directly with any lane count (trials refill lanes as they end)."""
    net, X, D = PROBLEMS["mlp-parity3"]
    W0 = trial_weights(net, 11, seed=5)
    o = resolve_options("ebp", {"alpha": 2.0, "momentum": 0.3, "goal": 0.01, "max_iter": 300})
    opts = records.pack(o, D.size, lm._clock.ticks_per_second(), float("nan"))
    flat = _batch.flat_topology(net.topology)
    T, N, L = len(W0), net.n_weights, 25
    ref = (np.empty((T, 2), np.int64), np.empty((T, 3)), np.empty((T, N)), np.empty((T, L)))
    got = (np.empty((T, 2), np.int64), np.empty((T, 3)), np.empty((T, N)), np.empty((T, L)))
    XT, DT = np.ascontiguousarray(X.T), np.ascontiguousarray(D.T)
    flags = np.zeros(1, np.int64)
    _batch.RUN_MANY[EBP](W0, (XT, DT, True), flat, opts, (0, T, L), ref, flags)
    assert _lanes.run_many_ebp(W0, (X, D, False), flat, opts, (0, T, L), got, flags, n_lanes) == 0
    np.testing.assert_array_equal(got[0], ref[0])
    np.testing.assert_array_equal(got[1][:, :2], ref[1][:, :2])
    np.testing.assert_array_equal(got[2], ref[2])
    np.testing.assert_array_equal(got[3], ref[3])
    assert np.all(got[1][:, 2] >= 0.0)


def test_lanes_report_bad_input_like_the_loop():
    net, X, D = PROBLEMS["mlp-parity3"]
    W0 = trial_weights(net, 4, seed=1)
    W0[2, 3] = np.nan
    o = resolve_options("ebp", {})
    opts = records.pack(o, D.size, lm._clock.ticks_per_second(), float("nan"))
    outs = (np.empty((4, 2), np.int64), np.empty((4, 3)), np.empty((4, net.n_weights)), np.empty((4, 0)))
    assert _lanes.run_many_ebp(W0, (X, D, False), _batch.flat_topology(net.topology), opts, (0, 4, 0), outs,
                               np.zeros(1, np.int64), 4) == _batch.BAD_INPUT


def test_lane_count_rule():
    assert _lanes.lanes(8, 100) == 32
    assert _lanes.lanes(16, 100) == 16
    assert _lanes.lanes(32, 100) == 1  # long enough passes: one trial at a time is as fast
    assert _lanes.lanes(4, 100) == 32
    assert _lanes.lanes(8, 9) == 9
    assert _lanes.lanes(8, 7) == 1  # too few trials


def test_time_limit_keeps_the_one_trial_loop():
    """A finite max_time is checked per trial by the loop; lanes are not used then, results agree."""
    net, X, D = PROBLEMS["mlp-parity3"]
    W0 = trial_weights(net, 6, seed=2)
    a = run_trials(net, X, D, "ebp", w0=W0, alpha=1.0, goal=0.01, max_time=1e6, progress=False, parallel=False)
    b = run_trials(net, X, D, "ebp", w0=W0, alpha=1.0, goal=0.01, progress=False, parallel=False)
    np.testing.assert_array_equal(a.iterations, b.iterations)
    np.testing.assert_array_equal(a.weights, b.weights)
    assert np.all(b.time > 0.0) and abs(b.time.sum() - b.wall_time) <= b.wall_time
