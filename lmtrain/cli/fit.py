"""``lmtrain train`` and ``lmtrain predict``: fit a network to a CSV table, use it.

::

    lmtrain train data.csv --target y [--features x1 x2] [--hidden 10] [--classify] --out model.json
    lmtrain predict model.json data.csv [--out predictions.csv]

Tables are CSV with a header row naming the columns and numbers in every cell
used. ``train`` fits an :class:`~lmtrain.estimators.LMRegressor` (or, with
``--classify``, an :class:`~lmtrain.estimators.LMClassifier`) on the feature
columns (default: every column but the target) and saves it with
:func:`lmtrain.io.save`, keeping the column names so that ``predict`` can find
them again in another table. Output files are written whole or not at all.
"""

from __future__ import annotations

import argparse
import os
import stat
import sys

import numpy as np

from ._common import UsageError, _is_number, _names, columns, read_table


def labels(path: str, header, data, name: str) -> np.ndarray:
    """The class labels of column ``name``: integers when every cell is one, else the text of the cells.

    As :class:`~lmtrain.estimators.LMClassifier` takes any labels, a column
    of words ("cat", "dog") is as good as one of integers; numbers that are
    not integers are passed on as floats, which the classifier refuses as a
    continuous target. An empty cell is an error: every row needs a label.
    """
    if name not in header:
        raise UsageError(f"{path} has no column {name!r}; its columns are {_names(header)}")
    j = header.index(name)
    cells = [(line, row[j].strip()) for line, row in data]
    for line, cell in cells:
        if not cell:
            raise UsageError(f"{path}, line {line}, column {name!r}: an empty cell; every row needs a class label")
    if not all(_is_number(c) for _, c in cells):
        return np.array([c for _, c in cells])
    y = columns(path, header, data, [name])[:, 0]
    if not np.all(y == np.round(y)):
        return y
    for line, cell in cells:
        # the int64 labels numpy keeps (and the model file stores) end at 2**63
        if abs(float(cell)) >= 2.0**63:
            raise UsageError(f"{path}, line {line}, column {name!r}: the label {cell} does not fit a 64-bit "
                             f"integer; write such labels as text (e.g. 'c{cell}')")
    return np.array([int(float(c)) if not _is_int(c) else int(c) for _, c in cells], dtype=np.int64)


def _is_int(text: str) -> bool:
    try:
        int(text)
    except ValueError:
        return False
    return True


# -------------------------------------------------------------------- output
def _write_output(text: str, out) -> None:
    from ..io import atomic_write_text

    if out is None:
        sys.stdout.write(text)
        return
    try:
        atomic_write_text(out, text)
    except OSError as exc:
        raise UsageError(f"cannot write {out}: {exc.strerror or exc}") from None


def _check_writable(out: str) -> None:
    """Refuse, before any work, a path the output could not be written to (see :func:`lmtrain.io.atomic_write_text`)."""
    target = os.path.realpath(out)
    directory = os.path.dirname(target)
    if not os.path.isdir(directory):
        raise UsageError(f"cannot write {out}: the directory {directory} does not exist")
    if os.path.isdir(target):
        raise UsageError(f"cannot write {out}: it is a directory")
    try:
        mode = os.stat(target).st_mode
    except OSError:
        return  # a new file
    if not (stat.S_ISREG(mode) or stat.S_ISCHR(mode) or stat.S_ISFIFO(mode)):
        raise UsageError(f"cannot write {out}: it is neither a regular file, a character device nor a FIFO")


def _fmt(v) -> str:
    """Exact text of a number (shortest round-trip repr); integers without '.0'."""
    if isinstance(v, (np.integer, int)) and not isinstance(v, bool):
        return str(int(v))
    if isinstance(v, (np.floating, float)):
        return repr(float(v))
    return str(v)


# --------------------------------------------------------------------- train
def _train(args) -> int:
    from .. import activations, io
    from ..estimators import LMClassifier, LMRegressor

    if args.target is None:
        header, _ = read_table(args.data)
        raise UsageError(f"train needs --target COLUMN, the column to predict; the columns of {args.data} are "
                         f"{_names(header)}")
    if args.out is None:
        raise UsageError("train needs --out MODEL.json, the file to save the trained model in")
    _check_writable(args.out)
    header, data = read_table(args.data)
    if args.target not in header:
        raise UsageError(f"{args.data} has no column {args.target!r}; its columns are {_names(header)}")
    features = list(args.features) if args.features else [h for h in header if h != args.target]
    if args.target in features:
        raise UsageError(f"the target column {args.target!r} cannot also be a feature")
    if not features:
        raise UsageError(f"{args.data} has no column besides the target {args.target!r} to use as input")
    X = columns(args.data, header, data, features)
    if args.classify:
        y = labels(args.data, header, data, args.target)
    else:
        y = columns(args.data, header, data, [args.target])[:, 0]
    cls = LMClassifier if args.classify else LMRegressor
    hidden = tuple(args.hidden)
    est = cls(hidden=hidden, topology=args.topology, activation=args.activation, algorithm=args.algorithm,
              max_iter=args.max_iter, goal=args.goal, restarts=args.restarts, validation_fraction=args.validation,
              options=None if args.error == "E" else {"error": args.error},
              max_fail=args.max_fail, random_state=args.seed, progress=None)
    est.fit(X, y)
    r = est.result_
    net = est.net_
    metadata = {"features": features, "target": args.target, "source": os.path.basename(args.data),
                "task": "classification" if args.classify else "regression"}
    try:
        io.save(est, args.out, metadata=metadata)
    except OSError as exc:
        raise UsageError(f"cannot write {args.out}: {exc.strerror or exc}") from None
    if args.topology == "fcc":
        shape = f"fcc, {net.n_inputs} inputs and {net.n_neurons} neurons in cascade"
    else:
        shape = f"{args.topology} " + "-".join(str(n) for n in (net.n_inputs, *hidden, net.n_outputs))
    act = activations.canonical(args.activation)
    print(f"trained {cls.__name__} on {args.data}: {len(y)} rows, {len(features)} feature(s) -> {args.target!r}")
    print(f"network {shape} ({net.n_weights} weights, {act} hidden neurons), "
          f"algorithm {r.algorithm}, {args.restarts} restart(s), seed {args.seed}")
    print(f"stopped after {r.iterations} iterations: {r.message}")
    scaled = "standardised targets" if not args.classify else "coded targets"
    line = f"final error E = {r.error:.6g}, SSE = {r.sse:.6g}, MSE = {r.mse:.6g} (on {scaled})"
    if est.validation_error_ is not None:
        line += f", validation E = {est.validation_error_:.6g}"
    print(line)
    if args.classify:
        print(f"training accuracy = {est.score(X, y):.4f} ({len(est.classes_)} classes)")
    else:
        print(f"training R^2 = {est.score(X, y):.6f}")
    print(f"saved {args.out}")
    return 0


# ------------------------------------------------------------------- predict
def _predict(args) -> int:
    from .. import io
    from ..estimators import LMClassifier, LMRegressor, Model

    if args.out is not None:
        _check_writable(args.out)
    try:
        model, meta = io.load(args.model, with_metadata=True)
    except FileNotFoundError:
        raise UsageError(f"{args.model}: no such file") from None
    except IsADirectoryError:
        raise UsageError(f"{args.model} is a directory, not a model file") from None
    except OSError as exc:
        raise UsageError(f"cannot read {args.model}: {exc.strerror or exc}") from None
    header, data = read_table(args.data)
    n_in = model.net.n_inputs if isinstance(model, Model) else model.n_features_in_
    features = meta.get("features")
    if isinstance(features, list) and all(isinstance(f, str) for f in features):
        missing = [f for f in features if f not in header]
        if missing:
            raise UsageError(f"{args.data} lacks the model's input column(s) {_names(missing)}; "
                             f"its columns are {_names(header)}")
    else:
        if len(header) != n_in:
            raise UsageError(f"the model takes {n_in} input(s) and does not name them; {args.data} has "
                             f"{len(header)} columns ({_names(header)})")
        features = header
    X = columns(args.data, header, data, features)
    target = meta.get("target") if isinstance(meta.get("target"), str) else "prediction"
    if isinstance(model, LMClassifier):
        proba = model.predict_proba(X)
        labels = model.classes_[np.argmax(proba, axis=1)]
        names = [target] + [f"p_{_fmt(c)}" for c in model.classes_]
        rows = [[_fmt(lab)] + [_fmt(p) for p in ps] for lab, ps in zip(labels, proba)]
    else:
        O = model.predict(X)
        O = O.reshape(len(O), -1)
        names = [target] if O.shape[1] == 1 else [f"{target}_{m + 1}" for m in range(O.shape[1])]
        if isinstance(model, Model) and O.shape[1] > 1:
            names = [f"output_{m + 1}" for m in range(O.shape[1])]
        rows = [[_fmt(v) for v in row] for row in O]
    lines = [",".join(_csv_cell(n) for n in names)] + [",".join(r) for r in rows]
    _write_output("\n".join(lines) + "\n", args.out)
    if args.out is not None:
        kind = "LMRegressor" if isinstance(model, LMRegressor) else type(model).__name__
        print(f"wrote {len(rows)} prediction(s) of the {kind} to {args.out}", file=sys.stderr)
    return 0


def _csv_cell(text: str) -> str:
    if any(ch in text for ch in ',"\n\r'):
        return '"' + text.replace('"', '""') + '"'
    return text


# ------------------------------------------------------------------ register
def _int64(text: str) -> int:
    """argparse type: an integer that fits in 64 bits, as the compiled code holds it.

    Ranges (``--max-iter`` at least 1, ...) are checked by the estimator,
    whose message names the parameter.
    """
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"invalid integer value: {text!r}") from None
    if not -2**63 <= value < 2**63:
        raise argparse.ArgumentTypeError(f"must be between -2**63 and 2**63 - 1 (a 64-bit integer), got {text}")
    return value


def _activation(text: str) -> str:
    """argparse type: an activation by any of its names (tanh, sigmoid, ...)."""
    from .. import activations

    try:
        return activations.canonical(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def register(sub) -> None:
    from .. import activations
    from ..algorithms import ALGORITHMS
    from ..estimators import TOPOLOGIES

    p = sub.add_parser("train", help="train a network on a CSV table and save it",
                       description="Train a network on the columns of a CSV table (header row required) and "
                                   "save the fitted model as JSON. The output neuron is linear for regression; "
                                   "with --classify the labels are coded for a bipolar (tanh) output.")
    p.add_argument("data", help="CSV file with a header row naming the columns")
    p.add_argument("--target", metavar="COLUMN", help="the column to predict (required)")
    p.add_argument("--features", nargs="+", metavar="COLUMN", help="input columns (default: all but the target)")
    p.add_argument("--out", metavar="MODEL.json", help="where to save the model (required); a symbolic link is "
                                                        "followed, a device or FIFO written through")
    p.add_argument("--classify", action="store_true",
                   help="the target holds class labels, integers or text (default: regression)")
    p.add_argument("--hidden", nargs="+", type=_int64, default=[10], metavar="N",
                   help="neurons per hidden layer (default 10); for --topology fcc one number")
    p.add_argument("--topology", choices=TOPOLOGIES, default="mlp",
                   help="mlp (layers), bmlp (bridged: every neuron also sees the inputs) or fcc (fully "
                        "connected cascade) (default mlp)")
    p.add_argument("--activation", type=_activation, default="bipolar", metavar="NAME",
                   help=f"activation of the hidden neurons: {activations.CHOICES} (default bipolar (tanh))")
    p.add_argument("--algorithm", choices=sorted(ALGORITHMS), default="lm",
                   help="training rule of Table 12.1 (default lm)")
    p.add_argument("--max-iter", type=_int64, default=200, metavar="N", help="iterations per restart (default 200)")
    p.add_argument("--goal", type=float, default=0.0, metavar="GOAL",
                   help="stop when the error on the standardised (or coded) targets is <= GOAL (default 0)")
    p.add_argument("--error", choices=["E", "sse", "mse"], default="E",
                   help="the units of --goal: E = ½Σe² (eq. 12.1, default), sse = Σe², mse = Σe²/(P·M)")
    p.add_argument("--restarts", type=_int64, default=1, metavar="N",
                   help="random restarts, the one with the lowest error is kept (default 1)")
    p.add_argument("--validation", type=float, metavar="FRACTION",
                   help="hold out this fraction of the rows for early stopping (default: none)")
    p.add_argument("--max-fail", type=_int64, default=6, metavar="N",
                   help="with --validation: iterations without a new best validation error before stopping "
                        "(default 6)")
    p.add_argument("--seed", type=_int64, default=0, metavar="N",
                   help="seed of the initial weights and the validation split (default 0: runs repeat exactly)")
    p.set_defaults(func=_train)

    q = sub.add_parser("predict", help="predict with a saved model",
                       description="Predict the rows of a CSV table with a model saved by 'lmtrain train' "
                                   "(or lmtrain.save); writes CSV: the prediction (for a classifier the label "
                                   "and one p_<label> score column per class).")
    q.add_argument("model", help="model file written by 'lmtrain train' or lmtrain.save")
    q.add_argument("data", help="CSV file with a header row holding the model's input columns")
    q.add_argument("--out", metavar="FILE.csv", help="where to write the predictions (default: standard output); "
                                                      "a symbolic link is followed, a device or FIFO written through")
    q.set_defaults(func=_predict)
