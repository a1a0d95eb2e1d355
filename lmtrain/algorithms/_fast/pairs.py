"""The pair-product Gram: J_bᵀJ_b of the neurons that share their inputs, with half the multiply-adds.

Twin of the sums of :func:`lmtrain.kernels.add_pattern` over one block of
patterns, for the layers of an MLP. Every Jacobian column of such a group is
δ_n·y_a (a neuron's δ times one of its inputs, eq. 12.36), so the group's
block of JᵀJ is Σ_p (Σ_m δ_n,m δ_n',m)(y_a y_b): one product per pair of
neurons times one per pair of inputs, G(G+1)/2 · S(S+1)/2 multiply-adds per
pattern instead of the (G·S)²/2 of ``syrk`` (for a layer of 20 neurons with
21 inputs, 48,510 instead of 88,410). Tested against J.T @ J.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from .simd import JIT, borrow

_JIT = JIT

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
    (they then stay in the core's cache for the product).

    Against one ``syrk`` per block this is faster on the 2,000- and
    100,000-point regressions (docs/performance.md).
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



@njit(**_JIT)
def pair_products(JT, Y, bases, srcs, c0, UT, VT):
    """The two factors of the pair-product Gram of neurons that share their inputs.

    For neurons n (bias weights at rows ``bases`` of ``JT``, shape (N, nb·M))
    fed by the nodes ``srcs`` plus the bias input y = 1, every Jacobian column
    is δ_n·y_a (eq. 12.36), so an entry of JᵀJ is
    Σ_p (Σ_m δ_n,m δ_n',m)(p) · (y_a y_b)(p). Rows of ``UT`` get the first
    factor for the pairs n ≤ n' (read off the bias rows of ``JT``, where
    J = −δ), rows of ``VT`` the second for the pairs a ≤ b (a = 0 the bias),
    both in row-major pair order: (0,0), (0,1), …, (1,1), … Column p holds
    pattern c0 + p of the block in ``Y`` (p < nb, the width of ``UT``), so a
    block can be done a chunk of patterns at a time.
    """
    JT, Y, bases, srcs, UT, VT = borrow((JT, Y, bases, srcs, UT, VT))
    # each row is sliced to the chunk first: indexed from 0 by the loop counter,
    # the loops become vector code (Numba guards an index c0 + p against
    # negative values, and the guard kept them scalar)
    nb = UT.shape[1]
    M = JT.shape[1] // Y.shape[1] if Y.shape[1] > 0 else 1
    G = bases.shape[0]
    q = 0
    for i in range(G):
        di = JT[bases[i], c0 * M:(c0 + nb) * M]
        for j in range(i, G):
            dj = JT[bases[j], c0 * M:(c0 + nb) * M]
            u = UT[q]
            if M == 1:
                for p in range(nb):
                    u[p] = di[p] * dj[p]
            else:
                for p in range(nb):
                    s = 0.0
                    for m in range(M):
                        s += di[p * M + m] * dj[p * M + m]
                    u[p] = s
            q += 1
    S = srcs.shape[0] + 1
    q = 0
    for a in range(S):
        for b in range(a, S):
            v = VT[q]
            if a == 0 and b == 0:
                for p in range(nb):
                    v[p] = 1.0
            elif a == 0:
                yb = Y[srcs[b - 1], c0:c0 + nb]
                for p in range(nb):
                    v[p] = yb[p]
            else:
                ya = Y[srcs[a - 1], c0:c0 + nb]
                yb = Y[srcs[b - 1], c0:c0 + nb]
                for p in range(nb):
                    v[p] = ya[p] * yb[p]
            q += 1


@njit(**_JIT)
def scatter_pairs(C, bases, S, Q):
    """Write the block of Q = JᵀJ of one group of neurons from ``C = UT·VTᵀ`` (:func:`pair_products`).

    Q[(n,a), (n',b)] = C[pair(n,n'), pair(a,b)] for all neurons n ≤ n' of
    the group and all inputs a, b (``S`` of them, bias first): the blocks on
    and above the diagonal, which hold Q's upper triangle (the one the
    factorisation reads; the blocks at (n', n) are the same and are not
    written). Each S×S block is symmetric in (a, b) and is written row by
    row, along contiguous memory, from the row of C, rather than each entry
    and its three mirror images, two of them down columns: Q is not in the
    cache inside the LM iteration.
    """
    C, bases, Q = borrow((C, bases, Q))
    G = bases.shape[0]
    start = np.empty(S, dtype=np.int64)  # pair(a, a); pair(a, b) = start[a] + b − a for b ≥ a
    r = 0
    for a in range(S):
        start[a] = r
        r += S - a
    q = 0
    for i in range(G):
        bi = bases[i]
        for j in range(i, G):
            bj = bases[j]
            row = C[q]
            for a in range(S):
                top = Q[bi + a, bj:bj + S]
                for b in range(a):  # b < a: pair(b, a), one per earlier row
                    top[b] = row[start[b] + a - b]
                tail = row[start[a]:start[a] + S - a]  # b ≥ a: contiguous in C
                for k in range(S - a):
                    top[a + k] = tail[k]
            q += 1

