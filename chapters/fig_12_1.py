"""Fig. 12.1: steepest descent with a small and a large constant step in a curved valley.

The chapter's Fig. 12.1 shows why a constant learning constant α is a poor
compromise: small enough to be stable where the error surface is steep, it
crawls where the surface is flat; large enough to move along the valley, it
rattles from wall to wall. We show this on the Rosenbrock valley written as a
least-squares problem,

    e1 = 10 (w2 − w1²),  e2 = 1 − w1,  E = ½ (e1² + e2²)   (eq. 12.1 with two "patterns"),

so the same Jacobian J = ∂e/∂w serves the second-order rules. Panel (a) is the
chapter's figure (EBP's update w ← w − α g, eq. 12.4, with two constants);
panel (b) adds Gauss–Newton (eq. 12.23) and Levenberg–Marquardt (eq. 12.25,
μ rule of Fig. 12.5) from the same start; panel (c) shows E against the
iteration for all four. Every path is computed by ``lmtrain.curve_fit`` with
``algorithm=`` the rule: the valley is a curve model with residuals e(w), so
the rules, the Fig. 12.5 try loop and the solve are those that train the
networks, not a second copy.

Writes ``fig_12_1.png``.
"""

from __future__ import annotations

import _common  # noqa: I001
import matplotlib.pyplot as plt
import numpy as np

import lmtrain as lm

START = np.array([-1.2, 1.0])  # the customary start on the far side of the valley's bend
ALPHA_SMALL = 0.001
ALPHA_LARGE = 0.0048


def errors(w) -> np.ndarray:
    """Residuals e = (10 (w2 − w1²), 1 − w1) of the Rosenbrock valley."""
    return np.array([10.0 * (w[1] - w[0] ** 2), 1.0 - w[0]])


def jacobian(w) -> np.ndarray:
    """J[p, i] = ∂e_p/∂w_i (the chapter's convention, eq. 12.16)."""
    return np.array([[-20.0 * w[0], 10.0], [-1.0, 0.0]])


def error(w) -> float:
    """E = ½ Σ e² (eq. 12.1)."""
    e = errors(w)
    return 0.5 * float(e @ e)


# as a curve model y ≈ f(x, w): targets y = 0 and f = −e, so that y − f = e
def _model(x, w):
    return -errors(w)


def _model_jac(x, w):
    return -jacobian(w)


def _path(w0, algorithm: str, iterations: int, **options):
    """Every iterate of ``lm.curve_fit`` with this rule from ``w0``, and its result."""
    path = [np.array(w0, float)]
    fit = lm.curve_fit(_model, None, np.zeros(2), w0, jac=_model_jac, algorithm=algorithm, xtol=0.0,
                       max_iter=iterations, min_grad=0.0, callback=lambda rec: path.append(rec.weights), **options)
    return np.array(path), fit


def steepest_descent(w0, alpha: float, iterations: int):
    """w ← w − α g with g = Jᵀe (eqs. 12.4 and 12.18), ``iterations`` times (or until E is not finite)."""
    return _path(w0, "ebp", iterations, alpha=alpha)[0]


def gauss_newton(w0, iterations: int, tol: float = 1e-20):
    """w ← w − (JᵀJ)⁻¹ Jᵀe (eq. 12.23), until E ≤ tol or JᵀJ is singular."""
    return _path(w0, "gauss_newton", iterations, goal=tol)[0]


def levenberg_marquardt(w0, iterations: int, mu: float = 0.01, tol: float = 1e-20):
    """w ← w − (JᵀJ + μI)⁻¹ Jᵀe (eq. 12.25) with the μ rule of Fig. 12.5.

    Returns the accepted weights and the μ used for each step.
    """
    path, fit = _path(w0, "lm", iterations, goal=tol, mu=mu, strict=False)
    return path, fit.result.history.mu


def _contours(ax, lim):
    w1 = np.linspace(*lim[0], 300)
    w2 = np.linspace(*lim[1], 300)
    A, B = np.meshgrid(w1, w2)
    Z = 0.5 * ((10.0 * (B - A ** 2)) ** 2 + (1.0 - A) ** 2)
    levels = np.logspace(-1, 3, 13)
    bands = np.concatenate(([0], levels, [Z.max()]))
    # filled bands only, light to dark towards the valley floor (contour lines in a
    # valley this narrow crowd together and add nothing but file size)
    shade = np.linspace(0.62, 0.97, len(bands) - 1)
    ax.contourf(A, B, Z, levels=bands, colors=[(g, g, g) for g in shade])
    ax.plot(w1, w1 ** 2, color="0.3", lw=0.8, ls=":")
    ax.plot(1, 1, marker="*", ms=13, color="gold", mec="k", zorder=6)
    ax.plot(*START, marker="o", ms=7, color="k", zorder=6)
    ax.set_xlim(lim[0])
    ax.set_ylim(lim[1])
    ax.set_xlabel("w1")
    ax.set_ylabel("w2")


def main(argv=None) -> int:
    args = _common.parse_args(argv, __doc__)
    n_sd = 1000 if args.quick else 5000
    small = steepest_descent(START, ALPHA_SMALL, n_sd)
    large = steepest_descent(START, ALPHA_LARGE, n_sd)
    gn = gauss_newton(START, 50)
    lmp, mus = levenberg_marquardt(START, 200)

    fig = plt.figure(figsize=(9.6, 8.4), layout="constrained")
    gs = fig.add_gridspec(2, 2, height_ratios=[1.15, 1])
    lim = ((-2.0, 2.0), (-1.0, 3.0))
    ax = fig.add_subplot(gs[0, 0])
    _contours(ax, lim)
    ax.plot(*large.T, color="#8e44ad", lw=0.8, label=f"large α = {ALPHA_LARGE:g}: oscillates", zorder=4)
    ax.plot(*small.T, color="#e0a800", lw=2.4, label=f"small α = {ALPHA_SMALL:g}: crawls", zorder=5)
    ax.plot(*small[-1], marker="o", ms=5, color="#e0a800", mec="k", zorder=7)
    ax.set_title(f"(a) steepest descent, {n_sd} iterations")
    ax.legend(loc="upper center", fontsize=9, framealpha=0.9)

    ax = fig.add_subplot(gs[0, 1])
    lim_b = ((-2.0, 2.0), (-4.5, 3.0))
    _contours(ax, lim_b)
    ax.plot(*gn.T, color="#c0392b", marker="s", ms=5, lw=1.5, label=f"Gauss–Newton: {len(gn) - 1} iterations")
    ax.plot(*lmp.T, color="#1f77b4", marker="o", ms=4, lw=1.5, label=f"Levenberg–Marquardt: {len(lmp) - 1}")
    ax.annotate(f"E = {error(gn[1]):.0f}", xy=gn[1], xytext=(gn[1][0] - 1.9, gn[1][1] + 0.2), fontsize=9,
                arrowprops=dict(arrowstyle="->", color="#c0392b"), color="#c0392b")
    ax.set_title("(b) second-order rules, same start")
    ax.legend(loc="upper center", fontsize=9, framealpha=0.9)

    ax = fig.add_subplot(gs[1, :])
    floor = 1e-20
    curves = [(small, dict(color="#e0a800", lw=2, label=f"steepest descent α = {ALPHA_SMALL:g}")),
              (large, dict(color="#8e44ad", lw=0.8, label=f"steepest descent α = {ALPHA_LARGE:g}")),
              (gn, dict(color="#c0392b", marker="s", ms=5, label="Gauss–Newton")),
              (lmp, dict(color="#1f77b4", marker="o", ms=4, label="Levenberg–Marquardt"))]
    for path, style in curves:
        E = np.array([error(w) for w in path])
        ax.plot(np.arange(len(E)) + 1, np.maximum(E, floor), **style)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_ylim(floor / 30, 1e4)
    ax.text(0.99, 0.02, "E below 1e-20 drawn at 1e-20", transform=ax.transAxes, ha="right", va="bottom",
            fontsize=8, color="0.4")
    ax.set_xlabel("iteration + 1")
    ax.set_ylabel("E = ½ Σ e²")
    ax.set_title("(c) error against iteration")
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=9, loc="center right")
    fig.suptitle("Rosenbrock valley  E = ½[(10(w2 − w1²))² + (1 − w1)²]", fontsize=12)
    print(_common.save_figure(fig, "fig_12_1", args.out))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
