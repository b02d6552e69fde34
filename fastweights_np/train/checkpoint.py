"""Everything a run needs to continue exactly where it stopped, in one atomically written .npz.

Arrays: ``params.<name>``, ``best.<name>`` (the parameters with the best validation error so far),
``adam.m.<name>``, ``adam.v.<name>``; and ``__state__``, a JSON object with the step, Adam's step
and hyperparameters, the best validation error and its step, the training-loss accumulator and
the elapsed time, the step of the last evaluation logged and the run.json it was written with.
No pickles.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from fastweights_np.atomic import atomic_save_npz
from fastweights_np.files import FileFormatError, read_npz
from fastweights_np.optim.adam import AdamConfig, AdamState

CHECKPOINT_FORMAT = "fastweights_np.checkpoint/1"


@dataclass
class RunState:
    """The complete state of a training run after ``step`` updates."""

    step: int
    params: dict[str, np.ndarray]
    adam: AdamState
    adam_config: AdamConfig
    best_params: dict[str, np.ndarray]
    best_val_error: float = float("inf")
    best_val_loss: float = float("inf")
    best_step: int = -1
    loss_sum: float = 0.0  # training loss summed since the last evaluation
    loss_count: int = 0
    elapsed_s: float = 0.0
    last_eval_step: int = -1  # the step of the last evaluation logged (-1: none yet)
    run_info: dict | None = None  # the run.json it was written with (None: an older checkpoint)


def checkpoint_path(run_dir: str | os.PathLike) -> Path:
    """Where a run directory keeps its checkpoint."""
    return Path(run_dir) / "checkpoint.npz"


def save_groups(path: str | os.PathLike, fmt: str, groups: dict[str, dict[str, np.ndarray]], meta: dict) -> Path:
    """A checkpoint of any trainer: named groups of arrays (stored as "<group>.<name>") and a JSON
    object ``meta`` (stored as ``__state__``, with "format": ``fmt``), in one atomic ``.npz``."""
    arrays = {f"{group}.{k}": v for group, named in groups.items() for k, v in named.items()}
    arrays["__state__"] = np.array(json.dumps(dict(meta, format=fmt)))
    return atomic_save_npz(path, arrays)


def load_groups(path: str | os.PathLike, fmt: str, groups: tuple[str, ...]) -> tuple[dict[str, dict], dict]:
    """Read :func:`save_groups`' file: ({group: {name: array}}, meta); FileFormatError naming the
    file for a missing, damaged or foreign one. Groups are matched longest first ("adam.m" before
    "adam")."""
    expected = f"a {fmt} file written by 'fastweights-np train'"
    f = read_npz(path, expected)
    try:
        meta = json.loads(str(f["__state__"]))
    except (KeyError, json.JSONDecodeError) as exc:
        raise FileFormatError(f"{path} lacks the state {exc!s} or holds it damaged; expected {expected}") from None
    if not isinstance(meta, dict) or meta.get("format") != fmt:
        found = meta.get("format") if isinstance(meta, dict) else None
        raise FileFormatError(f"{path} has format {found!r}; expected {expected}")
    found = {group: {} for group in groups}
    for key, value in f.items():
        group = next((g for g in sorted(groups, key=len, reverse=True) if key.startswith(g + ".")), None)
        if group is not None:
            found[group][key[len(group) + 1:]] = value
    return found, meta


def save_checkpoint(path: str | os.PathLike, state: RunState) -> Path:
    groups = {"params": state.params, "best": state.best_params, "adam.m": state.adam.m, "adam.v": state.adam.v}
    meta = {
        "step": state.step,
        "adam_step": state.adam.step,
        "adam_config": asdict(state.adam_config),
        "best_val_error": state.best_val_error,
        "best_val_loss": state.best_val_loss,
        "best_step": state.best_step,
        "loss_sum": state.loss_sum,
        "loss_count": state.loss_count,
        "elapsed_s": state.elapsed_s,
        "last_eval_step": state.last_eval_step,
        "run": state.run_info,
    }
    return save_groups(path, CHECKPOINT_FORMAT, groups, meta)


def load_checkpoint(path: str | os.PathLike) -> RunState:
    """Read a checkpoint written by :func:`save_checkpoint`; FileFormatError
    (fastweights_np.files) naming the file for a missing, damaged or foreign one."""
    g, meta = load_groups(path, CHECKPOINT_FORMAT, ("params", "best", "adam.m", "adam.v"))
    try:
        return RunState(
            step=int(meta["step"]),
            params=g["params"],
            adam=AdamState(int(meta["adam_step"]), g["adam.m"], g["adam.v"]),
            adam_config=AdamConfig(**meta["adam_config"]),
            best_params=g["best"],
            best_val_error=float(meta["best_val_error"]),
            best_val_loss=float(meta["best_val_loss"]),
            best_step=int(meta["best_step"]),
            loss_sum=float(meta["loss_sum"]),
            loss_count=int(meta["loss_count"]),
            elapsed_s=float(meta["elapsed_s"]),
            # checkpoints written before this field were all written right after an evaluation,
            # but for a Ctrl-C's: those resume without re-evaluating, as they did then
            last_eval_step=int(meta.get("last_eval_step", meta["step"])),
            run_info=meta.get("run"),
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise FileFormatError(f"{path} lacks the state {exc!s} or holds it damaged; expected a "
                              f"{CHECKPOINT_FORMAT} file written by 'fastweights-np train'") from None
