"""Lab 7: curve fitting with LM, against Newton-Raphson (eqs. 12.15, 12.20-12.25, Fig. 12.5).

Reference solution. Check it with

    lmtrain lab check 7
"""

import numpy as np

import lmtrain as lm

A_TRUE = np.array([20.0, 10.0, 1.0, 50.0])
A_START = np.array([5.0, 2.0, 0.2, -10.0])


def quartic(u, a):
    """y = a1 u + a2 u^2 + a3 u^3 + a4 u^4."""
    return a[0] * u + a[1] * u**2 + a[2] * u**3 + a[3] * u**4


def quartic_jacobian(u, a):
    """d y / d a = (u, u^2, u^3, u^4): the model is linear in a."""
    return np.stack([u, u**2, u**3, u**4], axis=1)


def fit_quartic():
    """LM from A_START on the noise-free quartic, t = 1..100."""
    u = np.arange(1, 101) / 100.0
    return lm.curve_fit(quartic, u, quartic(u, A_TRUE), A_START, jac=quartic_jacobian)


def exponential(x, p):
    """y = b exp(a x), p = (a, b)."""
    return p[1] * np.exp(p[0] * x)


def exponential_jacobian(x, p):
    """d y / d (a, b) = (b x exp(a x), exp(a x))."""
    ex = np.exp(p[0] * x)
    return np.stack([p[1] * x * ex, ex], axis=1)


def newton_raphson(x, y, p0, iterations):
    """p <- p - H^-1 g with the exact Hessian of E (no damping)."""
    p = np.array(p0, dtype=float)
    path = [p.copy()]
    for _ in range(iterations):
        a, b = p
        ex = np.exp(a * x)
        e = y - b * ex
        J = -np.stack([b * x * ex, ex], axis=1)  # J = d e / d p = -d f / d p
        g = J.T @ e
        # second derivatives of f: f_aa = b x^2 e^{ax}, f_ab = x e^{ax}, f_bb = 0; e = y - f flips their sign
        S = -np.array([[np.sum(e * b * x * x * ex), np.sum(e * x * ex)],
                       [np.sum(e * x * ex), 0.0]])
        p = p - np.linalg.solve(J.T @ J + S, g)
        path.append(p.copy())
    return np.array(path)
