"""How the blocked path cuts a problem, and when training takes it.

:func:`use_blocks` is ``jacobian="auto"``'s choice between the compiled
workspace, which stores the whole Jacobian, and the blocked BLAS path of
:mod:`.blocked`; :func:`block_patterns` how many patterns each block holds.
"""

from __future__ import annotations

from .. import records as opt

#: entries of one Jacobian block J_b at most (2**17 doubles = 1 MB): big enough for
#: BLAS to run at full speed, small enough that the block stays in the core's caches
#: from the Jacobian to the products, and memory stays flat
BLOCK_ENTRIES = 1 << 17

#: ``jacobian="auto"`` takes the blocked path when forming the Gram matrix (JᵀJ, or JJᵀ
#: when P·M < N) costs at least this many multiply-adds, min(R, N)²·max(R, N) with
#: R = P·M: the measured crossover (``benchmarks/crossover.py``) ...
CROSSOVER_WORK = 1_000_000
#: ... and whenever the whole J would take more than this many bytes
FULL_JACOBIAN_BYTES = 64 << 20


def use_blocks(mode: int, blockable: bool, P: int, M: int, N: int) -> bool:
    """True when training should take the blocked path (``jacobian`` option code ``mode``)."""
    if not blockable:
        return False
    if mode == opt.JACOBIAN_FULL:
        return False
    if mode == opt.JACOBIAN_BLOCKS:
        return True
    R = P * M
    K = min(R, N)
    return K * K * max(R, N) >= CROSSOVER_WORK or R * N * 8 > FULL_JACOBIAN_BYTES


def block_patterns(P: int, M: int, N: int, entries: int | None = None) -> int:
    """Patterns per block: the fewest blocks whose J_b has at most ``entries`` entries (:data:`BLOCK_ENTRIES`),
    as equal in size as they can be; at least one pattern.

    Equal blocks (2,000 patterns in blocks of at most 523 are four of 500,
    not three of 523 and one of 431) let the pair products run in chunks of
    equal width too. A block whose rows would be a multiple of 4 KB long (B·M
    a multiple of 512) is made 8 patterns shorter: rows that far apart fall
    into the same few cache sets and evict each other.
    """
    most = int(max(1, (BLOCK_ENTRIES if entries is None else entries) // max(1, M * N)))
    if most >= P:
        return int(P)
    n = -(-P // most)  # blocks
    B = -(-P // n)  # ≤ most
    if B > 8 and (B * M) % 512 == 0:
        B -= 8
    return int(B)
