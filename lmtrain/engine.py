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

All kernels assume valid input (the public wrappers in ``network.py`` check it)
and never allocate inside their loops.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from .activations import BIPOLAR, UNIPOLAR


@njit(cache=True)
def forward(w, Y, S, topo):
    """Fill neuron rows of ``Y`` (outputs) and ``S`` (slopes) from the input rows.

    ``Y`` and ``S`` have shape (n_nodes, P); ``Y[:n_in]`` must already hold the
    inputs. Eqs. 12.27–12.30.
    """
    n_in, in_ptr, in_idx, w_ptr, act, gain, out_idx = topo
    P = Y.shape[1]
    for j in range(act.shape[0]):
        node = n_in + j
        base = w_ptr[j]
        row = Y[node]
        b = w[base]
        for p in range(P):
            row[p] = b
        k0 = in_ptr[j]
        for k in range(k0, in_ptr[j + 1]):
            wk = w[base + 1 + k - k0]
            src = Y[in_idx[k]]
            for p in range(P):
                row[p] += wk * src[p]
        g = gain[j]
        srow = S[node]
        code = act[j]
        if code == BIPOLAR:
            for p in range(P):
                y = math.tanh(g * row[p])
                row[p] = y
                srow[p] = g * (1.0 - y * y)
        elif code == UNIPOLAR:
            for p in range(P):
                y = 1.0 / (1.0 + math.exp(-g * row[p]))
                row[p] = y
                srow[p] = g * y * (1.0 - y)
        else:
            for p in range(P):
                row[p] = g * row[p]
                srow[p] = g


@njit(cache=True)
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


@njit(cache=True)
def errors(Y, DT, topo, e):
    """Error vector e_pm = d_pm − o_pm, pattern-major (index p·M + m, eq. 12.2)."""
    out_idx = topo[6]
    M = out_idx.shape[0]
    P = Y.shape[1]
    for m in range(M):
        o = Y[out_idx[m]]
        for p in range(P):
            e[p * M + m] = DT[m, p] - o[p]


@njit(cache=True)
def jacobian_rows(w, Y, S, topo, J, row0, Dl, reached):
    """Jacobian rows of the patterns in ``Y`` by unit-δ backpropagation.

    Writes rows ``row0 + p·M + m`` of ``J`` (shape (R, N)) for every pattern p
    of the forward pass held in ``Y``/``S`` and every output m: one backward pass
    per output, started with δ = slope at that output (eqs. 12.35, 12.47–12.52),
    entries −δ·y (eq. 12.36). ``Dl`` (n_nodes, P) and ``reached`` (n_nodes,) are
    work space. Neurons that output m does not depend on get zero entries.
    """
    n_in, in_ptr, in_idx, w_ptr, act, gain, out_idx = topo
    P = Y.shape[1]
    M = out_idx.shape[0]
    nn = act.shape[0]
    for m in range(M):
        for node in range(n_in, n_in + nn):
            reached[node] = False
        o = out_idx[m]
        reached[o] = True
        Dl[o, :] = 1.0  # unit error at output m
        for j in range(nn - 1, -1, -1):
            node = n_in + j
            base = w_ptr[j]
            k0 = in_ptr[j]
            ni = in_ptr[j + 1] - k0
            if not reached[node]:
                for p in range(P):
                    r = row0 + p * M + m
                    for c in range(ni + 1):
                        J[r, base + c] = 0.0
                continue
            d = Dl[node]
            s = S[node]
            for p in range(P):
                d[p] *= s[p]  # δ = (backpropagated sum) × slope
                J[row0 + p * M + m, base] = -d[p]  # bias input y = 1
            for k in range(ni):
                src = in_idx[k0 + k]
                y = Y[src]
                for p in range(P):
                    J[row0 + p * M + m, base + 1 + k] = -d[p] * y[p]
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


@njit(cache=True)
def gradient(w, Y, S, DT, topo, g, Dl):
    """g = Jᵀe with one backward pass carrying the real errors (eq. 12.34).

    Uses the forward pass held in ``Y``/``S``; overwrites ``g`` and returns
    E = ½ Σ e². ``Dl`` (n_nodes, P) is work space.
    """
    n_in, in_ptr, in_idx, w_ptr, act, gain, out_idx = topo
    P = Y.shape[1]
    nn = act.shape[0]
    for i in range(g.shape[0]):
        g[i] = 0.0
    for node in range(n_in, n_in + nn):
        for p in range(P):
            Dl[node, p] = 0.0
    E = 0.0
    for m in range(out_idx.shape[0]):
        o = out_idx[m]
        for p in range(P):
            e = DT[m, p] - Y[o, p]
            E += e * e
            Dl[o, p] += e
    for j in range(nn - 1, -1, -1):
        node = n_in + j
        base = w_ptr[j]
        k0 = in_ptr[j]
        d = Dl[node]
        s = S[node]
        acc = 0.0
        for p in range(P):
            d[p] *= s[p]
            acc += d[p]
        g[base] -= acc
        for k in range(in_ptr[j + 1] - k0):
            src = in_idx[k0 + k]
            y = Y[src]
            acc = 0.0
            for p in range(P):
                acc += d[p] * y[p]
            g[base + 1 + k] -= acc
            if src >= n_in:
                wk = w[base + 1 + k]
                back = Dl[src]
                for p in range(P):
                    back[p] += d[p] * wk
    return 0.5 * E


@njit(cache=True)
def accumulate(w, XT, DT, topo, block, Q, g):
    """Q = JᵀJ, g = Jᵀe and E = ½Σe² without storing J (memory O(N²)).

    Patterns are processed ``block`` at a time: forward pass, Jacobian rows of
    the block, then Q += J_bᵀJ_b and g += J_bᵀe_b. ``block = 1`` is the
    pattern-by-pattern accumulation of the NBN algorithm (Table 12.1).
    """
    n_in = topo[0]
    out_idx = topo[6]
    M = out_idx.shape[0]
    N = w.shape[0]
    P = XT.shape[1]
    n_nodes = n_in + topo[4].shape[0]
    B = min(block, P)
    Y = np.empty((n_nodes, B))
    S = np.zeros((n_nodes, B))
    Dl = np.empty((n_nodes, B))
    reached = np.zeros(n_nodes, dtype=np.bool_)
    J = np.empty((B * M, N))
    e = np.empty(B * M)
    Q[:, :] = 0.0
    g[:] = 0.0
    E = 0.0
    for start in range(0, P, B):
        nb = min(B, P - start)
        if nb < B:
            Y = np.empty((n_nodes, nb))
            S = np.zeros((n_nodes, nb))
            Dl = np.empty((n_nodes, nb))
            J = np.empty((nb * M, N))
            e = np.empty(nb * M)
        Y[:n_in, :] = XT[:, start:start + nb]
        forward(w, Y, S, topo)
        jacobian_rows(w, Y, S, topo, J, 0, Dl, reached)
        errors(Y, DT[:, start:start + nb], topo, e)
        for r in range(nb * M):
            er = e[r]
            E += er * er
            Jr = J[r]
            for a in range(N):
                ja = Jr[a]
                if ja != 0.0:
                    g[a] += ja * er
                    Qa = Q[a]
                    for b in range(a, N):
                        Qa[b] += ja * Jr[b]
    for a in range(N):
        for b in range(a + 1, N):
            Q[b, a] = Q[a, b]
    return 0.5 * E


@njit(cache=True)
def cholesky_solve(A, b):
    """Solve A x = b for symmetric positive definite A, in place.

    ``A`` is overwritten by its Cholesky factor L (lower triangle) and ``b`` by
    x. Returns False, leaving ``b`` unusable, when a pivot is not positive or is
    below ``n·eps`` times the largest diagonal entry: A is then singular or not
    positive definite to working precision, which the callers report instead of
    inverting blindly.
    """
    n = A.shape[0]
    dmax = 0.0
    for i in range(n):
        if A[i, i] > dmax:
            dmax = A[i, i]
    tol = n * 2.220446049250313e-16 * dmax
    if not (dmax > 0.0) or not math.isfinite(dmax):
        return False
    for j in range(n):
        s = A[j, j]
        for k in range(j):
            s -= A[j, k] * A[j, k]
        if not (s > tol):
            return False
        djj = math.sqrt(s)
        A[j, j] = djj
        for i in range(j + 1, n):
            s = A[i, j]
            for k in range(j):
                s -= A[i, k] * A[j, k]
            A[i, j] = s / djj
    for i in range(n):  # L z = b
        s = b[i]
        for k in range(i):
            s -= A[i, k] * b[k]
        b[i] = s / A[i, i]
    for i in range(n - 1, -1, -1):  # Lᵀ x = z
        s = b[i]
        for k in range(i + 1, n):
            s -= A[k, i] * b[k]
        b[i] = s / A[i, i]
    return True


@njit(cache=True)
def gram(J, G, small_side):
    """G = JJᵀ when ``small_side`` (rows < columns), else G = JᵀJ."""
    R, N = J.shape
    if small_side:
        for a in range(R):
            for b in range(a, R):
                s = 0.0
                for i in range(N):
                    s += J[a, i] * J[b, i]
                G[a, b] = s
                G[b, a] = s
    else:
        G[:, :] = 0.0
        for r in range(R):
            Jr = J[r]
            for a in range(N):
                ja = Jr[a]
                if ja != 0.0:
                    Ga = G[a]
                    for b in range(a, N):
                        Ga[b] += ja * Jr[b]
        for a in range(N):
            for b in range(a + 1, N):
                G[b, a] = G[a, b]


@njit(cache=True)
def damped_step(J, e, g, G, small_side, mu, A, rhs, delta):
    """Δ = (JᵀJ + μI)⁻¹ Jᵀe (eq. 12.25; μ = 0 gives Gauss–Newton, eq. 12.23).

    With fewer rows than columns the identical step Jᵀ(JJᵀ + μI)⁻¹e is solved
    instead (a P·M-sized system); for μ = 0 that is the minimum-norm step J⁺e.
    ``G`` holds :func:`gram` of J; ``g`` = Jᵀe. Returns False when the system
    is numerically singular.
    """
    n = G.shape[0]
    for a in range(n):
        for b in range(n):
            A[a, b] = G[a, b]
        A[a, a] += mu
    if small_side:
        for a in range(n):
            rhs[a] = e[a]
        if not cholesky_solve(A, rhs):
            return False
        R, N = J.shape
        for i in range(N):
            s = 0.0
            for r in range(R):
                s += J[r, i] * rhs[r]
            delta[i] = s
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


@njit(cache=True)
def matvec_t(J, e, g):
    """g = Jᵀe."""
    R, N = J.shape
    for i in range(N):
        g[i] = 0.0
    for r in range(R):
        er = e[r]
        Jr = J[r]
        for i in range(N):
            g[i] += Jr[i] * er


@njit(cache=True)
def norm(v):
    s = 0.0
    for i in range(v.shape[0]):
        s += v[i] * v[i]
    return math.sqrt(s)


@njit(cache=True)
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
