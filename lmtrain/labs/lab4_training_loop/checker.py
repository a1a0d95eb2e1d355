"""Checker of lab 4: E, one LM try, the μ rule and the loop of Fig. 12.5.

``train_lm`` is replayed against ``lm.train(net, X, D, algorithm="lm",
w0=..., strict=False, ...)``: the two histories (E, μ, rejected, forced) must
agree iteration by iteration. The checker also records every weight vector
the student's loop hands to ``residuals`` and ``jacobian``, so that when the
histories part it can say which rule of Fig. 12.5 broke and at which try:
whether each try is an LM step (eq. 12.25) from w_k with the μ the rule
gives, whether a retracted try really went back to w_k, whether a rising try
was kept, and whether the forced step came after ``max_tries`` retractions.

The replay cases are fixed seeds chosen so that no decision is closer than
rounding (the tests check this): every try's E differs from E_k by far more
than the difference between two correct implementations.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field

import numpy as np

import lmtrain as lm

from .._kit import Failure, Net, as_array, build, call, close, describe_net, fmt, grid, unpack

DEFAULTS = dict(mu=0.01, goal=0.0, max_iter=100, max_tries=5, mu_inc=10.0, mu_dec=10.0, mu_min=1e-20, mu_max=1e10)


def prepare():
    net = lm.mlp([1, 1])
    lm.train(net, np.zeros((2, 1)), np.ones((2, 1)), algorithm="lm", w0=np.zeros(2), max_iter=2)


# ------------------------------------------------------------------ cases
@dataclass
class LoopCase:
    title: str
    net: Net
    X: np.ndarray
    D: np.ndarray
    w0: np.ndarray
    options: dict
    data: list = field(default_factory=list)  # how to rebuild X, D and w0, for the counterexample

    def describe(self) -> list[str]:
        opts = ", ".join(f"{k}={v!r}" for k, v in self.options.items())
        return ([f"case:     {self.title}"] + describe_net(self.net)[:1] + self.data
                + [f"call:     train_lm(residuals, jacobian, w0, {opts})",
                   "          residuals(w) = (D - network.forward(w, X)).ravel(), "
                   "jacobian(w) = network.jacobian(w, X)"])


def _seeded(title, net, seed, options, P=8):
    rng = np.random.default_rng(seed)
    network = net.net
    X = grid(rng, (P, network.n_inputs))
    D = grid(rng, (P, network.n_outputs), -0.9, 0.9)
    w0 = grid(rng, network.n_weights)
    data = [f"data:     X = {fmt(X)}", f"          D = {fmt(D)}", f"start:    w0 = {fmt(w0)}"]
    return LoopCase(title, net, X, D, w0, options, data)


def loop_cases() -> list[LoopCase]:
    """Parity-3 first (the chapter's problem), then cases that reach every rule of Fig. 12.5."""
    fig_12_7 = build("mlp", [3, 3, 1], "bipolar", 0.5)
    X, D = lm.datasets.parity(3)
    w0 = fig_12_7.net.init_weights(3)
    return [
        LoopCase("parity-3 on the 3-3-1 network of Fig. 12.7", fig_12_7, X, D, w0,
                 dict(mu=0.01, goal=0.01, max_iter=40),
                 ["data:     X, D = lm.datasets.parity(3)", "start:    w0 = network.init_weights(3)"]),
        _seeded("two outputs, mu_inc = 2: forced steps", build(
            "mlp", [2, 2, 2], ["bipolar", "unipolar", "bipolar", "linear"], [1.5, 1.0, 0.5, 2.0]),
            3, dict(mu=0.01, mu_inc=2.0, max_iter=8)),
        _seeded("bridged MLP, mu_min = 1e-3: the floor of mu", build(
            "bmlp", [2, 2, 1], ["bipolar", "unipolar", "bipolar"], [1.0, 2.0, 0.5]),
            2, dict(mu=0.1, mu_min=1e-3, max_iter=8)),
        _seeded("cascade with two outputs, max_tries = 2, mu_inc = 1.5", build(
            "fcc", (2, 3), ["bipolar", "unipolar", "bipolar"], [0.5, 1.5, 1.0], outputs=2),
            0, dict(mu=0.01, mu_inc=1.5, max_tries=2, max_iter=8)),
        _seeded("mu_max = 0.5: the stop when mu would grow too large", build("mlp", [2, 2, 1], "unipolar", 2.0),
                3, dict(mu=0.01, mu_max=0.5, max_iter=10)),
        _seeded("two outputs, mu_max = 0.02: the stop comes before the forced try", build(
            "mlp", [2, 2, 2], ["bipolar", "unipolar", "bipolar", "linear"], [1.5, 1.0, 0.5, 2.0]),
            3, dict(mu=0.01, mu_inc=2.0, mu_max=0.02, max_iter=8)),
        _seeded("the goal is met at the start: no iteration", build("mlp", [2, 1]), 5, dict(goal=100.0)),
    ]


def reference(case: LoopCase):
    """The engine's run of Fig. 12.5 from the same start (chapter mode, no gradient stop)."""
    with warnings.catch_warnings():  # some cases give a sigmoid output targets it cannot reach, on purpose
        warnings.simplefilter("ignore", lm.TargetRangeWarning)
        return lm.train(case.net.net, case.X, case.D, algorithm="lm", w0=case.w0, strict=False, min_grad=0.0,
                        progress=False, **case.options)


class Recorder:
    """``residuals`` and ``jacobian`` for the student's loop, keeping every weight vector they are asked about."""

    def __init__(self, case: LoopCase):
        self.case = case
        self.calls = []

    def _weights(self, w, who):
        w = np.array(w, dtype=float).reshape(-1)
        n = self.case.net.net.n_weights
        if w.shape != (n,):
            raise ValueError(f"{who}(w): w must hold the {n} weights, got {w.size} numbers")
        return w

    def residuals(self, w):
        w = self._weights(w, "residuals")
        self.calls.append(("e", w.copy()))
        return (self.case.D - self.case.net.net.forward(w, self.case.X)).ravel()

    def jacobian(self, w):
        w = self._weights(w, "jacobian")
        self.calls.append(("J", w.copy()))
        return self.case.net.net.jacobian(w, self.case.X)


# ----------------------------------------------------------- simple tasks
def check_total_error(fn) -> str:
    rng = np.random.default_rng(121)
    for n in (1, 3, 8, 20):
        e = grid(rng, n, -2.0, 2.0)
        E_exp = 0.5 * float(e @ e)
        details = [f"call:     total_error(e={fmt(e)})", f"expected: {fmt(E_exp)}"]
        got = call(fn, e.copy())
        try:
            E = float(np.asarray(got, dtype=float).reshape(()))
        except (TypeError, ValueError):
            raise Failure("eq. 12.1", f"total_error should return one number, got {type(got).__name__}",
                          details) from None
        details.append(f"got:      {fmt(E)}")
        if not close(E, E_exp):
            if close(E, 2 * E_exp):
                raise Failure("eq. 12.1", "E = 1/2 * sum(e**2): the 1/2 is missing", details)
            if close(E, E_exp * 2 / n) or close(E, E_exp / n):
                raise Failure("eq. 12.1", "E is a sum over all errors, not a mean", details)
            raise Failure("eq. 12.1", "E = 1/2 * sum(e**2)", details)
    return "4 error vectors"


def _lm_step(J, e, mu):
    return np.linalg.solve(J.T @ J + mu * np.eye(J.shape[1]), J.T @ e)


def check_lm_try(fn) -> str:
    small = [build("mlp", [1, 1]), build("mlp", [2, 1], "unipolar", 2.0)]
    nets = small + [c.net for c in loop_cases()[1:4]]
    rng = np.random.default_rng(1225)
    count = 0
    for net in nets:  # smallest first: the counterexample shown is the smallest that fails
        network = net.net
        for P in (6, 2):  # more rows than weights, then (mostly) fewer: J^T J singular, mu I saves it
            X = grid(rng, (P, network.n_inputs))
            D = grid(rng, (P, network.n_outputs), -0.9, 0.9)
            w = grid(rng, network.n_weights)
            e = (D - network.forward(w, X)).ravel()
            J = network.jacobian(w, X)
            for mu in (0.01, 1.0, 100.0):
                expected = w - _lm_step(J, e, mu)
                details = [f"call:     lm_try(w, J, e, mu={mu}) with", f"          w = {fmt(w)}",
                           f"          J = {fmt(J)}", f"          e = {fmt(e)}", f"expected: {fmt(expected)}"]
                got = as_array(call(fn, w.copy(), J.copy(), e.copy(), mu), w.shape, "w_try", "eq. 12.25", details)
                details.append(f"got:      {fmt(got)}")
                if not close(got, expected):
                    _explain_try(J, e, mu, w, got, details)
                count += 1
    cases = loop_cases()
    # the engine takes the same step: one LM iteration whose first try is accepted
    case = cases[0]
    r = lm.train(case.net.net, case.X, case.D, algorithm="lm", w0=case.w0, mu=0.01, max_iter=1, progress=False)
    assert r.history.rejected[0] == 0
    J = case.net.net.jacobian(case.w0, case.X)
    e = (case.D - case.net.net.forward(case.w0, case.X)).ravel()
    got = as_array(call(fn, case.w0.copy(), J, e, 0.01), case.w0.shape, "w_try", "eq. 12.25")
    if not close(got, r.weights, rtol=1e-6):
        raise Failure("eq. 12.25", "the first step of lm.train on parity-3 differs from yours", case.describe()[:3] + [
            f"expected: {fmt(r.weights)}", f"got:      {fmt(got)}"])
    return f"{count} steps with mu = 0.01, 1, 100, more and fewer rows than weights; the engine's first step"


def _explain_try(J, e, mu, w, got, details):
    A, g = J.T @ J, J.T @ e
    N = len(w)
    if close(got, w + _lm_step(J, e, mu)):
        raise Failure("eq. 12.25", "the step has the wrong sign: w_k+1 = w_k - (J^T J + mu I)^-1 J^T e "
                                   "(with e = d - o, J^T e is the gradient g, eq. 12.18)", details)
    if close(got, w - np.linalg.solve(A + mu * np.ones((N, N)), g)):
        raise Failure("eq. 12.25", "mu I adds mu to the diagonal of J^T J only, not to every entry", details)
    if close(got, w - np.linalg.solve(A + mu * np.diag(np.diag(A)), g)):
        raise Failure("eq. 12.25", "that is Marquardt's scaling mu*diag(J^T J); the chapter's eq. 12.25 "
                                   "adds mu I", details)
    if np.linalg.matrix_rank(A) == N and close(got, w - np.linalg.solve(A, g)):
        raise Failure("eq. 12.25", "that is the Gauss-Newton step (eq. 12.23): the mu I term is missing", details)
    raise Failure("eq. 12.25", "w_try = w - (J^T J + mu I)^-1 J^T e", details)


def check_next_mu(fn) -> str:
    cases = [
        ((0.01, True), {}, 0.001), ((0.01, False), {}, 0.1), ((5.0, False), dict(mu_inc=3.0), 15.0),
        ((5.0, True), dict(mu_dec=4.0), 1.25), ((2e-3, True), dict(mu_min=1e-3), 1e-3),
        ((1e-3, True), dict(mu_min=1e-3), 1e-3), ((1e-3, False), dict(mu_min=1e-3), 1e-2),
    ]
    for (mu, accepted), kw, expected in cases:
        opts = "".join(f", {k}={v}" for k, v in kw.items())
        details = [f"call:     next_mu({mu}, accepted={accepted}{opts})", f"expected: {fmt(expected)}"]
        got = call(fn, mu, accepted, **kw)
        try:
            got = float(got)
        except (TypeError, ValueError):
            raise Failure("Fig. 12.5", f"next_mu should return a number, got {type(got).__name__}", details) from None
        details.append(f"got:      {fmt(got)}")
        if close(got, expected, rtol=1e-12, atol=0.0):
            continue
        inc, dec = kw.get("mu_inc", 10.0), kw.get("mu_dec", 10.0)
        if accepted:
            if got > mu:
                raise Failure("Fig. 12.5, step v", "mu moved the wrong way: after an accepted step (E fell) mu is "
                                                   "divided by mu_dec, towards Gauss-Newton", details)
            if "mu_min" in kw and got < kw["mu_min"]:
                raise Failure("Fig. 12.5, step v", "mu is never divided below mu_min", details)
            raise Failure("Fig. 12.5, step v", f"after an accepted step mu becomes max(mu / mu_dec, mu_min) "
                                               f"(mu_dec = {dec:g})", details)
        if got < mu:
            raise Failure("Fig. 12.5, step iv", "mu moved the wrong way: after a retracted try (E rose) mu is "
                                                "multiplied by mu_inc, towards steepest descent", details)
        raise Failure("Fig. 12.5, step iv", f"after a retracted try mu becomes mu * mu_inc (mu_inc = {inc:g})",
                      details)
    return f"{len(cases)} cases: accepted and retracted, other factors, the floor mu_min"


# ------------------------------------------------------------- the loop
def _rows(history, details):
    rows = []
    try:
        items = list(history)
    except TypeError:
        raise Failure("Fig. 12.5", f"history should be a list of (E, mu, rejected, forced) tuples, "
                                   f"got {type(history).__name__}", details) from None
    for k, item in enumerate(items):
        try:
            E, mu, rejected, forced = item
            rows.append((float(E), float(mu), int(rejected), bool(forced)))
        except (TypeError, ValueError):
            raise Failure("Fig. 12.5", f"history[{k}] should be a tuple (E, mu, rejected, forced), got {item!r}",
                          details) from None
    return rows


def _same(a, b) -> bool:
    return (bool(np.isclose(a[0], b[0], rtol=1e-6, atol=1e-12)) and bool(np.isclose(a[1], b[1], rtol=1e-9, atol=0.0))
            and a[2] == b[2] and a[3] == b[3])


def _table(got, exp, k) -> list[str]:
    def cell(r):
        return f"E = {fmt(r[0], 8)}, mu = {fmt(r[1])}, rejected {r[2]}, forced {r[3]}" if r else "-"
    lines = []
    for i in range(max(0, k - 3), k + 1):
        e = exp[i] if i < len(exp) else None
        g = got[i] if i < len(got) else None
        lines.append(f"iteration {i}: expected {cell(e):<58}  got {cell(g)}")
    return lines


def check_train_lm(fn) -> str:
    cases = loop_cases()
    total = 0
    for case in cases:
        r = reference(case)
        h = r.history
        expected = list(zip(h.error.tolist(), h.mu.tolist(), h.rejected.tolist(), h.forced.tolist()))
        rec = Recorder(case)
        details = case.describe()
        result = unpack(call(fn, rec.residuals, rec.jacobian, case.w0.copy(), **case.options), 2, "train_lm",
                        "Fig. 12.5", details)
        w = as_array(result[0], case.w0.shape, "the returned weights", "Fig. 12.5", details)
        got = _rows(result[1], details)
        k = next((i for i in range(min(len(got), len(expected))) if not _same(got[i], expected[i])), None)
        if k is None and len(got) != len(expected):
            k = min(len(got), len(expected))
        if k is not None:
            more = details + _table(got, expected, k)
            _analyse(case, rec, expected, r.initial_error, k, more)
            _explain_history(case, r, got, expected, k, more)
        if not close(w, r.weights, rtol=1e-6, atol=1e-8):
            raise Failure("Fig. 12.5", "the history is right but the returned weights are not the final ones",
                          details + [f"expected: w = {fmt(r.weights)}", f"got:      w = {fmt(w)}"])
        total += len(expected)
    return (f"{len(cases)} runs, {total} iterations replayed against lm.train: E, mu, rejected tries and forced "
            f"steps agree")


def _options(case):
    o = dict(DEFAULTS)
    o.update(case.options)
    return o


def _start_mu(o, expected, i):
    """The μ that iteration i starts with, by the rule, given the engine's record of iteration i − 1."""
    if i == 0:
        return o["mu"]
    E, mu, rejected, forced = expected[i - 1]
    return mu if forced else max(mu / o["mu_dec"], o["mu_min"])


def _is_step(A, g, d, mu, tol=1e-7) -> bool:
    """Does d solve (A + μI) d = g to rounding?"""
    if not np.all(np.isfinite(d)) or mu <= 0:
        return False
    r = A @ d + mu * d - g
    scale = np.linalg.norm(A, 2) * np.linalg.norm(d) + mu * np.linalg.norm(d) + np.linalg.norm(g)
    return bool(np.linalg.norm(r) <= tol * scale)


def _fit_mu(A, g, d) -> float:
    """The μ for which d comes closest to an LM step: (A + μI) d ≈ g."""
    dd = float(d @ d)
    return float((g - A @ d) @ d / dd) if dd > 0 else float("nan")


def _analyse(case, rec, expected, E0, k, details):
    """Walk the student's tries up to iteration k and raise at the first one that breaks a rule."""
    o = _options(case)
    network, X, D = case.net.net, case.X, case.D
    iterations = []
    for kind, w in rec.calls:
        if kind == "J":
            if iterations and np.array_equal(w, iterations[-1]["w"]):
                continue
            iterations.append({"w": w, "tries": []})
        elif iterations and not np.array_equal(w, iterations[-1]["w"]):
            iterations[-1]["tries"].append(w)

    def E_at(w):
        e = (D - network.forward(w, X)).ravel()
        return 0.5 * float(e @ e)

    for i, it in enumerate(iterations[:k + 1]):
        w_k = it["w"]
        if i < len(expected) and i > 0 and not close(E_at(w_k), expected[i - 1][0], rtol=1e-6):
            return  # the student's weights already left the engine's path: the history says more
        e = (D - network.forward(w_k, X)).ravel()
        J = network.jacobian(w_k, X)
        A, g = J.T @ J, J.T @ e
        E_k = 0.5 * float(e @ e)
        mu_start = _start_mu(o, expected, i)
        nxt = iterations[i + 1]["w"] if i + 1 < len(iterations) else None
        here = f"iteration {i}"
        for t, w_t in enumerate(it["tries"]):
            mu_t = mu_start * o["mu_inc"] ** t
            if not _is_step(A, g, w_k - w_t, mu_t):
                _explain_bad_try(A, g, w_k, w_t, it["tries"][t - 1] if t else None, i, t, mu_t, o=o, expected=expected,
                                 details=details)
            E_t = E_at(w_t)
            last = t == len(it["tries"]) - 1
            what = f"{here}, try {t + 1} (mu = {fmt(mu_t)}): E went from {fmt(E_k, 8)} to {fmt(E_t, 8)}"
            if E_t <= E_k:
                if not last:
                    raise Failure("Fig. 12.5, step v", f"{what}, so the step must be kept and the iteration "
                                                       f"ends; your loop tried again", details)
                if nxt is not None and not np.array_equal(nxt, w_t):
                    raise Failure("Fig. 12.5, step v", f"{what}, but the next iteration did not start from "
                                                       f"these weights: keep a step that lowers E", details)
            elif t < o["max_tries"]:
                if last and nxt is not None:
                    if np.array_equal(nxt, w_t):
                        raise Failure("Fig. 12.5, step iv", f"{what}, yet the step was kept: a try that raises "
                                                            f"E is retracted and tried again with mu * mu_inc",
                                      details)
                    raise Failure("Fig. 12.5, step iv", f"{what}; after a retracted try, try again from w_k with "
                                                        f"mu * mu_inc (up to max_tries = {o['max_tries']} times)",
                                  details)
            else:
                if not last or (nxt is not None and not np.array_equal(nxt, w_t)):
                    raise Failure("Fig. 12.5 (m > 5)", f"{what}, after {t} retracted tries: no forced step. "
                                                       f"After max_tries = {o['max_tries']} retracted tries the "
                                                       f"figure takes the next try even though E rose", details)


def _explain_bad_try(A, g, w_k, w_t, previous, i, t, mu_t, *, o, expected, details):
    where = f"iteration {i}, try {t + 1}"
    if previous is not None:
        d_prev = previous - w_t
        mu_p = _fit_mu(A, g, d_prev)
        if _is_step(A, g, d_prev, mu_p, tol=1e-6):
            raise Failure("Fig. 12.5, step iv", f"{where}: the step starts from the weights of the retracted try "
                                                f"before it, not from w_k. Retract: after a try that raised E the "
                                                f"weights go back to w_k", details)
    d = w_k - w_t
    mu_hat = _fit_mu(A, g, d)
    if mu_hat > 0 and _is_step(A, g, d, mu_hat, tol=1e-6):
        what = f"{where} used mu = {fmt(mu_hat, 4)}; by the rule it is {fmt(mu_t, 4)}"
        if t == 0 and i > 0 and not expected[i - 1][3]:
            raise Failure("Fig. 12.5, step v", f"{what}: after the accepted step of iteration {i - 1} "
                                               f"(mu = {fmt(expected[i - 1][1])}) mu is divided by mu_dec "
                                               f"(and kept >= mu_min)" + (" - yours moved the wrong way"
                                                                          if mu_hat > expected[i - 1][1] else ""),
                          details)
        if t == 0 and i > 0:
            raise Failure("Fig. 12.5 (m > 5)", f"{what}: a forced step leaves mu as it was", details)
        if t == 0:
            raise Failure("Fig. 12.5", f"{what}: the first try uses the mu given to train_lm", details)
        raise Failure("Fig. 12.5, step iv", f"{what}: after each retracted try mu is multiplied by mu_inc"
                      + (" - yours moved the wrong way" if mu_hat < mu_t / o["mu_inc"] * 0.999 else ""), details)
    mu_neg = _fit_mu(A, g, -d)
    if mu_neg > 0 and _is_step(A, g, -d, mu_neg, tol=1e-6):
        raise Failure("eq. 12.25", f"{where}: the step has the wrong sign: w_try = w_k - (J^T J + mu I)^-1 J^T e",
                      details)
    raise Failure("eq. 12.25", f"{where}: the trial weights are not w_k - (J^T J + mu I)^-1 J^T e for any mu, "
                               f"with J and e at w_k", details)


def _explain_history(case, r, got, expected, k, details):
    o = _options(case)
    if k >= len(got):
        raise Failure("Fig. 12.5", f"your loop stopped after {len(got)} iterations; the engine went on. Stop only "
                                   f"when E <= goal, after max_iter iterations, or when mu * mu_inc would exceed "
                                   f"mu_max", details)
    if k >= len(expected):
        why = {"GOAL": "E <= goal", "MAX_ITER": f"max_iter = {o['max_iter']} iterations",
               "MU_MAX": "mu * mu_inc would exceed mu_max"}.get(r.stop_reason.name, r.stop_reason.message)
        raise Failure("Fig. 12.5", f"your loop should have stopped after {len(expected)} iterations ({why})",
                      details)
    g, e = got[k], expected[k]
    if not np.isclose(g[0], e[0], rtol=1e-6, atol=1e-12):
        if np.isclose(g[0], 2 * e[0], rtol=1e-6):
            raise Failure("eq. 12.1", f"iteration {k}: your E is twice the engine's: E = 1/2 * sum(e**2), the 1/2 "
                                      f"is missing", details)
        if g[2] == e[2] and g[3] == e[3] and np.isclose(g[1], e[1], rtol=1e-9):
            raise Failure("eq. 12.1", f"iteration {k}: E after the iteration is {fmt(g[0], 8)}, expected "
                                      f"{fmt(e[0], 8)} = 1/2 * sum(e**2) at the new weights", details)
    if g[3] != e[3]:
        if e[3]:
            raise Failure("Fig. 12.5 (m > 5)", f"iteration {k}: the engine took a forced step after max_tries = "
                                               f"{o['max_tries']} retracted tries; yours did not", details)
        raise Failure("Fig. 12.5 (m > 5)", f"iteration {k}: forced is True only for the try after max_tries = "
                                           f"{o['max_tries']} retracted tries", details)
    if g[2] != e[2] and e[3]:
        raise Failure("Fig. 12.5 (m > 5)", f"iteration {k}: a forced step comes after max_tries = {o['max_tries']} "
                                           f"retracted tries; the forced try itself is not counted as rejected",
                      details)
    if g[2] != e[2]:
        raise Failure("Fig. 12.5, step iv", f"iteration {k}: 'rejected' counts the tries that raised E and were "
                                            f"retracted: {e[2]}, not {g[2]}", details)
    if not np.isclose(g[1], e[1], rtol=1e-9):
        raise Failure("Fig. 12.5, steps iv-v", f"iteration {k}: record the mu of the step that was taken "
                                               f"({fmt(e[1])}), before it is divided", details)
    raise Failure("Fig. 12.5", f"iteration {k} differs from the engine's", details)


CHECKS = {
    "total_error": check_total_error,
    "lm_try": check_lm_try,
    "next_mu": check_next_mu,
    "train_lm": check_train_lm,
}
