"""Reliability and first use: saves that respect their target, data and integers
too large for float64/int64 caught at the door, corrupt model files, messages
that name their argument, targets outside the output's range, the comparison
plot, command-line names and help, and the first-run compile notice.

Each test reproduces one fault that was seen and asserts on the value, the
message or the exit status that replaced it.
"""

from __future__ import annotations

import errno
import importlib.util
import io
import json
import os
import signal
import socket
import stat
import subprocess
import sys
import threading
import time
import warnings
from pathlib import Path

import matplotlib

matplotlib.use("Agg", force=True)

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

import lmtrain as lm  # noqa: E402
from lmtrain import activations  # noqa: E402
from lmtrain import io as lmio  # noqa: E402
from lmtrain.cli import build_parser, main  # noqa: E402
from lmtrain.io import ModelFileError, atomic_write_text  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
SINCOS = ROOT / "examples" / "sincos.csv"
posix_only = pytest.mark.skipif(os.name != "posix", reason="FIFOs, sockets, devices and flock are POSIX")


def run_cli(capsys, *argv):
    try:
        code = main([str(a) for a in argv])
    except SystemExit as exc:  # argparse's own errors (exit 2) and --help/--version (exit 0)
        code = exc.code
    out, err = capsys.readouterr()
    return code, out, err


def one_error_line(err: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in err, err
    return lines[0]


def _python(code: str, **kw):
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, **kw)


# --------------------------------------------------------- 4. finite but huge data
@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(0)
    X = rng.uniform(-1, 1, (30, 2))
    return X, np.sin(3 * X[:, 0]) + X[:, 1]


@pytest.mark.parametrize("make, message", [
    (lambda X, y: (X, y * 1e300), r"^y cannot be standardised: its standard deviation overflows float64"),
    (lambda X, y: (X * [1.0, 1e300], y), r"^X column 1 cannot be standardised: its standard deviation overflows"),
    (lambda X, y: (X, np.where(y > 0, 1.7e308, 1.6e308)), r"^y cannot be standardised: its mean overflows"),
    (lambda X, y: (X * [-1.7e308, 1.0], y), r"^X column 0 cannot be standardised: its mean overflows"),
])
def test_regressor_names_the_column_that_overflows(data, make, message):
    X, y = make(*data)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no numpy overflow warning on the way
        with pytest.raises(ValueError, match=message) as info:
            lm.LMRegressor(hidden=2, max_iter=3, random_state=0).fit(X, y)
    assert "NaN or infinite" not in str(info.value) and "rescale it" in str(info.value)


def test_unstandardised_and_classifier_fits_name_the_column(data):
    X, y = data
    with pytest.raises(ValueError, match=r"^y is too large for float64 arithmetic.*E = ½Σe²"):
        lm.LMRegressor(hidden=2, max_iter=3, standardize=False).fit(X, y * 1e200)
    with pytest.raises(ValueError, match=r"^X column 1 is too large for float64 arithmetic.*JᵀJ"):
        lm.LMRegressor(hidden=2, max_iter=3, standardize=False).fit(X * [1.0, 1e160], y)
    with pytest.raises(ValueError, match=r"^X column 0 cannot be standardised"):
        lm.LMClassifier(hidden=2, max_iter=3).fit(X * [1e300, 1.0], y > 0)


@pytest.mark.parametrize("as_given", [np.ascontiguousarray, lambda a: a.tolist()], ids=["fast path", "general"])
def test_train_refuses_data_whose_squares_overflow(data, as_given):
    X, y = data
    net = lm.mlp([2, 3, 1], output_activation="linear")
    D = y.reshape(-1, 1)
    with pytest.raises(ValueError, match=r"^D column 0 is too large.*largest value .*e\+300.*divide it by"):
        lm.train(net, as_given(X), as_given(D * 1e300), seed=0, max_iter=3)
    with pytest.raises(ValueError, match=r"^X column 1 is too large"):
        lm.train(net, as_given(X * [1.0, 1e300]), as_given(D), seed=0, max_iter=3)
    # each square fits, their sum over 30 patterns does not
    with pytest.raises(ValueError, match=r"^D column 0 is too large"):
        lm.train(net, as_given(X), as_given(np.full_like(D, 1.2e154)), seed=0, max_iter=3)
    r = lm.train(net, as_given(X * 1e100), as_given(D * 1e100), seed=0, max_iter=3)  # large is fine
    assert np.isfinite(r.initial_error)
    with pytest.raises(ValueError, match=r"^D column 0 is too large"):
        lm.experiments.run_trials(net, X, D * 1e300, trials=2, max_iter=3, progress=False)


# --------------------------------------------------------- 7. integers of 2**63 and above
BIG = 10**20


@pytest.mark.parametrize("call, name", [
    (lambda n, X, D: lm.train(n, X, D, seed=0, max_iter=BIG), "max_iter"),
    (lambda n, X, D: lm.train(n, X, D, seed=0, max_tries=BIG), "max_tries"),
    (lambda n, X, D: lm.train(n, X, D, seed=0, max_fail=BIG, validation=(X, D)), "max_fail"),
    (lambda n, X, D: lm.train(n, X, D, seed=0, goal=10**400), "goal"),
    (lambda n, X, D: lm.experiments.run_trials(n, X, D, trials=BIG), "trials"),
    (lambda n, X, D: lm.experiments.run_trials(n, X, D, trials=2, max_iter=BIG), "max_iter"),
    (lambda n, X, D: lm.experiments.run_trials(n, X, D, trials=2, history=BIG), "history"),
    (lambda n, X, D: lm.LMRegressor(max_iter=BIG).fit(X, D), "max_iter"),
    (lambda n, X, D: lm.LMRegressor(restarts=BIG).fit(X, D), "restarts"),
    (lambda n, X, D: lm.LMRegressor(hidden=(BIG,)).fit(X, D), "hidden"),
    (lambda n, X, D: lm.LMRegressor(max_fail=-BIG).fit(X, D), "max_fail"),
])
def test_huge_integers_are_a_value_error_naming_the_option(call, name):
    X, D = lm.datasets.parity(3)
    with pytest.raises(ValueError, match=rf"^{name} (must be between -2\*\*63 and 2\*\*63 - 1|is too large)"):
        call(lm.mlp([3, 2, 1]), X, D)


def test_class_labels_beyond_64_bits_are_a_value_error():
    X, D = lm.datasets.parity(3)
    y = [10**30 if d > 0 else 1 for d in D[:, 0]]
    with pytest.raises(ValueError, match=r"^y holds the class label 10{30}, beyond 64-bit integers; give such labels "
                                         r"as strings"):
        lm.LMClassifier(hidden=2, max_iter=3).fit(X, y)
    clf = lm.LMClassifier(hidden=2, max_iter=3, random_state=0).fit(X, [str(v) for v in y])
    assert sorted(clf.classes_) == ["1", str(10**30)]


# --------------------------------------------------------- 9. messages that name their argument
@pytest.mark.parametrize("seed, exc, message", [
    (-1, ValueError, r"^seed must be a non-negative int, got -1$"),
    ("a", TypeError, r"^seed must be None, a non-negative int or a numpy SeedSequence, got 'a'$"),
    (1.5, TypeError, r"^seed must be None, a non-negative int or a numpy SeedSequence, got 1\.5$"),
    (True, TypeError, r"^seed must be None, a non-negative int or a numpy SeedSequence, got True$"),
])
def test_run_trials_seed_errors_name_seed(seed, exc, message):
    X, D = lm.datasets.parity(3)
    with pytest.raises(exc, match=message):
        lm.experiments.run_trials(lm.mlp([3, 2, 1]), X, D, trials=2, seed=seed, progress=False)
    with pytest.raises(exc, match=message):
        lm.experiments.trial_weights(lm.mlp([3, 2, 1]), 2, seed)


def test_a_seed_sequence_is_accepted_and_not_moved_on():
    net = lm.mlp([3, 2, 1])
    ss = np.random.SeedSequence(42)
    W = lm.experiments.trial_weights(net, 3, ss)
    assert ss.n_children_spawned == 0
    np.testing.assert_array_equal(W, lm.experiments.trial_weights(net, 3, 42))


def test_w0_errors_name_w0():
    X, D = lm.datasets.parity(3)
    net = lm.mlp([3, 2, 1])
    N = net.n_weights
    with pytest.raises(TypeError, match=r"^w0 must hold numbers, got dtype <U1"):
        lm.train(net, X, D, w0=["a"] * N)
    with pytest.raises(TypeError, match=r"^w0 must hold numbers, got dtype <U1"):
        lm.experiments.run_trials(net, X, D, w0=[["a"] * N], progress=False)
    with pytest.raises(TypeError, match=r"^w0 must be real, got dtype complex128"):
        lm.experiments.run_trials(net, X, D, w0=np.ones((2, N)) * (1 + 1j), max_iter=2, progress=False)
    with pytest.raises(ValueError, match=r"^w0 contains 1 NaN or infinite value"):
        lm.experiments.run_trials(net, X, D, w0=np.where(np.arange(N) == 3, np.nan, 0.1)[None], progress=False)
    with pytest.raises(ValueError, match=rf"^w0 must be a finite array of shape \(trials, {N}\)"):
        lm.experiments.run_trials(net, X, D, w0=np.zeros((2, N + 1)), progress=False)


def test_curve_fit_refuses_complex_values_naming_the_model():
    x = np.linspace(0.0, 1.0, 8)

    def wavy(x, p):
        return p[0] * np.exp(1j * x)

    with pytest.raises(TypeError, match=r"^model\(x, p\) returned complex values at p0 \(the function "
                                        r"'test_curve_fit_refuses_complex_values_naming_the_model\.<locals>\.wavy'\)"):
        lm.curve_fit(wavy, x, np.cos(x), [1.0])

    def line(x, p):
        return p[0] * x

    def complex_jac(x, p):
        return (x + 0j).reshape(-1, 1)

    with pytest.raises(TypeError, match=r"^jac\(x, p\) returned complex values at p = \[1\.0\] \(the function "
                                        r"'.*complex_jac'\)"):
        lm.curve_fit(line, x, 2 * x, [1.0], jac=complex_jac)


# --------------------------------------------------------- 11. targets outside the output's range
def _range_warnings(record):
    return [w for w in record if issubclass(w.category, lm.TargetRangeWarning)]


@pytest.mark.parametrize("as_given", [np.ascontiguousarray, lambda a: a.tolist()], ids=["fast path", "general"])
def test_train_warns_when_targets_leave_the_output_range(as_given):
    x = np.linspace(-np.pi / 2, np.pi / 2, 51).reshape(-1, 1)
    with pytest.warns(lm.TargetRangeWarning) as record:
        r = lm.train(lm.mlp([1, 5, 1]), as_given(x), as_given(3 * np.sin(x)), seed=0, max_iter=5)
    assert r.stop_reason is not lm.StopReason.GOAL
    msg = str(_range_warnings(record)[0].message)
    assert msg == ("D holds values from -3 to 3, outside the range -1 to 1 of its bipolar (tanh) output neuron, "
                   "which cannot reach them; for regression use a linear output (output_activation=\"linear\", "
                   "e.g. lm.mlp(sizes, output_activation=\"linear\")) or rescale the targets into the range")
    assert record[0].filename == __file__  # points at the caller's line
    with pytest.warns(lm.TargetRangeWarning, match=r"outside the range 0 to 1 of its unipolar \(sigmoid\)"):
        lm.train(lm.mlp([1, 3, 1], output_activation="sigmoid"), as_given(x), as_given(np.sin(x)), seed=0,
                 max_iter=3)


def test_no_warning_for_a_linear_output_targets_in_range_or_a_reached_goal():
    x = np.linspace(-np.pi, np.pi, 50).reshape(-1, 1)
    X, D = lm.datasets.parity(3)
    with warnings.catch_warnings():
        warnings.simplefilter("error", lm.TargetRangeWarning)
        lm.train(lm.mlp([1, 5, 1], output_activation="linear"), x, 3 * np.sin(x), seed=0, max_iter=5)
        lm.train(lm.mlp([1, 5, 1]), x, 0.9 * np.sin(x), seed=0, max_iter=5)
        r = lm.train(lm.mlp([3, 3, 1], gain=0.5), X, D, seed=0, goal=0.01)  # ±1 targets, tanh output
        assert r.success
        lm.train(lm.mlp([3, 3, 1], gain=0.5), X, 5 * D, seed=0, goal=100.0)  # out of range, goal reached


def test_estimators_warn_once_about_the_output_range(data):
    X, y = data
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        lm.LMRegressor(hidden=2, output_activation="tanh", restarts=3, max_iter=3, random_state=0).fit(X, y)
    found = _range_warnings(record)
    assert len(found) == 1
    assert str(found[0].message).startswith("standardised y holds values from ")
    assert 'output_activation="linear", the LMRegressor default' in str(found[0].message)
    assert found[0].filename == __file__
    with warnings.catch_warnings():
        warnings.simplefilter("error", lm.TargetRangeWarning)
        lm.LMRegressor(hidden=2, max_iter=3, random_state=0).fit(X, y)
        for act in ("tanh", "sigmoid", "linear"):
            lm.LMClassifier(hidden=2, max_iter=3, output_activation=act, random_state=0).fit(X, y > 0)
