"""Levenberg–Marquardt and Gauss–Newton without the whole Jacobian: the large-problem path.

The compiled loop (:mod:`._loop`) holds J (P·M × N) and the node values of all
P patterns, and forms JᵀJ in compiled code. That stops paying off as problems
grow: a 2-20-20-1 network (501 weights) on 100,000 points would need 400 MB
for J, and already at a few thousand points forming JᵀJ is most of the time.
Here every iteration instead

1. runs over the patterns in blocks of B: for each block the compiled engine
   computes the forward pass (or starts from the one the accepted try left),
   the Jacobian rows (transposed, J_bᵀ) and the errors, and BLAS adds
   J_bᵀJ_b to Q and J_bᵀe_b to g (the quasi-Hessian accumulation of the NBN
   row of Table 12.1, a block of rows at a time instead of one row at a
   time). Where neurons share their inputs (the layers of an MLP) their block
   of J_bᵀJ_b is formed from products of pairs of neurons and pairs of inputs
   (:func:`gram_plan`), with about half the multiply-adds of ``syrk``. Q holds
   the upper triangle only;
2. solves (Q + μI) Δ = g with LAPACK's Cholesky factorisation and solve;
3. evaluates E at the trial weights block by block (one compiled call),
   stopping as soon as it exceeds the current E before the last try;
4. applies the μ rule of Fig. 12.5 through :func:`.lm.decide`, the same
   compiled function the compiled loop calls — the rule has one implementation.

Every BLAS and LAPACK call goes through scipy's wrappers when scipy is
installed (in place: ``dgemm``/``dsyrk``/``dgemv`` adding into their sums,
``dpotrf`` on the system bordered by its right-hand side, then ``dtrsv``), else through NumPy (``matmul``,
``numpy.linalg.cholesky`` and the triangular solves in compiled code): one
BLAS library either way (:data:`USE_SCIPY`).

Memory is that of one block (B·M·N for J_b, at most 1 MB, B × nodes for the
node values, or those of every block when they take at most 8 MB) plus the
N×N system, the pair products' buffers (at most 32 MB) and the running sums of
the blocks' Gram pieces (at most N² more), whatever P is. Python runs once per
block and per try; next to milliseconds of BLAS work per iteration that is
little. ``train`` keeps the last workspace for the next call on the same
problem (:data:`KEEP_BYTES`, :func:`release`).

:func:`run` has the signature and the semantics of :func:`._loop.run` (the
same stop checks in the same order, the same history), so everything that
drives the compiled loop one step or one slice at a time drives this one too.
With fewer residuals than weights (P·M < N) J is small anyway: it is built in
one block and the P·M-sized system JJᵀ + μI is solved, as in the compiled path.
"""

from __future__ import annotations

import math

import numpy as np

from .. import engine
from ..result import CONTINUE, StopReason
from . import _loop, lm
from ._options import (GAUSS_NEWTON, JACOBIAN_BLOCKS, JACOBIAN_FULL, LM, MAX_TRIES, MIN_GRAD,
                       MIN_STEP, ST_E, ST_E0, ST_K, ST_MU, ST_STARTED)

_DIVERGED = int(StopReason.DIVERGED)
_MIN_GRAD = int(StopReason.MIN_GRAD)
_MIN_STEP = int(StopReason.MIN_STEP)
_MU_MAX = int(StopReason.MU_MAX)
_SINGULAR = int(StopReason.SINGULAR)

#: entries of one Jacobian block J_b at most (2**17 doubles = 1 MB): big enough
#: for BLAS to run at full speed on a block, small enough that the block stays in
#: the core's caches from the Jacobian to the products, and memory stays flat.
#: On the 2,000-point regression (2-20-20-1), with the products added into their
#: sums in place: four blocks of 500 patterns took 13.4–13.9 ms per iteration,
#: one of 2,000 (8 MB) 14.4–15.0. Once J_bᵀ and e shared one array with the
#: merged product's rows, eight blocks of 250 were 2.0–2.2 % faster than four of
#: 500 (one BLAS thread and two), blocks of 125 1 % slower; on 100,000 points
#: 1 MB, 2 MB and 8 MB blocks were level.
BLOCK_ENTRIES = 1 << 17

_EPS = 2.220446049250313e-16

#: when scipy is installed, every BLAS and LAPACK call of this path goes through
#: scipy's wrappers (it is optional; Numba imports ``scipy.linalg`` itself on
#: first use when it is, so this costs no import time): the products add into
#: their sums in place, the factorisation is in place, and one BLAS library
#: does all the work. NumPy and scipy each bring their own OpenBLAS with its own
#: threads; with both in use and the library default of one thread per core,
#: each library's threads spun on the cores the other needed, and the
#: 2,000-point regression took 31–64 ms per iteration instead of 13–15 (README,
#: Speed). False: NumPy only (``numpy.matmul``, ``numpy.linalg.cholesky``).
USE_SCIPY = True
_scipy_fns = None  # namespace of scipy's routines, or False when scipy is missing; looked up once


class _Scipy:
    """scipy.linalg's ``dgemm``, ``dgemv``, ``dsyrk``, ``dtrsv`` and ``dpotrf``."""

    def __init__(self, blas, lapack):
        self.dgemm, self.dgemv, self.dsyrk, self.dtrsv = blas.dgemm, blas.dgemv, blas.dsyrk, blas.dtrsv
        self.dpotrf = lapack.dpotrf


def _scipy():
    """scipy's routines (:class:`_Scipy`), or None (not installed, or :data:`USE_SCIPY` off)."""
    global _scipy_fns
    if not USE_SCIPY:
        return None
    if _scipy_fns is None:
        try:
            from scipy.linalg import blas, lapack
            _scipy_fns = _Scipy(blas, lapack)
        except ImportError:
            _scipy_fns = False
    return _scipy_fns or None


def _fortran(Z):
    """``(F, t)``: ``F`` Fortran-ordered with op(F) = Z (F = Z, t = 0; or F = Zᵀ, t = 1), no copy."""
    if Z.flags.f_contiguous:
        return Z, 0
    if Z.flags.c_contiguous:
        return Z.T, 1
    raise ValueError("a BLAS operand of the blocked path must be contiguous")


def _gemm(sp, X, Y, R, add: bool) -> None:
    """R = X·Y, or R += X·Y when ``add``: one scipy ``dgemm`` into R in place."""
    if R.flags.f_contiguous:
        (a, ta), (b, tb), c = _fortran(X), _fortran(Y), R
    else:  # a C-ordered R: its memory read column-major is Rᵀ = YᵀXᵀ
        (a, ta), (b, tb), c = _fortran(Y.T), _fortran(X.T), R.T
    out = sp.dgemm(1.0, a, b, beta=1.0 if add else 0.0, c=c, trans_a=ta, trans_b=tb, overwrite_c=1)
    if out is not c:  # never with these layouts; kept so a change of scipy's wrappers stays correct
        np.copyto(c, out)


def _gemv(sp, A, x, y, add: bool) -> None:
    """y = A·x, or y += A·x when ``add``: one scipy ``dgemv`` into y in place."""
    a, t = _fortran(A)
    out = sp.dgemv(1.0, a, x, beta=1.0 if add else 0.0, y=y, trans=t, overwrite_y=1)
    if out is not y:
        np.copyto(y, out)


def _syrk(sp, Z, R, add: bool) -> None:
    """The upper triangle of R (square, C-ordered) = Z·Zᵀ, or += when ``add``: one scipy ``dsyrk`` in place.

    The lower triangle is left as it was.
    """
    a, t = _fortran(Z)
    c = R.T  # R read column-major; lower=1 fills its lower triangle, R's upper one
    out = sp.dsyrk(1.0, a, beta=1.0 if add else 0.0, c=c, trans=t, lower=1, overwrite_c=1)
    if out is not c:
        np.copyto(c, out)


#: the blocked path keeps the node values and slopes of every block when all of
#: them take at most this many bytes (0.7 MB for the 2,000-point regression):
#: E at an accepted try's weights was computed block by block, and the next
#: Jacobian, at those weights, then starts from that forward pass instead of
#: running it again (0.2 ms of a 13 ms iteration there). Beyond it, one set of
#: buffers serves all blocks in turn and memory stays flat.
KEEP_FORWARD_BYTES = 8 << 20

#: ``jacobian="auto"`` takes the blocked path when forming the Gram matrix
#: (JᵀJ, or JJᵀ when P·M < N) costs at least this many multiply-adds,
#: min(R, N)²·max(R, N) with R = P·M: the measured crossover, below which the
#: compiled loop is faster (README, Speed section) ...
CROSSOVER_WORK = 1_000_000
#: ... and whenever the whole J would take more than this many bytes
FULL_JACOBIAN_BYTES = 64 << 20


def use_blocks(mode: int, algo: int, P: int, M: int, N: int) -> bool:
    """True when training should take the blocked path (``jacobian`` option code ``mode``)."""
    if algo != LM and algo != GAUSS_NEWTON:
        return False
    if mode == JACOBIAN_FULL:
        return False
    if mode == JACOBIAN_BLOCKS:
        return True
    R = P * M
    K = min(R, N)
    return K * K * max(R, N) >= CROSSOVER_WORK or R * N * 8 > FULL_JACOBIAN_BYTES


def block_patterns(P: int, M: int, N: int, entries: int | None = None) -> int:
    """Patterns per block: the fewest blocks whose J_b has at most ``entries`` entries (:data:`BLOCK_ENTRIES`),
    as equal in size as they can be; at least one pattern.

    Equal blocks: 2,000 patterns in blocks of at most 523 are four of 500
    rather than three of 523 and one of 431 (3–4 % faster per iteration, as
    the pair products then run in chunks of equal width too; in blocks of at
    most 261, eight of 250). A block whose
    rows would be a multiple of 4 KB long (B·M a multiple of 512) is made 8
    patterns shorter: rows that far apart fall into the same few cache sets
    and evict each other. Blocks of 2,048 patterns of the 100,000-point
    regression took the forward passes 2.3× and the iteration 1.13× longer
    than blocks of 2,092.
    """
    most = int(max(1, (BLOCK_ENTRIES if entries is None else entries) // max(1, M * N)))
    if most >= P:
        return int(P)
    n = -(-P // most)  # blocks
    B = -(-P // n)  # ≤ most
    if B > 8 and (B * M) % 512 == 0:
        B -= 8
    return int(B)


#: neurons that share their inputs take the pair-product Gram when there are at
#: least this many of them and of their inputs (bias included) ...
PAIR_MIN = 4
#: ... and its two factors hold at most this many rows per Jacobian row of the group
PAIR_ROWS = 2
#: patterns per pair-product chunk
PAIR_CHUNK = 256
#: the pair products' buffers of all groups hold at most this many doubles
#: (32 MB); a layer that would need more keeps syrk
PAIR_MAX_ENTRIES = 1 << 22


def gram_plan(topo, N: int, block: int, pairs: bool = True) -> list:
    """How :meth:`Workspace.accumulate` forms J_bᵀJ_b for this network.

    Neurons in a row that read the same input nodes (an MLP layer) form a
    group; their weights are consecutive rows r0 … r1 − 1 of Jᵀ. Every
    Jacobian column of the group is δ_n·y_a (a neuron's δ times one of its
    inputs, eq. 12.36), so the group's diagonal block of JᵀJ is
    Σ_p (δ_n δ_n')(y_a y_b): one product per pair of neurons times one per pair
    of inputs, G(G+1)/2 · S(S+1)/2 multiply-adds per pattern instead of the
    (G·S)²/2 of ``syrk`` — 48,510 instead of 88,410 for a layer of 20 neurons
    with 21 inputs. The off-diagonal blocks stay plain products.

    Returns ``[(r0, r1, bases, srcs, bufs), …]`` covering rows 0 … N − 1, with
    ``bases`` the bias rows of the group's neurons, ``srcs`` their input nodes
    and ``bufs = (UT, VT, C, C_chunk)`` for a pair-product group (None:
    ``syrk``), or an empty list when no group gains (every block then one
    ``syrk``). The buffers stay within :data:`PAIR_MAX_ENTRIES` (a layer of
    20 neurons with 21 inputs needs 0.2·10⁶ doubles; one of 100 with 101
    inputs would need 53·10⁶ and keeps ``syrk``). The two factors are made
    :data:`PAIR_CHUNK` patterns at a time
    (they then stay in the core's cache for the product; 0.3–0.4 ms less per
    2,000-pattern block than all at once).

    Measured on the 2,000-point regression (2-20-20-1, one BLAS thread):
    Jacobian, JᵀJ and Jᵀe 11.0 instead of 12.3 ms per iteration, the LM
    iteration 1.10× faster; on 100,000 points 1.12× faster.
    """
    n_in, in_ptr, in_idx, w_ptr, act, gain, out_idx = topo
    nn = act.shape[0]
    if not pairs or nn == 0 or w_ptr[0] != 0:
        return []
    plan = []
    held = 0  # doubles in the pair products' buffers so far
    j = 0
    while j < nn:
        srcs = in_idx[in_ptr[j]:in_ptr[j + 1]]
        S = srcs.shape[0] + 1
        k = j + 1
        while k < nn and w_ptr[k] == w_ptr[k - 1] + S and np.array_equal(in_idx[in_ptr[k]:in_ptr[k + 1]], srcs):
            k += 1
        G = k - j
        r0, r1 = int(w_ptr[j]), int(w_ptr[k - 1]) + S
        if k < nn and w_ptr[k] != r1:
            return []  # weights not laid out neuron after neuron: keep syrk
        gp, sp = G * (G + 1) // 2, S * (S + 1) // 2
        bufs = None
        width = min(block, PAIR_CHUNK)
        need = (gp + sp) * width + 2 * gp * sp
        if G >= PAIR_MIN and S >= PAIR_MIN and gp + sp <= PAIR_ROWS * G * S and held + need <= PAIR_MAX_ENTRIES:
            bufs = (np.empty((gp, width)), np.empty((sp, width)), np.empty((gp, sp)), np.empty((gp, sp)))
            held += need
        plan.append((r0, r1, np.ascontiguousarray(w_ptr[j:k], dtype=np.int64),
                     np.ascontiguousarray(srcs, dtype=np.int64), bufs))
        j = k
    if plan[-1][1] != N or not any(b is not None for *_, b in plan):
        return []
    return plan


def _add_product(sp, a, b, total, first, scratch) -> None:
    """total = a·b for the first block, total += a·b after (in place with scipy, else through ``scratch``)."""
    if sp is not None:
        _gemm(sp, a, b, total, not first)
    elif first:
        np.matmul(a, b, out=total)
    else:
        T = scratch[:total.size].reshape(total.shape)
        np.matmul(a, b, out=T)
        total += T


def _chunk(buf, w):
    """The first ``w`` columns' worth of the 2-D ``buf`` as a contiguous (rows, w) array."""
    return buf.reshape(-1)[:buf.shape[0] * w].reshape(buf.shape[0], w)


class Workspace:
    """Buffers of the blocked path: one block of node values and Jacobian, and the N×N system."""

    def __init__(self, algo: int, XT: np.ndarray, DT: np.ndarray, n_nodes: int, n_weights: int, block=None,
                 pairs: bool = True):
        n_in, P = XT.shape
        M = DT.shape[0]
        N = n_weights
        self.algo = algo
        self.small = P * M < N  # solve the P·M-sized system JJᵀ + μI, J in one block
        B = P if self.small else (block_patterns(P, M, N) if block is None else int(max(1, min(block, P))))
        self.block = B
        self.blocks = [(s, min(B, P - s)) for s in range(0, P, B)]
        tail = P % B
        nfull = P // B
        # every full block's node values and slopes of its own (see KEEP_FORWARD_BYTES), else one shared set
        kb = nfull if 16 * n_nodes * B * nfull <= KEEP_FORWARD_BYTES else 1
        self.Y3, self.S3 = np.empty((kb, n_nodes, B)), np.zeros((kb, n_nodes, B))
        self.keeps_forward = kb == nfull  # then the last error() leaves the forward pass of every block
        self.full = (self.Y3[0], self.S3[0]) + self._buffers(n_nodes, B, M, N)[2:]
        self.tail = self._buffers(n_nodes, tail, M, N) if tail else self._buffers(n_nodes, 1, M, N)
        self._fwd_w = np.empty(N)  # the weights of the forward passes held, when _fwd_ok
        self._fwd_ok = False
        K = P * M if self.small else N
        self.sp = _scipy()  # scipy's BLAS and LAPACK, or None: NumPy's
        self.Q = np.empty((K, K))
        # with scipy the system is factored bordered by its right-hand side (see solve())
        self.A = np.empty((K + 1, K + 1) if self.sp is not None else (K, K))
        self.rhs = np.empty(K + 1)
        self.g = np.empty(N)
        self.gb = np.empty(N)
        self.delta = np.empty(N)
        self.wt = np.empty(N)
        self.reached = np.zeros(n_nodes, dtype=np.bool_)
        self.pairs = pairs and not self.small
        self._gram_plan = None  # made from the topology on the first accumulate() ...
        self._sums = None  # ... with the running sums of the blocks' Gram pieces
        self._merge = None  # ... and the merged product's rows and sum
        self.key = None  # what take_workspace() made it for
        self.JT_cols_per_pattern = M

    @staticmethod
    def _buffers(n_nodes, B, M, N):
        """Node values, slopes, backward work space, J_bᵀ and errors for B patterns, and None.

        The last place is for the array J_bᵀ and the errors are views of when
        the merged product (:meth:`_plan`) reads them as one operand.
        """
        return (np.empty((n_nodes, B)), np.zeros((n_nodes, B)), np.zeros((n_nodes, B)),
                np.empty((N, B * M)), np.empty(B * M), None)

    @property
    def nbytes(self) -> int:
        """Bytes held by the buffers (what the blocked path adds to the data itself)."""
        arrays = [self.Y3, self.S3, self.Q, self.A, self.rhs, self.g, self.gb, self.delta, self.wt, self._fwd_w]
        for i, bufs in enumerate((self.full, self.tail)):
            held = bufs[2:5] if bufs[5] is None else (bufs[2], bufs[5])  # (J_bᵀ and e: views of the last)
            arrays += list(held if i == 0 else bufs[:2] + held)
        if self._gram_plan:
            arrays += [a for *_, bufs in self._gram_plan if bufs for a in bufs]
        if self._sums:
            arrays += [a for a in self._sums[0] if a is not None] + [self._sums[1]]
        if self._merge is not None:
            arrays.append(self._merge[3])
        return sum(a.nbytes for a in arrays)

    # -------------------------------------------------------------- the passes
    def error(self, w, XT, DT, topo, above: float = math.inf) -> float:
        """E = ½Σe² at ``w``, forward pass block by block (one compiled call).

        With ``above`` finite, the passes stop at the first block after which
        the sum so far exceeds it, and that part is returned (enough to reject
        an LM try: 0.1–0.2 ms of a rejected try's 0.25 ms on the 2,000-point
        regression). When the workspace keeps every block's forward pass
        (:data:`KEEP_FORWARD_BYTES`), the next :meth:`accumulate` at the same
        weights (an accepted try's) starts from them instead of running it again.
        """
        E = float(engine.blocked_error(w, XT, DT, topo, self.Y3, self.S3, self.tail[0], self.tail[1], above))
        if self.keeps_forward:
            np.copyto(self._fwd_w, w)
            self._fwd_ok = not E > above  # (cut short, the passes are not all at w)
        return E

    def accumulate(self, w, XT, DT, topo) -> None:
        """Q = JᵀJ (or JJᵀ on the small side) and g = Jᵀe at ``w``, block by block.

        Only Q's upper triangle and diagonal are formed (the factorisation reads
        no more; :meth:`gram` gives the whole matrix): writing the lower
        triangle too took 0.2 ms of a 13 ms iteration on 2-20-20-1.
        """
        Q, g, sp = self.Q, self.g, self.sp
        B = self.block
        held = self._fwd_ok and bool(np.array_equal(w, self._fwd_w))  # the forward passes at w are in Y3/S3
        self._fwd_ok = self.keeps_forward  # after the loop they are, in any case
        if self.keeps_forward:
            np.copyto(self._fwd_w, w)
        if self._gram_plan is None and not self.small:
            self._plan(Q.shape[0], topo)
        merge = self._merge
        r1 = self._gram_plan[0][1] if merge is not None else 0  # Jᵀe's rows after r1 come from the merged product
        for i, (start, nb) in enumerate(self.blocks):
            if nb == B:
                Y, S, Dl, JT, e, ext = self.Y3[i if self.keeps_forward else 0], \
                    self.S3[i if self.keeps_forward else 0], *self.full[2:]
            else:
                Y, S, Dl, JT, e, ext = self.tail
            if held:
                engine.block_jacobian_at(w, DT, topo, start, Y, S, Dl, self.reached, JT, e)
            else:
                engine.block_jacobian(w, XT, DT, topo, start, Y, S, Dl, self.reached, JT, e)
            if self.small:
                if sp is not None:
                    _syrk(sp, JT.T, Q, False)  # JJᵀ, its upper triangle
                    _gemv(sp, JT, e, g, False)
                else:
                    np.matmul(JT.T, JT, out=Q)  # JJᵀ (BLAS syrk)
                    np.matmul(JT, e, out=g)
                self.e = e
                self.JT = JT
                return
            self._gram(JT, Y, i == 0, ext)  # the block's J_bᵀJ_b, added to the running sums
            Jg = JT[:r1] if merge is not None else JT
            gg = g[:Jg.shape[0]]
            if sp is not None:
                _gemv(sp, Jg, e, gg, i > 0)
            elif i == 0:
                np.matmul(Jg, e, out=gg)
            else:
                np.matmul(Jg, e, out=self.gb[:Jg.shape[0]])
                gg += self.gb[:Jg.shape[0]]
        self._place(Q)
        if merge is not None:
            g[r1:] = merge[3][0]

    def _plan(self, N, topo):
        """The Gram plan (:func:`gram_plan`), the running sums of its pieces and the merged product, made once.

        When the last group (an MLP's output layer) is a ``syrk`` group and
        comes after at least one other, one product of the rows
        [e; last group; first group] against all rows after the first group
        gives, summed over the blocks, the part of Jᵀe after the first group,
        the first group's off-diagonal block, the last group's diagonal block
        and every middle group against the last group:
        ``merge = (a, n_last, n_first, M)``, with ``a`` the last group's first
        row and ``M`` the sum. For it J_bᵀ and e live in one array, ``ext`` =
        [e; a copy of the last group's rows; J_bᵀ] (the sixth of the block's
        buffers), so the first operand is its first 1 + n_last + n_first rows
        and only the last group's rows are copied. On 2-20-20-1 that is one
        82×441 product per block in place of a 60×441 one, a 21×420 one, a
        21×21 ``syrk`` and most of Jᵀe's product (without e and the copy of
        the first group's rows: 0.80 → 0.73 ms per block of 500 patterns; the
        narrow 21×420 product ran at 18 GFLOP/s of multiply-adds, the merged
        one at 24).
        """
        plan = gram_plan(topo, N, self.block, self.pairs)
        sums, most = [], 0
        merge = None
        if not plan:  # one syrk of the whole block; later blocks go through the scratch (NumPy only)
            sums.append(None)
            most = N * N if len(self.blocks) > 1 else 0
        elif len(plan) >= 2 and plan[-1][4] is None:
            a, n_last, n_first = plan[-1][0], N - plan[-1][0], plan[0][1] - plan[0][0]
            rows = 1 + n_last + n_first
            merge = (a, n_last, n_first, np.empty((rows, N - plan[0][1])))
            most = max(most, rows * (N - plan[0][1]))

            def extend(bufs):
                Y, S, Dl, JT, e, _ = bufs
                ext = np.empty((1 + n_last + N, JT.shape[1]))
                return Y, S, Dl, ext[1 + n_last:], ext[0], ext

            self.full, self.tail = extend(self.full), extend(self.tail)
        for k, (r0, r1, bases, srcs, bufs) in enumerate(plan):
            merged_diag = merge is not None and k == len(plan) - 1
            end = N if merge is None or k == len(plan) - 1 else merge[0]
            n, rest = r1 - r0, end - r1
            if merge is not None and k == 0:
                rest = 0  # in the merged product
            sums.append(np.empty((n, n)) if bufs is None and not merged_diag else None)  # a syrk group's block
            sums.append(np.empty((n, rest) if n <= rest else (rest, n)) if rest > 0 else None)  # it vs later rows
            most = max(most, n * n if bufs is None else 0, n * max(rest, 0))
        self._gram_plan = plan
        self._merge = merge
        self._sums = (sums, np.empty(0 if self.sp is not None else most))  # scipy adds in place

    def _gram(self, JT, Y, first, ext) -> None:
        """Add J_bᵀJ_b of the block whose Jᵀ is ``JT`` and node values ``Y`` to the running sums.

        Without groups: BLAS ``syrk`` of the whole of ``JT`` (into Q). Where
        neurons share their inputs (the layers of an MLP) their diagonal block
        is the pair-product Gram of :func:`lmtrain.engine.pair_products`
        (about half the multiply-adds) and the rest are BLAS products of row
        ranges of ``JT`` (one of them merged, see :meth:`_plan`), each block
        formed once, into compact sums that :meth:`_place` writes into Q's
        upper triangle after the last block (``ext``: see :meth:`_plan`).
        The first block's products go straight into the sums; later ones are
        added to them, in place by scipy's BLAS (:data:`USE_SCIPY`), else
        through a scratch buffer.
        """
        plan = self._gram_plan
        sums, scratch = self._sums
        sp = self.sp
        if not plan:
            if sp is not None:
                _syrk(sp, JT, self.Q, not first)  # the upper triangle
            elif first:
                np.matmul(JT, JT.T, out=self.Q)  # BLAS syrk
            else:
                _add_product(sp, JT, JT.T, self.Q, False, scratch)
            return
        nb = Y.shape[1]
        merge = self._merge
        for k, (r0, r1, bases, srcs, bufs) in enumerate(plan):
            diag, off = sums[2 * k], sums[2 * k + 1]
            if diag is not None:  # a syrk group
                Jg = JT[r0:r1]
                if sp is not None:
                    _syrk(sp, Jg, diag, not first)  # the upper triangle
                else:
                    _add_product(sp, Jg, Jg.T, diag, first, scratch)  # NumPy takes syrk for a·aᵀ
            elif bufs is not None:
                UT, VT, C, Cc = bufs
                width = -(-nb // -(-nb // UT.shape[1]))  # chunks of equal width (±1), none wider than the buffers
                for c0 in range(0, nb, width):
                    w = min(width, nb - c0)
                    U, V = _chunk(UT, w), _chunk(VT, w)
                    engine.pair_products(JT, Y, bases, srcs, c0, U, V)
                    if sp is not None:
                        _gemm(sp, U, V.T, C, not (first and c0 == 0))
                    elif first and c0 == 0:
                        np.matmul(U, V.T, out=C)
                    else:
                        np.matmul(U, V.T, out=Cc)
                        C += Cc
            if off is not None:  # the group against later rows, the narrow way round (BLAS is faster so)
                end = r1 + (off.shape[1] if off.shape[0] == r1 - r0 else off.shape[0])
                if off.shape[0] == r1 - r0:
                    _add_product(sp, JT[r0:r1], JT[r1:end].T, off, first, scratch)
                else:
                    _add_product(sp, JT[r1:end], JT[r0:r1].T, off, first, scratch)
        if merge is not None:  # [e; last group; first group] against the rows after the first group
            a, n_last, n_first, Msum = merge
            ext[1:1 + n_last] = JT[a:]
            _add_product(sp, ext[:1 + n_last + n_first], JT[n_first:].T, Msum, first, scratch)

    def _place(self, Q) -> None:
        """Write the summed pieces of :meth:`_gram` into Q's upper triangle (and diagonal)."""
        plan = self._gram_plan
        if not plan:  # syrk went straight into Q
            return
        sums = self._sums[0]
        for k, (r0, r1, bases, srcs, bufs) in enumerate(plan):
            diag, off = sums[2 * k], sums[2 * k + 1]
            if diag is not None:
                Q[r0:r1, r0:r1] = diag
            elif bufs is not None:
                engine.scatter_pairs(bufs[2], bases, srcs.shape[0] + 1, Q)
            if off is not None:
                if off.shape[0] == r1 - r0:
                    Q[r0:r1, r1:r1 + off.shape[1]] = off
                else:
                    engine.transpose(off, Q[r0:r1, r1:r1 + off.shape[0]])
        if self._merge is not None:
            a, n_last, n_first, Msum = self._merge
            r1 = plan[0][1]
            Q[:r1, r1:] = Msum[1 + n_last:]  # the first group against all later rows
            last = Msum[1:1 + n_last]  # the last group against rows r1 … N − 1 (its own block included)
            Q[a:, a:] = last[:, a - r1:]
            if a > r1:
                engine.transpose(last[:, :a - r1], Q[r1:a, a:])

    def gram(self) -> np.ndarray:
        """The whole symmetric Q of the last :meth:`accumulate` (a new array; Q itself holds its upper triangle)."""
        return np.triu(self.Q) + np.triu(self.Q, 1).T

    def solve(self, mu: float) -> bool:
        """Δ = (JᵀJ + μI)⁻¹ Jᵀe into ``delta``; False when the system is singular.

        LAPACK's Cholesky factorisation ``dpotrf``, in place through scipy when
        it is installed. The matrix is factored bordered by the right-hand
        side g and a last diagonal entry of +inf::

            [ Q + μI   g ]  =  [ L   0 ] [ Lᵀ  l ]       L l = g
            [   gᵀ    ∞ ]     [ lᵀ  ∞ ] [ 0   ∞ ]

        so the factorisation also does the forward substitution, at the
        speed of its block products, and one triangular solve Lᵀ Δ = l
        (``dtrsv``) is left; ∞ − lᵀl stays ∞ and touches nothing else. Against
        ``dpotrf`` + ``dpotrs``: 1.33 instead of 1.39 ms per try for 501
        weights. Without scipy: ``numpy.linalg.cholesky`` (which copies the
        matrix in and out and clears a triangle: 0.7 ms more per try there,
        README, Speed) and the compiled triangular solves. The same test as
        :func:`lmtrain.engine.cholesky_solve`: a pivot (the square of a
        diagonal entry of the Cholesky factor) not above n·eps times the
        largest diagonal entry counts as singular.
        """
        A, Q = self.A, self.Q
        K = Q.shape[0]
        dmax = float(np.max(np.diagonal(Q))) + mu  # the largest diagonal entry of Q + μI (rounding is monotone)
        if not (dmax > 0.0) or not math.isfinite(dmax):
            return False
        b = self.e if self.small else self.g
        sp = self.sp
        if sp is not None and A.shape[0] == K + 1:
            S = A[:K, :K]
            np.copyto(S, Q)
            A.flat[: (K + 1) * K: K + 2] += mu  # S's diagonal
            A[:K, K] = b
            A[K, K] = math.inf
            # A's upper triangle read column-major (A.T, no copy) is a lower one;
            # dpotrf factors it there, and L's last row l = L⁻¹b lands in A[:K, K]
            c, info = sp.dpotrf(A.T, lower=1, clean=0, overwrite_a=1)
            if info != 0:
                return False
            d = np.diagonal(c)[:K]
            if not bool(np.all(d * d > K * _EPS * dmax)):  # False for NaN too
                return False
            rhs = self.rhs
            rhs[:K] = A[:K, K]
            rhs[K] = 0.0  # the bordered factor's last unknown is 0/∞ = 0
            x = sp.dtrsv(c, rhs, lower=1, trans=1, overwrite_x=1)
            x = x[:K]
        else:
            S = A[:K, :K]
            np.copyto(S, Q)
            S.flat[:: K + 1] += mu  # (flat indexes S as K×K, whatever its strides)
            try:
                L = np.linalg.cholesky(S.T)  # reads the lower triangle of Sᵀ: S's upper one
            except np.linalg.LinAlgError:
                return False
            d = np.diagonal(L)
            if not bool(np.all(d * d > K * _EPS * dmax)):  # False for NaN too
                return False
            x = self.rhs[:K]
            np.copyto(x, b)
            engine.cholesky_solve_lower(L, x)
        if self.small:  # Δ = Jᵀ(JJᵀ + μI)⁻¹e
            if sp is not None:
                _gemv(sp, self.JT, x, self.delta, False)
            else:
                np.matmul(self.JT, x, out=self.delta)
        else:
            np.copyto(self.delta, x)
        return bool(np.all(np.isfinite(self.delta)))


#: ``train`` and ``run_trials`` keep the blocked path's last workspace, if it holds at most
#: this many bytes, for the next call on the same network and data shape (0: never).
#: Allocating one costs more than the arrays' sizes suggest: each first touch of
#: their pages is a page fault, ~2,000 of them (9 MB) for the 2,000-point
#: regression, and arrays of 1 MB and more come back from the system afresh every time.
#: Reusing it made ``lmtrain.train`` 4 % faster per iteration there (two trials
#: of nine iterations per call).
KEEP_BYTES = 64 << 20
_kept: list = []


def _workspace_key(algo, XT, DT, topo, n_nodes, N):
    P, M = XT.shape[1], DT.shape[0]
    B = P if P * M < N else block_patterns(P, M, N)
    return (algo, XT.shape, DT.shape, n_nodes, N, B, _scipy() is not None, int(topo[0]),
            *(np.ascontiguousarray(a).tobytes() for a in topo[1:]))


def take_workspace(algo, XT, DT, topo, n_nodes, N) -> Workspace:
    """A workspace for this problem: the one kept by :func:`give_back` when it fits, else a new one.

    A kept workspace is handed to one caller only (taken off the list first),
    so concurrent calls each get their own.
    """
    key = _workspace_key(algo, XT, DT, topo, n_nodes, N)
    try:
        ws = _kept.pop()
    except IndexError:
        ws = None
    if ws is None or ws.key != key:
        ws = Workspace(algo, XT, DT, n_nodes, N)
        ws.key = key
    ws._fwd_ok = False  # its forward passes were of other data
    return ws


def give_back(ws: Workspace) -> None:
    """Keep ``ws`` for the next :func:`take_workspace` (replacing any kept one) if it is small enough."""
    if ws.nbytes <= KEEP_BYTES:
        _kept[:] = [ws]


def release() -> None:
    """Drop the kept workspace (its memory goes back to the system)."""
    del _kept[:]


def _norm(v) -> float:
    return float(math.sqrt(float(np.dot(v, v))))


def lm_step(w, E, mu, XT, DT, topo, fopt, iopt, ws: Workspace):
    """One LM iteration (Fig. 12.5), as :func:`.lm.step`, on the blocked workspace."""
    ws.accumulate(w, XT, DT, topo)
    gn = _norm(ws.g)
    if gn <= fopt[MIN_GRAD]:
        return _MIN_GRAD, E, mu, mu, 0, False, gn, False
    wt, delta = ws.wt, ws.delta
    rejected = 0
    t = 0
    while True:
        mu_used = mu
        Et = math.inf
        if ws.solve(mu):
            np.subtract(w, delta, out=wt)
            # before the last try, E above the current one is all decide() needs to know
            Et = ws.error(wt, XT, DT, topo, E if t < iopt[MAX_TRIES] else math.inf)
        action, mu = lm.decide(E, Et, mu, t, fopt, iopt)
        if action == lm.ACCEPT or action == lm.FORCE:
            np.copyto(w, wt)
            status = CONTINUE
            if action == lm.ACCEPT and _norm(delta) <= fopt[MIN_STEP]:
                status = _MIN_STEP
            return status, Et, mu, mu_used, rejected, action == lm.FORCE, gn, True
        rejected += 1
        if action == lm.STOP:
            return _MU_MAX, E, mu, mu_used, rejected, False, gn, True
        if action == lm.KEEP:
            return CONTINUE, E, mu, mu_used, rejected, False, gn, True
        t += 1


def gauss_newton_step(w, E, mu, XT, DT, topo, fopt, iopt, ws: Workspace):
    """One Gauss–Newton iteration, as :func:`.gauss_newton.step`, on the blocked workspace."""
    ws.accumulate(w, XT, DT, topo)
    gn = _norm(ws.g)
    if gn <= fopt[MIN_GRAD]:
        return _MIN_GRAD, E, mu, 0.0, 0, False, gn, False
    if not ws.solve(0.0):
        return _SINGULAR, E, mu, 0.0, 0, False, gn, False
    np.subtract(w, ws.delta, out=ws.wt)
    En = ws.error(ws.wt, XT, DT, topo)
    if not math.isfinite(En):
        return _DIVERGED, E, mu, 0.0, 0, False, gn, False
    np.copyto(w, ws.wt)
    status = CONTINUE
    if _norm(ws.delta) <= fopt[MIN_STEP]:
        status = _MIN_STEP
    return status, En, mu, 0.0, 0, False, gn, True


def run(algo, w, XT, DT, topo, fopt, iopt, state, ws: Workspace, hist, n_steps):
    """:func:`._loop.run` for the blocked path: same arguments, stops and history."""
    if state[ST_STARTED] == 0.0:
        E0 = ws.error(w, XT, DT, topo)
        state[ST_E] = E0
        state[ST_E0] = E0
        state[ST_STARTED] = 1.0
        if not math.isfinite(E0):
            return _DIVERGED
    if algo == LM:
        step = lm_step
    elif algo == GAUSS_NEWTON:
        step = gauss_newton_step
    else:
        raise ValueError("the blocked path serves 'lm' and 'gauss_newton' only")
    E = float(state[ST_E])
    mu = float(state[ST_MU])
    k = int(state[ST_K])
    status = CONTINUE
    for _ in range(n_steps):
        status = _loop.stop_before(E, k, fopt, iopt)
        if status != CONTINUE:
            break
        status, E, mu, mu_used, rej, forced, gn, stepped = step(w, E, mu, XT, DT, topo, fopt, iopt, ws)
        if stepped:
            _loop.record(hist, k, E, mu_used, gn, rej, forced, fopt, iopt)
            k += 1
        if status != CONTINUE:
            status = _loop.stop_after(status, stepped, E, fopt)
            break
    state[ST_E] = E
    state[ST_MU] = mu
    state[ST_K] = k
    return status
