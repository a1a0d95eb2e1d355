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

The base class both estimators share, :class:`NotFittedError` and the
parameters' common documentation are in :mod:`lmtrain._estimator_base`; the
checks of the data and parameters in :mod:`lmtrain._estimator_checks`.
"""

from __future__ import annotations

import numbers
import warnings
from dataclasses import dataclass

import numpy as np

from . import activations
# NotFittedError is public here (see __all__); the command line reads TOPOLOGIES here
from ._estimator_base import _COMMON_DOC, TOPOLOGIES, NotFittedError, _LMEstimator
from ._estimator_checks import (_as_numeric, _check_finite, _check_lengths, _check_size, _check_X, _is_sparse,
                                _require_y, _weights)
from .network import Network
from .result import TrainResult

__all__ = ["DataConversionWarning", "LMClassifier", "LMRegressor", "Model", "NotFittedError"]


class DataConversionWarning(UserWarning):
    """The classifier was given a column vector y and used it as 1-D."""


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
