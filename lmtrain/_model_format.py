"""The model file format: its name and version, :class:`ModelFileError`, and
:func:`from_dict`, which checks every entry of a decoded file before it builds
the estimator or :class:`~lmtrain.estimators.Model` the file describes.

See :mod:`lmtrain.io`, which writes the format and reads the files.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np

from .estimators import LMClassifier, LMRegressor, Model
from .network import Network
from .result import History, StopReason, TrainResult

FORMAT = "lmtrain-model"
FORMAT_VERSION = 1

_ESTIMATORS = {"LMRegressor": LMRegressor, "LMClassifier": LMClassifier}
_KINDS = ("LMRegressor", "LMClassifier", "Model")
_NONFINITE = {"nan": math.nan, "inf": math.inf, "-inf": -math.inf}


class ModelFileError(ValueError):
    """A model file that cannot be read: not JSON, truncated, another format or
    version, or with missing or mistyped entries. The message names the file
    and the entry."""

    # public, and documented, as lmtrain.io.ModelFileError: tracebacks and pickles name it so
    __module__ = "lmtrain.io"


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
