"""Ctrl-C, sent for real: a SIGINT to a subprocess that is deep in compiled training.

A compiled loop cannot see Python's signal handler, so lmtrain runs long
training in short compiled slices, and trial batches poll a flag that a
watcher thread sets (one chunk on the main thread, ``lmtrain.algorithms.ctrl_c``)
or the main thread sets while worker threads run the chunks; these tests check
the outcome a user sees:

* ``lm.train`` raises :class:`lmtrain.TrainingInterrupted` (a
  ``KeyboardInterrupt``) whose ``result`` holds the weights reached, stop
  reason ``INTERRUPTED``;
* ``run_trials`` raises it with the summary of the trials that had finished,
  and the process exits (no queued work keeps it alive);
* the command line prints one line saying "interrupted" and exits 130;

each within 2 s of the signal (the budget is the issue's: a loop that ignores
the signal runs for minutes here, so the margin is wide).
"""

from __future__ import annotations

import os
import select
import signal
import subprocess
import sys
import textwrap
import time

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ENV = dict(os.environ, PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""))
#: seconds allowed from the signal to the end of the process
PROMPT = 2.0

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="SIGINT to a child process is POSIX")


def _wait_for_line(proc, text: str, timeout: float = 600.0) -> None:
    """Read the child's stdout until a line equal to ``text`` (the child compiles first: allow minutes)."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        ready, _, _ = select.select([proc.stdout], [], [], 1.0)
        if ready:
            line = proc.stdout.readline()
            if line == "":
                raise AssertionError(f"the child ended before {text!r}: {proc.stderr.read()}")
            if line.strip() == text:
                return
    proc.kill()
    raise AssertionError(f"no {text!r} from the child within {timeout} s")


def _interrupt(proc, after: float = 0.7):
    """Send SIGINT ``after`` seconds from now; ``(returncode, stdout, stderr, seconds to exit)``."""
    time.sleep(after)
    assert proc.poll() is None, "the child finished before it could be interrupted"
    t = time.monotonic()
    proc.send_signal(signal.SIGINT)
    try:
        out, err = proc.communicate(timeout=60)
    except subprocess.TimeoutExpired:
        proc.kill()
        raise AssertionError("the child did not exit within 60 s of SIGINT") from None
    return proc.returncode, out, err, time.monotonic() - t


def _default_sigint():
    """In the child before it starts: Ctrl-C as a terminal gives it, even when this suite runs in the
    background (a shell starts background jobs with SIGINT ignored, and a child inherits that)."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def _python(code: str):
    return subprocess.Popen([sys.executable, "-c", textwrap.dedent(code)], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=ENV, preexec_fn=_default_sigint)


@pytest.fixture(scope="module", autouse=True)
def compiled_paths():
    """Compile, once, every path the long runs below take after their warm-up, into Numba's disk cache.

    A long run goes on, after its first slice, in the loop compiled for
    watched runs (``RUN_COMPILED``), and many EBP trials run in lanes: on a
    fresh clone these would compile after the child says READY, and a SIGINT
    would land in the compiler instead of in training.
    """
    proc = _python("""
        import lmtrain as lm
        from lmtrain.algorithms.watch import SLICE
        X, D = lm.datasets.parity(3)
        net = lm.mlp([3, 3, 1])
        for algorithm, options in (("lm", {"mu_max": 1e300}), ("ebp", {"alpha": 1e-6})):
            # runs that outlast their first slice, as the long runs below do
            lm.train(net, X, D, algorithm, max_iter=10**9, min_grad=0, max_time=2.5 * SLICE, **options)
        lm.experiments.run_trials(net, X, D, "ebp", trials=64, max_iter=3, progress=False)
    """)
    out, err = proc.communicate(timeout=900)
    assert proc.returncode == 0, err


def test_ctrl_c_stops_compiled_training_and_keeps_the_weights():
    """The issue's reproduction: a 10⁶-iteration LM run, stderr not a terminal, SIGINT after the start."""
    proc = _python("""
        import numpy as np, lmtrain as lm
        rng = np.random.default_rng(0)
        X = rng.uniform(-1, 1, (100, 2)); D = np.sin(3 * X[:, :1]) * X[:, 1:]
        net = lm.mlp([2, 15, 1], output_activation="linear")
        lm.train(net, X, D, max_iter=3)  # compile before the clock starts
        print("READY", flush=True)
        try:
            lm.train(net, X, D, max_iter=10**6, min_grad=0, mu_max=1e300)
            print("FINISHED")
        except lm.TrainingInterrupted as exc:
            r = exc.result
            assert isinstance(exc, KeyboardInterrupt)
            print("STOP", r.stop_reason.name, r.iterations, bool(np.isfinite(r.weights).all()),
                  r.error <= r.initial_error, len(r.history.error) == r.iterations)
    """)
    _wait_for_line(proc, "READY")
    code, out, err, seconds = _interrupt(proc)
    assert code == 0, err
    assert "FINISHED" not in out
    stop = out.split()
    assert stop[0] == "STOP" and stop[1] == "INTERRUPTED", out
    assert int(stop[2]) > 0 and stop[3:] == ["True", "True", "True"], out
    assert "iter " not in err, "a progress line on a stderr that is not a terminal"
    assert seconds < PROMPT, f"exited {seconds:.2f} s after SIGINT"


def test_ctrl_c_uncaught_ends_the_process_like_any_keyboard_interrupt():
    """Not caught: Python's own ending for Ctrl-C (killed by SIGINT), not a SystemError or a hang."""
    proc = _python("""
        import numpy as np, lmtrain as lm
        X, D = lm.datasets.parity(3)
        net = lm.mlp([3, 3, 1])
        lm.train(net, X, D, "ebp", max_iter=3)
        print("READY", flush=True)
        lm.train(net, X, D, "ebp", alpha=1e-6, max_iter=10**12, min_grad=0)
    """)
    _wait_for_line(proc, "READY")
    code, out, err, seconds = _interrupt(proc)
    assert code in (-signal.SIGINT, 130, 1), (code, err)
    assert "TrainingInterrupted" in err and "SystemError" not in err
    assert seconds < PROMPT, f"exited {seconds:.2f} s after SIGINT"


@pytest.mark.parametrize("algorithm, parallel", [("ebp", True), ("ebp", False), ("lm", False), ("lm", True)])
def test_ctrl_c_stops_run_trials_and_returns_the_finished_ones(algorithm, parallel):
    """Trials that would never end, more of them than threads: the process exits, queued work dropped.

    With ``parallel=False`` the one compiled call runs on the main thread, where
    Ctrl-C reaches it through the watcher of :mod:`lmtrain.algorithms.ctrl_c`;
    Python's handler and the wakeup descriptor are as they were afterwards.
    """
    options = {"alpha": 1e-6} if algorithm == "ebp" else {"mu_max": 1e300}
    proc = _python(f"""
        import signal
        import numpy as np, lmtrain as lm
        X, D = lm.datasets.parity(3)
        net = lm.mlp([3, 3, 1])
        lm.experiments.run_trials(net, X, D, {algorithm!r}, trials=4, max_iter=3, progress=False,
                                  parallel={parallel})
        print("READY", flush=True)
        try:
            lm.experiments.run_trials(net, X, D, {algorithm!r}, trials=400, max_iter=10**9, min_grad=0,
                                      progress=False, parallel={parallel}, **{options!r})
            print("FINISHED")
        except lm.TrainingInterrupted as exc:
            s = exc.result
            print("STOP", s.trials, s.trials < 400, bool(np.isfinite(s.error).all()),
                  signal.getsignal(signal.SIGINT) is signal.default_int_handler, signal.set_wakeup_fd(-1))
    """)
    _wait_for_line(proc, "READY")
    code, out, err, seconds = _interrupt(proc)
    assert code == 0, err
    stop = out.split()
    assert stop[0] == "STOP" and stop[2:] == ["True", "True", "True", "-1"], out
    assert seconds < PROMPT, f"exited {seconds:.2f} s after SIGINT"


def _cli(*args):
    return subprocess.Popen([sys.executable, "-m", "lmtrain", *map(str, args)], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=ENV, preexec_fn=_default_sigint)


def _warm(*args) -> float:
    """Run the command once to completion (compiling what it needs); its wall time."""
    t = time.monotonic()
    proc = _cli(*args)
    out, err = proc.communicate(timeout=900)
    assert proc.returncode == 0, err
    return time.monotonic() - t


@pytest.mark.parametrize("command", ["train", "compare"])
def test_cli_ctrl_c_prints_one_line_and_exits_130(command, tmp_path):
    if command == "train":
        data = tmp_path / "d.csv"
        data.write_text("x,y\n" + "".join(f"{i / 50:.3f},{(i * 7919) % 13 / 13:.4f}\n" for i in range(100)))
        # 31 hidden neurons on 100 points of a sawtooth: LM creeps along a plateau for minutes
        base = ["train", data, "--target", "y", "--out", tmp_path / "m.json", "--hidden", 30]
        warm, long = base + ["--max-iter", 2], base + ["--max-iter", 10**9]
    else:
        base = ["compare", "--algorithm", "ebp:alpha=1e-6"]
        warm, long = base + ["--trials", 2, "--max-iter", 2], base + ["--trials", 200, "--max-iter", 10**9]
    startup = _warm(*warm)  # import, compile (cached) and run: after this long the long run is training
    proc = _cli(*long)
    code, out, err, seconds = _interrupt(proc, after=max(2.0, 1.5 * startup))
    assert code == 130, (code, err)
    lines = err.strip().splitlines()  # progress lines (with --progress; none here), then the one line
    assert lines[-1].startswith("lmtrain: interrupted"), err
    assert all(line.startswith("iter ") for line in lines[:-1]), err
    assert "Traceback" not in err
    assert seconds < PROMPT, f"exited {seconds:.2f} s after SIGINT"


def test_serial_trials_leave_the_signal_set_up_as_they_found_it():
    """A serial multi-trial run arms its Ctrl-C watcher only where it may, and restores what it changed.

    Python's own handler: the run is on this thread and the handler is back
    afterwards. Someone else's handler, or a wakeup descriptor already taken (an
    event loop's): the run goes to a worker thread and both stay untouched.
    From another thread: the run is on that thread. Every way, the same results.
    """
    import socket
    import threading

    import numpy as np

    import lmtrain as lm
    from lmtrain.algorithms import ctrl_c

    X, D = lm.datasets.parity(3)
    net = lm.mlp([3, 3, 1])

    def run():
        s = lm.experiments.run_trials(net, X, D, "lm", trials=12, seed=3, progress=False, parallel=False)
        return s.stop_reason.copy(), s.iterations.copy(), s.weights.copy()

    def same(a, b):
        return all(np.array_equal(x, y) for x, y in zip(a, b))

    old = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        reference = run()
        assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
        assert signal.set_wakeup_fd(-1) == -1
        flags = np.zeros(1, np.int64)
        with ctrl_c.watched(flags) as here:
            assert here
        assert not ctrl_c._WATCHED

        def mine(signum, frame):  # pragma: no cover - never called
            pass

        signal.signal(signal.SIGINT, mine)
        with ctrl_c.watched(flags) as here:
            assert not here
        assert same(run(), reference)
        assert signal.getsignal(signal.SIGINT) is mine
        signal.signal(signal.SIGINT, signal.default_int_handler)

        a, b = socket.socketpair()
        b.setblocking(False)
        signal.set_wakeup_fd(b.fileno())
        try:
            with ctrl_c.watched(flags) as here:
                assert not here
            assert same(run(), reference)
            assert signal.set_wakeup_fd(-1) == b.fileno()
        finally:
            signal.set_wakeup_fd(-1)
            a.close()
            b.close()

        got = []
        t = threading.Thread(target=lambda: got.append(run()))
        t.start()
        t.join()
        assert same(got[0], reference)
        assert flags[0] == 0
    finally:
        signal.signal(signal.SIGINT, old)
