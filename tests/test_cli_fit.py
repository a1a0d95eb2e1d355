"""``lmtrain train`` / ``lmtrain predict``: results equal the Python API's, bad
input gives one error line and exit status 2, and no partial output file."""

from __future__ import annotations

import csv
import io
import os
import re
import shlex
import shutil
import sys

import numpy as np
import pytest

import lmtrain as lm
from lmtrain.cli import main

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SINCOS = os.path.join(ROOT, "examples", "sincos.csv")


def read_csv(path_or_text, is_text=False):
    f = io.StringIO(path_or_text) if is_text else open(path_or_text, newline="")
    with f:
        rows = list(csv.reader(f))
    return rows[0], rows[1:]


@pytest.fixture()
def table(tmp_path):
    """A copy of the example table and its contents as arrays."""
    path = tmp_path / "data.csv"
    shutil.copy(SINCOS, path)
    header, rows = read_csv(path)
    return str(path), header, np.array(rows, dtype=float)


def run(capsys, *argv):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_train_and_predict_agree_with_the_python_api(table, tmp_path, capsys):
    path, header, A = table
    model = tmp_path / "model.json"
    code, out, err = run(capsys, "train", path, "--target", "y", "--hidden", "6", "--max-iter", "25",
                         "--seed", "3", "--out", model)
    assert code == 0, err
    est = lm.LMRegressor(hidden=(6,), max_iter=25, random_state=3).fit(A[:, :2], A[:, 2])
    lines = out.splitlines()
    assert lines[0].startswith("trained LMRegressor on") and "200 rows" in lines[0]
    assert f"stopped after {est.n_iter_} iterations: {est.result_.message}" in out
    r2 = float(re.search(r"training R\^2 = (\S+)", out).group(1))
    assert r2 == pytest.approx(est.score(A[:, :2], A[:, 2]), abs=1e-6)
    loaded, meta = lm.load(model, with_metadata=True)
    assert meta["features"] == ["x1", "x2"] and meta["target"] == "y"
    assert np.array_equal(loaded.weights_, est.weights_)

    # predictions to stdout: exact numbers (shortest round-trip repr), one per row
    code, out, err = run(capsys, "predict", model, path)
    assert code == 0 and err == ""
    head, rows = read_csv(out, is_text=True)
    assert head == ["y"]
    assert np.array_equal(np.array(rows, dtype=float)[:, 0], est.predict(A[:, :2]))
    # ... or to a file; the feature columns are found by name, in any order
    reordered = tmp_path / "reordered.csv"
    with open(reordered, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["extra", "x2", "x1"])
        w.writerows([[7, repr(float(b)), repr(float(a))] for a, b in A[:5, :2]])
    code, out, err = run(capsys, "predict", model, reordered, "--out", tmp_path / "p.csv")
    assert code == 0 and out == "" and "wrote 5 prediction(s)" in err
    head, rows = read_csv(tmp_path / "p.csv")
    assert np.array_equal(np.array(rows, dtype=float)[:, 0], est.predict(A[:5, :2]))


def test_classify_writes_labels_and_scores(table, tmp_path, capsys):
    path, header, A = table
    labels = tmp_path / "labels.csv"
    with open(labels, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["x1", "x2", "y", "class"])
        for x1, x2, y in A:
            w.writerow([x1, x2, y, int(y > 0.3) + int(y > -0.3)])
    model = tmp_path / "c.json"
    code, out, err = run(capsys, "train", labels, "--target", "class", "--features", "x1", "x2", "--classify",
                         "--hidden", "5", "--max-iter", "30", "--restarts", "2", "--out", model)
    assert code == 0, err
    y = (A[:, 2] > 0.3).astype(int) + (A[:, 2] > -0.3).astype(int)
    est = lm.LMClassifier(hidden=(5,), max_iter=30, restarts=2, random_state=0).fit(A[:, :2], y)
    acc = float(re.search(r"training accuracy = (\S+) \(3 classes\)", out).group(1))
    assert acc == pytest.approx(est.score(A[:, :2], y), abs=1e-4)
    code, out, err = run(capsys, "predict", model, labels)
    head, rows = read_csv(out, is_text=True)
    assert head == ["class", "p_0", "p_1", "p_2"]
    assert [int(r[0]) for r in rows] == est.predict(A[:, :2]).tolist()
    assert np.array_equal(np.array([r[1:] for r in rows], dtype=float), est.predict_proba(A[:, :2]))


# ------------------------------------------------------------------- errors
def _bad(tmp_path, text, name="bad.csv"):
    p = tmp_path / name
    p.write_text(text)
    return p


@pytest.mark.parametrize("make_args, message", [
    (lambda t, d: ["train", t / "missing.csv", "--target", "y"], r"missing\.csv: no such file"),
    (lambda t, d: ["train", d, "--target", "z"], r"has no column 'z'; its columns are 'x1', 'x2', 'y'"),
    (lambda t, d: ["train", d], r"train needs --target COLUMN.*columns of .* are 'x1', 'x2', 'y'"),
    (lambda t, d: ["train", d, "--target", "y", "--features", "x1", "x9"], r"no column 'x9'"),
    (lambda t, d: ["train", _bad(t, "a,b\n1,2\n3,oops\n"), "--target", "b"],
     r"bad\.csv, line 3, column 'b': 'oops' is not a number"),
    (lambda t, d: ["train", _bad(t, "a,b\n1,2\n,4\n"), "--target", "b"],
     r"line 3, column 'a': an empty cell is not a number"),
    (lambda t, d: ["train", _bad(t, "a,b\n1,2\n3,nan\n"), "--target", "b"], r"'nan' is not a finite number"),
    (lambda t, d: ["train", _bad(t, "a,b\n"), "--target", "b"], r"has a header but no data rows"),
    (lambda t, d: ["train", _bad(t, ""), "--target", "b"], r"is empty: a header row naming the columns is required"),
    (lambda t, d: ["train", _bad(t, "1,2\n3,4\n"), "--target", "b"], r"a header row naming the columns is required"),
    (lambda t, d: ["train", _bad(t, "a,b\n1,2,3\n"), "--target", "b"], r"line 2: 3 cell\(s\), but the header has 2"),
    (lambda t, d: ["train", _bad(t, "a,a\n1,2\n"), "--target", "a"], r"'a' appears twice"),
    (lambda t, d: ["train", d, "--target", "y", "--classify"], r"Unknown label type: continuous"),
    (lambda t, d: ["train", d, "--target", "y", "--topology", "fcc", "--hidden", "3", "4"], r"one number"),
    (lambda t, d: ["train", d, "--target", "y", "--max-iter", "0"], r"max_iter must be in \[1, inf\)"),
    (lambda t, d: ["predict", t / "nope.json", d], r"nope\.json: no such file"),
    (lambda t, d: ["predict", _bad(t, '{"format": "lmtrain-model", "format_v', "m.json"), d],
     r"m\.json: not valid JSON \(the file looks truncated\)"),
    (lambda t, d: ["predict", _bad(t, '{"format": "other"}', "m.json"), d], r"not an lmtrain model file"),
])
def test_bad_input_is_one_line_and_status_2(tmp_path, table, capsys, make_args, message):
    path, _, _ = table
    out_file = tmp_path / "out.file"
    argv = make_args(tmp_path, path) + ["--out", out_file]
    code, out, err = run(capsys, *argv)
    assert code == 2
    lines = err.splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("lmtrain: error: ") and "Traceback" not in err
    assert re.search(message, lines[0]), lines[0]
    assert not out_file.exists()
    assert not [n for n in os.listdir(tmp_path) if n.endswith(".tmp")]


def test_errors_never_replace_an_existing_output(table, tmp_path, capsys):
    path, _, _ = table
    model = tmp_path / "model.json"
    model.write_text("old model")
    code, _, err = run(capsys, "train", _bad(tmp_path, "a,b\n1,x\n"), "--target", "b", "--out", model)
    assert code == 2 and model.read_text() == "old model"
    code, _, err = run(capsys, "train", path, "--target", "y", "--out", tmp_path / "nodir" / "m.json")
    assert code == 2 and "the directory" in err and "does not exist" in err
    assert sorted(os.listdir(tmp_path)) == ["bad.csv", "data.csv", "model.json"]


def test_missing_predict_column_lists_what_there_is(table, tmp_path, capsys):
    path, _, _ = table
    model = tmp_path / "m.json"
    assert run(capsys, "train", path, "--target", "y", "--max-iter", "2", "--out", model)[0] == 0
    code, out, err = run(capsys, "predict", model, _bad(tmp_path, "x1,q\n1,2\n"), "--out", tmp_path / "p.csv")
    assert code == 2 and not (tmp_path / "p.csv").exists()
    assert err.strip() == (f"lmtrain: error: {tmp_path / 'bad.csv'} lacks the model's input column(s) 'x2'; "
                           f"its columns are 'x1', 'q'")


# ------------------------------------------------------------ the README
def test_example_table_is_what_its_script_writes(tmp_path):
    sys.path.insert(0, os.path.join(ROOT, "examples"))
    try:
        import make_sincos
    finally:
        sys.path.pop(0)
    assert make_sincos.main(["--out", str(tmp_path / "s.csv")]) == 0
    with open(tmp_path / "s.csv", "rb") as a, open(SINCOS, "rb") as b:
        assert a.read() == b.read()


def _readme_block(section: str, lang: str, must_contain: str) -> str:
    with open(os.path.join(ROOT, "README.md"), encoding="utf-8") as f:
        text = f.read()
    start = text.index(f"\n## {section}\n")
    end = text.find("\n## ", start + 1)
    body = text[start:end if end > 0 else None]
    blocks, current, fence = [], None, ""
    for line in body.splitlines():
        if line.startswith("```"):
            if current is None:
                current, fence = [], line[3:].strip()
            else:
                blocks.append((fence, "\n".join(current) + "\n"))
                current = None
        elif current is not None:
            current.append(line)
    return next(b for f, b in blocks if f == lang and must_contain in b)


_NUMBER = re.compile(r"-?\d+\.\d+(?:e-?\d+)?")


def assert_same_printout(got: str, expected: str):
    """Equal text, with decimals equal to 6 significant digits (other platforms may differ in the last bits)."""
    got_lines, exp_lines = got.strip().splitlines(), expected.strip().splitlines()
    assert len(got_lines) == len(exp_lines), (got, expected)
    for g, e in zip(got_lines, exp_lines):
        assert _NUMBER.sub("#", g) == _NUMBER.sub("#", e), (g, e)
        for a, b in zip(_NUMBER.findall(g), _NUMBER.findall(e)):
            assert float(a) == pytest.approx(float(b), rel=1e-6, abs=1e-9), (g, e)


def test_readme_command_line_example_runs_as_written(tmp_path, capsys, monkeypatch):
    os.makedirs(tmp_path / "examples")
    shutil.copy(SINCOS, tmp_path / "examples" / "sincos.csv")
    monkeypatch.chdir(tmp_path)
    block = _readme_block("Command line", "bash", "lmtrain train")
    commands = [shlex.split(line.split("#")[0]) for line in block.splitlines() if line.startswith("lmtrain ")]
    assert len(commands) == 2
    outputs = []
    for argv in commands:
        code, out, err = run(capsys, *argv[1:])
        assert code == 0, err
        outputs.append(out + err)
    printed = _readme_block("Command line", "", "trained LMRegressor")
    assert_same_printout("".join(outputs), printed)
    head, rows = read_csv(tmp_path / "predictions.csv")
    assert head == ["y"] and len(rows) == 200


def test_readme_estimator_example_runs_as_written(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    code = _readme_block("Fit your own data", "python", "LMRegressor")
    assert len(code.strip().splitlines()) == 5
    exec(compile(code, "README.md", "exec"), {})
    printed = _readme_block("Fit your own data", "", "MAX_ITER")
    assert_same_printout(capsys.readouterr().out, printed)
    assert os.path.exists(tmp_path / "model.json")
    code = _readme_block("Fit your own data", "python", "LMClassifier")
    exec(compile(code, "README.md", "exec"), {})
    out = capsys.readouterr().out.splitlines()
    comments = [line.split("# ", 1)[1] for line in code.splitlines() if line.startswith("print(")]
    assert len(out) == len(comments) == 2
    for got, expected in zip(out, comments):
        assert_same_printout(got, expected)
