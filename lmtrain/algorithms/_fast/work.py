"""The compiled speed-twin workspace and its operations.

:class:`FastWork` holds everything a rule needs for all patterns at once, laid
out for the twins (node values node-major, J transposed). Its operations are
twins of the plain workspace's in :mod:`lmtrain.algorithms.workspace`, which
the rules call by the same names:

==================  ================================================  ==========================================
operation           what it computes                                  plain twin (lmtrain.kernels)
==================  ================================================  ==========================================
``error_at``        E at w, forward pass kept                         :func:`~lmtrain.kernels.error`
``linearize``       J, e, g = Jᵀe and the Gram matrix at w            :func:`~lmtrain.kernels.quasi_hessian`
``solve``           Δ = (JᵀJ + μI)⁻¹ Jᵀe                              :func:`~lmtrain.kernels.damped_step`
``trial_error``     E at w − Δ, its forward pass kept                 :func:`~lmtrain.kernels.error`
``accept``          w ← w − Δ, the trial's forward pass kept
``gradient``        g = Jᵀe by one backward pass, from the kept pass  :func:`~lmtrain.kernels.gradient`
``gradient_at``     g at any weights into a given array               :func:`~lmtrain.kernels.gradient`
==================  ================================================  ==========================================

The forward pass of an accepted try is kept, so the next iteration's Jacobian
starts from it instead of running it again. With fewer residuals than weights
(P·M < N) the Gram matrix is JJᵀ and the step Jᵀ(JJᵀ + μI)⁻¹e.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np
from numba import njit

from ... import kernels
from ...network import Topology
from .backward import gradient as _gradient
from .backward import jacobian_cols
from .forward import copy_rows, copy_vec, errors, forward, half_sse
from .gram import cholesky_solve, gram_t, matvec
from .simd import JIT, rows, volatile_flag

#: what a workspace is made for: the gradient only (EBP), the Jacobian (LM, Gauss–Newton), a Hessian (Newton)
NEEDS_GRADIENT, NEEDS_JACOBIAN, NEEDS_HESSIAN = 0, 1, 2


class FastWork(NamedTuple):
    """Buffers of the compiled twins for one problem (unused ones are empty)."""

    topo: Topology
    XT: np.ndarray  #: inputs (n_inputs, P)
    DT: np.ndarray  #: targets (M, P)
    Y: np.ndarray  #: node values at w (n_nodes, P); the first rows hold the inputs
    S: np.ndarray  #: slopes at w
    Yt: np.ndarray  #: node values at the trial weights
    St: np.ndarray  #: slopes at the trial weights
    Dl: np.ndarray  #: δ of every node and pattern (backward pass)
    reached: np.ndarray  #: nodes the backward pass of one output reached
    JT: np.ndarray  #: Jᵀ (N, P·M)
    e: np.ndarray  #: errors (P·M,), pattern-major
    g: np.ndarray  #: g = Jᵀe
    gt: np.ndarray  #: a second gradient (Newton's differences)
    G: np.ndarray  #: the Gram matrix (JᵀJ, or JJᵀ when P·M < N), or Newton's H
    A: np.ndarray  #: the damped copy of G that the solve factors
    rhs: np.ndarray  #: the solve's right-hand side
    delta: np.ndarray  #: the step Δ
    wt: np.ndarray  #: trial weights (EBP: the weights before the step)
    v: np.ndarray  #: EBP's momentum
    Jr: np.ndarray  #: J in row layout, for JJᵀ of more than eight residuals
    flags: np.ndarray  #: flags[0] = 1: stop at the next iteration (Ctrl-C)


@njit(**JIT)
def workspace(needs, topo, XT, DT, flags):
    """A :class:`FastWork` for these data: one zeroed block carved into views (few allocations)."""
    n_in, P = XT.shape
    M = DT.shape[0]
    n_nodes = n_in + topo.act.shape[0]
    N = topo.in_ptr[topo.act.shape[0]] + topo.act.shape[0]  # a bias and a weight per input, per neuron
    R = P * M
    if needs == NEEDS_JACOBIAN:
        nJ = N * R
        nJr = R * N if R < N else 0
        nR = R
        K = min(R, N)
    else:
        nJ = nJr = nR = 0
        K = N if needs == NEEDS_HESSIAN else 0
    nY = n_nodes * P
    buf = np.zeros(5 * nY + nJ + nJr + nR + 2 * K * K + K + 6 * N)
    o = 0
    Y = rows(buf, o, n_nodes, P)
    o += nY
    S = rows(buf, o, n_nodes, P)
    o += nY
    Yt = rows(buf, o, n_nodes, P)
    o += nY
    St = rows(buf, o, n_nodes, P)
    o += nY
    Dl = rows(buf, o, n_nodes, P)
    o += nY
    JT = rows(buf, o, N, nJ // N if N > 0 else 0)
    o += nJ
    Jr = rows(buf, o, nJr // N if N > 0 else 0, N)
    o += nJr
    e = buf[o:o + nR]
    o += nR
    G = rows(buf, o, K, K)
    o += K * K
    A = rows(buf, o, K, K)
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
    return FastWork(topo, XT, DT, Y, S, Yt, St, Dl, reached, JT, e, g, gt, G, A, rhs, delta, wt, v, Jr, flags)


@njit(inline="always", **JIT)
def error_at(ws, w):
    """E at ``w``; the forward pass stays in ``Y``/``S`` for the next Jacobian or gradient."""
    forward(w, ws.Y, ws.S, ws.topo)
    return half_sse(ws.Y, ws.DT, ws.topo)


@njit(inline="always", **JIT)
def linearize(ws, w):
    """J (transposed), e, g = Jᵀe and the Gram matrix at ``w`` from the kept forward pass; returns ‖g‖."""
    jacobian_cols(w, ws.Y, ws.S, ws.topo, ws.JT, 0, ws.Dl, ws.reached)
    errors(ws.Y, ws.DT, ws.topo, ws.e)
    matvec(ws.JT, ws.e, ws.g)
    gram_t(ws.JT, ws.G, ws.JT.shape[1] < ws.JT.shape[0], ws.Jr)
    return kernels.norm(ws.g)


@njit(inline="always", **JIT)
def solve(ws, mu):
    """Δ = (JᵀJ + μI)⁻¹ Jᵀe into ``delta`` (twin of :func:`lmtrain.kernels.damped_step`); False when singular."""
    G, A, rhs = ws.G, ws.A, ws.rhs
    small = ws.JT.shape[1] < ws.JT.shape[0]
    n = G.shape[0]
    for a in range(n):
        Ga = G[a]
        Aa = A[a]
        for b in range(n):
            Aa[b] = Ga[b]
        Aa[a] += mu
    copy_vec(ws.e if small else ws.g, rhs)  # e on the small side, g = Jᵀe otherwise
    if not cholesky_solve(A, rhs):
        return False
    if small:
        matvec(ws.JT, rhs, ws.delta)  # Δ = Jᵀ(JJᵀ + μI)⁻¹e
    else:
        copy_vec(rhs, ws.delta)
    for i in range(ws.delta.shape[0]):
        if not math.isfinite(ws.delta[i]):
            return False
    return True


@njit(inline="always", **JIT)
def trial_error(ws, w, E, cut):
    """E at the trial weights w − Δ (into ``wt``); their forward pass stays in ``Yt``/``St`` (E, cut: unused)."""
    wt = ws.wt
    for i in range(w.shape[0]):
        wt[i] = w[i] - ws.delta[i]
    forward(wt, ws.Yt, ws.St, ws.topo)
    return half_sse(ws.Yt, ws.DT, ws.topo)


@njit(inline="always", **JIT)
def accept(ws, w):
    """w ← the trial weights, and their forward pass becomes the kept one (the input rows are the same in both)."""
    copy_vec(ws.wt, w)
    n_in = ws.topo.n_inputs
    copy_rows(ws.Yt, ws.Y, n_in)
    copy_rows(ws.St, ws.S, n_in)


@njit(inline="always", **JIT)
def gradient(ws, w):
    """g = Jᵀe at ``w`` from the kept forward pass (eq. 12.34); returns ‖g‖."""
    _gradient(w, ws.Y, ws.S, ws.DT, ws.topo, ws.g, ws.Dl)
    return kernels.norm(ws.g)


@njit(inline="always", **JIT)
def gradient_at(ws, w, out):
    """g at any weights ``w`` into ``out``, through the trial buffers (the kept pass is untouched)."""
    forward(w, ws.Yt, ws.St, ws.topo)
    _gradient(w, ws.Yt, ws.St, ws.DT, ws.topo, out, ws.Dl)


@njit(inline="always", **JIT)
def interrupted(ws):
    """True once Ctrl-C asked the run to stop (another thread may set the flag)."""
    return volatile_flag(ws.flags) != 0
