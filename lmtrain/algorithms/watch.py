"""Training that someone watches: a callback, validation stopping, a progress line, Ctrl-C.

All of them drive the one loop, :func:`.loop.run`, so every rule keeps its
single implementation:

* with a callback or validation data the loop runs **one iteration per call**
  and Python looks at the state in between;
* otherwise it runs in **time slices** of at most :data:`SLICE` seconds (the
  loop's own time check, read from the CPU counter inside compiled code, is set
  to the end of the slice), so Python gets control back a few times per second
  — to redraw a progress line, and to notice Ctrl-C, which compiled code
  cannot see — and no Python runs between iterations.

A progress line is any object with ``update(k, E, mu, g, ev)``,
``record(k, E, mu=, g=)``, ``seconds_until_due()`` and ``close(message)``
(:class:`lmtrain.monitor.ProgressLine` is one); this layer does not draw it.

Validation stopping (MATLAB's ``max_fail``). After every iteration the error
E_v = ½ Σ (d − o)² on the validation data (eq. 12.1 on other patterns) is
computed with the plain forward pass. ``fails`` counts the iterations in a row
whose E_v is above the lowest E_v seen so far (the initial weights included);
an iteration that lowers the best resets it to 0, one that equals the best
leaves it unchanged. Training stops with ``StopReason.VALIDATION`` when
``fails`` reaches ``max_fail``, and the weights of the best E_v are returned
(the first of them on ties).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .. import _clock, kernels
from ..result import CONTINUE, ROW, StopReason
from .loop import RUN_COMPILED, run
from .registry import STEPS
from .shared import interpreted
from .workspace import error_at

_VALIDATION = int(StopReason.VALIDATION)
_GOAL = int(StopReason.GOAL)
_USER_STOP = int(StopReason.USER_STOP)
_MAX_TIME = int(StopReason.MAX_TIME)

#: longest compiled call (seconds) while a run is watched or may be interrupted
SLICE = 0.25
#: shortest slice (seconds); doubled while a slice ends before its first iteration
MIN_SLICE = 1e-3


@dataclass(frozen=True)
class IterationRecord:
    """What a callback receives after each iteration."""

    iteration: int
    error: float
    mu: float
    gradient_norm: float
    rejected: int
    forced: bool
    elapsed: float
    weights: np.ndarray
    validation_error: float = math.nan  # E on the validation data (NaN without it)


class Validation:
    """Validation patterns and the best-so-far bookkeeping."""

    def __init__(self, topo, Xv, Dv, w0, length):
        self.topo, self.Xv, self.Dv = topo, Xv, Dv
        self.errors = np.full(length, np.nan)
        self.initial = self.error(w0)
        self.best = self.initial
        self.best_w = w0.copy()
        self.best_k = 0
        self.fails = 0

    def error(self, w) -> float:
        return float(kernels.error(w, self.topo, self.Xv, self.Dv))

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


class Run:
    """One run's arrays: rule code, weights, workspace, options and state records, history.

    The state is read through views of its fields: a record's attribute is
    slow to read from Python, and a watched run reads the state after every
    iteration.
    """

    def __init__(self, code: int, w: np.ndarray, ws, opts: np.recarray, state: np.recarray, hist: np.ndarray):
        self.code, self.w, self.ws, self.opts, self.state, self.hist = code, w, ws, opts, state, hist
        self._iterations = state["iterations"]
        self._error = state["error"]
        self._goal = state["goal"]
        self._t0 = state["t0"]
        self._entry = None  # the compiled loop's machine code for these arguments, once looked up

    @property
    def iterations(self) -> int:
        return int(self._iterations[0])

    @property
    def error(self) -> float:
        return float(self._error[0])

    @error.setter
    def error(self, value: float) -> None:
        self._error[0] = value

    @property
    def goal(self) -> float:
        return float(self._goal[0])

    @property
    def t0(self) -> int:
        return int(self._t0[0])

    def steps(self, n: int) -> int:
        """Up to ``n`` iterations of the loop; its status."""
        if not isinstance(self.ws, tuple):  # the plain kernels, the blocked path or a curve model: interpreted
            return interpreted(run)(interpreted(STEPS[self.code]), self.w, self.ws, self.opts[0], self.state[0],
                                    self.hist, n)
        args = (self.w, self.ws, self.opts, self.state, self.hist)
        if self._entry is not None:
            return self._entry(*args, n)
        run_compiled = RUN_COMPILED[self.code]
        status = run_compiled(*args, n)
        self._entry = entry_point(run_compiled, (*args, n))
        return status


def entry_point(dispatcher, args):
    """The machine code ``dispatcher`` has compiled for ``args``, callable without typing them; None if none.

    Only valid for arguments of exactly the same Numba types as ``args``: the
    compiled code reads its arrays without checking them.
    """
    try:
        return dispatcher.overloads[tuple(map(dispatcher.typeof_pyval, args))].entry_point
    except Exception:  # a Numba without these internals: keep dispatching
        return None


def run_watched(r: Run, callback=None, validation: Validation | None = None, max_fail=6, progress=None):
    """Run ``r`` to its end with any of callback / validation / progress; returns the final stop code.

    On a validation stop ``r.w`` becomes the best weights and the state's
    error their training error (``validation.errors`` holds E_v per iteration).
    """
    if callback is None and validation is None:
        return _run_sliced(r, progress)
    L = r.hist.shape[1]
    H = r.hist
    status = CONTINUE
    while status == CONTINUE:
        k_before = r.iterations
        status = r.steps(1)
        k = r.iterations
        if k == k_before:
            continue
        i = k - 1
        inside = k <= L
        ev = validation.observe(k, r.w) if validation is not None else math.nan
        if inside:
            H[ROW.validation_error, i] = ev
        if validation is not None and status == CONTINUE and validation.fails >= max_fail:
            status = _VALIDATION
        if progress is not None:
            progress.update(k, r.error, float(H[ROW.mu, i]) if inside else math.nan,
                            float(H[ROW.gradient_norm, i]) if inside else math.nan, ev)
        if callback is not None and inside:
            rec = IterationRecord(k, float(H[ROW.error, i]), float(H[ROW.mu, i]), float(H[ROW.gradient_norm, i]),
                                  int(H[ROW.rejected, i]), bool(H[ROW.forced, i]), float(H[ROW.time, i]),
                                  r.w.copy(), ev)
            if callback(rec) and status == CONTINUE:
                # the iteration that met the goal is the goal even if the callback
                # asks to stop there (the compiled path reports GOAL for it)
                status = _GOAL if r.error <= r.goal else _USER_STOP
    if validation is not None and status == _VALIDATION:
        r.w[:] = validation.best_w
        r.error = error_of(r)
    end = getattr(callback, "on_train_end", None)
    if callable(end):
        end(StopReason(status))
    if progress is not None:
        if r.iterations == 0:
            progress.record(0, r.error)
        progress.close(StopReason(status).message if status >= 0 else None)
    return status


def error_of(r: Run) -> float:
    """E = ½Σe² at ``r.w`` with the run's workspace (compiled, or a Python object's method)."""
    return float(error_at(r.ws, r.w) if isinstance(r.ws, tuple) else r.ws.error_at(r.w))


def _close(progress, r: Run, status: int) -> None:
    k = r.iterations
    if 0 < k <= r.hist.shape[1]:
        progress.record(k, r.error, float(r.hist[ROW.mu, k - 1]), float(r.hist[ROW.gradient_norm, k - 1]))
    else:
        progress.record(k, r.error)
    progress.close(StopReason(status).message if status >= 0 else None)


def _run_sliced(r: Run, progress):
    """The whole run as compiled calls of at most :data:`SLICE` seconds each."""
    o = r.opts[0]
    hz = float(o.tick_hz)
    user_limit = float(o.max_time)
    n_steps = int(o.max_iter) + 1
    if not hz > 0.0:  # no cycle counter: the loop cannot cut slices, so run it whole
        status = r.steps(n_steps)
    else:
        shortest = MIN_SLICE
        try:
            while True:
                now = (_clock.ticks() - r.t0) / hz
                wait = SLICE if progress is None else min(SLICE, progress.seconds_until_due())
                limit = min(user_limit, now + max(wait, shortest))
                o.max_time = limit
                k = r.iterations
                status = r.steps(n_steps)
                if status == _MAX_TIME and limit < user_limit:  # end of a slice, not of the run
                    # a slice that ended before its first iteration was too short for this machine
                    shortest = shortest if r.iterations > k else 2.0 * shortest
                    if progress is not None:
                        k = r.iterations
                        if 0 < k <= r.hist.shape[1]:
                            progress.update(k, r.error, float(r.hist[ROW.mu, k - 1]),
                                            float(r.hist[ROW.gradient_norm, k - 1]))
                        elif k > 0:
                            progress.update(k, r.error)
                    continue
                break
        finally:
            o.max_time = user_limit
    if progress is not None:
        _close(progress, r, status)
    return status
