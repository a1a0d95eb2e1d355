"""The worked trace's pieces: one pattern's arithmetic, the objects a trace returns, and text helpers.

See :mod:`lmtrain.trace`, which puts them together.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from . import activations
from .network import Network

#: an LM iteration's options the trace takes as given (the library's defaults)
LM_DEFAULTS = {"mu": 0.01, "mu_inc": 10.0, "mu_dec": 10.0, "max_tries": 5, "mu_min": 1e-20, "mu_max": 1e10,
               "min_grad": 1e-10}


def _activate(name: str, gain: float, net: float) -> tuple[float, float]:
    """y = f(net) and its slope, by the activation's own definition (:mod:`lmtrain.activations`)."""
    return activations.get(name).fn(gain, net)


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
    errors : ndarray (M,) or None
        e_m = d_m − o_m, when targets were given.
    engine_difference : float
        Largest |rows − net.jacobian(w, x)|: the cross-check.
    pattern : int
        The pattern's number, counted from 1 (p1 is the first row of the data).
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
    pattern: int = 1

    def __str__(self):
        return self.text


@dataclass
class Try:
    """One try of the μ loop of Fig. 12.5 (``outcome`` is what the loop did with it).

    Attributes
    ----------
    mu : float
        μ of the damped system (Q + μI) Δ = g solved in this try.
    delta : ndarray (N,)
        The step Δ (NaN when Q + μI could not be factorised).
    weights : ndarray (N,)
        Trial weights w − Δ.
    error : float
        E at the trial weights (``inf`` when there was no step).
    outcome : str
        ``"accepted"`` (E did not rise), ``"rejected"`` (E rose: w restored, μ
        raised), ``"forced"`` (E rose on the last try and the step was taken
        anyway), ``"kept"`` (no step could be made on the last try: w kept, μ
        raised) or ``"stopped"`` (μ would exceed ``mu_max``: the run ends).
    mu_after : float
        μ after the try: divided by ``mu_dec`` when accepted, multiplied by
        ``mu_inc`` when rejected or kept, unchanged when forced.
    """

    mu: float
    delta: np.ndarray
    weights: np.ndarray
    error: float
    outcome: str
    mu_after: float


@dataclass
class IterationTrace:
    """One whole LM iteration traced pattern by pattern; ``str(trace)`` is the printed trace.

    Arrays are indexed from 0: pattern p1 is index 0.

    Attributes
    ----------
    patterns : list of Trace
        The one-pattern trace of p1, p2, … (``patterns[0]`` is p1).
    J : ndarray (P·M, N)
        The Jacobian, rows pattern-major: rows ``p·M … p·M + M − 1`` (0-based p)
        are j_p.
    e : ndarray (P·M,)
        Errors e = d − o, in the order of J's rows.
    eta : ndarray (P, N)
        η_p = j_pᵀe_p, each pattern's share of g.
    Q, g : ndarray (N, N), (N,)
        Σ_p q_p and Σ_p η_p.
    error : float
        E = ½Σe² at the weights the iteration starts from (eq. 12.1).
    mu : float
        μ the iteration starts with.
    tries : list of Try
        The tries of the μ loop, in order.
    weights : ndarray (N,)
        Weights after the iteration.
    error_after : float
        E after the iteration (the start's E when no step was taken).
    mu_after : float
        μ the next iteration would start with.
    checks : dict
        Largest |difference| from the compiled library for ``"J"``, ``"Q"``,
        ``"g"``, ``"E"`` and ``"weights"``; ``"tries"`` is True when
        :func:`lmtrain.train` reported the same E, μ, rejected tries and forced
        step for its one iteration.
    library : dict
        What that one iteration of :func:`lmtrain.train` returned.
    text : str
    """

    patterns: list
    J: np.ndarray
    e: np.ndarray
    eta: np.ndarray
    Q: np.ndarray
    g: np.ndarray
    error: float
    mu: float
    tries: list
    weights: np.ndarray
    error_after: float
    mu_after: float
    checks: dict = field(default_factory=dict)
    library: dict = field(default_factory=dict)
    text: str = ""

    @property
    def q(self) -> np.ndarray:
        """q_p = j_pᵀj_p for every pattern, shape (P, N, N); made on each call (P·N² numbers)."""
        P, M = len(self.patterns), self.J.shape[0] // max(1, len(self.patterns))
        Jp = self.J.reshape(P, M, -1)
        return np.einsum("pmi,pmj->pij", Jp, Jp)

    def __str__(self):
        return self.text


# ---------------------------------------------------------------- one pattern
class _Net:
    """The network as plain lists, and the names the text uses."""

    def __init__(self, net: Network):
        spec = net.to_dict()
        self.n_in = spec["n_inputs"]
        self.neurons = spec["neurons"]
        self.outputs = spec["outputs"]
        self.n_nodes = self.n_in + len(self.neurons)
        self.N = net.n_weights
        self.M = len(self.outputs)
        self.names = [net.node_name(i) for i in range(self.n_nodes)]
        self.wnames = net.weight_names()
        self.offset = []
        pos = 0
        for nrn in self.neurons:  # weights neuron by neuron, bias first, then inputs in order
            self.offset.append(pos)
            pos += 1 + len(nrn["inputs"])


def _forward(nw: _Net, w, x, lines=None, f=None):
    """Node values, slopes and nets of one pattern (eqs. 12.27–12.30)."""
    y = np.zeros(nw.n_nodes)
    s = np.zeros(nw.n_nodes)
    netv = np.full(nw.n_nodes, np.nan)
    for i in range(nw.n_in):
        y[i] = x[i]
        if lines is not None:
            lines.append(f"  {nw.names[i]} = {f(x[i])}")
    for j, nrn in enumerate(nw.neurons):
        node = nw.n_in + j
        base = nw.offset[j]
        total = w[base]
        terms = [f"{f(w[base])}"] if lines is not None else None
        for k, src in enumerate(nrn["inputs"]):
            wk = w[base + 1 + k]
            total += wk * y[src]
            if lines is not None:
                terms.append(f"{f(wk)}*{f(y[src])}")
        netv[node] = total
        y[node], s[node] = _activate(nrn["activation"], nrn["gain"], total)
        if lines is not None:
            act = activations.get(nrn["activation"]).aliases[0]
            lines.append(f"  {nw.names[node]}: net = {' + '.join(terms)} = {f(total)}")
            lines.append(f"      y = {act}({f(nrn['gain'])}*net) = {f(y[node])},   s = {f(s[node])}")
    return y, s, netv


def _half_sse(nw: _Net, w, X, D) -> float:
    """E = ½ Σ_p Σ_m (d_pm − o_pm)² by the scalar forward pass (eq. 12.1)."""
    total = 0.0
    for p in range(X.shape[0]):
        y, _, _ = _forward(nw, w, X[p])
        for m, o in enumerate(nw.outputs):
            e = D[p, m] - y[o]
            total += e * e
    return 0.5 * total


def _pattern(nw: _Net, net: Network, w, x, d, f, number: int, verbose: bool = True) -> Trace:
    """Trace pattern ``x`` (number ``number``, counted from 1); text only when ``verbose``."""
    lines = [] if verbose else None
    if verbose:
        lines += [f"Trace of pattern p{number} through {net!r}", "",
                  "Forward pass (eqs. 12.27-12.30): net_j = w_j0 + sum_i w_ji*y_ji, y_j = f(net_j), s_j = f'(net_j)"]
    y, s, netv = _forward(nw, w, x, lines, f)
    w_ = w
    delta = np.zeros((nw.M, nw.n_nodes))
    rows = np.zeros((nw.M, nw.N))
    for m, o in enumerate(nw.outputs):
        if verbose:
            lines.append("")
            lines.append(f"Backward pass for output o{m + 1} = {nw.names[o]} with a unit error "
                         "(eqs. 12.35, 12.47-12.52)")
        acc = np.zeros(nw.n_nodes)  # sum of delta_j * w_jk collected at node k
        terms = [[] for _ in range(nw.n_nodes)]  # the products in that sum, as text
        reached = np.zeros(nw.n_nodes, dtype=bool)
        acc[o] = 1.0
        reached[o] = True
        for j in range(len(nw.neurons) - 1, -1, -1):
            node = nw.n_in + j
            if not reached[node]:
                continue
            delta[m, node] = acc[node] * s[node]
            if verbose:
                if node == o:
                    lines.append(f"  delta[{nw.names[node]}] = s = {f(delta[m, node])}")
                else:
                    lines.append(f"  delta[{nw.names[node]}] = s * ({' + '.join(terms[node])}) = "
                                 f"{f(s[node])} * {f(acc[node])} = {f(delta[m, node])}")
            for k, src in enumerate(nw.neurons[j]["inputs"]):
                if src >= nw.n_in:
                    wk = w_[nw.offset[j] + 1 + k]
                    acc[src] += delta[m, node] * wk
                    reached[src] = True
                    if verbose:
                        terms[src].append(f"delta[{nw.names[node]}]*{nw.wnames[nw.offset[j] + 1 + k]} = "
                                          f"{f(delta[m, node])}*{f(wk)}")
        if verbose:
            lines.append(f"  Jacobian row of output o{m + 1} (eq. 12.36): de/dw_ji = -delta_j * y_ji")
        for j, nrn in enumerate(nw.neurons):
            node = nw.n_in + j
            base = nw.offset[j]
            rows[m, base] = -delta[m, node]
            for k, src in enumerate(nrn["inputs"]):
                rows[m, base + 1 + k] = -delta[m, node] * y[src]
            if verbose:
                for c in range(1 + len(nrn["inputs"])):
                    src_y = 1.0 if c == 0 else y[nrn["inputs"][c - 1]]
                    lines.append(f"    {nw.wnames[base + c]:<16} -{f(delta[m, node])} * {f(src_y)} = "
                                 f"{f(rows[m, base + c])}")

    errors = None
    if d is not None:
        errors = np.array([d[m] - y[o] for m, o in enumerate(nw.outputs)])
        if verbose:
            lines.append("")
            lines.append("Errors e_m = d_m - o_m (eq. 12.46) and this pattern's share of E = 1/2 sum e^2 (eq. 12.1)")
            for m, o in enumerate(nw.outputs):
                lines.append(f"  e{m + 1} = {f(d[m])} - {f(y[o])} = {f(errors[m])}")
            lines.append(f"  E_p{number} = {f(0.5 * float(errors @ errors))}")
            g = rows.T @ errors
            lines.append("  its share of the gradient g = J^T e (eq. 12.18):")
            for i, name in enumerate(nw.wnames):
                lines.append(f"    {name:<16} {f(g[i])}")

    diff = math.nan
    if verbose:
        J = net.jacobian(w, x.reshape(1, -1))
        diff = float(np.max(np.abs(J - rows))) if rows.size else 0.0
        lines.append("")
        lines.append(f"Cross-check with the compiled library (net.jacobian): largest |difference| = {diff:.3g}")
    return Trace(y, s, netv, delta, rows, errors, diff, "\n".join(lines) if verbose else "", number)


# ------------------------------------------------------------ text helpers
def _fmt(digits: int):
    spec = f"{{:.{digits}g}}"

    def f(v):
        return spec.format(v)

    return f


def _table(row_names, columns: dict, f, width: int, per_block: int = 8, indent: str = "    ") -> list[str]:
    """Rows named by ``row_names``, one column per entry of ``columns``, at most ``per_block`` columns a block."""
    keys = list(columns)
    name_w = max(len(n) for n in row_names) if row_names else 4
    out = []
    for start in range(0, len(keys), per_block):
        chunk = keys[start:start + per_block]
        out.append(indent + " " * name_w + "".join(f"{k:>{width}}" for k in chunk))
        for r, name in enumerate(row_names):
            out.append(indent + f"{name:<{name_w}}" + "".join(f"{f(columns[k][r]):>{width}}" for k in chunk))
        if start + per_block < len(keys):
            out.append("")
    return out


def _matrix(A, f, width: int, indent: str = "    ") -> list[str]:
    """A square matrix with rows and columns numbered 1…N (the order of the weight list)."""
    n = A.shape[0]
    out = [indent + "      " + "".join(f"{j + 1:>{width}}" for j in range(n))]
    for i in range(n):
        out.append(indent + f"{i + 1:>4}  " + "".join(f"{f(A[i, j]):>{width}}" for j in range(n)))
    return out


def _cholesky_solve(A: np.ndarray, b: np.ndarray):
    """Solve A x = b for symmetric positive definite A by A = L Lᵀ, one scalar at a time.

    Returns None when A is not positive definite to working precision, the case
    in which the library too reports that the system could not be solved.
    """
    n = len(b)
    L = [[0.0] * n for _ in range(n)]
    for i in range(n):
        for j in range(i + 1):
            s = float(A[i, j])
            for k in range(j):
                s -= L[i][k] * L[j][k]
            if i == j:
                if not s > 0.0:
                    return None
                L[i][i] = math.sqrt(s)
            else:
                L[i][j] = s / L[j][j]
    z = [0.0] * n
    for i in range(n):  # L z = b
        s = float(b[i])
        for k in range(i):
            s -= L[i][k] * z[k]
        z[i] = s / L[i][i]
    x = [0.0] * n
    for i in range(n - 1, -1, -1):  # Lᵀ x = z
        s = z[i]
        for k in range(i + 1, n):
            s -= L[k][i] * x[k]
        x[i] = s / L[i][i]
    return np.array(x)
