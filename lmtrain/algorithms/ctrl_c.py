"""Ctrl-C for a compiled call that runs on the main thread.

Python runs its SIGINT handler between bytecodes, so while the main thread is
inside one long compiled call, Ctrl-C waits for the call to end. The compiled
loops read a flag at every iteration (``flags[0]``), and someone has to set it.
Multi-trial runs used to run their one compiled call on a worker thread while
the main thread waited where Python sees Ctrl-C; handing the call to another
thread and back costs a large share of a run of small trials (see
``docs/performance.md``).

Instead, the main thread makes the call itself, and Python's C-level signal
handler, which runs at once whatever the thread is doing, tells a watcher
thread: it writes the signal's number to the file descriptor given to
:func:`signal.set_wakeup_fd`, and the watcher, waiting on the other end, sets
the flag. The loops stop at their next iteration, the call returns, and Python
raises ``KeyboardInterrupt`` as usual.

:func:`watched` arranges this only where it can: on the main thread, with
Python's own SIGINT handler, and when no one else (an event loop) holds the
wakeup descriptor. Elsewhere it says so and the caller keeps the worker thread.
"""

from __future__ import annotations

import atexit
import signal
import socket
import threading
from contextlib import contextmanager

_LOCK = threading.Lock()
_WATCHED = None  # the flags of the call under way (one at most: the main thread is in it)
_WRITER: socket.socket | None = None  # the end the signal handler writes to


def _watch(reader: socket.socket) -> None:
    """The watcher thread: on every SIGINT, ask the call under way to stop."""
    while True:
        try:
            data = reader.recv(64)
        except OSError:  # pragma: no cover - the socket closed at interpreter exit
            return
        if not data:  # pragma: no cover
            return
        flags = _WATCHED
        if signal.SIGINT in data and flags is not None:
            flags[0] = 1


def _writer() -> socket.socket:
    global _WRITER
    with _LOCK:
        if _WRITER is None:
            reader, writer = socket.socketpair()
            writer.setblocking(False)  # set_wakeup_fd asks for it: a signal handler must never block
            threading.Thread(target=_watch, args=(reader,), name="lmtrain-ctrl-c", daemon=True).start()
            atexit.register(_close, reader, writer)
            _WRITER = writer
        return _WRITER


def _close(reader: socket.socket, writer: socket.socket) -> None:
    """At exit: the watcher's end of the pair ends its wait, and both ends are closed."""
    writer.close()
    reader.close()


@contextmanager
def watched(flags):
    """Within the block a Ctrl-C sets ``flags[0] = 1``; yields whether the caller may run on this thread.

    Yields True on the main thread (the watcher is armed) and on any other
    thread (Python delivers Ctrl-C only to the main thread, so there is
    nothing to watch); False on the main thread when SIGINT has a handler of
    someone else's or the wakeup descriptor is taken: then the caller runs
    the call on a worker thread and waits where Python sees Ctrl-C.

    On the main thread, Python's handler is swapped for one that only takes
    note until the block ends, and ``KeyboardInterrupt`` is raised then:
    compiled code runs a little Python while it returns its results (Numba's
    boxing), and a ``KeyboardInterrupt`` raised in there would be lost in a
    ``SystemError``.
    """
    global _WATCHED
    if threading.current_thread() is not threading.main_thread():
        yield True
        return
    if signal.getsignal(signal.SIGINT) is not signal.default_int_handler:
        yield False
        return
    writer = _writer()
    previous = signal.set_wakeup_fd(writer.fileno(), warn_on_full_buffer=False)
    if previous != -1:  # an event loop's: give it back untouched
        signal.set_wakeup_fd(previous)
        yield False
        return
    caught = []

    def take_note(signum, frame):
        flags[0] = 1
        caught.append(signum)

    signal.signal(signal.SIGINT, take_note)
    _WATCHED = flags
    try:
        yield True
    finally:
        signal.signal(signal.SIGINT, signal.default_int_handler)
        signal.set_wakeup_fd(-1)
        _WATCHED = None
    if caught:
        raise KeyboardInterrupt
