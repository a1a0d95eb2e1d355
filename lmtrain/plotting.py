"""Figures: network diagrams and error curves, drawn with matplotlib.

Every function draws on the ``ax`` it is given (or on a new figure when ``ax``
is None) and returns the Axes — except :func:`plot_error_curves`, which
returns the new Figure when it made one, ready for ``savefig`` as
:func:`lmtrain.plot_training`'s is. Nothing here calls ``plt.show`` or chooses
a backend, so the functions serve scripts (Agg), notebooks and GUIs alike.

* :func:`draw_network` — any :class:`~lmtrain.network.Network` (MLP, bridged
  MLP, fully connected cascade, any DAG) drawn from the object itself: inputs on
  the left, neurons in columns by depth (:meth:`Network.layers`), a "+1" bias
  node feeding each column, outputs on the right.
* :func:`draw_neuron` — one neuron j of any network as in the chapter's Fig.
  12.2: its input nodes y_j,i with the weights w_j,i, the bias w_j,0, net_j,
  f_j and s_j, the output node y_j and what it feeds, down to the network
  outputs o_m = F_m,j(y_j).
* :func:`highlight_neurons` — ring neurons on a diagram drawn by :func:`draw_network`.
* :func:`plot_error_curves` — E = ½Σe² (eq. 12.1) against the iteration on a log
  scale, for one run or many trials, with the error goal; a dict such as
  :func:`lmtrain.experiments.compare` returns draws each entry in its own
  colour, with a legend.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np

from . import activations
from .network import Network


def _new_axes(ax, figsize):
    if ax is not None:
        return ax
    import matplotlib.pyplot as plt

    _, ax = plt.subplots(figsize=figsize, layout="constrained")
    return ax


def activation_label(activation: str, gain: float) -> str:
    """Short label of a neuron's activation, e.g. ``"tanh"``, or ``"tanh·0.5"`` for gain 0.5."""
    text = activations.get(activation).short
    return text if gain == 1.0 else f"{text}·{gain:g}"


def activation_formula(activation: str, gain: float) -> str:
    """The activation as a formula of net, e.g. ``"tanh(0.5·net)"``, ``"1/(1+exp(−net))"``."""
    return activations.get(activation).formula(gain).replace(" ", "")


def network_layout(net: Network) -> dict:
    """Node positions used by :func:`draw_network`.

    Returns
    -------
    dict
        ``"nodes"``: {node index: (x, y)} for inputs and neurons;
        ``"bias"``: {column: (x, y)} for the "+1" node feeding column+1;
        ``"columns"``: list of node lists (column 0 = inputs).
    """
    if not isinstance(net, Network):
        raise TypeError(f"net must be a lmtrain Network, got {type(net).__name__}")
    columns = [list(range(net.n_inputs))] + [list(c) for c in net.layers()]
    dx = 2.4
    tallest = max(len(c) + 1 for c in columns)  # +1 for a bias node below
    nodes, bias = {}, {}
    for c, col in enumerate(columns):
        n = len(col) + (1 if c < len(columns) - 1 else 0)
        top = (n - 1) / 2.0
        for r, node in enumerate(col):
            nodes[node] = (c * dx, top - r)
        if c < len(columns) - 1:
            bias[c] = (c * dx, top - len(col))
    return {"nodes": nodes, "bias": bias, "columns": columns, "dx": dx, "height": tallest}


def draw_network(net: Network, ax=None, *, title: str | None = None, weights=None,
                 show_bias: bool = True, legend: bool = False, fontsize: float = 11.0):
    """Draw ``net`` as a graph of inputs, "+1" bias nodes, neurons and edges.

    Parameters
    ----------
    net : Network
        Any feed-forward network; its structure is read from the object
        (``net.layers()`` gives the columns, each neuron's ``inputs`` the edges).
    ax : matplotlib Axes, optional
        Where to draw; a new figure sized to the network by default.
    title : str, optional
        Axes title (default: a description such as "3 inputs, 4 neurons, 19 weights").
    weights : array_like, optional
        Weights (n_weights,) in :meth:`Network.weight_names` order; when given,
        edge widths follow |w| and negative weights are drawn dashed.
    show_bias : bool
        Draw the "+1" bias nodes and their edges (the w_j0 of eq. 12.28).
    legend : bool
        Add a key to the kinds of edge drawn.
    fontsize : float
        Size of node labels.

    Returns
    -------
    matplotlib Axes

    Notes
    -----
    Edges between adjacent columns are straight; edges that skip columns
    (bridged MLP, cascade) are drawn as arcs in another colour so that they do
    not pass through the neurons between.
    """
    from matplotlib.patches import Circle, FancyArrowPatch, FancyBboxPatch

    lay = network_layout(net)
    w = None
    if weights is not None:
        w = np.asarray(weights, dtype=float)
        if w.shape != (net.n_weights,) or not np.all(np.isfinite(w)):
            raise ValueError(f"weights must be a finite array of shape ({net.n_weights},), got {w.shape}")
    fontsize = float(fontsize)
    if not fontsize > 0:
        raise ValueError(f"fontsize must be > 0, got {fontsize}")
    ncol = len(lay["columns"])
    ax = _new_axes(ax, (1.9 * ncol + 1.6, 0.95 * lay["height"] + 1.0))
    col_of = {node: c for c, col in enumerate(lay["columns"]) for node in col}
    r_neuron, r_input = 0.42, 0.30
    patches = {}
    gains = {s.gain for s in net.neurons}
    one_gain = len(gains) == 1  # then the gain is said once, under the drawing
    for node, (x, y) in lay["nodes"].items():
        if node < net.n_inputs:
            p = FancyBboxPatch((x - r_input, y - r_input), 2 * r_input, 2 * r_input,
                               boxstyle="round,pad=0.0,rounding_size=0.08", fc="#eef3fb", ec="#30507a", lw=1.4,
                               zorder=3)
            ax.text(x, y, net.node_name(node), ha="center", va="center", fontsize=fontsize, zorder=4)
        else:
            s = net.neurons[node - net.n_inputs]
            out = node in net.outputs
            p = Circle((x, y), r_neuron, fc="#fde9c9" if out else "#fff6e5", ec="#a0522d", lw=1.6, zorder=3)
            ax.text(x, y + 0.09, net.node_name(node), ha="center", va="center", fontsize=fontsize,
                    fontweight="bold", zorder=4)
            ax.text(x, y - 0.16, activation_label(s.activation, 1.0 if one_gain else s.gain), ha="center",
                    va="center", fontsize=0.7 * fontsize, color="#5a3a1a", zorder=4)
        ax.add_patch(p)
        patches[node] = p
    bias_patch = {}
    if show_bias:
        for c, (x, y) in lay["bias"].items():
            p = Circle((x, y), 0.24, fc="#f0f0f0", ec="#808080", lw=1.0, ls="--", zorder=3)
            ax.add_patch(p)
            ax.text(x, y, "+1", ha="center", va="center", fontsize=0.85 * fontsize, color="#505050", zorder=4)
            bias_patch[c] = p

    def arrow(pa, pb, color, lw, rad=0.0, ls="-", alpha=1.0):
        a = FancyArrowPatch(pa.center if hasattr(pa, "center") else _box_center(pa),
                            pb.center if hasattr(pb, "center") else _box_center(pb),
                            patchA=pa, patchB=pb, arrowstyle="-|>", mutation_scale=9, lw=lw, color=color,
                            linestyle=ls, alpha=alpha, connectionstyle=f"arc3,rad={rad}", zorder=2,
                            shrinkA=1, shrinkB=1)
        ax.add_patch(a)

    scale = None
    if w is not None:
        scale = max(np.max(np.abs(w)), 1e-12)
    info = net.weight_info()
    kinds = set()
    obstacles = list(lay["nodes"].values()) + list(lay["bias"].values())
    for k, (node, src) in enumerate(info):
        lw, ls = 1.1, "-"
        if scale is not None:
            lw = 0.4 + 2.6 * abs(w[k]) / scale
            ls = "--" if w[k] < 0 else "-"
        c_to = col_of[node]
        if src is None:
            if show_bias:
                arrow(bias_patch[c_to - 1], patches[node], "#9a9a9a", 0.8 if scale is None else lw, ls=":")
            continue
        kinds.add("next" if col_of[src] == c_to - 1 else "skip")
        if col_of[src] == c_to - 1:
            rad = _free_rad(lay["nodes"][src], lay["nodes"][node], obstacles, r_neuron)
            arrow(patches[src], patches[node], "#30507a", lw, rad=rad, ls=ls)
        else:
            rad = _free_rad(lay["nodes"][src], lay["nodes"][node], obstacles, r_neuron)
            arrow(patches[src], patches[node], "#2e8b57", lw, rad=rad, ls=ls, alpha=0.85)
    for o_index, node in enumerate(net.outputs):
        x, y = lay["nodes"][node]
        end = (x + 1.25, y)
        ax.annotate("", xy=end, xytext=(x + r_neuron, y),
                    arrowprops=dict(arrowstyle="-|>", color="#a0522d", lw=1.4, mutation_scale=12), zorder=2)
        ax.text(end[0] + 0.08, y, f"o{o_index + 1}", ha="left", va="center", fontsize=fontsize)
    xs = [p[0] for p in lay["nodes"].values()] + [p[0] for p in lay["bias"].values()]
    ys = [p[1] for p in lay["nodes"].values()] + [p[1] for p in lay["bias"].values()]
    ax.set_xlim(min(xs) - 0.7, max(xs) + 1.9)
    ax.set_ylim(min(ys) - 0.75, max(ys) + 0.9)
    if legend:
        from matplotlib.lines import Line2D

        keys = [("next", Line2D([], [], color="#30507a", lw=1.2), "to the next column"),
                ("skip", Line2D([], [], color="#2e8b57", lw=1.2), "skipping columns"),
                ("bias", Line2D([], [], color="#9a9a9a", lw=1.0, ls=":"), "bias weight w_j0")]
        if show_bias:
            kinds.add("bias")
        shown = [(h, text) for k, h, text in keys if k in kinds]
        ax.legend([h for h, _ in shown], [t for _, t in shown], loc="lower right", fontsize=0.75 * fontsize,
                  frameon=False, handlelength=1.6)
    if one_gain and gains != {1.0}:
        ax.text(min(xs) - 0.6, min(ys) - 0.65, f"every neuron: y = f({gains.pop():g}·net)", ha="left", va="bottom",
                fontsize=0.8 * fontsize, color="#5a3a1a")
    ax.set_aspect("equal")
    ax.axis("off")
    if title is None:
        title = (f"{net.n_inputs} inputs, {net.n_neurons} neurons, {net.n_outputs} output"
                 f"{'s' if net.n_outputs > 1 else ''}, {net.n_weights} weights")
    if title:
        ax.set_title(title, fontsize=fontsize)
    return ax


def neuron_links(net: Network, j: int) -> dict:
    """Where neuron ``j`` (0-based index into ``net.neurons``) sits in ``net``.

    Returns
    -------
    dict
        ``"node"``: its node index; ``"inputs"``: the nodes feeding it, in
        weight order (its y_j,1 … y_j,ni); ``"feeds"``: ``(neuron index, i)``
        for every neuron that takes y_j as its input i (1-based, as in
        y_k,i); ``"outputs"``: the indices m of the network outputs o_m that
        depend on y_j (those with a path from neuron j, itself included).
    """
    if not isinstance(net, Network):
        raise TypeError(f"net must be a lmtrain Network, got {type(net).__name__}")
    if isinstance(j, bool) or not isinstance(j, (int, np.integer)):
        raise TypeError(f"j must be an integer neuron index, got {j!r}")
    if not 0 <= j < net.n_neurons:
        raise ValueError(f"j must be a neuron index in [0, {net.n_neurons - 1}], got {j}")
    j = int(j)
    node = net.n_inputs + j
    feeds = [(k, s.inputs.index(node) + 1) for k, s in enumerate(net.neurons) if node in s.inputs]
    reach = {node}
    for k, s in enumerate(net.neurons):  # topological order: one sweep finds every descendant
        if reach.intersection(s.inputs):
            reach.add(net.n_inputs + k)
    outputs = [m for m, o in enumerate(net.outputs) if o in reach]
    return {"node": node, "inputs": list(net.neurons[j].inputs), "feeds": feeds, "outputs": outputs}


def highlight_neurons(net: Network, ax, neurons, color="#c0392b", label: str | None = None):
    """Draw a ring around each neuron (0-based indices) of a diagram made by :func:`draw_network`."""
    from matplotlib.patches import Circle

    lay = network_layout(net)
    for j in neurons:
        x, y = lay["nodes"][neuron_links(net, j)["node"]]
        ax.add_patch(Circle((x, y), 0.58, fc="none", ec=color, lw=2.4, zorder=5))
        if label is not None:
            ax.text(x, y + 0.68, label, ha="center", va="bottom", fontsize=11, color=color, fontweight="bold",
                    zorder=6)
    return ax


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


def _free_rad(a, b, obstacles, radius):
    """Curvature of an ``arc3`` edge from ``a`` to ``b`` that clears the other nodes.

    Straight when the segment passes no node; otherwise the smallest bend (upwards
    first) whose quadratic Bézier path keeps 1.3 radii from every node centre.
    Works in data units, valid because the diagrams use an equal aspect ratio.
    """
    (x1, y1), (x2, y2) = a, b
    others = np.array([o for o in obstacles if o != a and o != b], dtype=float).reshape(-1, 2)
    t = np.linspace(0.05, 0.95, 40)[:, None]
    best, best_gap = 0.0, -np.inf
    for rad in (0.0, -0.12, 0.12, -0.22, 0.22, -0.32, 0.32, -0.42, 0.42):
        # matplotlib's arc3 control point: the midpoint moved by rad times the rotated chord
        cx, cy = (x1 + x2) / 2 + rad * (y2 - y1), (y1 + y2) / 2 - rad * (x2 - x1)
        px = (1 - t) ** 2 * x1 + 2 * (1 - t) * t * cx + t ** 2 * x2
        py = (1 - t) ** 2 * y1 + 2 * (1 - t) * t * cy + t ** 2 * y2
        if others.size == 0:
            return rad
        gap = np.min(np.hypot(px - others[:, 0], py - others[:, 1]))
        if gap >= 1.3 * radius:
            return rad
        if gap > best_gap:
            best, best_gap = rad, gap
    return best


def _box_center(p):
    x, y = p.get_x(), p.get_y()
    return (x + p.get_width() / 2.0, y + p.get_height() / 2.0)


def _curves(data) -> list[tuple[int, np.ndarray, bool | None]]:
    """``(first iteration, errors, success or None)`` for every curve in ``data``."""
    from .experiments import TrialSummary
    from .result import History, TrainResult

    if isinstance(data, TrialSummary):
        H = data.error_history
        out = []
        for t in range(data.trials):
            h = H[t][np.isfinite(H[t])] if H.shape[1] else np.empty(0)
            out.append((0, np.concatenate(([data.initial_error[t]], h)), bool(data.reached_goal[t])))
        return out
    if isinstance(data, TrainResult):
        return [(0, np.concatenate(([data.initial_error], data.history.error)), data.reached_goal)]
    if isinstance(data, History):
        return [(1, np.asarray(data.error, float), None)]
    if isinstance(data, np.ndarray) and data.ndim <= 2 and np.issubdtype(data.dtype, np.number):
        rows = data.astype(float).reshape(-1, data.shape[-1]) if data.ndim else data.astype(float).reshape(1, 1)
        return [(0, row[np.isfinite(row)], None) for row in rows]
    if isinstance(data, (list, tuple)):
        out = []
        for i, item in enumerate(data):
            if isinstance(item, (TrialSummary, TrainResult, History, np.ndarray)):
                out += _curves(item)
                continue
            try:
                arr = np.asarray(item, dtype=float).ravel()
            except (TypeError, ValueError):
                raise TypeError(f"data[{i}] is not an error history: {type(item).__name__}") from None
            out.append((0, arr[np.isfinite(arr)], None))
        return out
    raise TypeError("data must be a TrialSummary, a TrainResult, a History, an array of errors, "
                    f"or a list of those; got {type(data).__name__}")


def plot_error_curves(data, ax=None, goal: float | None = None, *, color=None, fail_color=None,
                      label: str | None = None, max_curves: int | None = None, alpha: float = 0.5,
                      lw: float = 1.0, log_x: bool = False):
    """Error E = ½Σe² (eq. 12.1) against iteration, log scale, one line per run.

    Parameters
    ----------
    data : TrialSummary, TrainResult, History, array, list of these, or dict
        A :class:`~lmtrain.experiments.TrialSummary` gives one curve per trial
        (its ``error_history``, preceded by the initial error at iteration 0);
        a ``TrainResult`` likewise; a ``History`` or a 1-D array of errors
        starts at iteration 1 (0 for arrays); a 2-D array is one curve per row
        (NaN padding ignored). A dict ``{name: data}``, such as the one
        :func:`lmtrain.experiments.compare` returns, draws every entry in its
        own colour (``C0``, ``C1``, … of the colour cycle) with a legend entry
        named by its key.
    ax : matplotlib Axes, optional
        Where to draw; by default a new figure.
    goal : float, optional
        Error goal, drawn as a dotted horizontal line.
    color : color, optional
        Colour of the curves (of the trials that reached the goal, when that is known);
        not used for a dict.
    fail_color : color, optional
        Colour of trials that did not reach the goal (default light grey; for
        a dict, each entry's own colour, dashed).
    label : str, optional
        Legend entry for the curves (one entry, not one per trial).
    max_curves : int, optional
        Draw at most this many curves (the first ones), to keep big runs legible.
    alpha, lw : float
        Line transparency and width.
    log_x : bool
        Logarithmic iteration axis (useful for EBP's long runs).

    Returns
    -------
    matplotlib Figure or Axes
        The new Figure when ``ax`` is None (so that
        ``plot_error_curves(summary, goal=0.01).savefig("curves.png")``
        works), else the Axes drawn on.
    """
    if isinstance(data, Mapping):
        return _plot_named_curves(data, ax, goal, fail_color=fail_color, max_curves=max_curves, alpha=alpha,
                                  lw=lw, log_x=log_x)
    made = ax is None
    ax = _draw_error_curves(data, ax, goal, color=color, fail_color="0.6" if fail_color is None else fail_color,
                            label=label, max_curves=max_curves, alpha=alpha, lw=lw, log_x=log_x)
    return ax.figure if made else ax


def _plot_named_curves(data: Mapping, ax, goal, *, fail_color, max_curves, alpha, lw, log_x):
    """:func:`plot_error_curves` for ``{name: data}``: one colour and legend entry per name."""
    if not data:
        raise ValueError("data is an empty dict: nothing to plot")
    for key in data:
        if not isinstance(key, str):
            raise TypeError(f"the keys of data name the curves in the legend and must be strings, got {key!r}")
    goal = _check_goal(goal)
    for key, item in data.items():  # every entry checked before anything is drawn
        if isinstance(item, Mapping):
            raise TypeError(f"data[{key!r}] is a dict; give the dict of summaries itself, not one nested in another")
        try:
            _curves(item)
        except TypeError as exc:
            raise TypeError(f"data[{key!r}]: {exc}") from None
    made = ax is None
    ax = _new_axes(ax, (6.4, 4.0))
    for k, (key, item) in enumerate(data.items()):
        c = f"C{k % 10}"
        _draw_error_curves(item, ax, None, color=c, fail_color=c if fail_color is None else fail_color,
                           fail_ls="--" if fail_color is None else "-", label=key, max_curves=max_curves,
                           alpha=alpha, lw=lw, log_x=log_x)
    if goal is not None:
        _goal_line(ax, goal)
    ax.legend(fontsize=8)
    return ax.figure if made else ax


def _check_goal(goal):
    if goal is None:
        return None
    goal = float(goal)
    if not goal > 0 or not math.isfinite(goal):
        raise ValueError(f"goal must be a finite number > 0 for a log-scale plot, got {goal}")
    return goal


def _goal_line(ax, goal):
    ax.axhline(goal, color="k", ls=":", lw=1.2, label=f"goal {goal:g}")


def _draw_error_curves(data, ax, goal, *, color, fail_color, fail_ls="-", label, max_curves, alpha, lw, log_x):
    """The curves of one ``data`` on ``ax`` (a new one when None); returns the Axes."""
    curves = _curves(data)
    if max_curves is not None:
        if isinstance(max_curves, bool) or not isinstance(max_curves, (int, np.integer)) or max_curves < 1:
            raise ValueError(f"max_curves must be a positive integer, got {max_curves!r}")
        curves = curves[:max_curves]
    goal = _check_goal(goal)
    if not 0 < alpha <= 1:
        raise ValueError(f"alpha must be in (0, 1], got {alpha}")
    ax = _new_axes(ax, (6.4, 4.0))
    if color is None:
        try:  # the next colour of the Axes' cycle, so successive calls differ
            color = ax._get_lines.get_next_color()
        except AttributeError:  # pragma: no cover - older or newer matplotlib internals
            color = "C0"
    positive = [c[c > 0] for _, c, _ in curves]
    floor = min((p.min() for p in positive if p.size), default=1.0) / 10.0
    labelled_ok = labelled_fail = False
    for start, c, s in curves:
        if c.size == 0:
            continue
        it = np.arange(start, start + c.size) + (1 if log_x else 0)
        y = np.where(c > 0, c, floor)  # E = 0 exactly cannot be shown on a log axis
        failed = s is False
        lab = None
        if label is not None and not failed and not labelled_ok:
            lab, labelled_ok = label, True
        elif label is not None and failed and not labelled_fail:
            lab, labelled_fail = f"{label} (goal not reached)", True
        ax.plot(it, y, color=fail_color if failed else color, ls=fail_ls if failed else "-", alpha=alpha, lw=lw,
                label=lab)
    if goal is not None:
        _goal_line(ax, goal)
    ax.set_yscale("log")
    if log_x:
        ax.set_xscale("log")
    ax.set_xlabel("iteration + 1" if log_x else "iteration")
    ax.set_ylabel("E = ½ Σ e²")
    ax.grid(True, which="major", alpha=0.3)
    return ax
