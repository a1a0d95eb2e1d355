"""Checks at the public boundary. Kernels assume what these functions guarantee:
C-contiguous, finite float64 arrays of the right shapes.

Training data must also be small enough for the chapter's sums: E = ½Σe²
(eq. 12.1) squares the targets, and JᵀJ (eq. 12.23) sums products of the
inputs, so a column whose squares add up past the largest float64 (about
1.8e308) would give an infinite error or Gauss–Newton matrix from finite
data. :func:`as_inputs` and :func:`as_targets` refuse such data and name the
column (the compiled fast path of :func:`lmtrain.train` checks the same sums
and hands such data to the general path, which raises).
"""

from __future__ import annotations

import math
import numbers
import warnings

import numpy as np
from numba import njit

from . import activations

#: integer options end up in int64 arrays
INT64_MAX = 2**63 - 1


def as_float_array(value, name: str, ndim: int | tuple[int, ...], *, allow_empty: bool = False) -> np.ndarray:
    """Convert ``value`` to a finite float64 array of the given dimensionality.

    Raises ``TypeError`` for non-numeric input and ``ValueError`` for a wrong
    number of dimensions, an empty array or NaN/inf entries; the message names
    the argument.
    """
    ndims = (ndim,) if isinstance(ndim, int) else ndim
    if type(value) is np.ndarray and value.dtype == np.float64 and value.flags.c_contiguous \
            and value.ndim in ndims and (value.size or allow_empty):
        # already what the kernels take (the common case): only the finiteness check is left
        if not np.isfinite(value).all():
            bad = int(np.size(value) - np.count_nonzero(np.isfinite(value)))
            raise ValueError(f"{name} contains {bad} NaN or infinite value(s)")
        return value
    try:
        arr = np.asarray(value)
    except Exception as exc:  # pragma: no cover - exotic objects
        raise TypeError(f"{name} must be array-like of numbers: {exc}") from None
    if arr.dtype == object or not (np.issubdtype(arr.dtype, np.number) or arr.dtype == bool):
        raise TypeError(f"{name} must hold numbers, got dtype {arr.dtype}")
    if np.issubdtype(arr.dtype, np.complexfloating):
        raise TypeError(f"{name} must be real, got dtype {arr.dtype}")
    if arr.ndim not in ndims:
        want = " or ".join(str(d) for d in ndims)
        raise ValueError(f"{name} must be {want}-dimensional, got shape {arr.shape}")
    if arr.size == 0 and not allow_empty:
        raise ValueError(f"{name} must not be empty, got shape {arr.shape}")
    arr = np.ascontiguousarray(arr, dtype=np.float64)
    if not np.all(np.isfinite(arr)):
        bad = int(np.size(arr) - np.count_nonzero(np.isfinite(arr)))
        raise ValueError(f"{name} contains {bad} NaN or infinite value(s)")
    return arr


def check_squares(arr: np.ndarray, name: str, why: str = "E = ½Σe² (eq. 12.1)") -> None:
    """Raise ``ValueError`` naming the first column of ``arr`` (2-D, or 1-D as
    one column) whose sum of squares overflows float64.

    ``why`` names the quantity that would overflow, for the message.
    """
    A = arr.reshape(len(arr), -1)
    if A.size:
        m = float(np.abs(A).max())
        if m * m * len(A) < 1e308:  # no column's sum of squares can overflow: skip the exact check
            return
    with np.errstate(over="ignore", invalid="ignore"):
        sums = np.einsum("ij,ij->j", A, A)
    if np.all(np.isfinite(sums)):
        return
    j = int(np.flatnonzero(~np.isfinite(sums))[0])
    col = A[:, j]
    big = float(col[np.argmax(np.abs(col))])
    where = f"{name} column {j}" if arr.ndim > 1 else name
    raise ValueError(
        f"{where} is too large for float64 arithmetic: the sum of its squares overflows (largest value {big:.3g}), "
        f"so {why} would be infinite; rescale it (e.g. divide it by {_power_of_ten(big):.0e})")


def _power_of_ten(v: float) -> float:
    return 10.0 ** math.floor(math.log10(abs(v))) if v != 0 and math.isfinite(v) else 1.0


def as_inputs(X, n_inputs: int, name: str = "X") -> np.ndarray:
    """Patterns as a (P, n_inputs) array; a 1-D array is one input per pattern.

    Raises ``ValueError`` naming the column when a column's squares sum past
    float64's range (:func:`check_squares`).
    """
    X = as_float_array(X, name, (1, 2))
    if X.ndim == 1:
        X = X.reshape(-1, 1) if n_inputs == 1 else X.reshape(1, -1)
    if X.shape[1] != n_inputs:
        raise ValueError(f"{name} must have {n_inputs} column(s) (one per network input), got shape {X.shape}")
    check_squares(X, name, "JᵀJ (eq. 12.23) and the neurons' sums")
    return X


def as_targets(D, n_patterns: int, n_outputs: int, name: str = "D") -> np.ndarray:
    """Desired outputs as a (P, M) array; a 1-D array is accepted when M == 1.

    Raises ``ValueError`` naming the column when a column's squares sum past
    float64's range (:func:`check_squares`).
    """
    D = as_float_array(D, name, (1, 2))
    if D.ndim == 1:
        D = D.reshape(-1, 1) if n_outputs == 1 else D.reshape(1, -1)
    if D.shape != (n_patterns, n_outputs):
        raise ValueError(f"{name} must have shape ({n_patterns}, {n_outputs}) to match X and the network's outputs, got {D.shape}")
    check_squares(D, name)
    return D


def as_weights(w, n_weights: int, name: str = "w") -> np.ndarray:
    w = as_float_array(w, name, 1)
    if w.shape[0] != n_weights:
        raise ValueError(f"{name} must have length {n_weights} (the network's n_weights), got {w.shape[0]}")
    return w


def check_number(value, name: str, *, low=None, high=None, low_open=False, high_open=False,
                 integer=False, allow_inf=False):
    """Return ``value`` as float/int after checking its type and range.

    Integers must also fit in 64 bits (|value| < 2**63), since the compiled
    code holds them in int64 arrays: a larger one is a ``ValueError`` naming
    the option, never an ``OverflowError`` from deep inside.
    """
    kind = numbers.Integral if integer else numbers.Real
    t = type(value)  # int and float first: the abstract-class check is slow, and runs are checked often
    if not (t is int or (t is float and not integer)) and (isinstance(value, bool) or not isinstance(value, kind)):
        raise TypeError(f"{name} must be {'an integer' if integer else 'a real number'}, got {value!r}")
    if integer:
        value = int(value)
        if not -INT64_MAX - 1 <= value <= INT64_MAX:
            raise ValueError(f"{name} must be between -2**63 and 2**63 - 1 (a 64-bit integer), got {value}")
    else:
        try:
            value = float(value)
        except OverflowError:  # a Python int or Fraction beyond float64
            raise ValueError(f"{name} is too large for a float64, got {value}") from None
    if not integer and math.isnan(value):
        raise ValueError(f"{name} must not be NaN")
    if not integer and math.isinf(value) and not allow_inf:
        raise ValueError(f"{name} must be finite, got {value}")
    bad = False
    if low is not None:
        bad |= value <= low if low_open else value < low
    if high is not None:
        bad |= value >= high if high_open else value > high
    if bad:
        lo = "(-inf" if low is None else ("(" if low_open else "[") + str(low)
        hi = "inf)" if high is None else str(high) + (")" if high_open else "]")
        raise ValueError(f"{name} must be in {lo}, {hi}, got {value}")
    return value


def check_seed(seed, name: str = "seed") -> np.random.SeedSequence:
    """``seed`` (None, a non-negative int or a ``numpy.random.SeedSequence``) as a fresh SeedSequence.

    A SeedSequence is copied, so spawning from the result never moves the
    caller's sequence on. Raises ``TypeError``/``ValueError`` naming ``name``.
    """
    if isinstance(seed, np.random.SeedSequence):
        return np.random.SeedSequence(seed.entropy, spawn_key=seed.spawn_key, pool_size=seed.pool_size)
    if seed is None:
        return np.random.SeedSequence()
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral):
        raise TypeError(f"{name} must be None, a non-negative int or a numpy SeedSequence, got {seed!r}")
    if seed < 0:
        raise ValueError(f"{name} must be a non-negative int, got {seed}")
    return np.random.SeedSequence(int(seed))


class TargetRangeWarning(UserWarning):
    """Targets lie outside the range of the output neurons' activation, so the
    network cannot reach them: tanh ("bipolar") outputs lie in (−1, 1), the
    sigmoid ("unipolar") in (0, 1). For regression use a linear output
    (``output_activation="linear"``)."""


#: output activation -> (lowest, highest) value its neuron can approach (bounded activations only)
_OUTPUT_RANGE = {a.name: (a.low, a.high) for a in activations.ACTIVATIONS if math.isfinite(a.high - a.low)}


#: network id -> (network, (low, high) bounds per output or None when every output is linear)
_BOUNDS: dict = {}


def _output_bounds(net):
    """Per-output ``(low, high)`` arrays of the range the output neurons can approach; None if all are linear.

    Remembered per network (networks are immutable), so that the check a
    short run of :func:`lmtrain.train` pays for costs about a microsecond.
    """
    hit = _BOUNDS.get(id(net))
    if hit is None or hit[0] is not net:  # holding net keeps its id from being reused
        M = len(net.outputs)
        low, high = np.full(M, -np.inf), np.full(M, np.inf)
        for m, node in enumerate(net.outputs):
            low[m], high[m] = _OUTPUT_RANGE.get(net.neurons[node - net.n_inputs].activation, (-np.inf, np.inf))
        hit = (net, (low, high) if np.isfinite(low).any() else None)
        if len(_BOUNDS) >= 256:
            _BOUNDS.clear()
        _BOUNDS[id(net)] = hit
    return hit[1]


@njit(cache=True)
def _first_column_outside(D, low, high):
    """Index of the first column of ``D`` (P, M) holding a value outside [low[m], high[m]], or −1."""
    for i in range(D.shape[0]):
        for m in range(D.shape[1]):
            if not (low[m] <= D[i, m] <= high[m]):
                return m
    return -1


def targets_out_of_range(net, D: np.ndarray):
    """The first output whose targets leave its activation's range, or None.

    Returns ``(m, M, activation, (low, high), (dmin, dmax))`` for column ``m``
    of the (P, M) float64 targets ``D``; a linear output has no range.
    """
    bounds = _output_bounds(net)
    if bounds is None:
        return None
    m = _first_column_outside(D, bounds[0], bounds[1])
    if m < 0:
        return None
    act = net.neurons[net.outputs[m] - net.n_inputs].activation
    col = D[:, m]
    return m, D.shape[1], act, _OUTPUT_RANGE[act], (float(col.min()), float(col.max()))


def range_advice(found, name: str, option: str) -> str:
    """The message for :func:`targets_out_of_range`'s ``found``; ``option`` says how to ask for a linear output."""
    m, M, act, (low, high), (dmin, dmax) = found
    where = f"{name} column {m}" if M > 1 else name
    return (f"{where} holds values from {dmin:.4g} to {dmax:.4g}, outside the range {low:g} to {high:g} "
            f"of its {activations.describe(act)} output neuron, which cannot reach them; for regression use a linear "
            f"output ({option}) or rescale the targets into the range")


def warn_targets_out_of_range(net, D, name: str = "D", stacklevel: int = 3) -> None:
    """Warn (:class:`TargetRangeWarning`) when ``D`` leaves the output activations' range.

    :func:`lmtrain.train` calls it when a run ends short of its goal, so a
    run that succeeds pays nothing for it (and one that does not, about a
    microsecond: the outputs' ranges are remembered per network, and the
    (P, M) float64 targets the fast path holds are scanned as they are).
    """
    bounds = _output_bounds(net)
    if bounds is None:
        return
    if not (type(D) is np.ndarray and D.ndim == 2 and D.dtype == np.float64 and D.shape[1] == len(bounds[0])):
        D = np.asarray(D, dtype=float)
        D = D.reshape(len(D), -1) if D.ndim else D.reshape(1, 1)
        if D.shape[1] != net.n_outputs:
            D = D.reshape(-1, net.n_outputs)
    if _first_column_outside(D, bounds[0], bounds[1]) < 0:
        return
    found = targets_out_of_range(net, D)
    warnings.warn(range_advice(found, name, 'output_activation="linear", e.g. lm.mlp(sizes, '
                                            'output_activation="linear")'),
                  TargetRangeWarning, stacklevel=stacklevel)
