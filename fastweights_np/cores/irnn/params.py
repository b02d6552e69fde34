"""Parameters of the IRNN core: shapes and initialisation."""

from __future__ import annotations

import numpy as np

from fastweights_np.cores.irnn.config import IRNNConfig


def param_shapes(cfg: IRNNConfig) -> dict[str, tuple[int, ...]]:
    """W (H, H), C (H, I), b (H,), and g, beta (H,) when ``cfg.layer_norm``."""
    H, I = cfg.hidden_size, cfg.input_size
    shapes = {"W": (H, H), "C": (H, I), "b": (H,)}
    if cfg.layer_norm:
        shapes.update(g=(H,), beta=(H,))
    return shapes


def init_core_params(cfg: IRNNConfig, seed: int = 0) -> dict[str, np.ndarray]:
    """W = identity_scale · I, C uniform in ±1/sqrt(I), b = 0, g = 1, beta = 0; in ``cfg.dtype``."""
    rng = np.random.default_rng(seed)
    H, I = cfg.hidden_size, cfg.input_size
    params = {
        "W": cfg.identity_scale * np.eye(H),
        "C": rng.uniform(-1.0, 1.0, (H, I)) / np.sqrt(I),
        "b": np.zeros(H),
    }
    if cfg.layer_norm:
        params.update(g=np.ones(H), beta=np.zeros(H))
    return {k: v.astype(cfg.np_dtype) for k, v in params.items()}
