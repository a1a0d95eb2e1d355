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
"""

from __future__ import annotations

import dataclasses
import errno
import json
import math
import os
import re
import secrets
import stat

try:  # POSIX: lets a save tell a killed save's leftover from a running one's file
    import fcntl
except ImportError:  # pragma: no cover - Windows refuses to delete an open file anyway
    fcntl = None

import numpy as np

from .estimators import LMClassifier, LMRegressor, Model
from .network import Network
from .result import History, StopReason, TrainResult

__all__ = ["FORMAT", "FORMAT_VERSION", "ModelFileError", "atomic_write_text", "load", "save"]

FORMAT = "lmtrain-model"
FORMAT_VERSION = 1

_ESTIMATORS = {"LMRegressor": LMRegressor, "LMClassifier": LMClassifier}
_KINDS = ("LMRegressor", "LMClassifier", "Model")
_NONFINITE = {"nan": math.nan, "inf": math.inf, "-inf": -math.inf}


class ModelFileError(ValueError):
    """A model file that cannot be read: not JSON, truncated, another format or
    version, or with missing or mistyped entries. The message names the file
    and the entry."""


# ------------------------------------------------------------------ writing
def atomic_write_text(path, text: str) -> None:
    """Write ``text`` to ``path`` (UTF-8), replacing a regular file atomically.

    * A new path or a regular file: the text goes to a temporary file
      ``.name.<hex>.tmp`` in the same directory, which then replaces the
      target with ``os.replace``. Either the complete new file is in place
      afterwards or (on any error) the old one is untouched and no temporary
      file is left behind. The new file keeps the old one's permission bits.
    * A symbolic link: its target is what gets written (by the same rules);
      the link itself stays.
    * A character device or a FIFO: written straight through, as a shell
      redirection would (such a target cannot be replaced, and ``/dev/null``
      or a named pipe are legitimate destinations).
    * Anything else (a directory, a socket, a block device): refused with an
      ``OSError`` (``IsADirectoryError`` for a directory) that says what it is.

    Temporary files left by a save that was killed before it could clean up
    are removed by the next save to the same path; those of a save still
    running are left alone (each save holds a lock on its own).
    """
    path = os.fspath(path)
    target = os.path.realpath(path)  # a symlink (even a dangling one) is written through
    try:
        st = os.stat(target)
    except FileNotFoundError:
        st = None
    if st is not None and not stat.S_ISREG(st.st_mode):
        if stat.S_ISCHR(st.st_mode) or stat.S_ISFIFO(st.st_mode):
            with open(target, "w", encoding="utf-8", newline="") as f:
                f.write(text)
            return
        if stat.S_ISDIR(st.st_mode):
            raise IsADirectoryError(errno.EISDIR, "it is a directory", path)
        raise OSError(errno.EINVAL, f"it is {_file_kind(st.st_mode)}, not a regular file; refusing to replace it",
                      path)
    directory, name = os.path.split(target)
    _remove_stale_temporaries(directory, name)
    for _ in range(3):  # a retry only if a concurrent cleaner took our file before we locked it
        tmp = os.path.join(directory, f".{name}.{secrets.token_hex(6)}.tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o666)
        try:
            if fcntl is not None:
                fcntl.flock(fd, fcntl.LOCK_EX)  # released by the kernel if this process dies
                if not _same_file(fd, tmp):
                    os.close(fd)
                    fd = -1
                    continue
            if st is not None:
                os.chmod(tmp, stat.S_IMODE(st.st_mode))
            with os.fdopen(fd, "w", encoding="utf-8", newline="", closefd=False) as f:
                f.write(text)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, target)
            return
        except BaseException:
            try:
                os.unlink(tmp)
            except OSError:
                pass
            raise
        finally:
            if fd >= 0:
                os.close(fd)
    raise OSError(errno.EAGAIN, "could not keep a temporary file from a concurrent cleaner", path)


def _file_kind(mode: int) -> str:
    for test, text in ((stat.S_ISBLK, "a block device"), (stat.S_ISSOCK, "a socket"), (stat.S_ISDIR, "a directory"),
                       (stat.S_ISCHR, "a character device"), (stat.S_ISFIFO, "a FIFO (named pipe)")):
        if test(mode):
            return text
    return "not a regular file"


def _same_file(fd: int, path: str) -> bool:
    try:
        a, b = os.fstat(fd), os.stat(path)
    except OSError:
        return False
    return (a.st_dev, a.st_ino) == (b.st_dev, b.st_ino)


def _remove_stale_temporaries(directory: str, name: str) -> None:
    """Delete ``.name.<hex>.tmp`` files of saves to ``name`` that were killed mid-write.

    A running save holds an exclusive lock on its temporary file, so a file
    that can be locked here belongs to a process that died. Best effort:
    anything unexpected leaves the file where it is.
    """
    if fcntl is None:
        return
    pattern = re.compile(r"\." + re.escape(name) + r"\.[0-9a-f]{12}\.tmp")
    try:
        names = [n for n in os.listdir(directory or ".") if pattern.fullmatch(n)]
    except OSError:
        return
    for n in names:
        p = os.path.join(directory, n)
        try:
            fd = os.open(p, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0))
        except OSError:
            continue
        try:
            if not stat.S_ISREG(os.fstat(fd).st_mode):
                continue
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                continue  # a save in progress
            if _same_file(fd, p):
                os.unlink(p)
        except OSError:
            pass
        finally:
            os.close(fd)


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
class _Reader:
    """Typed access to the decoded JSON, raising ModelFileError with a path."""

    def __init__(self, path):
        self.path = path

    def fail(self, msg):
        raise ModelFileError(f"{self.path}: {msg}")

    def get(self, d: dict, key: str, where: str, types, allow_none=False):
        if key not in d:
            self.fail(f"missing entry '{where}{key}'")
        v = d[key]
        if v is None and allow_none:
            return None
        if isinstance(v, bool) and bool not in (types if isinstance(types, tuple) else (types,)):
            self.fail(f"'{where}{key}' must be {_type_name(types)}, got {_json_type(v)}")
        if not isinstance(v, types):
            self.fail(f"'{where}{key}' must be {_type_name(types)}, got {_json_type(v)}")
        return v

    def floats(self, value, name: str, length: int | None = None, dtype=float) -> np.ndarray:
        if not isinstance(value, list):
            self.fail(f"{name} must be a list of numbers, got {_json_type(value)}")
        for i, v in enumerate(value):
            if isinstance(v, bool) or not isinstance(v, (int, float)):
                self.fail(f"{name}[{i}] must be a number, got {_json_type(v)}")
        arr = np.array(value, dtype=dtype)
        if length is not None and arr.shape != (length,):
            self.fail(f"{name} must have {length} entries, got {arr.shape[0]}")
        return arr


def _type_name(types) -> str:
    types = types if isinstance(types, tuple) else (types,)
    names = {dict: "an object", list: "a list", str: "a string", int: "an integer", float: "a number",
             bool: "true or false"}
    return " or ".join(names.get(t, t.__name__) for t in types)


def _json_type(v) -> str:
    if v is None:
        return "null"
    if isinstance(v, dict) and set(v) == {"$float"}:
        return f"the unknown non-finite number tag {v['$float']!r} (expected 'nan', 'inf' or '-inf')"
    if isinstance(v, dict) and set(v) == {"$array", "dtype"}:
        return f"an encoded array of dtype {v['dtype']!r}"
    if isinstance(v, bool):
        return "a boolean"
    if isinstance(v, (int, float)):
        return f"the number {v!r}"
    if isinstance(v, str):
        return f"the string {v!r}" if len(v) < 40 else "a string"
    if isinstance(v, list):
        return "a list"
    return "an object"


def _object_hook(d: dict):
    # Only the known non-finite tags are decoded here; anything else (an unknown
    # tag, a "$array") stays a dict for the readers, which know the entry's name
    # and check an array's type and size before allocating it.
    if len(d) == 1 and "$float" in d:
        key = d["$float"]
        if isinstance(key, str) and key in _NONFINITE:
            return _NONFINITE[key]
    return d


#: array types a "$array" entry may have: the numbers lmtrain writes, never a
#: type whose items are of arbitrary size (``V1000000000`` would allocate a
#: gigabyte per item)
_ARRAY_KINDS = "biuf"
_ARRAY_MAX_ITEMSIZE = 16


def _read_array(rd: "_Reader", v: dict, where: str) -> np.ndarray:
    dtype = v["dtype"]
    if not isinstance(dtype, str):
        rd.fail(f"{where}.dtype must be a string, got {_json_type(dtype)}")
    try:
        dt = np.dtype(dtype)
    except (TypeError, ValueError):
        rd.fail(f"{where}.dtype {dtype!r} is not a numpy data type")
    if dt.kind not in _ARRAY_KINDS or dt.itemsize > _ARRAY_MAX_ITEMSIZE:
        rd.fail(f"{where}.dtype {dtype!r} is not a number type lmtrain writes (booleans, integers or floats "
                f"of at most {_ARRAY_MAX_ITEMSIZE} bytes)")
    values = v["$array"]
    try:
        # the values are already decoded JSON numbers: at most 16 bytes of
        # array for each of them, less than they take as Python objects
        return np.array(values, dtype=dt)
    except (TypeError, ValueError, OverflowError) as exc:
        rd.fail(f"{where}.$array cannot be read as {dt}: {exc}")


def _read_result(rd: _Reader, d, n_weights: int) -> TrainResult:
    if not isinstance(d, dict):
        rd.fail(f"'result' must be an object or null, got {_json_type(d)}")
    kwargs = {}
    names = {f.name: f for f in dataclasses.fields(TrainResult)}
    for name, f in names.items():
        required = f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING
        if name not in d:
            if required:
                rd.fail(f"missing entry 'result.{name}'")
            continue
        v = d[name]
        where = f"result.{name}"
        if name == "weights":
            v = rd.floats(v, where, n_weights)
        elif name == "history":
            if not isinstance(v, dict):
                rd.fail(f"{where} must be an object, got {_json_type(v)}")
            lengths = set()
            for key, arr in v.items():
                if key == "forced" and isinstance(arr, list) and all(isinstance(a, bool) for a in arr):
                    lengths.add(len(arr))
                    continue
                lengths.add(len(rd.floats(arr, f"{where}.{key}")))
            if len(lengths) > 1:
                rd.fail(f"{where}: the per-iteration lists have different lengths {sorted(lengths)}")
            try:
                v = History.from_dict(v)
            except KeyError as exc:
                rd.fail(f"missing entry '{where}.{exc.args[0]}'")
            except (TypeError, ValueError) as exc:
                rd.fail(f"{where}: {exc}")
        elif name == "stop_reason":
            if not isinstance(v, str) or v not in StopReason.__members__:
                rd.fail(f"{where} must be one of {sorted(StopReason.__members__)}, got {_json_type(v)}")
            v = StopReason[v]
        elif name in ("iterations",):
            if isinstance(v, bool) or not isinstance(v, int) or v < 0:
                rd.fail(f"{where} must be a non-negative integer, got {_json_type(v)}")
        elif name in ("error", "initial_error", "elapsed"):
            if isinstance(v, bool) or not isinstance(v, (int, float)):
                rd.fail(f"{where} must be a number, got {_json_type(v)}")
            v = float(v)
        elif name == "algorithm":
            if not isinstance(v, str):
                rd.fail(f"{where} must be a string, got {_json_type(v)}")
        elif name == "options":
            if not isinstance(v, dict):
                rd.fail(f"{where} must be an object, got {_json_type(v)}")
        elif isinstance(v, dict) and set(v) == {"$array", "dtype"}:
            v = _read_array(rd, v, where)
        kwargs[name] = v
    try:
        return TrainResult(**kwargs)
    except (TypeError, ValueError) as exc:
        rd.fail(f"result: {exc}")


def _read_scaling(rd: _Reader, d, net: Network) -> dict:
    if not isinstance(d, dict):
        rd.fail(f"'scaling' must be an object, got {_json_type(d)}")
    out = {}
    for key, size in (("x_mean", net.n_inputs), ("x_scale", net.n_inputs),
                      ("y_mean", net.n_outputs), ("y_scale", net.n_outputs)):
        if key not in d:
            rd.fail(f"missing entry 'scaling.{key}'")
        out[key] = None if d[key] is None else rd.floats(d[key], f"scaling.{key}", size)
        if out[key] is not None and not np.all(np.isfinite(out[key])):
            rd.fail(f"scaling.{key} must hold finite numbers")
        if key.endswith("scale") and out[key] is not None and not np.all(out[key] > 0):
            i = int(np.flatnonzero(~(out[key] > 0))[0])
            rd.fail(f"scaling.{key}[{i}] must be positive (a standard deviation), got {float(out[key][i])!r}")
    return out


def _read_classes(rd: _Reader, d) -> np.ndarray:
    if not isinstance(d, dict):
        rd.fail(f"'estimator.classes' must be an object, got {_json_type(d)}")
    dtype = rd.get(d, "dtype", "estimator.classes.", str)
    values = rd.get(d, "values", "estimator.classes.", list)
    for v in values:
        if not isinstance(v, (bool, int, float, str)):
            rd.fail(f"estimator.classes.values must hold numbers, booleans or strings, got {_json_type(v)}")
    try:
        dt = np.dtype(object) if dtype == "object" else np.dtype(dtype)
        if dt.kind not in "biufUO":
            raise TypeError(f"unsupported dtype {dtype!r}")
        # checked before np.empty: '<U1000000000' would allocate 4 GB per label
        longest = max((len(v) for v in values if isinstance(v, str)), default=1)
        if dt.itemsize > max(16, 4 * longest):
            raise TypeError(f"dtype {dtype!r} is far larger than its labels need")
        classes = np.empty(len(values), dtype=dt)
        classes[:] = values
    except (TypeError, ValueError, OverflowError) as exc:
        rd.fail(f"estimator.classes: {exc}")
    if len(classes) < 2:
        rd.fail(f"estimator.classes must hold at least 2 classes, got {len(classes)}")
    return classes


def _read_estimator(rd: _Reader, kind: str, d, net, weights, result, scaling):
    cls = _ESTIMATORS[kind]
    if not isinstance(d, dict):
        rd.fail(f"'estimator' must be an object, got {_json_type(d)}")
    params = rd.get(d, "params", "estimator.", dict)
    valid = cls._get_param_names()
    unknown = sorted(set(params) - set(valid))
    if unknown:
        rd.fail(f"estimator.params has unknown parameter(s) {unknown} for {kind}")
    params = dict(params)
    if isinstance(params.get("hidden"), list):
        params["hidden"] = tuple(params["hidden"])
    est = cls(**params)
    n_features = rd.get(d, "n_features_in", "estimator.", int)
    n_outputs = rd.get(d, "n_outputs", "estimator.", int)
    if n_features != net.n_inputs:
        rd.fail(f"estimator.n_features_in is {n_features} but the network has {net.n_inputs} inputs")
    if n_outputs != net.n_outputs:
        rd.fail(f"estimator.n_outputs is {n_outputs} but the network has {net.n_outputs} outputs")
    for key in ("x_mean", "x_scale") + (("y_mean", "y_scale") if kind == "LMRegressor" else ()):
        if scaling[key] is None:
            rd.fail(f"scaling.{key} must be a list for an {kind}, got null")
    if result is None:
        rd.fail(f"'result' must be present for an {kind}")
    n_iter = rd.get(d, "n_iter", "estimator.", int)
    restart_errors = rd.floats(rd.get(d, "restart_errors", "estimator.", list), "estimator.restart_errors")
    best = rd.get(d, "best_restart", "estimator.", int)
    if not 0 <= best < len(restart_errors):
        rd.fail(f"estimator.best_restart {best} is not an index of restart_errors ({len(restart_errors)} entries)")
    verr = rd.get(d, "validation_error", "estimator.", (int, float), allow_none=True)
    fitted = {}
    if kind == "LMRegressor":
        y_ndim = rd.get(d, "y_ndim", "estimator.", int)
        if y_ndim not in (1, 2) or (y_ndim == 1 and n_outputs != 1):
            rd.fail(f"estimator.y_ndim must be 1 (one output) or 2, got {y_ndim}")
        fitted.update(y_mean_=scaling["y_mean"], y_scale_=scaling["y_scale"], _y_ndim=y_ndim)
    else:
        classes = _read_classes(rd, rd.get(d, "classes", "estimator.", dict))
        expected = 1 if len(classes) == 2 else len(classes)
        if n_outputs != expected:
            rd.fail(f"{len(classes)} classes need {expected} network output(s), the file has {n_outputs}")
        fitted["classes_"] = classes
        codes = rd.floats(rd.get(d, "target_codes", "estimator.", list), "estimator.target_codes", 2)
        if not (np.all(np.isfinite(codes)) and codes[0] < codes[1]):
            rd.fail(f"estimator.target_codes must be two finite numbers, low < high, got {codes.tolist()}")
        fitted["target_codes_"] = codes
    fitted.update(net_=net, weights_=weights, result_=result, n_iter_=n_iter, restart_errors_=restart_errors,
                  best_restart_=best, validation_error_=None if verr is None else float(verr),
                  n_features_in_=n_features, n_outputs_=n_outputs, x_mean_=scaling["x_mean"],
                  x_scale_=scaling["x_scale"])
    for k, v in fitted.items():
        setattr(est, k, v)
    return est


def from_dict(d, path="<model>"):
    """Build the object described by ``d`` (as :func:`to_dict` returns it) or raise ModelFileError."""
    rd = _Reader(path)
    if not isinstance(d, dict):
        rd.fail(f"expected a JSON object at the top level, got {_json_type(d)}")
    fmt = d.get("format")
    if fmt != FORMAT:
        rd.fail(f"not an lmtrain model file (its 'format' is {_json_type(fmt)}, expected {FORMAT!r})")
    version = rd.get(d, "format_version", "", int)
    if version != FORMAT_VERSION:
        newer = " (written by a newer lmtrain)" if version > FORMAT_VERSION else ""
        rd.fail(f"format_version {version} is not supported{newer}; this lmtrain reads version {FORMAT_VERSION}")
    kind = rd.get(d, "kind", "", str)
    if kind not in _KINDS:
        rd.fail(f"unknown kind {kind!r}; expected one of {list(_KINDS)}")
    try:
        net = Network.from_dict(rd.get(d, "network", "", dict))
    except (TypeError, ValueError) as exc:
        if isinstance(exc, ModelFileError):
            raise
        rd.fail(f"network: {exc}")
    weights = rd.floats(rd.get(d, "weights", "", list), "weights", net.n_weights)
    if not np.all(np.isfinite(weights)):
        rd.fail("weights must be finite numbers")
    scaling = _read_scaling(rd, rd.get(d, "scaling", "", dict), net)
    rv = rd.get(d, "result", "", dict, allow_none=True)
    result = None if rv is None else _read_result(rd, rv, net.n_weights)
    metadata = d.get("metadata", {})
    if not isinstance(metadata, dict):
        rd.fail(f"'metadata' must be an object, got {_json_type(metadata)}")
    if kind == "Model":
        try:
            obj = Model(net, weights, result, **scaling)
        except (TypeError, ValueError) as exc:
            rd.fail(str(exc))
    else:
        obj = _read_estimator(rd, kind, rd.get(d, "estimator", "", dict), net, weights, result, scaling)
    return obj, metadata


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
        truncated = exc.pos >= len(text.rstrip()) or exc.msg.startswith("Unterminated string")
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
