"""Speed twins of the backward computation: the Jacobian and the gradient for all patterns at once.

* :func:`jacobian_cols` is the twin of :func:`lmtrain.kernels.backward_unit_error`
  followed by :func:`lmtrain.kernels.jacobian_row`, for every pattern and output:
  the unit-δ backward pass of eqs. 12.35 and 12.47–12.52 and the entries −δ·y of
  eq. 12.36, with J kept transposed (a row of ``JT`` runs over the patterns like
  a row of ``Y``, so it is written as fast as ``Y`` is read). Neurons an output
  does not reach are skipped (``reached``) rather than multiplied by zero.
* :func:`gradient` is the twin of :func:`lmtrain.kernels.gradient` (eq. 12.34):
  the sums of a neuron's gradient entries over the patterns are formed four at
  a time, four independent chains the processor overlaps; each still runs over
  the patterns in order, so g is that of the plain kernel to the bit for the
  same node values.
* :func:`block_jacobian` and :func:`block_jacobian_at` do the same for one
  block of patterns (the blocked large-problem path).
"""

from __future__ import annotations

from numba import njit

from .forward import add_squared_errors, forward, load_inputs
from .simd import JIT, borrow

@njit(**JIT)
def jacobian_cols(w, Y, S, topo, JT, col0, Dl, reached):
    """The Jacobian of the patterns in ``Y``, transposed, by unit-δ backpropagation.

    Writes columns ``col0 + p·M + m`` of ``JT`` (shape (N, C)), i.e. J rows
    ``col0 + p·M + m`` (eq. 12.16), for every pattern p of the forward pass
    held in ``Y``/``S`` and every output m: one backward pass per output,
    started with δ = slope at that output (eqs. 12.35, 12.47–12.52), entries
    −δ·y (eq. 12.36). ``Dl`` (n_nodes, P) and ``reached`` (n_nodes,) are work
    space. Neurons that output m does not depend on get zero entries.

    The training loops keep J transposed: a row of ``JT`` runs over the
    patterns, so it is written as fast as ``Y`` is read.
    """
    w, Y, S, topo, JT, Dl, reached = borrow((w, Y, S, topo, JT, Dl, reached))  # no reference counting
    n_in, in_ptr, in_idx, w_ptr, act, gain, out_idx = topo
    P = Y.shape[1]
    M = out_idx.shape[0]
    nn = act.shape[0]
    for m in range(M):
        for node in range(n_in, n_in + nn):
            reached[node] = False
        o = out_idx[m]
        reached[o] = True
        do = Dl[o]
        for p in range(P):
            do[p] = 1.0  # unit error at output m
        c0 = col0 + m
        for j in range(nn - 1, -1, -1):
            node = n_in + j
            base = w_ptr[j]
            k0 = in_ptr[j]
            ni = in_ptr[j + 1] - k0
            if not reached[node]:
                for c in range(ni + 1):
                    jr = JT[base + c]
                    for p in range(P):
                        jr[c0 + p * M] = 0.0
                continue
            d = Dl[node]
            s = S[node]
            jr = JT[base]
            for p in range(P):
                d[p] *= s[p]  # δ = (backpropagated sum) × slope
                jr[c0 + p * M] = -d[p]  # bias input y = 1
            for k in range(ni):
                src = in_idx[k0 + k]
                y = Y[src]
                jr = JT[base + 1 + k]
                for p in range(P):
                    jr[c0 + p * M] = -d[p] * y[p]
                if src >= n_in:
                    wk = w[base + 1 + k]
                    acc = Dl[src]
                    if not reached[src]:
                        reached[src] = True
                        for p in range(P):
                            acc[p] = d[p] * wk
                    else:
                        for p in range(P):
                            acc[p] += d[p] * wk



@njit(**JIT)
def gradient(w, Y, S, DT, topo, g, Dl):
    """g = Jᵀe with one backward pass carrying the real errors (eq. 12.34).

    Uses the forward pass held in ``Y``/``S``; overwrites ``g`` and returns
    E = ½ Σ e². ``Dl`` (n_nodes, P) is work space.

    A neuron's sums Σ_p δ_p y_p are formed four at a time: one sum is a chain
    of dependent additions, and four independent chains overlap in the
    processor (each sum still runs over p in order, so g is that of the
    one-sum-at-a-time loop to the last bit).
    """
    n_in, in_ptr, in_idx, w_ptr, act, gain, out_idx = topo
    P = Y.shape[1]
    nn = act.shape[0]
    for i in range(g.shape[0]):
        g[i] = 0.0
    for node in range(n_in, n_in + nn):
        dn = Dl[node]
        for p in range(P):
            dn[p] = 0.0
    for m in range(out_idx.shape[0]):
        o = Y[out_idx[m]]
        d = DT[m]
        dl = Dl[out_idx[m]]
        for p in range(P):
            dl[p] += d[p] - o[p]  # eq. 12.34: the error starts δ at its output
    E = add_squared_errors(Y, DT, out_idx, 0, 0.0)  # pattern by pattern, as the plain kernel sums
    for j in range(nn - 1, -1, -1):
        node = n_in + j
        base = w_ptr[j]
        k0 = in_ptr[j]
        ni = in_ptr[j + 1] - k0
        d = Dl[node]
        s = S[node]
        for p in range(P):
            d[p] *= s[p]
        # g entries of this neuron, c = 0 the bias (y = 1), c ≥ 1 input c − 1.
        # Four sums share each load of d (independent chains that overlap);
        # each still runs over p in order.
        c = 0
        if ni >= 3:
            y1 = Y[in_idx[k0]]
            y2 = Y[in_idx[k0 + 1]]
            y3 = Y[in_idx[k0 + 2]]
            s0 = s1 = s2 = s3 = 0.0
            for p in range(P):
                dp = d[p]
                s0 += dp
                s1 += dp * y1[p]
                s2 += dp * y2[p]
                s3 += dp * y3[p]
            g[base] -= s0
            g[base + 1] -= s1
            g[base + 2] -= s2
            g[base + 3] -= s3
            c = 4
        while c + 4 <= ni + 1:
            y0 = Y[in_idx[k0 + c - 1]]
            y1 = Y[in_idx[k0 + c]]
            y2 = Y[in_idx[k0 + c + 1]]
            y3 = Y[in_idx[k0 + c + 2]]
            s0 = s1 = s2 = s3 = 0.0
            for p in range(P):
                dp = d[p]
                s0 += dp * y0[p]
                s1 += dp * y1[p]
                s2 += dp * y2[p]
                s3 += dp * y3[p]
            g[base + c] -= s0
            g[base + c + 1] -= s1
            g[base + c + 2] -= s2
            g[base + c + 3] -= s3
            c += 4
        if c == 0:
            acc = 0.0
            for p in range(P):
                acc += d[p]
            g[base] -= acc
            c = 1
        while c <= ni:
            y = Y[in_idx[k0 + c - 1]]
            acc = 0.0
            for p in range(P):
                acc += d[p] * y[p]
            g[base + c] -= acc
            c += 1
        # δ pushed back to the neurons feeding this one (after the sums: they
        # do not read those rows, and a feeding row is never this one)
        for k in range(ni):
            src = in_idx[k0 + k]
            if src >= n_in:
                wk = w[base + 1 + k]
                back = Dl[src]
                for p in range(P):
                    back[p] += d[p] * wk
    return 0.5 * E



@njit(**JIT)
def block_jacobian(w, data, topo, start, block):
    """Forward pass, transposed Jacobian and errors of one block of patterns.

    ``data`` is ``(XT, DT)``, ``block = (Y, S, Dl, reached, JT, e)`` its
    buffers; the block is patterns ``start … start + nb − 1`` with
    nb = ``Y.shape[1]``. ``JT`` (N, nb·M) receives Jᵀ of the block and ``e``
    (nb·M,) its errors, pattern-major as for the whole data. Returns E = ½Σe²
    of the block.
    """
    Y, S = block[0], block[1]
    load_inputs(data[0], start, Y)
    forward(w, Y, S, topo)
    return block_jacobian_at(w, data[1], topo, start, block)


@njit(**JIT)
def block_jacobian_at(w, DT, topo, start, block):
    """:func:`block_jacobian` for a block whose forward pass at ``w`` is already in its ``Y``/``S``."""
    Y, S, Dl, reached, JT, e = block
    jacobian_cols(w, Y, S, topo, JT, 0, Dl, reached)
    out_idx = topo.out_idx
    M = out_idx.shape[0]
    nb = Y.shape[1]
    for m in range(M):
        o = Y[out_idx[m]]
        d = DT[m]
        for p in range(nb):
            e[p * M + m] = d[start + p] - o[p]
    return 0.5 * add_squared_errors(Y, DT, out_idx, start, 0.0)
