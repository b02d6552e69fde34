"""The loop every trainer runs, and the check of every update's loss and gradient.

For step k = 0, 1, ... (a step is an update):

1. if a record is due at k and the state has not logged one at k, log it (an evaluation);
2. if a checkpoint is due at k and none was written at k, write it (step 0 has one, so a run
   killed at any moment can resume);
3. unless the budget is spent, one update.

A resumed state skips what its checkpoint already holds (its ``last_eval_step``, and the
checkpoint of its own step), so a resumed run logs what an uninterrupted one does. Ctrl-C (and
SIGTERM, which the command line turns into it) saves the state and stops.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, TypeVar

from fastweights_np.finite import NonFiniteError, check_gradients
from fastweights_np.train.checkpoint import checkpoint_path

State = TypeVar("State")


def run_loop(
    state: State,
    *,
    record_due: Callable[[State], bool],
    record: Callable[[State], State],
    checkpoint_due: Callable[[State], bool],
    save: Callable[[State], None] | None,
    done: Callable[[State], bool],
    update: Callable[[State, int | None], State],
    saved_step: int | None,
) -> tuple[State, str]:
    """Run the loop (module docstring) from ``state``; (the last state, "finished" or "interrupted").

    Parameters
    ----------
    state : has ``step`` and ``last_eval_step``
    record_due, record : whether a record is due at a state's step; log it (returns the new state)
    checkpoint_due, save : whether a checkpoint is due; write it (None: no run directory)
    done : whether the budget is spent
    update : ``update(state, saved_step)`` -> the state after one more update (``saved_step``,
        the step of the checkpoint on disk, for its error message)
    saved_step : the step of the checkpoint on disk (None: none yet)
    """
    status = "finished"
    try:
        while True:
            if record_due(state) and state.last_eval_step != state.step:
                state = record(state)
            if save is not None and saved_step != state.step and checkpoint_due(state):
                save(state)
                saved_step = state.step
            if done(state):
                break
            state = update(state, saved_step)
    except KeyboardInterrupt:
        status = "interrupted"
        if save is not None:
            save(state)
    return state, status


def check_update(loss: float, grads: Mapping[str, Any], unit: str, step: int, run_dir: Path | None,
                 saved_step: int | None) -> None:
    """NonFiniteError unless the loss and every gradient of update number ``step`` (1-based; ``unit``
    names it: "training step", "update") are finite; the message names the update and the
    checkpoint that is kept."""
    where = f"{unit} {step}"
    try:
        if not math.isfinite(loss):
            raise NonFiniteError(f"the training loss is {loss} at {where}; try gradient clipping (--clip) or a "
                                 "lower learning rate")
        check_gradients(grads, where)
    except NonFiniteError as exc:
        kept = ("" if run_dir is None or saved_step is None
                else f"; {checkpoint_path(run_dir)} keeps the last good state ({unit.split()[-1]} {saved_step})")
        raise NonFiniteError(f"training stopped: {exc}{kept}") from None
