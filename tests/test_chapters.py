"""Chapter scripts (``chapters/*.py``), their shared helpers, and :mod:`lmtrain.plotting`.

Every script found in ``chapters/`` runs in ``--quick`` mode with ``--out`` set to
a temporary folder (the committed figures are never touched), and every file it
writes is checked: PNGs by signature and by reading them back, Markdown and CSV
tables by parsing them. Figure 12.1's trajectories are checked against values
worked out by hand and against NumPy's solver.
"""

from __future__ import annotations

import csv
import math
from pathlib import Path

import matplotlib

matplotlib.use("Agg", force=True)

import matplotlib.image as mpimg  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from matplotlib.patches import Circle, FancyArrowPatch  # noqa: E402

import lmtrain as lm  # noqa: E402
from lmtrain import experiments as ex  # noqa: E402
from lmtrain import plotting  # noqa: E402
from lmtrain.cli.reproduce import ORDER, chapters_dir, discover, load  # noqa: E402

CHAPTERS = chapters_dir()
FIGURES = CHAPTERS.parent / "figures"
FOUND = dict(discover(CHAPTERS))
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def _script(name):
    if name not in FOUND:
        pytest.skip(f"chapters/{name}.py is not written yet")
    return load(FOUND[name])


def _common_module():
    load(FOUND["table_12_1"])  # puts chapters/ on sys.path
    import _common

    return _common


@pytest.fixture(scope="module")
def common():
    load(FOUND["table_12_1"])  # puts chapters/ on sys.path
    import _common

    return _common


def check_png(path: Path, min_width=300, min_height=200):
    data = path.read_bytes()
    assert data[:8] == PNG_SIGNATURE, f"{path.name} is not a PNG"
    img = mpimg.imread(path)
    h, w = img.shape[:2]
    assert w >= min_width and h >= min_height, f"{path.name} is only {w}x{h} px"
    assert img.ndim == 3 and img.shape[2] in (3, 4)
    assert float(np.std(img[..., :3])) > 0.01, f"{path.name} is blank"
    return img


def check_table(md: Path, common):
    columns, rows = common.read_markdown_table(md)
    assert columns and rows, f"{md.name} has no rows"
    assert all(len(r) == len(columns) for r in rows), f"{md.name}: ragged rows"
    return columns, rows


def check_csv(path: Path):
    with open(path, newline="", encoding="utf-8") as fh:
        table = list(csv.reader(fh))
    assert len(table) >= 2 and table[0], f"{path.name} has no header or no rows"
    assert all(len(r) == len(table[0]) for r in table), f"{path.name}: ragged rows"
    return table[0], table[1:]


# ------------------------------------------------------------ every script, quick
@pytest.mark.parametrize("name", ORDER + sorted(n for n in FOUND if n not in ORDER))
def test_script_runs_quick_and_writes_valid_files(name, tmp_path, common, capsys):
    module = _script(name)
    assert (module.__doc__ or "").strip(), f"{name}.py needs a docstring naming its source"
    assert module.main(["--quick", "--out", str(tmp_path)]) == 0
    written = sorted(p for p in tmp_path.iterdir() if p.is_file())
    assert written, f"{name} wrote nothing"
    for p in written:
        assert p.stat().st_size > 0, f"{p.name} is empty"
        if p.suffix == ".png":
            check_png(p)
            assert common.png_text(p).get("Description") == common.QUICK_NOTE, f"{p.name} hides its quick mode"
        elif p.suffix == ".md":
            check_table(p, common)
        elif p.suffix == ".csv":
            check_csv(p)
    assert not any(FIGURES.glob("*.tmp"))


# ------------------------------------------------------------------- the scripts
def test_table_12_1_lists_every_registered_algorithm(tmp_path, common):
    module = _script("table_12_1")
    assert module.main(["--out", str(tmp_path)]) == 0
    columns, rows = check_table(tmp_path / "table_12_1.md", common)
    assert columns == module.COLUMNS
    csv_columns, csv_rows = check_csv(tmp_path / "table_12_1.csv")
    assert csv_columns == columns and csv_rows == rows  # plain text cells: identical in both files
    assert len(rows) == 5
    nbn = rows[4]
    assert nbn[0].startswith("NBN") and "Q⁻¹ g" in nbn[columns.index("update rule")]
    assert "kernels.quasi_hessian" in nbn[-1] and "jacobian='blocks'" in nbn[-1]
    by_key = {r[columns.index("name in lmtrain")]: r for r in rows[:4]}
    assert list(by_key) == list(lm.ALGORITHMS)
    for key, spec in lm.ALGORITHMS.items():
        row = by_key[key]
        assert row[columns.index("update rule")] == spec.rule
        assert row[columns.index("equation")] == f"({spec.equation})"
        assert row[columns.index("convergence")] == spec.convergence
    assert by_key["lm"][columns.index("update rule")] == "w ← w − (JᵀJ + μI)⁻¹ Jᵀe"


@pytest.fixture(scope="module")
def valley():
    return _script("fig_12_1")


def test_fig_12_1_jacobian_matches_finite_differences(valley):
    w = np.array([-0.7, 1.3])
    h = 1e-6
    fd = np.column_stack([(valley.errors(w + h * np.eye(2)[i]) - valley.errors(w - h * np.eye(2)[i])) / (2 * h)
                          for i in range(2)])
    np.testing.assert_allclose(valley.jacobian(w), fd, rtol=1e-7, atol=1e-8)
    assert valley.error(np.array([1.0, 1.0])) == 0.0


def test_fig_12_1_gauss_newton_path_worked_by_hand(valley):
    # at (−1.2, 1): e = (−4.4, 2.2), J = [[24, 10], [−1, 0]]; J Δ = e gives Δ = (−2.2, 4.84),
    # so the first step lands on (1, −3.84) and the second on the minimum (1, 1)
    path = valley.gauss_newton(np.array([-1.2, 1.0]), 10)
    assert len(path) == 3
    np.testing.assert_allclose(path[1], [1.0, -3.84], atol=1e-12)
    np.testing.assert_allclose(path[2], [1.0, 1.0], atol=1e-12)


def test_fig_12_1_lm_follows_numpy_and_the_mu_rule(valley):
    path, mus = valley.levenberg_marquardt(valley.START, 200)
    assert len(mus) == len(path) - 1
    np.testing.assert_allclose(path[-1], [1.0, 1.0], atol=1e-9)
    for k in range(len(mus)):  # every accepted step solves (JᵀJ + μI) Δ = Jᵀe for the μ used
        w = path[k]
        J, e = valley.jacobian(w), valley.errors(w)
        delta = np.linalg.solve(J.T @ J + mus[k] * np.eye(2), J.T @ e)
        np.testing.assert_allclose(path[k + 1], w - delta, rtol=1e-10, atol=1e-12)
    E = np.array([valley.error(w) for w in path])
    assert np.all(np.diff(E) <= 1e-15)  # no forced step was needed here
    ratios = mus[1:] / mus[:-1]
    assert set(np.round(ratios, 12)) <= {0.1, 1.0, 10.0, 100.0, 1000.0, 1e4, 1e5}


def test_fig_12_1_steepest_descent_small_step_crawls_large_oscillates(valley):
    n = 5000
    small = valley.steepest_descent(valley.START, valley.ALPHA_SMALL, n)
    large = valley.steepest_descent(valley.START, valley.ALPHA_LARGE, n)
    w0 = valley.START
    np.testing.assert_allclose(small[1], w0 - valley.ALPHA_SMALL * valley.jacobian(w0).T @ valley.errors(w0))
    assert len(small) == len(large) == n + 1  # neither run blew up
    E_small = np.array([valley.error(w) for w in small])
    E_large = np.array([valley.error(w) for w in large])
    assert np.all(np.diff(E_small) < 0)  # stable: every step descends ...
    assert E_small[-1] > 0.01  # ... yet after 5000 steps it has not reached the minimum
    assert E_large[1] > E_large[0]  # the large step climbs the opposite wall at once
    tail = np.diff(E_large[-100:])
    assert np.sum(tail > 0) > 30  # and still rattles from wall to wall at the end
    assert E_large[-1] > E_large.min() * 10


def test_fig_12_7_draws_the_3_3_1_network(tmp_path):
    module = _script("fig_12_7")
    assert module.main(["--out", str(tmp_path)]) == 0
    check_png(tmp_path / "fig_12_7.png")
    check_png(tmp_path / "fig_12_7_topologies.png", min_width=800)
    assert "Description" not in _common_module().png_text(tmp_path / "fig_12_7.png")  # a full run is not marked


# ------------------------------------------------------------------- _common
def test_common_tables_round_trip(tmp_path, common):
    rows = [{"name": "a|b", "x": 1.23456, "n": 3}, {"name": "c", "x": math.nan, "n": 4}]
    md, csv_path = common.write_table(rows, ["name", "x", "n"], "t", tmp_path, formats={"x": ".2f"})
    cols, got = common.read_markdown_table(md)
    assert cols == ["name", "x", "n"]
    assert got == [["a|b", "1.23", "3"], ["c", "—", "4"]]
    with open(csv_path, newline="", encoding="utf-8") as fh:
        table = list(csv.reader(fh))
    assert table[1] == ["a|b", "1.23456", "3"]
    common.write_table([["np", np.float64(0.1), np.int64(2)]], ["name", "x", "n"], "w", tmp_path)
    assert (tmp_path / "w.csv").read_text(encoding="utf-8").splitlines()[1] == "np,0.1,2"  # NumPy scalars as numbers
    assert float(table[2][1]) != float(table[2][1])  # NaN kept in the CSV
    common.write_table([["z", 0.5, 1]], ["name", "x", "n"], "u", tmp_path)
    with pytest.raises(ValueError, match="rows\\[0\\]"):
        common.write_table([["too", "short"]], ["name", "x", "n"], "v", tmp_path)
    with pytest.raises(ValueError, match="lacks"):
        common.write_table([{"name": 1}], ["name", "x"], "v", tmp_path)


def test_common_defaults_point_to_figures_beside_chapters(common, tmp_path):
    args = common.parse_args([], "Doc.")
    assert args.out == FIGURES == common.FIGURES and not args.quick and args.seed == 0
    args = common.parse_args(["--quick", "--out", str(tmp_path / "x"), "--seed", "4"], None)
    assert args.quick and args.seed == 4 and args.out.is_dir()
    fig, ax = plt.subplots()
    ax.plot([0, 1], [0, 1])
    path = common.save_figure(fig, "line", tmp_path)
    assert path == tmp_path / "line.png" and path.read_bytes()[:8] == PNG_SIGNATURE
    assert not plt.fignum_exists(fig.number)  # closed after saving
    with pytest.raises(ValueError):
        common.save_figure(plt.figure(), "../escape", tmp_path)


# ------------------------------------------------------------------ plotting
TOPOLOGIES = {
    "mlp": lm.mlp([3, 3, 1]),
    "bmlp": lm.bmlp([3, 2, 2, 1], gain=0.5),
    "fcc": lm.fcc(3, 3),
    "dag": lm.Network(2, [((0,), "linear", 1.0), ((0, 1, 2), "unipolar", 2.0), ((2,), "bipolar", 1.0)], [3, 4]),
}


@pytest.mark.parametrize("kind", list(TOPOLOGIES))
def test_draw_network_draws_every_neuron_and_connection(kind):
    net = TOPOLOGIES[kind]
    fig, ax = plt.subplots()
    plotting.draw_network(net, ax)
    circles = [p for p in ax.patches if isinstance(p, Circle)]
    arrows = [p for p in ax.patches if isinstance(p, FancyArrowPatch)]
    n_bias_nodes = len(net.layers())
    assert len(circles) == net.n_neurons + n_bias_nodes
    assert len(arrows) == net.n_weights  # one edge per weight, biases included
    texts = {t.get_text() for t in ax.texts}
    assert {f"x{i + 1}" for i in range(net.n_inputs)} <= texts
    assert {f"n{k + 1}" for k in range(net.n_neurons)} <= texts
    assert {f"o{m + 1}" for m in range(net.n_outputs)} <= texts
    acts = {plotting.activation_label(s.activation, 1.0) for s in net.neurons}
    assert acts <= texts or {plotting.activation_label(s.activation, s.gain) for s in net.neurons} <= texts
    plt.close(fig)
    fig, ax = plt.subplots()
    plotting.draw_network(net, ax, show_bias=False, weights=np.linspace(-1, 1, net.n_weights))
    assert sum(isinstance(p, FancyArrowPatch) for p in ax.patches) == net.n_weights - net.n_neurons
    plt.close(fig)


def test_network_layout_columns_follow_depth():
    lay = plotting.network_layout(TOPOLOGIES["fcc"])
    assert lay["columns"] == [[0, 1, 2], [3], [4], [5]]
    xs = [lay["nodes"][n][0] for n in (0, 3, 4, 5)]
    assert xs == sorted(xs) and len(set(xs)) == 4


def test_draw_network_validates():
    with pytest.raises(TypeError):
        plotting.draw_network("3-3-1")
    with pytest.raises(ValueError):
        plotting.draw_network(lm.mlp([2, 1]), weights=[1.0, 2.0])


def test_error_curves_plot_one_line_per_trial_from_the_initial_error():
    X, D = lm.datasets.parity(3)
    net = lm.mlp([3, 3, 1], gain=0.5)
    s = ex.run_trials(net, X, D, "lm", trials=4, seed=3, goal=0.01, progress=False)
    fig, ax = plt.subplots()
    plotting.plot_error_curves(s, ax, goal=0.01, label="LM")
    lines = ax.get_lines()
    assert len(lines) == 4 + 1  # trials + goal line
    for t, line in enumerate(lines[:4]):
        x, y = line.get_data()
        n = int(s.iterations[t])
        np.testing.assert_array_equal(x, np.arange(n + 1))
        np.testing.assert_allclose(y, np.concatenate(([s.initial_error[t]], s.error_history[t, :n])))
    assert lines[4].get_ydata()[0] == 0.01
    assert ax.get_yscale() == "log"
    assert ax.get_xlabel() and ax.get_ylabel()
    plt.close(fig)


def test_error_curves_accept_results_histories_and_arrays():
    X, D = lm.datasets.parity(3)
    net = lm.mlp([3, 3, 1], gain=0.5)
    r = lm.train(net, X, D, "lm", seed=1, goal=0.01)
    fig, ax = plt.subplots()
    plotting.plot_error_curves([r, r.history, np.array([1.0, 0.1, 0.0])], ax, max_curves=3)
    lines = ax.get_lines()
    assert len(lines) == 3
    assert lines[0].get_xdata()[0] == 0 and lines[1].get_xdata()[0] == 1
    assert np.all(lines[2].get_ydata() > 0)  # E = 0 is drawn at a floor on the log axis
    with pytest.raises(TypeError):
        plotting.plot_error_curves({"a": 1}, ax)
    with pytest.raises(ValueError):
        plotting.plot_error_curves(r, ax, goal=0.0)
    plt.close(fig)


# ------------------------------------------------------------ Figs. 12.2 and 12.3
@pytest.mark.parametrize("kind, j, inputs, feeds, outputs", [
    ("mlp", 1, [0, 1, 2], [(3, 2)], [0]),          # hidden n2 of 3-3-1 feeds n4 as its 2nd input
    ("mlp", 3, [3, 4, 5], [], [0]),                 # the output neuron n4
    ("fcc", 1, [0, 1, 2, 3], [(2, 5)], [0]),       # cascade n2 sees x1..x3 and n1, feeds n3 as its 5th input
    ("dag", 0, [0], [(1, 3), (2, 1)], [0, 1]),     # linear n1 feeds n2 (o1) and n3 (o2)
    ("dag", 2, [2], [], [1]),                       # n3 reads only n1 and is output o2
])
def test_neuron_links_by_hand(kind, j, inputs, feeds, outputs):
    net = TOPOLOGIES[kind]
    links = plotting.neuron_links(net, j)
    assert links["node"] == net.n_inputs + j
    assert links["inputs"] == inputs and links["feeds"] == feeds and links["outputs"] == outputs


def test_neuron_links_validates():
    with pytest.raises(ValueError, match="neuron index"):
        plotting.neuron_links(lm.mlp([2, 1]), 1)
    with pytest.raises(TypeError):
        plotting.neuron_links(lm.mlp([2, 1]), 0.0)
    with pytest.raises(TypeError):
        plotting.neuron_links("net", 0)


@pytest.mark.parametrize("kind, j", [("mlp", 1), ("mlp", 3), ("fcc", 1), ("fcc", 2), ("bmlp", 4), ("dag", 1)])
def test_draw_neuron_labels_every_input_weight_and_what_it_feeds(kind, j):
    net = TOPOLOGIES[kind]
    fig, ax = plt.subplots()
    plotting.draw_neuron(net, j, ax)
    texts = [t.get_text() for t in ax.texts]
    n_in = len(net.neurons[j].inputs)
    for i in range(1, n_in + 1):
        assert f"$y_{{j,{i}}}$" in texts and f"$w_{{j,{i}}}$" in texts
    assert "$w_{j,0}$" in texts and "+1" in texts
    assert {"$net_j$", "$f_j$", "$y_j$", "Σ"} <= set(texts)
    assert any("s_j = f_j'(net_j)" in t for t in texts)
    sources = [t for t in texts if t.startswith(("input ", "neuron n"))]
    assert sources == [("input " if s < net.n_inputs else "neuron ") + net.node_name(s) for s in net.neurons[j].inputs]
    links = plotting.neuron_links(net, j)
    for k, i in links["feeds"]:
        name = net.node_name(net.n_inputs + k)
        assert f"{name}, as its $y_{{{name[1:]},{i}}}$" in texts
    if links["node"] in net.outputs:
        assert any(t.startswith(f"$o_{{{net.outputs.index(links['node']) + 1}}} = y_j$") for t in texts)
    assert ax.get_title().startswith(f"neuron j = {net.node_name(links['node'])}")
    plt.close(fig)


def test_draw_neuron_elides_the_middle_of_a_long_input_list():
    net = lm.fcc(9, 2)
    fig, ax = plt.subplots()
    plotting.draw_neuron(net, 1, ax, max_inputs=6)  # 10 inputs: the first 4, "⋮", the last 2
    texts = [t.get_text() for t in ax.texts]
    assert [t for t in texts if t.startswith("$w_{j,")] == [f"$w_{{j,{i}}}$" for i in (1, 2, 3, 4, 9, 10, 0)]
    assert "⋮" in texts and "5 more" in texts
    with pytest.raises(ValueError):
        plotting.draw_neuron(net, 1, ax, max_inputs=2)
    plt.close(fig)


def test_fig_12_3_lists_every_equation_of_steps_a_to_h_once(tmp_path):
    module = _script("fig_12_3")
    numbers = [n for _, _, eqs in module.STEPS.values() for _, n in eqs]
    assert numbers == [f"12.{k}" for k in range(37, 53)]
    assert "".join(module.STEPS) == "abcdefgh" and module.FORWARD + module.BACKWARD == "abcdefgh"
    # steps act where the chapter says: a, h on layer 1; b, f on layer 2; c, d on the outputs; e, g between
    where = {k: v[0] for k, v in module.STEPS.items()}
    assert where == {"a": 1, "b": 2, "c": 3, "d": 3, "e": 2.5, "f": 2, "g": 1.5, "h": 1}


# ------------------------------------------------------ quick runs stay out of figures/
def test_quick_figure_says_so_in_its_title_and_metadata(common, tmp_path):
    fig, ax = plt.subplots()
    ax.plot([0, 1])
    fig.suptitle("my title")
    common.mark_quick(fig)
    assert fig.get_suptitle() == f"{common.QUICK_NOTE}\nmy title"
    plt.close(fig)
    fig, ax = plt.subplots()
    path = common.save_figure(fig, "q", tmp_path, quick=True)
    assert common.png_text(path) == {"Description": common.QUICK_NOTE}
    fig, ax = plt.subplots()
    path = common.save_figure(fig, "full", tmp_path, quick=False)
    assert common.png_text(path) == {}


def test_a_quick_script_without_out_writes_to_a_temporary_folder_and_says_where(common, capsys):
    from conftest import FIGURES as GUARDED, tree_digest

    assert GUARDED == FIGURES
    before = tree_digest(FIGURES)
    module = _script("fig_12_6")
    assert module.main(["--quick"]) == 0
    out = capsys.readouterr().out
    line = next(ln for ln in out.splitlines() if ln.startswith("quick run: writing to "))
    folder = Path(line.split("writing to ", 1)[1].split(" (", 1)[0])
    assert folder.is_dir() and folder != FIGURES and FIGURES not in folder.parents
    assert (folder / "fig_12_6.png").is_file()
    assert common.png_text(folder / "fig_12_6.png")["Description"] == common.QUICK_NOTE
    assert tree_digest(FIGURES) == before


def test_reproduce_quick_without_out_leaves_figures_byte_for_byte(capsys):
    from conftest import tree_digest

    from lmtrain.cli import main as cli_main

    before = tree_digest(FIGURES)
    assert before, "figures/ should hold the committed outputs"
    names = ["table_12_1", "fig_12_2", "fig_12_3", "fig_12_6", "fig_12_8"]
    assert cli_main(["reproduce", "--quick", "--only", *[n for n in names if n in FOUND]]) == 0
    out = capsys.readouterr().out
    first = out.splitlines()[0]
    folder = Path(first.split("writing to ", 1)[1])
    assert folder.is_dir() and folder.resolve() != FIGURES.resolve()
    written = [Path(ln.split("wrote ", 1)[1]) for ln in out.splitlines() if "wrote " in ln]
    assert written and all(p.parent.resolve() == folder.resolve() for p in written)
    assert tree_digest(FIGURES) == before


def test_figures_holds_full_runs_only(common):
    """figures/ holds figures and tables, none of them from a quick run, and nothing else.

    ``figures/measured/`` (ignored by git) holds the figures of this machine's timings.
    """
    files = sorted(p for p in FIGURES.iterdir() if p.name != "measured")
    assert files
    for p in files:
        assert p.is_file() and p.suffix in (".png", ".md", ".csv"), f"figures/{p.name} is not an output"
        if p.suffix == ".png":
            assert "Description" not in common.png_text(p), f"figures/{p.name} comes from a quick run"


# ------------------------------------------------------------ Figs. 12.4 and 12.5
#: the chapter's Fig. 12.4, line by line, without indentation
CHAPTER_LISTING = [
    "for all patterns", "% Forward computation", "for all layers", "for all neurons in the layer",
    "calculate net; % Equation (12.28)", "calculate output; % Equation (12.27)",
    "calculate slope; % Equation (12.30)", "end;", "end;", "% Backward computation", "initial delta as slope;",
    "for all outputs", "calculate error;", "for all layers", "for all neurons in the previous layer",
    "for all neurons in the current layer", "multiply delta through weights",
    "sum the backpropagated delta at proper nodes", "end;", "multiply delta by slope;", "end;", "end;", "end;",
    "end;",
]


def test_fig_12_4_lists_the_chapter_pseudo_code_in_order():
    module = _script("fig_12_4")
    lines = [" ".join(p.split()) for p, *_ in module.LISTING]
    assert lines[:len(CHAPTER_LISTING)] == CHAPTER_LISTING
    assert all(m is not None for p, m, f, _ in module.LISTING if p.strip() != "end;")  # every statement is tied
    assert all(m is None and f is None for p, m, f, _ in module.LISTING if p.strip() == "end;")


def test_fig_12_4_every_fragment_resolves_to_exactly_one_line(common):
    module = _script("fig_12_4")
    root = CHAPTERS.parent
    for pseudo, mod, func, fragment in module.LISTING:
        if mod is None:
            continue
        path, line, text = common.source_line(mod, func, fragment)
        source = (root / path).read_text(encoding="utf-8").splitlines()
        assert source[line - 1].strip() == text, (pseudo, path, line)
        if fragment is not None:
            assert fragment in text
            import importlib
            import inspect

            obj = getattr(importlib.import_module(mod), func)
            body, start = inspect.getsourcelines(getattr(obj, "py_func", obj))
            assert sum(fragment in ln for ln in body) == 1, (pseudo, fragment)
            assert start <= line < start + len(body)
        else:
            assert text.startswith("def " + func.split(".")[-1] + "("), (pseudo, text)
    rows = module.resolve()
    assert [r["pseudo"] for r in rows] == [p for p, *_ in module.LISTING]


def test_fig_12_5_every_box_resolves_to_exactly_one_line(common):
    module = _script("fig_12_5")
    assert set(module.BOXES) == {"start", "error_k", "jacobian", "update", "error_k1", "compare", "worse",
                                 "count", "tries", "forced", "better", "goal"}
    root = CHAPTERS.parent
    for key, (_, mod, func, fragment) in module.BOXES.items():
        path, line, text = common.source_line(mod, func, fragment)
        assert (root / path).read_text(encoding="utf-8").splitlines()[line - 1].strip() == text, key
        assert fragment is None or fragment in text
    labels = module.resolve()
    assert all(line.split(":")[-1].isdigit() for _, _, line in labels.values())


def test_source_line_refuses_missing_and_ambiguous_fragments(common):
    with pytest.raises(LookupError, match="occurs on 0 lines"):
        common.source_line("lmtrain.kernels.forward", "forward", "no such text in forward")
    with pytest.raises(LookupError, match="occurs on 2 lines"):
        common.source_line("lmtrain.kernels.forward", "error", "np.empty(n_nodes)")
    path, line, text = common.source_line("lmtrain.algorithms.lm", "decide")
    assert path == "lmtrain/algorithms/lm.py" and text.startswith("def decide(")
