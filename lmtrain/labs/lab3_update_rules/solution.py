"""Lab 3: the update rules of Table 12.1 on a two-weight problem (chapter §12.2).

Reference solution. Check it with

    lmtrain lab check 3
"""

import numpy as np


def rosenbrock(w):
    """e1 = 10 (w2 - w1^2), e2 = 1 - w1 and J = d e / d w."""
    w1, w2 = w
    e = np.array([10.0 * (w2 - w1 * w1), 1.0 - w1])
    J = np.array([[-20.0 * w1, 10.0],
                  [-1.0, 0.0]])
    return e, J


def rosenbrock_hessian(w):
    """H = J^T J + e1 * d2 e1 / dw^2; only d2 e1 / d w1^2 = -20 is not zero (eq. 12.21)."""
    e, J = rosenbrock(w)
    S = np.array([[-20.0 * e[0], 0.0],
                  [0.0, 0.0]])
    return J.T @ J + S


def ebp_step(w, g, alpha):
    """w - alpha g (eq. 12.4)."""
    return w - alpha * g


def newton_step(w, g, H):
    """w - H^-1 g (eq. 12.15), by solving H d = g."""
    return w - np.linalg.solve(H, g)


def gauss_newton_step(w, J, e):
    """w - (J^T J)^-1 J^T e (eq. 12.23)."""
    return w - np.linalg.solve(J.T @ J, J.T @ e)


def lm_step(w, J, e, mu):
    """w - (J^T J + mu I)^-1 J^T e (eq. 12.25)."""
    return w - np.linalg.solve(J.T @ J + mu * np.eye(len(w)), J.T @ e)
