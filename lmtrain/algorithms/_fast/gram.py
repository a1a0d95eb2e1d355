"""Speed twins of the Gram matrices and the Cholesky solve.

* :func:`gram_rows` is the twin of :func:`lmtrain.kernels.gram` (and of the
  sum of the rows' products in :func:`lmtrain.kernels.quasi_hessian`): every
  dot product is one sum in order, formed in blocks that share loads and give
  the processor independent sums to overlap (one row against four, or two
  against four from 16 rows). :func:`gram_t` forms JᵀJ or JJᵀ from J kept
  transposed, and JJᵀ of at most eight residuals in vector registers
  (:func:`.simd.gram_cols_small`).
* :func:`matvec` is the twin of the sums g = Jᵀe (four rows at a time).
* :func:`cholesky_solve` is the twin of :func:`lmtrain.kernels.cholesky_solve`:
  the same operations in the same order, with unsigned loop indices (Numba
  guards signed ones against negative values, which keeps loops scalar) and
  the forward substitution done as each row of the factor is known; small
  systems are factored row by row instead (the same operations again).

Each twin is tested bit for bit against its plain kernel.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from .forward import transpose
from .simd import GRAM_LANES, JIT, borrow, gram_cols_small

_JIT = JIT

@njit(inline="always", **_JIT)
def _store4(G, a, b, s0, s1, s2, s3):
    """G[a, b…b+3] and their mirror images G[b…b+3, a] = s0…s3."""
    G[a, b] = s0
    G[b, a] = s0
    G[a, b + 1] = s1
    G[b + 1, a] = s1
    G[a, b + 2] = s2
    G[b + 2, a] = s2
    G[a, b + 3] = s3
    G[b + 3, a] = s3


@njit(**_JIT)
def gram_rows(A, G):
    """G = AAᵀ for A of shape (n, L): G[a, b] is the dot product of rows a and b.

    Each dot product is one sum over i in order (so the result is that of the
    plain loops), formed in blocks that share loads and give the processor
    independent sums to overlap: one row against four (four sums) here, two
    rows against four for n ≥ 16 (:func:`_gram_rows_2x4`). G[a, b] and
    G[b, a] get the same value, so G is exactly symmetric. Faster than rank-1
    updates at every size measured (docs/performance.md).
    """
    A, G = borrow((A, G))
    n, L = A.shape
    if n >= 16:
        _gram_rows_2x4(A, G)
        return
    for a in range(n):
        Aa = A[a]
        b = a
        while b + 4 <= n:
            A0 = A[b]
            A1 = A[b + 1]
            A2 = A[b + 2]
            A3 = A[b + 3]
            s0 = s1 = s2 = s3 = 0.0
            for i in range(L):
                x = Aa[i]
                s0 += x * A0[i]
                s1 += x * A1[i]
                s2 += x * A2[i]
                s3 += x * A3[i]
            _store4(G, a, b, s0, s1, s2, s3)
            b += 4
        while b < n:
            Ab = A[b]
            s = 0.0
            for i in range(L):
                s += Aa[i] * Ab[i]
            G[a, b] = s
            G[b, a] = s
            b += 1


@njit(**_JIT)
def _gram_rows_2x4(A, G):
    """:func:`gram_rows` with two rows a, a+1 against four rows c…c+3 (eight independent sums).

    A block may cover a few entries below the diagonal (blocks start at
    multiples of 4); they get the values of their mirror images. It beats one
    row by four from n = 16 up and loses below, so :func:`gram_rows` keeps one
    by four there (figures in docs/performance.md).
    """
    A, G = borrow((A, G))
    n, L = A.shape
    a = 0
    while a < n:
        two = a + 1 < n
        Aa = A[a]
        Ab = A[a + 1] if two else A[a]
        c = (a // 4) * 4
        while c + 4 <= n:
            C0 = A[c]
            C1 = A[c + 1]
            C2 = A[c + 2]
            C3 = A[c + 3]
            s0 = s1 = s2 = s3 = t0 = t1 = t2 = t3 = 0.0
            for i in range(L):
                x = Aa[i]
                y = Ab[i]
                c0 = C0[i]
                c1 = C1[i]
                c2 = C2[i]
                c3 = C3[i]
                s0 += x * c0
                s1 += x * c1
                s2 += x * c2
                s3 += x * c3
                t0 += y * c0
                t1 += y * c1
                t2 += y * c2
                t3 += y * c3
            _store4(G, a, c, s0, s1, s2, s3)
            if two:
                _store4(G, a + 1, c, t0, t1, t2, t3)
            c += 4
        while c < n:
            Cc = A[c]
            s = t = 0.0
            for i in range(L):
                z = Cc[i]
                s += Aa[i] * z
                t += Ab[i] * z
            G[a, c] = s
            G[c, a] = s
            if two:
                G[a + 1, c] = t
                G[c, a + 1] = t
            c += 1
        a += 2




@njit(**_JIT)
def gram_t(JT, G, small_side, Jr):
    """G = JJᵀ (R×R) when ``small_side``, else G = JᵀJ (N×N), from JT = Jᵀ (N, R).

    JᵀJ is :func:`gram_rows` of JT; for JJᵀ the rows of J are needed, and
    ``Jr`` (R, N) receives J (unused on the large side, and for R ≤ 8, where
    :func:`_gram_cols_small` sums over the rows of JT directly).
    """
    JT, G, Jr = borrow((JT, G, Jr))
    if small_side:
        if JT.shape[1] <= GRAM_LANES:
            gram_cols_small(JT, G)  # vector sums over the rows of JT, no transpose
        else:
            transpose(JT, Jr)
            gram_rows(Jr, G)
    else:
        gram_rows(JT, G)



@njit(**_JIT)
def matvec(JT, e, g):
    """g = JT e, i.e. Jᵀe from JT = Jᵀ (N, R); four rows at a time (independent sums)."""
    JT, e, g = borrow((JT, e, g))
    N, R = JT.shape
    i = 0
    while i + 4 <= N:
        r0 = JT[i]
        r1 = JT[i + 1]
        r2 = JT[i + 2]
        r3 = JT[i + 3]
        s0 = s1 = s2 = s3 = 0.0
        for r in range(R):
            x = e[r]
            s0 += r0[r] * x
            s1 += r1[r] * x
            s2 += r2[r] * x
            s3 += r3[r] * x
        g[i] = s0
        g[i + 1] = s1
        g[i + 2] = s2
        g[i + 3] = s3
        i += 4
    while i < N:
        row = JT[i]
        acc = 0.0
        for r in range(R):
            acc += row[r] * e[r]
        g[i] = acc
        i += 1



_U1 = np.uint64(1)


#: systems up to this order are factored row by row (:func:`_cholesky_solve_small`)
CHOLESKY_SMALL = 16


@njit(**_JIT)
def _cholesky_solve_small(A, b):
    """:func:`cholesky_solve` for small systems, the factor formed one row at a time (left-looking).

    Entry (i, k) of U receives the same subtractions −U_ji·U_jk, in the same
    order of j, as in the right-looking loop, which applies them step by step
    to the rows below; so the factor, the pivots tested and x are the same to
    the bit. For a few rows the right-looking loop spends its time starting
    short inner loops over rows that may overlap; here every inner loop is a
    sum in a register, and the first failing pivot is the same.
    """
    n = A.shape[0]
    dmax = 0.0
    for i in range(n):
        if A[i, i] > dmax:
            dmax = A[i, i]
    tol = n * 2.220446049250313e-16 * dmax
    if not (dmax > 0.0) or not math.isfinite(dmax):
        return False
    for i in range(n):
        s = A[i, i]
        for j in range(i):
            s -= A[j, i] * A[j, i]
        if not (s > tol):
            return False
        inv = 1.0 / math.sqrt(s)
        A[i, i] = inv
        for k in range(i + 1, n):
            t = A[i, k]
            for j in range(i):
                t -= A[j, i] * A[j, k]
            A[i, k] = t * inv
        z = b[i]  # Uᵀ z = b, row i, as soon as column i of U is known
        for j in range(i):
            z -= b[j] * A[j, i]
        b[i] = z * inv
    for ii in range(n):  # U x = z
        i = n - 1 - ii
        s = b[i]
        for k in range(i + 1, n):
            s -= A[i, k] * b[k]
        b[i] = s * A[i, i]
    return True


@njit(**_JIT)
def cholesky_solve(A, b):
    """Solve A x = b for symmetric positive definite A, in place.

    Reads the upper triangle of ``A`` and overwrites it with the Cholesky
    factor U (A = UᵀU), its diagonal with 1/U_jj; ``b`` is overwritten by x.
    The factorisation is right-looking: each step updates the remaining rows
    along contiguous memory. Returns False, leaving ``b`` unusable, when a
    pivot is not positive or is below ``n·eps`` times the largest diagonal
    entry: A is then singular or not positive definite to working precision,
    which the callers report instead of inverting blindly.

    Loop indices are unsigned: with signed ones Numba guards every index
    against negative values, and the guard keeps the inner loops from
    vectorising. Each pivot is inverted once and
    multiplied, not divided by n times: on small systems the chain of
    divisions was most of the time. The forward substitution Uᵀz = b runs
    inside the factorisation, a column as soon as its row of U is known
    (the same operations in the same order as a separate pass, which it
    overlaps). Up to :data:`CHOLESKY_SMALL` rows, :func:`_cholesky_solve_small`
    computes the same factor row by row, faster at that size.
    """
    if A.shape[0] <= CHOLESKY_SMALL:
        return _cholesky_solve_small(A, b)
    n = np.uint64(A.shape[0])
    dmax = 0.0
    for i in range(n):
        if A[i, i] > dmax:
            dmax = A[i, i]
    tol = A.shape[0] * 2.220446049250313e-16 * dmax
    if not (dmax > 0.0) or not math.isfinite(dmax):
        return False
    for j in range(n):
        s = A[j, j]
        if not (s > tol):
            return False
        inv = 1.0 / math.sqrt(s)
        A[j, j] = inv
        zj = b[j] * inv  # Uᵀ z = b, column j, as soon as row j of U is known
        b[j] = zj
        for i in range(j + _U1, n):
            u = A[j, i] * inv
            A[j, i] = u
            b[i] -= zj * u
        for i in range(j + _U1, n):
            f = A[j, i]
            for k in range(i, n):
                A[i, k] -= f * A[j, k]
    for ii in range(n):  # U x = z
        i = n - _U1 - ii
        s = b[i]
        for k in range(i + _U1, n):
            s -= A[i, k] * b[k]
        b[i] = s * A[i, i]
    return True


@njit(**_JIT)
def cholesky_solve_lower(L, b):
    """Solve (L Lᵀ) x = b in place from the lower Cholesky factor ``L`` (e.g. LAPACK's)."""
    n = np.uint64(L.shape[0])
    for i in range(n):  # L z = b
        Li = L[i]
        s = b[i]
        for k in range(i):
            s -= Li[k] * b[k]
        b[i] = s / Li[i]
    for ii in range(n):  # Lᵀ x = z, column by column
        i = n - _U1 - ii
        Li = L[i]
        xi = b[i] / Li[i]
        b[i] = xi
        for k in range(i):
            b[k] -= xi * Li[k]

