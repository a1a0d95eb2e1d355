"""What a rule asks of its workspace, and the plain workspace that answers with the chapter's kernels.

The rules (:mod:`.ebp`, :mod:`.newton`, :mod:`.gauss_newton`, :mod:`.lm`) and
the iteration loop (:mod:`.loop`) are written once, against these operations:

==================  ===========================================================
``error_at``        E = ½Σe² at w (eq. 12.1)
``linearize``       J and g = Jᵀe at w (eq. 12.16, 12.18) with the system's matrix; returns ‖g‖
``solve``           Δ = (JᵀJ + μI)⁻¹ Jᵀe (eq. 12.25; μ = 0: eq. 12.23); False if singular
``trial_error``     E at the trial weights w − Δ
``accept``          w ← w − Δ
``gradient``        g = Jᵀe at w by one backward pass of the errors (eq. 12.34); returns ‖g‖
``gradient_at``     g at any weights, into a given array (Newton's differences)
``interrupted``     Ctrl-C asked the run to stop
==================  ===========================================================

Three kinds of workspace answer them, with one meaning:

* :class:`PlainWork` — the plain kernels of :mod:`lmtrain.kernels`, one
  pattern at a time; ``lmtrain.train(..., kernels="plain")``;
* :class:`~lmtrain.algorithms._fast.work.FastWork` — their compiled speed twins;
* :class:`~lmtrain.algorithms._fast.blocked.Workspace` — blocks of the
  Jacobian and BLAS products for large problems, driven from Python (and
  :mod:`lmtrain.curvefit`'s workspace for curve models).

Each operation below is an ordinary Python function that dispatches on the
kind of workspace, and Numba compiles a call to it, for the two compiled
kinds, straight into the kernel (``@overload``). So the same rule runs
compiled on the plain or the fast kernels, and interpreted on the blocked
path or a curve model.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from numba import njit, types
from numba.extending import overload

from .. import kernels
from ..network import Topology
from ._fast import work as fast
from ._fast.work import NEEDS_HESSIAN, NEEDS_JACOBIAN, FastWork


class PlainWork(NamedTuple):
    """Buffers of the plain kernels for one problem (unused ones are empty)."""

    topo: Topology
    X: np.ndarray  #: inputs (P, n_inputs), one pattern per row
    D: np.ndarray  #: targets (P, M)
    J: np.ndarray  #: the Jacobian (P·M, N) when P·M < N, else (0, N): J is then never stored
    e: np.ndarray  #: errors (P·M,) when J is stored
    G: np.ndarray  #: Q = JᵀJ (N, N), or JJᵀ (P·M, P·M) when J is stored, or Newton's H
    g: np.ndarray  #: g = Jᵀe
    gt: np.ndarray  #: a second gradient (Newton's differences)
    delta: np.ndarray  #: the step Δ
    wt: np.ndarray  #: trial weights (EBP: the weights before the step)
    v: np.ndarray  #: EBP's momentum
    flags: np.ndarray  #: flags[0] = 1: stop at the next iteration (Ctrl-C)


@njit(cache=True)
def plain_workspace(needs, topo, X, D, flags):
    """A :class:`PlainWork` for patterns ``X`` (P, n_inputs) and targets ``D`` (P, M)."""
    N = topo.in_ptr[topo.act.shape[0]] + topo.act.shape[0]
    R = X.shape[0] * D.shape[1]
    stored = needs == NEEDS_JACOBIAN and R < N  # solve the smaller P·M-sized system
    K = (R if stored else N) if needs == NEEDS_JACOBIAN else (N if needs == NEEDS_HESSIAN else 0)
    J = np.zeros((R if stored else 0, N))
    e = np.zeros(R if stored else 0)
    return PlainWork(topo, X, D, J, e, np.zeros((K, K)), np.zeros(N), np.zeros(N), np.zeros(N), np.zeros(N),
                     np.zeros(N), flags)


# ---------------------------------------------------- the plain workspace's answers
@njit(cache=True)
def plain_error_at(ws, w):
    return kernels.error(w, ws.topo, ws.X, ws.D)


@njit(cache=True)
def plain_linearize(ws, w):
    if ws.J.shape[0] > 0:  # few residuals: J itself, and JJᵀ
        kernels.jacobian(w, ws.topo, ws.X, ws.D, ws.J, ws.e)
        kernels.gram(ws.J, ws.G)
        for i in range(ws.g.shape[0]):
            total = 0.0
            for r in range(ws.J.shape[0]):
                total += ws.J[r, i] * ws.e[r]
            ws.g[i] = total
    else:  # Q = JᵀJ and g = Jᵀe pattern by pattern, J never stored
        kernels.quasi_hessian(w, ws.topo, ws.X, ws.D, ws.G, ws.g)
    return kernels.norm(ws.g)


@njit(cache=True)
def plain_solve(ws, mu):
    rhs = ws.e if ws.J.shape[0] > 0 else ws.g
    return kernels.damped_step(ws.G, rhs, mu, ws.J, ws.delta)


@njit(cache=True)
def plain_trial_error(ws, w, E, cut):
    for i in range(w.shape[0]):
        ws.wt[i] = w[i] - ws.delta[i]
    return kernels.error(ws.wt, ws.topo, ws.X, ws.D)


@njit(cache=True)
def plain_accept(ws, w):
    for i in range(w.shape[0]):
        w[i] = ws.wt[i]


@njit(cache=True)
def plain_gradient(ws, w):
    kernels.gradient(w, ws.topo, ws.X, ws.D, ws.g)
    return kernels.norm(ws.g)


@njit(cache=True)
def plain_gradient_at(ws, w, out):
    kernels.gradient(w, ws.topo, ws.X, ws.D, out)


# -------------------------------------------------------------- the operations
def _kind(ws):
    t = type(ws)
    return "plain" if t is PlainWork else ("fast" if t is FastWork else None)


def error_at(ws, w):
    """E = ½Σe² at ``w`` (eq. 12.1)."""
    kind = _kind(ws)
    if kind == "plain":
        return plain_error_at(ws, w)
    if kind == "fast":
        return fast.error_at(ws, w)
    return ws.error_at(w)


def linearize(ws, w):
    """J and g = Jᵀe at ``w`` with the system's matrix (JᵀJ, or JJᵀ); returns ‖g‖."""
    kind = _kind(ws)
    if kind == "plain":
        return plain_linearize(ws, w)
    if kind == "fast":
        return fast.linearize(ws, w)
    return ws.linearize(w)


def solve(ws, mu):
    """Δ = (JᵀJ + μI)⁻¹ Jᵀe into ``ws.delta`` (eq. 12.25); False when the system is singular."""
    kind = _kind(ws)
    if kind == "plain":
        return plain_solve(ws, mu)
    if kind == "fast":
        return fast.solve(ws, mu)
    return ws.solve(mu)


def trial_error(ws, w, E, cut):
    """E at the trial weights w − Δ (into ``ws.wt``).

    With ``cut`` a workspace may stop as soon as the error is known to exceed
    ``E`` and return that part (all an LM try needs to be rejected).
    """
    kind = _kind(ws)
    if kind == "plain":
        return plain_trial_error(ws, w, E, cut)
    if kind == "fast":
        return fast.trial_error(ws, w, E, cut)
    return ws.trial_error(w, E, cut)


def accept(ws, w):
    """w ← the trial weights w − Δ."""
    kind = _kind(ws)
    if kind == "plain":
        plain_accept(ws, w)
    elif kind == "fast":
        fast.accept(ws, w)
    else:
        ws.accept(w)


def gradient(ws, w):
    """g = Jᵀe at ``w`` into ``ws.g``, by one backward pass of the errors (eq. 12.34); returns ‖g‖."""
    kind = _kind(ws)
    if kind == "plain":
        return plain_gradient(ws, w)
    if kind == "fast":
        return fast.gradient(ws, w)
    return ws.gradient(w)


def gradient_at(ws, w, out):
    """g at any weights ``w`` into ``out``."""
    kind = _kind(ws)
    if kind == "plain":
        plain_gradient_at(ws, w, out)
    elif kind == "fast":
        fast.gradient_at(ws, w, out)
    else:
        ws.gradient_at(w, out)


def interrupted(ws):
    """True once Ctrl-C asked the run to stop."""
    kind = _kind(ws)
    if kind == "fast":
        return fast.interrupted(ws)
    return bool(ws.flags[0] != 0)


# ------------------------------------- compiled calls go straight to the kernels
def _is(ty, cls):
    return isinstance(ty, types.BaseNamedTuple) and ty.instance_class is cls


@overload(error_at)
def _error_at(ws, w):
    if _is(ws, PlainWork):
        return plain_error_at.py_func
    if _is(ws, FastWork):
        return fast.error_at.py_func


@overload(linearize)
def _linearize(ws, w):
    if _is(ws, PlainWork):
        return plain_linearize.py_func
    if _is(ws, FastWork):
        return fast.linearize.py_func


@overload(solve)
def _solve(ws, mu):
    if _is(ws, PlainWork):
        return plain_solve.py_func
    if _is(ws, FastWork):
        return fast.solve.py_func


@overload(trial_error)
def _trial_error(ws, w, E, cut):
    if _is(ws, PlainWork):
        return plain_trial_error.py_func
    if _is(ws, FastWork):
        return fast.trial_error.py_func


@overload(accept)
def _accept(ws, w):
    if _is(ws, PlainWork):
        return plain_accept.py_func
    if _is(ws, FastWork):
        return fast.accept.py_func


@overload(gradient)
def _gradient(ws, w):
    if _is(ws, PlainWork):
        return plain_gradient.py_func
    if _is(ws, FastWork):
        return fast.gradient.py_func


@overload(gradient_at)
def _gradient_at(ws, w, out):
    if _is(ws, PlainWork):
        return plain_gradient_at.py_func
    if _is(ws, FastWork):
        return fast.gradient_at.py_func


@overload(interrupted)
def _interrupted(ws):
    if _is(ws, PlainWork):
        return lambda ws: ws.flags[0] != 0
    if _is(ws, FastWork):
        return fast.interrupted.py_func
