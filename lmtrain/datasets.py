"""Built-in data sets, all deterministic (no seed needed, nothing downloaded).

Every function returns ``(X, D)``: inputs of shape (P, n_inputs) and desired
outputs of shape (P, M), float64, one row per pattern p — the layout
:func:`lmtrain.train` takes.

* ``parity(n)``: X (2**n, n), D (2**n, 1);
* ``xor()``: X (4, 2), D (4, 1);
* ``bit_count(n)``: X (2**n, n), D (2**n, bits) — several outputs.

Encodings: ``"bipolar"`` (the default) puts inputs and targets in {−1, +1},
for tanh-like (bipolar) output neurons; ``"unipolar"`` puts them in {0, 1}, for
sigmoid (unipolar) output neurons.

* :func:`parity` — parity-N: all 2^N input patterns; the target is "on" (+1
  bipolar, 1 unipolar) when an odd number of inputs are "on". Parity-3 is the
  chapter's example (Fig. 12.6, §12.4).
* :func:`xor` — parity-2, the smallest problem a single neuron cannot solve.
* :func:`bit_count` — how many inputs are "on", in binary, one output per
  bit, lowest bit first: the first output is parity-N, and for n = 3 the two
  outputs are a full adder's sum and carry. A small problem with more than
  one output, for the chapter's one backward pass per output (Fig. 12.4).
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


def bit_count(n: int, bits: int | None = None, encoding: str = "bipolar"):
    """The number of "on" inputs written in binary, one output per bit, lowest bit first.

    Output 1 is parity-N (:func:`parity`); for ``n = 3`` the two outputs are
    the sum and the carry of a full adder, for ``n = 2`` those of a half adder.

    Parameters
    ----------
    n : int
        Number of inputs (1 ≤ n ≤ 20).
    bits : int, optional
        How many of the lowest bits to keep (default: all that the count
        0…n needs, ``n.bit_length()``).
    encoding : {"bipolar", "unipolar"}
        As for :func:`parity`: inputs and targets in {−1, +1} or in {0, 1}.

    Returns
    -------
    X : ndarray, shape (2**n, n)
        Every input combination, in the order of :func:`parity`.
    D : ndarray, shape (2**n, bits)
    """
    n = check_number(n, "n", low=1, high=20, integer=True)
    most = n.bit_length()
    bits = most if bits is None else check_number(bits, "bits", low=1, high=most, integer=True)
    if encoding not in ("bipolar", "unipolar"):
        raise ValueError(f"encoding must be 'bipolar' or 'unipolar', got {encoding!r}")
    X, _ = parity(n, "unipolar")
    count = X.sum(axis=1).astype(np.int64)
    D = np.column_stack([(count >> b) & 1 for b in range(bits)]).astype(np.float64)
    if encoding == "unipolar":
        return X, D
    return 2.0 * X - 1.0, 2.0 * D - 1.0
