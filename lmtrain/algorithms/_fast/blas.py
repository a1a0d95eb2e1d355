"""BLAS and LAPACK for the blocked path, from one library.

Every BLAS and LAPACK call of the blocked path (:mod:`.blocked`) goes through
scipy's wrappers when scipy is installed — the products add into their sums in
place and the factorisation works in place — and through NumPy alone
otherwise (``numpy.matmul``, ``numpy.linalg.cholesky``). Never both: NumPy and
scipy each bring their own OpenBLAS with its own threads, and with the
library default of one thread per core each library's threads spun on the
cores the other needed (``docs/performance.md``).
"""

from __future__ import annotations

import numpy as np

#: False: NumPy only, even when scipy is installed (tests use it to compare the two)
USE_SCIPY = True
_scipy_fns = None  # namespace of scipy's routines, or False when scipy is missing; looked up once

class Scipy:
    """scipy.linalg's ``dgemm``, ``dgemv``, ``dsyrk``, ``dtrsv`` and ``dpotrf``."""

    def __init__(self, blas, lapack):
        self.dgemm, self.dgemv, self.dsyrk, self.dtrsv = blas.dgemm, blas.dgemv, blas.dsyrk, blas.dtrsv
        self.dpotrf = lapack.dpotrf


def scipy_routines():
    """scipy's routines (:class:`Scipy`), or None (not installed, or :data:`USE_SCIPY` off)."""
    global _scipy_fns
    if not USE_SCIPY:
        return None
    if _scipy_fns is None:
        try:
            from scipy.linalg import blas, lapack
            _scipy_fns = Scipy(blas, lapack)
        except ImportError:
            _scipy_fns = False
    return _scipy_fns or None


def fortran(Z):
    """``(F, t)``: ``F`` Fortran-ordered with op(F) = Z (F = Z, t = 0; or F = Zᵀ, t = 1), no copy."""
    if Z.flags.f_contiguous:
        return Z, 0
    if Z.flags.c_contiguous:
        return Z.T, 1
    raise ValueError("a BLAS operand of the blocked path must be contiguous")


def gemm(sp, X, Y, R, add: bool) -> None:
    """R = X·Y, or R += X·Y when ``add``: one scipy ``dgemm`` into R in place."""
    if R.flags.f_contiguous:
        (a, ta), (b, tb), c = fortran(X), fortran(Y), R
    else:  # a C-ordered R: its memory read column-major is Rᵀ = YᵀXᵀ
        (a, ta), (b, tb), c = fortran(Y.T), fortran(X.T), R.T
    out = sp.dgemm(1.0, a, b, beta=1.0 if add else 0.0, c=c, trans_a=ta, trans_b=tb, overwrite_c=1)
    if out is not c:  # never with these layouts; kept so a change of scipy's wrappers stays correct
        np.copyto(c, out)


def gemv(sp, A, x, y, add: bool) -> None:
    """y = A·x, or y += A·x when ``add``: one scipy ``dgemv`` into y in place."""
    a, t = fortran(A)
    out = sp.dgemv(1.0, a, x, beta=1.0 if add else 0.0, y=y, trans=t, overwrite_y=1)
    if out is not y:
        np.copyto(y, out)


def syrk(sp, Z, R, add: bool) -> None:
    """The upper triangle of R (square, C-ordered) = Z·Zᵀ, or += when ``add``: one scipy ``dsyrk`` in place.

    The lower triangle is left as it was.
    """
    a, t = fortran(Z)
    c = R.T  # R read column-major; lower=1 fills its lower triangle, R's upper one
    out = sp.dsyrk(1.0, a, beta=1.0 if add else 0.0, c=c, trans=t, lower=1, overwrite_c=1)
    if out is not c:
        np.copyto(c, out)



def add_product(sp, a, b, total, first, scratch) -> None:
    """total = a·b for the first block, total += a·b after (in place with scipy, else through ``scratch``)."""
    if sp is not None:
        gemm(sp, a, b, total, not first)
    elif first:
        np.matmul(a, b, out=total)
    else:
        T = scratch[:total.size].reshape(total.shape)
        np.matmul(a, b, out=T)
        total += T


def chunk(buf, w):
    """The first ``w`` columns' worth of the 2-D ``buf`` as a contiguous (rows, w) array."""
    return buf.reshape(-1)[:buf.shape[0] * w].reshape(buf.shape[0], w)

