"""Lab 1: the forward pass (chapter §12.3.1, eqs. 12.1-12.2, 12.27-12.31).

Fill in the five functions below, in order; each docstring gives the
signature, the shapes and the equation. Check your work with

    lmtrain lab check 1

Plain Python and NumPy only: the point is to write the chapter's arithmetic
yourself. ``network`` is an ``lmtrain.Network`` (see the sheet for how to
read it); ``w`` is its flat weight vector.
"""

import numpy as np


def weight_slices(network):
    """Where each neuron's weights sit in w (given, not a task).

    Neuron k's block is its bias w_k,0 followed by one weight per entry of
    ``network.neurons[k].inputs``, in that order (eq. 12.28).

    Returns
    -------
    list of slice
        ``w[weight_slices(network)[k]]`` are neuron k's weights, bias first.
    """
    slices, start = [], 0
    for neuron in network.neurons:
        stop = start + 1 + len(neuron.inputs)
        slices.append(slice(start, stop))
        start = stop
    return slices


def activation(kind, gain, net):
    """Output and slope of one activation (eqs. 12.27 and 12.30).

    Parameters
    ----------
    kind : str
        ``"bipolar"`` (tanh(k·net)), ``"unipolar"`` (1/(1 + exp(-k·net)))
        or ``"linear"`` (k·net).
    gain : float
        The gain k > 0.
    net : float or ndarray
        Net value(s); work element by element on an array.

    Returns
    -------
    y, s : float or ndarray, shaped like ``net``
        y = f(net) (eq. 12.27) and the slope s = f'(net) (eq. 12.30).
    """
    # TODO
    raise NotImplementedError


def neuron(w, y_in, kind, gain):
    """One neuron: net value, output and slope (eqs. 12.28, 12.27, 12.30).

    Parameters
    ----------
    w : ndarray, shape (n_in + 1,)
        The neuron's weights: the bias w_j,0 first, then w_j,1 ... w_j,n_in.
    y_in : ndarray, shape (n_in,)
        The values of its input nodes y_j,1 ... y_j,n_in.
    kind, gain : str, float
        Its activation and gain, as for :func:`activation`.

    Returns
    -------
    net, y, s : float
        net = w_j,0 + sum_i w_j,i * y_j,i (eq. 12.28), y = f(net) (12.27),
        s = f'(net) (12.30).
    """
    # TODO
    raise NotImplementedError


def forward(network, w, x):
    """Every node's value and slope for one pattern, in node order (eqs. 12.27-12.30).

    Parameters
    ----------
    network : lmtrain.Network
    w : ndarray, shape (network.n_weights,)
    x : ndarray, shape (network.n_inputs,)
        One input pattern.

    Returns
    -------
    y : ndarray, shape (network.n_nodes,)
        y[i] = x[i] for the input nodes, then each neuron's output y_j.
    s : ndarray, shape (network.n_nodes,)
        0 for the input nodes, then each neuron's slope s_j.
    """
    # TODO
    raise NotImplementedError


def outputs(network, w, X):
    """Network outputs for every pattern (eq. 12.31: o_m is the y of output neuron m).

    Parameters
    ----------
    network : lmtrain.Network
    w : ndarray, shape (network.n_weights,)
    X : ndarray, shape (P, network.n_inputs)
        One pattern per row.

    Returns
    -------
    O : ndarray, shape (P, M)
        O[p, m] = o_p,m, the value of node ``network.outputs[m]`` for pattern p.
    """
    # TODO
    raise NotImplementedError


def total_error(network, w, X, D):
    """The total error E over all patterns and outputs (eqs. 12.1-12.2).

    Parameters
    ----------
    network : lmtrain.Network
    w : ndarray, shape (network.n_weights,)
    X : ndarray, shape (P, network.n_inputs)
    D : ndarray, shape (P, M)
        Desired outputs d_p,m.

    Returns
    -------
    E : float
        E = 1/2 * sum_p sum_m e_p,m**2 with e_p,m = d_p,m - o_p,m.
    """
    # TODO
    raise NotImplementedError
