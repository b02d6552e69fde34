"""Parameters of the LSTM core: shapes and initialisation.

The 4H rows of W, C, b (and of the gate LNs' gains and biases) are the gates in the order
f (forget), i (input), o (output), u (cell input): rows [0, H), [H, 2H), [2H, 3H), [3H, 4H).
"""

from __future__ import annotations

import numpy as np

from fastweights_np.cores.lstm.config import LSTMConfig

GATES = ("f", "i", "o", "u")


def param_shapes(cfg: LSTMConfig) -> dict[str, tuple[int, ...]]:
    """W (4H, H), C (4H, I), b (4H,); with layer_norm also g_rec, beta_rec, g_in, beta_in (4H,)
    and g_cell, beta_cell (H,)."""
    H, I = cfg.hidden_size, cfg.input_size
    shapes = {"W": (4 * H, H), "C": (4 * H, I), "b": (4 * H,)}
    if cfg.layer_norm:
        shapes.update(g_rec=(4 * H,), beta_rec=(4 * H,), g_in=(4 * H,), beta_in=(4 * H,), g_cell=(H,), beta_cell=(H,))
    return shapes


def init_core_params(cfg: LSTMConfig, seed: int = 0) -> dict[str, np.ndarray]:
    """W uniform in ±1/sqrt(H), C uniform in ±1/sqrt(I), b = 0 except the forget gate's
    b_f = forget_bias; LN gains 1 and biases 0. In ``cfg.dtype``."""
    rng = np.random.default_rng(seed)
    H, I = cfg.hidden_size, cfg.input_size
    b = np.zeros(4 * H)
    b[:H] = cfg.forget_bias
    params = {
        "W": rng.uniform(-1.0, 1.0, (4 * H, H)) / np.sqrt(H),
        "C": rng.uniform(-1.0, 1.0, (4 * H, I)) / np.sqrt(I),
        "b": b,
    }
    if cfg.layer_norm:
        params.update(g_rec=np.ones(4 * H), beta_rec=np.zeros(4 * H), g_in=np.ones(4 * H), beta_in=np.zeros(4 * H))
        params.update(g_cell=np.ones(H), beta_cell=np.zeros(H))
    return {k: v.astype(cfg.np_dtype) for k, v in params.items()}
