"""A worked trace of one pattern: forward pass, unit-δ backward passes and the
Jacobian rows, number by number, for checking the arithmetic by hand.

This is a deliberately plain, scalar re-computation of §12.3.1 — Python floats
and ``math``, one neuron and one weight at a time — written for reading, not
speed. It shares no code with the compiled engine, so the cross-check printed
at the end (against :meth:`lmtrain.Network.jacobian`) is a real one:

* forward (eqs. 12.27–12.30): net_j = w_j0 + Σ_i w_ji·y_ji, y_j = f_j(net_j),
  s_j = f_j'(net_j);
* backward for output m with a unit error (eqs. 12.35, 12.47–12.52):
  δ_m,o = s_o at the output neuron o; every other neuron k collects
  δ_m,k = s_k · Σ_j δ_m,j · w_jk over the neurons j it feeds;
* Jacobian row (eq. 12.36): ∂e_m/∂w_ji = −δ_m,j · y_ji, with y = 1 for the bias.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ._validation import as_float_array, as_weights
from .network import Network


def _activate(name: str, gain: float, net: float) -> tuple[float, float]:
    if name == "bipolar":
        y = math.tanh(gain * net)
        return y, gain * (1.0 - y * y)
    if name == "unipolar":
        y = 1.0 / (1.0 + math.exp(-gain * net))
        return y, gain * y * (1.0 - y)
    return gain * net, gain


@dataclass
class Trace:
    """Everything computed for one pattern; ``str(trace)`` is the printed trace.

    Attributes
    ----------
    y, s : ndarray (n_nodes,)
        Node values (inputs first) and slopes (0 for inputs).
    net : ndarray (n_nodes,)
        Net values of the neurons (NaN for inputs).
    delta : ndarray (M, n_nodes)
        δ_m,j of every output's unit-error backward pass (0 where output m does
        not depend on neuron j).
    rows : ndarray (M, N)
        The Jacobian rows of this pattern, ∂e_m/∂w.
    engine_difference : float
        Largest |rows − net.jacobian(w, x)|: the cross-check.
    text : str
    """

    y: np.ndarray
    s: np.ndarray
    net: np.ndarray
    delta: np.ndarray
    rows: np.ndarray
    errors: np.ndarray | None
    engine_difference: float
    text: str

    def __str__(self):
        return self.text


def trace(net: Network, w, x, d=None, *, digits: int = 6) -> Trace:
    """Trace the chapter's Jacobian computation for one pattern ``x``.

    Parameters
    ----------
    net : Network
    w : array_like (N,)
        Weights.
    x : array_like (n_inputs,)
        One input pattern.
    d : array_like (M,), optional
        Desired outputs; adds the errors e_m = d_m − o_m and this pattern's
        share of E = ½Σe² and of g = Jᵀe.
    digits : int
        Significant digits printed.
    """
    if not isinstance(net, Network):
        raise TypeError(f"net must be a lmtrain Network, got {type(net).__name__}")
    w = as_weights(w, net.n_weights)
    x = as_float_array(x, "x", 1)
    if x.shape[0] != net.n_inputs:
        raise ValueError(f"x must hold one value per network input ({net.n_inputs}), got {x.shape[0]}")
    if d is not None:
        d = as_float_array(d, "d", 1)
        if d.shape[0] != net.n_outputs:
            raise ValueError(f"d must hold one value per network output ({net.n_outputs}), got {d.shape[0]}")
    if not isinstance(digits, int) or not 1 <= digits <= 17:
        raise ValueError(f"digits must be an integer in [1, 17], got {digits!r}")

    spec = net.to_dict()
    n_in = spec["n_inputs"]
    neurons = spec["neurons"]
    n_nodes = n_in + len(neurons)
    names = [net.node_name(i) for i in range(n_nodes)]
    fmt = f"{{:.{digits}g}}"

    def f(v):
        return fmt.format(v)

    # weight offsets: neuron by neuron, bias first, then inputs in order
    offset = []
    pos = 0
    for nrn in neurons:
        offset.append(pos)
        pos += 1 + len(nrn["inputs"])

    lines = [f"Trace of one pattern through {net!r}", ""]
    lines.append("Forward pass (eqs. 12.27-12.30): net_j = w_j0 + sum_i w_ji*y_ji, y_j = f(net_j), s_j = f'(net_j)")
    y = np.zeros(n_nodes)
    s = np.zeros(n_nodes)
    netv = np.full(n_nodes, np.nan)
    for i in range(n_in):
        y[i] = x[i]
        lines.append(f"  {names[i]} = {f(x[i])}")
    for j, nrn in enumerate(neurons):
        node = n_in + j
        base = offset[j]
        total = w[base]
        terms = [f"{f(w[base])}"]
        for k, src in enumerate(nrn["inputs"]):
            wk = w[base + 1 + k]
            total += wk * y[src]
            terms.append(f"{f(wk)}*{f(y[src])}")
        netv[node] = total
        y[node], s[node] = _activate(nrn["activation"], nrn["gain"], total)
        act = {"bipolar": "tanh", "unipolar": "sigmoid", "linear": "linear"}[nrn["activation"]]
        lines.append(f"  {names[node]}: net = {' + '.join(terms)} = {f(total)}")
        lines.append(f"      y = {act}({f(nrn['gain'])}*net) = {f(y[node])},   s = {f(s[node])}")

    outputs = spec["outputs"]
    M = len(outputs)
    delta = np.zeros((M, n_nodes))
    rows = np.zeros((M, net.n_weights))
    wnames = net.weight_names()
    for m, o in enumerate(outputs):
        lines.append("")
        lines.append(f"Backward pass for output o{m + 1} = {names[o]} with a unit error (eqs. 12.35, 12.47-12.52)")
        acc = np.zeros(n_nodes)  # sum of delta_j * w_jk collected at node k
        terms = [[] for _ in range(n_nodes)]  # the products in that sum, as text
        reached = np.zeros(n_nodes, dtype=bool)
        acc[o] = 1.0
        reached[o] = True
        for j in range(len(neurons) - 1, -1, -1):
            node = n_in + j
            if not reached[node]:
                continue
            delta[m, node] = acc[node] * s[node]
            if node == o:
                lines.append(f"  delta[{names[node]}] = s = {f(delta[m, node])}")
            else:
                lines.append(f"  delta[{names[node]}] = s * ({' + '.join(terms[node])}) = "
                             f"{f(s[node])} * {f(acc[node])} = {f(delta[m, node])}")
            for k, src in enumerate(neurons[j]["inputs"]):
                if src >= n_in:
                    wk = w[offset[j] + 1 + k]
                    acc[src] += delta[m, node] * wk
                    terms[src].append(f"delta[{names[node]}]*{wnames[offset[j] + 1 + k]} = {f(delta[m, node])}*{f(wk)}")
                    reached[src] = True
        lines.append(f"  Jacobian row of output o{m + 1} (eq. 12.36): de/dw_ji = -delta_j * y_ji")
        for j, nrn in enumerate(neurons):
            node = n_in + j
            base = offset[j]
            rows[m, base] = -delta[m, node]
            for k, src in enumerate(nrn["inputs"]):
                rows[m, base + 1 + k] = -delta[m, node] * y[src]
            for c in range(1 + len(nrn["inputs"])):
                src_y = 1.0 if c == 0 else y[nrn["inputs"][c - 1]]
                lines.append(f"    {wnames[base + c]:<16} -{f(delta[m, node])} * {f(src_y)} = {f(rows[m, base + c])}")

    errors = None
    if d is not None:
        errors = np.array([d[m] - y[o] for m, o in enumerate(outputs)])
        lines.append("")
        lines.append("Errors e_m = d_m - o_m (eq. 12.2) and this pattern's share of E = 1/2 sum e^2 (eq. 12.1)")
        for m, o in enumerate(outputs):
            lines.append(f"  e{m + 1} = {f(d[m])} - {f(y[o])} = {f(errors[m])}")
        lines.append(f"  E_p = {f(0.5 * float(errors @ errors))}")
        g = rows.T @ errors
        lines.append("  its share of the gradient g = J^T e (eq. 12.18):")
        for i, name in enumerate(wnames):
            lines.append(f"    {name:<16} {f(g[i])}")

    J = net.jacobian(w, x.reshape(1, -1))
    diff = float(np.max(np.abs(J - rows))) if rows.size else 0.0
    lines.append("")
    lines.append(f"Cross-check with the compiled engine (net.jacobian): largest |difference| = {diff:.3g}")
    return Trace(y, s, netv, delta, rows, errors, diff, "\n".join(lines))
