"""The LSTM over a whole sequence: forward, and backpropagation through time.

    d_t = N_in(C x_t) + b                 for all t at once
    (h_t, c_t) = LSTM step (h_{t-1}, c_{t-1}, d_t)      (cores/lstm/step.py)

Interface and BPTT loop shared with the other baselines: ``cores/recurrence.py``.
"""

from __future__ import annotations

import numpy as np

from fastweights_np.cores import recurrence
from fastweights_np.cores.lstm.config import LSTMConfig
from fastweights_np.cores.lstm.step import LSTMState, step_backward, step_forward, zero_state
from fastweights_np.cores.preactivation import config_drive_forward, input_drive_backward

RECURRENCE = recurrence.Recurrence(config_drive_forward, input_drive_backward, step_forward, step_backward, zero_state)


def sequence_forward(
    params: dict[str, np.ndarray], x: np.ndarray, cfg: LSTMConfig, state0: LSTMState | None = None
) -> tuple[tuple[np.ndarray, LSTMState], tuple]:
    """Run the LSTM over x (B, T, I) from state0 = (h_0, c_0) (zeros when None).

    Parameters
    ----------
    params : see :func:`fastweights_np.cores.lstm.param_shapes`, in the config's dtype
    x : (B, T, I)
    cfg : the core's config
    state0 : LSTMState(h_0 (B, H), c_0 (B, H)) or None

    Returns
    -------
    (hs, state) : hs (B, T, H) holds h_1..h_T; state = LSTMState(h_T, c_T)
    cache : for :func:`sequence_backward`
    """
    return recurrence.sequence_forward(RECURRENCE, params, x, cfg, state0)


def sequence_backward(
    dout: tuple[np.ndarray, LSTMState | None], cache: tuple
) -> tuple[dict, np.ndarray, LSTMState | None]:
    """BPTT: (dhs (B, T, H), dstate_T or None) -> (grads, dx (B, T, I), dstate0 or None)."""
    return recurrence.sequence_backward(dout, cache)
