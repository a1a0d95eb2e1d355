"""Seeded multi-trial experiments (§12.4): success rate, iterations, time.

Trial i starts from ``net.init_weights(SeedSequence(seed).spawn(trials)[i])``,
so any trial can be replayed alone with :func:`trial_weights` and
:func:`lmtrain.train`.

* :func:`run_trials` — many trials of one algorithm in one compiled call;
* :func:`compare` — several algorithms (or settings) from the *same* initial
  weights, as in Table 12.2;
* :func:`summary_table` — rows (success rate, mean iterations of the
  successful trials, mean time per trial, stop reasons) for Markdown or CSV.

Long runs show a progress line on stderr when stderr is a terminal, and are
silent otherwise (logs, pipes, tests) or with ``progress=False``.
"""

from __future__ import annotations

import math
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Mapping

import numpy as np

from . import monitor
from ._validation import as_float_array, as_inputs, as_targets, check_number, check_seed
from .algorithms import _batch, _lanes, get_algorithm, initial_mu, pack_options, resolve_options
from .algorithms import _options as O
from .network import Network
from .result import StopReason


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

    @property
    def trials(self) -> int:
        return len(self.stop_reason)

    @property
    def success(self) -> np.ndarray:
        return self.stop_reason == int(StopReason.GOAL)

    @property
    def success_rate(self) -> float:
        return float(np.mean(self.success))

    @property
    def mean_iterations(self) -> float:
        """Mean iterations of the successful trials (NaN when none succeeded)."""
        s = self.success
        return float(np.mean(self.iterations[s])) if s.any() else float("nan")

    @property
    def mean_time(self) -> float:
        """Mean time per trial in seconds, over all trials."""
        return float(np.mean(self.time))

    @property
    def mean_time_success(self) -> float:
        s = self.success
        return float(np.mean(self.time[s])) if s.any() else float("nan")

    @property
    def stop_counts(self) -> dict:
        return {StopReason(int(k)).name: v for k, v in sorted(Counter(self.stop_reason.tolist()).items())}

    def __repr__(self):
        return (
            f"TrialSummary({self.algorithm}: {self.trials} trials, success {100 * self.success_rate:.0f}%, "
            f"mean iterations {self.mean_iterations:.2f}, mean time {1e3 * self.mean_time:.3f} ms, "
            f"stops {self.stop_counts})"
        )


class _Progress:
    """``label: done/total trials`` rewritten in place with ``\\r`` on a terminal.

    Like :func:`lmtrain.train`'s automatic line it stays quiet for the first
    :data:`lmtrain.monitor.PROGRESS_DELAY` seconds, so a run that ends
    sooner writes nothing.
    """

    def __init__(self, label: str, total: int, enabled: bool, stream=None):
        self.stream = sys.stderr if stream is None else stream
        isatty = getattr(self.stream, "isatty", None)
        self.enabled = bool(enabled) and callable(isatty) and bool(isatty())
        self.label, self.total, self.t0, self.width = label, total, time.perf_counter(), 0

    def update(self, done: int) -> None:
        if not self.enabled:
            return
        elapsed = time.perf_counter() - self.t0
        if self.width == 0 and elapsed < monitor.PROGRESS_DELAY:
            return
        line = f"{self.label}: {done}/{self.total} trials, {elapsed:.1f} s"
        self.width = max(self.width, len(line))
        self.stream.write("\r" + line.ljust(self.width))
        self.stream.flush()

    def close(self) -> None:
        if self.enabled and self.width:
            self.stream.write("\r" + " " * self.width + "\r")  # leave the terminal line clean
            self.stream.flush()


def _chunks(total: int, enabled: bool, first: int = 1):
    """Spans ``(a, b)`` of trials, one compiled call each: the whole run unless progress is shown.

    With progress the spans start at ``first`` trials and grow, at most
    doubling, until a span takes about :data:`lmtrain.monitor.PROGRESS_INTERVAL`
    seconds (timed while the caller runs it), always a multiple of ``first``.
    A short run is then a few calls, not the 25 equal ones it used to be
    (which, on a terminal, made 1,000 parity-3 LM trials 13 % slower and ten
    EBP trials three times slower: chunks of a few trials filled neither the
    threads nor EBP's lanes).
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


def _first_chunk(code: int, P: int, parallel: bool) -> int:
    """The smallest span worth one call: every thread busy, and EBP's lanes full where they apply."""
    threads = _batch.threads() if parallel else 1
    per_thread = _lanes.MAX_LANES if code == O.EBP and _lanes.lanes(P, _lanes.MAX_LANES) > 1 else 8
    return threads * per_thread


def run_trials(net: Network, X, D, algorithm: str = "lm", trials: int = 100, seed=0, *,
               w0=None, history: int = 1000, parallel: bool = True, progress: bool = True,
               label: str | None = None, **options) -> TrialSummary:
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
        running them one at a time (see :mod:`lmtrain.algorithms._lanes`).
    progress : bool
        Show ``label: done/total trials`` on stderr while running, only when
        stderr is a terminal and once the run has lasted a second. The trials
        then run in growing chunks; results are the same as in one call
        because trials are independent.
    label : str, optional
        Name for the progress line and ``TrialSummary.label`` (default: the algorithm).

    Returns
    -------
    TrialSummary
    """
    if not isinstance(net, Network):
        raise TypeError(f"net must be a lmtrain Network, got {type(net).__name__}")
    spec = get_algorithm(algorithm)
    o = resolve_options(spec.key, options)
    X = as_inputs(X, net.n_inputs)
    D = as_targets(D, X.shape[0], net.n_outputs)
    history = check_number(history, "history", low=0, integer=True)
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
    fopt, iopt = pack_options(o)
    XT = np.ascontiguousarray(X.T)
    DT = np.ascontiguousarray(D.T)
    L = min(history, o["max_iter"])
    status = np.empty(T, dtype=np.int64)
    iters = np.empty(T, dtype=np.int64)
    E = np.empty(T)
    E0 = np.empty(T)
    tt = np.empty(T)
    W = np.empty_like(W0)
    H = np.empty((T, L))
    runner = _batch.run_many_parallel if parallel else _batch.run_many_serial
    bar = _Progress(label, T, progress)
    wall = 0.0
    try:
        bar.update(0)
        for a, b in _chunks(T, bar.enabled, _first_chunk(spec.code, XT.shape[1], parallel)):
            # row slices of C arrays are C-contiguous: the same compiled signature
            t0 = time.perf_counter()
            runner(spec.code, W0[a:b], XT, DT, net.topology, fopt, iopt, initial_mu(spec, o), net.n_nodes,
                   net.n_outputs, status[a:b], iters[a:b], E[a:b], E0[a:b], tt[a:b], W[a:b], H[a:b])
            wall += time.perf_counter() - t0
            bar.update(b)
    finally:
        bar.close()
    return TrialSummary(spec.key, o, status, iters, E, E0, tt, W, W0, H, wall, label=label)


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
SUMMARY_COLUMNS = ["label", "algorithm", "options", "trials", "success_rate", "mean_iterations",
                   "mean_time_ms", "stops"]
SUMMARY_FORMATS = {"success_rate": ".0%", "mean_iterations": ".2f", "mean_time_ms": ".3f"}


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
        defaults); ``trials``; ``success_rate`` (fraction reaching the goal);
        ``mean_iterations`` (over the successful trials, NaN when none);
        ``mean_time_ms`` (over all trials, milliseconds); ``stops`` (stop
        reason counts, e.g. ``"GOAL 97, MAX_ITER 3"``).
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
            "success_rate": s.success_rate,
            "mean_iterations": s.mean_iterations,
            "mean_time_ms": 1e3 * s.mean_time,
            "stops": ", ".join(f"{k} {v}" for k, v in s.stop_counts.items()),
        })
    return rows
