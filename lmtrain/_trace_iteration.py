"""The worked trace through one whole Levenberg–Marquardt iteration (Fig. 12.5), and its cross-check.

See :mod:`lmtrain.trace`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ._trace_pattern import (LM_DEFAULTS, IterationTrace, Try, _cholesky_solve, _half_sse, _matrix, _pattern,
                             _table)
from .training import train


@dataclass(frozen=True)
class Settings:
    """How one traced iteration runs and prints."""

    digits: int
    detail: int  # the pattern printed in full, counted from 1
    mu: float
    mu_inc: float
    mu_dec: float
    max_tries: int
    matrices: int  # print N×N matrices whole up to this N
    columns: int  # per-pattern table columns at most


def iteration(nw, net, w, X, D, f, settings: Settings):
    """The :class:`IterationTrace` of one LM iteration from ``w`` on all patterns."""
    digits, detail, mu0, mu_inc, mu_dec, max_tries = (settings.digits, settings.detail, settings.mu, settings.mu_inc,
                                                      settings.mu_dec, settings.max_tries)
    matrices, columns = settings.matrices, settings.columns
    P, M, N = X.shape[0], nw.M, nw.N
    width = digits + 7
    show = min(P, columns)
    lines = [f"One Levenberg-Marquardt iteration (Fig. 12.5) through {net!r}",
             f"P = {P} pattern(s), numbered p1..p{P} as in Fig. 12.6; M = {M} output(s); N = {N} weights; "
             f"mu = {f(mu0)}", ""]
    lines.append("Weights w_k at the start of the iteration:")
    lines += _table(nw.wnames, {"w_k": w}, f, width)

    # 1. every pattern: forward pass, backward passes, Jacobian rows, errors
    pats = [_pattern(nw, net, w, X[p], D[p], f, p + 1, verbose=(p + 1 == detail)) for p in range(P)]
    J = np.vstack([t.rows for t in pats])
    e = np.concatenate([t.errors for t in pats])
    E = 0.5 * float(sum(v * v for v in e))
    lines += ["", f"1. Every pattern: forward pass, one unit-delta backward pass per output, Jacobian rows "
                  f"(eqs. 12.27-12.36). Pattern p{detail} in full:", ""]
    lines += ["   | " + ln if ln else "   |" for ln in pats[detail - 1].text.splitlines()]
    lines += ["", f"   Every pattern the same way: one column per Jacobian row j_p (eq. 12.16), "
                  f"errors e = d - o in the last row" + (f" (first {show} of {P} patterns shown)" if show < P else "")]
    label = (lambda p, m: f"p{p + 1}") if M == 1 else (lambda p, m: f"p{p + 1},o{m + 1}")
    cols = {label(p, m): list(J[p * M + m]) + [e[p * M + m]] for p in range(show) for m in range(M)}
    lines += _table(nw.wnames + ["e"], cols, f, width, per_block=max(1, 8 // M) * M)
    lines.append(f"   E = 1/2 sum of all e^2 (eq. 12.1) = {f(E)}")

    # 2. every pattern's share, added into Q and g
    eta = np.zeros((P, N))
    Q = np.zeros((N, N))
    g = np.zeros(N)
    for p in range(P):
        rows, errs = pats[p].rows, pats[p].errors
        for i in range(N):
            s = 0.0
            for m in range(M):
                s += rows[m, i] * errs[m]
            eta[p, i] = s
            g[i] += s
            for j in range(N):
                q = 0.0
                for m in range(M):
                    q += rows[m, i] * rows[m, j]
                Q[i, j] += q
    lines += ["", "2. Each pattern's share added into the quasi-Hessian and the gradient (Table 12.1, NBN row; "
                  "J is never stored):",
              "   q_p = j_p^T j_p (sum over the M rows of j_p),  Q = sum_p q_p = J^T J  (eq. 12.22: H ~ J^T J)",
              "   eta_p = j_p^T e_p,                             g = sum_p eta_p = J^T e (eq. 12.18)", ""]
    more = f" (first {show} of {P} patterns shown; the sums are over all {P})" if show < P else ""
    lines.append("   eta_p of every pattern and their sum g" + more + ":")
    cols = {f"p{p + 1}": eta[p] for p in range(show)}
    cols["g"] = g
    lines += _table(nw.wnames, cols, f, width, per_block=9)
    if N <= matrices:
        lines += ["", f"   q_p of every pattern (N x N; row and column i are weight i of the list above)" + more + ":"]
        for p in range(show):
            r = pats[p].rows
            lines.append(f"   q_p{p + 1} = j_p{p + 1}^T j_p{p + 1}:")
            lines += _matrix(r.T @ r, f, width)
        lines += ["", "   Q = sum_p q_p:"]
        lines += _matrix(Q, f, width)
    else:
        lines += ["", f"   q_p is {N} x {N} (rank <= {M}): its diagonal, the squares of j_p's entries, "
                      f"for every pattern and for Q" + more
                  + f" (whole matrices are printed when N <= {matrices}):"]
        cols = {f"p{p + 1}": np.sum(pats[p].rows ** 2, axis=0) for p in range(show)}
        cols["Q"] = np.diag(Q)
        lines += _table(nw.wnames, cols, f, width, per_block=9)
        off = np.abs(Q - np.diag(np.diag(Q)))
        i, j = np.unravel_index(int(np.argmax(off)), off.shape)
        lines.append(f"   Q off the diagonal: largest |Q_ij| = {f(off[i, j])} at ({nw.wnames[i]}, {nw.wnames[j]}); "
                     f"trace(Q) = {f(np.trace(Q))}")

    # 3-4. the damped system and the tries of Fig. 12.5
    gnorm = math.sqrt(sum(v * v for v in g))
    lines += ["", f"3. The damped system for the current mu (eqs. 12.24-12.25): (Q + mu*I) delta = g, "
                  f"w_k+1 = w_k - delta;  |g| = {f(gnorm)}"]
    if N <= matrices:
        lines.append(f"   Q + mu*I for mu = {f(mu0)}:")
        lines += _matrix(Q + mu0 * np.eye(N), f, width)
    else:
        lines.append(f"   Q + mu*I for mu = {f(mu0)} differs from Q only on the diagonal: Q_ii + {f(mu0)}")
    lines.append("   Each try solves it by a Cholesky factorisation, Q + mu*I = L L^T, then L z = g and L^T delta = z.")

    tries = []
    mu = mu0
    E_after, w_after = E, w.copy()
    min_grad = LM_DEFAULTS["min_grad"]
    if gnorm <= min_grad:
        lines.append(f"   |g| <= min_grad = {f(min_grad)}: the library stops here (MIN_GRAD) without a step.")
        mu_next = mu
    else:
        lines += ["", f"4. The tries of the mu loop (Fig. 12.5), against E = {f(E)}: a try whose error is not "
                      f"above E is accepted and mu divided by {f(mu_dec)}; otherwise w_k is restored and mu "
                      f"multiplied by {f(mu_inc)}; after {max_tries} failed tries the next one is taken anyway "
                      "(forced)."]
        t = 0
        while True:
            delta = _cholesky_solve(Q + mu * np.eye(N), g)
            if delta is None:
                delta = np.full(N, np.nan)
                wt = np.full(N, np.nan)
                Et = math.inf
                how = "Q + mu*I is not positive definite to working precision: no step"
            else:
                wt = w - delta
                Et = _half_sse(nw, wt, X, D)
                how = f"|delta| = {f(math.sqrt(sum(v * v for v in delta)))}, E(w_k - delta) = {f(Et)}"
            mu_used = mu
            mu_up = mu * mu_inc
            if Et <= E:
                outcome, mu = "accepted", max(mu / mu_dec, LM_DEFAULTS["mu_min"])
                rule = f"not above E: accepted, mu = {f(mu_used)} / {f(mu_dec)} = {f(mu)}"
            elif t < max_tries and mu_up <= LM_DEFAULTS["mu_max"]:
                outcome, mu = "rejected", mu_up
                rule = f"above E: rejected, w_k restored, mu = {f(mu_used)} * {f(mu_inc)} = {f(mu)}"
            elif t >= max_tries and math.isfinite(Et):
                outcome = "forced"
                rule = f"above E, but {max_tries} tries have failed: taken anyway (forced), mu stays {f(mu)}"
            elif mu_up > LM_DEFAULTS["mu_max"]:
                outcome, mu = "stopped", mu_up
                rule = "rejected, and mu would exceed mu_max: the library stops (MU_MAX)"
            else:
                outcome, mu = "kept", mu_up
                rule = f"no step on the last try: w_k kept, mu = {f(mu_used)} * {f(mu_inc)} = {f(mu)}"
            tries.append(Try(mu_used, delta, wt, Et, outcome, mu))
            lines.append(f"   try {t + 1}: mu = {f(mu_used)}: {how}; {rule}")
            if outcome in ("accepted", "forced"):
                E_after, w_after = Et, wt.copy()
            if outcome != "rejected":
                break
            t += 1
        mu_next = mu
        lines += ["", "   delta of every try:"]
        lines += _table(nw.wnames, {f"try {k + 1}": tr.delta for k, tr in enumerate(tries)}, f, width, per_block=6)

    lines += ["", f"5. After the iteration: E = {f(E_after)}, the next iteration starts with mu = {f(mu_next)}"]
    lines += _table(nw.wnames, {"w_k": w, "w_k+1": w_after, "change": w_after - w}, f, width)

    checks, library, check_lines = _cross_check(net, (w, X, D), (J, Q, g, E, tries, w_after, E_after), settings)
    lines += [""] + check_lines
    return IterationTrace(pats, J, e, eta, Q, g, E, mu0, tries, w_after, E_after, mu_next, checks, library,
                          "\n".join(lines))


def _cross_check(net, problem, here, settings: Settings):
    """Compare the scalar numbers with the compiled library's; return (checks, library, text lines).

    ``problem`` is ``(w, X, D)``; ``here`` what the trace computed: ``(J, Q, g, E, tries, w_after, E_after)``.
    """
    w, X, D = problem
    J, Q, g, E, tries, w_after, E_after = here
    mu, mu_inc, mu_dec, max_tries = settings.mu, settings.mu_inc, settings.mu_dec, settings.max_tries

    J_lib = net.jacobian(w, X)
    Q_lib, g_lib, E_lib = net.quasi_hessian(w, X, D)
    g_grad, _ = net.gradient(w, X, D)
    r = train(net, X, D, algorithm="lm", w0=w, max_iter=1, mu=mu, mu_inc=mu_inc, mu_dec=mu_dec,
              max_tries=max_tries, jacobian="full")
    h = r.history
    library = {"iterations": r.iterations, "stop_reason": r.stop_reason.name, "weights": r.weights,
               "error": float(h.error[0]) if len(h) else r.error, "mu": float(h.mu[0]) if len(h) else math.nan,
               "rejected": int(h.rejected[0]) if len(h) else 0, "forced": bool(h.forced[0]) if len(h) else False}
    rejected = sum(t.outcome in ("rejected", "stopped", "kept") for t in tries)
    forced = any(t.outcome == "forced" for t in tries)
    mu_last = tries[-1].mu if tries else math.nan
    scale = max(1.0, abs(E))
    same_tries = (len(h) == (1 if tries else 0) and (not tries or (
        library["rejected"] == rejected and library["forced"] == forced
        and math.isclose(library["mu"], mu_last, rel_tol=1e-12)
        and abs(library["error"] - E_after) <= 1e-9 * scale)))
    checks = {"J": float(np.max(np.abs(J - J_lib))), "Q": float(np.max(np.abs(Q - Q_lib))),
              "g": float(max(np.max(np.abs(g - g_lib)), np.max(np.abs(g - g_grad)))),
              "E": abs(E - E_lib), "weights": float(np.max(np.abs(w_after - r.weights))), "tries": bool(same_tries)}
    call = (f"lm.train(net, X, D, algorithm=\"lm\", w0=w, max_iter=1, mu={mu:g}, mu_inc={mu_inc:g}, "
            f"mu_dec={mu_dec:g}, max_tries={max_tries}, jacobian=\"full\")")
    out = ["Cross-check with the compiled library (largest |difference|):",
           f"  J   against net.jacobian(w, X):                     {checks['J']:.3g}",
           f"  Q   against net.quasi_hessian(w, X, D):             {np.max(np.abs(Q - Q_lib)):.3g}",
           f"  g   against net.quasi_hessian and net.gradient:     {checks['g']:.3g}",
           f"  E   against net.quasi_hessian:                      {checks['E']:.3g}",
           f"  the tries against {call}:"]
    if tries:
        out.append(f"      E after: {E_after:.12g} here, {library['error']:.12g} there; mu of the last try: "
                   f"{mu_last:.6g} / {library['mu']:.6g}; rejected tries: {rejected} / {library['rejected']}; "
                   f"forced: {'yes' if forced else 'no'} / {'yes' if library['forced'] else 'no'}  "
                   f"-> {'the same' if same_tries else 'DIFFERENT'}")
    else:
        out.append(f"      no try here; the library stopped with {library['stop_reason']} after "
                   f"{library['iterations']} iteration(s)")
    out.append(f"  the weights after the iteration against lm.train's: {checks['weights']:.3g}")
    if J.shape[0] < J.shape[1]:
        out.append(f"  (with fewer Jacobian rows than weights, {J.shape[0]} < {J.shape[1]}, the library solves the "
                   "equivalent smaller system J^T (J J^T + mu*I)^-1 e, so the weights agree to rounding)")
    return checks, library, out
