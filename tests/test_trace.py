"""The worked trace (lmtrain.trace): its scalar re-computation of §12.3.1 must
agree with the compiled engine and with finite differences, and its printed
numbers must be the ones a reader would get by hand."""

import numpy as np
import pytest

import lmtrain as lm
import reference as ref
from lmtrain.cli import main


def _nets():
    yield lm.mlp([3, 3, 1], gain=0.5)
    yield lm.bmlp([2, 3, 2], activation="unipolar")
    yield lm.fcc(3, 4, outputs=2, activation=["linear", "bipolar", "unipolar", "bipolar"], gain=[1.0, 2.0, 0.7, 1.3])
    # an output neuron that also feeds another neuron, and a neuron no output depends on
    yield lm.Network(2, [lm.Neuron((0, 1), "bipolar", 0.8), lm.Neuron((1, 2), "unipolar", 1.5),
                         lm.Neuron((0,), "linear", 1.0), lm.Neuron((2, 3), "bipolar", 1.2)], outputs=[2, 5])


@pytest.mark.parametrize("net", list(_nets()), ids=repr)
def test_rows_match_finite_differences_and_the_engine(net):
    rng = np.random.default_rng(3)
    w = rng.uniform(-1.5, 1.5, net.n_weights)
    x = rng.uniform(-2, 2, net.n_inputs)
    d = rng.uniform(-1, 1, net.n_outputs)
    t = lm.trace(net, w, x, d)
    J_fd = ref.fd_jacobian(lambda v: -ref.forward(net, v, x.reshape(1, -1)).ravel(), w)
    assert ref.check_jacobian(t.rows, J_fd, 1e-6) < 1e-6
    assert t.engine_difference < 1e-13
    np.testing.assert_allclose(t.rows, net.jacobian(w, x.reshape(1, -1)), rtol=0, atol=1e-13)
    Y, S = net.forward_full(w, x.reshape(1, -1))
    np.testing.assert_allclose(t.y, Y[0], rtol=1e-13, atol=1e-15)
    np.testing.assert_allclose(t.s, S[0], rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(t.errors, d - net.forward(w, x.reshape(1, -1))[0], rtol=1e-13, atol=1e-15)
    assert "(eq. 12.36)" in t.text and all(name in t.text for name in net.weight_names())


def test_a_case_worked_by_hand():
    """One linear neuron, gain 2: y = 2(b + a·x), δ = s = 2, row = (−2, −2x)."""
    net = lm.Network(1, [lm.Neuron((0,), "linear", 2.0)], outputs=[1])
    t = lm.trace(net, [0.5, 3.0], [4.0], [10.0], digits=4)
    assert t.y[1] == 2 * (0.5 + 3.0 * 4.0) == 25.0
    np.testing.assert_array_equal(t.rows, [[-2.0, -8.0]])
    assert "net = 0.5 + 3*4 = 12.5" in t.text
    assert "delta[n1] = s = 2" in t.text
    assert "e1 = 10 - 25 = -15" in t.text and "E_p1 = 112.5" in t.text
    assert "w[n1,x1]         -2 * 4 = -8" in t.text


def test_hidden_delta_lists_its_terms():
    net = lm.mlp([2, 2, 1], gain=0.5)
    t = lm.trace(net, net.init_weights(0), [-1.0, 1.0])
    line = next(s for s in t.text.splitlines() if s.strip().startswith("delta[n1]"))
    assert "delta[n3]*w[n3,n1]" in line
    w = net.init_weights(0)
    # δ_n1 = s_n1 · δ_n3 · w[n3,n1]; weights of n3 are (bias, n1, n2) at positions 6, 7, 8
    assert t.delta[0, 2] == pytest.approx(t.s[2] * t.delta[0, 4] * w[7], rel=1e-14)


def test_bad_input_names_the_argument():
    net = lm.mlp([3, 3, 1])
    w = net.init_weights(0)
    with pytest.raises(ValueError, match="x"):
        lm.trace(net, w, [1.0, 2.0])
    with pytest.raises(ValueError, match="d"):
        lm.trace(net, w, [1.0, 2.0, 3.0], [1.0, 2.0])
    with pytest.raises(ValueError, match="w"):
        lm.trace(net, w[:-1], [1.0, 2.0, 3.0])
    with pytest.raises(TypeError, match="net"):
        lm.trace("3-3-1", w, [1.0, 2.0, 3.0])


def test_command_line(capsys):
    assert main(["trace", "--sizes", "2", "2", "1", "--pattern", "4", "--digits", "4"]) == 0
    out = capsys.readouterr().out
    assert "Trace of pattern p4" in out and "x1 = 1\n  x2 = 1\n" in out  # p4 is XOR's fourth row, (+1, +1)
    assert "Backward pass for output o1 = n3" in out
    assert "largest |difference| = 0" in out
    assert main(["trace", "--sizes", "3", "3", "1", "--pattern", "8"]) == 0  # p8, the last of parity-3
    capsys.readouterr()
    assert main(["trace", "--sizes", "3", "3", "1", "--pattern", "9"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "--pattern" in err[0]


# ------------------------------------------------------------ one whole iteration
def _iteration_cases():
    X3, D3 = lm.datasets.parity(3)
    Xa, Da = lm.datasets.bit_count(3)  # full adder: two outputs
    rng = np.random.default_rng(5)
    Xr = rng.uniform(-1, 1, (12, 2))
    Dr = np.column_stack([np.sin(Xr[:, 0]), Xr[:, 0] * Xr[:, 1]])
    yield "mlp-331 parity-3 (P*M < N)", lm.mlp([3, 3, 1], gain=0.5), X3, D3, 0.01
    yield "fcc-2 parity-3 (P*M < N)", lm.fcc(3, 2, gain=0.5), X3, D3, 0.1
    yield "mlp-332 full adder", lm.mlp([3, 3, 2], gain=0.5), Xa, Da, 0.01
    yield "bmlp-232 regression (P*M > N)", lm.bmlp([2, 3, 2], activation="unipolar", output_activation="linear"), \
        Xr, Dr, 0.001
    yield "mlp-221 xor, tiny mu", lm.mlp([2, 2, 1], gain=0.5), *lm.datasets.xor(), 1e-6


@pytest.mark.parametrize("case", list(_iteration_cases()), ids=lambda c: c[0])
def test_iteration_numbers_equal_the_library(case):
    _, net, X, D, mu = case
    w = net.init_weights(3)
    t = lm.trace(net, w, X, D, iteration=True, mu=mu)
    P, M, N = len(X), net.n_outputs, net.n_weights
    # Q and g: sums of every pattern's q_p and eta_p, equal to the compiled accumulation
    Q_lib, g_lib, E_lib = net.quasi_hessian(w, X, D)
    np.testing.assert_allclose(t.Q, Q_lib, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(t.g, g_lib, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(t.g, net.gradient(w, X, D)[0], rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(t.J, net.jacobian(w, X), rtol=0, atol=1e-14)
    assert t.error == pytest.approx(E_lib, rel=1e-13)
    np.testing.assert_allclose(t.eta.sum(axis=0), t.g, rtol=1e-13, atol=1e-15)
    np.testing.assert_allclose(t.q.sum(axis=0), t.Q, rtol=1e-13, atol=1e-15)
    assert t.q.shape == (P, N, N) and t.eta.shape == (P, N) and len(t.patterns) == P
    # q_p1 is the first pattern's, counted from 1 in the text and from 0 in the arrays
    j1 = net.jacobian(w, X[:1])
    np.testing.assert_allclose(t.q[0], j1.T @ j1, rtol=1e-12, atol=1e-15)
    assert t.patterns[0].pattern == 1 and t.patterns[-1].pattern == P
    # every try: the step solves the damped system; then the library's one iteration
    for tr in t.tries:
        np.testing.assert_allclose((t.Q + tr.mu * np.eye(N)) @ tr.delta, t.g, rtol=1e-8, atol=1e-10)
        assert tr.error == pytest.approx(net.error(tr.weights, X, D), rel=1e-12)
    r = lm.train(net, X, D, algorithm="lm", w0=w, max_iter=1, mu=mu, jacobian="full")
    h = r.history
    assert len(h) == 1
    assert h.rejected[0] == sum(tr.outcome == "rejected" for tr in t.tries)
    assert bool(h.forced[0]) == any(tr.outcome == "forced" for tr in t.tries)
    assert h.mu[0] == pytest.approx(t.tries[-1].mu, rel=1e-12)
    assert h.error[0] == pytest.approx(t.error_after, rel=1e-9)
    np.testing.assert_allclose(t.weights, r.weights, rtol=1e-9, atol=1e-9)
    assert t.checks["tries"] is True and t.checks["weights"] < 1e-9
    assert "DIFFERENT" not in t.text


def test_iteration_rejected_then_forced_tries_follow_fig_12_5():
    # seed 0 on the 3-3-1 net: with mu = 1e-4 the first tries raise E
    net = lm.mlp([3, 3, 1], gain=0.5)
    X, D = lm.datasets.parity(3)
    w = net.init_weights(0)
    t = lm.trace(net, w, X, D, iteration=True, mu=1e-4, max_tries=2)
    outcomes = [tr.outcome for tr in t.tries]
    assert outcomes == ["rejected", "rejected", "forced"]
    assert [tr.mu for tr in t.tries] == pytest.approx([1e-4, 1e-3, 1e-2])
    assert t.tries[0].mu_after == pytest.approx(1e-3) and t.tries[-1].mu_after == pytest.approx(1e-2)
    assert t.error_after > t.error  # forced: E rose, the step was taken anyway
    np.testing.assert_allclose(t.weights, t.tries[-1].weights)
    r = lm.train(net, X, D, algorithm="lm", w0=w, max_iter=1, mu=1e-4, max_tries=2, jacobian="full")
    assert r.history.forced[0] and r.history.rejected[0] == 2
    np.testing.assert_allclose(t.weights, r.weights, rtol=1e-9, atol=1e-9)
    accepted = lm.trace(net, w, X, D, iteration=True, mu=10.0)
    assert [tr.outcome for tr in accepted.tries] == ["accepted"] and accepted.mu_after == pytest.approx(1.0)
    assert "try 1: mu = 10: " in accepted.text and "accepted, mu = 10 / 10 = 1" in accepted.text


def test_iteration_text_numbers_patterns_from_one_and_prints_small_matrices():
    net = lm.mlp([2, 2, 1], gain=0.5)
    X, D = lm.datasets.xor()
    t = lm.trace(net, net.init_weights(0), X, D, iteration=True, pattern=4, digits=4)
    text = t.text
    assert "numbered p1..p4" in text and "Trace of pattern p4" in text
    assert "p0" not in text and "p5" not in text
    assert all(f"q_p{p} = j_p{p}^T j_p{p}:" in text for p in range(1, 5))
    assert "Q + mu*I for mu = 0.01:" in text and "Q = sum_p q_p:" in text  # N = 9: whole matrices
    big = lm.trace(lm.mlp([3, 3, 1]), lm.mlp([3, 3, 1]).init_weights(0), *lm.datasets.parity(3), iteration=True)
    assert "q_p is 16 x 16" in big.text and "q_p1 = " not in big.text  # N = 16: diagonals only
    # the first pattern's own trace is the one-pattern trace of x[0]
    one = lm.trace(net, net.init_weights(0), X, D, pattern=1)
    assert one.pattern == 1 and "Trace of pattern p1" in one.text
    np.testing.assert_array_equal(one.rows, lm.trace(net, net.init_weights(0), X[0], D[0]).rows)
    np.testing.assert_array_equal(lm.trace(net, net.init_weights(0), X, D, pattern=3).rows,
                                  net.jacobian(net.init_weights(0), X[2:3]))


def test_iteration_bad_input_names_the_argument():
    net = lm.mlp([2, 2, 1])
    X, D = lm.datasets.xor()
    w = net.init_weights(0)
    with pytest.raises(ValueError, match="d .*required"):
        lm.trace(net, w, X, iteration=True)
    with pytest.raises(ValueError, match="pattern must be in 1..4"):
        lm.trace(net, w, X, D, pattern=5)
    with pytest.raises(ValueError, match="pattern"):
        lm.trace(net, w, X, D, pattern=0)
    with pytest.raises(ValueError, match="mu"):
        lm.trace(net, w, X, D, iteration=True, mu=-1.0)
    with pytest.raises(ValueError, match="d must have shape"):
        lm.trace(net, w, X, D[:3], iteration=True)


# ------------------------------------------------------------------ the command
def test_command_line_iteration_multi_output(capsys):
    assert main(["trace", "--sizes", "3", "3", "2", "--iteration", "--digits", "4"]) == 0
    out = capsys.readouterr().out
    assert "full adder" in out and "M = 2 output(s)" in out
    assert "Backward pass for output o2" in out and "p1,o1" in out and "p8,o2" in out
    assert "-> the same" in out and "4. The tries of the mu loop" in out and "5. After the iteration" in out


def test_command_line_traces_a_csv_file(tmp_path, capsys):
    rng = np.random.default_rng(0)
    x = rng.uniform(-1, 1, (6, 2))
    path = tmp_path / "data.csv"
    lines = ["a,b,y1,y2"] + [f"{u},{v},{u * v},{u - v}" for u, v in x]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    args = ["trace", "--data", str(path), "--target", "y1", "y2", "--sizes", "2", "2", "2", "--iteration",
            "--activation", "linear", "--gain", "1"]
    assert main(args) == 0
    out = capsys.readouterr().out
    assert f"data: {path}: 2 input column(s) -> y1, y2, 6 pattern(s) p1..p6" in out
    assert "-> the same" in out
    # the numbers are those of the Python API on the same columns
    net = lm.mlp([2, 2, 2], activation="linear", gain=1.0)
    D = np.column_stack([x[:, 0] * x[:, 1], x[:, 0] - x[:, 1]])
    t = lm.trace(net, net.init_weights(0), x, D, iteration=True)
    assert t.text in out
    assert main(["trace", "--data", str(path), "--target", "y1", "--features", "a", "b", "--sizes", "2", "3", "1",
                 "--pattern", "6"]) == 0
    assert "Trace of pattern p6" in capsys.readouterr().out


@pytest.mark.parametrize("args, words", [
    (["--pattern", "0"], "--pattern must be in 1..8"),
    (["--pattern", "9"], "--pattern must be in 1..8"),
    (["--sizes", "3", "3", "3"], "built-in data"),
    (["--target", "y"], "--data"),
    (["--data", "NOFILE.csv", "--target", "y", "--sizes", "1", "1"], "no such file"),
    (["--data", "CSV", "--target", "nope", "--sizes", "2", "1"], "no column 'nope'"),
    (["--data", "CSV", "--target", "y", "--sizes", "3", "2", "1"], "--sizes starts with 3 input(s)"),
    (["--data", "CSV", "--target", "y"], "with --data give --sizes"),
    (["--data", "CSV", "--sizes", "2", "1"], "--target"),
    (["--iteration", "--mu", "0"], "--mu must be positive"),
    (["--sizes", "3"], "at least an input and an output"),
])
def test_command_line_bad_input_is_one_line_and_exit_2(args, words, tmp_path, capsys):
    path = tmp_path / "d.csv"
    path.write_text("a,b,y\n1,2,3\n4,5,6\n", encoding="utf-8")
    args = [str(path) if a == "CSV" else a for a in args]
    assert main(["trace", *args]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and words in err[0], err


def test_every_trace_option_has_help():
    from lmtrain.cli import build_parser

    parser = build_parser()
    sub = next(a for a in parser._actions if a.dest == "command").choices["trace"]
    for action in sub._actions:
        if action.dest != "help":
            assert action.help and len(action.help) > 10, f"{action.option_strings} has no help text"


def test_bit_count_is_parity_then_carry():
    X, D = lm.datasets.bit_count(3)
    Xp, Dp = lm.datasets.parity(3)
    np.testing.assert_array_equal(X, Xp)
    np.testing.assert_array_equal(D[:, :1], Dp)  # the lowest bit is parity-3: a full adder's sum
    on = (X > 0).sum(axis=1)
    np.testing.assert_array_equal(D[:, 1], np.where(on >= 2, 1.0, -1.0))  # and its carry
    Xu, Du = lm.datasets.bit_count(7, encoding="unipolar")
    np.testing.assert_array_equal(Du @ [1, 2, 4], Xu.sum(axis=1))  # the count, in binary
    assert lm.datasets.bit_count(7, 1)[1].shape == (128, 1)
    with pytest.raises(ValueError, match="bits"):
        lm.datasets.bit_count(3, 3)
    with pytest.raises(ValueError, match="encoding"):
        lm.datasets.bit_count(3, encoding="binary")
