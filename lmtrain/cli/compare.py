"""``lmtrain compare``: several training rules on parity-N from the same seeded weights.

::

    lmtrain compare [--sizes 3 3 1] [--topology mlp|bmlp|fcc] [--activation bipolar] [--gain 0.5]
                    [--algorithm ebp:alpha=1 newton gauss_newton lm] [--trials 100] [--seed 0]
                    [--goal 0.01] [--max-iter K] [--plot FILE] [--csv FILE]
    lmtrain compare --setup table-12-2 [--trials 100] [--seed 0] [--plot FILE] [--csv FILE]

Each ``--algorithm`` entry is a rule with its options, ``name[:key=value,...]``,
e.g. ``lm:mu=0.1,mu_inc=5`` or ``ebp:alpha=0.5,momentum=0.9`` (the options of
:func:`lmtrain.train`). Trial i of every entry starts from the same weights
(:func:`lmtrain.experiments.compare`), so the rows differ only by their rules.
The table goes to standard output; ``--csv`` writes it, ``--plot`` draws the
error curves, one panel per entry.

The defaults are a plain comparison, not the chapter's Table 12.2: that table
needs a goal, an EBP step scaling and caps of its own, which ``--setup
table-12-2`` selects all at once (:data:`lmtrain.experiments.TABLE_12_2`,
the set-up of ``chapters/fig_12_8.py``). A named set-up fixes the network,
the data, the goal and the rows, so it refuses the options that would change
them.
"""

from __future__ import annotations

import csv
import io
import math
import os

from ._common import UsageError

DEFAULT_ALGORITHMS = ["ebp:alpha=1", "newton", "gauss_newton", "lm"]
#: defaults of the options a named set-up fixes (None in the parser, so that we see what was given)
DEFAULTS = {"sizes": [3, 3, 1], "topology": "mlp", "activation": "bipolar", "gain": 0.5, "encoding": "bipolar",
            "algorithm": DEFAULT_ALGORITHMS, "goal": 0.01, "error": "E", "max_iter": None}
#: iterations of error history kept per trial for the plot (trials × this × 8 bytes)
PLOT_HISTORY = 20_000
#: how the title names each unit of the goal
_GOAL_NAME = {"E": "E", "sse": "SSE", "mse": "MSE"}
CSV_COLUMNS = ["label", "algorithm", "options", "trials", "reached_goal", "mean_iterations", "mean_time_ms",
               "stops"]


def _value(text: str):
    """An option value from the command line: int, float, true/false, or the text itself."""
    t = text.strip()
    low = t.lower()
    if low in ("true", "false"):
        return low == "true"
    try:
        return int(t)
    except ValueError:
        pass
    try:
        return float(t)
    except ValueError:
        return t


def parse_spec(spec: str) -> tuple[str, dict]:
    """``"lm:mu=0.1,mu_inc=5"`` → ``("lm", {"mu": 0.1, "mu_inc": 5})``."""
    from ..algorithms import ALGORITHMS

    name, _, rest = spec.partition(":")
    name = name.strip()
    if name not in ALGORITHMS:
        raise UsageError(f"--algorithm {spec!r}: unknown rule {name!r}; the rules are "
                         + ", ".join(sorted(ALGORITHMS)))
    options = {}
    for part in filter(None, (p.strip() for p in rest.split(","))):
        key, eq, value = part.partition("=")
        key = key.strip()
        if not eq or not key or not value.strip():
            raise UsageError(f"--algorithm {spec!r}: options are key=value pairs separated by commas, "
                             f"e.g. lm:mu=0.1,mu_inc=5; got {part!r}")
        if key in options:
            raise UsageError(f"--algorithm {spec!r}: option {key!r} given twice")
        options[key] = _value(value)
    return name, options


def _network(args):
    from .. import network

    sizes = args.sizes
    if len(sizes) < 2 or sizes[-1] != 1:
        raise UsageError("--sizes gives the input, hidden and output sizes of a parity-N network and ends "
                         f"with one output, e.g. --sizes 3 3 1; got {' '.join(map(str, sizes))}")
    if args.topology == "fcc":
        return network.fcc(sizes[0], sum(sizes[1:]), 1, activation=args.activation, gain=args.gain)
    build = network.bmlp if args.topology == "bmlp" else network.mlp
    return build(sizes, activation=args.activation, gain=args.gain)


def _fmt(v, spec: str) -> str:
    return "—" if isinstance(v, float) and math.isnan(v) else format(v, spec)


def table_text(rows: list[dict]) -> str:
    """The comparison as a plain-text table."""
    width = max(9, *(len(r["label"]) for r in rows)) + 2
    head = f"{'rule':<{width}}{'reached goal':>13}{'iterations':>12}{'ms/trial':>10}  stops"
    lines = [head, "-" * len(head)]
    for r in rows:
        lines.append(f"{r['label']:<{width}}{_fmt(100 * r['reached_goal'], '.0f'):>12}%"
                     f"{_fmt(r['mean_iterations'], '.2f'):>12}{_fmt(r['mean_time_ms'], '.3f'):>10}  {r['stops']}")
    return "\n".join(lines) + "\n"


def csv_text(rows: list[dict]) -> str:
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=CSV_COLUMNS, lineterminator="\n")
    w.writeheader()
    for r in rows:
        w.writerow({k: r[k] for k in CSV_COLUMNS})
    return buf.getvalue()


def plot(results: dict, goal: float, title: str, history: int | None = None):
    """A matplotlib Figure: the error curves of every entry, one panel each (no pyplot).

    Each panel's title names its entry, how many of its trials reached the goal and how its trials
    stopped (a trial that stopped at once has no curve to draw); curves
    longer than ``history`` iterations show their first ``history``.
    """
    from matplotlib.figure import Figure

    from ..experiments import summary_table
    from ..plotting import plot_error_curves

    n = len(results)
    cols = min(n, 4)
    rows = -(-n // cols)
    fig = Figure(figsize=(3.6 * cols, 3.0 * rows + 0.6), layout="constrained")
    axes = fig.subplots(rows, cols, squeeze=False, sharey=True)
    for k, (label, s) in enumerate(results.items()):
        ax = axes[k // cols][k % cols]
        plot_error_curves(s, ax, goal=goal if goal > 0 else None, color=f"C{k % 10}", max_curves=100,
                          log_x=s.algorithm == "ebp")
        head = f"{label}: {100 * s.goal_rate:.0f} % reach the goal\nstops: {summary_table({label: s})[0]['stops']}"
        if history is not None and int(s.iterations.max()) > history:
            head += f"\n(curves: the first {history:,} iterations)"
        ax.set_title(head, fontsize=8)
    for k in range(n, rows * cols):
        axes[k // cols][k % cols].set_visible(False)
    fig.suptitle(title, fontsize=10)
    return fig


def _apply_setup(args):
    """Fill the set-up-fixed options: from ``--setup`` (refusing any given too) or from :data:`DEFAULTS`.

    Returns the :class:`lmtrain.experiments.Setup`, or None without ``--setup``.
    """
    from ..experiments import SETUPS

    if args.setup is None:
        for key, value in DEFAULTS.items():
            if getattr(args, key) is None:
                setattr(args, key, value)
        return None
    setup = SETUPS[args.setup]
    given = [key for key in DEFAULTS if getattr(args, key) is not None]
    if given:
        flags = ", ".join("--" + k.replace("_", "-") for k in given)
        raise UsageError(f"--setup {args.setup} fixes the network, data, goal and rules; drop {flags} "
                         "(--trials, --seed, --csv and --plot combine with it)")
    args.sizes = list(setup.sizes)
    args.topology, args.activation, args.gain, args.encoding = (setup.topology, setup.activation, setup.gain,
                                                                setup.encoding)
    args.goal, args.error = setup.goal, "E"
    return setup


def _run(args) -> int:
    from .. import datasets
    from .fit import _check_writable
    from ..algorithms import resolve_options
    from ..experiments import compare, summary_table
    from ..io import atomic_write_text

    setup = _apply_setup(args)
    if args.trials < 1:
        raise UsageError(f"--trials must be at least 1, got {args.trials}")
    if not (args.goal >= 0 and math.isfinite(args.goal)):
        raise UsageError(f"--goal must be a finite number >= 0, got {args.goal:g}")
    if args.max_iter is not None and args.max_iter < 1:
        raise UsageError(f"--max-iter must be at least 1, got {args.max_iter}")
    entries = {}
    if setup is not None:
        entries = setup.algorithms()
    else:
        for spec in args.algorithm:
            if spec in entries:
                raise UsageError(f"--algorithm {spec!r} is given twice")
            entries[spec] = parse_spec(spec)
    for target in (args.csv, args.plot):
        if target is not None:
            _check_writable(target)
    if args.plot is not None:
        _image_format(args.plot)
    net = setup.network() if setup is not None else _network(args)
    X, D = setup.data() if setup is not None else datasets.parity(args.sizes[0], args.encoding)
    common = {"goal": args.goal, "error": args.error}
    if args.max_iter is not None:
        common["max_iter"] = args.max_iter
    resolved = {}
    for spec, (name, opts) in entries.items():  # every option checked before anything runs
        try:
            resolved[spec] = resolve_options(name, {**common, **opts})
        except (TypeError, ValueError) as exc:
            raise UsageError(f"--algorithm {spec!r}: {exc}") from None
    # the figure shows whole curves, up to PLOT_HISTORY iterations
    history = 1000 if args.plot is None else min(max(o["max_iter"] for o in resolved.values()), PLOT_HISTORY)
    title = (f"parity-{args.sizes[0]} ({args.encoding}), {args.topology} "
             f"{'-'.join(map(str, args.sizes))} ({net.n_weights} weights, {args.activation}, gain {args.gain:g}), "
             f"goal {_GOAL_NAME[args.error]} <= {args.goal:g}, {args.trials} trials, seed {args.seed}")
    if setup is not None:
        title = f"set-up {setup.name} (Table 12.2): " + title
        if args.error == "E":  # the chapter states its goal as MSE = 2E/(P·M)
            title += f"; goal E <= {args.goal:g} is MSE <= {2 * args.goal / D.size:g}"
    print(title)
    # a named set-up runs its trials one at a time, as its table was timed
    results = compare(net, X, D, entries, trials=args.trials, seed=args.seed, history=history,
                      progress=True, parallel=setup is None, **common)
    rows = summary_table(results)
    print(table_text(rows), end="")
    if args.csv is not None:
        atomic_write_text(args.csv, csv_text(rows))
        print(f"wrote {args.csv}")
    if args.plot is not None:
        # the curves are of E: the goal line too
        goal_E = {"E": args.goal, "sse": args.goal / 2, "mse": args.goal * D.size / 2}[args.error]
        fig = plot(results, goal_E, title.replace("<=", "≤"), history)
        _save_figure(fig, args.plot)
        print(f"wrote {args.plot}")
    return 0


def _image_format(path: str) -> str:
    """The image format named by the file's extension; UsageError when matplotlib cannot write it."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    known = FigureCanvasAgg(Figure()).get_supported_filetypes()
    ext = os.path.splitext(path)[1].lower().lstrip(".")
    if ext not in known:
        raise UsageError(f"--plot {path}: the extension must name an image type, one of " + ", ".join(sorted(known)))
    return ext


def _save_figure(fig, path: str) -> None:
    """Save through a temporary file in the same folder, so a failed save leaves no partial file."""
    import tempfile

    folder = os.path.dirname(os.path.abspath(path))
    ext = _image_format(path)
    fd, tmp = tempfile.mkstemp(dir=folder, suffix=".tmp")
    os.close(fd)
    try:
        fig.savefig(tmp, format=ext, dpi=120)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


def register(sub) -> None:
    from ..experiments import SETUPS

    p = sub.add_parser(
        "compare", help="compare training rules on parity-N from the same seeded weights (table, CSV, plot)",
        description="Train parity-N with several rules from the same seeded initial weights and compare "
                    "how often each reached the goal, iterations and time; optionally write the table as CSV and plot the "
                    "error curves. The defaults are a plain comparison, not the chapter's set-up: "
                    "--setup table-12-2 runs the four rows of Table 12.2 as lmtrain reproduces them.")
    p.add_argument("--setup", choices=sorted(SETUPS),
                   help="a named set-up that fixes network, data, goal and rules: table-12-2 is the chapter's "
                        "Table 12.2 (3-3-1 MLP of tanh(0.5·net), goal MSE <= 0.01, i.e. E <= 0.04, EBP α = 1 and 100 with the "
                        "step α/32, Gauss–Newton, LM μ₀ = 0.1; see lmtrain.experiments.TABLE_12_2)")
    p.add_argument("--sizes", type=int, nargs="+", default=None, metavar="N",
                   help="layer sizes, inputs first (parity-N with N = the first); default 3 3 1")
    p.add_argument("--topology", choices=["mlp", "bmlp", "fcc"], default=None,
                   help="mlp (default), bmlp (bridged) or fcc (a cascade of the hidden and output neurons)")
    p.add_argument("--activation", default=None, help="bipolar (tanh, default), unipolar or linear")
    p.add_argument("--gain", type=float, default=None,
                   help="activation gain: every neuron computes f(gain·net) (default 0.5)")
    p.add_argument("--encoding", choices=["bipolar", "unipolar"], default=None,
                   help="patterns in ±1 (default) or 0/1")
    p.add_argument("--algorithm", nargs="+", default=None, metavar="RULE[:K=V,...]",
                   help="rules with their options, e.g. ebp:alpha=1 lm:mu=0.1,mu_inc=5 "
                        "(default: " + " ".join(DEFAULT_ALGORITHMS) + ", each with lmtrain's default options)")
    p.add_argument("--trials", type=int, default=100, help="trials per rule (default 100)")
    p.add_argument("--seed", type=int, default=0, help="seed of the initial weights (default 0)")
    p.add_argument("--goal", type=float, default=None, help="stop when the error is <= goal (default 0.01)")
    p.add_argument("--error", choices=["E", "sse", "mse"], default=None,
                   help="the units of --goal: E = ½Σe² (eq. 12.1, default), sse = Σe², mse = Σe²/(P·M)")
    p.add_argument("--max-iter", type=int, default=None,
                   help="iteration cap for every rule (default: each rule's own; an entry's max_iter wins)")
    p.add_argument("--plot", metavar="FILE", help="draw the error curves (png, pdf, svg, ...)")
    p.add_argument("--csv", metavar="FILE", help="write the table as CSV")
    p.set_defaults(func=_run)
