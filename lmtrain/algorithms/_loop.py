"""The training loop shared by every algorithm, compiled.

:func:`run` performs up to ``n_steps`` iterations of one algorithm and returns a
status. A whole trial is one call with ``n_steps`` > ``max_iter``; training with
a per-iteration callback calls it with ``n_steps = 1`` and the state carried in
arrays, so both paths execute the same compiled step — one implementation of
each rule. Stop checks, in order, at the top of every iteration: goal
(E ≤ goal), iteration limit, time limit; then the algorithm's step, which may
itself stop (min_grad, singular, not positive definite, diverged, mu_max,
min_step).

Whole trials run through :func:`lmtrain.algorithms._batch.run_many`, one
compiled call for one trial (:func:`lmtrain.train`) or many (``run_trials``).

Speed notes (measured; see the README's Speed section). Array copies are
written as loops (:func:`lmtrain.engine.copy_mat`) rather than slice
assignments: a slice assignment pulls in the code that formats the
shape-mismatch error message, which made up a large part of the compile time.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from .. import engine
from .._clock import ticks
from ..result import CONTINUE, StopReason
from . import ebp, gauss_newton, lm, newton
from ._options import (GAUSS_NEWTON, GOAL, LM, MAX_ITER, MAX_TIME, NEWTON, ST_E, ST_E0, ST_K, ST_MU,
                       ST_STARTED, T0, TICK_HZ)

_GOAL = int(StopReason.GOAL)
_MAX_ITER = int(StopReason.MAX_ITER)
_MAX_TIME = int(StopReason.MAX_TIME)
_DIVERGED = int(StopReason.DIVERGED)

@njit(cache=True)
def workspace(algo, XT, n_nodes, n_outputs, n_weights):
    """Allocate the arrays an algorithm needs (unused ones are empty).

    ``(Y, S, Yt, St, Dl, reached, JT, e, g, gt, G, A, rhs, delta, wt, v, Jr)``:
    node values and slopes at w and at the trial weights, backward-pass work
    space, the transposed Jacobian and the errors, g, the Gram matrix (JJᵀ or
    JᵀJ, whichever is smaller) and its damped copy, the solve's right-hand
    side, the step, the trial weights, EBP's momentum, and J in row layout.
    """
    n_in, P = XT.shape
    N = n_weights
    R = P * n_outputs
    if algo == LM or algo == GAUSS_NEWTON:
        nJ = N * R  # the Jacobian, transposed (see lmtrain.engine)
        nJr = R * N if R < N else 0  # J itself, for JJᵀ when R < N
        nR = R
        K = min(R, N)
    else:
        nJ = nJr = nR = 0
        K = N if algo == NEWTON else 0
    # one zeroed block carved into views: a small trial is a few microseconds,
    # and twenty separate allocations were a good part of that
    nY = n_nodes * P
    buf = np.zeros(5 * nY + nJ + nJr + nR + 2 * K * K + K + 6 * N)
    o = 0
    Y = engine.rows(buf, o, n_nodes, P)
    o += nY
    S = engine.rows(buf, o, n_nodes, P)
    o += nY
    Yt = engine.rows(buf, o, n_nodes, P)
    o += nY
    St = engine.rows(buf, o, n_nodes, P)
    o += nY
    Dl = engine.rows(buf, o, n_nodes, P)
    o += nY
    JT = engine.rows(buf, o, N, nJ // N if N > 0 else 0)
    o += nJ
    Jr = engine.rows(buf, o, nJr // N if N > 0 else 0, N)
    o += nJr
    e = buf[o:o + nR]
    o += nR
    G = engine.rows(buf, o, K, K)
    o += K * K
    A = engine.rows(buf, o, K, K)
    o += K * K
    rhs = buf[o:o + K]
    o += K
    g = buf[o:o + N]
    o += N
    gt = buf[o:o + N]
    o += N
    delta = buf[o:o + N]
    o += N
    wt = buf[o:o + N]
    o += N
    v = buf[o:o + N]
    for i in range(n_in):
        for p in range(P):
            Y[i, p] = XT[i, p]
            Yt[i, p] = XT[i, p]
    reached = np.zeros(n_nodes, dtype=np.bool_)
    return (Y, S, Yt, St, Dl, reached, JT, e, g, gt, G, A, rhs, delta, wt, v, Jr)


@njit(cache=True)
def history(length):
    """Per-iteration record arrays: error, mu, gradient norm, rejected, forced, time.

    Rows of one uninitialised block (only written entries are read): rejected
    tries are stored as floats (exact counts) and forced as 1.0/0.0. One
    allocation instead of three and no zeroing: 0.5 µs less per ``train`` call
    (1,000-entry history).
    """
    H = np.empty((6, length))
    return (H[0], H[1], H[2], H[3], H[4], H[5])


@njit(cache=True)
def stop_before(E, k, fopt, iopt):
    """The stop checks at the top of an iteration, in order: goal (E ≤ goal),
    iteration limit, time limit. Returns a StopReason code or CONTINUE.

    Shared by the compiled loop and the blocked path's loop, so both stop alike.
    """
    if E <= fopt[GOAL]:
        return _GOAL
    if k >= iopt[MAX_ITER]:
        return _MAX_ITER
    hz = fopt[TICK_HZ]
    if hz > 0.0 and fopt[MAX_TIME] < math.inf and (ticks() - iopt[T0]) / hz >= fopt[MAX_TIME]:
        return _MAX_TIME
    return CONTINUE


@njit(cache=True)
def record(hist, k, E, mu_used, gn, rej, forced, fopt, iopt):
    """Write the record of iteration ``k`` (0-based) while the history has room."""
    hE, hmu, hg, hrej, hforced, ht = hist
    if k < hE.shape[0]:
        hE[k] = E
        hmu[k] = mu_used
        hg[k] = gn
        hrej[k] = rej
        hforced[k] = forced
        hz = fopt[TICK_HZ]
        ht[k] = (ticks() - iopt[T0]) / hz if hz > 0.0 else 0.0


@njit(cache=True)
def stop_after(status, stepped, E, fopt):
    """A stop found by a step that also met the goal is reported as the goal."""
    if stepped and E <= fopt[GOAL]:
        return _GOAL
    return status


@njit(cache=True)
def run(algo, w, XT, DT, topo, fopt, iopt, state, ws, hist, n_steps):
    """Up to ``n_steps`` iterations; returns a StopReason code or CONTINUE (−1).

    ``w`` and ``state`` (E, μ, iterations done, started flag, E₀) are updated in
    place; iteration k's record goes to ``hist[·][k-1]`` while k ≤ its length.
    """
    # the caller holds every array for the whole call: the loop works on
    # borrowed views and skips the reference counting (engine.borrow)
    w, XT, DT, topo, fopt, iopt, state, ws, hist = engine.borrow((w, XT, DT, topo, fopt, iopt, state, ws, hist))
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
    E = state[ST_E]
    mu = state[ST_MU]
    k = int(state[ST_K])
    status = CONTINUE
    for _ in range(n_steps):
        status = stop_before(E, k, fopt, iopt)
        if status != CONTINUE:
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
            record(hist, k, E, mu_used, gn, rej, forced, fopt, iopt)
            k += 1
        if status != CONTINUE:
            status = stop_after(status, stepped, E, fopt)
            break
    state[ST_E] = E
    state[ST_MU] = mu
    state[ST_K] = k
    return status


def run_any(algo, w, XT, DT, topo, fopt, iopt, state, ws, hist, n_steps):
    """:func:`run`, or :func:`.lm_blocked.run` when ``ws`` is the blocked path's work space.

    For callers in Python that drive either path one step or one slice at a time.
    """
    if type(ws) is tuple:
        return run(algo, w, XT, DT, topo, fopt, iopt, state, ws, hist, n_steps)
    from . import lm_blocked

    return lm_blocked.run(algo, w, XT, DT, topo, fopt, iopt, state, ws, hist, n_steps)


def error_at(w, XT, DT, topo, ws) -> float:
    """E = ½Σe² at ``w`` (eq. 12.1) using either path's work space (node rows are overwritten)."""
    if type(ws) is tuple:
        engine.forward(w, ws[0], ws[1], topo)
        return float(engine.half_sse(ws[0], DT, topo))
    return ws.error(w, XT, DT, topo)
