"""fastweights_np: a readable NumPy reference of the fast-weights RNN with layer normalization
(Ba, Hinton, Mnih, Leibo & Ionescu, "Using Fast Weights to Attend to the Recent Past", NIPS 2016),
with backpropagation through time written by hand and checked against finite differences.
"""

from fastweights_np.config import FastWeightsConfig
from fastweights_np.cores.fast_weights import FastWeightsState, sequence_backward, sequence_forward
from fastweights_np.cores.registry import CORE_NAMES, get_core
from fastweights_np.model import hidden_states, loss_and_grad
from fastweights_np.params import init_params, load_params, param_shapes, save_params

__version__ = "0.1.0"

__all__ = [
    "CORE_NAMES",
    "FastWeightsConfig",
    "FastWeightsState",
    "__version__",
    "get_core",
    "hidden_states",
    "init_params",
    "load_params",
    "loss_and_grad",
    "param_shapes",
    "save_params",
    "sequence_backward",
    "sequence_forward",
]
