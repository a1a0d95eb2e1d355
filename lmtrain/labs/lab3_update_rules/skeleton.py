"""Lab 3: the update rules of Table 12.1 on a two-weight problem (chapter §12.2).

Fill in the six functions below, in order; each docstring gives the
signature, the shapes and the equation. Check your work with

    lmtrain lab check 3

Plain Python and NumPy only.
"""

import numpy as np


def rosenbrock(w):
    """Errors and Jacobian of the Rosenbrock valley as least squares (eqs. 12.2, 12.16).

    Parameters
    ----------
    w : ndarray, shape (2,)
        The weights (w1, w2).

    Returns
    -------
    e : ndarray, shape (2,)
        e1 = 10 * (w2 - w1**2), e2 = 1 - w1.
    J : ndarray, shape (2, 2)
        J[i, j] = d e_i / d w_j.
    """
    # TODO
    raise NotImplementedError


def rosenbrock_hessian(w):
    """The exact Hessian of E = 1/2 (e1**2 + e2**2) (eqs. 12.12, 12.20-12.21).

    Parameters
    ----------
    w : ndarray, shape (2,)

    Returns
    -------
    H : ndarray, shape (2, 2)
        H = J^T J + S, S[i, j] = sum_k e_k * d2 e_k / (d w_i d w_j).
    """
    # TODO
    raise NotImplementedError


def ebp_step(w, g, alpha):
    """One steepest-descent (EBP) step (eq. 12.4).

    Parameters
    ----------
    w : ndarray, shape (N,)
    g : ndarray, shape (N,)
        Gradient of E at w.
    alpha : float
        Learning constant.

    Returns
    -------
    w_new : ndarray, shape (N,)
        w - alpha * g.
    """
    # TODO
    raise NotImplementedError


def newton_step(w, g, H):
    """One Newton step (eq. 12.15).

    Parameters
    ----------
    w, g : ndarray, shape (N,)
    H : ndarray, shape (N, N)
        Hessian of E at w.

    Returns
    -------
    w_new : ndarray, shape (N,)
        w - H^-1 g.
    """
    # TODO
    raise NotImplementedError


def gauss_newton_step(w, J, e):
    """One Gauss-Newton step (eq. 12.23).

    Parameters
    ----------
    w : ndarray, shape (N,)
    J : ndarray, shape (R, N)
        d e / d w at w, R >= N rows.
    e : ndarray, shape (R,)

    Returns
    -------
    w_new : ndarray, shape (N,)
        w - (J^T J)^-1 J^T e.
    """
    # TODO
    raise NotImplementedError


def lm_step(w, J, e, mu):
    """One Levenberg-Marquardt step with a given mu (eq. 12.25).

    Parameters
    ----------
    w : ndarray, shape (N,)
    J : ndarray, shape (R, N)
    e : ndarray, shape (R,)
    mu : float
        mu > 0.

    Returns
    -------
    w_new : ndarray, shape (N,)
        w - (J^T J + mu I)^-1 J^T e.
    """
    # TODO
    raise NotImplementedError
