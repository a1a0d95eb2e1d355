"""The update's linear algebra: Δ = (JᵀJ + μI)⁻¹ Jᵀe (eq. 12.25; μ = 0 is Gauss–Newton, eq. 12.23).

The chapter writes an inverse; no inverse is formed. The matrix is symmetric
and, for μ > 0, positive definite, so it is factored as UᵀU (Cholesky) and
two triangular systems are solved. A pivot at or below n·ε times the largest
diagonal entry means the matrix is singular to working precision: the solve
reports failure instead of dividing by rounding noise, and the caller says so
(``StopReason.SINGULAR``, or a rejected LM try).

When the network has more weights than residuals (P·M < N, e.g. parity-3 on
3-3-1: 8 < 16), JᵀJ is singular and the identity::

    (JᵀJ + μI)⁻¹ Jᵀe = Jᵀ (JJᵀ + μI)⁻¹ e

gives the same step from the smaller P·M × P·M system; for μ = 0 that is the
minimum-norm least-squares step J⁺e.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit


@njit(cache=True)
def norm(v):
    """Euclidean norm ‖v‖."""
    total = 0.0
    for i in range(v.shape[0]):
        total += v[i] * v[i]
    return math.sqrt(total)


@njit(cache=True)
def gram(J, G):
    """G = JJᵀ for J of shape (R, N): G[a, b] is the dot product of rows a and b."""
    R = J.shape[0]
    for a in range(R):
        for b in range(R):
            total = 0.0
            for i in range(J.shape[1]):
                total += J[a, i] * J[b, i]
            G[a, b] = total


@njit(cache=True)
def cholesky_solve(A, b):
    """Solve A x = b for symmetric positive definite A, in place; False when A is singular.

    Reads the upper triangle of ``A`` and overwrites it with the factor U
    (A = UᵀU), keeping 1/U_jj on the diagonal; ``b`` becomes x.
    """
    n = A.shape[0]
    largest = 0.0
    for i in range(n):
        if A[i, i] > largest:
            largest = A[i, i]
    tol = n * 2.220446049250313e-16 * largest  # below this a pivot is rounding noise
    if not (largest > 0.0) or not math.isfinite(largest):
        return False
    for j in range(n):  # factor: row j of U, then remove it from the rows below
        if not (A[j, j] > tol):
            return False
        inv = 1.0 / math.sqrt(A[j, j])
        A[j, j] = inv
        for i in range(j + 1, n):
            A[j, i] *= inv
        for i in range(j + 1, n):
            for k in range(i, n):
                A[i, k] -= A[j, i] * A[j, k]
    for i in range(n):  # Uᵀ z = b, top to bottom
        total = b[i]
        for k in range(i):
            total -= A[k, i] * b[k]
        b[i] = total * A[i, i]
    for i in range(n - 1, -1, -1):  # U x = z, bottom to top
        total = b[i]
        for k in range(i + 1, n):
            total -= A[i, k] * b[k]
        b[i] = total * A[i, i]
    return True


@njit(cache=True)
def damped_step(G, rhs, mu, J, delta):
    """The LM step Δ = (JᵀJ + μI)⁻¹ Jᵀe into ``delta``; False when the system is singular.

    Either ``G`` = Q = JᵀJ (N×N) and ``rhs`` = g = Jᵀe, with ``J`` an empty
    (0, N) array: the system of eq. 12.25 as written. Or, when P·M < N,
    ``G`` = JJᵀ (P·M × P·M), ``rhs`` = e and ``J`` the Jacobian: the same
    step through Jᵀ(JJᵀ + μI)⁻¹e. μ = 0 gives Gauss–Newton (eq. 12.23).
    """
    n = G.shape[0]
    A = np.empty((n, n))
    x = np.empty(n)
    for a in range(n):
        for b in range(n):
            A[a, b] = G[a, b]
        A[a, a] += mu  # the damping μI
        x[a] = rhs[a]
    if not cholesky_solve(A, x):
        return False
    if J.shape[0] > 0:  # the small side: Δ = Jᵀ x
        for i in range(delta.shape[0]):
            total = 0.0
            for r in range(n):
                total += J[r, i] * x[r]
            delta[i] = total
    else:
        for i in range(n):
            delta[i] = x[i]
    for i in range(delta.shape[0]):
        if not math.isfinite(delta[i]):
            return False
    return True


@njit(cache=True)
def lu_solve(A, b):
    """Solve A x = b by Gaussian elimination with partial pivoting, in place; False when singular.

    For the symmetric systems that are not positive definite (a Newton
    Hessian away from a minimum, with ``indefinite="step"``). A pivot below
    n·ε times the largest entry counts as singular.
    """
    n = A.shape[0]
    largest = 0.0
    for i in range(n):
        for j in range(n):
            if abs(A[i, j]) > largest:
                largest = abs(A[i, j])
    if not (largest > 0.0) or not math.isfinite(largest):
        return False
    tol = n * 2.220446049250313e-16 * largest
    for c in range(n):
        piv = c
        for r in range(c + 1, n):
            if abs(A[r, c]) > abs(A[piv, c]):
                piv = r
        if not (abs(A[piv, c]) > tol):
            return False
        for j in range(n):  # swap rows c and piv
            A[c, j], A[piv, j] = A[piv, j], A[c, j]
        b[c], b[piv] = b[piv], b[c]
        for r in range(c + 1, n):
            f = A[r, c] / A[c, c]
            for j in range(c, n):
                A[r, j] -= f * A[c, j]
            b[r] -= f * b[c]
    for i in range(n - 1, -1, -1):
        total = b[i]
        for j in range(i + 1, n):
            total -= A[i, j] * b[j]
        b[i] = total / A[i, i]
    return True


@njit(cache=True)
def jt_e(J, e, g):
    """g = Jᵀe from a stored Jacobian J (R, N) and its errors e (R,) (eq. 12.18), summed row by row."""
    for i in range(J.shape[1]):
        total = 0.0
        for r in range(J.shape[0]):
            total += J[r, i] * e[r]
        g[i] = total
