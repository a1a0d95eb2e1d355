"""A worked trace of the chapter's arithmetic, number by number, for checking it by hand.

This is a deliberately plain, scalar re-computation — Python floats and
``math``, one neuron, one weight and one pattern at a time — written for
reading, not speed. It shares no code with the kernels but the definition of
the activations (:mod:`lmtrain.activations`), so the cross-checks printed at
the end of every trace are real ones. It goes to one
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

from ._trace_iteration import Settings
from ._trace_iteration import iteration as trace_iteration
from ._trace_pattern import LM_DEFAULTS, IterationTrace, Trace, Try, _fmt, _Net, _pattern
from ._validation import as_float_array, as_weights, check_number
from .network import Network

__all__ = ["IterationTrace", "Trace", "Try", "trace"]


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
    if not LM_DEFAULTS["mu_min"] <= mu <= LM_DEFAULTS["mu_max"]:
        raise ValueError(f"mu must be in [{LM_DEFAULTS['mu_min']:g}, {LM_DEFAULTS['mu_max']:g}], got {mu}")
    return trace_iteration(nw, net, w, x, d, f, Settings(digits, number, mu, mu_inc, mu_dec, max_tries, matrices, columns))
