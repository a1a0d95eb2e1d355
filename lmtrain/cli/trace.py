"""``lmtrain trace``: the chapter's arithmetic number by number — one pattern's
forward pass, unit-δ backward passes and Jacobian rows, or (``--iteration``)
one whole LM iteration: every pattern's q_p and η_p added into Q and g, the
damped system, the tries of the μ loop and the new weights.

Data: parity-N (one output) or the bit count of N inputs (two or more
outputs; for N = 3 a full adder) by default, or the user's own CSV table
(``--data FILE --target COLUMN [COLUMN ...]``, read as ``lmtrain train`` reads
it). Patterns are numbered p1…pP, as in Fig. 12.6."""

from __future__ import annotations

_EPILOG = """examples:
  lmtrain trace --sizes 2 2 1 --pattern 2            one XOR pattern, p2
  lmtrain trace --sizes 2 2 1 --iteration            one whole LM iteration on XOR
  lmtrain trace --sizes 3 3 2 --iteration            a full adder: two outputs, two backward passes per pattern
  lmtrain trace --data my.csv --target y1 y2 --sizes 2 3 2 --iteration
"""


def _data(args):
    """Inputs, targets and a description of where they came from."""
    from .. import datasets
    from ._common import UsageError, _names, columns, read_table

    if args.data is None:
        if args.target or args.features:
            raise UsageError("--target and --features name columns of a CSV file: give it with --data FILE")
        n, m = args.sizes[0], args.sizes[-1]
        if m == 1:
            X, D = datasets.parity(n, args.encoding)
            return X, D, f"parity-{n} ({args.encoding})"
        most = n.bit_length()
        if m > most:
            raise UsageError(f"--sizes ends in {m} outputs, but the built-in data for {n} inputs has 1 (parity-{n}) "
                             f"or up to {most} (the bit count of {n} inputs); give your own data with --data FILE")
        X, D = datasets.bit_count(n, m, args.encoding)
        what = "a full adder's sum and carry" if (n, m) == (3, 2) else f"the lowest {m} bits of the count of on inputs"
        return X, D, f"bit count of {n} inputs ({what}, {args.encoding})"
    if not args.target:
        header, _ = read_table(args.data)
        raise UsageError(f"--data needs --target COLUMN [COLUMN ...], the desired outputs; the columns of "
                         f"{args.data} are {_names(header)}")
    header, rows = read_table(args.data)
    for t in args.target:
        if t not in header:
            raise UsageError(f"{args.data} has no column {t!r}; its columns are {_names(header)}")
    features = list(args.features) if args.features else [h for h in header if h not in args.target]
    both = [c for c in features if c in args.target]
    if both:
        raise UsageError(f"column {both[0]!r} cannot be both a feature and a target")
    if not features:
        raise UsageError(f"{args.data} has no column besides the targets to use as input")
    X = columns(args.data, header, rows, features)
    D = columns(args.data, header, rows, list(args.target))
    return X, D, f"{args.data}: {len(features)} input column(s) -> {', '.join(args.target)}"


def _run(args) -> int:
    from .. import network
    from ._common import UsageError
    from ..trace import trace

    if args.sizes is not None and len(args.sizes) < 2:
        raise UsageError("--sizes needs at least an input and an output size, e.g. --sizes 3 3 1")
    if args.sizes is not None and min(args.sizes) < 1:
        raise UsageError("--sizes must all be positive")
    if args.data is not None and args.sizes is None:
        raise UsageError("with --data give --sizes too: inputs (the feature columns), hidden neurons, outputs "
                         "(the target columns), e.g. --sizes 2 3 1")
    if args.sizes is None:
        args.sizes = [3, 3, 1]
    X, D, source = _data(args)
    if X.shape[1] != args.sizes[0]:
        raise UsageError(f"--sizes starts with {args.sizes[0]} input(s), but the data has {X.shape[1]} input "
                         f"column(s)")
    if D.shape[1] != args.sizes[-1]:
        raise UsageError(f"--sizes ends with {args.sizes[-1]} output(s), but the data has {D.shape[1]} target "
                         f"column(s)")
    if args.topology == "fcc":
        net = network.fcc(args.sizes[0], sum(args.sizes[1:]), args.sizes[-1], activation=args.activation,
                          gain=args.gain)
    else:
        build = {"mlp": network.mlp, "bmlp": network.bmlp}[args.topology]
        net = build(args.sizes, activation=args.activation, gain=args.gain)
    P = len(X)
    if not 1 <= args.pattern <= P:
        raise UsageError(f"--pattern must be in 1..{P} (patterns are numbered p1..p{P}), got {args.pattern}")
    if not 1 <= args.digits <= 17:
        raise UsageError(f"--digits must be in 1..17, got {args.digits}")
    if args.mu <= 0:
        raise UsageError(f"--mu must be positive, got {args.mu}")
    if args.max_tries < 1:
        raise UsageError(f"--max-tries must be at least 1, got {args.max_tries}")
    w = net.init_weights(args.seed)
    print(f"data: {source}, {P} pattern(s) p1..p{P}; initial weights uniform in [-1, 1], seed {args.seed}")
    if args.iteration:
        t = trace(net, w, X, D, pattern=args.pattern, iteration=True, mu=args.mu, max_tries=args.max_tries,
                  digits=args.digits, matrices=args.matrices, columns=args.columns)
    else:
        t = trace(net, w, X, D, pattern=args.pattern, digits=args.digits)
    print(t)
    return 0


def register(sub) -> None:
    import argparse

    p = sub.add_parser("trace", help="print the chapter's arithmetic for one pattern or one whole LM iteration",
                       description=__doc__.split("\n\n")[0].replace("``", "'"),
                       epilog=_EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--sizes", type=int, nargs="+", default=None, metavar="N",
                   help="layer sizes: inputs, hidden..., outputs (default 3 3 1); ending in 2 or more outputs "
                        "uses the bit count of the inputs unless --data is given")
    p.add_argument("--topology", choices=["mlp", "bmlp", "fcc"], default="mlp",
                   help="mlp (default), bmlp (bridged) or fcc (a cascade of the hidden+output neurons)")
    p.add_argument("--activation", default="bipolar", help="bipolar (default), unipolar or linear")
    p.add_argument("--gain", type=float, default=0.5, help="activation gain (default 0.5)")
    p.add_argument("--encoding", choices=["bipolar", "unipolar"], default="bipolar",
                   help="built-in data as -1/+1 (bipolar, default) or 0/1 (unipolar)")
    p.add_argument("--data", metavar="FILE.csv", help="trace your own CSV table (header row required) instead")
    p.add_argument("--target", nargs="+", metavar="COLUMN", help="with --data: the target column(s), one per output")
    p.add_argument("--features", nargs="+", metavar="COLUMN",
                   help="with --data: the input columns (default: every column but the targets)")
    p.add_argument("--seed", type=int, default=0, help="seed of the initial weights (default 0)")
    p.add_argument("--pattern", type=int, default=1,
                   help="which pattern, counted from 1 as p1..pP (default 1); with --iteration the one whose "
                        "arithmetic is printed in full")
    p.add_argument("--iteration", action="store_true",
                   help="go on through one whole LM iteration: every pattern's q_p and eta_p added into Q and g, "
                        "the damped system, each try of the mu loop, the new weights")
    p.add_argument("--mu", type=float, default=0.01, help="with --iteration: mu at the start (default 0.01)")
    p.add_argument("--max-tries", type=int, default=5,
                   help="with --iteration: failed tries before a step is forced (default 5, as Fig. 12.5)")
    p.add_argument("--matrices", type=int, default=10, metavar="N",
                   help="with --iteration: print q_p, Q and Q + mu*I whole when there are at most N weights "
                        "(default 10), else their diagonals")
    p.add_argument("--columns", type=int, default=16, metavar="K",
                   help="with --iteration: at most K patterns get a column in the per-pattern tables (default 16)")
    p.add_argument("--digits", type=int, default=6, help="significant digits (default 6)")
    p.set_defaults(func=_run)
