"""Child process of ``limit_memory.py``: the peak memory growth of one LM training run.

Run as ``python _memory_probe.py P MODE HIDDEN SEED``; prints one JSON line.
It is a file of its own, not a function of the chapter script, so that the
child imports only lmtrain and NumPy (no matplotlib) and its memory holds
nothing the measurement does not need.

How the number is obtained (Linux only):

1. warm up: train the same network once on 200 patterns with the same
   ``jacobian`` mode, so that compiling or loading the kernels, BLAS's thread
   buffers and the first allocations are behind us — compiling alone raises
   the high-water mark by about 100 MB;
2. make the P patterns, then write ``5`` to ``/proc/self/clear_refs``, which
   resets the peak resident set size ``VmHWM`` to the current one, and read
   ``VmRSS`` from ``/proc/self/status``;
3. train one LM iteration on the P patterns and read ``VmHWM`` again.

The growth is VmHWM − VmRSS before: the most memory the training run added at
any moment, whatever it freed before returning.
"""

from __future__ import annotations

import json
import re
import sys
import time


def status() -> dict:
    """``VmHWM`` and ``VmRSS`` of this process, in bytes."""
    with open("/proc/self/status", encoding="ascii") as fh:
        text = fh.read()
    return {k: 1024 * int(re.search(rf"{k}:\s+(\d+)\s+kB", text).group(1)) for k in ("VmHWM", "VmRSS")}


def data(P: int, seed: int):
    """P points of a two-output regression on [−1, 1]²."""
    import numpy as np

    rng = np.random.default_rng(seed)
    X = rng.uniform(-1.0, 1.0, (P, 2))
    D = np.column_stack([np.sin(np.pi * X[:, 0]) * X[:, 1], np.cos(np.pi * X[:, 1]) * X[:, 0]])
    return X, D


def network(hidden: int):
    import lmtrain as lm

    return lm.mlp([2, hidden, 2], activation="bipolar", output_activation="linear")


def measure(P: int, mode: str, hidden: int, seed: int) -> dict:
    import lmtrain as lm

    net = network(hidden)
    Xw, Dw = data(200, seed + 1)
    lm.train(net, Xw, Dw, "lm", seed=seed, max_iter=2, jacobian=mode)
    X, D = data(P, seed)
    w0 = net.init_weights(seed)
    with open("/proc/self/clear_refs", "w", encoding="ascii") as fh:
        fh.write("5")
    before = status()
    t0 = time.perf_counter()
    r = lm.train(net, X, D, "lm", w0=w0, max_iter=1, jacobian=mode)
    seconds = time.perf_counter() - t0
    after = status()
    return {"P": P, "mode": mode, "M": net.n_outputs, "N": net.n_weights, "nodes": net.n_nodes,
            "growth": after["VmHWM"] - before["VmRSS"], "rss_before": before["VmRSS"], "seconds": seconds,
            "iterations": r.iterations}


if __name__ == "__main__":
    P, mode, hidden, seed = int(sys.argv[1]), sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
    print(json.dumps(measure(P, mode, hidden, seed)))
