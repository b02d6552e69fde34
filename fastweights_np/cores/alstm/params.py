"""Parameters of the A-LSTM core: shapes and initialisation.

The R = 2m + 7m·K rows of W, C, b (and of the LNs' gains and biases), m = H/2, K = n_heads:

    [ f (m) | o (m) | head 1: i (m), u (2m), r_i (2m), r_o (2m) | head 2 ... | head K ... ]

f, o, i are real gates (one value per complex unit); u, r_i, r_o are complex, [Re | Im].
"""

from __future__ import annotations

import numpy as np

from fastweights_np.cores.alstm.config import ALSTMConfig


def param_shapes(cfg: ALSTMConfig) -> dict[str, tuple[int, ...]]:
    """W (R, H), C (R, I), b (R,); with layer_norm also g_rec, beta_rec, g_in, beta_in (R,)."""
    H, I, R = cfg.hidden_size, cfg.input_size, cfg.preactivation_size
    shapes = {"W": (R, H), "C": (R, I), "b": (R,)}
    if cfg.layer_norm:
        shapes.update(g_rec=(R,), beta_rec=(R,), g_in=(R,), beta_in=(R,))
    return shapes


def init_core_params(cfg: ALSTMConfig, seed: int = 0) -> dict[str, np.ndarray]:
    """W uniform in ±1/sqrt(H), C uniform in ±1/sqrt(I), b = 0 except the forget gate's
    b_f = forget_bias; LN gains 1 and biases 0. In ``cfg.dtype``."""
    rng = np.random.default_rng(seed)
    H, I, R, m = cfg.hidden_size, cfg.input_size, cfg.preactivation_size, cfg.complex_size
    b = np.zeros(R)
    b[:m] = cfg.forget_bias
    params = {
        "W": rng.uniform(-1.0, 1.0, (R, H)) / np.sqrt(H),
        "C": rng.uniform(-1.0, 1.0, (R, I)) / np.sqrt(I),
        "b": b,
    }
    if cfg.layer_norm:
        params.update(g_rec=np.ones(R), beta_rec=np.zeros(R), g_in=np.ones(R), beta_in=np.zeros(R))
    return {k: v.astype(cfg.np_dtype) for k, v in params.items()}
