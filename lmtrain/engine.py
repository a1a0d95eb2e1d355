"""Compiled kernels: forward pass, unit-δ backward pass, Jacobian rows, gradient,
quasi-Hessian accumulation and the linear solves of the update rules.

The chapter's computation (§12.3.1), in our notation:

* forward, for every neuron j in topological order (eqs. 12.27–12.30)::

      net_j = w_j0 + Σ_i w_ji · y_ji,   y_j = f_j(net_j),   s_j = f_j'(net_j)

* backward with a **unit error**, once per output m (eqs. 12.35, 12.46–12.52):
  start at the output neuron with δ_m,o = s_o, push δ back through the weights
  (δ_k += δ_j · w_jk for every neuron k feeding j) and multiply by the slope of
  every neuron reached;
* Jacobian entries (eq. 12.36): ∂e_pm/∂w_ji = −δ_m,j · y_ji (y = 1 for the bias);
* gradient g = Jᵀe (eq. 12.18) from one backward pass per pattern that carries
  the real errors e_pm = d_pm − o_pm instead of unit values (eq. 12.34);
* quasi-Hessian Q = JᵀJ and g = Jᵀe accumulated block by block of patterns, so
  memory is O(N²) rather than O(P·M·N).

Error measure used everywhere (eq. 12.1): E = ½ Σ_p Σ_m e_pm². With the ½, the
gradient of E is exactly g = Jᵀe.

Data layout. A network is a tuple of flat arrays ``topo = (n_in, in_ptr, in_idx,
w_ptr, act, gain, out_idx)`` (see :meth:`lmtrain.network.Network.topology`).
Nodes are numbered inputs first, then neurons in topological order, so one
forward sweep and one reverse sweep serve any feed-forward graph. Node values
are stored node-major with the patterns contiguous, ``Y[node, p]``, so the inner
loops run over patterns and vectorise. Rows 0..n_in-1 of ``Y`` hold the inputs.

The training loops keep the Jacobian transposed, ``JT = Jᵀ`` of shape (N, P·M)
(:func:`jacobian_cols`): a row of JT runs over the patterns like a row of
``Y``, so it is written as fast as ``Y`` is read, and JᵀJ, Jᵀe and Jᵀr are sums
along its rows. The row-layout kernels (:func:`jacobian_rows`, :func:`gram`,
:func:`damped_step`, :func:`matvec_t`) serve callers that hold J as (P·M, N).

Speed notes (measured; see the README's Speed section). ``tanh`` is
:func:`tanh`, a branch-free formula through ``expm1`` that vectorises (the C
library's ``tanh`` does not) and agrees with ``numpy.tanh`` to a few units in
the last place. Kernels use ``error_model="numpy"`` (no zero-division check,
which stops a loop from vectorising); none divides by a value that can be
zero. Sums run in the order of the plain loops, so apart from ``tanh`` and the
Cholesky factorisation the arithmetic is that of the straightforward code;
JJᵀ of at most eight residuals (:func:`_gram_cols_small`) and the net values
of the forward pass (:func:`_net_rows`) are summed in vector registers, in
that same order.
Array copies are loops, not slice assignments: a slice assignment compiles
the code that formats its shape-mismatch message, a large share of the
compile time. The hot kernels and the training loop work on borrowed views
(:func:`borrow`): compiled code otherwise counts references to every row
view and tuple member it touches, an atomic operation each, about 10 % of a
parity-3 LM iteration.

All kernels assume valid input (the public wrappers in ``network.py`` check it).
"""

from __future__ import annotations

import math

import numpy as np
from llvmlite import ir
from numba import njit, types
from numba.core import cgutils, config
from numba.core.imputils import impl_ret_borrowed
from numba.extending import intrinsic

from .activations import BIPOLAR, UNIPOLAR

#: options of every kernel: cached on disk, no zero-division checks in loops
_JIT = dict(cache=True, error_model="numpy")

# ln 2 split so that k·_LN2_HI is exact for |k| < 2**11 (Cody–Waite reduction)
_LN2_HI = 6.93147180369123816490e-01
_LN2_LO = 1.90821492927058770002e-10
_INV_LN2 = 1.44269504088896338700e00
_ROUND = 6755399441055744.0  # 1.5·2**52: x + _ROUND − _ROUND rounds x to an integer


def _unowned(context, builder, ty, value):
    """``value`` of type ``ty`` with every array's owner pointers (meminfo, parent) set to null."""
    if isinstance(ty, types.Array):
        ary = context.make_array(ty)(context, builder, value=value)
        ary.meminfo = cgutils.get_null_value(ary.meminfo.type)
        ary.parent = cgutils.get_null_value(ary.parent.type)
        return ary._getvalue()
    if isinstance(ty, types.BaseTuple):
        for i, t in enumerate(ty):
            item = _unowned(context, builder, t, builder.extract_value(value, i))
            value = builder.insert_value(value, item, i)
    return value


def _borrowable(ty):
    if isinstance(ty, types.BaseTuple):
        return all(_borrowable(t) for t in ty)
    return isinstance(ty, (types.Array, types.Number, types.Boolean))


@intrinsic
def _borrow(typingctx, x):
    """``x`` (an array, or a tuple of arrays and numbers) as views that hold no reference to their memory.

    Compiled code counts references to every array it handles: each row
    view, each array taken out of a tuple and each argument of an inlined
    function costs an atomic increment and decrement (about 190 on a parity-3
    LM iteration, 10 % of its time). Operations on a borrowed view skip the
    atomic operation (Numba's reference counting ignores a null owner). The
    caller must keep the original alive for as long as the views are used:
    a borrowed view is never stored or returned to Python.
    """
    if not _borrowable(x):
        return None

    def codegen(context, builder, sig, args):
        return _unowned(context, builder, x, args[0])

    return x(x), codegen


@intrinsic
def _rows(typingctx, buf, start, n_rows, n_cols):
    """``buf[start:start + n_rows·n_cols].reshape((n_rows, n_cols))`` for a C-contiguous 1-D float64 ``buf``.

    The view is made directly (the caller guarantees the range lies inside
    ``buf``): Numba's reshape goes through a general C helper, about 12 ns a
    call, and a small trial carves nine arrays from its work space.
    """
    if not (isinstance(buf, types.Array) and buf.ndim == 1 and buf.dtype == types.float64 and buf.layout == "C"
            and all(isinstance(t, types.Integer) for t in (start, n_rows, n_cols))):
        return None
    retty = types.Array(types.float64, 2, "C")

    def codegen(context, builder, sig, args):
        src = context.make_array(sig.args[0])(context, builder, value=args[0])
        start, r, c = (context.cast(builder, args[i], sig.args[i], types.intp) for i in (1, 2, 3))
        out = context.make_array(retty)(context, builder)
        itemsize = context.get_constant(types.intp, 8)
        context.populate_array(out, data=builder.gep(src.data, [start]), shape=cgutils.pack_array(builder, [r, c]),
                               strides=cgutils.pack_array(builder, [builder.mul(c, itemsize), itemsize]),
                               itemsize=itemsize, meminfo=src.meminfo, parent=None)
        return impl_ret_borrowed(context, builder, retty, out._getvalue())

    return retty(buf, start, n_rows, n_cols), codegen


def _rows_py(buf, start, n_rows, n_cols):
    """:func:`_rows` with NumPy (interpreted runs)."""
    return buf[start:start + n_rows * n_cols].reshape((n_rows, n_cols))


#: interpreted (NUMBA_DISABLE_JIT=1): NumPy's reshape
rows = _rows_py if config.DISABLE_JIT else _rows


@intrinsic
def _bits_to_float(typingctx, i):
    """The float64 whose IEEE-754 bits are the int64 ``i``."""
    if not (isinstance(i, types.Integer) and i.bitwidth == 64):
        return None

    def codegen(context, builder, sig, args):
        return builder.bitcast(args[0], context.get_value_type(types.float64))

    return types.float64(i), codegen


def _float_from_bits_py(i):
    """:func:`_bits_to_float` in Python."""
    return float(np.array(i, dtype=np.int64).view(np.float64))


def _same(x):
    return x


#: interpreted (NUMBA_DISABLE_JIT=1) there are no references to count
borrow = _same if config.DISABLE_JIT else _borrow
borrow.__doc__ = _borrow.__doc__
# (an intrinsic, not an overload with a Python fallback: through an overload
# the forward pass no longer vectorised and the LM iteration was 5 % slower)
_float_from_bits = _float_from_bits_py if config.DISABLE_JIT else _bits_to_float


@njit(**_JIT)
def tanh(x):
    """tanh(x) through expm1, without branches so loops over it vectorise.

    With a = min(|x|, 20) and u = expm1(−2a): tanh(|x|) = −u / (2 + u), then the
    sign of x is copied back (tanh(20) rounds to 1). expm1 is evaluated as
    2^k (expm1(r) + 1) − 1 with −2a = k·ln 2 + r, |r| ≤ ln 2 / 2, and a degree-14
    Taylor polynomial for expm1(r); 2^k (k ∈ [−58, 0]) is written directly as
    the bits of a double (its exponent field), which took a chain of six
    multiplications off every tanh. Accurate to a few units in the last place of
    ``numpy.tanh`` everywhere, including tiny |x| (no cancellation), ±0, ±inf;
    NaN gives NaN.
    """
    a = abs(x)
    a = 20.0 if a > 20.0 else a  # keeps NaN
    z = -2.0 * a
    kf = (z * _INV_LN2 + _ROUND) - _ROUND
    kf = kf if kf > -63.0 else -63.0  # NaN → −63, a harmless finite value
    r = (z - kf * _LN2_HI) - kf * _LN2_LO
    p = 1.0 / 87178291200.0
    p = 1.0 / 6227020800.0 + r * p
    p = 1.0 / 479001600.0 + r * p
    p = 1.0 / 39916800.0 + r * p
    p = 1.0 / 3628800.0 + r * p
    p = 1.0 / 362880.0 + r * p
    p = 1.0 / 40320.0 + r * p
    p = 1.0 / 5040.0 + r * p
    p = 1.0 / 720.0 + r * p
    p = 1.0 / 120.0 + r * p
    p = 1.0 / 24.0 + r * p
    p = 1.0 / 6.0 + r * p
    p = 0.5 + r * p
    em = r + r * (r * p)  # expm1(r)
    s = _float_from_bits((np.int64(1023) + np.int64(kf)) << 52)  # 2^k exactly (k ≥ −63: normal)
    u = s * em + (s - 1.0)  # expm1(z); s − 1 is exact
    return math.copysign(-u / (2.0 + u), x)


@njit(**_JIT)
def tanh_array(x, out):
    """``out[i] = tanh(x[i])`` with :func:`tanh` (for tests and benchmarks)."""
    for i in range(x.shape[0]):
        out[i] = tanh(x[i])


@njit(**_JIT)
def copy_vec(src, dst):
    """dst[:] = src for 1-D arrays of equal length (a loop: no shape-check code to compile)."""
    for i in range(src.shape[0]):
        dst[i] = src[i]


@njit(**_JIT)
def copy_mat(src, dst):
    """dst[:, :] = src for 2-D arrays of equal shape."""
    for i in range(src.shape[0]):
        s = src[i]
        d = dst[i]
        for j in range(s.shape[0]):
            d[j] = s[j]


@njit(**_JIT)
def transpose(src, dst):
    """dst = srcᵀ for a 2-D ``src`` of shape (a, b) and ``dst`` of shape (b, a)."""
    src, dst = borrow((src, dst))
    for i in range(src.shape[0]):
        s = src[i]
        for j in range(s.shape[0]):
            dst[j, i] = s[j]


#: patterns per vector register in :func:`_net_rows` (eight doubles: one AVX-512 register)
NET_LANES = 8


@intrinsic
def _net_rows(typingctx, w, base, Y, in_idx, k0, k1, node):
    """``Y[node] = w[base] + Σ_k w[base + 1 + k − k0]·Y[in_idx[k]]`` (k0 ≤ k < k1), in vector registers.

    The net values of a neuron, eight patterns at a time: each block of eight
    sums stays in one register while the neuron's inputs are added (the same
    operations in the same order as the plain loops, a product then a sum,
    never fused), and is stored once; a last block of fewer than eight
    patterns is loaded and stored under a mask. As plain loops, the compiled
    code summed into the row in memory, four patterns per instruction for
    short rows, and the activation then read the row back eight at a time, a
    read that has to wait for both halves to reach memory: the parity-3
    forward pass was 12 % slower and 2-20-20-1's on 13 patterns 22 %.
    ``Y`` must be C-contiguous.
    """
    ok = (isinstance(Y, types.Array) and Y.ndim == 2 and Y.dtype == types.float64 and Y.layout == "C"
          and isinstance(w, types.Array) and w.ndim == 1 and w.dtype == types.float64
          and isinstance(in_idx, types.Array) and in_idx.ndim == 1 and isinstance(in_idx.dtype, types.Integer)
          and all(isinstance(t, types.Integer) for t in (base, k0, k1, node)))
    if not ok:
        return None
    L = NET_LANES

    def codegen(context, builder, sig, args):
        wty, _, yty, ity = sig.args[:4]
        wa = context.make_array(wty)(context, builder, value=args[0])
        ya = context.make_array(yty)(context, builder, value=args[2])
        ia = context.make_array(ity)(context, builder, value=args[3])
        P = builder.extract_value(ya.shape, 1)
        i64 = P.type
        base, k0, k1, node = (context.cast(builder, args[i], sig.args[i], types.int64) for i in (1, 4, 5, 6))
        i32 = ir.IntType(32)
        vec = ir.VectorType(ir.DoubleType(), L)
        ivec = ir.VectorType(i64, L)
        mty = ir.VectorType(ir.IntType(1), L)
        vptr = vec.as_pointer()
        zero = ir.Constant(vec, [0.0] * L)
        undef = ir.Constant(vec, ir.Undefined)
        lane0 = ir.Constant(ir.VectorType(i32, L), [0] * L)
        one = ir.Constant(i64, 1)

        def splat(x, like):
            return builder.shuffle_vector(builder.insert_element(like, x, ir.Constant(i32, 0)), like, lane0)

        def w_at(i):
            return builder.load(cgutils.get_item_pointer(context, builder, wty, wa, [i]))

        mod = builder.module
        load_masked = cgutils.get_or_insert_function(
            mod, ir.FunctionType(vec, [vptr, i32, mty, vec]), f"llvm.masked.load.v{L}f64.p0")
        store_masked = cgutils.get_or_insert_function(
            mod, ir.FunctionType(ir.VoidType(), [vec, vptr, i32, mty]), f"llvm.masked.store.v{L}f64.p0")
        bias = splat(w_at(base), undef)
        w1 = builder.sub(builder.add(base, one), k0)  # weight of input k: w[w1 + k]
        out_row = builder.gep(ya.data, [builder.mul(node, P)])
        n_full = builder.sdiv(P, ir.Constant(i64, L))

        def block(c0, mask):
            acc = cgutils.alloca_once_value(builder, bias)
            with cgutils.for_range_slice(builder, k0, k1, one, inc=True) as (k, _):
                wk = splat(w_at(builder.add(w1, k)), undef)
                src = builder.load(cgutils.get_item_pointer(context, builder, ity, ia, [k]))
                src = context.cast(builder, src, ity.dtype, types.int64)
                p = builder.bitcast(builder.gep(ya.data, [builder.add(builder.mul(src, P), c0)]), vptr)
                if mask is None:
                    x = builder.load(p, align=8)
                else:
                    x = builder.call(load_masked, [p, ir.Constant(i32, 8), mask, zero])
                builder.store(builder.fadd(builder.load(acc), builder.fmul(wk, x)), acc)
            q = builder.bitcast(builder.gep(out_row, [c0]), vptr)
            if mask is None:
                builder.store(builder.load(acc), q, align=8)
            else:
                builder.call(store_masked, [builder.load(acc), q, ir.Constant(i32, 8), mask])

        with cgutils.for_range(builder, n_full) as loop:
            block(builder.mul(loop.index, ir.Constant(i64, L)), None)
        rest = builder.srem(P, ir.Constant(i64, L))
        with builder.if_then(builder.icmp_signed(">", rest, ir.Constant(i64, 0))):
            mask = builder.icmp_signed("<", ir.Constant(ivec, list(range(L))), splat(rest, ir.Constant(ivec, ir.Undefined)))
            block(builder.mul(n_full, ir.Constant(i64, L)), mask)
        return context.get_dummy_value()

    return types.void(w, base, Y, in_idx, k0, k1, node), codegen


def _net_rows_py(w, base, Y, in_idx, k0, k1, node):
    """:func:`_net_rows` as the plain loops (interpreted runs)."""
    row = Y[node]
    row[:] = w[base]
    for k in range(k0, k1):
        wk = w[base + 1 + k - k0]
        src = Y[in_idx[k]]
        for p in range(Y.shape[1]):
            row[p] += wk * src[p]


#: interpreted (NUMBA_DISABLE_JIT=1): the loops in Python
net_rows = _net_rows_py if config.DISABLE_JIT else _net_rows


@njit(**_JIT)
def forward(w, Y, S, topo):
    """Fill neuron rows of ``Y`` (outputs) and ``S`` (slopes) from the input rows.

    ``Y`` and ``S`` have shape (n_nodes, P); ``Y[:n_in]`` must already hold the
    inputs. Eqs. 12.27–12.30. With at least :data:`NET_LANES` patterns the net
    values are summed in vector registers (:func:`_net_rows`, the same
    arithmetic); fewer patterns keep the plain loops, which were faster there.
    """
    n_in, in_ptr, in_idx, w_ptr, act, gain, out_idx = topo
    P = Y.shape[1]
    for j in range(act.shape[0]):
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
        activate(row, S[node], act[j], gain[j])


# inlined where it is used: as a called function it made the parity-3 forward
# pass 10 % slower (a call per neuron)
@njit(inline="always", **_JIT)
def activate(row, srow, code, g):
    """``row`` (net values) → outputs y = f(g·net) in place, ``srow`` → slopes (eqs. 12.29–12.30).

    Bipolar: y = tanh(g·net), s = g(1 − y²); unipolar: y = 1/(1 + e^(−g·net)),
    s = g·y(1 − y); linear: y = g·net, s = g.
    """
    n = row.shape[0]
    if code == BIPOLAR:
        for p in range(n):
            y = tanh(g * row[p])
            row[p] = y
            srow[p] = g * (1.0 - y * y)
    elif code == UNIPOLAR:
        for p in range(n):
            y = 1.0 / (1.0 + math.exp(-g * row[p]))
            row[p] = y
            srow[p] = g * y * (1.0 - y)
    else:
        for p in range(n):
            row[p] = g * row[p]
            srow[p] = g


@njit(**_JIT)
def half_sse(Y, DT, topo):
    """E = ½ Σ_p Σ_m (d_pm − o_pm)² from a finished forward pass (eq. 12.1)."""
    out_idx = topo[6]
    P = Y.shape[1]
    acc = 0.0
    for m in range(out_idx.shape[0]):
        o = Y[out_idx[m]]
        d = DT[m]
        for p in range(P):
            e = d[p] - o[p]
            acc += e * e
    return 0.5 * acc


@njit(**_JIT)
def errors(Y, DT, topo, e):
    """Error vector e_pm = d_pm − o_pm, pattern-major (index p·M + m, eq. 12.2)."""
    out_idx = topo[6]
    M = out_idx.shape[0]
    P = Y.shape[1]
    for m in range(M):
        o = Y[out_idx[m]]
        d = DT[m]
        for p in range(P):
            e[p * M + m] = d[p] - o[p]


@njit(**_JIT)
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


@njit(**_JIT)
def jacobian_rows(w, Y, S, topo, J, row0, Dl, reached):
    """Jacobian rows ``row0 + p·M + m`` of ``J`` (shape (R, N)); see :func:`jacobian_cols`."""
    jacobian_cols(w, Y, S, topo, J.T, row0, Dl, reached)


@njit(**_JIT)
def gradient(w, Y, S, DT, topo, g, Dl):
    """g = Jᵀe with one backward pass carrying the real errors (eq. 12.34).

    Uses the forward pass held in ``Y``/``S``; overwrites ``g`` and returns
    E = ½ Σ e². ``Dl`` (n_nodes, P) is work space.

    A neuron's sums Σ_p δ_p y_p are formed four at a time: one sum is a chain
    of dependent additions, and four independent chains overlap in the
    processor (2.4× faster on parity-7, 7-7-1; each sum still runs over p in
    order, so g is that of the one-sum-at-a-time loop to the last bit).
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
    E = 0.0
    for m in range(out_idx.shape[0]):
        o = Y[out_idx[m]]
        d = DT[m]
        dl = Dl[out_idx[m]]
        for p in range(P):
            e = d[p] - o[p]
            E += e * e
            dl[p] += e
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


@njit(**_JIT)
def load_inputs(XT, start, Y):
    """Copy patterns ``start … start + Y.shape[1] − 1`` of ``XT`` into the input rows of ``Y``."""
    nb = Y.shape[1]
    for i in range(XT.shape[0]):
        x = XT[i]
        y = Y[i]
        for p in range(nb):
            y[p] = x[start + p]


@njit(**_JIT)
def block_jacobian(w, XT, DT, topo, start, Y, S, Dl, reached, JT, e):
    """Forward pass, transposed Jacobian and errors of one block of patterns.

    The block is patterns ``start … start + nb − 1`` with nb = ``Y.shape[1]``;
    ``JT`` (N, nb·M) receives Jᵀ of the block and ``e`` (nb·M,) its errors,
    pattern-major as for the whole data. Returns E = ½Σe² of the block.
    """
    load_inputs(XT, start, Y)
    forward(w, Y, S, topo)
    return block_jacobian_at(w, DT, topo, start, Y, S, Dl, reached, JT, e)


@njit(**_JIT)
def block_jacobian_at(w, DT, topo, start, Y, S, Dl, reached, JT, e):
    """:func:`block_jacobian` for a block whose forward pass at ``w`` is already in ``Y``/``S``."""
    jacobian_cols(w, Y, S, topo, JT, 0, Dl, reached)
    out_idx = topo[6]
    M = out_idx.shape[0]
    nb = Y.shape[1]
    E = 0.0
    for m in range(M):
        o = Y[out_idx[m]]
        d = DT[m]
        for p in range(nb):
            ep = d[start + p] - o[p]
            e[p * M + m] = ep
            E += ep * ep
    return 0.5 * E


@njit(**_JIT)
def blocked_error(w, XT, DT, topo, Y, S, Yr, Sr, above):
    """E = ½Σe² over all patterns with forward passes of ``Y.shape[2]`` patterns at a time.

    Full block b goes into ``Y[b]``/``S[b]`` (shape (blocks, nodes, B)), or
    into ``Y[0]``/``S[0]`` for all blocks when there is one of them (memory
    that of one block however many patterns); ``Yr``/``Sr`` serve the last,
    shorter block (width P mod B; any width when there is none).

    Stops after the first block at which the sum so far exceeds ``above``
    and returns that part: the whole sum, which only grows, exceeds it too.
    (An LM try is rejected as soon as its error exceeds the current one.)
    """
    P = XT.shape[1]
    B = Y.shape[2]
    out_idx = topo[6]
    E = 0.0
    start = 0
    b = 0
    while start < P:
        full = P - start >= B
        Yb = Y[b if b < Y.shape[0] else 0] if full else Yr
        Sb = S[b if b < S.shape[0] else 0] if full else Sr
        b += 1
        nb = Yb.shape[1]
        load_inputs(XT, start, Yb)
        forward(w, Yb, Sb, topo)
        for m in range(out_idx.shape[0]):
            o = Yb[out_idx[m]]
            d = DT[m]
            for p in range(nb):
                ep = d[start + p] - o[p]
                E += ep * ep
        start += nb
        if 0.5 * E > above:
            break
    return 0.5 * E


@njit(**_JIT)
def add_matvec_t(J, e, g):
    """g += Jᵀe for J of shape (R, N), row by row (contiguous, vectorises)."""
    R, N = J.shape
    for r in range(R):
        er = e[r]
        Jr = J[r]
        for i in range(N):
            g[i] += Jr[i] * er


@njit(**_JIT)
def add_gram(J, Q):
    """Q += JᵀJ for J of shape (R, N), one rank-1 update per row.

    Each update runs along whole rows of Q (contiguous, so it vectorises) and
    adds the same products in the same order to Q[a, b] and Q[b, a], so Q
    stays exactly symmetric.
    """
    R, N = J.shape
    for r in range(R):
        Jr = J[r]
        for a in range(N):
            ja = Jr[a]
            if ja != 0.0:
                Qa = Q[a]
                for b in range(N):
                    Qa[b] += ja * Jr[b]


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
    # negative values, and the guard kept them scalar: 3× slower)
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
    row, along contiguous memory, from the row of C. Against writing each
    entry and its three mirror images, two of them down columns: 0.12 →
    0.08 ms alone for 2-20-20-1's second layer, 0.39–0.48 → 0.33–0.36 ms
    inside the LM iteration, where Q is not in the cache.
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


@njit(**_JIT)
def accumulate(w, XT, DT, topo, block, Q, g):
    """Q = JᵀJ, g = Jᵀe and E = ½Σe² without storing J (memory O(N²)).

    Patterns are processed ``block`` at a time: forward pass, Jacobian rows of
    the block, then Q += J_bᵀJ_b and g += J_bᵀe_b by one rank-1 update per row.
    ``block = 1`` is the pattern-by-pattern accumulation of the NBN algorithm
    (Table 12.1). (Training itself forms Q from whole blocks with BLAS, see
    :mod:`lmtrain.algorithms.lm_blocked`.)
    """
    n_in = topo[0]
    M = topo[6].shape[0]
    N = w.shape[0]
    P = XT.shape[1]
    n_nodes = n_in + topo[4].shape[0]
    B = min(block, P)
    Y = np.empty((n_nodes, B))
    S = np.zeros((n_nodes, B))
    Dl = np.empty((n_nodes, B))
    reached = np.zeros(n_nodes, dtype=np.bool_)
    JT = np.empty((N, B * M))
    J = np.empty((B * M, N))
    e = np.empty(B * M)
    for a in range(N):
        g[a] = 0.0
        Qa = Q[a]
        for b in range(N):
            Qa[b] = 0.0
    E = 0.0
    for start in range(0, P, B):
        nb = min(B, P - start)
        if nb < B:
            Y = np.empty((n_nodes, nb))
            S = np.zeros((n_nodes, nb))
            Dl = np.empty((n_nodes, nb))
            JT = np.empty((N, nb * M))
            J = np.empty((nb * M, N))
            e = np.empty(nb * M)
        E += block_jacobian(w, XT, DT, topo, start, Y, S, Dl, reached, JT, e)
        transpose(JT, J)
        add_gram(J, Q)
        add_matvec_t(J, e, g)
    return E


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
    updates at every size measured (README, Speed section).
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
    multiples of 4); they get the values of their mirror images. Against one
    row by four: 64×64 from L = 128 (parity-7's JᵀJ) 26 % faster, 16×16 from
    L = 22 22 %; below n = 16 it was slower (up to 14 % at n = 6–7, and the
    parity-3 LM loop, n = 8, 3 %), so :func:`gram_rows` keeps one by four there.
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


#: lanes of the vector accumulators of :func:`_gram_cols_small` (eight doubles: one AVX-512 register)
GRAM_LANES = 8


@intrinsic
def _gram_cols_small(typingctx, JT, G):
    """G = JJᵀ (R × R) from JT = Jᵀ (N, R) for R ≤ :data:`GRAM_LANES`, summed over the rows of JT.

    G[a, b] = Σ_i JT[i, a]·JT[i, b] is added up in the order of the plain
    loops (i = 0, 1, …, starting from 0.0; a product then a sum, never fused),
    so the result is bit for bit that of :func:`gram_rows` on J. Each row a of
    G is one vector of eight sums, and a row of JT is one vector load: per
    row of JT, eight independent vector multiply-adds instead of R² scalar
    ones in chains of dependent additions (parity-3's 8 × 8 system: 37 ns
    instead of 220 ns, and no transpose of JT). Rows of JT are loaded whole
    where eight values fit before its end (the lanes past R then hold the
    next row: they only reach lanes and rows of G that are not stored) and
    with a masked load otherwise.
    """
    ok = all(isinstance(t, types.Array) and t.ndim == 2 and t.dtype == types.float64 and t.layout == "C"
             for t in (JT, G))
    if not ok:
        return None
    W = GRAM_LANES

    def codegen(context, builder, sig, args):
        jt = context.make_array(sig.args[0])(context, builder, value=args[0])
        g = context.make_array(sig.args[1])(context, builder, value=args[1])
        N = builder.extract_value(jt.shape, 0)
        R = builder.extract_value(jt.shape, 1)
        i64 = R.type
        i32 = ir.IntType(32)
        vec = ir.VectorType(ir.DoubleType(), W)
        ivec = ir.VectorType(i64, W)
        vptr = vec.as_pointer()
        zero = ir.Constant(vec, [0.0] * W)
        undef = ir.Constant(vec, ir.Undefined)
        lane0 = ir.Constant(ir.VectorType(i32, W), [0] * W)

        def splat(x, like):
            return builder.shuffle_vector(builder.insert_element(like, x, ir.Constant(i32, 0)), like, lane0)

        mask = builder.icmp_signed("<", ir.Constant(ivec, list(range(W))), splat(R, ir.Constant(ivec, ir.Undefined)))
        mod = builder.module
        load_masked = cgutils.get_or_insert_function(
            mod, ir.FunctionType(vec, [vptr, i32, mask.type, vec]), f"llvm.masked.load.v{W}f64.p0")
        store_masked = cgutils.get_or_insert_function(
            mod, ir.FunctionType(ir.VoidType(), [vec, vptr, i32, mask.type]), f"llvm.masked.store.v{W}f64.p0")
        acc = [cgutils.alloca_once_value(builder, zero) for _ in range(W)]

        def add_row(i, masked):
            p = builder.bitcast(builder.gep(jt.data, [builder.mul(i, R)]), vptr)
            row = builder.call(load_masked, [p, ir.Constant(i32, 8), mask, zero]) if masked else builder.load(p, align=8)
            for a in range(W):
                x = splat(builder.extract_element(row, ir.Constant(i32, a)), undef)
                builder.store(builder.fadd(builder.load(acc[a]), builder.fmul(x, row)), acc[a])

        # rows i whose eight values stay inside JT: i·R + W ≤ N·R
        span = builder.sub(builder.mul(N, R), ir.Constant(i64, W))
        whole = builder.select(builder.icmp_signed("<", span, ir.Constant(i64, 0)), ir.Constant(i64, 0),
                               builder.add(builder.sdiv(span, R), ir.Constant(i64, 1)))
        whole = builder.select(builder.icmp_signed(">", whole, N), N, whole)
        with cgutils.for_range(builder, whole) as loop:
            add_row(loop.index, False)
        with cgutils.for_range_slice(builder, whole, N, ir.Constant(i64, 1), inc=True) as (i, _):
            add_row(i, True)
        with builder.if_else(builder.icmp_signed("==", R, ir.Constant(i64, W))) as (full, part):
            with full:
                for a in range(W):
                    p = builder.bitcast(builder.gep(g.data, [ir.Constant(i64, W * a)]), vptr)
                    builder.store(builder.load(acc[a]), p, align=8)
            with part:
                for a in range(W):
                    with builder.if_then(builder.icmp_signed("<", ir.Constant(i64, a), R)):
                        p = builder.bitcast(builder.gep(g.data, [builder.mul(ir.Constant(i64, a), R)]), vptr)
                        builder.call(store_masked, [builder.load(acc[a]), p, ir.Constant(i32, 8), mask])
        return context.get_dummy_value()

    return types.void(JT, G), codegen


def _gram_cols_small_py(JT, G):
    """:func:`_gram_cols_small` in Python (the same sums in the same order)."""
    N, R = JT.shape
    for a in range(R):
        for b in range(R):
            s = 0.0
            for i in range(N):
                s += JT[i, a] * JT[i, b]
            G[a, b] = s


#: interpreted (NUMBA_DISABLE_JIT=1): the loops in Python
gram_cols_small = _gram_cols_small_py if config.DISABLE_JIT else _gram_cols_small


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
def gram(J, G, small_side):
    """G = JJᵀ when ``small_side`` (rows < columns), else G = JᵀJ, for J of shape (R, N)."""
    if small_side:
        gram_rows(J, G)
    else:
        gram_rows(J.T, G)


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


@njit(**_JIT)
def matvec_t(J, e, g):
    """g = Jᵀe for J of shape (R, N)."""
    for i in range(g.shape[0]):
        g[i] = 0.0
    add_matvec_t(J, e, g)


_U1 = np.uint64(1)


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
    vectorising (3× slower for n = 501). Each pivot is inverted once and
    multiplied, not divided by n times: on small systems the chain of
    divisions was most of the time. The forward substitution Uᵀz = b runs
    inside the factorisation, a column as soon as its row of U is known
    (the same operations in the same order as a separate pass, which it
    overlaps: 8×8 systems 9 % faster).
    """
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


@njit(**_JIT)
def damped_step_t(JT, e, g, G, small_side, mu, A, rhs, delta):
    """Δ = (JᵀJ + μI)⁻¹ Jᵀe from JT = Jᵀ (eq. 12.25; μ = 0 gives Gauss–Newton, eq. 12.23).

    With fewer rows than columns the identical step Jᵀ(JJᵀ + μI)⁻¹e is solved
    instead (a P·M-sized system); for μ = 0 that is the minimum-norm step J⁺e.
    ``G`` holds :func:`gram_t` of JT; ``g`` = Jᵀe. Returns False when the system
    is numerically singular.
    """
    JT, e, g, G, A, rhs, delta = borrow((JT, e, g, G, A, rhs, delta))
    n = G.shape[0]
    for a in range(n):
        Ga = G[a]
        Aa = A[a]
        for b in range(n):
            Aa[b] = Ga[b]
        Aa[a] += mu
    if small_side:
        for a in range(n):
            rhs[a] = e[a]
        if not cholesky_solve(A, rhs):
            return False
        matvec(JT, rhs, delta)
    else:
        for a in range(n):
            rhs[a] = g[a]
        if not cholesky_solve(A, rhs):
            return False
        for a in range(n):
            delta[a] = rhs[a]
    for i in range(delta.shape[0]):
        if not math.isfinite(delta[i]):
            return False
    return True


@njit(**_JIT)
def damped_step(J, e, g, G, small_side, mu, A, rhs, delta):
    """:func:`damped_step_t` for J of shape (R, N), with ``G`` from :func:`gram`."""
    return damped_step_t(J.T, e, g, G, small_side, mu, A, rhs, delta)


@njit(**_JIT)
def norm(v):
    """Euclidean norm ‖v‖."""
    s = 0.0
    for i in range(v.shape[0]):
        s += v[i] * v[i]
    return math.sqrt(s)


@njit(**_JIT)
def lu_solve(A, b):
    """Solve A x = b by Gaussian elimination with partial pivoting, in place.

    For symmetric systems that are not positive definite (an indefinite Newton
    Hessian). Returns False when a pivot is below n·eps times the largest entry
    (singular to working precision).
    """
    n = A.shape[0]
    amax = 0.0
    for i in range(n):
        for j in range(n):
            if abs(A[i, j]) > amax:
                amax = abs(A[i, j])
    if not (amax > 0.0) or not math.isfinite(amax):
        return False
    tol = n * 2.220446049250313e-16 * amax
    for c in range(n):
        piv = c
        for r in range(c + 1, n):
            if abs(A[r, c]) > abs(A[piv, c]):
                piv = r
        if not (abs(A[piv, c]) > tol):
            return False
        if piv != c:
            for j in range(n):
                t = A[c, j]
                A[c, j] = A[piv, j]
                A[piv, j] = t
            t = b[c]
            b[c] = b[piv]
            b[piv] = t
        for r in range(c + 1, n):
            f = A[r, c] / A[c, c]
            if f != 0.0:
                for j in range(c, n):
                    A[r, j] -= f * A[c, j]
                b[r] -= f * b[c]
    for i in range(n - 1, -1, -1):
        s = b[i]
        for j in range(i + 1, n):
            s -= A[i, j] * b[j]
        b[i] = s / A[i, i]
    return True
