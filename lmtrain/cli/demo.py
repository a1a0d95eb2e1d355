"""``lmtrain demo``: parity-3 with EBP, Gauss–Newton and LM, 100 seeded trials each."""

from __future__ import annotations


def _run(args) -> int:
    from .. import datasets, experiments, mlp

    X, D = datasets.parity(3)
    net = mlp([3, 3, 1], activation="bipolar", gain=0.5)
    print(f"parity-3 on {net}, goal E <= 0.01, {args.trials} trials")
    print(f"{'algorithm':<16}{'success':>9}{'iterations':>12}{'ms/trial':>10}")
    for name, opts in [("ebp", {"alpha": 1.0}), ("gauss_newton", {}), ("lm", {})]:
        s = experiments.run_trials(net, X, D, name, trials=args.trials, seed=args.seed, goal=0.01, **opts)
        print(f"{name:<16}{100 * s.goal_rate:>8.0f}%{s.mean_iterations:>12.2f}{1e3 * s.mean_time:>10.3f}")
    return 0


def register(sub) -> None:
    p = sub.add_parser("demo", help="parity-3 with EBP, Gauss–Newton and LM (seeded trials)")
    p.add_argument("--trials", type=int, default=100, help="trials per algorithm (default 100)")
    p.add_argument("--seed", type=int, default=0, help="seed of the trials (default 0)")
    p.set_defaults(func=_run)
