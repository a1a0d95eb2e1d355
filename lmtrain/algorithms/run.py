"""The algorithms' entry points: one run (:func:`train`, :func:`train_fast`) and many trials (:func:`run_trials`).

Callers above this layer (``lmtrain.train``, ``lmtrain.experiments``) hand in
validated arrays and resolved options and get results back; how a run is
executed is decided here:

* **kernels** — ``"fast"`` (default): the compiled twins of :mod:`._fast`;
  ``"plain"``: the plain kernels of :mod:`lmtrain.kernels`, the chapter's
  computation as written (identical runs without tanh neurons; with them,
  equal to the last few bits of tanh, see :func:`lmtrain.train`);
* **path** — LM and Gauss–Newton on large problems take the blocked path
  (:mod:`._fast.blocked`), chosen by ``jacobian="auto"`` at the measured crossover;
* **one call or slices** — a run nobody watches is one compiled call; a
  longer one continues in slices of :data:`.watch.SLICE` seconds, so Ctrl-C
  stops it within a fraction of a second (:class:`~lmtrain.result.TrainingInterrupted`).
"""

from __future__ import annotations

import math
import threading
import time
from concurrent.futures import ThreadPoolExecutor, wait
from dataclasses import dataclass

import numba
import numpy as np

from .. import _clock
from ..network import Network
from ..result import ROW, History, StopReason, TrainingInterrupted, TrainResult
from . import ctrl_c, records
from ._fast import blocked, lanes
from ._fast import trials as batch
from ._fast.work import workspace as fast_workspace
from .registry import EBP, Algorithm, get_algorithm
from .watch import SLICE, Run, Validation, entry_point, run_watched
from .workspace import error_at, plain_workspace

#: history keeps at most this many iterations (EBP runs can be very long)
HISTORY_CAP = 1_000_000
#: kernels to train on
KERNELS = ("fast", "plain")
#: the Ctrl-C flag of runs no other thread watches (the fast path is interrupted between slices)
_NO_FLAGS = np.zeros(1, np.int64)
_INTERRUPTED = int(StopReason.INTERRUPTED)


def use_blocks(spec: Algorithm, o: dict, P: int, M: int, N: int) -> bool:
    """True when this run takes the blocked large-problem path."""
    return blocked.use_blocks(records.JACOBIAN_MODES[o.get("jacobian", "full")], spec.blockable, P, M, N)


def goal_of(o: dict, D: np.ndarray) -> float:
    """The goal on E = ½Σe² for targets ``D`` (P, M): see :mod:`.records` (the sum as compiled code forms it)."""
    goal, rel = records.goal_on_E(o, D.size)
    return goal + rel * 0.5 * float(batch.sum_sq(np.ascontiguousarray(D.T))) if rel else goal


def _workspace(spec, net: Network, X, D, kernels: str, flags):
    """The workspace for this run: the plain kernels', or the compiled twins'."""
    if kernels == "plain":
        return plain_workspace(spec.needs, net.topology, X, D, flags)
    return fast_workspace(spec.needs, net.topology, np.ascontiguousarray(X.T), np.ascontiguousarray(D.T), flags)


@dataclass
class Continuation:
    """A fast-path run that its time slice stopped, to be continued by :func:`train`."""

    spec: Algorithm
    o: dict
    w: np.ndarray
    iterations: int
    error: float
    initial_error: float
    mu: float
    history: np.ndarray  # (7, n) as ROW lays it out
    t_start: float  # time.perf_counter() at the start


def train(net: Network, spec: Algorithm, o: dict, X, D, w, *, callback=None, validation=None, max_fail=6,
          progress=None, kernels="fast", resume: Continuation | None = None) -> TrainResult:
    """One run from validated arrays: X (P, n_inputs), D (P, M); ``w`` is modified in place.

    ``validation`` is ``(Xv, Dv)`` or None; ``progress`` an object with the
    progress-line methods of :mod:`.watch` or None. Ctrl-C raises
    :class:`~lmtrain.result.TrainingInterrupted` holding the result so far.
    """
    P, M = D.shape
    flags = np.zeros(1, np.int64)
    opts = records.pack(o, P * M, _clock.ticks_per_second(), spec.initial_mu(o))
    if kernels == "fast" and use_blocks(spec, o, P, M, net.n_weights):
        ws = blocked.take_workspace(np.ascontiguousarray(X.T), np.ascontiguousarray(D.T), net.topology,
                                    net.n_nodes, net.n_weights)
    else:
        ws = _workspace(spec, net, X, D, kernels, flags)
    hist = np.full((len(ROW), min(o["max_iter"], HISTORY_CAP)), np.nan)
    state = records.new_state(float(opts[0].mu))
    st = state[0]
    st.goal = goal_of(o, D)
    t_start = time.perf_counter()
    st.t0 = _clock.ticks()
    if resume is not None:
        st.iterations, st.error, st.initial_error, st.mu, st.started = (resume.iterations, resume.error,
                                                                        resume.initial_error, resume.mu, True)
        n = resume.history.shape[1]
        hist[:, :n] = resume.history
        error_at(ws, w)  # the forward pass the loop holds at w
        t_start = resume.t_start
        st.t0 -= int((time.perf_counter() - t_start) * float(opts[0].tick_hz))  # times count from the start
    val = None
    if validation is not None:
        val = Validation(net.topology, validation[0], validation[1], w, hist.shape[1])
    r = Run(spec.code, w, ws, opts, state, hist)
    try:
        status = run_watched(r, callback, val, max_fail, progress)
    except KeyboardInterrupt:
        raise TrainingInterrupted(_result(r, spec, o, _INTERRUPTED, t_start, P * M)) from None
    finally:
        if isinstance(ws, blocked.Workspace):
            blocked.give_back(ws)  # for the next call on this problem
    return _result(r, spec, o, status, t_start, P * M)


def train_workspace(spec: Algorithm, o: dict, w, ws, targets, *, callback=None, progress=None) -> TrainResult:
    """A rule run on a workspace the caller provides (:mod:`lmtrain.curvefit`'s curve models).

    ``ws`` answers the operations of :mod:`.workspace` as methods and has a
    ``flags`` array; the rule, its loop and its stops are those of network
    training, interpreted. ``targets`` (n, 1) set the scale of the perfect-fit
    goal and the count of residuals. ``w`` is modified in place.
    """
    opts = records.pack(o, targets.size, _clock.ticks_per_second(), spec.initial_mu(o))
    state = records.new_state(float(opts[0].mu))
    st = state[0]
    st.goal = goal_of(o, targets)
    st.t0 = _clock.ticks()
    hist = np.full((len(ROW), min(o["max_iter"], HISTORY_CAP)), np.nan)
    r = Run(spec.code, w, ws, opts, state, hist)
    t_start = time.perf_counter()
    try:
        status = run_watched(r, callback, None, 6, progress)
    except KeyboardInterrupt:
        raise TrainingInterrupted(_result(r, spec, o, _INTERRUPTED, t_start, targets.size)) from None
    return _result(r, spec, o, status, t_start, targets.size)


def _result(r: Run, spec, o, status, t_start, n_residuals) -> TrainResult:
    st = r.state[0]
    k = int(st.iterations)
    n = min(k, r.hist.shape[1])
    return TrainResult(weights=r.w.copy(), stop_reason=StopReason(status), iterations=k, error=float(st.error),
                       initial_error=float(st.initial_error), history=History.from_rows(r.hist[:, :n]),
                       algorithm=spec.key, elapsed=time.perf_counter() - t_start, options=o,
                       n_residuals=n_residuals, goal=r.goal)


# ------------------------------------------------------------------ fast path
# A small problem (parity-3: 16 weights, 8 patterns) trains in microseconds, so
# the Python around the compiled loop decides how fast a call is. The fast path
# takes arrays that need no conversion and makes one compiled call that checks
# the data for NaN/inf, allocates, trains and returns the weights and history
# in one array. Everything that depends only on the algorithm name, the
# options, the network and the number of patterns is worked out once per
# distinct call and cached as a plan. Anything unusual falls back to the
# general path (:func:`train`), which gives the same result and raises the
# usual errors. The call runs for at most SLICE seconds; a longer run comes
# back as a Continuation and goes on in slices, so that Ctrl-C is noticed.

_PLANS: dict = {}
_SEEDS: dict = {}
_STOP = {int(s): s for s in StopReason}
_MAX_TIME = int(StopReason.MAX_TIME)
_BAD_INPUT = batch.BAD_INPUT
#: run_many's per-trial outputs, not needed for one trial (it returns that trial's results)
_NO_OUTPUT = (np.empty((0, 2), np.int64), np.empty((0, 3)), np.empty((0, 0)), np.empty((0, 0)))
_F64 = np.dtype(np.float64)


@dataclass
class _Plan:
    net: Network
    spec: Algorithm
    o: dict
    opts: np.recarray  # shared by every call with the plan: never modified
    span: tuple  # (0, 1, history length)
    flat: tuple  # (tint, tgain)
    shapes: tuple  # X, D and w0 shapes the plan is for
    n_residuals: int
    goal: float  # the goal on E, NaN when it depends on the targets' values (the perfect-fit goal)


def _plan(net, algorithm, options: dict, P: int):
    """What :func:`train_fast` needs for calls with these arguments, or None (they take the general path)."""
    spec = get_algorithm(algorithm)  # raises as train() does for an unknown algorithm
    if not isinstance(net, Network) or P == 0:
        return None
    try:
        o = spec.resolve(options)
    except (TypeError, ValueError):
        return None  # the general path reports it
    N, M = net.n_weights, net.n_outputs
    hz = _clock.ticks_per_second()
    if use_blocks(spec, o, P, M, N) or (hz <= 0.0 and o["max_time"] < math.inf):
        return None  # the blocked path; or the general path warns that max_time cannot be enforced
    if spec.code == EBP and o["momentum"] != 0.0:
        return None  # a slice cannot hand its momentum on
    opts = records.pack(o, P * M, hz, spec.initial_mu(o))
    if hz > 0.0:
        opts[0].max_time = min(o["max_time"], SLICE)
    goal, rel = records.goal_on_E(o, P * M)
    return _Plan(net, spec, o, opts, (0, 1, min(o["max_iter"], HISTORY_CAP)), batch.flat_topology(net.topology),
                 ((P, net.n_inputs), (P, M), (N,)), P * M, goal if rel == 0.0 else math.nan)


def _seed_weights(net: Network, seed):
    """``net.init_weights(seed)``, remembered per network for integer seeds (``default_rng`` is slow)."""
    if type(seed) is not int:
        return net.init_weights(seed)
    key = (id(net), seed)
    hit = _SEEDS.get(key)
    if hit is None or hit[0] is not net:  # holding net keeps its id from being reused
        hit = (net, net.init_weights(seed))
        records.remember(_SEEDS, key, hit)
    return hit[1]


#: each rule's run_many compiled code for the fast path's argument types, once looked up
_RUN_ONE: dict = {}


def _run_one(code, *args):
    """``RUN_MANY[code](*args)``; the first time the arrays allow it, looks up ``_RUN_ONE[code]``."""
    run_many = batch.RUN_MANY[code]
    out = run_many(*args)
    if code not in _RUN_ONE and args[0].flags.behaved and all(a.flags.behaved for a in args[1][:2]):
        _RUN_ONE[code] = entry_point(run_many, args)
    return out


def train_fast(net, algorithm, options, X, D, w0, seed):
    """One compiled call when nothing needs converting or watching.

    Returns a :class:`~lmtrain.result.TrainResult`, a :class:`Continuation`
    (the run outlasted its slice), or None (the call takes the general path).
    """
    if type(X) is not np.ndarray or X.ndim != 2:
        return None
    try:
        # insertion order, not sorted (sorting only splits one set of options over
        # a few entries); types are part of the key so that 5 and 5.0 never share a plan
        key = (algorithm, id(net), len(X), *options.items(), *map(type, options.values()))
        plan = _PLANS.get(key)
    except TypeError:  # an unhashable option value or algorithm: no caching
        key, plan = None, None
    if plan is None or plan.net is not net:  # holding net keeps its id from being reused
        plan = _plan(net, algorithm, options, X.shape[0])
        if plan is None:
            return None
        if key is not None:
            records.remember(_PLANS, key, plan)
    xshape, dshape, wshape = plan.shapes
    code, opts, o = plan.spec.code, plan.opts, plan.o
    # X, D and w0 must be C-contiguous float64 arrays of the plan's shapes (checked inline)
    if not (type(D) is np.ndarray and X.shape == xshape and D.shape == dshape and X.dtype is _F64
            and D.dtype is _F64):
        return None
    fx = X.flags
    fd = D.flags
    if not (fx.c_contiguous and fd.c_contiguous):
        return None
    if w0 is None:
        w0 = _seed_weights(net, seed)
    elif not (type(w0) is np.ndarray and w0.shape == wshape and w0.dtype is _F64):
        return None
    fw = w0.flags
    if not fw.c_contiguous:
        return None
    # the compiled code's entry point is called directly (no type dispatch) when every
    # argument has the type it had when that code was looked up; read-only or unaligned
    # arrays, which Numba types apart, take the dispatcher
    run = _RUN_ONE.get(code) if fx.behaved and fd.behaved and fw.behaved else None
    t_start = time.perf_counter()
    if run is not None:
        status, k, E, E0, mu, out = run(w0[None], (X, D, False), plan.flat, opts, plan.span, _NO_OUTPUT, _NO_FLAGS)
    else:
        status, k, E, E0, mu, out = _run_one(code, w0[None], (X, D, False), plan.flat, opts, plan.span,
                                             _NO_OUTPUT, _NO_FLAGS)
    elapsed = time.perf_counter() - t_start
    if status == _BAD_INPUT:
        return None  # the general path raises the usual message
    N = wshape[0]
    if status == _MAX_TIME and opts[0].max_time < o["max_time"]:  # the end of a slice
        return Continuation(plan.spec, o, out[:N].copy(), k, E, E0, mu, out[N:].reshape(len(ROW), -1).copy(),
                            t_start)
    goal = plan.goal if plan.goal == plan.goal else goal_of(o, D)  # NaN: it depends on D's values
    return TrainResult._packed(out, N, (_STOP[status], k, E, E0, plan.n_residuals, goal), plan.spec.key, elapsed, o)


# --------------------------------------------------------------- many trials
@dataclass
class Trials:
    """Per-trial outcomes of :func:`run_trials` (arrays with one row per trial)."""

    status: np.ndarray  #: stop codes (:data:`._fast.trials.NOT_RUN` for trials an interruption kept from starting)
    iterations: np.ndarray
    error: np.ndarray
    initial_error: np.ndarray
    time: np.ndarray  #: seconds per trial
    weights: np.ndarray  #: (trials, N) final weights
    error_history: np.ndarray  #: (trials, L), NaN after a trial ended


_POOL: ThreadPoolExecutor | None = None
_POOL_LOCK = threading.Lock()


def threads() -> int:
    """Worker threads for multi-trial runs: Numba's thread count (``NUMBA_NUM_THREADS``)."""
    return max(1, int(numba.config.NUMBA_NUM_THREADS))


def _pool() -> ThreadPoolExecutor:
    global _POOL
    with _POOL_LOCK:
        if _POOL is None:
            _POOL = ThreadPoolExecutor(max_workers=threads(), thread_name_prefix="lmtrain")
        return _POOL


def first_chunk(spec: Algorithm, P: int, parallel: bool) -> int:
    """The fewest trials worth one call: every thread busy, and EBP's lanes full where they apply."""
    n = threads() if parallel else 1
    return n * (lanes.MAX_LANES if spec.code == EBP and lanes.lanes(P, lanes.MAX_LANES) > 1 else 8)


def run_trials(net: Network, spec: Algorithm, o: dict, X, D, W0, *, history: int = 1000, parallel: bool = True,
               kernels: str = "fast") -> Trials:
    """Trial t from weights ``W0[t]`` for every t, from validated arrays X (P, n_inputs), D (P, M).

    Trials are spread over the cores when ``parallel`` (results identical to
    serial), EBP trials on few patterns run side by side in lanes (identical to
    one at a time), LM and Gauss–Newton on large problems one after another on
    the blocked path. Ctrl-C stops the running trials at their next iteration
    and raises :class:`~lmtrain.result.TrainingInterrupted` holding the
    :class:`Trials` (trials that never started have status ``NOT_RUN``).
    """
    T, N = W0.shape
    P, M = D.shape
    L = min(history, o["max_iter"])
    opts = records.pack(o, P * M, _clock.ticks_per_second(), spec.initial_mu(o))
    # filled by the runs (np.empty: the error histories can be large); see _not_run for interrupted runs
    out = Trials(np.full(T, batch.NOT_RUN, np.int64), np.zeros(T, np.int64), np.empty(T), np.empty(T), np.zeros(T),
                 np.empty_like(W0), np.empty((T, L)))
    job = _Job(net, spec, o, opts, X, D, W0, out, np.zeros(1, np.int64))
    try:
        if kernels == "plain":
            _trials_interpreted(job, lambda: plain_workspace(spec.needs, net.topology, X, D, job.flags))
        elif use_blocks(spec, o, P, M, N):
            XT, DT = np.ascontiguousarray(X.T), np.ascontiguousarray(D.T)
            _trials_interpreted(job, lambda: blocked.take_workspace(XT, DT, net.topology, net.n_nodes, N))
        else:
            _trials_compiled(job, parallel)
    except KeyboardInterrupt:
        _not_run(out, W0)
        raise TrainingInterrupted(out) from None
    return out


def _not_run(out: Trials, W0) -> None:
    """Give the trials an interruption kept from starting their initial weights and NaN errors."""
    idle = out.status == batch.NOT_RUN
    out.weights[idle] = W0[idle]
    out.error[idle] = out.initial_error[idle] = np.nan
    out.error_history[idle] = np.nan


@dataclass
class _Job:
    """What a multi-trial run works on."""

    net: Network
    spec: Algorithm
    o: dict
    opts: np.recarray
    X: np.ndarray
    D: np.ndarray
    W0: np.ndarray
    out: Trials
    flags: np.ndarray  # flags[0] = 1: the running trials stop at their next iteration (Ctrl-C)


def _trials_compiled(job: _Job, parallel: bool):
    """The trials as compiled calls, one per chunk.

    One chunk runs on the calling thread, with Ctrl-C watched (:mod:`.ctrl_c`);
    several run on the pool of threads, the main thread waiting where Python
    sees Ctrl-C to set ``flags`` and cancel what is queued.
    """
    net, spec, opts, X, D, W0, out, flags = job.net, job.spec, job.opts, job.X, job.D, job.W0, job.out, job.flags
    T = W0.shape[0]
    P = X.shape[0]
    o = opts[0]
    n_threads = min(threads(), T) if parallel else 1
    B = lanes.lanes(P, -(-T // n_threads)) if spec.code == EBP and o.max_time == math.inf else 1
    n_chunks = 1 if n_threads <= 1 else (n_threads if B > 1 else min(T, 4 * n_threads))  # lanes balance themselves
    bounds = [(T * c // n_chunks, T * (c + 1) // n_chunks) for c in range(n_chunks)]
    out_int = np.full((T, 2), batch.NOT_RUN, np.int64)
    out_float = np.empty((T, 3))
    outs = (out_int, out_float, out.weights, out.error_history)
    net_arrays = batch.flat_topology(net.topology)
    L = out.error_history.shape[1]
    data = (np.ascontiguousarray(X.T), np.ascontiguousarray(D.T), True)
    if B > 1:
        def one(lo, hi):
            return lanes.run_many_ebp(W0, data, net_arrays, opts, (lo, hi, L), outs, flags, B)
    else:
        def one(lo, hi):
            return batch.RUN_MANY[spec.code](W0, data, net_arrays, opts, (lo, hi, L), outs, flags)
    try:
        if n_chunks == 1:
            with ctrl_c.watched(flags) as here:
                if here:
                    one(*bounds[0])
                    return
        futures = [_pool().submit(one, lo, hi) for lo, hi in bounds]
        try:
            for f in futures:
                f.result()
        except KeyboardInterrupt:
            flags[0] = 1  # running trials stop at their next iteration
            for f in futures:
                f.cancel()
            wait(futures)
            raise
    finally:
        out.status[:] = out_int[:, 0]
        out.iterations[:] = np.maximum(out_int[:, 1], 0)
        out.error[:] = out_float[:, 0]
        out.initial_error[:] = out_float[:, 1]
        out.time[:] = np.where(out_int[:, 0] == batch.NOT_RUN, 0.0, out_float[:, 2])


def _trials_interpreted(job: _Job, make_workspace):
    """The trials one after another on a Python workspace: the plain kernels', or the blocked path's."""
    net, spec, o, opts, D, W0, out = job.net, job.spec, job.o, job.opts, job.D, job.W0, job.out
    ws = make_workspace()
    ws.flags = job.flags
    L = out.error_history.shape[1]
    hist = np.empty((len(ROW), L))
    goal = goal_of(o, D)
    hz = float(opts[0].tick_hz)
    try:
        for t in range(W0.shape[0]):
            w = W0[t].copy()
            state = records.new_state(float(opts[0].mu))
            st = state[0]
            st.goal = goal
            st.t0 = _clock.ticks()
            out.status[t] = Run(spec.code, w, ws, opts, state, hist).steps(int(o["max_iter"]) + 1)
            out.time[t] = (_clock.ticks() - int(st.t0)) / hz if hz > 0.0 else 0.0
            k = int(st.iterations)
            out.iterations[t] = k
            out.error[t] = st.error
            out.initial_error[t] = st.initial_error
            out.weights[t] = w
            out.error_history[t, :min(k, L)] = hist[ROW.error, :min(k, L)]
            out.error_history[t, min(k, L):] = np.nan
    finally:
        if isinstance(ws, blocked.Workspace):
            blocked.give_back(ws)
