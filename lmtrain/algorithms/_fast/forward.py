"""Speed twin of the forward computation: all patterns of a neuron at once.

Twin of :func:`lmtrain.kernels.forward_pattern` and :func:`lmtrain.kernels.error`.
The plain kernels take one pattern at a time; here node values are stored
node-major with the patterns contiguous, ``Y[node, p]``, so that every loop
runs over patterns and vectorises, and the net values of eq. 12.28 are summed
eight patterns per vector register (:func:`.simd.net_rows`). The sums are the
same operations in the same order as the plain kernel's, so the results are
those of the plain kernels except for ``tanh``, which is :func:`.simd.tanh`
here (a few units in the last place from ``math.tanh``).

Errors are summed pattern by pattern, outputs within a pattern (the order of
:func:`lmtrain.kernels.error`), so E is that of the plain kernel to the bit
for the same node values.
"""

from __future__ import annotations

from numba import njit

from ... import activations
from .simd import JIT, NET_LANES, borrow, net_rows, tanh


@njit(**JIT)
def copy_vec(src, dst):
    """dst[:] = src for 1-D arrays of equal length (a loop: no shape-check code to compile)."""
    for i in range(src.shape[0]):
        dst[i] = src[i]


@njit(**JIT)
def copy_rows(src, dst, first):
    """dst[first:, :] = src[first:] for 2-D arrays of equal shape."""
    for i in range(first, src.shape[0]):
        s = src[i]
        d = dst[i]
        for j in range(s.shape[0]):
            d[j] = s[j]


@njit(**JIT)
def transpose(src, dst):
    """dst = srcᵀ for a 2-D ``src`` of shape (a, b) and ``dst`` of shape (b, a)."""
    src, dst = borrow((src, dst))
    for i in range(src.shape[0]):
        s = src[i]
        for j in range(s.shape[0]):
            dst[j, i] = s[j]


@njit(**JIT)
def forward(w, Y, S, topo):
    """Fill the neuron rows of ``Y`` (outputs) and ``S`` (slopes) from its input rows.

    Twin of :func:`lmtrain.kernels.forward_pattern` for every pattern (eqs.
    12.27–12.30). ``Y`` and ``S`` have shape (n_nodes, P); ``Y[:n_in]`` must
    hold the inputs. From :data:`.simd.NET_LANES` patterns on the net values
    are summed in vector registers; fewer keep the loops, which were faster there.
    """
    n_in = topo.n_inputs
    in_ptr = topo.in_ptr
    in_idx = topo.in_idx
    w_ptr = topo.w_ptr
    P = Y.shape[1]
    for j in range(topo.act.shape[0]):
        node = n_in + j
        base = w_ptr[j]
        row = Y[node]
        if P >= NET_LANES:
            net_rows(w, base, Y, in_idx, in_ptr[j], in_ptr[j + 1], node)
        else:
            b = w[base]
            for p in range(P):
                row[p] = b
            k0 = in_ptr[j]
            for k in range(k0, in_ptr[j + 1]):
                wk = w[base + 1 + k - k0]
                src = Y[in_idx[k]]
                for p in range(P):
                    row[p] += wk * src[p]
        activate(row, S[node], topo.act[j], topo.gain[j])


# inlined where it is used: as a called function it cost a call per neuron
@njit(inline="always", **JIT)
def activate(row, srow, code, g):
    """``row`` (net values) → outputs y = f(g·net) in place, ``srow`` → slopes (eqs. 12.27, 12.30).

    Bipolar neurons use the vectorising :func:`.simd.tanh`; every other
    activation its record's own function (:func:`lmtrain.activations.activate`),
    so a new activation needs nothing here.
    """
    n = row.shape[0]
    if code == activations.BIPOLAR:
        for p in range(n):
            y = tanh(g * row[p])
            row[p] = y
            srow[p] = g * (1.0 - y * y)
    else:
        for p in range(n):
            row[p], srow[p] = activations.activate(code, g, row[p])


@njit(inline="always", **JIT)
def add_squared_errors(Y, DT, out_idx, start, acc):
    """``acc`` plus Σ e² of the patterns in ``Y`` (targets ``DT[:, start:]``), pattern by pattern."""
    M = out_idx.shape[0]
    P = Y.shape[1]
    if M == 1:
        o = Y[out_idx[0]]
        d = DT[0, start:start + P]  # sliced first: an index start + p would be guarded and keep the loop scalar
        for p in range(P):
            e = d[p] - o[p]
            acc += e * e
    else:
        for p in range(P):
            for m in range(M):
                e = DT[m, start + p] - Y[out_idx[m], p]
                acc += e * e
    return acc


@njit(**JIT)
def half_sse(Y, DT, topo):
    """E = ½ Σ_p Σ_m (d_pm − o_pm)² from a finished forward pass (eq. 12.1); twin of :func:`lmtrain.kernels.error`."""
    return 0.5 * add_squared_errors(Y, DT, topo.out_idx, 0, 0.0)


@njit(**JIT)
def errors(Y, DT, topo, e):
    """Error vector e_pm = d_pm − o_pm, pattern-major (index p·M + m, eq. 12.2)."""
    out_idx = topo.out_idx
    M = out_idx.shape[0]
    P = Y.shape[1]
    for m in range(M):
        o = Y[out_idx[m]]
        d = DT[m]
        for p in range(P):
            e[p * M + m] = d[p] - o[p]


@njit(**JIT)
def load_inputs(XT, start, Y):
    """Copy patterns ``start … start + Y.shape[1] − 1`` of ``XT`` into the input rows of ``Y``."""
    nb = Y.shape[1]
    for i in range(XT.shape[0]):
        x = XT[i]
        y = Y[i]
        for p in range(nb):
            y[p] = x[start + p]


@njit(**JIT)
def blocked_error(w, data, topo, full, tail, above):
    """E = ½Σe² over all patterns with forward passes of one block of patterns at a time.

    ``data`` is ``(XT, DT)``. Full block b goes into ``Y[b]``/``S[b]`` of
    ``full = (Y, S)`` (shape (blocks, nodes, B)), or into ``Y[0]``/``S[0]``
    for all blocks when there is one of them (memory that of one block
    however many patterns); ``tail = (Yr, Sr)`` serves the last, shorter
    block (width P mod B; any width when there is none).

    Stops after the first block at which the sum so far exceeds ``above`` and
    returns that part: the whole sum, which only grows, exceeds it too (an LM
    try is rejected as soon as its error exceeds the current one).
    """
    XT, DT = data
    Y, S = full
    Yr, Sr = tail
    P = XT.shape[1]
    B = Y.shape[2]
    acc = 0.0
    start = 0
    b = 0
    while start < P:
        whole = P - start >= B
        Yb = Y[b if b < Y.shape[0] else 0] if whole else Yr
        Sb = S[b if b < S.shape[0] else 0] if whole else Sr
        b += 1
        load_inputs(XT, start, Yb)
        forward(w, Yb, Sb, topo)
        acc = add_squared_errors(Yb, DT, topo.out_idx, start, acc)
        start += Yb.shape[1]
        if 0.5 * acc > above:
            break
    return 0.5 * acc
