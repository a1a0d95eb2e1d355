"""Seeded multi-trial experiments (§12.4): success rate, iterations, time.

Trial i starts from ``net.init_weights(SeedSequence(seed).spawn(trials)[i])``,
so any trial can be replayed alone with :func:`trial_weights` and
:func:`lmtrain.train`.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

import numpy as np

from ._validation import as_inputs, as_targets, check_number
from .algorithms import _batch, get_algorithm, initial_mu, pack_options, resolve_options
from .network import Network
from .result import StopReason


def trial_weights(net: Network, trials: int, seed=0) -> np.ndarray:
    """Initial weights of every trial, shape (trials, n_weights), uniform in [−1, 1].

    Row i is ``net.init_weights(numpy.random.SeedSequence(seed).spawn(trials)[i])``.
    """
    trials = check_number(trials, "trials", low=1, integer=True)
    children = np.random.SeedSequence(seed).spawn(trials)
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
    time: np.ndarray  # seconds per trial
    weights: np.ndarray  # (trials, N) final weights
    initial_weights: np.ndarray
    error_history: np.ndarray  # (trials, L), NaN after a trial ended
    wall_time: float = 0.0
    extra: dict = field(default_factory=dict)

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


def run_trials(net: Network, X, D, algorithm: str = "lm", trials: int = 100, seed=0, *,
               w0=None, history: int = 1000, parallel: bool = True, **options) -> TrialSummary:
    """Run ``trials`` seeded trials of one algorithm inside one compiled call.

    Parameters
    ----------
    net, X, D, algorithm, **options
        As for :func:`lmtrain.train`.
    trials : int
        Number of trials (default 100, as in §12.4).
    seed : int or SeedSequence
        Trial i starts from weights drawn with ``SeedSequence(seed).spawn(trials)[i]``.
    w0 : array_like, optional
        Explicit initial weights, shape (trials, n_weights); overrides ``seed``.
    history : int
        Iterations of error history kept per trial (0 for none).
    parallel : bool
        Spread trials over the cores (results identical to ``parallel=False``).
    """
    import time

    if not isinstance(net, Network):
        raise TypeError(f"net must be a lmtrain Network, got {type(net).__name__}")
    spec = get_algorithm(algorithm)
    o = resolve_options(spec.key, options)
    X = as_inputs(X, net.n_inputs)
    D = as_targets(D, X.shape[0], net.n_outputs)
    history = check_number(history, "history", low=0, integer=True)
    if w0 is None:
        W0 = trial_weights(net, trials, seed)
    else:
        W0 = np.ascontiguousarray(np.asarray(w0, dtype=np.float64))
        if W0.ndim != 2 or W0.shape[1] != net.n_weights or not np.all(np.isfinite(W0)):
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
    t0 = time.perf_counter()
    runner(spec.code, W0, XT, DT, net.topology, fopt, iopt, initial_mu(spec, o), net.n_nodes, net.n_outputs,
           status, iters, E, E0, tt, W, H)
    wall = time.perf_counter() - t0
    return TrialSummary(spec.key, o, status, iters, E, E0, tt, W, W0, H, wall)
