"""Speed twin of running trials one call at a time: whole trials inside one compiled call.

Twin of calling :func:`lmtrain.train` once per trial. ``run_many``
(:data:`RUN_MANY`, one compiled function per rule) runs trials ``lo … hi −
1`` one after another inside one compiled call that allocates the workspace
once; it is the only compiled entry point around the shared loop
:func:`lmtrain.algorithms.loop.run` on the twins: ``train`` calls it for a
single trial, ``run_trials`` from a pool of threads, one chunk of trials each.
It releases the GIL (``nogil``), so the threads run on all cores.

Each trial is independent (its own weights, state and history; the shared
workspace holds nothing a trial reads before writing it, except EBP's momentum,
which is reset), so results do not depend on how trials are grouped or spread
over threads: a parallel run equals a serial one bit for bit, and trial t
equals ``lmtrain.train`` from ``W0[t]``.

A Python call into compiled code costs most of a small trial's time, so the
network travels as two flat arrays (:func:`flat_topology`), and ``train``
calls the compiled code's entry point directly
(:func:`lmtrain.algorithms.watch.entry_point`).
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from ..._clock import ticks
from ...network import Topology
from ...result import ROW
from .. import records
from ..ebp import step as ebp_step
from ..gauss_newton import step as gauss_newton_step
from ..lm import step as lm_step
from ..loop import run
from ..newton import step as newton_step
from ..registry import GAUSS_NEWTON, LM, NEEDS_BY_CODE, NEWTON, STEPS
from .simd import rows, volatile_flag
from .work import workspace

#: status returned by ``run_many`` when the data or initial weights hold NaN or inf
BAD_INPUT = -2
#: status of a trial that never started (the run was interrupted first)
NOT_RUN = -3


@njit(cache=True)
def finite2(a):
    """True when every entry of the 2-D array ``a`` is finite."""
    for i in range(a.shape[0]):
        for j in range(a.shape[1]):
            if not math.isfinite(a[i, j]):
                return False
    return True


@njit(cache=True)
def squares_finite(a):
    """True when the squares of ``a`` sum to a finite number: no NaN or inf, and
    no data whose E = ½Σe² or JᵀJ would overflow (as strict as
    :func:`lmtrain._validation.check_squares`, which names the column, or stricter)."""
    s = 0.0
    for i in range(a.shape[0]):
        for j in range(a.shape[1]):
            s += a[i, j] * a[i, j]
    return math.isfinite(s)


@njit(cache=True)
def topology(tint, tgain):
    """The :class:`~lmtrain.network.Topology` from :func:`flat_topology`'s arrays (slices of one array)."""
    nn = tint[1]
    K = tint[3]
    a = 4
    in_ptr = tint[a:a + nn + 1]
    a += nn + 1
    in_idx = tint[a:a + K]
    a += K
    w_ptr = tint[a:a + nn]
    a += nn
    act = tint[a:a + nn]
    a += nn
    out_idx = tint[a:a + tint[2]]
    return Topology(tint[0], in_ptr, in_idx, w_ptr, act, tgain, out_idx)


@njit(cache=True)
def patterns(X, D, transposed):
    """``(XT, DT)``: patterns and targets with the patterns along the rows (transposed unless already)."""
    if transposed:
        return X, D
    P, n_in = X.shape
    M = D.shape[1]
    buf = np.empty((n_in + M) * P)  # one allocation for both
    XT = rows(buf, 0, n_in, P)
    DT = rows(buf, n_in * P, M, P)
    for p in range(X.shape[0]):
        for i in range(X.shape[1]):
            XT[i, p] = X[p, i]
        for m in range(D.shape[1]):
            DT[m, p] = D[p, m]
    return XT, DT


@njit(cache=True)
def sum_sq(DT):
    """Σd² of the targets (M, P), outputs then patterns."""
    total = 0.0
    for m in range(DT.shape[0]):
        for p in range(DT.shape[1]):
            total += DT[m, p] * DT[m, p]
    return total


@njit(inline="always")
def goal_for(o, DT):
    """The goal on E for these targets: ``goal`` plus ``goal_rel`` times ½Σd² (the perfect-fit goal)."""
    if o.goal_rel == 0.0:
        return o.goal
    return o.goal + o.goal_rel * 0.5 * sum_sq(DT)


_FLAT: dict = {}


def flat_topology(topo):
    """``topo`` as two arrays (integers, gains), cached per topology.

    Numba types a tuple argument on every call from Python, most of the call
    overhead of a small trial; two arrays take its fast path.
    """
    hit = _FLAT.get(id(topo))
    if hit is not None and hit[0] is topo:
        return hit[1], hit[2]
    n_in, in_ptr, in_idx, w_ptr, act, gain, out_idx = topo
    tint = np.concatenate([np.array([n_in, act.shape[0], out_idx.shape[0], in_idx.shape[0]], dtype=np.int64),
                           in_ptr, in_idx, w_ptr, act, out_idx]).astype(np.int64)
    tgain = np.ascontiguousarray(gain, dtype=np.float64)
    records.remember(_FLAT, id(topo), (topo, tint, tgain))  # holding topo keeps its id from being reused
    return tint, tgain


@njit(inline="always", cache=True)
def trials(step, W0, ws, opts, span, out, DT):
    """Trials ``lo … hi − 1`` of ``span = (lo, hi, hist_len)`` of the rule ``step`` on the workspace ``ws``.

    Per trial t it stores ``out_int[t] = (stop code, iterations)``,
    ``out_float[t] = (E, E0, seconds)``, the final weights ``out_W[t]`` and the
    error history ``hist_E[t]`` (NaN after the end) of ``out = (out_int,
    out_float, out_W, hist_E)``; outputs with no rows are skipped. Stops
    starting trials once ``ws.flags`` asks (Ctrl-C). Returns ``(status,
    iterations, E, E0, mu, buf)`` of the last trial: ``buf`` holds its final
    weights, then its history (7, n) row by row as :data:`lmtrain.result.ROW`
    lays it out (what ``train`` reports, as one array).
    """
    lo, hi, hist_len = span
    out_int, out_float, out_W, hist_E = out
    o = opts[0]
    N = W0.shape[1]
    hist = np.empty((len(ROW), hist_len))  # its validation row stays unwritten: there are no validation data here
    Lout = hist_E.shape[1]
    keep = out_int.shape[0] > 0
    state = records.state_array()
    st = state[0]  # a view into ``state``, which is used at the end so that it lives as long
    goal = goal_for(o, DT)
    w = np.empty(N)
    status = 0
    for t in range(lo, hi):
        if volatile_flag(ws.flags) != 0:
            break
        for i in range(N):
            w[i] = W0[t, i]
            ws.v[i] = 0.0  # EBP's momentum: the only state a trial reads before writing it
        st.error = 0.0
        st.initial_error = 0.0
        st.iterations = 0
        st.started = False
        st.goal = goal
        st.mu = o.mu
        st.t0 = ticks()
        status = run(step, w, ws, o, st, hist, o.max_iter + 1)
        if keep:
            k = st.iterations
            out_int[t, 0] = status
            out_int[t, 1] = k
            out_float[t, 0] = st.error
            out_float[t, 1] = st.initial_error
            out_float[t, 2] = (ticks() - st.t0) / o.tick_hz if o.tick_hz > 0.0 else 0.0
            for i in range(N):
                out_W[t, i] = w[i]
            n = min(k, Lout, hist_len)
            for i in range(n):
                hist_E[t, i] = hist[ROW.error, i]
            for i in range(n, Lout):
                hist_E[t, i] = np.nan
    n = min(st.iterations, hist_len)
    buf = np.empty(N + len(ROW) * n)
    for i in range(N):
        buf[i] = w[i]
    for r in range(len(ROW)):
        for i in range(n):
            buf[N + r * n + i] = hist[r, i] if r != ROW.validation_error else np.nan
    last = state[0]
    return status, last.iterations, last.error, last.initial_error, last.mu, buf


def runner_for(code):
    """``run_many`` for the rule with this code: trials on the compiled twins (see :func:`trials`).

    One compiled function per rule, so that a run compiles only the rule it
    runs (``code`` is a constant of the function; Numba drops the other
    rules' branches before it compiles). :data:`RUN_MANY` holds one per code.
    """

    @njit(cache=True, nogil=True)
    def run_many(W0, data, net, opts, span, out, flags):
        """Trials of one rule: ``data = (X, D, transposed)``, patterns (P, n_in) and targets (P, M)
        or their transposes; ``net = (tint, tgain)`` (:func:`flat_topology`); ``opts`` the options
        record; ``flags`` the Ctrl-C flag. Returns status :data:`BAD_INPUT` without running when X,
        D or W0 holds NaN or inf, or the squares of X or D sum past float64's range.
        """
        X, D, transposed = data
        if not (squares_finite(X) and squares_finite(D) and finite2(W0)):
            return BAD_INPUT, 0, math.nan, math.nan, math.nan, np.empty(W0.shape[1])
        topo = topology(net[0], net[1])
        XT, DT = patterns(X, D, transposed)
        ws = workspace(NEEDS_BY_CODE[code], topo, XT, DT, flags)
        # a branch per rule (in registry code order), the same as in loop.compiled_for
        if code == LM:
            return trials(lm_step, W0, ws, opts, span, out, DT)
        if code == GAUSS_NEWTON:
            return trials(gauss_newton_step, W0, ws, opts, span, out, DT)
        if code == NEWTON:
            return trials(newton_step, W0, ws, opts, span, out, DT)
        return trials(ebp_step, W0, ws, opts, span, out, DT)

    return run_many


#: ``run_many`` for each rule, indexed by code: ``RUN_MANY[code](W0, data, net, opts, span, out, flags)``
RUN_MANY = tuple(runner_for(code) for code in range(len(STEPS)))
