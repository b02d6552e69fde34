"""Parameters of the fast-weights core: shapes and the paper's initialisation (appendix)."""

from __future__ import annotations

import numpy as np

from fastweights_np.cores.fast_weights.config import FastWeightsConfig

CORE_PARAM_NAMES = ("W", "C", "b", "g", "beta")


def param_shapes(cfg: FastWeightsConfig) -> dict[str, tuple[int, ...]]:
    """Shape of the core's slow parameters: W (H, H), C (H, I), b (H,), g (H,), beta (H,)."""
    H, I = cfg.hidden_size, cfg.input_size
    return {"W": (H, H), "C": (H, I), "b": (H,), "g": (H,), "beta": (H,)}


def draw_core_params(cfg: FastWeightsConfig, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """W = 0.05·I, C uniform in ±1/sqrt(I) drawn from ``rng``, b = 0, g = 1, beta = 0 (float64).

    The canonical model draws its readout from the same generator afterwards
    (:func:`fastweights_np.models.canonical.init_params`).
    """
    H, I = cfg.hidden_size, cfg.input_size
    return {
        "W": 0.05 * np.eye(H),
        "C": rng.uniform(-1.0, 1.0, (H, I)) / np.sqrt(I),
        "b": np.zeros(H),
        "g": np.ones(H),
        "beta": np.zeros(H),
    }


def init_core_params(cfg: FastWeightsConfig, seed: int = 0) -> dict[str, np.ndarray]:
    """The core's slow parameters W, C, b, g, beta (:func:`draw_core_params`) in ``cfg.dtype``,
    from ``numpy.random.default_rng(seed)``: the same arrays as the canonical model's
    ``init_params(cfg, seed)`` holds for them."""
    return {k: v.astype(cfg.np_dtype) for k, v in draw_core_params(cfg, np.random.default_rng(seed)).items()}


def used_params(cfg: FastWeightsConfig) -> tuple[str, ...]:
    """The parameters that can change the output at ``cfg``: g and β count only when layer norm
    is used somewhere (the inner loop with S >= 1, or the preliminary vector)."""
    uses_ln = cfg.ln_preliminary or (cfg.layer_norm and cfg.inner_steps > 0)
    return CORE_PARAM_NAMES if uses_ln else ("W", "C", "b")
