"""Checker of lab 7: the two models, their Jacobians, the quartic fit and Newton-Raphson.

Jacobians are compared with central differences of the model. The
Newton-Raphson path is compared with one computed here from the analytic
Hessian, which is itself held to central differences of the gradient.
"""

from __future__ import annotations

import numpy as np

import lmtrain as lm

from .._kit import Failure, as_array, call, close, fd_jacobian, fmt, grid

A_TRUE = np.array([20.0, 10.0, 1.0, 50.0])
A_START = np.array([5.0, 2.0, 0.2, -10.0])


def prepare():
    lm.curve_fit(lambda x, p: p[0] * x, np.ones(2), np.ones(2), [0.0], max_iter=1)


def quartic(u, a):
    return a[0] * u + a[1] * u**2 + a[2] * u**3 + a[3] * u**4


def exponential(x, p):
    return p[1] * np.exp(p[0] * x)


def exp_data():
    x = np.linspace(1.0, 2.0, 20)
    return x, exponential(x, [2.5, 0.8]) + 0.5 * np.random.default_rng(0).standard_normal(20)


def _check_model(fn, model, name, n_params, points, params):
    for x in points:
        for p in params:
            exp = model(x, p)
            details = [f"call:     {name}({fmt(x)}, {fmt(p)})", f"expected: {fmt(exp)}"]
            got = as_array(call(fn, x.copy(), p.copy()), exp.shape, "y", "the model", details)
            details.append(f"got:      {fmt(got)}")
            if not close(got, exp):
                raise Failure("the model", f"{name} differs from its formula", details)


def _check_jacobian(fn, model, name, points, params, formula):
    for x in points:
        for p in params:
            exp = fd_jacobian(lambda q: model(x, q), p)
            details = [f"call:     {name}({fmt(x)}, {fmt(p)})", f"expected (central differences): {fmt(exp)}"]
            got = as_array(call(fn, x.copy(), p.copy()), exp.shape, "the Jacobian", "eq. 12.16", details)
            details.append(f"got:      {fmt(got)}")
            if not np.allclose(got, exp, rtol=1e-5, atol=1e-6):
                if np.allclose(got, -exp, rtol=1e-5, atol=1e-6):
                    raise Failure("eq. 12.16", "curve_fit wants the model's derivative d f / d p; the minus of "
                                               "J = d e / d p = -d f / d p is applied inside", details)
                raise Failure("eq. 12.16", f"row i is {formula}", details)


def check_quartic(fn) -> str:
    rng = np.random.default_rng(7)
    points = [np.array([0.5]), np.array([0.1, 0.5, 1.0]), np.arange(1, 101) / 100.0]
    params = [A_TRUE, A_START, grid(rng, 4, -5.0, 5.0)]
    _check_model(fn, quartic, "quartic", 4, points, params)
    return "3 grids of u, 3 parameter vectors"


def check_quartic_jacobian(fn) -> str:
    rng = np.random.default_rng(8)
    points = [np.array([0.5]), np.array([0.1, 0.5, 1.0]), np.arange(1, 101) / 100.0]
    _check_jacobian(fn, quartic, "quartic_jacobian", points, [A_START, grid(rng, 4, -5.0, 5.0)],
                    "(u_i, u_i**2, u_i**3, u_i**4)")
    return "equal to central differences of the model"


def check_fit_quartic(fn) -> str:
    u = np.arange(1, 101) / 100.0
    ref = lm.curve_fit(quartic, u, quartic(u, A_TRUE), A_START,
                       jac=lambda u, a: np.stack([u, u**2, u**3, u**4], axis=1))
    got = call(fn)
    params = getattr(got, "params", None)
    details = [f"expected: params = {fmt(ref.params, 10)} after {ref.result.iterations} iterations"]
    if params is None:
        raise Failure("eq. 12.25", f"fit_quartic should return the CurveFitResult of lm.curve_fit, got "
                                   f"{type(got).__name__}", details)
    params = as_array(params, (4,), "params", "eq. 12.25", details)
    details.append(f"got:      params = {fmt(params, 10)}")
    if not close(params, A_TRUE, rtol=1e-6):
        raise Failure("eq. 12.25", "the fit should reach the true a = (20, 10, 1, 50): fit the noise-free curve "
                                   "y = quartic(u, A_TRUE) on u = t/100, t = 1..100, from A_START", details)
    return f"a = ({', '.join(f'{v:.6g}' for v in params)}) from (5, 2, 0.2, -10)"


def check_exponential(fn) -> str:
    x, _ = exp_data()
    _check_model(fn, exponential, "exponential", 2, [np.array([1.5]), x],
                 [np.array([2.5, 0.8]), np.array([10.2, 1.0]), np.array([-1.0, 3.0])])
    return "3 parameter vectors"


def check_exponential_jacobian(fn) -> str:
    x, _ = exp_data()
    _check_jacobian(fn, exponential, "exponential_jacobian", [np.array([1.5]), x],
                    [np.array([2.5, 0.8]), np.array([-1.0, 3.0])], "(b x_i exp(a x_i), exp(a x_i))")
    return "equal to central differences of the model"


def _gradient(p, x, y):
    ex = np.exp(p[0] * x)
    e = y - p[1] * ex
    J = -np.stack([p[1] * x * ex, ex], axis=1)
    return J.T @ e, J, e, ex


def _hessian(p, x, y):
    g, J, e, ex = _gradient(p, x, y)
    S = -np.array([[np.sum(e * p[1] * x * x * ex), np.sum(e * x * ex)], [np.sum(e * x * ex), 0.0]])
    return J.T @ J + S, J, S, g


def reference_nr(x, y, p0, iterations):
    p = np.array(p0, dtype=float)
    path = [p.copy()]
    for _ in range(iterations):
        H, _, _, g = _hessian(p, x, y)
        fd = fd_jacobian(lambda q: _gradient(q, x, y)[0], p, h=1e-6 * max(1.0, float(np.max(np.abs(p)))))
        assert np.allclose(fd, H, rtol=1e-4, atol=1e-4 * np.max(np.abs(H)))  # the oracle's own check
        p = p - np.linalg.solve(H, g)
        path.append(p.copy())
    return np.array(path)


def check_newton_raphson(fn) -> str:
    x, y = exp_data()
    for p0, n in ((np.array([2.4, 0.5]), 1), (np.array([2.6, 0.7]), 6), (np.array([10.2, 1.0]), 3)):
        exp = reference_nr(x, y, p0, n)
        details = ["data:     x = np.linspace(1, 2, 20), y = exponential(x, [2.5, 0.8]) + 0.5 * "
                   "np.random.default_rng(0).standard_normal(20)",
                   f"call:     newton_raphson(x, y, p0={fmt(p0)}, iterations={n})", f"expected: {fmt(exp)}"]
        got = as_array(call(fn, x.copy(), y.copy(), p0.copy(), n), exp.shape, "path", "eq. 12.15", details)
        details.append(f"got:      {fmt(got)}")
        if close(got, exp, rtol=1e-7):
            continue
        if not close(got[0], p0):
            raise Failure("eq. 12.15", "row 0 of the path is the start p0", details)
        i = int(np.argmax([not close(got[k], exp[k], rtol=1e-7) for k in range(len(exp))]))
        p = exp[i - 1]  # the student's previous point is right: look at this one step
        H, J, S, g = _hessian(p, x, y)
        step = got[i] - p
        where = f"step {i} from p = {fmt(p)}"
        if close(step, np.linalg.solve(H, g)):
            raise Failure("eq. 12.15", f"{where} has the wrong sign: p <- p - H^-1 g", details)
        if close(step, -np.linalg.solve(J.T @ J, g)):
            raise Failure("eqs. 12.20-12.21", f"{where} is a Gauss-Newton step (H = J^T J): Newton-Raphson uses "
                                              f"the exact Hessian, J^T J + sum_i e_i d2 e_i / dp2", details)
        if close(step, -np.linalg.solve(J.T @ J - S, g)):
            raise Failure("eq. 12.21", f"{where}: the second-derivative term has the wrong sign: "
                                       f"d2 e / dp2 = -d2 f / dp2 because e = y - f", details)
        raise Failure("eq. 12.15", f"{where}: p <- p - H^-1 g with the exact Hessian of E", details)
    return "3 paths, near and far starts; every step equal to p - H^-1 g with the exact H"


CHECKS = {
    "quartic": check_quartic,
    "quartic_jacobian": check_quartic_jacobian,
    "fit_quartic": check_fit_quartic,
    "exponential": check_exponential,
    "exponential_jacobian": check_exponential_jacobian,
    "newton_raphson": check_newton_raphson,
}
