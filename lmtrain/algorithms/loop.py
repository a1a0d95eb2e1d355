"""The iteration loop every algorithm shares: stop checks, one step, the history.

:func:`run` performs up to ``n_steps`` iterations of one rule and returns a
status. Stop checks, in order, at the top of every iteration: the goal
(E ≤ goal), the iteration limit, Ctrl-C, the time limit; then the rule's step,
which may itself stop (min_grad, singular, not positive definite, diverged,
mu_max, min_step). A whole run is one call with ``n_steps`` > ``max_iter``;
training that someone watches (a callback, validation data, a progress line)
calls it again and again with the state carried in the :data:`~.records.STATE`
record, so every path executes the same step.

:func:`run` is written once and runs three ways: compiled on the plain
kernels or on their twins (:data:`RUN_COMPILED`, and the many-trial runner of
:mod:`._fast.trials`), and interpreted (:func:`.shared.interpreted`) on the
blocked large-problem path and on curve models.
"""

from __future__ import annotations

import math

from numba import njit

from .._clock import ticks
from ..result import CONTINUE, ROW, StopReason
from ._fast.simd import borrow, hold
from .ebp import step as ebp_step
from .gauss_newton import step as gauss_newton_step
from .lm import step as lm_step
from .newton import step as newton_step
from .registry import GAUSS_NEWTON, LM, NEWTON, STEPS
from .workspace import error_at, interrupted
from .shared import shared

_GOAL = int(StopReason.GOAL)
_MAX_ITER = int(StopReason.MAX_ITER)
_MAX_TIME = int(StopReason.MAX_TIME)
_DIVERGED = int(StopReason.DIVERGED)
_INTERRUPTED = int(StopReason.INTERRUPTED)


@shared
def stop_before(E, k, st, o, stop_now):
    """The stop checks at the top of an iteration: a StopReason code or CONTINUE.

    In order: the goal (E ≤ goal), the iteration limit, ``stop_now`` (Ctrl-C),
    the time limit (read from the CPU's counter, so it costs no call out of
    compiled code).
    """
    if E <= st.goal:
        return _GOAL
    if k >= o.max_iter:
        return _MAX_ITER
    if stop_now:
        return _INTERRUPTED
    hz = o.tick_hz
    if hz > 0.0 and o.max_time < math.inf and (ticks() - st.t0) / hz >= o.max_time:
        return _MAX_TIME
    return CONTINUE


@shared
def stop_after(status, stepped, E, st):
    """A stop found by a step that also met the goal is reported as the goal."""
    if stepped and E <= st.goal:
        return _GOAL
    return status


@shared
def record(hist, k, out, st, o):
    """Write the record of iteration ``k`` (0-based) while the history has room (layout: :data:`~lmtrain.result.ROW`).

    The validation error is not the loop's to write: the caller fills that row (NaN without validation data).
    """
    if k < hist.shape[1]:
        hist[ROW.error, k] = out.error
        hist[ROW.mu, k] = out.mu_used
        hist[ROW.gradient_norm, k] = out.gradient_norm
        hist[ROW.rejected, k] = out.rejected
        hist[ROW.forced, k] = 1.0 if out.forced else 0.0
        hist[ROW.time, k] = (ticks() - st.t0) / o.tick_hz if o.tick_hz > 0.0 else 0.0


@njit(inline="always", cache=True)
def run(step, w, ws, o, st, hist, n_steps):
    """Up to ``n_steps`` iterations of the rule whose step function is ``step``; a StopReason code or CONTINUE (−1).

    ``w`` and the state record ``st`` (E, μ, iterations, ...) are updated in
    place; iteration k's record goes to column k − 1 of ``hist`` (7, L) while
    k ≤ L. ``o`` is the options record, ``ws`` the workspace.
    """
    # the caller holds the arrays for the whole call: compiled, the loop works on
    # views that skip reference counting (an atomic operation per array handled)
    w, ws, hist = hold((w, ws, hist))
    if not st.started:
        E0 = error_at(ws, w)
        st.error = E0
        st.initial_error = E0
        st.started = True
        if not math.isfinite(E0):
            return _DIVERGED
    E = st.error
    mu = st.mu
    k = st.iterations
    status = CONTINUE
    for _ in range(n_steps):
        status = stop_before(E, k, st, o, interrupted(ws))
        if status != CONTINUE:
            break
        out = step(w, E, mu, o, ws)
        E = out.error
        mu = out.mu
        if out.stepped:
            record(hist, k, out, st, o)
            k += 1
        if out.status != CONTINUE:
            status = stop_after(out.status, out.stepped, E, st)
            break
    st.error = E
    st.mu = mu
    st.iterations = k
    return status


def compiled_for(code):
    """:func:`run` compiled for the rule with this code, on a plain or fast workspace.

    One compiled function per rule, so that a run compiles only the rule it
    runs: ``code`` is a constant of the function, and Numba drops the other
    rules' branches before it compiles. Call it as ``(w, ws, opts, state,
    hist, n_steps)``; ``opts`` and ``state`` are one-record arrays.
    :data:`RUN_COMPILED` holds one per code.
    """

    @njit(cache=True)
    def run_compiled(w, ws, opts, state, hist, n_steps):
        # the caller holds every array for the whole call: the loop works on
        # borrowed views and skips the reference counting
        w, ws, opts, state, hist = borrow((w, ws, opts, state, hist))
        # a branch per rule (in registry code order), the same as in _fast.trials.runner_for
        if code == LM:
            return run(lm_step, w, ws, opts[0], state[0], hist, n_steps)
        if code == GAUSS_NEWTON:
            return run(gauss_newton_step, w, ws, opts[0], state[0], hist, n_steps)
        if code == NEWTON:
            return run(newton_step, w, ws, opts[0], state[0], hist, n_steps)
        return run(ebp_step, w, ws, opts[0], state[0], hist, n_steps)

    return run_compiled


#: :func:`run` compiled for each rule, indexed by code
RUN_COMPILED = tuple(compiled_for(code) for code in range(len(STEPS)))
