"""Fig. 12.6: the training patterns of the parity-3 problem.

The chapter's Fig. 12.6 lists the eight input combinations of three bipolar
inputs with the desired output: +1 when an odd number of inputs are +1, −1
otherwise. We draw the same patterns, taken from ``lmtrain.datasets.parity(3)``,
twice: as the table the training loop sees, and as the corners of a cube, where
no plane separates the +1 corners from the −1 corners (neighbouring corners
always differ), which is why parity needs hidden neurons.

Writes ``fig_12_6.png``.
"""

from __future__ import annotations

import itertools

import _common  # noqa: I001
import matplotlib.pyplot as plt
import numpy as np

import lmtrain as lm

POS, NEG = "#c0392b", "#2c5d9e"


def _pm(v) -> str:
    return "+1" if v > 0 else "−1"


def _table(ax, X, D):
    ax.axis("off")
    header = ["p", "x1", "x2", "x3", "d"]
    cells = [[str(p + 1)] + [_pm(v) for v in X[p]] + [_pm(D[p, 0])] for p in range(len(X))]
    tab = ax.table(cellText=cells, colLabels=header, loc="center", cellLoc="center")
    tab.auto_set_font_size(False)
    tab.set_fontsize(11)
    tab.scale(1.0, 1.45)
    for (r, c), cell in tab.get_celld().items():
        cell.set_edgecolor("0.75")
        if r == 0:
            cell.set_text_props(fontweight="bold")
            cell.set_facecolor("#eeeeee")
        elif c == 4:
            cell.set_text_props(color=POS if D[r - 1, 0] > 0 else NEG, fontweight="bold")
    ax.set_title("patterns (inputs x, desired output d)", fontsize=11)


def _project(x):
    """Oblique projection of a cube corner: x1 to the right, x3 up, x2 into the page."""
    return np.array([x[0] + 0.55 * x[1], x[2] + 0.4 * x[1]])


def _cube(ax, X, D):
    P = np.array([_project(x) for x in X])
    # the 12 edges join corners that differ in one input; edges behind (x2 = +1 side) lighter
    for a, b in itertools.combinations(range(len(X)), 2):
        if np.sum(X[a] != X[b]) == 1:
            back = X[a][1] > 0 and X[b][1] > 0
            ax.plot(*zip(P[a], P[b]), color="0.75" if back else "0.45", lw=1.0, ls="--" if back else "-", zorder=1)
    for p, (x, q, d) in enumerate(zip(X, P, D[:, 0])):
        col = POS if d > 0 else NEG
        ax.scatter(*q, s=420, color=col, marker="o" if d > 0 else "s", edgecolor="k", zorder=3)
        ax.text(*q, "+1" if d > 0 else "−1", ha="center", va="center", fontsize=9, color="w",
                fontweight="bold", zorder=4)
        # the pattern number of the table, beside the corner on its outer side
        ax.text(q[0] + 0.24 * x[0], q[1] + 0.26 * x[2], f"p{p + 1}", ha="left" if x[0] > 0 else "right",
                va="center", fontsize=10, color="0.15")
    # axis directions, drawn apart from the cube
    o = np.array([-3.1, -1.55])
    for v, name in ((np.array([1.0, 0, 0]), "x1"), (np.array([0, 1.0, 0]), "x2"), (np.array([0, 0, 1.0]), "x3")):
        tip = o + 0.7 * _project(v)
        ax.annotate("", xy=tip, xytext=o, arrowprops=dict(arrowstyle="-|>", color="0.3", lw=1.2))
        ax.text(*(tip + 0.2 * (tip - o) / np.linalg.norm(tip - o)), name, ha="center", va="center", fontsize=10)
    ax.scatter([], [], color=POS, marker="o", s=80, edgecolor="k", label="d = +1 (odd number of +1)")
    ax.scatter([], [], color=NEG, marker="s", s=80, edgecolor="k", label="d = −1 (even number)")
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, 0.02), fontsize=9, ncols=2, frameon=False)
    ax.set_xlim(-3.4, 2.4)
    ax.set_ylim(-1.8, 1.85)
    ax.set_aspect("equal")
    ax.axis("off")
    ax.set_title("the same patterns p1…p8 as corners of a cube", fontsize=11)


def main(argv=None) -> int:
    args = _common.parse_args(argv, __doc__)
    X, D = lm.datasets.parity(3, encoding="bipolar")
    fig = plt.figure(figsize=(9.0, 4.4), layout="constrained")
    gs = fig.add_gridspec(1, 2, width_ratios=[1, 1.25])
    _table(fig.add_subplot(gs[0]), X, D)
    _cube(fig.add_subplot(gs[1]), X, D)
    fig.suptitle("Parity-3 training patterns (bipolar)", fontsize=12)
    print(_common.save_figure(fig, "fig_12_6", args.out))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
