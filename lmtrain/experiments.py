"""Seeded multi-trial experiments (§12.4): how many trials reach the goal, in how many iterations, how fast.

Trial i starts from ``net.init_weights(SeedSequence(seed).spawn(trials)[i])``,
so any trial can be replayed alone with :func:`trial_weights` and
:func:`lmtrain.train`.

* :func:`run_trials` — many trials of one algorithm in one compiled call;
* :func:`compare` — several algorithms (or settings) from the *same* initial
  weights, as in Table 12.2;
* :func:`summary_table` — rows (the fraction of trials that reached the goal,
  their mean iterations, the mean time per trial, stop reasons) for Markdown
  or CSV;
* :data:`TABLE_12_2` and :func:`table_12_2` — the set-up that reproduces the
  chapter's Table 12.2 (network, data, error goal and the four rows' rules and
  options), found by ``chapters/setup_study.py``; :data:`SETUPS` names it for
  the command line (``lmtrain compare --setup table-12-2``, ``lmtrain demo``).

Table 12.2 counts a trial as a success when it **reached the goal**
(``TrialSummary.reached_goal``, ``goal_rate``); ``success`` and
``success_rate`` count the trials that converged, as ``TrainResult.success``.

Long runs show a progress line on stderr when stderr is a terminal, and are
silent otherwise (logs, pipes, tests) or with ``progress=False``.
"""

from __future__ import annotations

import math
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Mapping

import numpy as np

from . import algorithms, monitor
from ._validation import as_float_array, as_inputs, as_targets, check_number, check_seed
from .algorithms import get_algorithm
from .network import Network
from .result import StopReason, TrainingInterrupted
from .setups import SETUPS, TABLE_12_2, Setup  # noqa: F401 (named here too: the experiments run them)


def trial_weights(net: Network, trials: int, seed=0) -> np.ndarray:
    """Initial weights of every trial, shape (trials, n_weights), uniform in [−1, 1].

    Row i is ``net.init_weights(numpy.random.SeedSequence(seed).spawn(trials)[i])``;
    ``seed`` is a non-negative int, a SeedSequence (not moved on) or None.
    """
    trials = check_number(trials, "trials", low=1, integer=True)
    children = check_seed(seed).spawn(trials)
    return np.stack([net.init_weights(np.random.default_rng(c)) for c in children])


@dataclass
class TrialSummary:
    """Outcome of :func:`run_trials`; arrays have one entry per trial."""

    algorithm: str
    options: dict
    stop_reason: np.ndarray  # int codes, see StopReason
    iterations: np.ndarray
    error: np.ndarray
    initial_error: np.ndarray
    time: np.ndarray  # seconds per trial (EBP in lanes: the trial's share of the passes it ran in)
    weights: np.ndarray  # (trials, N) final weights
    initial_weights: np.ndarray
    error_history: np.ndarray  # (trials, L), NaN after a trial ended
    wall_time: float = 0.0
    extra: dict = field(default_factory=dict)
    label: str = ""  # name given by :func:`compare` (or ``run_trials(label=...)``)
    n_residuals: int = 0  # P·M, the number of errors per trial

    @property
    def trials(self) -> int:
        return len(self.stop_reason)

    @property
    def reached_goal(self) -> np.ndarray:
        """Per trial: it stopped at E ≤ goal (Table 12.2's criterion of success)."""
        return self.stop_reason == int(StopReason.GOAL)

    @property
    def success(self) -> np.ndarray:
        """Per trial: it converged (goal, or a vanished gradient or step), as ``TrainResult.success``."""
        return np.isin(self.stop_reason, [int(StopReason.GOAL), int(StopReason.MIN_GRAD), int(StopReason.MIN_STEP)])

    @property
    def goal_rate(self) -> float:
        """The fraction of trials that reached the goal: the "success rate" of Table 12.2."""
        return float(np.mean(self.reached_goal))

    @property
    def success_rate(self) -> float:
        """The fraction of trials that converged (:attr:`success`); Table 12.2 counts :attr:`goal_rate`."""
        return float(np.mean(self.success))

    @property
    def mean_iterations(self) -> float:
        """Mean iterations of the trials that reached the goal (NaN when none did)."""
        s = self.reached_goal
        return float(np.mean(self.iterations[s])) if s.any() else float("nan")

    @property
    def mean_time(self) -> float:
        """Mean time per trial in seconds, over all trials."""
        return float(np.mean(self.time))

    @property
    def mean_time_success(self) -> float:
        """Mean time of the trials that reached the goal (NaN when none did)."""
        s = self.reached_goal
        return float(np.mean(self.time[s])) if s.any() else float("nan")

    @property
    def mse(self) -> np.ndarray:
        """Per trial, the final error as Σe²/(P·M)."""
        return 2.0 * self.error / self.n_residuals if self.n_residuals else np.full(self.trials, np.nan)

    @property
    def sse(self) -> np.ndarray:
        """Per trial, the final error as Σe²."""
        return 2.0 * self.error

    @property
    def stop_counts(self) -> dict:
        return {StopReason(int(k)).name: v for k, v in sorted(Counter(self.stop_reason.tolist()).items())}

    def __repr__(self):
        return (
            f"TrialSummary({self.algorithm}: {self.trials} trials, reached the goal {100 * self.goal_rate:.0f}%, "
            f"mean iterations {self.mean_iterations:.2f}, mean time {1e3 * self.mean_time:.3f} ms, "
            f"stops {self.stop_counts})"
        )


def _chunks(total: int, enabled: bool, first: int = 1):
    """Spans ``(a, b)`` of trials, one compiled call each: the whole run unless progress is shown.

    With progress the spans start at ``first`` trials and grow, at most
    doubling, until a span takes about :data:`lmtrain.monitor.PROGRESS_INTERVAL`
    seconds (timed while the caller runs it), always a multiple of ``first``.
    A short run is then a few calls, not many equal small ones: chunks of a
    few trials fill neither the threads nor EBP's lanes.
    """
    if not enabled or total <= first:
        yield 0, total
        return
    a, size = 0, first
    while a < total:
        b = min(total, a + size)
        t = time.perf_counter()
        yield a, b
        per_trial = (time.perf_counter() - t) / (b - a)
        a = b
        want = monitor.PROGRESS_INTERVAL / per_trial if per_trial > 0.0 else 2.0 * size
        size = max(first, min(2 * size, int(want)))
        size = first * math.ceil(size / first)


def run_trials(net: Network, X, D, algorithm: str = "lm", trials: int = 100, seed=0, *,
               w0=None, history: int = 1000, parallel: bool = True, progress: bool = True,
               label: str | None = None, kernels: str = "fast", **options) -> TrialSummary:
    """Run ``trials`` seeded trials of one algorithm inside compiled code.

    Parameters
    ----------
    net, X, D, algorithm, **options
        As for :func:`lmtrain.train` (``goal`` is on E = ½Σe², eq. 12.1).
    trials : int
        Number of trials (default 100, as in §12.4).
    seed : int or SeedSequence
        Trial i starts from weights drawn with ``SeedSequence(seed).spawn(trials)[i]``.
    w0 : array_like, optional
        Explicit initial weights, shape (trials, n_weights); overrides ``seed``
        and ``trials``.
    history : int
        Iterations of error history kept per trial (0 for none).
    parallel : bool
        Spread trials over the cores (results identical to ``parallel=False``).
        EBP trials on a few patterns (at most 16) also run side by side,
        8–32 in the lanes of one vectorised pass, with results identical to
        running them one at a time (see :mod:`lmtrain.algorithms._fast.lanes`).
    progress : bool
        Show ``label: done/total trials`` on stderr while running, only when
        stderr is a terminal and once the run has lasted a second. The trials
        then run in growing chunks; results are the same as in one call
        because trials are independent.
    label : str, optional
        Name for the progress line and ``TrialSummary.label`` (default: the algorithm).
    kernels : {"fast", "plain"}
        As for :func:`lmtrain.train`.

    Returns
    -------
    TrialSummary

    Raises
    ------
    lmtrain.TrainingInterrupted
        On Ctrl-C: queued trials are dropped, running ones stop at their next
        iteration, and ``result`` is the summary of the trials that had finished.
    """
    if not isinstance(net, Network):
        raise TypeError(f"net must be a lmtrain Network, got {type(net).__name__}")
    spec = get_algorithm(algorithm)
    o = spec.resolve(options)
    X = as_inputs(X, net.n_inputs)
    D = as_targets(D, X.shape[0], net.n_outputs)
    history = check_number(history, "history", low=0, integer=True)
    if kernels not in algorithms.KERNELS:
        raise ValueError(f"kernels must be one of {list(algorithms.KERNELS)}, got {kernels!r}")
    if label is None:
        label = spec.key
    elif not isinstance(label, str):
        raise TypeError(f"label must be a string, got {type(label).__name__}")
    if w0 is None:
        W0 = trial_weights(net, trials, seed)
    else:
        W0 = as_float_array(w0, "w0", 2)  # names w0 for strings, complex or NaN entries
        if W0.shape[1] != net.n_weights:
            raise ValueError(f"w0 must be a finite array of shape (trials, {net.n_weights}), got {W0.shape}")
    T = W0.shape[0]
    parts = []
    bar = monitor.CountLine(label, T, enabled=progress)
    wall = 0.0
    try:
        bar.update(0)
        for a, b in _chunks(T, bar.enabled, algorithms.first_chunk(spec, X.shape[0], parallel)):
            t0 = time.perf_counter()
            try:
                parts.append(algorithms.run_trials(net, spec, o, X, D, W0[a:b], history=history, parallel=parallel,
                                                   kernels=kernels))
            except TrainingInterrupted as exc:  # report the trials that had finished
                parts.append(exc.result)
                wall += time.perf_counter() - t0
                raise TrainingInterrupted(_summary(spec, o, parts, W0, wall, label, D.size, finished=True)) from None
            wall += time.perf_counter() - t0
            bar.update(b)
    finally:
        bar.close()
    return _summary(spec, o, parts, W0, wall, label, D.size)


def _summary(spec, o, parts, W0, wall, label, n_residuals, finished=False) -> TrialSummary:
    """One :class:`TrialSummary` from the chunks' results (with ``finished``, only the trials that ended)."""
    names = ("status", "iterations", "error", "initial_error", "time", "weights", "error_history")
    if len(parts) == 1:  # one call: its arrays are the summary's (no copies, a sizeable part of a short run)
        cat = {f: getattr(parts[0], f) for f in names}
    else:
        cat = {f: np.concatenate([getattr(p, f) for p in parts]) for f in names}
    T = len(cat["status"])
    initial = W0[:T].copy()  # W0 may be the caller's own array
    if finished:
        keep = ~np.isin(cat["status"], [algorithms.run.batch.NOT_RUN, int(StopReason.INTERRUPTED)])
        cat = {f: a[keep] for f, a in cat.items()}
        initial = initial[keep]
    return TrialSummary(spec.key, o, cat["status"], cat["iterations"], cat["error"], cat["initial_error"],
                        cat["time"], cat["weights"], initial, cat["error_history"], wall, label=label,
                        n_residuals=n_residuals)


def _as_entry(label, entry):
    """``(algorithm, options)`` from a :func:`compare` entry (a name or a pair)."""
    if isinstance(entry, str):
        return entry, {}
    if isinstance(entry, (tuple, list)) and len(entry) == 2 and isinstance(entry[0], str) \
            and isinstance(entry[1], Mapping):
        return entry[0], dict(entry[1])
    raise TypeError(f"algorithms[{label!r}] must be an algorithm name or a pair (algorithm, options dict), "
                    f"got {entry!r}")


def compare(net: Network, X, D, algorithms: Mapping, trials: int = 100, seed=0, *, w0=None,
            history: int = 1000, parallel: bool = True, progress: bool = True, **common) -> dict:
    """Run several algorithms from the same initial weights (the set-up of Table 12.2).

    Parameters
    ----------
    net, X, D
        As for :func:`lmtrain.train`.
    algorithms : mapping
        ``{label: (algorithm, options)}`` (or ``{label: algorithm}``), e.g.
        ``{"EBP α=1": ("ebp", {"alpha": 1.0}), "LM": ("lm", {})}``.
    trials, seed
        Trial i of *every* entry starts from row i of
        ``trial_weights(net, trials, seed)``, so differences come from the
        rules, not from the draws.
    w0 : array_like, optional
        Explicit initial weights (trials, n_weights) shared by every entry.
    history, parallel, progress
        As for :func:`run_trials`.
    **common
        Options given to every entry (e.g. ``goal=0.01``); an entry's own
        options override them.

    Returns
    -------
    dict
        ``{label: TrialSummary}`` in the order given.
    """
    if not isinstance(net, Network):
        raise TypeError(f"net must be a lmtrain Network, got {type(net).__name__}")
    if not isinstance(algorithms, Mapping):
        raise TypeError("algorithms must be a mapping {label: (algorithm, options)}, "
                        f"got {type(algorithms).__name__}")
    if not algorithms:
        raise ValueError("algorithms must name at least one algorithm")
    entries = {}
    for label, entry in algorithms.items():
        if not isinstance(label, str):
            raise TypeError(f"algorithms: labels must be strings, got {label!r}")
        algo, opts = _as_entry(label, entry)
        get_algorithm(algo)  # fail before any run starts
        entries[label] = (algo, {**common, **opts})
    W0 = trial_weights(net, trials, seed) if w0 is None else w0
    return {label: run_trials(net, X, D, algo, w0=W0, history=history, parallel=parallel, progress=progress,
                              label=label, **opts)
            for label, (algo, opts) in entries.items()}


#: columns of :func:`summary_table`, and Markdown formats for them
SUMMARY_COLUMNS = ["label", "algorithm", "options", "trials", "reached_goal", "mean_iterations",
                   "mean_time_ms", "median_mse", "stops"]
SUMMARY_FORMATS = {"reached_goal": ".0%", "mean_iterations": ".2f", "mean_time_ms": ".3f", "median_mse": ".3g"}


def _changed_options(s: TrialSummary) -> str:
    defaults = get_algorithm(s.algorithm).defaults
    changed = {k: v for k, v in s.options.items() if k in defaults and v != defaults[k]}
    return ", ".join(f"{k}={v:g}" if isinstance(v, float) else f"{k}={v}" for k, v in changed.items())


def summary_table(results) -> list[dict]:
    """One row per summary, with the keys of :data:`SUMMARY_COLUMNS`.

    Parameters
    ----------
    results : dict of TrialSummary, or sequence of TrialSummary
        E.g. what :func:`compare` returns.

    Returns
    -------
    list of dict
        ``label``; ``algorithm``; ``options`` (those differing from the
        defaults); ``trials``; ``reached_goal`` (the fraction of trials that
        reached the goal, Table 12.2's success rate); ``mean_iterations`` (over
        the trials that reached the goal, NaN when none); ``mean_time_ms``
        (over all trials, milliseconds); ``median_mse`` (the final errors as
        Σe²/(P·M)); ``stops`` (stop reason counts, e.g. ``"GOAL 97, MAX_ITER 3"``).
    """
    if isinstance(results, TrialSummary):
        results = [results]
    items = list(results.items()) if isinstance(results, Mapping) else [(None, r) for r in results]
    rows = []
    for label, s in items:
        if not isinstance(s, TrialSummary):
            raise TypeError(f"results must hold TrialSummary objects, got {type(s).__name__}")
        rows.append({
            "label": label if label is not None else (s.label or s.algorithm),
            "algorithm": s.algorithm,
            "options": _changed_options(s),
            "trials": s.trials,
            "reached_goal": s.goal_rate,
            "mean_iterations": s.mean_iterations,
            "mean_time_ms": 1e3 * s.mean_time,
            "median_mse": float(np.median(s.mse)) if s.trials else float("nan"),
            "stops": ", ".join(f"{k} {v}" for k, v in s.stop_counts.items()),
        })
    return rows


def warm_up(loop=("lm", "gauss_newton", "ebp"), lanes: bool = True, blocks: bool = False,
            plain: bool = False) -> None:
    """Compile (or load from Numba's on-disk cache) what ``run_trials`` runs, on a tiny problem.

    ``loop``: the algorithms whose compiled trial loop to compile (each rule
    has its own); ``lanes``: EBP's lanes; ``blocks``: LM on the blocked
    large-problem path (``jacobian="blocks"``); ``plain``: the plain kernels behind
    :meth:`Network.forward <lmtrain.network.Network.forward>`, ``jacobian`` and
    ``error``. ``lmtrain reproduce`` runs this in
    two background processes as it starts, each compiling a part while the
    first chapter scripts draw, so that both cores compile. Same call paths and
    argument types as ``run_trials``.
    """
    from .datasets import parity
    from .network import mlp

    X, D = parity(3)
    net = mlp([3, 3, 1])
    for algorithm in loop:
        run_trials(net, X, D, algorithm, trials=2, max_iter=2, parallel=False, progress=False)
    if lanes:
        run_trials(net, X, D, "ebp", trials=16, max_iter=2, parallel=False, progress=False)
    if blocks:
        from .training import train

        train(net, X, D, "lm", jacobian="blocks", max_iter=2, progress=False)
    if plain:
        w = net.init_weights(0)
        net.forward(w, X)
        net.jacobian(w, X)
        net.error(w, X, D)


def run_setup(setup: Setup, trials: int | None = None, seed=None, *, history: int = 0,
              parallel: bool = False, progress: bool = False, **max_iter) -> dict:
    """Run every row of ``setup`` from the same seeded weights: ``{label: TrialSummary}``.

    Parameters
    ----------
    setup : Setup
        E.g. :data:`TABLE_12_2`.
    trials, seed
        Default: the set-up's own (100 trials, seed 0 for Table 12.2).
    history, progress
        As for :func:`run_trials`.
    parallel : bool
        Default False: trials run one after another, so that each trial's
        time is not shared with another trial on the same core.
    **max_iter
        Lower caps per algorithm, e.g. ``ebp=1000`` (see :meth:`Setup.algorithms`).
    """
    if not isinstance(setup, Setup):
        raise TypeError(f"setup must be a lmtrain.setups.Setup, got {type(setup).__name__}")
    net = setup.network()
    X, D = setup.data()
    return compare(net, X, D, setup.algorithms(**max_iter), trials=setup.trials if trials is None else trials,
                   seed=setup.seed if seed is None else seed, history=history, parallel=parallel,
                   progress=progress, goal=setup.goal)


def table_12_2(trials: int = 100, seed=0, **kwargs) -> dict:
    """Table 12.2 as lmtrain reproduces it: :func:`run_setup` of :data:`TABLE_12_2`.

    >>> rows = table_12_2(trials=100, seed=0)            # doctest: +SKIP
    >>> {k: (s.goal_rate, s.mean_iterations) for k, s in rows.items()}   # doctest: +SKIP

    Keyword arguments go to :func:`run_setup` (``history``, ``parallel``,
    ``progress``, caps such as ``ebp=1000``).
    """
    return run_setup(TABLE_12_2, trials, seed, **kwargs)
