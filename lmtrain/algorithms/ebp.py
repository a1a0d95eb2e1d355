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

from numba import njit

from .. import engine
from ..result import CONTINUE, StopReason
from ._options import ALPHA, MIN_GRAD, MIN_STEP, MOMENTUM

_DIVERGED = int(StopReason.DIVERGED)
_MIN_GRAD = int(StopReason.MIN_GRAD)
_MIN_STEP = int(StopReason.MIN_STEP)


# inlined into the loop (_loop.run): compiled separately, every rule was optimised twice
@njit(cache=True, inline="always")
def step(w, E, mu, XT, DT, topo, fopt, iopt, ws):
    """One EBP iteration from the forward pass held in the workspace.

    Returns ``(status, E, mu, mu_used, rejected, forced, gnorm, stepped)``.
    """
    Y, S, Yt, St, Dl, reached, JT, e, g, gt, G, A, rhs, delta, wt, v, Jr = ws
    engine.gradient(w, Y, S, DT, topo, g, Dl)
    gn = engine.norm(g)
    if gn <= fopt[MIN_GRAD]:
        return _MIN_GRAD, E, mu, math.nan, 0, False, gn, False
    alpha = fopt[ALPHA]
    beta = fopt[MOMENTUM]
    N = w.shape[0]
    for i in range(N):
        v[i] = beta * v[i] - alpha * g[i]
        wt[i] = w[i]
        w[i] += v[i]
    engine.forward(w, Y, S, topo)
    En = engine.half_sse(Y, DT, topo)
    if not math.isfinite(En):
        for i in range(N):
            w[i] = wt[i]
        engine.forward(w, Y, S, topo)
        return _DIVERGED, E, mu, math.nan, 0, False, gn, False
    status = CONTINUE
    if engine.norm(v) <= fopt[MIN_STEP]:
        status = _MIN_STEP
    return status, En, mu, math.nan, 0, False, gn, True
