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
    assert "e1 = 10 - 25 = -15" in t.text and "E_p = 112.5" in t.text
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
    assert main(["trace", "--sizes", "2", "2", "1", "--pattern", "3", "--digits", "4"]) == 0
    out = capsys.readouterr().out
    assert "Backward pass for output o1 = n3" in out
    assert "largest |difference| = 0" in out
    assert main(["trace", "--sizes", "3", "3", "1", "--pattern", "8"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "--pattern" in err[0]
