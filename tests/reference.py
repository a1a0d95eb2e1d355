"""Slow, obviously-correct oracle for the engine tests.

Nothing here imports :mod:`lmtrain.engine`. A network is read only through its
plain description (``Network.to_dict()`` or an equal dict): the number of
inputs, for each neuron its input nodes, activation name and gain, and the
output nodes. From that the functions below recompute, with Python loops over
patterns and neurons:

* the forward pass (eqs. 12.27–12.30), with the activations written out here;
* the errors e_pm = d_pm − o_pm and E = ½ Σ e² (eq. 12.1);
* the Jacobian J[(p, m), i] = ∂e_pm/∂w_i by unit-δ backpropagation written from
  eqs. 12.35–12.36, in "pull" form (each δ is the sum over the neurons the
  node feeds, times its own slope), where the engine pushes δ forward;
* central finite differences for Jacobians, gradients and Hessians, and a
  scale-aware checker that names the entry that failed.

Layout conventions match the engine: the weights of each neuron are stored
contiguously, bias first, then one weight per listed input; Jacobian rows are
pattern-major (row p·M + m).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np


# --------------------------------------------------------------------- topology
@dataclass(frozen=True)
class Plain:
    """A network description in plain Python types."""

    n_inputs: int
    inputs: tuple  # inputs[j] = tuple of source nodes of neuron j
    activation: tuple  # activation[j] in {"bipolar", "unipolar", "linear"}
    gain: tuple  # gain[j] > 0
    outputs: tuple  # output node indices, in output order
    offsets: tuple = field(default=())  # offsets[j] = index of neuron j's bias weight

    @property
    def n_neurons(self):
        return len(self.inputs)

    @property
    def n_nodes(self):
        return self.n_inputs + len(self.inputs)

    @property
    def n_outputs(self):
        return len(self.outputs)

    @property
    def n_weights(self):
        return sum(1 + len(ins) for ins in self.inputs)


def plain(net) -> Plain:
    """Read a ``Network`` (through ``to_dict``) or an equal dict into :class:`Plain`."""
    d = net.to_dict() if hasattr(net, "to_dict") else net
    inputs = tuple(tuple(int(i) for i in s["inputs"]) for s in d["neurons"])
    offsets = []
    pos = 0
    for ins in inputs:
        offsets.append(pos)
        pos += 1 + len(ins)
    return Plain(
        n_inputs=int(d["n_inputs"]),
        inputs=inputs,
        activation=tuple(str(s["activation"]) for s in d["neurons"]),
        gain=tuple(float(s["gain"]) for s in d["neurons"]),
        outputs=tuple(int(o) for o in d["outputs"]),
        offsets=tuple(offsets),
    )


# ------------------------------------------------------------------ activations
def activate(name, gain, net):
    """Output y = f(net) and slope s = f'(net) of one neuron, one pattern.

    Written out directly from the definitions (not in terms of y), so it is an
    independent check of the engine's slope-from-output formulas.
    """
    if name == "bipolar":
        y = np.tanh(gain * net)
        with np.errstate(over="ignore"):
            return y, gain / np.cosh(gain * net) ** 2
    if name == "unipolar":
        with np.errstate(over="ignore"):
            ez = np.exp(-gain * net)
            y = 1.0 / (1.0 + ez)
            s = gain * ez / (1.0 + ez) ** 2 if np.isfinite(ez) else 0.0
        return y, s
    if name == "linear":
        return gain * net, gain
    raise ValueError(f"reference: unknown activation {name!r}")


# ---------------------------------------------------------------------- forward
def forward_full(net, w, X):
    """Every node value and every slope, plain loops.

    Returns ``(Y, S)`` of shape (P, n_nodes): columns follow node numbering
    (inputs first); input slopes are 0.
    """
    t = plain(net)
    w = np.asarray(w, dtype=float)
    X = np.asarray(X, dtype=float).reshape(-1, t.n_inputs)
    P = X.shape[0]
    Y = np.zeros((P, t.n_nodes))
    S = np.zeros((P, t.n_nodes))
    for p in range(P):
        for i in range(t.n_inputs):
            Y[p, i] = X[p, i]
        for j in range(t.n_neurons):
            base = t.offsets[j]
            net_j = w[base]  # bias, input y = 1
            for k, src in enumerate(t.inputs[j]):
                net_j += w[base + 1 + k] * Y[p, src]
            y, s = activate(t.activation[j], t.gain[j], net_j)
            Y[p, t.n_inputs + j] = y
            S[p, t.n_inputs + j] = s
    return Y, S


def forward(net, w, X):
    """Network outputs O, shape (P, M)."""
    t = plain(net)
    Y, _ = forward_full(net, w, X)
    return Y[:, list(t.outputs)]


def errors(net, w, X, D):
    """Error vector e, pattern-major: e[p·M + m] = d_pm − o_pm (eq. 12.2)."""
    O = forward(net, w, X)
    D = np.asarray(D, dtype=float).reshape(O.shape)
    return (D - O).reshape(-1)


def half_sse(net, w, X, D):
    """E = ½ Σ_p Σ_m e_pm² (eq. 12.1)."""
    e = errors(net, w, X, D)
    total = 0.0
    for v in e:
        total += v * v
    return 0.5 * total


# ------------------------------------------------------------ backpropagation
def backprop_jacobian(net, w, X, *, output_slope=True):
    """J[(p, m), i] = ∂e_pm/∂w_i by unit-δ backpropagation, plain loops.

    For each pattern p and output m (Fig. 12.4): δ at output node o is its slope
    s_o (eq. 12.35 with a unit error); for every other neuron j, in reverse
    order, δ_j = s_j · Σ_k δ_k · w_kj over the neurons k that take j as input
    (eqs. 12.46–12.52); neurons that do not reach o get δ = 0. Entries are
    −δ_j · y_ji with y = 1 for the bias (eq. 12.36).

    ``output_slope=False`` starts δ at 1 instead of s_o: a deliberately wrong
    Jacobian (a dropped slope factor) for testing the checker.
    """
    t = plain(net)
    w = np.asarray(w, dtype=float)
    Y, S = forward_full(net, w, X)
    P, M, N = Y.shape[0], t.n_outputs, t.n_weights
    # consumers[node] = list of (neuron k, position of node in k's inputs)
    consumers = [[] for _ in range(t.n_nodes)]
    for k in range(t.n_neurons):
        for pos, src in enumerate(t.inputs[k]):
            consumers[src].append((k, pos))
    J = np.zeros((P * M, N))
    for p in range(P):
        for m in range(M):
            delta = [0.0] * t.n_neurons
            o = t.outputs[m]
            for j in range(t.n_neurons - 1, -1, -1):
                node = t.n_inputs + j
                if node == o:
                    delta[j] = S[p, node] if output_slope else 1.0
                elif node < o:
                    back = 0.0
                    for k, pos in consumers[node]:
                        back += delta[k] * w[t.offsets[k] + 1 + pos]
                    delta[j] = S[p, node] * back
                # node > o: cannot influence output o, delta stays 0
            row = p * M + m
            for j in range(t.n_neurons):
                base = t.offsets[j]
                J[row, base] = -delta[j]
                for k, src in enumerate(t.inputs[j]):
                    J[row, base + 1 + k] = -delta[j] * Y[p, src]
    return J


# ----------------------------------------------------------- finite differences
def fd_jacobian(f, w, h=1e-6):
    """Central differences of a vector function: J[:, i] ≈ (f(w + h eᵢ) − f(w − h eᵢ)) / 2h."""
    w = np.asarray(w, dtype=float)
    f0 = np.asarray(f(w), dtype=float).reshape(-1)
    J = np.empty((f0.size, w.size))
    for i in range(w.size):
        wp = w.copy()
        wm = w.copy()
        wp[i] += h
        wm[i] -= h
        J[:, i] = (np.asarray(f(wp), dtype=float).reshape(-1) - np.asarray(f(wm), dtype=float).reshape(-1)) / (2 * h)
    return J


def fd_gradient(f, w, h=1e-6):
    """Central differences of a scalar function."""
    return fd_jacobian(lambda v: np.atleast_1d(f(v)), w, h)[0]


def fd_hessian(f, w, h=1e-4):
    """Central second differences of a scalar function:

    H_ij ≈ [f(w+hᵢ+hⱼ) − f(w+hᵢ−hⱼ) − f(w−hᵢ+hⱼ) + f(w−hᵢ−hⱼ)] / 4h²  (symmetric).
    """
    w = np.asarray(w, dtype=float)
    n = w.size
    H = np.empty((n, n))

    def at(i, si, j, sj):
        v = w.copy()
        v[i] += si * h
        v[j] += sj * h
        return float(f(v))

    for i in range(n):
        for j in range(i, n):
            H[i, j] = (at(i, 1, j, 1) - at(i, 1, j, -1) - at(i, -1, j, 1) + at(i, -1, j, -1)) / (4 * h * h)
            H[j, i] = H[i, j]
    return H


def fd_directional(f, w, u, h=1e-6):
    """Central difference of f along direction u: (f(w + h u) − f(w − h u)) / 2h."""
    w = np.asarray(w, dtype=float)
    u = np.asarray(u, dtype=float)
    return (np.asarray(f(w + h * u), dtype=float) - np.asarray(f(w - h * u), dtype=float)) / (2 * h)


# ----------------------------------------------------------------- the checker
@dataclass
class ErrorRecord:
    """Largest relative error seen and how many comparisons contributed."""

    worst: float = 0.0
    count: int = 0
    where: str = ""

    def add(self, err, where=""):
        self.count += 1
        if err > self.worst:
            self.worst = float(err)
            self.where = where


#: Jacobian vs central finite differences, filled by the property tests.
FD_RECORD = ErrorRecord()


def relative_error(A, B):
    """Scale-aware relative error max|A − B| / max(1, max|B|), and the worst index."""
    A = np.asarray(A, dtype=float)
    B = np.asarray(B, dtype=float)
    if A.shape != B.shape:
        raise AssertionError(f"shape mismatch: {A.shape} vs reference {B.shape}")
    if A.size == 0:
        return 0.0, ()
    if not np.all(np.isfinite(A)):
        idx = np.unravel_index(int(np.argmin(np.isfinite(A))), A.shape)
        return math.inf, tuple(int(i) for i in idx)
    diff = np.abs(A - B)
    idx = np.unravel_index(int(np.argmax(diff)), diff.shape)
    scale = max(1.0, float(np.max(np.abs(B))))
    return float(diff[idx]) / scale, tuple(int(i) for i in idx)


def check_close(A, B, rtol, what="value"):
    """Assert :func:`relative_error` (A, B) ≤ rtol, naming the worst entry; return the error."""
    err, idx = relative_error(A, B)
    if not err <= rtol:
        a = float(np.asarray(A, dtype=float)[idx])
        b = float(np.asarray(B, dtype=float)[idx])
        raise AssertionError(
            f"{what}: relative error {err:.3e} exceeds {rtol:.1e} at index {idx}: got {a!r}, reference {b!r}"
        )
    return err


def check_jacobian(J, J_fd, rtol=1e-6, *, n_outputs=1, names=None, record=None, raise_error=True):
    """Compare a Jacobian with a reference (finite differences or backprop).

    The measure is max|J − J_fd| / max(1, max|J_fd|): relative to the largest
    entry, absolute when every entry is below 1 (saturated neurons give tiny
    entries whose finite-difference noise is not meaningful relative to
    themselves).

    Returns the worst relative error. When it exceeds ``rtol`` raises
    ``AssertionError`` naming the row (pattern, output) and the weight, or only
    returns the error when ``raise_error=False``. With ``record`` (an
    :class:`ErrorRecord`) the error is recorded first.
    """
    err, idx = relative_error(J, J_fd)
    where = ""
    if idx:
        r, c = idx
        p, m = divmod(r, n_outputs)
        wname = names[c] if names is not None else f"w{c}"
        where = f"row {r} (pattern {p}, output {m}), column {c} ({wname})"
    if record is not None:
        record.add(err, where)
    if raise_error and not err <= rtol:
        r, c = idx
        raise AssertionError(
            f"Jacobian check failed: relative error {err:.3e} > {rtol:.1e} at {where}: "
            f"J = {float(np.asarray(J)[r, c])!r}, reference = {float(np.asarray(J_fd)[r, c])!r}"
        )
    return err
