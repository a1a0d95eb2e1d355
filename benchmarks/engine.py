"""Micro-benchmark of lmtrain's kernels: each plain kernel beside its speed twin, and a plain NumPy reference.

lmtrain has two sets of compiled kernels (``lmtrain/kernels/``, the chapter's
computations one pattern at a time, and ``lmtrain/algorithms/_fast/``, their
speed twins on transposed data, patterns as columns). For two workloads —
parity-3 on a 3-3-1 bipolar MLP (gain 0.5, 16 weights, 8 patterns) and a
2-20-20-1 MLP (tanh hidden, linear output, 501 weights, 2,000 points of
sin(x1)·cos(x2)) — it times, per call, every plain kernel that has a twin
beside that twin:

=======================  ==========================  ==============================================
row                      plain kernel                speed twin (lmtrain.algorithms._fast)
=======================  ==========================  ==============================================
forward                  ``kernels.forward``         ``forward.forward``
error E                  ``kernels.error``           ``forward.forward`` + ``forward.half_sse``
gradient g = Jᵀe         ``kernels.gradient``        ``forward.forward`` + ``backward.gradient``
Jacobian J, e            ``kernels.jacobian``        ``forward.forward`` + ``backward.jacobian_cols``
                                                     + ``forward.errors``
Q, g (compiled)          ``kernels.quasi_hessian``   the above + ``gram.matvec`` + ``gram.gram_t``
                                                     (JᵀJ; the compiled workspace's ``linearize``)
Q, g (blocked, BLAS)     ``kernels.quasi_hessian``   ``blocked.Workspace.accumulate``
JᵀJ from a stored J      ``kernels.gram``            ``gram.gram_rows``
Jᵀe from a stored J      ``kernels.jt_e``            ``gram.matvec``
damped step Δ            ``kernels.damped_step``     ``work.solve`` (compiled Cholesky)
damped step Δ (LAPACK)   ``kernels.damped_step``     ``blocked.Workspace.solve``
=======================  ==========================  ==============================================

Columns:

``plain``, ``fast``  the plain kernel and its twin, each called n times inside
                     one compiled loop: kernel time, no Python (the blocked
                     twin is a Python object: its rows time the method call,
                     which is milliseconds of BLAS work);
``plain/fast``       their ratio;
``public``           the public :class:`lmtrain.Network` method, which runs
                     the plain kernel (adds validation, conversions and the
                     allocation of the results);
``numpy``            ``numpy_reference`` / ``numpy_lm`` (layer matrices, BLAS
                     products; Q, g: the whole Jacobian and one JᵀJ product;
                     the step: ``numpy.linalg.solve`` as ``numpy_lm`` does it);
``numpy/fast``       numpy over the twin.

The damped step is that of the training loop at the workload's weights with
μ = 0.01: (JᵀJ + μI)Δ = Jᵀe, or Jᵀ(JJᵀ + μI)⁻¹e when P·M < N (parity-3, as
lmtrain solves it there). Results are verified against each other
(``numpy.testing.assert_allclose``) before anything is timed. Timings are
best-of-k over repeats of many calls, after warm-up, with the repeats of one
row's variants interleaved so that they see the same machine load; compile or
cache-load time of the first calls is reported separately.

Run::

    python benchmarks/engine.py            # full run, a few minutes
    python benchmarks/engine.py --quick    # under a minute

NumPy's BLAS is limited to one thread by default (``--blas-threads 1``) because
the kernels are single-threaded; ``--blas-threads 0`` keeps the library's
own default. ``--cold`` compiles the kernels into an empty temporary cache to
measure a cold compile.

Imports of NumPy, Numba and lmtrain happen inside :func:`main`, after the
thread and cache settings have been put in the environment.
"""

from __future__ import annotations

import argparse
import math
import os
import platform
import shutil
import sys
import tempfile
import time
import timeit

_HERE = os.path.dirname(os.path.abspath(__file__))
_ROOT = os.path.dirname(_HERE)

#: μ of the damped-step rows (lmtrain's default μ₀)
MU = 0.01


# ----------------------------------------------------------------- options
def _parse(argv):
    p = argparse.ArgumentParser(prog="benchmarks/engine.py", description=__doc__.split("\n\n")[0])
    p.add_argument("--quick", action="store_true", help="fewer repeats and shorter runs")
    p.add_argument("--block", type=int, default=None,
                   help="patterns per block of the blocked twin (default: lmtrain's own choice)")
    p.add_argument("--repeat", type=int, default=None, help="repeats, best is kept (default 15, quick 3)")
    p.add_argument("--min-time", type=float, default=None,
                   help="seconds per repeat (default 0.05, quick 0.02)")
    p.add_argument("--blas-threads", type=int, default=1,
                   help="threads for NumPy's BLAS; 0 keeps the library default (default 1)")
    p.add_argument("--cold", action="store_true",
                   help="compile into an empty temporary cache (measures a cold compile)")
    args = p.parse_args(argv)
    if args.block is not None and args.block < 1:
        p.error("--block must be >= 1")
    if args.repeat is None:
        args.repeat = 3 if args.quick else 15
    if args.repeat < 1:
        p.error("--repeat must be >= 1")
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
        if "lmtrain" in sys.modules:
            raise SystemExit("--cold needs a fresh process: lmtrain is already imported")
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
    if seconds is None or not math.isfinite(seconds):
        return "—"
    sign = ("-" if seconds < 0 else "+") if signed else ("-" if seconds < 0 else "")
    seconds = abs(seconds)
    for unit, scale in (("s", 1.0), ("ms", 1e-3), ("µs", 1e-6), ("ns", 1e-9)):
        if seconds >= scale or unit == "ns":
            v = seconds / scale
            return sign + (f"{v:.3g} {unit}" if v < 1000 else f"{v:.0f} {unit}")
    return "?"


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


def _ratio(a, b):
    """``a / b`` as ``"2.10x"``, or "—" where either time is missing."""
    if a is None or b is None or not (math.isfinite(a) and math.isfinite(b)) or b <= 0:
        return "—"
    return f"{a / b:.2f}x"


def _rate(work, seconds):
    """``work`` multiply-adds in ``seconds`` as G/s, or "—"."""
    if seconds is None or not math.isfinite(seconds) or seconds <= 0:
        return "—"
    return f"{work / seconds / 1e9:.2f} G/s"


def _loop_case(loop, args):
    """Timing case for ``loop(n, args)`` with n grown so one call lasts a few ms; time per kernel call."""
    n = 1
    while True:
        t0 = time.perf_counter()
        loop(n, args)
        dt = time.perf_counter() - t0
        if dt >= 2e-3 or n >= 1 << 24:
            break
        n *= 2
    return "loop(n, args)", {"loop": loop, "n": n, "args": args}, n


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


#: (row label, plain kernel, speed twin) of the table, in order
ROWS = (
    ("forward", "kernels.forward", "_fast.forward.forward"),
    ("error E", "kernels.error", "_fast.forward.forward + half_sse"),
    ("gradient g = Jᵀe", "kernels.gradient", "_fast.forward.forward + _fast.backward.gradient"),
    ("Jacobian J, e", "kernels.jacobian", "_fast.forward.forward + _fast.backward.jacobian_cols + errors"),
    ("Q, g (compiled)", "kernels.quasi_hessian", "the Jacobian row's twins + _fast.gram.matvec + gram_t (JᵀJ)"),
    ("Q, g (blocked, BLAS)", "kernels.quasi_hessian", "_fast.blocked.Workspace.accumulate (Python + BLAS)"),
    ("JᵀJ from a stored J", "kernels.gram", "_fast.gram.gram_rows"),
    ("Jᵀe from a stored J", "kernels.jt_e", "_fast.gram.matvec"),
    ("damped step Δ", "kernels.damped_step", "_fast.work.solve (compiled Cholesky)"),
    ("damped step Δ (LAPACK)", "kernels.damped_step", "_fast.blocked.Workspace.solve (Python + LAPACK)"),
)


def _compiled_pairs(njit, kernels, ffwd, fbwd, fgram, work):
    """The plain kernels and their twins wrapped to return a float, and loops that call them n times.

    Every wrapper returns a number the loop adds up, so the compiler cannot
    drop a call whose results go unread. Not cached on disk on purpose:
    Numba's cache of a caller does not notice changes in the kernels it
    inlines, so a cached loop could time stale code.
    """

    @njit
    def p_forward(w, topo, X, Yp, Sp):
        kernels.forward(w, topo, X, Yp, Sp)
        return Yp[Yp.shape[0] - 1, Yp.shape[1] - 1]

    @njit
    def f_forward(w, Y, S, topo):
        ffwd.forward(w, Y, S, topo)
        return Y[Y.shape[0] - 1, 0]

    @njit
    def p_error(w, topo, X, D):
        return kernels.error(w, topo, X, D)

    @njit
    def f_error(w, Y, S, DT, topo):
        ffwd.forward(w, Y, S, topo)
        return ffwd.half_sse(Y, DT, topo)

    @njit
    def p_gradient(w, topo, X, D, g):
        return kernels.gradient(w, topo, X, D, g)

    @njit
    def f_gradient(w, Y, S, DT, topo, g, Dl):
        ffwd.forward(w, Y, S, topo)
        return fbwd.gradient(w, Y, S, DT, topo, g, Dl)

    @njit
    def p_jacobian(w, topo, X, D, J, e):
        return kernels.jacobian(w, topo, X, D, J, e)

    @njit
    def f_jacobian(w, Y, S, DT, topo, JT, e, Dl, reached):
        ffwd.forward(w, Y, S, topo)
        fbwd.jacobian_cols(w, Y, S, topo, JT, 0, Dl, reached)
        ffwd.errors(Y, DT, topo, e)
        return JT[0, 0]

    @njit
    def p_qg(w, topo, X, D, Q, g):
        return kernels.quasi_hessian(w, topo, X, D, Q, g)

    @njit
    def f_qg(w, Y, S, DT, topo, JT, e, Dl, reached, g, G, Jr):
        ffwd.forward(w, Y, S, topo)
        fbwd.jacobian_cols(w, Y, S, topo, JT, 0, Dl, reached)
        ffwd.errors(Y, DT, topo, e)
        fgram.matvec(JT, e, g)
        fgram.gram_t(JT, G, False, Jr)  # JᵀJ (N×N) whatever P·M is: the quantity the plain kernel forms
        return ffwd.half_sse(Y, DT, topo)

    @njit
    def p_gram(A, G):
        kernels.gram(A, G)
        return G[0, 0]

    @njit
    def f_gram(A, G):
        fgram.gram_rows(A, G)
        return G[0, 0]

    @njit
    def p_jte(J, e, g):
        kernels.jt_e(J, e, g)
        return g[0]

    @njit
    def f_jte(JT, e, g):
        fgram.matvec(JT, e, g)
        return g[0]

    @njit
    def p_step(G, rhs, mu, J, delta):
        kernels.damped_step(G, rhs, mu, J, delta)
        return delta[0]

    @njit
    def f_step(fw, mu):
        work.solve(fw, mu)
        return fw.delta[0]

    @njit
    def f_prepare(fw, w):
        """The compiled workspace at ``w``: forward pass, J, e, g and the Gram matrix (as training has it)."""
        work.error_at(fw, w)
        return work.linearize(fw, w)

    def looped(f):
        @njit
        def loop(n, args):
            acc = 0.0
            for _ in range(n):
                acc += f(*args)
            return acc

        return loop

    @njit
    def no_op(w, Y, S, topo):
        return 0

    pairs = dict(forward=(p_forward, f_forward), error=(p_error, f_error), gradient=(p_gradient, f_gradient),
                 jacobian=(p_jacobian, f_jacobian), qg=(p_qg, f_qg), gram=(p_gram, f_gram), jte=(p_jte, f_jte),
                 step=(p_step, f_step))
    loops = {k: (looped(p), looped(f)) for k, (p, f) in pairs.items()}
    return pairs, loops, f_prepare, no_op


# ------------------------------------------------------------------- main
def main(argv=None) -> int:
    args = _parse(sys.argv[1:] if argv is None else argv)
    env_notes, cold_dir = _configure_environment(args)
    try:
        return _run(args, env_notes)
    finally:
        if cold_dir is not None:
            shutil.rmtree(cold_dir, ignore_errors=True)


class _Problem:
    """One workload's network, data and every buffer the kernels and twins write into."""

    def __init__(self, np, lmtrain, blocked, work, title, sizes, act, X, D, block, seed=12345):
        net = lmtrain.mlp(sizes, **act)
        self.title, self.sizes, self.act, self.net = title, sizes, act, net
        self.X, self.D = np.ascontiguousarray(X, dtype=float), np.ascontiguousarray(D, dtype=float)
        self.N, self.M, self.P = net.n_weights, net.n_outputs, X.shape[0]
        N, M, P, nn = self.N, self.M, self.P, net.n_nodes
        R = P * M
        self.w = net.init_weights(seed)
        self.topo = net.topology
        # plain kernels: one pattern per row
        self.Yp, self.Sp = np.empty((P, nn)), np.empty((P, nn))
        self.J, self.e_p = np.empty((R, N)), np.empty(R)
        self.Q, self.g_p = np.empty((N, N)), np.empty(N)
        self.G_p = np.empty((N, N))
        # twins: patterns as columns
        self.XT, self.DT = np.ascontiguousarray(self.X.T), np.ascontiguousarray(self.D.T)
        self.Y, self.S = np.empty((nn, P)), np.zeros((nn, P))
        self.Y[: net.n_inputs] = self.XT
        self.Dl, self.reached = np.zeros((nn, P)), np.zeros(nn, dtype=np.bool_)
        self.JT, self.e = np.empty((N, R)), np.empty(R)
        self.g, self.G, self.Jr0 = np.empty(N), np.empty((N, N)), np.empty((0, N))
        # the compiled workspace (damped step) and the blocked one
        self.fw = work.workspace(work.NEEDS_JACOBIAN, self.topo, self.XT, self.DT, np.zeros(1, np.int64))
        self.small = R < N
        self.ws = blocked.Workspace((self.XT, self.DT), self.topo, nn, N, block=block)
        self.delta_p = np.empty(N)

    def blocked_accumulate(self):
        """Q, g by the blocked twin from a fresh forward pass (``bind`` forgets the one a last pass kept)."""
        self.ws.bind(self.XT, self.DT, self.topo)
        self.ws.accumulate(self.w)


def _run(args, env_notes) -> int:
    t0 = time.perf_counter()
    import numpy as np
    import numba
    import llvmlite
    from numba import njit
    t_numpy_numba = time.perf_counter() - t0
    if _ROOT not in sys.path:  # the lmtrain of this source tree
        sys.path.insert(0, _ROOT)
    t0 = time.perf_counter()
    import lmtrain
    from lmtrain import kernels
    from lmtrain.algorithms._fast import backward as fbwd
    from lmtrain.algorithms._fast import blocked
    from lmtrain.algorithms._fast import forward as ffwd
    from lmtrain.algorithms._fast import gram as fgram
    from lmtrain.algorithms._fast import work
    t_lmtrain = time.perf_counter() - t0

    if _HERE not in sys.path:
        sys.path.insert(0, _HERE)
    import numpy_lm as nlm
    import numpy_reference as ref

    from numpy.testing import assert_allclose

    # ------------------------------------------------------------ machine
    print("lmtrain kernel benchmark: plain kernels and their speed twins" + (" (quick)" if args.quick else ""))
    print(f"  python {platform.python_version()}  numpy {np.__version__}  numba {numba.__version__}"
          f"  llvmlite {llvmlite.__version__}  lmtrain {getattr(lmtrain, '__version__', '?')}")
    try:
        usable = len(os.sched_getaffinity(0))
    except AttributeError:
        usable = os.cpu_count()
    print(f"  cpu: {_cpu_model()}; os.cpu_count()={os.cpu_count()}, usable={usable}; {platform.system()} {platform.machine()}")
    print(f"  numpy BLAS: {_blas_info()}")
    print(f"  load average (1 min) at start: {_load()}")
    print(f"  timing: best of {args.repeat} repeats of >= {args.min_time:g} s each, after warm-up")
    for note in env_notes:
        print(f"  note: {note}")
    print(f"  import numpy+numba {t_numpy_numba:.2f} s, import lmtrain {t_lmtrain:.2f} s"
          + (f"; cold cache in {os.environ['NUMBA_CACHE_DIR']}" if args.cold else ""))
    print()

    calls, loops, f_prepare, no_op = _compiled_pairs(njit, kernels, ffwd, fbwd, fgram, work)
    workloads = _workloads(np)

    # ------------------------------------------- first calls (compile / load)
    pr = _Problem(np, lmtrain, blocked, work, *workloads[0], block=args.block)
    first = []

    def first_call(name, dispatchers, call):
        t = time.perf_counter()
        call()
        dt = time.perf_counter() - t
        hits = sum(sum(d.stats.cache_hits.values()) for d in dispatchers)
        misses = sum(sum(d.stats.cache_misses.values()) for d in dispatchers)
        how = "loaded from cache" if hits and not misses else ("compiled, cached" if not hits else "part cached")
        first.append((name, dt, how))

    first_call("kernels.forward", [kernels.forward], lambda: kernels.forward(pr.w, pr.topo, pr.X, pr.Yp, pr.Sp))
    first_call("kernels.error", [kernels.error], lambda: kernels.error(pr.w, pr.topo, pr.X, pr.D))
    first_call("kernels.gradient", [kernels.gradient], lambda: kernels.gradient(pr.w, pr.topo, pr.X, pr.D, pr.g_p))
    first_call("kernels.jacobian", [kernels.jacobian],
               lambda: kernels.jacobian(pr.w, pr.topo, pr.X, pr.D, pr.J, pr.e_p))
    first_call("kernels.quasi_hessian", [kernels.quasi_hessian],
               lambda: kernels.quasi_hessian(pr.w, pr.topo, pr.X, pr.D, pr.Q, pr.g_p))
    first_call("kernels.gram, jt_e", [kernels.gram, kernels.jt_e],
               lambda: (kernels.gram(pr.JT, pr.G_p), kernels.jt_e(pr.J, pr.e_p, pr.g_p)))
    first_call("kernels.damped_step", [kernels.damped_step],
               lambda: kernels.damped_step(pr.Q, pr.g_p, MU, pr.Jr0, pr.delta_p))
    first_call("_fast.forward", [ffwd.forward, ffwd.half_sse, ffwd.errors],
               lambda: (ffwd.forward(pr.w, pr.Y, pr.S, pr.topo), ffwd.half_sse(pr.Y, pr.DT, pr.topo),
                        ffwd.errors(pr.Y, pr.DT, pr.topo, pr.e)))
    first_call("_fast.backward", [fbwd.gradient, fbwd.jacobian_cols],
               lambda: (fbwd.gradient(pr.w, pr.Y, pr.S, pr.DT, pr.topo, pr.g, pr.Dl),
                        fbwd.jacobian_cols(pr.w, pr.Y, pr.S, pr.topo, pr.JT, 0, pr.Dl, pr.reached)))
    first_call("_fast.gram", [fgram.matvec, fgram.gram_t, fgram.gram_rows],
               lambda: (fgram.matvec(pr.JT, pr.e, pr.g), fgram.gram_t(pr.JT, pr.G, False, pr.Jr0),
                        fgram.gram_rows(pr.JT, pr.G)))
    first_call("_fast.blocked (accumulate)", [blocked.block_jacobian, blocked.blocked_error],
               lambda: (pr.blocked_accumulate(), pr.ws.error(pr.w), pr.ws.solve(MU)))
    t = time.perf_counter()
    f_prepare(pr.fw, pr.w)
    for key, (lp, lf) in loops.items():
        p_args, f_args = _args(key, pr, np)
        lp(1, p_args)
        lf(1, f_args)
    no_op(pr.w, pr.Y, pr.S, pr.topo)
    t_harness = time.perf_counter() - t
    print("First calls (Numba compile or on-disk cache load; excluded from the timings below):")
    for name, dt, how in first:
        print(f"  {name:<28} {dt:7.3f} s  {how}")
    print(f"  {'benchmark wrappers and loops':<28} {t_harness:7.3f} s  compiled (not cached), "
          f"{2 * len(loops) + 1} small functions and the twins they inline")
    print(f"  total to first results: {t_numpy_numba + t_lmtrain + sum(d for _, d, _ in first):.2f} s "
          "(imports + first kernel calls)")
    print(flush=True)

    rep, mt = args.repeat, args.min_time
    t_none, t_noop = _best_many([("f()", {"f": njit(lambda: 0)}, 1),
                                 ("f(w, Y, S, topo)", {"f": no_op, "w": pr.w, "Y": pr.Y, "S": pr.S, "topo": pr.topo},
                                  1)], rep, mt)

    # --------------------------------------------------------- workloads
    progress = sys.stderr.isatty()
    tables = []
    for title, sizes, act, X, D in workloads:
        pr = _Problem(np, lmtrain, blocked, work, title, sizes, act, X, D, block=args.block)
        net, w, N, M, P = pr.net, pr.w, pr.N, pr.M, pr.P
        assert N == ref.n_weights(sizes)
        _verify(np, assert_allclose, ref, nlm, calls, f_prepare, pr)

        # ------------------------------------------------------- time
        J_ref = ref.jacobian(sizes, w, X, **act)
        e_ref = ref.errors(sizes, w, X, D, **act)
        ns = dict(pr=pr, net=net, ref=ref, nlm=nlm, sizes=sizes, act=act, w=w, X=pr.X, D=pr.D, np=np, MU=MU,
                  J_ref=J_ref, e_ref=e_ref, eye=np.eye(pr.fw.G.shape[0]), G_np=pr.fw.G.copy(),
                  J_np=pr.fw.JT.T.copy(), g_np=pr.fw.g.copy(), e_np=pr.fw.e.copy())
        numpy_step = ("J_np.T @ np.linalg.solve(G_np + MU * eye, e_np)" if pr.small
                      else "np.linalg.solve(G_np + MU * eye, g_np)")
        rows = {}

        def row(key, label, public_stmt, numpy_stmt, blocked_twin=None):
            """Time one row, and with ``blocked_twin = (label, stmt)`` a second row for the blocked twin.

            The second row shares the first's plain, public and numpy times (one
            measurement each); its twin is a Python statement (``""``: none).
            """
            p_args, f_args = _args(key, pr, np)
            lp, lf = loops[key]
            cases = [_loop_case(lp, p_args), _loop_case(lf, f_args)]
            extra = [st for st in (public_stmt, numpy_stmt) if st]
            if blocked_twin and blocked_twin[1]:
                extra.append(blocked_twin[1])
            cases += [(st, ns, 1) for st in extra]
            times = iter(_best_many(cases, rep, mt))
            t_plain, t_fast = next(times), next(times)
            t_public = next(times) if public_stmt else math.nan
            t_numpy = next(times) if numpy_stmt else math.nan
            rows[label] = (t_plain, t_fast, t_public, t_numpy)
            if blocked_twin:
                t_blocked = next(times) if blocked_twin[1] else math.nan
                rows[blocked_twin[0]] = (t_plain, t_blocked, t_public, t_numpy)
            if progress:
                print(f"  .. {title.split(',')[0]}: {label}", file=sys.stderr, flush=True)

        row("forward", "forward", "net.forward(w, X)", "ref.forward(sizes, w, X, **act)")
        row("error", "error E", "net.error(w, X, D)", "ref.error(sizes, w, X, D, **act)")
        row("gradient", "gradient g = Jᵀe", "net.gradient(w, X, D)", "nlm.gradient(sizes, w, X, D, **act)")
        row("jacobian", "Jacobian J, e", "net.jacobian(w, X)", "ref.jacobian(sizes, w, X, **act)")
        # the blocked twin forms JJᵀ, not Q, when P·M < N (it is then no twin of quasi_hessian)
        row("qg", "Q, g (compiled)", "net.quasi_hessian(w, X, D)", "ref.quasi_hessian(sizes, w, X, D, **act)",
            blocked_twin=("Q, g (blocked, BLAS)", "" if pr.small else "pr.blocked_accumulate()"))
        row("gram", "JᵀJ from a stored J", None, "J_ref.T @ J_ref")
        row("jte", "Jᵀe from a stored J", None, "J_ref.T @ e_ref")
        row("step", "damped step Δ", None, numpy_step, blocked_twin=("damped step Δ (LAPACK)", "pr.ws.solve(MU)"))
        t_numpy_blocked, = _best_many(
            [("ref.quasi_hessian(sizes, w, X, D, block=pr.ws.block, **act)", ns, 1)], rep, mt)
        tables.append((pr, rows, t_numpy_blocked))

    # ----------------------------------------------------------- report
    print()
    print("Time per call (best of repeats).  plain, fast = the plain kernel and its speed twin, each called")
    print("n times inside one compiled loop (the blocked twin's rows: its Python method); public = Network method")
    print("(runs the plain kernel); numpy = numpy_reference / numpy_lm (Q, g: whole Jacobian, one BLAS JᵀJ).")
    print("'—': no such variant.  The rows compare:")
    for label, plain, fast in ROWS:
        print(f"  {label:<24}{plain:<24}{fast}")
    head = (f"  {'operation':<24}{'plain':>10}{'fast':>10}{'plain/fast':>12}{'public':>10}{'numpy':>10}"
            f"{'numpy/fast':>12}")
    for pr, rows, t_nb in tables:
        K = pr.fw.G.shape[0]
        print()
        print(f"{pr.title}: N={pr.N} weights, P={pr.P} patterns, M={pr.M} output; blocked twin: blocks of "
              f"{pr.ws.block} patterns; damped step: {K}×{K} system"
              + (" (JJᵀ + μI, P·M < N)" if pr.small else " (JᵀJ + μI)"))
        print(head)
        print("  " + "-" * (len(head) - 2))
        for label, *_ in ROWS:
            t_plain, t_fast, t_public, t_numpy = rows[label]
            print(f"  {label:<24}{_fmt_time(t_plain):>10}{_fmt_time(t_fast):>10}{_ratio(t_plain, t_fast):>12}"
                  f"{_fmt_time(t_public):>10}{_fmt_time(t_numpy):>10}{_ratio(t_numpy, t_fast):>12}")
        fma = pr.N * (pr.N + 1) / 2 * pr.P * pr.M
        t_qp, t_qf, _, t_qn = rows["Q, g (compiled)"]
        t_qb = rows["Q, g (blocked, BLAS)"][1]
        t_gn = rows["JᵀJ from a stored J"][3]
        print(f"  numpy Q, g built {pr.ws.block} patterns at a time (as the blocked twin): {_fmt_time(t_nb)}")
        print(f"  Q upper triangle = {fma:.3g} multiply-adds: plain {_rate(fma, t_qp)}, compiled twin "
              f"{_rate(fma, t_qf)}, blocked twin {_rate(fma, t_qb)} (each with the Jacobian); numpy JᵀJ product "
              f"alone {_rate(fma, t_gn)}")
    print()
    print(f"Numba dispatch from Python: {_fmt_time(t_none)} for a no-argument call, "
          f"{_fmt_time(t_noop)} for a no-op taking the twins' (w, Y, S, topo).")
    print(f"load average (1 min) at end: {_load()}")
    return 0


def _args(key, pr, np):
    """(plain args, twin args) of the compiled wrappers of row ``key``."""
    fw = pr.fw
    if key == "forward":
        return (pr.w, pr.topo, pr.X, pr.Yp, pr.Sp), (pr.w, pr.Y, pr.S, pr.topo)
    if key == "error":
        return (pr.w, pr.topo, pr.X, pr.D), (pr.w, pr.Y, pr.S, pr.DT, pr.topo)
    if key == "gradient":
        return (pr.w, pr.topo, pr.X, pr.D, pr.g_p), (pr.w, pr.Y, pr.S, pr.DT, pr.topo, pr.g, pr.Dl)
    if key == "jacobian":
        return ((pr.w, pr.topo, pr.X, pr.D, pr.J, pr.e_p),
                (pr.w, pr.Y, pr.S, pr.DT, pr.topo, pr.JT, pr.e, pr.Dl, pr.reached))
    if key == "qg":
        return ((pr.w, pr.topo, pr.X, pr.D, pr.Q, pr.g_p),
                (pr.w, pr.Y, pr.S, pr.DT, pr.topo, pr.JT, pr.e, pr.Dl, pr.reached, pr.g, pr.G, pr.Jr0))
    if key == "gram":  # JᵀJ from Jᵀ (N, R): both take the rows of Jᵀ
        return (pr.JT, pr.G_p), (pr.JT, pr.G)
    if key == "jte":
        return (pr.J, pr.e_p, pr.g_p), (pr.JT, pr.e, pr.g)
    if key == "step":  # the system of the compiled workspace at w (f_prepare), as training solves it
        J = np.ascontiguousarray(fw.JT.T) if pr.small else pr.Jr0
        rhs = fw.e if pr.small else fw.g
        return (fw.G, rhs, MU, J, pr.delta_p), (fw, MU)
    raise KeyError(key)


def _verify(np, assert_allclose, ref, nlm, calls, f_prepare, pr):
    """Every plain kernel against its twin, the public method and the NumPy reference, before any timing."""
    title, sizes, act, net, w, X, D = pr.title, pr.sizes, pr.act, pr.net, pr.w, pr.X, pr.D
    tight = dict(rtol=1e-12, atol=1e-13)  # the twins' tanh differs from math.tanh by a few units in the last place

    def close(a, b, what, **tol):
        scale = max(float(np.max(np.abs(a))), 1e-300)
        opts = dict(rtol=1e-10, atol=1e-12 * scale)
        opts.update(tol)
        assert_allclose(a, b, err_msg=f"{title}: {what}", **opts)

    out = np.asarray(net.topology.out_idx)  # output nodes: columns of the plain kernels' node values
    # forward
    p_args, f_args = _args("forward", pr, np)
    calls["forward"][0](*p_args)
    calls["forward"][1](*f_args)
    close(pr.Yp, pr.Y.T, "twin forward", **tight)
    o_pub = net.forward(w, X)
    close(pr.Yp[:, out], o_pub, "public forward", rtol=0, atol=0)
    close(ref.forward(sizes, w, X, **act), o_pub, "numpy forward", **tight)
    # error
    p_args, f_args = _args("error", pr, np)
    E = calls["error"][0](*p_args)
    close(E, calls["error"][1](*f_args), "twin error", **tight)
    close(E, net.error(w, X, D), "public error", rtol=0, atol=0)
    close(E, ref.error(sizes, w, X, D, **act), "numpy error", **tight)
    # gradient
    p_args, f_args = _args("gradient", pr, np)
    Eg = calls["gradient"][0](*p_args)
    Egf = calls["gradient"][1](*f_args)
    close(pr.g_p, pr.g, "twin gradient")
    close(Eg, Egf, "twin gradient's E", **tight)
    g_pub, _ = net.gradient(w, X, D)
    close(pr.g_p, g_pub, "public gradient", rtol=0, atol=0)
    close(pr.g_p, nlm.gradient(sizes, w, X, D, **act)[0], "numpy gradient")
    # Jacobian
    p_args, f_args = _args("jacobian", pr, np)
    calls["jacobian"][0](*p_args)
    calls["jacobian"][1](*f_args)
    close(pr.J, pr.JT.T, "twin Jacobian", **tight)
    close(pr.e_p, pr.e, "twin errors", **tight)
    close(pr.J, net.jacobian(w, X), "public Jacobian", rtol=0, atol=0)
    close(pr.J, ref.jacobian(sizes, w, X, **act), "numpy Jacobian", **tight)
    # Q, g: compiled twin, blocked twin, public, NumPy
    p_args, f_args = _args("qg", pr, np)
    Eq = calls["qg"][0](*p_args)
    close(Eq, calls["qg"][1](*f_args), "twin Q,g's E", **tight)
    close(pr.Q, pr.G, "twin Q")
    close(pr.g_p, pr.g, "twin g")
    Q_pub, g_pub, E_pub = net.quasi_hessian(w, X, D)
    close(pr.Q, Q_pub, "public Q", rtol=0, atol=0)
    Q_ref, g_ref, E_ref = ref.quasi_hessian(sizes, w, X, D, **act)
    close(pr.Q, Q_ref, "numpy Q")
    close(pr.g_p, g_ref, "numpy g")
    close(Eq, E_ref, "numpy E")
    if not pr.small:
        pr.blocked_accumulate()
        close(pr.Q, pr.ws.gram(), "blocked twin Q")
        close(pr.g_p, pr.ws.g, "blocked twin g")
        Q_rb, g_rb, _ = ref.quasi_hessian(sizes, w, X, D, block=pr.ws.block, **act)
        close(pr.Q, Q_rb, "numpy Q built block by block")
    # JᵀJ and Jᵀe from a stored J (the Jacobian above)
    p_args, f_args = _args("gram", pr, np)
    calls["gram"][0](*p_args)
    calls["gram"][1](*f_args)
    close(pr.G_p, pr.G, "twin JᵀJ")
    close(pr.G_p, pr.J.T @ pr.J, "numpy JᵀJ")
    p_args, f_args = _args("jte", pr, np)
    calls["jte"][0](*p_args)
    calls["jte"][1](*f_args)
    close(pr.g_p, pr.g, "twin Jᵀe")
    # the damped step at w, from the compiled workspace's system
    f_prepare(pr.fw, w)
    p_args, f_args = _args("step", pr, np)
    calls["step"][0](*p_args)
    calls["step"][1](*f_args)
    step_tol = dict(rtol=1e-6, atol=1e-9 * max(float(np.max(np.abs(pr.delta_p))), 1e-300))
    close(pr.delta_p, pr.fw.delta, "twin damped step", **step_tol)
    pr.blocked_accumulate()
    assert pr.ws.solve(MU), f"{title}: the blocked twin found the damped system singular"
    close(pr.delta_p, pr.ws.delta, "blocked twin damped step", **step_tol)
    G = pr.fw.G
    if pr.small:
        d_np = pr.fw.JT @ np.linalg.solve(G + MU * np.eye(G.shape[0]), pr.fw.e)
    else:
        d_np = np.linalg.solve(G + MU * np.eye(G.shape[0]), pr.fw.g)
    close(pr.delta_p, d_np, "numpy damped step", **step_tol)


if __name__ == "__main__":
    raise SystemExit(main())
