"""Lab 6: the quasi-Hessian without storing J (Table 12.1, NBN row; §12.5).

Fill in the four functions below, in order; each docstring gives the
signature, the shapes and the equation. Check your work with

    lmtrain lab check 6

Plain Python and NumPy. For one pattern you may call
``network.jacobian(w, x[None, :])`` and ``network.forward(w, x[None, :])``;
never call them on all patterns at once in ``accumulate``.
"""

import tracemalloc

import numpy as np


def pattern_terms(network, w, x, d):
    """The rows of J and the errors of one pattern (eqs. 12.2, 12.16).

    Parameters
    ----------
    network : lmtrain.Network
    w : ndarray, shape (N,)
    x : ndarray, shape (network.n_inputs,)
        One input pattern.
    d : ndarray, shape (M,)
        Its desired outputs.

    Returns
    -------
    j_p : ndarray, shape (M, N)
        d e_p,m / d w_i for the M outputs of this pattern.
    e_p : ndarray, shape (M,)
        e_p,m = d_p,m - o_p,m.
    """
    # TODO
    raise NotImplementedError


def accumulate(network, w, X, D):
    """Q = J^T J, g = J^T e and E, one pattern at a time (Table 12.1, NBN row; eqs. 12.1, 12.18).

    Parameters
    ----------
    network : lmtrain.Network
    w : ndarray, shape (N,)
    X : ndarray, shape (P, network.n_inputs)
    D : ndarray, shape (P, M)

    Returns
    -------
    Q : ndarray, shape (N, N)
        sum_p j_p^T j_p.
    g : ndarray, shape (N,)
        sum_p j_p^T e_p.
    E : float
        1/2 * sum_p sum_m e_p,m**2.

    Memory must not grow with P: keep only Q, g, E and one pattern's terms.
    """
    # TODO
    raise NotImplementedError


def nbn_step(w, Q, g, mu):
    """The damped quasi-Hessian step (Table 12.1, NBN row, damped as in eq. 12.25).

    Parameters
    ----------
    w : ndarray, shape (N,)
    Q : ndarray, shape (N, N)
    g : ndarray, shape (N,)
    mu : float

    Returns
    -------
    w_new : ndarray, shape (N,)
        w - (Q + mu I)^-1 g.
    """
    # TODO
    raise NotImplementedError


def peak_bytes(f, *args):
    """Peak memory, in bytes, allocated while ``f(*args)`` runs (use ``tracemalloc``).

    Returns
    -------
    int
        The peak of ``tracemalloc.get_traced_memory()`` during the call.
    """
    # TODO
    raise NotImplementedError
