"""Multi-trial runner (run_trials, compare, summary_table) and the ``lmtrain reproduce`` command."""

from __future__ import annotations

import io
import os
import sys
from collections import Counter

import numpy as np
import pytest

import lmtrain as lm
from lmtrain import experiments as ex
from lmtrain import monitor
from lmtrain.algorithms import get_algorithm
from lmtrain.cli import main as cli_main
from lmtrain.result import StopReason

GOAL = 0.01
TRIALS = 8


@pytest.fixture(scope="module")
def problem():
    X, D = lm.datasets.parity(3)
    return lm.mlp([3, 3, 1], gain=0.5), X, D


@pytest.fixture(scope="module")
def compared(problem):
    net, X, D = problem
    algorithms = {
        "EBP α=1": ("ebp", {"alpha": 1.0, "max_iter": 3000}),
        "Gauss–Newton": "gauss_newton",
        "LM": ("lm", {}),
    }
    return ex.compare(net, X, D, algorithms, trials=TRIALS, seed=5, goal=GOAL, progress=False)


class _Terminal(io.StringIO):
    """A stderr that claims to be a terminal."""

    def isatty(self):
        return True


# ---------------------------------------------------------------------- compare
def test_compare_starts_every_algorithm_from_the_same_weights(problem, compared):
    net, _, _ = problem
    expected = ex.trial_weights(net, TRIALS, seed=5)
    assert list(compared) == ["EBP α=1", "Gauss–Newton", "LM"]
    for label, s in compared.items():
        assert s.label == label
        assert s.trials == TRIALS
        np.testing.assert_array_equal(s.initial_weights, expected, err_msg=label)
    assert compared["EBP α=1"].options["alpha"] == 1.0
    assert all(s.options["goal"] == GOAL for s in compared.values())


def test_trial_weights_rows_are_the_spawned_seeds(problem):
    net, _, _ = problem
    W = ex.trial_weights(net, 4, seed=11)
    for i, child in enumerate(np.random.SeedSequence(11).spawn(4)):
        np.testing.assert_array_equal(W[i], net.init_weights(np.random.default_rng(child)))
    assert W.min() >= -1.0 and W.max() <= 1.0


@pytest.mark.parametrize("label,algorithm", [("LM", "lm"), ("EBP α=1", "ebp")])
def test_any_trial_replays_alone(problem, compared, label, algorithm):
    net, X, D = problem
    s = compared[label]
    opts = {k: s.options[k] for k in ("goal", "max_iter")}
    if algorithm == "ebp":
        opts["alpha"] = 1.0
    for i in (0, TRIALS - 1):
        w0 = ex.trial_weights(net, TRIALS, seed=5)[i]
        r = lm.train(net, X, D, algorithm, w0=w0, **opts)
        assert r.iterations == s.iterations[i]
        assert int(r.stop_reason) == s.stop_reason[i]
        np.testing.assert_allclose(r.weights, s.weights[i], rtol=1e-12, atol=1e-14)
        np.testing.assert_allclose(r.error, s.error[i], rtol=1e-12, atol=1e-15)
        n = min(len(r.history.error), s.error_history.shape[1])
        np.testing.assert_allclose(r.history.error[:n], s.error_history[i, :n], rtol=1e-12)


def test_lm_reaches_the_goal_on_parity3(compared):
    # the chapter's headline (Table 12.2): LM succeeds where Gauss–Newton fails
    s = compared["LM"]
    assert s.goal_rate == 1.0
    assert np.all(s.error <= GOAL)
    assert s.mean_iterations < 30
    assert compared["Gauss–Newton"].goal_rate < 0.5


def test_summary_numbers_match_the_per_trial_arrays(compared):
    rows = ex.summary_table(compared)
    assert [r["label"] for r in rows] == list(compared)
    assert all(set(r) == set(ex.SUMMARY_COLUMNS) for r in rows)
    for row, s in zip(rows, compared.values()):
        ok = [int(c) == int(StopReason.GOAL) for c in s.stop_reason]
        assert row["trials"] == len(ok)
        assert row["reached_goal"] == pytest.approx(sum(ok) / len(ok))
        its = [int(k) for k, good in zip(s.iterations, ok) if good]
        if its:
            assert row["mean_iterations"] == pytest.approx(sum(its) / len(its))
        else:
            assert np.isnan(row["mean_iterations"])
        assert row["mean_time_ms"] == pytest.approx(1e3 * sum(float(t) for t in s.time) / len(s.time))
        counts = Counter(StopReason(int(c)).name for c in s.stop_reason)
        assert row["stops"] == ", ".join(f"{k} {counts[k]}" for k in sorted(counts, key=lambda n: StopReason[n]))
        assert row["algorithm"] == s.algorithm
    assert "alpha=1" in rows[0]["options"] and "goal=0.01" in rows[0]["options"]


def test_summary_table_of_a_list_uses_labels(compared):
    rows = ex.summary_table(list(compared.values()))
    assert [r["label"] for r in rows] == list(compared)
    assert ex.summary_table(compared["LM"])[0]["label"] == "LM"


@pytest.mark.parametrize("bad,exc", [
    ({}, ValueError),
    ({"x": ("lm", "mu=1")}, TypeError),
    ({"x": ("nope", {})}, ValueError),
    ({1: "lm"}, TypeError),
    ([("lm", {})], TypeError),
    ({"x": ("ebp", {"mu": 1.0})}, TypeError),
])
def test_compare_rejects_bad_entries(problem, bad, exc):
    net, X, D = problem
    with pytest.raises(exc):
        ex.compare(net, X, D, bad, trials=2, progress=False)


def test_compare_shares_explicit_w0(problem):
    net, X, D = problem
    W0 = np.full((2, net.n_weights), 0.25)
    res = ex.compare(net, X, D, {"a": "lm", "b": ("lm", {"mu": 1.0})}, w0=W0, progress=False, max_iter=3)
    for s in res.values():
        np.testing.assert_array_equal(s.initial_weights, W0)
        assert s.trials == 2 and np.all(s.iterations <= 3)


# --------------------------------------------------------------------- progress
def test_progress_is_silent_when_stderr_is_not_a_terminal(problem, capsys):
    net, X, D = problem
    ex.run_trials(net, X, D, "lm", trials=3, seed=1, goal=GOAL)  # progress=True by default
    out, err = capsys.readouterr()
    assert out == "" and err == ""


def test_progress_on_a_terminal_and_same_results_in_chunks(problem, monkeypatch):
    net, X, D = problem
    plain = ex.run_trials(net, X, D, "ebp", trials=10, seed=2, goal=GOAL, alpha=1.0, progress=False)
    tty = _Terminal()
    monkeypatch.setattr(sys, "stderr", tty)
    monkeypatch.setattr(monitor, "PROGRESS_DELAY", 0.0)  # shown from the start, not after a second
    shown = ex.run_trials(net, X, D, "ebp", trials=10, seed=2, goal=GOAL, alpha=1.0, label="EBP")
    text = tty.getvalue()
    assert "\rEBP: 0/10 trials" in text and "EBP: 10/10 trials" in text
    assert text.endswith("\r") and "\n" not in text  # the line is wiped, not left behind
    for name in ("stop_reason", "iterations", "error", "weights"):
        np.testing.assert_array_equal(getattr(shown, name), getattr(plain, name), err_msg=name)
    np.testing.assert_array_equal(shown.error_history, plain.error_history)
    quiet = _Terminal()
    monkeypatch.setattr(sys, "stderr", quiet)
    ex.run_trials(net, X, D, "lm", trials=3, seed=2, goal=GOAL, progress=False)
    assert quiet.getvalue() == ""


def test_progress_stays_quiet_for_runs_shorter_than_its_delay(problem, monkeypatch):
    net, X, D = problem
    tty = _Terminal()
    monkeypatch.setattr(sys, "stderr", tty)
    ex.run_trials(net, X, D, "lm", trials=20, seed=2, goal=GOAL)  # milliseconds
    assert tty.getvalue() == ""


@pytest.mark.parametrize("algorithm, trials, opts", [("lm", 50, {}), ("ebp", 150, dict(alpha=1.0))])
@pytest.mark.parametrize("parallel", [False, True])
def test_small_chunks_give_the_results_of_one_call(problem, monkeypatch, algorithm, trials, opts, parallel):
    # a tiny interval keeps every chunk at its smallest size: several calls
    net, X, D = problem
    common = dict(trials=trials, seed=4, goal=GOAL, parallel=parallel, **opts)
    plain = ex.run_trials(net, X, D, algorithm, progress=False, **common)
    monkeypatch.setattr(sys, "stderr", _Terminal())
    monkeypatch.setattr(monitor, "PROGRESS_INTERVAL", 1e-12)
    calls = []
    real = ex._chunks

    def spy(*args):
        for span in real(*args):
            calls.append(span)
            yield span

    monkeypatch.setattr(ex, "_chunks", spy)
    chunked = ex.run_trials(net, X, D, algorithm, **common)
    first = lm.algorithms.first_chunk(get_algorithm(algorithm), X.shape[0], parallel)
    assert len(calls) == -(-trials // first) >= 2 and all(b - a <= first for a, b in calls)
    for name in ("stop_reason", "iterations", "error", "weights"):
        np.testing.assert_array_equal(getattr(chunked, name), getattr(plain, name), err_msg=name)
    np.testing.assert_array_equal(chunked.error_history, plain.error_history)


def test_chunks_cover_every_trial_once_and_grow():
    for total in (1, 2, 7, 100, 1001):
        for first in (1, 3, 16):
            spans = list(ex._chunks(total, True, first))
            covered = [i for a, b in spans for i in range(a, b)]
            assert covered == list(range(total))
            sizes = [b - a for a, b in spans[:-1]]
            assert all(s % first == 0 for s in sizes)
            assert all(b <= 2 * a for a, b in zip(sizes, sizes[1:]))  # at most doubling
    assert list(ex._chunks(50, False, 16)) == [(0, 50)]
    assert list(ex._chunks(10, True, 16)) == [(0, 10)]  # fewer trials than the first chunk: one call


# -------------------------------------------------------------------- reproduce
def test_reproduce_unknown_script_is_one_line_and_exit_2(capsys):
    assert cli_main(["reproduce", "--only", "bogus"]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert len(err.strip().splitlines()) == 1
    assert "bogus" in err and "table_12_1" in err


def test_reproduce_list_names_the_scripts_in_order(capsys):
    assert cli_main(["reproduce", "--list"]) == 0
    names = [line.split()[0] for line in capsys.readouterr().out.splitlines()]
    assert names[:8] == ["table_12_1", "fig_12_1", "fig_12_2", "fig_12_3", "fig_12_4", "fig_12_5", "fig_12_6",
                         "fig_12_7"]


def test_reproduce_missing_chapters_folder(tmp_path, capsys):
    assert cli_main(["reproduce", "--chapters", str(tmp_path / "nowhere")]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "nowhere" in err


def test_reproduce_runs_reports_what_each_script_printed(tmp_path, capsys):
    chapters = tmp_path / "chapters"
    chapters.mkdir()
    (chapters / "_helper.py").write_text("raise RuntimeError('helpers are not scripts')\n")
    (chapters / "fig_12_8.py").write_text(
        '"""Fake Fig. 12.8."""\n'
        "import argparse, pathlib\n"
        "def main(argv=None):\n"
        "    p = argparse.ArgumentParser(); p.add_argument('--quick', action='store_true')\n"
        "    p.add_argument('--out'); p.add_argument('--seed', type=int, default=0)\n"
        "    a = p.parse_args(argv)\n"
        "    path = pathlib.Path(a.out, 'table_12_2.md')\n"
        "    path.write_text('| a |\\n|---|\\n| quick=%s |\\n' % a.quick)\n"
        "    print(path)\n"
        "    print('| ms | quick=%s |' % a.quick)\n"
        "    return 0\n")
    (chapters / "broken.py").write_text('"""Fails."""\ndef main(argv=None):\n    print("why it failed")\n    return 3\n')
    out_dir = tmp_path / "out"
    code = cli_main(["reproduce", "--chapters", str(chapters), "--out", str(out_dir), "--quick"])
    out = capsys.readouterr().out
    assert code == 1  # one script failed, the other still ran
    lines = out.splitlines()
    assert any("fig_12_8" in ln and " s  ok" in ln for ln in lines)
    assert any("broken" in ln and "FAILED (exit 3)" in ln for ln in lines)
    assert sum("table_12_2.md" in ln for ln in lines) == 1  # listed once as written, the printed path dropped
    assert "      | ms | quick=True |" in lines  # --quick reached the script, its report is shown under it
    assert "      why it failed" in lines
    assert [ln.split()[1] for ln in lines if ln.startswith("[")] == ["fig_12_8", "broken"]
    assert "| a |" not in out  # the file's contents are not printed: only what the script printed


def test_reproduce_only_one_real_script(tmp_path, capsys):
    assert cli_main(["reproduce", "--only", "table_12_1.py", "--quick", "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "table_12_1" in out and "table_12_1.md" in out and "1 of 1 script(s) ran" in out
    assert (tmp_path / "table_12_1.csv").is_file()


def test_reproduce_only_reports_only_what_that_script_wrote(tmp_path, capsys):
    (tmp_path / "table_12_2.md").write_text("| algorithm |\n|---|\n| stale row from another run |\n")
    assert cli_main(["reproduce", "--only", "fig_12_6", "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "stale row" not in out and "Table 12.2" not in out
    written = [ln.split("wrote ", 1)[1] for ln in out.splitlines() if "wrote " in ln]
    assert [os.path.basename(w) for w in written] == ["fig_12_6.png"]


def test_reproduce_only_takes_several_names_and_refuses_unknown_ones(tmp_path, capsys):
    assert cli_main(["reproduce", "--only", "fig_12_6", "table_12_1", "--quick", "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert [ln.split()[1] for ln in out.splitlines() if ln.startswith("[")] == ["table_12_1", "fig_12_6"]
    assert cli_main(["reproduce", "--only", "fig_12_6", "nope", "--out", str(tmp_path)]) == 2
    assert "--only nope: no such chapter script" in capsys.readouterr().err


# --------------------------------------------------------------------- datasets
@pytest.mark.parametrize("n", [1, 2, 3, 5])
def test_parity_patterns_against_counting(n):
    X, D = lm.datasets.parity(n)
    assert X.shape == (2 ** n, n) and D.shape == (2 ** n, 1)
    assert len({tuple(r) for r in X}) == 2 ** n  # every combination once
    for x, d in zip(X, D[:, 0]):
        assert set(x) <= {-1.0, 1.0}
        assert d == (1.0 if list(x).count(1.0) % 2 == 1 else -1.0)
    U, DU = lm.datasets.parity(n, "unipolar")
    np.testing.assert_array_equal(U, (X + 1) / 2)
    np.testing.assert_array_equal(DU[:, 0], [sum(int(v) for v in u) % 2 for u in U])


def test_xor_is_parity_2():
    for enc in ("bipolar", "unipolar"):
        for a, b in zip(lm.datasets.xor(enc), lm.datasets.parity(2, enc)):
            np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(lm.datasets.xor()[1][:, 0], [-1, 1, 1, -1])
    with pytest.raises(ValueError):
        lm.datasets.parity(3, "ternary")


def test_reproduce_compiles_the_plain_kernels_before_it_waits_for_the_trial_loops(tmp_path, monkeypatch, capsys):
    """At the first script that runs trials, the main process compiles what later scripts need,
    then waits for the background processes, then runs the script; the scripts before it do not wait."""
    import argparse

    from lmtrain.cli import reproduce

    events = []
    monkeypatch.setattr(sys, "_lmtrain_test_events", events, raising=False)
    monkeypatch.setattr(ex, "warm_up", lambda **kw: events.append(("warm_up", kw)))

    class Background:
        def wait(self, timeout=None):
            events.append("wait")

    chapters = tmp_path / "chapters"
    chapters.mkdir()
    for name in ("fig_12_1", reproduce.FIRST_TRIALS):
        (chapters / f"{name}.py").write_text(
            f'"""{name}."""\nimport sys\ndef main(argv=None):\n    sys._lmtrain_test_events.append("{name}")\n'
            "    return 0\n")
    args = argparse.Namespace(quick=True, out=str(tmp_path / "out"), verbose=False)
    (tmp_path / "out").mkdir()
    code = reproduce._run_scripts(args, chapters, reproduce.discover(chapters), tmp_path / "out", [],
                                  [Background(), Background()])
    capsys.readouterr()
    assert code == 0
    assert events == ["fig_12_1", ("warm_up", {"loop": (), "lanes": False, "plain": True}), "wait", "wait",
                      reproduce.FIRST_TRIALS]


def test_warm_up_plain_writes_the_kernels_later_chapter_scripts_use_to_the_cache(tmp_path):
    """``warm_up(plain=True)`` in a fresh process with an empty cache leaves the plain kernels
    behind Network.forward, .jacobian and .error in it (what limit_inversion and limit_topology use)."""
    import subprocess

    env = dict(os.environ, NUMBA_CACHE_DIR=str(tmp_path))
    subprocess.run([sys.executable, "-c",
                    "from lmtrain.experiments import warm_up; warm_up(loop=(), lanes=False, plain=True)"],
                   env=env, check=True, timeout=600)
    cached = {p.name.split("-")[0] for p in tmp_path.rglob("*.nbi")}
    assert {"forward.forward", "backward.jacobian", "forward.error"} <= cached, sorted(cached)
