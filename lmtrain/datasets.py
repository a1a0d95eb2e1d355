"""Built-in data sets, all deterministic (no seed needed, nothing downloaded).

Every function returns ``(X, D)``: inputs of shape (P, n_inputs) and desired
outputs of shape (P, M), float64, one row per pattern p — the layout
:func:`lmtrain.train` takes.

* ``parity(n)``: X (2**n, n), D (2**n, 1);
* ``xor()``: X (4, 2), D (4, 1).

Encodings: ``"bipolar"`` (the default) puts inputs and targets in {−1, +1},
for tanh-like (bipolar) output neurons; ``"unipolar"`` puts them in {0, 1}, for
sigmoid (unipolar) output neurons.

* :func:`parity` — parity-N: all 2^N input patterns; the target is "on" (+1
  bipolar, 1 unipolar) when an odd number of inputs are "on". Parity-3 is the
  chapter's example (Fig. 12.6, §12.4).
* :func:`xor` — parity-2, the smallest problem a single neuron cannot solve.
"""

from __future__ import annotations

import itertools

import numpy as np

from ._validation import check_number


def parity(n: int, encoding: str = "bipolar"):
    """Parity-N patterns.

    Parameters
    ----------
    n : int
        Number of inputs (1 ≤ n ≤ 20).
    encoding : {"bipolar", "unipolar"}
        ``"bipolar"``: inputs and targets in {−1, +1}, "on" = +1, target +1 when
        the number of +1 inputs is odd (equivalently target = −∏(−x_i)).
        ``"unipolar"``: inputs and targets in {0, 1}, target = XOR of the inputs.

    Returns
    -------
    X : ndarray, shape (2**n, n)
        Every input combination, in binary counting order (first input slowest).
    D : ndarray, shape (2**n, 1)
    """
    n = check_number(n, "n", low=1, high=20, integer=True)
    if encoding not in ("bipolar", "unipolar"):
        raise ValueError(f"encoding must be 'bipolar' or 'unipolar', got {encoding!r}")
    bits = np.array(list(itertools.product((0, 1), repeat=n)), dtype=np.float64)
    odd = bits.sum(axis=1) % 2
    if encoding == "unipolar":
        return bits, odd.reshape(-1, 1)
    return 2.0 * bits - 1.0, (2.0 * odd - 1.0).reshape(-1, 1)


def xor(encoding: str = "bipolar"):
    """XOR, i.e. :func:`parity` with n = 2.

    Returns
    -------
    X : ndarray, shape (4, 2)
        ``[[−1, −1], [−1, +1], [+1, −1], [+1, +1]]`` (bipolar) or the same with
        0 for −1 (unipolar).
    D : ndarray, shape (4, 1)
        ``[−1, +1, +1, −1]`` (bipolar) or ``[0, 1, 1, 0]`` (unipolar).
    """
    return parity(2, encoding)
