"""Error backpropagation (steepest descent), eq. 12.4::

    w_{k+1} = w_k − α g_k,        g = ∂E/∂w = Jᵀe   (eqs. 12.3, 12.18)

with optional momentum β (not in the chapter)::

    v_{k+1} = β v_k − α g_k,      w_{k+1} = w_k + v_{k+1}

The gradient comes from one backward pass per pattern that carries the real
errors (eq. 12.34); the Jacobian is never formed. Every step is taken — EBP has
no safeguard — so a large α oscillates or diverges (Fig. 12.1). A non-finite
error ends the run with ``DIVERGED`` and the last finite weights.
"""

from __future__ import annotations

import math


from ..result import CONTINUE, StopReason
from .records import Step, small_step
from .workspace import error_at, gradient
from .shared import shared

_DIVERGED = int(StopReason.DIVERGED)
_MIN_GRAD = int(StopReason.MIN_GRAD)
_MIN_STEP = int(StopReason.MIN_STEP)


@shared
def step(w, E, mu, o, ws):
    """One EBP iteration from the forward pass the workspace holds at ``w``."""
    gn = gradient(ws, w)  # g = Jᵀe, eq. 12.34
    if gn <= o.min_grad:
        return Step(_MIN_GRAD, E, mu, math.nan, 0, False, gn, False)
    v, g, w_before = ws.v, ws.g, ws.wt
    for i in range(w.shape[0]):
        v[i] = o.momentum * v[i] - o.alpha * g[i]  # eq. 12.4 (with β = 0: v = −αg)
        w_before[i] = w[i]
        w[i] += v[i]
    En = error_at(ws, w)
    if not math.isfinite(En):  # diverged: back to the last finite weights
        for i in range(w.shape[0]):
            w[i] = w_before[i]
        error_at(ws, w)
        return Step(_DIVERGED, E, mu, math.nan, 0, False, gn, False)
    status = CONTINUE
    if small_step(v, w, o):
        status = _MIN_STEP
    return Step(status, En, mu, math.nan, 0, False, gn, True)
