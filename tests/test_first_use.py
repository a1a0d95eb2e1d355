"""What a new user meets first: what ``success`` means, goals in MSE or SSE, curve fits that overflow
at the start, and the interpreter (``NUMBA_DISABLE_JIT=1``) agreeing with compiled code at the extremes.

The oracles are independent of the code under test: errors recomputed from
the weights with NumPy, the stop rules read off the recorded history, and
the compiled run for the interpreted one.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pytest

import lmtrain as lm
from lmtrain import StopReason

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _sse(net, w, X, D) -> float:
    """Σe² from the network's outputs, in NumPy."""
    return float(np.sum((np.asarray(D, float) - net.forward(w, X)) ** 2))


# ------------------------------------------------------------ what success means
def test_a_perfect_fit_under_the_default_goal_is_a_success():
    """XOR to E ~ 1e-19 used to end MAX_ITER, success False. Now a fit that is perfect to rounding stops
    at the default goal; with tanh outputs, whose ±1 targets lie at the asymptotes, E creeps towards 0
    until the gradient vanishes: converged, a success, but not at the goal."""
    X, D = lm.datasets.xor()
    for output, stop in (("linear", StopReason.GOAL), ("bipolar", None)):
        net = lm.mlp([2, 2, 1], output_activation=output)
        fits = 0
        for seed in range(6):
            r = lm.train(net, X, D, seed=seed)
            sse = _sse(net, r.weights, X, D)
            if sse <= 1e-10:  # fitted, by NumPy
                fits += 1
                assert r.success, (output, seed, r)
                if stop is not None:
                    assert r.stop_reason is stop and r.reached_goal and sse <= 1e-16 * np.sum(D ** 2)
            else:  # a local minimum (E = 1 on XOR): converged there, never at the goal
                assert r.stop_reason is not StopReason.GOAL and not r.reached_goal
        assert fits >= 2, output


def test_success_is_convergence_and_reached_goal_is_table_12_2s_count():
    X, D = lm.datasets.parity(3)
    net = lm.mlp([3, 3, 1], gain=0.5)
    for seed in range(12):
        r = lm.train(net, X, D, seed=seed, goal=0.04, max_iter=60)
        sse = _sse(net, r.weights, X, D)
        assert r.reached_goal == (r.stop_reason is StopReason.GOAL)
        assert r.reached_goal == (sse / 2 <= 0.04)  # the goal is met on the returned weights
        assert r.success == (r.stop_reason in (StopReason.GOAL, StopReason.MIN_GRAD, StopReason.MIN_STEP))
        if r.stop_reason is StopReason.MAX_ITER:
            assert not r.success and not r.reached_goal
    # a stationary point that is not the goal converged without reaching the goal
    stalled = lm.train(net, X, D, w0=np.zeros(net.n_weights), goal=0.04)
    assert stalled.stop_reason is StopReason.MIN_GRAD and stalled.success and not stalled.reached_goal


def test_curve_fit_success_is_its_results_success():
    x = np.linspace(0, 1, 30)
    y = 2.0 * np.exp(-1.5 * x)
    fit = lm.curve_fit(lambda x, p: p[0] * np.exp(p[1] * x), x, y, [1.0, 0.0])
    assert fit.success is fit.result.success is True
    np.testing.assert_allclose(fit.params, [2.0, -1.5], rtol=1e-8)
    capped = lm.curve_fit(lambda x, p: p[0] * np.exp(p[1] * x), x, y, [1.0, 0.0], max_iter=1)
    assert capped.success is capped.result.success is False


def test_trial_summaries_count_both():
    X, D = lm.datasets.parity(3)
    s = lm.experiments.run_trials(lm.mlp([3, 3, 1], gain=0.5), X, D, "gauss_newton", trials=20, seed=0, goal=0.04,
                                  progress=False)
    stops = s.stop_reason
    np.testing.assert_array_equal(s.reached_goal, stops == int(StopReason.GOAL))
    converged = np.isin(stops, [int(StopReason.GOAL), int(StopReason.MIN_GRAD), int(StopReason.MIN_STEP)])
    np.testing.assert_array_equal(s.success, converged)
    assert s.goal_rate == pytest.approx(np.mean(s.reached_goal))


# ------------------------------------------------------------ goals in MSE or SSE
@pytest.mark.parametrize("error, to_E", [("mse", lambda g, n: g * n / 2), ("sse", lambda g, n: g / 2),
                                         ("E", lambda g, n: g)])
def test_goal_in_mse_or_sse_stops_where_that_measure_first_meets_it(error, to_E):
    X, D = lm.datasets.parity(4)
    net = lm.mlp([4, 4, 1], gain=0.5)
    goal = 0.01
    r = lm.train(net, X, D, seed=2, goal=goal, error=error, max_iter=200)
    same = lm.train(net, X, D, seed=2, goal=to_E(goal, D.size), max_iter=200)  # the goal converted by hand
    assert r.stop_reason is StopReason.GOAL and r.iterations == same.iterations
    np.testing.assert_array_equal(r.weights, same.weights)
    measure = {"mse": lambda E: 2 * E / D.size, "sse": lambda E: 2 * E, "E": lambda E: E}[error]
    history = measure(np.asarray(r.history.error))
    assert history[-1] <= goal and np.all(history[:-1] > goal)  # stopped at the first iteration that met it
    sse = _sse(net, r.weights, X, D)
    assert r.sse == pytest.approx(sse, rel=1e-12) and r.mse == pytest.approx(sse / D.size, rel=1e-12)
    assert r.error == pytest.approx(sse / 2, rel=1e-12)


def test_goal_units_in_trials_summaries_and_the_command_line(capsys, tmp_path):
    X, D = lm.datasets.parity(3)
    net = lm.mlp([3, 3, 1], gain=0.5)
    s = lm.experiments.run_trials(net, X, D, "lm", trials=10, seed=0, goal=0.01, error="mse", progress=False)
    by_hand = lm.experiments.run_trials(net, X, D, "lm", trials=10, seed=0, goal=0.04, progress=False)
    np.testing.assert_array_equal(s.iterations, by_hand.iterations)
    np.testing.assert_allclose(s.mse, 2 * s.error / D.size, rtol=1e-15)
    np.testing.assert_allclose(s.sse, 2 * s.error, rtol=1e-15)
    row = lm.experiments.summary_table({"LM": s})[0]
    assert row["median_mse"] == pytest.approx(np.median(s.mse))
    from lmtrain.cli import main

    assert main(["compare", "--algorithm", "lm", "--trials", "10", "--goal", "0.01", "--error", "mse",
                 "--csv", str(tmp_path / "t.csv")]) == 0
    out = capsys.readouterr().out
    assert "goal MSE <= 0.01" in out.splitlines()[0]
    assert f"{100 * s.goal_rate:.0f}%" in next(line for line in out.splitlines() if line.startswith("lm "))
    with pytest.raises(ValueError, match="error"):
        lm.train(net, X, D, goal=0.01, error="rmse")


# ------------------------------------------------------------ curve fits that overflow at p0
def test_curve_fit_whose_first_error_overflows_stops_diverged_at_p0():
    """The issue's reproduction: E = inf at p0 used to accept a step never computed (AttributeError)."""
    x = np.linspace(1, 2, 20)
    fit = lm.curve_fit(lambda x, p: p[1] * np.exp(p[0] * x), x, 0.8 * np.exp(2.5 * x), [300.0, 1.0])
    assert fit.result.stop_reason is StopReason.DIVERGED and not fit.success
    np.testing.assert_array_equal(fit.params, [300.0, 1.0])  # nothing was taken
    assert fit.result.iterations == 0


def test_curve_fit_with_non_finite_residuals_at_p0_names_p0():
    x = np.linspace(1, 2, 20)
    with pytest.raises(ValueError, match="p0"):
        lm.curve_fit(lambda x, p: np.log(p[0]) * x, x, x, [-1.0])


# ------------------------------------------------------------ interpreted = compiled, at the extremes
_EXTREMES = """
import json, sys
import numpy as np
import lmtrain as lm
out = {}
for act in ("unipolar", "bipolar", "linear"):
    net = lm.mlp([1, 1], activation=act)
    X = np.array([[-1.0], [1.0], [0.0], [1e-3]])
    for b, w in ((0.0, 1000.0), (0.0, -1000.0), (750.0, 1.0), (-800.0, 1e5), (1e300, 1.0)):
        out[f"{act} forward {b} {w}"] = net.forward(np.array([b, w]), X).tolist()
    out[f"{act} jacobian"] = net.jacobian(np.array([0.0, 800.0]), X).tolist()
X, D = lm.datasets.parity(3, encoding="unipolar")
net = lm.mlp([3, 3, 1], activation="unipolar")
for algorithm in ("lm", "ebp", "gauss_newton"):
    r = lm.train(net, X, D, algorithm, w0=np.linspace(-40, 40, net.n_weights), max_iter=5, kernels="plain")
    out[f"train {algorithm}"] = [r.stop_reason.name, r.iterations, r.weights.tolist(), r.error]
json.dump(out, sys.stdout)
"""


@pytest.mark.interpreted
def test_interpreted_and_compiled_agree_where_exp_would_overflow():
    """``NUMBA_DISABLE_JIT=1`` used to raise ``OverflowError: math range error`` where compiled code gave 0."""
    results = []
    for jit_off in (False, True):
        env = dict(os.environ, PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""))
        env.pop("NUMBA_DISABLE_JIT", None)
        if jit_off:
            env["NUMBA_DISABLE_JIT"] = "1"
        proc = subprocess.run([sys.executable, "-c", _EXTREMES], capture_output=True, text=True, env=env,
                              timeout=900)
        assert proc.returncode == 0, proc.stderr
        results.append(json.loads(proc.stdout))
    compiled, interpreted = results
    assert compiled.keys() == interpreted.keys()
    for key in compiled:
        assert interpreted[key] == compiled[key], key
    assert compiled["unipolar forward 0.0 1000.0"][0] == [0.0]  # the case: f(−1000) = 0, no error


# ------------------------------------------------------------ messages name what the user set
def test_mu_beyond_its_default_ceiling_names_mu_not_mu_max():
    X, D = lm.datasets.parity(3)
    net = lm.mlp([3, 3, 1])
    with pytest.raises(ValueError, match=r"^mu must be at most mu_max \(1e\+10, its default\), got 1e\+300; "
                                         r"set mu_max too"):
        lm.train(net, X, D, mu=1e300)
    with pytest.raises(ValueError, match=r"^mu must be at most mu_max \(0.5\), got 1"):  # both set: either name is right
        lm.train(net, X, D, mu=1.0, mu_max=0.5)
    r = lm.train(net, X, D, mu=1e300, mu_max=1e301, max_iter=2)  # both set: accepted
    assert r.iterations <= 2
