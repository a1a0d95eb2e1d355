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


from ..kernels import cholesky_solve, lu_solve
from ..result import CONTINUE, StopReason
from .records import Step, small_step
from .workspace import accept, gradient, gradient_at, trial_error
from .shared import shared

_DIVERGED = int(StopReason.DIVERGED)
_MIN_GRAD = int(StopReason.MIN_GRAD)
_MIN_STEP = int(StopReason.MIN_STEP)
_NOT_PD = int(StopReason.NOT_POSITIVE_DEFINITE)
_SINGULAR = int(StopReason.SINGULAR)


@shared
def hessian(ws, w, h0):
    """Central-difference Hessian of E from the analytic gradient, into ``ws.G``."""
    N = w.shape[0]
    H, wt, gt = ws.G, ws.wt, ws.gt
    for i in range(N):
        for r in range(N):
            wt[r] = w[r]
        h = h0 * (1.0 + abs(w[i]))
        wt[i] = w[i] + h
        gradient_at(ws, wt, gt)
        for r in range(N):
            H[r, i] = gt[r]
        wt[i] = w[i] - h
        gradient_at(ws, wt, gt)
        for r in range(N):
            H[r, i] = (H[r, i] - gt[r]) / (2.0 * h)
    for i in range(N):
        for r in range(i + 1, N):
            s = 0.5 * (H[i, r] + H[r, i])
            H[i, r] = s
            H[r, i] = s


@shared
def step(w, E, mu, o, ws):
    """One Newton iteration."""
    gn = gradient(ws, w)  # g at w, eq. 12.34
    if gn <= o.min_grad:
        return Step(_MIN_GRAD, E, mu, math.nan, 0, False, gn, False)
    hessian(ws, w, o.hessian_step)
    H, A, g, delta = ws.G, ws.A, ws.g, ws.delta
    _copy(H, g, A, delta)
    if not cholesky_solve(A, delta):  # Δ = H⁻¹g (eq. 12.15), unless H is not positive definite
        if not o.indefinite_step:
            return Step(_NOT_PD, E, mu, math.nan, 0, False, gn, False)
        _copy(H, g, A, delta)
        if not lu_solve(A, delta):  # the pure Newton step through an indefinite H
            return Step(_SINGULAR, E, mu, math.nan, 0, False, gn, False)
    En = trial_error(ws, w, E, False)
    if not math.isfinite(En):
        return Step(_DIVERGED, E, mu, math.nan, 0, False, gn, False)
    accept(ws, w)
    status = CONTINUE
    if small_step(ws.delta, w, o):
        status = _MIN_STEP
    return Step(status, En, mu, math.nan, 0, False, gn, True)


@shared
def _copy(H, g, A, x):
    """A ← H and x ← g (the solves work in place)."""
    for i in range(H.shape[0]):
        x[i] = g[i]
        for j in range(H.shape[1]):
            A[i, j] = H[i, j]
