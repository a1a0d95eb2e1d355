"""Activation functions f(net) and their slopes s = f'(net) (eqs. 12.27 and 12.30).

Every neuron has an activation and a gain k > 0:

================  ===========================  =====================
name              output  y = f(net)           slope  s = f'(net)
================  ===========================  =====================
``"bipolar"``     tanh(k·net)                  k·(1 − y²)
``"unipolar"``    1 / (1 + exp(−k·net))        k·y·(1 − y)
``"linear"``      k·net                        k
================  ===========================  =====================

The slope is written in terms of the output y, so a backward pass needs only the
values kept from the forward pass. The chapter's names are canonical; the usual
ones are accepted everywhere and shown beside them ("bipolar (tanh)",
"unipolar (sigmoid)"), see :data:`ALIASES` and :func:`describe`. The compiled kernels in :mod:`lmtrain.engine`
refer to activations by the integer codes below.
"""

from __future__ import annotations

import numpy as np

LINEAR = 0
BIPOLAR = 1
UNIPOLAR = 2

#: name -> integer code used by the compiled kernels
CODES = {"linear": LINEAR, "bipolar": BIPOLAR, "unipolar": UNIPOLAR}
#: integer code -> name
NAMES = {code: name for name, code in CODES.items()}
#: accepted spellings -> canonical name
ALIASES = {
    "linear": "linear", "identity": "linear", "purelin": "linear",
    "bipolar": "bipolar", "tanh": "bipolar", "tansig": "bipolar",
    "unipolar": "unipolar", "sigmoid": "unipolar", "logistic": "unipolar", "logsig": "unipolar",
}


#: canonical name -> how messages and help texts show it
TEXT = {"bipolar": "bipolar (tanh)", "unipolar": "unipolar (sigmoid)", "linear": "linear"}
#: the accepted names, as one phrase for messages and help texts
CHOICES = "bipolar (tanh), unipolar (sigmoid) or linear"


def describe(name: str) -> str:
    """The activation as messages show it, e.g. ``"bipolar (tanh)"`` for ``"tanh"``."""
    return TEXT[canonical(name)]


def canonical(name: str) -> str:
    """Return the canonical activation name for ``name`` or raise ``ValueError``."""
    if not isinstance(name, str):
        raise TypeError(f"activation must be a string, got {type(name).__name__}")
    key = name.strip().lower()
    if key not in ALIASES:
        others = sorted(set(ALIASES) - set(CODES) - {"tanh", "sigmoid"})
        raise ValueError(f"unknown activation {name!r}; expected {CHOICES} (also accepted: {', '.join(others)})")
    return ALIASES[key]


def evaluate(name: str, net, gain: float = 1.0):
    """Plain NumPy f(net) and f'(net) for one activation (for users and tests).

    Returns
    -------
    y, s : ndarray
        Output and slope, same shape as ``net``.
    """
    name = canonical(name)
    net = np.asarray(net, dtype=float)
    if name == "bipolar":
        y = np.tanh(gain * net)
        return y, gain * (1.0 - y * y)
    if name == "unipolar":
        y = 1.0 / (1.0 + np.exp(-gain * net))
        return y, gain * y * (1.0 - y)
    return gain * net, np.full_like(net, gain)
