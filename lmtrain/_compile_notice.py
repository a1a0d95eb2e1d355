"""One line on a terminal when the first use compiles the Numba kernels.

In a fresh environment the first training compiles lmtrain's kernels before
anything runs, which takes tens of seconds; later runs load them from Numba's
on-disk cache in about a second. Without a word the first run looks hung.

Numba announces every real compilation (never a load from the cache) as a
``"numba:compile"`` event. :class:`CompileNotice` listens to those of
lmtrain's own functions and, once they have taken :data:`DELAY` seconds in
all, writes :data:`MESSAGE` once to stderr — only when stderr is a terminal,
so pipes, logs and tests stay silent, and never when the cache is warm (no
compilation, no event). The listener runs only while Numba compiles: a call
that finds its code compiled pays nothing for it.
"""

from __future__ import annotations

import sys
import threading
import time

try:
    from numba.core import event as _event
except ImportError:  # pragma: no cover - Numba before 0.53 has no event API: no notice
    _event = None

#: seconds of compiling before the notice is written
DELAY = 2.0
MESSAGE = ("lmtrain: compiling the Numba kernels for first use; this takes tens of seconds once, "
           "later runs load them from the cache")


def _is_terminal(stream) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError, OSError):
        return False


class CompileNotice(_event.Listener if _event is not None else object):
    """Listener for Numba's ``"numba:compile"`` events (see the module docstring).

    Parameters
    ----------
    prefix : str
        Module name whose functions count (``"lmtrain"``: the package and its
        submodules).
    delay : float
        Seconds of compiling, summed over compilations, before the notice.
    stream : file-like, optional
        Where to write (default: ``sys.stderr`` at the time of writing).
    """

    def __init__(self, prefix: str = "lmtrain", delay: float = DELAY, stream=None):
        self.prefix = prefix
        self.delay = float(delay)
        self.stream = stream
        self.shown = False
        self._depth = 0  # compilations in progress (callees compile inside their caller)
        self._since = 0.0  # when the current outermost compilation began
        self._total = 0.0  # seconds of finished outermost compilations
        self._timer = None
        self._lock = threading.Lock()

    def _ours(self, event) -> bool:
        data = event.data if isinstance(event.data, dict) else {}
        func = getattr(data.get("dispatcher"), "py_func", None)
        module = getattr(func, "__module__", None) or ""
        return module == self.prefix or module.startswith(self.prefix + ".")

    def on_start(self, event) -> None:
        if (self.shown and self._depth == 0) or not self._ours(event):
            return
        with self._lock:
            if self._depth == 0:
                self._since = time.perf_counter()
            self._depth += 1
            if not self.shown and self._timer is None:
                self._arm(self.delay - self._total)

    def on_end(self, event) -> None:
        if not self._ours(event):
            return
        with self._lock:
            self._depth = max(0, self._depth - 1)
            if self._depth == 0:
                self._total += time.perf_counter() - self._since

    def _arm(self, seconds: float) -> None:
        # a thread, because one compilation (the last LLVM pass over a large
        # kernel) can run for seconds without an event to check the time at
        self._timer = threading.Timer(max(0.0, seconds), self._due)
        self._timer.daemon = True
        self._timer.start()

    def _due(self) -> None:
        with self._lock:
            self._timer = None
            if self.shown:
                return
            spent = self._total + (time.perf_counter() - self._since if self._depth else 0.0)
            if spent < self.delay:
                if self._depth:
                    self._arm(self.delay - spent)
                return  # not compiling now: the next compilation arms the timer again
            self.shown = True
        stream = sys.stderr if self.stream is None else self.stream
        if stream is not None and _is_terminal(stream):
            try:
                stream.write(MESSAGE + "\n")
                stream.flush()
            except (OSError, ValueError):  # a closed or broken stream: the notice is not worth an error
                pass


NOTICE = CompileNotice()


def install() -> None:
    """Register :data:`NOTICE` with Numba (once; nothing if Numba has no event API)."""
    global _installed
    if _event is None or _installed:
        return
    try:
        _event.register("numba:compile", NOTICE)
    except (AttributeError, TypeError, ValueError, AssertionError):  # pragma: no cover - a changed API: silent
        return
    _installed = True


_installed = False
