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
iteration for all four. The second-order steps are computed with lmtrain's own
compiled pieces — ``engine.gram``, ``engine.damped_step`` (whose Cholesky solve
trains the networks) and ``algorithms.lm.decide`` (the μ rule) — not a second copy.

Writes ``fig_12_1.png``.
"""

from __future__ import annotations

import math

import _common  # noqa: I001
import matplotlib.pyplot as plt
import numpy as np

from lmtrain import engine
from lmtrain.algorithms import lm as lm_rule
from lmtrain.algorithms import pack_options, resolve_options

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


def steepest_descent(w0, alpha: float, iterations: int):
    """w ← w − α g with g = Jᵀe (eqs. 12.4 and 12.18); stops early if E blows up."""
    path = [np.array(w0, float)]
    for _ in range(iterations):
        w = path[-1]
        w = w - alpha * (jacobian(w).T @ errors(w))
        if not np.all(np.isfinite(w)) or error(w) > 1e6:
            break
        path.append(w)
    return np.array(path)


def _system(w):
    """J, e, g = Jᵀe and G = JᵀJ at w, as the compiled trainer holds them."""
    J = np.ascontiguousarray(jacobian(w))
    e = errors(w)
    g = np.empty(2)
    engine.matvec_t(J, e, g)
    G = np.empty((2, 2))
    engine.gram(J, G, False)
    return J, e, g, G


def _solve(J, e, g, G, mu):
    """Δ = (JᵀJ + μI)⁻¹ Jᵀe by the trainer's Cholesky solve; None when singular."""
    A, rhs, delta = np.empty((2, 2)), np.empty(2), np.empty(2)
    return delta if engine.damped_step(J, e, g, G, False, mu, A, rhs, delta) else None


def gauss_newton(w0, iterations: int, tol: float = 1e-20):
    """w ← w − (JᵀJ)⁻¹ Jᵀe (eq. 12.23)."""
    path = [np.array(w0, float)]
    for _ in range(iterations):
        w = path[-1]
        if error(w) <= tol:
            break
        delta = _solve(*_system(w), 0.0)
        if delta is None:
            break
        path.append(w - delta)
    return np.array(path)


def levenberg_marquardt(w0, iterations: int, mu: float = 0.01, tol: float = 1e-20):
    """w ← w − (JᵀJ + μI)⁻¹ Jᵀe (eq. 12.25) with the μ rule of Fig. 12.5.

    Returns the accepted weights and the μ used for each step.
    """
    fopt, iopt = pack_options(resolve_options("lm", {"mu": mu}))
    path, mus = [np.array(w0, float)], []
    E = error(path[0])
    for _ in range(iterations):
        if E <= tol:
            break
        w = path[-1]
        system = _system(w)
        t = 0
        while True:
            delta = _solve(*system, mu)
            Et = math.inf if delta is None else error(w - delta)
            action, mu_next = lm_rule.decide(E, Et, mu, t, fopt, iopt)
            if action in (lm_rule.ACCEPT, lm_rule.FORCE):
                path.append(w - delta)
                mus.append(mu)
                E, mu = Et, mu_next
                break
            mu = mu_next
            if action in (lm_rule.STOP, lm_rule.KEEP):
                return np.array(path), np.array(mus)
            t += 1
    return np.array(path), np.array(mus)


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
