"""The Associative LSTM core (Danihelka, Wayne, Uria, Kalchbrenner & Graves 2016)."""

from fastweights_np.cores.alstm.config import ALSTMConfig
from fastweights_np.cores.alstm.params import init_core_params, param_shapes
from fastweights_np.cores.alstm.sequence import sequence_backward, sequence_forward
from fastweights_np.cores.alstm.step import ALSTMState, zero_state

__all__ = [
    "ALSTMConfig",
    "ALSTMState",
    "init_core_params",
    "param_shapes",
    "sequence_backward",
    "sequence_forward",
    "zero_state",
]
