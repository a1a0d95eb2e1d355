"""Lab 5: comparing EBP, Gauss-Newton and LM as in Table 12.2 (chapter §12.4).

Fill in the four functions below, in order; each docstring gives the
signature and what to return. Check your work with

    lmtrain lab check 5

This lab uses lmtrain itself: ``lm.mlp``, ``lm.datasets.parity`` and
``lm.experiments.run_trials``.
"""

import numpy as np

import lmtrain as lm


def parity_setup(n):
    """The Table 12.2 set-up for parity-n (§12.4, Figs. 12.6-12.7).

    Parameters
    ----------
    n : int
        Number of inputs (3 for the chapter's problem).

    Returns
    -------
    network : lmtrain.Network
        MLP n-n-1 of bipolar neurons with gain 0.5.
    X : ndarray, shape (2**n, n)
    D : ndarray, shape (2**n, 1)
        Bipolar parity-n patterns and targets.
    goal : float
        The goal on E = 1/2 sum e^2 that means SSE / P <= 0.01: P / 200.
    """
    # TODO
    raise NotImplementedError


def table_rows():
    """The four rows of Table 12.2 (Table 12.1's rules with the §12.4 set-up).

    Returns
    -------
    dict
        ``{name: (algorithm, options)}`` with the names ``"EBP alpha=1"``,
        ``"EBP alpha=100"``, ``"Gauss-Newton"``, ``"LM"``; ``algorithm`` as
        ``run_trials`` spells it (``"ebp"``, ``"gauss_newton"``, ``"lm"``) and
        ``options`` a dict of its keyword arguments: EBP ``alpha`` = alpha/32
        and ``max_iter`` 2000; Gauss-Newton ``max_iter`` 1000; LM ``mu`` 0.1
        and ``max_iter`` 1000.
    """
    # TODO
    raise NotImplementedError


def run_row(n, algorithm, options, trials=100, seed=0):
    """``lm.experiments.run_trials`` of one row on parity-n with the set-up's goal.

    Parameters
    ----------
    n : int
    algorithm : str
        ``"ebp"``, ``"gauss_newton"`` or ``"lm"``.
    options : dict
        Keyword arguments for ``run_trials`` (``alpha``, ``mu``, ``max_iter``).
    trials, seed : int
        As for ``run_trials``.

    Returns
    -------
    lmtrain.experiments.TrialSummary
    """
    # TODO
    raise NotImplementedError


def table(n, trials=100, seed=0):
    """Table 12.2 on parity-n: the four rows of :func:`table_rows`, each run with :func:`run_row`.

    Returns
    -------
    dict
        ``{name: (success rate, mean iterations of the successful trials)}``;
        the success rate is a fraction in [0, 1], the mean is NaN when no
        trial succeeded (``TrialSummary.success_rate``, ``.mean_iterations``).
    """
    # TODO
    raise NotImplementedError
