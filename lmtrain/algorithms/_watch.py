"""Training that someone watches: a callback, validation stopping, a progress line.

All three drive the one compiled loop, :func:`._loop.run`, so every rule keeps
its single implementation:

* with a callback or validation data the loop runs **one iteration per call**
  and Python looks at the state in between;
* with only a progress line it runs in **time slices**: the loop's own time
  check (``max_time``, read from the CPU counter inside compiled code) is set
  to the end of the next slice, so the loop returns a few times per second and
  no Python runs between iterations.

Validation stopping (MATLAB's ``max_fail``). After every iteration the error
E_v = ½ Σ (d − o)² on the validation data (eq. 12.1 on other patterns) is
computed with the compiled forward pass. ``fails`` counts the iterations in a
row whose E_v is above the lowest E_v seen so far (the initial weights
included); an iteration that lowers the best resets it to 0, one that equals
the best leaves it unchanged. Training stops with ``StopReason.VALIDATION``
when ``fails`` reaches ``max_fail``, and the weights of the best E_v are
returned (the first of them on ties).
"""

from __future__ import annotations

import math

import numpy as np

from .. import _clock, engine
from ..result import CONTINUE, StopReason
from . import _loop
from . import _options as O

_VALIDATION = int(StopReason.VALIDATION)
_GOAL = int(StopReason.GOAL)
_USER_STOP = int(StopReason.USER_STOP)
_MAX_TIME = int(StopReason.MAX_TIME)


class _Validation:
    """Forward buffers for the validation patterns and the best-so-far bookkeeping."""

    def __init__(self, net, XvT, DvT, w0, length):
        self.topo = net.topology
        self.DvT = DvT
        self.Y = np.empty((net.n_nodes, XvT.shape[1]))
        self.Y[: XvT.shape[0], :] = XvT
        self.S = np.zeros_like(self.Y)
        self.errors = np.full(length, np.nan)
        self.initial = self.error(w0)
        self.best = self.initial
        self.best_w = w0.copy()
        self.best_k = 0
        self.fails = 0

    def error(self, w) -> float:
        engine.forward(w, self.Y, self.S, self.topo)
        return float(engine.half_sse(self.Y, self.DvT, self.topo))

    def observe(self, k, w) -> float:
        """Validation error after iteration ``k`` (1-based); updates best and fails."""
        ev = self.error(w)
        if k <= len(self.errors):
            self.errors[k - 1] = ev
        if ev < self.best:  # False for NaN: a non-finite E_v never becomes the best
            self.best = ev
            self.best_w[:] = w
            self.best_k = k
            self.fails = 0
        elif not ev <= self.best:  # above the best, or NaN
            self.fails += 1
        return ev


def run_watched(net, spec, o, w, XT, DT, topo, fopt, iopt, state, ws, hist,
                callback=None, validation=None, max_fail=6, progress=None):
    """Run training with any of callback / validation / progress.

    ``validation`` is ``(XvT, DvT)`` (validated, transposed) or None;
    ``progress`` a :class:`lmtrain.monitor.ProgressLine` or None. Updates
    ``w`` and ``state`` like :func:`._loop.run`. On a validation stop ``w``
    becomes the best weights and ``state[ST_E]`` their training error.

    Returns
    -------
    (status, validation_errors)
        The final stop code and the per-iteration validation errors (None
        without validation data).
    """
    if callback is None and validation is None:
        return _run_sliced(spec, o, w, XT, DT, topo, fopt, iopt, state, ws, hist, progress), None
    from . import IterationRecord  # here: the package imports this module

    L = len(hist[0])
    hE, hmu, hg, hrej, hforced, ht = hist
    val = None if validation is None else _Validation(net, validation[0], validation[1], w, L)
    status = CONTINUE
    while status == CONTINUE:
        k_before = int(state[O.ST_K])
        status = _loop.run_any(spec.code, w, XT, DT, topo, fopt, iopt, state, ws, hist, 1)
        k = int(state[O.ST_K])
        if k == k_before:
            continue
        i = k - 1
        inside = k <= L
        ev = val.observe(k, w) if val is not None else math.nan
        if val is not None and status == CONTINUE and val.fails >= max_fail:
            status = _VALIDATION
        if progress is not None:
            progress.update(k, float(state[O.ST_E]), float(hmu[i]) if inside else math.nan,
                            float(hg[i]) if inside else math.nan, ev)
        if callback is not None and inside:
            rec = IterationRecord(k, float(hE[i]), float(hmu[i]), float(hg[i]), int(hrej[i]), bool(hforced[i]),
                                  float(ht[i]), w.copy(), ev)
            if callback(rec) and status == CONTINUE:
                # the iteration that met the goal is a success even if the callback
                # asks to stop there (the compiled path reports GOAL for it)
                status = _GOAL if state[O.ST_E] <= fopt[O.GOAL] else _USER_STOP
    if val is not None and status == _VALIDATION:
        w[:] = val.best_w
        state[O.ST_E] = _loop.error_at(w, XT, DT, topo, ws)
    end = getattr(callback, "on_train_end", None)
    if callable(end):
        end(StopReason(status))
    if progress is not None:
        if int(state[O.ST_K]) == 0:
            progress.record(0, float(state[O.ST_E]))
        progress.close(StopReason(status).message if status >= 0 else None)
    return status, (None if val is None else val.errors)


def _run_sliced(spec, o, w, XT, DT, topo, fopt, iopt, state, ws, hist, progress):
    """The whole run as compiled calls of about ``progress.interval`` seconds each."""
    hz = fopt[O.TICK_HZ]
    user_limit = fopt[O.MAX_TIME]
    n_steps = o["max_iter"] + 1
    if not hz > 0.0:  # no cycle counter: the loop cannot cut slices, so run it whole
        status = _loop.run_any(spec.code, w, XT, DT, topo, fopt, iopt, state, ws, hist, n_steps)
    else:
        try:
            while True:
                now = (_clock.ticks() - iopt[O.T0]) / hz
                limit = min(user_limit, now + max(progress.seconds_until_due(), 1e-3))
                fopt[O.MAX_TIME] = limit
                status = _loop.run_any(spec.code, w, XT, DT, topo, fopt, iopt, state, ws, hist, n_steps)
                if status == _MAX_TIME and limit < user_limit:  # end of a slice, not of the run
                    k = int(state[O.ST_K])
                    if 0 < k <= len(hist[0]):
                        progress.update(k, float(state[O.ST_E]), float(hist[1][k - 1]), float(hist[2][k - 1]))
                    elif k > 0:
                        progress.update(k, float(state[O.ST_E]))
                    continue
                break
        finally:
            fopt[O.MAX_TIME] = user_limit
    k = int(state[O.ST_K])
    if 0 < k <= len(hist[0]):  # written by close()
        progress.record(k, float(state[O.ST_E]), float(hist[1][k - 1]), float(hist[2][k - 1]))
    else:
        progress.record(k, float(state[O.ST_E]))
    progress.close(StopReason(status).message if status >= 0 else None)
    return status
