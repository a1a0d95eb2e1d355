"""Micro-benchmark of lmtrain's compiled engine against a plain NumPy reference.

For two workloads — parity-3 on a 3-3-1 bipolar MLP (gain 0.5, 16 weights,
8 patterns) and a 2-20-20-1 MLP (tanh hidden, linear output, 501 weights,
2,000 points of sin(x1)·cos(x2)) — it times, per pattern:

* forward pass,
* Jacobian (forward pass + unit-δ backward pass, all P·M rows),
* Q = JᵀJ, g = Jᵀe, E accumulation with a block of patterns and with block=1,

each four ways:

``loop``    the engine kernel called n times inside one compiled loop: pure
            kernel time, no Python at all;
``kernel``  the engine kernel called from Python with preallocated arrays
            (adds Numba's dispatch: type-checking the arguments);
``public``  the public :class:`lmtrain.Network` method (adds validation,
            conversions and allocation of the results);
``numpy``   ``numpy_reference`` (layer matrices, BLAS products). For Q/g the
            NumPy column always builds the whole Jacobian and forms JᵀJ in one
            BLAS call, its natural form; the same block as lmtrain is reported
            under the table.

Results are verified against each other (``numpy.testing.assert_allclose``)
before anything is timed. Timings are best-of-k over repeats of many calls,
after warm-up, with the repeats of one row's variants interleaved so they see
the same machine load; compile or cache-load time of the first calls is
reported separately.

Run::

    PYTHONPATH=. python benchmarks/engine.py            # full run, about a minute
    PYTHONPATH=. python benchmarks/engine.py --quick    # about 10-20 seconds

NumPy's BLAS is limited to one thread by default (``--blas-threads 1``) because
the engine kernels are single-threaded; ``--blas-threads 0`` keeps the library's
own default. ``--cold`` compiles the kernels into an empty temporary cache to
measure a cold compile.

Imports of NumPy, Numba and lmtrain happen inside :func:`main`, after the
thread and cache settings have been put in the environment.
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import sys
import tempfile
import time
import timeit

_HERE = os.path.dirname(os.path.abspath(__file__))


# ----------------------------------------------------------------- options
def _parse(argv):
    p = argparse.ArgumentParser(prog="benchmarks/engine.py", description=__doc__.split("\n\n")[0])
    p.add_argument("--quick", action="store_true", help="fewer repeats and shorter runs")
    p.add_argument("--block", type=int, default=64, help="pattern block for Q/g accumulation (default 64)")
    p.add_argument("--repeat", type=int, default=None, help="repeats, best is kept (default 15, quick 3)")
    p.add_argument("--min-time", type=float, default=None,
                   help="seconds per repeat (default 0.05, quick 0.02)")
    p.add_argument("--blas-threads", type=int, default=1,
                   help="threads for NumPy's BLAS; 0 keeps the library default (default 1)")
    p.add_argument("--cold", action="store_true",
                   help="compile into an empty temporary cache (measures a cold compile)")
    args = p.parse_args(argv)
    if args.block < 1:
        p.error("--block must be >= 1")
    if args.repeat is None:
        args.repeat = 3 if args.quick else 15
    if args.min_time is None:
        args.min_time = 0.02 if args.quick else 0.05
    return args


def _configure_environment(args):
    """Thread and cache settings; they only take effect before the libraries load."""
    notes = []
    if args.blas_threads > 0:
        if "numpy" in sys.modules:
            notes.append("numpy was already imported: --blas-threads has no effect")
        for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS", "BLIS_NUM_THREADS"):
            os.environ[var] = str(args.blas_threads)
    cache_dir = None
    if args.cold:
        if "lmtrain.engine" in sys.modules:
            raise SystemExit("--cold needs a fresh process: lmtrain.engine is already imported")
        cache_dir = tempfile.mkdtemp(prefix="lmtrain-cold-cache-")
        os.environ["NUMBA_CACHE_DIR"] = cache_dir
    return notes, cache_dir


# ------------------------------------------------------------ machine info
from _machine import cpu_model as _cpu_model  # noqa: E402 (beside this script)


def _blas_info():
    """Name, version and thread count of the BLAS loaded by NumPy (Linux, OpenBLAS), best effort."""
    import ctypes

    path = None
    try:
        with open("/proc/self/maps") as fh:
            for line in fh:
                if "openblas" in line.lower() and ".so" in line:
                    path = line.split()[-1]
                    break
    except OSError:
        return "unknown"
    if path is None:
        return "unknown (not OpenBLAS)"
    try:
        lib = ctypes.CDLL(path)
    except OSError:
        return os.path.basename(path)
    info = os.path.basename(path)
    for prefix, suffix in (("scipy_openblas", "64_"), ("openblas", "64_"), ("openblas", "")):
        try:
            nthreads = getattr(lib, f"{prefix}_get_num_threads{suffix}")
            config = getattr(lib, f"{prefix}_get_config{suffix}")
        except AttributeError:
            continue
        nthreads.restype = ctypes.c_int
        config.restype = ctypes.c_char_p
        info = f"{config().decode(errors='replace').strip()}, threads={nthreads()}"
        break
    return info


def _load():
    try:
        return f"{os.getloadavg()[0]:.2f}"
    except (OSError, AttributeError):
        return "n/a"


# ------------------------------------------------------------------ timing
def _fmt_time(seconds, signed=False):
    sign = ("-" if seconds < 0 else "+") if signed else ("-" if seconds < 0 else "")
    seconds = abs(seconds)
    for unit, scale in (("s", 1.0), ("ms", 1e-3), ("µs", 1e-6), ("ns", 1e-9)):
        if seconds >= scale or unit == "ns":
            v = seconds / scale
            return sign + (f"{v:.3g} {unit}" if v < 1000 else f"{v:.0f} {unit}")
    return "?"


def _fmt_diff(diff, base):
    """Signed time difference; '~0' when it is under 5 % of ``base`` (below the noise)."""
    return "~0" if abs(diff) < 0.05 * base else _fmt_time(diff, signed=True)


def _calibrated(stmt, ns, min_time):
    """A warmed-up ``timeit.Timer`` for ``stmt`` and the number of executions per repeat.

    The number is grown until one repeat lasts ``min_time`` seconds.
    """
    timer = timeit.Timer(stmt, globals=ns)
    timer.timeit(1)  # warm-up (and any late compilation)
    number = 1
    while True:
        dt = timer.timeit(number)
        if dt >= min_time:
            return timer, number
        grow = min_time / dt * 1.2 if dt > 0 else 10.0
        number = max(number + 1, int(number * min(grow, 100.0)))


def _best_many(cases, repeat, min_time):
    """Best time (seconds) of one execution of each ``(stmt, ns, divisor)`` case.

    timeit-style best of ``repeat`` repeats, with the repeats of all cases
    interleaved (round robin) so that each case sees the same machine
    conditions; the result is divided by ``divisor`` (inner iterations).
    """
    timers = [_calibrated(stmt, ns, min_time) for stmt, ns, _ in cases]
    best = [float("inf")] * len(cases)
    for _ in range(repeat):
        for i, (timer, number) in enumerate(timers):
            best[i] = min(best[i], timer.timeit(number) / number)
    return [b / div for b, (_, _, div) in zip(best, cases)]


def _loop_case(fn, args):
    """Timing case for ``fn(n, *args)`` with n grown so one call lasts a few ms."""
    n = 1
    while True:
        t0 = time.perf_counter()
        fn(n, *args)
        dt = time.perf_counter() - t0
        if dt >= 2e-3 or n >= 1 << 24:
            break
        n *= 2
    return "fn(n, *args)", {"fn": fn, "n": n, "args": args}, n


# -------------------------------------------------------------- workloads
def _workloads(np):
    """(title, sizes, activation kwargs, X, D) of the two benchmark problems."""
    out = []
    act = dict(activation="bipolar", gain=0.5)
    X = np.array([[a, b, c] for a in (-1.0, 1.0) for b in (-1.0, 1.0) for c in (-1.0, 1.0)])
    D = np.prod(X, axis=1, keepdims=True)  # 3-bit parity as ±1
    out.append(("parity-3, MLP 3-3-1, bipolar tanh(0.5·net)", [3, 3, 1], act, X, D))

    act = dict(activation="bipolar", gain=1.0, output_activation="linear")
    rng = np.random.default_rng(20240611)
    X = rng.uniform(-np.pi, np.pi, size=(2000, 2))
    D = (np.sin(X[:, 0]) * np.cos(X[:, 1])).reshape(-1, 1)
    out.append(("sin(x1)·cos(x2), MLP 2-20-20-1, tanh hidden, linear output", [2, 20, 20, 1], act, X, D))
    return out


def _compiled_loops(njit, engine):
    """Loops that call the engine kernels n times without leaving compiled code.

    Not cached on disk on purpose: Numba's cache of a caller does not notice
    changes in the kernels it inlines, so a cached loop could time stale code.
    """

    @njit
    def loop_forward(n, w, Y, S, topo):
        for _ in range(n):
            engine.forward(w, Y, S, topo)

    @njit
    def loop_jacobian(n, w, Y, S, topo, J, Dl, reached):
        for _ in range(n):
            engine.forward(w, Y, S, topo)
            engine.jacobian_rows(w, Y, S, topo, J, 0, Dl, reached)

    @njit
    def loop_accumulate(n, w, XT, DT, topo, block, Q, g):
        E = 0.0
        for _ in range(n):
            E = engine.accumulate(w, XT, DT, topo, block, Q, g)
        return E

    @njit
    def no_op(w, Y, S, topo):
        return 0

    return loop_forward, loop_jacobian, loop_accumulate, no_op


# ------------------------------------------------------------------- main
def main(argv=None) -> int:
    args = _parse(sys.argv[1:] if argv is None else argv)
    env_notes, cold_dir = _configure_environment(args)
    try:
        return _run(args, env_notes)
    finally:
        if cold_dir is not None:
            shutil.rmtree(cold_dir, ignore_errors=True)


def _run(args, env_notes) -> int:
    t0 = time.perf_counter()
    import numpy as np
    import numba
    import llvmlite
    from numba import njit
    t_numpy_numba = time.perf_counter() - t0
    t0 = time.perf_counter()
    import lmtrain
    from lmtrain import engine
    t_lmtrain = time.perf_counter() - t0

    if _HERE not in sys.path:
        sys.path.insert(0, _HERE)
    import numpy_reference as ref

    from numpy.testing import assert_allclose

    # ------------------------------------------------------------ machine
    print("lmtrain engine benchmark" + (" (quick)" if args.quick else ""))
    print(f"  python {platform.python_version()}  numpy {np.__version__}  numba {numba.__version__}"
          f"  llvmlite {llvmlite.__version__}  lmtrain {getattr(lmtrain, '__version__', '?')}")
    try:
        usable = len(os.sched_getaffinity(0))
    except AttributeError:
        usable = os.cpu_count()
    print(f"  cpu: {_cpu_model()}; os.cpu_count()={os.cpu_count()}, usable={usable}; {platform.system()} {platform.machine()}")
    print(f"  numpy BLAS: {_blas_info()}")
    print(f"  load average (1 min) at start: {_load()}")
    print(f"  timing: best of {args.repeat} repeats of >= {args.min_time:g} s each, after warm-up; "
          f"Q/g block = {args.block}")
    for note in env_notes:
        print(f"  note: {note}")
    print(f"  import numpy+numba {t_numpy_numba:.2f} s, import lmtrain {t_lmtrain:.2f} s"
          + (f"; cold cache in {os.environ['NUMBA_CACHE_DIR']}" if args.cold else ""))
    print()

    loop_forward, loop_jacobian, loop_accumulate, no_op = _compiled_loops(njit, engine)
    workloads = _workloads(np)

    # ------------------------------------------- first calls (compile / load)
    title, sizes, act, X, D = workloads[0]
    net = lmtrain.mlp(sizes, **act)
    w = net.init_weights(0)
    topo = net.topology
    P = X.shape[0]
    Y = np.empty((net.n_nodes, P))
    Y[: net.n_inputs] = X.T
    S = np.zeros((net.n_nodes, P))
    Jbuf = np.empty((P * net.n_outputs, net.n_weights))
    XT, DT = np.ascontiguousarray(X.T), np.ascontiguousarray(D.T)
    Q = np.empty((net.n_weights, net.n_weights))
    g = np.empty(net.n_weights)
    first = []

    def first_call(name, kernel, call):
        t = time.perf_counter()
        call()
        dt = time.perf_counter() - t
        st = kernel.stats
        how = ("loaded from cache " if sum(st.cache_hits.values()) else "compiled, written to ") + str(st.cache_path)
        first.append((name, dt, how))

    first_call("engine.forward", engine.forward, lambda: engine.forward(w, Y, S, topo))
    first_call("engine.jacobian_rows", engine.jacobian_rows,
               lambda: engine.jacobian_rows(w, Y, S, topo, Jbuf, 0, np.empty_like(Y),
                                            np.zeros(net.n_nodes, dtype=np.bool_)))
    first_call("engine.accumulate", engine.accumulate,
               lambda: engine.accumulate(w, XT, DT, topo, args.block, Q, g))
    t = time.perf_counter()
    loop_forward(1, w, Y, S, topo)
    loop_jacobian(1, w, Y, S, topo, Jbuf, np.empty_like(Y), np.zeros(net.n_nodes, dtype=np.bool_))
    loop_accumulate(1, w, XT, DT, topo, args.block, Q, g)
    no_op(w, Y, S, topo)
    t_harness = time.perf_counter() - t
    print("First calls (Numba compile or on-disk cache load; excluded from the timings below):")
    for name, dt, how in first:
        print(f"  {name:<22} {dt:7.3f} s  {how}")
    print(f"  {'benchmark loops':<22} {t_harness:7.3f} s  compiled (not cached), 4 small functions")
    print(f"  total to first results: {t_numpy_numba + t_lmtrain + sum(d for _, d, _ in first):.2f} s "
          "(imports + first kernel calls)")
    print(flush=True)

    rep, mt = args.repeat, args.min_time
    t_none, t_noop = _best_many([("f()", {"f": njit(lambda: 0)}, 1),
                                 ("f(w, Y, S, topo)", {"f": no_op, "w": w, "Y": Y, "S": S, "topo": topo}, 1)],
                                rep, mt)

    # --------------------------------------------------------- workloads
    progress = sys.stderr.isatty()
    tables = []
    for title, sizes, act, X, D in workloads:
        net = lmtrain.mlp(sizes, **act)
        N, M, P = net.n_weights, net.n_outputs, X.shape[0]
        assert N == ref.n_weights(sizes)
        w = net.init_weights(12345)
        topo = net.topology
        nn = net.n_nodes
        B = args.block

        # preallocated kernel arrays
        Y = np.empty((nn, P))
        Y[: net.n_inputs] = X.T
        S = np.zeros((nn, P))
        Dl = np.empty((nn, P))
        reached = np.zeros(nn, dtype=np.bool_)
        J = np.empty((P * M, N))
        XT, DT = np.ascontiguousarray(X.T), np.ascontiguousarray(D.T)
        Q = np.empty((N, N))
        g = np.empty(N)

        # ---------------------------------------------- verify before timing
        o_pub = net.forward(w, X)
        J_pub = net.jacobian(w, X)
        o_ref = ref.forward(sizes, w, X, **act)
        J_ref = ref.jacobian(sizes, w, X, **act)
        assert_allclose(o_ref, o_pub, rtol=1e-12, atol=1e-12, err_msg=f"{title}: numpy forward")
        assert_allclose(J_ref, J_pub, rtol=1e-12, atol=1e-12, err_msg=f"{title}: numpy Jacobian")
        engine.forward(w, Y, S, topo)
        assert_allclose(Y[list(net.outputs)].T, o_pub, rtol=0, atol=0, err_msg=f"{title}: kernel forward")
        engine.jacobian_rows(w, Y, S, topo, J, 0, Dl, reached)
        assert_allclose(J, J_pub, rtol=0, atol=0, err_msg=f"{title}: kernel Jacobian")
        Q_ref, g_ref, E_ref = ref.quasi_hessian(sizes, w, X, D, **act)
        Q_ref_b, g_ref_b, E_ref_b = ref.quasi_hessian(sizes, w, X, D, block=B, **act)
        scale_q, scale_g = np.abs(Q_ref).max(), np.abs(g_ref).max()
        for blk in (B, 1):
            Q_pub, g_pub, E_pub = net.quasi_hessian(w, X, D, block=blk)
            for Qx, gx, Ex, who in ((Q_ref, g_ref, E_ref, "numpy"), (Q_ref_b, g_ref_b, E_ref_b, "numpy blocked")):
                assert_allclose(Qx, Q_pub, rtol=1e-10, atol=1e-12 * scale_q, err_msg=f"{title}: {who} Q, block={blk}")
                assert_allclose(gx, g_pub, rtol=1e-10, atol=1e-12 * scale_g, err_msg=f"{title}: {who} g, block={blk}")
                assert_allclose(Ex, E_pub, rtol=1e-10, err_msg=f"{title}: {who} E, block={blk}")
            E_k = engine.accumulate(w, XT, DT, topo, blk, Q, g)
            assert_allclose(Q, Q_pub, rtol=0, atol=0, err_msg=f"{title}: kernel Q, block={blk}")
            assert_allclose(g, g_pub, rtol=0, atol=0, err_msg=f"{title}: kernel g, block={blk}")
            assert_allclose(E_k, E_pub, rtol=0, atol=0, err_msg=f"{title}: kernel E, block={blk}")

        # ------------------------------------------------------- time
        ns = dict(engine=engine, net=net, ref=ref, sizes=sizes, act=act, w=w, X=X, D=D, topo=topo,
                  Y=Y, S=S, Dl=Dl, reached=reached, J=J, XT=XT, DT=DT, Q=Q, g=g, B=B)
        rows = []

        def row(label, loop, kernel_stmt, public_stmt, numpy_stmt):
            cases = [_loop_case(*loop), (kernel_stmt, ns, 1), (public_stmt, ns, 1)]
            if not isinstance(numpy_stmt, float):
                cases.append((numpy_stmt, ns, 1))
            times = _best_many(cases, rep, mt)
            t_loop, t_kernel, t_public = times[:3]
            t_numpy = numpy_stmt if isinstance(numpy_stmt, float) else times[3]
            rows.append((label, t_loop, t_kernel, t_public, t_numpy))
            if progress:
                print(f"  .. {title.split(',')[0]}: {label}", file=sys.stderr, flush=True)

        row("forward",
            (loop_forward, (w, Y, S, topo)),
            "engine.forward(w, Y, S, topo)",
            "net.forward(w, X)",
            "ref.forward(sizes, w, X, **act)")
        row("Jacobian (fwd + bwd)",
            (loop_jacobian, (w, Y, S, topo, J, Dl, reached)),
            "engine.forward(w, Y, S, topo); engine.jacobian_rows(w, Y, S, topo, J, 0, Dl, reached)",
            "net.jacobian(w, X)",
            "ref.jacobian(sizes, w, X, **act)")
        row(f"Q,g block={B}",
            (loop_accumulate, (w, XT, DT, topo, B, Q, g)),
            "engine.accumulate(w, XT, DT, topo, B, Q, g)",
            "net.quasi_hessian(w, X, D, block=B)",
            "ref.quasi_hessian(sizes, w, X, D, **act)")
        row("Q,g block=1",
            (loop_accumulate, (w, XT, DT, topo, 1, Q, g)),
            "engine.accumulate(w, XT, DT, topo, 1, Q, g)",
            "net.quasi_hessian(w, X, D, block=1)",
            rows[-1][4])  # the same whole-batch NumPy reference
        t_numpy_blocked, t_numpy_qonly = _best_many(
            [("ref.quasi_hessian(sizes, w, X, D, block=B, **act)", ns, 1), ("J_ref.T @ J_ref", dict(J_ref=J_ref), 1)],
            rep, mt)
        tables.append((title, sizes, N, P, M, B, rows, t_numpy_blocked, t_numpy_qonly))

    # ----------------------------------------------------------- report
    print()
    print("Time per pattern (best of repeats).  loop = kernel n times inside one compiled loop;")
    print("kernel = kernel called from Python with preallocated arrays; public = Network method;")
    print("numpy = numpy_reference (Q,g: whole Jacobian, one BLAS JᵀJ).  ratios: numpy time / lmtrain time;")
    print("wrapper = (public − kernel) per call; dispatch = (kernel − loop) per call; ~0 = under 5 % of the call.")
    head = (f"  {'operation':<22}{'loop':>10}{'kernel':>10}{'public':>10}{'numpy':>10}"
            f"{'np/kernel':>11}{'np/public':>11}{'wrapper':>11}{'dispatch':>11}")
    for title, sizes, N, P, M, B, rows, t_nb, t_qq in tables:
        print()
        print(f"{title}: N={N} weights, P={P} patterns, M={M} output")
        print(head)
        print("  " + "-" * (len(head) - 2))
        for label, t_loop, t_kernel, t_public, t_numpy in rows:
            r_k = f"{t_numpy / t_kernel:.2f}x"
            r_p = f"{t_numpy / t_public:.2f}x"
            print(f"  {label:<22}{_fmt_time(t_loop / P):>10}{_fmt_time(t_kernel / P):>10}"
                  f"{_fmt_time(t_public / P):>10}{_fmt_time(t_numpy / P):>10}{r_k:>11}{r_p:>11}"
                  f"{_fmt_diff(t_public - t_kernel, t_kernel):>11}{_fmt_diff(t_kernel - t_loop, t_kernel):>11}")
        fma = N * (N + 1) / 2 * P * M
        t_q = [r for r in rows if r[0].startswith("Q,g")]
        print(f"  per call (kernel column): forward {_fmt_time(rows[0][2])}, Jacobian {_fmt_time(rows[1][2])}, "
              f"Q,g {_fmt_time(t_q[0][2])} (block={B}), {_fmt_time(t_q[1][2])} (block=1); "
              f"numpy Q,g {_fmt_time(t_q[0][4])}")
        print(f"  numpy Q,g built {B} patterns at a time: {_fmt_time(t_nb / P)} per pattern; "
              f"numpy JᵀJ product alone: {_fmt_time(t_qq / P)} per pattern")
        print(f"  Q upper triangle = {fma:.3g} multiply-adds: loop kernel "
              f"{fma / t_q[0][1] / 1e9:.2f} G/s (block={B}), {fma / t_q[1][1] / 1e9:.2f} G/s (block=1); "
              f"numpy JᵀJ {N * N * P * M / 2 / t_qq / 1e9:.2f} G/s")
    print()
    print(f"Numba dispatch from Python: {_fmt_time(t_none)} for a no-argument call, "
          f"{_fmt_time(t_noop)} for a no-op taking the kernels' (w, Y, S, topo).")
    print(f"load average (1 min) at end: {_load()}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
