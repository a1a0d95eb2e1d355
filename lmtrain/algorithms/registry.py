"""The algorithms of Table 12.1: one entry each, with its option schema, and the step of each.

Every entry says what Table 12.1 says of its rule and carries the schema of
its options (defaults, types, ranges). :data:`STEPS` holds each rule's step
function by code; the iteration loop (:mod:`.loop`) runs the one it is given,
and the trainer, the experiments and the command line know an algorithm
through this file.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable


from .ebp import step as ebp_step
from .gauss_newton import step as gauss_newton_step
from .lm import step as lm_step
from .newton import step as newton_step
from ._fast.work import NEEDS_GRADIENT, NEEDS_HESSIAN, NEEDS_JACOBIAN
from .records import COMMON, JACOBIAN_MODES, Option, integer, real, resolve

# algorithm codes the compiled loop dispatches on
EBP = 0
NEWTON = 1
GAUSS_NEWTON = 2
LM = 3
#: what each code's workspace must hold, indexed by code (compiled code reads it)
NEEDS_BY_CODE = (NEEDS_GRADIENT, NEEDS_HESSIAN, NEEDS_JACOBIAN, NEEDS_JACOBIAN)


#: the step function of each rule, indexed by code: ``step(w, E, mu, o, ws) -> Step``
STEPS = (ebp_step, newton_step, gauss_newton_step, lm_step)


@dataclass(frozen=True)
class Algorithm:
    """Registry entry: what Table 12.1 says of an algorithm, and its options."""

    key: str
    code: int
    title: str
    rule: str
    equation: str
    convergence: str
    computation: str
    options: tuple = ()  #: :class:`~.records.Option` schemas, the common stopping rules first
    needs: int = NEEDS_GRADIENT  #: what its workspace must hold (gradient, Jacobian or Hessian)
    blockable: bool = False  #: can run on the blocked large-problem path
    initial_mu: Callable[[dict], float] = lambda o: math.nan  #: μ of the first iteration
    check: Callable[[dict, set], None] | None = None  #: checks options against each other

    @property
    def defaults(self) -> dict:
        """Option name -> default value."""
        return {opt.name: opt.default for opt in self.options}

    def resolve(self, options: dict) -> dict:
        """Defaults merged with ``options``, each checked; raises naming the option."""
        return resolve(self.key, self.options, options, self.check)


def _with_max_iter(default) -> tuple:
    return tuple(integer("max_iter", default, "iteration limit", low=0) if o.name == "max_iter" else o
                 for o in COMMON)


_JACOBIAN = Option("jacobian", "auto", "choice", choices=tuple(JACOBIAN_MODES),
                   doc="'auto': the whole J in compiled code for small problems, blocks of J with BLAS "
                       "products for large ones; 'full' or 'blocks' to force one")


def _check_mu(o: dict, given: set) -> None:
    """mu_min ≤ mu ≤ mu_max, blaming the option the caller actually set."""
    for low, high in (("mu_min", "mu"), ("mu", "mu_max")):
        if o[low] > o[high]:
            name, other = (low, high) if low in given or high not in given else (high, low)
            side = "at most" if name == low else "at least"
            default = "" if other in given else ", its default"
            raise ValueError(f"{name} must be {side} {other} ({o[other]:g}{default}), got {o[name]:g}"
                             + ("" if other in given else f"; set {other} too"))


ALGORITHMS: dict[str, Algorithm] = {
    "ebp": Algorithm(
        "ebp", EBP, "EBP (steepest descent)", "w ← w − α g", "12.4", "stable, slow", "gradient",
        (*_with_max_iter(100_000), real("alpha", 0.1, "learning constant α", low=0.0, low_open=True),
         real("momentum", 0.0, "momentum β (not in the chapter)", low=0.0, high=1.0, high_open=True)),
    ),
    "newton": Algorithm(
        "newton", NEWTON, "Newton", "w ← w − H⁻¹ g", "12.15", "unstable, fast", "gradient and Hessian",
        (*COMMON, real("hessian_step", 1e-5, "relative step of the Hessian's differences", low=0.0,
                       low_open=True, high=1.0),
         Option("indefinite", "stop", "choice", choices=("stop", "step"),
                doc="'stop' when H is not positive definite, or 'step' through it")),
        needs=NEEDS_HESSIAN,
    ),
    "gauss_newton": Algorithm(
        "gauss_newton", GAUSS_NEWTON, "Gauss–Newton", "w ← w − (JᵀJ)⁻¹ Jᵀe", "12.23", "unstable, fast",
        "Jacobian", (*COMMON, _JACOBIAN), needs=NEEDS_JACOBIAN, blockable=True, initial_mu=lambda o: 0.0,
    ),
    "lm": Algorithm(
        "lm", LM, "Levenberg–Marquardt", "w ← w − (JᵀJ + μI)⁻¹ Jᵀe", "12.25", "stable, fast", "Jacobian",
        (*COMMON,
         real("mu", 0.01, "μ of the first iteration", low=0.0, low_open=True),
         real("mu_inc", 10.0, "μ is multiplied by this after a try that raised E", low=1.0, low_open=True),
         real("mu_dec", 10.0, "μ is divided by this after a step that lowered E", low=1.0, low_open=True),
         real("mu_min", 1e-20, "μ is never divided below this", low=0.0),
         real("mu_max", 1e10, "stop (MU_MAX) when μ would exceed this", low=0.0, low_open=True, allow_inf=True),
         integer("max_tries", 5, "retries in one iteration before the step is forced (or kept)", low=1),
         Option("strict", False, "bool", doc="never accept a rise of E (MATLAB's trainlm) instead of Fig. 12.5's forced step"),
         _JACOBIAN),
        needs=NEEDS_JACOBIAN, blockable=True, initial_mu=lambda o: o["mu"], check=_check_mu,
    ),
}

_ALIASES = {
    "ebp": "ebp", "steepest_descent": "ebp", "gd": "ebp", "backprop": "ebp",
    "newton": "newton",
    "gauss_newton": "gauss_newton", "gauss-newton": "gauss_newton", "gn": "gauss_newton",
    "lm": "lm", "levenberg_marquardt": "lm", "levenberg-marquardt": "lm", "trainlm": "lm",
}

#: Table 12.1 of the chapter, five rows: the four rules above and the NBN row, which is
#: how lmtrain builds the matrix of the LM rule when it does not store J
TABLE_12_1 = [
    *({"algorithm": a.title, "name": a.key, "rule": a.rule, "equation": f"({a.equation})",
       "convergence": a.convergence, "computation": a.computation,
       "in lmtrain": f"lm.train(..., algorithm={a.key!r})"} for a in ALGORITHMS.values()),
    {"algorithm": "NBN (quasi-Hessian)", "name": "lm", "rule": "w ← w − Q⁻¹ g, Q = Σ_p j_pᵀj_p, g = Σ_p j_pᵀe_p",
     "equation": "(Table 12.1)", "convergence": "stable, fast", "computation": "quasi-Hessian",
     "in lmtrain": "LM with Q and g summed row by row without storing J: kernels='plain' "
                   "(lmtrain.kernels.quasi_hessian), or block by block with jacobian='blocks' "
                   "(chosen automatically for large problems)"},
]


def get_algorithm(name) -> Algorithm:
    """Registry entry for ``name`` (aliases such as ``"gn"`` accepted)."""
    if not isinstance(name, str):
        raise TypeError(f"algorithm must be a string, got {type(name).__name__}")
    key = _ALIASES.get(name.strip().lower())
    if key is None:
        raise ValueError(f"unknown algorithm {name!r}; expected one of {sorted(ALGORITHMS)}")
    return ALGORITHMS[key]


def resolve_options(algorithm, options: dict) -> dict:
    """Defaults merged with ``options``, each checked; raises naming the option."""
    return get_algorithm(algorithm).resolve(options)
