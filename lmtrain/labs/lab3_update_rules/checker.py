"""Checker of lab 3: the Rosenbrock errors, Jacobian and Hessian; one step of each rule of Table 12.1.

J and H are also compared with central differences (of e and of g = Jᵀe).
The step functions get the right g, H, J and e, so a FAIL points at the rule
itself; ``lm_step`` is also held to the first step of ``lm.curve_fit`` on
the same problem, lmtrain's own LM.
"""

from __future__ import annotations

import numpy as np

import lmtrain as lm

from .._kit import Failure, as_array, build, call, close, fd_jacobian, fmt, grid, unpack

START = np.array([-1.2, 1.0])


def prepare():
    lm.curve_fit(lambda x, p: p, None, np.zeros(2), np.ones(2), max_iter=1)


def errors(w):
    return np.array([10.0 * (w[1] - w[0] ** 2), 1.0 - w[0]])


def jac(w):
    return np.array([[-20.0 * w[0], 10.0], [-1.0, 0.0]])


def gradient(w):
    return jac(w).T @ errors(w)


def hessian(w):
    return jac(w).T @ jac(w) + np.array([[-20.0 * errors(w)[0], 0.0], [0.0, 0.0]])


def _points():
    rng = np.random.default_rng(1212)
    return [START, np.array([1.0, 1.0]), np.array([0.5, -0.3])] + [grid(rng, 2, -2.0, 2.0) for _ in range(4)]


def check_rosenbrock(fn) -> str:
    for w in _points():
        e_exp, J_exp = errors(w), jac(w)
        details = [f"call:     rosenbrock(w={fmt(w)})", f"expected: e = {fmt(e_exp)}, J = {fmt(J_exp)}"]
        e, J = unpack(call(fn, w.copy()), 2, "rosenbrock", "eqs. 12.2, 12.16", details)
        e = as_array(e, (2,), "e", "eq. 12.2", details)
        J = as_array(J, (2, 2), "J", "eq. 12.16", details)
        details.append(f"got:      e = {fmt(e)}, J = {fmt(J)}")
        if not close(e, e_exp):
            if close(e, -e_exp):
                raise Failure("eq. 12.2", "e has the wrong sign: e1 = 10 (w2 - w1^2), e2 = 1 - w1", details)
            raise Failure("eq. 12.2", "e1 = 10 (w2 - w1^2), e2 = 1 - w1", details)
        assert np.allclose(fd_jacobian(errors, w), J_exp, atol=1e-6)
        if not close(J, J_exp):
            if close(J, -J_exp):
                raise Failure("eq. 12.16", "J has the wrong sign: J = d e / d w, the derivative of the errors", details)
            if close(J, J_exp.T):
                raise Failure("eq. 12.16", "J is transposed: row i is the error e_i, column j the weight w_j",
                              details)
            raise Failure("eq. 12.16", "J[i, j] = d e_i / d w_j (compare with central differences of e)", details)
    return f"{len(_points())} points; J equal to central differences of e"


def check_rosenbrock_hessian(fn) -> str:
    for w in _points():
        H_exp = hessian(w)
        fd = fd_jacobian(gradient, w)  # the independent oracle: H is the derivative of g = J^T e
        assert np.allclose(fd, H_exp, atol=1e-5)
        details = [f"call:     rosenbrock_hessian(w={fmt(w)})", f"expected: H = {fmt(H_exp)}"]
        H = as_array(call(fn, w.copy()), (2, 2), "H", "eq. 12.12", details)
        details.append(f"got:      H = {fmt(H)}")
        if not close(H, H_exp):
            JtJ = jac(w).T @ jac(w)
            if close(H, JtJ):
                raise Failure("eqs. 12.20-12.21", "that is J^T J, the Gauss-Newton approximation (eq. 12.22); the "
                                                  "exact Hessian adds S = sum_k e_k * d2 e_k / dw^2", details)
            if close(H, JtJ - (H_exp - JtJ)):
                raise Failure("eq. 12.21", "the sign of S: d2 e1 / d w1^2 = -20, so S_11 = -20 e1", details)
            raise Failure("eq. 12.12", "H = d2 E / dw dw (compare with central differences of g = J^T e)", details)
    return f"{len(_points())} points; H equal to central differences of g = J^T e"


def _systems(rng, n_cases=5):
    """(w, J, e) from small to large: the Rosenbrock valley first, then random tall J of full rank."""
    out = [(START.copy(), jac(START), errors(START))]
    for N in range(2, 2 + n_cases):
        R = N + int(rng.integers(0, 3))
        J = grid(rng, (R, N), -2.0, 2.0)
        while np.linalg.matrix_rank(J) < N:
            J = grid(rng, (R, N), -2.0, 2.0)
        out.append((grid(rng, N), J, grid(rng, R, -2.0, 2.0)))
    # a network's J (lab 2) works the same way
    net = build("mlp", [2, 1], "bipolar", 1.0).net
    X, w = grid(rng, (6, 2)), grid(rng, 3)
    out.append((w, net.jacobian(w, X), (grid(rng, 6) - net.forward(w, X).ravel())))
    return out


def check_ebp_step(fn) -> str:
    rng = np.random.default_rng(124)
    count = 0
    for w, J, e in _systems(rng):
        g = J.T @ e
        for alpha in (0.001, 0.1, 1.0):
            exp = w - alpha * g
            details = [f"call:     ebp_step(w={fmt(w)}, g={fmt(g)}, alpha={alpha})", f"expected: {fmt(exp)}"]
            got = as_array(call(fn, w.copy(), g.copy(), alpha), w.shape, "w_new", "eq. 12.4", details)
            details.append(f"got:      {fmt(got)}")
            if not close(got, exp):
                if close(got, w + alpha * g):
                    raise Failure("eq. 12.4", "the step goes up the gradient: w_k+1 = w_k - alpha g_k", details)
                raise Failure("eq. 12.4", "w_k+1 = w_k - alpha g_k", details)
            count += 1
    return f"{count} steps"


def check_newton_step(fn) -> str:
    rng = np.random.default_rng(1215)
    count = 0
    cases = [(START, gradient(START), hessian(START)), (np.array([0.5, 0.0]), gradient([0.5, 0.0]), hessian([0.5, 0.0]))]
    for w, J, e in _systems(rng)[1:]:
        S = grid(rng, (len(w), len(w)), -0.5, 0.5)
        cases.append((w, J.T @ e, J.T @ J + S + S.T))  # symmetric, not always positive definite
    for w, g, H in cases:
        exp = w - np.linalg.solve(H, g)
        details = [f"call:     newton_step(w={fmt(w)}, g={fmt(g)}, H={fmt(H)})", f"expected: {fmt(exp)}"]
        got = as_array(call(fn, w.copy(), g.copy(), H.copy()), w.shape, "w_new", "eq. 12.15", details)
        details.append(f"got:      {fmt(got)}")
        if not close(got, exp):
            if close(got, w + np.linalg.solve(H, g)):
                raise Failure("eq. 12.15", "the step has the wrong sign: w_k+1 = w_k - H^-1 g", details)
            if close(got, w - H @ g):
                raise Failure("eq. 12.15", "the step needs H^-1 g (solve H d = g), not H g", details)
            raise Failure("eq. 12.15", "w_k+1 = w_k - H^-1 g", details)
        count += 1
    return f"{count} steps, the first from w0 = (-1.2, 1) with the exact Hessian"


def check_gauss_newton_step(fn) -> str:
    rng = np.random.default_rng(1223)
    count = 0
    for w, J, e in _systems(rng):
        exp = w - np.linalg.solve(J.T @ J, J.T @ e)
        details = [f"call:     gauss_newton_step(w={fmt(w)}, J={fmt(J)}, e={fmt(e)})", f"expected: {fmt(exp)}"]
        got = as_array(call(fn, w.copy(), J.copy(), e.copy()), w.shape, "w_new", "eq. 12.23", details)
        details.append(f"got:      {fmt(got)}")
        if not close(got, exp):
            if close(got, w + np.linalg.solve(J.T @ J, J.T @ e)):
                raise Failure("eq. 12.23", "the step has the wrong sign: w_k+1 = w_k - (J^T J)^-1 J^T e", details)
            raise Failure("eq. 12.23", "w_k+1 = w_k - (J^T J)^-1 J^T e", details)
        count += 1
    return f"{count} steps, tall J of full rank, a network's J among them"


def check_lm_step(fn) -> str:
    rng = np.random.default_rng(1225)
    count = 0
    for w, J, e in _systems(rng):
        for mu in (1e-3, 1.0, 1e3):
            A = J.T @ J
            exp = w - np.linalg.solve(A + mu * np.eye(len(w)), J.T @ e)
            details = [f"call:     lm_step(w={fmt(w)}, J={fmt(J)}, e={fmt(e)}, mu={mu})", f"expected: {fmt(exp)}"]
            got = as_array(call(fn, w.copy(), J.copy(), e.copy(), mu), w.shape, "w_new", "eq. 12.25", details)
            details.append(f"got:      {fmt(got)}")
            if not close(got, exp):
                if close(got, 2 * w - exp):
                    raise Failure("eq. 12.25", "the step has the wrong sign: w - (J^T J + mu I)^-1 J^T e", details)
                if close(got, w - np.linalg.solve(A, J.T @ e)):
                    raise Failure("eq. 12.25", "the mu I term is missing: that is the Gauss-Newton step", details)
                if close(got, w - np.linalg.solve(A + mu * np.diag(np.diag(A)), J.T @ e)):
                    raise Failure("eq. 12.25", "that is Marquardt's mu*diag(J^T J); eq. 12.25 adds mu I", details)
                raise Failure("eq. 12.25", "w_k+1 = w_k - (J^T J + mu I)^-1 J^T e", details)
            count += 1
    # lmtrain's LM for curve models takes the same first step on this problem (its first try is accepted)
    fit = lm.curve_fit(lambda x, p: np.array([-10.0 * (p[1] - p[0] ** 2), p[0]]), None, np.array([0.0, 1.0]),
                       START, jac=lambda x, p: -jac(p), mu=1.0, max_iter=1)
    assert fit.result.history.rejected[0] == 0
    got = as_array(call(fn, START.copy(), jac(START), errors(START), 1.0), (2,), "w_new", "eq. 12.25")
    if not close(got, fit.params, rtol=1e-6):
        raise Failure("eq. 12.25", "differs from the first step of lm.curve_fit on the Rosenbrock valley", [
            "call:     lm_step(w0=(-1.2, 1), J, e, mu=1.0)", f"expected: {fmt(fit.params)}", f"got:      {fmt(got)}"])
    return f"{count + 1} steps; the first step of lm.curve_fit from (-1.2, 1) agrees"


CHECKS = {
    "rosenbrock": check_rosenbrock,
    "rosenbrock_hessian": check_rosenbrock_hessian,
    "ebp_step": check_ebp_step,
    "newton_step": check_newton_step,
    "gauss_newton_step": check_gauss_newton_step,
    "lm_step": check_lm_step,
}
