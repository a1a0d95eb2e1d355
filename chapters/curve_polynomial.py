"""Curve fit of a quartic polynomial by Levenberg–Marquardt: the MATLAB example.

Source: a MATLAB community example (2025) that fits the same four
parameters twice, with ``lsqcurvefit`` (Algorithm "levenberg-marquardt") and
with ``trainnet`` and the Levenberg–Marquardt training options, to show they
agree. The model, with u = t/100 and t = 1, 2, …, 100::

    y(t) = a1·u + a2·u² + a3·u³ + a4·u⁴,     true a = (20, 10, 1, 50)

fitted to the noise-free curve from the start a = (5, 2, 0.2, −10). Here
:func:`lmtrain.curve_fit` does it with the network trainer's LM rule (eq.
12.25, μ rule of Fig. 12.5), once with the analytic Jacobian ∂y/∂a = (u, u²,
u³, u⁴) and once with central finite differences. The model is linear in a,
so E = ½Σe² is an exact quadratic and LM reaches the true parameters to
rounding in a handful of iterations as μ shrinks towards the Gauss–Newton
step (eq. 12.23).

Writes ``curve_polynomial.png`` (data and fit; E and μ per iteration) and
``curve_polynomial.md``/``.csv`` (fitted against true parameters).
"""

from __future__ import annotations

import sys

import numpy as np

import _common  # noqa: I001  (sets the Agg backend before pyplot)
import matplotlib.pyplot as plt

import lmtrain as lm

A_TRUE = np.array([20.0, 10.0, 1.0, 50.0])
A_START = np.array([5.0, 2.0, 0.2, -10.0])


def model(u, a):
    """y = a1·u + a2·u² + a3·u³ + a4·u⁴."""
    return a[0] * u + a[1] * u**2 + a[2] * u**3 + a[3] * u**4


def model_jac(u, a):
    """∂y/∂a, shape (len(u), 4): the model is linear in a."""
    return np.stack([u, u**2, u**3, u**4], axis=1)


def main(argv=None) -> int:
    args = _common.parse_args(argv, __doc__)
    t = np.arange(1, 101, dtype=float)
    u = t / 100.0
    y = model(u, A_TRUE)

    fits = {
        "analytic J": lm.curve_fit(model, u, y, A_START, jac=model_jac),
        "finite differences": lm.curve_fit(model, u, y, A_START),
    }
    exact = fits["analytic J"]
    print("quartic curve fit, t = 1..100, start a =", A_START.tolist())
    for name, f in fits.items():
        err = np.max(np.abs(f.params - A_TRUE) / np.abs(A_TRUE))
        print(f"  {name:<19s} a = {np.array2string(f.params, precision=10, separator=', ')}  "
              f"E = {f.error:.3e}  iterations = {f.result.iterations} ({f.result.stop_reason.name})  "
              f"max relative error = {err:.2e}")

    names = ["a1", "a2", "a3", "a4"]
    rows = [{"parameter": n, "true": A_TRUE[i], "start": A_START[i],
             "fitted (analytic J)": exact.params[i], "fitted (finite differences)": fits["finite differences"].params[i],
             "relative error": abs(exact.params[i] - A_TRUE[i]) / abs(A_TRUE[i])} for i, n in enumerate(names)]
    cols = ["parameter", "true", "start", "fitted (analytic J)", "fitted (finite differences)", "relative error"]
    _common.write_table(rows, cols, "curve_polynomial", args.out,
                        formats={"true": "g", "start": "g", "fitted (analytic J)": ".10f",
                                 "fitted (finite differences)": ".10f", "relative error": ".1e"})

    fig, (ax0, ax1) = plt.subplots(1, 2, figsize=(10.0, 4.0), layout="constrained")
    tt = np.linspace(0, 100, 401)
    ax0.plot(t[::3], y[::3], "o", ms=4, mfc="none", color="C0", label="data (every 3rd of 100 points)")
    ax0.plot(tt, model(tt / 100, exact.params), "-", color="C1", lw=1.5,
             label="LM fit: a = (" + ", ".join(f"{v:.4g}" for v in exact.params) + ")")
    ax0.plot(tt, model(tt / 100, A_START), "--", color="0.5", lw=1, label="start: a = (5, 2, 0.2, −10)")
    ax0.set_xlabel("t")
    ax0.set_ylabel("y")
    ax0.set_title("y = a1·u + a2·u² + a3·u³ + a4·u⁴,  u = t/100", fontsize="medium")
    ax0.legend(fontsize="small")
    ax0.grid(True, alpha=0.3)

    # the two runs agree to many digits: draw the second over the first, thinner
    for (name, f), style in zip(fits.items(), (dict(fmt="o-", color="C1", ms=7, lw=2.5),
                                                dict(fmt="x--", color="C2", ms=6, lw=1.2))):
        h = f.result.history
        k = np.arange(0, len(h) + 1)
        fmt = style.pop("fmt")
        ax1.semilogy(k, np.r_[f.result.initial_error, h.error], fmt, label=f"E, {name}", **style)
    h = exact.result.history
    ax1.semilogy(np.arange(1, len(h) + 1), h.mu, "s:", color="C4", ms=4, label="μ of each step (analytic J)")
    ax1.set_xlabel("iteration")
    ax1.set_ylabel("E = ½Σe²   and   μ")
    ax1.set_title("error and μ per iteration", fontsize="medium")
    ax1.legend(fontsize="small")
    ax1.grid(True, which="major", alpha=0.3)
    path = _common.save_figure(fig, "curve_polynomial", args.out)
    print("wrote", path)
    ok = all(np.allclose(f.params, A_TRUE, rtol=1e-6) for f in fits.values())
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
