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
values kept from the forward pass. The compiled kernels in :mod:`lmtrain.engine`
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


def canonical(name: str) -> str:
    """Return the canonical activation name for ``name`` or raise ``ValueError``."""
    if not isinstance(name, str):
        raise TypeError(f"activation must be a string, got {type(name).__name__}")
    key = name.strip().lower()
    if key not in ALIASES:
        raise ValueError(
            f"unknown activation {name!r}; expected one of {sorted(set(ALIASES.values()))}"
            f" (aliases: {sorted(ALIASES)})"
        )
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
