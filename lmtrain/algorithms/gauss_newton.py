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


from ..result import CONTINUE, StopReason
from .records import Step, small_step
from .workspace import accept, linearize, solve, trial_error
from .shared import shared

_DIVERGED = int(StopReason.DIVERGED)
_MIN_GRAD = int(StopReason.MIN_GRAD)
_MIN_STEP = int(StopReason.MIN_STEP)
_SINGULAR = int(StopReason.SINGULAR)


@shared
def step(w, E, mu, o, ws):
    """One Gauss–Newton iteration."""
    gn = linearize(ws, w)  # J and g = Jᵀe at w
    if gn <= o.min_grad:
        return Step(_MIN_GRAD, E, mu, 0.0, 0, False, gn, False)
    if not solve(ws, 0.0):  # Δ = (JᵀJ)⁻¹Jᵀe, eq. 12.23
        return Step(_SINGULAR, E, mu, 0.0, 0, False, gn, False)
    En = trial_error(ws, w, E, False)
    if not math.isfinite(En):
        return Step(_DIVERGED, E, mu, 0.0, 0, False, gn, False)
    accept(ws, w)  # every step is taken
    status = CONTINUE
    if small_step(ws.delta, w, o):
        status = _MIN_STEP
    return Step(status, En, mu, 0.0, 0, False, gn, True)
