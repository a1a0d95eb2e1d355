"""Many EBP trials side by side: trials as lanes of one wide forward and backward pass.

An EBP iteration on a small problem is too short to keep the processor busy:
on parity-3 (8 patterns) every loop over the patterns is one vector
instruction, and the chain of dependent operations through ``tanh`` and the
layers sets the time. :func:`run_many_ebp` therefore runs ``B`` trials at once.
Node values are laid out ``Y[node, b·P + p]`` (lane b, pattern p), every
lane's weights are spread along the same columns (``Wx[i, b·P + p] = w_b[i]``),
and one pass over B·P columns advances all B trials by one iteration. When a
trial stops, its lane takes the next trial; once no trial is left to start
and half the lanes are idle, the remaining trials move to fewer lanes.

The arithmetic of each lane is exactly that of :func:`lmtrain.engine.forward`,
:func:`lmtrain.engine.gradient` and :func:`lmtrain.algorithms.ebp.step` (same
operations, same order of every sum), and the stop checks are those of
:func:`lmtrain.algorithms._loop.run`, so every trial ends with the same weights,
iterations and error history, bit for bit, as when it runs alone through
:func:`lmtrain.train` (tested).

Used by ``run_trials`` for EBP when the patterns are few (see :func:`lanes`)
and there is no time limit. The time of a trial is its share of the
iterations it took part in: each pass's time divided among the lanes that
held a trial.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from .. import engine
from .._clock import ticks
from ..result import CONTINUE, StopReason
from . import _options as O
from ._batch import _finite2, _patterns, _topology
from ._loop import stop_after, stop_before

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
    at most 32 and at most the number of trials. Measured on parity-3 (8
    patterns), per iteration: 16 lanes 0.40 µs, 32 lanes 0.29 µs, 64 lanes
    0.29 µs, one trial at a time 0.71 µs. With fewer than 8 lanes the per-lane
    loops are shorter than one vector and lanes lose (parity-5, 32 patterns in
    4 lanes: twice as slow as one trial at a time; parity-4, 16 patterns in 8
    lanes: even), so 1 is returned then, and for more than 16 patterns.
    """
    if P > MAX_PATTERNS:
        return 1
    B = min(MAX_LANES, LANE_COLUMNS // max(P, 1), trials)
    return B if B >= 8 else 1


def warm() -> None:
    """Compile (or load from Numba's on-disk cache) the EBP lanes, on a tiny problem.

    ``lmtrain reproduce`` runs this in a second process as it starts: with an
    empty cache the lanes then compile on the other core while the main
    process compiles the one-trial loop, instead of after it (about 10 s of
    the cold start). Same call path and argument types as ``run_trials``.
    """
    from ..datasets import parity
    from ..experiments import run_trials
    from ..network import mlp

    X, D = parity(3)
    run_trials(mlp([3, 3, 1]), X, D, "ebp", trials=16, max_iter=2, parallel=False, progress=False)


@njit(cache=True)
def _net(Wx, Y, in_idx, k0, ni, base, row):
    """``row`` = net of a neuron: its bias plus its ``ni`` weighted inputs, added in order.

    The bias and the first inputs (up to four) go in one loop over the columns
    (13 % faster than a pass per input at 128 columns); further inputs are
    added one pass each. The order of the additions is that of
    :func:`lmtrain.engine.forward`, so the sums are the same to the last bit.
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


@njit(cache=True)
def _forward_all(Wx, Y, S, topo):
    """:func:`lmtrain.engine.forward` of every lane (weights per column, ``Wx``)."""
    n_in, in_ptr, in_idx, w_ptr, act, gain, out_idx = topo
    for j in range(act.shape[0]):
        node = n_in + j
        row = Y[node]
        k0 = in_ptr[j]
        _net(Wx, Y, in_idx, k0, in_ptr[j + 1] - k0, w_ptr[j], row)
        engine.activate(row, S[node], act[j], gain[j])


@njit(cache=True)
def _lane_sums(d, y, acc, P):
    """``acc[b] = Σ_p d[p·B + b]·y[p·B + b]`` for every lane b, patterns in order (y None: Σ d)."""
    B = acc.shape[0]
    for b in range(B):
        acc[b] = 0.0
    for p in range(P):
        o = p * B
        for b in range(B):
            acc[b] += d[o + b] * y[o + b]


@njit(cache=True)
def _lane_sums1(d, acc, P):
    """``acc[b] = Σ_p d[p·B + b]`` for every lane b, patterns in order."""
    B = acc.shape[0]
    for b in range(B):
        acc[b] = 0.0
    for p in range(P):
        o = p * B
        for b in range(B):
            acc[b] += d[o + b]


@njit(cache=True)
def _gradient(Wx, Y, S, DT, topo, G, Dl, acc, P):
    """:func:`lmtrain.engine.gradient` of every lane: ``G[:, b] = Jᵀe`` of lane b (eq. 12.34).

    The same operations as the engine's, element by element; each lane's sums
    over the patterns run in pattern order (``acc`` (B,) is work space).
    """
    n_in, in_ptr, in_idx, w_ptr, act, gain, out_idx = topo
    B = acc.shape[0]
    L = Y.shape[1]
    nn = act.shape[0]
    for node in range(n_in, n_in + nn):
        dn = Dl[node]
        for c in range(L):
            dn[c] = 0.0
    for m in range(out_idx.shape[0]):
        o = Y[out_idx[m]]
        d = DT[m]
        dl = Dl[out_idx[m]]
        for c in range(L):
            dl[c] += d[c] - o[c]
    for j in range(nn - 1, -1, -1):
        node = n_in + j
        base = w_ptr[j]
        k0 = in_ptr[j]
        d = Dl[node]
        s = S[node]
        for c in range(L):
            d[c] *= s[c]
        _lane_sums1(d, acc, P)
        gb = G[base]
        for b in range(B):
            gb[b] = 0.0 - acc[b]  # the engine's g[i] = 0, then g[i] −= Σ
        for k in range(in_ptr[j + 1] - k0):
            src = in_idx[k0 + k]
            _lane_sums(d, Y[src], acc, P)
            gk = G[base + 1 + k]
            for b in range(B):
                gk[b] = 0.0 - acc[b]
            if src >= n_in:
                wk = Wx[base + 1 + k]
                back = Dl[src]
                for c in range(L):
                    back[c] += d[c] * wk[c]


@njit(cache=True)
def _half_sse(Y, DT, topo, acc, P):
    """``acc[b]`` = E = ½Σe² of lane b, as :func:`lmtrain.engine.half_sse` (outputs, then patterns, in order)."""
    out_idx = topo[6]
    B = acc.shape[0]
    for b in range(B):
        acc[b] = 0.0
    for m in range(out_idx.shape[0]):
        o = Y[out_idx[m]]
        d = DT[m]
        for p in range(P):
            q = p * B
            for b in range(B):
                e = d[q + b] - o[q + b]
                acc[b] += e * e
    for b in range(B):
        acc[b] = 0.5 * acc[b]


@njit(cache=True)
def _norms(V, out):
    """``out[b] = ‖V[:, b]‖`` (:func:`lmtrain.engine.norm` of each lane, entries in order)."""
    B = out.shape[0]
    for b in range(B):
        out[b] = 0.0
    for i in range(V.shape[0]):
        v = V[i]
        for b in range(B):
            out[b] += v[b] * v[b]
    for b in range(B):
        out[b] = math.sqrt(out[b])


@njit(cache=True)
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


@njit(cache=True)
def _finish(t, status, k, E, E0, seconds, W, b, out_int, out_float, out_W, hist_E):
    """Store the outcome of trial ``t`` from lane ``b`` (its history was written as it ran)."""
    out_int[t, 0] = status
    out_int[t, 1] = k
    out_float[t, 0] = E
    out_float[t, 1] = E0
    out_float[t, 2] = seconds
    for i in range(W.shape[0]):
        out_W[t, i] = W[i, b]
    for i in range(min(k, hist_E.shape[1]), hist_E.shape[1]):
        hist_E[t, i] = np.nan


@njit(cache=True)
def _layout(XT, DT, n_nodes, N, B):
    """The arrays of ``B`` lanes: node values (inputs filled in), targets, weights, lane state."""
    n_in, P = XT.shape
    M = DT.shape[0]
    L = B * P
    Y = np.zeros((n_nodes, L))
    S = np.zeros((n_nodes, L))
    Dl = np.zeros((n_nodes, L))
    DTl = np.empty((M, L))
    for p in range(P):
        for b in range(B):
            for i in range(n_in):
                Y[i, p * B + b] = XT[i, p]
            for m in range(M):
                DTl[m, p * B + b] = DT[m, p]
    Wx = np.zeros((N, L))
    W = np.zeros((N, B))
    Wt = np.zeros((N, B))
    V = np.zeros((N, B))
    G = np.zeros((N, B))
    acc = np.zeros(B)
    En = np.zeros(B)
    gn = np.zeros(B)
    vn = np.zeros(B)
    trial = np.full(B, -1, np.int64)
    K = np.zeros(B, np.int64)
    E = np.zeros(B)
    E0 = np.zeros(B)
    spent = np.zeros(B)
    keep = np.zeros(B)  # 1.0: the lane steps in this pass; 0.0: its weights stay
    return Y, S, Dl, DTl, Wx, W, Wt, V, G, acc, En, gn, vn, trial, K, E, E0, spent, keep


@njit(cache=True, nogil=True)
def run_many_ebp(algo, W0, X, D, transposed, tint, tgain, fopt, iopt, mu0, hist_len, lo, hi,
                 out_int, out_float, out_W, hist_E, n_lanes):
    """EBP trials ``lo … hi − 1`` in up to ``n_lanes`` lanes; outputs as :func:`._batch.run_many`.

    Writes ``out_int[t] = (stop code, iterations)``, ``out_float[t] = (E, E0,
    seconds)``, ``out_W[t]`` and ``hist_E[t]`` (NaN after the end) for every
    trial. ``algo``, ``mu0`` and ``hist_len`` are taken for a call like
    ``run_many``'s and not used; ``max_time`` must be infinite (the caller
    checks). Returns 0, or ``BAD_INPUT`` (−2) when X, D or W0 holds NaN or inf.
    """
    N = W0.shape[1]
    if not (_finite2(X) and _finite2(D) and _finite2(W0)):
        return -2
    topo = _topology(tint, tgain)
    XT, DT = _patterns(X, D, transposed)
    n_in, P = XT.shape
    M = DT.shape[0]
    n_nodes = n_in + topo[4].shape[0]
    B = max(1, min(n_lanes, hi - lo))
    L = B * P
    Y, S, Dl, DTl, Wx, W, Wt, V, G, acc, En, gn, vn, trial, K, E, E0, spent, keep = _layout(XT, DT, n_nodes, N, B)
    Lout = hist_E.shape[1]
    alpha = fopt[O.ALPHA]
    beta = fopt[O.MOMENTUM]
    hz = fopt[O.TICK_HZ]
    nxt = lo
    while True:
        # top of an iteration: empty lanes take the next trials (one forward
        # pass over all lanes gives their initial errors; the other lanes'
        # values come out unchanged), then the loop's stop checks (goal,
        # iteration limit); a trial that ends here frees its lane again
        while True:
            loaded = False
            for b in range(B):
                if trial[b] < 0 and nxt < hi:
                    t = nxt
                    nxt += 1
                    trial[b] = t
                    K[b] = -1  # initial error still to take
                    for i in range(N):
                        W[i, b] = W0[t, i]
                        V[i, b] = 0.0
                    loaded = True
            if loaded:
                t0 = ticks()
                _spread(W, Wx, P)
                _forward_all(Wx, Y, S, topo)
                _half_sse(Y, DTl, topo, En, P)
                secs = (ticks() - t0) / hz if hz > 0.0 else 0.0
                for b in range(B):
                    if trial[b] >= 0 and K[b] < 0:
                        K[b] = 0
                        E[b] = En[b]
                        E0[b] = En[b]
                        spent[b] = secs
            freed = False
            active = 0
            for b in range(B):
                t = trial[b]
                if t < 0:
                    continue
                status = _DIVERGED if not math.isfinite(E0[b]) and K[b] == 0 else stop_before(E[b], K[b], fopt,
                                                                                               iopt)
                if status == CONTINUE:
                    active += 1
                    continue
                _finish(t, status, K[b], E[b], E0[b], spent[b], W, b, out_int, out_float, out_W, hist_E)
                trial[b] = -1
                freed = True
            if not (freed and nxt < hi):
                break
        if active == 0:
            break
        if nxt >= hi and 2 * active <= B:
            # no trial left to start and half the lanes idle: carry on in fewer
            # lanes (node values recomputed from the same weights: same numbers)
            Y2, S2, Dl2, DTl2, Wx2, W2, Wt2, V2, G2, acc2, En2, gn2, vn2, trial2, K2, E2, E02, spent2, keep2 = \
                _layout(XT, DT, n_nodes, N, active)
            j = 0
            for b in range(B):
                if trial[b] >= 0:
                    for i in range(N):
                        W2[i, j] = W[i, b]
                        V2[i, j] = V[i, b]
                    trial2[j] = trial[b]
                    K2[j] = K[b]
                    E2[j] = E[b]
                    E02[j] = E0[b]
                    spent2[j] = spent[b]
                    j += 1
            Y, S, Dl, DTl, Wx, W, Wt, V, G, acc, En, gn, vn, trial, K, E, E0, spent, keep = \
                Y2, S2, Dl2, DTl2, Wx2, W2, Wt2, V2, G2, acc2, En2, gn2, vn2, trial2, K2, E2, E02, spent2, keep2
            B = active
            L = B * P
            _spread(W, Wx, P)
            _forward_all(Wx, Y, S, topo)
        t_pass = ticks()
        # one EBP step in every lane (ebp.step): gradient, v ← βv − αg, w ← w + v, forward
        _gradient(Wx, Y, S, DTl, topo, G, Dl, acc, P)
        _norms(G, gn)
        for b in range(B):
            keep[b] = 1.0 if trial[b] >= 0 and not (gn[b] <= fopt[O.MIN_GRAD]) else 0.0
        for i in range(N):
            gi = G[i]
            vi = V[i]
            wi = W[i]
            wti = Wt[i]
            for b in range(B):
                v = beta * vi[b] - alpha * gi[b]
                step = keep[b] > 0.0
                vi[b] = v if step else vi[b]
                wti[b] = wi[b]
                wi[b] = wi[b] + v if step else wi[b]
        _spread(W, Wx, P)
        _forward_all(Wx, Y, S, topo)
        _half_sse(Y, DTl, topo, En, P)
        _norms(V, vn)
        share = (ticks() - t_pass) / hz / active if hz > 0.0 else 0.0
        for b in range(B):
            t = trial[b]
            if t < 0:
                continue
            spent[b] += share
            if keep[b] == 0.0:  # the gradient norm fell to min_grad: no step
                status = stop_after(_MIN_GRAD, False, E[b], fopt)
            elif not math.isfinite(En[b]):  # diverged: back to the last finite weights
                for i in range(N):
                    W[i, b] = Wt[i, b]
                status = stop_after(_DIVERGED, False, E[b], fopt)
            else:
                E[b] = En[b]
                k = K[b]
                if k < Lout:
                    hist_E[t, k] = En[b]
                K[b] = k + 1
                status = CONTINUE
                if vn[b] <= fopt[O.MIN_STEP]:
                    status = stop_after(_MIN_STEP, True, En[b], fopt)
            if status != CONTINUE:
                _finish(t, status, K[b], E[b], E0[b], spent[b], W, b, out_int, out_float, out_W, hist_E)
                trial[b] = -1
    return 0
