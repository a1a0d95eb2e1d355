"""Fig. 12.2: a neuron j and its connections with the rest of the network, drawn from a Network.

The chapter's Fig. 12.2 shows one neuron j: its input nodes y_j,i (network
inputs, or outputs of other neurons when connections may cross layers),
weighted by w_j,i, the bias input +1 with its weight w_j,0, the net value
net_j (eq. 12.28), the activation f_j giving y_j (eq. 12.27) and its slope s_j
(eq. 12.30), and the nonlinear relation F_m,j between y_j and each network
output o_m (eq. 12.31). Here :func:`lmtrain.plotting.draw_neuron` draws any
neuron of any ``Network`` from the object itself; we draw two:

* (a) hidden neuron n2 of the 3-3-1 MLP of Table 12.2, whose inputs are all
  network inputs and whose output feeds the output neuron n4;
* (b) neuron n2 of a fully connected cascade of three neurons, whose inputs
  include the output of neuron n1, the case the chapter's "if connections
  across layers are allowed" refers to.

Beside each, the whole network (drawn by :func:`lmtrain.plotting.draw_network`)
with the neuron ringed. Writes ``fig_12_2.png``.
"""

from __future__ import annotations

import _common  # noqa: I001  (selects the Agg backend before pyplot)
import matplotlib.pyplot as plt

import lmtrain as lm
from lmtrain.experiments import TABLE_12_2
from lmtrain.plotting import draw_network, draw_neuron, highlight_neurons

#: (label, network, 0-based neuron index) of each row of the figure
CASES = [
    ("(a) 3-3-1 MLP of Table 12.2", TABLE_12_2.network(), 1),
    ("(b) fully connected cascade, 3 neurons", lm.fcc(3, 3, gain=0.5), 1),
]


def figure(cases=CASES):
    """One row per case: the network with neuron j ringed, and neuron j in detail."""
    # each row as tall as its neuron's drawing: one unit per input, the bias and the labels
    heights = [len(net.neurons[j].inputs) + 2.5 for _, net, j in cases]
    fig = plt.figure(figsize=(9.0, 0.4 * sum(heights) + 0.5), layout="constrained")
    rows = fig.subfigures(len(cases), 1, height_ratios=heights)
    for sub, (label, net, j) in zip(rows if len(cases) > 1 else [rows], cases):
        ax_net, ax_j = sub.subplots(1, 2, width_ratios=[1.1, 2.0])
        draw_network(net, ax_net, title="", fontsize=9)
        highlight_neurons(net, ax_net, [j])
        ax_net.set_title(f"{label}\n(neuron j ringed in red)", loc="left", fontsize=11)
        draw_neuron(net, j, ax_j, fontsize=12)
    fig.suptitle("Fig. 12.2: neuron j with its inputs $y_{j,i}$, weights $w_{j,i}$, $net_j$, $f_j$, $s_j$ "
                 "and the outputs it feeds (eqs. 12.27–12.31)", fontsize=12)
    return fig


def main(argv=None) -> int:
    args = _common.parse_args(argv, __doc__)
    for label, net, j in CASES:
        links = lm.plotting.neuron_links(net, j)
        print(f"{label}: neuron j = {net.node_name(links['node'])}, inputs "
              f"{[net.node_name(n) for n in links['inputs']]}, feeds "
              f"{[net.node_name(net.n_inputs + k) for k, _ in links['feeds']]}, outputs "
              f"{['o%d' % (m + 1) for m in links['outputs']]}")
    print(_common.save_figure(figure(), "fig_12_2", args.out))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
