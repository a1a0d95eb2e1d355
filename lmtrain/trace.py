"""A worked trace of the chapter's arithmetic, number by number, for checking it by hand.

This is a deliberately plain, scalar re-computation — Python floats and
``math``, one neuron, one weight and one pattern at a time — written for
reading, not speed. It shares no code with the compiled engine, so the
cross-checks printed at the end of every trace are real ones. It goes to one
of two depths:

**One pattern** (§12.3.1), checked against :meth:`lmtrain.Network.jacobian`:

* forward (eqs. 12.27–12.30): net_j = w_j0 + Σ_i w_ji·y_ji, y_j = f_j(net_j),
  s_j = f_j'(net_j);
* backward for output m with a unit error (eqs. 12.35, 12.47–12.52):
  δ_m,o = s_o at the output neuron o; every other neuron k collects
  δ_m,k = s_k · Σ_j δ_m,j · w_jk over the neurons j it feeds;
* Jacobian row (eq. 12.36): ∂e_m/∂w_ji = −δ_m,j · y_ji, with y = 1 for the bias;
* with targets, the errors e_m = d_m − o_m and the pattern's share of
  E = ½Σe² (eq. 12.1) and of g = Jᵀe (eq. 12.18).

**One whole Levenberg–Marquardt iteration** (``iteration=True``, Fig. 12.5),
checked against :meth:`~lmtrain.Network.jacobian`,
:meth:`~lmtrain.Network.quasi_hessian`, :meth:`~lmtrain.Network.gradient` and
one iteration of :func:`lmtrain.train`:

1. every pattern p as above, giving its Jacobian rows j_p (M rows of N) and
   errors e_p;
2. its share of the quasi-Hessian and of the gradient, q_p = j_pᵀj_p and
   η_p = j_pᵀe_p, added into Q = Σ_p q_p and g = Σ_p η_p — the NBN row of
   Table 12.1, which never stores J; Q is JᵀJ, the approximation H ≈ JᵀJ of
   eq. 12.22, and g = Jᵀe is eq. 12.18;
3. the damped system (Q + μI) Δ = g for the current μ (eqs. 12.24–12.25),
   solved by a Cholesky factorisation written out in scalars;
4. each try of the loop of Fig. 12.5: the trial weights w − Δ and their error;
   if it is not above E the step is accepted and μ divided by ``mu_dec``,
   otherwise it is rejected, w restored and μ multiplied by ``mu_inc``; once
   ``max_tries`` retries have failed, the next try is taken anyway (*forced*);
5. the weights after the iteration.

Patterns are numbered from 1 — p1…pP, as in Fig. 12.6 — everywhere a pattern
is named: in the printed text and in the ``pattern`` argument
(``pattern=1`` is the first row of ``x``). The arrays of the returned objects
are ordinary NumPy arrays indexed from 0: ``t.q[0]`` is q_p1 and
``t.patterns[0]`` the trace of p1.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from ._validation import as_float_array, as_weights, check_number
from .network import Network

#: an LM iteration's options the trace takes as given (the library's defaults)
_LM_DEFAULTS = {"mu": 0.01, "mu_inc": 10.0, "mu_dec": 10.0, "max_tries": 5, "mu_min": 1e-20, "mu_max": 1e10,
                "min_grad": 1e-10}

_ACT_NAMES = {"bipolar": "tanh", "unipolar": "sigmoid", "linear": "linear"}


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
            act = _ACT_NAMES[nrn["activation"]]
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
        lines.append(f"Cross-check with the compiled engine (net.jacobian): largest |difference| = {diff:.3g}")
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


# -------------------------------------------------------------- entry point
def trace(net: Network, w, x, d=None, *, pattern: int | None = None, iteration: bool = False,
          mu: float = 0.01, mu_inc: float = 10.0, mu_dec: float = 10.0, max_tries: int = 5,
          digits: int = 6, matrices: int = 10, columns: int = 16):
    """Trace the chapter's computation for one pattern, or through one whole LM iteration.

    Parameters
    ----------
    net : Network
    w : array_like (N,)
        Weights.
    x : array_like (n_inputs,) or (P, n_inputs)
        One input pattern, or the patterns p1…pP as rows (row 0 is p1).
    d : array_like (M,) or (P, M), optional
        Desired outputs, shaped like ``x``; adds the errors e = d − o and the
        pattern's share of E = ½Σe² and of g = Jᵀe. Required with ``iteration``.
    pattern : int, optional
        Counted from 1, as Fig. 12.6 numbers the patterns: ``pattern=1`` is p1,
        the first row of ``x``. Which pattern to trace when ``x`` holds several
        (default 1); with ``iteration``, the pattern whose forward and backward
        arithmetic is printed in full (every pattern is computed the same way).
    iteration : bool
        Go on through one whole LM iteration over all patterns (see the module
        docstring) and return an :class:`IterationTrace`.
    mu, mu_inc, mu_dec, max_tries : float, float, float, int
        The LM options of the iteration, as for :func:`lmtrain.train`
        (defaults 0.01, 10, 10, 5); ``mu_min``, ``mu_max`` and ``min_grad``
        keep the library's defaults.
    digits : int
        Significant digits printed.
    matrices : int
        Print the N×N matrices q_p, Q and Q + μI in full when N is at most
        this (default 10); otherwise their diagonals and a summary.
    columns : int
        At most this many patterns get a column in the per-pattern tables of an
        iteration (default 16); the sums always run over all patterns.

    Returns
    -------
    Trace or IterationTrace

    Raises
    ------
    TypeError, ValueError
        Naming the argument that is wrong.
    """
    if not isinstance(net, Network):
        raise TypeError(f"net must be a lmtrain Network, got {type(net).__name__}")
    w = as_weights(w, net.n_weights)
    x = as_float_array(x, "x", (1, 2))
    if x.ndim == 1:
        if x.shape[0] != net.n_inputs:
            raise ValueError(f"x must hold one value per network input ({net.n_inputs}), got {x.shape[0]}")
        x = x.reshape(1, -1)
        one = True
    else:
        if x.shape[1] != net.n_inputs:
            raise ValueError(f"x must have {net.n_inputs} column(s), one per network input, got shape {x.shape}")
        one = False
    P = x.shape[0]
    if d is not None:
        d = as_float_array(d, "d", (1, 2))
        if d.ndim == 1:
            d = d.reshape(1, -1) if one or net.n_outputs > 1 else d.reshape(-1, 1)
        if d.shape != (P, net.n_outputs):
            if one:
                raise ValueError(f"d must hold one value per network output ({net.n_outputs}), got {d.shape[-1]}")
            raise ValueError(f"d must have shape ({P}, {net.n_outputs}) to match x and the network's outputs, "
                             f"got {d.shape}")
    if not isinstance(digits, int) or isinstance(digits, bool) or not 1 <= digits <= 17:
        raise ValueError(f"digits must be an integer in [1, 17], got {digits!r}")
    if pattern is not None:
        pattern = check_number(pattern, "pattern", low=1, integer=True)
        if pattern > P:
            raise ValueError(f"pattern must be in 1..{P} (p1…p{P}, counted from 1), got {pattern}")
    number = pattern or 1
    nw = _Net(net)
    f = _fmt(digits)
    if not iteration:
        return _pattern(nw, net, w, x[number - 1], None if d is None else d[number - 1], f, number)
    if d is None:
        raise ValueError("d (the desired outputs) is required with iteration=True")
    mu = check_number(mu, "mu", low=0.0, low_open=True)
    mu_inc = check_number(mu_inc, "mu_inc", low=1.0, low_open=True)
    mu_dec = check_number(mu_dec, "mu_dec", low=1.0, low_open=True)
    max_tries = check_number(max_tries, "max_tries", low=1, integer=True)
    matrices = check_number(matrices, "matrices", low=0, integer=True)
    columns = check_number(columns, "columns", low=1, integer=True)
    if not _LM_DEFAULTS["mu_min"] <= mu <= _LM_DEFAULTS["mu_max"]:
        raise ValueError(f"mu must be in [{_LM_DEFAULTS['mu_min']:g}, {_LM_DEFAULTS['mu_max']:g}], got {mu}")
    return _iteration(nw, net, w, x, d, f, digits, number, mu, mu_inc, mu_dec, max_tries, matrices, columns)


# ------------------------------------------------------------ one iteration
def _iteration(nw, net, w, X, D, f, digits, detail, mu0, mu_inc, mu_dec, max_tries, matrices, columns):
    P, M, N = X.shape[0], nw.M, nw.N
    width = digits + 7
    show = min(P, columns)
    lines = [f"One Levenberg-Marquardt iteration (Fig. 12.5) through {net!r}",
             f"P = {P} pattern(s), numbered p1..p{P} as in Fig. 12.6; M = {M} output(s); N = {N} weights; "
             f"mu = {f(mu0)}", ""]
    lines.append("Weights w_k at the start of the iteration:")
    lines += _table(nw.wnames, {"w_k": w}, f, width)

    # 1. every pattern: forward pass, backward passes, Jacobian rows, errors
    pats = [_pattern(nw, net, w, X[p], D[p], f, p + 1, verbose=(p + 1 == detail)) for p in range(P)]
    J = np.vstack([t.rows for t in pats])
    e = np.concatenate([t.errors for t in pats])
    E = 0.5 * float(sum(v * v for v in e))
    lines += ["", f"1. Every pattern: forward pass, one unit-delta backward pass per output, Jacobian rows "
                  f"(eqs. 12.27-12.36). Pattern p{detail} in full:", ""]
    lines += ["   | " + ln if ln else "   |" for ln in pats[detail - 1].text.splitlines()]
    lines += ["", f"   Every pattern the same way: one column per Jacobian row j_p (eq. 12.16), "
                  f"errors e = d - o in the last row" + (f" (first {show} of {P} patterns shown)" if show < P else "")]
    label = (lambda p, m: f"p{p + 1}") if M == 1 else (lambda p, m: f"p{p + 1},o{m + 1}")
    cols = {label(p, m): list(J[p * M + m]) + [e[p * M + m]] for p in range(show) for m in range(M)}
    lines += _table(nw.wnames + ["e"], cols, f, width, per_block=max(1, 8 // M) * M)
    lines.append(f"   E = 1/2 sum of all e^2 (eq. 12.1) = {f(E)}")

    # 2. every pattern's share, added into Q and g
    eta = np.zeros((P, N))
    Q = np.zeros((N, N))
    g = np.zeros(N)
    for p in range(P):
        rows, errs = pats[p].rows, pats[p].errors
        for i in range(N):
            s = 0.0
            for m in range(M):
                s += rows[m, i] * errs[m]
            eta[p, i] = s
            g[i] += s
            for j in range(N):
                q = 0.0
                for m in range(M):
                    q += rows[m, i] * rows[m, j]
                Q[i, j] += q
    lines += ["", "2. Each pattern's share added into the quasi-Hessian and the gradient (Table 12.1, NBN row; "
                  "J is never stored):",
              "   q_p = j_p^T j_p (sum over the M rows of j_p),  Q = sum_p q_p = J^T J  (eq. 12.22: H ~ J^T J)",
              "   eta_p = j_p^T e_p,                             g = sum_p eta_p = J^T e (eq. 12.18)", ""]
    more = f" (first {show} of {P} patterns shown; the sums are over all {P})" if show < P else ""
    lines.append("   eta_p of every pattern and their sum g" + more + ":")
    cols = {f"p{p + 1}": eta[p] for p in range(show)}
    cols["g"] = g
    lines += _table(nw.wnames, cols, f, width, per_block=9)
    if N <= matrices:
        lines += ["", f"   q_p of every pattern (N x N; row and column i are weight i of the list above)" + more + ":"]
        for p in range(show):
            r = pats[p].rows
            lines.append(f"   q_p{p + 1} = j_p{p + 1}^T j_p{p + 1}:")
            lines += _matrix(r.T @ r, f, width)
        lines += ["", "   Q = sum_p q_p:"]
        lines += _matrix(Q, f, width)
    else:
        lines += ["", f"   q_p is {N} x {N} (rank <= {M}): its diagonal, the squares of j_p's entries, "
                      f"for every pattern and for Q" + more
                  + f" (whole matrices are printed when N <= {matrices}):"]
        cols = {f"p{p + 1}": np.sum(pats[p].rows ** 2, axis=0) for p in range(show)}
        cols["Q"] = np.diag(Q)
        lines += _table(nw.wnames, cols, f, width, per_block=9)
        off = np.abs(Q - np.diag(np.diag(Q)))
        i, j = np.unravel_index(int(np.argmax(off)), off.shape)
        lines.append(f"   Q off the diagonal: largest |Q_ij| = {f(off[i, j])} at ({nw.wnames[i]}, {nw.wnames[j]}); "
                     f"trace(Q) = {f(np.trace(Q))}")

    # 3-4. the damped system and the tries of Fig. 12.5
    gnorm = math.sqrt(sum(v * v for v in g))
    lines += ["", f"3. The damped system for the current mu (eqs. 12.24-12.25): (Q + mu*I) delta = g, "
                  f"w_k+1 = w_k - delta;  |g| = {f(gnorm)}"]
    if N <= matrices:
        lines.append(f"   Q + mu*I for mu = {f(mu0)}:")
        lines += _matrix(Q + mu0 * np.eye(N), f, width)
    else:
        lines.append(f"   Q + mu*I for mu = {f(mu0)} differs from Q only on the diagonal: Q_ii + {f(mu0)}")
    lines.append("   Each try solves it by a Cholesky factorisation, Q + mu*I = L L^T, then L z = g and L^T delta = z.")

    tries = []
    mu = mu0
    E_after, w_after = E, w.copy()
    min_grad = _LM_DEFAULTS["min_grad"]
    if gnorm <= min_grad:
        lines.append(f"   |g| <= min_grad = {f(min_grad)}: the library stops here (MIN_GRAD) without a step.")
        mu_next = mu
    else:
        lines += ["", f"4. The tries of the mu loop (Fig. 12.5), against E = {f(E)}: a try whose error is not "
                      f"above E is accepted and mu divided by {f(mu_dec)}; otherwise w_k is restored and mu "
                      f"multiplied by {f(mu_inc)}; after {max_tries} failed tries the next one is taken anyway "
                      "(forced)."]
        t = 0
        while True:
            delta = _cholesky_solve(Q + mu * np.eye(N), g)
            if delta is None:
                delta = np.full(N, np.nan)
                wt = np.full(N, np.nan)
                Et = math.inf
                how = "Q + mu*I is not positive definite to working precision: no step"
            else:
                wt = w - delta
                Et = _half_sse(nw, wt, X, D)
                how = f"|delta| = {f(math.sqrt(sum(v * v for v in delta)))}, E(w_k - delta) = {f(Et)}"
            mu_used = mu
            mu_up = mu * mu_inc
            if Et <= E:
                outcome, mu = "accepted", max(mu / mu_dec, _LM_DEFAULTS["mu_min"])
                rule = f"not above E: accepted, mu = {f(mu_used)} / {f(mu_dec)} = {f(mu)}"
            elif t < max_tries and mu_up <= _LM_DEFAULTS["mu_max"]:
                outcome, mu = "rejected", mu_up
                rule = f"above E: rejected, w_k restored, mu = {f(mu_used)} * {f(mu_inc)} = {f(mu)}"
            elif t >= max_tries and math.isfinite(Et):
                outcome = "forced"
                rule = f"above E, but {max_tries} tries have failed: taken anyway (forced), mu stays {f(mu)}"
            elif mu_up > _LM_DEFAULTS["mu_max"]:
                outcome, mu = "stopped", mu_up
                rule = "rejected, and mu would exceed mu_max: the library stops (MU_MAX)"
            else:
                outcome, mu = "kept", mu_up
                rule = f"no step on the last try: w_k kept, mu = {f(mu_used)} * {f(mu_inc)} = {f(mu)}"
            tries.append(Try(mu_used, delta, wt, Et, outcome, mu))
            lines.append(f"   try {t + 1}: mu = {f(mu_used)}: {how}; {rule}")
            if outcome in ("accepted", "forced"):
                E_after, w_after = Et, wt.copy()
            if outcome != "rejected":
                break
            t += 1
        mu_next = mu
        lines += ["", "   delta of every try:"]
        lines += _table(nw.wnames, {f"try {k + 1}": tr.delta for k, tr in enumerate(tries)}, f, width, per_block=6)

    lines += ["", f"5. After the iteration: E = {f(E_after)}, the next iteration starts with mu = {f(mu_next)}"]
    lines += _table(nw.wnames, {"w_k": w, "w_k+1": w_after, "change": w_after - w}, f, width)

    checks, library, check_lines = _cross_check(net, w, X, D, J, Q, g, E, tries, w_after, E_after, mu0, mu_inc,
                                                mu_dec, max_tries)
    lines += [""] + check_lines
    return IterationTrace(pats, J, e, eta, Q, g, E, mu0, tries, w_after, E_after, mu_next, checks, library,
                          "\n".join(lines))


def _cross_check(net, w, X, D, J, Q, g, E, tries, w_after, E_after, mu, mu_inc, mu_dec, max_tries):
    """Compare the scalar numbers with the compiled library's; return (checks, library, text lines)."""
    from .algorithms import train  # the trainer imports this package's modules, not the reverse

    J_lib = net.jacobian(w, X)
    Q_lib, g_lib, E_lib = net.quasi_hessian(w, X, D)
    g_grad, _ = net.gradient(w, X, D)
    r = train(net, X, D, algorithm="lm", w0=w, max_iter=1, mu=mu, mu_inc=mu_inc, mu_dec=mu_dec,
              max_tries=max_tries, jacobian="full")
    h = r.history
    library = {"iterations": r.iterations, "stop_reason": r.stop_reason.name, "weights": r.weights,
               "error": float(h.error[0]) if len(h) else r.error, "mu": float(h.mu[0]) if len(h) else math.nan,
               "rejected": int(h.rejected[0]) if len(h) else 0, "forced": bool(h.forced[0]) if len(h) else False}
    rejected = sum(t.outcome in ("rejected", "stopped", "kept") for t in tries)
    forced = any(t.outcome == "forced" for t in tries)
    mu_last = tries[-1].mu if tries else math.nan
    scale = max(1.0, abs(E))
    same_tries = (len(h) == (1 if tries else 0) and (not tries or (
        library["rejected"] == rejected and library["forced"] == forced
        and math.isclose(library["mu"], mu_last, rel_tol=1e-12)
        and abs(library["error"] - E_after) <= 1e-9 * scale)))
    checks = {"J": float(np.max(np.abs(J - J_lib))), "Q": float(np.max(np.abs(Q - Q_lib))),
              "g": float(max(np.max(np.abs(g - g_lib)), np.max(np.abs(g - g_grad)))),
              "E": abs(E - E_lib), "weights": float(np.max(np.abs(w_after - r.weights))), "tries": bool(same_tries)}
    call = (f"lm.train(net, X, D, algorithm=\"lm\", w0=w, max_iter=1, mu={mu:g}, mu_inc={mu_inc:g}, "
            f"mu_dec={mu_dec:g}, max_tries={max_tries}, jacobian=\"full\")")
    out = ["Cross-check with the compiled library (largest |difference|):",
           f"  J   against net.jacobian(w, X):                     {checks['J']:.3g}",
           f"  Q   against net.quasi_hessian(w, X, D):             {np.max(np.abs(Q - Q_lib)):.3g}",
           f"  g   against net.quasi_hessian and net.gradient:     {checks['g']:.3g}",
           f"  E   against net.quasi_hessian:                      {checks['E']:.3g}",
           f"  the tries against {call}:"]
    if tries:
        out.append(f"      E after: {E_after:.12g} here, {library['error']:.12g} there; mu of the last try: "
                   f"{mu_last:.6g} / {library['mu']:.6g}; rejected tries: {rejected} / {library['rejected']}; "
                   f"forced: {'yes' if forced else 'no'} / {'yes' if library['forced'] else 'no'}  "
                   f"-> {'the same' if same_tries else 'DIFFERENT'}")
    else:
        out.append(f"      no try here; the library stopped with {library['stop_reason']} after "
                   f"{library['iterations']} iteration(s)")
    out.append(f"  the weights after the iteration against lm.train's: {checks['weights']:.3g}")
    if J.shape[0] < J.shape[1]:
        out.append(f"  (with fewer Jacobian rows than weights, {J.shape[0]} < {J.shape[1]}, the library solves the "
                   "equivalent smaller system J^T (J J^T + mu*I)^-1 e, so the weights agree to rounding)")
    return checks, library, out
