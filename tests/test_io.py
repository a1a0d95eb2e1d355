"""lm.save / lm.load: exact round trips, and clear errors for bad files."""

from __future__ import annotations

import json
import os

import numpy as np
import pytest

import lmtrain as lm
from lmtrain.io import FORMAT, FORMAT_VERSION, ModelFileError


def _data(n=60, seed=0):
    X = np.random.default_rng(seed).uniform(-2, 2, (n, 3))
    return X, np.sin(X[:, 0]) + X[:, 1] * X[:, 2]


@pytest.fixture(scope="module")
def fitted():
    X, y = _data()
    reg = lm.LMRegressor(hidden=(5,), max_iter=15, random_state=0).fit(X, y)
    multi = lm.LMRegressor(hidden=3, topology="fcc", max_iter=10, random_state=1).fit(
        X, np.column_stack([y, -2.0 * y + 1e-300]))
    labels = np.array(["low", "mid", "high"])[np.digitize(y, [-0.5, 0.5])]
    clf = lm.LMClassifier(hidden=(4,), max_iter=15, restarts=2, validation_fraction=0.25,
                          random_state=np.random.default_rng(3)).fit(X, labels)
    net = lm.mlp([3, 3, 1], activation="bipolar", gain=0.5)
    Xp, Dp = lm.datasets.parity(3)
    r = lm.train(net, Xp, Dp, "ebp", seed=0, alpha=1.0, max_iter=30)  # NaN μ history, inf max_time
    model = lm.Model(net, r.weights, r, x_mean=[0.1, -0.2, 0.0], x_scale=[1.5, 2.0, 0.3],
                     y_mean=[1e-17], y_scale=[3.0])
    return {"reg": reg, "multi": multi, "clf": clf, "model": model, "bare": lm.Model(net, r.weights)}


def _same_result(a, b):
    assert (a is None) == (b is None)
    if a is None:
        return
    assert np.array_equal(a.weights, b.weights)
    assert a.stop_reason is b.stop_reason and a.iterations == b.iterations
    assert a.error == b.error and a.initial_error == b.initial_error and a.elapsed == b.elapsed
    assert a.algorithm == b.algorithm and a.options == b.options
    for key, v in a.history.to_dict().items():
        assert np.array_equal(np.asarray(v), getattr(b.history, key), equal_nan=True), key
        assert getattr(b.history, key).dtype == getattr(a.history, key).dtype, key


@pytest.mark.parametrize("name", ["reg", "multi", "clf"])
def test_estimator_round_trip_is_bit_for_bit(fitted, name, tmp_path):
    est = fitted[name]
    path = tmp_path / "m.json"
    lm.save(est, path, metadata={"note": "x", "n": [1, 2]})
    back, meta = lm.load(path, with_metadata=True)
    assert type(back) is type(est) and meta == {"note": "x", "n": [1, 2]}
    X, _ = _data(40, seed=9)
    assert np.array_equal(back.predict(X), est.predict(X))
    if name == "clf":
        assert np.array_equal(back.predict_proba(X), est.predict_proba(X))
        assert back.classes_.dtype == est.classes_.dtype and list(back.classes_) == list(est.classes_)
        assert back.random_state is None  # a Generator's state is not stored
        assert back.validation_error_ == est.validation_error_
    else:
        assert back.get_params() == est.get_params()
    assert back.net_ == est.net_ and np.array_equal(back.weights_, est.weights_)
    for attr in ("x_mean_", "x_scale_", "restart_errors_"):
        assert np.array_equal(getattr(back, attr), getattr(est, attr))
    assert back.n_iter_ == est.n_iter_ and back.best_restart_ == est.best_restart_
    _same_result(est.result_, back.result_)
    # saving the loaded estimator writes the same file again
    lm.save(back, tmp_path / "again.json", metadata=meta)
    assert (tmp_path / "again.json").read_text() == path.read_text()


@pytest.mark.parametrize("name", ["model", "bare"])
def test_model_round_trip_is_bit_for_bit(fitted, name, tmp_path):
    m = fitted[name]
    lm.save(m, tmp_path / "m.json")
    back = lm.load(tmp_path / "m.json")
    assert isinstance(back, lm.Model) and back.net == m.net
    X = np.random.default_rng(5).uniform(-1, 1, (17, 3))
    assert np.array_equal(back.predict(X), m.predict(X))
    for attr in ("x_mean", "x_scale", "y_mean", "y_scale"):
        a, b = getattr(m, attr), getattr(back, attr)
        assert (a is None and b is None) or np.array_equal(a, b)
    _same_result(m.result, back.result)


def test_file_is_strict_json_with_format_and_version(fitted, tmp_path):
    lm.save(fitted["model"], tmp_path / "m.json")
    text = (tmp_path / "m.json").read_text()

    def no_constants(name):
        raise AssertionError(f"non-standard JSON constant {name}")

    d = json.loads(text, parse_constant=no_constants)
    assert d["format"] == FORMAT == "lmtrain-model" and d["format_version"] == FORMAT_VERSION == 1
    assert d["kind"] == "Model" and d["result"]["stop_reason"] in lm.StopReason.__members__
    assert d["result"]["options"]["max_time"] == {"$float": "inf"}
    assert {"$float": "nan"} in d["result"]["history"]["mu"]  # EBP has no μ
    assert len(d["result"]["history"]["error"]) == fitted["model"].result.iterations


# ------------------------------------------------------------------ bad files
@pytest.fixture()
def good(fitted, tmp_path):
    path = tmp_path / "good.json"
    lm.save(fitted["clf"], path)
    return json.loads(path.read_text())


def _load_text(tmp_path, text):
    p = tmp_path / "bad.json"
    p.write_text(text)
    return lm.load(p)


def _load_dict(tmp_path, d):
    return _load_text(tmp_path, json.dumps(d))


def test_truncated_malformed_and_empty_files(fitted, tmp_path):
    lm.save(fitted["reg"], tmp_path / "m.json")
    text = (tmp_path / "m.json").read_text()
    for cut in range(len(text) // 2, len(text) // 2 + 40):  # cuts inside numbers, strings, between tokens
        with pytest.raises(ModelFileError, match=r"bad\.json: not valid JSON \(the file looks truncated\)"):
            _load_text(tmp_path, text[:cut])
    with pytest.raises(ModelFileError, match=r"not valid JSON: Expecting property name .*\(line 1, column 2\)"):
        _load_text(tmp_path, "{nonsense: 1}")
    with pytest.raises(ModelFileError, match="the file is empty"):
        _load_text(tmp_path, "  \n")
    with pytest.raises(ModelFileError, match="top level"):
        _load_text(tmp_path, "[1, 2]")
    with pytest.raises(ModelFileError, match="non-finite number tag 'NaNa'"):
        _load_text(tmp_path, text.replace('"weights": [', '"weights": [{"$float": "NaNa"}, ', 1))
    with pytest.raises(FileNotFoundError):
        lm.load(tmp_path / "missing.json")


def test_wrong_format_and_version(good, tmp_path):
    with pytest.raises(ModelFileError, match="not an lmtrain model file.*'format' is the string 'keras'"):
        _load_dict(tmp_path, {**good, "format": "keras"})
    with pytest.raises(ModelFileError, match="not an lmtrain model file.*null"):
        _load_dict(tmp_path, {k: v for k, v in good.items() if k != "format"})
    with pytest.raises(ModelFileError, match="format_version 2 is not supported.*newer.*reads version 1"):
        _load_dict(tmp_path, {**good, "format_version": 2})
    with pytest.raises(ModelFileError, match="'format_version' must be an integer, got the string '1'"):
        _load_dict(tmp_path, {**good, "format_version": "1"})
    with pytest.raises(ModelFileError, match="unknown kind 'SVM'"):
        _load_dict(tmp_path, {**good, "kind": "SVM"})


@pytest.mark.parametrize("key", ["format_version", "kind", "network", "weights", "scaling", "result", "estimator"])
def test_missing_top_level_entries(good, tmp_path, key):
    with pytest.raises(ModelFileError, match=f"missing entry '{key}'"):
        _load_dict(tmp_path, {k: v for k, v in good.items() if k != key})


def _edit(d, path, value=None, delete=False):
    d = json.loads(json.dumps(d))
    node = d
    for k in path[:-1]:
        node = node[k]
    if delete:
        del node[path[-1]]
    else:
        node[path[-1]] = value
    return d


@pytest.mark.parametrize("path, value, delete, message", [
    (["result", "history", "mu"], None, True, r"missing entry 'result\.history\.mu'"),
    (["result", "stop_reason"], None, True, r"missing entry 'result\.stop_reason'"),
    (["estimator", "classes"], None, True, r"missing entry 'estimator\.classes'"),
    (["estimator", "params"], None, True, r"missing entry 'estimator\.params'"),
    (["scaling", "x_scale"], None, True, r"missing entry 'scaling\.x_scale'"),
    (["weights"], "0.5, 0.25", False, r"'weights' must be a list, got the string"),
    (["weights", 0], "0.5", False, r"weights\[0\] must be a number, got the string '0.5'"),
    (["weights", 0], True, False, r"weights\[0\] must be a number, got a boolean"),
    (["result", "stop_reason"], "DONE", False, r"result\.stop_reason must be one of"),
    (["result", "iterations"], -1, False, r"result\.iterations must be a non-negative integer"),
    (["result", "history", "error"], [1.0], False, r"different lengths"),
    (["estimator", "n_features_in"], "3", False, r"'estimator\.n_features_in' must be an integer, got the string '3'"),
    (["estimator", "n_features_in"], 4, False, r"n_features_in is 4 but the network has 3 inputs"),
    (["estimator", "params", "layers"], 3, False, r"unknown parameter\(s\) \['layers'\]"),
    (["estimator", "classes", "dtype"], "M8[ns]", False, r"estimator\.classes: unsupported dtype"),
    (["estimator", "classes", "values"], ["a", "b"], False, r"3 classes need|2 classes need"),
    (["estimator", "target_codes"], [1.0, -1.0], False, r"target_codes must be two finite numbers, low < high"),
    (["estimator", "target_codes"], None, True, r"missing entry 'estimator\.target_codes'"),
    (["scaling", "x_scale"], [1.0, 0.0, 1.0], False,
     r"scaling\.x_scale\[1\] must be positive \(a standard deviation\), got 0\.0"),
    (["scaling", "x_mean"], [1.0], False, r"scaling\.x_mean must have 3 entries, got 1"),
    (["network", "neurons", 0, "activation"], "relu", False, r"network: neuron 0 .*unknown activation 'relu'"),
    (["network", "n_inputs"], None, True, r"network: network description is missing 'n_inputs'"),
])
def test_missing_or_mistyped_entries(good, tmp_path, path, value, delete, message):
    with pytest.raises(ModelFileError, match=message):
        _load_dict(tmp_path, _edit(good, path, value, delete))


def test_weight_count_must_match_the_network(good, tmp_path):
    d = _edit(good, ["weights"], good["weights"][:-1])
    with pytest.raises(ModelFileError, match=r"weights must have \d+ entries, got \d+"):
        _load_dict(tmp_path, d)


# ------------------------------------------------------------------- writing
def test_save_is_atomic_and_checks_its_argument(fitted, tmp_path, monkeypatch):
    path = tmp_path / "m.json"
    lm.save(fitted["reg"], path)
    before = path.read_text()
    with pytest.raises(lm.estimators.NotFittedError):
        lm.save(lm.LMRegressor(), path)
    with pytest.raises(TypeError, match="cannot be saved"):
        lm.save(fitted["reg"], path, metadata={"bad": object()})
    with pytest.raises(TypeError, match=r"lm\.Model\(net, weights, result\)"):
        lm.save((fitted["model"].net, fitted["model"].weights), path)
    assert path.read_text() == before
    assert sorted(os.listdir(tmp_path)) == ["m.json"]  # no temporary file left behind
    with pytest.raises(OSError):
        lm.save(fitted["reg"], tmp_path / "no" / "such" / "dir.json")
    assert sorted(os.listdir(tmp_path)) == ["m.json"]
    # a failure at the last moment (the rename) keeps the old file and leaves no temporary one
    monkeypatch.setattr(os, "replace", _fail_replace)
    with pytest.raises(OSError, match="disk full"):
        lm.save(fitted["clf"], path)
    assert path.read_text() == before and sorted(os.listdir(tmp_path)) == ["m.json"]


def _fail_replace(src, dst):
    raise OSError("disk full")
