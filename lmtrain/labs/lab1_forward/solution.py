"""Lab 1: the forward pass (chapter §12.3.1, eqs. 12.1-12.2, 12.27-12.31).

Reference solution. Check it with

    lmtrain lab check 1
"""

import numpy as np


def weight_slices(network):
    """Where each neuron's weights sit in w (given, not a task).

    Neuron k's block is its bias w_k,0 followed by one weight per entry of
    ``network.neurons[k].inputs``, in that order (eq. 12.28).
    """
    slices, start = [], 0
    for neuron in network.neurons:
        stop = start + 1 + len(neuron.inputs)
        slices.append(slice(start, stop))
        start = stop
    return slices


def activation(kind, gain, net):
    """Output y = f(net) (eq. 12.27) and slope s = f'(net) (eq. 12.30)."""
    net = np.asarray(net, dtype=float)
    if kind == "bipolar":
        y = np.tanh(gain * net)
        return y, gain * (1.0 - y * y)
    if kind == "unipolar":
        y = 1.0 / (1.0 + np.exp(-gain * net))
        return y, gain * y * (1.0 - y)
    if kind == "linear":
        return gain * net, gain * np.ones_like(net)
    raise ValueError(f"unknown activation {kind!r}")


def neuron(w, y_in, kind, gain):
    """net = w_0 + sum_i w_i y_i (eq. 12.28), then y and s (eqs. 12.27, 12.30)."""
    net = w[0] + np.dot(w[1:], y_in)
    y, s = activation(kind, gain, net)
    return float(net), float(y), float(s)


def forward(network, w, x):
    """Every node's value and slope for one pattern, one sweep in node order."""
    n_in = network.n_inputs
    y = np.zeros(network.n_nodes)
    s = np.zeros(network.n_nodes)
    y[:n_in] = x
    for k, (unit, block) in enumerate(zip(network.neurons, weight_slices(network))):
        # every input node is earlier than node n_in + k, so its value is already known
        _, y[n_in + k], s[n_in + k] = neuron(w[block], y[list(unit.inputs)], unit.activation, unit.gain)
    return y, s


def outputs(network, w, X):
    """O[p, m]: the value of output node m for pattern p (eq. 12.31)."""
    return np.array([forward(network, w, x)[0][list(network.outputs)] for x in X])


def total_error(network, w, X, D):
    """E = 1/2 sum_p sum_m (d_pm - o_pm)^2 (eqs. 12.1-12.2)."""
    e = np.asarray(D, dtype=float) - outputs(network, w, X)
    return 0.5 * float(np.sum(e * e))
