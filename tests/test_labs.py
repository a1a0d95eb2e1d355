"""The teaching labs: every reference solution passes its checker, every
untouched skeleton fails it, typical student mistakes fail with the right
equation named, broken files are reported per function, and ``lmtrain lab``
behaves as a command (one-line errors, exit status 2, nothing overwritten).

A student mistake is written as a small edit of the reference solution, so
each test says exactly which line a student got wrong.
"""

from __future__ import annotations

import ast
import json
import os
import re

import numpy as np
import pytest

import lmtrain as lm
from lmtrain import labs
from lmtrain.cli import main
from lmtrain.labs import _kit
from lmtrain.labs.lab4_training_loop import checker as loop_checker

ALL = [lab.number for lab in labs.LABS]


def run(capsys, *argv):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def write(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return str(path)


def status_lines(text):
    return [line for line in text.splitlines() if re.match(r"  (PASS|FAIL)  ", line)]


# ------------------------------------------------------------ the labs
def test_seven_labs_in_the_chapters_order():
    assert [lab.number for lab in labs.LABS] == list(range(1, 8))
    assert [lab.name for lab in labs.LABS] == ["forward", "jacobian", "update_rules", "training_loop",
                                               "comparison", "quasi_hessian", "curve_fitting"]
    for lab in labs.LABS:
        assert lab.minutes > 0 and "12." in lab.covers


@pytest.mark.parametrize("n", ALL)
def test_sheet_skeleton_and_solution_agree_on_the_tasks(n):
    """Every checked function is a task of the sheet, a TODO of the skeleton and a function of the solution."""
    lab = labs.get(n)
    sheet = lab.text("sheet.md")
    for heading in ("## Aims", "## The equations" if n != 5 else "## The set-up", "## Tasks", "## Questions"):
        assert heading in sheet, heading
    assert "(12." in sheet or "eq" in sheet
    skeleton, solution = ast.parse(lab.text("skeleton.py")), ast.parse(lab.text("solution.py"))
    defs = {f.name: f for f in skeleton.body if isinstance(f, ast.FunctionDef)}
    sol_defs = {f.name for f in solution.body if isinstance(f, ast.FunctionDef)}
    for k, name in enumerate(lab.functions, start=1):
        assert f"### Task {k}: `{name}`" in sheet
        assert name in sol_defs
        fn = defs[name]
        doc = ast.get_docstring(fn)
        assert doc and "Returns" in doc, name
        body = [s for s in fn.body if not isinstance(s, ast.Expr)]
        assert len(body) == 1 and isinstance(body[0], ast.Raise) and "NotImplementedError" in ast.unparse(body[0])
        assert "# TODO" in ast.get_source_segment(lab.text("skeleton.py"), fn)
    assert lab.text("answers.md").startswith(f"# Lab {n}")


@pytest.mark.parametrize("n", ALL)
def test_reference_solution_passes(n, tmp_path):
    lab = labs.get(n)
    report = labs.check(n, write(tmp_path, f"{lab.stem}.py", lab.text("solution.py")))
    assert report.passed, report.text()
    assert [o.function for o in report.outcomes] == lab.functions
    assert all(o.passed and o.summary for o in report.outcomes)


@pytest.mark.parametrize("n", ALL)
def test_untouched_skeleton_fails_every_function(n, tmp_path):
    lab = labs.get(n)
    report = labs.check(n, write(tmp_path, f"{lab.stem}.py", lab.text("skeleton.py")))
    assert not report.passed
    assert [o.passed for o in report.outcomes] == [False] * len(lab.functions)
    assert all("not written yet" in o.summary for o in report.outcomes)
    assert len(status_lines(report.text())) == len(lab.functions)


def test_checkers_use_only_the_public_api():
    """The engine's internals are being restructured: no checker may import them."""
    root = os.path.dirname(labs.__file__)
    for folder, _, files in os.walk(root):
        for f in files:
            if f.endswith(".py"):
                text = open(os.path.join(folder, f), encoding="utf-8").read()
                for private in ("lmtrain.engine", "algorithms._", "lm_blocked", "from ...engine", "from .. import engine"):
                    assert private not in text, (f, private)


# ------------------------------------------------------ student mistakes
# (lab, mistake, line of the solution, what the student wrote, [(function, equation named)])
MISTAKES = [
    (1, "net without the bias", "net = w[0] + np.dot(w[1:], y_in)", "net = np.dot(w[1:], y_in)",
     [("neuron", "eq. 12.28"), ("forward", "eq. 12.28")]),
    (1, "slope without the gain", "return y, gain * (1.0 - y * y)", "return y, (1.0 - y * y)",
     [("activation", "eq. 12.30")]),
    (1, "slope is the output", "return y, gain * y * (1.0 - y)", "return y, y",
     [("activation", "eq. 12.30")]),
    (1, "activation not applied", "y = np.tanh(gain * net)", "y = gain * net",
     [("activation", "eq. 12.27")]),
    (1, "the 1/2 dropped from E", "return 0.5 * float(np.sum(e * e))", "return float(np.sum(e * e))",
     [("total_error", "eq. 12.1")]),
    (2, "no slope at the output", "        delta[node] *= s[node]  # eqs. 12.47, 12.50, 12.52\n", "",
     [("unit_deltas", "eq. 12.47")]),
    (2, "no slope in the hidden neurons", "        delta[node] *= s[node]  # eqs. 12.47, 12.50, 12.52\n",
     "        if node == o:\n            delta[node] *= s[node]\n", [("unit_deltas", "eqs. 12.50, 12.52")]),
    (2, "delta summed over the wrong neurons (only the last consumer)",
     "delta[source] += delta[node] * wk[1 + i]", "delta[source] = delta[node] * wk[1 + i]",
     [("unit_deltas", "eqs. 12.49, 12.51")]),
    (2, "delta summed over the wrong neurons (every later neuron)",
     "            if source >= n_in:\n                delta[source] += delta[node] * wk[1 + i]  # eqs. 12.49, 12.51",
     "            if source >= n_in:\n                delta[source] += delta[node] * wk[1 + i]  # eqs. 12.49, 12.51\n"
     "        for later in range(node + 1, o):\n            delta[node] += 0.1 * delta[later]",
     [("unit_deltas", "eqs. 12.49, 12.51")]),
    (2, "sign flip of the Jacobian", "row[block] = -delta[n_in + k] * inputs", "row[block] = delta[n_in + k] * inputs",
     [("jacobian_row", "eq. 12.36"), ("jacobian", "eq. 12.36")]),
    (2, "missing bias input", "inputs = np.concatenate(([1.0], y[list(unit.inputs)]))",
     "inputs = np.concatenate(([0.0], y[list(unit.inputs)]))", [("jacobian_row", "eq. 12.36 with 12.29")]),
    (2, "rows output-major", "J[p * M + m] = ", "J[m * len(X) + p] = ", [("jacobian", "eq. 12.16")]),
    (4, "mu moved the wrong way (both rules)", "        return max(mu / mu_dec, mu_min)\n    return mu * mu_inc",
     "        return mu * mu_dec\n    return max(mu / mu_inc, mu_min)",
     [("next_mu", "Fig. 12.5, step v"), ("train_lm", "Fig. 12.5, step v")]),
    (4, "mu moved the wrong way in the loop", "mu = next_mu(mu, True, mu_inc, mu_dec, mu_min)",
     "mu = next_mu(mu, False, mu_inc, mu_dec, mu_min)", [("train_lm", "Fig. 12.5, step v")]),
    (4, "mu not raised after a retracted try", "            mu = next_mu(mu, False, mu_inc, mu_dec, mu_min)\n",
     "", [("train_lm", "Fig. 12.5, step iv")]),
    (4, "weights not retracted after a rejected try", "            w_try = lm_try(w, J, e, mu)",
     "            w = w_try = lm_try(w, J, e, mu)", [("train_lm", "Fig. 12.5, step iv")]),
    (4, "no forced step after five tries", "            if rejected == max_tries:", "            if False:",
     [("train_lm", "Fig. 12.5 (m > 5)")]),
    (4, "forced try made although mu would pass mu_max", "            if mu * mu_inc > mu_max:",
     "            if rejected < max_tries and mu * mu_inc > mu_max:", [("train_lm", "Fig. 12.5 (m > 5)")]),
    (4, "the 1/2 dropped from E", "    return 0.5 * float(e @ e)", "    return float(e @ e)",
     [("total_error", "eq. 12.1"), ("train_lm", "eq. 12.1")]),
    (4, "sign flip of the step", "    return w - np.linalg.solve(A, J.T @ e)", "    return w + np.linalg.solve(A, J.T @ e)",
     [("lm_try", "eq. 12.25"), ("train_lm", "eq. 12.25")]),
    (4, "mu below mu_min", "        return max(mu / mu_dec, mu_min)", "        return mu / mu_dec",
     [("next_mu", "Fig. 12.5, step v"), ("train_lm", "Fig. 12.5, step v")]),
    (6, "sign flip of e", "e_p = np.asarray(d, dtype=float) - network.forward(w, x1)[0]",
     "e_p = network.forward(w, x1)[0] - np.asarray(d, dtype=float)",
     [("pattern_terms", "eq. 12.2"), ("accumulate", "eqs. 12.18, 12.2")]),
    (6, "sign flip of the Jacobian rows", "    j_p = network.jacobian(w, x1)", "    j_p = -network.jacobian(w, x1)",
     [("pattern_terms", "eqs. 12.16, 12.36"), ("accumulate", "eqs. 12.18, 12.2")]),
    (6, "the 1/2 dropped from E", "E += 0.5 * float(e_p @ e_p)", "E += float(e_p @ e_p)",
     [("accumulate", "eq. 12.1")]),
    (6, "Q overwritten instead of summed", "Q += j_p.T @ j_p", "Q = j_p.T @ j_p",
     [("accumulate", "Table 12.1 (NBN row)")]),
    (6, "J stored after all", "    N = network.n_weights\n    Q = np.zeros((N, N))",
     "    J = network.jacobian(w, X)\n    e = (D - network.forward(w, X)).ravel()\n"
     "    return J.T @ J, J.T @ e, 0.5 * float(e @ e)\n    N = network.n_weights\n    Q = np.zeros((N, N))",
     [("accumulate", "Table 12.1 (NBN row), §12.5")]),
]


@pytest.mark.parametrize("n, mistake, old, new, named", MISTAKES, ids=[f"lab{m[0]}-{m[1]}" for m in MISTAKES])
def test_student_mistake_fails_naming_the_equation(n, mistake, old, new, named, tmp_path):
    lab = labs.get(n)
    source = lab.text("solution.py")
    assert source.count(old) == 1, "the mistake must change exactly one place of the solution"
    report = labs.check(n, write(tmp_path, f"{lab.stem}.py", source.replace(old, new)))
    assert not report.passed
    outcomes = {o.function: o for o in report.outcomes}
    first_fail = next(o.function for o in report.outcomes if not o.passed)
    assert first_fail == named[0][0], report.text()
    for function, equation in named:
        o = outcomes[function]
        assert not o.passed, report.text()
        assert o.summary.startswith(equation + ":"), (equation, o.summary)
        # a concrete counterexample: what was asked and what came back
        text = "\n".join(o.details)
        assert o.details and ("expected" in text or "iteration" in text or "J would take" in text), report.text()


def test_counterexample_is_the_smallest_and_exact(tmp_path):
    """The printed case is the one-neuron network, with weights on a 0.1 grid, and its numbers are right."""
    lab = labs.get(1)
    source = lab.text("solution.py").replace("net = w[0] + np.dot(w[1:], y_in)", "net = np.dot(w[1:], y_in)")
    report = labs.check(1, write(tmp_path, "lab1_forward.py", source))
    o = {o.function: o for o in report.outcomes}["forward"]
    text = "\n".join(o.details)
    assert "network:  lm.mlp([2, 1])" in text
    w = np.array([float(v) for v in re.search(r"weights:  w = \[(.*)\]", text).group(1).split(",")])
    x = np.array([float(v) for v in re.search(r"input:    x = \[(.*)\]", text).group(1).split(",")])
    assert np.all(np.round(w, 1) == w)
    expected = [float(v) for v in re.search(r"expected: y = \[(.*)\]", text).group(1).split(",")]
    assert expected[-1] == pytest.approx(np.tanh(w[0] + w[1:] @ x), abs=1e-6)
    got = [float(v) for v in re.search(r"got:      y = \[(.*)\]", text).group(1).split(",")]
    assert got[-1] == pytest.approx(np.tanh(w[1:] @ x), abs=1e-6)


# ----------------------------------------------- lab 4's replay cases
def _trace_solution(case):
    """Run the reference loop, recording E_k and every try's E, and the engine's history."""
    from lmtrain.labs.lab4_training_loop import solution

    rec = loop_checker.Recorder(case)
    w, hist = solution.train_lm(rec.residuals, rec.jacobian, case.w0.copy(), **case.options)
    return rec, hist, loop_checker.reference(case)


def test_lab4_cases_reach_every_rule_of_fig_12_5():
    cases = loop_checker.loop_cases()
    runs = [loop_checker.reference(c) for c in cases]
    parity, forced, floor, tries, mu_max, mu_max_at_five, at_goal = runs
    assert parity.stop_reason is lm.StopReason.GOAL and parity.history.rejected.sum() > 0
    assert parity.history.rejected[0] == 0  # an accepted step first: mu must then go down
    assert forced.history.forced.any() and (forced.history.rejected[forced.history.forced] == 5).all()
    assert np.sum(floor.history.mu == 1e-3) >= 2  # mu held at mu_min
    assert tries.history.forced.any() and (tries.history.rejected[tries.history.forced] == 2).all()
    assert mu_max.stop_reason is lm.StopReason.MU_MAX
    # the mu_max stop fires at the fifth retracted try, before the forced one
    last = len(mu_max_at_five.history) - 1
    assert mu_max_at_five.stop_reason is lm.StopReason.MU_MAX
    assert mu_max_at_five.history.rejected[last] == 5 and not mu_max_at_five.history.forced.any()
    assert len(at_goal.history) == 0


def test_lab4_replay_does_not_hang_on_rounding():
    """Every try's E is far from E_k, so two correct loops take the same decisions whatever their rounding."""
    for case in loop_checker.loop_cases():
        rec, hist, ref = _trace_solution(case)
        h = ref.history
        assert len(hist) == len(h)
        for (E, mu, rejected, forced), e, m, r, f in zip(hist, h.error, h.mu, h.rejected, h.forced):
            assert E == pytest.approx(e, rel=1e-9) and mu == pytest.approx(m, rel=1e-12)
            assert (rejected, forced) == (r, f)
        E_k = None
        network, X, D = case.net.net, case.X, case.D
        for kind, w in rec.calls:
            e = (D - network.forward(w, X)).ravel()
            E = 0.5 * float(e @ e)
            if kind == "J":
                E_k = E
            elif E_k is not None and E != E_k:
                assert abs(E - E_k) > 1e-8 * E_k, (case.title, E, E_k)


# ------------------------------------------------------- broken files
def test_broken_files_are_reported_per_function_never_as_a_traceback(tmp_path, capsys):
    lab = labs.get(2)
    sol = lab.text("solution.py")
    broken = {
        "syntax": (sol.replace("def jacobian(network, w, X):", "def jacobian(network, w, X)"),
                   ["the file does not compile: SyntaxError at line"] * 3),
        "import": ("import numpy_missing_module\n" + sol, ["importing the file failed: raised ModuleNotFoundError"] * 3),
        "raises": (sol.replace("    n_in = network.n_inputs\n    row = np.empty", "    n_in = 1 / 0\n    row = np.empty"),
                   [None, "raised ZeroDivisionError: division by zero (line", "raised ZeroDivisionError"]),
        "missing": (sol.replace("def jacobian(network, w, X):", "def jacobian_matrix(network, w, X):"),
                    [None, None, "missing: there is no function named 'jacobian'"]),
        "exit": ("import sys\nsys.exit(3)\n" + sol, ["importing the file failed"] * 3),
        "not callable": (sol + "\njacobian = 3\n", [None, None, "'jacobian' is not a function (its value is 3)"]),
    }
    for name, (text, expected) in broken.items():
        path = write(tmp_path, f"{name}.py", text)
        code, out, err = run(capsys, "lab", "check", 2, path)
        assert code == 1 and err == "", (name, err)
        assert "Traceback" not in out
        lines = status_lines(out)
        assert len(lines) == 3, out
        for line, want in zip(lines, expected):
            if want is None:
                assert line.startswith("  PASS"), (name, line)
            else:
                assert line.startswith("  FAIL") and want in line, (name, line)
    # the syntax error names its line
    assert re.search(r"SyntaxError at line \d+", labs.check(2, str(tmp_path / "syntax.py")).outcomes[0].summary)


def test_an_endless_loop_is_stopped(tmp_path, monkeypatch):
    monkeypatch.setattr(_kit, "TIME_LIMIT", 0.5)
    sol = labs.get(4).text("solution.py").replace("    while E > goal and len(history) < max_iter:",
                                                   "    while True:\n        pass\n    while E > goal:")
    report = labs.check(4, write(tmp_path, "lab4_training_loop.py", sol))
    o = {o.function: o for o in report.outcomes}
    assert o["next_mu"].passed and not o["train_lm"].passed
    assert "did not finish within 0.5 s" in o["train_lm"].summary


def test_no_pycache_left_in_the_students_folder(tmp_path):
    labs.check(1, write(tmp_path, "lab1_forward.py", labs.get(1).text("solution.py")))
    assert sorted(os.listdir(tmp_path)) == ["lab1_forward.py"]


# ------------------------------------------------------------ the CLI
def test_lab_list(capsys):
    code, out, err = run(capsys, "lab", "list")
    assert code == 0 and err == ""
    rows = [line for line in out.splitlines() if re.match(r"\s+\d  ", line)]
    assert len(rows) == 7
    assert "Jacobian by unit errors" in rows[1] and "min" in rows[1] and "12.36" in rows[1]


def test_start_check_solution_check(tmp_path, capsys, monkeypatch):
    """The done-when sequence: start, the skeleton fails per function, the solution passes."""
    monkeypatch.chdir(tmp_path)
    code, out, err = run(capsys, "lab", "start", 2, ".")
    assert code == 0, err
    assert sorted(os.listdir(tmp_path)) == ["lab2_jacobian.md", "lab2_jacobian.py"]
    assert (tmp_path / "lab2_jacobian.py").read_text() == labs.get(2).text("skeleton.py")
    code, out, err = run(capsys, "lab", "check", 2)
    assert code == 1 and err == ""
    lines = status_lines(out)
    assert [line.split()[1] for line in lines] == ["unit_deltas", "jacobian_row", "jacobian"]
    assert all(line.startswith("  FAIL") for line in lines)
    code, out, err = run(capsys, "lab", "solution", 2, ".")
    assert code == 0 and "kept the existing lab2_jacobian.py as lab2_jacobian.py.bak" in out
    assert (tmp_path / "lab2_jacobian.py.bak").read_text() == labs.get(2).text("skeleton.py")
    assert (tmp_path / "lab2_jacobian_answers.md").exists()
    code, out, err = run(capsys, "lab", "check", 2)
    assert code == 0, out
    assert [line.split()[0] for line in status_lines(out)] == ["PASS"] * 3
    # writing the same solution again keeps nothing new
    code, out, err = run(capsys, "lab", "solution", 2, ".")
    assert code == 0 and "kept" not in out and not (tmp_path / "lab2_jacobian.py.bak2").exists()


def test_start_never_overwrites(tmp_path, capsys):
    target = tmp_path / "lab2_jacobian.py"
    target.write_text("# my work\n")
    code, out, err = run(capsys, "lab", "start", 2, tmp_path)
    assert code == 2 and out == ""
    assert len(err.strip().splitlines()) == 1 and "lab2_jacobian.py already in" in err and "not overwritten" in err
    assert target.read_text() == "# my work\n"
    assert not (tmp_path / "lab2_jacobian.md").exists()  # all or nothing


def test_start_creates_the_directory(tmp_path, capsys):
    code, out, err = run(capsys, "lab", "start", 7, tmp_path / "new" / "dir")
    assert code == 0 and (tmp_path / "new" / "dir" / "lab7_curve_fitting.py").exists()


@pytest.mark.parametrize("argv, message", [
    (["lab", "start", "9"], "there is no lab '9': the labs are 1 to 7"),
    (["lab", "check", "0"], "there is no lab '0'"),
    (["lab", "solution", "two"], "there is no lab 'two'"),
    (["lab", "check", "3"], "no lab3_update_rules.py in this directory"),
    (["lab", "check", "3", "nowhere.py"], "no file 'nowhere.py'"),
])
def test_usage_errors_are_one_line_with_status_2(argv, message, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    code, out, err = run(capsys, *argv)
    assert code == 2 and out == ""
    assert len(err.strip().splitlines()) == 1 and message in err, err


def test_start_into_a_file_is_refused(tmp_path, capsys):
    f = tmp_path / "afile"
    f.write_text("")
    code, out, err = run(capsys, "lab", "start", 1, f)
    assert code == 2 and "is a file, not a directory" in err


@pytest.mark.parametrize("n", [1, 4])
def test_notebook_is_plain_json_with_the_sheet_the_skeleton_and_the_checker(n, tmp_path, capsys):
    lab = labs.get(n)
    code, out, err = run(capsys, "lab", "start", n, tmp_path, "--notebook")
    assert code == 0, err
    nb = json.loads((tmp_path / f"{lab.stem}.ipynb").read_text(encoding="utf-8"))
    assert nb["nbformat"] == 4 and nb["metadata"]["kernelspec"]["language"] == "python"
    cells = nb["cells"]
    assert {c["cell_type"] for c in cells} == {"markdown", "code"}
    assert all(isinstance(c["source"], list) and c["id"] for c in cells)
    assert len({c["id"] for c in cells}) == len(cells)
    text = {t: "".join("".join(c["source"]) for c in cells if c["cell_type"] == t) for t in ("markdown", "code")}
    assert "## Aims" in text["markdown"] and "## Questions" in text["markdown"]
    for k, name in enumerate(lab.functions, start=1):
        assert f"def {name}(" in text["code"]
        # each task's code cell follows its heading
        heading = next(i for i, c in enumerate(cells) if f"### Task {k}: `{name}`" in "".join(c["source"]))
        assert f"def {name}(" in "".join(cells[heading + 1]["source"])
    assert "".join(cells[-1]["source"]) == f"from lmtrain import labs\nlabs.check_notebook({n}, globals())"
    # running the code cells gives the skeleton's functions; the checker reads them from the namespace
    ns = {}
    for c in cells[:-1]:
        if c["cell_type"] == "code":
            exec("".join(c["source"]), ns)
    report = labs.check(n, namespace=ns)
    assert [o.passed for o in report.outcomes] == [False] * len(lab.functions)
    exec(lab.text("solution.py"), ns)
    assert labs.check_notebook(n, ns) is True
    assert "all pass" in capsys.readouterr().out


# ------------------------------------------- other correct solutions pass
def replace_function(source: str, name: str, new: str) -> str:
    """``source`` with the top-level function ``name`` replaced by the text ``new``."""
    lines = source.splitlines(keepends=True)
    node = next(n for n in ast.parse(source).body if isinstance(n, ast.FunctionDef) and n.name == name)
    return "".join(lines[:node.lineno - 1]) + new.strip("\n") + "\n" + "".join(lines[node.end_lineno:])


ALTERNATIVES = [
    # a constant slope returned as one number; net summed in a loop
    (1, "activation", '''
def activation(kind, gain, net):
    if kind == "bipolar":
        y = np.tanh(gain * net)
        return y, gain * (1 - y**2)
    if kind == "unipolar":
        y = 1 / (1 + np.exp(-gain * net))
        return y, gain * y * (1 - y)
    return gain * net, gain
'''),
    # delta pulled from the consumers instead of pushed to the inputs
    (2, "unit_deltas", '''
def unit_deltas(network, w, s, m):
    n_in = network.n_inputs
    sl = weight_slices(network)
    o = network.outputs[m]
    delta = np.zeros(network.n_nodes)
    delta[o] = s[o]
    for k in range(o - 1, n_in - 1, -1):
        total = 0.0
        for j in range(k + 1, o + 1):
            ins = network.neurons[j - n_in].inputs
            if k in ins:
                total += delta[j] * w[sl[j - n_in]][1 + ins.index(k)]
        delta[k] = s[k] * total
    return delta
'''),
    # a for loop over the tries, E as a numpy scalar, mu * 0.1 rounding differently from mu / 10
    (4, "train_lm", '''
def train_lm(residuals, jacobian, w0, *, mu=0.01, goal=0.0, max_iter=100, max_tries=5,
             mu_inc=10.0, mu_dec=10.0, mu_min=1e-20, mu_max=1e10):
    w = np.array(w0, dtype=float)
    E = np.sum(np.square(residuals(w))) / 2
    history = []
    for _ in range(max_iter):
        if E <= goal:
            break
        J, e = jacobian(w), residuals(w)
        for m in range(max_tries + 1):
            w_new = w - np.linalg.solve(J.T @ J + mu * np.eye(len(w)), J.T @ e)
            E_new = np.sum(np.square(residuals(w_new))) / 2
            if E_new <= E:
                history.append((E_new, mu, m, False))
                w, E, mu = w_new, E_new, max(mu * (1 / mu_dec), mu_min)
                break
            if m == max_tries:
                history.append((E_new, mu, m, True))
                w, E = w_new, E_new
                break
            if mu * mu_inc > mu_max:
                history.append((E, mu, m + 1, False))
                return w, history
            mu = mu * mu_inc
    return w, history
'''),
]


@pytest.mark.parametrize("n, name, new", ALTERNATIVES, ids=[f"lab{a[0]}-{a[1]}" for a in ALTERNATIVES])
def test_a_correct_solution_written_differently_passes(n, name, new, tmp_path):
    lab = labs.get(n)
    source = replace_function(lab.text("solution.py"), name, new)
    assert source != lab.text("solution.py")
    report = labs.check(n, write(tmp_path, f"{lab.stem}.py", source))
    assert report.passed, report.text()


def test_a_fault_of_the_checker_is_one_line_too(tmp_path, monkeypatch):
    checker = labs.get(1).checker()

    def broken(fn):
        raise KeyError("oops")

    monkeypatch.setitem(checker.CHECKS, "neuron", broken)
    report = labs.check(1, write(tmp_path, "lab1_forward.py", labs.get(1).text("solution.py")))
    o = {o.function: o for o in report.outcomes}
    assert o["activation"].passed and o["forward"].passed and not o["neuron"].passed
    assert o["neuron"].summary.startswith("the checker itself failed (KeyError")
