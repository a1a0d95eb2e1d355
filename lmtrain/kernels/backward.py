"""The backward computation and the Jacobian (§12.3.1 steps d–h; the second half of Fig. 12.4).

The Jacobian of the errors e_pm = d_pm − o_pm (eq. 12.16) has one row per
pattern p and output m, one column per weight w_j,i. By eqs. 12.33–12.36 its
entries are::

    ∂e_pm / ∂w_j,i = −δ_m,j · y_j,i          (y_j,0 = 1 for the bias)

where δ_m,j is found by backpropagating a **unit error** from output m: δ
starts as the slope of the output neuron (eq. 12.35; δ = 0 elsewhere, eq.
12.48), is carried back through each weight into the node that weight reads
(eqs. 12.49, 12.51), summed there over every neuron the node feeds, and
multiplied by that node's slope when its own turn comes (eqs. 12.50, 12.52).
The backward pass is repeated once per output, as the chapter stresses: EBP
needs one backward pass per pattern, LM one per pattern and output.

Carrying the real errors instead of a unit value gives EBP's δ (eq. 12.34) and,
in one pass, the gradient g = Jᵀe.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from .forward import forward_pattern, pattern_errors


@njit(cache=True)
def backpropagate(w, topo, s, delta):
    """Carry δ from the output nodes back through the network, in place (eqs. 12.47–12.52).

    On entry ``delta`` holds the starting value at each output node and 0
    elsewhere; on return ``delta[node]`` is δ of every neuron node. Neurons are
    visited in reverse topological order, so every neuron's δ is complete
    (summed over all neurons it feeds) before it is multiplied by its slope
    and passed on.
    """
    n_in = topo.n_inputs
    for j in range(topo.act.shape[0] - 1, -1, -1):  # from the outputs back to the first layer
        node = n_in + j
        delta[node] *= s[node]  # multiply delta by slope: eqs. 12.47, 12.50, 12.52
        base = topo.w_ptr[j]
        first = topo.in_ptr[j]
        for i in range(topo.in_ptr[j + 1] - first):
            src = topo.in_idx[first + i]
            if src >= n_in:  # the input is a neuron: pass δ back to it through the weight
                delta[src] += delta[node] * w[base + 1 + i]  # eqs. 12.49, 12.51: through the weight, summed at the node


@njit(cache=True)
def backward_unit_error(w, topo, s, m, delta):
    """δ_m,j of every node for output m: the backpropagation of a unit error (eqs. 12.35, 12.47–12.52).

    ``s`` holds the slopes of a finished forward pass of one pattern.
    """
    for k in range(delta.shape[0]):
        delta[k] = 0.0  # eq. 12.48: no δ yet anywhere else
    delta[topo.out_idx[m]] = 1.0  # eq. 12.35: a unit value in place of the error at output m
    backpropagate(w, topo, s, delta)


@njit(cache=True)
def jacobian_row(topo, y, delta, row):
    """One row of J: ∂e_pm/∂w_j,i = −δ_m,j · y_j,i for every weight (eq. 12.36).

    ``y`` holds the node values of the pattern, ``delta`` the δ of output m
    (:func:`backward_unit_error`). A neuron that output m does not depend on
    has δ = 0 and zero entries.
    """
    n_in = topo.n_inputs
    for j in range(topo.act.shape[0]):
        node = n_in + j
        base = topo.w_ptr[j]
        first = topo.in_ptr[j]
        row[base] = -delta[node]  # the bias weight: its input is +1
        for i in range(topo.in_ptr[j + 1] - first):
            row[base + 1 + i] = -delta[node] * y[topo.in_idx[first + i]]  # eq. 12.36


@njit(cache=True)
def jacobian(w, topo, X, D, J, e):
    """The whole Jacobian ``J`` (P·M, N) and error vector ``e`` (P·M,), rows pattern-major (eq. 12.16).

    Row p·M + m belongs to pattern p and output m: one forward pass per
    pattern, one unit-error backward pass per output (Fig. 12.4). Returns
    E = ½ Σ e² (eq. 12.1).
    """
    n_nodes = topo.n_inputs + topo.act.shape[0]
    M = topo.out_idx.shape[0]
    y = np.empty(n_nodes)
    s = np.empty(n_nodes)
    delta = np.empty(n_nodes)
    total = 0.0
    for p in range(X.shape[0]):
        forward_pattern(w, topo, X[p], y, s)
        pattern_errors(topo, y, D[p], e[p * M:(p + 1) * M])
        for m in range(M):
            total += e[p * M + m] * e[p * M + m]
            backward_unit_error(w, topo, s, m, delta)
            jacobian_row(topo, y, delta, J[p * M + m])
    return 0.5 * total


@njit(cache=True)
def gradient(w, topo, X, D, g):
    """g = ∂E/∂w = Jᵀe without J: one backward pass per pattern carrying the real errors (eq. 12.34).

    Starting δ at output m from the error e_m instead of 1 gives
    δ_j = s_j Σ_m F'_mj e_m, and g_j,i = −Σ_p δ_j y_j,i. Returns E.
    """
    n_nodes = topo.n_inputs + topo.act.shape[0]
    M = topo.out_idx.shape[0]
    y = np.empty(n_nodes)
    s = np.empty(n_nodes)
    delta = np.empty(n_nodes)
    e = np.empty(M)
    for i in range(g.shape[0]):
        g[i] = 0.0
    total = 0.0
    for p in range(X.shape[0]):
        forward_pattern(w, topo, X[p], y, s)
        pattern_errors(topo, y, D[p], e)
        for k in range(n_nodes):
            delta[k] = 0.0
        for m in range(M):
            total += e[m] * e[m]
            delta[topo.out_idx[m]] = e[m]  # eq. 12.34: the error itself starts the pass
        backpropagate(w, topo, s, delta)
        for j in range(topo.act.shape[0]):
            node = topo.n_inputs + j
            base = topo.w_ptr[j]
            first = topo.in_ptr[j]
            g[base] -= delta[node]
            for i in range(topo.in_ptr[j + 1] - first):
                g[base + 1 + i] -= delta[node] * y[topo.in_idx[first + i]]
    return 0.5 * total
