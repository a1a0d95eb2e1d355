"""Checks at the public boundary. Kernels assume what these functions guarantee:
C-contiguous, finite float64 arrays of the right shapes."""

from __future__ import annotations

import numbers

import numpy as np


def as_float_array(value, name: str, ndim: int | tuple[int, ...], *, allow_empty: bool = False) -> np.ndarray:
    """Convert ``value`` to a finite float64 array of the given dimensionality.

    Raises ``TypeError`` for non-numeric input and ``ValueError`` for a wrong
    number of dimensions, an empty array or NaN/inf entries; the message names
    the argument.
    """
    try:
        arr = np.asarray(value)
    except Exception as exc:  # pragma: no cover - exotic objects
        raise TypeError(f"{name} must be array-like of numbers: {exc}") from None
    if arr.dtype == object or not (np.issubdtype(arr.dtype, np.number) or arr.dtype == bool):
        raise TypeError(f"{name} must hold numbers, got dtype {arr.dtype}")
    if np.issubdtype(arr.dtype, np.complexfloating):
        raise TypeError(f"{name} must be real, got dtype {arr.dtype}")
    ndims = (ndim,) if isinstance(ndim, int) else ndim
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


def as_inputs(X, n_inputs: int, name: str = "X") -> np.ndarray:
    """Patterns as a (P, n_inputs) array; a 1-D array is one input per pattern."""
    X = as_float_array(X, name, (1, 2))
    if X.ndim == 1:
        X = X.reshape(-1, 1) if n_inputs == 1 else X.reshape(1, -1)
    if X.shape[1] != n_inputs:
        raise ValueError(f"{name} must have {n_inputs} column(s) (one per network input), got shape {X.shape}")
    return X


def as_targets(D, n_patterns: int, n_outputs: int, name: str = "D") -> np.ndarray:
    """Desired outputs as a (P, M) array; a 1-D array is accepted when M == 1."""
    D = as_float_array(D, name, (1, 2))
    if D.ndim == 1:
        D = D.reshape(-1, 1) if n_outputs == 1 else D.reshape(1, -1)
    if D.shape != (n_patterns, n_outputs):
        raise ValueError(f"{name} must have shape ({n_patterns}, {n_outputs}) to match X and the network's outputs, got {D.shape}")
    return D


def as_weights(w, n_weights: int, name: str = "w") -> np.ndarray:
    w = as_float_array(w, name, 1)
    if w.shape[0] != n_weights:
        raise ValueError(f"{name} must have length {n_weights} (the network's n_weights), got {w.shape[0]}")
    return w


def check_number(value, name: str, *, low=None, high=None, low_open=False, high_open=False,
                 integer=False, allow_inf=False):
    """Return ``value`` as float/int after checking its type and range."""
    kind = numbers.Integral if integer else numbers.Real
    if isinstance(value, bool) or not isinstance(value, kind):
        raise TypeError(f"{name} must be {'an integer' if integer else 'a real number'}, got {value!r}")
    value = int(value) if integer else float(value)
    if not integer and np.isnan(value):
        raise ValueError(f"{name} must not be NaN")
    if not integer and np.isinf(value) and not allow_inf:
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
