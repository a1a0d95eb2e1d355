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


# --------------------------------------------------------- 3. saving respects the target
def test_save_through_a_symlink_replaces_its_target_and_keeps_the_link(tmp_path):
    real = tmp_path / "real.json"
    real.write_text("old")
    link = tmp_path / "link.json"
    link.symlink_to("real.json")
    atomic_write_text(link, "new")
    assert link.is_symlink() and os.readlink(link) == "real.json"
    assert real.read_text() == "new"
    dangling = tmp_path / "dangling.json"
    dangling.symlink_to("made.json")
    atomic_write_text(dangling, "made")  # as a shell redirection: the link's target is created
    assert dangling.is_symlink() and (tmp_path / "made.json").read_text() == "made"
    assert not [n for n in os.listdir(tmp_path) if n.endswith(".tmp")]


@posix_only
@pytest.mark.parametrize("mode", [0o600, 0o640, 0o444])
def test_save_keeps_the_permission_bits(tmp_path, mode):
    path = tmp_path / "m.json"
    path.write_text("old")
    os.chmod(path, mode)
    lm.save(lm.Model(lm.mlp([1, 1]), [0.5, 0.25]), path)
    assert stat.S_IMODE(os.stat(path).st_mode) == mode
    assert lm.load(path).weights.tolist() == [0.5, 0.25]


@posix_only
def test_save_writes_through_a_fifo_and_leaves_it_a_fifo(tmp_path):
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    got = {}
    reader = threading.Thread(target=lambda: got.setdefault("text", fifo.read_text()), daemon=True)
    reader.start()
    atomic_write_text(fifo, "through the pipe\n")
    reader.join(10)
    assert got["text"] == "through the pipe\n"
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode)


@posix_only
def test_save_refuses_a_socket_and_a_directory_in_one_line(tmp_path):
    sock_path = tmp_path / "sock"
    s = socket.socket(socket.AF_UNIX)
    try:
        s.bind(str(sock_path))
        with pytest.raises(OSError, match="it is a socket, not a regular file; refusing to replace it") as info:
            atomic_write_text(sock_path, "x")
        assert info.value.errno == errno.EINVAL
        assert stat.S_ISSOCK(os.lstat(sock_path).st_mode)
    finally:
        s.close()
    with pytest.raises(IsADirectoryError):
        atomic_write_text(tmp_path, "x")
    assert not [n for n in os.listdir(tmp_path) if n.endswith(".tmp")]


@pytest.fixture()
def full_device(tmp_path):
    """A symlink to /dev/full: a write-through fails with ENOSPC. The link, not the
    device, is what a regression back to 'replace whatever is there' would replace."""
    if not os.path.exists("/dev/full") or not stat.S_ISCHR(os.stat("/dev/full").st_mode):
        pytest.skip("no /dev/full character device here")
    link = tmp_path / "full"
    link.symlink_to("/dev/full")
    return link


@posix_only
def test_save_to_a_full_device_raises_and_leaves_the_device(full_device):
    with pytest.raises(OSError) as info:
        atomic_write_text(full_device, "x" * 10000)
    assert info.value.errno == errno.ENOSPC
    assert full_device.is_symlink() and stat.S_ISCHR(os.stat(full_device).st_mode)
    null = full_device.parent / "null"  # through a link, so a regression could only replace the link
    null.symlink_to("/dev/null")
    atomic_write_text(null, "discarded")  # a device that takes the text
    assert null.is_symlink() and stat.S_ISCHR(os.stat(null).st_mode)


@posix_only
def test_cli_train_and_predict_to_a_full_device_do_not_say_saved(full_device, tmp_path, capsys):
    code, out, err = run_cli(capsys, "train", SINCOS, "--target", "y", "--hidden", "3", "--max-iter", "3",
                             "--out", full_device)
    assert code == 2 and "saved" not in out
    assert one_error_line(err) == f"lmtrain: error: cannot write {full_device}: No space left on device"
    model = tmp_path / "m.json"
    assert run_cli(capsys, "train", SINCOS, "--target", "y", "--hidden", "3", "--max-iter", "3",
                   "--out", model)[0] == 0
    code, out, err = run_cli(capsys, "predict", model, SINCOS, "--out", full_device)
    assert code == 2 and "wrote" not in out + err.split("error:")[0]
    assert "No space left on device" in one_error_line(err)
    assert full_device.is_symlink() and stat.S_ISCHR(os.stat("/dev/full").st_mode)


@posix_only
def test_cli_refuses_a_socket_before_training(tmp_path, capsys):
    sock_path = tmp_path / "sock"
    s = socket.socket(socket.AF_UNIX)
    try:
        s.bind(str(sock_path))
        code, out, err = run_cli(capsys, "train", SINCOS, "--target", "y", "--out", sock_path)
    finally:
        s.close()
    assert code == 2 and out == ""  # refused before any training was printed
    assert "neither a regular file, a character device nor a FIFO" in one_error_line(err)


@posix_only
def test_stale_temporaries_are_removed_and_live_ones_kept(tmp_path):
    import fcntl

    stale = tmp_path / ".m.json.0123456789ab.tmp"
    stale.write_text("partial")
    live = tmp_path / ".m.json.aaaaaaaaaaaa.tmp"
    fd = os.open(live, os.O_WRONLY | os.O_CREAT)
    fcntl.flock(fd, fcntl.LOCK_EX)  # a save in progress holds this lock
    other = tmp_path / ".other.json.0123456789ab.tmp"  # another path's file
    other.write_text("x")
    lookalike = tmp_path / ".m.json.backup.tmp"  # not the pattern of a save
    lookalike.write_text("x")
    try:
        atomic_write_text(tmp_path / "m.json", "data")
        assert (tmp_path / "m.json").read_text() == "data"
        assert not stale.exists()
        assert live.exists() and other.exists() and lookalike.exists()
    finally:
        os.close(fd)
    atomic_write_text(tmp_path / "m.json", "again")  # the lock is gone: now it is a leftover
    assert not live.exists() and other.exists()


_KILLED_SAVE = """
import os, sys, time
import lmtrain.io as io
real_fsync = os.fsync
def stall(fd):
    print("writing", flush=True)
    time.sleep(60)
io.os.fsync = stall
io.atomic_write_text(sys.argv[1], "x" * 100000)
"""


@posix_only
def test_a_killed_save_leaves_a_temporary_that_the_next_save_removes(tmp_path):
    target = tmp_path / "m.json"
    target.write_text("old")
    child = subprocess.Popen([sys.executable, "-c", _KILLED_SAVE, str(target)], stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout.readline().strip() == "writing"
        leftovers = [n for n in os.listdir(tmp_path) if n.startswith(".m.json.") and n.endswith(".tmp")]
        assert len(leftovers) == 1
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait(30)
    assert target.read_text() == "old"
    assert (tmp_path / leftovers[0]).exists()  # killed: nothing could clean up
    atomic_write_text(target, "new")
    assert target.read_text() == "new"
    assert [n for n in os.listdir(tmp_path) if n.endswith(".tmp")] == []


_SAVER = """
import sys
from lmtrain.io import atomic_write_text
for i in range(int(sys.argv[3])):
    atomic_write_text(sys.argv[1], sys.argv[2] * 2000)
"""


@posix_only
def test_concurrent_savers_never_break_each_other(tmp_path):
    target = tmp_path / "m.json"
    procs = [subprocess.Popen([sys.executable, "-c", _SAVER, str(target), ch, "60"], stderr=subprocess.PIPE,
                              text=True) for ch in "ab"]
    errs = [p.communicate(timeout=120)[1] for p in procs]
    assert [p.returncode for p in procs] == [0, 0], errs
    assert target.read_text() in ("a" * 2000, "b" * 2000)
    assert [n for n in os.listdir(tmp_path) if n.endswith(".tmp")] == []


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


# --------------------------------------------------------- 6. corrupt model files
@pytest.fixture()
def model_text(tmp_path):
    net = lm.mlp([3, 2, 1])
    X, D = lm.datasets.parity(3)
    r = lm.train(net, X, D, seed=0, max_iter=3)
    path = tmp_path / "good.json"
    lm.save(lm.Model(net, r.weights, r, x_scale=[1.0, 2.0, 3.0]), path)
    return path.read_text()


def _load(tmp_path, content):
    p = tmp_path / "bad.json"
    p.write_bytes(content if isinstance(content, bytes) else content.encode())
    return lm.load(p)


def test_non_utf8_bytes_are_a_model_file_error_with_their_position(tmp_path, model_text):
    bad = model_text.encode().replace(b'"kind"', b'"k\xffind"', 1)
    with pytest.raises(ModelFileError, match=r"bad\.json: not a model file: byte 0xff at line \d+, column \d+ is not "
                                             r"UTF-8 text"):
        _load(tmp_path, bad)


def test_deep_nesting_is_a_model_file_error_not_a_recursion_error(tmp_path):
    with pytest.raises(ModelFileError, match=r"bad\.json: lists or objects nested 100000 deep \(the deepest at line 1, "
                                             r"column 100000\)"):
        _load(tmp_path, "[" * 100000)


def test_encoded_arrays_are_never_allocated_from_an_unchecked_dtype(tmp_path, model_text):
    d = json.loads(model_text)
    # anywhere the reader does not expect an array it is not decoded at all
    d["result"]["error"] = {"$array": [[0] * 7], "dtype": "V1000000000"}
    with pytest.raises(ModelFileError, match=r"result\.error must be a number, got an encoded array of dtype "
                                             r"'V1000000000'"):
        _load(tmp_path, json.dumps(d))
    d = json.loads(model_text)
    d["metadata"] = {"blob": {"$array": [0] * 7, "dtype": "V1000000000"}}
    assert lm.load(tmp_path / "good.json") is not None
    p = tmp_path / "meta.json"
    p.write_text(json.dumps(d))
    _, meta = lm.load(p, with_metadata=True)
    assert meta == {"blob": {"$array": [0] * 7, "dtype": "V1000000000"}}  # returned as written
    # where an array is expected, its type and size are checked first, and the entry named
    rd = lmio._Reader("m.json")
    with pytest.raises(ModelFileError, match=r"m\.json: result\.extra\.dtype 'V1000000000' is not a number type"):
        lmio._read_array(rd, {"$array": [0] * 7, "dtype": "V1000000000"}, "result.extra")
    with pytest.raises(ModelFileError, match=r"m\.json: result\.extra\.dtype 'foo' is not a numpy data type"):
        lmio._read_array(rd, {"$array": [1, 2], "dtype": "foo"}, "result.extra")
    with pytest.raises(ModelFileError, match=r"m\.json: result\.extra\.\$array cannot be read as int64"):
        lmio._read_array(rd, {"$array": [[1], [2, 3]], "dtype": "int64"}, "result.extra")
    assert lmio._read_array(rd, {"$array": [[1, 2], [3, 4]], "dtype": "int32"}, "x").dtype == np.int32


def test_unknown_tags_and_oversized_label_types_name_the_entry(tmp_path, model_text):
    bad = model_text.replace('"weights": [', '"weights": [{"$float": "NaNa"}, ', 1)
    with pytest.raises(ModelFileError, match=r"bad\.json: weights\[0\] must be a number, got the unknown non-finite "
                                             r"number tag 'NaNa'"):
        _load(tmp_path, bad)
    X, D = lm.datasets.parity(3)
    clf = lm.LMClassifier(hidden=2, max_iter=3, random_state=0).fit(X, np.where(D[:, 0] > 0, "odd", "even"))
    lm.save(clf, tmp_path / "clf.json")
    d = json.loads((tmp_path / "clf.json").read_text())
    d["estimator"]["classes"]["dtype"] = "<U100000000"  # 400 MB per label if allocated
    with pytest.raises(ModelFileError, match=r"bad\.json: estimator\.classes: dtype '<U100000000' is far larger than "
                                             r"its labels need"):
        _load(tmp_path, json.dumps(d))


@posix_only
def test_a_fifo_is_refused_at_once_instead_of_blocking(tmp_path):
    fifo = tmp_path / "model.json"
    os.mkfifo(fifo)
    out = {}

    def go():
        try:
            lm.load(fifo)
        except Exception as exc:  # noqa: BLE001 - the test inspects it
            out["exc"] = exc

    t = threading.Thread(target=go, daemon=True)
    t0 = time.perf_counter()
    t.start()
    t.join(5)
    assert not t.is_alive(), "load blocked on a FIFO"
    assert time.perf_counter() - t0 < 5
    assert isinstance(out["exc"], ModelFileError)
    assert str(out["exc"]) == (f"{fifo}: it is a FIFO (named pipe), not a regular file; a model is read from the "
                               f"file lmtrain.save wrote")
    with pytest.raises(IsADirectoryError):
        lm.load(tmp_path)


@pytest.mark.parametrize("key, index, value", [("x_scale", 1, -2.0), ("y_scale", 0, -1e-3), ("x_scale", 0, 0.0)])
def test_scales_must_be_positive_in_files_and_models(tmp_path, model_text, key, index, value):
    d = json.loads(model_text)
    d["scaling"][key] = d["scaling"][key] or [1.0]
    d["scaling"][key][index] = value
    with pytest.raises(ModelFileError, match=rf"bad\.json: scaling\.{key}\[{index}\] must be positive \(a standard "
                                             rf"deviation\), got {value!r}"):
        _load(tmp_path, json.dumps(d))
    with pytest.raises(ValueError, match=rf"^x_scale must hold positive numbers.*got -2 at index 1"):
        lm.Model(lm.mlp([3, 1]), np.zeros(4), x_scale=[1.0, -2.0, 1.0])


def test_cli_predict_with_a_corrupt_model_is_one_line(tmp_path, capsys, model_text):
    bad = tmp_path / "bad.json"
    bad.write_bytes(b"\xff\xfe{}")
    code, _, err = run_cli(capsys, "predict", bad, SINCOS)
    assert code == 2
    assert one_error_line(err).startswith(f"lmtrain: error: {bad}: not a model file: byte 0xff at line 1, column 1")
    bad.write_text("[" * 50000)
    code, _, err = run_cli(capsys, "predict", bad, SINCOS)
    assert code == 2 and "nested 50000 deep" in one_error_line(err)


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


@pytest.mark.parametrize("option", ["--max-iter", "--hidden", "--restarts", "--max-fail", "--seed"])
def test_cli_huge_integers_exit_2_naming_the_option(capsys, tmp_path, option):
    code, out, err = run_cli(capsys, "train", SINCOS, "--target", "y", option, str(BIG), "--out", tmp_path / "m.json")
    assert code == 2 and out == ""
    assert one_error_line(err) == (f"lmtrain train: error: argument {option}: must be between -2**63 and 2**63 - 1 "
                                   f"(a 64-bit integer), got {BIG} (see 'lmtrain train -h')")


def test_cli_compare_huge_trials_exit_2(capsys):
    code, _, err = run_cli(capsys, "compare", "--trials", str(BIG))
    assert code == 2
    assert one_error_line(err) == f"lmtrain: error: trials must be between -2**63 and 2**63 - 1 (a 64-bit integer), " \
                                  f"got {BIG}"


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


# --------------------------------------------------------- 12. the comparison plot
def test_plot_error_curves_takes_compares_dict_and_returns_a_figure():
    X, D = lm.datasets.parity(3)
    net = lm.mlp([3, 3, 1], gain=0.5)
    summary = lm.experiments.compare(net, X, D, {"EBP": ("ebp", {"alpha": 1.0, "max_iter": 40}),
                                                 "Gauss–Newton": "gauss_newton", "LM": "lm"},
                                     trials=6, seed=0, goal=0.01, progress=False)
    fig = lm.plotting.plot_error_curves(summary, goal=0.01)
    assert isinstance(fig, matplotlib.figure.Figure)
    ax = fig.axes[0]
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    for name in summary:  # every algorithm in the legend, once or twice (with its failures)
        assert name in labels or f"{name} (goal not reached)" in labels
    assert labels[-1] == "goal 0.01"
    colours = {}
    for line in ax.get_lines()[:-1]:
        colours.setdefault(line.get_color(), set()).add(line.get_linestyle())
    assert set(colours) == {"C0", "C1", "C2"}  # one colour per algorithm
    n_curves = sum(s.trials for s in summary.values())
    assert len(ax.get_lines()) == n_curves + 1
    failed = [line for line in ax.get_lines()[:-1] if line.get_linestyle() == "--"]
    assert len(failed) == sum(int((~s.reached_goal).sum()) for s in summary.values())
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    assert buf.getvalue().startswith(b"\x89PNG")
    plt.close(fig)

    fig2, ax2 = plt.subplots()
    assert lm.plotting.plot_error_curves(summary, ax2, goal=0.01) is ax2  # given an Axes, returns it
    assert isinstance(lm.plotting.plot_error_curves(summary["LM"]), matplotlib.figure.Figure)
    with pytest.raises(TypeError, match=r"^data\['LM'\]: data must be a TrialSummary"):
        lm.plotting.plot_error_curves({"LM": "not a summary"}, ax2)
    with pytest.raises(ValueError, match="empty dict"):
        lm.plotting.plot_error_curves({}, ax2)
    plt.close("all")


# --------------------------------------------------------- 13. names and help
def test_activation_names_are_shown_the_same_way_everywhere(capsys):
    with pytest.raises(ValueError, match=r"unknown activation 'relu'; expected bipolar \(tanh\), unipolar "
                                         r"\(sigmoid\) or linear \(also accepted: identity, logistic, logsig, "
                                         r"purelin, tansig\)"):
        lm.mlp([2, 1], activation="relu")
    assert activations.describe("tanh") == "bipolar (tanh)" and activations.describe("logistic") == \
        "unipolar (sigmoid)"
    with pytest.raises(SystemExit):
        main(["train", "-h"])
    helptext = " ".join(capsys.readouterr().out.split())
    assert "bipolar (tanh), unipolar (sigmoid) or linear (default bipolar (tanh))" in helptext
    args = build_parser().parse_args(["train", "d.csv", "--activation", "sigmoid"])
    assert args.activation == "unipolar"
    code, _, err = run_cli(capsys, "train", SINCOS, "--target", "y", "--activation", "relu")
    assert code == 2
    assert "expected bipolar (tanh), unipolar (sigmoid) or linear" in one_error_line(err)


@pytest.mark.parametrize("argv", [[], ["-m", "lmtrain"]], ids=["main([])", "python -m lmtrain"])
def test_no_arguments_print_help_and_exit_0(argv, capsys):
    if not argv:
        assert main([]) == 0
        out = capsys.readouterr().out
    else:
        p = subprocess.run([sys.executable, *argv], capture_output=True, text=True, timeout=120)
        assert p.returncode == 0 and p.stderr == ""
        out = p.stdout
    assert out.startswith("usage: lmtrain") and "commands:" in out and "train" in out and "predict" in out


def test_version_option(capsys):
    with pytest.raises(SystemExit) as info:
        main(["--version"])
    assert info.value.code == 0
    assert capsys.readouterr().out.strip() == f"lmtrain {lm.__version__}"


def _subcommand(parser, name):
    for action in parser._subparsers._group_actions:
        if name in action.choices:
            return action.choices[name]
    raise KeyError(name)


def test_every_option_of_train_predict_and_the_top_level_has_a_description():
    parser = build_parser()
    assert parser.description and parser.epilog
    parsers = {"lmtrain": parser, "train": _subcommand(parser, "train"), "predict": _subcommand(parser, "predict")}
    for name, p in parsers.items():
        assert p.description, name
        for action in p._actions:
            if action.dest in ("help",) or action.help == "==SUPPRESS==":
                continue
            if action.dest == "command":
                assert all(a.help for a in action._choices_actions), "a sub-command without a description"
                continue
            assert action.help and len(action.help) > 10, (name, action.option_strings or action.dest)


def test_cli_classify_accepts_text_labels(tmp_path, capsys):
    rng = np.random.default_rng(1)
    X = rng.uniform(-1, 1, (80, 2))
    kind = np.where(X[:, 0] * X[:, 1] > 0, "same sign", "opposite")
    table = tmp_path / "t.csv"
    table.write_text("a,b,kind\n" + "".join(f"{float(a)!r},{float(b)!r},{k}\n" for (a, b), k in zip(X, kind)))
    model = tmp_path / "m.json"
    code, out, err = run_cli(capsys, "train", table, "--target", "kind", "--classify", "--hidden", "6",
                             "--restarts", "2", "--out", model)
    assert code == 0, err
    assert "(2 classes)" in out
    clf = lm.load(model)
    assert list(clf.classes_) == ["opposite", "same sign"]
    code, out, err = run_cli(capsys, "predict", model, table)
    header, *rows = out.splitlines()
    assert header == "kind,p_opposite,p_same sign"
    predicted = np.array([r.split(",")[0] for r in rows])
    assert np.mean(predicted == kind) > 0.9
    # integer labels stay integers; an empty label and one beyond 64 bits are one-line errors
    table.write_text("a,b,c\n1,2,3\n2,3,-4\n3,4,3\n")
    assert run_cli(capsys, "train", table, "--target", "c", "--classify", "--max-iter", "2", "--out", model)[0] == 0
    assert lm.load(model).classes_.tolist() == [-4, 3]
    table.write_text("a,b,c\n1,2,x\n2,3,\n")
    code, _, err = run_cli(capsys, "train", table, "--target", "c", "--classify", "--out", model)
    assert code == 2 and one_error_line(err).endswith("line 3, column 'c': an empty cell; every row needs a class "
                                                      "label")
    table.write_text(f"a,b,c\n1,2,{BIG}\n2,3,1\n")
    code, _, err = run_cli(capsys, "train", table, "--target", "c", "--classify", "--out", model)
    assert code == 2 and f"the label {BIG} does not fit a 64-bit integer" in one_error_line(err)


def test_benchmark_table_prints_a_dash_for_a_missing_ratio(capsys, monkeypatch):
    monkeypatch.syspath_prepend(str(ROOT / "benchmarks"))  # run.py imports its neighbours
    spec = importlib.util.spec_from_file_location("bench_run", ROOT / "benchmarks" / "run.py")
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)  # defines functions only; nothing is measured
    assert bench._ratio(float("nan")) == "—" and bench._ratio(2.04) == "2.0x"
    rows = [bench.Row("never succeeds", 1.0, 10, 0, 10), bench.Row("other", 2.0, 10, 5, 10)]
    bench._table("t", rows, rows[0])
    out = capsys.readouterr().out
    assert "nan" not in out and "—" in out and "2.0x" in out


# --------------------------------------------------------- 15. the first run says it compiles
@pytest.fixture()
def _compile_notice():
    from lmtrain import _compile_notice

    return _compile_notice


class _Terminal(io.StringIO):
    def isatty(self):
        return True


class _Event:
    def __init__(self, module, start):
        def f():
            pass

        f.__module__ = module
        self.data = {"dispatcher": type("D", (), {"py_func": f})()}
        self.is_start, self.is_end = start, not start


def _wait_for(predicate, seconds=5.0):
    t = time.perf_counter()
    while not predicate() and time.perf_counter() - t < seconds:
        time.sleep(0.01)
    return predicate()


def test_compile_notice_is_written_once_after_the_delay_on_a_terminal(_compile_notice):
    term = _Terminal()
    notice = _compile_notice.CompileNotice(prefix="lmtrain", delay=0.2, stream=term)
    notice.on_start(_Event("lmtrain.engine", True))
    notice.on_start(_Event("lmtrain.engine", True))  # a callee compiling inside its caller
    time.sleep(0.05)
    assert term.getvalue() == ""  # not before the delay
    assert _wait_for(lambda: term.getvalue() != "")
    assert term.getvalue() == _compile_notice.MESSAGE + "\n"
    notice.on_end(_Event("lmtrain.engine", False))
    notice.on_end(_Event("lmtrain.engine", False))
    notice.on_start(_Event("lmtrain.algorithms._batch", True))
    notice.on_end(_Event("lmtrain.algorithms._batch", False))
    time.sleep(0.3)
    assert term.getvalue().count("compiling") == 1  # once per process


def test_compile_notice_sums_short_compilations_and_ignores_other_code(_compile_notice):
    term = _Terminal()
    notice = _compile_notice.CompileNotice(prefix="lmtrain", delay=0.15, stream=term)
    for _ in range(3):  # three compilations of 0.07 s: the third passes the delay
        notice.on_start(_Event("lmtrain.kernels", True))
        time.sleep(0.07)
        notice.on_end(_Event("lmtrain.kernels", False))
    notice.on_start(_Event("lmtrain.kernels", True))
    assert _wait_for(lambda: term.getvalue() != "")
    notice.on_end(_Event("lmtrain.kernels", False))
    quiet = _Terminal()
    other = _compile_notice.CompileNotice(prefix="lmtrain", delay=0.0, stream=quiet)
    other.on_start(_Event("lmtrainer.x", True))  # a name that only starts like ours
    other.on_start(_Event("mypackage", True))
    time.sleep(0.1)
    assert quiet.getvalue() == ""


def test_compile_notice_stays_silent_off_a_terminal(_compile_notice):
    pipe = io.StringIO()
    notice = _compile_notice.CompileNotice(prefix="lmtrain", delay=0.0, stream=pipe)
    notice.on_start(_Event("lmtrain.engine", True))
    assert _wait_for(lambda: notice.shown)
    assert pipe.getvalue() == ""


def test_compile_notice_hears_real_compilations_and_nothing_when_compiled(tmp_path, monkeypatch, _compile_notice):
    from numba.core import event

    (tmp_path / "notice_probe.py").write_text("from numba import njit\n\n@njit\ndef twice(x):\n    return 2 * x\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    import notice_probe

    term = _Terminal()
    notice = _compile_notice.CompileNotice(prefix="notice_probe", delay=0.0, stream=term)
    with event.install_listener("numba:compile", notice):
        assert notice_probe.twice(21) == 42
        assert _wait_for(lambda: term.getvalue() != "")
    assert term.getvalue() == _compile_notice.MESSAGE + "\n"
    # lmtrain's own listener is installed, and a call whose code is compiled triggers no event at all
    assert _compile_notice.NOTICE in event._registered["numba:compile"]
    X, D = lm.datasets.parity(3)
    net = lm.mlp([3, 3, 1], gain=0.5)
    lm.train(net, X, D, seed=0, goal=0.01)
    with event.install_recorder("numba:compile") as rec:
        lm.train(net, X, D, seed=1, goal=0.01)
    assert rec.buffer == []


def test_setup_study_shows_progress_on_a_terminal_only(monkeypatch):
    from lmtrain.cli.reproduce import chapters_dir, discover, load

    found = dict(discover(chapters_dir()))
    st = load(found["setup_study"])
    monkeypatch.setattr(lm.monitor, "PROGRESS_DELAY", 0.0)
    config = dict(st.QUICK, trials=2, alpha_scales=["half_sse"], caps=[50])
    term = _Terminal()
    rows = st.study(config, seed=0, log=lambda *a: None, stream=term)
    assert rows
    text = term.getvalue()
    per_network = len(config["mu0"]) + 1 + len(config["alpha_scales"]) * len(st.EBP_ALPHA)
    assert f"\rsetup_study: {per_network}/{per_network} runs (MLP 3-3-1, tanh(0.5·net))" in text
    assert "setup_study: 1/" in text and text.endswith("\r")  # the line is cleared at the end
    pipe = io.StringIO()
    st.study(config, seed=0, log=lambda *a: None, stream=pipe)
    assert pipe.getvalue() == ""
