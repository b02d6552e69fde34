"""Parameters of the fast-weights model: shapes, the paper's initialisation, save and load."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from fastweights_np.atomic import atomic_save_npz
from fastweights_np.config import FastWeightsConfig
from fastweights_np.validation import check_params

PARAM_NAMES = ("W", "C", "b", "g", "beta", "V", "c")
PARAMS_FORMAT = "fastweights_np.params/1"


def core_param_shapes(cfg: FastWeightsConfig) -> dict[str, tuple[int, ...]]:
    """Shape of the core's slow parameters: W (H, H), C (H, I), b (H,), g (H,), beta (H,)."""
    H, I = cfg.hidden_size, cfg.input_size
    return {"W": (H, H), "C": (H, I), "b": (H,), "g": (H,), "beta": (H,)}


def param_shapes(cfg: FastWeightsConfig) -> dict[str, tuple[int, ...]]:
    """Shape of every parameter: W (H, H), C (H, I), b (H,), g (H,), beta (H,), V (O, H), c (O,)."""
    H, O = cfg.hidden_size, cfg.output_size
    return {**core_param_shapes(cfg), "V": (O, H), "c": (O,)}


def _init_core(cfg: FastWeightsConfig, rng: np.random.Generator) -> dict[str, np.ndarray]:
    H, I = cfg.hidden_size, cfg.input_size
    return {
        "W": 0.05 * np.eye(H),
        "C": rng.uniform(-1.0, 1.0, (H, I)) / np.sqrt(I),
        "b": np.zeros(H),
        "g": np.ones(H),
        "beta": np.zeros(H),
    }


def init_core_params(cfg: FastWeightsConfig, seed: int = 0) -> dict[str, np.ndarray]:
    """The core's slow parameters W, C, b, g, beta, initialised as in :func:`init_params`
    (the same seed gives the same arrays as there), in ``cfg.dtype``."""
    return {k: v.astype(cfg.np_dtype) for k, v in _init_core(cfg, np.random.default_rng(seed)).items()}


def init_params(cfg: FastWeightsConfig, seed: int = 0) -> dict[str, np.ndarray]:
    """The paper's initialisation (appendix), in ``cfg.dtype``.

    W = 0.05·I; C and V uniform in ±1/sqrt(fan-in) (fan-in I and H); g = 1; b, beta, c = 0.

    Parameters
    ----------
    cfg : sizes and dtype
    seed : seed of ``numpy.random.default_rng``; the same seed gives the same arrays

    Returns
    -------
    dict with exactly the keys W, C, b, g, beta, V, c
    """
    rng = np.random.default_rng(seed)
    H, O = cfg.hidden_size, cfg.output_size
    params = _init_core(cfg, rng)
    params["V"] = rng.uniform(-1.0, 1.0, (O, H)) / np.sqrt(H)
    params["c"] = np.zeros(O)
    return {k: v.astype(cfg.np_dtype) for k, v in params.items()}


def check_model_params(params: object, cfg: FastWeightsConfig) -> None:
    """Raise if ``params`` lacks a key, has an extra one, a wrong shape, dtype or a non-finite value."""
    check_params(params, param_shapes(cfg), cfg.np_dtype)


def save_params(path: str | os.PathLike, params: dict[str, np.ndarray], cfg: FastWeightsConfig) -> Path:
    """Save ``params`` with ``cfg`` beside them in one self-describing ``.npz``, atomically.

    The file holds the arrays under their names, ``__config__`` (the config as JSON) and
    ``__format__``; it contains no pickled objects.
    """
    check_model_params(params, cfg)
    arrays = dict(params)
    arrays["__config__"] = np.array(cfg.to_json())
    arrays["__format__"] = np.array(PARAMS_FORMAT)
    return atomic_save_npz(path, arrays)


def load_params(path: str | os.PathLike) -> tuple[dict[str, np.ndarray], FastWeightsConfig]:
    """Load a file written by :func:`save_params`; returns ``(params, cfg)``, both checked."""
    with np.load(path, allow_pickle=False) as f:
        names = set(f.files)
        if "__format__" not in names or str(f["__format__"]) != PARAMS_FORMAT:
            found = str(f["__format__"]) if "__format__" in names else "none"
            raise ValueError(f"{path} is not a {PARAMS_FORMAT} file (format: {found})")
        cfg = FastWeightsConfig.from_json(str(f["__config__"]))
        params = {k: f[k] for k in names - {"__config__", "__format__"}}
    check_model_params(params, cfg)
    return params, cfg
