"""Lab 4: the training loop of Fig. 12.5 (chapter §12.3.2, eqs. 12.1, 12.25).

Reference solution. Check it with

    lmtrain lab check 4
"""

import numpy as np


def total_error(e):
    """E = 1/2 * sum of e**2 over all patterns and outputs (eq. 12.1)."""
    e = np.asarray(e, dtype=float)
    return 0.5 * float(e @ e)


def lm_try(w, J, e, mu):
    """Trial weights w - (J^T J + mu I)^-1 J^T e (eq. 12.25)."""
    A = J.T @ J + mu * np.eye(J.shape[1])
    return w - np.linalg.solve(A, J.T @ e)


def next_mu(mu, accepted, mu_inc=10.0, mu_dec=10.0, mu_min=1e-20):
    """Fig. 12.5: divide mu after an accepted step (not below mu_min), multiply it after a rejected try."""
    if accepted:
        return max(mu / mu_dec, mu_min)
    return mu * mu_inc


def train_lm(residuals, jacobian, w0, *, mu=0.01, goal=0.0, max_iter=100, max_tries=5,
             mu_inc=10.0, mu_dec=10.0, mu_min=1e-20, mu_max=1e10):
    """Levenberg-Marquardt training as in Fig. 12.5; returns (w, history)."""
    w = np.array(w0, dtype=float)
    E = total_error(residuals(w))
    history = []
    while E > goal and len(history) < max_iter:
        J = jacobian(w)
        e = residuals(w)
        rejected = 0
        while True:
            w_try = lm_try(w, J, e, mu)
            E_try = total_error(residuals(w_try))
            if E_try <= E:
                # step v: keep the step; the quadratic model worked, so lean towards Gauss-Newton
                w, E = w_try, E_try
                history.append((E, mu, rejected, False))
                mu = next_mu(mu, True, mu_inc, mu_dec, mu_min)
                break
            if rejected == max_tries:
                # m > 5: the figure takes this step although E rose
                w, E = w_try, E_try
                history.append((E, mu, rejected, True))
                break
            # step iv: w still holds w_k, so the step is retracted; lean towards steepest descent
            rejected += 1
            if mu * mu_inc > mu_max:
                history.append((E, mu, rejected, False))
                return w, history
            mu = next_mu(mu, False, mu_inc, mu_dec, mu_min)
    return w, history
