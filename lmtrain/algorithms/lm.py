"""Levenberg–Marquardt, eq. 12.25, organised as in Fig. 12.5::

    w_{k+1} = w_k − (J_kᵀ J_k + μ I)⁻¹ J_kᵀ e_k

μ > 0 blends Gauss–Newton (μ → 0, eq. 12.23) with steepest descent of step
1/μ (μ → ∞, eqs. 12.4 and 12.26), and keeps the system positive definite.

One iteration (Fig. 12.5, the default ``strict=False``), :func:`step`:

1. compute J and g = Jᵀe at w_k ("Jacobian matrix computation");
2. :func:`tries`: solve for the step with the current μ and evaluate E at the
   trial weights ("error evaluation");
3. :func:`decide`: if E did not rise (E_{k+1} ≤ E_k), keep the step and divide
   μ by ``mu_dec`` (10);
4. if E rose (or is not finite, or the system could not be solved): restore
   w_k, multiply μ by ``mu_inc`` (10) and go back to 2 — at most ``max_tries``
   (5) times; if the try after the last retry still raises E, the figure takes
   that step anyway (a *forced* step, recorded in ``history.forced``).

``strict=True`` never accepts an increase (MATLAB ``trainlm``'s behaviour):
when every try fails, w_k is kept and μ is multiplied once more. In both modes
μ stays within [``mu_min``, ``mu_max``]: it is never divided below ``mu_min``,
and the run stops with ``MU_MAX`` when it would exceed ``mu_max``.

The try loop is written once, here, and every LM in lmtrain runs it: the
network trainer on its compiled twins (where Numba inlines these functions)
and, interpreted as Python, on the plain kernels, on the blocked large-problem
path and in :func:`lmtrain.curve_fit` (see :mod:`.shared`). Default μ₀ = 0.01 (the chapter gives none; MATLAB uses 0.001).
"""

from __future__ import annotations

import math


from ..result import CONTINUE, StopReason
from .records import Step, small_step
from .workspace import accept, linearize, solve, trial_error
from .shared import shared

_MIN_GRAD = int(StopReason.MIN_GRAD)
_MIN_STEP = int(StopReason.MIN_STEP)
_MU_MAX = int(StopReason.MU_MAX)

# what decide() tells the try loop to do
ACCEPT = 0  # keep the step, divide mu
RETRY = 1  # retract, mu was multiplied, try again
FORCE = 2  # the last try raised E; Fig. 12.5 takes the step anyway
KEEP = 3  # strict mode: every try failed, keep w, mu multiplied once more
STOP = 4  # mu would exceed mu_max


@shared
def decide(E, Et, mu, t, o):
    """The μ rule of Fig. 12.5 for try ``t`` (0-based): ``(action, next_mu)``.

    ``Et`` is the error at the trial weights (``inf`` when the system could
    not be solved); ``o`` the options record.
    """
    if Et <= E:  # E did not rise (False for NaN)
        return ACCEPT, max(mu / o.mu_dec, o.mu_min)
    mu_up = mu * o.mu_inc
    if t < o.max_tries:
        return (STOP if mu_up > o.mu_max else RETRY), mu_up
    if not o.strict and math.isfinite(Et):
        return FORCE, mu
    return (STOP if mu_up > o.mu_max else KEEP), mu_up


@shared
def tries(w, E, mu, o, ws):
    """The tries of one iteration (Fig. 12.5): ``(action, E after, next μ, μ used, rejected tries)``.

    Solve, evaluate, decide; a rejected try leaves w_k as it was (the trial
    weights live apart), so "restore w_k" costs nothing.
    """
    rejected = 0
    t = 0
    while True:
        mu_used = mu
        Et = math.inf
        if solve(ws, mu):  # Δ = (JᵀJ + μI)⁻¹ Jᵀe, eq. 12.25
            Et = trial_error(ws, w, E, t < o.max_tries)  # error evaluation at w_k − Δ
        action, mu = decide(E, Et, mu, t, o)
        if action == ACCEPT or action == FORCE:
            accept(ws, w)  # w_k = w_k+1
            return action, Et, mu, mu_used, rejected
        rejected += 1  # restore w_k: it was never changed
        if action == STOP or action == KEEP:
            return action, E, mu, mu_used, rejected
        t += 1


@shared
def step(w, E, mu, o, ws):
    """One LM iteration (Fig. 12.5)."""
    gn = linearize(ws, w)  # Jacobian matrix computation, and g = Jᵀe
    if gn <= o.min_grad:
        return Step(_MIN_GRAD, E, mu, mu, 0, False, gn, False)
    action, E_next, mu_next, mu_used, rejected = tries(w, E, mu, o, ws)
    if action == STOP:
        return Step(_MU_MAX, E, mu_next, mu_used, rejected, False, gn, True)
    if action == KEEP:
        return Step(CONTINUE, E, mu_next, mu_used, rejected, False, gn, True)
    status = CONTINUE
    if action == ACCEPT and small_step(ws.delta, w, o):
        status = _MIN_STEP
    return Step(status, E_next, mu_next, mu_used, rejected, action == FORCE, gn, True)
