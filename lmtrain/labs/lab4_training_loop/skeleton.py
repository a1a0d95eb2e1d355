"""Lab 4: the training loop of Fig. 12.5 (chapter §12.3.2, eqs. 12.1, 12.25).

Fill in the four functions below, in order; each docstring gives the
signature, the shapes and the equation. Check your work with

    lmtrain lab check 4

Plain Python and NumPy only; the loop does not know about networks, it is
handed ``residuals(w)`` and ``jacobian(w)``.
"""

import numpy as np


def total_error(e):
    """The total error of an error vector (eq. 12.1).

    Parameters
    ----------
    e : ndarray, shape (P * M,)
        Errors e = d - o of every pattern and output.

    Returns
    -------
    E : float
        E = 1/2 * sum(e**2).
    """
    # TODO
    raise NotImplementedError


def lm_try(w, J, e, mu):
    """Trial weights of the Levenberg-Marquardt update (eq. 12.25).

    Parameters
    ----------
    w : ndarray, shape (N,)
        Current weights w_k.
    J : ndarray, shape (P * M, N)
        Jacobian d e / d w at w_k.
    e : ndarray, shape (P * M,)
        Errors at w_k.
    mu : float
        Combination coefficient mu > 0.

    Returns
    -------
    w_try : ndarray, shape (N,)
        w_k - (J^T J + mu I)^-1 J^T e. Do not change ``w`` itself.
    """
    # TODO
    raise NotImplementedError


def next_mu(mu, accepted, mu_inc=10.0, mu_dec=10.0, mu_min=1e-20):
    """The mu rule of Fig. 12.5 (steps iv and v).

    Parameters
    ----------
    mu : float
        The mu of the try just made.
    accepted : bool
        True if that try lowered E (or left it equal) and was kept, False if
        E rose and the try was retracted.
    mu_inc, mu_dec, mu_min : float
        Factor after a retracted try, divisor after an accepted step, and the
        floor that division never goes below.

    Returns
    -------
    mu : float
        max(mu / mu_dec, mu_min) after an accepted step, mu * mu_inc after a
        retracted try.
    """
    # TODO
    raise NotImplementedError


def train_lm(residuals, jacobian, w0, *, mu=0.01, goal=0.0, max_iter=100, max_tries=5,
             mu_inc=10.0, mu_dec=10.0, mu_min=1e-20, mu_max=1e10):
    """Levenberg-Marquardt training as in Fig. 12.5 (eqs. 12.1, 12.25).

    Parameters
    ----------
    residuals : callable
        ``residuals(w)`` -> e, shape (P * M,), e = d - o.
    jacobian : callable
        ``jacobian(w)`` -> J, shape (P * M, N), J = d e / d w.
        Call it once per iteration, at the current weights.
    w0 : ndarray, shape (N,)
        Initial weights (do not change the array you are given).
    mu : float
        Initial combination coefficient.
    goal : float
        Stop when E <= goal (checked before every iteration).
    max_iter : int
        Stop after this many iterations.
    max_tries : int
        Retracted tries allowed in one iteration; the try after the last one
        is taken even if E rose (a forced step).
    mu_inc, mu_dec, mu_min : float
        As for :func:`next_mu`.
    mu_max : float
        If mu * mu_inc after a retracted try would exceed mu_max (and another
        try would follow), record the iteration as (E unchanged, mu of that
        try, retracted tries counting it, False) and stop.

    Returns
    -------
    w : ndarray, shape (N,)
        The final weights.
    history : list of tuple
        One ``(E, mu, rejected, forced)`` per iteration: E after the
        iteration, the mu of the step taken, the number of retracted tries,
        and whether the step was forced.
    """
    # TODO
    raise NotImplementedError
