"""Figures: network diagrams and error curves, drawn with matplotlib.

Every function draws on the ``ax`` it is given (or on a new figure when ``ax``
is None) and returns the Axes — except :func:`plot_error_curves`, which
returns the new Figure when it made one, ready for ``savefig`` as
:func:`lmtrain.plot_training`'s is. Nothing here calls ``plt.show`` or chooses
a backend, so the functions serve scripts (Agg), notebooks and GUIs alike.

* :func:`draw_network` — any :class:`~lmtrain.network.Network` (MLP, bridged
  MLP, fully connected cascade, any DAG) drawn from the object itself: inputs on
  the left, neurons in columns by depth (:meth:`Network.layers`), a "+1" bias
  node feeding each column, outputs on the right.
* :func:`draw_neuron` — one neuron j of any network as in the chapter's Fig.
  12.2: its input nodes y_j,i with the weights w_j,i, the bias w_j,0, net_j,
  f_j and s_j, the output node y_j and what it feeds, down to the network
  outputs o_m = F_m,j(y_j).
* :func:`highlight_neurons` — ring neurons on a diagram drawn by :func:`draw_network`.
* :func:`plot_error_curves` — E = ½Σe² (eq. 12.1) against the iteration on a log
  scale, for one run or many trials, with the error goal; a dict such as
  :func:`lmtrain.experiments.compare` returns draws each entry in its own
  colour, with a legend.

The network diagrams are drawn by :mod:`lmtrain._network_diagram`, the single
neuron by :mod:`lmtrain._neuron_diagram`; the error curves are drawn here.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np

# the diagrams, public here, and _new_axes, which the error curves share with them
from ._network_diagram import _new_axes, activation_label, draw_network, highlight_neurons, network_layout, neuron_links
from ._neuron_diagram import activation_formula, draw_neuron


def _curves(data) -> list[tuple[int, np.ndarray, bool | None]]:
    """``(first iteration, errors, success or None)`` for every curve in ``data``."""
    from .experiments import TrialSummary
    from .result import History, TrainResult

    if isinstance(data, TrialSummary):
        H = data.error_history
        out = []
        for t in range(data.trials):
            h = H[t][np.isfinite(H[t])] if H.shape[1] else np.empty(0)
            out.append((0, np.concatenate(([data.initial_error[t]], h)), bool(data.reached_goal[t])))
        return out
    if isinstance(data, TrainResult):
        return [(0, np.concatenate(([data.initial_error], data.history.error)), data.reached_goal)]
    if isinstance(data, History):
        return [(1, np.asarray(data.error, float), None)]
    if isinstance(data, np.ndarray) and data.ndim <= 2 and np.issubdtype(data.dtype, np.number):
        rows = data.astype(float).reshape(-1, data.shape[-1]) if data.ndim else data.astype(float).reshape(1, 1)
        return [(0, row[np.isfinite(row)], None) for row in rows]
    if isinstance(data, (list, tuple)):
        out = []
        for i, item in enumerate(data):
            if isinstance(item, (TrialSummary, TrainResult, History, np.ndarray)):
                out += _curves(item)
                continue
            try:
                arr = np.asarray(item, dtype=float).ravel()
            except (TypeError, ValueError):
                raise TypeError(f"data[{i}] is not an error history: {type(item).__name__}") from None
            out.append((0, arr[np.isfinite(arr)], None))
        return out
    raise TypeError("data must be a TrialSummary, a TrainResult, a History, an array of errors, "
                    f"or a list of those; got {type(data).__name__}")


def plot_error_curves(data, ax=None, goal: float | None = None, *, color=None, fail_color=None,
                      label: str | None = None, max_curves: int | None = None, alpha: float = 0.5,
                      lw: float = 1.0, log_x: bool = False):
    """Error E = ½Σe² (eq. 12.1) against iteration, log scale, one line per run.

    Parameters
    ----------
    data : TrialSummary, TrainResult, History, array, list of these, or dict
        A :class:`~lmtrain.experiments.TrialSummary` gives one curve per trial
        (its ``error_history``, preceded by the initial error at iteration 0);
        a ``TrainResult`` likewise; a ``History`` or a 1-D array of errors
        starts at iteration 1 (0 for arrays); a 2-D array is one curve per row
        (NaN padding ignored). A dict ``{name: data}``, such as the one
        :func:`lmtrain.experiments.compare` returns, draws every entry in its
        own colour (``C0``, ``C1``, … of the colour cycle) with a legend entry
        named by its key.
    ax : matplotlib Axes, optional
        Where to draw; by default a new figure.
    goal : float, optional
        Error goal, drawn as a dotted horizontal line.
    color : color, optional
        Colour of the curves (of the trials that reached the goal, when that is known);
        not used for a dict.
    fail_color : color, optional
        Colour of trials that did not reach the goal (default light grey; for
        a dict, each entry's own colour, dashed).
    label : str, optional
        Legend entry for the curves (one entry, not one per trial).
    max_curves : int, optional
        Draw at most this many curves (the first ones), to keep big runs legible.
    alpha, lw : float
        Line transparency and width.
    log_x : bool
        Logarithmic iteration axis (useful for EBP's long runs).

    Returns
    -------
    matplotlib Figure or Axes
        The new Figure when ``ax`` is None (so that
        ``plot_error_curves(summary, goal=0.01).savefig("curves.png")``
        works), else the Axes drawn on.
    """
    if isinstance(data, Mapping):
        return _plot_named_curves(data, ax, goal, fail_color=fail_color, max_curves=max_curves, alpha=alpha,
                                  lw=lw, log_x=log_x)
    made = ax is None
    ax = _draw_error_curves(data, ax, goal, color=color, fail_color="0.6" if fail_color is None else fail_color,
                            label=label, max_curves=max_curves, alpha=alpha, lw=lw, log_x=log_x)
    return ax.figure if made else ax


def _plot_named_curves(data: Mapping, ax, goal, *, fail_color, max_curves, alpha, lw, log_x):
    """:func:`plot_error_curves` for ``{name: data}``: one colour and legend entry per name."""
    if not data:
        raise ValueError("data is an empty dict: nothing to plot")
    for key in data:
        if not isinstance(key, str):
            raise TypeError(f"the keys of data name the curves in the legend and must be strings, got {key!r}")
    goal = _check_goal(goal)
    for key, item in data.items():  # every entry checked before anything is drawn
        if isinstance(item, Mapping):
            raise TypeError(f"data[{key!r}] is a dict; give the dict of summaries itself, not one nested in another")
        try:
            _curves(item)
        except TypeError as exc:
            raise TypeError(f"data[{key!r}]: {exc}") from None
    made = ax is None
    ax = _new_axes(ax, (6.4, 4.0))
    for k, (key, item) in enumerate(data.items()):
        c = f"C{k % 10}"
        _draw_error_curves(item, ax, None, color=c, fail_color=c if fail_color is None else fail_color,
                           fail_ls="--" if fail_color is None else "-", label=key, max_curves=max_curves,
                           alpha=alpha, lw=lw, log_x=log_x)
    if goal is not None:
        _goal_line(ax, goal)
    ax.legend(fontsize=8)
    return ax.figure if made else ax


def _check_goal(goal):
    if goal is None:
        return None
    goal = float(goal)
    if not goal > 0 or not math.isfinite(goal):
        raise ValueError(f"goal must be a finite number > 0 for a log-scale plot, got {goal}")
    return goal


def _goal_line(ax, goal):
    ax.axhline(goal, color="k", ls=":", lw=1.2, label=f"goal {goal:g}")


def _draw_error_curves(data, ax, goal, *, color, fail_color, fail_ls="-", label, max_curves, alpha, lw, log_x):
    """The curves of one ``data`` on ``ax`` (a new one when None); returns the Axes."""
    curves = _curves(data)
    if max_curves is not None:
        if isinstance(max_curves, bool) or not isinstance(max_curves, (int, np.integer)) or max_curves < 1:
            raise ValueError(f"max_curves must be a positive integer, got {max_curves!r}")
        curves = curves[:max_curves]
    goal = _check_goal(goal)
    if not 0 < alpha <= 1:
        raise ValueError(f"alpha must be in (0, 1], got {alpha}")
    ax = _new_axes(ax, (6.4, 4.0))
    if color is None:
        try:  # the next colour of the Axes' cycle, so successive calls differ
            color = ax._get_lines.get_next_color()
        except AttributeError:  # pragma: no cover - older or newer matplotlib internals
            color = "C0"
    positive = [c[c > 0] for _, c, _ in curves]
    floor = min((p.min() for p in positive if p.size), default=1.0) / 10.0
    labelled_ok = labelled_fail = False
    for start, c, s in curves:
        if c.size == 0:
            continue
        it = np.arange(start, start + c.size) + (1 if log_x else 0)
        y = np.where(c > 0, c, floor)  # E = 0 exactly cannot be shown on a log axis
        failed = s is False
        lab = None
        if label is not None and not failed and not labelled_ok:
            lab, labelled_ok = label, True
        elif label is not None and failed and not labelled_fail:
            lab, labelled_fail = f"{label} (goal not reached)", True
        ax.plot(it, y, color=fail_color if failed else color, ls=fail_ls if failed else "-", alpha=alpha, lw=lw,
                label=lab)
    if goal is not None:
        _goal_line(ax, goal)
    ax.set_yscale("log")
    if log_x:
        ax.set_xscale("log")
    ax.set_xlabel("iteration + 1" if log_x else "iteration")
    ax.set_ylabel("E = ½ Σ e²")
    ax.grid(True, which="major", alpha=0.3)
    return ax
