"""Checks and preparation of what the estimators are given.

Arrays X and y (numbers, finite, the right shapes), sample weights, the
standardisation of inputs and targets (with its overflow check), hidden layer
sizes, ``random_state``, the algorithm's options and the train/validation
split. Each error names the argument at fault. See :mod:`lmtrain.estimators`.
"""

from __future__ import annotations

import numbers

import numpy as np

from ._validation import check_number, check_squares
from .algorithms import get_algorithm


def _is_sparse(X) -> bool:
    return type(X).__module__.startswith("scipy.sparse") and hasattr(X, "toarray")


def _as_numeric(value, name: str) -> np.ndarray:
    """``value`` as a float64 array (any shape) with clear errors."""
    if value is None:
        raise ValueError(f"{name} is None; expected an array of numbers")
    if _is_sparse(value):
        raise TypeError(f"{name}: sparse input is not supported; convert it with {name}.toarray()")
    try:
        arr = np.asarray(value)
    except ValueError as exc:  # ragged nested lists
        raise ValueError(f"{name} must be a rectangular array of numbers: {exc}") from None
    if arr.dtype.kind == "c":
        raise ValueError(f"Complex data not supported: {name} has dtype {arr.dtype}; give real numbers")
    if arr.dtype.kind not in "biuf":
        try:
            arr = arr.astype(np.float64)
        except (TypeError, ValueError) as exc:
            raise TypeError(f"{name} must hold numbers: {exc}") from None
    return np.asarray(arr, dtype=np.float64)


def _check_finite(arr: np.ndarray, name: str) -> None:
    if not np.all(np.isfinite(arr)):
        bad = int(arr.size - np.count_nonzero(np.isfinite(arr)))
        raise ValueError(f"{name} contains {bad} NaN or infinite value(s)")


def _check_X(X, name: str = "X") -> np.ndarray:
    """A finite (n_samples, n_features) float64 array, at least one of each."""
    arr = _as_numeric(X, name)
    if arr.ndim == 1:
        raise ValueError(
            f"{name} must be 2-D (samples x features), got a 1-D array of shape {arr.shape}. "
            f"Reshape your data: {name}.reshape(-1, 1) for a single feature, "
            f"{name}.reshape(1, -1) for a single sample."
        )
    if arr.ndim != 2:
        raise ValueError(f"{name} must be 2-D (samples x features), got shape {arr.shape}")
    if arr.shape[0] == 0:
        raise ValueError(f"Found array with 0 sample(s) (shape={arr.shape}) while a minimum of 1 is required.")
    if arr.shape[1] == 0:
        raise ValueError(f"Found array with 0 feature(s) (shape={arr.shape}) while a minimum of 1 is required.")
    _check_finite(arr, name)
    return np.ascontiguousarray(arr)


def _require_y(est, y):
    if y is None:
        raise ValueError(f"{type(est).__name__} requires y to be passed, but the target y is None")


def _check_lengths(X, y):
    if len(y) != X.shape[0]:
        raise ValueError(f"X and y have different numbers of samples: {X.shape[0]} and {len(y)}")


def _scale(A: np.ndarray, name: str):
    """Column means and standard deviations; a constant column gets scale 1.

    Finite data can still be too large to standardise: the mean of values
    near 1e308, or the variance of values beyond 1e154, overflows. That is a
    ``ValueError`` naming the column, rather than an infinite scale that
    predicts ±inf and saves a model that cannot be loaded.
    """
    with np.errstate(over="ignore", invalid="ignore"):
        mean = A.mean(axis=0)
        scale = A.std(axis=0)
    bad = ~(np.isfinite(mean) & np.isfinite(scale))
    if bad.any():
        j = int(np.flatnonzero(bad)[0])
        col = A[:, j]
        big = float(col[np.argmax(np.abs(col))])
        what = "mean" if not np.isfinite(mean[j]) else "standard deviation"
        where = f"{name} column {j}" if A.shape[1] > 1 or name == "X" else name
        raise ValueError(f"{where} cannot be standardised: its {what} overflows float64 (largest value {big:.3g}); "
                         f"rescale it (e.g. divide it by {10.0 ** np.floor(np.log10(abs(big))):.0e})")
    scale[~(scale > 0)] = 1.0
    return mean, scale


def _check_size(X: np.ndarray, name: str, standardize: bool):
    """Mean and scale of the columns of ``X`` (0 and 1 without standardising), checked for overflow."""
    if standardize:
        return _scale(X, name)
    why = "JᵀJ (eq. 12.23) and the neurons' sums" if name == "X" else "E = ½Σe² (eq. 12.1)"
    check_squares(X if X.shape[1] > 1 or name == "X" else X[:, 0], name, why)
    return np.zeros(X.shape[1]), np.ones(X.shape[1])


def _check_hidden(hidden, topology: str) -> tuple[int, ...]:
    if isinstance(hidden, (numbers.Integral,)) and not isinstance(hidden, bool):
        hidden = (int(hidden),)
    if isinstance(hidden, (str, bytes)) or not isinstance(hidden, (tuple, list, np.ndarray)):
        raise TypeError(f"hidden must be an int or a tuple of ints (neurons per hidden layer), got {hidden!r}")
    sizes = []
    for h in hidden:
        if isinstance(h, bool) or not isinstance(h, numbers.Integral):
            raise TypeError(f"hidden must hold integers, got {hidden!r}")
        if h < 1:
            raise ValueError(f"hidden layer sizes must be >= 1, got {hidden!r}")
        check_number(h, "hidden", integer=True)  # 64 bits, like every count
        sizes.append(int(h))
    if topology == "fcc" and len(sizes) > 1:
        raise ValueError(
            f"for topology 'fcc' give hidden as one number (hidden neurons in the cascade), got {hidden!r}"
        )
    return tuple(sizes)


def _rngs(random_state, n: int) -> list[np.random.Generator]:
    """``n`` independent generators derived from ``random_state``.

    An int, None or SeedSequence is used afresh at every call (so ``fit`` is
    repeatable); a Generator or RandomState advances, as in scikit-learn.
    """
    rs = random_state
    if rs is None or (isinstance(rs, numbers.Integral) and not isinstance(rs, bool)):
        if rs is not None and rs < 0:
            raise ValueError(f"random_state must be a non-negative int, None or a Generator, got {rs}")
        children = np.random.SeedSequence(None if rs is None else int(rs)).spawn(n)
    elif isinstance(rs, np.random.SeedSequence):
        # a copy, so that spawning does not move the caller's sequence on
        fresh = np.random.SeedSequence(rs.entropy, spawn_key=rs.spawn_key, pool_size=rs.pool_size)
        children = fresh.spawn(n)
    elif isinstance(rs, np.random.Generator):
        return list(rs.spawn(n))
    elif isinstance(rs, np.random.RandomState):
        children = np.random.SeedSequence(int(rs.randint(0, 2**31 - 1))).spawn(n)
    else:
        raise TypeError(
            f"random_state must be None, an int, a numpy SeedSequence or Generator, got {type(rs).__name__}"
        )
    return [np.random.default_rng(c) for c in children]


def _check_options(options, algorithm: str) -> dict:
    if options is None:
        options = {}
    if not isinstance(options, dict):
        raise TypeError(f"options must be a dict of algorithm options or None, got {type(options).__name__}")
    for key in ("max_iter", "goal"):
        if key in options:
            raise TypeError(f"give {key} as the estimator parameter {key}=..., not inside options")
    if any(not isinstance(k, str) for k in options):
        raise TypeError("options keys must be option names (strings)")
    o = dict(options)
    # An estimator returns its final weights, so by default it never accepts a
    # step that raises the error (the chapter's Fig. 12.5 forces one after 5 tries).
    if get_algorithm(algorithm).key == "lm":
        o.setdefault("strict", True)
    return o


def _split(n: int, fraction: float, rng: np.random.Generator, labels=None):
    """Random train/validation indices, at least one sample on each side."""
    n_val = int(round(fraction * n))
    if n_val < 1 or n - n_val < 1:
        raise ValueError(
            f"validation_fraction={fraction} leaves no sample for training or validation with {n} samples"
        )
    perm = rng.permutation(n)
    val = np.sort(perm[:n_val])
    train_idx = np.sort(perm[n_val:])
    if labels is not None:
        # move back to training any class that the split left without samples
        missing = np.setdiff1d(np.unique(labels), np.unique(labels[train_idx]))
        if missing.size:
            back = val[np.isin(labels[val], missing)]
            # one sample of each missing class returns to training
            _, first = np.unique(labels[back], return_index=True)
            back = back[first]
            val = np.setdiff1d(val, back)
            train_idx = np.sort(np.concatenate([train_idx, back]))
            if val.size == 0:
                raise ValueError(f"validation_fraction={fraction} leaves no sample for validation")
    return train_idx, val


def _weights(sample_weight, n):
    if sample_weight is None:
        return np.ones(n)
    sw = _as_numeric(sample_weight, "sample_weight")
    if sw.ndim != 1 or sw.shape[0] != n:
        raise ValueError(f"sample_weight must be 1-D of length {n}, got shape {sw.shape}")
    _check_finite(sw, "sample_weight")
    return sw
