"""Lab 2: the Jacobian by unit errors (chapter §12.3.1, eqs. 12.16, 12.29-12.36, 12.46-12.52).

Reference solution. Check it with

    lmtrain lab check 2
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


def unit_deltas(network, w, s, m):
    """delta_m,j for every node: unit error at output m, pushed back (eqs. 12.35, 12.47-12.52)."""
    n_in = network.n_inputs
    blocks = weight_slices(network)
    delta = np.zeros(network.n_nodes)
    o = network.outputs[m]
    delta[o] = 1.0  # the unit error of eq. 12.35; the slope comes in below (eq. 12.47)
    # reverse node order: every neuron that takes node k as input comes after k,
    # so k's sum is complete when the sweep reaches it; neurons after o stay 0 (eq. 12.48)
    for k in range(o - n_in, -1, -1):
        node = n_in + k
        delta[node] *= s[node]  # eqs. 12.47, 12.50, 12.52
        wk = w[blocks[k]]
        for i, source in enumerate(network.neurons[k].inputs):
            if source >= n_in:
                delta[source] += delta[node] * wk[1 + i]  # eqs. 12.49, 12.51
    return delta


def jacobian_row(network, y, delta):
    """-delta_m,j * y_j,i for every weight, y_j,0 = 1 for the bias (eqs. 12.29, 12.36)."""
    n_in = network.n_inputs
    row = np.empty(network.n_weights)
    for k, (unit, block) in enumerate(zip(network.neurons, weight_slices(network))):
        inputs = np.concatenate(([1.0], y[list(unit.inputs)]))
        row[block] = -delta[n_in + k] * inputs
    return row


def jacobian(network, w, X):
    """J, shape (P*M, N), rows pattern-major: one forward and M backward passes per pattern (Fig. 12.4)."""
    Y, S = network.forward_full(w, X)
    M = network.n_outputs
    J = np.empty((len(X) * M, network.n_weights))
    for p in range(len(X)):
        for m in range(M):
            J[p * M + m] = jacobian_row(network, Y[p], unit_deltas(network, w, S[p], m))
    return J
