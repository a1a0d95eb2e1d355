"""``lmtrain trace``: the chapter's forward pass, unit-δ backward passes and
Jacobian rows for one parity-N pattern, number by number."""

from __future__ import annotations


def _run(args) -> int:
    from .. import datasets, network
    from ._common import UsageError
    from ..trace import trace

    if len(args.sizes) < 2:
        raise UsageError("--sizes needs at least an input and an output size, e.g. --sizes 3 3 1")
    build = {"mlp": network.mlp, "bmlp": network.bmlp}
    if args.topology == "fcc":
        net = network.fcc(args.sizes[0], sum(args.sizes[1:]), args.sizes[-1], activation=args.activation, gain=args.gain)
    else:
        net = build[args.topology](args.sizes, activation=args.activation, gain=args.gain)
    if net.n_outputs != 1:
        raise UsageError("trace uses parity-N data, which has one output: end --sizes with 1")
    X, D = datasets.parity(args.sizes[0], args.encoding)
    if not 0 <= args.pattern < len(X):
        raise UsageError(f"--pattern must be in 0..{len(X) - 1} for parity-{args.sizes[0]}")
    w = net.init_weights(args.seed)
    print(trace(net, w, X[args.pattern], D[args.pattern], digits=args.digits))
    return 0


def register(sub) -> None:
    p = sub.add_parser("trace", help="print the forward/backward/Jacobian arithmetic for one parity-N pattern")
    p.add_argument("--sizes", type=int, nargs="+", default=[3, 3, 1], help="layer sizes (default 3 3 1)")
    p.add_argument("--topology", choices=["mlp", "bmlp", "fcc"], default="mlp",
                   help="mlp, bmlp (bridged) or fcc (a cascade of the hidden+output neurons)")
    p.add_argument("--activation", default="bipolar", help="bipolar (default), unipolar or linear")
    p.add_argument("--gain", type=float, default=0.5, help="activation gain (default 0.5)")
    p.add_argument("--encoding", choices=["bipolar", "unipolar"], default="bipolar")
    p.add_argument("--seed", type=int, default=0, help="seed of the initial weights (default 0)")
    p.add_argument("--pattern", type=int, default=0, help="which parity pattern (default 0)")
    p.add_argument("--digits", type=int, default=6, help="significant digits (default 6)")
    p.set_defaults(func=_run)
