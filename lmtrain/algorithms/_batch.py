"""Whole trials in compiled code: one for :func:`lmtrain.train`, many for ``run_trials``.

:func:`run_many` runs trials ``lo … hi − 1`` one after another inside one
compiled call that allocates the work space once. It is the only compiled
entry point around the shared loop :func:`._loop.run`: the fast path of
``train`` calls it for a single trial, and :func:`run_many_parallel` calls it
from a pool of threads, one chunk of trials each. The function releases the
GIL (``nogil``), so the threads run on all cores.

Each trial is independent (own initial weights and history; the shared work
space holds nothing a trial reads before writing it, except EBP's momentum,
which is reset), so the results do not depend on how trials are grouped or
spread over threads: a parallel run equals a serial one bit for bit, and trial
t equals ``lmtrain.train`` from ``W0[t]``.

Speed notes (measured; see the README's Speed section):

* one entry point, not three: Numba re-optimises and re-generates the machine
  code of everything a function calls each time it compiles a caller, so every
  extra wrapper around the loop cost as much compile time as the loop itself;
* threads instead of ``numba.prange``: the ``parallel=True`` variant took more
  than half of the whole cold compile (its parfor lowering compiles the loop
  body once more), while the trials are independent and coarse enough for a
  thread pool.
"""

from __future__ import annotations

import math
import threading
from concurrent.futures import ThreadPoolExecutor

import numba
import numpy as np
from numba import njit

from .. import engine
from .._clock import ticks
from . import _options as O
from . import lm_blocked
from ._loop import history, run, workspace

#: status returned by :func:`run_many` when the data or initial weights hold NaN or inf
BAD_INPUT = -2


@njit(cache=True)
def _finite2(a):
    for i in range(a.shape[0]):
        for j in range(a.shape[1]):
            if not math.isfinite(a[i, j]):
                return False
    return True


@njit(cache=True)
def _squares_finite(a):
    """True when the squares of ``a`` sum to a finite number: no NaN or inf, and
    no data whose E = ½Σe² or JᵀJ would overflow (as strict as
    :func:`lmtrain._validation.check_squares`, which names the column, or stricter)."""
    s = 0.0
    for i in range(a.shape[0]):
        for j in range(a.shape[1]):
            s += a[i, j] * a[i, j]
    return math.isfinite(s)


@njit(cache=True)
def _topology(tint, tgain):
    """The ``topo`` tuple of :meth:`lmtrain.Network.topology` from :func:`flat_topology`'s arrays.

    Slices of one array, so the kernels see exactly the types they always see.
    """
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
    return (tint[0], in_ptr, in_idx, w_ptr, act, tgain, out_idx)


@njit(cache=True)
def _patterns(X, D, transposed):
    """``(XT, DT)``: patterns and targets with the patterns along rows' length (transposed unless already)."""
    if transposed:
        return X, D
    P, n_in = X.shape
    M = D.shape[1]
    buf = np.empty((n_in + M) * P)  # one allocation for both
    XT = engine.rows(buf, 0, n_in, P)
    DT = engine.rows(buf, n_in * P, M, P)
    for p in range(X.shape[0]):
        for i in range(X.shape[1]):
            XT[i, p] = X[p, i]
        for m in range(D.shape[1]):
            DT[m, p] = D[p, m]
    return XT, DT


_FLAT: dict = {}


def flat_topology(topo):
    """``topo`` as two arrays (integers, gains), cached per topology tuple.

    Numba types a tuple argument in Python on every call (about 1.4 µs for
    ``topo``, most of the call overhead of a small trial); two arrays take a
    fast path.
    """
    hit = _FLAT.get(id(topo))
    if hit is not None and hit[0] is topo:
        return hit[1], hit[2]
    n_in, in_ptr, in_idx, w_ptr, act, gain, out_idx = topo
    tint = np.concatenate([np.array([n_in, act.shape[0], out_idx.shape[0], in_idx.shape[0]], dtype=np.int64),
                           in_ptr, in_idx, w_ptr, act, out_idx]).astype(np.int64)
    tgain = np.ascontiguousarray(gain, dtype=np.float64)
    if len(_FLAT) >= 256:
        _FLAT.clear()
    _FLAT[id(topo)] = (topo, tint, tgain)  # holding topo keeps its id from being reused
    return tint, tgain


def compiled(dispatcher, args):
    """The machine code ``dispatcher`` has compiled for ``args``, callable without type dispatch; None if none.

    Calling it skips typing every argument (0.3–0.7 µs for the 17 of
    :func:`run_many`). Only valid for arguments of exactly the same Numba
    types as ``args`` (array dtype, dimensions, layout, writeable, aligned):
    the compiled code reads its arrays without checking them.
    """
    try:
        return dispatcher.overloads[tuple(map(dispatcher.typeof_pyval, args))].entry_point
    except Exception:  # a Numba without these internals: keep dispatching
        return None


@njit(cache=True, nogil=True)
def run_many(algo, W0, X, D, transposed, tint, tgain, fopt, iopt, mu0, hist_len, lo, hi,
             out_int, out_float, out_W, hist_E):
    """Run trials ``lo … hi − 1`` from weights ``W0[t]``, one after another.

    ``X`` (P, n_in) and ``D`` (P, M) are the patterns and targets, or their
    transposes when ``transposed``; ``tint``, ``tgain`` the network
    (:func:`flat_topology`). Per trial t it stores ``out_int[t] = (stop code,
    iterations)``, ``out_float[t] = (E, E0, seconds)``, the final weights
    ``out_W[t]`` and the error history ``hist_E[t]`` (NaN after the end);
    outputs with no rows are skipped.

    Returns ``(status, iterations, E, E0, mu, out)`` of the last trial (``mu``
    the μ its next iteration would use, so that a run stopped by ``max_time``
    can be continued exactly). ``out`` holds its final weights (N values),
    then its history H (7, n) row by row: error, μ, gradient norm, time, NaN
    (no validation error), rejected tries and forced (1.0/0.0) for the first
    n = min(iterations, hist_len) iterations — what ``train`` reports, as one
    array (each array returned to Python costs about 0.45 µs). Returns status
    :data:`BAD_INPUT` without running when X, D or W0 holds NaN or inf, or
    the squares of X or D sum past float64's range.
    """
    N = W0.shape[1]
    if not (_squares_finite(X) and _squares_finite(D) and _finite2(W0)):
        return BAD_INPUT, 0, math.nan, math.nan, math.nan, np.empty(N)
    topo = _topology(tint, tgain)
    XT, DT = _patterns(X, D, transposed)
    n_in = XT.shape[0]
    M = DT.shape[0]
    ws = workspace(algo, XT, n_in + topo[4].shape[0], M, N)
    v = ws[15]  # EBP momentum: the only state a trial reads before writing it
    hist = history(hist_len)
    hE, hmu, hg, hrej, hforced, ht = hist
    Lout = hist_E.shape[1]
    keep = out_int.shape[0] > 0
    state = np.empty(O.N_STATE)
    io = iopt.copy()
    hz = fopt[O.TICK_HZ]
    w = np.empty(N)
    status = 0
    for t in range(lo, hi):
        for i in range(N):
            w[i] = W0[t, i]
            v[i] = 0.0
        for i in range(O.N_STATE):
            state[i] = 0.0
        state[O.ST_MU] = mu0
        io[O.T0] = ticks()
        status = run(algo, w, XT, DT, topo, fopt, io, state, ws, hist, iopt[O.MAX_ITER] + 1)
        if keep:
            k = int(state[O.ST_K])
            out_int[t, 0] = status
            out_int[t, 1] = k
            out_float[t, 0] = state[O.ST_E]
            out_float[t, 1] = state[O.ST_E0]
            out_float[t, 2] = (ticks() - io[O.T0]) / hz if hz > 0.0 else 0.0
            for i in range(N):
                out_W[t, i] = w[i]
            n = min(k, Lout, hist_len)
            for i in range(n):
                hist_E[t, i] = hE[i]
            for i in range(n, Lout):
                hist_E[t, i] = np.nan
    k = int(state[O.ST_K])
    n = min(k, hist_len)
    out = np.empty(N + 7 * n)
    for i in range(N):
        out[i] = w[i]
    for i in range(n):
        out[N + i] = hE[i]
        out[N + n + i] = hmu[i]
        out[N + 2 * n + i] = hg[i]
        out[N + 3 * n + i] = ht[i]
        out[N + 4 * n + i] = np.nan
        out[N + 5 * n + i] = hrej[i]  # a count of tries: exact as a float
        out[N + 6 * n + i] = 1.0 if hforced[i] else 0.0
    return status, k, state[O.ST_E], state[O.ST_E0], state[O.ST_MU], out


def _blocked(algo, W0, XT, DT, iopt) -> bool:
    return lm_blocked.use_blocks(int(iopt[O.JACOBIAN]), algo, XT.shape[1], DT.shape[0], W0.shape[1])


def _run_blocked(algo, W0, XT, DT, topo, fopt, iopt, mu0, n_nodes,
                 out_status, out_iter, out_E, out_E0, out_time, out_W, hist_E):
    """The trials one after another on the blocked path (its BLAS calls use the cores)."""
    N = W0.shape[1]
    ws = lm_blocked.take_workspace(algo, XT, DT, topo, n_nodes, N)
    try:
        _trials_blocked(ws, algo, W0, XT, DT, topo, fopt, iopt, mu0, out_status, out_iter, out_E, out_E0,
                        out_time, out_W, hist_E)
    finally:
        lm_blocked.give_back(ws)


def _trials_blocked(ws, algo, W0, XT, DT, topo, fopt, iopt, mu0, out_status, out_iter, out_E, out_E0, out_time,
                    out_W, hist_E):
    """:func:`_run_blocked`'s loop over the trials, on the workspace ``ws``."""
    T = W0.shape[0]
    L = hist_E.shape[1]
    hist = history(L)
    io = iopt.copy()
    hz = fopt[O.TICK_HZ]
    for t in range(T):
        w = W0[t].copy()
        state = np.zeros(O.N_STATE)
        state[O.ST_MU] = mu0
        io[O.T0] = ticks()
        status = lm_blocked.run(algo, w, XT, DT, topo, fopt, io, state, ws, hist, int(iopt[O.MAX_ITER]) + 1)
        out_time[t] = (ticks() - io[O.T0]) / hz if hz > 0.0 else 0.0
        out_status[t] = status
        k = int(state[O.ST_K])
        out_iter[t] = k
        out_E[t] = state[O.ST_E]
        out_E0[t] = state[O.ST_E0]
        out_W[t] = w
        n = min(k, L)
        hist_E[t, :n] = hist[0][:n]
        hist_E[t, n:] = np.nan


def run_many_serial(algo, W0, XT, DT, topo, fopt, iopt, mu0, n_nodes, n_outputs,
                    out_status, out_iter, out_E, out_E0, out_time, out_W, hist_E):
    """Run trial t from weights ``W0[t]`` for every t on one core, in one compiled call.

    ``XT``/``DT`` are the transposed patterns and targets. Outputs per trial:
    stop code, iterations, final and initial E, seconds, final weights and the
    error history (first ``hist_E.shape[1]`` iterations, NaN after the end).
    LM and Gauss–Newton take the blocked path instead when the ``jacobian``
    option asks for it (see :func:`.lm_blocked.use_blocks`).
    """
    if _blocked(algo, W0, XT, DT, iopt):
        _run_blocked(algo, W0, XT, DT, topo, fopt, iopt, mu0, n_nodes,
                     out_status, out_iter, out_E, out_E0, out_time, out_W, hist_E)
        return
    _chunks(algo, W0, XT, DT, topo, fopt, iopt, mu0, [(0, W0.shape[0])],
            out_status, out_iter, out_E, out_E0, out_time, out_W, hist_E)


def _chunks(algo, W0, XT, DT, topo, fopt, iopt, mu0, bounds,
            out_status, out_iter, out_E, out_E0, out_time, out_W, hist_E, pool=None):
    """Run each ``(lo, hi)`` of ``bounds`` as one compiled call (on ``pool`` when given)."""
    T = W0.shape[0]
    out_int = np.empty((T, 2), dtype=np.int64)
    out_float = np.empty((T, 3))
    tint, tgain = flat_topology(topo)
    args = (algo, W0, XT, DT, True, tint, tgain, fopt, iopt, mu0, hist_E.shape[1])
    outs = (out_int, out_float, out_W, hist_E)
    # EBP on few patterns: trials side by side in lanes (same results, see _lanes)
    B = _lanes.lanes(XT.shape[1], max(hi - lo for lo, hi in bounds)) \
        if algo == O.EBP and fopt[O.MAX_TIME] == math.inf else 1
    if B > 1:
        def one(lo, hi):
            return _lanes.run_many_ebp(*args, lo, hi, *outs, B)
    else:
        def one(lo, hi):
            return run_many(*args, lo, hi, *outs)
    if pool is None:
        for lo, hi in bounds:
            one(lo, hi)
    else:
        for f in [pool.submit(one, lo, hi) for lo, hi in bounds]:
            f.result()
    out_status[:] = out_int[:, 0]
    out_iter[:] = out_int[:, 1]
    out_E[:] = out_float[:, 0]
    out_E0[:] = out_float[:, 1]
    out_time[:] = out_float[:, 2]


_POOL: ThreadPoolExecutor | None = None
_POOL_LOCK = threading.Lock()


def threads() -> int:
    """Worker threads for multi-trial runs: Numba's thread count (``NUMBA_NUM_THREADS``)."""
    return max(1, int(numba.config.NUMBA_NUM_THREADS))


def _pool() -> ThreadPoolExecutor:
    global _POOL
    with _POOL_LOCK:
        if _POOL is None:
            _POOL = ThreadPoolExecutor(max_workers=threads(), thread_name_prefix="lmtrain")
        return _POOL


def run_many_parallel(algo, W0, XT, DT, topo, fopt, iopt, mu0, n_nodes, n_outputs,
                      out_status, out_iter, out_E, out_E0, out_time, out_W, hist_E):
    """:func:`run_many_serial` with the trials spread over all cores (same results).

    Trials are cut into about four chunks per thread, handed out as threads
    become free, so that a few long trials do not leave a core idle at the end.
    """
    T = W0.shape[0]
    n_threads = min(threads(), T)
    if n_threads <= 1 or _blocked(algo, W0, XT, DT, iopt):
        run_many_serial(algo, W0, XT, DT, topo, fopt, iopt, mu0, n_nodes, n_outputs,
                        out_status, out_iter, out_E, out_E0, out_time, out_W, hist_E)
        return
    n_chunks = min(T, 4 * n_threads)
    if algo == O.EBP and fopt[O.MAX_TIME] == math.inf and _lanes.lanes(XT.shape[1], -(-T // n_threads)) > 1:
        n_chunks = n_threads  # lanes balance themselves: a free lane takes the next trial
    bounds = [(T * c // n_chunks, T * (c + 1) // n_chunks) for c in range(n_chunks)]
    _chunks(algo, W0, XT, DT, topo, fopt, iopt, mu0, bounds,
            out_status, out_iter, out_E, out_E0, out_time, out_W, hist_E, pool=_pool())


# at the end: _lanes reuses _finite2 and _topology from this module
from . import _lanes  # noqa: E402
