"""The IRNN over a whole sequence: forward, and backpropagation through time.

    d_t = C x_t + b                       for all t at once
    h_t = ReLU(W h_{t-1} + d_t)           (LN before the ReLU with layer_norm)

Interface and BPTT loop shared with the other baselines: ``cores/recurrence.py``.
"""

from __future__ import annotations

import numpy as np

from fastweights_np.cores import recurrence
from fastweights_np.cores.irnn.config import IRNNConfig
from fastweights_np.cores.irnn.step import IRNNState, step_backward, step_forward, zero_state
from fastweights_np.cores.preactivation import input_drive_backward, input_drive_forward


def _drive_forward(params: dict, x: np.ndarray, cfg: IRNNConfig) -> tuple[np.ndarray, tuple]:
    return input_drive_forward(params, x, False, cfg.ln_eps)  # the IRNN's LN acts on z_t, not on C x_t


RECURRENCE = recurrence.Recurrence(_drive_forward, input_drive_backward, step_forward, step_backward, zero_state)


def sequence_forward(
    params: dict[str, np.ndarray], x: np.ndarray, cfg: IRNNConfig, state0: IRNNState | None = None
) -> tuple[tuple[np.ndarray, IRNNState], tuple]:
    """Run the IRNN over x (B, T, I) from state0 = (h_0,) (zeros when None).

    Parameters
    ----------
    params : W (H, H), C (H, I), b (H,)[, g, beta (H,)] in the config's dtype
    x : (B, T, I)
    cfg : the core's config
    state0 : IRNNState(h_0 (B, H)) or None

    Returns
    -------
    (hs, state) : hs (B, T, H) holds h_1..h_T; state = IRNNState(h_T)
    cache : for :func:`sequence_backward`
    """
    return recurrence.sequence_forward(RECURRENCE, params, x, cfg, state0)


def sequence_backward(
    dout: tuple[np.ndarray, IRNNState | None], cache: tuple
) -> tuple[dict, np.ndarray, IRNNState | None]:
    """BPTT: (dhs (B, T, H), dstate_T or None) -> (grads, dx (B, T, I), dstate0 or None)."""
    return recurrence.sequence_backward(dout, cache)
