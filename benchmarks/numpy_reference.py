"""Plain NumPy reference for layered MLPs: forward pass, Jacobian, Q = JᵀJ, g = Jᵀe.

This is the "textbook" way to write the computation: one weight matrix per layer,
patterns as rows, every step a NumPy array expression (matrix products go to
BLAS). It exists to be compared against lmtrain's compiled kernels, so it shares
nothing with lmtrain except the conventions below, and it imports only NumPy.

Conventions (the same as lmtrain's):

* ``sizes = [n_in, n_1, ..., n_L]`` — a fully connected layered network.
* Flat weight vector ``w``: layer by layer, neuron by neuron; each neuron's bias
  first, then its inputs in order. Layer l therefore occupies a contiguous slice
  of ``w`` that reshapes to an (n_l, 1 + n_{l-1}) matrix ``[b | W]``.
* Activations ``"bipolar"`` tanh(k·net), ``"unipolar"`` 1/(1+exp(−k·net)) and
  ``"linear"`` k·net, with gain k; ``activation``/``gain`` apply to every
  layer and ``output_activation``/``output_gain`` override the output layer
  (as in :func:`lmtrain.mlp`).
* Errors e = d − o, so J = ∂e/∂w = −∂o/∂w; rows of J are pattern-major
  (row p·M + m), E = ½ Σ e².

Functions take ``(sizes, w, X[, D], **activations)`` with X of shape (P, n_in)
and D of shape (P, M) (or (P,) when M = 1).
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "n_weights", "layer_slices", "unpack", "pack",
    "forward", "forward_layers", "errors", "error", "jacobian", "quasi_hessian",
]

_NAMES = {
    "bipolar": "bipolar", "tanh": "bipolar",
    "unipolar": "unipolar", "sigmoid": "unipolar", "logistic": "unipolar",
    "linear": "linear", "identity": "linear",
}


# ------------------------------------------------------------------ weights
def n_weights(sizes) -> int:
    """Number of weights (biases included) of the layered network ``sizes``."""
    return sum(n_out * (n_in + 1) for n_in, n_out in zip(sizes[:-1], sizes[1:]))


def layer_slices(sizes) -> list[tuple[int, int, int, int]]:
    """``(start, stop, n_out, n_in)`` of every layer's block in the flat weight vector."""
    out, start = [], 0
    for n_in, n_out in zip(sizes[:-1], sizes[1:]):
        stop = start + n_out * (n_in + 1)
        out.append((start, stop, n_out, n_in))
        start = stop
    return out


def unpack(sizes, w) -> list[tuple[np.ndarray, np.ndarray]]:
    """Per layer ``(b, W)``: bias (n_out,) and weights (n_out, n_in), views into ``w``."""
    w = np.asarray(w, dtype=np.float64)
    if w.ndim != 1 or w.shape[0] != n_weights(sizes):
        raise ValueError(f"w must have shape ({n_weights(sizes)},) for sizes {list(sizes)}, got {w.shape}")
    layers = []
    for start, stop, n_out, n_in in layer_slices(sizes):
        bw = w[start:stop].reshape(n_out, n_in + 1)
        layers.append((bw[:, 0], bw[:, 1:]))
    return layers


def pack(sizes, layers) -> np.ndarray:
    """Inverse of :func:`unpack`: flat weight vector from per-layer ``(b, W)``."""
    parts = [np.column_stack([np.asarray(b, float).reshape(-1), np.asarray(W, float)]).reshape(-1)
             for b, W in layers]
    w = np.concatenate(parts)
    if w.shape[0] != n_weights(sizes):
        raise ValueError(f"layers do not match sizes {list(sizes)}")
    return w


# -------------------------------------------------------------- activations
def _layer_acts(sizes, activation, gain, output_activation, output_gain):
    L = len(sizes) - 1
    acts = [(_NAMES[activation], float(gain))] * L
    acts[-1] = (
        _NAMES[output_activation if output_activation is not None else activation],
        float(output_gain if output_gain is not None else gain),
    )
    return acts


def _apply(name, k, net):
    """Output and slope (in terms of the output) of one layer, overwriting nothing."""
    if name == "bipolar":
        y = np.tanh(k * net)
        return y, k * (1.0 - y * y)
    if name == "unipolar":
        y = 1.0 / (1.0 + np.exp(-k * net))
        return y, k * y * (1.0 - y)
    return k * net, np.full_like(net, k)


# ------------------------------------------------------------------ forward
def forward_layers(sizes, w, X, activation="bipolar", gain=1.0, output_activation=None, output_gain=None):
    """Every layer's outputs and slopes.

    Returns ``(ys, ss)``: ``ys[0]`` is X, ``ys[l]`` (P, n_l) the outputs of layer
    l and ``ss[l]`` its slopes f'(net) (``ss[0]`` is None).
    """
    X = np.asarray(X, dtype=np.float64)
    layers = unpack(sizes, w)
    acts = _layer_acts(sizes, activation, gain, output_activation, output_gain)
    ys, ss = [X], [None]
    y = X
    for (b, W), (name, k) in zip(layers, acts):
        net = y @ W.T
        net += b
        y, s = _apply(name, k, net)
        ys.append(y)
        ss.append(s)
    return ys, ss


def forward(sizes, w, X, **act):
    """Network outputs, shape (P, M)."""
    return forward_layers(sizes, w, X, **act)[0][-1]


def errors(sizes, w, X, D, **act):
    """Error vector e = d − o, pattern-major, shape (P·M,)."""
    o = forward(sizes, w, X, **act)
    return (np.asarray(D, dtype=np.float64).reshape(o.shape) - o).reshape(-1)


def error(sizes, w, X, D, **act) -> float:
    """E = ½ Σ_p Σ_m (d_pm − o_pm)²."""
    e = errors(sizes, w, X, D, **act)
    return 0.5 * float(e @ e)


# ----------------------------------------------------------------- Jacobian
def _jacobian_from(sizes, layers, ys, ss):
    """J (P·M, N) by unit-δ backpropagation, vectorised over patterns and outputs.

    δ has shape (P, M, n_l): for output m the backward pass starts with a unit
    error at output m only, δ_L[:, m, m] = s_L[:, m], then
    δ_{l−1} = (δ_l W_l) ⊙ s_{l−1}; the block of layer l is −δ_l ⊗ [1, y_{l−1}].
    """
    P = ys[0].shape[0]
    M = sizes[-1]
    N = n_weights(sizes)
    J = np.empty((P, M, N))
    delta = np.zeros((P, M, M))
    idx = np.arange(M)
    delta[:, idx, idx] = ss[-1]
    slices = layer_slices(sizes)
    for l in range(len(slices), 0, -1):
        start, stop, n_out, n_in = slices[l - 1]
        y_prev = ys[l - 1]
        block = J[:, :, start:stop].reshape(P, M, n_out, n_in + 1)
        if not np.may_share_memory(block, J):  # never: splitting the contiguous last axis is a view
            raise RuntimeError("Jacobian block is not a view")
        np.negative(delta, out=block[..., 0])
        np.multiply(delta[..., None], y_prev[:, None, None, :], out=block[..., 1:])
        block[..., 1:] *= -1.0
        if l > 1:
            W = layers[l - 1][1]
            delta = (delta.reshape(P * M, n_out) @ W).reshape(P, M, n_in)
            delta *= ss[l - 1][:, None, :]
    return J.reshape(P * M, N)


def jacobian(sizes, w, X, **act):
    """J[(p, m), i] = ∂e_pm/∂w_i with e = d − o, shape (P·M, N), rows pattern-major."""
    ys, ss = forward_layers(sizes, w, X, **act)
    return _jacobian_from(sizes, unpack(sizes, w), ys, ss)


def quasi_hessian(sizes, w, X, D, block=None, **act):
    """Q = JᵀJ, g = Jᵀe and E = ½ Σ e², with J from :func:`jacobian`.

    ``block=None`` builds the whole Jacobian (memory P·M·N); an integer builds it
    ``block`` patterns at a time and sums the products (memory block·M·N + N²).
    Returns ``(Q, g, E)``.
    """
    X = np.asarray(X, dtype=np.float64)
    P = X.shape[0]
    M = sizes[-1]
    D = np.asarray(D, dtype=np.float64).reshape(P, M)
    layers = unpack(sizes, w)
    B = P if block is None else max(1, min(int(block), P))
    Q = None
    for start in range(0, P, B):
        Xb = X[start:start + B]
        ys, ss = forward_layers(sizes, w, Xb, **act)
        J = _jacobian_from(sizes, layers, ys, ss)
        e = (D[start:start + B] - ys[-1]).reshape(-1)
        if Q is None:
            Q, g, E = J.T @ J, J.T @ e, float(e @ e)
        else:
            Q += J.T @ J
            g += J.T @ e
            E += float(e @ e)
    return Q, g, 0.5 * E
