"""Speed twin of EBP trials one at a time: trials as lanes of one wide forward and backward pass.

An EBP iteration on a small problem is too short to keep the processor busy:
on parity-3 (8 patterns) every loop over the patterns is one vector
instruction, and the chain of dependent operations through ``tanh`` and the
layers sets the time. :func:`run_many_ebp` therefore runs ``B`` trials at once.
Node values are laid out ``Y[node, b·P + p]`` (lane b, pattern p), every
lane's weights are spread along the same columns (``Wx[i, b·P + p] = w_b[i]``),
and one pass over B·P columns advances all B trials by one iteration. When a
trial stops, its lane takes the next trial; once no trial is left to start
and half the lanes are idle, the remaining trials move to fewer lanes.

Twin of :func:`lmtrain.algorithms.ebp.step` run by :func:`lmtrain.algorithms.loop.run`,
one trial at a time. The arithmetic of each lane is exactly that of the compiled
twins :func:`.forward.forward` and :func:`.backward.gradient` and of the EBP
step (same operations, same order of every sum), and the stop checks are the
loop's own (:func:`~lmtrain.algorithms.loop.stop_before`), so every trial ends
with the same weights, iterations and error history, bit for bit, as when it
runs alone through :func:`lmtrain.train` (tested).

Used by ``run_trials`` for EBP when the patterns are few (see :func:`lanes`)
and there is no time limit. The time of a trial is its share of the
iterations it took part in: each pass's time divided among the lanes that
held a trial.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np
from numba import njit

from ..._clock import ticks
from ...result import CONTINUE, StopReason
from .. import records
from ..loop import stop_after, stop_before
from .forward import activate
from .simd import JIT, borrow, volatile_flag
from .trials import BAD_INPUT, finite2, goal_for, patterns, topology

_DIVERGED = int(StopReason.DIVERGED)
_MIN_GRAD = int(StopReason.MIN_GRAD)
_MIN_STEP = int(StopReason.MIN_STEP)

#: columns of one wide pass (lanes × patterns) the lane count aims at
LANE_COLUMNS = 256
#: at most this many lanes
MAX_LANES = 32
#: lanes only for at most this many patterns
MAX_PATTERNS = 16


def lanes(P: int, trials: int) -> int:
    """Lanes for ``trials`` trials on ``P`` patterns: 1 (run them one by one) or 8–32.

    Lanes pay off when a pass over the patterns is short: B = 256 // P lanes,
    at most 32 and at most the number of trials (more lanes gained nothing
    on parity-3). With fewer than 8 lanes the per-lane loops are shorter than
    one vector and lanes lose to one trial at a time, so 1 is returned then,
    and for more than 16 patterns (figures in docs/performance.md).
    """
    if P > MAX_PATTERNS:
        return 1
    B = min(MAX_LANES, LANE_COLUMNS // max(P, 1), trials)
    return B if B >= 8 else 1


@njit(**JIT)
def _net(Wx, Y, in_idx, k0, ni, base, row):
    """``row`` = net of a neuron: its bias plus its ``ni`` weighted inputs, added in order.

    The bias and the first inputs (up to four) go in one loop over the columns
    (fewer passes over the row than one per input); further inputs are
    added one pass each. The order of the additions is that of
    :func:`.forward.forward`, so the sums are the same to the last bit.
    """
    L = row.shape[0]
    wb = Wx[base]
    if ni == 0:
        for c in range(L):
            row[c] = wb[c]
    elif ni == 1:
        w0 = Wx[base + 1]
        y0 = Y[in_idx[k0]]
        for c in range(L):
            row[c] = wb[c] + w0[c] * y0[c]
    elif ni == 2:
        w0 = Wx[base + 1]
        w1 = Wx[base + 2]
        y0 = Y[in_idx[k0]]
        y1 = Y[in_idx[k0 + 1]]
        for c in range(L):
            row[c] = (wb[c] + w0[c] * y0[c]) + w1[c] * y1[c]
    elif ni == 3:
        w0 = Wx[base + 1]
        w1 = Wx[base + 2]
        w2 = Wx[base + 3]
        y0 = Y[in_idx[k0]]
        y1 = Y[in_idx[k0 + 1]]
        y2 = Y[in_idx[k0 + 2]]
        for c in range(L):
            row[c] = ((wb[c] + w0[c] * y0[c]) + w1[c] * y1[c]) + w2[c] * y2[c]
    else:
        w0 = Wx[base + 1]
        w1 = Wx[base + 2]
        w2 = Wx[base + 3]
        w3 = Wx[base + 4]
        y0 = Y[in_idx[k0]]
        y1 = Y[in_idx[k0 + 1]]
        y2 = Y[in_idx[k0 + 2]]
        y3 = Y[in_idx[k0 + 3]]
        for c in range(L):
            row[c] = (((wb[c] + w0[c] * y0[c]) + w1[c] * y1[c]) + w2[c] * y2[c]) + w3[c] * y3[c]
        for k in range(4, ni):
            wk = Wx[base + 1 + k]
            src = Y[in_idx[k0 + k]]
            for c in range(L):
                row[c] += wk[c] * src[c]


@njit(**JIT)
def _forward_all(Wx, Y, S, topo):
    """:func:`.forward.forward` of every lane (weights per column, ``Wx``)."""
    for j in range(topo.act.shape[0]):
        node = topo.n_inputs + j
        row = Y[node]
        k0 = topo.in_ptr[j]
        _net(Wx, Y, topo.in_idx, k0, topo.in_ptr[j + 1] - k0, topo.w_ptr[j], row)
        activate(row, S[node], topo.act[j], topo.gain[j])


@njit(**JIT)
def _lane_sums(d, y, acc, P):
    """``acc[b] = Σ_p d[p·B + b]·y[p·B + b]`` for every lane b, patterns in order."""
    B = acc.shape[0]
    for b in range(B):
        acc[b] = 0.0
    for p in range(P):
        o = p * B
        for b in range(B):
            acc[b] += d[o + b] * y[o + b]


@njit(**JIT)
def _lane_sums1(d, acc, P):
    """``acc[b] = Σ_p d[p·B + b]`` for every lane b, patterns in order."""
    B = acc.shape[0]
    for b in range(B):
        acc[b] = 0.0
    for p in range(P):
        o = p * B
        for b in range(B):
            acc[b] += d[o + b]


@njit(**JIT)
def _gradient(L, topo, P):
    """:func:`.backward.gradient` of every lane: ``L.G[:, b] = Jᵀe`` of lane b (eq. 12.34).

    The same operations as the one-trial twin's, element by element; each
    lane's sums over the patterns run in pattern order.
    """
    L = borrow(L)  # the caller holds the lanes: no reference counting per member touched
    n_in = topo.n_inputs
    Y, S, Dl, acc = L.Y, L.S, L.Dl, L.acc
    B = acc.shape[0]
    C = Y.shape[1]
    nn = topo.act.shape[0]
    for node in range(n_in, n_in + nn):
        dn = Dl[node]
        for c in range(C):
            dn[c] = 0.0
    for m in range(topo.out_idx.shape[0]):
        o = Y[topo.out_idx[m]]
        d = L.DT[m]
        dl = Dl[topo.out_idx[m]]
        for c in range(C):
            dl[c] += d[c] - o[c]
    for j in range(nn - 1, -1, -1):
        node = n_in + j
        base = topo.w_ptr[j]
        k0 = topo.in_ptr[j]
        d = Dl[node]
        s = S[node]
        for c in range(C):
            d[c] *= s[c]
        _lane_sums1(d, acc, P)
        gb = L.G[base]
        for b in range(B):
            gb[b] = 0.0 - acc[b]  # the one-trial twin's g[i] = 0, then g[i] −= Σ
        for k in range(topo.in_ptr[j + 1] - k0):
            src = topo.in_idx[k0 + k]
            _lane_sums(d, Y[src], acc, P)
            gk = L.G[base + 1 + k]
            for b in range(B):
                gk[b] = 0.0 - acc[b]
            if src >= n_in:
                wk = L.Wx[base + 1 + k]
                back = Dl[src]
                for c in range(C):
                    back[c] += d[c] * wk[c]


@njit(**JIT)
def _half_sse(Y, DT, topo, acc, P):
    """``acc[b]`` = E = ½Σe² of lane b, summed pattern by pattern as the one-trial twin sums."""
    out_idx = topo.out_idx
    B = acc.shape[0]
    for b in range(B):
        acc[b] = 0.0
    for p in range(P):
        q = p * B
        for m in range(out_idx.shape[0]):
            o = Y[out_idx[m]]
            d = DT[m]
            for b in range(B):
                e = d[q + b] - o[q + b]
                acc[b] += e * e
    for b in range(B):
        acc[b] = 0.5 * acc[b]


@njit(**JIT)
def _norms(V, out):
    """``out[b] = ‖V[:, b]‖`` (the norm of each lane, entries in order)."""
    B = out.shape[0]
    for b in range(B):
        out[b] = 0.0
    for i in range(V.shape[0]):
        v = V[i]
        for b in range(B):
            out[b] += v[b] * v[b]
    for b in range(B):
        out[b] = math.sqrt(out[b])


@njit(**JIT)
def _spread(W, Wx, P):
    """``Wx[i, p·B + b] = W[i, b]`` for every pattern p."""
    B = W.shape[1]
    for i in range(W.shape[0]):
        w = W[i]
        row = Wx[i]
        for p in range(P):
            o = p * B
            for b in range(B):
                row[o + b] = w[b]


class Lanes(NamedTuple):
    """The buffers of B lanes: node values, targets and weights spread over the lanes, and each lane's state."""

    Y: np.ndarray  #: node values (n_nodes, B·P), column p·B + b
    S: np.ndarray  #: slopes
    Dl: np.ndarray  #: δ
    DT: np.ndarray  #: targets spread over the lanes (M, B·P)
    Wx: np.ndarray  #: weights spread over the columns (N, B·P)
    W: np.ndarray  #: weights of each lane (N, B)
    Wt: np.ndarray  #: weights before the step
    V: np.ndarray  #: momentum
    G: np.ndarray  #: gradients
    acc: np.ndarray  #: work space (B,)
    En: np.ndarray  #: E after the step
    gn: np.ndarray  #: ‖g‖
    vn: np.ndarray  #: ‖v‖
    trial: np.ndarray  #: the trial each lane runs (−1: none)
    K: np.ndarray  #: iterations done (−1: initial error still to take)
    E: np.ndarray  #: E now
    E0: np.ndarray  #: initial E
    spent: np.ndarray  #: seconds spent
    keep: np.ndarray  #: 1.0: the lane steps in this pass; 0.0: its weights stay


@njit(**JIT)
def _layout(XT, DT, n_nodes, N, B):
    """The :class:`Lanes` of ``B`` lanes for these patterns (inputs filled in)."""
    n_in, P = XT.shape
    M = DT.shape[0]
    C = B * P
    Y = np.zeros((n_nodes, C))
    DTl = np.empty((M, C))
    for p in range(P):
        for b in range(B):
            for i in range(n_in):
                Y[i, p * B + b] = XT[i, p]
            for m in range(M):
                DTl[m, p * B + b] = DT[m, p]
    return Lanes(Y, np.zeros((n_nodes, C)), np.zeros((n_nodes, C)), DTl, np.zeros((N, C)), np.zeros((N, B)),
                 np.zeros((N, B)), np.zeros((N, B)), np.zeros((N, B)), np.zeros(B), np.zeros(B), np.zeros(B),
                 np.zeros(B), np.full(B, -1, np.int64), np.zeros(B, np.int64), np.zeros(B), np.zeros(B),
                 np.zeros(B), np.zeros(B))


# inlined: called once per lane and pass, and a call passes every array of the lanes
@njit(inline="always", **JIT)
def _finish(t, status, L, b, out):
    """Store the outcome of trial ``t`` from lane ``b`` (its history was written as it ran)."""
    L = borrow(L)  # the caller holds the lanes: no reference counting per member touched
    out_int, out_float, out_W, hist_E = out
    k = L.K[b]
    out_int[t, 0] = status
    out_int[t, 1] = k
    out_float[t, 0] = L.E[b]
    out_float[t, 1] = L.E0[b]
    out_float[t, 2] = L.spent[b]
    for i in range(L.W.shape[0]):
        out_W[t, i] = L.W[i, b]
    for i in range(min(k, hist_E.shape[1]), hist_E.shape[1]):
        hist_E[t, i] = np.nan
    L.trial[b] = -1


# inlined: as a function of its own it took seconds to compile (its argument is every array of the lanes)
@njit(inline="always", **JIT)
def _shrink(L, XT, DT, n_nodes, active):
    """The lanes still running moved into ``active`` lanes (node values recomputed: the same numbers)."""
    L = borrow(L)  # the caller holds the lanes: no reference counting per member touched
    L2 = _layout(XT, DT, n_nodes, L.W.shape[0], active)
    j = 0
    for b in range(L.trial.shape[0]):
        if L.trial[b] >= 0:
            for i in range(L.W.shape[0]):
                L2.W[i, j] = L.W[i, b]
                L2.V[i, j] = L.V[i, b]
            L2.trial[j] = L.trial[b]
            L2.K[j] = L.K[b]
            L2.E[j] = L.E[b]
            L2.E0[j] = L.E0[b]
            L2.spent[j] = L.spent[b]
            j += 1
    return L2


# inlined: as a function of its own it took seconds to compile (its argument is every array of the lanes)
@njit(inline="always", **JIT)
def _load(L, W0, nxt, hi, topo, secs_per_tick):
    """Empty lanes take the next trials; returns the next trial still to start.

    One forward pass over all lanes gives the new trials' initial errors; the
    other lanes' values come out unchanged.
    """
    L = borrow(L)  # the caller holds the lanes: no reference counting per member touched
    loaded = False
    for b in range(L.trial.shape[0]):
        if L.trial[b] < 0 and nxt < hi:
            L.trial[b] = nxt
            L.K[b] = -1  # initial error still to take
            for i in range(W0.shape[1]):
                L.W[i, b] = W0[nxt, i]
                L.V[i, b] = 0.0
            nxt += 1
            loaded = True
    if loaded:
        P = L.Y.shape[1] // L.trial.shape[0]
        t0 = ticks()
        _spread(L.W, L.Wx, P)
        _forward_all(L.Wx, L.Y, L.S, topo)
        _half_sse(L.Y, L.DT, topo, L.En, P)
        secs = (ticks() - t0) * secs_per_tick
        for b in range(L.trial.shape[0]):
            if L.trial[b] >= 0 and L.K[b] < 0:
                L.K[b] = 0
                L.E[b] = L.En[b]
                L.E0[b] = L.En[b]
                L.spent[b] = secs
    return nxt


@njit(**JIT)
def _step_all(L, topo, o, P):
    """One EBP step in every lane (:func:`lmtrain.algorithms.ebp.step`): gradient, v ← βv − αg, w ← w + v, forward."""
    L = borrow(L)  # the caller holds the lanes: no reference counting per member touched
    _gradient(L, topo, P)
    _norms(L.G, L.gn)
    B = L.trial.shape[0]
    for b in range(B):
        L.keep[b] = 1.0 if L.trial[b] >= 0 and not (L.gn[b] <= o.min_grad) else 0.0
    for i in range(L.W.shape[0]):
        gi, vi, wi, wti = L.G[i], L.V[i], L.W[i], L.Wt[i]
        for b in range(B):
            v = o.momentum * vi[b] - o.alpha * gi[b]
            step = L.keep[b] > 0.0
            vi[b] = v if step else vi[b]
            wti[b] = wi[b]
            wi[b] = wi[b] + v if step else wi[b]
    _spread(L.W, L.Wx, P)
    _forward_all(L.Wx, L.Y, L.S, topo)
    _half_sse(L.Y, L.DT, topo, L.En, P)
    _norms(L.V, L.vn)


# inlined: called once per lane and pass, and a call passes every array of the lanes
@njit(inline="always", **JIT)
def _after_step(L, b, st, o, hist_E):
    """The outcome of lane ``b``'s step as the loop judges it: a stop code or CONTINUE."""
    L = borrow(L)  # the caller holds the lanes: no reference counting per member touched
    t = L.trial[b]
    if L.keep[b] == 0.0:  # the gradient norm fell to min_grad: no step
        return stop_after(_MIN_GRAD, False, L.E[b], st)
    if not math.isfinite(L.En[b]):  # diverged: back to the last finite weights
        for i in range(L.W.shape[0]):
            L.W[i, b] = L.Wt[i, b]
        return stop_after(_DIVERGED, False, L.E[b], st)
    L.E[b] = L.En[b]
    k = L.K[b]
    if k < hist_E.shape[1]:
        hist_E[t, k] = L.En[b]
    L.K[b] = k + 1
    if L.vn[b] <= o.min_step:
        return stop_after(_MIN_STEP, True, L.En[b], st)
    return CONTINUE


@njit(cache=True, nogil=True)
def run_many_ebp(W0, data, net, opts, span, out, flags, n_lanes):
    """EBP trials ``lo … hi − 1`` of ``span = (lo, hi, hist_len)`` in up to ``n_lanes`` lanes.

    Arguments and outputs as :func:`.trials.run_many` (``max_time`` must be
    infinite: the caller checks). Returns 0, or :data:`.trials.BAD_INPUT`
    when X, D or W0 holds NaN or inf.
    """
    X, D, transposed = data
    if not (finite2(X) and finite2(D) and finite2(W0)):
        return BAD_INPUT
    topo = topology(net[0], net[1])
    XT, DT = patterns(X, D, transposed)
    lo, hi = span[0], span[1]
    o = opts[0]
    # what the loop's stop checks read (the goal for these data); taken as state[0]
    # where it is used, since a record taken once is a view that does not keep state alive
    state = records.state_array()
    state[0].goal = goal_for(o, DT)
    n_in, P = XT.shape
    n_nodes = n_in + topo.act.shape[0]
    B = max(1, min(n_lanes, hi - lo))
    L = _layout(XT, DT, n_nodes, W0.shape[1], B)  # owns the lanes' arrays; Lb: views of them, no reference counting
    Lb = borrow(L)
    secs_per_tick = 1.0 / o.tick_hz if o.tick_hz > 0.0 else 0.0
    nxt = lo
    while True:
        # top of an iteration: empty lanes take the next trials, then the
        # loop's stop checks; a trial that ends here frees its lane again
        while True:
            nxt = _load(L, W0, nxt, hi, topo, secs_per_tick)
            stop_now = volatile_flag(flags) != 0
            freed = False
            active = 0
            for b in range(B):
                if Lb.trial[b] < 0:
                    continue
                if not math.isfinite(Lb.E0[b]) and Lb.K[b] == 0:
                    status = _DIVERGED
                else:
                    status = stop_before(Lb.E[b], Lb.K[b], state[0], o, stop_now)
                if status == CONTINUE:
                    active += 1
                    continue
                _finish(Lb.trial[b], status, L, b, out)
                freed = True
            if stop_now:
                nxt = hi  # start no more trials
            if not (freed and nxt < hi):
                break
        if active == 0:
            break
        if nxt >= hi and 2 * active <= B:
            # no trial left to start and half the lanes idle: carry on in fewer lanes
            L = _shrink(L, XT, DT, n_nodes, active)
            Lb = borrow(L)
            B = active
            _spread(Lb.W, Lb.Wx, P)
            _forward_all(Lb.Wx, Lb.Y, Lb.S, topo)
        t_pass = ticks()
        _step_all(L, topo, o, P)
        share = (ticks() - t_pass) * secs_per_tick / active
        for b in range(B):
            if Lb.trial[b] < 0:
                continue
            Lb.spent[b] += share
            status = _after_step(L, b, state[0], o, out[3])
            if status != CONTINUE:
                _finish(Lb.trial[b], status, L, b, out)
    return 0
