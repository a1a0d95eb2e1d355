"""Compiler-level helpers of the speed twins: vector code written as LLVM IR, borrowed views, a branch-free tanh.

Nothing here is arithmetic the chapter describes; it is how the twins in this
package make the same arithmetic faster. Every intrinsic has a Python
equivalent that ``NUMBA_DISABLE_JIT=1`` uses, so interpreted runs take the
same steps:

* :func:`borrow` — views that skip Numba's reference counting (an atomic
  operation per array handled, a tenth of a small LM iteration);
* :func:`rows` — a 2-D view carved from a 1-D buffer without Numba's reshape;
* :func:`net_rows` — a neuron's net values for eight patterns per vector
  register (twin of the sum of eq. 12.28 in :func:`lmtrain.kernels.neuron_forward`);
* :func:`gram_cols_small` — JJᵀ of at most eight residuals in vector registers
  (twin of :func:`lmtrain.kernels.gram`);
* :func:`tanh` — tanh through ``expm1`` without branches, so that loops over
  it vectorise (twin of ``math.tanh`` in :func:`lmtrain.activations.bipolar`,
  within a few units in the last place);
* :func:`volatile_flag` — a read of a flag that another thread may set (Ctrl-C).

Measured effects of each choice are in ``docs/performance.md``.
"""

from __future__ import annotations

import math

import numpy as np
from llvmlite import ir
from numba import njit, types
from numba.core import cgutils, config
from numba.core.imputils import impl_ret_borrowed
from numba.extending import intrinsic, overload

#: options of every twin: cached on disk, no zero-division checks in loops
JIT = dict(cache=True, error_model="numpy")
_JIT = JIT

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
    function costs an atomic increment and decrement, a large share of a
    small LM iteration. Operations on a borrowed view skip the
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
    ``buf``): Numba's reshape goes through a general C helper, and a small
    trial carves nine arrays from its work space.
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
# the forward pass no longer vectorised)
_float_from_bits = _float_from_bits_py if config.DISABLE_JIT else _bits_to_float


@njit(**_JIT)
def tanh(x):
    """tanh(x) through expm1, without branches so loops over it vectorise.

    With a = min(|x|, 20) and u = expm1(−2a): tanh(|x|) = −u / (2 + u), then the
    sign of x is copied back (tanh(20) rounds to 1). expm1 is evaluated as
    2^k (expm1(r) + 1) − 1 with −2a = k·ln 2 + r, |r| ≤ ln 2 / 2, and a degree-14
    Taylor polynomial for expm1(r); 2^k (k ∈ [−58, 0]) is written directly as
    the bits of a double (its exponent field), which took a chain of six
    multiplications off every tanh. The polynomial is evaluated in Estrin's
    scheme (pairs of terms, then powers r², r⁴, r⁸ combining them) rather than
    Horner's: with a few patterns per neuron the forward pass waits on this
    chain, and Estrin's is four multiply-adds deep instead of thirteen.
    Accurate to a few units in the last place of ``numpy.tanh`` everywhere,
    including tiny |x| (no cancellation), ±0, ±inf; NaN gives NaN.
    """
    a = abs(x)
    a = 20.0 if a > 20.0 else a  # keeps NaN
    z = -2.0 * a
    kf = (z * _INV_LN2 + _ROUND) - _ROUND
    kf = kf if kf > -63.0 else -63.0  # NaN → −63, a harmless finite value
    r = (z - kf * _LN2_HI) - kf * _LN2_LO
    # p(r) = Σ_{k=0}^{12} r^k / (k + 2)!, so that expm1(r) = r + r²·p(r)
    r2 = r * r
    r4 = r2 * r2
    r8 = r4 * r4
    q0 = 0.5 + r * (1.0 / 6.0)
    q1 = 1.0 / 24.0 + r * (1.0 / 120.0)
    q2 = 1.0 / 720.0 + r * (1.0 / 5040.0)
    q3 = 1.0 / 40320.0 + r * (1.0 / 362880.0)
    q4 = 1.0 / 3628800.0 + r * (1.0 / 39916800.0)
    q5 = 1.0 / 479001600.0 + r * (1.0 / 6227020800.0)
    s0 = q0 + r2 * q1
    s1 = q2 + r2 * q3
    s2 = q4 + r2 * q5
    t0 = s0 + r4 * s1
    t1 = s2 + r4 * (1.0 / 87178291200.0)
    p = t0 + r8 * t1
    em = r + r * (r * p)  # expm1(r)
    s = _float_from_bits((np.int64(1023) + np.int64(kf)) << 52)  # 2^k exactly (k ≥ −63: normal)
    u = s * em + (s - 1.0)  # expm1(z); s − 1 is exact
    return math.copysign(-u / (2.0 + u), x)


@njit(**_JIT)
def tanh_array(x, out):
    """``out[i] = tanh(x[i])`` with :func:`tanh` (for tests and benchmarks)."""
    for i in range(x.shape[0]):
        out[i] = tanh(x[i])


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
    read that has to wait for both halves to reach memory, and the forward
    pass was slower.
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
    ones in chains of dependent additions (and no transpose of JT). Rows of JT are loaded whole
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


@intrinsic
def _volatile_flag(typingctx, flags):
    """``flags[0]`` loaded from memory at every call (an atomic load): another thread may set it."""
    if not (isinstance(flags, types.Array) and flags.ndim == 1 and flags.dtype == types.int64):
        return None

    def codegen(context, builder, sig, args):
        ary = context.make_array(sig.args[0])(context, builder, value=args[0])
        return builder.load_atomic(ary.data, "monotonic", 8)

    return types.int64(flags), codegen


def _volatile_flag_py(flags):
    """:func:`_volatile_flag` in Python."""
    return int(flags[0])


#: interpreted (NUMBA_DISABLE_JIT=1): an ordinary read
volatile_flag = _volatile_flag_py if config.DISABLE_JIT else _volatile_flag


def hold(x):
    """``x`` as views that skip reference counting, for code that runs compiled or interpreted.

    Interpreted, there is nothing to skip and ``x`` comes back as it is;
    compiled, it is :func:`borrow`. The caller's caller must hold ``x`` for as
    long as the views are used (a function's own arguments qualify).
    """
    return x


@overload(hold)
def _hold(x):
    if _borrowable(x):
        return lambda x: _borrow(x)
