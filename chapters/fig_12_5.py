"""Fig. 12.5: the training flowchart of Levenberg–Marquardt, each box labelled with the function that does it.

The chapter's Fig. 12.5 organises training (§12.3.2): with the current weights
w_k and the try counter m = 1, evaluate the error E_k; compute the Jacobian;
take the update of eq. 12.25 and evaluate the error E_{k+1}. If the error rose,
multiply μ by 10, restore w_k and count the try (m = m + 1); while m ≤ 5 try
the update again, after that take the step anyway. If the error fell, divide
μ by 10 and keep the new weights. Training ends when E_{k+1} ≤ E_max;
otherwise the next iteration starts from the Jacobian with m = 1 (lmtrain
keeps E_{k+1} as the next E_k rather than evaluating it again).

We draw that flowchart and label each box with the lmtrain function that
carries it out and ``file:line`` of the line that does it, from the table
:data:`BOXES` (resolved when the figure is drawn, like Fig. 12.4's listing: a
fragment that is not on exactly one line of its function stops the script).
lmtrain never overwrites w_k with a trial: the trial weights live in their own
array, so "restore w_k" costs nothing.

Writes ``fig_12_5.png``.
"""

from __future__ import annotations

from pathlib import Path

import _common  # noqa: I001  (selects the Agg backend before pyplot)
import matplotlib.pyplot as plt
from matplotlib.patches import FancyArrowPatch, FancyBboxPatch, Polygon

#: box key -> (text in the chapter's figure, module, function, source fragment or None for the ``def`` line)
BOXES = {
    "start": ("$w_k$,  m = 1", "lmtrain.algorithms.lm", "tries", "t = 0"),
    "error_k": ("error evaluation  ($E_k$)", "lmtrain.kernels.forward", "error", None),
    "jacobian": ("Jacobian matrix computation", "lmtrain.kernels.backward", "jacobian", None),
    "update": (r"$w_{k+1} = ...$", "lmtrain.kernels.solve", "damped_step", None),
    "error_k1": ("error evaluation  ($E_{k+1}$)", "lmtrain.algorithms.lm", "tries", "Et = trial_error(ws, w, E, t < o.max_tries)"),
    "compare": ("$E_{k+1} \\leq E_k$ ?", "lmtrain.algorithms.lm", "decide", "if Et <= E:"),
    "worse": ("μ = μ × 10,  restore $w_k$", "lmtrain.algorithms.lm", "decide", "mu_up = mu * o.mu_inc"),
    "count": ("m = m + 1", "lmtrain.algorithms.lm", "tries", "t += 1"),
    "tries": ("m ≤ 5 ?", "lmtrain.algorithms.lm", "decide", "if t < o.max_tries:"),
    "forced": ("$w_k = w_{k+1}$  (step taken anyway)", "lmtrain.algorithms.lm", "decide", "return FORCE, mu"),
    "better": ("μ = μ ÷ 10,  $w_k = w_{k+1}$", "lmtrain.algorithms.lm", "decide", "return ACCEPT, max(mu / o.mu_dec, o.mu_min)"),
    "goal": ("$E_{k+1} \\leq E_{max}$ ?", "lmtrain.algorithms.loop", "stop_before", "if E <= st.goal:"),
}

BOX_FC, DECIDE_FC, FUNC_COLOR = "#eef3fb", "#fff3dc", "#1f5fa8"


def resolve(boxes=BOXES) -> dict:
    """``{key: (text, label)}`` with ``label`` = "module.function  file:line" for every box."""
    out = {}
    for key, (text, module, function, fragment) in boxes.items():
        path, line, _ = _common.source_line(module, function, fragment)
        short = module.removeprefix("lmtrain.").removeprefix("algorithms.")
        out[key] = (text, f"{short}.{function}", f"{Path(path).name}:{line}")
    return out


def figure(labels: dict):
    """The flowchart, with the function and file:line under each box's text."""
    fig, ax = plt.subplots(figsize=(9.0, 9.0), layout="constrained")
    ax.set_xlim(-8.6, 8.6)
    ax.set_ylim(-2.0, 14.4)
    ax.set_aspect("equal")
    ax.axis("off")
    where = {}

    def box(key, x, y, w, h=1.15, decision=False, size=11):
        text, func, line = labels[key]
        if decision:
            pts = [(x, y + h / 2), (x + w / 2, y), (x, y - h / 2), (x - w / 2, y)]
            ax.add_patch(Polygon(pts, closed=True, fc=DECIDE_FC, ec="#a0522d", lw=1.5, zorder=2))
            ax.text(x, y + 0.17, text, ha="center", va="center", fontsize=size, zorder=3)
            ax.text(x, y - 0.22, f"{func.rsplit('.', 1)[-1]}  {line}", ha="center", va="center", fontsize=8,
                    color=FUNC_COLOR, zorder=3)
        else:
            ax.add_patch(FancyBboxPatch((x - w / 2, y - h / 2), w, h, boxstyle="round,pad=0.0,rounding_size=0.15",
                                        fc=BOX_FC, ec="#30507a", lw=1.4, zorder=2))
            ax.text(x, y + 0.2, text, ha="center", va="center", fontsize=size, zorder=3)
            # the function's name and its file:line (the file names the module)
            ax.text(x, y - 0.28, f"{func.rsplit('.', 1)[-1]}  {line}", ha="center", va="center", fontsize=8.5,
                    color=FUNC_COLOR, zorder=3)
        where[key] = (x, y, w, h)

    def edge(key, side):
        x, y, w, h = where[key]
        return {"top": (x, y + h / 2), "bottom": (x, y - h / 2), "left": (x - w / 2, y),
                "right": (x + w / 2, y)}[side]

    def path(points, label=None, at=0, offset=(0.12, 0.0), ha="left", color="0.2"):
        for a, b in zip(points[:-2], points[1:-1]):
            ax.plot([a[0], b[0]], [a[1], b[1]], color=color, lw=1.4, zorder=1, solid_capstyle="butt")
        ax.add_patch(FancyArrowPatch(points[-2], points[-1], arrowstyle="-|>", mutation_scale=14, lw=1.4,
                                     color=color, shrinkA=0, shrinkB=0, zorder=1))
        if label:
            px, py = points[at]
            qx, qy = points[at + 1]
            ax.text((px + qx) / 2 + offset[0], (py + qy) / 2 + offset[1], label, ha=ha, va="center", fontsize=10,
                    color=color)

    box("start", 0, 13.7, 3.6)
    box("error_k", 0, 12.2, 4.4)
    box("jacobian", 0, 10.7, 5.2)
    box("update", 0, 9.1, 6.6, h=1.3, size=12)
    box("error_k1", 0, 7.6, 4.8)
    box("compare", 0, 5.9, 5.2, h=1.7, decision=True)
    box("worse", -4.6, 4.2, 4.4)
    box("count", -4.6, 2.75, 3.4)
    box("tries", -4.6, 1.1, 4.8, h=1.7, decision=True)
    box("better", 4.6, 4.2, 4.4)
    box("goal", 4.6, 2.45, 5.6, h=1.7, decision=True)
    box("forced", -0.6, -0.45, 6.0)
    ax.text(4.6, 0.35, "End", ha="center", va="center", fontsize=12, fontweight="bold",
            bbox=dict(boxstyle="round,pad=0.4", fc="#e4f2e4", ec="#2e7d32", lw=1.5), zorder=2)

    for a, b in (("start", "error_k"), ("error_k", "jacobian"), ("jacobian", "update"), ("update", "error_k1"),
                 ("error_k1", "compare"), ("worse", "count"), ("count", "tries")):
        path([edge(a, "bottom"), edge(b, "top")])
    lx, ly = edge("compare", "left")
    path([(lx, ly), (-4.6, ly), edge("worse", "top")], "no: $E_{k+1} > E_k$", at=0, offset=(0, 0.3),
         ha="center", color="#b03a2e")
    rx, ry = edge("compare", "right")
    path([(rx, ry), (4.6, ry), edge("better", "top")], "yes", at=0, offset=(0, 0.3), ha="center", color="#2e7d32")
    path([edge("better", "bottom"), edge("goal", "top")])
    gx, gy = edge("goal", "bottom")
    path([(gx, gy), (4.6, 0.78)])
    ax.text(4.75, 1.2, "yes", ha="left", va="center", fontsize=10, color="#2e7d32")
    # m ≤ 5: back to the update with the larger μ
    tx, ty = edge("tries", "left")
    ux, uy = edge("update", "left")
    path([(tx, ty), (-7.9, ty), (-7.9, uy), (ux, uy)], "yes: try again", at=1, offset=(-0.15, 0.0), ha="right",
         color="#b03a2e")
    # m > 5: take the step, then the goal test
    bx, by = edge("tries", "bottom")
    fx, fy = edge("forced", "left")
    path([(bx, by), (bx, fy), (fx, fy)], "no: m > 5", at=0, offset=(-0.15, 0.0), ha="right",
         color="#b03a2e")
    gl = edge("goal", "left")
    path([(1.2, edge("forced", "top")[1]), (1.2, gl[1]), gl])
    # not yet at the goal: next iteration, from the Jacobian, with m = 1
    grx, gry = edge("goal", "right")
    jx, jy = edge("jacobian", "right")
    path([(grx, gry), (7.9, gry), (7.9, jy), (jx, jy)], "no: next iteration, m = 1", at=1, offset=(0.15, 0.0),
         ha="left", color="0.2")
    ax.texts[-1].set_rotation(90)
    ax.texts[-1].set_ha("center")
    ax.texts[-1].set_position((8.25, (gry + jy) / 2))
    fig.suptitle("Fig. 12.5: training with Levenberg–Marquardt; under each box, the lmtrain function that does it",
                 fontsize=11.5)
    ax.text(-8.5, -1.35, "files: lmtrain/kernels/forward.py, backward.py, solve.py; lmtrain/algorithms/lm.py, loop.py",
            ha="left", va="center", fontsize=8.5, color="0.35")
    ax.text(-8.5, -1.8, "lmtrain counts retries, not tries: with max_tries = 5 it retries while t < 5 (t = 0, 1, …), "
            "so it takes the step after the sixth failed try, where the figure's m ≤ 5 takes it after the fifth.",
            ha="left", va="center", fontsize=8.5, color="0.35", wrap=True)
    return fig


def main(argv=None) -> int:
    args = _common.parse_args(argv, __doc__)
    labels = resolve()
    for key, (text, func, line) in labels.items():
        print(f"{key:<9} {func:<22} {line}")
    print(_common.save_figure(figure(labels), "fig_12_5", args.out))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
