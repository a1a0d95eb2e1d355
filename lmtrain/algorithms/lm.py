"""Levenberg–Marquardt, eq. 12.25, organised as in Fig. 12.5::

    w_{k+1} = w_k − (J_kᵀ J_k + μ I)⁻¹ J_kᵀ e_k

μ > 0 blends Gauss–Newton (μ → 0, eq. 12.23) with steepest descent of step
1/μ (μ → ∞, eqs. 12.4 and 12.26), and keeps the system positive definite.

One iteration (Fig. 12.5, the default ``strict=False``):

1. compute J and e at w_k (one forward pass per pattern is already held, one
   unit-δ backward pass per pattern and output);
2. solve for the step with the current μ and evaluate E at the trial weights;
3. if E fell (E_{k+1} ≤ E_k): keep the step and divide μ by ``mu_dec`` (10);
4. if E rose (or is not finite, or the system could not be solved): restore w_k,
   multiply μ by ``mu_inc`` (10) and go back to 2 — at most ``max_tries`` (5)
   times; if the try after the last retry still raises E, the figure takes that
   step anyway (a *forced* step, recorded in ``history.forced``).

``strict=True`` never accepts an increase (MATLAB ``trainlm``'s behaviour):
when every try fails, w_k is kept and μ is multiplied once more. In both modes
μ stays within [``mu_min``, ``mu_max``]: it is never divided below ``mu_min``,
and the run stops with ``MU_MAX`` when it would exceed ``mu_max``.

When P·M < N the identical step Jᵀ(JJᵀ + μI)⁻¹e is computed from the smaller
P·M × P·M system. Default μ₀ = 0.01 (the chapter gives none; MATLAB uses 0.001).
"""

from __future__ import annotations

import math

from numba import njit

from .. import engine
from ..result import CONTINUE, StopReason
from ._options import MAX_TRIES, MIN_GRAD, MIN_STEP, MU_DEC, MU_INC, MU_MAX, MU_MIN, STRICT

_MIN_GRAD = int(StopReason.MIN_GRAD)
_MIN_STEP = int(StopReason.MIN_STEP)
_MU_MAX = int(StopReason.MU_MAX)


# actions returned by decide()
ACCEPT = 0  # keep the step, divide mu
RETRY = 1  # retract, mu was multiplied, try again
FORCE = 2  # last try raised E; Fig. 12.5 takes the step anyway
KEEP = 3  # strict mode: every try failed, keep w, mu multiplied once more
STOP = 4  # mu would exceed mu_max


@njit(cache=True, inline="always")
def decide(E, Et, mu, t, fopt, iopt):
    """The μ rule of Fig. 12.5 for try ``t`` (0-based): ``(action, next_mu)``.

    ``Et`` is the error at the trial weights (``inf`` when the system could not
    be solved). Shared by the network trainer and :func:`lmtrain.curve_fit`, so
    both follow one implementation of the rule.
    """
    if Et <= E:  # False for NaN
        return ACCEPT, max(mu / fopt[MU_DEC], fopt[MU_MIN])
    mu_up = mu * fopt[MU_INC]
    if t < iopt[MAX_TRIES]:
        return (STOP if mu_up > fopt[MU_MAX] else RETRY), mu_up
    if iopt[STRICT] == 0 and math.isfinite(Et):
        return FORCE, mu
    return (STOP if mu_up > fopt[MU_MAX] else KEEP), mu_up


# inlined into the loop (_loop.run): compiled separately, every rule was optimised twice
@njit(cache=True, inline="always")
def step(w, E, mu, XT, DT, topo, fopt, iopt, ws):
    """One LM iteration (Fig. 12.5).

    Returns ``(status, E, mu_next, mu_used, rejected, forced, gnorm, stepped)``.
    """
    Y, S, Yt, St, Dl, reached, JT, e, g, gt, G, A, rhs, delta, wt, v, Jr = ws
    engine.jacobian_cols(w, Y, S, topo, JT, 0, Dl, reached)
    engine.errors(Y, DT, topo, e)
    engine.matvec(JT, e, g)
    gn = engine.norm(g)
    if gn <= fopt[MIN_GRAD]:
        return _MIN_GRAD, E, mu, mu, 0, False, gn, False
    small = JT.shape[1] < JT.shape[0]
    engine.gram_t(JT, G, small, Jr)
    N = w.shape[0]
    rejected = 0
    t = 0
    while True:
        mu_used = mu
        Et = math.inf
        if engine.damped_step_t(JT, e, g, G, small, mu, A, rhs, delta):
            for i in range(N):
                wt[i] = w[i] - delta[i]
            engine.forward(wt, Yt, St, topo)
            Et = engine.half_sse(Yt, DT, topo)
        action, mu = decide(E, Et, mu, t, fopt, iopt)
        if action == ACCEPT or action == FORCE:
            engine.copy_vec(wt, w)
            engine.copy_mat(Yt, Y)
            engine.copy_mat(St, S)
            status = CONTINUE
            if action == ACCEPT and engine.norm(delta) <= fopt[MIN_STEP]:
                status = _MIN_STEP
            return status, Et, mu, mu_used, rejected, action == FORCE, gn, True
        rejected += 1
        if action == STOP:
            return _MU_MAX, E, mu, mu_used, rejected, False, gn, True
        if action == KEEP:
            return CONTINUE, E, mu, mu_used, rejected, False, gn, True
        t += 1
