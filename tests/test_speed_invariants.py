"""What the speed work must not change: results, whichever path computes them.

* the branch-free ``tanh`` of the speed twins against ``numpy.tanh``;
* the Cholesky solves against ``numpy.linalg`` and, bit for bit, against the
  plain algorithm in Python;
* the blocked Gram products against plain dot products, bit for bit;
* the forward pass (net values summed in vector registers) against plain
  loops, bit for bit;
* ``train``'s one-call fast path against its general path and against
  ``run_trials`` (serial and threaded), bit for bit;
* the blocked large-problem path against the whole-Jacobian path, and its
  pair-product Gram of the neurons that share their inputs against J.T @ J;
* the ``jacobian`` option and the automatic choice between the two paths.

No timings here: the benchmark (``benchmarks/run.py``) measures speed.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

import lmtrain as lm
from lmtrain.algorithms import GAUSS_NEWTON, LM, records
from lmtrain.algorithms._fast import blas, block_sizes, blocked, pairs, simd
from lmtrain.algorithms._fast import forward as fast_forward
from lmtrain.algorithms._fast import gram as fast_gram
from lmtrain.algorithms._fast import trials as _batch
from lmtrain.algorithms import lm as lm_rule
from lmtrain.algorithms.shared import interpreted
from lmtrain.experiments import run_trials, trial_weights

ULP_LIMIT = 4


# ------------------------------------------------------------------- tanh
def _tanh_inputs():
    rng = np.random.default_rng(7)
    parts = [
        rng.uniform(-1e-8, 1e-8, 2000), rng.uniform(-0.4, 0.4, 4000), rng.uniform(-3.0, 3.0, 4000),
        rng.uniform(-25.0, 25.0, 4000), np.logspace(-300, 1.5, 2000), -np.logspace(-300, 1.5, 2000),
        np.array([0.0, 5e-324, 1e-300, 0.1733, 0.3465735902799726, 0.34657359027997264, 18.9, 19.06, 19.1,
                  20.0, 20.0000001, 700.0, 1e300]),
    ]
    x = np.concatenate(parts)
    return np.concatenate([x, -x])


def test_tanh_matches_numpy_to_a_few_ulp():
    x = _tanh_inputs()
    out = np.empty_like(x)
    simd.tanh_array(x, out)
    ref = np.tanh(x)
    ulp = np.abs(out - ref) / np.spacing(np.abs(ref))
    worst = int(np.argmax(ulp))
    assert ulp[worst] <= ULP_LIMIT, f"tanh({x[worst]!r}) = {out[worst]!r}, numpy {ref[worst]!r}: {ulp[worst]} ulp"
    assert np.all(np.abs(out) <= 1.0)
    assert np.all(np.sign(out) == np.sign(ref))


def test_tanh_special_values():
    x = np.array([0.0, -0.0, np.inf, -np.inf, np.nan, 1e308, -1e308])
    out = np.empty_like(x)
    simd.tanh_array(x, out)
    assert out[0] == 0.0 and not np.signbit(out[0])
    assert out[1] == 0.0 and np.signbit(out[1]), "tanh(-0) must be -0"
    assert out[2] == 1.0 and out[3] == -1.0
    assert np.isnan(out[4]), "NaN must propagate (a diverged run is detected through E)"
    assert out[5] == 1.0 and out[6] == -1.0


def test_tanh_is_the_same_compiled_and_interpreted(monkeypatch):
    """The formula is plain arithmetic: the Python function gives the compiled bits.

    (2^k is a bit cast in compiled code; the Python function gets its NumPy
    equivalent, as under NUMBA_DISABLE_JIT.)"""
    x = _tanh_inputs()[::97]
    out = np.empty_like(x)
    simd.tanh_array(x, out)
    monkeypatch.setattr(simd, "_float_from_bits", simd._float_from_bits_py)
    py = np.array([simd.tanh.py_func(float(v)) for v in x])
    np.testing.assert_array_equal(out, py)


# --------------------------------------------------------------- Cholesky
@pytest.mark.parametrize("n", [1, 2, 7, 8, 9, 33])
def test_cholesky_solves_match_numpy(n):
    rng = np.random.default_rng(n)
    B = rng.normal(size=(n + 3, n))
    A = B.T @ B + 0.1 * np.eye(n)
    b = rng.normal(size=n)
    x_ref = np.linalg.solve(A, b)
    A1, x1 = A.copy(), b.copy()
    assert fast_gram.cholesky_solve(A1, x1)
    np.testing.assert_allclose(x1, x_ref, rtol=1e-10, atol=1e-12)
    x2 = b.copy()
    fast_gram.cholesky_solve_lower(np.linalg.cholesky(A), x2)
    np.testing.assert_allclose(x2, x_ref, rtol=1e-10, atol=1e-12)


def test_cholesky_reports_singular_and_indefinite():
    v = np.array([1.0, 2.0, 3.0])
    assert not fast_gram.cholesky_solve(np.outer(v, v), np.ones(3))  # rank 1
    assert not fast_gram.cholesky_solve(np.diag([1.0, -1.0, 2.0]), np.ones(3))
    assert not fast_gram.cholesky_solve(np.full((2, 2), np.nan), np.ones(2))



def _cholesky_plain(A, b):
    """The textbook order in Python floats: factor A = UᵀU, then Uᵀz = b, then Ux = z (separate passes)."""
    n = len(b)
    U = [[float(v) for v in row] for row in A]
    x = [float(v) for v in b]
    for j in range(n):
        inv = 1.0 / np.sqrt(U[j][j])
        U[j][j] = inv
        for i in range(j + 1, n):
            U[j][i] = U[j][i] * inv
        for i in range(j + 1, n):
            f = U[j][i]
            for k in range(i, n):
                U[i][k] -= f * U[j][k]
    for i in range(n):
        zi = x[i] * U[i][i]
        x[i] = zi
        for k in range(i + 1, n):
            x[k] -= zi * U[i][k]
    for i in range(n - 1, -1, -1):
        s = x[i]
        for k in range(i + 1, n):
            s -= U[i][k] * x[k]
        x[i] = s * U[i][i]
    return np.array(x), np.array(U)


@pytest.mark.parametrize("n", [1, 2, 5, 8, 16, 23])
def test_cholesky_solve_is_the_plain_algorithm_bit_for_bit(n):
    """The compiled solve overlaps the forward substitution with the factorisation: same bits as separate passes."""
    rng = np.random.default_rng(100 + n)
    B = rng.normal(size=(n + 2, n))
    A = B.T @ B + 0.01 * np.eye(n)
    b = rng.normal(size=n)
    A1, x1 = A.copy(), b.copy()
    assert fast_gram.cholesky_solve(A1, x1)
    x_ref, U_ref = _cholesky_plain(A, b)
    np.testing.assert_array_equal(x1, x_ref)
    np.testing.assert_array_equal(np.triu(A1), np.triu(U_ref))


# --------------------------------------------------------------- forward
def _plain_forward(net, w, X):
    """Y, S and the net values of every node by plain Python loops in the twin's order
    (net = bias, then += w·y per input)."""
    n_in, in_ptr, in_idx, w_ptr, act, gain, _ = net.topology
    P = X.shape[0]
    Y = np.zeros((n_in + act.shape[0], P))
    S = np.zeros_like(Y)
    NET = np.zeros_like(Y)
    Y[:n_in] = X.T
    for j in range(act.shape[0]):
        node, base, k0 = n_in + j, w_ptr[j], in_ptr[j]
        for p in range(P):
            net_value = float(w[base])
            for k in range(k0, in_ptr[j + 1]):
                net_value += float(w[base + 1 + k - k0]) * float(Y[in_idx[k], p])
            NET[node, p] = net_value
            g = float(gain[j])
            if act[j] == lm.activations.BIPOLAR:
                y = simd.tanh(g * net_value)
                s = g * (1.0 - y * y)
            elif act[j] == lm.activations.UNIPOLAR:
                y, s = lm.activations.unipolar(g, net_value)  # the record's own function
            else:
                y, s = g * net_value, g
            Y[node, p], S[node, p] = y, s
    return Y, S, NET


@pytest.mark.parametrize("P", [1, 5, 7, 8, 9, 13, 16, 17, 24, 31, 40])
def test_forward_is_plain_loops_bit_for_bit(P):
    """Eight patterns and more: net values in vector registers (whole and masked blocks); fewer: loops."""
    nets = [
        lm.mlp([3, 4, 2], activation="bipolar", gain=0.7),
        lm.bmlp([2, 3, 2, 1], activation="unipolar", gain=1.3, output_activation="linear", output_gain=0.5),
        lm.fcc(3, 4, 2, activation="bipolar", gain=0.5),
    ]
    for i, net in enumerate(nets):
        rng = np.random.default_rng(100 * P + i)
        X = rng.normal(size=(P, net.n_inputs))
        w = rng.normal(size=net.n_weights)
        w[rng.random(w.shape) < 0.15] = 0.0
        Y_ref, S_ref, NET = _plain_forward(net, w, X)
        n_in = net.n_inputs
        Y = np.full_like(Y_ref, np.nan)
        Y[:n_in] = X.T
        S = np.full_like(S_ref, np.nan)
        fast_forward.forward(w, Y, S, net.topology)
        np.testing.assert_array_equal(Y, Y_ref, err_msg=f"P={P}, net {i}")
        np.testing.assert_array_equal(S[n_in:], S_ref[n_in:], err_msg=f"P={P}, net {i}")
        # the interpreted stand-in of the vector sums does the same arithmetic
        _, in_ptr, in_idx, w_ptr, act, _, _ = net.topology
        for j in range(act.shape[0]):
            Yp = Y_ref.copy()
            Yp[n_in + j] = np.nan
            simd._net_rows_py(w, w_ptr[j], Yp, in_idx, in_ptr[j], in_ptr[j + 1], n_in + j)
            np.testing.assert_array_equal(Yp[n_in + j], NET[n_in + j])


# ------------------------------------------------------------------ Gram
def _plain_gram(A):
    """G[a, b] = Σ_i A[a, i]·A[b, i], one sum per entry in the order of i (Python floats)."""
    n, L = A.shape
    ref = np.empty((n, n))
    for a in range(n):
        for b in range(n):
            s = 0.0
            for i in range(L):
                s += float(A[a, i]) * float(A[b, i])
            ref[a, b] = s
    return ref


@pytest.mark.parametrize("R", range(1, 10))
def test_small_side_gram_is_plain_dot_products_bit_for_bit(R):
    """JJᵀ from Jᵀ: vector sums over the rows of Jᵀ for R ≤ 8 (whole and masked loads), rows of J above."""
    for N in (1, 2, 3, 9, 16, 23):
        rng = np.random.default_rng(10 * R + N)
        JT = rng.normal(size=(N, R))
        JT[rng.random(JT.shape) < 0.2] = 0.0  # exact zeros, as where an output does not depend on a weight
        G = np.full((R, R), np.nan)
        Jr = np.empty((R, N))
        fast_gram.gram_t(JT, G, True, Jr)
        ref = _plain_gram(JT.T)
        np.testing.assert_array_equal(G, ref, err_msg=f"R={R}, N={N}")
        py = np.empty((R, R))
        simd._gram_cols_small_py(JT, py)
        np.testing.assert_array_equal(py, ref)


@pytest.mark.parametrize("n,L", [(1, 4), (3, 3), (7, 9), (8, 16), (15, 6), (16, 22), (17, 5), (21, 30), (34, 11)])
def test_gram_rows_is_plain_dot_products_bit_for_bit(n, L):
    """Blocked dot products (1×4 below n = 16, 2×4 from there) equal one plain sum per entry, in order."""
    rng = np.random.default_rng(n * 100 + L)
    A = rng.normal(size=(n, L))
    G = np.full((n, n), np.nan)
    fast_gram.gram_rows(A, G)
    np.testing.assert_array_equal(G, _plain_gram(A))
    np.testing.assert_allclose(G, A @ A.T, rtol=1e-12, atol=1e-12)


# ------------------------------------------------- fast path vs the others
PARITY = lm.datasets.parity(3)
NET = lm.mlp([3, 3, 1], activation="bipolar", gain=0.5)
CASES = [("lm", {}), ("ebp", {"alpha": 1.0, "momentum": 0.5, "max_iter": 300}), ("gauss_newton", {}),
         ("newton", {"max_iter": 20, "indefinite": "step"})]


def _same_result(a, b, what):
    assert a.stop_reason == b.stop_reason, what
    assert a.iterations == b.iterations, what
    np.testing.assert_array_equal(a.weights, b.weights, err_msg=what)
    assert a.error == b.error and a.initial_error == b.initial_error, what
    for field in ("error", "mu", "gradient_norm", "rejected", "forced"):
        np.testing.assert_array_equal(getattr(a.history, field), getattr(b.history, field), err_msg=f"{what}: {field}")


@pytest.mark.parametrize("algorithm,options", CASES)
def test_fast_path_equals_general_path_and_trials(algorithm, options):
    X, D = PARITY
    W0 = trial_weights(NET, 6, 3)
    serial = run_trials(NET, X, D, algorithm, w0=W0, goal=0.01, parallel=False, progress=False, **options)
    threaded = run_trials(NET, X, D, algorithm, w0=W0, goal=0.01, parallel=True, progress=False, **options)
    for name in ("stop_reason", "iterations", "error", "initial_error", "weights", "error_history"):
        np.testing.assert_array_equal(getattr(serial, name), getattr(threaded, name), err_msg=name)
    for t in range(len(W0)):
        fast = lm.train(NET, X, D, algorithm, w0=W0[t], goal=0.01, **options)
        general = lm.train(NET, X.tolist(), D.tolist(), algorithm, w0=W0[t].tolist(), goal=0.01, **options)
        watched = lm.train(NET, X, D, algorithm, w0=W0[t], goal=0.01, callback=lambda rec: None, **options)
        _same_result(fast, general, f"{algorithm} trial {t}: fast vs general path")
        _same_result(fast, watched, f"{algorithm} trial {t}: fast path vs one step per call")
        assert fast.iterations == serial.iterations[t]
        np.testing.assert_array_equal(fast.weights, serial.weights[t])
        n = min(fast.iterations, serial.error_history.shape[1])
        np.testing.assert_array_equal(fast.history.error[:n], serial.error_history[t, :n])
        assert np.all(np.isnan(fast.history.validation_error))


def test_fast_path_result_is_an_ordinary_result():
    """Weights, history and options are made on first use; copies, pickles and dataclass helpers see them."""
    import copy
    import dataclasses
    import pickle

    X, D = PARITY
    w0 = NET.init_weights(5)
    general = lm.train(NET, X.tolist(), D.tolist(), w0=w0.tolist(), goal=0.01)
    for make in (lambda r: r, copy.copy, copy.deepcopy, lambda r: pickle.loads(pickle.dumps(r)),
                 lambda r: dataclasses.replace(r, elapsed=0.0)):
        fast = make(lm.train(NET, X, D, w0=w0, goal=0.01))
        assert type(fast) is lm.TrainResult
        _same_result(fast, general, "fast vs general")
        assert fast.options == general.options
        fields = dataclasses.asdict(fast)
        assert sorted(fields) == sorted(f.name for f in dataclasses.fields(lm.TrainResult))
        np.testing.assert_array_equal(fields["weights"], general.weights)
        assert "_pending" not in vars(fast)
    # each result has its own options and weights
    a = lm.train(NET, X, D, w0=w0, goal=0.01)
    b = lm.train(NET, X, D, w0=w0, goal=0.01)
    a.options["goal"] = 99.0
    a.weights[:] = 0.0
    assert b.options["goal"] == 0.01 and np.array_equal(b.weights, general.weights)
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        lm.train(NET, X, D, w0=w0, goal=0.01).nope


@pytest.mark.parametrize("first", ["validation_error", "error", "time", "rejected"])
def test_fast_path_history_fields_whichever_is_read_first(first):
    """Every field of a fast-path history has its values whichever is read first (validation_error,
    whose dataclass default is a class attribute, was once read as None when read first)."""
    X, D = PARITY
    w0 = NET.init_weights(5)
    general = lm.train(NET, X.tolist(), D.tolist(), w0=w0.tolist(), goal=0.01).history
    fast = lm.train(NET, X, D, w0=w0, goal=0.01).history
    value = getattr(fast, first)
    assert isinstance(value, np.ndarray) and len(value) == len(general.error), first
    for name in ("error", "mu", "gradient_norm", "rejected", "forced", "validation_error"):
        value = getattr(fast, name)
        assert isinstance(value, np.ndarray) and len(value) == len(general.error), name
        np.testing.assert_array_equal(value, getattr(general, name), err_msg=name)
    assert np.all(np.isnan(fast.validation_error))


def test_fast_path_leaves_inputs_alone_and_rejects_nan():
    X, D = PARITY
    w0 = NET.init_weights(4)
    keep = (X.copy(), D.copy(), w0.copy())
    r = lm.train(NET, X, D, w0=w0, goal=0.01)
    assert r.weights is not w0
    for a, b in zip((X, D, w0), keep):
        np.testing.assert_array_equal(a, b)
    bad = X.copy()
    bad[2, 1] = np.nan
    with pytest.raises(ValueError, match="X"):
        lm.train(NET, bad, D, w0=w0)
    w_bad = w0.copy()
    w_bad[0] = np.inf
    with pytest.raises(ValueError, match="w0"):
        lm.train(NET, X, D, w0=w_bad)


def test_seeded_weights_are_the_documented_draws():
    X, D = PARITY
    for seed in (0, 1, 0):  # the second 0 comes from the cache of drawn weights
        r = lm.train(NET, X, D, seed=seed, goal=0.01)
        ref = lm.train(NET, X, D, w0=NET.init_weights(seed), goal=0.01)
        _same_result(r, ref, f"seed {seed}")


# ------------------------------------------------------------ blocked path
def _regression(P, seed=5):
    rng = np.random.default_rng(seed)
    X = rng.uniform(-np.pi, np.pi, (P, 2))
    return X, np.sin(X[:, :1]) * np.cos(X[:, 1:])


REG_NET = lm.mlp([2, 4, 4, 1], activation="bipolar", output_activation="linear")


@pytest.fixture(params=["scipy", "numpy"])
def cholesky(request, monkeypatch):
    """The blocked path's BLAS and LAPACK: scipy's, in place, or NumPy's (``matmul``, ``linalg.cholesky``)."""
    if request.param == "scipy":
        pytest.importorskip("scipy.linalg")
    monkeypatch.setattr(blas, "USE_SCIPY", request.param == "scipy")
    assert (blas.scipy_routines() is not None) == (request.param == "scipy")
    return request.param


class _Counting:
    """A workspace's scipy routines, each call's name recorded in ``calls``."""

    def __init__(self, real, calls):
        for name in ("dgemm", "dgemv", "dsyrk", "dpotrf", "dtrsv"):
            f = getattr(real, name)
            setattr(self, name, lambda *a, _f=f, _n=name, **k: calls.append(_n) or _f(*a, **k))


@pytest.mark.parametrize("algorithm", ["lm", "gauss_newton"])
def test_blocked_path_follows_the_full_path(algorithm, cholesky):
    X, D = _regression(150)
    w0 = REG_NET.init_weights(2)
    full = lm.train(REG_NET, X, D, algorithm, w0=w0, max_iter=15, jacobian="full")
    blocks = lm.train(REG_NET, X, D, algorithm, w0=w0, max_iter=15, jacobian="blocks")
    stepped = lm.train(REG_NET, X, D, algorithm, w0=w0, max_iter=15, jacobian="blocks", callback=lambda r: None)
    for other in (blocks, stepped):
        assert other.stop_reason == full.stop_reason
        assert other.iterations == full.iterations
        np.testing.assert_array_equal(other.history.rejected, full.history.rejected)
        np.testing.assert_allclose(other.history.error, full.history.error, rtol=1e-8)
        np.testing.assert_allclose(other.weights, full.weights, rtol=1e-6, atol=1e-9)
    np.testing.assert_array_equal(blocks.weights, stepped.weights)


def test_blocked_path_small_side_matches_full_path(cholesky):
    """Fewer residuals than weights: the P·M-sized system, as the compiled path solves it."""
    X, D = PARITY
    W0 = trial_weights(NET, 5, 11)
    for algorithm in ("lm", "gauss_newton"):
        a = run_trials(NET, X, D, algorithm, w0=W0, goal=0.01, jacobian="full", progress=False)
        b = run_trials(NET, X, D, algorithm, w0=W0, goal=0.01, jacobian="blocks", progress=False)
        np.testing.assert_array_equal(a.stop_reason, b.stop_reason)
        np.testing.assert_array_equal(a.iterations, b.iterations)


@pytest.mark.parametrize("side", ["JᵀJ", "JJᵀ"])
def test_blocked_solve_against_numpy(side, cholesky, monkeypatch):
    """Δ against numpy.linalg.solve; singular and indefinite systems refused; scipy's LAPACK used when asked."""
    net = REG_NET
    P = 60 if side == "JᵀJ" else 7  # 37 weights
    X, D = _regression(P)
    XT, DT = np.ascontiguousarray(X.T), np.ascontiguousarray(D.T)
    ws = blocked.Workspace((XT, DT), net.topology, net.n_nodes, net.n_weights)
    assert ws.small == (side == "JJᵀ")
    assert (ws.sp is not None) == (cholesky == "scipy")
    calls = []
    if cholesky == "scipy":  # count the calls: the scipy branch must be the one that runs
        ws.sp = _Counting(ws.sp, calls)
    w = net.init_weights(3)
    ws.accumulate(w)
    J = net.jacobian(w, X)
    e = (D - net.forward(w, X)).ravel()
    if cholesky == "scipy":
        assert calls and set(calls) <= {"dgemm", "dgemv", "dsyrk"}
        del calls[:]
    K = ws.Q.shape[0]
    ws.Q[np.tril_indices(K, -1)] = np.nan  # the factorisation reads the upper triangle only
    for mu in (1e-3, 0.1, 10.0):
        assert ws.solve(mu)
        ref = np.linalg.solve(J.T @ J + mu * np.eye(net.n_weights), J.T @ e)
        np.testing.assert_allclose(ws.delta, ref, rtol=1e-7, atol=1e-10 * np.abs(ref).max())
    once = ["dpotrf", "dtrsv"] + (["dgemv"] if side == "JJᵀ" else [])  # Δ = Jᵀ(JJᵀ + μI)⁻¹e on the small side
    assert calls == (once * 3 if cholesky == "scipy" else [])
    Q = ws.Q.copy()
    ws.Q[:] = 0.0
    ws.Q[: K - 1, : K - 1] = np.eye(K - 1)  # singular: the last pivot is 0
    assert not ws.solve(0.0)
    assert not ws.solve(1e-30)  # a pivot below n·eps times the largest diagonal entry
    ws.Q[:] = np.diag(np.r_[np.ones(K - 1), -1.0])  # indefinite
    assert not ws.solve(0.5)
    ws.Q[:] = Q
    ws.Q[0, 0] = np.nan
    assert not ws.solve(0.1)


def test_blocked_solve_numpy_branch_on_a_bordered_buffer():
    """A workspace made with scipy (its system buffer bordered, (K+1)×(K+1)) that then solves
    with NumPy adds μ to the diagonal of the K×K system, not along another stride."""
    pytest.importorskip("scipy.linalg")
    net = REG_NET
    X, D = _regression(60)
    XT, DT = np.ascontiguousarray(X.T), np.ascontiguousarray(D.T)
    ws = blocked.Workspace((XT, DT), net.topology, net.n_nodes, net.n_weights)
    K = ws.Q.shape[0]
    assert ws.sp is not None and ws.A.shape == (K + 1, K + 1)
    w = net.init_weights(4)
    ws.accumulate(w)
    ws.sp = None
    J = net.jacobian(w, X)
    e = (D - net.forward(w, X)).ravel()
    for mu in (1e-3, 10.0):
        assert ws.solve(mu)
        ref = np.linalg.solve(J.T @ J + mu * np.eye(K), J.T @ e)
        np.testing.assert_allclose(ws.delta, ref, rtol=1e-7, atol=1e-10 * np.abs(ref).max())


def test_blocked_accumulation_matches_numpy_with_a_short_last_block(cholesky):
    X, D = _regression(53)  # more patterns than the 37 weights: JᵀJ, built in blocks
    net = REG_NET
    w = net.init_weights(9)
    XT, DT = np.ascontiguousarray(X.T), np.ascontiguousarray(D.T)
    ws = blocked.Workspace((XT, DT), net.topology, net.n_nodes, net.n_weights, block=10)
    assert [nb for _, nb in ws.blocks] == [10, 10, 10, 10, 10, 3]
    ws.accumulate(w)
    J = net.jacobian(w, X)
    e = (D - net.forward(w, X)).ravel()
    np.testing.assert_allclose(ws.gram(), J.T @ J, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(ws.g, J.T @ e, rtol=1e-12, atol=1e-12)
    assert ws.error(w) == pytest.approx(net.error(w, X, D), rel=1e-13)


PAIR_NETS = {
    "mlp 2-20-20-1": lm.mlp([2, 20, 20, 1], activation="bipolar", output_activation="linear"),
    "mlp 3-6-5-3 (three outputs)": lm.mlp([3, 6, 5, 3], activation="unipolar", gain=0.7),
    "bridged 4-5-4-2": lm.bmlp([4, 5, 4, 2]),
    "fcc 3 inputs, 6 neurons": lm.fcc(3, 6),
}


def _plan_kinds(ws):
    return [(r0, r1, "pairs" if bufs is not None else "syrk") for r0, r1, _, _, bufs in ws._gram_plan]


@pytest.mark.parametrize("name", sorted(PAIR_NETS))
@pytest.mark.parametrize("block", [None, 37])
def test_pair_product_gram_equals_jtj(name, block, cholesky):
    """Q from pair products and row-range products equals JᵀJ of the public Jacobian (NumPy), block by block."""
    net = PAIR_NETS[name]
    rng = np.random.default_rng(len(name))
    P = 2 * net.n_weights // net.n_outputs + 5  # more residuals than weights: the JᵀJ side
    X = rng.normal(size=(P, net.n_inputs))
    D = rng.normal(size=(P, net.n_outputs))
    w = net.init_weights(4)
    XT, DT = np.ascontiguousarray(X.T), np.ascontiguousarray(D.T)
    ws = blocked.Workspace((XT, DT), net.topology, net.n_nodes, net.n_weights, block=block)
    ws.accumulate(w)
    J = net.jacobian(w, X)
    ref = J.T @ J
    np.testing.assert_allclose(ws.gram(), ref, rtol=1e-12, atol=1e-12 * np.abs(ref).max())
    np.testing.assert_array_equal(np.triu(ws.gram()), np.triu(ws.Q))  # Q holds the upper triangle
    np.testing.assert_allclose(ws.g, J.T @ (D - net.forward(w, X)).ravel(), rtol=1e-12, atol=1e-12)
    if name.startswith("mlp"):  # the layers share their inputs: the test must reach the pair products
        assert any(kind == "pairs" for *_, kind in _plan_kinds(ws))
        assert ws._merge is not None  # and the output layer's rows merged into the first layer's product


def test_gram_plan_groups_the_layers():
    net = PAIR_NETS["mlp 2-20-20-1"]
    plan = pairs.gram_plan(net.topology, net.n_weights, 100)
    assert [(r0, r1, bufs is not None) for r0, r1, _, _, bufs in plan] == [
        (0, 60, False),  # 20 neurons with 3 inputs (bias included): too few inputs to gain
        (60, 480, True),  # 20 neurons with 21 inputs: 210 × 231 products instead of 420·421/2
        (480, 501, False),  # the output neuron alone
    ]
    r0, r1, bases, srcs, (UT, VT, C, Cc) = plan[1]
    np.testing.assert_array_equal(bases, np.arange(60, 480, 21))
    np.testing.assert_array_equal(srcs, np.arange(2, 22))  # the first layer's nodes
    assert UT.shape == (210, 100) and VT.shape == (231, 100) and C.shape == Cc.shape == (210, 231)
    chunk = pairs.gram_plan(net.topology, net.n_weights, 5000)[1][4]
    assert chunk[0].shape == (210, pairs.PAIR_CHUNK)  # big blocks: pair products a chunk at a time
    # nothing to gain: FCC neurons each have their own inputs; and the switch
    big = lm.mlp([2, 100, 100, 1])  # its 100-neuron layer would need 53·10⁶ doubles of buffers: syrk
    assert pairs.gram_plan(big.topology, big.n_weights, 2000) == []
    fcc = PAIR_NETS["fcc 3 inputs, 6 neurons"]
    assert pairs.gram_plan(fcc.topology, fcc.n_weights, 100) == []
    assert pairs.gram_plan(net.topology, net.n_weights, 100, pairs=False) == []


def test_pair_products_against_plain_loops():
    """The two factors, entry by entry, from δ and y computed in Python."""
    net = lm.mlp([3, 5, 4, 2], activation="bipolar")
    rng = np.random.default_rng(3)
    P = 11
    X = rng.normal(size=(P, 3))
    w = net.init_weights(1)
    J = net.jacobian(w, X)  # rows p·M + m
    n_in, in_ptr, in_idx, w_ptr, *_ = net.topology
    M = 2
    bases = np.ascontiguousarray(w_ptr[5:9])  # the second hidden layer: 4 neurons fed by nodes 3..7
    srcs = np.ascontiguousarray(in_idx[in_ptr[5]:in_ptr[6]])
    JT = np.ascontiguousarray(J.T)
    # node values of the first layer (its outputs are the inputs of the second), recovered from J:
    # J[(p,m), base_n + 1 + k] = J[(p,m), base_n] · y_k(p)
    Ynodes = np.zeros((net.n_nodes, P))
    for k, src in enumerate(srcs):
        Ynodes[src] = J[::M, bases[0] + 1 + k] / J[::M, bases[0]]
    y = np.vstack([np.ones(P), Ynodes[srcs]])
    for c0, width in ((0, P), (4, 5)):  # all patterns; a chunk of patterns 4..8
        UT = np.empty((10, width))
        VT = np.empty((21, width))  # 5 inputs and the bias: 6·7/2 pairs
        pairs.pair_products(JT, Ynodes, bases, srcs, c0, UT, VT)
        ps = range(c0, c0 + width)
        q = 0
        for i in range(4):
            for j in range(i, 4):
                expect = [sum(J[p * M + m, bases[i]] * J[p * M + m, bases[j]] for m in range(M)) for p in ps]
                np.testing.assert_allclose(UT[q], expect, rtol=1e-13)
                q += 1
        q = 0
        for a in range(6):
            for b in range(a, 6):
                np.testing.assert_allclose(VT[q], y[a, c0:c0 + width] * y[b, c0:c0 + width], rtol=1e-13)
                q += 1


def test_pair_product_training_follows_syrk():
    """The same run with and without pair products: same iterations and tries, errors equal to rounding."""
    net = lm.mlp([2, 8, 8, 1], activation="bipolar", output_activation="linear")
    X, D = _regression(300)
    XT, DT = np.ascontiguousarray(X.T), np.ascontiguousarray(D.T)
    runs = []
    for pairs in (True, False):
        ws = blocked.Workspace((XT, DT), net.topology, net.n_nodes, net.n_weights, block=64, pairs=pairs)
        w = net.init_weights(6)
        E0 = ws.error(w)
        o = lm.algorithms.resolve_options("lm", {"max_iter": 12})
        opts = records.pack(o, D.size, 0.0, o["mu"])
        E, mu, rejected = E0, 0.01, []
        for _ in range(12):  # the LM step itself, interpreted on the blocked workspace as the trainer runs it
            out = interpreted(lm_rule.step)(w, E, mu, opts[0], ws)
            E, mu = out.error, out.mu
            rejected.append(out.rejected)
        runs.append((w, E, rejected, _plan_kinds(ws) if pairs else None))
    (wa, Ea, ra, kinds), (wb, Eb, rb, _) = runs
    assert "pairs" in {k for *_, k in kinds}
    assert ra == rb
    assert Ea == pytest.approx(Eb, rel=1e-9)
    np.testing.assert_allclose(wa, wb, rtol=1e-7, atol=1e-10)


def test_blocked_workspace_does_not_grow_with_the_patterns():
    net = lm.mlp([2, 20, 20, 1], activation="bipolar", output_activation="linear")
    sizes = []
    for P in (20_000, 100_000):
        X, D = _regression(P)
        ws = blocked.Workspace((np.ascontiguousarray(X.T), np.ascontiguousarray(D.T)), net.topology, net.n_nodes,
                               net.n_weights)
        sizes.append(ws.nbytes)
        assert ws.block * net.n_weights <= blocked.BLOCK_ENTRIES
    assert sizes[1] == sizes[0] or sizes[1] < 64 << 20
    assert max(sizes) < 64 << 20, "the blocked path should hold far less than the 400 MB Jacobian"


def test_block_rows_avoid_multiples_of_4_kb():
    """The fewest blocks within BLOCK_ENTRIES, equal in size, except that a row of J_b or of the node
    values is never a multiple of 4 KB."""
    E = blocked.BLOCK_ENTRIES
    assert blocked.block_patterns(2000, 1, 501, entries=1 << 18) == 500  # four of 500, not 3 × 523 + 431
    assert blocked.block_patterns(100_000, 1, 501, entries=1 << 20) == 2084  # 48 blocks; 2,092 fit
    assert blocked.block_patterns(100_352, 1, 512, entries=1 << 20) == 2040  # 2,048 would alias in the caches
    assert blocked.block_patterns(100_352, 2, 256, entries=1 << 20) == 2040  # J_b rows are B·M long
    assert blocked.block_patterns(2048, 1, 512, entries=1 << 20) == 2048  # one block of all patterns
    assert blocked.block_patterns(10, 1, 10**7) == 1
    for P, M, N in ((100_000, 1, 512), (100_000, 3, 97), (5000, 1, 64), (2000, 1, 501), (777, 2, 300)):
        B = blocked.block_patterns(P, M, N)
        most = E // (M * N)
        n = -(-P // B)
        assert B * M * N <= E and (B == P or (B * M) % 512 != 0)
        assert n <= -(-P // most) + 1  # the fewest blocks (one more where a 4 KB row was avoided)
        if n == -(-P // most):  # no 4 KB row avoided: the last block is about as long as the others
            assert P - (n - 1) * B > B - n


def _layouts(rng, shape):
    """The same matrix C-ordered, Fortran-ordered, and as the transpose of the other order."""
    A = rng.normal(size=shape)
    return [A.copy(), np.asfortranarray(A), np.ascontiguousarray(A.T).T, np.asfortranarray(A.T).T]


def test_scipy_blas_helpers_against_numpy():
    """_gemm, _gemv and _syrk: every operand layout, set and add, in place, stale NaN in the output ignored."""
    pytest.importorskip("scipy.linalg")
    sp = blas.scipy_routines()
    assert sp is not None
    rng = np.random.default_rng(8)
    for X in _layouts(rng, (5, 7)):
        for Y in _layouts(rng, (7, 3)):
            for order in "CF":
                R = np.full((5, 3), np.nan, order=order)
                ptr = R.ctypes.data
                blas.gemm(sp, X, Y, R, False)
                np.testing.assert_allclose(R, X @ Y, rtol=1e-13)
                blas.gemm(sp, X, Y, R, True)
                np.testing.assert_allclose(R, 2 * (X @ Y), rtol=1e-13)
                assert R.ctypes.data == ptr
    for A in _layouts(rng, (6, 4)):
        x = rng.normal(size=4)
        y = np.full(6, np.nan)
        blas.gemv(sp, A, x, y, False)
        np.testing.assert_allclose(y, A @ x, rtol=1e-13)
        blas.gemv(sp, A, x, y, True)
        np.testing.assert_allclose(y, 2 * (A @ x), rtol=1e-13)
    for Z in _layouts(rng, (5, 9)):
        R = np.full((5, 5), np.nan)
        blas.syrk(sp, Z, R, False)
        blas.syrk(sp, Z, R, True)
        iu = np.triu_indices(5)
        np.testing.assert_allclose(R[iu], 2 * (Z @ Z.T)[iu], rtol=1e-13)
        assert np.isnan(R[np.tril_indices(5, -1)]).all()  # the lower triangle is left alone
    with pytest.raises(ValueError, match="contiguous"):
        blas.gemm(sp, np.ones((6, 6))[::2], np.ones((6, 2)), np.empty((3, 2)), False)


class _NoNumpyBlas:
    """``numpy`` for the blocked path with its BLAS and LAPACK entry points refusing to run.

    ``numpy.dot`` of two vectors (the norms of g and Δ) stays allowed: OpenBLAS
    runs a dot product of fewer than 10⁴ entries on the calling thread."""

    def __getattr__(self, name):
        if name == "matmul":
            raise AssertionError(f"numpy.{name} called")
        return getattr(np, name)

    class linalg:
        LinAlgError = np.linalg.LinAlgError

        @staticmethod
        def cholesky(*a, **k):
            raise AssertionError("numpy.linalg.cholesky called")


@pytest.mark.parametrize("name", ["mlp 2-20-20-1", "fcc 3 inputs, 6 neurons"])
def test_blocked_path_uses_one_blas_library(name, monkeypatch):
    """With scipy installed every product and factorisation goes through scipy's BLAS: NumPy's and
    scipy's OpenBLAS each keep their own threads, and with both in use they took turns spinning on
    the cores the other needed."""
    pytest.importorskip("scipy.linalg")
    net = PAIR_NETS[name]
    P = 2 * net.n_weights  # the JᵀJ side
    X, D = _regression(P) if net.n_inputs == 2 else (np.random.default_rng(1).normal(size=(P, 3)),
                                                     np.random.default_rng(2).normal(size=(P, 1)))
    w0 = net.init_weights(5)
    ref = lm.train(net, X, D, w0=w0, max_iter=3, jacobian="blocks")
    monkeypatch.setattr(block_sizes, "BLOCK_ENTRIES", P // 3 * net.n_weights)  # several blocks
    monkeypatch.setattr(blocked, "np", _NoNumpyBlas())
    monkeypatch.setattr(blas, "np", _NoNumpyBlas())
    r = lm.train(net, X, D, w0=w0, max_iter=3, jacobian="blocks")
    assert r.iterations == ref.iterations == 3
    np.testing.assert_allclose(r.weights, ref.weights, rtol=1e-6, atol=1e-9)


@pytest.mark.parametrize("keep", [True, False])
def test_blocked_jacobian_reuses_the_forward_pass_only_at_its_weights(keep, monkeypatch):
    """After error(w1), accumulate(w1) may start from the forward pass error() left; accumulate(w2) may
    not. Both equal a fresh workspace's, bit for bit, with every block's pass kept or one shared buffer."""
    monkeypatch.setattr(blocked, "KEEP_FORWARD_BYTES", 8 << 20 if keep else 0)
    net = lm.mlp([2, 6, 5, 1], activation="bipolar", output_activation="linear")
    X, D = _regression(203, seed=4)
    XT, DT = np.ascontiguousarray(X.T), np.ascontiguousarray(D.T)
    w1, w2 = net.init_weights(1), net.init_weights(2)

    def fresh(w):
        ws = blocked.Workspace((XT, DT), net.topology, net.n_nodes, net.n_weights, block=50)
        ws.accumulate(w)
        return ws.gram(), ws.g.copy()

    ws = blocked.Workspace((XT, DT), net.topology, net.n_nodes, net.n_weights, block=50)
    assert ws.keeps_forward == keep and len(ws.blocks) == 5  # four full blocks and a tail of 3
    calls = []
    for name in ("block_jacobian", "block_jacobian_at"):
        f = getattr(blocked, name)
        monkeypatch.setattr(blocked, name, lambda *a, _f=f, _n=name: calls.append(_n) or _f(*a))
    for w_err, w_acc in ((w1, w1), (w1, w2), (w2, w2)):
        assert ws.error(w_err) == pytest.approx(net.error(w_err, X, D), rel=1e-13)
        del calls[:]
        ws.accumulate(w_acc)
        reused = keep and w_err is w_acc
        assert calls == ["block_jacobian_at" if reused else "block_jacobian"] * 5
        Q, g = fresh(w_acc)
        np.testing.assert_array_equal(ws.gram(), Q)
        np.testing.assert_array_equal(ws.g, g)
    monkeypatch.undo()


def test_a_try_above_the_current_error_stops_its_forward_passes(monkeypatch):
    """error(w, above) may stop once the partial sum exceeds ``above`` (it returns a part that does);
    training is the same bit for bit as with whole sums, and the kept forward passes are not trusted
    after a cut."""
    net = lm.mlp([2, 6, 5, 1], activation="bipolar", output_activation="linear")
    X, D = _regression(203, seed=4)
    XT, DT = np.ascontiguousarray(X.T), np.ascontiguousarray(D.T)
    ws = blocked.Workspace((XT, DT), net.topology, net.n_nodes, net.n_weights, block=50)
    w = net.init_weights(1)
    E = ws.error(w)
    assert E == pytest.approx(net.error(w, X, D), rel=1e-13)
    assert ws.error(w, above=E) == E  # never above: the whole sum
    part = ws.error(w, above=E / 10)
    assert E / 10 < part < E  # cut after a block
    assert not ws._fwd_ok
    whole = ws.error(w, above=math.inf)
    assert whole == E and ws._fwd_ok

    X2, D2 = _regression(3000, seed=6)
    net2 = lm.mlp([2, 8, 8, 1], activation="bipolar", output_activation="linear")
    w0 = net2.init_weights(2)
    monkeypatch.setattr(block_sizes, "BLOCK_ENTRIES", 300 * net2.n_weights)
    runs = {}
    for how in ("cut", "whole"):
        if how == "whole":
            plain = blocked.Workspace.error
            monkeypatch.setattr(blocked.Workspace, "error", lambda self, w, above=math.inf: plain(self, w))
            blocked.release()
        # max_tries=1: a second rejected try is taken anyway (Fig. 12.5), with its whole error
        runs[how] = [lm.train(net2, X2, D2, w0=w0, max_iter=25, jacobian="blocks", max_tries=k) for k in (5, 1)]
    assert runs["cut"][0].history.rejected.sum() > 0 and runs["cut"][1].history.forced.any()
    for cut, whole in zip(runs["cut"], runs["whole"]):
        np.testing.assert_array_equal(cut.weights, whole.weights)
        np.testing.assert_array_equal(cut.history.error, whole.history.error)
        np.testing.assert_array_equal(cut.history.rejected, whole.history.rejected)


def test_blocked_workspace_is_kept_for_the_next_call(monkeypatch):
    """train() hands its blocked workspace on to the next call on the same problem; results are those of
    a fresh workspace bit for bit, whatever data the kept one last held."""
    net = lm.mlp([2, 6, 5, 1], activation="bipolar", output_activation="linear")
    X1, D1 = _regression(300, seed=1)
    X2, D2 = _regression(300, seed=2)
    w0 = net.init_weights(3)
    monkeypatch.setattr(blocked, "KEEP_BYTES", 0)
    blocked.release()
    fresh = lm.train(net, X2, D2, w0=w0, max_iter=6, jacobian="blocks")
    assert blocked._kept == []  # nothing kept when KEEP_BYTES is 0
    monkeypatch.setattr(blocked, "KEEP_BYTES", 64 << 20)
    lm.train(net, X1, D1, w0=net.init_weights(4), max_iter=6, jacobian="blocks")
    (kept,) = blocked._kept
    again = lm.train(net, X2, D2, w0=w0, max_iter=6, jacobian="blocks")
    assert blocked._kept == [kept]  # the same workspace served the second call and was kept again
    assert again.iterations == fresh.iterations
    np.testing.assert_array_equal(again.weights, fresh.weights)
    np.testing.assert_array_equal(again.history.error, fresh.history.error)
    r = run_trials(net, X2, D2, "lm", w0=w0[None, :], max_iter=6, jacobian="blocks", progress=False)
    np.testing.assert_array_equal(r.weights[0], fresh.weights)
    assert blocked._kept == [kept]

    XT, DT = np.ascontiguousarray(X2.T), np.ascontiguousarray(D2.T)
    topo = net.topology
    a = blocked.take_workspace(XT, DT, topo, net.n_nodes, net.n_weights)
    assert a is kept and blocked._kept == []
    b = blocked.take_workspace(XT, DT, topo, net.n_nodes, net.n_weights)
    assert b is not a  # taken by one caller at a time
    blocked.give_back(a)
    other = topo._replace(in_idx=topo.in_idx[::-1].copy())  # the same sizes, other connections: another plan
    assert blocked.take_workspace(XT, DT, other, net.n_nodes, net.n_weights) is not a
    changes = [lambda: monkeypatch.setattr(block_sizes, "BLOCK_ENTRIES", 50 * net.n_weights)]
    if blas.scipy_routines() is not None:  # another library for the products
        changes.append(lambda: monkeypatch.setattr(blas, "USE_SCIPY", False))
    for change in changes:
        blocked.give_back(a)
        change()
        c = blocked.take_workspace(XT, DT, topo, net.n_nodes, net.n_weights)
        assert c is not a
        a = c
    blocked.give_back(a)
    blocked.release()
    assert blocked._kept == []


# --------------------------------------------------------- the option itself
def test_jacobian_option_is_checked():
    X, D = PARITY
    with pytest.raises(ValueError, match="jacobian"):
        lm.train(NET, X, D, jacobian="sparse")
    with pytest.raises(TypeError, match="jacobian"):
        lm.train(NET, X, D, jacobian=1)
    with pytest.raises(TypeError, match="jacobian"):
        lm.train(NET, X, D, "ebp", jacobian="full")  # only LM and Gauss–Newton have it


def test_automatic_choice_of_path():
    auto = records.JACOBIAN_AUTO
    assert not blocked.use_blocks(auto, True, 8, 1, 16)  # parity-3
    assert blocked.use_blocks(auto, True, 2000, 1, 501)  # the 2,000-point regression
    assert blocked.use_blocks(auto, True, 100_000, 1, 501)
    assert not blocked.use_blocks(auto, False, 100_000, 1, 501)  # EBP and Newton never form J
    assert not blocked.use_blocks(records.JACOBIAN_FULL, True, 2000, 1, 501)
    assert blocked.use_blocks(records.JACOBIAN_BLOCKS, True, 8, 1, 16)
    assert [a.blockable for a in lm.ALGORITHMS.values()] == [False, False, True, True]  # ebp, newton, gn, lm


def test_flat_topology_round_trip():
    for net in (NET, lm.fcc(4, 3, outputs=2), lm.bmlp([2, 3, 2])):
        tint, tgain = _batch.flat_topology(net.topology)
        back = _batch.topology(tint, tgain)
        assert int(back[0]) == int(net.topology[0])
        for a, b in zip(back[1:], net.topology[1:]):
            np.testing.assert_array_equal(a, b)
