"""The fast-weights RNN core (Ba et al. 2016): config, params, memory ops, inner loop, step, sequence."""

from fastweights_np.cores.fast_weights.config import FastWeightsConfig
from fastweights_np.cores.fast_weights.params import (
    CORE_PARAM_NAMES,
    init_core_params,
    param_names,
    param_shapes,
    used_params,
)
from fastweights_np.cores.fast_weights.sequence import (
    FastWeightsState,
    check_state,
    sequence_backward,
    sequence_forward,
    zero_state,
)

__all__ = [
    "CORE_PARAM_NAMES",
    "FastWeightsConfig",
    "FastWeightsState",
    "check_state",
    "init_core_params",
    "param_names",
    "param_shapes",
    "sequence_backward",
    "sequence_forward",
    "used_params",
    "zero_state",
]
