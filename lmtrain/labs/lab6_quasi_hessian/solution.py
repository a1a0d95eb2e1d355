"""Lab 6: the quasi-Hessian without storing J (Table 12.1, NBN row; §12.5).

Reference solution. Check it with

    lmtrain lab check 6
"""

import tracemalloc

import numpy as np


def pattern_terms(network, w, x, d):
    """j_p (M, N) and e_p = d_p - o_p (M,) of one pattern (eqs. 12.2, 12.16)."""
    x1 = np.asarray(x, dtype=float)[None, :]
    j_p = network.jacobian(w, x1)
    e_p = np.asarray(d, dtype=float) - network.forward(w, x1)[0]
    return j_p, e_p


def accumulate(network, w, X, D):
    """Q = sum_p j_p^T j_p, g = sum_p j_p^T e_p, E = 1/2 sum e^2, one pattern at a time."""
    N = network.n_weights
    Q = np.zeros((N, N))
    g = np.zeros(N)
    E = 0.0
    for x, d in zip(X, D):
        j_p, e_p = pattern_terms(network, w, x, d)
        Q += j_p.T @ j_p
        g += j_p.T @ e_p
        E += 0.5 * float(e_p @ e_p)
    return Q, g, E


def nbn_step(w, Q, g, mu):
    """w - (Q + mu I)^-1 g: the LM step of eq. 12.25 with Q = J^T J and g = J^T e."""
    return w - np.linalg.solve(Q + mu * np.eye(len(w)), g)


def peak_bytes(f, *args):
    """Peak bytes allocated by f(*args), as tracemalloc sees them."""
    tracemalloc.start()
    try:
        f(*args)
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
