"""Checker of lab 2: unit-δ backward pass, one Jacobian row, the whole Jacobian.

The expected δ are read off the engine's Jacobian: the bias of neuron j sees
the input +1, so by eq. 12.36 δ_m,j = −J[(p, m), bias of j]. The whole J is
compared with ``net.jacobian`` and with central differences of e = d − o.

A wrong δ is explained neuron by neuron, from the output back: each neuron's
δ is recomputed from the student's own δ of the neurons it feeds, so the
message points at the first neuron whose own step is wrong.
"""

from __future__ import annotations

import numpy as np

import lmtrain as lm

from .._kit import (Failure, as_array, call, close, describe_net, fd_jacobian, fmt, grid, node_name,
                    standard_networks, weight_names)


def prepare():
    net = lm.mlp([1, 1])
    net.forward_full(np.zeros(2), np.zeros((1, 1)))
    net.jacobian(np.zeros(2), np.zeros((1, 1)))


def bias_columns(network) -> dict:
    """Node of each neuron -> the index of its bias weight."""
    return {node: i for i, (node, src) in enumerate(network.weight_info()) if src is None}


def expected_deltas(network, w, x) -> np.ndarray:
    """δ_m,j, shape (M, n_nodes), for one pattern: minus the bias column of the engine's Jacobian."""
    J = network.jacobian(w, x[None, :])
    delta = np.zeros((network.n_outputs, network.n_nodes))
    for node, i in bias_columns(network).items():
        delta[:, node] = -J[:, i]
    return delta


def _weight(network, w, j, k) -> float:
    """w_j,k: the weight from node k into neuron node j (0 when there is no such connection)."""
    for i, (node, src) in enumerate(network.weight_info()):
        if node == j and src == k:
            return float(w[i])
    return 0.0


def _cases(seed):
    rng = np.random.default_rng(seed)
    for case in standard_networks(linear=True):
        for _ in range(2):
            yield case, grid(rng, case.net.n_weights), grid(rng, case.net.n_inputs)


def check_unit_deltas(fn) -> str:
    count = 0
    for case, w, x in _cases(1235):
        network = case.net
        Y, S = network.forward_full(w, x[None, :])
        s = S[0]
        expected = expected_deltas(network, w, x)
        for m in range(network.n_outputs):
            details = describe_net(case, w) + [f"input:    x = {fmt(x)}", f"slopes:   s = {fmt(s)}",
                                               f"call:     unit_deltas(network, w, s, m={m})"]
            got = as_array(call(fn, network, w.copy(), s.copy(), m), (network.n_nodes,), "delta",
                           "eqs. 12.47-12.52", details)
            neurons = slice(network.n_inputs, None)
            if not close(got[neurons], expected[m, neurons]):
                _explain_deltas(network, w, s, m, got, details + [
                    f"expected: delta = {fmt(expected[m])}", f"got:      delta = {fmt(got)}"])
            count += 1
    return f"{count} backward passes on MLP, bridged MLP and cascade networks, every output of 1-3"


def _explain_deltas(network, w, s, m, got, details):
    """Find the first neuron, from output m back, whose own step is wrong, and say which equation it breaks."""
    n_in = network.n_inputs
    o = network.outputs[m]
    on = node_name(network, o)
    if not close(got[o], s[o]):
        if close(got[o], 1.0) and not close(s[o], 1.0):
            raise Failure("eq. 12.47", f"at the output neuron {on}, delta = s_{on} = {fmt(s[o])} (the unit error "
                                       f"times the slope); got 1: the slope is missing", details)
        if close(got[o], -s[o]):
            raise Failure("eq. 12.47", f"at the output neuron {on}, delta = +s_{on}: the unit error is +1, the "
                                       f"minus sign of eq. 12.36 comes later", details)
        raise Failure("eq. 12.47", f"at the output neuron {on} of output m={m}, delta = s_{on} = {fmt(s[o])}",
                      details)
    for j in range(network.n_nodes - 1, o, -1):
        if not close(got[j], 0.0):
            what = "another output neuron" if j in network.outputs else "a neuron after the output"
            raise Failure("eq. 12.48", f"{node_name(network, j)} is {what}: it does not lead to output "
                                       f"{on}, so its delta is 0", details)
    for k in range(o - 1, n_in - 1, -1):
        consumers = [j for j in range(k + 1, o + 1) if k in network.neurons[j - n_in].inputs]
        total = sum(got[j] * _weight(network, w, j, k) for j in consumers)
        if close(got[k], s[k] * total):
            continue
        kn = node_name(network, k)
        terms = " + ".join(f"delta[{node_name(network, j)}]*w[{node_name(network, j)},{kn}]" for j in consumers)
        terms = terms or "nothing: no neuron takes it as input"
        here = [f"neuron {kn}: s = {fmt(s[k])}, it feeds {', '.join(node_name(network, j) for j in consumers) or 'none'}; "
                f"with your own later deltas the sum is {terms} = {fmt(total)}"]
        if close(got[k], total) and not close(total, s[k] * total):
            raise Failure("eqs. 12.50, 12.52", f"neuron {kn}: the sum of delta*w it collects must be multiplied "
                                               f"by its slope s_{kn}", details + here)
        raise Failure("eqs. 12.49, 12.51", f"neuron {kn}: delta = s_{kn} * sum_j delta_j * w_j,{kn} over exactly "
                                           f"the neurons j that take {kn} as input", details + here)
    raise Failure("eqs. 12.47-12.52", "delta differs from the unit-error backward pass", details)


def check_jacobian_row(fn) -> str:
    count = 0
    for case, w, x in _cases(1236):
        network = case.net
        Y, _ = network.forward_full(w, x[None, :])
        y = Y[0]
        J = network.jacobian(w, x[None, :])
        deltas = expected_deltas(network, w, x)
        names = weight_names(network)
        for m in range(network.n_outputs):
            details = describe_net(case, w) + [f"input:    x = {fmt(x)}", f"nodes:    y = {fmt(y)}",
                                               f"deltas:   delta = {fmt(deltas[m])}  (output m={m})"]
            row = as_array(call(fn, network, y.copy(), deltas[m].copy()), (network.n_weights,), "row",
                           "eq. 12.36", details)
            if close(row, J[m]):
                count += 1
                continue
            details += [f"expected: row = {fmt(J[m])}", f"got:      row = {fmt(row)}"]
            if close(row, -J[m]):
                raise Failure("eq. 12.36", "every entry has the wrong sign: d e/d w_j,i = -delta_j * y_j,i, "
                                           "because e = d - o falls when o rises", details)
            bias = sorted(bias_columns(network).values())
            others = [i for i in range(network.n_weights) if i not in bias]
            if close(row[others], J[m, others]):
                i = next(i for i in bias if not close(row[i], J[m, i]))
                raise Failure("eq. 12.36 with 12.29", f"the bias entries are wrong ({names[i]}: expected "
                                                      f"{fmt(J[m, i])}, got {fmt(row[i])}): the bias weight sees "
                                                      f"the constant input y_j,0 = +1, so its entry is -delta_j",
                              details)
            i = int(np.argmax(~np.isclose(row, J[m], rtol=1e-7, atol=1e-9)))
            node, src = network.weight_info()[i]
            y_src = 1.0 if src is None else y[src]
            raise Failure("eq. 12.36", f"entry {i} ({names[i]}) should be -delta[{node_name(network, node)}] * "
                                       f"y[{'bias' if src is None else node_name(network, src)}] = "
                                       f"-({fmt(deltas[m, node])}) * {fmt(y_src)} = {fmt(J[m, i])}, got {fmt(row[i])}",
                          details)
    return f"{count} rows on MLP, bridged MLP and cascade networks, every output"


def check_jacobian(fn) -> str:
    rng = np.random.default_rng(1216)
    worst_fd = 0.0
    nets = standard_networks(linear=True)
    for case in nets:
        network = case.net
        P = 3
        w = grid(rng, network.n_weights)
        X = grid(rng, (P, network.n_inputs))
        M, N = network.n_outputs, network.n_weights
        J_exp = network.jacobian(w, X)
        J_fd = fd_jacobian(lambda v: -network.forward(v, X).ravel(), w)  # e = d - o, so de/dw = -do/dw
        details = describe_net(case, w) + [f"inputs:   X = {fmt(X)}"]
        J = as_array(call(fn, network, w.copy(), X.copy()), (P * M, N), "J", "eq. 12.16", details)
        worst_fd = max(worst_fd, float(np.max(np.abs(J - J_fd))))
        if close(J, J_exp) and np.allclose(J, J_fd, rtol=1e-5, atol=1e-6):
            continue
        shown = details + [f"expected: J = {fmt(J_exp)}", f"got:      J = {fmt(J)}"]
        if close(J, -J_exp):
            raise Failure("eq. 12.36", "every entry has the wrong sign: J = d e/d w with e = d - o, so "
                                       "J = -d o/d w", shown)
        output_major = J_exp.reshape(P, M, N).transpose(1, 0, 2).reshape(P * M, N)
        if M > 1 and close(J, output_major):
            raise Failure("eq. 12.16", "the rows are output-major; J is pattern-major: row p*M + m is "
                                       "pattern p, output m", shown)
        bad = ~np.isclose(J, J_exp, rtol=1e-7, atol=1e-9)
        r, i = (int(v) for v in np.argwhere(bad)[0])
        p, m = divmod(r, M)
        raise Failure("eq. 12.36", f"row {r} (pattern p={p}, output m={m}), entry {i} ({weight_names(network)[i]}) "
                                   f"is wrong: d e_p,m / d w_i = {fmt(J_exp[r, i])} (engine), "
                                   f"{fmt(J_fd[r, i])} (central difference), got {fmt(J[r, i])}",
                      details + [f"expected row {r}: {fmt(J_exp[r])}", f"got row {r}:      {fmt(J[r])}"])
    return (f"3 patterns on each of {len(nets)} networks, 1-3 outputs; equal to the engine's J, and to "
            f"central differences within {worst_fd:.0e}")


CHECKS = {
    "unit_deltas": check_unit_deltas,
    "jacobian_row": check_jacobian_row,
    "jacobian": check_jacobian,
}
