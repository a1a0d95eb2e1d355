"""The compiled engine against the slow oracle in ``reference.py``.

Every quantity the engine produces — outputs, slopes, errors, E, the Jacobian,
g = Jᵀe, Q = JᵀJ — is compared on random networks (any feed-forward graph and
the mlp/bmlp/fcc builders) with values recomputed by plain Python loops, and the
Jacobian also with central finite differences. Tolerances use the scale-aware
measure max|A − B| / max(1, max|B|) (float64):

* analytic vs analytic (same maths, different summation order): 1e-10;
* Jacobian and gradient vs central differences (h = 1e-6): 1e-6;
* quasi-Hessian vs the finite-difference Hessian of E at zero residual: 1e-5.
"""

from __future__ import annotations

import itertools
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import assume, given, target
from hypothesis import strategies as st

import lmtrain as lm
import reference as ref
import strategies as sts
from lmtrain import activations

EXACT = 1e-10  # analytic vs analytic
FD = 1e-6  # vs central finite differences


def _err_fn(net, X, D):
    return lambda v: ref.errors(net, v, X, D)


# ------------------------------------------------------------------ forward
@given(sts.problems())
def test_forward_matches_reference(prob):
    net, w, X, _ = prob
    Y_ref, S_ref = ref.forward_full(net, w, X)
    ref.check_close(net.forward(w, X), ref.forward(net, w, X), EXACT, "forward")
    Y, S = net.forward_full(w, X)
    ref.check_close(Y, Y_ref, EXACT, "forward_full node values")
    ref.check_close(S, S_ref, EXACT, "forward_full slopes")
    assert np.all(S[:, : net.n_inputs] == 0.0), "input nodes must have slope 0"
    assert np.array_equal(Y[:, : net.n_inputs], X), "input nodes must hold X unchanged"


@given(sts.problems())
def test_error_matches_reference(prob):
    net, w, X, D = prob
    E_ref = ref.half_sse(net, w, X, D)
    tol = EXACT * max(1.0, E_ref)
    assert abs(net.error(w, X, D) - E_ref) <= tol
    assert abs(net.gradient(w, X, D)[1] - E_ref) <= tol
    assert abs(net.quasi_hessian(w, X, D)[2] - E_ref) <= tol


# ----------------------------------------------------------------- Jacobian
@given(sts.problems())
def test_jacobian_matches_finite_differences(prob):
    net, w, X, D = prob
    J = net.jacobian(w, X)
    J_fd = ref.fd_jacobian(_err_fn(net, X, D), w, h=1e-6)
    err = ref.check_jacobian(
        J, J_fd, FD, n_outputs=net.n_outputs, names=net.weight_names(), record=ref.FD_RECORD
    )
    target(err, label="relative error of J vs central differences")


@given(sts.problems())
def test_jacobian_matches_reference_backprop(prob):
    net, w, X, _ = prob
    J = net.jacobian(w, X)
    assert J.shape == (X.shape[0] * net.n_outputs, net.n_weights)
    ref.check_jacobian(J, ref.backprop_jacobian(net, w, X), EXACT, n_outputs=net.n_outputs, names=net.weight_names())


@given(sts.problems(), st.data())
def test_adjoint_identity(prob, data):
    """⟨J u, v⟩ from a directional finite difference of the forward pass equals
    ⟨u, Jᵀv⟩ from the gradient kernel's backward pass (targets chosen so e = v)."""
    net, w, X, _ = prob
    u = data.draw(sts.values(net.n_weights, 1.0), label="u")
    v = data.draw(sts.values((X.shape[0], net.n_outputs), 1.0), label="v")
    D = net.forward(w, X) + v
    g, _ = net.gradient(w, X, D)  # = Jᵀ e with e = D − O = v
    Ju = ref.fd_directional(lambda x: ref.errors(net, x, X, D).reshape(v.shape), w, u)
    lhs, rhs = float(np.sum(Ju * v)), float(u @ g)
    scale = max(1.0, float(np.abs(ref.backprop_jacobian(net, w, X)).max()))
    assert abs(lhs - rhs) <= FD * scale * (1.0 + np.abs(u).sum() * np.abs(v).sum()), (lhs, rhs)


# ------------------------------------------------------------ g, E and Q
@given(sts.problems())
def test_gradient_is_Jt_e(prob):
    net, w, X, D = prob
    g, E = net.gradient(w, X, D)
    J_ref = ref.backprop_jacobian(net, w, X)
    e_ref = ref.errors(net, w, X, D)
    ref.check_close(g, J_ref.T @ e_ref, EXACT, "gradient vs Jᵀe")
    ref.check_close(g, net.jacobian(w, X).T @ e_ref, EXACT, "gradient vs engine Jᵀe")


@given(sts.problems(nets=sts.dag_networks(max_inputs=3, max_neurons=4)))
def test_gradient_matches_finite_differences(prob):
    net, w, X, D = prob
    g, _ = net.gradient(w, X, D)
    g_fd = ref.fd_gradient(lambda v: ref.half_sse(net, v, X, D), w, h=1e-6)
    ref.check_close(g, g_fd, FD, "gradient vs central differences of E")


@given(sts.problems(max_patterns=9))
def test_quasi_hessian_matches_JtJ(prob):
    """Q and g summed pattern by pattern (Table 12.1's NBN row) are JᵀJ and Jᵀe of the oracle's J."""
    net, w, X, D = prob
    J_ref = ref.backprop_jacobian(net, w, X)
    e_ref = ref.errors(net, w, X, D)
    Q_ref, g_ref, E_ref = J_ref.T @ J_ref, J_ref.T @ e_ref, 0.5 * float(e_ref @ e_ref)
    Q, g, E = net.quasi_hessian(w, X, D)
    assert Q.shape == (net.n_weights, net.n_weights)
    assert np.array_equal(Q, Q.T), "Q not symmetric"
    ref.check_close(Q, Q_ref, EXACT, "Q")
    ref.check_close(g, g_ref, EXACT, "g")
    assert abs(E - E_ref) <= EXACT * max(1.0, E_ref), "E"


@given(sts.problems(nets=sts.dag_networks(max_inputs=2, max_neurons=3), max_patterns=3))
def test_quasi_hessian_is_hessian_at_zero_residual(prob):
    """With D = O the second-order term Σ e ∇²e vanishes, so ∇²E = JᵀJ (eqs. 12.20–12.22)."""
    net, w, X, _ = prob
    D = net.forward(w, X)
    Q, g, E = net.quasi_hessian(w, X, D)
    assert E <= 1e-28 and np.abs(g).max() <= 1e-13
    f = lambda v: ref.half_sse(net, v, X, D)  # noqa: E731
    # Richardson extrapolation cancels the O(h²) truncation error of second
    # differences, which alone reaches 1e-5 relative where the curvature is large.
    H_fd = (4 * ref.fd_hessian(f, w, h=5e-5) - ref.fd_hessian(f, w, h=1e-4)) / 3
    ref.check_close(Q, H_fd, 1e-5, "Q vs finite-difference Hessian of E")


# ----------------------------------------------- the checker rejects bad J
def _fixed_problem():
    """A small bipolar net with a bridged link and two outputs, one feeding the other."""
    net = lm.Network(
        2,
        [lm.Neuron((0, 1), "bipolar", 0.8), lm.Neuron((1, 0, 2), "bipolar", 1.5), lm.Neuron((2, 3), "bipolar", 1.2)],
        outputs=[3, 4],
    )
    rng = np.random.default_rng(7)
    w = rng.uniform(-1.5, 1.5, net.n_weights)
    X = rng.uniform(-2, 2, (5, 2))
    D = rng.uniform(-1, 1, (5, 2))
    return net, w, X, D


def test_checker_accepts_the_engine_jacobian_on_the_fixed_problem():
    net, w, X, D = _fixed_problem()
    J_fd = ref.fd_jacobian(_err_fn(net, X, D), w)
    assert ref.check_jacobian(net.jacobian(w, X), J_fd, FD, n_outputs=2) <= FD


def test_checker_rejects_a_dropped_output_slope():
    net, w, X, D = _fixed_problem()
    J_fd = ref.fd_jacobian(_err_fn(net, X, D), w)
    J_bad = ref.backprop_jacobian(net, w, X, output_slope=False)
    assert ref.check_jacobian(ref.backprop_jacobian(net, w, X), J_fd, FD, n_outputs=2) <= FD
    with pytest.raises(AssertionError, match=r"Jacobian check failed: relative error .* at row \d+ \(pattern \d+, output \d+\)"):
        ref.check_jacobian(J_bad, J_fd, FD, n_outputs=2, names=net.weight_names())
    assert ref.check_jacobian(J_bad, J_fd, FD, raise_error=False) > 1e-2


def test_checker_rejects_swapped_columns_and_bad_shapes():
    net, w, X, D = _fixed_problem()
    J = net.jacobian(w, X)
    J_fd = ref.fd_jacobian(_err_fn(net, X, D), w)
    swapped = J[:, [1, 0] + list(range(2, J.shape[1]))]
    with pytest.raises(AssertionError, match=r"column [01] \(w\[n1,"):
        ref.check_jacobian(swapped, J_fd, FD, n_outputs=2, names=net.weight_names())
    with pytest.raises(AssertionError, match="shape mismatch"):
        ref.check_jacobian(J[:-1], J_fd, FD)
    nan_J = J.copy()
    nan_J[3, 4] = np.nan
    with pytest.raises(AssertionError, match="relative error inf"):
        ref.check_jacobian(nan_J, J_fd, FD)


@given(sts.problems())
def test_checker_rejects_a_sign_flipped_column(prob):
    net, w, X, D = prob
    J = net.jacobian(w, X)
    J_fd = ref.fd_jacobian(_err_fn(net, X, D), w)
    col = int(np.argmax(np.abs(J_fd).max(axis=0)))
    assume(np.abs(J_fd[:, col]).max() > 1e-3)
    J_bad = J.copy()
    J_bad[:, col] *= -1.0
    with pytest.raises(AssertionError, match=f"column {col} "):
        ref.check_jacobian(J_bad, J_fd, FD, names=net.weight_names(), n_outputs=net.n_outputs)


# -------------------------------------------- the chapter's worked structure
PARITY3 = np.array(list(itertools.product([-1.0, 1.0], repeat=3)))


def test_331_mlp_jacobian_by_hand():
    """3-3-1 MLP (Fig. 12.7 shape), bipolar gain 0.5: weights 0..11 are the hidden
    neurons n1..n3 (bias, x1, x2, x3), weights 12..15 the output n4 (bias, n1, n2, n3).
    Output weights: J = −s_o · y_i; hidden weights: J = −s_o · v_h · s_h · x_i."""
    net = lm.mlp([3, 3, 1], activation="bipolar", gain=0.5)
    assert net.n_weights == 16
    assert net.weight_names()[12:] == ["w[n4,bias]", "w[n4,n1]", "w[n4,n2]", "w[n4,n3]"]
    w = np.random.default_rng(3).uniform(-1, 1, 16)
    W_h, v0, v = w[:12].reshape(3, 4), w[12], w[13:]
    J = net.jacobian(w, PARITY3)
    for p, x in enumerate(PARITY3):
        y_h = np.tanh(0.5 * (W_h[:, 0] + W_h[:, 1:] @ x))
        s_h = 0.5 * (1 - y_h**2)
        o = np.tanh(0.5 * (v0 + v @ y_h))
        s_o = 0.5 * (1 - o**2)
        np.testing.assert_allclose(J[p, 12], -s_o, rtol=1e-12)
        np.testing.assert_allclose(J[p, 13:], -s_o * y_h, rtol=1e-12)
        for h in range(3):
            np.testing.assert_allclose(J[p, 4 * h], -s_o * v[h] * s_h[h], rtol=1e-12)
            np.testing.assert_allclose(J[p, 4 * h + 1 : 4 * h + 4], -s_o * v[h] * s_h[h] * x, rtol=1e-12)


def test_331_mlp_literal_values():
    """Numbers checkable on paper. All weights 0: every y = 0, o = 0, s = 0.5, so
    only the output bias column is nonzero (−0.5). Then output weights v = 1:
    hidden bias entries −s_o·v·s_h = −0.25, hidden input entries −0.25·x_i."""
    net = lm.mlp([3, 3, 1], activation="bipolar", gain=0.5)
    w = np.zeros(16)
    J = net.jacobian(w, PARITY3)
    expected = np.zeros((8, 16))
    expected[:, 12] = -0.5
    np.testing.assert_array_equal(J, expected)
    w[13:] = 1.0
    J = net.jacobian(w, PARITY3)
    for h in range(3):
        np.testing.assert_allclose(J[:, 4 * h], -0.25, rtol=1e-15)
        np.testing.assert_allclose(J[:, 4 * h + 1 : 4 * h + 4], -0.25 * PARITY3, rtol=1e-15)
    np.testing.assert_allclose(J[:, 12], -0.5, rtol=1e-15)
    np.testing.assert_allclose(J[:, 13:], 0.0, atol=0)


def test_output_feeding_another_neuron_and_unreached_neurons():
    """Node 2 is output 0 and also feeds node 3 (output 1); node 4 reaches no output.
    Rows of output 0 must be zero for neurons 3 and 4; every row zero for neuron 4."""
    net = lm.Network(1, [lm.Neuron((0,), "bipolar", 1.0), lm.Neuron((0, 1), "unipolar", 2.0),
                         lm.Neuron((1,), "linear", 0.5)], outputs=[1, 2])
    # weights: n1 0..1, n2 2..4, n3 5..6
    w = np.array([0.3, -0.7, 0.1, 0.9, -1.2, 0.4, 0.8])
    X = np.array([[-1.0], [0.5], [2.0]])
    J = net.jacobian(w, X)
    assert np.all(J[0::2, 2:] == 0.0)  # output 0 (node 1) does not depend on n2, n3
    assert np.all(J[1::2, 5:] == 0.0)  # output 1 (node 2) does not depend on n3
    ref.check_jacobian(J, ref.fd_jacobian(lambda v: ref.errors(net, v, X, np.zeros((3, 2))), w), FD, n_outputs=2)


# -------------------------------------------------------------- activations
@pytest.mark.parametrize("name", ["bipolar", "unipolar", "linear"])
@pytest.mark.parametrize("gain", [0.2, 0.5, 1.0, 3.0])
def test_activation_values_and_slopes(name, gain):
    net = np.linspace(-6, 6, 49)
    y, s = activations.evaluate(name, net, gain)
    for k, x in enumerate(net):
        y_ref, s_ref = ref.activate(name, gain, x)
        assert abs(y[k] - y_ref) <= 1e-14
        assert abs(s[k] - s_ref) <= 1e-13
        fd = (ref.activate(name, gain, x + 1e-6)[0] - ref.activate(name, gain, x - 1e-6)[0]) / 2e-6
        assert abs(s[k] - fd) <= 1e-8


@pytest.mark.parametrize("alias,name", [("tanh", "bipolar"), ("logsig", "unipolar"), ("purelin", "linear"),
                                        ("Sigmoid", "unipolar")])
def test_activation_aliases(alias, name):
    net = lm.Network(1, [lm.Neuron((0,), alias, 1.0)], [1])
    assert net.neurons[0].activation == name


def test_saturated_neurons_stay_finite():
    """Huge nets: tanh → ±1, logistic → 0/1 without overflow, slopes → 0, no NaN."""
    net = lm.Network(2, [lm.Neuron((0, 1), "unipolar", 3.0), lm.Neuron((0, 1), "bipolar", 3.0),
                         lm.Neuron((2, 3), "linear", 1.0)], [4])
    w = np.array([0.0, 400.0, 400.0, 0.0, -400.0, 400.0, 0.5, 1.0, -1.0])
    X = np.array([[-2.0, -2.0], [2.0, 2.0], [2.0, -2.0]])
    Y, S = net.forward_full(w, X)
    assert np.all(np.isfinite(Y)) and np.all(np.isfinite(S))
    ref.check_close(Y, ref.forward_full(net, w, X)[0], EXACT, "saturated forward")
    J = net.jacobian(w, X)
    assert np.all(np.isfinite(J))
    ref.check_jacobian(J, ref.backprop_jacobian(net, w, X), EXACT)


# ------------------------------------------------------ array layout at the boundary
def test_layout_and_dtype_of_inputs_do_not_matter():
    net = lm.fcc(3, 3, 2, activation=["bipolar", "unipolar", "linear"], gain=[0.5, 2.0, 1.0])
    w = net.init_weights(11)
    X = np.random.default_rng(2).integers(-2, 3, (6, 3))
    D = np.random.default_rng(4).uniform(-1, 1, (6, 2))
    base = (net.forward(w, X.astype(float)), net.jacobian(w, X.astype(float)), net.gradient(w, X.astype(float), D)[0])
    wide = np.zeros(2 * net.n_weights)
    wide[::2] = w
    variants = [
        (w, X),  # integer X
        (w, np.asfortranarray(X.astype(float))),
        (wide[::2], X.astype(float)),  # non-contiguous w
        (list(w), X.tolist()),
        (w, np.ascontiguousarray(X[::-1].astype(float))[::-1]),  # negative strides
    ]
    for wv, Xv in variants:
        np.testing.assert_allclose(net.forward(wv, Xv), base[0], rtol=1e-14, atol=1e-15)
        np.testing.assert_allclose(net.jacobian(wv, Xv), base[1], rtol=1e-14, atol=1e-15)
        np.testing.assert_allclose(net.gradient(wv, Xv, np.asfortranarray(D))[0], base[2], rtol=1e-14, atol=1e-15)


def test_one_dimensional_inputs():
    one = lm.mlp([1, 2, 1])
    w = one.init_weights(0)
    x = np.array([-1.0, 0.0, 2.0])
    assert one.forward(w, x).shape == (3, 1)  # one input: a 1-D X is P patterns
    np.testing.assert_array_equal(one.forward(w, x), one.forward(w, x[:, None]))
    three = lm.mlp([3, 2, 1])
    w3 = three.init_weights(0)
    assert three.forward(w3, np.array([1.0, 2.0, 3.0])).shape == (1, 1)  # a 1-D X is one pattern
    assert three.error(w3, [1.0, 2.0, 3.0], [0.5]) == pytest.approx(ref.half_sse(three, w3, [[1, 2, 3]], [[0.5]]))


# ----------------------------------------- kernels as plain Python (no JIT)
_INTERPRETED_SCRIPT = r"""
import json, sys
import numpy as np
import lmtrain as lm
from lmtrain import kernels
from lmtrain.algorithms._fast import forward as fast_forward
assert not hasattr(kernels.forward, "py_func"), "NUMBA_DISABLE_JIT did not take effect"
assert not hasattr(fast_forward.forward, "py_func")
src, dst = sys.argv[1], sys.argv[2]
data = np.load(src)
with open(src + ".json") as f:
    net = lm.Network.from_dict(json.load(f))
w, X, D = data["w"], data["X"], data["D"]
out = {"O": net.forward(w, X), "J": net.jacobian(w, X), "E": net.error(w, X, D)}
out["Y"], out["S"] = net.forward_full(w, X)
out["g"], out["Eg"] = net.gradient(w, X, D)
out["Q"], out["gq"], out["Eq"] = net.quasi_hessian(w, X, D)
for key, algo, kw in _TRAININGS:
    r = lm.train(net, X, D, algorithm=algo, w0=w, **kw)
    out[f"w_{key}"], out[f"it_{key}"], out[f"stop_{key}"] = r.weights, r.iterations, int(r.stop_reason)
from lmtrain.experiments import run_trials
r = run_trials(net, X, D, "lm", trials=3, seed=4, max_iter=15, progress=False)
out["trials_it"], out["trials_E"] = r.iterations, r.error
np.savez(dst, **out)
"""
#: trainings run interpreted and compiled: (key, algorithm, options)
_TRAININGS = [("lm", "lm", dict(max_iter=15, jacobian="full")),
              ("lm_blocks", "lm", dict(max_iter=15, jacobian="blocks")),
              ("lm_plain", "lm", dict(max_iter=15, kernels="plain")),
              ("ebp", "ebp", dict(max_iter=40, alpha=0.05)),
              ("gn", "gauss_newton", dict(max_iter=5)),
              ("newton", "newton", dict(max_iter=5, indefinite="step"))]
_INTERPRETED_SCRIPT = f"_TRAININGS = {_TRAININGS!r}\n" + _INTERPRETED_SCRIPT


@pytest.fixture(scope="module")
def interpreted(tmp_path_factory):
    """Run the public methods in a subprocess with NUMBA_DISABLE_JIT=1 on the fixed problem."""
    net, w, X, D = _fixed_problem()
    tmp = tmp_path_factory.mktemp("nojit")
    src, dst = tmp / "in.npz", tmp / "out.npz"
    np.savez(src, w=w, X=X, D=D)
    Path(str(src) + ".json").write_text(json.dumps(net.to_dict()))
    root = str(Path(__file__).resolve().parents[1])
    env = dict(os.environ, NUMBA_DISABLE_JIT="1")
    env["PYTHONPATH"] = root + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    proc = subprocess.run([sys.executable, "-c", _INTERPRETED_SCRIPT, str(src), str(dst)],
                          env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    with np.load(dst) as f:
        return (net, w, X, D), {k: f[k] for k in f.files}


@pytest.mark.interpreted
def test_interpreted_forward_and_error(interpreted):
    (net, w, X, D), out = interpreted
    np.testing.assert_allclose(out["O"], net.forward(w, X), rtol=1e-14, atol=1e-15)
    Y, S = net.forward_full(w, X)
    np.testing.assert_allclose(out["Y"], Y, rtol=1e-14, atol=1e-15)
    np.testing.assert_allclose(out["S"], S, rtol=1e-14, atol=1e-15)
    ref.check_close(out["O"], ref.forward(net, w, X), EXACT, "interpreted forward")
    assert float(out["E"]) == pytest.approx(ref.half_sse(net, w, X, D), rel=1e-12)


@pytest.mark.interpreted
def test_interpreted_jacobian_and_gradient(interpreted):
    (net, w, X, D), out = interpreted
    np.testing.assert_allclose(out["J"], net.jacobian(w, X), rtol=1e-13, atol=1e-15)
    ref.check_jacobian(out["J"], ref.backprop_jacobian(net, w, X), EXACT, n_outputs=2)
    g, E = net.gradient(w, X, D)
    np.testing.assert_allclose(out["g"], g, rtol=1e-13, atol=1e-15)
    assert float(out["Eg"]) == pytest.approx(E, rel=1e-14)


@pytest.mark.interpreted
@pytest.mark.parametrize("key, algo, kw", _TRAININGS, ids=[t[0] for t in _TRAININGS])
def test_interpreted_training(interpreted, key, algo, kw):
    """The training loops run as plain Python too, and take the same steps as compiled."""
    (net, w, X, D), out = interpreted
    r = lm.train(net, X, D, algorithm=algo, w0=w, **kw)
    assert int(out[f"it_{key}"]) == r.iterations > 0
    assert int(out[f"stop_{key}"]) == int(r.stop_reason)
    np.testing.assert_allclose(out[f"w_{key}"], r.weights, rtol=1e-10, atol=1e-12)
    assert not np.array_equal(r.weights, w)  # it moved


@pytest.mark.interpreted
def test_interpreted_run_trials(interpreted):
    (net, w, X, D), out = interpreted
    r = lm.experiments.run_trials(net, X, D, "lm", trials=3, seed=4, max_iter=15, progress=False)
    np.testing.assert_array_equal(out["trials_it"], r.iterations)
    np.testing.assert_allclose(out["trials_E"], r.error, rtol=1e-10, atol=1e-14)


@pytest.mark.interpreted
def test_interpreted_quasi_hessian(interpreted):
    (net, w, X, D), out = interpreted
    Q, g, E = net.quasi_hessian(w, X, D)
    np.testing.assert_allclose(out["Q"], Q, rtol=1e-13, atol=1e-15)
    np.testing.assert_allclose(out["gq"], g, rtol=1e-13, atol=1e-15)
    J_ref = ref.backprop_jacobian(net, w, X)
    ref.check_close(out["Q"], J_ref.T @ J_ref, EXACT, "interpreted Q")
    assert float(out["Eq"]) == pytest.approx(E, rel=1e-14)
