"""Named set-ups: a comparison on parity-N fixed down to every option, and the one that reproduces Table 12.2.

:data:`TABLE_12_2` is the reading of §12.4 that ``chapters/setup_study.py``
found closest to the book; :func:`lmtrain.experiments.run_setup` and
:func:`lmtrain.experiments.table_12_2` run it, and the command line names it
(``lmtrain compare --setup table-12-2``, ``lmtrain demo``).
"""

from __future__ import annotations

from dataclasses import dataclass

from . import datasets
from ._validation import check_number
from .network import Network, bmlp, fcc, mlp


@dataclass(frozen=True)
class Setup:
    """A comparison on parity-N fixed down to every option: network, data, goal, rows.

    Attributes
    ----------
    name : str
        Key in :data:`SETUPS`, e.g. ``"table-12-2"``.
    title : str
        One line for titles and logs.
    parity : int
        N of parity-N (:func:`lmtrain.datasets.parity`).
    encoding : {"bipolar", "unipolar"}
        Patterns in ±1 or 0/1.
    topology : {"mlp", "bmlp", "fcc"}
        How ``sizes`` is built (for ``"fcc"``: inputs, then the neurons of the cascade).
    sizes : tuple of int
        Layer sizes, inputs first.
    activation, gain
        Of every neuron (f(gain·net)).
    goal : float
        Error goal on E = ½Σe² (eq. 12.1).
    rows : tuple of (label, algorithm, options)
        One row per algorithm, in table order; ``options`` is a tuple of
        ``(key, value)`` pairs of :func:`lmtrain.train` options.
    trials, seed : int
        Default number of trials and seed: trial i of every row starts from
        row i of ``trial_weights(net, trials, seed)``.
    book : tuple of (label, success rate, mean iterations, ms)
        The published values the set-up is compared with, if any.
    """

    name: str
    title: str
    parity: int
    encoding: str
    topology: str
    sizes: tuple
    activation: str
    gain: float
    goal: float
    rows: tuple
    trials: int = 100
    seed: int = 0
    book: tuple = ()

    def network(self) -> Network:
        """The network, built afresh."""
        if self.topology == "fcc":
            return fcc(self.sizes[0], sum(self.sizes[1:]), self.sizes[-1], activation=self.activation, gain=self.gain)
        build = bmlp if self.topology == "bmlp" else mlp
        return build(list(self.sizes), activation=self.activation, gain=self.gain)

    def data(self):
        """``(X, D)``: the parity-N patterns in the set-up's encoding."""
        return datasets.parity(self.parity, self.encoding)

    def algorithms(self, **max_iter) -> dict:
        """``{label: (algorithm, options)}`` for :func:`lmtrain.experiments.compare`, in table order.

        Keyword arguments ``{algorithm: cap}`` (e.g. ``ebp=1000``) lower the
        iteration cap of every row of that algorithm, as quick runs do.
        """
        unknown = set(max_iter) - {algo for _, algo, _ in self.rows}
        if unknown:
            raise ValueError(f"no row of set-up {self.name!r} uses {sorted(unknown)}")
        out = {}
        for label, algo, options in self.rows:
            opts = dict(options)
            if algo in max_iter:
                opts["max_iter"] = check_number(max_iter[algo], f"{algo} max_iter", low=1, integer=True)
            out[label] = (algo, opts)
        return out

    def book_values(self) -> dict:
        """``{label: (success rate, mean iterations, ms)}`` of the published table (empty if none)."""
        return {label: (rate, iters, ms) for label, rate, iters, ms in self.book}


#: Parity-3 as in Table 12.2. The chapter leaves the network, the neurons, the
#: error measure and EBP's step scaling open; this is the reading closest to the
#: book among those tried by ``chapters/setup_study.py`` (its rank 1): a 3-3-1
#: MLP of tanh(0.5·net) neurons on ±1 patterns; "error 0.01" read as MSE =
#: SSE/P ≤ 0.01, i.e. E = ½Σe² ≤ 0.04 for P = 8; EBP's step w ← w − (α/32)·Jᵀe,
#: a factor fitted to the α = 100 row (no error definition gives it); EBP
#: stops after 2,000 iterations, Gauss–Newton and LM after 1,000; LM starts
#: from μ = 0.1. 100 trials from seed 0. The book's values are recalled, not
#: checked against a printed copy.
TABLE_12_2 = Setup(
    name="table-12-2",
    title="parity-3, MLP 3-3-1 of tanh(0.5·net), ±1 patterns, goal MSE ≤ 0.01 (E ≤ 0.04), "
          "EBP step α/32, LM μ₀ 0.1",
    parity=3, encoding="bipolar", topology="mlp", sizes=(3, 3, 1), activation="bipolar", gain=0.5,
    goal=0.04,
    rows=(("EBP α=1", "ebp", (("alpha", 1.0 / 32.0), ("max_iter", 2000))),
          ("EBP α=100", "ebp", (("alpha", 100.0 / 32.0), ("max_iter", 2000))),
          ("Gauss–Newton", "gauss_newton", (("max_iter", 1000),)),
          ("LM", "lm", (("mu", 0.1), ("max_iter", 1000)))),
    book=(("EBP α=1", 1.00, 1646.52, 320.6), ("EBP α=100", 0.79, 171.48, 36.5),
          ("Gauss–Newton", 0.03, 4.33, 1.2), ("LM", 1.00, 6.18, 1.6)),
)

#: set-ups by name, for ``--setup`` on the command line
SETUPS = {TABLE_12_2.name: TABLE_12_2}
