"""lmtrain: Levenberg–Marquardt training for small and medium neural networks.

Reproduces the chapter "Levenberg–Marquardt Training" (Yu and Wilamowski, 2011)
and goes past it: any feed-forward topology, compiled training loops, memory
that does not grow with the number of patterns.

The chapter's computations are in :mod:`lmtrain.kernels` (plain compiled
loops, the specification); the rules of Table 12.1 in :mod:`lmtrain.algorithms`.
"""

from . import _compile_notice

_compile_notice.install()  # before anything compiles: one line on a terminal if the first use compiles

from . import datasets, experiments, kernels, plotting
from .algorithms import ALGORITHMS, IterationRecord, get_algorithm
from .network import Network, Neuron, Topology, bmlp, fcc, mlp
from .result import History, StopReason, TrainingInterrupted, TrainResult
from .training import train
from .curvefit import CurveFitResult, curve_fit
from .monitor import LivePlot, ProgressLine, plot_training
from . import io
from .estimators import LMClassifier, LMRegressor, Model
from .io import load, save
from .trace import Trace, trace
from ._validation import TargetRangeWarning

__version__ = "0.1.0"

__all__ = [
    "ALGORITHMS", "History", "IterationRecord", "Network", "Neuron", "StopReason", "Topology", "TrainResult",
    "TrainingInterrupted", "bmlp", "datasets", "fcc", "get_algorithm", "kernels", "mlp", "train",
]
__all__ += ["CurveFitResult", "LivePlot", "ProgressLine", "curve_fit", "plot_training"]
__all__ += ["LMClassifier", "LMRegressor", "Model", "io", "load", "save"]
__all__ += ["experiments", "plotting", "Trace", "trace", "TargetRangeWarning"]
