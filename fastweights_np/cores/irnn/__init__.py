"""The IRNN core (Le, Jaitly & Hinton 2015): ReLU RNN with W initialised to a scaled identity."""

from fastweights_np.cores.irnn.config import IRNNConfig
from fastweights_np.cores.irnn.params import init_core_params, param_shapes
from fastweights_np.cores.irnn.sequence import sequence_backward, sequence_forward
from fastweights_np.cores.irnn.step import IRNNState, zero_state

__all__ = [
    "IRNNConfig",
    "IRNNState",
    "init_core_params",
    "param_shapes",
    "sequence_backward",
    "sequence_forward",
    "zero_state",
]
