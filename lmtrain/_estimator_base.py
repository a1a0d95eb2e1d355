"""What :class:`~lmtrain.estimators.LMRegressor` and :class:`~lmtrain.estimators.LMClassifier` share.

:class:`_LMEstimator` holds the parameters and their scikit-learn plumbing
(``get_params``/``set_params``, ``repr``), the fitted-state check raising
:class:`NotFittedError`, and the building and training of the network from
one or several random initial weight sets. ``_COMMON_DOC`` documents the
parameters and attributes both estimators have. See :mod:`lmtrain.estimators`,
where the public names live.
"""

from __future__ import annotations

import inspect
import sys
import warnings

import numpy as np

from . import activations
from ._estimator_checks import _check_hidden, _check_options, _check_X, _rngs, _split
from ._validation import TargetRangeWarning, check_number, range_advice, targets_out_of_range
from .algorithms import get_algorithm
from .training import train
from .network import Network, bmlp, fcc, mlp

TOPOLOGIES = ("mlp", "bmlp", "fcc")


class NotFittedError(ValueError, AttributeError):
    """Raised by ``predict``, ``predict_proba`` or ``score`` before ``fit``.

    A ``ValueError`` and an ``AttributeError``, as scikit-learn's exception of
    the same name. When scikit-learn has already been imported by the caller,
    the exception raised also derives from scikit-learn's class, so its tools
    (``check_is_fitted`` users, meta-estimators) recognise it.
    """

    # public, and documented, as lmtrain.estimators.NotFittedError: tracebacks and pickles name it so
    __module__ = "lmtrain.estimators"


_SKLEARN_FLAVOURED = {}


def _not_fitted(est) -> NotFittedError:
    msg = (f"This {type(est).__name__} instance is not fitted yet; "
           f"call fit(X, y) before using this method.")
    sk = sys.modules.get("sklearn.exceptions")
    if sk is None:
        return NotFittedError(msg)
    # Never import scikit-learn ourselves; if the caller has, raise a subclass
    # of both classes so that `except sklearn.exceptions.NotFittedError` works.
    cls = _SKLEARN_FLAVOURED.get(sk.NotFittedError)
    if cls is None:
        cls = type("NotFittedError", (NotFittedError, sk.NotFittedError),
                   {"__module__": NotFittedError.__module__, "__doc__": NotFittedError.__doc__})
        _SKLEARN_FLAVOURED[sk.NotFittedError] = cls
    return cls(msg)


# ------------------------------------------------------------ base estimator
class _LMEstimator:
    """Parameters, training and scikit-learn plumbing shared by both estimators."""

    _output_default = "linear"

    # Both estimators take the same parameters; as in scikit-learn, __init__ only
    # stores them (checks happen in fit) and get_params reads its signature.
    def __init__(self, hidden=(10,), *, topology="mlp", activation="tanh", output_activation=None,
                 algorithm="lm", max_iter=200, goal=0.0, options=None, standardize=True, restarts=1,
                 validation_fraction=None, max_fail=6, random_state=None, progress=False):
        self.hidden = hidden
        self.topology = topology
        self.activation = activation
        self.output_activation = output_activation
        self.algorithm = algorithm
        self.max_iter = max_iter
        self.goal = goal
        self.options = options
        self.standardize = standardize
        self.restarts = restarts
        self.validation_fraction = validation_fraction
        self.max_fail = max_fail
        self.random_state = random_state
        self.progress = progress

    # ---- parameters (the same semantics as scikit-learn's BaseEstimator)
    @classmethod
    def _get_param_names(cls) -> list[str]:
        sig = inspect.signature(cls.__init__)
        names = []
        for p in sig.parameters.values():
            if p.name == "self" or p.kind == p.VAR_KEYWORD:
                continue
            if p.kind == p.VAR_POSITIONAL:
                raise RuntimeError(f"{cls.__name__}.__init__ must not take *args")
            names.append(p.name)
        return sorted(names)

    def get_params(self, deep: bool = True) -> dict:
        """Parameters of the estimator (the arguments of ``__init__``).

        With ``deep=True`` parameters that are themselves estimators also
        contribute theirs as ``name__param``.
        """
        out = {}
        for key in self._get_param_names():
            value = getattr(self, key)
            if deep and hasattr(value, "get_params") and not isinstance(value, type):
                out.update((f"{key}__{k}", v) for k, v in value.get_params().items())
            out[key] = value
        return out

    def set_params(self, **params):
        """Set parameters by name (``name__param`` for nested estimators); returns self.

        Raises ``ValueError`` for a name that is not a parameter. Values are
        checked by ``fit``, not here.
        """
        if not params:
            return self
        valid = self.get_params(deep=True)
        nested = {}
        for key, value in params.items():
            key, delim, sub = key.partition("__")
            if key not in valid:
                raise ValueError(
                    f"Invalid parameter {key!r} for estimator {type(self).__name__}. "
                    f"Valid parameters are: {self._get_param_names()!r}."
                )
            if delim:
                nested.setdefault(key, {})[sub] = value
            else:
                setattr(self, key, value)
                valid[key] = value
        for key, sub_params in nested.items():
            valid[key].set_params(**sub_params)
        return self

    def __repr__(self):
        sig = inspect.signature(type(self).__init__).parameters
        parts = []
        for key, value in self.get_params(deep=False).items():
            default = sig[key].default
            try:
                same = value is default or (type(value) is type(default) and bool(value == default))
            except Exception:  # arrays and other values without a plain ==
                same = False
            if not same:
                parts.append(f"{key}={value!r}")
        return f"{type(self).__name__}({', '.join(parts)})"

    def __sklearn_is_fitted__(self) -> bool:
        return hasattr(self, "weights_")

    def _check_fitted(self):
        if not hasattr(self, "weights_"):
            raise _not_fitted(self)

    def _check_predict_X(self, X) -> np.ndarray:
        self._check_fitted()
        X = _check_X(X)
        if X.shape[1] != self.n_features_in_:
            raise ValueError(f"X has {X.shape[1]} features, but {type(self).__name__} is expecting "
                             f"{self.n_features_in_} features as input")
        return X

    # ---- building and training
    def _build_network(self, n_in: int, n_out: int) -> Network:
        topology = self.topology
        if not isinstance(topology, str) or topology.strip().lower() not in TOPOLOGIES:
            raise ValueError(f"topology must be one of {TOPOLOGIES}, got {topology!r}")
        topology = topology.strip().lower()
        hidden = _check_hidden(self.hidden, topology)
        act = activations.canonical(self.activation)
        out_act = activations.canonical(self._output_activation())
        if topology == "fcc":
            n_hidden = hidden[0] if hidden else 0
            return fcc(n_in, n_hidden + n_out, outputs=n_out, activation=act, output_activation=out_act)
        build = mlp if topology == "mlp" else bmlp
        return build([n_in, *hidden, n_out], activation=act, output_activation=out_act)

    def _output_activation(self) -> str:
        return self._output_default if self.output_activation is None else self.output_activation

    def _check_training_params(self):
        spec = get_algorithm(self.algorithm)
        max_iter = check_number(self.max_iter, "max_iter", low=1, integer=True)
        goal = check_number(self.goal, "goal", low=0.0)
        restarts = check_number(self.restarts, "restarts", low=1, integer=True)
        vf = self.validation_fraction
        if vf is not None:
            vf = check_number(vf, "validation_fraction", low=0.0, high=1.0, low_open=True, high_open=True)
        max_fail = check_number(self.max_fail, "max_fail", low=1, integer=True)
        if not isinstance(self.standardize, (bool, np.bool_)):
            raise TypeError(f"standardize must be True or False, got {self.standardize!r}")
        if self.progress is not None and not isinstance(self.progress, (bool, np.bool_)):
            raise TypeError(f"progress must be True, False or None, got {self.progress!r}")
        options = _check_options(self.options, spec.key)
        return spec.key, max_iter, goal, restarts, vf, max_fail, options

    def _train(self, X: np.ndarray, D: np.ndarray, y_split=None, target_name: str = "y"):
        """Standardised inputs ``X`` and coded targets ``D`` (P, M): set the fitted state.

        ``y_split`` (labels for the classifier) keeps every class on the
        training side of a validation split when it can. Warns
        (:class:`~lmtrain.TargetRangeWarning`) when ``D`` (called
        ``target_name``) lies outside the output activation's range.
        """
        algorithm, max_iter, goal, restarts, vf, max_fail, options = self._check_training_params()
        net = self._build_network(X.shape[1], D.shape[1])
        found = targets_out_of_range(net, D)
        if found is not None:
            warnings.warn(range_advice(found, target_name, f'output_activation="linear", the '
                                                           f'{type(self).__name__} default'
                                       if self._output_default == "linear" else 'output_activation="linear"'),
                          TargetRangeWarning, stacklevel=3)
        rngs = _rngs(self.random_state, restarts + 1)
        Xt, Dt, validation = X, D, None
        if vf is not None:
            train_idx, val_idx = _split(X.shape[0], vf, rngs[0], y_split)
            Xt, Dt = X[train_idx], D[train_idx]
            validation = (X[val_idx], D[val_idx])
        best = None
        errors = np.empty(restarts)
        for r in range(restarts):
            w0 = net.init_weights(rngs[r + 1])
            with warnings.catch_warnings():
                # said once above, for the whole data, rather than by every restart
                warnings.simplefilter("ignore", TargetRangeWarning)
                res = train(net, Xt, Dt, algorithm, w0=w0, max_iter=max_iter, goal=goal,
                            validation=validation, max_fail=max_fail,
                            progress=None if self.progress is None else bool(self.progress), **options)
            # choose on the validation error when there is one, else on training E
            Xs, Ds = (Xt, Dt) if validation is None else validation
            err = net.error(res.weights, Xs, Ds) if np.all(np.isfinite(res.weights)) else np.inf
            errors[r] = err if np.isfinite(err) else np.inf
            if best is None or errors[r] < errors[best[0]]:
                best = (r, res)
        r, res = best
        self.net_ = net
        self.weights_ = res.weights.copy()
        self.result_ = res
        self.n_iter_ = int(res.iterations)
        self.restart_errors_ = errors
        self.best_restart_ = int(r)
        self.validation_error_ = None if validation is None else float(errors[r])
        return self


_COMMON_DOC = """
    hidden : int or tuple of int, default (10,)
        Neurons per hidden layer. For ``topology="fcc"`` one number: the
        hidden neurons of the cascade (before the output neurons).
    topology : {"mlp", "bmlp", "fcc"}, default "mlp"
        Multilayer perceptron, bridged MLP (every neuron also sees the inputs
        and all earlier layers) or fully connected cascade.
    activation : str, default "tanh"
        Hidden neurons: "tanh"/"bipolar", "sigmoid"/"unipolar" or "linear".
    output_activation : str or None
        Output neurons (None: the estimator's default, see above). A tanh
        output lies in (−1, 1) and a sigmoid one in (0, 1): ``fit`` warns
        (:class:`lmtrain.TargetRangeWarning`) when the (standardised)
        targets leave that range, which such a network cannot fit.
    algorithm : {"lm", "gauss_newton", "newton", "ebp"}, default "lm"
        Training rule (Table 12.1).
    max_iter : int, default 200
        Iterations per restart.
    goal : float, default 0.0
        Stop when E = ½Σe² (eq. 12.1, on the standardised/coded targets) ≤ goal.
    options : dict or None
        Further options of the algorithm (e.g. ``{"mu": 0.1, "min_grad": 1e-8}``),
        see :func:`lmtrain.train`. For LM ``strict`` defaults to True here:
        a step that raises the error is never accepted.
    standardize : bool, default True
        Scale inputs (and regression targets) to zero mean and unit variance;
        predictions are scaled back.
    restarts : int, default 1
        Independent random initial weight sets; the run with the lowest
        training error (validation error with ``validation_fraction``) is kept.
        A single run now and then stalls with saturated neurons (a local
        minimum of E); a few restarts make that unlikely.
    validation_fraction : float or None
        Fraction of the samples held out for early stopping: training stops
        when the validation error has not reached a new low for ``max_fail``
        iterations, and the weights of the lowest validation error are kept.
    max_fail : int, default 6
        See ``validation_fraction``.
    random_state : None, int, numpy Generator or SeedSequence
        Seed of the initial weights and the validation split. An int makes
        ``fit`` repeatable; None draws fresh entropy.
    progress : bool or None, default False
        Show a progress line on stderr while training (None: only when stderr
        is a terminal and a run lasts over a second).

    Attributes
    ----------
    net_ : Network
        The trained network's topology.
    weights_ : ndarray
        Its weights.
    result_ : TrainResult
        Training record of the kept run (history, stop reason, options).
    n_iter_ : int
        Iterations of the kept run.
    restart_errors_ : ndarray
        Selection error (E on training or validation data) of every restart.
    best_restart_ : int
        Index of the kept restart.
    validation_error_ : float or None
        E on the validation samples at the kept weights.
    n_features_in_ : int
    x_mean_, x_scale_ : ndarray
        Input standardisation (0 and 1 when ``standardize=False``).
"""
