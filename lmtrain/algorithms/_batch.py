"""Many trials in one compiled call, spread over the cores with ``prange``.

Each trial is independent (own weights, workspace and history), so the results
do not depend on how trials are spread over threads: a parallel run equals a
serial one bit for bit.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from .._clock import ticks
from . import _options as O
from ._loop import history, run, workspace


@njit(cache=True)
def _one(algo, W0, t, XT, DT, topo, fopt, iopt, mu0, n_nodes, n_outputs,
         out_status, out_iter, out_E, out_E0, out_time, out_W, hist_E):
    N = W0.shape[1]
    w = W0[t].copy()
    ws = workspace(algo, XT, n_nodes, n_outputs, N)
    L = hist_E.shape[1]
    hist = history(L)
    state = np.zeros(O.N_STATE)
    state[O.ST_MU] = mu0
    io = iopt.copy()
    io[O.T0] = ticks()
    status = run(algo, w, XT, DT, topo, fopt, io, state, ws, hist, iopt[O.MAX_ITER] + 1)
    hz = fopt[O.TICK_HZ]
    out_time[t] = (ticks() - io[O.T0]) / hz if hz > 0.0 else 0.0
    out_status[t] = status
    k = int(state[O.ST_K])
    out_iter[t] = k
    out_E[t] = state[O.ST_E]
    out_E0[t] = state[O.ST_E0]
    out_W[t, :] = w
    n = min(k, L)
    hist_E[t, :n] = hist[0][:n]
    hist_E[t, n:] = np.nan


@njit(cache=True, parallel=True)
def run_many_parallel(algo, W0, XT, DT, topo, fopt, iopt, mu0, n_nodes, n_outputs,
                      out_status, out_iter, out_E, out_E0, out_time, out_W, hist_E):
    """Run trial t from weights ``W0[t]`` for every t, in parallel.

    Outputs per trial: stop code, iterations, final and initial E, seconds,
    final weights, and the error history (first ``hist_E.shape[1]`` iterations,
    NaN after the end).
    """
    for t in prange(W0.shape[0]):
        _one(algo, W0, t, XT, DT, topo, fopt, iopt, mu0, n_nodes, n_outputs,
             out_status, out_iter, out_E, out_E0, out_time, out_W, hist_E)


@njit(cache=True)
def run_many_serial(algo, W0, XT, DT, topo, fopt, iopt, mu0, n_nodes, n_outputs,
                    out_status, out_iter, out_E, out_E0, out_time, out_W, hist_E):
    """Serial twin of :func:`run_many_parallel` (same results, one core)."""
    for t in range(W0.shape[0]):
        _one(algo, W0, t, XT, DT, topo, fopt, iopt, mu0, n_nodes, n_outputs,
             out_status, out_iter, out_E, out_E0, out_time, out_W, hist_E)
