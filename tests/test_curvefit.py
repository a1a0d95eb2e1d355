"""lmtrain.curve_fit against scipy.optimize.least_squares, known parameters and
an independent replay of the μ rule; the two curve-fitting chapter scripts."""

from __future__ import annotations

import importlib
import io
import sys
from pathlib import Path

import numpy as np
import pytest
from scipy.optimize import curve_fit as scipy_curve_fit
from scipy.optimize import least_squares

import lmtrain as lm
from lmtrain.result import StopReason

CHAPTERS = Path(__file__).resolve().parent.parent / "chapters"


# ------------------------------------------------------------------ problems

def poly(u, a):
    return a[0] * u + a[1] * u**2 + a[2] * u**3 + a[3] * u**4


def poly_jac(u, a):
    return np.stack([u, u**2, u**3, u**4], axis=1)


POLY_U = np.arange(1, 101) / 100.0
POLY_TRUE = np.array([20.0, 10.0, 1.0, 50.0])
POLY_START = np.array([5.0, 2.0, 0.2, -10.0])


def expo(x, p):
    return p[1] * np.exp(p[0] * x)


def expo_jac(x, p):
    ex = np.exp(p[0] * x)
    return np.stack([p[1] * x * ex, ex], axis=1)


def expo_data(seed=0):
    x = np.linspace(1.0, 2.0, 20)
    return x, expo(x, [2.5, 0.8]) + 0.5 * np.random.default_rng(seed).standard_normal(20)


def peak(x, p):
    """A Gaussian peak on a sloped baseline: nonlinear in three of five parameters."""
    return p[0] * np.exp(-0.5 * ((x - p[1]) / p[2]) ** 2) + p[3] + p[4] * x


def peak_problem(seed):
    rng = np.random.default_rng(seed)
    true = np.array([rng.uniform(2, 5), rng.uniform(-1, 1), rng.uniform(0.5, 1.5), rng.uniform(-1, 1),
                     rng.uniform(-0.3, 0.3)])
    x = np.linspace(-4, 4, 60)
    y = peak(x, true) + 0.05 * rng.standard_normal(x.size)
    start = true * (1 + 0.2 * rng.uniform(-1, 1, true.size))
    return x, y, true, start


def scipy_fit(model, x, y, p0):
    """MINPACK's LM (scipy) with tolerances at the rounding level."""
    return least_squares(lambda p: y - model(x, p), p0, method="lm", xtol=1e-15, ftol=1e-15, gtol=1e-15,
                         max_nfev=100_000)


def scipy_covariance(res, n, k):
    """s²·(JᵀJ)⁻¹ with s² = Σr²/(n − k) from scipy's own Jacobian at its solution."""
    J = res.jac
    s2 = 2.0 * res.cost / (n - k)
    return s2 * np.linalg.inv(J.T @ J)


# ------------------------------------------------------- agreement with scipy

def test_polynomial_matches_scipy_and_truth():
    y = poly(POLY_U, POLY_TRUE)
    fit = lm.curve_fit(poly, POLY_U, y, POLY_START, jac=poly_jac)
    ref = scipy_fit(poly, POLY_U, y, POLY_START)
    np.testing.assert_allclose(fit.params, ref.x, rtol=1e-6)
    np.testing.assert_allclose(fit.params, POLY_TRUE, rtol=1e-6)
    assert fit.success
    assert fit.error < 1e-12


@pytest.mark.parametrize("jac", [expo_jac, None], ids=["analytic", "finite-differences"])
def test_exponential_far_start_matches_scipy(jac):
    x, y = expo_data(0)
    fit = lm.curve_fit(expo, x, y, [10.2, 1.0], jac=jac)
    ref = scipy_fit(expo, x, y, [10.2, 1.0])
    assert ref.success
    np.testing.assert_allclose(fit.params, ref.x, rtol=1e-6)
    assert fit.result.stop_reason in (StopReason.MIN_STEP, StopReason.MIN_GRAD)
    # E as scipy reports it (its cost is ½Σr², the same measure)
    np.testing.assert_allclose(fit.error, ref.cost, rtol=1e-9)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_random_nonlinear_model_matches_scipy(seed):
    x, y, true, start = peak_problem(seed)
    fit = lm.curve_fit(peak, x, y, start)
    ref = scipy_fit(peak, x, y, start)
    np.testing.assert_allclose(fit.params, ref.x, rtol=1e-6, atol=1e-9)
    # and the fit is near the truth within a few standard errors (noise is small)
    assert np.all(np.abs(fit.params - true) < 6 * fit.stderr + 1e-9)


def test_noise_free_exponential_recovers_truth():
    x = np.linspace(1.0, 2.0, 20)
    y = expo(x, [2.5, 0.8])
    fit = lm.curve_fit(expo, x, y, [1.0, 2.0], jac=expo_jac)
    np.testing.assert_allclose(fit.params, [2.5, 0.8], rtol=1e-8)


def test_analytic_and_finite_difference_jacobians_give_the_same_fit():
    x, y, _, start = peak_problem(4)

    def peak_jac(x, p):
        z = (x - p[1]) / p[2]
        g = np.exp(-0.5 * z**2)
        return np.stack([g, p[0] * g * z / p[2], p[0] * g * z**2 / p[2], np.ones_like(x), x], axis=1)

    a = lm.curve_fit(peak, x, y, start, jac=peak_jac)
    b = lm.curve_fit(peak, x, y, start)
    # both stop once a step is below xtol·‖p‖ ≈ 5e-10, so they agree to about that
    np.testing.assert_allclose(a.params, b.params, rtol=1e-8, atol=1e-9)
    np.testing.assert_allclose(a.jacobian, b.jacobian, rtol=1e-5, atol=1e-7)
    # the analytic J is the model's derivative with the sign of e = y − f flipped
    np.testing.assert_allclose(a.jacobian, -peak_jac(x, a.params), rtol=1e-12)


# ------------------------------------------------------------- covariance

def test_covariance_matches_scipy_computation():
    x, y = expo_data(0)
    fit = lm.curve_fit(expo, x, y, [2.0, 1.0], jac=expo_jac)
    ref = scipy_fit(expo, x, y, [2.0, 1.0])
    cov = scipy_covariance(ref, x.size, 2)
    np.testing.assert_allclose(fit.covariance, cov, rtol=1e-6)
    np.testing.assert_allclose(fit.stderr, np.sqrt(np.diag(cov)), rtol=1e-6)
    # scipy's curve_fit estimates the same thing
    _, pcov = scipy_curve_fit(lambda x, a, b: expo(x, [a, b]), x, y, p0=[2.0, 1.0])
    np.testing.assert_allclose(fit.covariance, pcov, rtol=1e-5)


def test_sigma_weights_and_absolute_sigma_match_scipy():
    x, y, _, start = peak_problem(5)
    sigma = np.linspace(0.02, 0.1, x.size)
    f = lambda x, *p: peak(x, p)  # noqa: E731
    for absolute in (False, True):
        fit = lm.curve_fit(peak, x, y, start, sigma=sigma, absolute_sigma=absolute)
        popt, pcov = scipy_curve_fit(f, x, y, p0=start, sigma=sigma, absolute_sigma=absolute, method="lm",
                                     xtol=1e-15, ftol=1e-15, gtol=1e-15, maxfev=100_000)
        np.testing.assert_allclose(fit.params, popt, rtol=1e-6, atol=1e-9)
        np.testing.assert_allclose(fit.covariance, pcov, rtol=1e-4)


def test_covariance_is_nan_when_a_parameter_is_not_determined():
    x = np.linspace(0, 1, 10)
    # p0 and p1 only enter as their sum: JᵀJ is singular
    fit = lm.curve_fit(lambda x, p: (p[0] + p[1]) * x, x, 3 * x, [1.0, 1.0])
    np.testing.assert_allclose(fit.params.sum(), 3.0, rtol=1e-8)
    assert fit.covariance.shape == (2, 2) and np.all(np.isnan(fit.covariance))
    assert np.all(np.isnan(fit.stderr))


# ------------------------------------------------------------ the μ rule

def replay_mu(history, o):
    """Independent replay of Fig. 12.5's μ bookkeeping from the recorded tries.

    Returns the μ each iteration must have used (μ at the start of the
    iteration, times mu_inc per rejected try).
    """
    mu = o["mu"]
    expected = []
    for rej, forced in zip(history.rejected, history.forced):
        kept = rej == o["max_tries"] + 1  # strict: all max_tries + 1 tries failed
        used = mu
        for _ in range(int(rej) - kept):  # each retry multiplies before the next try
            used = used * o["mu_inc"]
        expected.append(used)
        if forced:
            mu = used  # the forced step keeps μ
        elif kept:
            mu = used * o["mu_inc"]  # w kept, μ raised once more
        else:
            mu = max(used / o["mu_dec"], o["mu_min"])  # accepted: divide
    return np.array(expected)


@pytest.mark.parametrize("strict", [True, False])
def test_mu_schedule_follows_the_rule(strict):
    x, y = expo_data(0)
    fit = lm.curve_fit(expo, x, y, [10.2, 1.0], jac=expo_jac, strict=strict, mu=0.5, mu_inc=7.0, mu_dec=3.0)
    h, o = fit.result.history, fit.result.options
    assert o["mu_inc"] == 7.0 and o["mu_dec"] == 3.0 and o["strict"] is strict
    np.testing.assert_allclose(h.mu, replay_mu(h, o), rtol=1e-12)
    E = np.r_[fit.result.initial_error, h.error]
    for k in range(len(h)):
        if h.forced[k]:
            assert not strict and h.rejected[k] == o["max_tries"] and E[k + 1] > E[k]
        elif h.rejected[k] == o["max_tries"] + 1:
            assert strict and E[k + 1] == E[k]
        else:
            assert E[k + 1] <= E[k]  # an accepted step never raises E
    if strict:
        assert not h.forced.any() and np.all(np.diff(E) <= 0)


def test_accepted_steps_divide_mu_by_mu_dec():
    y = poly(POLY_U, POLY_TRUE)
    fit = lm.curve_fit(poly, POLY_U, y, POLY_START, jac=poly_jac, mu=1.0, mu_dec=4.0)
    h = fit.result.history
    assert np.all(h.rejected == 0)  # a quadratic E: every step is accepted
    np.testing.assert_allclose(h.mu, 1.0 / 4.0 ** np.arange(len(h)), rtol=1e-14)


def test_chapter_mode_forced_step_is_reported():
    # Fig. 12.5 takes the step after the last failed try: from this far start it raises E
    x, y = expo_data(0)
    fit = lm.curve_fit(expo, x, y, [10.2, 1.0], jac=expo_jac, strict=False)
    h = fit.result.history
    assert h.forced.any()
    k = int(np.flatnonzero(h.forced)[0])
    E = np.r_[fit.result.initial_error, h.error]
    assert E[k + 1] > E[k]


def test_options_goal_max_iter_and_callback():
    x, y = expo_data(0)
    seen = []
    fit = lm.curve_fit(expo, x, y, [10.2, 1.0], jac=expo_jac, max_iter=3, callback=lambda r: seen.append(r))
    assert fit.result.stop_reason is StopReason.MAX_ITER and fit.result.iterations == 3
    assert [r.iteration for r in seen] == [1, 2, 3]
    np.testing.assert_allclose([r.error for r in seen], fit.result.history.error)
    np.testing.assert_array_equal(seen[-1].weights, fit.params)
    fit = lm.curve_fit(expo, x, y, [10.2, 1.0], jac=expo_jac, goal=1e4)
    assert fit.result.stop_reason is StopReason.GOAL and fit.error <= 1e4
    stop = lm.curve_fit(expo, x, y, [10.2, 1.0], jac=expo_jac, callback=lambda r: r.iteration == 2)
    assert stop.result.stop_reason is StopReason.USER_STOP and stop.result.iterations == 2


def test_multidimensional_y_and_progress_stream():
    x = np.linspace(0, 1, 12)
    true = np.array([1.5, -0.7])

    def two_curves(x, p):
        return np.stack([p[0] * np.sin(3 * x), p[1] * x**2 + p[0]], axis=1)  # shape (12, 2)

    y = two_curves(x, true)
    out = io.StringIO()
    fit = lm.curve_fit(two_curves, x, y, [0.0, 0.0], progress=out)
    np.testing.assert_allclose(fit.params, true, rtol=1e-8)
    assert fit.residuals.shape == y.shape
    text = out.getvalue()
    assert "iter" in text and f"{fit.result.iterations:>6d}" in text


# ------------------------------------------------------------ bad inputs

def test_bad_inputs_name_the_argument():
    x, y = expo_data(0)
    with pytest.raises(TypeError, match="model"):
        lm.curve_fit("not a function", x, y, [1.0, 1.0])
    with pytest.raises(TypeError, match="jac"):
        lm.curve_fit(expo, x, y, [1.0, 1.0], jac=3)
    with pytest.raises(ValueError, match="p0"):
        lm.curve_fit(expo, x, y, [[1.0, 1.0]])
    with pytest.raises(ValueError, match="p0"):
        lm.curve_fit(expo, x, y, [np.nan, 1.0])
    with pytest.raises(ValueError, match="p0"):
        lm.curve_fit(expo, x, y, [])
    with pytest.raises(ValueError, match="y"):
        lm.curve_fit(expo, x, np.r_[y[:-1], np.inf], [1.0, 1.0])
    with pytest.raises(ValueError, match="model.*shape"):
        lm.curve_fit(lambda x, p: expo(x, p)[:-1], x, y, [1.0, 1.0])
    with pytest.raises(ValueError, match="model.*NaN"):
        lm.curve_fit(lambda x, p: np.full_like(x, np.nan), x, y, [1.0, 1.0])
    with pytest.raises(ValueError, match="jac.*shape"):
        lm.curve_fit(expo, x, y, [1.0, 1.0], jac=lambda x, p: np.ones((x.size, 3)))
    with pytest.raises(ValueError, match="sigma"):
        lm.curve_fit(expo, x, y, [1.0, 1.0], sigma=-np.ones_like(y))
    with pytest.raises(ValueError, match="sigma"):
        lm.curve_fit(expo, x, y, [1.0, 1.0], sigma=np.ones(3))
    with pytest.raises(TypeError, match="alpha"):
        lm.curve_fit(expo, x, y, [1.0, 1.0], alpha=0.1)
    with pytest.raises(ValueError, match="mu_dec"):
        lm.curve_fit(expo, x, y, [1.0, 1.0], mu_dec=0.5)
    with pytest.raises(ValueError, match="xtol"):
        lm.curve_fit(expo, x, y, [1.0, 1.0], xtol=-1.0)


# ----------------------------------------------------------- chapter scripts

def _chapter(name):
    if str(CHAPTERS) not in sys.path:
        sys.path.insert(0, str(CHAPTERS))
    return importlib.import_module(name)


def test_chapter_curve_polynomial_quick(tmp_path, capsys):
    mod = _chapter("curve_polynomial")
    assert mod.main(["--quick", "--out", str(tmp_path)]) == 0
    assert (tmp_path / "curve_polynomial.png").stat().st_size > 10_000
    md = (tmp_path / "curve_polynomial.md").read_text(encoding="utf-8")
    assert "| a4 | 50 | -10 |" in md
    assert "20.000000" in capsys.readouterr().out


def test_chapter_curve_exponential_quick(tmp_path, capsys):
    mod = _chapter("curve_exponential")
    assert mod.main(["--quick", "--out", str(tmp_path)]) == 0
    assert (tmp_path / "curve_exponential.png").stat().st_size > 10_000
    md = (tmp_path / "curve_exponential.md").read_text(encoding="utf-8")
    assert "Newton–Raphson" in md and "chapter mode" in md
    # the script's own Newton–Raphson Hessian (finite differences of the analytic gradient) is right
    x, y = mod.data(0)
    p = np.array([2.6, 0.7])
    e = y - mod.model(x, p)
    ex = np.exp(p[0] * x)
    H = np.array([[np.sum((p[1] * x * ex) ** 2 - e * p[1] * x**2 * ex), np.sum(p[1] * x * ex**2 - e * x * ex)],
                  [0.0, np.sum(ex**2)]])
    H[1, 0] = H[0, 1]
    np.testing.assert_allclose(mod.hessian_fd(p, x, y), H, rtol=1e-6)


def test_network_only_option_is_rejected():
    """``jacobian`` chooses how the network trainer stores J; for a curve model it means nothing."""
    x = np.linspace(0, 1, 10)
    with pytest.raises(TypeError, match="jacobian"):
        lm.curve_fit(lambda x, p: p[0] * x, x, 2 * x, [1.0], jacobian="full")
