"""Watching a training run: a progress line while it runs, a figure after it.

* :class:`ProgressLine` writes ``iteration, E, μ, ‖g‖`` (and the validation
  error when there is one) to a stream, rewritten in place with ``\\r`` on a
  terminal, at most a few times per second. :func:`lmtrain.train` makes one
  from its ``progress`` argument: ``None`` (default) shows the line only when
  stderr is a terminal and the run has lasted more than a second, ``True``
  always, ``False`` never.
* :func:`plot_training` draws a :class:`~lmtrain.result.History` as MATLAB's
  training record does: stacked panels of E (with the validation error), μ,
  ‖g‖ and the rejected tries of every iteration, sharing the iteration axis.
* :class:`LivePlot` is a training callback that redraws that figure while
  training runs (``lm.train(..., callback=LivePlot())``).

Nothing here calls ``plt.show``; matplotlib is imported only when a figure is
asked for, so training never pays for it.
"""

from __future__ import annotations

import math
import sys
import time

import numpy as np

#: seconds between two updates of the progress line
PROGRESS_INTERVAL = 0.25
#: in automatic mode the line appears only once a run has lasted this long (s)
PROGRESS_DELAY = 1.0


_TTY_CACHE = (None, False)  # (stream, stream.isatty()) of the last automatic check


def _is_terminal(stream) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError, OSError):  # closed or detached streams
        return False


class ProgressLine:
    """One status line of a running training, throttled in time.

    Parameters
    ----------
    stream : file-like, optional
        Where to write (default ``sys.stderr`` at construction time). On a
        terminal (``stream.isatty()``) the line is rewritten in place with a
        carriage return; elsewhere every update is a new line.
    interval : float
        Minimum seconds between two updates (default 0.25).
    delay : float
        No update is written before the run has lasted this long (default 0).
    always_close : bool
        Write the final line in :meth:`close` even if no update was shown
        (forced progress); otherwise a run that never showed a line stays
        silent.
    """

    def __init__(self, stream=None, interval: float = PROGRESS_INTERVAL, delay: float = 0.0,
                 always_close: bool = True):
        self.stream = sys.stderr if stream is None else stream
        if not hasattr(self.stream, "write"):
            raise TypeError(f"stream must have a write() method, got {type(self.stream).__name__}")
        self.interval = float(interval)
        self.delay = float(delay)
        self.always_close = bool(always_close)
        self.in_place = _is_terminal(self.stream)
        self.start = time.perf_counter()
        self.next_time = self.start + max(self.delay, 0.0)
        self.shown = 0
        self._width = 0
        self._last = None

    @staticmethod
    def automatic_wanted() -> bool:
        """True when ``progress=None`` asks for a line: ``sys.stderr`` is a terminal (cached per stream)."""
        global _TTY_CACHE
        stream = sys.stderr
        if stream is None:
            return False
        # isatty() is a system call; train() asks on every call, stderr rarely changes
        if _TTY_CACHE[0] is not stream:
            _TTY_CACHE = (stream, _is_terminal(stream))
        return _TTY_CACHE[1]

    @classmethod
    def automatic(cls, start: float | None = None) -> "ProgressLine":
        """The line of ``progress=None`` on ``sys.stderr``: silent until the run has lasted
        :data:`PROGRESS_DELAY` seconds from ``start`` (a ``time.perf_counter()`` value; default now)."""
        line = cls(sys.stderr, delay=PROGRESS_DELAY, always_close=False)
        if start is not None:
            line.start = start
            line.next_time = start + PROGRESS_DELAY
        return line

    @classmethod
    def from_option(cls, progress, start: float | None = None) -> "ProgressLine | None":
        """The line asked for by :func:`lmtrain.train`'s ``progress`` argument.

        ``None``: automatic — a line on ``sys.stderr`` only when it is a
        terminal, and only once the run has lasted :data:`PROGRESS_DELAY`
        seconds from ``start`` (a ``time.perf_counter()`` value; default now).
        ``True``: on ``sys.stderr`` from the start. ``False``: none.
        A file-like object: forced on, written to that stream. A
        :class:`ProgressLine`: used as it is (own stream, interval, delay).
        """
        if isinstance(progress, ProgressLine):
            return progress
        if progress is None:
            return cls.automatic(start) if cls.automatic_wanted() else None
        if progress is True or progress is False or isinstance(progress, (bool, np.bool_)):
            return cls(sys.stderr) if progress else None
        if hasattr(progress, "write"):
            return cls(progress)
        raise TypeError(f"progress must be True, False, None or a writable stream, got {progress!r}")

    def seconds_until_due(self) -> float:
        """Seconds until the next update may be written (≤ 0: now)."""
        return self.next_time - time.perf_counter()

    @staticmethod
    def format(iteration, error, mu=math.nan, gradient_norm=math.nan, validation_error=math.nan,
               elapsed=math.nan) -> str:
        """The text of one line, e.g. ``iter 12  E 3.1e-03  mu 1.0e-05  |g| 2.2e-04``."""
        parts = [f"iter {int(iteration):>6d}", f"E {error:.4e}"]
        if not math.isnan(mu):
            parts.append(f"mu {mu:.1e}")
        if not math.isnan(gradient_norm):
            parts.append(f"|g| {gradient_norm:.2e}")
        if not math.isnan(validation_error):
            parts.append(f"val {validation_error:.4e}")
        if not math.isnan(elapsed):
            parts.append(f"{elapsed:.1f} s")
        return "  ".join(parts)

    def _write(self, text: str, final: bool = False) -> None:
        if self.in_place:
            pad = max(0, self._width - len(text))
            self.stream.write("\r" + text + " " * pad + ("\n" if final else ""))
            self._width = len(text)
        else:
            self.stream.write(text + "\n")
        try:
            self.stream.flush()
        except (AttributeError, ValueError, OSError):
            pass

    def update(self, iteration, error, mu=math.nan, gradient_norm=math.nan, validation_error=math.nan,
               force: bool = False) -> bool:
        """Record the latest state; write it if an update is due. Returns True if written."""
        now = time.perf_counter()
        self._last = (iteration, error, mu, gradient_norm, validation_error)
        if not force and now < self.next_time:
            return False
        self._write(self.format(iteration, error, mu, gradient_norm, validation_error, now - self.start))
        self.shown += 1
        self.next_time = now + self.interval
        return True

    def record(self, iteration, error, mu=math.nan, gradient_norm=math.nan, validation_error=math.nan) -> None:
        """Remember the latest state without writing (:meth:`close` writes it)."""
        self._last = (iteration, error, mu, gradient_norm, validation_error)

    def close(self, message: str | None = None) -> None:
        """Write the final state (and ``message``) and end the line."""
        if self._last is None or (self.shown == 0 and not self.always_close):
            if self.shown and self.in_place:
                self.stream.write("\n")
            return
        text = self.format(*self._last, elapsed=time.perf_counter() - self.start)
        if message:
            text += "  " + message
        self._write(text, final=True)
        self.shown += 1


# --------------------------------------------------------------------- figures

#: above this many iterations the rejected-tries panel is a step line, not bars
_MAX_BARS = 2000


def _record_of(result):
    """(history, initial_error, title, goal) from a TrainResult, CurveFitResult or History."""
    from .result import History, TrainResult

    if hasattr(result, "result") and isinstance(getattr(result, "result"), TrainResult):
        result = result.result  # a curve fit
    if isinstance(result, TrainResult):
        title = (f"{result.algorithm}: {result.stop_reason.name.lower()} after {result.iterations} "
                 f"iteration{'s' if result.iterations != 1 else ''}, E = {result.error:.3g}")
        given = result.options.get("goal") is not None if result.options else False
        goal = float(result.goal) if given else 0.0
        return result.history, float(result.initial_error), title, goal
    if isinstance(result, History):
        return result, math.nan, None, 0.0
    raise TypeError(f"result must be a TrainResult, a CurveFitResult or a History, got {type(result).__name__}")


def _panels(fig, names):
    """Stacked axes sharing the iteration axis, top to bottom in ``names`` order."""
    from matplotlib.ticker import MaxNLocator

    heights = [2.0 if n == "error" else 1.0 for n in names]
    axes = fig.subplots(len(names), 1, sharex=True, squeeze=False,
                        gridspec_kw={"height_ratios": heights, "hspace": 0.12})[:, 0]
    labels = {"error": "E = ½Σe²", "mu": "μ", "gradient": "‖g‖", "rejected": "rejected\ntries"}
    for ax, name in zip(axes, names):
        ax.set_ylabel(labels[name])
        ax.grid(True, which="major", alpha=0.3)
        if name != "rejected":
            ax.set_yscale("log")
        else:
            ax.yaxis.set_major_locator(MaxNLocator(integer=True, nbins=4))
    axes[-1].set_xlabel("iteration")
    return dict(zip(names, axes))


def _positive(a):
    a = np.asarray(a, float)
    return np.where(a > 0, a, np.nan)


def plot_training(result, fig=None):
    """Draw a training record as stacked panels sharing the iteration axis.

    Panels, top to bottom: E = ½Σe² (log; iteration 0 is the initial error),
    with the validation error and its best iteration when the history has
    them, and the goal when one was set; μ of each step (log; left out when
    the algorithm has no μ); the gradient norm ‖g‖ at the start of each
    iteration (log); the rejected tries of each iteration (bars; forced steps
    of chapter-mode LM in red).

    Parameters
    ----------
    result : TrainResult, CurveFitResult or History
    fig : matplotlib Figure, optional
        Drawn into after clearing it; default a new ``pyplot`` figure.

    Returns
    -------
    matplotlib.figure.Figure
        Never shown: call ``plt.show()`` or ``fig.savefig`` yourself.
    """
    h, E0, title, goal = _record_of(result)
    if fig is None:
        import matplotlib.pyplot as plt

        fig = plt.figure(figsize=(7.0, 7.0), layout="constrained")
    else:
        fig.clear()
    k = len(h)
    it = np.arange(1, k + 1)
    mu = np.asarray(h.mu, float)
    has_mu = k > 0 and np.any(np.isfinite(mu) & (mu > 0))
    names = ["error"] + (["mu"] if has_mu else []) + ["gradient", "rejected"]
    ax = _panels(fig, names)

    a = ax["error"]
    if math.isfinite(E0):
        a.plot(np.arange(0, k + 1), _positive(np.r_[E0, h.error]), "-", color="C0", lw=1.5, label="training")
    else:
        a.plot(it, _positive(h.error), "-", color="C0", lw=1.5, label="training")
    if k <= 60:
        a.plot(it, _positive(h.error), "o", color="C0", ms=3)
    v = np.asarray(h.validation_error, float)
    if k > 0 and np.any(np.isfinite(v)):
        a.plot(it, _positive(v), "-", color="C1", lw=1.5, label="validation")
        best = int(np.nanargmin(v)) + 1
        a.plot([best], [v[best - 1]], "o", mfc="none", mec="C1", ms=8, label=f"best validation (iteration {best})")
    if goal > 0:
        a.axhline(goal, color="0.4", ls="--", lw=1, label=f"goal {goal:g}")
    a.legend(loc="upper right", fontsize="small")

    if has_mu:
        ax["mu"].plot(it, _positive(mu), "-", color="C2", lw=1.2, drawstyle="steps-mid")
    ax["gradient"].plot(it, _positive(h.gradient_norm), "-", color="C3", lw=1.2)

    a = ax["rejected"]
    rej = np.asarray(h.rejected, float)
    forced = np.asarray(h.forced, bool)
    if k <= _MAX_BARS:
        a.bar(it, rej, width=0.8, color="C4", label="rejected")
        if forced.any():
            a.bar(it[forced], rej[forced], width=0.8, color="C3", label="forced step")
            a.legend(loc="upper right", fontsize="small")
    else:
        a.fill_between(it, rej, step="mid", color="C4", lw=0)
    a.set_ylim(0, max(1.0, float(rej.max()) if k else 1.0) * 1.15)
    if k > 0:
        a.set_xlim(0 if math.isfinite(E0) else 0.5, k + 0.5)
    if title:
        fig.suptitle(title, fontsize="medium")
    return fig


class LivePlot:
    """A training callback that redraws the training record while it runs.

    Use as ``lm.train(net, X, D, callback=LivePlot())`` (or with
    :func:`lmtrain.curve_fit`). Every iteration's record is kept; the figure
    is redrawn at most every ``interval`` seconds and once more when training
    ends (``train`` calls :meth:`on_train_end`). With an interactive backend
    the window updates; with Agg the figure is simply kept current, e.g. for
    saving afterwards. Call :func:`plot_training` on the result for the full
    static figure (bars, goal, best validation point).

    Parameters
    ----------
    fig : matplotlib Figure, optional
        Default a new ``pyplot`` figure.
    interval : float
        Minimum seconds between redraws (default 0.2).
    stop : callable, optional
        ``stop(record) -> bool``: a user stop rule; its answer is returned to
        the trainer (True stops training).
    """

    def __init__(self, fig=None, interval: float = 0.2, stop=None):
        if stop is not None and not callable(stop):
            raise TypeError("stop must be callable or None")
        if fig is None:
            import matplotlib.pyplot as plt

            fig = plt.figure(figsize=(7.0, 7.0), layout="constrained")
        self.fig = fig
        self.interval = float(interval)
        self.stop = stop
        self._data = {n: [] for n in ("iteration", "error", "mu", "gradient_norm", "rejected", "validation")}
        self._next = 0.0
        self.redraws = 0
        fig.clear()
        ax = _panels(fig, ["error", "mu", "gradient", "rejected"])
        self.axes = ax
        self.lines = {
            "error": ax["error"].plot([], [], "-", color="C0", lw=1.5, label="training")[0],
            "validation": ax["error"].plot([], [], "-", color="C1", lw=1.5, label="validation")[0],
            "mu": ax["mu"].plot([], [], "-", color="C2", lw=1.2, drawstyle="steps-mid")[0],
            "gradient_norm": ax["gradient"].plot([], [], "-", color="C3", lw=1.2)[0],
            "rejected": ax["rejected"].plot([], [], "-", color="C4", lw=1.2, drawstyle="steps-mid")[0],
        }
        ax["error"].legend(loc="upper right", fontsize="small")

    def __call__(self, record) -> bool:
        d = self._data
        d["iteration"].append(record.iteration)
        d["error"].append(record.error)
        d["mu"].append(record.mu)
        d["gradient_norm"].append(record.gradient_norm)
        d["rejected"].append(record.rejected)
        d["validation"].append(getattr(record, "validation_error", math.nan))
        now = time.perf_counter()
        if now >= self._next:
            self.redraw()
            self._next = time.perf_counter() + self.interval
        return bool(self.stop(record)) if self.stop is not None else False

    def on_train_end(self, stop_reason=None) -> None:
        """Final redraw with every iteration (called by the trainer)."""
        self.redraw()
        if stop_reason is not None:
            n = len(self._data["iteration"])
            self.fig.suptitle(f"{_stop_name(stop_reason)} after {n} iteration{'s' if n != 1 else ''}",
                              fontsize="medium")

    def redraw(self) -> None:
        """Put all recorded iterations into the lines and redraw the canvas."""
        d = self._data
        it = np.asarray(d["iteration"], float)
        for name in ("error", "validation", "mu", "gradient_norm"):
            self.lines[name].set_data(it, _positive(d[name]))
        self.lines["rejected"].set_data(it, np.asarray(d["rejected"], float))
        for a in self.axes.values():
            a.relim()
            a.autoscale_view()
        if len(it):
            self.axes["rejected"].set_xlim(0.5, it[-1] + 0.5)
            self.axes["rejected"].set_ylim(0, max(1.0, max(d["rejected"])) * 1.15)
        canvas = self.fig.canvas
        canvas.draw_idle()
        try:
            canvas.flush_events()  # lets an interactive window repaint
        except NotImplementedError:
            pass
        self.redraws += 1


def _stop_name(stop_reason) -> str:
    from .result import StopReason

    try:
        return StopReason(int(stop_reason)).name.lower()
    except (ValueError, TypeError):
        return str(stop_reason)


class CountLine:
    """``label: done/total unit (what), 12.3 s`` on a terminal, rewritten in place with ``\r``.

    The progress of work counted in pieces (trials, runs of a study). Like
    :func:`lmtrain.train`'s automatic line it is written only when ``stream``
    (default ``sys.stderr``) is a terminal, and only once the work has lasted
    :data:`PROGRESS_DELAY` seconds, so pipes, logs and short runs see nothing.
    """

    def __init__(self, label: str, total: int, unit: str = "trials", enabled: bool = True, stream=None):
        self.stream = sys.stderr if stream is None else stream
        self.enabled = bool(enabled) and _is_terminal(self.stream)
        self.label, self.total, self.unit = label, total, unit
        self.t0, self.width = time.perf_counter(), 0

    def update(self, done: int, what: str | None = None) -> None:
        """``done`` pieces are finished (or under way); ``what`` names the current one."""
        if not self.enabled:
            return
        elapsed = time.perf_counter() - self.t0
        if self.width == 0 and elapsed < PROGRESS_DELAY:
            return
        detail = f" ({what})" if what else ""
        line = f"{self.label}: {done}/{self.total} {self.unit}{detail}, {elapsed:.1f} s"
        self.width = max(self.width, len(line))
        self.stream.write("\r" + line.ljust(self.width))
        self.stream.flush()

    def close(self) -> None:
        if self.enabled and self.width:
            self.stream.write("\r" + " " * self.width + "\r")  # leave the terminal line clean
            self.stream.flush()
