"""Activation functions f(net) and their slopes s = f'(net) (eqs. 12.27 and 12.30).

Every neuron has an activation and a gain k > 0. Each activation is one
:class:`Activation` record in :data:`ACTIVATIONS`, and everything else reads
the records: the kernels (through :func:`activate`, which the compiled code and
the interpreter run alike), the network builder, the trace, the drawings, the
estimators and the command line (names, aliases, formulas, output range).

================  =====================  ===========================  =====================
name              also called            output  y = f(net)           slope  s = f'(net)
================  =====================  ===========================  =====================
``"bipolar"``     tanh, tansig           tanh(k·net)                  k·(1 − y²)
``"unipolar"``    sigmoid, logistic      1 / (1 + exp(−k·net))        k·y·(1 − y)
``"linear"``      identity, purelin      k·net                        k
================  =====================  ===========================  =====================

The slope is written in terms of the output y, so a backward pass needs only the
values kept from the forward pass. The chapter's names are canonical; the usual
ones are accepted everywhere and shown beside them ("bipolar (tanh)",
"unipolar (sigmoid)"): see :attr:`Activation.label` and :func:`describe`.

Adding an activation: write its scalar function ``(gain, net) -> (y, s)`` as a
``register_jitable`` function below, add its record to :data:`ACTIVATIONS` and
its branch to :func:`activate`. Nothing outside this file changes.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numba.extending import register_jitable

LINEAR = 0
BIPOLAR = 1
UNIPOLAR = 2


@register_jitable
def linear(gain, net):
    """y = k·net, s = k."""
    return gain * net, gain


@register_jitable
def bipolar(gain, net):
    """y = tanh(k·net), s = k·(1 − y²)."""
    y = math.tanh(gain * net)
    return y, gain * (1.0 - y * y)


@register_jitable
def unipolar(gain, net):
    """y = 1 / (1 + exp(−k·net)), s = k·y·(1 − y).

    Written through exp(−|k·net|), which never overflows, so that the
    interpreter (where ``math.exp`` of a large number raises) and compiled
    code (where it gives inf) agree.
    """
    z = gain * net
    t = math.exp(-abs(z))
    y = 1.0 / (1.0 + t) if z >= 0.0 else t / (1.0 + t)
    return y, gain * y * (1.0 - y)


@register_jitable
def activate(code, gain, net):
    """Output y and slope s of the activation with this code (eqs. 12.27, 12.30)."""
    if code == BIPOLAR:
        return bipolar(gain, net)
    if code == UNIPOLAR:
        return unipolar(gain, net)
    return linear(gain, net)


@dataclass(frozen=True)
class Activation:
    """What lmtrain knows of one activation function."""

    name: str  #: canonical name
    code: int  #: integer code the kernels use
    aliases: tuple  #: other accepted spellings (MATLAB's, Keras's, ...)
    common: str  #: the best-known other name, shown beside the canonical one ("" for none)
    short: str  #: a few letters for drawings of a network
    output: str  #: the formula of y = f(net), with gain k
    slope: str  #: the formula of s = f'(net), in terms of y
    low: float  #: outputs lie in [low, high]
    high: float
    fn: object  #: the scalar function (gain, net) -> (y, s)

    @property
    def label(self) -> str:
        """``"bipolar (tanh)"``: the name and its best-known other name, as messages show it."""
        return f"{self.name} ({self.common})" if self.common else self.name

    def formula(self, gain: float) -> str:
        """The output formula with the gain written in, e.g. ``"tanh(0.5·net)"``."""
        k = "" if gain == 1.0 else f"{gain:g}·"
        return self.output.replace("k·", k)


ACTIVATIONS = (
    Activation("bipolar", BIPOLAR, ("tanh", "tansig"), "tanh", "tanh", "tanh(k·net)", "k·(1 − y²)", -1.0, 1.0,
               bipolar),
    Activation("unipolar", UNIPOLAR, ("sigmoid", "logistic", "logsig"), "sigmoid", "sigm", "1/(1 + exp(−k·net))",
               "k·y·(1 − y)", 0.0, 1.0, unipolar),
    Activation("linear", LINEAR, ("identity", "purelin"), "", "lin", "k·net", "k", -math.inf, math.inf, linear),
)

#: canonical name -> record
BY_NAME = {a.name: a for a in ACTIVATIONS}
#: integer code -> record
BY_CODE = {a.code: a for a in ACTIVATIONS}
#: name -> integer code used by the compiled kernels
CODES = {a.name: a.code for a in ACTIVATIONS}
#: integer code -> name
NAMES = {a.code: a.name for a in ACTIVATIONS}
#: accepted spellings -> canonical name
ALIASES = {spelling: a.name for a in ACTIVATIONS for spelling in (a.name, *a.aliases)}
#: the accepted names, as one phrase for messages and help texts
CHOICES = ", ".join(a.label for a in ACTIVATIONS[:-1]) + " or " + ACTIVATIONS[-1].label


def describe(name: str) -> str:
    """The activation as messages show it, e.g. ``"bipolar (tanh)"`` for ``"tanh"``."""
    return get(name).label


def canonical(name: str) -> str:
    """Return the canonical activation name for ``name`` or raise ``ValueError``."""
    if not isinstance(name, str):
        raise TypeError(f"activation must be a string, got {type(name).__name__}")
    key = name.strip().lower()
    if key not in ALIASES:
        others = sorted(set(ALIASES) - set(CODES) - {a.common for a in ACTIVATIONS})
        raise ValueError(f"unknown activation {name!r}; expected {CHOICES} (also accepted: {', '.join(others)})")
    return ALIASES[key]


def get(name: str) -> Activation:
    """The record of ``name`` (any accepted spelling)."""
    return BY_NAME[canonical(name)]


def evaluate(name: str, net, gain: float = 1.0):
    """f(net) and f'(net) of one activation for an array of net values (NumPy; for users and tests).

    Returns
    -------
    y, s : ndarray
        Output and slope, same shape as ``net``.
    """
    fn = get(name).fn
    net = np.asarray(net, dtype=float)
    ys = [fn(float(gain), float(v)) for v in net.reshape(-1)]
    y = np.array([a for a, _ in ys], dtype=float).reshape(net.shape)
    s = np.array([b for _, b in ys], dtype=float).reshape(net.shape)
    return y, s
