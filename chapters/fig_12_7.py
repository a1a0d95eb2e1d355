"""Fig. 12.7: the network trained on parity-3 in §12.4, drawn from its Network object.

The chapter's Fig. 12.7 shows the "three neurons" multilayer perceptron used for
the comparison of Table 12.2. We draw ``lmtrain.mlp([3, 3, 1], gain=0.5)`` (3
inputs, 3 hidden neurons, 1 output neuron, tanh(0.5·net)) with
:func:`lmtrain.plotting.draw_network`, which reads the structure from the
object. A second file, ``fig_12_7_topologies.png``, draws a bridged MLP and a
fully connected cascade with the same function: topologies the chapter's
MLP-only Jacobian does not cover and lmtrain trains the same way.

Writes ``fig_12_7.png`` and ``fig_12_7_topologies.png``.
"""

from __future__ import annotations

import _common  # noqa: I001  (selects the Agg backend before pyplot)
import matplotlib.pyplot as plt

import lmtrain as lm
from lmtrain.plotting import draw_network


def main(argv=None) -> int:
    args = _common.parse_args(argv, __doc__)
    net = lm.mlp([3, 3, 1], activation="bipolar", gain=0.5)
    fig, ax = plt.subplots(figsize=(6.0, 3.6), layout="constrained")
    draw_network(net, ax, title=f"3-3-1 MLP for parity-3 (Table 12.2): {net.n_weights} weights", legend=True)
    print(_common.save_figure(fig, "fig_12_7", args.out))

    others = [
        (lm.bmlp([3, 2, 1], gain=0.5), "bridged MLP 3-2-1"),
        (lm.fcc(3, 3, gain=0.5), "fully connected cascade, 3 neurons"),
    ]
    fig, axes = plt.subplots(1, 2, figsize=(10.0, 3.8), layout="constrained", width_ratios=[4, 5])
    for ax, (net, name) in zip(axes, others):
        draw_network(net, ax, title=f"{name}: {net.n_weights} weights", legend=True)
    print(_common.save_figure(fig, "fig_12_7_topologies", args.out))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
