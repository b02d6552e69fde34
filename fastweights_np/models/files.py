"""The canonical model's parameters on disk: one self-describing ``.npz``, no pickles."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from fastweights_np.atomic import atomic_save_npz
from fastweights_np.cores.fast_weights import FastWeightsConfig
from fastweights_np.files import FileFormatError, read_tagged_npz
from fastweights_np.models.canonical import check_model_params

PARAMS_FORMAT = "fastweights_np.params/1"
PARAMS_EXPECTED = f"a {PARAMS_FORMAT} file of the canonical model's parameters (written by save_params)"


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

    Raises
    ------
    fastweights_np.files.FileFormatError
        naming the file: it is missing, not a readable ``.npz`` without pickles, of another
        format, or holds a config or parameters that are not valid together
    """

    def bad(problem: str) -> FileFormatError:
        return FileFormatError(f"{path} {problem}; expected {PARAMS_EXPECTED}")

    arrays = read_tagged_npz(path, PARAMS_FORMAT, PARAMS_EXPECTED)
    if "__config__" not in arrays:
        raise bad("has no __config__ entry")
    try:
        cfg = FastWeightsConfig.from_json(str(arrays["__config__"]))
    except (TypeError, ValueError) as exc:
        raise bad(f"has an invalid __config__ ({exc})") from None
    params = {k: v for k, v in arrays.items() if k not in ("__config__", "__format__")}
    try:
        check_model_params(params, cfg)
    except (TypeError, ValueError) as exc:
        raise bad(f"holds parameters that do not fit its config ({exc})") from None
    return params, cfg
