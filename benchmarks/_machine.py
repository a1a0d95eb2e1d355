"""What machine a benchmark ran on (shared by the benchmark scripts)."""

from __future__ import annotations

import os
import platform
import sys

BLAS_THREAD_VARS = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS", "BLIS_NUM_THREADS")


def one_blas_thread_and_this_tree(script_file: str) -> None:
    """For a benchmark script, before NumPy is imported: BLAS on one thread unless the
    environment says otherwise (the compiled code uses one core), and the lmtrain of
    this source tree first on ``sys.path`` (as ``run.py`` does)."""
    for var in BLAS_THREAD_VARS:
        os.environ.setdefault(var, "1")
    here = os.path.dirname(os.path.abspath(script_file))
    for path in (here, os.path.dirname(here)):
        if path not in sys.path:
            sys.path.insert(0, path)


def cpu_model() -> str:
    """The processor's model name from /proc/cpuinfo, else what ``platform`` knows."""
    try:
        with open("/proc/cpuinfo") as fh:
            for line in fh:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()
