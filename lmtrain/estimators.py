"""scikit-learn style estimators: :class:`LMRegressor` and :class:`LMClassifier`.

Both build a network (MLP, bridged MLP or fully connected cascade), standardise
the data, and train with :func:`lmtrain.train` — Levenberg–Marquardt by default
(eq. 12.25, Fig. 12.5) — from one or several random initial weight sets,
keeping the run with the lowest error. They follow scikit-learn's conventions
(``get_params``/``set_params``, ``fit``/``predict``/``score``, fitted
attributes ending in ``_``, :class:`NotFittedError`) so they work in
``Pipeline``, ``cross_val_score`` and ``GridSearchCV``, yet lmtrain does not
import scikit-learn: it is needed only to run scikit-learn's own tools.

What is minimised is the chapter's E = ½ Σ_p Σ_m e_pm² (eq. 12.1) on the
*standardised* training targets (regressor) or on the coded class targets
(classifier); the ``goal`` parameter is that E.

:class:`Model` is the bare form of a trained network — network, weights,
training record and scaling — with the same ``predict``; :mod:`lmtrain.io`
saves and loads it and both estimators.
"""

from __future__ import annotations

import inspect
import numbers
import sys
import warnings
from dataclasses import dataclass

import numpy as np

from . import activations
from ._validation import TargetRangeWarning, check_number, check_squares, range_advice, targets_out_of_range
from .algorithms import get_algorithm
from .training import train
from .network import Network, bmlp, fcc, mlp
from .result import TrainResult

__all__ = ["DataConversionWarning", "LMClassifier", "LMRegressor", "Model", "NotFittedError"]

TOPOLOGIES = ("mlp", "bmlp", "fcc")


class NotFittedError(ValueError, AttributeError):
    """Raised by ``predict``, ``predict_proba`` or ``score`` before ``fit``.

    A ``ValueError`` and an ``AttributeError``, as scikit-learn's exception of
    the same name. When scikit-learn has already been imported by the caller,
    the exception raised also derives from scikit-learn's class, so its tools
    (``check_is_fitted`` users, meta-estimators) recognise it.
    """


class DataConversionWarning(UserWarning):
    """The classifier was given a column vector y and used it as 1-D."""


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
                   {"__module__": __name__, "__doc__": NotFittedError.__doc__})
        _SKLEARN_FLAVOURED[sk.NotFittedError] = cls
    return cls(msg)


# ---------------------------------------------------------------- validation
def _is_sparse(X) -> bool:
    return type(X).__module__.startswith("scipy.sparse") and hasattr(X, "toarray")


def _as_numeric(value, name: str) -> np.ndarray:
    """``value`` as a float64 array (any shape) with clear errors."""
    if value is None:
        raise ValueError(f"{name} is None; expected an array of numbers")
    if _is_sparse(value):
        raise TypeError(f"{name}: sparse input is not supported; convert it with {name}.toarray()")
    try:
        arr = np.asarray(value)
    except ValueError as exc:  # ragged nested lists
        raise ValueError(f"{name} must be a rectangular array of numbers: {exc}") from None
    if arr.dtype.kind == "c":
        raise ValueError(f"Complex data not supported: {name} has dtype {arr.dtype}; give real numbers")
    if arr.dtype.kind not in "biuf":
        try:
            arr = arr.astype(np.float64)
        except (TypeError, ValueError) as exc:
            raise TypeError(f"{name} must hold numbers: {exc}") from None
    return np.asarray(arr, dtype=np.float64)


def _check_finite(arr: np.ndarray, name: str) -> None:
    if not np.all(np.isfinite(arr)):
        bad = int(arr.size - np.count_nonzero(np.isfinite(arr)))
        raise ValueError(f"{name} contains {bad} NaN or infinite value(s)")


def _check_X(X, name: str = "X") -> np.ndarray:
    """A finite (n_samples, n_features) float64 array, at least one of each."""
    arr = _as_numeric(X, name)
    if arr.ndim == 1:
        raise ValueError(
            f"{name} must be 2-D (samples x features), got a 1-D array of shape {arr.shape}. "
            f"Reshape your data: {name}.reshape(-1, 1) for a single feature, "
            f"{name}.reshape(1, -1) for a single sample."
        )
    if arr.ndim != 2:
        raise ValueError(f"{name} must be 2-D (samples x features), got shape {arr.shape}")
    if arr.shape[0] == 0:
        raise ValueError(f"Found array with 0 sample(s) (shape={arr.shape}) while a minimum of 1 is required.")
    if arr.shape[1] == 0:
        raise ValueError(f"Found array with 0 feature(s) (shape={arr.shape}) while a minimum of 1 is required.")
    _check_finite(arr, name)
    return np.ascontiguousarray(arr)


def _require_y(est, y):
    if y is None:
        raise ValueError(f"{type(est).__name__} requires y to be passed, but the target y is None")


def _check_lengths(X, y):
    if len(y) != X.shape[0]:
        raise ValueError(f"X and y have different numbers of samples: {X.shape[0]} and {len(y)}")


def _scale(A: np.ndarray, name: str):
    """Column means and standard deviations; a constant column gets scale 1.

    Finite data can still be too large to standardise: the mean of values
    near 1e308, or the variance of values beyond 1e154, overflows. That is a
    ``ValueError`` naming the column, rather than an infinite scale that
    predicts ±inf and saves a model that cannot be loaded.
    """
    with np.errstate(over="ignore", invalid="ignore"):
        mean = A.mean(axis=0)
        scale = A.std(axis=0)
    bad = ~(np.isfinite(mean) & np.isfinite(scale))
    if bad.any():
        j = int(np.flatnonzero(bad)[0])
        col = A[:, j]
        big = float(col[np.argmax(np.abs(col))])
        what = "mean" if not np.isfinite(mean[j]) else "standard deviation"
        where = f"{name} column {j}" if A.shape[1] > 1 or name == "X" else name
        raise ValueError(f"{where} cannot be standardised: its {what} overflows float64 (largest value {big:.3g}); "
                         f"rescale it (e.g. divide it by {10.0 ** np.floor(np.log10(abs(big))):.0e})")
    scale[~(scale > 0)] = 1.0
    return mean, scale


def _check_size(X: np.ndarray, name: str, standardize: bool):
    """Mean and scale of the columns of ``X`` (0 and 1 without standardising), checked for overflow."""
    if standardize:
        return _scale(X, name)
    why = "JᵀJ (eq. 12.23) and the neurons' sums" if name == "X" else "E = ½Σe² (eq. 12.1)"
    check_squares(X if X.shape[1] > 1 or name == "X" else X[:, 0], name, why)
    return np.zeros(X.shape[1]), np.ones(X.shape[1])


def _check_hidden(hidden, topology: str) -> tuple[int, ...]:
    if isinstance(hidden, (numbers.Integral,)) and not isinstance(hidden, bool):
        hidden = (int(hidden),)
    if isinstance(hidden, (str, bytes)) or not isinstance(hidden, (tuple, list, np.ndarray)):
        raise TypeError(f"hidden must be an int or a tuple of ints (neurons per hidden layer), got {hidden!r}")
    sizes = []
    for h in hidden:
        if isinstance(h, bool) or not isinstance(h, numbers.Integral):
            raise TypeError(f"hidden must hold integers, got {hidden!r}")
        if h < 1:
            raise ValueError(f"hidden layer sizes must be >= 1, got {hidden!r}")
        check_number(h, "hidden", integer=True)  # 64 bits, like every count
        sizes.append(int(h))
    if topology == "fcc" and len(sizes) > 1:
        raise ValueError(
            f"for topology 'fcc' give hidden as one number (hidden neurons in the cascade), got {hidden!r}"
        )
    return tuple(sizes)


def _rngs(random_state, n: int) -> list[np.random.Generator]:
    """``n`` independent generators derived from ``random_state``.

    An int, None or SeedSequence is used afresh at every call (so ``fit`` is
    repeatable); a Generator or RandomState advances, as in scikit-learn.
    """
    rs = random_state
    if rs is None or (isinstance(rs, numbers.Integral) and not isinstance(rs, bool)):
        if rs is not None and rs < 0:
            raise ValueError(f"random_state must be a non-negative int, None or a Generator, got {rs}")
        children = np.random.SeedSequence(None if rs is None else int(rs)).spawn(n)
    elif isinstance(rs, np.random.SeedSequence):
        # a copy, so that spawning does not move the caller's sequence on
        fresh = np.random.SeedSequence(rs.entropy, spawn_key=rs.spawn_key, pool_size=rs.pool_size)
        children = fresh.spawn(n)
    elif isinstance(rs, np.random.Generator):
        return list(rs.spawn(n))
    elif isinstance(rs, np.random.RandomState):
        children = np.random.SeedSequence(int(rs.randint(0, 2**31 - 1))).spawn(n)
    else:
        raise TypeError(
            f"random_state must be None, an int, a numpy SeedSequence or Generator, got {type(rs).__name__}"
        )
    return [np.random.default_rng(c) for c in children]


def _check_options(options, algorithm: str) -> dict:
    if options is None:
        options = {}
    if not isinstance(options, dict):
        raise TypeError(f"options must be a dict of algorithm options or None, got {type(options).__name__}")
    for key in ("max_iter", "goal"):
        if key in options:
            raise TypeError(f"give {key} as the estimator parameter {key}=..., not inside options")
    if any(not isinstance(k, str) for k in options):
        raise TypeError("options keys must be option names (strings)")
    o = dict(options)
    # An estimator returns its final weights, so by default it never accepts a
    # step that raises the error (the chapter's Fig. 12.5 forces one after 5 tries).
    if get_algorithm(algorithm).key == "lm":
        o.setdefault("strict", True)
    return o


# -------------------------------------------------------------------- Model
@dataclass(eq=False)
class Model:
    """A trained network with its input/output scaling: ``predict(X)`` is

    ``net.forward(weights, (X − x_mean) / x_scale) · y_scale + y_mean``

    Parameters
    ----------
    net : Network
    weights : array_like, shape (net.n_weights,)
    result : TrainResult, optional
        The training record (history, stop reason, options).
    x_mean, x_scale : array_like, shape (net.n_inputs,), optional
        Input standardisation (default 0 and 1: none).
    y_mean, y_scale : array_like, shape (net.n_outputs,), optional
        Output scaling (default 0 and 1: none).
    """

    net: Network
    weights: np.ndarray
    result: TrainResult | None = None
    x_mean: np.ndarray | None = None
    x_scale: np.ndarray | None = None
    y_mean: np.ndarray | None = None
    y_scale: np.ndarray | None = None

    def __post_init__(self):
        if not isinstance(self.net, Network):
            raise TypeError(f"net must be a lmtrain Network, got {type(self.net).__name__}")
        if self.result is not None and not isinstance(self.result, TrainResult):
            raise TypeError(f"result must be a TrainResult or None, got {type(self.result).__name__}")
        self.weights = self._vector(self.weights, "weights", self.net.n_weights, "n_weights")
        for name, size, what in (("x_mean", self.net.n_inputs, "n_inputs"), ("x_scale", self.net.n_inputs, "n_inputs"),
                                 ("y_mean", self.net.n_outputs, "n_outputs"),
                                 ("y_scale", self.net.n_outputs, "n_outputs")):
            value = getattr(self, name)
            if value is not None:
                value = self._vector(value, name, size, what)
                # a standard deviation: zero would divide by zero, a negative
                # one silently mirrors the data
                if name.endswith("scale") and not np.all(value > 0):
                    raise ValueError(f"{name} must hold positive numbers (standard deviations), got "
                                     f"{value[~(value > 0)][0]:g} at index {int(np.flatnonzero(~(value > 0))[0])}")
                setattr(self, name, value)

    @staticmethod
    def _vector(value, name, size, what):
        arr = _as_numeric(value, name)
        if arr.ndim != 1 or arr.shape[0] != size:
            raise ValueError(f"{name} must be a 1-D array of length {size} (the network's {what}), "
                             f"got shape {arr.shape}")
        _check_finite(arr, name)
        return np.ascontiguousarray(arr)

    def predict(self, X) -> np.ndarray:
        """Outputs for the patterns ``X`` (P, n_inputs), shape (P, n_outputs)."""
        X = _check_X(X)
        if X.shape[1] != self.net.n_inputs:
            raise ValueError(f"X has {X.shape[1]} features, but the model is expecting {self.net.n_inputs} "
                             f"features as input")
        if self.x_mean is not None:
            X = X - self.x_mean
        if self.x_scale is not None:
            X = X / self.x_scale
        O = self.net.forward(self.weights, X)
        if self.y_scale is not None:
            O = O * self.y_scale
        if self.y_mean is not None:
            O = O + self.y_mean
        return O


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


def _split(n: int, fraction: float, rng: np.random.Generator, labels=None):
    """Random train/validation indices, at least one sample on each side."""
    n_val = int(round(fraction * n))
    if n_val < 1 or n - n_val < 1:
        raise ValueError(
            f"validation_fraction={fraction} leaves no sample for training or validation with {n} samples"
        )
    perm = rng.permutation(n)
    val = np.sort(perm[:n_val])
    train_idx = np.sort(perm[n_val:])
    if labels is not None:
        # move back to training any class that the split left without samples
        missing = np.setdiff1d(np.unique(labels), np.unique(labels[train_idx]))
        if missing.size:
            back = val[np.isin(labels[val], missing)]
            # one sample of each missing class returns to training
            _, first = np.unique(labels[back], return_index=True)
            back = back[first]
            val = np.setdiff1d(val, back)
            train_idx = np.sort(np.concatenate([train_idx, back]))
            if val.size == 0:
                raise ValueError(f"validation_fraction={fraction} leaves no sample for validation")
    return train_idx, val


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


class LMRegressor(_LMEstimator):
    __doc__ = """Neural-network regression trained by Levenberg–Marquardt.

    The output neurons are linear by default; one output per target column
    (y may be 1-D or 2-D). ``score`` is the coefficient of determination R²
    (averaged over outputs).

    Parameters
    ----------""" + _COMMON_DOC + """    y_mean_, y_scale_ : ndarray
        Target standardisation, one entry per output.
    n_outputs_ : int

    Examples
    --------
    >>> import numpy as np, lmtrain as lm
    >>> X = np.linspace(-3, 3, 100).reshape(-1, 1)
    >>> model = lm.LMRegressor(hidden=(8,), random_state=0).fit(X, np.sin(X).ravel())
    >>> model.score(X, np.sin(X).ravel()) > 0.999
    True
    """

    _output_default = "linear"

    def fit(self, X, y):
        """Train on samples ``X`` (n_samples, n_features) and targets ``y`` (n_samples[, n_outputs])."""
        _require_y(self, y)
        X = _check_X(X)
        y = _as_numeric(y, "y")
        if y.ndim not in (1, 2) or (y.ndim == 2 and y.shape[1] == 0):
            raise ValueError(f"y must be 1-D or 2-D with at least one column, got shape {y.shape}")
        _check_lengths(X, y)
        _check_finite(y, "y")
        Y = y.reshape(-1, 1) if y.ndim == 1 else y
        x_mean, x_scale = _check_size(X, "X", self.standardize)
        y_mean, y_scale = _check_size(Y, "y", self.standardize)
        self._train((X - x_mean) / x_scale, np.ascontiguousarray((Y - y_mean) / y_scale),
                    target_name="standardised y" if self.standardize else "y")
        self.n_features_in_ = X.shape[1]
        self.n_outputs_ = Y.shape[1]
        self.x_mean_, self.x_scale_ = x_mean, x_scale
        self.y_mean_, self.y_scale_ = y_mean, y_scale
        self._y_ndim = y.ndim
        return self

    def predict(self, X) -> np.ndarray:
        """Predicted targets, shape (n_samples,) or (n_samples, n_outputs) as y in ``fit``."""
        X = self._check_predict_X(X)
        O = self.net_.forward(self.weights_, (X - self.x_mean_) / self.x_scale_) * self.y_scale_ + self.y_mean_
        return O.ravel() if self._y_ndim == 1 else O

    def score(self, X, y, sample_weight=None) -> float:
        """R² = 1 − Σ(y − ŷ)² / Σ(y − ȳ)², averaged over outputs.

        An output with constant y scores 1 when predicted exactly, else 0.
        """
        pred = self.predict(X)
        y = _as_numeric(y, "y")
        if len(y) != len(pred):
            raise ValueError(f"X and y have different numbers of samples: {len(pred)} and {len(y)}")
        return _r2(y.reshape(len(y), -1), pred.reshape(len(pred), -1), sample_weight)

    def to_model(self) -> Model:
        """The trained network as a :class:`Model` (predictions as a 2-D array)."""
        self._check_fitted()
        return Model(self.net_, self.weights_.copy(), self.result_, self.x_mean_.copy(), self.x_scale_.copy(),
                     self.y_mean_.copy(), self.y_scale_.copy())

    def __sklearn_tags__(self):
        # Called only by scikit-learn, which is therefore already imported.
        from sklearn.utils import InputTags, RegressorTags, Tags, TargetTags

        return Tags(estimator_type="regressor",
                    target_tags=TargetTags(required=True, multi_output=True, single_output=True),
                    regressor_tags=RegressorTags(), input_tags=InputTags())


def _weights(sample_weight, n):
    if sample_weight is None:
        return np.ones(n)
    sw = _as_numeric(sample_weight, "sample_weight")
    if sw.ndim != 1 or sw.shape[0] != n:
        raise ValueError(f"sample_weight must be 1-D of length {n}, got shape {sw.shape}")
    _check_finite(sw, "sample_weight")
    return sw


def _r2(Y, P, sample_weight=None) -> float:
    w = _weights(sample_weight, Y.shape[0])[:, None]
    mean = (w * Y).sum(axis=0) / w.sum()
    ss_res = (w * (Y - P) ** 2).sum(axis=0)
    ss_tot = (w * (Y - mean) ** 2).sum(axis=0)
    r2 = np.ones(Y.shape[1])
    ok = ss_tot != 0
    r2[ok] = 1.0 - ss_res[ok] / ss_tot[ok]
    r2[~ok & (ss_res != 0)] = 0.0
    return float(r2.mean())


#: output activation -> (target of "not this class", target of "this class")
_CODES = {"bipolar": (-1.0, 1.0), "unipolar": (0.0, 1.0), "linear": (-1.0, 1.0)}


class LMClassifier(_LMEstimator):
    __doc__ = """Neural-network classification trained by Levenberg–Marquardt.

    Labels may be any values ``numpy.unique`` can sort (ints, strings, …).
    Two classes use one output neuron, K > 2 classes one output per class
    (one-hot). Targets are coded for the output activation: ±1 for "tanh"
    (the default, as the chapter's bipolar patterns), 0/1 for "sigmoid", ±1
    for "linear". The network is then trained as a regression on the codes.

    ``predict_proba`` maps each output o to s = (o − low)/(high − low)
    clipped to [0, 1] (low/high: the two codes), i.e. how close the output is
    to "this class"; with two classes the probabilities are (1 − s, s), with
    more they are the s normalised to sum to 1 (uniform if all are 0). These
    are scores that rank the classes, not calibrated probabilities.
    ``predict`` returns the class of the largest of them. ``score`` is the
    accuracy.

    Parameters
    ----------""" + _COMMON_DOC + """    classes_ : ndarray
        The sorted class labels.
    target_codes_ : ndarray
        The targets (low, high) the outputs were trained on.
    n_outputs_ : int
        Output neurons (1 for two classes, else the number of classes).
    """

    _output_default = "bipolar"

    def _codes(self):
        return _CODES[activations.canonical(self._output_activation())]

    def fit(self, X, y):
        """Train on samples ``X`` (n_samples, n_features) and labels ``y`` (n_samples,)."""
        _require_y(self, y)
        X = _check_X(X)
        y = _check_labels(y)
        _check_lengths(X, y)
        try:
            classes, idx = np.unique(y, return_inverse=True)
        except TypeError as exc:
            raise TypeError(f"y labels must be comparable with each other (they are sorted): {exc}") from None
        if len(classes) < 2:
            raise ValueError(f"{type(self).__name__} needs samples of at least 2 classes in y; got 1 class "
                             f"({classes[0]!r})")
        idx = idx.ravel()
        low, high = self._codes()
        if len(classes) == 2:
            D = np.where(idx == 1, high, low).reshape(-1, 1)
        else:
            D = np.full((len(y), len(classes)), low)
            D[np.arange(len(y)), idx] = high
        x_mean, x_scale = _check_size(X, "X", self.standardize)
        self._train((X - x_mean) / x_scale, D, y_split=idx)
        self.classes_ = classes
        self.target_codes_ = np.array([low, high])
        self.n_features_in_ = X.shape[1]
        self.n_outputs_ = D.shape[1]
        self.x_mean_, self.x_scale_ = x_mean, x_scale
        return self

    def _outputs(self, X) -> np.ndarray:
        X = self._check_predict_X(X)
        return self.net_.forward(self.weights_, (X - self.x_mean_) / self.x_scale_)

    def predict_proba(self, X) -> np.ndarray:
        """Class scores in [0, 1] summing to 1 per sample, shape (n_samples, n_classes)."""
        O = self._outputs(X)
        low, high = self.target_codes_
        s = np.clip((O - low) / (high - low), 0.0, 1.0)
        if len(self.classes_) == 2:
            return np.hstack([1.0 - s, s])
        total = s.sum(axis=1, keepdims=True)
        k = s.shape[1]
        return np.where(total > 0, s / np.where(total > 0, total, 1.0), 1.0 / k)

    def predict(self, X) -> np.ndarray:
        """The class with the largest score for every sample."""
        proba = self.predict_proba(X)  # checks fitted state before classes_ is read
        return self.classes_[np.argmax(proba, axis=1)]

    def score(self, X, y, sample_weight=None) -> float:
        """Accuracy: the (weighted) fraction of samples predicted correctly."""
        pred = self.predict(X)
        y = np.asarray(y)
        if y.ndim == 2 and y.shape[1] == 1:
            y = y.ravel()
        if len(y) != len(pred):
            raise ValueError(f"X and y have different numbers of samples: {len(pred)} and {len(y)}")
        w = _weights(sample_weight, len(y))
        return float(np.sum(w * (pred == y)) / np.sum(w))

    def to_model(self) -> Model:
        """The trained network as a :class:`Model` (raw output neurons, coded targets)."""
        self._check_fitted()
        return Model(self.net_, self.weights_.copy(), self.result_, self.x_mean_.copy(), self.x_scale_.copy())

    def __sklearn_tags__(self):
        # Called only by scikit-learn, which is therefore already imported.
        from sklearn.utils import ClassifierTags, InputTags, Tags, TargetTags

        return Tags(estimator_type="classifier",
                    target_tags=TargetTags(required=True, multi_output=False, single_output=True),
                    classifier_tags=ClassifierTags(multi_class=True), input_tags=InputTags())


def _check_labels(y) -> np.ndarray:
    """1-D class labels; a column vector is accepted with a warning."""
    if _is_sparse(y):
        raise TypeError("y: sparse input is not supported; convert it with y.toarray()")
    y = np.asarray(y)
    if y.ndim == 2 and y.shape[1] == 1:
        warnings.warn("A column-vector y was passed when a 1d array was expected; it is used as y.ravel().",
                      DataConversionWarning, stacklevel=3)
        y = y.ravel()
    if y.ndim != 1:
        raise ValueError(f"y must be a 1-D array of class labels, got shape {y.shape}")
    kind = y.dtype.kind
    if kind == "c":
        raise ValueError(f"Complex data not supported: y has dtype {y.dtype}")
    if kind == "f":
        _check_finite(y, "y")
        if np.any(y != np.round(y)):
            raise ValueError("Unknown label type: continuous (y holds non-integer numbers); class labels are "
                             "expected — use LMRegressor for a continuous target")
    elif kind == "O":
        for v in y:
            if isinstance(v, numbers.Integral) and not isinstance(v, (bool, np.bool_)):
                # numpy holds integers in 64 bits: a larger label cannot be coded or saved as a number
                if not -2**63 <= v < 2**63:
                    raise ValueError(f"y holds the class label {v}, beyond 64-bit integers; give such labels as "
                                     f"strings (e.g. y.astype(str))")
            elif isinstance(v, numbers.Real) and not isinstance(v, (bool, np.bool_)):
                if not np.isfinite(v):
                    raise ValueError("y contains NaN or infinite value(s)")
                if v != round(v):
                    raise ValueError("Unknown label type: continuous (y holds non-integer numbers); class labels "
                                     "are expected — use LMRegressor for a continuous target")
            elif v is None:
                raise ValueError("y contains None; every sample needs a class label")
    return y
