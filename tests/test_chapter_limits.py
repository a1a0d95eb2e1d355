"""The §12.5 studies (``chapters/limit_*.py``): their quick runs write what they
say, with plausible values, and the pieces they are built from are right —
the hand-set parity weights solve parity, the power-law fit and the crossover
search find what synthetic data hide, the memory probe measures an allocation
it is shown. No timing is asserted anywhere."""

from __future__ import annotations

import csv
import json
import math
import subprocess
import sys

import numpy as np
import pytest

import lmtrain as lm
from lmtrain.cli.reproduce import ORDER, chapters_dir, load
from test_chapters import check_png

CHAPTERS = chapters_dir()


@pytest.fixture(scope="module")
def common():
    load(CHAPTERS / "table_12_1.py")  # puts chapters/ on sys.path
    import _common

    return _common


def _read(tmp_path, name, common):
    check_png(tmp_path / f"{name}.png")
    columns, rows = common.read_markdown_table(tmp_path / f"{name}.md")
    with open(tmp_path / f"{name}.csv", newline="", encoding="utf-8") as fh:
        table = list(csv.reader(fh))
    assert table[0] == columns and len(table) - 1 == len(rows)
    return columns, [dict(zip(table[0], r)) for r in table[1:]]


def test_the_three_studies_run_after_parity_n():
    assert ORDER[ORDER.index("parity_n") + 1:][:3] == ["limit_inversion", "limit_memory", "limit_topology"]
    for name in ("limit_inversion", "limit_memory", "limit_topology"):
        doc = load(CHAPTERS / f"{name}.py").__doc__
        assert "§12.5" in doc.splitlines()[0]


# ------------------------------------------------------------ matrix inversion
def test_inversion_quick_run(tmp_path, common):
    module = load(CHAPTERS / "limit_inversion.py")
    assert module.main(["--quick", "--out", str(tmp_path)]) == 0
    columns, rows = _read(tmp_path, "limit_inversion", common)
    assert columns == module.COLUMNS
    assert [int(r["h"]) for r in rows] == list(module.QUICK["hidden"])
    for r in rows:
        h, N, P = int(r["h"]), int(r["N"]), int(r["P"])
        assert N == 4 * h + 1 and P == module.GRID ** 2
        assert r["system lmtrain solves"].startswith(f"{min(N, P)} × {min(N, P)}")
        lm_its, ebp_its = float(r["LM iterations to goal"]), float(r["EBP iterations to goal"])
        assert 1 <= lm_its <= 30 and 100 <= ebp_its < module.EBP_CAP  # both reach the goal, LM in far fewer


def test_inversion_iterations_are_those_of_a_plain_run():
    module = load(CHAPTERS / "limit_inversion.py")
    X, D, goal = module.problem()
    assert goal == pytest.approx(0.5 * 256 * 0.01)
    net = module.network(8)
    w0 = net.init_weights(0)
    J = net.jacobian(w0, X)
    lam = module.lambda_max(J)
    assert lam == pytest.approx(np.linalg.eigvalsh(J.T @ J)[-1], rel=1e-6)
    row = module.measure(8, X, D, goal, 1, 0)
    r = lm.train(net, X, D, "lm", w0=w0, goal=goal, max_iter=module.LM_CAP)
    assert r.reached_goal and row["LM iterations to goal"] == r.iterations
    r = lm.train(net, X, D, "ebp", w0=w0, goal=goal, alpha=module.EBP_STEP / lam, max_iter=module.EBP_CAP)
    assert r.reached_goal and row["EBP iterations to goal"] == r.iterations


def test_inversion_fit_and_crossover_on_synthetic_data():
    module = load(CHAPTERS / "limit_inversion.py")
    a, k = module.fit_power([10, 100, 1000], [3e-3, 3e-1, 3e1])
    assert a == pytest.approx(3e-5) and k == pytest.approx(2.0)
    assert all(math.isnan(v) for v in module.fit_power([1, 2], [1.0, math.nan]))
    # EBP: 1e-6·N s per iteration and 100·N^0.5 iterations; LM: 4 iterations of 1e-9·N^3 s (textbook)
    # or 1e-5·N s (P × P): EBP first when 4e-9·N^3 > 1e-4·N^1.5, i.e. N > (2.5e4)^(1/1.5) = 855
    rows = []
    for N in (300, 600, 1200):
        rows.append({"N": N, "P": 100, "ebp_iter": 1e-6 * N, "book_iter": 1e-9 * N ** 3, "solve": 1e-9 * N ** 3,
                     "lm_iter": 1e-5 * N, "LM iterations to goal": 4, "EBP iterations to goal": 100 * N ** 0.5,
                     "lm_goal_s": 4e-5 * N, "ebp_goal_s": 1e-4 * N ** 1.5})
    out = module.analyse(rows)
    assert out["model"]["ebp_iterations"][1] == pytest.approx(0.5)
    assert out["fits"]["book_iter"][1] == pytest.approx(3.0)
    m = out["model"]  # the constants of the operation counts come back
    assert m["c_E"] == pytest.approx(1e-8) and m["c_L"] == pytest.approx(1e-5) and m["lm_iterations"] == 4
    assert m["c_S"] == pytest.approx(1e-9, rel=1e-6) and abs(m["c_G"]) < 1e-15
    assert out["measured_crossover"] is None  # lmtrain's LM is faster at every measured size
    assert out["book_iter_crossover"] == pytest.approx(1200, rel=0.03)  # past the data: the first size checked
    assert out["lm_iter_crossover"] is None  # 4e-5·N against 1e-4·N^1.5: never
    rows[0]["ebp_goal_s"] = 1e-6
    assert module.analyse(rows)["measured_crossover"] == 300


# ---------------------------------------------------------------- storing J
memory = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc/self/status")


@memory
def test_memory_quick_run(tmp_path, common):
    module = load(CHAPTERS / "limit_memory.py")
    if not module.available():
        pytest.skip("/proc/self/clear_refs is not writable here")
    assert module.main(["--quick", "--out", str(tmp_path)]) == 0
    columns, rows = _read(tmp_path, "limit_memory", common)
    assert columns == module.COLUMNS
    assert [int(r["P"]) for r in rows] == list(module.QUICK["patterns"])
    for r in rows:
        P, M, N = int(r["P"]), int(r["M"]), int(r["N"])
        assert (M, N) == (2, 82)
        assert float(r["J = P·M·N·8 bytes (MB)"]) == pytest.approx(P * M * N * 8 / 1e6)
    big = rows[-1]
    formula = float(big["J = P·M·N·8 bytes (MB)"])
    stored, blocks = int(big["growth, J stored (MB)"]), int(big["growth, blocks (MB)"])
    assert stored >= formula - 1  # storing J costs at least J
    assert blocks < stored and blocks < 0.75 * formula  # the blocks never hold all of J


@memory
def test_memory_probe_sees_an_allocation(tmp_path):
    """The probe's method, on an allocation of known size: 80 MB of float64 touched once."""
    load(CHAPTERS / "limit_memory.py")
    code = ("import sys; sys.path.insert(0, sys.argv[1]); import numpy as np, json, _memory_probe as m\n"
            "open('/proc/self/clear_refs', 'w').write('5'); b = m.status()\n"
            "a = np.ones(10_000_000); del a\n"
            "print(json.dumps({'growth': m.status()['VmHWM'] - b['VmRSS']}))")
    out = subprocess.run([sys.executable, "-c", code, str(CHAPTERS)], capture_output=True, text=True)
    if out.returncode != 0 and "clear_refs" in out.stderr:
        pytest.skip("/proc/self/clear_refs is not writable here")
    growth = json.loads(out.stdout)["growth"]
    assert 79e6 <= growth <= 90e6


# -------------------------------------------------------------- MLP only
@pytest.mark.parametrize("n", [3, 5, 7, 15])
def test_hand_set_weights_solve_parity_on_every_topology(n):
    module = load(CHAPTERS / "limit_topology.py")
    X, D = lm.datasets.parity(n)
    for topology in module.TOPOLOGIES:
        for extra in (0, 1):
            size = module.smallest(topology, n) + extra
            net = module.build(topology, n, size, 0.5)
            O = net.forward(module.hand_weights(net, topology, n, 40.0), X)
            assert np.all(np.sign(O) == D), f"{topology} with {size}"
            assert net.error(module.hand_weights(net, topology, n, 40.0), X, D) < 1e-10
    assert [module.smallest(t, 7) for t in module.TOPOLOGIES] == [7, 3, 3]
    assert module.smallest("FCC", 15) == 4 and module.smallest("FCC", 16) == 5


def test_topology_quick_run(tmp_path, common):
    module = load(CHAPTERS / "limit_topology.py")
    assert module.main(["--quick", "--out", str(tmp_path)]) == 0
    columns, rows = _read(tmp_path, "limit_topology", common)
    assert columns == module.COLUMNS
    trained = [r for r in rows if r["stops"] != "not run (--large)"]
    assert {(int(r["parity"]), r["topology"]) for r in trained} == {(n, t) for n in (3, 5) for t in module.TOPOLOGIES}
    for r in trained:
        n = int(r["parity"])
        assert int(r["patterns"]) == 2 ** n and int(r["trials"]) == module.QUICK["trials"]
        assert 0.0 <= float(r["success"]) <= 1.0 and float(r["E, hand-set weights"]) < 1e-10
        stops = dict(s.rsplit(" ", 1) for s in r["stops"].split(", "))
        assert sum(map(int, stops.values())) == int(r["trials"])
        assert int(stops.get("GOAL", 0)) == round(float(r["success"]) * int(r["trials"]))
    mlp3 = next(r for r in trained if r["parity"] == "3" and r["topology"] == "MLP")
    assert mlp3["network"] == "3-3-1" and int(mlp3["weights"]) == 16 and float(mlp3["success"]) == 1.0
    fcc = next(r for r in rows if r["parity"] == "15")
    assert fcc["network"] == "4 in cascade" and int(fcc["weights"]) == 70 and float(fcc["E, hand-set weights"]) < 1e-9
    # a table row replays: the same trials give the same success and iterations
    r5 = next(r for r in trained if r["parity"] == "5" and r["topology"] == "FCC")
    X, D = lm.datasets.parity(5)
    s = lm.experiments.run_trials(module.build("FCC", 5, 3, 0.5), X, D, "lm", trials=module.QUICK["trials"], seed=0,
                                  goal=32 / 200, mu=module.MU0, max_iter=module.CAP, history=0, progress=False)
    assert float(r5["success"]) == s.goal_rate
