"""Parameters of the fast-weights core: shapes and the paper's initialisation (appendix)."""

from __future__ import annotations

import numpy as np

from fastweights_np.cores.fast_weights.config import FastWeightsConfig

CORE_PARAM_NAMES = ("W", "C", "b", "g", "beta")
PRELIMINARY_LN_NAMES = ("g0", "beta0")  # the preliminary vector's LN with ln_params="separate"


def param_names(cfg: FastWeightsConfig) -> tuple[str, ...]:
    """The core's parameter names at ``cfg``: :data:`CORE_PARAM_NAMES`, plus g0, beta0 with
    ``ln_params="separate"`` (docs/variants.md §6)."""
    return CORE_PARAM_NAMES + (PRELIMINARY_LN_NAMES if cfg.ln_params == "separate" else ())


def param_shapes(cfg: FastWeightsConfig) -> dict[str, tuple[int, ...]]:
    """Shape of the core's slow parameters: W (H, H), C (H, I), b (H,), g (H,), beta (H,).

    ``ln_params="scalar"``: g and beta are (1,), broadcast over the units; ``"separate"``: g0 (H,)
    and beta0 (H,) too, the preliminary vector's LN gain and bias.
    """
    H, I = cfg.hidden_size, cfg.input_size
    ln = (1,) if cfg.ln_params == "scalar" else (H,)
    shapes = {"W": (H, H), "C": (H, I), "b": (H,), "g": ln, "beta": ln}
    if cfg.ln_params == "separate":
        shapes.update(g0=(H,), beta0=(H,))
    return shapes


def draw_core_params(cfg: FastWeightsConfig, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """W = 0.05·I, C uniform in ±1/sqrt(I) drawn from ``rng``, b = 0, g = 1, beta = 0 (float64).

    The canonical model draws its readout from the same generator afterwards
    (:func:`fastweights_np.models.canonical.init_params`). g, beta have the shapes of
    :func:`param_shapes`; with ``ln_params="separate"`` g0 = 1 and beta0 = 0 follow (no draw:
    C and the readout are the same arrays at every ``ln_params``).
    """
    H, I = cfg.hidden_size, cfg.input_size
    shapes = param_shapes(cfg)
    params = {
        "W": 0.05 * np.eye(H),
        "C": rng.uniform(-1.0, 1.0, (H, I)) / np.sqrt(I),
        "b": np.zeros(H),
        "g": np.ones(shapes["g"]),
        "beta": np.zeros(shapes["beta"]),
    }
    if cfg.ln_params == "separate":
        params.update(g0=np.ones(H), beta0=np.zeros(H))
    return params


def init_core_params(cfg: FastWeightsConfig, seed: int = 0) -> dict[str, np.ndarray]:
    """The core's slow parameters W, C, b, g, beta (:func:`draw_core_params`) in ``cfg.dtype``,
    from ``numpy.random.default_rng(seed)``: the same arrays as the canonical model's
    ``init_params(cfg, seed)`` holds for them."""
    return {k: v.astype(cfg.np_dtype) for k, v in draw_core_params(cfg, np.random.default_rng(seed)).items()}


def used_params(cfg: FastWeightsConfig) -> tuple[str, ...]:
    """The parameters that can change the output at ``cfg``: g and β count only when layer norm
    is used somewhere (the inner loop with S >= 1, or the preliminary vector); with
    ``ln_params="separate"`` g0, β0 belong to the preliminary vector and g, β to the inner loop."""
    if cfg.ln_params == "separate":
        loop = ("g", "beta") if cfg.layer_norm and cfg.inner_steps > 0 else ()
        return ("W", "C", "b", *loop, *PRELIMINARY_LN_NAMES)
    uses_ln = cfg.ln_preliminary or (cfg.layer_norm and cfg.inner_steps > 0)
    return CORE_PARAM_NAMES if uses_ln else ("W", "C", "b")
