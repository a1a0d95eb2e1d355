"""The four training algorithms of Table 12.1 against one contract and against NumPy.

* One behaviour suite, parametrized over ``"ebp"``, ``"newton"``,
  ``"gauss_newton"`` and ``"lm"``: result type, history lengths, stop reasons
  and messages, the error goal, determinism, finite weights even when the
  settings are chosen to diverge, every stopping rule, and the callback path
  (one iteration per call) against the compiled path.
* The update rules of EBP (eq. 12.4), Gauss–Newton (eq. 12.23) and Newton
  (eqs. 12.12–12.15, 12.20–12.21) recomputed with ``numpy.linalg`` from the
  stored Jacobian ``net.jacobian`` and from finite differences in
  ``reference.py``. The Levenberg–Marquardt rule has its own file,
  ``test_lm_rule.py``.
* Option validation: bad values raise ``ValueError`` naming the option and its
  range; options of another algorithm raise ``TypeError``.
* XOR and parity-3 (§12.4) from fixed seeds, and the multi-trial runner
  (replayable trials, parallel equal to serial).

Conventions (as the package): e = d − o, E = ½Σe² (eq. 12.1), J = ∂e/∂w with
rows pattern-major, g = ∂E/∂w = Jᵀe (eq. 12.18).
"""

from __future__ import annotations

import math
import time
from functools import lru_cache
from typing import NamedTuple

import numpy as np
import pytest

import lmtrain as lm
import reference as ref
from lmtrain import _clock, experiments
from lmtrain.algorithms import newton
from lmtrain.algorithms._fast.work import NEEDS_HESSIAN
from lmtrain.algorithms._fast.work import workspace as fast_workspace
from lmtrain.algorithms.shared import interpreted
from lmtrain.algorithms.workspace import plain_workspace
from lmtrain.result import MESSAGES, History, StopReason, TrainResult

ALGORITHMS = ("ebp", "newton", "gauss_newton", "lm")
HISTORY_FIELDS = ("error", "mu", "gradient_norm", "rejected", "forced", "time")
# every field of the history but the clock must match bit for bit between runs
EXACT_FIELDS = ("error", "mu", "gradient_norm", "rejected", "forced")


# ------------------------------------------------------------------ problems
class Problem(NamedTuple):
    net: lm.Network
    X: np.ndarray
    D: np.ndarray
    w_star: np.ndarray | None  # weights that generated D (zero-residual problems)


@lru_cache(maxsize=None)
def teacher() -> Problem:
    """Zero-residual regression: 2-3-1 (tanh hidden, linear output), 30 patterns.

    The targets are the outputs of the same network at known weights w*, so the
    minimum is E = 0 at w*, and J has full column rank there (P·M = 30 > N = 13).
    """
    net = lm.mlp([2, 3, 1], activation="bipolar", output_activation="linear")
    rng = np.random.default_rng(3)
    X = rng.uniform(-2.0, 2.0, (30, 2))
    w_star = 2.0 * net.init_weights(rng)
    return Problem(net, X, net.forward(w_star, X), w_star)


@lru_cache(maxsize=None)
def parity3() -> Problem:
    """Parity-3 on the 3-3-1 net with tanh(0.5·net) (P·M = 8 < N = 16)."""
    X, D = lm.datasets.parity(3)
    return Problem(lm.mlp([3, 3, 1], activation="bipolar", gain=0.5), X, D, None)


@lru_cache(maxsize=None)
def two_outputs(patterns: int) -> Problem:
    """Zero-residual 2-3-2 problem (N = 17); 12 patterns give P·M = 24 > N, 4 give 8 < N."""
    net = lm.mlp([2, 3, 2], activation="bipolar", output_activation="linear")
    rng = np.random.default_rng(4)
    X = rng.uniform(-2.0, 2.0, (12, 2))[:patterns]
    w_star = 2.0 * net.init_weights(rng)
    return Problem(net, X, net.forward(w_star, X), w_star)


@lru_cache(maxsize=None)
def xor() -> Problem:
    X, D = lm.datasets.xor()
    return Problem(lm.mlp([2, 2, 1], activation="bipolar"), X, D, None)


def perturbed(p: Problem, scale: float, seed: int) -> np.ndarray:
    return p.w_star + scale * np.random.default_rng(seed).standard_normal(p.w_star.size)


# ----------------------------------------------------------- NumPy oracles
def E_of(p: Problem, w) -> float:
    """E = ½Σe² by the plain-loop forward pass of ``reference.py``."""
    return ref.half_sse(p.net, w, p.X, p.D)


def J_e(p: Problem, w):
    """Stored Jacobian (unit-δ backpropagation) and the error vector e = d − o."""
    return p.net.jacobian(w, p.X), ref.errors(p.net, w, p.X, p.D)


def gradient(p: Problem, w) -> np.ndarray:
    J, e = J_e(p, w)
    return J.T @ e  # eq. 12.18


def hessian_oracle(p: Problem, w, h=1e-6) -> np.ndarray:
    """H = JᵀJ + S, S_ij = Σ_r e_r ∂²e_r/∂w_i∂w_j (eqs. 12.20–12.21).

    The second derivatives are central differences of the stored Jacobian,
    accurate to about 1e-9 — far tighter than second differences of E.
    """
    J, e = J_e(p, w)
    R, N = J.shape
    dJ = ref.fd_jacobian(lambda v: p.net.jacobian(v, p.X).reshape(-1), w, h).reshape(R, N, N)
    S = np.einsum("r,rij->ij", e, dJ)
    return J.T @ J + 0.5 * (S + S.T)


def code_hessian(p: Problem, w, hessian_step=1e-5, kernels="plain") -> np.ndarray:
    """The finite-difference Hessian that Newton's method uses, called directly on either workspace."""
    flags = np.zeros(1, np.int64)
    if kernels == "plain":
        ws = plain_workspace(NEEDS_HESSIAN, p.net.topology, p.X, p.D, flags)
    else:
        ws = fast_workspace(NEEDS_HESSIAN, p.net.topology, np.ascontiguousarray(p.X.T), np.ascontiguousarray(p.D.T),
                            flags)
    hessian = interpreted(newton.hessian) if kernels == "plain" else newton.hessian  # a Python or a compiled workspace
    hessian(ws, np.array(w, dtype=float), hessian_step)
    return np.array(ws.G)


def rel(a, b) -> float:
    """‖a − b‖ / ‖b‖ (∞-norms)."""
    a = np.asarray(a, dtype=float)
    b = np.asarray(b, dtype=float)
    return float(np.max(np.abs(a - b)) / np.max(np.abs(b)))


def same_history(a: History, b: History, fields=EXACT_FIELDS):
    for f in fields:
        x, y = getattr(a, f), getattr(b, f)
        assert x.shape == y.shape, f"history.{f}: lengths {x.shape} vs {y.shape}"
        assert np.array_equal(x, y, equal_nan=x.dtype.kind == "f"), f"history.{f} differs: {x} vs {y}"


# ------------------------------------------------ the behaviour suite set-up
#: per algorithm: options that make each take several real iterations on the
#: teacher problem from W0 (with goal 0: EBP 30 = max_iter, Newton 11, GN and LM 7)
CONTRACT_OPTIONS = {
    "ebp": {"alpha": 0.02},
    "newton": {"indefinite": "step"},  # H is indefinite at W0: "stop" would stop at once
    "gauss_newton": {},
    "lm": {},
}


def contract_w0() -> np.ndarray:
    return perturbed(teacher(), 0.5, 100)


def contract_run(algorithm, w0=None, **options) -> TrainResult:
    p = teacher()
    opts = {**CONTRACT_OPTIONS[algorithm], "max_iter": 30, **options}
    return lm.train(p.net, p.X, p.D, algorithm, w0=contract_w0() if w0 is None else w0, **opts)


def check_contract(r: TrainResult, p: Problem, w0, goal: float):
    """Everything every result must satisfy, whatever the algorithm and stop."""
    assert isinstance(r, TrainResult)
    assert isinstance(r.history, History)
    assert isinstance(r.stop_reason, StopReason)
    assert isinstance(r.message, str) and r.message == MESSAGES[r.stop_reason] == r.stop_reason.message
    assert r.message.strip()
    assert isinstance(r.iterations, int) and r.iterations >= 0
    for f in HISTORY_FIELDS + ("validation_error",):
        assert len(getattr(r.history, f)) == r.iterations, f"len(history.{f}) != iterations"
    assert len(r.history) == r.iterations
    assert r.weights.shape == (p.net.n_weights,) and r.weights.dtype == np.float64
    assert np.all(np.isfinite(r.weights)), "non-finite weights returned"
    assert math.isfinite(r.error) and math.isfinite(r.initial_error)
    assert np.all(np.isfinite(r.history.error))
    # reaching the goal is exactly "E <= goal"; success is convergence (goal, or a vanished gradient or step)
    assert r.reached_goal == (r.stop_reason is StopReason.GOAL) == (r.error <= goal)
    assert r.success == (r.stop_reason in (StopReason.GOAL, StopReason.MIN_GRAD, StopReason.MIN_STEP))
    # (abs: each e = d − o carries a rounding error of about 1e-16, so E = ½Σe² is known to
    # about Σ|e|·1e-16 ≤ 1e-14·√E; near a perfect fit that is most of E)
    assert r.initial_error == pytest.approx(E_of(p, w0), rel=1e-12, abs=1e-14 * math.sqrt(r.initial_error) + 1e-30)
    assert r.error == pytest.approx(E_of(p, r.weights), rel=1e-10, abs=1e-14 * math.sqrt(r.error) + 1e-30)
    if r.iterations > 0:
        assert r.history.error[-1] == r.error
        assert r.history.gradient_norm[0] == pytest.approx(np.linalg.norm(gradient(p, w0)), rel=1e-10)
    else:
        assert np.array_equal(r.weights, w0)
        assert r.error == r.initial_error
    assert np.all(np.diff(r.history.time) >= 0.0) and np.all(r.history.time >= 0.0)
    assert np.all(r.history.gradient_norm >= 0.0)
    assert np.all(r.history.rejected >= 0)
    if r.algorithm == "lm":
        assert np.all(r.history.mu > 0.0) and np.all(np.isfinite(r.history.mu))
    else:
        assert not r.history.forced.any() and not r.history.rejected.any()
        expected_mu = 0.0 if r.algorithm == "gauss_newton" else np.nan
        assert np.array_equal(r.history.mu, np.full(r.iterations, expected_mu), equal_nan=True)


# ===================================================== 1. the behaviour suite
@pytest.mark.parametrize("goal", [0.0, 1e-6, 1.0, 1e3])
@pytest.mark.parametrize("algorithm", ALGORITHMS)
def test_contract(algorithm, goal):
    p = teacher()
    w0 = contract_w0()
    w0_before = w0.copy()
    r = contract_run(algorithm, w0=w0, goal=goal)
    check_contract(r, p, w0, goal)
    assert np.array_equal(w0, w0_before), "train() modified w0"
    assert r.algorithm == algorithm
    if goal >= r.initial_error:
        assert r.stop_reason is StopReason.GOAL and r.iterations == 0


@pytest.mark.parametrize("algorithm", ALGORITHMS)
def test_deterministic_for_given_w0(algorithm):
    a = contract_run(algorithm, goal=1e-8)
    b = contract_run(algorithm, goal=1e-8)
    assert a.iterations == b.iterations > 0
    assert a.stop_reason is b.stop_reason
    assert np.array_equal(a.weights, b.weights)
    assert a.error == b.error and a.initial_error == b.initial_error
    same_history(a.history, b.history)
    # seed= draws w0 reproducibly too
    p = parity3()
    c, d = (lm.train(p.net, p.X, p.D, algorithm, seed=5, max_iter=20, **CONTRACT_OPTIONS[algorithm])
            for _ in range(2))
    assert np.array_equal(c.weights, d.weights)
    same_history(c.history, d.history)


def _divergent_cases():
    """(id, algorithm, problem, w0, options): settings chosen to blow up."""
    p3 = parity3()
    lin = Problem(lm.mlp([3, 3, 1], activation="bipolar", gain=0.5, output_activation="linear"), p3.X, p3.D, None)
    t = teacher()
    scaled = Problem(t.net, t.X * np.array([30.0, 1.0]), t.D * 1e6, None)  # badly scaled inputs and targets
    cases = [
        ("ebp-alpha1e6-tanh", "ebp", p3, p3.net.init_weights(1), {"alpha": 1e6, "max_iter": 200}),
        ("ebp-alpha1e6-linear-output", "ebp", lin, lin.net.init_weights(1), {"alpha": 1e6, "max_iter": 200}),
        ("ebp-alpha10-linear-output", "ebp", lin, lin.net.init_weights(1), {"alpha": 10.0, "max_iter": 500}),
        ("gn-badly-scaled", "gauss_newton", scaled, t.net.init_weights(2), {"max_iter": 100}),
        ("gn-parity3", "gauss_newton", p3, p3.net.init_weights(0), {"max_iter": 100}),
        ("lm-tiny-mu-forced", "lm", p3, p3.net.init_weights(0),
         {"mu": 1e-15, "mu_min": 1e-20, "max_tries": 1, "mu_inc": 1.0001, "max_iter": 100}),
    ]
    for s in range(4):
        cases.append((f"newton-indefinite-step-{s}", "newton", p3, p3.net.init_weights(s),
                      {"indefinite": "step", "max_iter": 200}))
    return cases


DIVERGENT = _divergent_cases()


@pytest.mark.parametrize("case", DIVERGENT, ids=[c[0] for c in DIVERGENT])
def test_no_nonfinite_weights_in_divergent_settings(case):
    _, algorithm, p, w0, options = case
    r = lm.train(p.net, p.X, p.D, algorithm, w0=w0, **options)
    check_contract(r, p, w0, goal=0.0)
    assert np.all(np.isfinite(r.history.gradient_norm))


def test_divergent_settings_really_diverge():
    """The settings above do reach the guarded paths: a DIVERGED stop (last
    finite weights returned) and weights grown by orders of magnitude."""
    by_id = {c[0]: c for c in DIVERGENT}

    def run(key):
        _, algorithm, p, w0, options = by_id[key]
        return lm.train(p.net, p.X, p.D, algorithm, w0=w0, **options)

    r = run("ebp-alpha1e6-linear-output")
    assert r.stop_reason is StopReason.DIVERGED
    assert r.error > 1e100 and np.max(np.abs(r.weights)) > 1e100
    assert run("gn-badly-scaled").error > 1e3 * run("gn-badly-scaled").initial_error
    assert np.max(np.abs(run("newton-indefinite-step-1").weights)) > 1e6


@pytest.mark.parametrize("algorithm", ALGORITHMS)
def test_max_iter(algorithm):
    full = contract_run(algorithm, goal=0.0)
    assert full.iterations > 3
    r = contract_run(algorithm, goal=0.0, max_iter=3)
    assert r.stop_reason is StopReason.MAX_ITER and r.iterations == 3 and not r.success
    # the first three iterations of the longer run, exactly
    for f in EXACT_FIELDS:
        assert np.array_equal(getattr(r.history, f), getattr(full.history, f)[:3], equal_nan=True)
    r0 = contract_run(algorithm, max_iter=0)
    assert r0.stop_reason is StopReason.MAX_ITER and r0.iterations == 0
    assert np.array_equal(r0.weights, contract_w0()) and r0.error == r0.initial_error


@pytest.mark.skipif(_clock.ticks_per_second() == 0.0, reason="no cycle counter for the compiled time check")
@pytest.mark.parametrize("algorithm", ALGORITHMS)
def test_max_time(algorithm):
    # a limit already passed when the first iteration would start
    r = contract_run(algorithm, max_time=1e-9)
    assert r.stop_reason is StopReason.MAX_TIME and r.iterations == 0
    assert np.array_equal(r.weights, contract_w0())
    # a callback that sleeps 50 ms makes 0.12 s pass within 3 iterations; without
    # the limit every algorithm runs at least 7 here
    assert contract_run(algorithm, goal=0.0).iterations >= 7
    r = contract_run(algorithm, goal=0.0, max_time=0.12, callback=lambda rec: time.sleep(0.05))
    assert r.stop_reason is StopReason.MAX_TIME
    assert r.iterations <= 3
    check_contract(r, teacher(), contract_w0(), 0.0)


@pytest.mark.parametrize("algorithm", ALGORITHMS)
def test_min_grad_and_min_step(algorithm):
    w0 = contract_w0()
    r = contract_run(algorithm, min_grad=1e10)
    assert r.stop_reason is StopReason.MIN_GRAD and r.iterations == 0
    assert np.array_equal(r.weights, w0)
    r = contract_run(algorithm, min_step=1e10)
    assert r.stop_reason is StopReason.MIN_STEP and r.iterations == 1
    assert not np.array_equal(r.weights, w0)
    check_contract(r, teacher(), w0, 0.0)


@pytest.mark.parametrize("algorithm", ["gauss_newton", "lm"])
def test_min_grad_means_small_gradient(algorithm):
    """GN and LM converge to the zero-residual minimum and stop on min_grad,
    where the gradient recomputed with NumPy is indeed below it."""
    r = contract_run(algorithm, goal=0.0, min_grad=1e-10)
    assert r.stop_reason is StopReason.MIN_GRAD
    assert np.linalg.norm(gradient(teacher(), r.weights)) <= 2e-10
    assert np.allclose(r.weights, teacher().w_star, atol=1e-8)


# ---------------------------------------------------------------- callbacks
def _callback_cases():
    p3 = parity3()
    cases = [(f"{a}-teacher", a, teacher(), contract_w0(), {**CONTRACT_OPTIONS[a], "goal": 1e-10, "max_iter": 30})
             for a in ALGORITHMS]
    forced = {"max_tries": 1, "mu_inc": 1.0001, "goal": 0.01, "max_iter": 30}
    cases.append(("lm-forced-steps", "lm", p3, p3.net.init_weights(0), forced))
    cases.append(("lm-strict", "lm", p3, p3.net.init_weights(0), {**forced, "strict": True}))
    cases.append(("ebp-momentum", "ebp", p3, p3.net.init_weights(0), {"alpha": 1.0, "momentum": 0.5, "max_iter": 40}))
    return cases


CALLBACK_CASES = _callback_cases()


@pytest.mark.parametrize("case", CALLBACK_CASES, ids=[c[0] for c in CALLBACK_CASES])
def test_callback_path_equals_compiled_path(case):
    _, algorithm, p, w0, options = case
    plain = lm.train(p.net, p.X, p.D, algorithm, w0=w0, **options)
    records = []
    watched = lm.train(p.net, p.X, p.D, algorithm, w0=w0, callback=records.append, **options)
    assert watched.iterations == plain.iterations > 0
    assert watched.stop_reason is plain.stop_reason
    assert np.array_equal(watched.weights, plain.weights)
    assert watched.error == plain.error and watched.initial_error == plain.initial_error
    same_history(watched.history, plain.history)
    # one record per iteration, carrying that iteration's history entry and weights
    assert len(records) == plain.iterations
    h = plain.history
    for i, rec in enumerate(records):
        assert isinstance(rec, lm.IterationRecord)
        assert rec.iteration == i + 1
        assert rec.error == h.error[i]
        assert rec.mu == h.mu[i] or (math.isnan(rec.mu) and math.isnan(h.mu[i]))
        assert rec.gradient_norm == h.gradient_norm[i]
        assert rec.rejected == h.rejected[i] and rec.forced == bool(h.forced[i])
        assert rec.error == pytest.approx(E_of(p, rec.weights), rel=1e-10, abs=1e-14 * math.sqrt(rec.error) + 1e-30)
    assert np.array_equal(records[-1].weights, plain.weights)
    # the weights after iteration k are those of a run stopped by max_iter=k
    for k in sorted({1, (len(records) + 1) // 2}):
        short = lm.train(p.net, p.X, p.D, algorithm, w0=w0, **{**options, "max_iter": k})
        assert np.array_equal(records[k - 1].weights, short.weights)


@pytest.mark.parametrize("algorithm", ALGORITHMS)
def test_callback_returning_true_stops(algorithm):
    p = teacher()
    w0 = contract_w0()
    seen = []

    def stop_after_two(rec):
        seen.append(rec.iteration)
        return rec.iteration >= 2

    r = contract_run(algorithm, w0=w0, goal=0.0, callback=stop_after_two)
    assert r.stop_reason is StopReason.USER_STOP and not r.success
    assert r.iterations == 2 and seen == [1, 2]
    check_contract(r, p, w0, 0.0)
    two = contract_run(algorithm, w0=w0, goal=0.0, max_iter=2)
    assert np.array_equal(r.weights, two.weights)
    same_history(r.history, two.history)
    # a callback returning None or False never stops training
    r = contract_run(algorithm, w0=w0, goal=0.0, max_iter=4, callback=lambda rec: False)
    assert r.stop_reason is StopReason.MAX_ITER and r.iterations == 4


@pytest.mark.parametrize("algorithm", ALGORITHMS)
def test_goal_wins_over_a_callback_stop(algorithm):
    """The iteration that reaches the goal is a success even if the callback
    asks to stop there: success ⇔ E ≤ goal holds on the callback path too."""
    # Newton's first step from the contract start raises E; start it near w*
    w0 = perturbed(teacher(), 1e-3, 2) if algorithm == "newton" else contract_w0()
    first = contract_run(algorithm, w0=w0, max_iter=1)
    goal = first.history.error[0]
    assert goal < first.initial_error
    r = contract_run(algorithm, w0=w0, goal=goal, callback=lambda rec: True)
    assert r.iterations == 1 and r.error <= goal
    assert r.stop_reason is StopReason.GOAL and r.success


# ============================================ 2. the rules against NumPy
# ------------------------------------------------------------------- EBP
@pytest.mark.parametrize("problem", ["teacher", "parity3", "two_outputs"])
def test_ebp_step_is_minus_alpha_g(problem):
    p = {"teacher": teacher, "parity3": parity3, "two_outputs": lambda: two_outputs(12)}[problem]()
    w0 = p.net.init_weights(7)
    alpha = 0.03
    r = lm.train(p.net, p.X, p.D, "ebp", w0=w0, alpha=alpha, max_iter=1)
    g = gradient(p, w0)
    np.testing.assert_allclose(r.weights, w0 - alpha * g, rtol=1e-12, atol=1e-14)  # eq. 12.4
    assert r.history.gradient_norm[0] == pytest.approx(np.linalg.norm(g), rel=1e-12)
    # the gradient Jᵀe agrees with central differences of E (eq. 12.3)
    np.testing.assert_allclose(g, ref.fd_gradient(lambda v: E_of(p, v), w0), rtol=1e-6, atol=1e-7)


def test_ebp_momentum_steps():
    p = parity3()
    w0 = p.net.init_weights(3)
    alpha, beta, k = 0.5, 0.7, 4
    r = lm.train(p.net, p.X, p.D, "ebp", w0=w0, alpha=alpha, momentum=beta, max_iter=k)
    w, v = w0.copy(), np.zeros_like(w0)
    errors = []
    for _ in range(k):
        v = beta * v - alpha * gradient(p, w)
        w = w + v
        errors.append(E_of(p, w))
    np.testing.assert_allclose(r.weights, w, rtol=1e-11, atol=1e-13)
    np.testing.assert_allclose(r.history.error, errors, rtol=1e-11)
    # without momentum the same k steps differ (the test can tell them apart)
    plain = lm.train(p.net, p.X, p.D, "ebp", w0=w0, alpha=alpha, max_iter=k)
    assert np.max(np.abs(plain.weights - w)) > 1e-3


# ---------------------------------------------------------- Gauss–Newton
@pytest.mark.parametrize("problem", ["teacher", "two_outputs"])
def test_gauss_newton_step_full_rank(problem):
    p = {"teacher": teacher, "two_outputs": lambda: two_outputs(12)}[problem]()
    w0 = perturbed(p, 0.3, 1)
    J, e = J_e(p, w0)
    assert J.shape[0] > J.shape[1] and np.linalg.matrix_rank(J) == J.shape[1]
    step = np.linalg.solve(J.T @ J, J.T @ e)  # eq. 12.23
    np.testing.assert_allclose(np.linalg.lstsq(J, e, rcond=None)[0], step, rtol=1e-8, atol=1e-12)
    r = lm.train(p.net, p.X, p.D, "gauss_newton", w0=w0, max_iter=1)
    assert r.iterations == 1
    assert rel(w0 - r.weights, step) < 1e-9


@pytest.mark.parametrize("problem", ["parity3", "two_outputs_wide"])
def test_gauss_newton_step_minimum_norm_when_wide(problem):
    """P·M < N: JᵀJ is singular; the step is the minimum-norm J⁺e."""
    p = {"parity3": parity3, "two_outputs_wide": lambda: two_outputs(4)}[problem]()
    w0 = p.net.init_weights(1)
    J, e = J_e(p, w0)
    assert J.shape[0] < J.shape[1]
    step = np.linalg.pinv(J) @ e
    np.testing.assert_allclose(np.linalg.lstsq(J, e, rcond=None)[0], step, rtol=1e-8, atol=1e-12)
    r = lm.train(p.net, p.X, p.D, "gauss_newton", w0=w0, max_iter=1)
    assert r.iterations == 1
    assert rel(w0 - r.weights, step) < 1e-8
    # minimum norm: no component in the null space of J
    _, _, Vt = np.linalg.svd(J)
    null = Vt[J.shape[0]:]
    assert np.max(np.abs(null @ (w0 - r.weights))) < 1e-9 * np.max(np.abs(step))


# ---------------------------------------------------------------- Newton
@pytest.mark.parametrize("where", ["teacher-near-solution", "teacher-far", "parity3"])
def test_newton_hessian_matches_independent_hessians(where):
    p = parity3() if where == "parity3" else teacher()
    w = {"teacher-near-solution": lambda: perturbed(p, 1e-3, 2),
         "teacher-far": lambda: perturbed(p, 0.5, 2),
         "parity3": lambda: p.net.init_weights(1)}[where]()
    H = code_hessian(p, w)
    assert np.array_equal(H, H.T)
    # the compiled twin's Hessian agrees with the plain kernels' to rounding of the gradients' differences
    ref.check_close(code_hessian(p, w, kernels="fast"), H, 1e-8, "Hessian of the speed twins vs the plain kernels")
    # JᵀJ + Σ e ∂²e (eqs. 12.20-12.21), second derivatives from the Jacobian
    ref.check_close(H, hessian_oracle(p, w), 1e-7, "Hessian vs JᵀJ + S")
    # central second differences of E alone (reference.fd_hessian), nothing shared
    H_E = ref.fd_hessian(lambda v: E_of(p, v), w, h=1e-4)
    ref.check_close(H, H_E, 1e-5, "Hessian vs second differences of E")
    # and the oracle itself can tell: dropping S is visible away from the solution
    if where != "teacher-near-solution":
        J, _ = J_e(p, w)
        assert ref.relative_error(J.T @ J, H_E)[0] > 1e-3


def test_newton_hessian_is_gauss_newton_at_zero_residual():
    """At w* every e = 0, so S = 0 and H = JᵀJ (the premise of eq. 12.22)."""
    p = teacher()
    J, e = J_e(p, p.w_star)
    assert np.max(np.abs(e)) < 1e-12
    ref.check_close(code_hessian(p, p.w_star), J.T @ J, 1e-8, "H(w*) vs JᵀJ")


def test_newton_step_positive_definite():
    p = teacher()
    w0 = perturbed(p, 1e-3, 2)
    H = hessian_oracle(p, w0)
    assert np.linalg.eigvalsh(H)[0] > 0.0
    r = lm.train(p.net, p.X, p.D, "newton", w0=w0, max_iter=1)
    assert r.iterations == 1
    step = np.linalg.solve(H, gradient(p, w0))  # eq. 12.15
    assert rel(w0 - r.weights, step) < 1e-6


def test_newton_indefinite_stop_and_step():
    p = parity3()
    w0 = p.net.init_weights(1)
    H = hessian_oracle(p, w0)
    assert np.linalg.eigvalsh(H)[0] < -1e-3  # genuinely indefinite
    r = lm.train(p.net, p.X, p.D, "newton", w0=w0)
    assert r.stop_reason is StopReason.NOT_POSITIVE_DEFINITE and r.iterations == 0
    assert np.array_equal(r.weights, w0)
    # indefinite="step" takes the pure Newton step anyway (towards a stationary point)
    r = lm.train(p.net, p.X, p.D, "newton", w0=w0, indefinite="step", max_iter=1)
    assert r.iterations == 1
    assert rel(w0 - r.weights, np.linalg.solve(H, gradient(p, w0))) < 1e-6


def test_newton_and_gauss_newton_agree_at_zero_residual():
    """Near w* of a zero-residual problem S = O(‖w − w*‖), so the Newton and
    Gauss–Newton steps differ by O(‖w − w*‖²): ten times closer, the gap relative
    to the distance shrinks about tenfold. Both converge quadratically."""
    p = teacher()
    gaps = []
    for scale in (1e-3, 1e-4):
        w0 = perturbed(p, scale, 2)
        d0 = np.linalg.norm(w0 - p.w_star)
        wn = lm.train(p.net, p.X, p.D, "newton", w0=w0, max_iter=1).weights
        wg = lm.train(p.net, p.X, p.D, "gauss_newton", w0=w0, max_iter=1).weights
        assert np.linalg.norm(wn - p.w_star) < 0.5 * d0
        assert np.linalg.norm(wg - p.w_star) < 0.05 * d0
        gaps.append(np.linalg.norm(wn - wg) / d0)
    assert gaps[1] < 0.1  # the steps agree to 10 % of their length ...
    assert gaps[1] < 0.2 * gaps[0]  # ... and the relative gap is O(‖w − w*‖)
    # quadratic convergence: residual norms ρ = √(2E) obey ρ_{k+1} ≤ C ρ_k²
    for algorithm in ("newton", "gauss_newton"):
        r = lm.train(p.net, p.X, p.D, algorithm, w0=perturbed(p, 1e-3, 2), goal=0.0, max_iter=3)
        assert r.error < 1e-20  # from E ≈ 1e-6 in at most three steps
        rho = np.sqrt(2.0 * np.r_[r.initial_error, r.history.error])
        for a, b in zip(rho[:-1], rho[1:]):
            if a > 1e-9:
                assert b <= 100.0 * a * a, f"{algorithm} not quadratic: {a:.3e} -> {b:.3e}"


# ===================================================== 3. option validation
BAD_VALUES = [
    # (algorithm, options, the range text the message must show)
    ("ebp", {"alpha": 0.0}, "(0.0, inf)"),
    ("ebp", {"alpha": -1.0}, "(0.0, inf)"),
    ("ebp", {"alpha": math.nan}, "NaN"),
    ("ebp", {"alpha": math.inf}, "finite"),
    ("ebp", {"momentum": 1.0}, "[0.0, 1.0)"),
    ("ebp", {"momentum": -0.1}, "[0.0, 1.0)"),
    ("lm", {"mu": 0.0}, "(0.0, inf)"),
    ("lm", {"mu": -0.5}, "(0.0, inf)"),
    ("lm", {"mu": math.nan}, "NaN"),
    ("lm", {"mu_inc": 1.0}, "(1.0, inf)"),
    ("lm", {"mu_inc": 0.5}, "(1.0, inf)"),
    ("lm", {"mu_dec": 1.0}, "(1.0, inf)"),
    ("lm", {"mu_dec": math.nan}, "NaN"),
    ("lm", {"max_tries": 0}, "[1, inf)"),
    ("lm", {"mu_min": 0.1}, "at most mu (0.01, its default)"),  # above mu
    ("lm", {"mu_max": 1e-3}, "at least mu (0.01, its default)"),  # below mu
    ("newton", {"hessian_step": 0.0}, "(0.0, 1.0]"),
    ("newton", {"indefinite": "maybe"}, "['stop', 'step']"),
] + [
    (a, opt, text) for a in ALGORITHMS for opt, text in [
        ({"goal": -1.0}, "[0.0, inf)"),
        ({"goal": math.nan}, "NaN"),
        ({"max_iter": -1}, "[0, inf)"),
        ({"min_grad": -1e-3}, "[0.0, inf)"),
        ({"min_step": math.nan}, "NaN"),
        ({"max_time": 0.0}, "(0.0, inf)"),
        ({"max_time": math.nan}, "NaN"),
    ]
]


@pytest.mark.parametrize("algorithm,options,range_text", BAD_VALUES,
                         ids=[f"{a}-{next(iter(o))}={next(iter(o.values()))}" for a, o, _ in BAD_VALUES])
def test_bad_option_values_raise_value_error(algorithm, options, range_text):
    p = xor()
    (name, value), = options.items()
    with pytest.raises(ValueError) as info:
        lm.train(p.net, p.X, p.D, algorithm, seed=0, **options)
    msg = str(info.value)
    assert name in msg and range_text in msg, msg
    # the multi-trial runner validates the same way
    with pytest.raises(ValueError, match=name):
        experiments.run_trials(p.net, p.X, p.D, algorithm, trials=2, **options)


@pytest.mark.parametrize("algorithm,option", [
    ("lm", "alpha"), ("lm", "momentum"), ("lm", "indefinite"), ("gauss_newton", "mu"),
    ("gauss_newton", "alpha"), ("ebp", "mu"), ("ebp", "max_tries"), ("newton", "alpha"), ("newton", "strict"),
    ("lm", "learning_rate"),
])
def test_option_of_another_algorithm_raises_type_error(algorithm, option):
    p = xor()
    with pytest.raises(TypeError, match=option):
        lm.train(p.net, p.X, p.D, algorithm, seed=0, **{option: 0.1})


@pytest.mark.parametrize("options", [{"max_iter": 2.5}, {"max_tries": 1.5}, {"strict": "yes"}, {"mu": "0.1"},
                                     {"max_iter": math.nan}])
def test_wrong_option_types_raise_type_error(options):
    p = xor()
    (name, _), = options.items()
    with pytest.raises(TypeError, match=name):
        lm.train(p.net, p.X, p.D, "lm", seed=0, **options)


def test_unknown_algorithm_and_bad_w0():
    p = xor()
    with pytest.raises(ValueError, match="quasi_newton") as info:
        lm.train(p.net, p.X, p.D, "quasi_newton", seed=0)
    for name in ALGORITHMS:
        assert name in str(info.value)
    with pytest.raises(TypeError, match="algorithm"):
        lm.train(p.net, p.X, p.D, 3, seed=0)
    with pytest.raises(ValueError, match="w0") as info:
        lm.train(p.net, p.X, p.D, "lm", w0=np.zeros(p.net.n_weights + 1))
    assert str(p.net.n_weights) in str(info.value)
    with pytest.raises(ValueError, match="w0"):
        lm.train(p.net, p.X, p.D, "lm", w0=np.full(p.net.n_weights, np.nan))
    with pytest.raises(TypeError, match="callback"):
        lm.train(p.net, p.X, p.D, "lm", seed=0, callback=42)
    # aliases name the same algorithm
    assert lm.train(p.net, p.X, p.D, "Gauss-Newton", seed=0, max_iter=1).algorithm == "gauss_newton"


# ============================================== 4. XOR and parity-3 (§12.4)
XOR_SEEDS = {
    # found by scanning seeds 0-299 (GN), 0-39 (LM), 0-19 (EBP α=0.5) with goal 0.01
    "lm": [0, 9, 12],
    "gauss_newton": [11, 65, 139],  # GN solves XOR from only about 3 % of random starts
    "ebp": [1, 2, 3],
}
XOR_OPTIONS = {"lm": {"max_iter": 100}, "gauss_newton": {"max_iter": 100}, "ebp": {"alpha": 0.5, "max_iter": 5000}}


@pytest.mark.parametrize("algorithm,seed", [(a, s) for a, seeds in XOR_SEEDS.items() for s in seeds])
def test_xor_solved_from_seeded_random_weights(algorithm, seed):
    p = xor()
    w0 = p.net.init_weights(seed)
    r = lm.train(p.net, p.X, p.D, algorithm, w0=w0, goal=0.01, **XOR_OPTIONS[algorithm])
    assert r.success and r.error <= 0.01
    check_contract(r, p, w0, 0.01)
    O_ref = ref.forward(p.net, r.weights, p.X)
    assert np.array_equal(np.sign(O_ref), p.D), "XOR outputs on the wrong side of zero"


def test_newton_cannot_start_xor_from_random_weights():
    """At random starts the XOR Hessian is indefinite (checked with NumPy):
    Newton stops at once with NOT_POSITIVE_DEFINITE."""
    p = xor()
    for seed in range(8):
        w0 = p.net.init_weights(seed)
        r = lm.train(p.net, p.X, p.D, "newton", w0=w0, goal=0.01)
        assert r.stop_reason is StopReason.NOT_POSITIVE_DEFINITE and r.iterations == 0, seed
        assert np.linalg.eigvalsh(hessian_oracle(p, w0))[0] < 0.0, seed


def test_newton_solves_xor_near_a_solution():
    """From small seeded perturbations (0.05·N(0, 1)) of a point found by LM,
    Newton reaches goal 0.01 in a few iterations.

    The LM point has E ≤ 0.1: at E ≤ 0.01 such perturbations mostly leave E
    below the goal, so Newton would have nothing to do. XOR with tanh units has
    its minimum E = 0 only at infinite weights, so the convergence is fast but
    linear (E falls about threefold per step), not quadratic; see
    test_newton_and_gauss_newton_agree_at_zero_residual for the quadratic case.
    """
    p = xor()
    start = lm.train(p.net, p.X, p.D, "lm", seed=12, goal=0.1)
    assert start.success
    for k in range(5):
        w0 = start.weights + 0.05 * np.random.default_rng(k).standard_normal(p.net.n_weights)
        r = lm.train(p.net, p.X, p.D, "newton", w0=w0, goal=0.01, max_iter=50)
        assert r.initial_error > 0.01
        assert r.success and r.iterations <= 3, (k, r)
        E = np.r_[r.initial_error, r.history.error]
        assert np.all(E[1:] < 0.5 * E[:-1])
        assert np.array_equal(np.sign(ref.forward(p.net, r.weights, p.X)), p.D)


@pytest.fixture(scope="module")
def parity3_lm_trials():
    p = parity3()
    return {par: experiments.run_trials(p.net, p.X, p.D, "lm", trials=100, seed=0, goal=0.01, parallel=par)
            for par in (True, False)}


def test_lm_solves_parity3_in_95_of_100_trials(parity3_lm_trials):
    t = parity3_lm_trials[True]
    assert t.trials == 100
    assert t.reached_goal.sum() >= 95, t
    assert np.all(t.error[t.reached_goal] <= 0.01)
    assert t.mean_iterations < 20


def test_parity3_trials_replay_with_train(parity3_lm_trials):
    p = parity3()
    t = parity3_lm_trials[True]
    W0 = experiments.trial_weights(p.net, 100, seed=0)
    assert np.array_equal(W0, t.initial_weights)
    children = np.random.SeedSequence(0).spawn(100)
    for i in sorted({0, 1, 2, 50, 99, *np.flatnonzero(~t.reached_goal)[:3].tolist()}):
        assert np.array_equal(W0[i], p.net.init_weights(np.random.default_rng(children[i])))
        r = lm.train(p.net, p.X, p.D, "lm", w0=W0[i], goal=0.01)
        assert r.iterations == t.iterations[i]
        assert int(r.stop_reason) == t.stop_reason[i]
        assert np.array_equal(r.weights, t.weights[i])
        assert r.error == t.error[i] and r.initial_error == t.initial_error[i]
        assert np.array_equal(r.history.error, t.error_history[i, : r.iterations])
        assert np.all(np.isnan(t.error_history[i, r.iterations:]))


# ========================================== 5. parallel trials equal serial
def _same_trials(a, b):
    for f in ("stop_reason", "iterations", "error", "initial_error", "weights", "initial_weights"):
        assert np.array_equal(getattr(a, f), getattr(b, f)), f
    assert np.array_equal(a.error_history, b.error_history, equal_nan=True)


def test_parallel_equals_serial_lm_parity3(parity3_lm_trials):
    _same_trials(parity3_lm_trials[True], parity3_lm_trials[False])


@pytest.mark.parametrize("algorithm,options", [
    ("ebp", {"alpha": 1.0, "max_iter": 300}), ("gauss_newton", {}), ("newton", {"indefinite": "step"}),
    ("lm", {"strict": True, "max_tries": 1}),
])
def test_parallel_equals_serial(algorithm, options):
    p = parity3()
    a, b = (experiments.run_trials(p.net, p.X, p.D, algorithm, trials=12, seed=3, goal=0.01, history=50,
                                   parallel=par, **options) for par in (True, False))
    _same_trials(a, b)
    assert a.iterations.max() > 0



def test_max_time_without_a_cycle_counter_warns(monkeypatch):
    """Where compiled code cannot read a clock, a max_time request must not pass silently."""
    from lmtrain import algorithms

    monkeypatch.setattr(_clock, "_HZ", 0.0)
    algorithms.run._PLANS.clear()
    try:
        X, D = lm.datasets.xor()
        net = lm.mlp([2, 2, 1])
        with pytest.warns(RuntimeWarning, match="max_time"):
            r = lm.train(net, X, D, "lm", seed=0, max_time=5.0, max_iter=3)
        assert r.iterations <= 3 and np.all(np.isfinite(r.weights))
        assert np.all(r.history.time == 0.0)
    finally:
        algorithms.run._PLANS.clear()
