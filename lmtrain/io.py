"""Saving and loading trained models: :func:`save` and :func:`load`.

One JSON file holds a fitted :class:`~lmtrain.estimators.LMRegressor`,
:class:`~lmtrain.estimators.LMClassifier` or a bare
:class:`~lmtrain.estimators.Model` (network, weights, optional training record
and scaling)::

    {"format": "lmtrain-model", "format_version": 1, "kind": "LMRegressor",
     "network": {...}, "weights": [...], "scaling": {...}, "estimator": {...},
     "result": {...}, "metadata": {...}}

Numbers are written with Python's shortest round-trip repr, so every weight,
scale and history entry reads back to the identical float64 and a loaded
model predicts bit for bit what the saved one did. JSON has no NaN or
infinity; such a value is written as ``{"$float": "nan"}`` (or ``"inf"``,
``"-inf"``) so the file stays strict JSON. The training record keeps the full
history, the stop reason and the options.

Writing is atomic: the text goes to a temporary file in the same directory,
which then replaces the target (``os.replace``), so a failure never leaves a
partial file. That is done for regular files and new paths only, and it
respects what is there: a symbolic link is followed and its target replaced
(the link stays), the old file's permission bits are kept, and a character
device or FIFO (``/dev/null``, ``/dev/stdout``, a named pipe) is written
straight through, since it cannot be replaced; any other kind of target (a
directory, a socket, a block device) is refused. Temporary files that a
killed save left behind (``.name.<hex>.tmp``) are removed by the next save
to the same path.

Reading validates everything before building anything; a truncated,
malformed, foreign or newer file raises :class:`ModelFileError` naming the
file and the entry at fault, never a half-loaded model — and never another
exception for bad contents (bytes that are not UTF-8, nesting deeper than
Python's JSON reader follows, an array type of absurd size). Only regular
files are read: a FIFO or a device is refused rather than waited on.

The atomic writing is done by :mod:`lmtrain._files`; the format's name and
version, :class:`ModelFileError` and the checks of every entry read
(:func:`from_dict`) are in :mod:`lmtrain._model_format`.
"""

from __future__ import annotations

import dataclasses
import errno
import json
import math
import os
import re
import stat

import numpy as np

from ._files import _file_kind, atomic_write_text
# the tests check the reader's pieces (_Reader, _read_array) through this module
from ._model_format import (_ESTIMATORS, FORMAT, FORMAT_VERSION, ModelFileError, _object_hook, _read_array,
                            _Reader, from_dict)
from .estimators import LMClassifier, LMRegressor, Model
from .result import History, StopReason, TrainResult

__all__ = ["FORMAT", "FORMAT_VERSION", "ModelFileError", "atomic_write_text", "load", "save"]


# ------------------------------------------------------------------ writing
def _plain(value, where: str):
    """JSON-ready copy of ``value``: non-finite floats tagged, tuples as lists."""
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, (np.bool_,)):
        return bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        v = float(value)
        if math.isfinite(v):
            return v
        return {"$float": "nan" if math.isnan(v) else ("inf" if v > 0 else "-inf")}
    if isinstance(value, np.ndarray):
        return [_plain(v, where) for v in value.tolist()] if value.ndim else _plain(value.item(), where)
    if isinstance(value, (list, tuple)):
        return [_plain(v, where) for v in value]
    if isinstance(value, dict):
        out = {}
        for k, v in value.items():
            if not isinstance(k, str):
                raise TypeError(f"{where}: keys must be strings to be saved, got {k!r}")
            out[k] = _plain(v, f"{where}.{k}")
        return out
    raise TypeError(f"{where}: a {type(value).__name__} cannot be saved to a model file")


def _result_dict(r: TrainResult) -> dict:
    out = {}
    for f in dataclasses.fields(r):
        v = getattr(r, f.name)
        if isinstance(v, History):
            out[f.name] = _plain(v.to_dict(), f"result.{f.name}")
        elif isinstance(v, StopReason):
            out[f.name] = v.name
        elif f.name == "weights":
            out[f.name] = _plain(np.asarray(v, float), "result.weights")
        elif isinstance(v, np.ndarray):  # a field this version does not know by name
            out[f.name] = {"$array": _plain(v, f"result.{f.name}"), "dtype": str(v.dtype)}
        else:
            out[f.name] = _plain(v, f"result.{f.name}")
    return out


def _classes_dict(classes: np.ndarray) -> dict:
    if classes.dtype.kind not in "biufUO":
        raise TypeError(f"classes_ of dtype {classes.dtype} cannot be saved (labels must be numbers, "
                        f"booleans or strings)")
    values = classes.tolist()
    for v in values:
        if not isinstance(v, (bool, int, float, str)):
            raise TypeError(f"class label {v!r} ({type(v).__name__}) cannot be saved "
                            f"(labels must be numbers, booleans or strings)")
    return {"dtype": classes.dtype.str if classes.dtype.kind != "O" else "object",
            "values": _plain(values, "classes")}


def to_dict(obj, metadata: dict | None = None) -> dict:
    """The JSON-ready description :func:`save` writes."""
    if isinstance(obj, (LMRegressor, LMClassifier)):
        obj._check_fitted()
        kind = type(obj).__name__
        net, weights, result = obj.net_, obj.weights_, obj.result_
        scaling = {"x_mean": obj.x_mean_, "x_scale": obj.x_scale_,
                   "y_mean": getattr(obj, "y_mean_", None), "y_scale": getattr(obj, "y_scale_", None)}
    elif isinstance(obj, Model):
        kind = "Model"
        net, weights, result = obj.net, obj.weights, obj.result
        scaling = {"x_mean": obj.x_mean, "x_scale": obj.x_scale, "y_mean": obj.y_mean, "y_scale": obj.y_scale}
    elif isinstance(obj, tuple):
        raise TypeError("save() takes an estimator or an lmtrain Model; wrap a bare network as "
                        "lm.Model(net, weights, result)")
    else:
        raise TypeError(f"save() takes a fitted LMRegressor or LMClassifier or an lmtrain Model, "
                        f"got {type(obj).__name__}")
    if metadata is not None and not isinstance(metadata, dict):
        raise TypeError(f"metadata must be a dict or None, got {type(metadata).__name__}")
    d = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "kind": kind,
        "network": net.to_dict(),
        "weights": _plain(weights, "weights"),
        "scaling": {k: (None if v is None else _plain(v, k)) for k, v in scaling.items()},
        "result": None if result is None else _result_dict(result),
    }
    if kind in _ESTIMATORS:
        params = dict(obj.get_params(deep=False))
        rs = params.get("random_state")
        if not (rs is None or (isinstance(rs, (int, np.integer)) and not isinstance(rs, bool))):
            params["random_state"] = None  # a Generator's state is not kept
        est = {
            "params": _plain(params, "params"),
            "n_features_in": int(obj.n_features_in_),
            "n_outputs": int(obj.n_outputs_),
            "n_iter": int(obj.n_iter_),
            "restart_errors": _plain(obj.restart_errors_, "restart_errors"),
            "best_restart": int(obj.best_restart_),
            "validation_error": _plain(obj.validation_error_, "validation_error"),
        }
        if kind == "LMRegressor":
            est["y_ndim"] = int(obj._y_ndim)
        else:
            est["classes"] = _classes_dict(obj.classes_)
            est["target_codes"] = _plain(obj.target_codes_, "target_codes")
        d["estimator"] = est
    d["metadata"] = _plain(metadata or {}, "metadata")
    return d


def save(obj, path, *, metadata: dict | None = None) -> None:
    """Write a fitted estimator or a :class:`~lmtrain.estimators.Model` to ``path`` (JSON).

    Parameters
    ----------
    obj : LMRegressor, LMClassifier or Model
        A fitted estimator, or a bare trained network ``Model(net, weights,
        result=None, x_mean=..., x_scale=..., y_mean=..., y_scale=...)``.
    path : str or path-like
    metadata : dict, optional
        Free JSON-compatible information stored beside the model (the command
        line keeps the feature and target column names here); read it back
        with ``load(path, with_metadata=True)``.

    A regular file is replaced atomically, keeping its permission bits; on
    any error no file is written. A symbolic link is followed (its target is
    replaced, the link stays); a character device or FIFO is written
    straight through; a directory, socket or block device is refused. See
    :func:`atomic_write_text`. An estimator's ``random_state`` is stored
    only when it is None or an int.
    """
    text = _format(to_dict(obj, metadata)) + "\n"
    atomic_write_text(path, text)


def _format(value, indent: int = 0) -> str:
    """Indented JSON in which short objects and lists of numbers stay on one line."""
    compact = json.dumps(value, allow_nan=False, separators=(", ", ": "))
    scalars = isinstance(value, list) and not any(
        isinstance(v, list) or (isinstance(v, dict) and set(v) != {"$float"}) for v in value)
    if not isinstance(value, (list, dict)) or scalars or len(compact) + indent <= 96:
        return compact
    pad = " " * (indent + 1)
    if isinstance(value, dict):
        items = [f"{pad}{json.dumps(k)}: {_format(v, indent + 1)}" for k, v in value.items()]
        return "{\n" + ",\n".join(items) + "\n" + " " * indent + "}"
    items = [pad + _format(v, indent + 1) for v in value]
    return "[\n" + ",\n".join(items) + "\n" + " " * indent + "]"


# ------------------------------------------------------------------ reading
def load(path, *, with_metadata: bool = False):
    """Read a model written by :func:`save`.

    Returns the fitted estimator or :class:`~lmtrain.estimators.Model`, or
    ``(obj, metadata)`` with ``with_metadata=True``.

    Raises
    ------
    ModelFileError
        The file is not UTF-8 text or not valid JSON (e.g. truncated), not an
        lmtrain model, of an unsupported ``format_version``, has a missing or
        mistyped entry, or is not a regular file (a FIFO or device is refused,
        not waited on). The message names the file and the entry.
    OSError
        The file cannot be opened (``FileNotFoundError``,
        ``IsADirectoryError``, ``PermissionError``).
    """
    path = os.fspath(path)
    text = _read_text(path)
    if not text.strip():
        raise ModelFileError(f"{path}: the file is empty")
    try:
        d = json.loads(text, object_hook=_object_hook)
    except json.JSONDecodeError as exc:
        # a cut file fails at its end, or inside a number or string that the cut split
        end = text.rstrip()
        truncated = (exc.pos >= len(end) or exc.msg.startswith("Unterminated string")
                     or not end.endswith(("}", "]")))
        hint = " (the file looks truncated)" if truncated else ""
        raise ModelFileError(f"{path}: not valid JSON{hint}: {exc.msg} (line {exc.lineno}, column {exc.colno})") \
            from None
    except RecursionError:
        depth, line, col = _nesting(text)
        raise ModelFileError(f"{path}: lists or objects nested {depth} deep (the deepest at line {line}, column "
                             f"{col}), deeper than a model file is or Python's JSON reader can follow") from None
    except (TypeError, ValueError) as exc:
        raise ModelFileError(f"{path}: {exc}") from None
    obj, metadata = from_dict(d, path)
    return (obj, metadata) if with_metadata else obj


def _read_text(path: str) -> str:
    """The UTF-8 text of the regular file ``path``.

    Opened without blocking, so that a FIFO is refused at once instead of
    waiting for a writer; bytes that are not UTF-8 raise ModelFileError with
    their position.
    """
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0))
    try:
        mode = os.fstat(fd).st_mode
    except BaseException:
        os.close(fd)
        raise
    if not stat.S_ISREG(mode):
        os.close(fd)
        if stat.S_ISDIR(mode):
            raise IsADirectoryError(errno.EISDIR, "Is a directory", path)
        raise ModelFileError(f"{path}: it is {_file_kind(mode)}, not a regular file; a model is read from the file "
                             f"lmtrain.save wrote")
    with os.fdopen(fd, "rb") as f:
        data = f.read()
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        col = exc.start - (data.rfind(b"\n", 0, exc.start) + 1) + 1
        raise ModelFileError(f"{path}: not a model file: byte 0x{data[exc.start]:02x} at line {line}, column {col} "
                             f"is not UTF-8 text") from None


def _nesting(text: str) -> tuple[int, int, int]:
    """``(depth, line, column)`` of the most deeply nested list or object in JSON ``text``."""
    depth = best = 0
    where = 0
    for m in re.finditer(r'"(?:[^"\\]|\\.)*"|[\[\]{}]', text):
        c = m.group()
        if c in "[{":
            depth += 1
            if depth > best:
                best, where = depth, m.start()
        elif c in "]}":
            depth -= 1
    line = text.count("\n", 0, where) + 1
    return best, line, where - (text.rfind("\n", 0, where) + 1) + 1
