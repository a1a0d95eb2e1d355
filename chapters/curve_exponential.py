"""Newton–Raphson against Levenberg–Marquardt on y = b·exp(a·x) from a far start.

Source: a public notebook that fits y = b·exp(a·x) with hand-written JAX
Newton–Raphson and Levenberg–Marquardt updates (20 points in [1, 2], Gaussian
noise σ = 0.5, true (a, b) = (2.5, 0.8); LM started at (a, b) = (10.2, 1.0)).
Here the noise is drawn from a seeded NumPy generator (``--seed``), so the
numbers differ from the notebook's while the set-up is the same.

Methods, all on E = ½ Σ (y − b·e^{a·x})² (eq. 12.1):

* **Newton–Raphson** (Table 12.1, eq. 12.15): p ← p − H⁻¹g with the full
  Hessian of E. The gradient g = Jᵀe is analytic (J = −(b·x·e^{ax}, e^{ax}));
  H is its central finite difference, column j = (g(p + h_j·u_j) −
  g(p − h_j·u_j)) / 2h_j with h_j = ε^{1/3}·max(1, |p_j|), then symmetrised.
  No damping, no line search: the pure step, taken even where H is
  indefinite. It stops when E or the step is not finite (diverged), when H is
  singular, when the step is below 1e−10 relative (converged) or after the
  iteration limit.
* **LM** as :func:`lmtrain.curve_fit` runs it by default (μ rule of Fig. 12.5
  with ``strict=True``: a try that raises E is never taken).
* **LM, chapter mode** (``strict=False``): Fig. 12.5 exactly, which takes the
  step after the fifth failed try even though it raises E. With the default
  μ₀ = 0.01 (and MATLAB's 0.001) that forced step lands on the plateau
  b·e^{ax} ≈ 0 at a ≈ −60, where the gradient vanishes; started with μ₀ = 1
  or 100 it reaches the minimum on all ten noise draws of the seed table.
* Newton–Raphson again from the notebook's near start (2.4, 0.5).

Writes ``curve_exponential.png`` (E per iteration, paths in the (a, b) plane,
data and fits), ``curve_exponential.md``/``.csv`` (fitted against true) and
``curve_exponential_seeds.md``/``.csv`` (the three methods from the far start
on ten noise draws: which reach the least-squares minimum).
"""

from __future__ import annotations

import math
import sys

import numpy as np

import _common  # noqa: I001  (sets the Agg backend before pyplot)
import matplotlib.pyplot as plt
from matplotlib.colors import LogNorm

import lmtrain as lm

TRUE = np.array([2.5, 0.8])
FAR = np.array([10.2, 1.0])
NEAR = np.array([2.4, 0.5])
NOISE = 0.5
#: relative finite-difference step of the Hessian, ε^(1/3)
HESS_STEP = float(np.finfo(float).eps ** (1.0 / 3.0))


def model(x, p):
    """y = b·exp(a·x) with p = (a, b)."""
    return p[1] * np.exp(p[0] * x)


def model_jac(x, p):
    """∂y/∂(a, b) = (b·x·e^{ax}, e^{ax})."""
    ex = np.exp(p[0] * x)
    return np.stack([p[1] * x * ex, ex], axis=1)


def data(seed: int):
    x = np.linspace(1.0, 2.0, 20)
    rng = np.random.default_rng(seed)
    return x, model(x, TRUE) + NOISE * rng.standard_normal(x.size)


def error_and_gradient(p, x, y):
    """E = ½Σe² and g = Jᵀe (analytic), e = y − b·e^{ax}."""
    e = y - model(x, p)
    J = -model_jac(x, p)
    return 0.5 * float(e @ e), J.T @ e


def hessian_fd(p, x, y):
    """Central differences of the analytic gradient, symmetrised."""
    n = p.size
    H = np.empty((n, n))
    for j in range(n):
        h = HESS_STEP * max(1.0, abs(p[j]))
        pp, pm = p.copy(), p.copy()
        pp[j] += h
        pm[j] -= h
        H[:, j] = (error_and_gradient(pp, x, y)[1] - error_and_gradient(pm, x, y)[1]) / (pp[j] - pm[j])
    return 0.5 * (H + H.T)


def newton_raphson(p0, x, y, max_iter=200, xtol=1e-10):
    """Pure Newton–Raphson on E; returns (path, errors, outcome, n_indefinite, n_rises).

    ``path[k]`` and ``errors[k]`` are p and E after k iterations (k = 0 the start).
    """
    p = np.array(p0, float)
    path, errors = [p.copy()], []
    n_indefinite = n_rises = 0
    with np.errstate(all="ignore"):
        E, g = error_and_gradient(p, x, y)
        errors.append(E)
        outcome = f"iteration limit ({max_iter})"
        for _ in range(max_iter):
            H = hessian_fd(p, x, y)
            if not np.all(np.isfinite(H)) or not np.all(np.isfinite(g)):
                outcome = "diverged (non-finite gradient or Hessian)"
                break
            if np.linalg.eigvalsh(H)[0] <= 0:
                n_indefinite += 1
            try:
                step = np.linalg.solve(H, g)
            except np.linalg.LinAlgError:
                outcome = "singular Hessian"
                break
            p = p - step
            E_new, g = error_and_gradient(p, x, y)
            if not (math.isfinite(E_new) and np.all(np.isfinite(p))):
                outcome = "diverged (E or p not finite)"
                break
            n_rises += E_new > E
            E = E_new
            path.append(p.copy())
            errors.append(E)
            if np.linalg.norm(step) <= xtol * (xtol + np.linalg.norm(p)):
                outcome = "converged (step below 1e-10 relative)"
                break
    return np.array(path), np.array(errors), outcome, n_indefinite, n_rises


def lm_run(p0, x, y, **options):
    """LM via curve_fit, with the parameter path recorded by the callback."""
    path = [np.array(p0, float)]

    def keep(rec):
        path.append(rec.weights.copy())

    fit = lm.curve_fit(model, x, y, p0, jac=model_jac, callback=keep, **options)
    errors = np.r_[fit.result.initial_error, fit.result.history.error]
    return fit, np.array(path), errors


def near(p, q, rtol=1e-3) -> bool:
    return bool(np.all(np.isfinite(p)) and np.allclose(p, q, rtol=rtol))


def main(argv=None) -> int:
    args = _common.parse_args(argv, __doc__)
    x, y = data(args.seed)
    ref = lm.curve_fit(model, x, y, TRUE, jac=model_jac)  # the least-squares minimum, started at the truth
    p_min = ref.params
    print(f"y = b*exp(a*x), 20 points in [1, 2], noise sd {NOISE}, seed {args.seed}; true (a, b) = {TRUE.tolist()}")
    print(f"least-squares minimum (LM started at the truth): a = {p_min[0]:.8f}, b = {p_min[1]:.8f}, "
          f"E = {ref.error:.6g}, std. errors {np.array2string(ref.stderr, precision=3)}")

    runs = []
    path, errors, outcome, n_ind, n_up = newton_raphson(FAR, x, y)
    runs.append(dict(method="Newton–Raphson", short="NR from far", start=FAR, path=path, errors=errors,
                     outcome=outcome, note=f"H indefinite in {n_ind} of {len(errors) - 1} iterations; E rose in {n_up}"))
    fit, path, errors = lm_run(FAR, x, y)
    runs.append(dict(method="LM (curve_fit default, strict)", short="LM strict", start=FAR, path=path, errors=errors,
                     outcome=f"{fit.result.stop_reason.name.lower()}", note=f"{int(fit.result.history.rejected.sum())} "
                     "rejected tries"))
    fit, path, errors = lm_run(FAR, x, y, strict=False)
    forced = np.flatnonzero(fit.result.history.forced) + 1
    runs.append(dict(method="LM, chapter mode (Fig. 12.5)", short="LM chapter mode", start=FAR, path=path, errors=errors,
                     outcome=f"{fit.result.stop_reason.name.lower()}",
                     note=(f"forced step(s) at iteration {', '.join(map(str, forced))}" if forced.size else
                           "no forced step")))
    path, errors, outcome, n_ind, n_up = newton_raphson(NEAR, x, y)
    runs.append(dict(method="Newton–Raphson", short="NR from near", start=NEAR, path=path, errors=errors, outcome=outcome,
                     note=f"H indefinite in {n_ind} of {len(errors) - 1} iterations; E rose in {n_up}"))

    rows = [{"method": "true parameters", "start": "", "a": TRUE[0], "b": TRUE[1],
             "E": 0.5 * float(np.sum((y - model(x, TRUE)) ** 2)), "iterations": None, "outcome": "",
             "reached the minimum": ""},
            {"method": "least-squares minimum", "start": "(2.5, 0.8)", "a": p_min[0], "b": p_min[1], "E": ref.error,
             "iterations": ref.result.iterations, "outcome": ref.result.stop_reason.name.lower(),
             "reached the minimum": ""}]
    for r in runs:
        p = r["path"][-1]
        r["ok"] = near(p, p_min)
        rows.append({"method": r["method"], "start": f"({r['start'][0]:g}, {r['start'][1]:g})", "a": float(p[0]),
                     "b": float(p[1]), "E": float(r["errors"][-1]), "iterations": len(r["errors"]) - 1,
                     "outcome": f"{r['outcome']}; {r['note']}", "reached the minimum": "yes" if r["ok"] else "no"})
        print(f"  {r['method']:<31s} from {r['start'].tolist()}: a = {p[0]:.8g}, b = {p[1]:.8g}, "
              f"E = {r['errors'][-1]:.6g} after {len(r['errors']) - 1} iterations — {r['outcome']}; {r['note']}")
    cols = ["method", "start", "a", "b", "E", "iterations", "outcome", "reached the minimum"]
    _common.write_table(rows, cols, "curve_exponential", args.out, formats={"a": ".6f", "b": ".6f", "E": ".6g"})

    fig = plt.figure(figsize=(11.0, 8.0), layout="constrained")
    gs = fig.add_gridspec(2, 2, height_ratios=[1.0, 1.0])
    ax_e = fig.add_subplot(gs[0, :])
    ax_p = fig.add_subplot(gs[1, 0])
    ax_d = fig.add_subplot(gs[1, 1])
    styles = [dict(color="C3", marker="o", lw=1.4), dict(color="C0", marker="s", lw=2.4),
              dict(color="C1", marker="^", lw=1.2, ls="--"), dict(color="C2", marker="D", lw=1.4)]
    for r, st in zip(runs, styles):
        p = r["path"][-1]
        how = "converged" if r["ok"] else f"stuck at a = {p[0]:.3g}, b = {p[1]:.3g}"
        label = (f"{r['method']} from ({r['start'][0]:g}, {r['start'][1]:g}): {how}, "
                 f"{len(r['errors']) - 1} iterations")
        k = np.arange(len(r["errors"]))
        ax_e.semilogy(k, r["errors"], ms=3, label=label, markevery=max(1, len(k) // 40), **st)
        ax_e.plot(k[-1], r["errors"][-1], marker=st["marker"], color=st["color"], ms=9,
                  mfc=st["color"] if r["ok"] else "white")
    ax_e.axhline(ref.error, color="0.3", ls="--", lw=1, label=f"least-squares minimum E = {ref.error:.4g}")
    ax_e.set_xlabel("iteration")
    ax_e.set_ylabel("E = ½Σe²")
    ax_e.set_title("error per iteration (large marker: last iterate; filled = at the minimum, open = not)",
                   fontsize="medium")
    ax_e.legend(fontsize="small", loc="upper right")
    ax_e.grid(True, which="major", alpha=0.3)

    # E over the (a, b) plane; the paths drawn on it (points outside the window are clipped)
    na, nb = (120, 90) if args.quick else (300, 220)
    A, B = np.meshgrid(np.linspace(-1.0, 11.0, na), np.linspace(-0.2, 1.4, nb))
    with np.errstate(over="ignore"):
        Z = 0.5 * np.sum((y[None, None, :] - B[..., None] * np.exp(A[..., None] * x[None, None, :])) ** 2, axis=-1)
    Z = np.clip(Z, ref.error, 1e20)
    cs = ax_p.contourf(A, B, Z, levels=np.logspace(np.log10(ref.error), 20, 21), norm=LogNorm(), cmap="Greys")
    fig.colorbar(cs, ax=ax_p, label="E", ticks=[1, 1e5, 1e10, 1e15, 1e20])
    for r, st in zip(runs, styles):
        P = r["path"]
        ax_p.plot(P[:, 0], P[:, 1], ms=3, markevery=max(1, len(P) // 60), **st)
    ax_p.plot(*TRUE, "*", color="gold", mec="k", ms=14, label="true (2.5, 0.8)")
    ax_p.set_xlim(-1.0, 11.0)
    ax_p.set_ylim(-0.2, 1.4)
    ax_p.set_xlabel("a")
    ax_p.set_ylabel("b")
    ax_p.set_title("paths in the (a, b) plane", fontsize="medium")
    ax_p.legend(fontsize="small", loc="lower left")

    xx = np.linspace(1.0, 2.0, 200)
    ax_d.plot(x, y, "o", color="k", ms=4, label=f"data (noise sd {NOISE})")
    ax_d.plot(xx, model(xx, TRUE), "--", color="0.5", lw=1, label="true curve")
    for r, st in zip(runs, styles):
        p = r["path"][-1]
        if np.all(np.isfinite(p)):
            with np.errstate(all="ignore"):
                ax_d.plot(xx, model(xx, p), color=st["color"], lw=st["lw"], ls=st.get("ls", "-"),
                          label=f"{r['short']}: a = {p[0]:.4g}, b = {p[1]:.4g}")
    ax_d.set_ylim(min(0.0, y.min()) - 5, y.max() * 1.15)
    ax_d.set_xlabel("x")
    ax_d.set_ylabel("y")
    ax_d.set_title("data and the fitted curves", fontsize="medium")
    ax_d.legend(fontsize="small", loc="upper left")
    ax_d.grid(True, alpha=0.3)
    path = _common.save_figure(fig, "curve_exponential", args.out)
    print("wrote", path)

    # one noise draw proves little: the same three methods from the far start on other draws
    seeds = range(args.seed, args.seed + (4 if args.quick else 10))
    rows, tally = [], {"Newton–Raphson": 0, "LM strict": 0, "LM chapter mode": 0}
    for s in seeds:
        xs, ys = data(s)
        best = lm.curve_fit(model, xs, ys, TRUE, jac=model_jac).params
        nr_path, _, nr_out, _, _ = newton_raphson(FAR, xs, ys)
        strict = lm.curve_fit(model, xs, ys, FAR, jac=model_jac)
        chapter = lm.curve_fit(model, xs, ys, FAR, jac=model_jac, strict=False)
        row = {"seed": s, "minimum a": best[0], "minimum b": best[1]}
        for name, p_end, how in (("Newton–Raphson", nr_path[-1], nr_out.split(" (")[0]),
                                 ("LM strict", strict.params, strict.result.stop_reason.name.lower()),
                                 ("LM chapter mode", chapter.params, chapter.result.stop_reason.name.lower())):
            ok = near(p_end, best)
            tally[name] += ok
            row[name] = ("reached" if ok else f"no: ({p_end[0]:.3g}, {p_end[1]:.3g})") + f", {how}"
        rows.append(row)
    cols = ["seed", "minimum a", "minimum b", "Newton–Raphson", "LM strict", "LM chapter mode"]
    _common.write_table(rows, cols, "curve_exponential_seeds", args.out,
                        formats={"minimum a": ".4f", "minimum b": ".4f"})
    print(f"from (10.2, 1.0) over noise seeds {seeds.start}..{seeds.stop - 1}: reached the minimum — "
          + ", ".join(f"{k} {v}/{len(seeds)}" for k, v in tally.items()))
    # the default LM must reach the minimum from the far start; the others are reported, not required
    return 0 if runs[1]["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
