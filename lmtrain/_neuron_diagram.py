"""One neuron and its connections, drawn as the chapter's Fig. 12.2: :func:`draw_neuron`,
with :func:`activation_formula` for its activation.

See :mod:`lmtrain.plotting`, where these are public.
"""

from __future__ import annotations

from . import activations
from ._network_diagram import _new_axes, neuron_links
from .network import Network


def activation_formula(activation: str, gain: float) -> str:
    """The activation as a formula of net, e.g. ``"tanh(0.5·net)"``, ``"1/(1+exp(−net))"``."""
    return activations.get(activation).formula(gain).replace(" ", "")


def draw_neuron(net: Network, j: int, ax=None, *, title: str | None = None, max_inputs: int = 7,
                fontsize: float = 11.0):
    """Draw neuron ``j`` of ``net`` and its connections, as the chapter's Fig. 12.2.

    Left, the input nodes y_j,1 … y_j,ni (each named after the network input or
    the neuron that drives it) and the bias input +1, joined to the sum by the
    weights w_j,i and w_j,0; the sum net_j (eq. 12.28), the activation f_j
    with its slope s_j (eqs. 12.27, 12.30); the output node y_j; right, the
    neurons that take y_j as an input and the network outputs o_m = F_m,j(y_j)
    that depend on it (eq. 12.31; o_m = y_j when neuron j is output m).

    Parameters
    ----------
    net : Network
        Any feed-forward network.
    j : int
        The neuron, a 0-based index into ``net.neurons`` (drawn as
        ``net.node_name``, e.g. "n2" for j = 1).
    ax : matplotlib Axes, optional
    title : str, optional
        Default: "neuron j = n2: 3 inputs, tanh(0.5·net)"-style text.
    max_inputs : int
        Inputs drawn before the middle ones are elided with "⋮" (the first
        ``max_inputs − 2`` and the last two are shown).
    fontsize : float
        Size of the main labels.

    Returns
    -------
    matplotlib Axes
    """
    from matplotlib.patches import Circle, FancyArrowPatch, FancyBboxPatch

    links = neuron_links(net, j)
    spec = net.neurons[j]
    formula = activation_formula(spec.activation, spec.gain)
    max_inputs = int(max_inputs)
    if max_inputs < 3:
        raise ValueError(f"max_inputs must be at least 3, got {max_inputs}")
    fs = float(fontsize)
    name = net.node_name(links["node"])
    ins = links["inputs"]
    n_in = len(ins)
    # which inputs get a row: (i 1-based, source node) or None for the "⋮" row
    if n_in <= max_inputs:
        shown = [(i + 1, src) for i, src in enumerate(ins)]
    else:
        head = max_inputs - 2
        shown = [(i + 1, ins[i]) for i in range(head)] + [None] + [(i + 1, ins[i]) for i in (n_in - 2, n_in - 1)]
    rows = len(shown) + 1  # + the bias row
    ax = _new_axes(ax, (8.0, 0.75 * rows + 1.6))
    top = (rows - 1) / 2.0
    ys = [top - r for r in range(rows)]
    x_src, x_in, x_sum, x_f, x_y, x_out = -0.6, 0.0, 3.6, 5.3, 7.0, 8.5
    r_in = 0.36

    def arrow(a, b, color="#30507a", lw=1.3, rad=0.0, ls="-", patchA=None, patchB=None):
        ax.add_patch(FancyArrowPatch(a, b, patchA=patchA, patchB=patchB, arrowstyle="-|>", mutation_scale=11,
                                     lw=lw, color=color, linestyle=ls, connectionstyle=f"arc3,rad={rad}",
                                     shrinkA=2, shrinkB=2, zorder=2))

    box = dict(boxstyle="round,pad=0.15", fc="white", ec="none", alpha=0.9)
    # the neuron itself: a dashed outline around the sum and the activation
    ax.add_patch(FancyBboxPatch((x_sum - 0.85, -1.25), x_f - x_sum + 1.75, 2.5,
                                boxstyle="round,pad=0.0,rounding_size=0.35", fc="#fff8ec", ec="#a0522d", lw=1.4,
                                ls="--", zorder=0))
    ax.text((x_sum + x_f) / 2 + 0.05, 1.3, f"neuron j = {name}", ha="center", va="bottom", fontsize=fs,
            fontweight="bold", color="#a0522d")
    sum_patch = Circle((x_sum, 0.0), 0.42, fc="#fde9c9", ec="#a0522d", lw=1.6, zorder=3)
    ax.add_patch(sum_patch)
    ax.text(x_sum, 0.0, "Σ", ha="center", va="center", fontsize=1.4 * fs, zorder=4)
    # inputs and their weights; weight labels alternate along the edges so neighbours do not collide
    for r, item in enumerate(shown):
        y = ys[r]
        if item is None:
            ax.text(x_in, y, "⋮", ha="center", va="center", fontsize=1.3 * fs)
            ax.text(x_src, y, f"{n_in - max_inputs + 1} more", ha="right", va="center", fontsize=0.85 * fs,
                    color="0.35")
            continue
        i, src = item
        p = Circle((x_in, y), r_in, fc="#eef3fb", ec="#30507a", lw=1.3, zorder=3)
        ax.add_patch(p)
        ax.text(x_in, y, f"$y_{{j,{i}}}$", ha="center", va="center", fontsize=0.85 * fs, zorder=4)
        what = "input" if src < net.n_inputs else "neuron"
        ax.text(x_src, y, f"{what} {net.node_name(src)}", ha="right", va="center", fontsize=0.85 * fs,
                color="0.25")
        arrow((x_in, y), (x_sum, 0.0), patchA=p, patchB=sum_patch)
        t = 0.34 if r % 2 == 0 else 0.56  # where the edges are still apart
        ax.text(x_in + t * (x_sum - x_in), y + t * (0.0 - y), f"$w_{{j,{i}}}$", ha="center", va="center",
                fontsize=0.85 * fs, color="#30507a", bbox=box, zorder=5)
    yb = ys[-1]
    bias = Circle((x_in, yb), r_in * 0.85, fc="#f0f0f0", ec="#808080", lw=1.0, ls="--", zorder=3)
    ax.add_patch(bias)
    ax.text(x_in, yb, "+1", ha="center", va="center", fontsize=0.85 * fs, color="#505050", zorder=4)
    ax.text(x_src, yb, "bias", ha="right", va="center", fontsize=0.85 * fs, color="0.25")
    arrow((x_in, yb), (x_sum, 0.0), color="#8a8a8a", ls=":", patchA=bias, patchB=sum_patch)
    t = 0.34 if (rows - 1) % 2 == 0 else 0.56
    ax.text(x_in + t * (x_sum - x_in), yb + t * (0.0 - yb), "$w_{j,0}$", ha="center", va="center",
            fontsize=0.85 * fs, color="#606060", bbox=box, zorder=5)
    # net_j -> f_j -> y_j, with the slope s_j kept for the backward pass
    f_patch = FancyBboxPatch((x_f - 0.42, -0.42), 0.84, 0.84, boxstyle="round,pad=0.0,rounding_size=0.1",
                             fc="#fde9c9", ec="#a0522d", lw=1.6, zorder=3)
    ax.add_patch(f_patch)
    ax.text(x_f, 0.0, "$f_j$", ha="center", va="center", fontsize=1.15 * fs, zorder=4)
    arrow((x_sum, 0.0), (x_f, 0.0), color="#a0522d", patchA=sum_patch, patchB=f_patch)
    ax.text((x_sum + x_f) / 2, 0.14, "$net_j$", ha="center", va="bottom", fontsize=0.9 * fs)
    ax.text((x_sum + x_f) / 2, -0.62, "slope $s_j = f_j'(net_j)$", ha="center", va="top", fontsize=0.85 * fs,
            color="#5a3a1a")
    y_patch = Circle((x_y, 0.0), 0.36, fc="#fff6e5", ec="#a0522d", lw=1.6, zorder=3)
    ax.add_patch(y_patch)
    ax.text(x_y, 0.0, "$y_j$", ha="center", va="center", fontsize=fs, zorder=4)
    arrow((x_f, 0.0), (x_y, 0.0), color="#a0522d", patchA=f_patch, patchB=y_patch)
    # what y_j feeds: later neurons (as their input i) and, when j is an output neuron, o_m itself
    is_out = links["node"] in net.outputs
    targets = []
    if is_out:
        targets.append((f"$o_{{{net.outputs.index(links['node']) + 1}}} = y_j$  (output neuron)", "#a0522d"))
    for k, i in links["feeds"]:
        kn = net.node_name(net.n_inputs + k)
        targets.append((f"{kn}, as its $y_{{{kn[1:]},{i}}}$", "#30507a"))
    if len(targets) > max_inputs:
        targets = targets[: max_inputs - 1] + [(f"… {len(targets) - max_inputs + 1} more neurons", "#30507a")]
    n_t = len(targets)
    for t_i, (text, color) in enumerate(targets):
        y = 0.5 * (n_t - 1) - t_i
        arrow((x_y, 0.0), (x_out, y), color=color, patchA=y_patch)
        ax.text(x_out + 0.1, y, text, ha="left", va="center", fontsize=0.85 * fs)
    # F_m,j: the rest of the network between y_j and the outputs it reaches through later neurons
    through = [m for m in links["outputs"] if net.outputs[m] != links["node"]]
    y_f = min(-0.5 * n_t - 0.6, -1.2)
    if through:
        outs = ", ".join(f"o_{{{m + 1}}}" for m in through)
        fm = f"F_{{{through[0] + 1},j}}" if len(through) == 1 else "F_{m,j}"
        ax.add_patch(FancyArrowPatch((x_y, -0.36), (x_out + 0.2, y_f), arrowstyle="-|>", mutation_scale=11,
                                     lw=1.3, color="#a0522d", linestyle="--", connectionstyle="arc3,rad=0.25",
                                     zorder=2))
        ax.text(x_out + 0.3, y_f, f"${outs} = {fm}(y_j)$", ha="left", va="center", fontsize=0.9 * fs,
                color="#a0522d")
        ax.text(x_out + 0.3, y_f - 0.5, "via later neurons (12.31)", ha="left", va="center",
                fontsize=0.85 * fs, color="#a0522d")
    else:
        ax.text(x_out + 0.3, y_f, "$F'_{m,j} = 1$: $o_m$ is $y_j$ itself", ha="left", va="center",
                fontsize=0.85 * fs, color="#a0522d")
    ax.set_xlim(x_src - 1.75, x_out + 3.5)
    ax.set_ylim(min(ys[-1], y_f - 0.6, -1.6) - 0.3, max(ys[0], 1.3) + 0.75)
    ax.set_aspect("equal")
    ax.axis("off")
    if title is None:
        title = (f"neuron j = {name} (of {net.n_neurons}): {n_in} input{'s' if n_in != 1 else ''}, "
                 f"$f_j$(net) = {formula}")
    if title:
        ax.set_title(title, fontsize=fs)
    return ax
