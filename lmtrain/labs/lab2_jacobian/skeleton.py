"""Lab 2: the Jacobian by unit errors (chapter §12.3.1, eqs. 12.16, 12.29-12.36, 12.46-12.52).

Fill in the three functions below, in order; each docstring gives the
signature, the shapes and the equation. Check your work with

    lmtrain lab check 2

Plain Python and NumPy only. ``network`` is an ``lmtrain.Network`` (see the
lab 1 sheet for how to read it); ``w`` is its flat weight vector. For the
forward pass you may call ``network.forward_full(w, X)``; do not call
``network.jacobian``.
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
    """The backward pass with a unit error at output m (eqs. 12.35, 12.47-12.52).

    Parameters
    ----------
    network : lmtrain.Network
    w : ndarray, shape (network.n_weights,)
    s : ndarray, shape (network.n_nodes,)
        Slopes of every node for one pattern (0 for the input nodes), as
        ``network.forward_full`` gives them.
    m : int
        Which output, 0 <= m < network.n_outputs; its neuron is node
        ``network.outputs[m]``.

    Returns
    -------
    delta : ndarray, shape (network.n_nodes,)
        delta[j] = delta_m,j: s_o at the output neuron o (eq. 12.47); for every
        other neuron k, s_k * sum_j delta[j] * w_j,k over the neurons j that
        take node k as an input (eqs. 12.49-12.52); 0 for the input nodes and
        for neurons that do not lead to output m (eq. 12.48).
    """
    # TODO
    raise NotImplementedError


def jacobian_row(network, y, delta):
    """One row of the Jacobian: d e_m / d w for one pattern and output (eq. 12.36).

    Parameters
    ----------
    network : lmtrain.Network
    y : ndarray, shape (network.n_nodes,)
        Node values of one pattern from the forward pass.
    delta : ndarray, shape (network.n_nodes,)
        The deltas of output m for that pattern (task 1).

    Returns
    -------
    row : ndarray, shape (network.n_weights,)
        The entry of weight w_j,i is -delta_m,j * y_j,i, where y_j,i is the
        value of neuron j's i-th input node and y_j,0 = 1 for the bias
        (eqs. 12.29, 12.36). Entries in the order of w.
    """
    # TODO
    raise NotImplementedError


def jacobian(network, w, X):
    """The Jacobian J = d e / d w of all patterns and outputs (eq. 12.16, Fig. 12.4).

    Parameters
    ----------
    network : lmtrain.Network
    w : ndarray, shape (network.n_weights,)
    X : ndarray, shape (P, network.n_inputs)

    Returns
    -------
    J : ndarray, shape (P * M, network.n_weights)
        Row p * M + m is the row of pattern p and output m (pattern-major);
        J[p * M + m, i] = d e_p,m / d w_i with e = d - o.
    """
    # TODO
    raise NotImplementedError
