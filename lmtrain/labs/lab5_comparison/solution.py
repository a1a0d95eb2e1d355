"""Lab 5: comparing EBP, Gauss-Newton and LM as in Table 12.2 (chapter §12.4).

Reference solution. Check it with

    lmtrain lab check 5
"""

import lmtrain as lm


def parity_setup(n):
    """MLP n-n-1 of tanh(0.5 net) neurons, bipolar parity-n, goal P/200 on E = 1/2 sum e^2."""
    network = lm.mlp([n, n, 1], activation="bipolar", gain=0.5)
    X, D = lm.datasets.parity(n)
    return network, X, D, len(X) / 200.0


def table_rows():
    """The four rows of Table 12.2 with the set-up's options."""
    return {
        "EBP alpha=1": ("ebp", {"alpha": 1.0 / 32, "max_iter": 2000}),
        "EBP alpha=100": ("ebp", {"alpha": 100.0 / 32, "max_iter": 2000}),
        "Gauss-Newton": ("gauss_newton", {"max_iter": 1000}),
        "LM": ("lm", {"mu": 0.1, "max_iter": 1000}),
    }


def run_row(n, algorithm, options, trials=100, seed=0):
    """run_trials of one row on parity-n, goal P/200."""
    network, X, D, goal = parity_setup(n)
    return lm.experiments.run_trials(network, X, D, algorithm=algorithm, trials=trials, seed=seed,
                                     goal=goal, progress=False, **options)


def table(n, trials=100, seed=0):
    """{name: (success rate, mean iterations of the successful trials)} for the four rows."""
    out = {}
    for name, (algorithm, options) in table_rows().items():
        t = run_row(n, algorithm, options, trials, seed)
        out[name] = (t.success_rate, t.mean_iterations)
    return out
