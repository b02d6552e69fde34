"""Starting a run, or resuming one, the same way for every trainer kind.

A trainer's state (its checkpoint) has ``step``, ``run_info`` (the run.json it was written with,
None in older checkpoints) and ``last_eval_step`` (the step of the last record logged), and is a
dataclass. :func:`start_state` checks everything a resume depends on before anything is written.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import TypeVar

from fastweights_np.files import FileFormatError
from fastweights_np.train.run_dir import changed_fields, prepare_run_dir, truncate_metrics, write_run_info

State = TypeVar("State")
CHECKPOINT = "checkpoint.npz"


def start_state(
    run_dir: Path | None,
    info: dict,
    resume: bool,
    *,
    fresh: Callable[[], State],
    load: Callable[[Path], State],
    budget: tuple[str, int],
    finished: Callable[[State], bool],
    resumable: tuple[str, ...],
) -> State | None:
    """The state to train from: ``fresh()``, or (resume) the checkpoint's, once run.json, the
    checkpoint and the budget are checked, with run.json and the log brought to it. Nothing is
    written before every check has passed.

    Parameters
    ----------
    run_dir : the run directory (None: no files, a fresh state)
    info : what run.json holds for this run ("train" the trainer's config, as JSON)
    resume : continue the run in ``run_dir``
    fresh : the state at step 0
    load : reads a checkpoint (FileFormatError for a damaged one)
    budget : (the config field of the budget, e.g. "steps", its value): a resume may raise it only
    finished : whether a state has spent the budget
    resumable : the options a resume may change (the budget's)

    Returns
    -------
    the state, or None when the run had finished with this budget (nothing to do, nothing written)
    """
    if run_dir is None or not resume:
        if run_dir is not None:
            prepare_run_dir(run_dir, info, resume)
        return fresh()
    saved = prepare_run_dir(run_dir, info, resume)
    path = run_dir / CHECKPOINT
    state = None
    if path.exists():
        try:
            state = load(path)
        except FileFormatError as exc:
            raise FileFormatError(f"cannot resume: {exc}. Delete it and --resume starts the run again from "
                                  "step 0") from None
        edited = [] if state.run_info is None else changed_fields(state.run_info, saved)
        if edited:
            raise ValueError(f"cannot resume {run_dir}: its run.json was changed after the checkpoint was written "
                             f"({', '.join(edited)}); put it back, or start a new run with the new options")
    diffs = changed_fields(saved, info, resumable)
    if diffs:
        raise ValueError(f"cannot resume {run_dir}: its run.json differs from this run in {', '.join(diffs)}")
    name, value = budget
    saved_budget = saved.get("train", {}).get(name, value)
    if value < saved_budget:
        raise ValueError(f"cannot resume {run_dir} with --{name.replace('_', '-')} {value}: the run's budget is "
                         f"{saved_budget:,}, and a resume may only raise it")
    if state is not None and value == saved_budget and finished(state) and (run_dir / "final.json").exists():
        return None
    if saved != info:  # the budget was raised
        write_run_info(run_dir, info)
    truncate_metrics(run_dir / "metrics.jsonl", -1 if state is None else state.last_eval_step)
    if state is None:  # killed before its first checkpoint: from the start
        return fresh()
    return replace(state, run_info=info)

