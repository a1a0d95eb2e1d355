"""Checker of lab 1: activations, one neuron, the forward sweep, the outputs and E.

The expected values come from lmtrain's engine (``net.forward_full`` and
``net.forward``; a single neuron is a one-neuron ``lm.Network``), and every
slope is also compared with a central difference of f.
"""

from __future__ import annotations

import numpy as np

import lmtrain as lm

from .._kit import Failure, as_array, call, close, describe_net, fmt, grid, node_name, standard_networks, unpack

FORMULA = {"bipolar": ("tanh(k*net)", "k*(1 - y**2)"),
           "unipolar": ("1/(1 + exp(-k*net))", "k*y*(1 - y)"),
           "linear": ("k*net", "k")}


def prepare():
    lm.mlp([1, 1]).forward_full(np.zeros(2), np.zeros((1, 1)))


def _single(kind: str, gain: float, n_in: int = 1) -> lm.Network:
    return lm.Network(n_in, [{"inputs": tuple(range(n_in)), "activation": kind, "gain": gain}], [n_in])


def expected_activation(kind, gain, net):
    """y and s of one activation from the engine: a neuron with bias 0 and weight 1 sees net."""
    net = np.asarray(net, dtype=float)
    Y, S = _single(kind, gain).forward_full(np.array([0.0, 1.0]), net.reshape(-1, 1))
    return Y[:, 1].reshape(net.shape), S[:, 1].reshape(net.shape)


def diagnose_activation(kind, gain, net, y, s, details, where=""):
    """Raise the Failure that explains a wrong y or s of one activation."""
    y_exp, s_exp = expected_activation(kind, gain, net)
    f_text, s_text = FORMULA[kind]
    if not close(y, y_exp):
        y1, _ = expected_activation(kind, 1.0, net)
        if gain != 1.0 and close(y, y1) and not close(y1, y_exp):
            raise Failure("eq. 12.27", f"{where}y = f(net) lacks the gain: for {kind!r}, y = {f_text} "
                                       f"with k = {fmt(gain)}", details)
        if close(y, net) and not close(net, y_exp):
            raise Failure("eq. 12.27", f"{where}y is the net value itself: apply the activation, "
                                       f"y = {f_text}", details)
        raise Failure("eq. 12.27", f"{where}y = f(net) is wrong: for {kind!r}, y = {f_text} "
                                   f"(k = {fmt(gain)})", details)
    if not close(s, s_exp):
        if gain != 1.0 and close(s, s_exp / gain):
            raise Failure("eq. 12.30", f"{where}the slope lacks the gain: f(net) = {f_text} has "
                                       f"s = {s_text} (k = {fmt(gain)})", details)
        raise Failure("eq. 12.30", f"{where}the slope s = f'(net) is wrong: for {kind!r}, s = {s_text} "
                                   f"(k = {fmt(gain)})", details)


def check_activation(fn) -> str:
    nets = np.array([-2.0, -0.5, 0.0, 0.3, 1.2])
    n = 0
    for kind in ("bipolar", "unipolar", "linear"):
        for gain in (1.0, 0.5, 2.0):
            got = call(fn, kind, gain, nets.copy())
            details = [f"call:     activation({kind!r}, {gain}, net={fmt(nets)})"]
            y, s = unpack(got, 2, "activation", "eqs. 12.27, 12.30", details)
            y = as_array(y, nets.shape, "y", "eq. 12.27", details, broadcast=True)
            s = as_array(s, nets.shape, "s", "eq. 12.30", details, broadcast=True)
            y_exp, s_exp = expected_activation(kind, gain, nets)
            # the engine's slope is itself checked against a central difference of f
            h = 1e-6
            fd = (expected_activation(kind, gain, nets + h)[0] - expected_activation(kind, gain, nets - h)[0]) / (2 * h)
            assert np.allclose(fd, s_exp, atol=1e-6)
            if not (close(y, y_exp) and close(s, s_exp)):
                i = int(np.argmax(~(np.isclose(y, y_exp, rtol=1e-7, atol=1e-9)
                                    & np.isclose(s, s_exp, rtol=1e-7, atol=1e-9))))
                details = [f"call:     activation({kind!r}, {gain}, net={fmt(nets[i])})",
                           f"expected: y = {fmt(y_exp[i])}, s = {fmt(s_exp[i])}",
                           f"got:      y = {fmt(y[i])}, s = {fmt(s[i])}"]
                diagnose_activation(kind, gain, nets[i], y[i], s[i], details)
            n += 1
    return f"{n} cases: bipolar, unipolar, linear, gains 0.5, 1, 2; slopes also against finite differences"


def check_neuron(fn) -> str:
    rng = np.random.default_rng(27)
    n = 0
    for n_in in (1, 2, 3, 2, 3):
        for kind in ("bipolar", "unipolar", "linear"):
            gain = float(rng.choice([0.5, 1.0, 2.0]))
            w = grid(rng, n_in + 1)
            y_in = grid(rng, n_in)
            details = [f"call:     neuron(w={fmt(w)}, y_in={fmt(y_in)}, kind={kind!r}, gain={gain})"]
            got = unpack(call(fn, w.copy(), y_in.copy(), kind, gain), 3, "neuron", "eqs. 12.27-12.30", details)
            try:
                net, y, s = (float(np.asarray(v, dtype=float).reshape(-1)[0]) if np.size(v) == 1 else np.nan
                             for v in got)
            except (TypeError, ValueError):
                raise Failure("eqs. 12.27-12.30", "neuron should return three numbers (net, y, s)", details) from None
            net_exp = w[0] + float(w[1:] @ y_in)
            Y, S = _single(kind, gain, n_in).forward_full(w, y_in[None, :])
            y_exp, s_exp = Y[0, n_in], S[0, n_in]
            details += [f"expected: net = {fmt(net_exp)}, y = {fmt(y_exp)}, s = {fmt(s_exp)}",
                        f"got:      net = {fmt(net)}, y = {fmt(y)}, s = {fmt(s)}"]
            if not close(net, net_exp):
                if close(net, float(w[1:] @ y_in)):
                    raise Failure("eq. 12.28", "net has no bias: net = w_j,0 + sum_i w_j,i*y_j,i, where w_j,0 = w[0] "
                                               "is the weight of the constant input +1", details)
                if n_in > 0 and close(net, float(w[:-1] @ y_in)):
                    raise Failure("eq. 12.28", "weights and inputs are paired off by one: w[0] is the bias, "
                                               "w[i] goes with y_in[i-1]", details)
                raise Failure("eq. 12.28", "net = w_j,0 + sum_i w_j,i*y_j,i is wrong", details)
            diagnose_activation(kind, gain, net, y, s, details)
            n += 1
    return f"{n} neurons with 1-3 inputs, three activations, gains 0.5-2"


def check_forward(fn) -> str:
    rng = np.random.default_rng(1228)
    nets = standard_networks()
    n = 0
    for case in nets:
        network = case.net
        for _ in range(2):
            w = grid(rng, network.n_weights)
            x = grid(rng, network.n_inputs)
            Y, S = network.forward_full(w, x[None, :])
            y_exp, s_exp = Y[0], S[0]
            details = describe_net(case, w) + [f"input:    x = {fmt(x)}"]
            got = unpack(call(fn, network, w.copy(), x.copy()), 2, "forward", "eqs. 12.27-12.30", details)
            y = as_array(got[0], (network.n_nodes,), "y", "eqs. 12.27-12.28", details)
            s = as_array(got[1], (network.n_nodes,), "s", "eq. 12.30", details)
            n_in = network.n_inputs
            if not close(y[:n_in], x):
                raise Failure("§12.3.1 (nodes)", "the first network.n_inputs entries of y are the input nodes, "
                              "y[:n_inputs] = x", details + [f"expected: y = {fmt(y_exp)}", f"got:      y = {fmt(y)}"])
            bad_y = ~np.isclose(y, y_exp, rtol=1e-7, atol=1e-9)
            if bad_y.any():
                node = int(np.argmax(bad_y))
                _explain_neuron(case, w, y_exp, node, y[node], details + [
                    f"expected: y = {fmt(y_exp)}", f"got:      y = {fmt(y)}"])
            if not close(s[:n_in], 0.0 * x, atol=0.0):
                raise Failure("eq. 12.30", "input nodes have no activation: their slope entries are 0",
                              details + [f"expected: s = {fmt(s_exp)}", f"got:      s = {fmt(s)}"])
            bad_s = ~np.isclose(s, s_exp, rtol=1e-7, atol=1e-9)
            if bad_s.any():
                node = int(np.argmax(bad_s))
                unit = network.neurons[node - n_in]
                net_value = _net_value(network, w, y_exp, node)
                diagnose_activation(unit.activation, unit.gain, net_value, y[node], s[node], details + [
                    f"expected: s = {fmt(s_exp)}", f"got:      s = {fmt(s)}"],
                    where=f"neuron {node_name(network, node)} ({unit.activation}, gain {fmt(unit.gain)}): ")
            n += 1
    return f"{n} patterns on {len(nets)} networks: MLP, bridged MLP, cascade, mixed activations and gains"


def _block(network, node):
    k = node - network.n_inputs
    start = sum(1 + len(u.inputs) for u in network.neurons[:k])
    return slice(start, start + 1 + len(network.neurons[k].inputs))


def _net_value(network, w, y, node):
    unit = network.neurons[node - network.n_inputs]
    wj = w[_block(network, node)]
    return wj[0] + float(wj[1:] @ y[list(unit.inputs)])


def _explain_neuron(case, w, y_exp, node, y_got, details):
    """The first neuron whose output is wrong, with every earlier node right: say what went wrong."""
    network = case.net
    unit = network.neurons[node - network.n_inputs]
    name = node_name(network, node)
    wj = w[_block(network, node)]
    ins = list(unit.inputs)
    where = f"neuron {name} ({unit.activation}, gain {fmt(unit.gain)}): "
    f = lambda v: expected_activation(unit.activation, unit.gain, v)[0]  # noqa: E731
    net_value = wj[0] + float(wj[1:] @ y_exp[ins])
    if close(y_got, f(net_value - wj[0])):
        raise Failure("eq. 12.28", where + "net has no bias term w_j,0 (the weight of the constant input +1)", details)
    if close(y_got, net_value) and not close(net_value, f(net_value)):
        raise Failure("eq. 12.27", where + "y is the net value: apply the activation, y = f(net)", details)
    if unit.gain != 1.0 and close(y_got, expected_activation(unit.activation, 1.0, net_value)[0]):
        raise Failure("eq. 12.27", where + f"y = f(net) lacks the gain k = {fmt(unit.gain)}", details)
    sources = ", ".join(node_name(network, i) for i in ins)
    raise Failure("eqs. 12.27-12.28", where + f"y should be f(w_j,0 + sum_i w_j,i*y_j,i) over its input nodes "
                  f"({sources}, from network.neurons[{node - network.n_inputs}].inputs), with its own block of w "
                  f"(bias first)", details)


def check_outputs(fn) -> str:
    rng = np.random.default_rng(1231)
    nets = standard_networks()
    for case in nets:
        network = case.net
        X = grid(rng, (4, network.n_inputs))
        w = grid(rng, network.n_weights)
        O_exp = network.forward(w, X)
        details = describe_net(case, w) + [f"inputs:   X = {fmt(X)}"]
        O = as_array(call(fn, network, w.copy(), X.copy()), O_exp.shape, "O", "eq. 12.31", details)
        if not close(O, O_exp):
            raise Failure("eq. 12.31", "O[p, m] is the value of node network.outputs[m] for pattern p",
                          details + [f"expected: O = {fmt(O_exp)}", f"got:      O = {fmt(O)}"])
    return f"4 patterns on each of {len(nets)} networks, 1-3 outputs"


def check_total_error(fn) -> str:
    rng = np.random.default_rng(121)
    cases = [(c, grid(rng, (3, c.net.n_inputs)), None) for c in standard_networks(n_random=2)]
    X3, D3 = lm.datasets.parity(3)
    fig_12_7 = [c for c in cases if c[0].desc == "lm.mlp([3, 3, 1], gain=0.5)"][0][0]
    cases.append((fig_12_7, X3, D3))
    for case, X, D in cases:
        network = case.net
        w = grid(rng, network.n_weights)
        if D is None:
            D = grid(rng, (X.shape[0], network.n_outputs))
        e = D - network.forward(w, X)
        E_exp = 0.5 * float(np.sum(e * e))
        details = describe_net(case, w) + [f"inputs:   X = {fmt(X)}", f"targets:  D = {fmt(D)}"]
        got = call(fn, network, w.copy(), X.copy(), D.copy())
        try:
            E = float(np.asarray(got, dtype=float).reshape(()))
        except (TypeError, ValueError):
            raise Failure("eq. 12.1", f"total_error should return one number, got {type(got).__name__}",
                          details) from None
        details += [f"expected: E = {fmt(E_exp)}", f"got:      E = {fmt(E)}"]
        if not close(E, E_exp):
            if close(E, 2 * E_exp):
                raise Failure("eq. 12.1", "E = 1/2 * sum_p sum_m e_pm**2: the 1/2 is missing", details)
            P, M = D.shape
            if close(E, E_exp / P) or close(E, E_exp / (P * M)) or close(E, 2 * E_exp / (P * M)):
                raise Failure("eq. 12.1", "E is a sum over patterns and outputs, not a mean", details)
            raise Failure("eqs. 12.1-12.2", "E = 1/2 * sum_p sum_m (d_pm - o_pm)**2", details)
    return f"{len(cases)} cases, the last parity-3 on the 3-3-1 network of Fig. 12.7"


CHECKS = {
    "activation": check_activation,
    "neuron": check_neuron,
    "forward": check_forward,
    "outputs": check_outputs,
    "total_error": check_total_error,
}
