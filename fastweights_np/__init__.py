"""fastweights_np: a readable NumPy reference of the fast-weights RNN with layer normalization
(Ba, Hinton, Mnih, Leibo & Ionescu, "Using Fast Weights to Attend to the Recent Past", NIPS 2016),
with backpropagation through time written by hand and checked against finite differences.

``sequence_forward`` / ``sequence_backward`` here are the fast-weights core of
``get_core("fw")``: the NumPy reference with its inputs and results checked
(``fastweights_np.backends.checked_core``). The reference functions themselves, unchecked and
for any array namespace, are ``fastweights_np.cores.fast_weights.sequence_forward`` /
``sequence_backward``.
"""

from fastweights_np.backends import BACKENDS, get_core
from fastweights_np.cores.fast_weights import FastWeightsConfig, FastWeightsState
from fastweights_np.cores.registry import CORE_NAMES
from fastweights_np.finite import NonFiniteError
from fastweights_np.models.canonical import hidden_states, init_params, loss_and_grad, param_shapes
from fastweights_np.models.files import load_params, save_params

__version__ = "0.1.0"

# the checked reference core's functions (every input and result checked, as get_core's)
sequence_forward = get_core("fw").sequence_forward
sequence_backward = get_core("fw").sequence_backward

__all__ = [
    "BACKENDS",
    "CORE_NAMES",
    "FastWeightsConfig",
    "FastWeightsState",
    "NonFiniteError",
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
