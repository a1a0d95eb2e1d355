"""The Levenberg–Marquardt rule (eq. 12.25, Fig. 12.5) against NumPy.

* One iteration from w0 equals w0 − (JᵀJ + μI)⁻¹Jᵀe solved by
  ``numpy.linalg.solve`` from the stored Jacobian, with P·M ≥ N and with
  P·M < N (where the package solves the smaller system Jᵀ(JJᵀ + μI)⁻¹e);
  a huge μ gives the gradient step g/μ (eq. 12.26); μ → 0 gives the
  Gauss–Newton step (eq. 12.23), or the minimum-norm step J⁺e when P·M < N.
* Whole runs replayed by a NumPy implementation of Fig. 12.5 written here:
  same errors, μ values, rejected tries and forced steps, in the chapter's
  mode and in strict mode.
* Strict mode never raises E; chapter mode raises it exactly at its forced
  steps; μ stays within [mu_min, mu_max].
* :func:`lmtrain.algorithms.lm.decide`, the μ rule itself, from a table.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

import lmtrain as lm
from lmtrain.algorithms import lm as lm_rule
from numba import njit

from lmtrain.algorithms import records, resolve_options
from lmtrain.result import StopReason
from test_algorithms import E_of, J_e, gradient, parity3, perturbed, rel, teacher, two_outputs

#: name -> (problem, w0); mu = 0.01 and mu = 1 are accepted at the first try from these w0
PROBLEMS = {
    "tall-1-output": (teacher, lambda p: perturbed(p, 0.5, 100)),  # P·M = 30 > N = 13
    "tall-2-outputs": (lambda: two_outputs(12), lambda p: p.net.init_weights(2)),  # 24 > 17
    "wide-parity3": (parity3, lambda p: p.net.init_weights(3)),  # 8 < 16
    "wide-2-outputs": (lambda: two_outputs(4), lambda p: p.net.init_weights(0)),  # 8 < 17
}


def problem(name):
    make, w0 = PROBLEMS[name]
    p = make()
    return p, w0(p)


def lm_step(J, e, mu):
    """(JᵀJ + μI)⁻¹Jᵀe, always from the N × N system (eq. 12.25)."""
    return np.linalg.solve(J.T @ J + mu * np.eye(J.shape[1]), J.T @ e)


# ----------------------------------------------------- one iteration vs NumPy
@pytest.mark.parametrize("mu", [0.01, 1.0])
@pytest.mark.parametrize("name", list(PROBLEMS))
def test_one_iteration_matches_numpy_solve(name, mu):
    p, w0 = problem(name)
    J, e = J_e(p, w0)
    assert (J.shape[0] < J.shape[1]) == name.startswith("wide")
    r = lm.train(p.net, p.X, p.D, "lm", w0=w0, mu=mu, mu_dec=4.0, max_iter=2)
    assert r.history.rejected[0] == 0 and not r.history.forced[0], "first try was meant to be accepted"
    assert r.history.mu[0] == mu
    # accepted: μ divided by mu_dec; history.mu is the μ of the try taken in iteration 2
    assert r.history.mu[1] == pytest.approx(mu / 4.0 * 10.0 ** r.history.rejected[1], rel=1e-15)
    one = lm.train(p.net, p.X, p.D, "lm", w0=w0, mu=mu, mu_dec=4.0, max_iter=1)
    step = lm_step(J, e, mu)
    if J.shape[0] < J.shape[1]:  # the oracle's two forms agree (push-through identity)
        np.testing.assert_allclose(J.T @ np.linalg.solve(J @ J.T + mu * np.eye(J.shape[0]), e), step,
                                   rtol=1e-9, atol=1e-12)
    assert rel(w0 - one.weights, step) < 1e-9
    assert one.error == pytest.approx(E_of(p, one.weights), rel=1e-12)
    assert one.error < one.initial_error
    assert np.array_equal(one.weights, lm.train(p.net, p.X, p.D, "lm", w0=w0, mu=mu, max_iter=1).weights)


@pytest.mark.parametrize("name", list(PROBLEMS))
def test_huge_mu_gives_gradient_step(name):
    """μ ≫ ‖JᵀJ‖: Δw → g/μ, steepest descent with α = 1/μ (eq. 12.26)."""
    p, w0 = problem(name)
    J, _ = J_e(p, w0)
    mu = 1e6
    r = lm.train(p.net, p.X, p.D, "lm", w0=w0, mu=mu, max_iter=1)
    assert r.history.rejected[0] == 0
    g = gradient(p, w0)
    lam = np.linalg.eigvalsh(J.T @ J)[-1]
    assert rel(mu * (w0 - r.weights), g) < 2.0 * lam / mu
    # (and it is exactly the LM step at this μ)
    assert rel(w0 - r.weights, lm_step(J, J_e(p, w0)[1], mu)) < 1e-9


@pytest.mark.parametrize("name", ["tall-1-output", "tall-2-outputs"])
def test_tiny_mu_gives_gauss_newton_step(name):
    p = teacher() if name == "tall-1-output" else two_outputs(12)
    w0 = perturbed(p, 0.3, 1)
    J, e = J_e(p, w0)
    assert np.linalg.matrix_rank(J) == J.shape[1]
    r = lm.train(p.net, p.X, p.D, "lm", w0=w0, mu=1e-12, mu_min=1e-20, max_iter=1)
    assert r.history.rejected[0] == 0
    gn_step = np.linalg.solve(J.T @ J, J.T @ e)  # eq. 12.23
    assert rel(w0 - r.weights, gn_step) < 1e-6
    gn = lm.train(p.net, p.X, p.D, "gauss_newton", w0=w0, max_iter=1)
    assert rel(w0 - r.weights, w0 - gn.weights) < 1e-6


@pytest.mark.parametrize("name", ["wide-parity3", "wide-2-outputs"])
def test_tiny_mu_gives_minimum_norm_step_when_wide(name):
    p, w0 = problem(name)
    J, e = J_e(p, w0)
    r = lm.train(p.net, p.X, p.D, "lm", w0=w0, mu=1e-12, mu_min=1e-20, max_iter=1)
    assert r.iterations == 1 and not np.array_equal(r.weights, w0)
    mu_used = r.history.mu[0]
    assert mu_used <= 1e-7  # at most five tenfold increases
    # (the N × N form JᵀJ + μI is singular to working precision at this μ; the
    # P·M-sized form Jᵀ(JJᵀ + μI)⁻¹e is the same step and well conditioned)
    assert rel(w0 - r.weights, J.T @ np.linalg.solve(J @ J.T + mu_used * np.eye(J.shape[0]), e)) < 1e-8
    # J⁺e is the limit; the gap is about μ/σ_min² (σ_min: smallest singular value of J)
    s_min = np.linalg.svd(J, compute_uv=False)[-1]
    assert rel(w0 - r.weights, np.linalg.pinv(J) @ e) < 10.0 * mu_used / s_min**2 + 1e-8


# ------------------------------------------------- Fig. 12.5 replayed in NumPy
def fig_12_5(p, w0, *, goal=0.0, max_iter=1000, mu=0.01, mu_inc=10.0, mu_dec=10.0, mu_min=1e-20, mu_max=1e10,
             max_tries=5, strict=False, min_grad=1e-10):
    """Plain NumPy LM following Fig. 12.5 and the documented options.

    Each iteration: J and e at w; try Δw with the current μ; E fell or stayed
    (E_t ≤ E): keep, μ ← max(μ/mu_dec, mu_min). Otherwise retract, μ ← μ·mu_inc,
    and try again, up to ``max_tries`` retries. If the try after the last retry
    still fails, the chapter takes it (forced) when E_t is finite; strict mode
    (or a non-finite E_t) keeps w and multiplies μ once more. μ above mu_max
    stops the run (MU_MAX). Returns the per-iteration record and the end state.
    """
    w = np.array(w0, dtype=float)
    E = E_of(p, w)
    rows = []  # (E after, mu used, rejected, forced)
    stop = None
    while stop is None:
        if E <= goal:
            stop = "GOAL"
            break
        if len(rows) >= max_iter:
            stop = "MAX_ITER"
            break
        J, e = J_e(p, w)
        g = J.T @ e
        if np.linalg.norm(g) <= min_grad:
            stop = "MIN_GRAD"
            break
        rejected = 0
        while True:
            mu_used = mu
            try:
                wt = w - lm_step(J, e, mu)
                Et = E_of(p, wt) if np.all(np.isfinite(wt)) else math.inf
            except np.linalg.LinAlgError:
                Et = math.inf
            if Et <= E:
                w, E = wt, Et
                mu = max(mu / mu_dec, mu_min)
                rows.append((E, mu_used, rejected, False))
                break
            last = rejected == max_tries
            if last and not strict and math.isfinite(Et):
                w, E = wt, Et
                rows.append((E, mu_used, rejected, True))
                break
            rejected += 1
            mu *= mu_inc
            if mu > mu_max:
                rows.append((E, mu_used, rejected, False))
                stop = "MU_MAX"
                break
            if last:
                rows.append((E, mu_used, rejected, False))
                break
    return rows, w, E, stop


REPLAYS = {
    # name: (problem, w0 seed, options)
    "chapter-default": (parity3, 1, {"goal": 0.01}),
    "chapter-forced-steps": (parity3, 0, {"goal": 0.01, "max_tries": 1, "mu_inc": 1.0001}),
    # (10 iterations: later, forced steps to large weights amplify rounding differences)
    "chapter-forced-2": (parity3, 1, {"goal": 0.01, "max_tries": 2, "mu_inc": 1.5, "mu": 1e-3, "mu_dec": 3.0,
                                      "max_iter": 10}),
    "strict-default": (parity3, 1, {"goal": 0.01, "strict": True}),
    "strict-stuck": (parity3, 0, {"goal": 0.01, "strict": True, "max_tries": 1, "mu_inc": 1.0001,
                                  "max_iter": 12}),
    "mu-max": (parity3, 0, {"goal": 0.01, "mu_max": 0.01}),
    # every try fails from here: μ creeps up by 1.0001 per try until it passes mu_max
    "strict-mu-max": (parity3, 0, {"goal": 0.01, "strict": True, "max_tries": 1, "mu_inc": 1.0001,
                                   "mu_max": 0.0100035}),
    "two-outputs": (lambda: two_outputs(12), 0, {"goal": 1e-12, "max_iter": 12}),
}


@pytest.mark.parametrize("name", list(REPLAYS))
def test_runs_replay_in_numpy(name):
    make, seed, options = REPLAYS[name]
    p = make()
    w0 = p.net.init_weights(seed)
    r = lm.train(p.net, p.X, p.D, "lm", w0=w0, **options)
    rows, w, E, stop = fig_12_5(p, w0, **options)
    assert r.stop_reason.name == stop
    assert r.iterations == len(rows)
    h = r.history
    E_o, mu_o, rej_o, forced_o = (np.array(c) for c in zip(*rows)) if rows else [np.empty(0)] * 4
    assert np.array_equal(h.rejected, rej_o), (h.rejected, rej_o)
    assert np.array_equal(h.forced, forced_o.astype(bool)), (h.forced, forced_o)
    np.testing.assert_allclose(h.mu, mu_o, rtol=1e-14)
    np.testing.assert_allclose(h.error, E_o, rtol=1e-8)
    assert rel(r.weights, w) < 1e-7
    assert r.error == pytest.approx(E, rel=1e-8)


def test_replays_cover_every_branch():
    """The replayed runs exercise accepts, retries, forced steps, kept weights
    (strict), and both ways of reaching MU_MAX."""
    seen = set()
    for make, seed, options in REPLAYS.values():
        p = make()
        r = lm.train(p.net, p.X, p.D, "lm", w0=p.net.init_weights(seed), **options)
        h = r.history
        E = np.r_[r.initial_error, h.error]
        seen |= {"accept"} if np.any(E[1:] < E[:-1]) else set()
        seen |= {"retry"} if np.any((h.rejected > 0) & (E[1:] < E[:-1])) else set()
        seen |= {"forced"} if h.forced.any() else set()
        seen |= {"kept"} if np.any((E[1:] == E[:-1]) & (h.rejected > options.get("max_tries", 5))) else set()
        seen |= {"mu_max-" + ("strict" if options.get("strict") else "chapter")} \
            if r.stop_reason is StopReason.MU_MAX else set()
    assert seen == {"accept", "retry", "forced", "kept", "mu_max-strict", "mu_max-chapter"}, seen


# ------------------------------------------------------- strict vs chapter mode
STRICT_SETTINGS = [{}, {"max_tries": 1, "mu_inc": 1.0001}, {"max_tries": 2, "mu_inc": 1.5, "mu": 1e-3}]


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("settings", STRICT_SETTINGS, ids=["defaults", "one-retry", "two-retries"])
def test_strict_never_increases_error(settings, seed):
    p = parity3()
    w0 = p.net.init_weights(seed)
    r = lm.train(p.net, p.X, p.D, "lm", w0=w0, goal=0.01, max_iter=30, strict=True, **settings)
    E = np.r_[r.initial_error, r.history.error]
    assert np.all(np.diff(E) <= 0.0), E
    assert not r.history.forced.any()
    max_tries = settings.get("max_tries", 5)
    kept = np.diff(E) == 0.0
    # every try failed exactly where the weights were kept
    assert np.array_equal(kept, r.history.rejected == max_tries + 1)
    assert np.all(r.history.rejected <= max_tries + 1)


@pytest.mark.parametrize("settings", STRICT_SETTINGS[1:], ids=["one-retry", "two-retries"])
def test_chapter_mode_records_every_forced_step(settings):
    p = parity3()
    max_tries = settings["max_tries"]
    total_forced = 0
    for seed in range(6):
        r = lm.train(p.net, p.X, p.D, "lm", w0=p.net.init_weights(seed), goal=0.01, max_iter=30, **settings)
        h = r.history
        E = np.r_[r.initial_error, h.error]
        rose = E[1:] > E[:-1]
        # forced ⇔ the error rose
        assert np.array_equal(h.forced, rose), (seed, h.forced, E)
        # a forced step comes after max_tries retracted tries
        assert np.all(h.rejected[h.forced] == max_tries)
        # other iterations: an accepted try after at most max_tries retries, or
        # (non-finite trial error) the weights kept after max_tries + 1
        kept = E[1:] == E[:-1]
        assert np.all(h.rejected[~h.forced & ~kept] <= max_tries)
        total_forced += int(h.forced.sum())
        # the same start in strict mode never rises
        s = lm.train(p.net, p.X, p.D, "lm", w0=p.net.init_weights(seed), goal=0.01, max_iter=30, strict=True,
                     **settings)
        assert np.all(np.diff(np.r_[s.initial_error, s.history.error]) <= 0.0)
    assert total_forced >= 5  # the settings do produce forced steps


def test_mu_stays_within_bounds():
    p = teacher()
    w0 = perturbed(p, 0.5, 100)
    r = lm.train(p.net, p.X, p.D, "lm", w0=w0, goal=0.0, mu=0.01, mu_min=1e-4)
    assert r.iterations >= 4
    assert np.all(r.history.mu >= 1e-4) and r.history.mu.min() == 1e-4
    # mu_max = μ₀ and a first try that fails: MU_MAX with w0 and E₀ kept
    q = parity3()
    w0 = q.net.init_weights(0)
    assert lm.train(q.net, q.X, q.D, "lm", w0=w0, max_iter=1).history.rejected[0] >= 1
    r = lm.train(q.net, q.X, q.D, "lm", w0=w0, mu_max=0.01)
    assert r.stop_reason is StopReason.MU_MAX and not r.success
    assert np.array_equal(r.weights, w0) and r.error == r.initial_error
    assert np.all(r.history.mu <= 0.01)


# ------------------------------------------------------------ decide(), a table
ACCEPT, RETRY, FORCE, KEEP, STOP = lm_rule.ACCEPT, lm_rule.RETRY, lm_rule.FORCE, lm_rule.KEEP, lm_rule.STOP
NAN, INF = math.nan, math.inf

DECIDE_TABLE = [
    # (options, E, E_trial, mu, try t, expected action, expected next mu)
    ({}, 1.0, 0.5, 1e-2, 0, ACCEPT, 1e-3),
    ({}, 1.0, 1.0, 1e-2, 0, ACCEPT, 1e-3),  # equal error counts as a success (E_t ≤ E)
    ({}, 1.0, 0.9, 1e-2, 5, ACCEPT, 1e-3),  # success at the last try
    ({"mu_dec": 7.0}, 1.0, 0.5, 0.7, 2, ACCEPT, 0.1),
    ({"mu_min": 1e-3}, 1.0, 0.5, 2e-3, 0, ACCEPT, 1e-3),  # floored at mu_min
    ({"mu_min": 1e-3}, 1.0, 0.5, 1e-3, 0, ACCEPT, 1e-3),
    ({}, 1.0, 2.0, 1e-2, 0, RETRY, 1e-1),
    ({}, 1.0, 2.0, 1e-2, 4, RETRY, 1e-1),
    ({"mu_inc": 3.0}, 1.0, 2.0, 1.0, 0, RETRY, 3.0),
    ({}, 1.0, 2.0, 1e-2, 5, FORCE, 1e-2),  # after the 5th retry Fig. 12.5 takes the step
    ({"max_tries": 1}, 1.0, 2.0, 1e-2, 1, FORCE, 1e-2),
    ({"strict": True}, 1.0, 2.0, 1e-2, 5, KEEP, 1e-1),  # strict: keep w, μ up once more
    ({"strict": True}, 1.0, 2.0, 1e-2, 4, RETRY, 1e-1),
    ({}, 1.0, 2.0, 1e9, 0, RETRY, 1e10),  # μ may reach mu_max ...
    ({}, 1.0, 2.0, 2e9, 0, STOP, 2e10),  # ... but not exceed it
    ({"mu_max": 1.0}, 1.0, 2.0, 0.5, 2, STOP, 5.0),
    ({"strict": True}, 1.0, 2.0, 2e9, 5, STOP, 2e10),
    ({}, 1.0, 2.0, 2e9, 5, FORCE, 2e9),  # the chapter's forced step does not look at mu_max
    # a non-finite trial error (overflow, or an unsolvable system) is never taken
    ({}, 1.0, NAN, 1e-2, 0, RETRY, 1e-1),
    ({}, 1.0, INF, 1e-2, 0, RETRY, 1e-1),
    ({}, 1.0, NAN, 1e-2, 5, KEEP, 1e-1),
    ({}, 1.0, INF, 1e-2, 5, KEEP, 1e-1),
    ({"strict": True}, 1.0, NAN, 1e-2, 5, KEEP, 1e-1),
    ({}, 1.0, NAN, 2e9, 5, STOP, 2e10),
    ({}, 1.0, NAN, 2e9, 0, STOP, 2e10),
]


ACTION_NAMES = {ACCEPT: "ACCEPT", RETRY: "RETRY", FORCE: "FORCE", KEEP: "KEEP", STOP: "STOP"}


def _decide_id(row):
    options, E, Et, mu, t, action, _ = row
    opts = ",".join(f"{k}={v}" for k, v in options.items())
    return f"{ACTION_NAMES[action]}-Et={Et}-mu={mu}-t={t}" + (f"-{opts}" if opts else "")


@njit(cache=True)
def _decide_compiled(E, Et, mu, t, opts):
    return lm_rule.decide(E, Et, mu, t, opts[0])


def _decide(options, E, Et, mu, t, compiled=True):
    o = resolve_options("lm", options)
    opts = records.pack(o, 1, 0.0, o["mu"])
    if compiled:
        return _decide_compiled(float(E), float(Et), float(mu), int(t), opts)
    return lm_rule.decide(float(E), float(Et), float(mu), int(t), opts[0])  # as the blocked path runs it


@pytest.mark.parametrize("compiled", [True, False], ids=["compiled", "interpreted"])
@pytest.mark.parametrize("options,E,Et,mu,t,action,mu_next", DECIDE_TABLE, ids=[_decide_id(r) for r in DECIDE_TABLE])
def test_decide(options, E, Et, mu, t, action, mu_next, compiled):
    got_action, got_mu = _decide(options, E, Et, mu, t, compiled)
    assert ACTION_NAMES[got_action] == ACTION_NAMES[action]
    assert got_mu == pytest.approx(mu_next, rel=1e-15)


@pytest.mark.parametrize("strict", [False, True])
def test_decide_never_takes_a_nonfinite_error(strict):
    for Et in (NAN, INF, -NAN):
        for t in range(7):
            for mu in (1e-20, 1e-2, 1e9, 1e10):
                action, mu_next = _decide({"strict": strict}, 1.0, Et, mu, t)
                assert action in (RETRY, KEEP, STOP)
                assert mu_next == mu * 10.0
