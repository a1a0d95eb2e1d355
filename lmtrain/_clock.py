"""A clock that compiled loops can read: the CPU time-stamp counter.

Numba has no ``time.perf_counter`` in nopython mode, and leaving compiled code
to read the clock would cost microseconds per iteration. ``llvm.readcyclecounter``
costs a few nanoseconds and keeps Numba's on-disk cache usable. Its rate is
calibrated once per process against ``time.perf_counter``. Where the counter is
not available (it then reads 0, as on some non-x86 machines) elapsed times are
reported as 0 and ``max_time`` cannot be enforced inside compiled loops;
:func:`lmtrain.train` then warns when ``max_time`` is set.
"""

from __future__ import annotations

import time

from llvmlite import ir
from numba import config, njit, types
from numba.extending import intrinsic


@intrinsic
def _read_counter(typingctx):
    sig = types.int64()

    def codegen(context, builder, signature, args):
        fnty = ir.FunctionType(ir.IntType(64), [])
        fn = builder.module.declare_intrinsic("llvm.readcyclecounter", fnty=fnty)
        return builder.call(fn, [])

    return sig, codegen


def _read_counter_py():
    return time.perf_counter_ns()


#: interpreted (NUMBA_DISABLE_JIT=1): nanoseconds of ``time.perf_counter``
_counter = _read_counter_py if config.DISABLE_JIT else _read_counter


@njit(cache=True)
def ticks():
    """Current value of the cycle counter (int64)."""
    return _counter()


_HZ: float | None = None


def ticks_per_second() -> float:
    """Counter rate in ticks per second (0.0 when no counter is available)."""
    global _HZ
    if _HZ is None:
        ticks()  # compile or load from cache before measuring
        c0, t0 = ticks(), time.perf_counter()
        while time.perf_counter() - t0 < 0.005:
            pass
        c1, t1 = ticks(), time.perf_counter()
        _HZ = max(0.0, (c1 - c0) / (t1 - t0))
    return _HZ
