"""The LSTM core, optionally layer-normalized (Ba, Kiros & Hinton 2016)."""

from fastweights_np.cores.lstm.config import LSTMConfig
from fastweights_np.cores.lstm.params import init_core_params, param_shapes
from fastweights_np.cores.lstm.sequence import sequence_backward, sequence_forward
from fastweights_np.cores.lstm.step import LSTMState, zero_state

__all__ = [
    "LSTMConfig",
    "LSTMState",
    "init_core_params",
    "param_shapes",
    "sequence_backward",
    "sequence_forward",
    "zero_state",
]
