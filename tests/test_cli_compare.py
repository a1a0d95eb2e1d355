"""``lmtrain compare``: the table equals the Python API's, options reach the
rules, the figure is written, and bad input gives one error line (status 2)
without writing anything."""

from __future__ import annotations

import csv
import math
import os
import re

import pytest

import lmtrain as lm
from lmtrain.cli.compare import parse_spec
from lmtrain.cli import main
from lmtrain.experiments import compare, summary_table


def run(capsys, *argv):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_table_and_csv_equal_the_python_api(tmp_path, capsys):
    csv_path, png = tmp_path / "t.csv", tmp_path / "curves.png"
    code, out, err = run(capsys, "compare", "--trials", 6, "--seed", 2, "--sizes", 3, 3, 1,
                         "--algorithm", "lm:mu=0.1,mu_inc=5", "ebp:alpha=1,max_iter=300", "gauss_newton",
                         "--csv", csv_path, "--plot", png)
    assert code == 0, err
    net = lm.mlp([3, 3, 1], activation="bipolar", gain=0.5)
    X, D = lm.datasets.parity(3)
    expect = summary_table(compare(net, X, D, {
        "lm:mu=0.1,mu_inc=5": ("lm", {"mu": 0.1, "mu_inc": 5}),
        "ebp:alpha=1,max_iter=300": ("ebp", {"alpha": 1.0, "max_iter": 300}),
        "gauss_newton": ("gauss_newton", {}),
    }, trials=6, seed=2, progress=False, goal=0.01))
    with open(csv_path, newline="") as f:
        got = list(csv.DictReader(f))
    assert [r["label"] for r in got] == [e["label"] for e in expect]
    for g, e in zip(got, expect):
        assert g["algorithm"] == e["algorithm"] and g["options"] == e["options"] and g["stops"] == e["stops"]
        assert int(g["trials"]) == 6
        assert float(g["reached_goal"]) == e["reached_goal"]
        mi = float(g["mean_iterations"])
        assert (math.isnan(mi) and math.isnan(e["mean_iterations"])) or mi == e["mean_iterations"]
    # the options reached the rules (they show as changed from the defaults)
    assert "mu=0.1" in got[0]["options"] and "mu_inc=5" in got[0]["options"]
    assert "max_iter=300" in got[1]["options"]
    # the printed table: a title naming the set-up, then one row per rule with its success rate
    lines = out.splitlines()
    assert lines[0].startswith("parity-3 (bipolar), mlp 3-3-1 (16 weights")
    for e in expect:
        row = next(line for line in lines if line.startswith(e["label"] + " "))
        assert f"{100 * e['reached_goal']:.0f}%" in row and e["stops"] in row
    with open(png, "rb") as f:
        assert f.read(8) == b"\x89PNG\r\n\x1a\n"
    assert os.path.getsize(png) > 20_000  # four panels of curves, not an empty canvas
    assert sorted(os.listdir(tmp_path)) == ["curves.png", "t.csv"]


@pytest.mark.parametrize("topology, sizes, net", [
    ("fcc", [4, 2, 1], lambda: lm.fcc(4, 3, activation="bipolar", gain=0.5)),
    ("bmlp", [3, 2, 1], lambda: lm.bmlp([3, 2, 1], activation="bipolar", gain=0.5)),
])
def test_topologies_and_parity_size(capsys, topology, sizes, net):
    code, out, err = run(capsys, "compare", "--trials", 3, "--algorithm", "lm", "--topology", topology,
                         "--sizes", *sizes)
    assert code == 0, err
    n = net().n_weights
    assert out.startswith(f"parity-{sizes[0]} (bipolar), {topology} {'-'.join(map(str, sizes))} ({n} weights")


def test_goal_zero_still_plots(tmp_path, capsys):
    code, out, err = run(capsys, "compare", "--trials", 2, "--algorithm", "lm", "--max-iter", 5, "--goal", 0,
                         "--plot", tmp_path / "c.svg")
    assert code == 0, err
    assert (tmp_path / "c.svg").read_text().lstrip().startswith("<?xml")
    assert re.search(r"^lm +0% +— +\S+ +MAX_ITER 2$", out, re.M), out  # goal 0 is never reached in 5 steps


def test_spec_parsing():
    assert parse_spec("lm") == ("lm", {})
    assert parse_spec("lm:mu=0.1,mu_inc=5,strict=true") == ("lm", {"mu": 0.1, "mu_inc": 5, "strict": True})
    assert parse_spec("newton: indefinite = step ,") == ("newton", {"indefinite": "step"})
    name, opts = parse_spec("ebp:alpha=1e-2,max_iter=100")
    assert name == "ebp" and opts == {"alpha": 0.01, "max_iter": 100} and type(opts["max_iter"]) is int


@pytest.mark.parametrize("args, message", [
    (["--algorithm", "lmx"], r"unknown rule 'lmx'; the rules are ebp, gauss_newton, lm, newton"),
    (["--algorithm", "lm:mu"], r"key=value pairs .* got 'mu'"),
    (["--algorithm", "lm:mu=1,mu=2"], r"option 'mu' given twice"),
    (["--algorithm", "lm:alpha=1"], r"\['alpha'\] do not apply to algorithm 'lm'"),
    (["--algorithm", "lm:mu=-1"], r"--algorithm 'lm:mu=-1': mu must be in \(0.0, inf\), got -1.0"),
    (["--goal", "-1"], r"--goal must be a finite number >= 0, got -1"),
    (["--algorithm", "lm", "lm"], r"'lm' is given twice"),
    (["--sizes", "3", "3", "2"], r"ends with one output"),
    (["--sizes", "21", "3", "1"], r"n must be in \[1, 20\]"),
    (["--trials", "0"], r"--trials must be at least 1"),
    (["--max-iter", "0"], r"--max-iter must be at least 1"),
    (["--plot", "{tmp}/curves.xyz"], r"the extension must name an image type"),
    (["--plot", "{tmp}/nodir/curves.png"], r"the directory .* does not exist"),
    (["--csv", "{tmp}/nodir/t.csv"], r"the directory .* does not exist"),
    (["--plot", "{tmp}"], r"cannot write .*: it is a directory"),
])
def test_bad_input_is_one_line_and_status_2(tmp_path, capsys, args, message):
    argv = ["compare", "--trials", "2"] + [a.format(tmp=tmp_path) for a in args]
    if "--csv" not in args:
        argv += ["--csv", str(tmp_path / "t.csv")]
    code, out, err = run(capsys, *argv)
    assert code == 2
    lines = err.splitlines()
    assert len(lines) == 1 and "Traceback" not in err, err
    assert lines[0].startswith("lmtrain: error: ")
    assert re.search(message, lines[0]), lines[0]
    assert os.listdir(tmp_path) == []


def test_readme_example_runs_as_written(tmp_path, capsys, monkeypatch):
    """The README's compare command prints its table (times aside) and writes its figure."""
    from test_cli_fit import _readme_block

    monkeypatch.chdir(tmp_path)
    block = _readme_block("Command line", "bash", "lmtrain compare")
    (line,) = [ln for ln in block.splitlines() if ln.startswith("lmtrain compare")]
    code, out, err = run(capsys, *line.split()[1:])
    assert code == 0, err
    printed = _readme_block("Command line", "", "rule ").strip().splitlines()
    got = out.strip().splitlines()
    assert len(got) == len(printed)
    # the ms/trial column is machine-dependent, and so is its width: compare the other cells
    ms = re.compile(r"(?<=\d%) +(\S+) +(\d+\.\d{3})(?=  )")
    for g, p in zip(got, printed):
        assert ms.sub(r" \1 #", g) == ms.sub(r" \1 #", p), (g, p)
    assert os.path.getsize(tmp_path / "parity4.png") > 20_000


def test_a_reader_that_went_away_gets_no_error():
    """``lmtrain ... | head``: output to a closed pipe ends the command quietly (exit 1, nothing on stderr)."""
    import subprocess
    import sys

    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    env = dict(os.environ, PYTHONPATH=root + os.pathsep + os.environ.get("PYTHONPATH", ""))
    proc = subprocess.Popen([sys.executable, "-m", "lmtrain", "compare", "--trials", "2", "--algorithm", "lm"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    proc.stdout.close()  # the only reader is gone before the first line: every write fails
    err = proc.stderr.read().decode()
    assert proc.wait(timeout=120) == 1
    assert err == ""


# ------------------------------------------------------------ Table 12.2 by name
def test_setup_table_12_2_equals_the_python_helper(tmp_path, capsys):
    csv_path = tmp_path / "t.csv"
    code, out, err = run(capsys, "compare", "--setup", "table-12-2", "--trials", 12, "--seed", 5, "--csv", csv_path)
    assert code == 0, err
    expect = summary_table(lm.experiments.table_12_2(trials=12, seed=5))
    with open(csv_path, newline="") as f:
        got = list(csv.DictReader(f))
    assert [r["label"] for r in got] == ["EBP α=1", "EBP α=100", "Gauss–Newton", "LM"]
    for g, e in zip(got, expect):
        assert g["label"] == e["label"] and g["stops"] == e["stops"] and float(g["reached_goal"]) == e["reached_goal"]
    # the rows carry the set-up's options, visible as changed from lmtrain's defaults
    assert "alpha=0.03125" in got[0]["options"] and "max_iter=2000" in got[0]["options"]
    assert "alpha=3.125" in got[1]["options"] and "mu=0.1" in got[3]["options"]
    assert out.splitlines()[0].startswith("set-up table-12-2 (Table 12.2): parity-3 (bipolar), mlp 3-3-1 (16 weights")
    assert "goal E <= 0.04, 12 trials, seed 5; goal E <= 0.04 is MSE <= 0.01" in out.splitlines()[0]


@pytest.mark.parametrize("extra", [["--gain", "1"], ["--goal", "0.01"], ["--algorithm", "lm"], ["--sizes", "3", "2", "1"],
                                   ["--max-iter", "10"], ["--topology", "fcc"]])
def test_setup_refuses_options_that_would_change_it(tmp_path, capsys, extra):
    code, out, err = run(capsys, "compare", "--setup", "table-12-2", "--trials", 2, *extra)
    assert code == 2 and out == ""
    flag = extra[0]
    assert err.startswith("lmtrain: error: --setup table-12-2 fixes") and flag in err and len(err.splitlines()) == 1


def test_unknown_setup_is_a_usage_error(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["compare", "--setup", "table-12-3"])
    err = capsys.readouterr().err
    assert exc.value.code == 2 and "invalid choice: 'table-12-3'" in err and len(err.splitlines()) == 1


def test_demo_runs_table_12_2_and_prints_a_dash_where_no_value(capsys):
    code, out, err = run(capsys, "demo", "--trials", 10, "--seed", 0)
    assert code == 0, err
    results = lm.experiments.table_12_2(trials=10, seed=0)
    lines = out.splitlines()
    assert lines[0].startswith("Table 12.2 set-up (table-12-2): parity-3, MLP 3-3-1")
    for label, s in results.items():
        row = next(line for line in lines if line.startswith(label + " "))
        cells = row[len(label):].split()
        assert cells[0] == f"{100 * s.goal_rate:.0f}%"
        assert cells[2] == ("—" if s.reached_goal.sum() == 0 else f"{s.mean_iterations:.2f}")
    assert "nan" not in out.lower()
    gn = next(line for line in lines if line.startswith("Gauss–Newton"))
    assert gn.split()[1:5] == ["0%", "3%", "—", "4.33"]  # no success in 10 trials: a dash, beside the book's value


def test_demo_and_compare_say_the_same_with_the_same_trials(capsys):
    code, demo_out, _ = run(capsys, "demo", "--trials", 6, "--seed", 3)
    assert code == 0
    code, cmp_out, _ = run(capsys, "compare", "--setup", "table-12-2", "--trials", 6, "--seed", 3)
    assert code == 0

    def rates(text):
        return {ln.split("  ")[0].strip(): ln.split("%")[0].split()[-1] for ln in text.splitlines()
                if ln.startswith(("EBP", "Gauss", "LM "))}

    assert rates(demo_out) == rates(cmp_out) and len(rates(demo_out)) == 4


@pytest.mark.parametrize("command", ["compare", "demo", "reproduce"])
def test_every_option_has_a_help_text(command):
    from lmtrain.cli import build_parser

    parser = build_parser()
    sub = next(a for a in parser._actions if a.dest == "command").choices[command]
    for action in sub._actions:
        if action.dest == "help":
            continue
        assert action.help and len(action.help) > 10, f"{command} {action.option_strings} has no help text"


def test_compare_help_does_not_claim_table_12_2_defaults(capsys):
    with pytest.raises(SystemExit):
        main(["compare", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "as Table 12.2" not in text
    assert "The defaults are a plain comparison, not the chapter's set-up" in text
    assert "--setup table-12-2" in text
