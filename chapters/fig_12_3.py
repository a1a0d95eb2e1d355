"""Fig. 12.3: the three-layer MLP with the forward steps a–c and the backward steps d–h marked on it.

§12.3.1 computes one pattern's rows of the Jacobian on a multilayer perceptron
with n_i inputs, two hidden layers of n_1 and n_2 neurons and n_o outputs (the
chapter's Fig. 12.3). The forward computation runs layer by layer (steps a–c,
eqs. 12.37–12.45) and keeps every neuron's output y and slope s; the backward
computation then starts a unit error at one output j and carries δ back to the
first layer (steps d–h, eqs. 12.46–12.52), once per output. The Jacobian row of
output j follows as ∂e_j/∂w = −δ·y (eq. 12.36).

We draw ``lmtrain.mlp([3, 3, 3, 2])`` with :func:`lmtrain.plotting.draw_network`
(n_i = 3, n_1 = n_2 = 3, n_o = 2, so the backward steps run twice per pattern),
mark each step where it acts, and list its equations beneath. In eqs. 12.49 and
12.51 the weight w^l_{i,k} joins neuron k of layer l − 1 to neuron i of layer
l; the subscripts of eq. 12.51 are written in that order here.

Writes ``fig_12_3.png``.
"""

from __future__ import annotations

import _common  # noqa: I001  (selects the Agg backend before pyplot)
import matplotlib.pyplot as plt
from matplotlib.patches import FancyArrowPatch

import lmtrain as lm
from lmtrain.plotting import draw_network, network_layout

SIZES = [3, 3, 3, 2]

FORWARD_COLOR, BACKWARD_COLOR = "#1f5fa8", "#b03a2e"

#: step letter -> (where it acts: a column or the gap between two, what it does, [(equation, number), ...])
STEPS = {
    "a": (1, "first layer: net values, outputs, slopes",
          [(r"$net^1_j = \sum_{i=1}^{n_i} I_i\, w^1_{j,i} + w^1_{j,0}$", "12.37"),
           (r"$y^1_j = f^1_j(net^1_j)$", "12.38"), (r"$s^1_j = \partial f^1_j / \partial net^1_j$", "12.39")]),
    "b": (2, "second layer, from the first layer's outputs",
          [(r"$net^2_j = \sum_{i=1}^{n_1} y^1_i\, w^2_{j,i} + w^2_{j,0}$", "12.40"),
           (r"$y^2_j = f^2_j(net^2_j)$", "12.41"), (r"$s^2_j = \partial f^2_j / \partial net^2_j$", "12.42")]),
    "c": (3, "output layer, from the second layer's outputs",
          [(r"$net^3_j = \sum_{i=1}^{n_2} y^2_i\, w^3_{j,i} + w^3_{j,0}$", "12.43"),
           (r"$o_j = f^3_j(net^3_j)$", "12.44"), (r"$s^3_j = \partial f^3_j / \partial net^3_j$", "12.45")]),
    "d": (3, "at output j: the error, and δ starts as the slope",
          [(r"$e_j = d_j - o_j$", "12.46"), (r"$\delta^3_{j,j} = s^3_j$", "12.47"),
           (r"$\delta^3_{j,k} = 0$  for the other outputs k", "12.48")]),
    "e": (2.5, "through the output layer's weights",
          [(r"$\delta^2_{j,k} = \delta^3_{j,j}\, w^3_{j,k}$", "12.49")]),
    "f": (2, "times the second layer's slopes",
          [(r"$\delta^2_{j,k} = \delta^2_{j,k}\, s^2_k$", "12.50")]),
    "g": (1.5, "summed through the second layer's weights",
          [(r"$\delta^1_{j,k} = \sum_{i=1}^{n_2} \delta^2_{j,i}\, w^2_{i,k}$", "12.51")]),
    "h": (1, "times the first layer's slopes",
          [(r"$\delta^1_{j,k} = \delta^1_{j,k}\, s^1_k$", "12.52")]),
}
FORWARD, BACKWARD = "abc", "defgh"


def _badge(ax, x, y, letter, color, size=13):
    ax.text(x, y, letter, ha="center", va="center", fontsize=size, fontweight="bold", color="white",
            bbox=dict(boxstyle="circle,pad=0.25", fc=color, ec="none"), zorder=7)


def diagram(ax, net):
    """The network with the step letters: forward above the columns, backward below."""
    lay = network_layout(net)
    draw_network(net, ax, title="", fontsize=11)
    dx = lay["dx"]
    ys = [y for _, y in lay["nodes"].values()] + [y for _, y in lay["bias"].values()]
    top, bottom = max(ys) + 0.95, min(ys) - 0.95
    x0, x1 = dx * 1, dx * (len(lay["columns"]) - 1)
    ax.add_patch(FancyArrowPatch((x0 - 0.9, top + 0.7), (x1 + 0.9, top + 0.7), arrowstyle="-|>",
                                 mutation_scale=16, lw=2.0, color=FORWARD_COLOR))
    ax.text((x0 + x1) / 2, top + 0.9, "forward, once per pattern: y and s of every neuron", ha="center",
            va="bottom", fontsize=11, color=FORWARD_COLOR)
    ax.add_patch(FancyArrowPatch((x1 + 0.9, bottom - 0.7), (x0 - 0.9, bottom - 0.7), arrowstyle="-|>",
                                 mutation_scale=16, lw=2.0, color=BACKWARD_COLOR))
    ax.text((x0 + x1) / 2, bottom - 0.9, "backward, once per output j: δ from a unit error", ha="center",
            va="top", fontsize=11, color=BACKWARD_COLOR)
    for letter in FORWARD:
        _badge(ax, STEPS[letter][0] * dx, top, letter, FORWARD_COLOR)
    for letter in BACKWARD:
        _badge(ax, STEPS[letter][0] * dx, bottom, letter, BACKWARD_COLOR)
    # names of the layers as the chapter gives them
    names = ["$n_i$ inputs $I_i$", "layer 1: $n_1$", "layer 2: $n_2$", "layer 3: $n_o$ outputs"]
    for c, text in enumerate(names):
        ax.text(c * dx, top + 0.0, text if c == 0 else "", ha="center", va="center", fontsize=10)
    ax.set_xlim(-1.2, x1 + 2.0)
    ax.set_ylim(bottom - 1.6, top + 1.6)
    return ax


def equations(ax, letters, color, title):
    """A column of steps: badge, what the step does, its equations with their numbers."""
    ax.axis("off")
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.text(0.0, 1.0, title, ha="left", va="top", fontsize=11, fontweight="bold", color=color)
    lines = sum(1 + len(STEPS[k][2]) for k in letters)
    step = 0.9 / max(lines, 1)
    y = 0.9
    for k in letters:
        _, what, eqs = STEPS[k]
        _badge(ax, 0.03, y, k, color, size=11)
        ax.text(0.08, y, what, ha="left", va="center", fontsize=10.5)
        y -= step
        for eq, number in eqs:
            ax.text(0.08, y, eq, ha="left", va="center", fontsize=11)
            ax.text(0.98, y, f"({number})", ha="right", va="center", fontsize=10, color="0.3")
            y -= step
    return ax


def figure(net=None):
    net = lm.mlp(SIZES, gain=0.5) if net is None else net
    fig = plt.figure(figsize=(9.0, 9.4), layout="constrained")
    top, bottom = fig.subfigures(2, 1, height_ratios=[1.0, 1.05])
    diagram(top.subplots(), net)
    left, right = bottom.subplots(1, 2)
    equations(left, FORWARD, FORWARD_COLOR, "forward computation, layer by layer")
    equations(right, BACKWARD, BACKWARD_COLOR, "backward computation, for output j")
    fig.suptitle("Fig. 12.3: three-layer MLP ($n_i$ = 3, $n_1$ = $n_2$ = 3, $n_o$ = 2): one pattern's "
                 "Jacobian rows in steps a–h", fontsize=12)
    return fig


def main(argv=None) -> int:
    args = _common.parse_args(argv, __doc__)
    net = lm.mlp(SIZES, gain=0.5)
    print(f"{net}: steps a–c once per pattern, d–h once per output ({net.n_outputs} per pattern)")
    print(_common.save_figure(figure(net), "fig_12_3", args.out))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
