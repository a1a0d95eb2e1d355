"""Where training on the plain kernels and on their speed twins part, counted.

``lm.train(..., kernels="plain")`` runs the training loop on the plain kernels
of ``lmtrain/kernels/``; the default, ``kernels="fast"``, on their compiled
twins. The two do the same arithmetic except a bipolar neuron's tanh (the twins
use their own vectorised tanh, a few ulp from ``math.tanh``), so with tanh
neurons runs may part. This script counts how often they do not: for each
algorithm key and each problem it trains from the same initial weights on both
kernels and counts the runs that agree — same iterations and stop reason,
weights equal to 1e-10 relative to max(1, max|w|) (the criterion of
``test_training_plain_equals_fast``). ``docs/performance.md`` ("Plain kernels
and their speed twins: where runs part") and the bracketed counts in the
comments of ``CASES`` in ``tests/test_twins.py`` come from its full run.

The 15 problems are parity-3, 4 and 5 on an MLP, a bridged MLP and a cascade
(FCC), the two irregular networks dagA and dagB, and four teacher problems
started near a minimum; seeds 0..N-1 each, at most 300 iterations. The
problems (``make_problem``), the algorithm keys (``ALGORITHMS``) and the
distance between weights (``weights_error``) are imported from
``tests/test_twins.py``: the script puts the ``tests`` directory on
``sys.path`` (which needs the test dependencies, hypothesis and pytest).
Options per run are built as that test builds them: the problem's options,
``max_iter=300``, then the algorithm's extras.

Run::

    python benchmarks/plain_vs_fast.py            # 30 seeds per problem
    python benchmarks/plain_vs_fast.py --quick    # 3 seeds, to check it runs
    python benchmarks/plain_vs_fast.py --seeds 10
"""

from __future__ import annotations

import argparse
import os
import sys
import time

from _machine import one_blas_thread_and_this_tree

one_blas_thread_and_this_tree(__file__)  # before NumPy is imported
sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "tests"))

import lmtrain as lm  # noqa: E402
from test_twins import ALGORITHMS, make_problem, weights_error  # noqa: E402

PROBLEMS = ([f"parity{n}-{kind}" for n in (3, 4, 5) for kind in ("mlp", "bmlp", "fcc")]
            + ["dagA", "dagB", "teacher-mlp", "teacher-bmlp", "teacher-fcc", "teacher-dagA"])
MAX_ITER = 300
TOL = 1e-10


def runs_agree(plain, fast) -> bool:
    """Same iterations and stop reason, weights within TOL relative to max(1, max|w|) of the fast run."""
    return ((plain.iterations, plain.stop_reason) == (fast.iterations, fast.stop_reason)
            and weights_error(plain.weights, fast.weights) <= TOL)


def agreeing_seeds(problem: str, key: str, seeds: int) -> int:
    """How many of seeds 0..seeds-1 give agreeing plain and fast runs of ``key`` on ``problem``."""
    algorithm, extra = ALGORITHMS[key]
    count = 0
    for seed in range(seeds):
        net, X, D, w0, options = make_problem(problem, seed)
        options = dict(options, max_iter=MAX_ITER, **extra)
        fast = lm.train(net, X, D, algorithm, w0=w0, **options)
        plain = lm.train(net, X, D, algorithm, w0=w0, kernels="plain", **options)
        count += runs_agree(plain, fast)
    return count


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=30, help="seeds per problem (default 30)")
    parser.add_argument("--quick", action="store_true", help="3 seeds per problem")
    args = parser.parse_args()
    seeds = 3 if args.quick else args.seeds

    start = time.perf_counter()
    counts = {}  # (key, problem) -> agreeing seeds
    for key in ALGORITHMS:
        for i, problem in enumerate(PROBLEMS, 1):
            counts[key, problem] = agreeing_seeds(problem, key, seeds)
            print(f"\r{key}: {i}/{len(PROBLEMS)} problems ({time.perf_counter() - start:.0f} s)",
                  end="\n" if i == len(PROBLEMS) else "", file=sys.stderr, flush=True)

    runs = len(PROBLEMS) * seeds
    print(f"Plain kernels against speed twins: {len(PROBLEMS)} problems x {seeds} seeds, "
          f"max_iter {MAX_ITER}, weights to {TOL:g}\n")
    print(f"{'algorithm':12}  runs that agree")
    for key in ALGORITHMS:
        print(f"{key:12}  {sum(counts[key, p] for p in PROBLEMS):4} of {runs}")

    print(f"\nAgreeing seeds of {seeds}, per problem")
    print(f"{'problem':13}" + "".join(f"{key:>13}" for key in ALGORITHMS))
    for problem in PROBLEMS:
        print(f"{problem:13}" + "".join(f"{counts[key, problem]:>13}" for key in ALGORITHMS))
    print(f"\nwall time {time.perf_counter() - start:.0f} s", file=sys.stderr)


if __name__ == "__main__":
    main()
