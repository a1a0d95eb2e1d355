"""Gauss–Newton, eq. 12.23::

    w_{k+1} = w_k − (J_kᵀ J_k)⁻¹ J_kᵀ e_k

Newton's method with the Hessian approximated by JᵀJ (eq. 12.22), i.e. with the
second-derivative term S of eqs. 12.20–12.21 dropped. Every step is taken.

Singular JᵀJ. JᵀJ has rank at most P·M, so it is singular whenever P·M < N
(parity-3 on a 3-2-1 network: 8 < 11). We then take the minimum-norm
least-squares step Δw = J⁺e = Jᵀ(JJᵀ)⁻¹e, solving the P·M × P·M system instead —
the limit of the LM step as μ → 0. If the system actually solved (JᵀJ, or JJᵀ
when P·M < N) is singular to working precision — its Cholesky factorisation meets
a pivot below n·ε·max(diag) — the run stops with ``SINGULAR`` rather than
inverting it. A non-finite error after a step stops it with ``DIVERGED``.
"""

from __future__ import annotations

import math

from numba import njit

from .. import engine
from ..result import CONTINUE, StopReason
from ._options import MIN_GRAD, MIN_STEP

_DIVERGED = int(StopReason.DIVERGED)
_MIN_GRAD = int(StopReason.MIN_GRAD)
_MIN_STEP = int(StopReason.MIN_STEP)
_SINGULAR = int(StopReason.SINGULAR)


# inlined into the loop (_loop.run): compiled separately, every rule was optimised twice
@njit(cache=True, inline="always")
def step(w, E, mu, XT, DT, topo, fopt, iopt, ws):
    """One Gauss–Newton iteration. Returns the same tuple as the EBP step."""
    Y, S, Yt, St, Dl, reached, JT, e, g, gt, G, A, rhs, delta, wt, v, Jr = ws
    engine.jacobian_cols(w, Y, S, topo, JT, 0, Dl, reached)
    engine.errors(Y, DT, topo, e)
    engine.matvec(JT, e, g)
    gn = engine.norm(g)
    if gn <= fopt[MIN_GRAD]:
        return _MIN_GRAD, E, mu, 0.0, 0, False, gn, False
    small = JT.shape[1] < JT.shape[0]
    engine.gram_t(JT, G, small, Jr)
    if not engine.damped_step_t(JT, e, g, G, small, 0.0, A, rhs, delta):
        return _SINGULAR, E, mu, 0.0, 0, False, gn, False
    N = w.shape[0]
    for i in range(N):
        wt[i] = w[i] - delta[i]
    engine.forward(wt, Yt, St, topo)
    En = engine.half_sse(Yt, DT, topo)
    if not math.isfinite(En):
        return _DIVERGED, E, mu, 0.0, 0, False, gn, False
    engine.copy_vec(wt, w)
    engine.copy_mat(Yt, Y)
    engine.copy_mat(St, S)
    status = CONTINUE
    if engine.norm(delta) <= fopt[MIN_STEP]:
        status = _MIN_STEP
    return status, En, mu, 0.0, 0, False, gn, True
