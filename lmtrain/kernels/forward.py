"""The forward computation (§12.3.1 steps a–c; the first half of Fig. 12.4).

For one pattern, every neuron j in topological order computes (eqs. 12.27–12.30)::

    net_j = w_j0 + Σ_i w_j,i · y_j,i      y_j = f_j(net_j)      s_j = f_j'(net_j)

where the inputs y_j,i of neuron j are network inputs or outputs of earlier
neurons. Because nodes are numbered inputs first and then neurons in
topological order, one sweep over the neurons serves any feed-forward network:
an MLP (Fig. 12.3), a bridged MLP or a fully connected cascade.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from ..activations import activate


@njit(cache=True)
def neuron_forward(w, topo, j, y):
    """Output y_j and slope s_j of neuron j for one pattern (eqs. 12.27–12.30).

    Parameters
    ----------
    w : ndarray (N,)
        All weights; neuron j's bias weight w_j0 is ``w[topo.w_ptr[j]]``, its
        input weights w_j,1 … w_j,ni follow in the order of its inputs.
    topo : Topology
    j : int
        Neuron index (node ``topo.n_inputs + j``).
    y : ndarray (n_nodes,)
        Node values of this pattern; those of j's inputs must be set.

    Returns
    -------
    (y_j, s_j) : tuple of float
    """
    base = topo.w_ptr[j]
    first = topo.in_ptr[j]
    net = w[base]  # the bias: input +1 weighted by w_j0
    for i in range(topo.in_ptr[j + 1] - first):
        net += w[base + 1 + i] * y[topo.in_idx[first + i]]  # eq. 12.28
    return activate(topo.act[j], topo.gain[j], net)  # eq. 12.27 (output), eq. 12.30 (slope)


@njit(cache=True)
def forward_pattern(w, topo, x, y, s):
    """Value ``y`` and slope ``s`` of every node for one pattern ``x`` (Fig. 12.4, forward computation).

    Input nodes take the pattern (slope 0); then every neuron, in topological
    order, so that its inputs are known when it is reached.
    """
    n_in = topo.n_inputs
    for i in range(n_in):
        y[i] = x[i]
        s[i] = 0.0
    for j in range(topo.act.shape[0]):  # for all neurons, inputs before outputs
        y[n_in + j], s[n_in + j] = neuron_forward(w, topo, j, y)


@njit(cache=True)
def pattern_errors(topo, y, d, e):
    """Errors e_m = d_m − o_m of one pattern, into ``e`` (eqs. 12.2, 12.46)."""
    for m in range(topo.out_idx.shape[0]):
        e[m] = d[m] - y[topo.out_idx[m]]  # o_m is the value of output node m


@njit(cache=True)
def error(w, topo, X, D):
    """E = ½ Σ_p Σ_m e_pm² over all patterns (eq. 12.1), one forward pass per pattern.

    ``X`` (P, n_inputs) holds one pattern per row, ``D`` (P, M) the desired outputs.
    """
    n_nodes = topo.n_inputs + topo.act.shape[0]
    y = np.empty(n_nodes)
    s = np.empty(n_nodes)
    e = np.empty(topo.out_idx.shape[0])
    total = 0.0
    for p in range(X.shape[0]):
        forward_pattern(w, topo, X[p], y, s)
        pattern_errors(topo, y, D[p], e)
        for m in range(e.shape[0]):
            total += e[m] * e[m]
    return 0.5 * total


@njit(cache=True)
def forward(w, topo, X, Y, S):
    """Value and slope of every node for every pattern: rows ``Y[p]``, ``S[p]`` of shape (P, n_nodes)."""
    for p in range(X.shape[0]):
        forward_pattern(w, topo, X[p], Y[p], S[p])
