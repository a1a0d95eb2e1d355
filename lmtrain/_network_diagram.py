"""Network diagrams: :func:`draw_network`, its :func:`network_layout`, and
:func:`highlight_neurons`, with the helpers they share with the other figures
(:func:`activation_label`, :func:`neuron_links`, ``_new_axes``).

See :mod:`lmtrain.plotting`, where these are public.
"""

from __future__ import annotations

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
