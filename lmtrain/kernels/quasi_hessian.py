"""The quasi-Hessian Q = JᵀJ and the gradient g = Jᵀe, built without storing J.

Table 12.1's fifth row (NBN) updates w ← w − Q⁻¹g with the quasi-Hessian. J
has P·M rows, one per pattern and output; a row j_pm is known as soon as that
pattern's forward pass and that output's backward pass are done (Fig. 12.4),
and it enters Q and g only through its own products::

    Q = Σ_p Σ_m j_pmᵀ j_pm   (each term the N×N submatrix q_pm)
    g = Σ_p Σ_m j_pmᵀ e_pm   (each term the N-vector η_pm)

So each row is added and forgotten: memory is N² + N whatever the number of
patterns, where the stored Jacobian of §12.5 takes P·M·N numbers. Q and g
are exactly JᵀJ and Jᵀe, summed in the order of the rows.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from .backward import backward_unit_error, jacobian_row
from .forward import forward_pattern, pattern_errors


@njit(cache=True)
def add_pattern(row, e, Q, g):
    """Add one Jacobian row's share to Q and g: Q += jᵀj (q), g += jᵀe (η) (Table 12.1, NBN row).

    Parameters
    ----------
    row : ndarray (N,)
        The row j of J for one pattern and output (:func:`lmtrain.kernels.jacobian_row`).
    e : float
        Its error e_pm.
    Q : ndarray (N, N)
    g : ndarray (N,)
    """
    N = row.shape[0]
    for a in range(N):
        g[a] += row[a] * e  # η = jᵀe
        for b in range(N):
            Q[a, b] += row[a] * row[b]  # q = jᵀj


@njit(cache=True)
def quasi_hessian(w, topo, X, D, Q, g):
    """Q = JᵀJ and g = Jᵀe, one pattern at a time (Fig. 12.4 with Table 12.1's NBN row).

    For every pattern: the forward pass; then for every output its error, its
    unit-error backward pass, its Jacobian row and that row's share of Q and
    g. Overwrites ``Q`` (N, N) and ``g`` (N,); returns E = ½ Σ e² (eq. 12.1).
    """
    n_nodes = topo.n_inputs + topo.act.shape[0]
    M = topo.out_idx.shape[0]
    N = w.shape[0]
    y = np.empty(n_nodes)
    s = np.empty(n_nodes)
    delta = np.empty(n_nodes)
    row = np.empty(N)
    e = np.empty(M)
    for a in range(N):
        g[a] = 0.0
        for b in range(N):
            Q[a, b] = 0.0
    total = 0.0
    for p in range(X.shape[0]):  # for all patterns
        forward_pattern(w, topo, X[p], y, s)  # forward computation
        pattern_errors(topo, y, D[p], e)  # calculate error, eq. 12.46
        for m in range(M):  # for all outputs
            total += e[m] * e[m]
            backward_unit_error(w, topo, s, m, delta)  # backward computation, eqs. 12.47-12.52
            jacobian_row(topo, y, delta, row)  # Jacobian row, eq. 12.36
            add_pattern(row, e[m], Q, g)  # q = jᵀj and η = jᵀe into Q and g
    return 0.5 * total
