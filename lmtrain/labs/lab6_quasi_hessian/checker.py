"""Checker of lab 6: one pattern's terms, Q and g accumulated, the NBN step, peak memory.

Q, g and E are compared with JᵀJ, Jᵀe and ½Σe² from the engine's whole
Jacobian (and the engine's own accumulation, ``net.quasi_hessian``, is held
to the same values). ``accumulate`` is also run on 2,000 patterns under
``tracemalloc``: its peak must stay far below the bytes of J, which is the
point of accumulating (§12.5).
"""

from __future__ import annotations

import tracemalloc

import numpy as np

import lmtrain as lm

from .._kit import Failure, as_array, build, call, close, describe_net, fmt, grid, standard_networks, unpack

MEMORY_NET = ("mlp", [4, 8, 2])
MEMORY_P = 2000


def prepare():
    for network in (lm.mlp([1, 1]), build(*MEMORY_NET).net):
        w = np.zeros(network.n_weights)
        x = np.zeros((1, network.n_inputs))
        network.forward(w, x)
        network.forward_full(w, x)
        network.jacobian(w, x)
        network.quasi_hessian(w, x, np.zeros((1, network.n_outputs)))


def check_pattern_terms(fn) -> str:
    rng = np.random.default_rng(122)
    nets = standard_networks(n_random=2)
    for case in nets:
        network = case.net
        w = grid(rng, network.n_weights)
        x = grid(rng, network.n_inputs)
        d = grid(rng, network.n_outputs, -0.9, 0.9)
        j_exp = network.jacobian(w, x[None, :])
        e_exp = d - network.forward(w, x[None, :])[0]
        details = describe_net(case, w) + [f"pattern:  x = {fmt(x)}, d = {fmt(d)}"]
        j, e = unpack(call(fn, network, w.copy(), x.copy(), d.copy()), 2, "pattern_terms", "eqs. 12.2, 12.16",
                      details)
        M, N = network.n_outputs, network.n_weights
        j = as_array(j, (M, N), "j_p", "eq. 12.16", details)
        e = as_array(e, (M,), "e_p", "eq. 12.2", details)
        details += [f"expected: e_p = {fmt(e_exp)}", f"got:      e_p = {fmt(e)}"]
        if not close(e, e_exp):
            if close(e, -e_exp):
                raise Failure("eq. 12.2", "e has the wrong sign: e = d - o, desired minus actual", details)
            raise Failure("eq. 12.2", "e_p,m = d_p,m - o_p,m", details)
        if not close(j, j_exp):
            details[-2:] = [f"expected: j_p = {fmt(j_exp)}", f"got:      j_p = {fmt(j)}"]
            if close(j, -j_exp):
                raise Failure("eqs. 12.16, 12.36", "j_p has the wrong sign: J = d e/d w, and e = d - o", details)
            raise Failure("eq. 12.16", "j_p are the M rows of J for this pattern: d e_p,m / d w_i", details)
    return f"{len(nets)} networks, 1-3 outputs"


def _expected(network, w, X, D):
    J = network.jacobian(w, X)
    e = (D - network.forward(w, X)).ravel()
    Q, g, E = J.T @ J, J.T @ e, 0.5 * float(e @ e)
    Qe, ge, Ee = network.quasi_hessian(w, X, D)  # the library's own accumulation, pattern by pattern, agrees
    assert np.allclose(Q, Qe) and np.allclose(g, ge) and np.isclose(E, Ee)
    return J, e, Q, g, E


def check_accumulate(fn) -> str:
    rng = np.random.default_rng(1218)
    nets = standard_networks(n_random=2)
    for case in nets:
        network = case.net
        P = 5
        w = grid(rng, network.n_weights)
        X = grid(rng, (P, network.n_inputs))
        D = grid(rng, (P, network.n_outputs), -0.9, 0.9)
        J, e, Q_exp, g_exp, E_exp = _expected(network, w, X, D)
        details = describe_net(case, w) + [f"inputs:   X = {fmt(X)}", f"targets:  D = {fmt(D)}"]
        Q, g, E = unpack(call(fn, network, w.copy(), X.copy(), D.copy()), 3, "accumulate",
                         "Table 12.1 (NBN row)", details)
        N, M = network.n_weights, network.n_outputs
        Q = as_array(Q, (N, N), "Q", "Table 12.1 (NBN row)", details)
        g = as_array(g, (N,), "g", "eq. 12.18", details)
        E = float(as_array(E, (), "E", "eq. 12.1", details))
        _explain(Q, g, E, J, e, expected=(Q_exp, g_exp, E_exp), P=P, M=M, details=details)
    # memory: the point of accumulating
    case = build(*MEMORY_NET)
    network = case.net
    X = grid(rng, (MEMORY_P, network.n_inputs))
    D = grid(rng, (MEMORY_P, network.n_outputs), -0.9, 0.9)
    w = grid(rng, network.n_weights)
    J_bytes = MEMORY_P * network.n_outputs * network.n_weights * 8
    tracing = tracemalloc.is_tracing()
    if not tracing:
        tracemalloc.start()
    tracemalloc.reset_peak()
    base = tracemalloc.get_traced_memory()[0]
    try:
        result = call(fn, network, w.copy(), X, D)
        peak = tracemalloc.get_traced_memory()[1] - base
    finally:
        if not tracing:
            tracemalloc.stop()
    details = describe_net(case) + [f"data:     {MEMORY_P} patterns", f"J would take P*M*N*8 = {J_bytes:,} bytes"]
    Q, g, E = unpack(result, 3, "accumulate", "Table 12.1 (NBN row)", details)
    E_exp = 0.5 * float(np.sum((D - network.forward(w, X)) ** 2))
    if not close(float(np.asarray(E, dtype=float)), E_exp):
        raise Failure("eq. 12.1", f"E on {MEMORY_P} patterns is {fmt(float(np.asarray(E, dtype=float)))}, "
                                  f"expected {fmt(E_exp)}", details)
    if peak > J_bytes / 4:
        raise Failure("Table 12.1 (NBN row), §12.5", f"accumulate used {peak:,} bytes at its peak on {MEMORY_P} "
                                                     f"patterns, the size of a stored J ({J_bytes:,}): keep one "
                                                     f"pattern's rows at a time, never all of J", details)
    return (f"{len(nets)} networks against J^T J, J^T e and 1/2 sum e^2; peak memory {peak:,} bytes on {MEMORY_P} "
            f"patterns, where J takes {J_bytes:,}")


def _explain(Q, g, E, J, e, *, expected, P, M, details):
    Q_exp, g_exp, E_exp = expected
    if not close(E, E_exp):
        details = details + [f"expected: E = {fmt(E_exp)}", f"got:      E = {fmt(E)}"]
        if close(E, 2 * E_exp):
            raise Failure("eq. 12.1", "E = 1/2 * sum_p sum_m e_pm**2: the 1/2 is missing", details)
        if close(E, 0.5 * float(e[-M:] @ e[-M:])):
            raise Failure("eq. 12.1", "E must add up every pattern; yours holds only the last one", details)
        raise Failure("eq. 12.1", "E = 1/2 * sum_p sum_m e_pm**2", details)
    if not close(g, g_exp):
        details = details + [f"expected: g = {fmt(g_exp)}", f"got:      g = {fmt(g)}"]
        if close(g, -g_exp):
            raise Failure("eqs. 12.18, 12.2", "g has the wrong sign: g = J^T e with e = d - o and J = d e/d w "
                                              "(one of the two is flipped)", details)
        if close(g, 2 * g_exp):
            raise Failure("eq. 12.18", "g = J^T e is the gradient of E = 1/2 sum e^2; yours is twice that", details)
        if close(g, J[-M:].T @ e[-M:]):
            raise Failure("eq. 12.18", "g = sum_p j_p^T e_p over all patterns; yours holds only the last one",
                          details)
        raise Failure("eq. 12.18", "g = sum_p j_p^T e_p (= J^T e)", details)
    if not close(Q, Q_exp):
        details = details + [f"expected: Q = {fmt(Q_exp)}", f"got:      Q = {fmt(Q)}"]
        if close(Q, J[-M:].T @ J[-M:]):
            raise Failure("Table 12.1 (NBN row)", "Q = sum_p j_p^T j_p over all patterns; yours holds only the "
                                                  "last one (= instead of +=?)", details)
        if close(Q, Q_exp / P):
            raise Failure("Table 12.1 (NBN row)", "Q is a sum over the patterns, not a mean", details)
        raise Failure("Table 12.1 (NBN row), eq. 12.22", "Q = sum_p j_p^T j_p (= J^T J)", details)


def check_nbn_step(fn) -> str:
    rng = np.random.default_rng(1226)
    count = 0
    for case in standard_networks(n_random=0)[:4]:
        network = case.net
        X = grid(rng, (4, network.n_inputs))
        D = grid(rng, (4, network.n_outputs), -0.9, 0.9)
        w = grid(rng, network.n_weights)
        Q, g, _ = network.quasi_hessian(w, X, D)
        for mu in (0.01, 1.0):
            expected = w - np.linalg.solve(Q + mu * np.eye(len(w)), g)
            details = [f"call:     nbn_step(w, Q, g, mu={mu}) with", f"          w = {fmt(w)}",
                       f"          Q = {fmt(Q)}", f"          g = {fmt(g)}", f"expected: {fmt(expected)}"]
            got = as_array(call(fn, w.copy(), Q.copy(), g.copy(), mu), w.shape, "w_new", "Table 12.1 (NBN row)",
                           details)
            details.append(f"got:      {fmt(got)}")
            if not close(got, expected):
                if close(got, w + (w - expected)):
                    raise Failure("Table 12.1 (NBN row)", "the step has the wrong sign: w - (Q + mu I)^-1 g", details)
                raise Failure("Table 12.1 (NBN row), eq. 12.25", "w_new = w - (Q + mu I)^-1 g", details)
            count += 1
    # the same step as the engine's first LM iteration on parity-3 (accepted at its first try)
    network = lm.mlp([3, 3, 1], gain=0.5)
    X, D = lm.datasets.parity(3)
    w0 = network.init_weights(3)
    r = lm.train(network, X, D, algorithm="lm", w0=w0, mu=0.01, max_iter=1, progress=False)
    assert r.history.rejected[0] == 0
    Q, g, _ = network.quasi_hessian(w0, X, D)
    got = as_array(call(fn, w0.copy(), Q, g, 0.01), w0.shape, "w_new", "Table 12.1 (NBN row)")
    if not close(got, r.weights, rtol=1e-6):
        raise Failure("eq. 12.25", "from Q and g of parity-3, the step differs from lm.train's first step", [
            "network:  lm.mlp([3, 3, 1], gain=0.5), X, D = lm.datasets.parity(3), w0 = network.init_weights(3)",
            f"expected: {fmt(r.weights)}", f"got:      {fmt(got)}"])
    return f"{count + 1} steps; the last equals lm.train's first LM step on parity-3"


def _allocate(n):
    a = np.ones(n)
    return float(a[0])


def check_peak_bytes(fn) -> str:
    was_tracing = tracemalloc.is_tracing()
    for n in (100_000, 400_000):
        got = call(fn, _allocate, n)
        if tracemalloc.is_tracing() and not was_tracing:
            tracemalloc.stop()
            raise Failure("tracemalloc", "stop tracemalloc after measuring (tracemalloc.stop())",
                          [f"call:     peak_bytes(f, {n}), where f(n) allocates np.ones(n)"])
        details = [f"call:     peak_bytes(f, {n}), where f(n) allocates np.ones(n): {8 * n:,} bytes",
                   f"got:      {got!r}"]
        try:
            got = int(got)
        except (TypeError, ValueError):
            raise Failure("tracemalloc", "peak_bytes should return a number of bytes", details) from None
        if not 8 * n <= got <= 8 * n + 50_000:
            raise Failure("tracemalloc", f"expected about {8 * n:,} bytes: the peak of "
                                         f"tracemalloc.get_traced_memory() while f(*args) runs", details)
    return "np.ones(n) measured as 8n bytes for n = 100,000 and 400,000"


CHECKS = {
    "pattern_terms": check_pattern_terms,
    "accumulate": check_accumulate,
    "nbn_step": check_nbn_step,
    "peak_bytes": check_peak_bytes,
}
