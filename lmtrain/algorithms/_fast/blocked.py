"""Speed twin for large problems: LM and Gauss–Newton with the Jacobian in blocks and BLAS products.

Twin of :func:`lmtrain.kernels.quasi_hessian` (Q = JᵀJ and g = Jᵀe without
storing J; Table 12.1's NBN row) and :func:`lmtrain.kernels.damped_step`. The
plain kernel adds one Jacobian row at a time; here every iteration

1. runs over the patterns in blocks of B: for each block the compiled twins
   compute the forward pass (or start from the one the accepted try left),
   the Jacobian rows (transposed, J_bᵀ) and the errors, and BLAS adds
   J_bᵀJ_b to Q and J_bᵀe_b to g. Where neurons share their inputs (the layers
   of an MLP) their block of J_bᵀJ_b is formed from products of pairs of
   neurons and pairs of inputs (:mod:`.pairs`). Q holds its upper triangle only;
2. solves (Q + μI) Δ = g with LAPACK's Cholesky factorisation;
3. evaluates E at the trial weights block by block, stopping as soon as it
   exceeds the current E (enough to reject an LM try).

The μ rule, the tries and the iteration loop are not here: the rules of
:mod:`lmtrain.algorithms` run on this workspace through the same operations
as on the compiled ones (:mod:`lmtrain.algorithms.workspace`), interpreted
rather than compiled, since each step here is milliseconds of BLAS work.

Memory is that of one block (B·M·N for J_b, at most 1 MB, B × nodes for the
node values, or those of every block when they take at most 8 MB) plus the
N×N system, the pair products' buffers (at most 32 MB) and the running sums of
the blocks' Gram pieces (at most N² more), whatever P is. ``train`` keeps the
last workspace for the next call on the same problem (:data:`KEEP_BYTES`,
:func:`release`). With fewer residuals than weights (P·M < N) J is built in
one block and the P·M-sized system JJᵀ + μI is solved, as in the compiled path.
"""

from __future__ import annotations

import math

import numpy as np

from . import blas
from .backward import block_jacobian, block_jacobian_at
from .block_sizes import BLOCK_ENTRIES, CROSSOVER_WORK, FULL_JACOBIAN_BYTES, block_patterns, use_blocks  # noqa: F401
from .forward import blocked_error, transpose
from .gram import cholesky_solve_lower
from .pairs import gram_plan, pair_products, scatter_pairs

_EPS = 2.220446049250313e-16

#: the blocked path keeps the node values and slopes of every block when all of them
#: take at most this many bytes: the next Jacobian, at an accepted try's weights,
#: then starts from the forward pass that try's error evaluation made. Beyond it,
#: one set of buffers serves all blocks in turn and memory stays flat.
KEEP_FORWARD_BYTES = 8 << 20


class Workspace:
    """Buffers of the blocked path: one block of node values and Jacobian, and the N×N system."""

    def __init__(self, data, topo, n_nodes: int, n_weights: int, block=None, pairs: bool = True):
        XT, DT = data
        n_in, P = XT.shape
        M = DT.shape[0]
        N = n_weights
        self.XT, self.DT, self.topo = XT, DT, topo  # the problem (see bind())
        self.flags = np.zeros(1, np.int64)  # flags[0] = 1: stop at the next iteration (Ctrl-C)
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
        self.sp = blas.scipy_routines()  # scipy's BLAS and LAPACK, or None: NumPy's
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

    def bind(self, XT, DT, topo) -> None:
        """Make this workspace serve these data (of the shapes it was made for)."""
        self.XT, self.DT, self.topo = XT, DT, topo
        self._fwd_ok = False  # its forward passes were of other data
        self.flags[0] = 0

    # ------------------------------------------- what the rules ask of a workspace
    def error_at(self, w) -> float:
        """E = ½Σe² at ``w`` (eq. 12.1)."""
        return self.error(w)

    def linearize(self, w) -> float:
        """Q (JᵀJ, or JJᵀ on the small side) and g = Jᵀe at ``w``; returns ‖g‖."""
        self.accumulate(w)
        return math.sqrt(float(np.dot(self.g, self.g)))

    def trial_error(self, w, E: float, cut: bool) -> float:
        """E at the trial weights w − Δ; with ``cut``, only as far as needed to tell it exceeds ``E``."""
        np.subtract(w, self.delta, out=self.wt)
        return self.error(self.wt, E if cut else math.inf)

    def accept(self, w) -> None:
        """The trial weights become the current ones."""
        np.copyto(w, self.wt)

    def interrupted(self) -> bool:
        return bool(self.flags[0] != 0)

    # -------------------------------------------------------------- the passes
    def error(self, w, above: float = math.inf) -> float:
        """E = ½Σe² at ``w``, forward pass block by block (one compiled call).

        With ``above`` finite, the passes stop at the first block after which
        the sum so far exceeds it, and that part is returned: enough to reject
        an LM try. When the workspace keeps every block's forward pass
        (:data:`KEEP_FORWARD_BYTES`), the next :meth:`accumulate` at the same
        weights (an accepted try's) starts from them instead of running it again.
        """
        E = float(blocked_error(w, (self.XT, self.DT), self.topo, (self.Y3, self.S3), self.tail[:2], above))
        if self.keeps_forward:
            np.copyto(self._fwd_w, w)
            self._fwd_ok = not E > above  # (cut short, the passes are not all at w)
        return E

    def accumulate(self, w) -> None:
        """Q = JᵀJ (or JJᵀ on the small side) and g = Jᵀe at ``w``, block by block.

        Only Q's upper triangle and diagonal are formed: the factorisation reads
        no more (:meth:`gram` gives the whole matrix).
        """
        Q, g, sp = self.Q, self.g, self.sp
        XT, DT, topo = self.XT, self.DT, self.topo
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
                block_jacobian_at(w, DT, topo, start, (Y, S, Dl, self.reached, JT, e))
            else:
                block_jacobian(w, (XT, DT), topo, start, (Y, S, Dl, self.reached, JT, e))
            if self.small:
                if sp is not None:
                    blas.syrk(sp, JT.T, Q, False)  # JJᵀ, its upper triangle
                    blas.gemv(sp, JT, e, g, False)
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
                blas.gemv(sp, Jg, e, gg, i > 0)
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
        21×21 ``syrk`` and most of Jᵀe's product: narrow products run well
        below BLAS's best speed (docs/performance.md).
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
        is the pair-product Gram of :func:`.pairs.pair_products`
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
                blas.syrk(sp, JT, self.Q, not first)  # the upper triangle
            elif first:
                np.matmul(JT, JT.T, out=self.Q)  # BLAS syrk
            else:
                blas.add_product(sp, JT, JT.T, self.Q, False, scratch)
            return
        nb = Y.shape[1]
        merge = self._merge
        for k, (r0, r1, bases, srcs, bufs) in enumerate(plan):
            diag, off = sums[2 * k], sums[2 * k + 1]
            if diag is not None:  # a syrk group
                Jg = JT[r0:r1]
                if sp is not None:
                    blas.syrk(sp, Jg, diag, not first)  # the upper triangle
                else:
                    blas.add_product(sp, Jg, Jg.T, diag, first, scratch)  # NumPy takes syrk for a·aᵀ
            elif bufs is not None:
                UT, VT, C, Cc = bufs
                width = -(-nb // -(-nb // UT.shape[1]))  # chunks of equal width (±1), none wider than the buffers
                for c0 in range(0, nb, width):
                    w = min(width, nb - c0)
                    U, V = blas.chunk(UT, w), blas.chunk(VT, w)
                    pair_products(JT, Y, bases, srcs, c0, U, V)
                    if sp is not None:
                        blas.gemm(sp, U, V.T, C, not (first and c0 == 0))
                    elif first and c0 == 0:
                        np.matmul(U, V.T, out=C)
                    else:
                        np.matmul(U, V.T, out=Cc)
                        C += Cc
            if off is not None:  # the group against later rows, the narrow way round (BLAS is faster so)
                end = r1 + (off.shape[1] if off.shape[0] == r1 - r0 else off.shape[0])
                if off.shape[0] == r1 - r0:
                    blas.add_product(sp, JT[r0:r1], JT[r1:end].T, off, first, scratch)
                else:
                    blas.add_product(sp, JT[r1:end], JT[r0:r1].T, off, first, scratch)
        if merge is not None:  # [e; last group; first group] against the rows after the first group
            a, n_last, n_first, Msum = merge
            ext[1:1 + n_last] = JT[a:]
            blas.add_product(sp, ext[:1 + n_last + n_first], JT[n_first:].T, Msum, first, scratch)

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
                scatter_pairs(bufs[2], bases, srcs.shape[0] + 1, Q)
            if off is not None:
                if off.shape[0] == r1 - r0:
                    Q[r0:r1, r1:r1 + off.shape[1]] = off
                else:
                    transpose(off, Q[r0:r1, r1:r1 + off.shape[0]])
        if self._merge is not None:
            a, n_last, n_first, Msum = self._merge
            r1 = plan[0][1]
            Q[:r1, r1:] = Msum[1 + n_last:]  # the first group against all later rows
            last = Msum[1:1 + n_last]  # the last group against rows r1 … N − 1 (its own block included)
            Q[a:, a:] = last[:, a - r1:]
            if a > r1:
                transpose(last[:, :a - r1], Q[r1:a, a:])

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
        (``dtrsv``) is left; ∞ − lᵀl stays ∞ and touches nothing else. Without
        scipy: ``numpy.linalg.cholesky`` (which copies the matrix in and out
        and clears a triangle) and the compiled triangular solves. The same test as
        :func:`lmtrain.kernels.cholesky_solve`: a pivot (the square of a
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
            cholesky_solve_lower(L, x)
        if self.small:  # Δ = Jᵀ(JJᵀ + μI)⁻¹e
            if sp is not None:
                blas.gemv(sp, self.JT, x, self.delta, False)
            else:
                np.matmul(self.JT, x, out=self.delta)
        else:
            np.copyto(self.delta, x)
        return bool(np.all(np.isfinite(self.delta)))



#: ``train`` and ``run_trials`` keep the blocked path's last workspace, if it holds at most
#: this many bytes, for the next call on the same network and data shape (0: never):
#: allocating one costs more than its size suggests, a page fault at the first touch
#: of every page, and arrays of 1 MB and more come back from the system afresh every time.
KEEP_BYTES = 64 << 20
_kept: list = []


def _workspace_key(XT, DT, topo, n_nodes, N):
    P, M = XT.shape[1], DT.shape[0]
    B = P if P * M < N else block_patterns(P, M, N)
    return (XT.shape, DT.shape, n_nodes, N, B, blas.scipy_routines() is not None, int(topo[0]),
            *(np.ascontiguousarray(a).tobytes() for a in topo[1:]))


def take_workspace(XT, DT, topo, n_nodes, N) -> Workspace:
    """A workspace for this problem: the one kept by :func:`give_back` when it fits, else a new one.

    A kept workspace is handed to one caller only (taken off the list first),
    so concurrent calls each get their own.
    """
    key = _workspace_key(XT, DT, topo, n_nodes, N)
    try:
        ws = _kept.pop()
    except IndexError:
        ws = None
    if ws is None or ws.key != key:
        ws = Workspace((XT, DT), topo, n_nodes, N)
        ws.key = key
    ws.bind(XT, DT, topo)
    return ws


def give_back(ws: Workspace) -> None:
    """Keep ``ws`` for the next :func:`take_workspace` (replacing any kept one) if it is small enough."""
    if ws.nbytes <= KEEP_BYTES:
        _kept[:] = [ws]


def release() -> None:
    """Drop the kept workspace (its memory goes back to the system)."""
    del _kept[:]

