"""Table 12.2, Fig. 12.8, the set-up study and parity-N (``chapters/``) in quick mode.

Each script runs once per module in ``--quick`` mode into a temporary folder;
the tests then read back what it wrote (PNG signature and pixels, Markdown and
CSV tables with the expected rows and columns) and check the numbers against
independent facts: the book's values as recalled in DESIGN.md, weight counts
worked out by hand, the study's score formula on hand-computed cases, and the
study's shortcut (outcomes for a looser goal and a lower cap read from one
run's histories) against separate runs with that goal and cap.
"""

from __future__ import annotations

import csv
import math

import matplotlib

matplotlib.use("Agg", force=True)

import matplotlib.image as mpimg  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

import lmtrain as lm  # noqa: E402
from lmtrain.cli.reproduce import chapters_dir, load  # noqa: E402
from lmtrain.experiments import run_trials, trial_weights  # noqa: E402

CHAPTERS = chapters_dir()
ROWS = ["EBP α=1", "EBP α=100", "Gauss–Newton", "LM"]
#: DESIGN.md §2, recalled from the book: success, iterations, ms
BOOK = {"EBP α=1": (1.00, 1646.52, 320.6), "EBP α=100": (0.79, 171.48, 36.5),
        "Gauss–Newton": (0.03, 4.33, 1.2), "LM": (1.00, 6.18, 1.6)}


def _load(name):
    path = CHAPTERS / f"{name}.py"
    if not path.is_file():
        pytest.skip(f"chapters/{name}.py is not written yet")
    return load(path)


def _run_quick(name, tmp_path_factory):
    module = _load(name)
    out = tmp_path_factory.mktemp(name)
    assert module.main(["--quick", "--out", str(out)]) == 0
    return module, out


@pytest.fixture(scope="module")
def fig_12_8(tmp_path_factory):
    return _run_quick("fig_12_8", tmp_path_factory)


@pytest.fixture(scope="module")
def study(tmp_path_factory):
    return _run_quick("setup_study", tmp_path_factory)


@pytest.fixture(scope="module")
def parity(tmp_path_factory):
    return _run_quick("parity_n", tmp_path_factory)


def check_png(path, min_width=600, min_height=400):
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", f"{path.name} is not a PNG"
    img = mpimg.imread(path)
    assert img.shape[1] >= min_width and img.shape[0] >= min_height, f"{path.name} is {img.shape}"
    assert float(np.std(img[..., :3])) > 0.01, f"{path.name} is blank"


def read_csv(path):
    with open(path, newline="", encoding="utf-8") as fh:
        rows = list(csv.reader(fh))
    return rows[0], [dict(zip(rows[0], r)) for r in rows[1:]]


def read_md(path):
    lines = [ln for ln in path.read_text(encoding="utf-8").splitlines() if ln.startswith("|")]
    cells = [[c.strip() for c in ln.strip().strip("|").split("|")] for ln in lines]
    assert set(lines[1].replace("|", "")) == {"-"}, "second line must be the header rule"
    return cells[0], cells[2:]


def num(text):
    return float(text) if text not in ("", "nan") else math.nan


# ----------------------------------------------------------------- Table 12.2
def test_table_12_2_files_have_the_four_rows_and_the_book_beside_ours(fig_12_8):
    module, out = fig_12_8
    check_png(out / "fig_12_8.png")
    header, rows = read_csv(out / "table_12_2.csv")
    assert header == module.COLUMNS
    assert [r["algorithm"] for r in rows] == ROWS
    for r in rows:
        rate, iters, ms = BOOK[r["algorithm"]]
        assert num(r["success, book"]) == rate
        assert num(r["iterations, book"]) == iters
        assert num(r["ms, book"]) == ms
        s = num(r["success, lmtrain"])
        assert 0.0 <= s <= 1.0 and s * 10 == round(s * 10), "10 quick trials give a rate in tenths"
        assert (s > 0) == math.isfinite(num(r["iterations, lmtrain"]))
        stops = dict(item.rsplit(" ", 1) for item in r["stops, lmtrain"].split(", "))
        assert sum(int(v) for v in stops.values()) == 10
        assert int(stops.get("GOAL", 0)) == round(10 * s)
    md_header, md_rows = read_md(out / "table_12_2.md")
    assert md_header == module.COLUMNS and [r[0] for r in md_rows] == ROWS


def test_quick_table_12_2_lm_succeeds_more_often_and_faster_than_ebp_and_gauss_newton(fig_12_8):
    _, out = fig_12_8
    _, rows = read_csv(out / "table_12_2.csv")
    by = {r["algorithm"]: r for r in rows}
    lm_rate, lm_iter = num(by["LM"]["success, lmtrain"]), num(by["LM"]["iterations, lmtrain"])
    assert lm_rate >= 0.9
    for other in ("EBP α=1", "EBP α=100", "Gauss–Newton"):
        rate, iters = num(by[other]["success, lmtrain"]), num(by[other]["iterations, lmtrain"])
        assert lm_rate > rate, f"LM {lm_rate} vs {other} {rate}"
        if rate > 0:
            assert lm_iter < iters, f"LM {lm_iter} vs {other} {iters} iterations"
    assert num(by["EBP α=100"]["success, lmtrain"]) > 0, "the chosen set-up makes EBP α=100 succeed sometimes"


def test_fig_12_8_setup_is_one_the_study_knows(fig_12_8):
    module, _ = fig_12_8
    import setup_study as st

    s = module.SETUP
    assert s["topology"] in st.TOPOLOGIES and s["neurons"] in st.NEURONS
    assert s["goal"] in st.GOALS and s["alpha_scale"] in st.ALPHA_SCALES
    assert s["mu0"] in st.MU0 and s["ebp_cap"] in st.EBP_CAPS


# ------------------------------------------------------------ set-up study
def test_study_files_list_the_setups_sorted_by_score(study):
    module, out = study
    check_png(out / "setup_study.png")
    header, rows = read_csv(out / "setup_study.csv")
    assert header == module.CSV_COLUMNS
    assert len(rows) == 2  # quick: two EBP step scalings of one network
    scores = [num(r["score"]) for r in rows]
    assert scores == sorted(scores) and [int(r["rank"]) for r in rows] == [1, 2]
    for r in rows:
        parts = [num(r[f"{name} distance"]) for name in ROWS]
        assert sum(parts) == pytest.approx(num(r["score"]), rel=1e-12)
        for name in ROWS:  # recompute every distance from the written rates and iterations
            s, n = num(r[f"{name} success"]), num(r[f"{name} iterations"])
            rate, iters, _ = BOOK[name]
            expected = abs(s - rate) + (abs(math.log10(n / iters)) if s > 0 else rate)
            assert num(r[f"{name} distance"]) == pytest.approx(expected, rel=1e-12)
    md_header, md_rows = read_md(out / "setup_study.md")
    assert md_header == module.MD_COLUMNS
    assert md_rows[0][0] == "book (recalled)" and [r[0] for r in md_rows[1:]] == ["1", "2"]


def test_study_distance_on_hand_worked_cases(study):
    module, _ = study
    d = module.row_distance
    assert d(1.0, 1646.52, 1.0, 1646.52) == 0.0
    assert d(1.0, 164.652, 1.0, 1646.52) == pytest.approx(1.0)  # a factor of 10 in iterations
    assert d(0.5, 20.0, 0.8, 2.0) == pytest.approx(0.3 + 1.0)
    assert d(0.0, math.nan, 0.79, 171.48) == pytest.approx(0.79 + 0.79)
    assert module.BOOK == BOOK


@pytest.mark.parametrize("algorithm, options", [("ebp", {"alpha": 1.0 / 8}), ("lm", {"mu": 0.01})])
def test_study_outcomes_read_from_histories_match_separate_runs(study, algorithm, options):
    module, _ = study
    net, X, D = module.build("mlp331", "tanh0.5")
    W0 = trial_weights(net, 12, 3)
    tight_goal, loose_goal, cap = 0.002, 0.04, (600 if algorithm == "ebp" else 12)
    long_run = run_trials(net, X, D, algorithm, w0=W0, goal=tight_goal, max_iter=4 * cap, history=4 * cap,
                          progress=False, **options)
    success, iterations = module.outcome(long_run, loose_goal, cap)
    direct = run_trials(net, X, D, algorithm, w0=W0, goal=loose_goal, max_iter=cap, history=0,
                        progress=False, **options)
    np.testing.assert_array_equal(success, direct.reached_goal)
    np.testing.assert_array_equal(iterations[success], direct.iterations[direct.reached_goal])
    assert 0 < success.sum(), "the check needs some successes"
    with pytest.raises(ValueError):
        module.outcome(long_run, tight_goal / 2)


# ----------------------------------------------------------------- parity-N
def test_parity_n_files_have_a_row_per_size_and_network(parity):
    module, out = parity
    check_png(out / "parity_n.png")
    header, rows = read_csv(out / "parity_n.csv")
    assert header == module.COLUMNS
    assert [(int(r["N"]), r["network"]) for r in rows] == [
        (n, name) for n in (2, 3, 4) for name in (f"MLP {n}-{n}-1", f"FCC, {n} neurons")]
    for r in rows:
        n = int(r["N"])
        P = 2 ** n
        assert int(r["patterns"]) == P
        assert num(r["goal on E"]) == pytest.approx(P / 200)  # MSE = SSE/P ≤ 0.01 on E = ½SSE
        # hand counts: MLP N-N-1 has N neurons of N+1 weights and one of N+1; FCC neuron k sees N+k nodes
        expected = (n + 1) ** 2 if r["network"].startswith("MLP") else sum(n + k + 1 for k in range(n))
        assert int(r["weights"]) == expected
        for a in module.ALGORITHMS:
            s = num(r[f"{a} success"])
            assert 0.0 <= s <= 1.0 and (s > 0) == math.isfinite(num(r[f"{a} iterations"]))
        assert num(r["LM success"]) >= num(r["Gauss–Newton success"])
    md_header, md_rows = read_md(out / "parity_n.md")
    assert md_header == module.COLUMNS and len(md_rows) == len(rows)


def test_parity_n_networks_are_the_documented_ones(parity):
    module, _ = parity
    mlp = module.NETWORKS["MLP N-N-1"](4, "bipolar", 0.5)
    fcc = module.NETWORKS["FCC, N neurons"](4, "bipolar", 0.5)
    assert mlp == lm.mlp([4, 4, 1], gain=0.5)
    assert fcc == lm.fcc(4, 4, gain=0.5)


# ------------------------------------------------------ the package's set-up
def test_the_package_set_up_is_the_study_reading_named_in_fig_12_8(fig_12_8):
    module, _ = fig_12_8
    import setup_study as st

    T = lm.experiments.TABLE_12_2
    assert module.TABLE is T and lm.experiments.SETUPS["table-12-2"] is T
    s = module.SETUP
    assert s == dict(topology="mlp331", neurons="tanh0.5", goal="mse", alpha_scale="adhoc32", mu0=0.1, ebp_cap=2000)
    net, X, D = st.build(s["topology"], s["neurons"])
    assert T.network() == net == lm.mlp([3, 3, 1], activation="bipolar", gain=0.5)
    X2, D2 = T.data()
    np.testing.assert_array_equal(X, X2)
    np.testing.assert_array_equal(D, D2)
    assert T.goal == st.GOALS[s["goal"]][1] == 0.04  # MSE ≤ 0.01 with P = 8, on E = ½SSE
    algos = T.algorithms()
    assert list(algos) == ROWS
    assert algos["EBP α=1"] == ("ebp", {"alpha": 1 / 32, "max_iter": 2000})
    assert algos["EBP α=100"] == ("ebp", {"alpha": 100 / 32, "max_iter": 2000})
    assert algos["Gauss–Newton"] == ("gauss_newton", {"max_iter": st.SECOND_ORDER_CAP})
    assert algos["LM"] == ("lm", {"mu": 0.1, "max_iter": st.SECOND_ORDER_CAP})
    assert T.book_values() == BOOK and st.BOOK == BOOK
    assert T.algorithms(ebp=1000)["EBP α=100"][1]["max_iter"] == 1000
    with pytest.raises(ValueError, match="newton"):
        T.algorithms(newton=5)


def test_study_refuses_a_set_up_it_did_not_try():
    import dataclasses

    import setup_study as st

    other = dataclasses.replace(lm.experiments.TABLE_12_2, gain=0.7)
    with pytest.raises(ValueError, match="neurons"):
        st.keys_of(other)


def test_table_12_2_helper_is_compare_from_the_same_weights():
    T = lm.experiments.TABLE_12_2
    got = lm.experiments.table_12_2(trials=6, seed=4, history=0)
    net, (X, D) = T.network(), T.data()
    W0 = trial_weights(net, 6, 4)
    for label, (algo, opts) in T.algorithms().items():
        direct = run_trials(net, X, D, algo, w0=W0, goal=T.goal, history=0, progress=False, **opts)
        np.testing.assert_array_equal(got[label].initial_weights, W0)
        np.testing.assert_array_equal(got[label].stop_reason, direct.stop_reason)
        np.testing.assert_array_equal(got[label].iterations, direct.iterations)


def test_table_12_2_files_hold_no_times_and_the_report_does(fig_12_8):
    module, out = fig_12_8
    header, _ = read_csv(out / "table_12_2.csv")
    assert not [c for c in header if "ms" in c and c != "ms, book"]
    assert "ms per trial, lmtrain" in module.REPORT_COLUMNS
    text = module.report_text(module.table_rows(module.run(trials=3, seed=1, ebp_cap=50)))
    head, rule, *rows = text.splitlines()
    assert head.count("|") - 1 == len(module.REPORT_COLUMNS) and len(rows) == 4
    assert "nan" not in text
