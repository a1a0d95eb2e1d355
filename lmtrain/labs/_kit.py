"""What every lab checker shares: calling student code safely, the networks
the cases are drawn on, and the wording of a counterexample.

A checker is a function ``check(fn) -> str`` per student function. It calls
the student's code only through :func:`call`, compares with the public API of
lmtrain (``net.forward``, ``net.jacobian``, ``lm.train``, ...) or with finite
differences, and on the first wrong case raises :class:`Failure` naming the
chapter equation that the case breaks. Cases go from small to large, so the
counterexample shown is the smallest one that fails.

Weights, inputs and targets are drawn on a grid of 0.1 with a seeded
generator: a counterexample printed with one decimal is then exactly the case
that failed, and a student can redo it by hand.
"""

from __future__ import annotations

import math
import signal
import threading
from dataclasses import dataclass

import numpy as np

import lmtrain as lm

#: seconds one call of student code may take before it is stopped
TIME_LIMIT = 60.0


class Failure(Exception):
    """A wrong answer: the equation it breaks, one line of explanation, and the case."""

    def __init__(self, equation: str, message: str, details=()):
        super().__init__(message)
        self.equation = equation
        self.message = message
        self.details = list(details)


class StudentError(Exception):
    """The student's code raised an exception or ran past the time limit."""

    def __init__(self, message: str, details=()):
        super().__init__(message)
        self.message = message
        self.details = list(details)


#: set by the runner: the file names of the student's code, so that an error
#: points at the student's line rather than at numpy's or ours
STUDENT_FILES: set = set()


def _where(exc: BaseException) -> str:
    """``(line N, in f)`` for the innermost frame of the student's code, if any."""
    tb = exc.__traceback__
    line = None
    while tb is not None:
        code = tb.tb_frame.f_code
        if code.co_filename in STUDENT_FILES:
            line = (tb.tb_lineno, code.co_name)
        tb = tb.tb_next
    return "" if line is None else f" (line {line[0]}, in {line[1]})"


class _TimeLimit(BaseException):
    # a BaseException, so that a student's ``except Exception`` cannot swallow it
    pass


def describe_exception(exc: BaseException) -> str:
    """One line for an exception raised by student code."""
    if isinstance(exc, NotImplementedError):
        return "not written yet (it raises NotImplementedError: the TODO is still there)"
    text = str(exc).strip().splitlines()
    text = f": {text[0]}" if text else ""
    return f"raised {type(exc).__name__}{text}{_where(exc)}"


def call(fn, *args, **kwargs):
    """Call student code; an exception or an endless loop becomes :class:`StudentError`."""
    use_alarm = hasattr(signal, "setitimer") and threading.current_thread() is threading.main_thread()
    old = None
    if use_alarm:
        def on_alarm(signum, frame):
            raise _TimeLimit()
        old = signal.signal(signal.SIGALRM, on_alarm)
        signal.setitimer(signal.ITIMER_REAL, TIME_LIMIT)
    try:
        with np.errstate(all="ignore"):
            return fn(*args, **kwargs)
    except _TimeLimit:
        raise StudentError(f"did not finish within {TIME_LIMIT:g} s (an endless loop?)") from None
    except Exception as exc:  # anything the student's code raises is reported, never re-raised
        raise StudentError(describe_exception(exc)) from None
    finally:
        if use_alarm:
            signal.setitimer(signal.ITIMER_REAL, 0.0)
            signal.signal(signal.SIGALRM, old)


# ----------------------------------------------------------------- numbers
def fmt(x, digits: int = 6) -> str:
    """Numbers as a person writes them: 0.3, -1.25e-05, [0.1, -0.2]."""
    if isinstance(x, (bool, np.bool_)):
        return str(bool(x))
    if isinstance(x, (int, np.integer)):
        return str(int(x))
    if isinstance(x, (float, np.floating)):
        x = float(x) + 0.0  # no "-0" in a counterexample
        if math.isnan(x) or math.isinf(x):
            return str(x)
        return f"{x:.{digits}g}"
    if isinstance(x, (list, tuple)) and not isinstance(x, np.ndarray):
        try:
            x = np.asarray(x, dtype=float)
        except (TypeError, ValueError):
            return repr(x)
    if isinstance(x, np.ndarray):
        if x.dtype.kind not in "biuf":
            return repr(x)
        if x.ndim == 0:
            return fmt(x.item(), digits)
        if x.ndim == 1:
            return "[" + ", ".join(fmt(v, digits) for v in x) + "]"
        return "[" + ", ".join(fmt(r, digits) for r in x) + "]"
    return repr(x)


def close(got, expected, rtol: float = 1e-7, atol: float = 1e-9) -> bool:
    """Equal to rounding: both finite arrays of one shape, within tolerance."""
    got = np.asarray(got, dtype=float)
    expected = np.asarray(expected, dtype=float)
    return got.shape == expected.shape and bool(np.all(np.isfinite(got))) and bool(
        np.allclose(got, expected, rtol=rtol, atol=atol))


def as_array(value, shape, what: str, equation: str = "", details=(), broadcast: bool = False) -> np.ndarray:
    """The student's return value as a float array of ``shape``, or a :class:`Failure` saying why not.

    ``broadcast`` accepts one number for a whole array (a linear neuron's constant slope).
    """
    try:
        arr = np.asarray(value, dtype=float)
    except (TypeError, ValueError):
        raise Failure(equation, f"{what} should be an array of numbers with shape {shape}, "
                      f"got {type(value).__name__}", details) from None
    if broadcast and arr.ndim == 0:
        arr = np.full(shape, float(arr))
    if arr.shape != tuple(shape):
        if arr.size == int(np.prod(shape)) and arr.ndim != len(shape):
            hint = " (same numbers, wrong shape: check the docstring for the expected shape)"
        elif arr.ndim == 2 and arr.shape[::-1] == tuple(shape):
            hint = " (transposed?)"
        else:
            hint = ""
        raise Failure(equation, f"{what} has shape {arr.shape}, expected {tuple(shape)}{hint}", details)
    return arr


def unpack(value, n: int, what: str, equation: str = "", details=()):
    """A tuple of ``n`` items returned by the student, or a :class:`Failure`."""
    if not isinstance(value, (tuple, list)) or len(value) != n:
        got = f"{type(value).__name__}" + (f" of length {len(value)}" if isinstance(value, (tuple, list)) else "")
        raise Failure(equation, f"{what} should return a tuple of {n} values, got {got}", details)
    return value


# ---------------------------------------------------------------- networks
@dataclass
class Net:
    """A network of the cases with the Python that builds it (for the counterexample)."""

    desc: str
    net: lm.Network

    def __str__(self):
        return self.desc


def _call_text(builder: str, args: str, activation, gain) -> str:
    parts = [args]
    if activation != "bipolar":
        parts.append(f"activation={activation!r}")
    if gain != 1.0:
        parts.append(f"gain={gain!r}")
    return f"lm.{builder}({', '.join(parts)})"


def build(builder: str, sizes, activation="bipolar", gain=1.0, outputs=1) -> Net:
    """``lm.mlp``/``lm.bmlp`` with ``sizes``, or ``lm.fcc`` with ``sizes = (inputs, neurons)``."""
    if builder == "fcc":
        inputs, neurons = sizes
        net = lm.fcc(inputs, neurons, outputs, activation=activation, gain=gain)
        args = f"{inputs}, {neurons}, {outputs}"
    else:
        net = getattr(lm, builder)(list(sizes), activation=activation, gain=gain)
        args = repr(list(sizes))
    return Net(_call_text(builder, args, activation, gain), net)


KINDS = ("bipolar", "unipolar", "linear")
GAINS = (0.5, 1.0, 1.5, 2.0)


def standard_networks(seed: int = 2011, n_random: int = 4, max_outputs: int = 3, linear: bool = True) -> list[Net]:
    """Networks from small to large: one neuron, the chapter's MLP, bridged MLP, cascade, then seeded random ones.

    Mixed activations and gains, more than one output from the fourth on.
    ``linear=False`` leaves out linear neurons (where a case needs a slope that varies).
    """
    kinds = KINDS if linear else KINDS[:2]
    nets = [
        build("mlp", [2, 1], "bipolar", 1.0),
        build("mlp", [2, 2, 1], "bipolar", 0.5),
        build("mlp", [2, 2, 2], ["bipolar", "unipolar", "bipolar", kinds[-1]], [1.5, 1.0, 0.5, 2.0]),
        build("bmlp", [2, 2, 2], ["unipolar", "bipolar", "bipolar", "unipolar"], [1.0, 2.0, 0.5, 1.0]),
        build("fcc", (2, 3), ["bipolar", "unipolar", "bipolar"], [0.5, 1.5, 1.0], outputs=2),
        build("mlp", [3, 3, 1], "bipolar", 0.5),  # Fig. 12.7
    ]
    rng = np.random.default_rng(seed)
    for _ in range(n_random):
        builder = ("mlp", "bmlp", "fcc")[int(rng.integers(3))]
        n_in = int(rng.integers(1, 4))
        m = int(rng.integers(1, max_outputs + 1))
        if builder == "fcc":
            n_neurons = int(rng.integers(m, m + 3))
            count = n_neurons
            sizes = (n_in, n_neurons)
        else:
            hidden = [int(v) for v in rng.integers(1, 4, size=int(rng.integers(1, 3)))]
            sizes = [n_in, *hidden, m]
            count = sum(sizes[1:])
        act = [kinds[int(i)] for i in rng.integers(len(kinds), size=count)]
        gain = [float(GAINS[int(i)]) for i in rng.integers(len(GAINS), size=count)]
        nets.append(build(builder, sizes, act, gain, outputs=m))
    return nets


def grid(rng: np.random.Generator, shape, low: float = -1.0, high: float = 1.0, nonzero: bool = True) -> np.ndarray:
    """Seeded values on a grid of 0.1 in [low, high] (never exactly 0 unless ``nonzero=False``)."""
    v = np.round(rng.uniform(low, high, shape), 1)
    if nonzero:
        v = np.where(v == 0.0, 0.1, v)
    return v


def weight_names(net: lm.Network) -> list[str]:
    """``w[n2,bias]``, ``w[n2,x1]``, ``w[n3,n1]``: nodes counted from 1 as in the chapter's figures."""
    def node(i):
        return f"x{i + 1}" if i < net.n_inputs else f"n{i - net.n_inputs + 1}"
    return [f"w[{node(j)},{'bias' if src is None else node(src)}]" for j, src in net.weight_info()]


def node_name(net: lm.Network, i: int) -> str:
    return f"x{i + 1}" if i < net.n_inputs else f"n{i - net.n_inputs + 1}"


def _count(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def describe_net(n: Net, w=None) -> list[str]:
    """Counterexample lines for a network and its weights."""
    net = n.net
    outs = ", ".join(node_name(net, o) for o in net.outputs)
    lines = [f"network:  {n.desc}   ({_count(net.n_inputs, 'input')}, {_count(net.n_neurons, 'neuron')}, "
             f"{'output' if net.n_outputs == 1 else 'outputs'} {outs}, {_count(net.n_weights, 'weight')})"]
    if w is not None:
        lines.append(f"weights:  w = {fmt(w)}")
        lines.append(f"          (order: {', '.join(weight_names(n.net))})")
    return lines


def error_vector(net: lm.Network, w, X, D) -> np.ndarray:
    """e = d − o for every pattern and output, pattern-major (eqs. 12.2, 12.19)."""
    return (np.asarray(D, float) - net.forward(w, X)).ravel()


def fd_jacobian(f, w, h: float = 1e-6) -> np.ndarray:
    """Central differences of a vector function f(w): the independent oracle for every Jacobian."""
    w = np.asarray(w, dtype=float)
    cols = []
    for i in range(w.size):
        wp, wm = w.copy(), w.copy()
        wp[i] += h
        wm[i] -= h
        cols.append((np.asarray(f(wp), float) - np.asarray(f(wm), float)) / (2 * h))
    return np.stack(cols, axis=-1)
