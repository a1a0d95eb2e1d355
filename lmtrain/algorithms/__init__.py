"""Training algorithms of Table 12.1 behind one entry point, :func:`train`.

=================  =================================  ===========  ===================
algorithm          update rule                        equation     needs
=================  =================================  ===========  ===================
``"ebp"``          w ← w − α g                        12.4         gradient
``"newton"``       w ← w − H⁻¹ g                      12.15        gradient, Hessian
``"gauss_newton"`` w ← w − (JᵀJ)⁻¹ Jᵀe                12.23        Jacobian
``"lm"``           w ← w − (JᵀJ + μI)⁻¹ Jᵀe           12.25        Jacobian
=================  =================================  ===========  ===================

Each rule lives in its own module as one compiled step; :mod:`._loop` runs the
steps, checks the shared stopping rules and records the history.
"""

from __future__ import annotations

import math
import time
import warnings
from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from .. import _clock, engine
from .._validation import as_inputs, as_targets, as_weights, check_number, warn_targets_out_of_range
from ..network import Network
from ..result import History, StopReason, TrainResult
from ..monitor import PROGRESS_DELAY, ProgressLine
from . import _batch, _loop, _watch, lm_blocked
from . import _options as O

#: history keeps at most this many iterations (EBP runs can be very long)
HISTORY_CAP = 1_000_000


@dataclass(frozen=True)
class Algorithm:
    """Registry entry: what Table 12.1 says of an algorithm, and its options."""

    key: str
    code: int
    title: str
    rule: str
    equation: str
    convergence: str
    computation: str
    defaults: dict = field(default_factory=dict)


_COMMON = {"goal": 0.0, "min_grad": 1e-10, "min_step": 0.0, "max_time": math.inf}

ALGORITHMS: dict[str, Algorithm] = {
    "ebp": Algorithm(
        "ebp", O.EBP, "EBP (steepest descent)", "w ← w − α g", "12.4", "stable, slow", "gradient",
        {**_COMMON, "max_iter": 100_000, "alpha": 0.1, "momentum": 0.0},
    ),
    "newton": Algorithm(
        "newton", O.NEWTON, "Newton", "w ← w − H⁻¹ g", "12.15", "unstable, fast", "gradient and Hessian",
        {**_COMMON, "max_iter": 1000, "hessian_step": 1e-5, "indefinite": "stop"},
    ),
    "gauss_newton": Algorithm(
        "gauss_newton", O.GAUSS_NEWTON, "Gauss–Newton", "w ← w − (JᵀJ)⁻¹ Jᵀe", "12.23", "unstable, fast",
        "Jacobian", {**_COMMON, "max_iter": 1000, "jacobian": "auto"},
    ),
    "lm": Algorithm(
        "lm", O.LM, "Levenberg–Marquardt", "w ← w − (JᵀJ + μI)⁻¹ Jᵀe", "12.25", "stable, fast", "Jacobian",
        {**_COMMON, "max_iter": 1000, "mu": 0.01, "mu_inc": 10.0, "mu_dec": 10.0, "mu_min": 1e-20,
         "mu_max": 1e10, "max_tries": 5, "strict": False, "jacobian": "auto"},
    ),
}

_ALIASES = {
    "ebp": "ebp", "steepest_descent": "ebp", "gd": "ebp", "backprop": "ebp",
    "newton": "newton",
    "gauss_newton": "gauss_newton", "gauss-newton": "gauss_newton", "gn": "gauss_newton",
    "lm": "lm", "levenberg_marquardt": "lm", "levenberg-marquardt": "lm", "trainlm": "lm",
}


def get_algorithm(name) -> Algorithm:
    """Registry entry for ``name`` (aliases such as ``"gn"`` accepted)."""
    if not isinstance(name, str):
        raise TypeError(f"algorithm must be a string, got {type(name).__name__}")
    key = _ALIASES.get(name.strip().lower())
    if key is None:
        raise ValueError(f"unknown algorithm {name!r}; expected one of {sorted(ALGORITHMS)}")
    return ALGORITHMS[key]


def resolve_options(algorithm, options: dict) -> dict:
    """Defaults merged with ``options``, each checked; raises naming the option."""
    spec = get_algorithm(algorithm)
    unknown = set(options) - set(spec.defaults)
    if unknown:
        raise TypeError(
            f"option(s) {sorted(unknown)} do not apply to algorithm {spec.key!r}; "
            f"its options are {sorted(spec.defaults)}"
        )
    o = {**spec.defaults, **options}
    o["goal"] = check_number(o["goal"], "goal", low=0.0)
    o["max_iter"] = check_number(o["max_iter"], "max_iter", low=0, integer=True)
    o["min_grad"] = check_number(o["min_grad"], "min_grad", low=0.0)
    o["min_step"] = check_number(o["min_step"], "min_step", low=0.0)
    o["max_time"] = check_number(o["max_time"], "max_time", low=0.0, low_open=True, allow_inf=True)
    if spec.key == "ebp":
        o["alpha"] = check_number(o["alpha"], "alpha", low=0.0, low_open=True)
        o["momentum"] = check_number(o["momentum"], "momentum", low=0.0, high=1.0, high_open=True)
    if spec.key == "newton":
        o["hessian_step"] = check_number(o["hessian_step"], "hessian_step", low=0.0, low_open=True, high=1.0)
        if o["indefinite"] not in ("stop", "step"):
            raise ValueError(f"indefinite must be 'stop' or 'step', got {o['indefinite']!r}")
    if spec.key == "lm":
        o["mu"] = check_number(o["mu"], "mu", low=0.0, low_open=True)
        o["mu_inc"] = check_number(o["mu_inc"], "mu_inc", low=1.0, low_open=True)
        o["mu_dec"] = check_number(o["mu_dec"], "mu_dec", low=1.0, low_open=True)
        o["mu_min"] = check_number(o["mu_min"], "mu_min", low=0.0, high=o["mu"])
        o["mu_max"] = check_number(o["mu_max"], "mu_max", low=o["mu"], allow_inf=True)
        o["max_tries"] = check_number(o["max_tries"], "max_tries", low=1, integer=True)
        if not isinstance(o["strict"], (bool, np.bool_)):
            raise TypeError(f"strict must be True or False, got {o['strict']!r}")
        o["strict"] = bool(o["strict"])
    if "jacobian" in o:
        if not isinstance(o["jacobian"], str):
            raise TypeError(f"jacobian must be a string, got {o['jacobian']!r}")
        if o["jacobian"] not in O.JACOBIAN_MODES:
            raise ValueError(f"jacobian must be one of {sorted(O.JACOBIAN_MODES)}, got {o['jacobian']!r}")
    return o


def pack_options(o: dict) -> tuple[np.ndarray, np.ndarray]:
    """Options as the flat float/int arrays of :mod:`._options`."""
    fopt = np.zeros(O.N_FLOAT)
    fopt[O.GOAL] = o["goal"]
    fopt[O.MAX_TIME] = o["max_time"]
    fopt[O.MIN_GRAD] = o["min_grad"]
    fopt[O.MIN_STEP] = o["min_step"]
    fopt[O.ALPHA] = o.get("alpha", 0.0)
    fopt[O.MOMENTUM] = o.get("momentum", 0.0)
    fopt[O.MU_INC] = o.get("mu_inc", 10.0)
    fopt[O.MU_DEC] = o.get("mu_dec", 10.0)
    fopt[O.MU_MIN] = o.get("mu_min", 0.0)
    fopt[O.MU_MAX] = o.get("mu_max", math.inf)
    fopt[O.HESSIAN_STEP] = o.get("hessian_step", 1e-5)
    fopt[O.TICK_HZ] = _clock.ticks_per_second()
    iopt = np.zeros(O.N_INT, dtype=np.int64)
    iopt[O.MAX_ITER] = o["max_iter"]
    iopt[O.MAX_TRIES] = o.get("max_tries", 1)
    iopt[O.STRICT] = int(o.get("strict", False))
    iopt[O.INDEFINITE_STEP] = int(o.get("indefinite", "stop") == "step")
    iopt[O.JACOBIAN] = O.JACOBIAN_MODES.get(o.get("jacobian", "full"), O.JACOBIAN_FULL)
    return fopt, iopt


def initial_mu(spec: Algorithm, o: dict) -> float:
    """μ₀: the ``mu`` option for LM, 0 for Gauss–Newton, NaN where μ means nothing."""
    if spec.key == "lm":
        return o["mu"]
    return 0.0 if spec.key == "gauss_newton" else math.nan


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


def train(net: Network, X, D, algorithm: str = "lm", w0=None, *, seed=None,
          callback: Callable[[IterationRecord], bool | None] | None = None,
          validation=None, max_fail: int = 6, progress=None, **options) -> TrainResult:
    """Train ``net`` on patterns ``X`` (P, n_inputs) and targets ``D`` (P, M).

    Parameters
    ----------
    net : Network
    X, D : array_like
        Inputs and desired outputs; a 1-D array is one column.
    algorithm : {"lm", "gauss_newton", "newton", "ebp"}
        Update rule (Table 12.1); see the module of each for details.
    w0 : array_like, optional
        Initial weights (copied). Default: ``net.init_weights(seed)``.
    seed : int, SeedSequence or Generator, optional
        Used only when ``w0`` is not given.
    callback : callable, optional
        Called after every iteration with an :class:`IterationRecord`; returning
        True stops training (``StopReason.USER_STOP``). The iterations run the
        same compiled step, one per call. If the callback has a method
        ``on_train_end(stop_reason)`` it is called once at the end (as
        :class:`lmtrain.monitor.LivePlot` does).
    validation : tuple (Xv, Dv), optional
        Validation patterns and targets (shapes as X and D). After every
        iteration E_v = ½Σe² on them is recorded in ``history.validation_error``
        (and passed to the callback). Training stops with
        ``StopReason.VALIDATION`` once E_v has stayed above the lowest E_v seen
        (initial weights included) for ``max_fail`` iterations in a row; the
        weights of that lowest E_v are then returned and ``result.error`` is
        the training E at them. Any other stop returns the last weights.
        Drives the compiled loop one iteration per call.
    max_fail : int
        Iterations in a row without a new best validation error before the
        validation stop (default 6, as MATLAB); needs ``validation``.
    progress : bool, None, file-like or :class:`lmtrain.monitor.ProgressLine`
        A progress line (iteration, E, μ, ‖g‖) rewritten in place a few times
        per second. None (default): on stderr only when stderr is a terminal
        and training has lasted over a second; True: always on stderr; False:
        never; a stream: always, written there. Without callback and
        validation the compiled loop runs in time slices, not per iteration.
    **options
        Stopping rules for every algorithm: ``goal`` (stop when E ≤ goal,
        E = ½Σe², default 0), ``max_iter`` (EBP 100000, others 1000),
        ``min_grad`` (1e-10), ``min_step`` (0), ``max_time`` (seconds, inf).
        EBP: ``alpha`` (0.1), ``momentum`` (0). Newton: ``hessian_step``
        (1e-5), ``indefinite`` ("stop": stop with NOT_POSITIVE_DEFINITE when
        H is not positive definite; "step": take the pure Newton step). LM: ``mu`` (0.01), ``mu_inc`` (10), ``mu_dec`` (10, a divisor),
        ``mu_min`` (1e-20), ``mu_max`` (1e10), ``max_tries`` (5), ``strict``
        (False: Fig. 12.5; True: never accept an increase). LM and
        Gauss–Newton: ``jacobian`` ("auto": the whole Jacobian in compiled
        code for small problems, blocks of it with BLAS products for large
        ones, by the measured crossover; "full" or "blocks" to force one;
        see :mod:`lmtrain.algorithms.lm_blocked`).

    Returns
    -------
    TrainResult

    Warns
    -----
    lmtrain.TargetRangeWarning
        When the run ends short of its goal and ``D`` holds values its output
        neurons cannot reach: beyond ±1 for tanh ("bipolar"), outside [0, 1]
        for the sigmoid ("unipolar"). Regression wants
        ``output_activation="linear"``.
    """
    if callback is None and validation is None and type(max_fail) is int and max_fail >= 1:
        fast = _train_fast(net, algorithm, options, X, D, w0, seed, progress)
        if fast is not None:
            if fast.stop_reason is not _GOAL:  # only a run short of its goal pays for the check
                warn_targets_out_of_range(net, D)
            return fast
    spec = get_algorithm(algorithm)
    if not isinstance(net, Network):
        raise TypeError(f"net must be a lmtrain Network, got {type(net).__name__}")
    if callback is not None and not callable(callback):
        raise TypeError("callback must be callable or None")
    o = resolve_options(spec.key, options)
    X = as_inputs(X, net.n_inputs)
    D = as_targets(D, X.shape[0], net.n_outputs)
    w = net.init_weights(seed) if w0 is None else as_weights(w0, net.n_weights, "w0").copy()
    max_fail = check_number(max_fail, "max_fail", low=1, integer=True)
    if validation is not None:
        if not isinstance(validation, (tuple, list)) or len(validation) != 2:
            raise TypeError("validation must be a pair (Xv, Dv) or None")
        Xv = as_inputs(validation[0], net.n_inputs, "validation[0] (Xv)")
        Dv = as_targets(validation[1], Xv.shape[0], net.n_outputs, "validation[1] (Dv)")
        validation = (np.ascontiguousarray(Xv.T), np.ascontiguousarray(Dv.T))
    progress = ProgressLine.from_option(progress)
    r = _train_arrays(net, spec, o, np.ascontiguousarray(X.T), np.ascontiguousarray(D.T), w, callback,
                      validation=validation, max_fail=max_fail, progress=progress)
    if r.stop_reason is not _GOAL:
        warn_targets_out_of_range(net, D)
    return r


def _train_arrays(net, spec, o, XT, DT, w, callback=None, *, validation=None, max_fail=6,
                  progress=None, resume=None) -> TrainResult:
    """Train from validated, transposed arrays; ``w`` is modified in place.

    ``validation`` is ``(XvT, DvT)`` transposed like ``XT``/``DT``; ``progress``
    a :class:`~lmtrain.monitor.ProgressLine`. With none of callback,
    validation and progress the run is one compiled call.

    ``resume`` continues a run of the fast path that its time budget stopped:
    ``(iterations, E, E0, mu, H, t_start)`` as :func:`._batch.run_many` returned
    them, ``w`` its weights and ``t_start`` its ``time.perf_counter()`` start.
    The loop's whole state is then E, μ, the iteration count and the forward
    pass at ``w`` (recomputed here), so the run goes on exactly as if it had
    never stopped (not for EBP with momentum, whose last step is not kept).
    """
    fopt, iopt = pack_options(o)
    if o["max_time"] < math.inf and fopt[O.TICK_HZ] <= 0.0:
        warnings.warn("max_time cannot be enforced here: this machine has no cycle counter that compiled "
                      "code can read", RuntimeWarning, stacklevel=3)
    topo = net.topology
    if lm_blocked.use_blocks(int(iopt[O.JACOBIAN]), spec.code, XT.shape[1], net.n_outputs, net.n_weights):
        ws = lm_blocked.take_workspace(spec.code, XT, DT, topo, net.n_nodes, net.n_weights)
    else:
        ws = _loop.workspace(spec.code, XT, net.n_nodes, net.n_outputs, net.n_weights)
    hist = _loop.history(min(o["max_iter"], HISTORY_CAP))
    state = np.zeros(O.N_STATE)
    state[O.ST_MU] = initial_mu(spec, o)
    t_start = time.perf_counter()
    iopt[O.T0] = _clock.ticks()
    if resume is not None:
        k, E, E0, mu, H, t_start = resume
        state[O.ST_E], state[O.ST_E0], state[O.ST_MU], state[O.ST_K], state[O.ST_STARTED] = E, E0, mu, k, 1.0
        n = H.shape[1]
        for row, h in zip(hist, (H[0], H[1], H[2], H[5], H[6], H[3])):
            row[:n] = h
        engine.forward(w, ws[0], ws[1], topo)  # what the loop holds at w
        iopt[O.T0] -= int((time.perf_counter() - t_start) * fopt[O.TICK_HZ])  # times count from t_start
    val_errors = None
    try:
        if callback is None and validation is None and progress is None:
            status = _loop.run_any(spec.code, w, XT, DT, topo, fopt, iopt, state, ws, hist, o["max_iter"] + 1)
        else:
            status, val_errors = _watch.run_watched(net, spec, o, w, XT, DT, topo, fopt, iopt, state, ws, hist,
                                                    callback, validation, max_fail, progress)
    finally:
        if isinstance(ws, lm_blocked.Workspace):
            lm_blocked.give_back(ws)  # for the next call on this problem
    elapsed = time.perf_counter() - t_start
    k = int(state[O.ST_K])
    n = min(k, len(hist[0]))
    history = History(hist[0][:n].copy(), hist[1][:n].copy(), hist[2][:n].copy(),
                      hist[3][:n].astype(np.int64), hist[4][:n] != 0.0, hist[5][:n].copy(),
                      None if val_errors is None else val_errors[:n].copy())
    return TrainResult(
        weights=w.copy(), stop_reason=StopReason(status), iterations=k, error=float(state[O.ST_E]),
        initial_error=float(state[O.ST_E0]), history=history, algorithm=spec.key, elapsed=elapsed, options=o,
    )


# ------------------------------------------------------------------ fast path
# A small problem (parity-3: 16 weights, 8 patterns) trains in about 10 µs, so
# the Python around the compiled loop decides how fast train() is. The fast path
# below takes arrays that need no conversion, and makes one compiled call that
# checks the data for NaN/inf, allocates, trains and returns trimmed records.
# Everything that depends only on the algorithm name, the options, the network
# and the number of patterns (checked options, packed option arrays, the flat
# topology, the blocked-path decision, expected shapes) is worked out once per
# distinct call and cached as a plan: on parity-3 that took 2.6 µs off a call
# (10.7 → 8.1 µs at zero iterations: option key sorting, blocked-path test,
# attribute look-ups, keyword construction of the result). Anything unusual
# (lists, float32, non-contiguous arrays, NaN in the data, a callback,
# validation data, a progress line asked for) falls back to the general path,
# which gives the same result and raises the usual errors. On a terminal the
# automatic progress line (progress=None) shows only after PROGRESS_DELAY, so
# the compiled call runs for at most that long; a longer run continues on the
# general path with the line, from the exact state where the call stopped
# (before, every call on a terminal took the general path: 83 µs instead of
# 17 µs per parity-3 trial).

#: fast-path plans, keyed on (algorithm name, network id, patterns, options);
#: cleared by whoever changes what a plan depends on (e.g. the clock rate)
_OPTION_CACHE: dict = {}
_SEED_CACHE: dict = {}
_CACHE_SIZE = 256
_STOP = {int(s): s for s in StopReason}
_GOAL = StopReason.GOAL
_MAX_TIME = int(StopReason.MAX_TIME)
#: run_many's per-trial outputs, not needed for one trial (it returns that trial's results)
_NO_OUTPUT = (np.empty((0, 2), np.int64), np.empty((0, 3)), np.empty((0, 0)), np.empty((0, 0)))
_F64 = np.dtype(np.float64)


def _plan(net, algorithm, options: dict, P: int):
    """What :func:`_train_fast` needs for a call with these arguments.

    ``(net, code, name, o, fopt, iopt, mu0, hist_len, tint, tgain, X shape, D shape, w shape, fopt_budget)``,
    or ``(net, None)`` when such calls take the general path. ``o``, ``fopt``
    and ``iopt`` are shared by every call with the plan and must not be
    modified. ``fopt_budget`` is ``fopt`` with the time limit cut to
    :data:`~lmtrain.monitor.PROGRESS_DELAY`, for calls that would show the
    automatic progress line after that long (None where such calls take the
    general path). Raises as :func:`train` does for an unknown algorithm (its first
    check); other problems are left to the general path, which reports them
    in its usual order.
    """
    spec = get_algorithm(algorithm)
    general = (net, None)
    if not isinstance(net, Network) or P == 0:
        return general
    try:
        o = resolve_options(spec.key, options)
    except (TypeError, ValueError):
        return general
    fopt, iopt = pack_options(o)
    N, M = net.n_weights, net.n_outputs
    if lm_blocked.use_blocks(int(iopt[O.JACOBIAN]), spec.code, P, M, N):
        return general
    if fopt[O.TICK_HZ] <= 0.0 and o["max_time"] < math.inf:
        return general  # the general path warns that max_time cannot be enforced
    tint, tgain = _batch.flat_topology(net.topology)
    fopt_budget = None
    if fopt[O.TICK_HZ] > 0.0 and not (spec.code == O.EBP and o["momentum"] != 0.0):
        fopt_budget = fopt.copy()
        fopt_budget[O.MAX_TIME] = min(o["max_time"], PROGRESS_DELAY)
    return (net, spec.code, spec.key, o, fopt, iopt, initial_mu(spec, o), min(o["max_iter"], HISTORY_CAP),
            tint, tgain, (P, net.n_inputs), (P, M), (N,), fopt_budget)


def _seed_weights(net: Network, seed):
    """``net.init_weights(seed)``, remembered per network for integer seeds (``default_rng`` costs ~20 µs)."""
    if type(seed) is not int:
        return net.init_weights(seed)
    key = (id(net), seed)
    hit = _SEED_CACHE.get(key)
    if hit is None or hit[0] is not net:  # holding net keeps its id from being reused
        hit = (net, net.init_weights(seed))
        if len(_SEED_CACHE) >= _CACHE_SIZE:
            _SEED_CACHE.clear()
        _SEED_CACHE[key] = hit
    return hit[1]


#: run_many's compiled code for the fast path's argument types (aligned, writeable arrays), once looked up
_RUN_ONE = None
_RUN_ONE_LOOKED_UP = False


def _run_one(*args):
    """``_batch.run_many(*args)``; the first time the arrays allow it, looks up ``_RUN_ONE``."""
    global _RUN_ONE, _RUN_ONE_LOOKED_UP
    out = _batch.run_many(*args)
    if not _RUN_ONE_LOOKED_UP and args[1].flags.behaved and args[2].flags.behaved and args[3].flags.behaved:
        _RUN_ONE = _batch.compiled(_batch.run_many, args)
        _RUN_ONE_LOOKED_UP = True
    return out


def _train_fast(net, algorithm, options, X, D, w0, seed, progress):
    """One compiled call when nothing needs converting or watching; None otherwise."""
    if type(X) is not np.ndarray or X.ndim != 2:
        return None
    try:
        # insertion order, not sorted: sorting cost 0.5 µs a call and only
        # splits one set of options over a few entries. Types are part of the
        # key so that 5 and 5.0 (valid and invalid max_iter) never share a plan.
        key = (algorithm, id(net), len(X), *options.items(), *map(type, options.values()))
        plan = _OPTION_CACHE.get(key)
    except TypeError:  # an unhashable option value or algorithm: no caching
        key, plan = None, None
    if plan is None or plan[0] is not net:  # holding net keeps its id from being reused
        plan = _plan(net, algorithm, options, X.shape[0])
        if key is not None:
            if len(_OPTION_CACHE) >= _CACHE_SIZE:
                _OPTION_CACHE.clear()
            _OPTION_CACHE[key] = plan
    if plan[1] is None:
        return None
    _, code, name, o, fopt, iopt, mu0, hist_len, tint, tgain, xshape, dshape, wshape, fopt_budget = plan
    # X, D and w0 must be C-contiguous float64 arrays of the plan's shapes (checked
    # inline: a helper function cost 0.1-0.2 µs a call)
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
    budget = False
    if progress is not False:
        if progress is not None:
            return None
        if ProgressLine.automatic_wanted():
            # the automatic line shows only after PROGRESS_DELAY: run that long
            # here, and let the general path continue a longer run with the line
            if fopt_budget is None:
                return None
            budget = True
    # run_many's compiled code is called directly (0.3-0.7 µs less than Numba's
    # dispatch of 17 arguments) when every argument has the type it had when
    # that code was looked up: everything but X, D and w0 is built here, and
    # those three are checked above except for alignment and writeability,
    # which Numba also types (read-only arrays take the dispatcher)
    run = _RUN_ONE if _RUN_ONE is not None and fx.behaved and fd.behaved and fw.behaved else _run_one
    t_start = time.perf_counter()
    status, k, E, E0, mu, out = run(
        code, w0[None], X, D, False, tint, tgain, fopt_budget if budget else fopt, iopt, mu0, hist_len, 0, 1,
        *_NO_OUTPUT)
    elapsed = time.perf_counter() - t_start
    if status == _batch.BAD_INPUT:
        return None  # the general path raises the usual message
    N = wshape[0]
    if budget and status == _MAX_TIME and fopt_budget[O.MAX_TIME] < fopt[O.MAX_TIME]:
        return _train_arrays(net, get_algorithm(name), o, np.ascontiguousarray(X.T), np.ascontiguousarray(D.T),
                             out[:N].copy(), progress=ProgressLine.automatic(t_start),
                             resume=(k, E, E0, mu, out[N:].reshape(7, -1), t_start))
    return TrainResult._packed(out, N, _STOP[status], k, E, E0, name, elapsed, o)
