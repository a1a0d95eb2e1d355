"""Newton's method, eqs. 12.12–12.15::

    w_{k+1} = w_k − H_k⁻¹ g_k,     H_ij = ∂²E/∂w_i∂w_j = (JᵀJ)_ij + S_ij

with the full Hessian, including the term S_ij = Σ e_pm ∂²e_pm/∂w_i∂w_j
(eqs. 12.20–12.21) that Gauss–Newton drops. H is built column by column from
central differences of the analytic gradient (eq. 12.34)::

    H[:, i] ≈ (g(w + h_i u_i) − g(w − h_i u_i)) / (2 h_i),   h_i = h·(1 + |w_i|)

then symmetrised; the truncation error is O(h²) ≈ 1e-10 relative for the default
h = 1e-5. This costs 2N gradient passes per iteration, which is fine for the
small networks Newton's method is meant to illustrate.

Newton's step descends only where H is positive definite. When the Cholesky
factorisation of H fails (H indefinite or singular) the run stops with
``NOT_POSITIVE_DEFINITE`` instead of stepping uphill or towards a saddle; this is
the instability Table 12.1 lists. With ``indefinite="step"`` it takes the pure
Newton step anyway (Gaussian elimination with partial pivoting), heading for the
nearest stationary point, which may be a saddle or a maximum; a singular H then
stops it with ``SINGULAR``. A non-finite error stops it with ``DIVERGED``.
"""

from __future__ import annotations

import math

from numba import njit

from .. import engine
from ..result import CONTINUE, StopReason
from ._options import HESSIAN_STEP, INDEFINITE_STEP, MIN_GRAD, MIN_STEP

_DIVERGED = int(StopReason.DIVERGED)
_MIN_GRAD = int(StopReason.MIN_GRAD)
_MIN_STEP = int(StopReason.MIN_STEP)
_NOT_PD = int(StopReason.NOT_POSITIVE_DEFINITE)
_SINGULAR = int(StopReason.SINGULAR)


@njit(cache=True)
def hessian(w, DT, topo, fopt, ws, H):
    """Finite-difference Hessian of E from the analytic gradient (into ``H``)."""
    Y, S, Yt, St, Dl, reached, JT, e, g, gt, G, A, rhs, delta, wt, v, Jr = ws
    N = w.shape[0]
    h0 = fopt[HESSIAN_STEP]
    for i in range(N):
        engine.copy_vec(w, wt)
        h = h0 * (1.0 + abs(w[i]))
        wt[i] = w[i] + h
        engine.forward(wt, Yt, St, topo)
        engine.gradient(wt, Yt, St, DT, topo, gt, Dl)
        for r in range(N):
            H[r, i] = gt[r]
        wt[i] = w[i] - h
        engine.forward(wt, Yt, St, topo)
        engine.gradient(wt, Yt, St, DT, topo, gt, Dl)
        for r in range(N):
            H[r, i] = (H[r, i] - gt[r]) / (2.0 * h)
    for i in range(N):
        for r in range(i + 1, N):
            s = 0.5 * (H[i, r] + H[r, i])
            H[i, r] = s
            H[r, i] = s


# inlined into the loop (_loop.run): compiled separately, every rule was optimised twice
@njit(cache=True, inline="always")
def step(w, E, mu, XT, DT, topo, fopt, iopt, ws):
    """One Newton iteration. Returns the same tuple as the EBP step."""
    Y, S, Yt, St, Dl, reached, JT, e, g, gt, G, A, rhs, delta, wt, v, Jr = ws
    engine.gradient(w, Y, S, DT, topo, g, Dl)
    gn = engine.norm(g)
    if gn <= fopt[MIN_GRAD]:
        return _MIN_GRAD, E, mu, math.nan, 0, False, gn, False
    hessian(w, DT, topo, fopt, ws, G)
    engine.copy_mat(G, A)
    engine.copy_vec(g, rhs)
    if not engine.cholesky_solve(A, rhs):
        if iopt[INDEFINITE_STEP] == 0:
            return _NOT_PD, E, mu, math.nan, 0, False, gn, False
        engine.copy_mat(G, A)
        engine.copy_vec(g, rhs)
        if not engine.lu_solve(A, rhs):
            return _SINGULAR, E, mu, math.nan, 0, False, gn, False
    N = w.shape[0]
    for i in range(N):
        delta[i] = rhs[i]
        wt[i] = w[i] - rhs[i]
    engine.forward(wt, Yt, St, topo)
    En = engine.half_sse(Yt, DT, topo)
    if not math.isfinite(En):
        return _DIVERGED, E, mu, math.nan, 0, False, gn, False
    engine.copy_vec(wt, w)
    engine.copy_mat(Yt, Y)
    engine.copy_mat(St, S)
    status = CONTINUE
    if engine.norm(delta) <= fopt[MIN_STEP]:
        status = _MIN_STEP
    return status, En, mu, math.nan, 0, False, gn, True
