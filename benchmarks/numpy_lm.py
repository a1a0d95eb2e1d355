"""Plain NumPy Levenberg–Marquardt and EBP for layered MLPs: the peer lmtrain is timed against.

Written the way one would write them with NumPy alone: layer matrices, the
Jacobian and the gradient from :mod:`numpy_reference` (patterns as rows, BLAS
products), ``J.T @ J`` and ``numpy.linalg.solve`` for the step. It shares no
code with lmtrain; it follows the same rules so that both do the same work:

* LM is Fig. 12.5 with lmtrain's defaults: μ₀ = 0.01; a step that does not
  raise E = ½Σe² is kept and μ is divided by 10 (not below 1e-20); one that
  raises it is retracted and μ multiplied by 10, at most 5 times, after which
  the next try's step is taken anyway; μ above 1e10 stops. With fewer
  residuals than weights the same step is solved from the smaller system,
  Jᵀ(JJᵀ + μI)⁻¹e. Stops: E ≤ goal, max_iter, ‖g‖ ≤ min_grad.
* EBP is w ← w − α g with g = Jᵀe from one backward pass (no Jacobian).

From the same initial weights the iterations match lmtrain's up to rounding
(the benchmark checks it on parity-3).
"""

from __future__ import annotations

import math

import numpy as np

import numpy_reference as ref


def train_lm(sizes, X, D, w0, goal=0.0, max_iter=1000, mu=0.01, mu_inc=10.0, mu_dec=10.0, mu_min=1e-20,
             mu_max=1e10, max_tries=5, min_grad=1e-10, **act):
    """LM from ``w0``; returns ``(w, E, iterations, success)``."""
    X = np.asarray(X, dtype=np.float64)
    P = X.shape[0]
    D = np.asarray(D, dtype=np.float64).reshape(P, -1)
    w = np.array(w0, dtype=np.float64)
    E = ref.error(sizes, w, X, D, **act)
    k = 0
    while E > goal and k < max_iter:
        ys, ss = ref.forward_layers(sizes, w, X, **act)
        J = ref._jacobian_from(sizes, ref.unpack(sizes, w), ys, ss)
        e = (D - ys[-1]).reshape(-1)
        g = J.T @ e
        if math.sqrt(g @ g) <= min_grad:
            break
        small = J.shape[0] < J.shape[1]
        G = J @ J.T if small else J.T @ J
        eye = np.eye(G.shape[0])
        t = 0
        while True:
            try:
                delta = J.T @ np.linalg.solve(G + mu * eye, e) if small else np.linalg.solve(G + mu * eye, g)
                wt = w - delta
                Et = ref.error(sizes, wt, X, D, **act)
            except np.linalg.LinAlgError:
                Et = math.inf
            if Et <= E:  # keep the step
                w, E = wt, Et
                mu = max(mu / mu_dec, mu_min)
                break
            if t < max_tries:  # retract, raise mu, try again
                mu *= mu_inc
                if mu > mu_max:
                    return w, E, k + 1, False
                t += 1
                continue
            if math.isfinite(Et):  # Fig. 12.5: after the last retry the step is taken anyway
                w, E = wt, Et
            else:  # nothing to take: keep w, raise mu once more
                mu *= mu_inc
                if mu > mu_max:
                    return w, E, k + 1, False
            break
        k += 1
    return w, E, k, E <= goal


def gradient(sizes, w, X, D, **act):
    """g = Jᵀe (e = d − o) and E = ½Σe² by one backward pass with layer matrices."""
    layers = ref.unpack(sizes, w)
    ys, ss = ref.forward_layers(sizes, w, X, **act)
    e = D - ys[-1]
    d = e * ss[-1]  # δ of the output layer for the real errors
    parts = []
    for l in range(len(layers), 0, -1):
        gb = -d.sum(axis=0)
        gW = -(d.T @ ys[l - 1])
        parts.append(np.column_stack([gb, gW]).reshape(-1))
        if l > 1:
            d = (d @ layers[l - 1][1]) * ss[l - 1]
    return np.concatenate(parts[::-1]), 0.5 * float(np.sum(e * e))


def train_ebp(sizes, X, D, w0, alpha, goal=0.0, max_iter=100_000, **act):
    """Steepest descent w ← w − α g from ``w0``; returns ``(w, E, iterations, success)``."""
    X = np.asarray(X, dtype=np.float64)
    P = X.shape[0]
    D = np.asarray(D, dtype=np.float64).reshape(P, -1)
    w = np.array(w0, dtype=np.float64)
    g, E = gradient(sizes, w, X, D, **act)
    k = 0
    while E > goal and k < max_iter:
        w -= alpha * g
        g, E = gradient(sizes, w, X, D, **act)
        k += 1
        if not math.isfinite(E):
            break
    return w, E, k, E <= goal
