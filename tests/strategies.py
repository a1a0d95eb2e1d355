"""Hypothesis strategies: random feed-forward networks and problems on them.

* :func:`dag_networks` draws any feed-forward graph: 1–4 inputs, 1–8 neurons,
  each neuron taking a non-empty subset (in random order) of the earlier nodes,
  mixed activations and gains in [0.2, 3], 1–3 outputs chosen among all
  neurons in random order (so an output may feed another neuron, and some
  neurons may reach no output at all);
* :func:`layered_networks` goes through the public builders ``mlp``, ``bmlp``
  and ``fcc``, with one activation for all or one per neuron;
* :func:`problems` adds weights in [−2, 2], inputs in [−2, 2] and targets.
"""

from __future__ import annotations

import numpy as np
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import lmtrain as lm

ACTIVATIONS = ("bipolar", "unipolar", "linear")
gains = st.floats(0.2, 3.0, allow_nan=False, allow_infinity=False)
activations = st.sampled_from(ACTIVATIONS)


@st.composite
def dag_networks(draw, max_inputs=4, max_neurons=8, max_outputs=3):
    n_in = draw(st.integers(1, max_inputs))
    n_neurons = draw(st.integers(1, max_neurons))
    neurons = []
    for k in range(n_neurons):
        node = n_in + k
        ins = draw(st.lists(st.integers(0, node - 1), min_size=1, max_size=node, unique=True))
        neurons.append(lm.Neuron(tuple(ins), draw(activations), draw(gains)))
    n_out = draw(st.integers(1, min(max_outputs, n_neurons)))
    outputs = draw(
        st.lists(st.integers(n_in, n_in + n_neurons - 1), min_size=n_out, max_size=n_out, unique=True)
    )
    return lm.Network(n_in, neurons, outputs)


@st.composite
def layered_networks(draw):
    kind = draw(st.sampled_from(("mlp", "bmlp", "fcc")))
    if kind == "fcc":
        n_in = draw(st.integers(1, 4))
        n_neurons = draw(st.integers(1, 6))
        n_out = draw(st.integers(1, min(3, n_neurons)))
        sizes = None
    else:
        sizes = [draw(st.integers(1, 4))] + draw(st.lists(st.integers(1, 3), min_size=1, max_size=3))
        n_neurons = sum(sizes[1:])
    per_neuron = draw(st.booleans())
    if per_neuron:
        act = draw(st.lists(activations, min_size=n_neurons, max_size=n_neurons))
        gain = draw(st.lists(gains, min_size=n_neurons, max_size=n_neurons))
    else:
        act, gain = draw(activations), draw(gains)
    out_act = draw(st.none() | activations)
    if kind == "fcc":
        return lm.fcc(n_in, n_neurons, n_out, activation=act, gain=gain, output_activation=out_act)
    build = lm.mlp if kind == "mlp" else lm.bmlp
    return build(sizes, activation=act, gain=gain, output_activation=out_act)


def networks():
    return dag_networks() | layered_networks()


def values(shape, bound=2.0):
    return hnp.arrays(np.float64, shape, elements=st.floats(-bound, bound, allow_nan=False, allow_infinity=False))


@st.composite
def problems(draw, nets=None, max_patterns=6):
    """``(net, w, X, D)`` with weights, inputs and targets in [−2, 2]."""
    net = draw(nets if nets is not None else networks())
    P = draw(st.integers(1, max_patterns))
    w = draw(values(net.n_weights))
    X = draw(values((P, net.n_inputs)))
    D = draw(values((P, net.n_outputs)))
    return net, w, X, D
