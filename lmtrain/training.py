"""``lmtrain.train``: train a network with one of the rules of Table 12.1.

Checks its arguments, chooses how the run is watched (a callback, validation
stopping, a progress line on a terminal) and hands the run to the algorithms
(:mod:`lmtrain.algorithms`).
"""

from __future__ import annotations

import warnings
from typing import Callable

from . import _clock, algorithms
from ._validation import as_inputs, as_targets, as_weights, check_number, warn_targets_out_of_range
from .algorithms import IterationRecord, get_algorithm
from .monitor import ProgressLine
from .network import Network
from .result import StopReason, TrainResult

_GOAL = StopReason.GOAL

__all__ = ["train"]


def train(net: Network, X, D, algorithm: str = "lm", w0=None, *, seed=None,
          callback: Callable[[IterationRecord], bool | None] | None = None,
          validation=None, max_fail: int = 6, progress=None, kernels: str = "fast", **options) -> TrainResult:
    """Train ``net`` on patterns ``X`` (P, n_inputs) and targets ``D`` (P, M).

    Parameters
    ----------
    net : Network
    X, D : array_like
        Inputs and desired outputs; a 1-D array is one column.
    algorithm : {"lm", "gauss_newton", "newton", "ebp"}
        Update rule (Table 12.1); see the module of each in :mod:`lmtrain.algorithms`.
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
        Validation patterns and targets. After every iteration E_v = ½Σe² on
        them is recorded in ``history.validation_error``; training stops with
        ``StopReason.VALIDATION`` once E_v has stayed above the lowest E_v seen
        (initial weights included) for ``max_fail`` iterations in a row, and
        the weights of that lowest E_v are returned.
    max_fail : int
        Iterations in a row without a new best validation error before the
        validation stop (default 6, as MATLAB); needs ``validation``.
    progress : bool, None, file-like or :class:`lmtrain.monitor.ProgressLine`
        A progress line (iteration, E, μ, ‖g‖) rewritten in place a few times
        per second. None (default): on stderr only when stderr is a terminal
        and training has lasted over a second; True: always on stderr; False:
        never; a stream: always, written there.
    kernels : {"fast", "plain"}
        ``"fast"`` (default): the compiled speed twins. ``"plain"``: the plain
        kernels of :mod:`lmtrain.kernels`, the chapter's computation as written
        (Fig. 12.4, one pattern at a time, Q and g without storing J), more
        slowly. Without tanh neurons the two give identical runs, bit for bit;
        with them the twins' vectorised tanh may differ from ``math.tanh`` by
        a few units in the last place, which runs usually carry to the end
        within 1e-10 but which can grow where the arithmetic magnifies it:
        saturated neurons (their slope 1 − y² is a difference of nearly equal
        numbers) with μ tiny, nearly singular Gauss–Newton systems, long
        chaotic EBP runs (see ``docs/performance.md``).
    **options
        Stopping rules for every algorithm: ``goal`` (stop when the error is
        at most goal; default None: a perfect fit, E ≤ 10⁻¹⁶·½Σd²), ``error``
        (the units of goal: ``"E"`` = ½Σe² (eq. 12.1, default), ``"sse"`` =
        Σe², ``"mse"`` = Σe²/(P·M)), ``max_iter`` (EBP 100000, others 1000),
        ``min_grad`` (1e-10), ``min_step`` (0), ``max_time`` (seconds, inf).
        EBP: ``alpha`` (0.1), ``momentum`` (0). Newton: ``hessian_step``
        (1e-5), ``indefinite`` ("stop" or "step"). LM: ``mu`` (0.01),
        ``mu_inc`` (10), ``mu_dec`` (10, a divisor), ``mu_min`` (1e-20),
        ``mu_max`` (1e10), ``max_tries`` (5), ``strict`` (False: Fig. 12.5's
        forced step; True: never accept an increase). LM and Gauss–Newton:
        ``jacobian`` ("auto": the whole Jacobian in compiled code for small
        problems, blocks of it with BLAS products for large ones; "full" or
        "blocks" to force one).

    Returns
    -------
    TrainResult
        ``success`` is True when training converged (the goal, or a vanished
        gradient or step); ``reached_goal`` when it stopped at the goal.

    Warns
    -----
    lmtrain.TargetRangeWarning
        When the run ends short of its goal and ``D`` holds values its output
        neurons cannot reach: beyond ±1 for tanh ("bipolar"), outside [0, 1]
        for the sigmoid ("unipolar"). Regression wants
        ``output_activation="linear"``.

    Raises
    ------
    lmtrain.TrainingInterrupted
        On Ctrl-C, within a fraction of a second; its ``result`` holds the
        weights reached so far (stop reason ``INTERRUPTED``).
    """
    if callback is None and validation is None and kernels == "fast" and (progress is None or progress is False) \
            and type(max_fail) is int and max_fail >= 1:
        fast = algorithms.train_fast(net, algorithm, options, X, D, w0, seed)
        if fast is not None:
            if not isinstance(fast, TrainResult):  # a long run: it goes on in slices, with the automatic progress line
                line = ProgressLine.from_option(progress, start=fast.t_start)
                fast = algorithms.train(net, fast.spec, fast.o, X, D, fast.w, progress=line, resume=fast)
            if fast.stop_reason is not _GOAL:  # only a run short of its goal pays for the check
                warn_targets_out_of_range(net, D)
            return fast
    spec = get_algorithm(algorithm)
    if not isinstance(net, Network):
        raise TypeError(f"net must be a lmtrain Network, got {type(net).__name__}")
    if callback is not None and not callable(callback):
        raise TypeError("callback must be callable or None")
    if kernels not in algorithms.KERNELS:
        raise ValueError(f"kernels must be one of {list(algorithms.KERNELS)}, got {kernels!r}")
    o = spec.resolve(options)
    X = as_inputs(X, net.n_inputs)
    D = as_targets(D, X.shape[0], net.n_outputs)
    w = net.init_weights(seed) if w0 is None else as_weights(w0, net.n_weights, "w0").copy()
    max_fail = check_number(max_fail, "max_fail", low=1, integer=True)
    if validation is not None:
        if not isinstance(validation, (tuple, list)) or len(validation) != 2:
            raise TypeError("validation must be a pair (Xv, Dv) or None")
        Xv = as_inputs(validation[0], net.n_inputs, "validation[0] (Xv)")
        Dv = as_targets(validation[1], Xv.shape[0], net.n_outputs, "validation[1] (Dv)")
        validation = (Xv, Dv)
    if o["max_time"] < float("inf") and _clock.ticks_per_second() <= 0.0:
        warnings.warn("max_time cannot be enforced here: this machine has no cycle counter that compiled "
                      "code can read", RuntimeWarning, stacklevel=2)
    r = algorithms.train(net, spec, o, X, D, w, callback=callback, validation=validation, max_fail=max_fail,
                         progress=ProgressLine.from_option(progress), kernels=kernels)
    if r.stop_reason is not _GOAL:
        warn_targets_out_of_range(net, D)
    return r

