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
partial file. Reading validates everything before building anything; a
truncated, malformed, foreign or newer file raises :class:`ModelFileError`
naming the problem, never a half-loaded model.
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
import secrets

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
    """Write ``text`` to ``path`` through a temporary file and ``os.replace``.

    Either the complete new file is in place afterwards or (on any error) the
    old one is untouched and no temporary file is left behind.
    """
    path = os.fspath(path)
    directory = os.path.dirname(os.path.abspath(path))
    tmp = os.path.join(directory, f".{os.path.basename(path)}.{secrets.token_hex(6)}.tmp")
    try:
        with open(tmp, "x", encoding="utf-8", newline="") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


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

    The file is replaced atomically; on any error no file is written. An
    estimator's ``random_state`` is stored only when it is None or an int.
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
    if len(d) == 1 and "$float" in d:
        key = d["$float"]
        if key not in _NONFINITE:
            raise ValueError(f"unknown non-finite number tag {key!r} (expected 'nan', 'inf' or '-inf')")
        return _NONFINITE[key]
    if set(d) == {"$array", "dtype"}:
        return np.array(d["$array"], dtype=np.dtype(d["dtype"]))
    return d


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
        if key.endswith("scale") and out[key] is not None and np.any(out[key] == 0):
            rd.fail(f"scaling.{key} must not contain zeros")
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
        The file is not valid JSON (e.g. truncated), not an lmtrain model, of an
        unsupported ``format_version``, or has a missing or mistyped entry.
    OSError
        The file cannot be opened.
    """
    path = os.fspath(path)
    with open(path, "r", encoding="utf-8") as f:
        text = f.read()
    if not text.strip():
        raise ModelFileError(f"{path}: the file is empty")
    try:
        d = json.loads(text, object_hook=_object_hook)
    except json.JSONDecodeError as exc:
        truncated = exc.pos >= len(text.rstrip()) or exc.msg.startswith("Unterminated string")
        hint = " (the file looks truncated)" if truncated else ""
        raise ModelFileError(f"{path}: not valid JSON{hint}: {exc.msg} (line {exc.lineno}, column {exc.colno})") \
            from None
    except (TypeError, ValueError) as exc:
        raise ModelFileError(f"{path}: {exc}") from None
    obj, metadata = from_dict(d, path)
    return (obj, metadata) if with_metadata else obj
