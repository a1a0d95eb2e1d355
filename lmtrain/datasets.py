"""Built-in data sets, all deterministic.

* :func:`parity` — parity-N: all 2^N input patterns; the target is +1 (bipolar)
  or 1 (unipolar) when an odd number of inputs are "on". Parity-3 is the
  chapter's example (Fig. 12.6).
* :func:`xor` — parity-2.
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
    """XOR = parity-2; shapes (4, 2) and (4, 1)."""
    return parity(2, encoding)
