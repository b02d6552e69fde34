"""The supervised trainer: Adam on mini-batches, periodic evaluation, the best parameters by
validation error, atomic checkpoints, exact resume, and a clean stop on Ctrl-C.

The task supplies the model, the training batches as a function of (seed, step) and the
metric (fastweights_np.tasks.task: SupervisedRun and Task.metric). The run directory
(fastweights_np.train.run_dir) holds run.json, metrics.jsonl (one JSON object per evaluation,
and a last one with the test result), checkpoint.npz and final.json.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, fields, replace
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from fastweights_np.files import read_json
from fastweights_np.optim.adam import AdamConfig, adam_init, adam_step
from fastweights_np.optim.schedule import SCHEDULES, learning_rate
from fastweights_np.train.checkpoint import RunState, checkpoint_path, load_checkpoint, save_checkpoint
from fastweights_np.train.clip import clip_by_global_norm
from fastweights_np.train.loop import check_update, run_loop
from fastweights_np.train.options import SUPERVISED_OPTIONS
from fastweights_np.train.progress import Progress
from fastweights_np.train.resume import start_state
from fastweights_np.train.run_dir import append_metrics, in_run_dir, write_final


class Trainable(Protocol):
    """What the trainer needs from a task model (the metric may need more, e.g. ``logits``)."""

    def init_params(self, seed: int) -> dict[str, np.ndarray]: ...

    def loss_and_grad(self, params: dict, x: np.ndarray, y: np.ndarray) -> tuple[float, dict]: ...


Batches = Callable[[int, int], tuple]  # (seed, step) -> (x, y)
Metric = Callable[[Any, dict, Any, int], dict]  # (model, params, split, batch_size) -> {"loss", "error"}

# The trainer's options on the command line (a task may change their defaults).
OPTIONS = SUPERVISED_OPTIONS
RESUMABLE = ("steps",)  # what a resume may change (extend the budget)


@dataclass(frozen=True)
class TrainConfig:
    """How to train: ``steps`` Adam updates on mini-batches of ``batch_size``.

    lr_schedule : how the learning rate ``lr`` changes over the ``steps`` updates, one of
        :data:`fastweights_np.optim.schedule.SCHEDULES` ("constant", or "cosine" down to 0)
    clip_norm : clip gradients by global norm (None: no clipping)
    eval_every : evaluate on the validation and test splits every this many steps
    checkpoint_every : write checkpoint.npz every this many steps (and on Ctrl-C)
    seed : parameter initialisation and batch order
    """

    steps: int = 30_000
    batch_size: int = 128
    lr: float = 1e-3
    lr_schedule: str = "constant"
    clip_norm: float | None = None
    eval_every: int = 500
    checkpoint_every: int = 1000
    seed: int = 0
    eval_batch_size: int = 1000

    def __post_init__(self) -> None:
        for name in ("steps", "batch_size", "eval_every", "checkpoint_every", "eval_batch_size"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be a positive integer, got {value!r}")
        if not (isinstance(self.lr, int | float) and math.isfinite(self.lr) and self.lr > 0):
            raise ValueError(f"lr must be a positive number, got {self.lr!r}")
        if self.lr_schedule not in SCHEDULES:
            raise ValueError(f"lr_schedule must be one of {SCHEDULES}, got {self.lr_schedule!r}")
        if self.clip_norm is not None and not (math.isfinite(self.clip_norm) and self.clip_norm > 0):
            raise ValueError(f"clip_norm must be a positive number or None, got {self.clip_norm!r}")


def config_from_options(options: dict) -> TrainConfig:
    """The TrainConfig named by a run's options (the keys of :data:`OPTIONS`)."""
    o = options
    return TrainConfig(
        steps=o["steps"], batch_size=o["batch_size"], lr=o["lr"], lr_schedule=o["lr_schedule"], clip_norm=o["clip"],
        eval_every=o["eval_every"], checkpoint_every=o["checkpoint_every"], seed=o["seed"],
    )


@dataclass(frozen=True)
class TrainResult:
    status: str  # "finished", "interrupted", or "unchanged" (a resume of a run finished with this budget)
    step: int
    best_step: int
    best_val_error: float
    test_error: float | None
    test_loss: float | None
    elapsed_s: float
    params: dict[str, np.ndarray]  # the best parameters by validation error


def train(
    model: Trainable,
    batches: Batches,
    metric: Metric,
    splits: dict[str, Any],
    cfg: TrainConfig,
    run_dir: str | Path | None = None,
    *,
    run_info: dict | None = None,
    resume: bool = False,
    progress: bool = True,
) -> TrainResult:
    """Train ``model`` on ``batches``, select by splits["val"], report splits["test"].

    Parameters
    ----------
    model : a :class:`Trainable`
    batches : ``batches(seed, step) -> (x, y)``, mini-batch number ``step`` (0-based) for
        ``cfg.seed``; a pure function, so a resume draws what an uninterrupted run would
    metric : ``metric(model, params, split, batch_size) -> {"loss": ..., "error": ...}``; the
        parameters with the lowest validation (error, loss) are kept
    splits : "val" and optionally "test" (any other split is not used)
    cfg : the schedule
    run_dir : where run.json, metrics.jsonl, checkpoint.npz and final.json go (None: nowhere)
    run_info : JSON-able description of the run, written to run.json with "train": asdict(cfg);
        a resume must match it but for :data:`RESUMABLE` (the budget, upwards only), and so must
        the run.json the checkpoint was written with (an edited run.json is refused)
    resume : continue from run_dir/checkpoint.npz, drawing exactly the batches and producing
        exactly the parameters and the metrics log an uninterrupted run would (timings aside);
        a run directory with run.json and no checkpoint yet (killed before its first one) starts
        from step 0
    progress : show a tqdm progress bar with loss, validation error and throughput

    Returns
    -------
    TrainResult; status "interrupted" after Ctrl-C or SIGTERM (the command line turns it into
    Ctrl-C), with the checkpoint saved; "unchanged" for a resume of a run that had finished
    with this budget (nothing is written)

    Raises
    ------
    NonFiniteError : a non-finite loss or gradient (the step is not applied; the last checkpoint
        on disk is kept and named in the message)
    ValueError : another process trains in ``run_dir`` (an advisory lock is held for the run's
        life), or a resume that does not match the run (nothing is written then)
    """
    run_dir = None if run_dir is None else Path(run_dir)
    info = json.loads(json.dumps(dict(run_info or {}, train=asdict(cfg))))  # as run.json holds it
    return in_run_dir(run_dir, lambda run_dir: _train(model, batches, metric, splits, cfg, run_dir, info, resume,
                                                      progress))


def _start(model: Trainable, cfg: TrainConfig, run_dir: Path | None, info: dict, resume: bool) -> RunState | None:
    """:func:`fastweights_np.train.resume.start_state` of this trainer's state."""
    return start_state(run_dir, info, resume, fresh=lambda: _fresh(model, cfg, info), load=load_checkpoint,
                       budget=("steps", cfg.steps), finished=lambda s: s.step >= cfg.steps, resumable=RESUMABLE)


def _fresh(model: Trainable, cfg: TrainConfig, info: dict) -> RunState:
    params = model.init_params(cfg.seed)
    return RunState(0, params, adam_init(params), AdamConfig(lr=cfg.lr), best_params=params, run_info=info)


def _unchanged(run_dir: Path) -> TrainResult:
    """The result of a run that had finished with this budget, read back (status "unchanged")."""
    final = read_json(run_dir / "final.json", "the final.json of a finished run")
    state = load_checkpoint(checkpoint_path(run_dir))
    return TrainResult("unchanged", final["step"], final["best_step"], final["best_val_error"],
                       final.get("test_error"), final.get("test_loss"), final["elapsed_s"], state.best_params)


def _train(model: Trainable, batches: Batches, metric: Metric, splits: dict[str, Any], cfg: TrainConfig,
           run_dir: Path | None, info: dict, resume: bool, progress: bool) -> TrainResult:
    hp = AdamConfig(lr=cfg.lr)
    state = _start(model, cfg, run_dir, info, resume)
    if state is None:
        return _unchanged(run_dir)
    saved_step = state.step if resume and checkpoint_path(run_dir).exists() else None  # the checkpoint on disk

    started = time.perf_counter() - state.elapsed_s
    interval_start, interval_step = time.perf_counter(), state.step
    bar = Progress(cfg.steps, state.step, progress)
    shown = {"val_err": "-"}  # the progress bar's last validation error (its rate is steps/s)

    def evaluate_now(state: RunState) -> RunState:
        nonlocal interval_start, interval_step
        now = time.perf_counter()
        val = metric(model, state.params, splits["val"], cfg.eval_batch_size)
        record = {
            "step": state.step,
            "train_loss": state.loss_sum / state.loss_count if state.loss_count else None,
            "val_loss": val["loss"],
            "val_error": val["error"],
            "steps_per_s": (state.step - interval_step) / max(now - interval_start, 1e-9),
            "elapsed_s": now - started,
        }
        if "test" in splits:
            test = metric(model, state.params, splits["test"], cfg.eval_batch_size)
            record.update(test_loss=test["loss"], test_error=test["error"])
        append_metrics(run_dir, record)
        shown["val_err"] = f"{val['error']:.2%}"
        interval_start, interval_step = time.perf_counter(), state.step
        better = (val["error"], val["loss"]) < (state.best_val_error, state.best_val_loss)
        best = {"best_params": state.params, "best_val_error": val["error"], "best_val_loss": val["loss"],
                "best_step": state.step} if better else {}
        return replace(state, loss_sum=0.0, loss_count=0, last_eval_step=state.step, **best)

    def save(state: RunState) -> None:
        save_checkpoint(checkpoint_path(run_dir), replace(state, elapsed_s=time.perf_counter() - started))

    def update(state: RunState, saved_step: int | None) -> RunState:
        state = _update(model, batches, cfg, hp, state, run_dir, saved_step)
        if state.step % 50 == 0 and state.loss_count:  # the mean training loss since the last evaluation
            bar.show(loss=f"{state.loss_sum / state.loss_count:.4f}", val_err=shown["val_err"])
        bar.update(1)
        return state

    def due(every: int) -> Callable[[RunState], bool]:
        return lambda state: state.step % every == 0 or state.step == cfg.steps

    try:
        state, status = run_loop(state, record_due=due(cfg.eval_every), record=evaluate_now,
                                 checkpoint_due=due(cfg.checkpoint_every), save=None if run_dir is None else save,
                                 done=lambda state: state.step >= cfg.steps, update=update, saved_step=saved_step)
    finally:
        bar.close()

    elapsed = time.perf_counter() - started
    test = None
    if status == "finished" and "test" in splits:
        test = metric(model, state.best_params, splits["test"], cfg.eval_batch_size)
        append_metrics(run_dir, {"step": state.step, "final": True, "best_step": state.best_step,
                                 "best_val_error": state.best_val_error, "test_loss": test["loss"],
                                 "test_error": test["error"], "elapsed_s": elapsed})
    result = TrainResult(status, state.step, state.best_step, state.best_val_error,
                         None if test is None else test["error"], None if test is None else test["loss"],
                         elapsed, state.best_params)
    if run_dir is not None and status == "finished":
        write_final(run_dir, {f.name: getattr(result, f.name) for f in fields(result) if f.name != "params"})
    return result


# ------------------------------------------------------------------ the trainer kind's record
def _update(model: Trainable, batches: Batches, cfg: TrainConfig, hp: AdamConfig, state: RunState,
            run_dir: Path | None, saved_step: int | None) -> RunState:
    """One Adam update: batch number ``state.step``, its loss and gradient (checked finite), clipping,
    the step's learning rate. NonFiniteError naming the step and the checkpoint that is kept."""
    x, y = batches(cfg.seed, state.step)
    loss, grads = model.loss_and_grad(state.params, x, y)
    check_update(loss, grads, "training step", state.step + 1, run_dir, saved_step)
    grads, _ = clip_by_global_norm(grads, cfg.clip_norm)
    lr = learning_rate(cfg.lr, state.step + 1, cfg.steps, cfg.lr_schedule)
    params, adam = adam_step(state.params, grads, state.adam, replace(hp, lr=lr))
    return replace(state, step=state.step + 1, params=params, adam=adam,
                   loss_sum=state.loss_sum + loss, loss_count=state.loss_count + 1)


def train_task(task: Any, run: Any, cfg: TrainConfig, run_dir: Path | None = None, **kwargs) -> TrainResult:
    """:func:`train` on what a task built (a SupervisedRun) with the task's metric."""
    return train(run.model, run.batches, task.metric, run.splits, cfg, run_dir, **kwargs)


def describe(cfg: TrainConfig) -> str:
    return f"{cfg.steps:,} steps of batch {cfg.batch_size}"


def report(result: TrainResult) -> str:
    """One line on a finished run."""
    if result.test_error is None:
        return (f"best validation error {result.best_val_error:.2%} at step {result.best_step}; "
                f"{result.elapsed_s:.0f} s")
    return (f"test error {result.test_error:.2%} (test loss {result.test_loss:.4f}) with the parameters of step "
            f"{result.best_step} (validation error {result.best_val_error:.2%}); {result.elapsed_s:.0f} s")
