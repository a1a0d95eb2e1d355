"""Fitting a curve model y ≈ f(x, p) with the network trainer's LM rule.

A curve model has parameters p in place of weights. With residuals

    e = (y − f(x, p)) / σ,      E = ½ Σ e²      (eq. 12.1, σ = 1 unless given)

and the residual Jacobian J = ∂e/∂p = −(∂f/∂p) / σ, one Levenberg–Marquardt
iteration is the chapter's (eq. 12.25, Fig. 12.5)::

    p ← p − (JᵀJ + μI)⁻¹ Jᵀe

with μ divided by ``mu_dec`` after a step that lowers E and multiplied by
``mu_inc`` after one that raises it. :func:`curve_fit` does **not** hold a copy
of that rule, nor of the loop around it: a curve model is one more workspace
of :mod:`lmtrain.algorithms` (:class:`_CurveWork`: its Jacobian, its solve by
:func:`lmtrain.kernels.damped_step`, its trial errors), and the rules of
Table 12.1 run on it unchanged — LM's try loop :func:`lmtrain.algorithms.lm.tries`,
the iteration loop with its stop checks, callbacks and progress line —
interpreted rather than compiled, because the model is Python. So
``algorithm=`` takes every rule the network trainer takes.

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
from dataclasses import dataclass
from typing import Callable

import numpy as np

from . import kernels
from ._validation import as_float_array, check_number
from .algorithms import IterationRecord, get_algorithm, train_workspace
from .monitor import ProgressLine
from .result import TrainResult

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
        """True when the fit converged: the goal, or a vanished gradient or step (``result.success``)."""
        return self.result.success

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


def _half_sse(e) -> float:
    """½ e·e, with inf for a residual that overflowed or is NaN (a try that E cannot accept)."""
    with np.errstate(all="ignore"):
        E = 0.5 * float(e @ e)
    return E if not math.isnan(E) else math.inf


class _CurveWork:
    """A curve model as a workspace of :mod:`lmtrain.algorithms`: the operations its rules ask for.

    ``e`` and ``J`` are the residuals and Jacobian at the current parameters;
    the trial's residuals are kept until the trial is accepted.
    """

    def __init__(self, prob: _Problem, k: int, n: int):
        self.prob = prob
        self.small = n < k  # solve the n-sized system JJᵀ + μI
        K = min(n, k)
        self.G = np.empty((K, K) if not self.small else (n, n))
        self.g, self.gt, self.delta, self.wt, self.v = (np.zeros(k) for _ in range(5))
        self.A = np.zeros((k, k))  # Newton's factored copy of its Hessian (in G)
        self.flags = np.zeros(1, np.int64)
        self.e = self.et = self.J = None

    def error_at(self, p) -> float:
        first = self.e is None
        self.e = self.prob.residuals(p, "at p0" if first else "at the current parameters")
        if first and not np.all(np.isfinite(self.e)):
            raise ValueError(f"model(x, p0) returned NaN or infinite values (p0 = {p.tolist()})")
        return _half_sse(self.e)

    def linearize(self, p) -> float:
        self.J = J = self.prob.jacobian(p, self.e)
        np.matmul(J.T, self.e, out=self.g)
        if self.small:
            kernels.gram(J, self.G)
        else:
            kernels.gram(np.ascontiguousarray(J.T), self.G)  # JᵀJ: the Gram matrix of J's columns
        return float(np.sqrt(self.g @ self.g))

    def solve(self, mu) -> bool:
        if self.small:
            return bool(kernels.damped_step(self.G, self.e, mu, self.J, self.delta))
        return bool(kernels.damped_step(self.G, self.g, mu, _NO_J, self.delta))

    def trial_error(self, p, E, cut) -> float:
        np.subtract(p, self.delta, out=self.wt)
        self.et = self.prob.residuals(self.wt, "at a trial point")
        return _half_sse(self.et)

    def accept(self, p) -> None:
        p[:] = self.wt
        self.e = self.et

    def gradient(self, p) -> float:
        self.J = self.prob.jacobian(p, self.e)
        np.matmul(self.J.T, self.e, out=self.g)
        return float(np.sqrt(self.g @ self.g))

    def gradient_at(self, p, out) -> None:
        e = self.prob.residuals(p, "in a Hessian difference")
        np.matmul(self.prob.jacobian(p, e).T, e, out=out)

    def interrupted(self) -> bool:
        return bool(self.flags[0] != 0)


_NO_J = np.empty((0, 0))


def curve_fit(model: Callable, x, y, p0, jac: Callable | None = None, *, algorithm: str = "lm", sigma=None,
              absolute_sigma: bool = False, diff_step: float | None = None, xtol: float = 1e-10,
              callback: Callable[[IterationRecord], bool | None] | None = None, progress=False,
              **options) -> CurveFitResult:
    """Fit ``model(x, p)`` to ``y`` by Levenberg–Marquardt (eq. 12.25, Fig. 12.5), or another rule of Table 12.1.

    Minimises E = ½ Σ ((y − model(x, p)) / σ)² over p from ``p0``, with the
    rules, μ loop and solve of network training (see the module text).

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
    algorithm : {"lm", "gauss_newton", "newton", "ebp"}
        The update rule (default LM). Newton's Hessian is the central
        difference of the gradient Jᵀe.
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
        Those of ``lm.train(..., algorithm=...)``, same meaning and defaults
        (LM: ``goal``, ``error``, ``max_iter`` (1000), ``min_grad`` (1e-10),
        ``min_step``, ``max_time``, ``mu`` (0.01), ``mu_inc``, ``mu_dec``,
        ``mu_min``, ``mu_max``, ``max_tries`` (5)) — except LM's ``strict``,
        which defaults to **True** here: a try that raises E is never taken.
        ``strict=False`` gives Fig. 12.5's forced step after ``max_tries``
        failures, which can throw a curve fit far off (see
        ``chapters/curve_exponential.py``).

    Returns
    -------
    CurveFitResult
        ``result.stop_reason`` is ``DIVERGED`` when E is not finite at ``p0``.

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
    spec = get_algorithm(algorithm)
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
    options["xtol"] = check_number(xtol, "xtol", low=0.0)
    options.setdefault("goal", 0.0)  # a fit ends by converging (xtol, min_grad), not at a preset error
    if spec.key == "lm":
        options.setdefault("strict", True)
    if "jacobian" in options:  # the network trainer's J storage choice; a curve model has no network
        raise TypeError("curve_fit: option 'jacobian' does not apply (pass the model's Jacobian as jac=)")
    try:
        o = spec.resolve(options)
    except TypeError as exc:
        raise TypeError(f"curve_fit: {exc}") from None
    prob = _Problem(model, x, y, jac, w, h)
    result = train_workspace(spec, o, p, _CurveWork(prob, p.shape[0], n), (y.reshape(-1) * w).reshape(-1, 1),
                             callback=callback, progress=ProgressLine.from_option(progress))
    p = result.weights
    e = prob.residuals(p, "at the solution")
    if np.all(np.isfinite(e)) and math.isfinite(result.error):
        J = prob.jacobian(p, e)
        cov = _covariance(J, result.error, absolute_sigma)
    else:  # diverged at p0: no linearisation to report
        J = np.full((n, p.shape[0]), np.nan)
        cov = np.full((p.shape[0], p.shape[0]), np.nan)
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
