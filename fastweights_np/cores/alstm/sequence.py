"""The Associative LSTM over a whole sequence: forward, and backpropagation through time.

    d_t = N_in(C x_t) + b                 for all t at once
    (h_t, c_t) = A-LSTM step (h_{t-1}, c_{t-1}, d_t)    (cores/alstm/step.py)

Interface and BPTT loop shared with the other baselines: ``cores/recurrence.py``.
"""

from __future__ import annotations

import numpy as np

from fastweights_np.cores import recurrence
from fastweights_np.cores.alstm.config import ALSTMConfig
from fastweights_np.cores.alstm.step import ALSTMState, step_backward, step_forward, zero_state
from fastweights_np.cores.preactivation import config_drive_forward, input_drive_backward

RECURRENCE = recurrence.Recurrence(config_drive_forward, input_drive_backward, step_forward, step_backward, zero_state)


def sequence_forward(
    params: dict[str, np.ndarray], x: np.ndarray, cfg: ALSTMConfig, state0: ALSTMState | None = None
) -> tuple[tuple[np.ndarray, ALSTMState], tuple]:
    """Run the A-LSTM over x (B, T, I) from state0 = (h_0, c_0) (zeros when None).

    Parameters
    ----------
    params : see :func:`fastweights_np.cores.alstm.param_shapes`, in the config's dtype
    x : (B, T, I)
    cfg : the core's config (its permutation_seed fixes the copies' permutations)
    state0 : ALSTMState(h_0 (B, H), c_0 (B, N_copies, H)) or None

    Returns
    -------
    (hs, state) : hs (B, T, H) holds h_1..h_T; state = ALSTMState(h_T, c_T)
    cache : for :func:`sequence_backward`
    """
    return recurrence.sequence_forward(RECURRENCE, params, x, cfg, state0)


def sequence_backward(
    dout: tuple[np.ndarray, ALSTMState | None], cache: tuple
) -> tuple[dict, np.ndarray, ALSTMState | None]:
    """BPTT: (dhs (B, T, H), dstate_T or None) -> (grads, dx (B, T, I), dstate0 or None)."""
    return recurrence.sequence_backward(dout, cache)
