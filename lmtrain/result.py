"""What a training run returns: :class:`TrainResult`, its :class:`History`, and
:class:`StopReason` — a status code with one message table for every algorithm.

Success. ``TrainResult.success`` means the run **converged**: it stopped
because a convergence criterion held — the error goal was met (``GOAL``), or
the gradient or the step vanished (``MIN_GRAD``, ``MIN_STEP``), as scipy's
``least_squares`` counts success. A run that stops for a limit (iterations,
time, μ), a numerical failure, the user or the validation data has not
converged. Without a goal, training stops at a perfect fit (see
:func:`lmtrain.train`'s ``goal``), so a perfect fit is never a failure.
Converging is not reaching the goal: the chapter's experiments count trials
that **reached the goal** (``reached_goal``, the criterion of Table 12.2).

The history has one layout everywhere: the compiled loops write it as rows of
one float array, in the order of :data:`HISTORY_FIELDS` (row numbers in
:data:`ROW`), and :class:`History` reads those rows.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import NamedTuple

import numpy as np

#: the per-iteration records, in the order of the rows of the history array
HISTORY_FIELDS = ("error", "mu", "gradient_norm", "rejected", "forced", "time", "validation_error")


class HistoryRows(NamedTuple):
    """Row of each field in the (7, iterations) history array the loops write."""

    error: int = 0
    mu: int = 1
    gradient_norm: int = 2
    rejected: int = 3  # a count, stored as a float (exact)
    forced: int = 4  # 1.0 or 0.0
    time: int = 5
    validation_error: int = 6


#: row numbers of the history array (a constant the compiled loops read by name)
ROW = HistoryRows()
assert HistoryRows._fields == HISTORY_FIELDS and tuple(ROW) == tuple(range(len(HISTORY_FIELDS)))


class StopReason(enum.IntEnum):
    """Why training stopped. ``GOAL``, ``MIN_GRAD`` and ``MIN_STEP`` are convergence."""

    MAX_ITER = 0
    GOAL = 1
    MIN_GRAD = 2
    MIN_STEP = 3
    MAX_TIME = 4
    MU_MAX = 5
    SINGULAR = 6
    NOT_POSITIVE_DEFINITE = 7
    DIVERGED = 8
    USER_STOP = 9
    VALIDATION = 10
    INTERRUPTED = 11

    def __str__(self) -> str:
        # print(r.stop_reason) shows the name, as repr does, not the bare code of an IntEnum
        return self.name

    @property
    def message(self) -> str:
        return MESSAGES[self]

    @property
    def converged(self) -> bool:
        """True for the stops that are convergence: the goal, a vanished gradient or step."""
        return self in _CONVERGED


_GOAL = StopReason.GOAL
_CONVERGED = frozenset((StopReason.GOAL, StopReason.MIN_GRAD, StopReason.MIN_STEP))

#: internal status of the compiled loop: no stop yet
CONTINUE = -1

MESSAGES = {
    StopReason.MAX_ITER: "maximum number of iterations reached",
    StopReason.GOAL: "error goal reached (E <= goal)",
    StopReason.MIN_GRAD: "gradient norm fell to min_grad or below",
    StopReason.MIN_STEP: "accepted step norm fell to min_step or below",
    StopReason.MAX_TIME: "time limit max_time reached",
    StopReason.MU_MAX: "mu exceeded mu_max: no step reduces the error",
    StopReason.SINGULAR: "the system to solve is singular to working precision (J^T J not invertible)",
    StopReason.NOT_POSITIVE_DEFINITE: "the Hessian is not positive definite: the Newton step would not descend",
    StopReason.DIVERGED: "the error or the step became non-finite: diverged (last finite weights returned)",
    StopReason.USER_STOP: "stopped by the callback",
    StopReason.VALIDATION: "validation error rose max_fail times in a row (best weights returned)",
    StopReason.INTERRUPTED: "interrupted (Ctrl-C): the weights so far are returned",
}


@dataclass
class History:
    """Per-iteration record; every array has one entry per iteration.

    Attributes
    ----------
    error : E = ½Σe² after the iteration (eq. 12.1).
    mu : μ of the step taken (LM; 0 for Gauss–Newton; NaN for EBP and Newton).
    gradient_norm : ‖g‖ at the start of the iteration.
    rejected : tries in the iteration that raised the error and were retracted.
    forced : True where chapter-mode LM took a step although it raised the error.
    time : seconds from the start of training to the end of the iteration.
    validation_error : E on the validation data after the iteration (NaN without it).
    """

    error: np.ndarray
    mu: np.ndarray
    gradient_norm: np.ndarray
    rejected: np.ndarray
    forced: np.ndarray
    time: np.ndarray
    # a factory, not a default: a default would be a class attribute, which a packed history's
    # first read of this field would find instead of unpacking (PackedHistory.__getattr__)
    validation_error: np.ndarray = field(default_factory=lambda: None)

    def __post_init__(self):
        if self.validation_error is None:
            self.validation_error = np.full(len(self.error), np.nan)

    def __len__(self):
        return len(self.error)

    @staticmethod
    def fields_of(H) -> dict:
        """The fields from a history array ``H`` (7, n) laid out as :data:`ROW` says (views where possible)."""
        return dict(error=H[ROW.error], mu=H[ROW.mu], gradient_norm=H[ROW.gradient_norm],
                    rejected=H[ROW.rejected].astype(np.int64), forced=H[ROW.forced] != 0.0,
                    time=H[ROW.time], validation_error=H[ROW.validation_error])

    @classmethod
    def from_rows(cls, H) -> "History":
        """A history that owns copies of the rows of ``H`` (7, n)."""
        f = cls.fields_of(np.array(H, dtype=float))
        return cls(**f)

    def to_dict(self) -> dict:
        return {k: getattr(self, k).tolist() for k in
                ("error", "mu", "gradient_norm", "rejected", "forced", "time", "validation_error")}

    @classmethod
    def from_dict(cls, d: dict) -> "History":
        return cls(
            error=np.asarray(d["error"], float), mu=np.asarray(d["mu"], float),
            gradient_norm=np.asarray(d["gradient_norm"], float), rejected=np.asarray(d["rejected"], np.int64),
            forced=np.asarray(d["forced"], bool), time=np.asarray(d["time"], float),
            validation_error=np.asarray(d.get("validation_error", [np.nan] * len(d["error"])), float),
        )


class PackedHistory(History):
    """A :class:`History` kept as the compiled loop returned it, fields made on first use.

    ``buf[start:]`` holds H (7, n) row by row: error, μ, gradient norm, time,
    validation error, rejected tries and forced (1.0/0.0). Making the seven
    field arrays (a reshape, row views, two conversions, a dataclass
    ``__init__``) is a measurable part of a small trial (docs/performance.md),
    so :func:`lmtrain.train` defers it: the first read of any field sets them
    all, after which this is a plain :class:`History`.
    """

    def __init__(self, buf, start=0):  # noqa: D107 (no dataclass __init__: nothing made yet)
        self._packed = (buf, start)

    def __getattr__(self, name):
        # only reached while a field is missing, i.e. before the first read
        d = self.__dict__
        packed = d.get("_packed")
        if packed is None or name not in HISTORY_FIELDS:
            raise AttributeError(f"{type(self).__name__!s} object has no attribute {name!r}")
        buf, start = packed
        d.update(History.fields_of(buf[start:].reshape(len(HISTORY_FIELDS), -1)))
        del d["_packed"]
        return d[name]

    def __repr__(self):
        return "History" + History.__repr__(self)[len(type(self).__qualname__):]


@dataclass
class TrainResult:
    """Outcome of :func:`lmtrain.train`.

    ``success`` is True when the run converged (the goal, or a vanished
    gradient or step: see the module text); ``reached_goal`` when it stopped
    at E ≤ goal, the criterion of Table 12.2. ``error`` is E = ½Σe² (eq. 12.1);
    ``sse`` and ``mse`` give the same error as Σe² and Σe²/(P·M).
    """

    weights: np.ndarray
    stop_reason: StopReason
    iterations: int
    error: float
    initial_error: float
    history: History
    algorithm: str
    elapsed: float
    options: dict = field(default_factory=dict)
    n_residuals: int = 0  #: P·M, the number of errors e_pm (0 when unknown)
    goal: float = 0.0  #: the goal on E in force (the perfect-fit goal when none was given)

    @classmethod
    def _packed(cls, buf, n_weights, outcome, algorithm, elapsed, options):
        """A result whose weights, history and options are made on first use.

        ``buf`` holds the final weights (``n_weights`` values), then the
        history as :class:`PackedHistory` reads it; ``options`` is copied when
        first read. :func:`lmtrain.train`'s one-call path returns these: the
        three fields are a measurable part of a small trial, often for a
        result whose weights nobody reads. The first read of any of
        them sets all three, after which this is an ordinary result.
        """
        self = object.__new__(cls)
        stop_reason, iterations, error, initial_error, n_residuals, goal = outcome
        self.__dict__ = {"stop_reason": stop_reason, "iterations": iterations, "error": error,
                         "initial_error": initial_error, "algorithm": algorithm, "elapsed": elapsed,
                         "n_residuals": n_residuals, "goal": goal, "_pending": (buf, n_weights, options)}
        return self

    def __getattr__(self, name):
        # only reached while a field is missing, i.e. for a _packed result before the first read
        d = self.__dict__
        pending = d.get("_pending")
        if pending is None or name not in ("weights", "history", "options"):
            raise AttributeError(f"{type(self).__name__!s} object has no attribute {name!r}")
        buf, N, options = pending
        d.update(weights=buf[:N], history=PackedHistory(buf, N), options=dict(options))
        del d["_pending"]
        return d[name]

    @property
    def success(self) -> bool:
        """The run converged: the goal was met, or the gradient or the step vanished."""
        return self.stop_reason in _CONVERGED

    @property
    def reached_goal(self) -> bool:
        """The run stopped at E ≤ goal: Table 12.2's success."""
        return self.stop_reason == _GOAL  # a module constant: StopReason.GOAL is a slow class-attribute read

    @property
    def sse(self) -> float:
        """Σe² = 2E."""
        return 2.0 * self.error

    @property
    def mse(self) -> float:
        """Σe²/(P·M): the mean of the squared errors (NaN when P·M is unknown)."""
        return 2.0 * self.error / self.n_residuals if self.n_residuals else float("nan")

    @property
    def status(self) -> int:
        return int(self.stop_reason)

    @property
    def message(self) -> str:
        return MESSAGES[self.stop_reason]

    def __repr__(self):
        return (
            f"TrainResult(algorithm={self.algorithm!r}, success={self.success}, "
            f"stop_reason={self.stop_reason.name}, iterations={self.iterations}, "
            f"error={self.error:.6g}, mse={self.mse:.6g}, elapsed={self.elapsed * 1e3:.3f} ms)"
        )


class TrainingInterrupted(KeyboardInterrupt):
    """Ctrl-C during training, with what had been done.

    A :class:`KeyboardInterrupt`, so that a script stops as it would anywhere
    else, carrying ``result``: a :class:`TrainResult` with stop reason
    ``INTERRUPTED`` and the weights reached so far (from :func:`lmtrain.train`),
    or the summary of the trials that had finished (from
    :func:`lmtrain.experiments.run_trials`). Compiled training stops at its next
    iteration, at most a fraction of a second after the key press.
    """

    def __init__(self, result):
        super().__init__("training interrupted")
        self.result = result
