"""What a rule asks of its workspace, and the plain workspace that answers with the chapter's kernels.

The rules (:mod:`.ebp`, :mod:`.newton`, :mod:`.gauss_newton`, :mod:`.lm`) and
the iteration loop (:mod:`.loop`) are written once, against these operations:

==================  ===========================================================
``error_at``        E = ½Σe² at w (eq. 12.1)
``linearize``       J and g = Jᵀe at w (eqs. 12.16, 12.18) with the system's matrix; returns ‖g‖
``solve``           Δ = (JᵀJ + μI)⁻¹ Jᵀe (eq. 12.25; μ = 0: eq. 12.23); False if singular
``trial_error``     E at the trial weights w − Δ
``accept``          w ← w − Δ
``gradient``        g = Jᵀe at w by one backward pass of the errors (eq. 12.34); returns ‖g‖
``gradient_at``     g at any weights, into a given array (Newton's differences)
``interrupted``     Ctrl-C asked the run to stop
==================  ===========================================================

and read and write ``ws.g``, ``ws.delta``, ``ws.wt``, ``ws.v``, ``ws.G``,
``ws.A``. Three kinds of workspace answer them, with one meaning:

* :class:`~lmtrain.algorithms._fast.work.FastWork` — the compiled speed twins:
  in compiled code the operations are those of :mod:`._fast.work`, inlined
  into the rule;
* :class:`PlainWork` — the plain kernels of :mod:`lmtrain.kernels`, one
  pattern at a time (``lmtrain.train(..., kernels="plain")``);
* :class:`~lmtrain.algorithms._fast.blocked.Workspace` — blocks of the
  Jacobian and BLAS products for large problems; and :mod:`lmtrain.curvefit`'s
  workspace for curve models.

The last three are Python objects that answer the operations as methods; the
rules run on them interpreted (:func:`.shared.interpreted`), their kernels
compiled. So the plain kernels train with the very rule and loop the twins
train with, and a debugger (or ``NUMBA_DISABLE_JIT=1``) steps through both.
"""

from __future__ import annotations

import numpy as np

from .. import kernels
from ._fast.work import (NEEDS_HESSIAN, NEEDS_JACOBIAN, FastWork, accept, error_at, gradient, gradient_at,
                         interrupted, linearize, solve, trial_error)
from .shared import answered_by_method

__all__ = ["FastWork", "PlainWork", "accept", "error_at", "gradient", "gradient_at", "interrupted", "linearize",
           "plain_workspace", "solve", "trial_error"]

for _op in (accept, error_at, gradient, gradient_at, interrupted, linearize, solve, trial_error):
    answered_by_method(_op)


class PlainWork:
    """The plain kernels' answers to the operations, for patterns X (P, n_inputs) and targets D (P, M).

    With fewer residuals than weights (P·M < N) it stores J and solves the
    P·M-sized system JJᵀ + μI; otherwise it sums Q = JᵀJ and g pattern by
    pattern and never stores J (Table 12.1's NBN row).
    """

    def __init__(self, needs: int, topo, X, D, flags):
        N = int(topo.in_ptr[-1]) + topo.act.shape[0]  # a bias and a weight per input, per neuron
        R = X.shape[0] * D.shape[1]
        self.topo, self.X, self.D, self.flags = topo, X, D, flags
        stored = needs == NEEDS_JACOBIAN and R < N
        K = (R if stored else N) if needs == NEEDS_JACOBIAN else (N if needs == NEEDS_HESSIAN else 0)
        self.J = np.zeros((R if stored else 0, N))  #: the Jacobian when stored, else (0, N)
        self.e = np.zeros(R if stored else 0)  #: its errors
        self.G = np.zeros((K, K))  #: Q = JᵀJ, or JJᵀ when J is stored, or Newton's H
        self.A = np.zeros((K, K))  #: Newton's factored copy of H
        self.g, self.gt, self.delta, self.wt, self.v = (np.zeros(N) for _ in range(5))

    def error_at(self, w) -> float:
        return float(kernels.error(w, self.topo, self.X, self.D))

    def linearize(self, w) -> float:
        if self.J.shape[0] > 0:  # few residuals: J itself, and JJᵀ
            kernels.jacobian(w, self.topo, self.X, self.D, self.J, self.e)
            kernels.gram(self.J, self.G)
            kernels.jt_e(self.J, self.e, self.g)
        else:  # Q = JᵀJ and g = Jᵀe pattern by pattern, J never stored
            kernels.quasi_hessian(w, self.topo, self.X, self.D, self.G, self.g)
        return float(kernels.norm(self.g))

    def solve(self, mu) -> bool:
        rhs = self.e if self.J.shape[0] > 0 else self.g
        return bool(kernels.damped_step(self.G, rhs, mu, self.J, self.delta))

    def trial_error(self, w, E, cut) -> float:
        np.subtract(w, self.delta, out=self.wt)
        return float(kernels.error(self.wt, self.topo, self.X, self.D))

    def accept(self, w) -> None:
        w[:] = self.wt

    def gradient(self, w) -> float:
        kernels.gradient(w, self.topo, self.X, self.D, self.g)
        return float(kernels.norm(self.g))

    def gradient_at(self, w, out) -> None:
        kernels.gradient(w, self.topo, self.X, self.D, out)

    def interrupted(self) -> bool:
        return bool(self.flags[0] != 0)


def plain_workspace(needs: int, topo, X, D, flags) -> PlainWork:
    """A :class:`PlainWork` for patterns ``X`` (P, n_inputs) and targets ``D`` (P, M)."""
    return PlainWork(needs, topo, np.ascontiguousarray(X, dtype=float), np.ascontiguousarray(D, dtype=float), flags)
