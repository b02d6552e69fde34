"""The fast-weights RNN core (Ba et al. 2016): memory ops, inner loop, step, sequence."""

from fastweights_np.cores.fast_weights.sequence import (
    CORE_PARAM_NAMES,
    FastWeightsState,
    check_state,
    sequence_backward,
    sequence_forward,
)

__all__ = ["CORE_PARAM_NAMES", "FastWeightsState", "check_state", "sequence_backward", "sequence_forward"]
