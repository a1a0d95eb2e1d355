"""Lab 7: curve fitting with LM, against Newton-Raphson (eqs. 12.15, 12.20-12.25, Fig. 12.5).

Fill in the six functions below, in order; each docstring gives the
signature, the shapes and the equation. Check your work with

    lmtrain lab check 7

Plain NumPy for the models and Newton-Raphson; ``lm.curve_fit`` for LM.
"""

import numpy as np

import lmtrain as lm

A_TRUE = np.array([20.0, 10.0, 1.0, 50.0])
A_START = np.array([5.0, 2.0, 0.2, -10.0])


def quartic(u, a):
    """y = a1*u + a2*u**2 + a3*u**3 + a4*u**4.

    Parameters
    ----------
    u : ndarray, shape (n,)
    a : ndarray, shape (4,)

    Returns
    -------
    y : ndarray, shape (n,)
    """
    # TODO
    raise NotImplementedError


def quartic_jacobian(u, a):
    """d y / d a for every u (the model's derivative, as lm.curve_fit wants it).

    Returns
    -------
    ndarray, shape (n, 4)
        Row i is (u_i, u_i**2, u_i**3, u_i**4).
    """
    # TODO
    raise NotImplementedError


def fit_quartic():
    """Fit the quartic to its noise-free curve on t = 1..100, u = t/100, from A_START.

    Returns
    -------
    lmtrain.CurveFitResult
        ``lm.curve_fit(quartic, u, y, A_START, jac=quartic_jacobian)`` with
        y = quartic(u, A_TRUE).
    """
    # TODO
    raise NotImplementedError


def exponential(x, p):
    """y = b * exp(a * x) with p = (a, b).

    Parameters
    ----------
    x : ndarray, shape (n,)
    p : ndarray, shape (2,)

    Returns
    -------
    y : ndarray, shape (n,)
    """
    # TODO
    raise NotImplementedError


def exponential_jacobian(x, p):
    """d y / d (a, b) for every x.

    Returns
    -------
    ndarray, shape (n, 2)
        Row i is (b * x_i * exp(a x_i), exp(a x_i)).
    """
    # TODO
    raise NotImplementedError


def newton_raphson(x, y, p0, iterations):
    """Pure Newton-Raphson on E = 1/2 sum (y - b exp(a x))**2 (eqs. 12.15, 12.18, 12.20-12.21).

    Parameters
    ----------
    x, y : ndarray, shape (n,)
    p0 : ndarray, shape (2,)
        Start (a, b).
    iterations : int
        Number of steps p <- p - H^-1 g, with g = J^T e, e = y - f,
        J = -d f / d p and the exact H = J^T J + sum_i e_i * d2 e_i / dp2.

    Returns
    -------
    path : ndarray, shape (iterations + 1, 2)
        p after 0, 1, ..., iterations steps (row 0 is p0).
    """
    # TODO
    raise NotImplementedError
