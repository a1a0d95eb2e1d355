"""The training algorithms of Table 12.1, the loop that runs them, and the entry points.

=================  =================================  ===========  ===================
algorithm          update rule                        equation     needs
=================  =================================  ===========  ===================
``"ebp"``          w ← w − α g                        12.4         gradient
``"newton"``       w ← w − H⁻¹ g                      12.15        gradient, Hessian
``"gauss_newton"`` w ← w − (JᵀJ)⁻¹ Jᵀe                12.23        Jacobian
``"lm"``           w ← w − (JᵀJ + μI)⁻¹ Jᵀe           12.25        Jacobian
=================  =================================  ===========  ===================

How the package is put together
-------------------------------
* :mod:`.records` — the named records compiled code reads: the options
  (``o.goal``, ``o.mu_inc``, ...), a run's state, the outcome of one step
  (:class:`~.records.Step`), and the option schema every entry uses.
* :mod:`.registry` — one :class:`~.registry.Algorithm` per rule: what Table
  12.1 says of it, its options, what its workspace must hold; and
  :data:`~.registry.STEPS`, each rule's step function by code.
* one module per rule (:mod:`.ebp`, :mod:`.newton`, :mod:`.gauss_newton`,
  :mod:`.lm`): a ``step(w, E, mu, o, ws) -> Step`` written against the
  operations of :mod:`.workspace` (``linearize``, ``solve``, ``trial_error``,
  ...). :mod:`.lm` also holds Fig. 12.5's μ rule and try loop, written once.
* :mod:`.loop` — the iteration loop: stop checks, one step, the history.
* :mod:`.workspace` — the operations, and the plain workspace that answers
  them with :mod:`lmtrain.kernels`; :mod:`._fast` — the speed twins (compiled
  workspace, many trials per call, EBP lanes, the blocked BLAS path).
* :mod:`.watch` — callbacks, validation stopping, time slices, Ctrl-C;
  :mod:`.ctrl_c` — Ctrl-C for one long compiled call on the main thread;
  :mod:`.run` — the entry points: :func:`~.run.train` (one run),
  :func:`~.run.train_fast` (the one-call path of small problems) and
  :func:`~.run.run_trials` (many seeded trials).

The same ``step`` functions run compiled on the speed twins, and interpreted
on the plain kernels' workspace, the blocked path and curve models: they are
marked :func:`~.shared.shared`, so Numba inlines them where compiled code
calls them, and :func:`~.shared.interpreted` runs the same source as Python,
each workspace operation a call of the workspace's method.

Adding an algorithm
-------------------
1. Write ``lmtrain/algorithms/<name>.py`` with a module docstring giving the
   rule and its equation, and a ``@shared step(w, E, mu, o, ws)``
   returning a :class:`~.records.Step`; use the operations of
   :mod:`.workspace` and options as fields of the record ``o``.
2. In :mod:`.registry`: give it a code, its entry in ``STEPS`` and in
   ``NEEDS_BY_CODE``, and its :class:`~.registry.Algorithm` entry with
   its options (:class:`~.records.Option`), which are checked from the schema.
   An option that compiled code reads also needs a field in
   :data:`~.records.OPTIONS` and its line in :func:`~.records.pack`.
3. Give it its branch in the two compiled entry points that pick a rule by
   code, :func:`.loop.compiled_for` and :func:`._fast.trials.runner_for`:
   each compiles one function per rule (the code a constant, the other
   branches dropped before compiling), so that a run compiles only the rule
   it runs.

Everything else — ``lmtrain.train``, ``run_trials``, ``compare``, the command
line, Table 12.1 — reads the registry.
"""

from .registry import ALGORITHMS, EBP, GAUSS_NEWTON, LM, NEWTON, TABLE_12_1, Algorithm, get_algorithm, \
    resolve_options
from .run import KERNELS, Continuation, Trials, first_chunk, run_trials, threads, train, train_fast, \
    train_workspace
from .watch import IterationRecord

__all__ = [
    "ALGORITHMS", "Algorithm", "Continuation", "EBP", "GAUSS_NEWTON", "IterationRecord", "KERNELS", "LM", "NEWTON",
    "TABLE_12_1", "Trials", "first_chunk", "get_algorithm", "resolve_options", "run_trials", "threads", "train",
    "train_fast", "train_workspace",
]
