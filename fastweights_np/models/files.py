"""The canonical model's parameters on disk: one self-describing ``.npz``, no pickles."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from fastweights_np.atomic import atomic_save_npz
from fastweights_np.cores.fast_weights import FastWeightsConfig
from fastweights_np.models.canonical import check_model_params

PARAMS_FORMAT = "fastweights_np.params/1"


def save_params(path: str | os.PathLike, params: dict[str, np.ndarray], cfg: FastWeightsConfig) -> Path:
    """Save ``params`` with ``cfg`` beside them in one self-describing ``.npz``, atomically.

    The file holds the arrays under their names, ``__config__`` (the config as JSON: only the
    math, not which code computed it) and ``__format__``; it contains no pickled objects.
    """
    check_model_params(params, cfg)
    arrays = dict(params)
    arrays["__config__"] = np.array(cfg.to_json())
    arrays["__format__"] = np.array(PARAMS_FORMAT)
    return atomic_save_npz(path, arrays)


def load_params(path: str | os.PathLike) -> tuple[dict[str, np.ndarray], FastWeightsConfig]:
    """Load a file written by :func:`save_params`; returns ``(params, cfg)``, both checked.

    Files written before the backend became a run-time choice carry a "backend" config field;
    it is ignored.
    """
    with np.load(path, allow_pickle=False) as f:
        names = set(f.files)
        if "__format__" not in names or str(f["__format__"]) != PARAMS_FORMAT:
            found = str(f["__format__"]) if "__format__" in names else "none"
            raise ValueError(f"{path} is not a {PARAMS_FORMAT} file (format: {found})")
        cfg = FastWeightsConfig.from_json(str(f["__config__"]))
        params = {k: f[k] for k in names - {"__config__", "__format__"}}
    check_model_params(params, cfg)
    return params, cfg
