"""The training loop shared by every algorithm, compiled.

:func:`run` performs up to ``n_steps`` iterations of one algorithm and returns a
status. A whole trial is one call with ``n_steps`` > ``max_iter``; training with
a per-iteration callback calls it with ``n_steps = 1`` and the state carried in
arrays, so both paths execute the same compiled step — one implementation of
each rule. Stop checks, in order, at the top of every iteration: goal
(E ≤ goal), iteration limit, time limit; then the algorithm's step, which may
itself stop (min_grad, singular, not positive definite, diverged, mu_max,
min_step).
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from .. import engine
from .._clock import ticks
from ..result import CONTINUE, StopReason
from . import ebp, gauss_newton, lm, newton
from ._options import (EBP, GAUSS_NEWTON, GOAL, LM, MAX_ITER, MAX_TIME, NEWTON, ST_E, ST_E0, ST_K, ST_MU,
                       ST_STARTED, T0, TICK_HZ)

_GOAL = int(StopReason.GOAL)
_MAX_ITER = int(StopReason.MAX_ITER)
_MAX_TIME = int(StopReason.MAX_TIME)
_DIVERGED = int(StopReason.DIVERGED)


@njit(cache=True)
def workspace(algo, XT, n_nodes, n_outputs, n_weights):
    """Allocate the arrays an algorithm needs (unused ones are empty)."""
    n_in, P = XT.shape
    N = n_weights
    R = P * n_outputs
    Y = np.empty((n_nodes, P))
    Y[:n_in, :] = XT
    S = np.zeros((n_nodes, P))
    Yt = np.empty((n_nodes, P))
    Yt[:n_in, :] = XT
    St = np.zeros((n_nodes, P))
    Dl = np.zeros((n_nodes, P))
    reached = np.zeros(n_nodes, dtype=np.bool_)
    if algo == LM or algo == GAUSS_NEWTON:
        J = np.empty((R, N))
        e = np.empty(R)
        K = min(R, N)
    else:
        J = np.empty((0, N))
        e = np.empty(0)
        K = N if algo == NEWTON else 0
    G = np.empty((K, K))
    A = np.empty((K, K))
    rhs = np.empty(K)
    g = np.empty(N)
    gt = np.empty(N)
    delta = np.empty(N)
    wt = np.empty(N)
    v = np.zeros(N)
    return (Y, S, Yt, St, Dl, reached, J, e, g, gt, G, A, rhs, delta, wt, v)


@njit(cache=True)
def history(length):
    """Per-iteration record arrays: error, mu, gradient norm, rejected, forced, time."""
    return (np.empty(length), np.empty(length), np.empty(length),
            np.zeros(length, dtype=np.int64), np.zeros(length, dtype=np.bool_), np.empty(length))


@njit(cache=True)
def run(algo, w, XT, DT, topo, fopt, iopt, state, ws, hist, n_steps):
    """Up to ``n_steps`` iterations; returns a StopReason code or CONTINUE (−1).

    ``w`` and ``state`` (E, μ, iterations done, started flag, E₀) are updated in
    place; iteration k's record goes to ``hist[·][k-1]`` while k ≤ its length.
    """
    Y = ws[0]
    S = ws[1]
    if state[ST_STARTED] == 0.0:
        engine.forward(w, Y, S, topo)
        E0 = engine.half_sse(Y, DT, topo)
        state[ST_E] = E0
        state[ST_E0] = E0
        state[ST_STARTED] = 1.0
        if not math.isfinite(E0):
            return _DIVERGED
    hE, hmu, hg, hrej, hforced, ht = hist
    L = hE.shape[0]
    E = state[ST_E]
    mu = state[ST_MU]
    k = int(state[ST_K])
    goal = fopt[GOAL]
    max_time = fopt[MAX_TIME]
    hz = fopt[TICK_HZ]
    t0 = iopt[T0]
    timed = hz > 0.0
    status = CONTINUE
    for _ in range(n_steps):
        if E <= goal:
            status = _GOAL
            break
        if k >= iopt[MAX_ITER]:
            status = _MAX_ITER
            break
        if timed and max_time < math.inf and (ticks() - t0) / hz >= max_time:
            status = _MAX_TIME
            break
        if algo == LM:
            status, E, mu, mu_used, rej, forced, gn, stepped = lm.step(w, E, mu, XT, DT, topo, fopt, iopt, ws)
        elif algo == GAUSS_NEWTON:
            status, E, mu, mu_used, rej, forced, gn, stepped = gauss_newton.step(w, E, mu, XT, DT, topo, fopt, iopt, ws)
        elif algo == NEWTON:
            status, E, mu, mu_used, rej, forced, gn, stepped = newton.step(w, E, mu, XT, DT, topo, fopt, iopt, ws)
        else:
            status, E, mu, mu_used, rej, forced, gn, stepped = ebp.step(w, E, mu, XT, DT, topo, fopt, iopt, ws)
        if stepped:
            if k < L:
                hE[k] = E
                hmu[k] = mu_used
                hg[k] = gn
                hrej[k] = rej
                hforced[k] = forced
                ht[k] = (ticks() - t0) / hz if timed else 0.0
            k += 1
        if status != CONTINUE:
            if stepped and E <= goal:  # a stop found by the step that also met the goal
                status = _GOAL
            break
    state[ST_E] = E
    state[ST_MU] = mu
    state[ST_K] = k
    return status
