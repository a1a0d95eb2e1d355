"""Network topology: any feed-forward graph of neurons, flattened for the engine.

A network has ``n_inputs`` input nodes and a list of neurons. Nodes are numbered
inputs first (0 … n_inputs−1), then neurons in the order given (neuron k is node
``n_inputs + k``). A neuron may take any earlier node as input — a network input
or the output of an earlier neuron — so the order given is a topological order
and one forward sweep computes every neuron (eqs. 12.27–12.28). This covers the
chapter's MLP (Fig. 12.3) and goes past it: bridged MLPs (BMLP), where every
neuron also sees the network inputs and all earlier layers, and fully connected
cascades (FCC), where each neuron sees the inputs and all earlier neurons.

Weights of neuron j are stored contiguously: the bias w_j0 first, then w_ji for
its inputs in the order listed (eq. 12.28). :meth:`Network.weight_names` names
each one.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, NamedTuple, Sequence

import numpy as np

from . import activations, kernels
from ._validation import as_inputs, as_targets, as_weights, check_number


class Topology(NamedTuple):
    """A network as the kernels see it: flat integer and float arrays, no Python objects.

    For neuron j (node ``n_inputs + j``): its input nodes are
    ``in_idx[in_ptr[j]:in_ptr[j + 1]]``, its bias weight w_j0 is
    ``w[w_ptr[j]]`` and its input weights follow in the order of its inputs;
    ``act[j]`` is its activation code (:mod:`lmtrain.activations`) and
    ``gain[j]`` its gain. ``out_idx`` lists the output nodes in output order.
    """

    n_inputs: np.int64
    in_ptr: np.ndarray
    in_idx: np.ndarray
    w_ptr: np.ndarray
    act: np.ndarray
    gain: np.ndarray
    out_idx: np.ndarray


@dataclass(frozen=True)
class Neuron:
    """One neuron: the nodes feeding it, its activation and its gain.

    ``inputs`` are node indices: 0 … n_inputs−1 are network inputs, n_inputs + k
    is the output of neuron k.
    """

    inputs: tuple[int, ...]
    activation: str = "bipolar"
    gain: float = 1.0


def _as_neuron(spec, k) -> Neuron:
    if isinstance(spec, Neuron):
        return spec
    if isinstance(spec, dict):
        unknown = set(spec) - {"inputs", "activation", "gain"}
        if unknown:
            raise ValueError(f"neuron {k}: unknown key(s) {sorted(unknown)}; expected 'inputs', 'activation', 'gain'")
        if "inputs" not in spec:
            raise ValueError(f"neuron {k}: missing 'inputs'")
        return Neuron(spec["inputs"], spec.get("activation", "bipolar"), spec.get("gain", 1.0))
    if isinstance(spec, (tuple, list)) and 1 <= len(spec) <= 3 and not isinstance(spec[0], (int, np.integer)):
        return Neuron(*spec)
    raise TypeError(f"neuron {k}: expected a Neuron, a dict or a tuple (inputs, activation, gain), got {spec!r}")


class Network:
    """A feed-forward network of neurons, ready for the compiled engine.

    Parameters
    ----------
    n_inputs : int
        Number of network inputs.
    neurons : sequence of Neuron, dict or tuple
        Neurons in topological order. Each names its input nodes (see module
        docstring), its activation (``"bipolar"``, ``"unipolar"``, ``"linear"``)
        and its gain (> 0).
    outputs : sequence of int
        Node indices of the neurons that are network outputs, in output order.

    Raises
    ------
    ValueError
        For a reference to a node that does not exist or is not earlier (which
        also rules out cycles), a repeated input, an unknown activation, a
        non-positive gain, or no outputs; the message names the neuron.
    TypeError
        For a value of the wrong type (non-integer node indices in a neuron's
        inputs or in ``outputs``, a non-string activation, a non-numeric gain).
    """

    def __init__(self, n_inputs: int, neurons: Sequence, outputs: Sequence[int]):
        n_inputs = check_number(n_inputs, "n_inputs", low=1, integer=True)
        if isinstance(neurons, (str, bytes)) or not isinstance(neurons, Iterable):
            raise TypeError("neurons must be a sequence of Neuron, dict or tuple")
        specs = [_as_neuron(s, k) for k, s in enumerate(neurons)]
        if not specs:
            raise ValueError("neurons: a network needs at least one neuron")
        clean = []
        for k, s in enumerate(specs):
            node = n_inputs + k
            try:
                ins = tuple(int(i) for i in s.inputs)
            except (TypeError, ValueError):
                raise TypeError(f"neuron {k} (node {node}): inputs must be node indices, got {s.inputs!r}") from None
            if any(not isinstance(i, (int, np.integer)) or isinstance(i, bool) for i in s.inputs):
                raise TypeError(f"neuron {k} (node {node}): inputs must be integers, got {s.inputs!r}")
            for i in ins:
                if i < 0:
                    raise ValueError(f"neuron {k} (node {node}): input node {i} does not exist")
                if i >= node:
                    what = "is itself" if i == node else ("comes later" if i < n_inputs + len(specs) else "does not exist")
                    raise ValueError(
                        f"neuron {k} (node {node}): input node {i} {what}; a neuron may only take network inputs "
                        f"(0..{n_inputs - 1}) or earlier neurons (a cycle or a wrong order)"
                    )
            if len(set(ins)) != len(ins):
                raise ValueError(f"neuron {k} (node {node}): an input node is listed twice in {ins}")
            try:
                act = activations.canonical(s.activation)
            except ValueError as exc:
                raise ValueError(f"neuron {k} (node {node}): {exc}") from None
            except TypeError as exc:
                raise TypeError(f"neuron {k} (node {node}): {exc}") from None
            gain = s.gain
            if isinstance(gain, bool) or not isinstance(gain, (int, float, np.integer, np.floating)):
                raise TypeError(f"neuron {k} (node {node}): gain must be a real number, got {gain!r}")
            if not np.isfinite(gain) or gain <= 0:
                raise ValueError(f"neuron {k} (node {node}): gain must be a finite number > 0, got {gain!r}")
            clean.append(Neuron(ins, act, float(gain)))
        if isinstance(outputs, (int, np.integer)):
            outputs = [outputs]
        if isinstance(outputs, (str, bytes)) or not isinstance(outputs, Iterable):
            raise TypeError(f"outputs must be a sequence of node indices, got {outputs!r}")
        outputs = list(outputs)
        if any(isinstance(o, bool) or not isinstance(o, (int, np.integer)) for o in outputs):
            raise TypeError(f"outputs must be integer node indices, got {outputs!r}")
        outputs = [int(o) for o in outputs]
        if not outputs:
            raise ValueError("outputs: a network needs at least one output neuron")
        for o in outputs:
            if not n_inputs <= o < n_inputs + len(clean):
                raise ValueError(
                    f"outputs: node {o} is not a neuron (neurons are nodes {n_inputs}..{n_inputs + len(clean) - 1})"
                )
        if len(set(outputs)) != len(outputs):
            raise ValueError(f"outputs: a node is listed twice in {outputs}")
        self._n_inputs = n_inputs
        self._neurons = tuple(clean)
        self._outputs = tuple(outputs)
        self._build_arrays()

    # ------------------------------------------------------------------ arrays
    def _build_arrays(self):
        nn = len(self._neurons)
        in_ptr = np.zeros(nn + 1, dtype=np.int64)
        for j, s in enumerate(self._neurons):
            in_ptr[j + 1] = in_ptr[j] + len(s.inputs)
        in_idx = np.array([i for s in self._neurons for i in s.inputs], dtype=np.int64)
        w_ptr = in_ptr[:-1] + np.arange(nn, dtype=np.int64)  # bias + inputs per neuron
        act = np.array([activations.CODES[s.activation] for s in self._neurons], dtype=np.int64)
        gain = np.array([s.gain for s in self._neurons], dtype=np.float64)
        out_idx = np.array(self._outputs, dtype=np.int64)
        self._n_weights = int(in_ptr[-1] + nn)
        self._topo = Topology(np.int64(self._n_inputs), in_ptr, in_idx, w_ptr, act, gain, out_idx)

    @property
    def topology(self) -> Topology:
        """The flat arrays the kernels use (:class:`Topology`)."""
        return self._topo

    # --------------------------------------------------------------- describe
    @property
    def n_inputs(self) -> int:
        return self._n_inputs

    @property
    def n_neurons(self) -> int:
        return len(self._neurons)

    @property
    def n_outputs(self) -> int:
        return len(self._outputs)

    @property
    def n_nodes(self) -> int:
        return self._n_inputs + len(self._neurons)

    @property
    def n_weights(self) -> int:
        return self._n_weights

    @property
    def neurons(self) -> tuple[Neuron, ...]:
        return self._neurons

    @property
    def outputs(self) -> tuple[int, ...]:
        """Node indices of the output neurons."""
        return self._outputs

    def node_name(self, node: int) -> str:
        """``"x1"``… for inputs, ``"n1"``… for neurons (1-based, as in the chapter's figures)."""
        if node < self._n_inputs:
            return f"x{node + 1}"
        return f"n{node - self._n_inputs + 1}"

    def weight_info(self) -> list[tuple[int, int | None]]:
        """For every weight, ``(neuron node, source node)``; source ``None`` is the bias."""
        info = []
        for j, s in enumerate(self._neurons):
            node = self._n_inputs + j
            info.append((node, None))
            info.extend((node, i) for i in s.inputs)
        return info

    def weight_names(self) -> list[str]:
        """A readable name for every weight, e.g. ``"w[n2,bias]"``, ``"w[n2,x3]"``, ``"w[n3,n1]"``."""
        return [
            f"w[{self.node_name(n)},{'bias' if src is None else self.node_name(src)}]"
            for n, src in self.weight_info()
        ]

    def layers(self) -> list[list[int]]:
        """Neuron nodes grouped by depth (longest path from the inputs), for drawing."""
        depth = [0] * self.n_nodes
        for j, s in enumerate(self._neurons):
            node = self._n_inputs + j
            depth[node] = 1 + max((depth[i] for i in s.inputs), default=0)
        out = {}
        for node in range(self._n_inputs, self.n_nodes):
            out.setdefault(depth[node], []).append(node)
        return [out[d] for d in sorted(out)]

    def __repr__(self):
        acts = sorted({(s.activation, s.gain) for s in self._neurons})
        act = ", ".join(f"{a}(gain={g:g})" for a, g in acts)
        return (
            f"Network(inputs={self.n_inputs}, neurons={self.n_neurons}, outputs={self.n_outputs}, "
            f"weights={self.n_weights}, activations=[{act}])"
        )

    def to_dict(self) -> dict:
        """Plain description that :meth:`from_dict` turns back into an equal network."""
        return {
            "n_inputs": self._n_inputs,
            "neurons": [
                {"inputs": list(s.inputs), "activation": s.activation, "gain": s.gain} for s in self._neurons
            ],
            "outputs": list(self._outputs),
        }

    @classmethod
    def from_dict(cls, d: dict) -> "Network":
        if not isinstance(d, dict):
            raise TypeError(f"network description must be a dict, got {type(d).__name__}")
        try:
            return cls(d["n_inputs"], d["neurons"], d["outputs"])
        except KeyError as exc:
            raise ValueError(f"network description is missing {exc}") from None

    def __eq__(self, other):
        return isinstance(other, Network) and self.to_dict() == other.to_dict()

    def __hash__(self):
        return hash((self._n_inputs, self._neurons, self._outputs))

    # ---------------------------------------------------------------- weights
    def init_weights(self, seed=None) -> np.ndarray:
        """Initial weights drawn uniformly from [−1, 1] (§12.4).

        ``seed`` is an int, a ``numpy.random.SeedSequence`` or a ``Generator``;
        global random state is never used.
        """
        if isinstance(seed, np.random.Generator):
            rng = seed
        else:
            try:
                rng = np.random.default_rng(seed)
            except (TypeError, ValueError) as exc:
                raise type(exc)(f"seed must be None, a non-negative int, a SeedSequence or a Generator, "
                                f"got {seed!r} ({exc})") from None
        return rng.uniform(-1.0, 1.0, self._n_weights)

    # ------------------------------------------------------------ evaluation
    # These run the plain kernels of :mod:`lmtrain.kernels`, the chapter's
    # computation as written; training runs their faster twins.
    def _check(self, w, X, *D):
        w = as_weights(w, self._n_weights)
        X = as_inputs(X, self._n_inputs)
        if not D:
            return w, X
        return w, X, as_targets(D[0], X.shape[0], self.n_outputs)

    def forward(self, w, X) -> np.ndarray:
        """Network outputs for every pattern, shape (P, M) (eqs. 12.27–12.30)."""
        Y, _ = self.forward_full(w, X)
        return np.ascontiguousarray(Y[:, self._topo.out_idx])

    def forward_full(self, w, X):
        """Every node's value and every neuron's slope, each shaped (P, n_nodes).

        Columns follow node numbering (inputs first); slopes of input nodes are 0.
        """
        w, X = self._check(w, X)
        Y = np.empty((X.shape[0], self.n_nodes))
        S = np.empty((X.shape[0], self.n_nodes))
        kernels.forward(w, self._topo, X, Y, S)
        return Y, S

    def jacobian(self, w, X) -> np.ndarray:
        """J[(p, m), i] = ∂e_pm/∂w_i with e = d − o, shape (P·M, N), rows pattern-major.

        Computed by unit-δ backpropagation (eqs. 12.35–12.36), one backward pass
        per pattern and output (:func:`lmtrain.kernels.jacobian`).
        """
        w, X = self._check(w, X)
        P, M = X.shape[0], self.n_outputs
        J = np.empty((P * M, self._n_weights))
        kernels.jacobian(w, self._topo, X, np.zeros((P, M)), J, np.empty(P * M))
        return J

    def error(self, w, X, D) -> float:
        """E = ½ Σ_p Σ_m (d_pm − o_pm)² (eq. 12.1)."""
        w, X, D = self._check(w, X, D)
        return float(kernels.error(w, self._topo, X, D))

    def gradient(self, w, X, D):
        """Gradient g = ∂E/∂w = Jᵀe by one backward pass per pattern (eq. 12.34).

        Returns ``(g, E)``.
        """
        w, X, D = self._check(w, X, D)
        g = np.empty(self._n_weights)
        E = kernels.gradient(w, self._topo, X, D, g)
        return g, float(E)

    def quasi_hessian(self, w, X, D):
        """Q = JᵀJ, g = Jᵀe and E accumulated pattern by pattern, without storing J.

        The NBN row of Table 12.1 (:func:`lmtrain.kernels.quasi_hessian`):
        memory is O(N²) whatever the number of patterns. Returns ``(Q, g, E)``.
        """
        w, X, D = self._check(w, X, D)
        N = self._n_weights
        Q = np.empty((N, N))
        g = np.empty(N)
        E = kernels.quasi_hessian(w, self._topo, X, D, Q, g)
        return Q, g, float(E)


# ------------------------------------------------------------------ builders
def _per_neuron(value, count, name):
    if isinstance(value, (list, tuple, np.ndarray)):
        if len(value) != count:
            raise ValueError(f"{name}: expected one value per neuron ({count}), got {len(value)}")
        return list(value)
    return [value] * count


def _check_sizes(sizes, name="sizes"):
    if isinstance(sizes, (str, bytes)) or not isinstance(sizes, Iterable):
        raise TypeError(f"{name} must be a sequence of integers, got {sizes!r}")
    sizes = list(sizes)
    if any(isinstance(s, bool) or not isinstance(s, (int, np.integer)) for s in sizes):
        raise TypeError(f"{name} must be a sequence of integers, got {sizes!r}")
    sizes = [int(s) for s in sizes]
    if len(sizes) < 2:
        raise ValueError(f"{name} needs at least an input and an output size, got {sizes}")
    if any(s < 1 for s in sizes):
        raise ValueError(f"{name} must all be >= 1, got {sizes}")
    return sizes


def _layered(sizes, activation, gain, output_activation, output_gain, bridged):
    sizes = _check_sizes(sizes)
    n_in = sizes[0]
    n_neurons = sum(sizes[1:])
    acts = _per_neuron(activation, n_neurons, "activation")
    gains = _per_neuron(gain, n_neurons, "gain")
    n_out = sizes[-1]
    if output_activation is not None:
        acts[-n_out:] = [output_activation] * n_out
    if output_gain is not None:
        gains[-n_out:] = [output_gain] * n_out
    neurons = []
    prev = list(range(n_in))  # nodes feeding the next layer
    seen = list(range(n_in))  # every node so far (for bridged links)
    node = n_in
    for size in sizes[1:]:
        layer = []
        for _ in range(size):
            k = len(neurons)
            ins = seen if bridged else prev
            neurons.append(Neuron(tuple(ins), acts[k], gains[k]))
            layer.append(node)
            node += 1
        prev = layer
        seen = seen + layer
    return Network(n_in, neurons, prev)


def mlp(sizes, activation="bipolar", gain=1.0, output_activation=None, output_gain=None) -> Network:
    """Multilayer perceptron, e.g. ``mlp([3, 3, 1])``: 3 inputs, 3 hidden, 1 output.

    ``activation`` and ``gain`` apply to every neuron (or give one per neuron);
    ``output_activation``/``output_gain`` override them for the output layer.
    """
    return _layered(sizes, activation, gain, output_activation, output_gain, bridged=False)


def bmlp(sizes, activation="bipolar", gain=1.0, output_activation=None, output_gain=None) -> Network:
    """Bridged MLP: every neuron also sees the network inputs and all earlier layers."""
    return _layered(sizes, activation, gain, output_activation, output_gain, bridged=True)


def fcc(inputs: int, neurons: int, outputs: int = 1, activation="bipolar", gain=1.0,
        output_activation=None, output_gain=None) -> Network:
    """Fully connected cascade: neuron k sees every input and every earlier neuron.

    The last ``outputs`` neurons are the network outputs.
    """
    inputs = check_number(inputs, "inputs", low=1, integer=True)
    neurons = check_number(neurons, "neurons", low=1, integer=True)
    outputs = check_number(outputs, "outputs", low=1, integer=True)
    if outputs > neurons:
        raise ValueError(f"outputs ({outputs}) cannot exceed neurons ({neurons})")
    acts = _per_neuron(activation, neurons, "activation")
    gains = _per_neuron(gain, neurons, "gain")
    if output_activation is not None:
        acts[-outputs:] = [output_activation] * outputs
    if output_gain is not None:
        gains[-outputs:] = [output_gain] * outputs
    specs = [Neuron(tuple(range(inputs + k)), acts[k], gains[k]) for k in range(neurons)]
    return Network(inputs, specs, list(range(inputs + neurons - outputs, inputs + neurons)))
