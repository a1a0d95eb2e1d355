"""Network description: builders, weight layout, serialisation, initial weights,
and every bad input rejected at the boundary with a message naming the culprit."""

from __future__ import annotations

import json

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import lmtrain as lm
import reference as ref
import strategies as sts
from lmtrain import activations

N = lm.Neuron


# ------------------------------------------------------------------ builders
@pytest.mark.parametrize(
    "net, n_weights",
    [
        (lm.mlp([3, 3, 1]), 3 * 4 + 1 * 4),  # 16
        (lm.mlp([3, 2, 1]), 2 * 4 + 1 * 3),  # 11
        (lm.mlp([2, 3, 2]), 3 * 3 + 2 * 4),  # 17
        (lm.fcc(3, 3), 4 + 5 + 6),  # 15
        (lm.fcc(2, 3, outputs=2), 3 + 4 + 5),  # 12
        (lm.bmlp([2, 2, 1]), 3 + 3 + 5),  # output sees x1, x2, n1, n2: 11
        (lm.bmlp([2, 2, 2, 1]), 2 * 3 + 2 * 5 + 7),  # 23
    ],
    ids=["mlp331", "mlp321", "mlp232", "fcc33", "fcc2-3-2", "bmlp221", "bmlp2221"],
)
def test_builders_give_the_right_number_of_weights(net, n_weights):
    assert net.n_weights == n_weights
    assert len(net.weight_names()) == n_weights
    assert len(net.weight_info()) == n_weights


@given(st.lists(st.integers(1, 5), min_size=2, max_size=5))
def test_layered_weight_counts_follow_the_formulas(sizes):
    m, b = lm.mlp(sizes), lm.bmlp(sizes)
    assert m.n_weights == sum(sizes[l] * (sizes[l - 1] + 1) for l in range(1, len(sizes)))
    assert b.n_weights == sum(sizes[l] * (sum(sizes[:l]) + 1) for l in range(1, len(sizes)))
    for net in (m, b):
        assert net.n_inputs == sizes[0]
        assert net.n_neurons == sum(sizes[1:])
        assert net.n_outputs == sizes[-1]
        assert net.outputs == tuple(range(net.n_nodes - sizes[-1], net.n_nodes))
        assert [len(layer) for layer in net.layers()] == sizes[1:]


@given(st.integers(1, 5), st.integers(1, 8), st.data())
def test_fcc_structure(n_in, n_neurons, data):
    n_out = data.draw(st.integers(1, n_neurons))
    net = lm.fcc(n_in, n_neurons, n_out)
    assert net.n_weights == sum(1 + n_in + k for k in range(n_neurons))
    assert net.outputs == tuple(range(n_in + n_neurons - n_out, n_in + n_neurons))
    for k, neuron in enumerate(net.neurons):
        assert neuron.inputs == tuple(range(n_in + k))
    assert net.layers() == [[n_in + k] for k in range(n_neurons)]


def test_weight_names_mlp331():
    names = lm.mlp([3, 3, 1]).weight_names()
    hidden = [f"w[n{h}," + s + "]" for h in (1, 2, 3) for s in ("bias", "x1", "x2", "x3")]
    assert names == hidden + ["w[n4,bias]", "w[n4,n1]", "w[n4,n2]", "w[n4,n3]"]


def test_weight_names_and_info_bmlp221():
    net = lm.bmlp([2, 2, 1])
    assert net.weight_names() == [
        "w[n1,bias]", "w[n1,x1]", "w[n1,x2]",
        "w[n2,bias]", "w[n2,x1]", "w[n2,x2]",
        "w[n3,bias]", "w[n3,x1]", "w[n3,x2]", "w[n3,n1]", "w[n3,n2]",
    ]
    assert net.weight_info()[6:] == [(4, None), (4, 0), (4, 1), (4, 2), (4, 3)]


def test_weight_names_follow_listed_input_order():
    net = lm.Network(2, [N((1, 0)), N((2, 1, 0), "linear")], outputs=[3])
    assert net.weight_names() == ["w[n1,bias]", "w[n1,x2]", "w[n1,x1]", "w[n2,bias]", "w[n2,n1]", "w[n2,x2]", "w[n2,x1]"]


@given(sts.networks())
def test_weight_names_are_unique_and_match_n_weights(net):
    names = net.weight_names()
    assert len(names) == net.n_weights == len(set(names))
    assert sum(1 for n in names if n.endswith(",bias]")) == net.n_neurons


def test_layers():
    assert lm.mlp([3, 3, 1]).layers() == [[3, 4, 5], [6]]
    assert lm.mlp([2, 2, 3, 1]).layers() == [[2, 3], [4, 5, 6], [7]]
    assert lm.bmlp([2, 2, 1]).layers() == [[2, 3], [4]]
    assert lm.fcc(2, 3).layers() == [[2], [3], [4]]
    # depth is the longest path from the inputs, not the listing order
    net = lm.Network(1, [N((0,)), N((0,)), N((1,)), N((0, 3))], outputs=[4])
    assert net.layers() == [[1, 2], [3], [4]]


def test_topology_arrays_by_hand():
    net = lm.Network(2, [N((0, 1), "bipolar", 0.5), N((1, 0, 2), "unipolar", 2.0), N((3,), "linear", 1.0)],
                     outputs=[4, 2])
    n_in, in_ptr, in_idx, w_ptr, act, gain, out_idx = net.topology
    assert n_in == 2
    assert in_ptr.tolist() == [0, 2, 5, 6]
    assert in_idx.tolist() == [0, 1, 1, 0, 2, 3]
    assert w_ptr.tolist() == [0, 3, 7]  # bias first: 3 + 4 + 2 weights
    assert net.n_weights == 9
    assert act.tolist() == [activations.BIPOLAR, activations.UNIPOLAR, activations.LINEAR]
    assert gain.tolist() == [0.5, 2.0, 1.0]
    assert out_idx.tolist() == [4, 2]
    for arr in (in_ptr, in_idx, w_ptr, act, out_idx):
        assert arr.dtype == np.int64 and arr.flags.c_contiguous
    assert gain.dtype == np.float64


def test_builder_options():
    net = lm.mlp([2, 3, 1], activation="unipolar", gain=0.5, output_activation="linear", output_gain=2.0)
    assert [n.activation for n in net.neurons] == ["unipolar"] * 3 + ["linear"]
    assert [n.gain for n in net.neurons] == [0.5] * 3 + [2.0]
    net = lm.fcc(1, 3, activation=["tanh", "logsig", "purelin"], gain=[1, 2, 3])
    assert [n.activation for n in net.neurons] == ["bipolar", "unipolar", "linear"]
    assert [n.gain for n in net.neurons] == [1.0, 2.0, 3.0]
    assert isinstance(net.neurons[0].gain, float)


def test_neuron_specs_as_dict_and_tuple():
    a = lm.Network(2, [{"inputs": (0, 1), "activation": "linear", "gain": 2}, ((0, 2), "unipolar")], [3])
    b = lm.Network(2, [N((0, 1), "linear", 2.0), N((0, 2), "unipolar", 1.0)], [3])
    assert a == b
    assert lm.Network(1, [N((0,))], 1) == lm.Network(1, [N((0,))], [1])  # a single output as an int


# ------------------------------------------------------- to_dict / from_dict
@given(sts.problems())
def test_to_dict_from_dict_round_trip(prob):
    net, w, X, _ = prob
    d = net.to_dict()
    again = lm.Network.from_dict(json.loads(json.dumps(d)))
    assert again == net and hash(again) == hash(net)
    assert again.to_dict() == d
    assert again.n_weights == net.n_weights and again.weight_names() == net.weight_names()
    for a, b in zip(again.topology, net.topology):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(again.forward(w, X), net.forward(w, X))
    assert ref.plain(d) == ref.plain(again)


def test_networks_differ_when_anything_differs():
    base = lm.mlp([2, 2, 1])
    assert base != lm.mlp([2, 2, 1], gain=0.5)
    assert base != lm.mlp([2, 2, 1], activation="unipolar")
    assert base != lm.bmlp([2, 2, 1])
    assert base != "not a network"
    assert "weights=9" in repr(base) and "bipolar(gain=1)" in repr(base)


# ------------------------------------------------------------ init_weights
def test_init_weights_range_shape_and_reproducibility():
    net = lm.fcc(4, 6, 2)
    w = net.init_weights(123)
    assert w.shape == (net.n_weights,) and w.dtype == np.float64
    assert np.all(w >= -1.0) and np.all(w <= 1.0)
    np.testing.assert_array_equal(w, net.init_weights(123))
    assert not np.array_equal(w, net.init_weights(124))
    big = lm.mlp([4, 50, 3]).init_weights(0)
    assert big.min() >= -1 and big.max() <= 1 and big.min() < -0.9 and big.max() > 0.9  # the whole range is used


def test_init_weights_accepts_generator_and_seed_sequence():
    net = lm.mlp([3, 3, 1])
    rng = np.random.default_rng(5)
    w1, w2 = net.init_weights(rng), net.init_weights(rng)
    assert not np.array_equal(w1, w2), "a Generator must be consumed, not reseeded"
    again = np.random.default_rng(5)
    np.testing.assert_array_equal(w1, net.init_weights(again))
    np.testing.assert_array_equal(w2, net.init_weights(again))
    ss = np.random.SeedSequence(9)
    np.testing.assert_array_equal(net.init_weights(ss), net.init_weights(np.random.SeedSequence(9)))
    children = np.random.SeedSequence(0).spawn(2)
    assert not np.array_equal(net.init_weights(children[0]), net.init_weights(children[1]))


def test_init_weights_leaves_global_state_alone():
    state = np.random.get_state()
    lm.mlp([2, 2, 1]).init_weights(1)
    lm.mlp([2, 2, 1]).init_weights()
    after = np.random.get_state()
    assert state[0] == after[0] and np.array_equal(state[1], after[1]) and state[2:] == after[2:]


@pytest.mark.parametrize("seed, exc", [("abc", TypeError), (1.5, TypeError), (-1, ValueError)])
def test_init_weights_rejects_bad_seed(seed, exc):
    with pytest.raises(exc, match="seed must be"):
        lm.mlp([2, 2, 1]).init_weights(seed)


# ------------------------------------------------- bad network descriptions
BAD_NETWORKS = [
    # (id, factory, exception, message pattern)
    ("later-node", lambda: lm.Network(2, [N((0, 3)), N((0, 2))], [3]), ValueError,
     r"neuron 0 \(node 2\): input node 3 comes later.*cycle"),
    ("cycle-of-two", lambda: lm.Network(1, [N((0, 2)), N((1,))], [2]), ValueError,
     r"neuron 0 \(node 1\): input node 2 comes later"),
    ("self-loop", lambda: lm.Network(2, [N((0, 2))], [2]), ValueError, r"neuron 0 \(node 2\): input node 2 is itself"),
    ("nonexistent-node", lambda: lm.Network(2, [N((0,)), N((0, 7))], [3]), ValueError,
     r"neuron 1 \(node 3\): input node 7 does not exist"),
    ("negative-node", lambda: lm.Network(2, [N((-1,))], [2]), ValueError,
     r"neuron 0 \(node 2\): input node -1 does not exist"),
    ("repeated-input", lambda: lm.Network(2, [N((0, 1, 0))], [2]), ValueError,
     r"neuron 0 \(node 2\): an input node is listed twice"),
    ("float-input-index", lambda: lm.Network(2, [N((0.0, 1))], [2]), TypeError,
     r"neuron 0 \(node 2\): inputs must be integers"),
    ("inputs-not-a-sequence", lambda: lm.Network(2, [N(0)], [2]), TypeError,
     r"neuron 0 \(node 2\): inputs must be node indices"),
    ("unknown-activation", lambda: lm.Network(2, [N((0,)), N((2,), "relu")], [3]), ValueError,
     r"neuron 1 \(node 3\): unknown activation 'relu'"),
    ("activation-not-a-string", lambda: lm.Network(2, [N((0,), 3)], [2]), TypeError,
     r"neuron 0 \(node 2\): activation must be a string"),
    ("zero-gain", lambda: lm.Network(2, [N((0,), "bipolar", 0.0)], [2]), ValueError,
     r"neuron 0 \(node 2\): gain must be a finite number > 0, got 0.0"),
    ("negative-gain", lambda: lm.Network(2, [N((0,)), N((2,), "linear", -0.5)], [3]), ValueError,
     r"neuron 1 \(node 3\): gain must be a finite number > 0"),
    ("nan-gain", lambda: lm.Network(2, [N((0,), "bipolar", float("nan"))], [2]), ValueError,
     r"neuron 0 \(node 2\): gain must be a finite number"),
    ("inf-gain", lambda: lm.Network(2, [N((0,), "bipolar", float("inf"))], [2]), ValueError,
     r"neuron 0 \(node 2\): gain must be a finite number"),
    ("string-gain", lambda: lm.Network(2, [N((0,), "bipolar", "big")], [2]), TypeError,
     r"neuron 0 \(node 2\): gain must be a real number"),
    ("bool-gain", lambda: lm.Network(2, [N((0,), "bipolar", True)], [2]), TypeError,
     r"neuron 0 \(node 2\): gain must be a real number"),
    ("no-outputs", lambda: lm.Network(2, [N((0,))], []), ValueError, r"outputs: a network needs at least one output"),
    ("output-is-an-input", lambda: lm.Network(2, [N((0,))], [0]), ValueError,
     r"outputs: node 0 is not a neuron \(neurons are nodes 2\.\.2\)"),
    ("output-out-of-range", lambda: lm.Network(2, [N((0,))], [5]), ValueError, r"outputs: node 5 is not a neuron"),
    ("output-twice", lambda: lm.Network(2, [N((0,)), N((2,))], [3, 3]), ValueError, r"outputs: a node is listed twice"),
    ("float-output", lambda: lm.Network(1, [N((0,))], [1.5]), TypeError, r"outputs must be integer node indices"),
    ("string-output", lambda: lm.Network(1, [N((0,))], ["n1"]), TypeError, r"outputs must be integer node indices"),
    ("none-outputs", lambda: lm.Network(1, [N((0,))], None), TypeError, r"outputs must be a sequence"),
    ("no-neurons", lambda: lm.Network(2, [], [2]), ValueError, r"neurons: a network needs at least one neuron"),
    ("neurons-a-string", lambda: lm.Network(2, "abc", [2]), TypeError, r"neurons must be a sequence"),
    ("neuron-bad-type", lambda: lm.Network(2, [5], [2]), TypeError, r"neuron 0: expected a Neuron, a dict or a tuple"),
    ("neuron-dict-no-inputs", lambda: lm.Network(2, [{"activation": "linear"}], [2]), ValueError,
     r"neuron 0: missing 'inputs'"),
    ("neuron-dict-unknown-key", lambda: lm.Network(2, [{"inputs": (0,), "gian": 2}], [2]), ValueError,
     r"neuron 0: unknown key\(s\) \['gian'\]"),
    ("zero-inputs", lambda: lm.Network(0, [N(())], [0]), ValueError, r"n_inputs must be in \[1, inf\)"),
    ("float-n-inputs", lambda: lm.Network(1.5, [N((0,))], [1]), TypeError, r"n_inputs must be an integer"),
    ("from-dict-missing", lambda: lm.Network.from_dict({"n_inputs": 1, "neurons": [N((0,))]}), ValueError,
     r"network description is missing 'outputs'"),
    ("from-dict-not-a-dict", lambda: lm.Network.from_dict([1, 2]), TypeError, r"network description must be a dict"),
    # builders
    ("mlp-one-size", lambda: lm.mlp([3]), ValueError, r"sizes needs at least an input and an output size"),
    ("mlp-zero-size", lambda: lm.mlp([3, 0, 1]), ValueError, r"sizes must all be >= 1"),
    ("mlp-float-size", lambda: lm.mlp([3, 2.5, 1]), TypeError, r"sizes must be a sequence of integers"),
    ("mlp-string-sizes", lambda: lm.mlp("31"), TypeError, r"sizes must be a sequence of integers"),
    ("mlp-int-sizes", lambda: lm.mlp(3), TypeError, r"sizes must be a sequence of integers"),
    ("mlp-unknown-activation", lambda: lm.mlp([3, 2, 1], activation="relu"), ValueError,
     r"neuron 0 \(node 3\): unknown activation 'relu'"),
    ("mlp-unknown-output-activation", lambda: lm.mlp([3, 2, 1], output_activation="softmax"), ValueError,
     r"neuron 2 \(node 5\): unknown activation 'softmax'"),
    ("mlp-gains-wrong-length", lambda: lm.mlp([3, 2, 1], gain=[1.0, 2.0]), ValueError,
     r"gain: expected one value per neuron \(3\), got 2"),
    ("mlp-activations-wrong-length", lambda: lm.mlp([3, 2, 1], activation=["linear"]), ValueError,
     r"activation: expected one value per neuron \(3\), got 1"),
    ("mlp-negative-gain", lambda: lm.mlp([3, 2, 1], gain=-1.0), ValueError, r"neuron 0 \(node 3\): gain must be"),
    ("bmlp-zero-output-gain", lambda: lm.bmlp([3, 2, 1], output_gain=0), ValueError, r"neuron 2 \(node 5\): gain must be"),
    ("fcc-zero-inputs", lambda: lm.fcc(0, 2), ValueError, r"inputs must be in \[1, inf\)"),
    ("fcc-zero-neurons", lambda: lm.fcc(2, 0), ValueError, r"neurons must be in \[1, inf\)"),
    ("fcc-zero-outputs", lambda: lm.fcc(2, 2, 0), ValueError, r"outputs must be in \[1, inf\)"),
    ("fcc-too-many-outputs", lambda: lm.fcc(2, 2, 3), ValueError, r"outputs \(3\) cannot exceed neurons \(2\)"),
    ("fcc-float-neurons", lambda: lm.fcc(2, 2.0), TypeError, r"neurons must be an integer"),
]


@pytest.mark.parametrize("factory, exc, match", [c[1:] for c in BAD_NETWORKS], ids=[c[0] for c in BAD_NETWORKS])
def test_bad_network_is_rejected_with_a_named_message(factory, exc, match):
    with pytest.raises(exc, match=match):
        factory()


# ------------------------------------------------- bad arguments to methods
NET = lm.mlp([3, 3, 1])  # 16 weights
W = np.linspace(-1, 1, 16)
X = np.array([[1.0, -1.0, 0.5], [0.0, 2.0, -2.0], [1.0, 1.0, 1.0], [-1.0, 0.3, 0.2]])  # P = 4
D = np.array([[1.0], [-1.0], [0.5], [0.0]])

METHODS = {
    "forward": lambda w, x, d: NET.forward(w, x),
    "forward_full": lambda w, x, d: NET.forward_full(w, x),
    "jacobian": lambda w, x, d: NET.jacobian(w, x),
    "error": lambda w, x, d: NET.error(w, x, d),
    "gradient": lambda w, x, d: NET.gradient(w, x, d),
    "quasi_hessian": lambda w, x, d: NET.quasi_hessian(w, x, d),
}
WITH_TARGETS = ["error", "gradient", "quasi_hessian"]


def _with(a, idx, value):
    a = a.copy()
    a[idx] = value
    return a


BAD_X = [
    ("wrong-columns", np.zeros((4, 2)), ValueError, r"X must have 3 column\(s\) \(one per network input\), got shape \(4, 2\)"),
    ("1d-wrong-length", np.zeros(2), ValueError, r"X must have 3 column\(s\)"),
    ("3d", np.zeros((4, 3, 1)), ValueError, r"X must be 1 or 2-dimensional, got shape \(4, 3, 1\)"),
    ("scalar", 1.0, ValueError, r"X must be 1 or 2-dimensional, got shape \(\)"),
    ("nan", _with(X, (1, 2), np.nan), ValueError, r"X contains 1 NaN or infinite value\(s\)"),
    ("inf", _with(_with(X, (0, 0), np.inf), (3, 1), -np.inf), ValueError, r"X contains 2 NaN or infinite value\(s\)"),
    ("empty", np.zeros((0, 3)), ValueError, r"X must not be empty, got shape \(0, 3\)"),
    ("strings", [["a", "b", "c"]], TypeError, r"X must hold numbers, got dtype <U1"),
    ("object", np.array([[1, 2, None]], dtype=object), TypeError, r"X must hold numbers, got dtype object"),
    ("none", None, TypeError, r"X must hold numbers"),
    ("complex", X.astype(complex), TypeError, r"X must be real, got dtype complex128"),
    ("ragged", [[1.0, 2.0, 3.0], [1.0]], TypeError, r"X must be array-like of numbers"),
]

BAD_W = [
    ("short", W[:-1], ValueError, r"w must have length 16 \(the network's n_weights\), got 15"),
    ("long", np.zeros(17), ValueError, r"w must have length 16 \(the network's n_weights\), got 17"),
    ("2d", W[:, None], ValueError, r"w must be 1-dimensional, got shape \(16, 1\)"),
    ("scalar", 0.5, ValueError, r"w must be 1-dimensional, got shape \(\)"),
    ("nan", _with(W, 3, np.nan), ValueError, r"w contains 1 NaN or infinite value\(s\)"),
    ("inf", _with(W, 0, np.inf), ValueError, r"w contains 1 NaN or infinite value\(s\)"),
    ("empty", np.zeros(0), ValueError, r"w must not be empty"),
    ("strings", ["0.1"] * 16, TypeError, r"w must hold numbers, got dtype <U3"),
    ("object", np.array([0.1] * 15 + [None], dtype=object), TypeError, r"w must hold numbers, got dtype object"),
    ("none", None, TypeError, r"w must hold numbers"),
    ("complex", W + 1j, TypeError, r"w must be real"),
]

BAD_D = [
    ("wrong-outputs", np.zeros((4, 2)), ValueError,
     r"D must have shape \(4, 1\) to match X and the network's outputs, got \(4, 2\)"),
    ("wrong-patterns", np.zeros((3, 1)), ValueError, r"D must have shape \(4, 1\).*got \(3, 1\)"),
    ("1d-wrong-length", np.zeros(5), ValueError, r"D must have shape \(4, 1\).*got \(5, 1\)"),
    ("3d", np.zeros((4, 1, 1)), ValueError, r"D must be 1 or 2-dimensional"),
    ("nan", _with(D, (2, 0), np.nan), ValueError, r"D contains 1 NaN or infinite value\(s\)"),
    ("inf", _with(D, (0, 0), -np.inf), ValueError, r"D contains 1 NaN or infinite value\(s\)"),
    ("empty", np.zeros((0, 1)), ValueError, r"D must not be empty"),
    ("strings", [["1"], ["0"], ["1"], ["0"]], TypeError, r"D must hold numbers"),
    ("object", np.array([[1.0], [0.0], [None], [0.0]], dtype=object), TypeError, r"D must hold numbers, got dtype object"),
    ("none", None, TypeError, r"D must hold numbers"),
]


@pytest.mark.parametrize("method", list(METHODS))
@pytest.mark.parametrize("bad, exc, match", [c[1:] for c in BAD_X], ids=[c[0] for c in BAD_X])
def test_bad_X_is_rejected(method, bad, exc, match):
    with pytest.raises(exc, match=match):
        METHODS[method](W, bad, D)


@pytest.mark.parametrize("method", list(METHODS))
@pytest.mark.parametrize("bad, exc, match", [c[1:] for c in BAD_W], ids=[c[0] for c in BAD_W])
def test_bad_w_is_rejected(method, bad, exc, match):
    with pytest.raises(exc, match=match):
        METHODS[method](bad, X, D)


@pytest.mark.parametrize("method", WITH_TARGETS)
@pytest.mark.parametrize("bad, exc, match", [c[1:] for c in BAD_D], ids=[c[0] for c in BAD_D])
def test_bad_D_is_rejected(method, bad, exc, match):
    with pytest.raises(exc, match=match):
        METHODS[method](W, X, bad)


def test_good_arguments_pass_the_same_boundary():
    """The fixtures above are valid apart from the one corrupted argument."""
    for call in METHODS.values():
        call(W, X, D)
    NET.error(W, X, D.ravel())  # 1-D targets for a single output
    NET.forward(W, X.astype(bool))  # booleans are numbers


def test_inputs_are_not_modified():
    w, x, d = W.copy(), X.copy(), D.copy()
    for call in METHODS.values():
        call(w, x, d)
    np.testing.assert_array_equal(w, W)
    np.testing.assert_array_equal(x, X)
    np.testing.assert_array_equal(d, D)
