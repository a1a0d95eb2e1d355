"""lmtrain: Levenberg–Marquardt training for small and medium neural networks."""
from .network import Network, Neuron, mlp, bmlp, fcc
__version__ = "0.1.0"
