"""Named records: the options, the state of a run, the outcome of one iteration; and the option schema.

Compiled code takes neither keyword arguments nor dictionaries, so validated
options travel as one record of the structured dtype :data:`OPTIONS` (a
one-element array; compiled code reads ``o.goal``, ``o.max_tries``, ...),
and the state a run carries between calls as one record of :data:`STATE`.
Each algorithm's registry entry lists its options as :class:`Option` schemas
(name, default, type and range), so checking is written once.

The error goal. E = ½ Σ e² (eq. 12.1) is the chapter's measure and the one
every rule uses. ``goal`` may be given on E (``error="E"``, the default), on
the sum of squares Σe² (``error="sse"``) or on the mean squared error
Σe²/(P·M) (``error="mse"``, MATLAB's and Keras's measure); it is converted to
E once (:func:`goal_on_E`). Without a goal (``goal=None``) training stops at a
perfect fit: E ≤ 10⁻¹⁶ times the E of a network that outputs zeros, i.e. the
errors are at the level of rounding relative to the targets.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
from numba.extending import overload

from .._validation import check_number
from ..kernels import norm
from .shared import shared

#: a goal of ``None`` means E ≤ PERFECT_FIT · ½Σd² ("a perfect fit")
PERFECT_FIT = 1e-16

#: the ``jacobian`` option: whole J in compiled code, or blocks of J with BLAS
JACOBIAN_MODES = {"auto": 0, "full": 1, "blocks": 2}
JACOBIAN_AUTO, JACOBIAN_FULL, JACOBIAN_BLOCKS = 0, 1, 2
#: units of ``goal``
ERROR_MEASURES = ("E", "sse", "mse")

#: every option a compiled loop reads; a rule that has no use for one gets its neutral value
OPTIONS = np.dtype([
    ("goal", np.float64),  # on E = ½Σe²
    ("goal_rel", np.float64),  # added to goal: this times ½Σd² (the perfect-fit goal)
    ("max_time", np.float64),  # seconds
    ("min_grad", np.float64),
    ("min_step", np.float64),
    ("xtol", np.float64),  # relative step tolerance
    ("mu", np.float64),  # μ of the first iteration (LM), 0 (Gauss–Newton), NaN (EBP, Newton)
    ("mu_inc", np.float64),
    ("mu_dec", np.float64),
    ("mu_min", np.float64),
    ("mu_max", np.float64),
    ("alpha", np.float64),
    ("momentum", np.float64),
    ("hessian_step", np.float64),
    ("tick_hz", np.float64),  # rate of the cycle counter the loops read the time from
    ("max_iter", np.int64),
    ("max_tries", np.int64),
    ("strict", np.bool_),
    ("indefinite_step", np.bool_),
    ("jacobian", np.int64),
], align=True)

#: what a run carries from one call of the loop to the next
STATE = np.dtype([
    ("error", np.float64),  # E now
    ("initial_error", np.float64),
    ("goal", np.float64),  # the goal on E for these data (goal + goal_rel·½Σd²)
    ("mu", np.float64),  # μ of the next iteration
    ("iterations", np.int64),
    ("started", np.bool_),
    ("t0", np.int64),  # cycle counter at the start
], align=True)


@dataclass(frozen=True)
class Option:
    """One option of an algorithm: its default and what values it takes."""

    name: str
    default: object
    kind: str = "real"  # "real", "int", "bool" or "choice"
    low: float | None = None
    high: float | None = None
    low_open: bool = False
    high_open: bool = False
    allow_inf: bool = False
    allow_none: bool = False
    choices: tuple = ()
    doc: str = ""

    def check(self, value):
        """``value`` converted, or ``TypeError``/``ValueError`` naming the option."""
        if value is None and self.allow_none:
            return None
        if self.kind == "bool":
            if not isinstance(value, (bool, np.bool_)):
                raise TypeError(f"{self.name} must be True or False, got {value!r}")
            return bool(value)
        if self.kind == "choice":
            if not isinstance(value, str):
                raise TypeError(f"{self.name} must be a string, got {value!r}")
            if value not in self.choices:
                raise ValueError(f"{self.name} must be one of {list(self.choices)}, got {value!r}")
            return value
        return check_number(value, self.name, low=self.low, high=self.high, low_open=self.low_open,
                            high_open=self.high_open, integer=self.kind == "int", allow_inf=self.allow_inf)


def real(name, default, doc="", **limits) -> Option:
    return Option(name, default, "real", doc=doc, **limits)


def integer(name, default, doc="", **limits) -> Option:
    return Option(name, default, "int", doc=doc, **limits)


#: options of every algorithm: the stopping rules
COMMON = (
    real("goal", None, "stop when the error is at most goal (default: a perfect fit)", low=0.0, allow_none=True),
    Option("error", "E", "choice", choices=ERROR_MEASURES,
           doc="units of goal: 'E' = ½Σe² (eq. 12.1), 'sse' = Σe², 'mse' = Σe²/(P·M)"),
    integer("max_iter", 1000, "iteration limit", low=0),
    real("min_grad", 1e-10, "stop when ‖g‖ is at most this", low=0.0),
    real("min_step", 0.0, "stop when an accepted step's norm is at most this", low=0.0),
    real("xtol", 0.0, "stop when an accepted step's norm is at most xtol·(xtol + ‖w‖)", low=0.0),
    real("max_time", math.inf, "time limit in seconds", low=0.0, low_open=True, allow_inf=True),
)


#: entries a memo of this package keeps before it starts afresh
MEMO_SIZE = 256
#: options already resolved, by what was asked (a run of many small trials checks them often)
_RESOLVED: dict = {}


def remember(memo: dict, key, value) -> None:
    """``memo[key] = value``, the memo emptied first once it holds :data:`MEMO_SIZE` entries."""
    if len(memo) >= MEMO_SIZE:
        memo.clear()
    memo[key] = value


def resolve(name: str, schema: tuple, options: dict, check=None) -> dict:
    """Defaults merged with ``options``, each checked against ``schema``; raises naming the option.

    ``check(o, given)`` (the registry entry's) then checks options against
    each other; ``given`` is the set of names the caller set. Returns a new
    dictionary each time (the checks of a set of options seen before are not repeated).
    """
    try:  # types are part of the key, so that 5 and 5.0 (valid and invalid max_iter) never share an entry
        key = (name, id(schema), id(check), *options.items(), *map(type, options.values()))
        hit = _RESOLVED.get(key)
    except TypeError:  # an unhashable value: check it every time
        key, hit = None, None
    if hit is not None and hit[0] is schema and hit[1] is check:
        return dict(hit[2])
    o = _resolve(name, schema, options, check)
    if key is not None:
        remember(_RESOLVED, key, (schema, check, dict(o)))  # holding schema and check keeps their ids in use
    return o


def _resolve(name: str, schema: tuple, options: dict, check=None) -> dict:
    known = {opt.name: opt for opt in schema}
    unknown = set(options) - set(known)
    if unknown:
        raise TypeError(f"option(s) {sorted(unknown)} do not apply to algorithm {name!r}; "
                        f"its options are {sorted(known)}")
    o = {}
    for opt in schema:
        o[opt.name] = opt.check(options[opt.name] if opt.name in options else opt.default)
    if check is not None:
        check(o, set(options))
    return o


def goal_on_E(o: dict, n_residuals: int) -> tuple[float, float]:
    """``(goal, goal_rel)`` on E for P·M = ``n_residuals`` errors: the record's two goal fields."""
    goal = o["goal"]
    if goal is None:
        return 0.0, PERFECT_FIT
    if o["error"] == "sse":
        return goal / 2.0, 0.0
    if o["error"] == "mse":
        return goal * n_residuals / 2.0, 0.0
    return goal, 0.0


def pack(o: dict, n_residuals: int, tick_hz: float, mu0: float) -> np.recarray:
    """Options as a one-element record array of :data:`OPTIONS` (compiled code reads its fields)."""
    goal, goal_rel = goal_on_E(o, n_residuals)
    fields = dict(
        goal=goal, goal_rel=goal_rel, max_time=o["max_time"], min_grad=o["min_grad"], min_step=o["min_step"],
        xtol=o["xtol"], mu=mu0, mu_inc=o.get("mu_inc", 10.0), mu_dec=o.get("mu_dec", 10.0),
        mu_min=o.get("mu_min", 0.0), mu_max=o.get("mu_max", math.inf), alpha=o.get("alpha", 0.0),
        momentum=o.get("momentum", 0.0), hessian_step=o.get("hessian_step", 1e-5), tick_hz=tick_hz,
        max_iter=o["max_iter"], max_tries=o.get("max_tries", 1), strict=o.get("strict", False),
        indefinite_step=o.get("indefinite", "stop") == "step", jacobian=JACOBIAN_MODES[o.get("jacobian", "full")])
    # set from one tuple in the dtype's order, at half the cost of twenty field writes
    rec = np.recarray((1,), OPTIONS)
    rec[0] = tuple(fields[name] for name in OPTIONS.names)
    return rec


def state_array():
    """A zeroed one-record array of :data:`STATE` whose record takes attribute access, compiled or not."""
    return np.zeros(1, STATE).view(np.recarray)


@overload(state_array)
def _state_array():
    return lambda: np.zeros(1, STATE)


def new_state(mu0: float) -> np.recarray:
    """A fresh run state (one-element record array of :data:`STATE`) starting from μ = ``mu0``."""
    st = np.zeros(1, STATE).view(np.recarray)
    st[0].mu = mu0
    return st


class Step(NamedTuple):
    """The outcome of one iteration of a rule (what every ``step`` returns)."""

    status: int  #: a StopReason code, or CONTINUE (−1)
    error: float  #: E after the iteration
    mu: float  #: μ for the next iteration
    mu_used: float  #: μ of the step taken (LM; 0 for Gauss–Newton; NaN where μ means nothing)
    rejected: int  #: tries that raised E and were retracted
    forced: bool  #: chapter-mode LM took a step that raised E
    gradient_norm: float  #: ‖g‖ at the start of the iteration
    stepped: bool  #: the iteration counts (weights moved, or every try was spent)


@shared
def small_step(delta, w, o):
    """True when the step just taken is small enough to stop (``min_step``, or ``xtol`` relative to ‖w‖)."""
    dn = norm(delta)
    return dn <= o.min_step or (o.xtol > 0.0 and dn <= o.xtol * (o.xtol + norm(w)))
