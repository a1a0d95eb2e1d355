"""Where an LM iteration of the blocked path goes, and the least time any implementation could take on this BLAS.

Workload: the 2,000-point regression of ``run.py`` (y = sin(x1)·cos(x2),
2-20-20-1, tanh hidden and linear output, 501 weights, goal MSE ≤ 1e-3), the
same two trials from the same initial weights.

1. **Profile.** ``lmtrain.train`` runs the trials with every NumPy call and
   every compiled kernel that the blocked path (:mod:`lmtrain.algorithms._fast.blocked`)
   makes timed: the ``np`` of that module and of its BLAS helpers
   (:mod:`lmtrain.algorithms._fast.blas`), the compiled twins it imports
   (``block_jacobian``, ``blocked_error``, ``pair_products``, ...) and the
   scipy routines of ``blas`` are replaced, for the run only, by proxies that
   time each call. The table
   gives milliseconds per LM iteration for each BLAS product (by shape, as
   BLAS sees it), the LAPACK factorisation and solves, each compiled kernel
   and the rest (Python, copies, checks). The timers
   themselves add a little; the untimed time per iteration is printed too.
2. **Bound.** What an LM iteration on these matrices cannot do without,
   each part timed alone on the matrices of the run's last iteration:
   the BLAS products above (JᵀJ in the fewest multiply-adds we know, pair
   products for the second layer, and Jᵀe), and per try (the run's mean
   number) LAPACK's Cholesky factorisation in place through scipy
   (``dpotrf``, of the matrix bordered by the right-hand side, which also
   does the forward substitution; NumPy does not expose it, and its
   ``cholesky`` copies in and out) and the one triangular solve left
   (``dtrsv``), plus lmtrain's compiled
   Jacobian and forward passes of the tries. Left out as if they were free:
   forming the pair factors and putting the products in place, copies,
   Python. The NumPy LM of ``numpy_lm.py`` is timed in the same process on
   the same trials. NumPy's time over the bound is the most any
   implementation on this BLAS could gain over it (the target asks 2×).

One BLAS thread, as in ``run.py``, unless ``OPENBLAS_NUM_THREADS`` says
otherwise. ``--block-entries`` tries another size
of the Jacobian blocks (lmtrain's ``BLOCK_ENTRIES``). Run::

    pip install -e ".[bench]" && python benchmarks/profile_blocked.py   # under a minute
    python benchmarks/profile_blocked.py --block-entries 131072         # blocks of 261 patterns
"""

from __future__ import annotations

import argparse
import datetime
import math
import os
import platform
import sys
import time

from _machine import cpu_model, one_blas_thread_and_this_tree

one_blas_thread_and_this_tree(__file__)  # before NumPy is imported

import numpy as np  # noqa: E402

import lmtrain as lm  # noqa: E402
import numpy_lm  # noqa: E402
from lmtrain.algorithms._fast import blas, blocked  # noqa: E402
from lmtrain.experiments import trial_weights  # noqa: E402

P = 2000
SIZES = [2, 20, 20, 1]
ACT = dict(activation="bipolar", gain=1.0, output_activation="linear")


def _data(seed=20240611):
    """The points of run.py's regression (same generator, same seed)."""
    rng = np.random.default_rng(seed)
    X = rng.uniform(-np.pi, np.pi, size=(P, 2))
    D = (np.sin(X[:, 0]) * np.cos(X[:, 1])).reshape(-1, 1)
    return X, D


def _best(fn, repeat):
    best = math.inf
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t)
    return best


class _Timers:
    """Seconds and calls per label."""

    def __init__(self):
        self.seconds, self.calls = {}, {}

    def timed(self, label, fn):
        def call(*args, **kwargs):
            t = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                self.seconds[label] = self.seconds.get(label, 0.0) + time.perf_counter() - t
                self.calls[label] = self.calls.get(label, 0) + 1
        return call


class _NumpyProxy:
    """``numpy`` with ``matmul`` (labelled by shapes), ``copyto`` and ``linalg.cholesky`` timed."""

    def __init__(self, timers):
        self._t = timers
        self.copyto = timers.timed("copies (numpy.copyto)", np.copyto)

        class _Linalg:
            cholesky = staticmethod(timers.timed("numpy.linalg.cholesky", np.linalg.cholesky))
            LinAlgError = np.linalg.LinAlgError

        self.linalg = _Linalg

    def matmul(self, a, b, out=None):
        label = f"BLAS {'×'.join(map(str, a.shape))} · {'×'.join(map(str, b.shape))}"
        return self._t.timed(label, np.matmul)(a, b, out=out)

    def __getattr__(self, name):
        return getattr(np, name)


class _ScipyProxy:
    """lmtrain's namespace of scipy routines (``blas.Scipy``) with every call timed, products by shape."""

    def __init__(self, timers, real):
        self._t, self._real = timers, real
        self.dpotrf = timers.timed("LAPACK dpotrf (scipy, in place)", real.dpotrf)
        self.dtrsv = timers.timed("BLAS dtrsv (scipy)", real.dtrsv)

    @staticmethod
    def _op(a, trans):
        return a.shape[::-1] if trans else a.shape

    def dgemm(self, alpha, a, b, trans_a=0, trans_b=0, **kw):
        (m, k), (_, n) = self._op(a, trans_a), self._op(b, trans_b)
        return self._t.timed(f"BLAS {m}×{k} · {k}×{n}", self._real.dgemm)(alpha, a, b, trans_a=trans_a,
                                                                         trans_b=trans_b, **kw)

    def dgemv(self, alpha, a, x, trans=0, **kw):
        m, k = self._op(a, trans)
        return self._t.timed(f"BLAS {m}×{k} · {k}", self._real.dgemv)(alpha, a, x, trans=trans, **kw)

    def dsyrk(self, alpha, a, trans=0, **kw):
        n, k = self._op(a, trans)
        return self._t.timed(f"BLAS syrk {n}×{k}", self._real.dsyrk)(alpha, a, trans=trans, **kw)


def _compiled_names(module):
    """Names of the compiled (Numba) functions ``module`` holds as globals: the twins the blocked path calls."""
    return sorted(k for k, v in vars(module).items() if hasattr(v, "py_func") and hasattr(v, "signatures"))


class _instrumented:
    """For the ``with`` block: the blocked path's NumPy, compiled kernels and scipy routines timed into ``timers``.

    ``blocked.np`` and ``blas.np`` become a timing proxy, every compiled function
    ``blocked`` imports (``block_jacobian``, ``blocked_error``, ``pair_products``, ...)
    a timed wrapper, and ``blas``'s scipy routines (what ``blas.scipy_routines()``
    returns) timed ones. Workspaces made inside the block use the timed scipy routines."""

    def __init__(self, timers):
        self.timers = timers

    def __enter__(self):
        blocked.release()  # a kept workspace would hold the untimed routines
        real = blas.scipy_routines()
        self.saved = blocked.np, blas.np, blas._scipy_fns
        self.kernels = {k: getattr(blocked, k) for k in _compiled_names(blocked)}
        blocked.np = blas.np = _NumpyProxy(self.timers)
        for k, f in self.kernels.items():
            setattr(blocked, k, self.timers.timed(f"compiled {k}", f))
        if real is not None:
            blas._scipy_fns = _ScipyProxy(self.timers, real)
        return self

    def __exit__(self, *exc):
        blocked.release()
        blocked.np, blas.np, blas._scipy_fns = self.saved
        for k, f in self.kernels.items():
            setattr(blocked, k, f)
        return False


def _minor_faults() -> float:
    """Page faults of this process so far (first touches of fresh memory), NaN where unknown."""
    try:
        import resource
        return float(resource.getrusage(resource.RUSAGE_SELF).ru_minflt)
    except (ImportError, OSError):
        return math.nan


def _train_all(net, X, D, W0, opts):
    its, rejected = 0, 0
    results = []
    for w0 in W0:
        r = lm.train(net, X, D, "lm", w0=w0, **opts)
        its += r.iterations
        rejected += int(np.sum(r.history.rejected))
        results.append(r)
    return its, rejected, results


def profile(net, X, D, W0, opts, repeat):
    """(untimed s/iteration, timed s/iteration, {label: s/iteration}, iterations, tries/iteration,
    page faults/iteration, results)."""
    its, rejected, results = _train_all(net, X, D, W0, opts)  # warm-up; Numba cache
    f0 = _minor_faults()
    t_plain = _best(lambda: _train_all(net, X, D, W0, opts), repeat) / its
    faults = (_minor_faults() - f0) / (repeat * its)
    t_timed, parts = math.inf, {}
    for _ in range(repeat):  # the run with the least total is shown
        timers = _Timers()
        with _instrumented(timers):
            t0 = time.perf_counter()
            its2, _, _ = _train_all(net, X, D, W0, opts)
            t = (time.perf_counter() - t0) / its2
        if t < t_timed:
            t_timed, parts = t, {k: v / its2 for k, v in timers.seconds.items()}
    tries = 1.0 + rejected / its
    return t_plain, t_timed, parts, its, tries, faults, results


def bound(net, X, D, w, tries, repeat):
    """{part: seconds per iteration} of what an iteration cannot do without (see the module's docstring)."""
    from scipy.linalg import blas as scipy_blas, lapack

    XT, DT = np.ascontiguousarray(X.T), np.ascontiguousarray(D.T)
    topo = net.topology
    # each part's best over repeated accumulations (all in place, the data hot)
    best = {}
    timers = _Timers()
    with _instrumented(timers):
        ws = blocked.Workspace((XT, DT), topo, net.n_nodes, net.n_weights)
        for _ in range(repeat * 5):
            timers.seconds.clear()
            ws.accumulate(w)
            for k, v in timers.seconds.items():
                best[k] = min(best.get(k, math.inf), v)
    ws.sp = blas.scipy_routines()
    if ws.keeps_forward:  # the Jacobian at an accepted try's weights starts from its forward pass
        jac_key, jac_label = "compiled block_jacobian_at", "compiled Jacobian from the kept forward pass"
    else:
        jac_key, jac_label = "compiled block_jacobian", "compiled Jacobian and forward pass (block_jacobian)"
    t_error = _best(lambda: ws.error(w), repeat * 5)

    N = net.n_weights
    A = np.empty((N + 1, N + 1))  # as lmtrain does: Q + μI bordered by g and a last diagonal entry of +inf
    At = A.T  # Q's upper triangle read column-major is a lower one
    b = np.empty(N + 1)

    def fill():
        A[:N, :N] = ws.Q
        A[:N, N] = ws.g
        A[N, N] = math.inf

    def factor_solve():
        fill()
        A.flat[: (N + 1) * N: N + 2] += 1e-3
        c, info = lapack.dpotrf(At, lower=1, clean=0, overwrite_a=1)
        if info != 0 or c is not At:
            raise RuntimeError(f"dpotrf did not factor in place (info {info})")
        b[:N] = A[:N, N]
        b[N] = 0.0
        return scipy_blas.dtrsv(c, b, lower=1, trans=1, overwrite_x=1)[:N]

    x = factor_solve()
    ref = np.linalg.solve(ws.gram() + 1e-3 * np.eye(N), ws.g)
    assert np.allclose(x, ref, rtol=1e-6, atol=1e-9 * np.max(np.abs(ref))), "LAPACK solve disagrees"
    t_copy = _best(fill, repeat * 5)
    t_lapack = max(0.0, _best(factor_solve, repeat * 5) - t_copy)
    return {
        "BLAS products (JᵀJ by pair products, and Jᵀe)":
            sum(v for k, v in best.items() if k.startswith("BLAS") and "dtrsv" not in k),
        f"LAPACK dpotrf (bordered) + dtrsv in place, {tries:.2f} tries": tries * t_lapack,
        jac_label: best[jac_key],
        f"compiled forward passes of the tries (blocked_error), {tries:.2f} tries": tries * t_error,
    }


def main(argv=None):
    p = argparse.ArgumentParser(prog="benchmarks/profile_blocked.py", description=__doc__.split("\n\n")[0])
    p.add_argument("--repeat", type=int, default=3, help="repeats per measurement, best kept (default 3)")
    p.add_argument("--block-entries", type=int, default=None, metavar="N",
                   help="entries of one Jacobian block, to try other block sizes "
                        f"(default lmtrain's BLOCK_ENTRIES, {blocked.BLOCK_ENTRIES})")
    args = p.parse_args(argv)
    if args.repeat < 1:
        p.error("--repeat must be >= 1")
    if args.block_entries is not None:
        if args.block_entries < 1:
            p.error("--block-entries must be >= 1")
        blocked.BLOCK_ENTRIES = args.block_entries

    X, D = _data()
    net = lm.mlp(SIZES, **ACT)
    W0 = trial_weights(net, 2, 0)
    opts = dict(goal=P * 1e-3 / 2, max_iter=300)
    print(f"{datetime.date.today()}, {cpu_model()}, Python {platform.python_version()}, NumPy {np.__version__}; "
          f"BLAS threads {os.environ.get('OPENBLAS_NUM_THREADS', 'library default')}")
    B = blocked.block_patterns(P, 1, net.n_weights)
    print(f"y = sin(x1)·cos(x2), {P:,} points, MLP 2-20-20-1, {net.n_weights} weights, {len(W0)} trials to "
          f"MSE ≤ 1e-3; blocks of {B} patterns ({blocked.BLOCK_ENTRIES} entries); best of {args.repeat}")

    t_plain, t_timed, parts, its, tries, faults, results = profile(net, X, D, W0, opts, args.repeat)
    fault_text = f"{faults:.0f}" if math.isfinite(faults) else "—"
    print(f"\n1. lmtrain.train, {its} iterations, {tries:.2f} tries per iteration: {t_plain * 1e3:.2f} ms per "
          f"iteration ({t_timed * 1e3:.2f} ms with the timers below), {fault_text} page faults per iteration")
    kernels = parts
    accounted = 0.0
    rest_label = "rest (Python, checks, small NumPy calls)"
    width = max(len(k) for k in [*kernels, rest_label]) + 2
    print(f"   {'part':<{width}}{'ms/iteration':>13}{'share':>8}")
    for k, v in sorted(kernels.items(), key=lambda kv: -kv[1]):
        print(f"   {k:<{width}}{v * 1e3:>13.3f}{v / t_timed:>8.0%}")
        accounted += v
    rest = t_timed - accounted
    print(f"   {rest_label:<{width}}{rest * 1e3:>13.3f}{rest / t_timed:>8.0%}")

    t_np = _best(lambda: [numpy_lm.train_lm(SIZES, X, D, w0, **opts, **ACT) for w0 in W0], args.repeat)
    np_its = sum(numpy_lm.train_lm(SIZES, X, D, w0, **opts, **ACT)[2] for w0 in W0)
    t_np /= np_its
    b = bound(net, X, D, results[-1].weights, tries, args.repeat)
    total = sum(b.values())
    print("\n2. the least an iteration takes on these matrices (each part its best time alone; the pair "
          "factors, putting the products in place, copies and Python counted as free)")
    width = max(len(k) for k in b) + 2
    for k, v in b.items():
        print(f"   {k:<{width}}{v * 1e3:>9.3f} ms")
    print(f"   {'bound':<{width}}{total * 1e3:>9.3f} ms")
    print(f"\n   NumPy LM ({np_its} iterations): {t_np * 1e3:.2f} ms per iteration")
    print(f"   lmtrain: {t_plain * 1e3:.2f} ms, {t_np / t_plain:.2f}x faster than NumPy; the bound: "
          f"{total * 1e3:.2f} ms, {t_np / total:.2f}x; twice as fast as NumPy is {t_np / 2 * 1e3:.2f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
