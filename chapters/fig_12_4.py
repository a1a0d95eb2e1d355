"""Fig. 12.4: the chapter's pseudo-code of the forward and backward computation, tied to lmtrain's source.

The chapter's Fig. 12.4 gives, as pseudo-code, the computation of one
pattern's Jacobian rows: a forward pass over every neuron (net, output, slope;
eqs. 12.27–12.30), then for every output a backward pass that starts δ as the
slope of that output and carries it back through the weights and slopes
(eqs. 12.46–12.52). We print the listing line by line beside the function of
lmtrain that carries each line out and the source line that does it, as
``file:line`` with the line itself.

The mapping is the table :data:`LISTING` below: for every line of the
listing, the module, the function and a fragment of source text. The file
and line number are found when the figure is drawn (``inspect`` on the
function's source); a fragment that is missing or occurs on more than one
line of its function stops the script, so the figure cannot point at a wrong
line without anyone noticing.

The lines point at lmtrain's plain kernels (``lmtrain/kernels/``), which
take one pattern at a time exactly as the listing does; the fast twins in
``lmtrain/algorithms/_fast/`` do the same arithmetic for many patterns at
once and are tested against these kernels. Neurons are visited in
topological order rather than layer by layer, which also covers networks
that are not layered. Writes ``fig_12_4.png``.
"""

from __future__ import annotations

import _common  # noqa: I001  (selects the Agg backend before pyplot)
import matplotlib.pyplot as plt

#: The listing of Fig. 12.4 (two spaces per level) and, for each line, where lmtrain
#: does it: (pseudo-code line, module, function, source fragment), or None for a line
#: that only closes a block. The last row is the step the chapter describes right
#: after the listing (eq. 12.36).
LISTING = [
    ("for all patterns", "lmtrain.kernels.quasi_hessian", "quasi_hessian", "# for all patterns"),
    ("  % Forward computation", "lmtrain.kernels.forward", "forward_pattern", None),
    ("  for all layers", "lmtrain.kernels.forward", "forward_pattern", "for j in range(topo.act.shape[0]):"),
    ("    for all neurons in the layer", "lmtrain.kernels.forward", "forward_pattern", "for j in range(topo.act.shape[0]):"),
    ("      calculate net;     % Equation (12.28)", "lmtrain.kernels.forward", "neuron_forward", "# eq. 12.28"),
    ("      calculate output;  % Equation (12.27)", "lmtrain.kernels.forward", "neuron_forward", "# eq. 12.27"),
    ("      calculate slope;   % Equation (12.30)", "lmtrain.kernels.forward", "neuron_forward", "eq. 12.30"),
    ("    end;", None, None, None),
    ("  end;", None, None, None),
    ("  % Backward computation", "lmtrain.kernels.backward", "backward_unit_error", None),
    ("  initial delta as slope;", "lmtrain.kernels.backward", "backward_unit_error", "delta[topo.out_idx[m]] = 1.0"),
    ("  for all outputs", "lmtrain.kernels.quasi_hessian", "quasi_hessian", "# for all outputs"),
    ("    calculate error;", "lmtrain.kernels.forward", "pattern_errors", "e[m] = d[m] - y[topo.out_idx[m]]"),
    ("    for all layers", "lmtrain.kernels.backward", "backpropagate", "for j in range(topo.act.shape[0] - 1, -1, -1):"),
    ("      for all neurons in the previous layer", "lmtrain.kernels.backward", "backpropagate", "for i in range(topo.in_ptr[j + 1] - first):"),
    ("        for all neurons in the current layer", "lmtrain.kernels.backward", "backpropagate", "for j in range(topo.act.shape[0] - 1, -1, -1):"),
    ("          multiply delta through weights", "lmtrain.kernels.backward", "backpropagate", "delta[src] += delta[node] * w[base + 1 + i]"),
    ("          sum the backpropagated delta at proper nodes", "lmtrain.kernels.backward", "backpropagate", "delta[src] += delta[node] * w[base + 1 + i]"),
    ("        end;", None, None, None),
    ("        multiply delta by slope;", "lmtrain.kernels.backward", "backpropagate", "delta[node] *= s[node]"),
    ("      end;", None, None, None),
    ("    end;", None, None, None),
    ("  end;", None, None, None),
    ("end;", None, None, None),
    ("(then) Jacobian entry −δ·y;  % Equation (12.36)", "lmtrain.kernels.backward", "jacobian_row", "# eq. 12.36"),
]

FORWARD_ROWS = range(1, 9)  # "% Forward computation" … its "end;"
BACKWARD_ROWS = range(9, 23)
FORWARD_BG, BACKWARD_BG = "#e8f0fb", "#fbeceb"


def resolve(listing=LISTING) -> list[dict]:
    """Every line of ``listing`` with its ``file``, ``line`` and ``text`` (None for unmapped lines).

    Raises ``LookupError`` when a fragment does not occur on exactly one line of its function.
    """
    rows = []
    for pseudo, module, function, fragment in listing:
        row = {"pseudo": pseudo, "module": module, "function": function, "file": None, "line": None, "text": None}
        if module is not None:
            row["file"], row["line"], row["text"] = _common.source_line(module, function, fragment)
        rows.append(row)
    return rows


def figure(rows: list[dict]):
    """The listing on the left, the function and ``file:line`` with the line's text on the right."""
    heights = [0.44 if r["module"] else 0.25 for r in rows]
    total = sum(heights)
    fig = plt.figure(figsize=(9.4, total + 1.4), layout="constrained")
    ax = fig.add_subplot()
    ax.set_xlim(0, 1)
    ax.set_ylim(total + 0.55, 0)
    ax.axis("off")
    mono = dict(family="DejaVu Sans Mono")
    y = 0.0
    for k, (r, h) in enumerate(zip(rows, heights)):
        bg = FORWARD_BG if k in FORWARD_ROWS else BACKWARD_BG if k in BACKWARD_ROWS else None
        if bg is not None:
            ax.axhspan(y, y + h, color=bg, lw=0, zorder=0)
        ax.text(0.0, y + 0.125, r["pseudo"], ha="left", va="center", fontsize=9.5, **mono)
        if r["module"] is not None:
            # the function on the left, its file and line on the right: short enough not to meet
            ax.text(0.6, y + 0.125, r["function"], ha="left", va="center", fontsize=9.5, fontweight="bold")
            ax.text(1.0, y + 0.125, f"{r['file'].removeprefix('lmtrain/')}:{r['line']}", ha="right", va="center",
                    fontsize=9, color="#1f5fa8")
            text = r["text"] if len(r["text"]) <= 46 else r["text"][:45] + "…"
            ax.text(0.6, y + 0.325, text, ha="left", va="center", fontsize=8.5, color="0.3", **mono)
        y += h
    ax.plot([0.585, 0.585], [0, total], color="0.7", lw=0.8)
    ax.text(0.0, -0.12, "Fig. 12.4, the chapter's pseudo-code", ha="left", va="bottom", fontsize=10.5,
            fontweight="bold")
    ax.text(0.6, -0.12, "where lmtrain does it (function, file:line, the line)", ha="left", va="bottom", fontsize=10.5,
            fontweight="bold")
    fig.suptitle("Fig. 12.4: forward and backward computation of one pattern's Jacobian rows, in lmtrain's source",
                 fontsize=11.5)
    ax.text(0.0, total + 0.12, "Files are under lmtrain/. The plain kernels run one pattern at a time, as the "
            "pseudo-code does (quasi_hessian loops over the patterns).\nNeurons run in topological order rather "
            "than layer by layer, which covers any feed-forward network.", ha="left", va="top", fontsize=8.5,
            color="0.3")
    return fig


def main(argv=None) -> int:
    args = _common.parse_args(argv, __doc__)
    rows = resolve()
    for r in rows:
        where = f"{r['module']}.{r['function']}  {r['file']}:{r['line']}" if r["module"] else ""
        print(f"{r['pseudo']:<52} {where}")
    print(_common.save_figure(figure(rows), "fig_12_4", args.out))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
