"""Fitting a curve model y ≈ f(x, p) with the network trainer's LM rule.

A curve model has parameters p in place of weights. With residuals

    e = (y − f(x, p)) / σ,      E = ½ Σ e²      (eq. 12.1, σ = 1 unless given)

and the residual Jacobian J = ∂e/∂p = −(∂f/∂p) / σ, one Levenberg–Marquardt
iteration is the chapter's (eq. 12.25, Fig. 12.5)::

    p ← p − (JᵀJ + μI)⁻¹ Jᵀe

with μ divided by ``mu_dec`` after a step that lowers E and multiplied by
``mu_inc`` after one that raises it. :func:`curve_fit` does **not** hold a copy
of that rule: each try's μ decision is :func:`lmtrain.algorithms.lm.decide`
and each damped solve is :func:`lmtrain.engine.damped_step` on :func:`gram`
of J, the compiled functions the network trainer calls, with the same packed
options. Only the iteration loop is Python, because the model is Python.

J comes from ``jac(x, p)`` (the model's derivative ∂f/∂p; its sign is flipped
here) or, without it, from central differences with step
h_i = ``diff_step`` · max(|p_i|, 1), ``diff_step`` = ε^(1/3) ≈ 6e-6 by default,
which balances truncation (O(h²)) against rounding (O(ε/h)).

Covariance of the fitted parameters (the usual linearised estimate)::

    C = s² (JᵀJ)⁻¹,   s² = 2E / (n − k) = Σ e² / (n − k)

at the solution, n residuals and k parameters: s² is the residual variance,
so the covariance does not depend on the scale of σ (σ act as relative
weights, like scipy's ``curve_fit`` with ``absolute_sigma=False``). With
``absolute_sigma=True`` s² = 1 and σ are the standard deviations of y. C is
a NaN matrix when JᵀJ is singular to working precision (a parameter the data
cannot determine) or when n ≤ k.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Callable

import numpy as np

from . import engine
from ._validation import as_float_array, check_number
from .algorithms import IterationRecord, lm, pack_options, resolve_options
from .monitor import ProgressLine
from .result import History, StopReason, TrainResult

__all__ = ["CurveFitResult", "curve_fit"]

#: default relative step of the central-difference Jacobian, ε^(1/3)
DIFF_STEP = float(np.finfo(float).eps ** (1.0 / 3.0))


@dataclass
class CurveFitResult:
    """Outcome of :func:`curve_fit`.

    Attributes
    ----------
    params : ndarray (k,)
        Fitted parameters.
    result : TrainResult
        The run as network training reports it: ``stop_reason``,
        ``iterations``, ``error`` (E = ½Σe² at ``params``), ``initial_error``
        and a ``history`` of E, μ, ‖g‖, rejected and forced tries per
        iteration (``result.weights`` is ``params``).
    covariance : ndarray (k, k)
        s²·(JᵀJ)⁻¹ at ``params`` (see the module text); all NaN when singular.
    stderr : ndarray (k,)
        Standard errors, √diag(covariance).
    residuals : ndarray
        y − model(x, params), shaped like y (not divided by σ).
    jacobian : ndarray (n, k)
        J = ∂e/∂p at ``params`` (e weighted by 1/σ), the matrix behind ``covariance``.
    n_evaluations : int
        Calls of the model, finite-difference calls included.
    """

    params: np.ndarray
    result: TrainResult
    covariance: np.ndarray
    stderr: np.ndarray
    residuals: np.ndarray
    jacobian: np.ndarray
    n_evaluations: int

    @property
    def success(self) -> bool:
        """True when the fit stopped at a stationary point or met the goal.

        Unlike network training (where only the goal counts), a curve fit has
        usually converged when the gradient or the step vanished.
        """
        return self.result.stop_reason in (StopReason.GOAL, StopReason.MIN_GRAD, StopReason.MIN_STEP)

    @property
    def error(self) -> float:
        """E = ½ Σ e² at ``params``."""
        return self.result.error

    @property
    def message(self) -> str:
        return self.result.message

    def __repr__(self):
        p = np.array2string(self.params, precision=6, separator=", ")
        return (f"CurveFitResult(params={p}, stop_reason={self.result.stop_reason.name}, "
                f"iterations={self.result.iterations}, error={self.result.error:.6g})")


def _refuse_complex(values, fn, call: str, where: str) -> None:
    """Raise ``TypeError`` naming ``fn`` when it returned complex numbers.

    ``np.asarray(..., dtype=float64)`` would drop the imaginary part with only
    a warning, and the fit would go on with numbers the model never meant.
    """
    if np.iscomplexobj(values):
        name = getattr(fn, "__qualname__", None) or type(fn).__name__
        raise TypeError(f"{call} returned complex values {where} (the function {name!r}); a curve model must "
                        f"return real numbers (take .real yourself if the imaginary part is only rounding)")


class _Problem:
    """The model, the data and counters, checked at every evaluation."""

    def __init__(self, model, x, y, jac, w, diff_step):
        self.model, self.x, self.y, self.jac, self.w, self.diff_step = model, x, y, jac, w, diff_step
        self.n_eval = 0

    def values(self, p, where: str) -> np.ndarray:
        self.n_eval += 1
        with np.errstate(all="ignore"):
            f = self.model(self.x, p.copy())
        _refuse_complex(f, self.model, "model(x, p)", where)
        try:
            f = np.asarray(f, dtype=np.float64)
        except (TypeError, ValueError):
            raise TypeError(f"model(x, p) must return numbers, got {type(f).__name__} {where}") from None
        if f.shape != self.y.shape and f.shape != (self.y.size,):
            raise ValueError(f"model(x, p) returned shape {f.shape} {where}; expected y's shape {self.y.shape}")
        return f.reshape(-1)

    def residuals(self, p, where: str) -> np.ndarray:
        """e = (y − f(x, p)) / σ, flattened (may hold NaN/inf at trial points)."""
        with np.errstate(all="ignore"):
            return (self.y.reshape(-1) - self.values(p, where)) * self.w

    def jacobian(self, p, e) -> np.ndarray:
        """J = ∂e/∂p, shape (n, k); ``e`` is the residual at ``p``."""
        n, k = e.shape[0], p.shape[0]
        if self.jac is not None:
            Jf = self.jac(self.x, p.copy())
            _refuse_complex(Jf, self.jac, "jac(x, p)", f"at p = {p.tolist()}")
            Jf = np.asarray(Jf, dtype=np.float64)
            if Jf.shape not in ((n, k), self.y.shape + (k,)):
                raise ValueError(f"jac(x, p) returned shape {Jf.shape}; expected (n_points, n_params) = ({n}, {k})")
            J = -Jf.reshape(n, k) * self.w[:, None]
            if not np.all(np.isfinite(J)):
                raise ValueError(f"jac(x, p) returned NaN or infinite values at p = {p.tolist()}")
            return np.ascontiguousarray(J)
        J = np.empty((n, k))
        for i in range(k):
            h = self.diff_step * max(abs(p[i]), 1.0)
            pp = p.copy()
            pm = p.copy()
            pp[i] += h
            pm[i] -= h
            # the steps actually taken, after rounding of p ± h
            J[:, i] = (self.residuals(pp, "in a finite difference") - self.residuals(pm, "in a finite difference")) \
                / (pp[i] - pm[i])
        if not np.all(np.isfinite(J)):
            raise ValueError(f"the finite-difference Jacobian has NaN or infinite values at p = {p.tolist()}; "
                             "the model is not finite near p (pass jac= or another p0)")
        return J


def curve_fit(model: Callable, x, y, p0, jac: Callable | None = None, *, sigma=None, absolute_sigma: bool = False,
              diff_step: float | None = None, xtol: float = 1e-10, callback: Callable[[IterationRecord], bool | None] | None = None,
              progress=False, **options) -> CurveFitResult:
    """Fit ``model(x, p)`` to ``y`` by Levenberg–Marquardt (eq. 12.25, Fig. 12.5).

    Minimises E = ½ Σ ((y − model(x, p)) / σ)² over p from ``p0``, with the
    μ rule and damped solve of network training (see the module text).

    Parameters
    ----------
    model : callable
        ``model(x, p) -> array`` shaped like ``y`` (or flat with y's size);
        ``p`` is a 1-D float array. Called with ``x`` exactly as given.
    x : object
        Passed to ``model`` and ``jac`` unchanged (an array, a tuple, ...).
    y : array_like
        Data, any shape; flattened to the residual vector.
    p0 : array_like (k,)
        Start parameters, 1-D, finite.
    jac : callable, optional
        ``jac(x, p) -> (n_points, k)``: derivatives of the **model**, ∂f/∂p.
        Default: central differences.
    sigma : array_like, optional
        Per-point uncertainties (positive, broadcastable to y); residuals are
        divided by them.
    absolute_sigma : bool
        False (default): covariance scaled by the residual variance s²;
        True: σ are absolute and s² = 1.
    diff_step : float, optional
        Relative finite-difference step (default ε^(1/3)); ignored with ``jac``.
    xtol : float
        Converged (``StopReason.MIN_STEP``) when an accepted step is as small
        as ‖Δ‖ ≤ xtol·(xtol + ‖p‖) (default 1e-10; 0 turns it off). Near a
        minimum with noisy data E cannot fall any further and ‖g‖ stays above
        a fixed ``min_grad``, so a relative step test is what ends the fit.
    callback : callable, optional
        Called after every iteration with an :class:`~lmtrain.IterationRecord`
        (``weights`` = parameters); returning True stops (``USER_STOP``).
    progress : bool, None or file-like
        Progress line as in :func:`lmtrain.train` (default False).
    **options
        Those of ``lm.train(..., algorithm="lm")``, same meaning and defaults:
        ``goal`` (0), ``max_iter`` (1000), ``min_grad`` (1e-10), ``min_step``
        (0, absolute), ``max_time`` (inf), ``mu`` (0.01), ``mu_inc`` (10),
        ``mu_dec`` (10), ``mu_min`` (1e-20), ``mu_max`` (1e10), ``max_tries``
        (5) — except ``strict``, which defaults to **True** here: a try that
        raises E is never taken. ``strict=False`` gives Fig. 12.5's forced
        step after ``max_tries`` failures, which can throw a curve fit far
        off (see ``chapters/curve_exponential.py``).

    Returns
    -------
    CurveFitResult

    Examples
    --------
    >>> import numpy as np, lmtrain as lm
    >>> x = np.linspace(1, 2, 20)
    >>> fit = lm.curve_fit(lambda x, p: p[1] * np.exp(p[0] * x), x, 0.8 * np.exp(2.5 * x), [2.0, 1.0])
    >>> np.round(fit.params, 6)
    array([2.5, 0.8])
    """
    if not callable(model):
        raise TypeError(f"model must be callable as model(x, p), got {type(model).__name__}")
    if jac is not None and not callable(jac):
        raise TypeError(f"jac must be callable as jac(x, p) or None, got {type(jac).__name__}")
    if callback is not None and not callable(callback):
        raise TypeError("callback must be callable or None")
    p = as_float_array(p0, "p0", 1).copy()
    y = as_float_array(y, "y", tuple(range(0, 33)))
    if y.ndim == 0:
        y = y.reshape(1)
    n = y.size
    if sigma is None:
        w = np.ones(n)
    else:
        s = as_float_array(sigma, "sigma", tuple(range(0, 33)))
        try:
            s = np.broadcast_to(s, y.shape)
        except ValueError:
            raise ValueError(f"sigma must broadcast to y's shape {y.shape}, got shape {s.shape}") from None
        if np.any(s <= 0):
            raise ValueError("sigma must be positive everywhere")
        w = 1.0 / s.reshape(-1)
    if not isinstance(absolute_sigma, (bool, np.bool_)):
        raise TypeError(f"absolute_sigma must be True or False, got {absolute_sigma!r}")
    h = DIFF_STEP if diff_step is None else check_number(diff_step, "diff_step", low=0.0, low_open=True, high=1.0)
    xtol = check_number(xtol, "xtol", low=0.0)
    options.setdefault("strict", True)
    if "jacobian" in options:  # the network trainer's J storage choice; a curve model has no network
        raise TypeError("curve_fit: option 'jacobian' does not apply (pass the model's Jacobian as jac=)")
    try:
        o = resolve_options("lm", options)
    except TypeError as exc:
        raise TypeError(f"curve_fit: {exc}") from None
    fopt, iopt = pack_options(o)
    prog = ProgressLine.from_option(progress)

    prob = _Problem(model, x, y, jac, w, h)
    e = prob.residuals(p, "at p0")
    if not np.all(np.isfinite(e)):
        raise ValueError(f"model(x, p0) returned NaN or infinite values (p0 = {p.tolist()})")
    E = 0.5 * float(e @ e)
    E0 = E
    mu = o["mu"]
    k_par = p.shape[0]
    small = n < k_par
    K = min(n, k_par)
    G = np.empty((K, K))
    A = np.empty((K, K))
    rhs = np.empty(K)
    delta = np.empty(k_par)
    rec = {name: [] for name in ("error", "mu", "gradient_norm", "rejected", "forced", "time")}
    t0 = time.perf_counter()
    k = 0
    status = -1
    while True:
        # the loop's stop checks, in the order of lmtrain.algorithms._loop.run
        if E <= o["goal"]:
            status = int(StopReason.GOAL)
            break
        if k >= o["max_iter"]:
            status = int(StopReason.MAX_ITER)
            break
        if time.perf_counter() - t0 >= o["max_time"]:
            status = int(StopReason.MAX_TIME)
            break
        J = prob.jacobian(p, e)
        g = J.T @ e
        gn = float(np.sqrt(g @ g))
        if gn <= o["min_grad"]:
            status = int(StopReason.MIN_GRAD)
            break
        engine.gram(J, G, small)
        rejected, t, status = 0, 0, -1
        while True:  # the tries of one iteration, as lmtrain.algorithms.lm.step
            mu_used = mu
            Et = math.inf
            pt = et = None
            if engine.damped_step(J, e, g, G, small, mu, A, rhs, delta):
                pt = p - delta
                et = prob.residuals(pt, "at a trial point")
                with np.errstate(all="ignore"):
                    Et = 0.5 * float(et @ et)
                if math.isnan(Et):
                    Et = math.inf
            action, mu = lm.decide(E, Et, mu, t, fopt, iopt)
            if action == lm.ACCEPT or action == lm.FORCE:
                p, e, E = pt, et, Et
                if action == lm.ACCEPT:
                    dn = float(np.sqrt(delta @ delta))
                    if dn <= o["min_step"] or dn <= xtol * (xtol + float(np.sqrt(p @ p))):
                        status = int(StopReason.MIN_STEP)
                break
            rejected += 1
            if action == lm.STOP:
                status = int(StopReason.MU_MAX)
                break
            if action == lm.KEEP:
                break
            t += 1
        k += 1
        elapsed = time.perf_counter() - t0
        for name, value in (("error", E), ("mu", mu_used), ("gradient_norm", gn), ("rejected", rejected),
                            ("forced", action == lm.FORCE), ("time", elapsed)):
            rec[name].append(value)
        if prog is not None:
            prog.update(k, E, mu_used, gn)
        if callback is not None:
            r = IterationRecord(k, E, mu_used, gn, rejected, action == lm.FORCE, elapsed, p.copy())
            if callback(r) and status == -1:
                status = int(StopReason.USER_STOP)
        if status != -1:
            if E <= o["goal"]:
                status = int(StopReason.GOAL)
            break
    elapsed = time.perf_counter() - t0
    end = getattr(callback, "on_train_end", None)
    if callable(end):
        end(StopReason(status))
    if prog is not None:
        prog.record(k, E, rec["mu"][-1] if k else math.nan, rec["gradient_norm"][-1] if k else math.nan)
        prog.close(StopReason(status).message)

    history = History(np.array(rec["error"], float), np.array(rec["mu"], float),
                      np.array(rec["gradient_norm"], float), np.array(rec["rejected"], np.int64),
                      np.array(rec["forced"], bool), np.array(rec["time"], float))
    result = TrainResult(weights=p.copy(), stop_reason=StopReason(status), iterations=k, error=E, initial_error=E0,
                         history=history, algorithm="lm", elapsed=elapsed, options=o)
    J = prob.jacobian(p, e)
    cov = _covariance(J, E, absolute_sigma)
    with np.errstate(invalid="ignore"):
        stderr = np.sqrt(np.diag(cov))
    resid = (y.reshape(-1) - prob.values(p, "at the solution")).reshape(y.shape)
    return CurveFitResult(params=p.copy(), result=result, covariance=cov, stderr=stderr, residuals=resid,
                          jacobian=J, n_evaluations=prob.n_eval)


def _covariance(J: np.ndarray, E: float, absolute_sigma: bool) -> np.ndarray:
    """s²·(JᵀJ)⁻¹ from the SVD of J (no squaring of its condition number)."""
    n, k = J.shape
    nan = np.full((k, k), np.nan)
    if n <= k and not absolute_sigma:
        return nan
    U, s, Vt = np.linalg.svd(J, full_matrices=False)
    if s.size < k or not (s[-1] > np.finfo(float).eps * max(n, k) * s[0]):
        return nan
    s2 = 1.0 if absolute_sigma else 2.0 * E / (n - k)
    V = Vt.T / s
    return s2 * (V @ V.T)
