"""The training loop: Adam on mini-batches, periodic evaluation, the best parameters by
validation error, atomic checkpoints, exact resume, and a clean stop on Ctrl-C.

A run directory holds
    run.json        what was trained and how (written once; a resume must match it)
    metrics.jsonl   one JSON object per evaluation (and a last one with the test result)
    checkpoint.npz  everything needed to continue (fastweights_np.train.checkpoint)
    final.json      the result, once the run has finished
"""

from __future__ import annotations

import json
import math
import time
from dataclasses import asdict, dataclass, fields, replace
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from fastweights_np.atomic import atomic_write_bytes, atomic_write_json
from fastweights_np.ops import softmax_xent_forward
from fastweights_np.optim.adam import AdamConfig, adam_init, adam_step
from fastweights_np.optim.schedule import SCHEDULES, learning_rate
from fastweights_np.train.batches import batch_indices
from fastweights_np.train.checkpoint import RunState, load_checkpoint, save_checkpoint
from fastweights_np.train.clip import clip_by_global_norm


class Trainable(Protocol):
    """What the loop needs from a task model."""

    def init_params(self, seed: int) -> dict[str, np.ndarray]: ...

    def loss_and_grad(self, params: dict, x: np.ndarray, y: np.ndarray) -> tuple[float, dict]: ...

    def logits(self, params: dict, x: np.ndarray) -> np.ndarray: ...


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


@dataclass(frozen=True)
class TrainResult:
    status: str  # "finished" or "interrupted"
    step: int
    best_step: int
    best_val_error: float
    test_error: float | None
    test_loss: float | None
    elapsed_s: float
    params: dict[str, np.ndarray]  # the best parameters by validation error


def evaluate(model: Trainable, params: dict, split: Any, batch_size: int) -> dict[str, float]:
    """Mean cross-entropy and error rate of ``params`` on ``split`` (with .x and .y)."""
    n = len(split.y)
    loss_sum = 0.0
    wrong = 0
    for start in range(0, n, batch_size):
        x, y = split.x[start : start + batch_size], split.y[start : start + batch_size]
        logits = model.logits(params, x)
        loss, _ = softmax_xent_forward(logits, y)
        loss_sum += loss * len(y)
        wrong += int(np.sum(np.argmax(logits, axis=1) != y))
    return {"loss": loss_sum / n, "error": wrong / n}


def _prepare_run_dir(run_dir: Path, run_info: dict, resume: bool) -> None:
    info_path = run_dir / "run.json"
    if resume:
        if not info_path.exists() or not (run_dir / "checkpoint.npz").exists():
            raise ValueError(f"cannot resume: {run_dir} has no run.json and checkpoint.npz")
        saved = json.loads(info_path.read_text())
        if saved != json.loads(json.dumps(run_info)):
            diffs = sorted(k for k in set(saved) | set(run_info) if saved.get(k) != run_info.get(k))
            raise ValueError(f"cannot resume {run_dir}: its run.json differs from this run in {diffs}")
        return
    if info_path.exists():
        raise ValueError(f"{run_dir} already holds a run; pass --resume to continue it or choose another --out")
    run_dir.mkdir(parents=True, exist_ok=True)
    atomic_write_json(info_path, run_info)
    (run_dir / "metrics.jsonl").write_text("")


def _truncate_metrics(path: Path, step: int) -> None:
    """Drop evaluations logged after the checkpoint's step (they will be logged again), and a
    last line torn by an interruption while it was written."""
    kept = []
    for line in path.read_text().splitlines():
        try:
            record = json.loads(line)
        except json.JSONDecodeError:
            continue
        if record.get("step", 0) <= step:
            kept.append(line)
    atomic_write_bytes(path, lambda f: f.write("".join(line + "\n" for line in kept).encode()))


def train(
    model: Trainable,
    data: dict[str, Any],
    cfg: TrainConfig,
    run_dir: str | Path | None = None,
    *,
    run_info: dict | None = None,
    resume: bool = False,
    progress: bool = True,
) -> TrainResult:
    """Train ``model`` on data["train"], select by data["val"], report data["test"].

    Parameters
    ----------
    model : a :class:`Trainable`
    data : splits "train", "val" and optionally "test", each with .x and .y
    cfg : the schedule
    run_dir : where run.json, metrics.jsonl, checkpoint.npz and final.json go (None: nowhere)
    run_info : JSON-able description of the run, written to run.json; a resume must match it
    resume : continue from run_dir/checkpoint.npz, drawing exactly the batches and producing
        exactly the parameters an uninterrupted run would
    progress : show a tqdm progress bar with loss, validation error and throughput

    Returns
    -------
    TrainResult; status "interrupted" after Ctrl-C, with the checkpoint saved
    """
    run_dir = None if run_dir is None else Path(run_dir)
    info = dict(run_info or {}, train=asdict(cfg))
    if run_dir is not None:
        _prepare_run_dir(run_dir, info, resume)
    hp = AdamConfig(lr=cfg.lr)
    if resume:
        state = load_checkpoint(run_dir / "checkpoint.npz")
        _truncate_metrics(run_dir / "metrics.jsonl", state.step)
    else:
        params = model.init_params(cfg.seed)
        state = RunState(0, params, adam_init(params), hp, best_params=params)

    train_split = data["train"]
    n = len(train_split.y)
    started = time.perf_counter() - state.elapsed_s
    interval_start, interval_step = time.perf_counter(), state.step
    bar = _progress_bar(cfg.steps, state.step, progress)

    shown = {"val_err": "-"}  # the progress bar's last validation error (its rate is steps/s)

    def show(state: RunState) -> None:
        if bar is not None and state.loss_count:
            bar.set_postfix(loss=f"{state.loss_sum / state.loss_count:.4f}", val_err=shown["val_err"], refresh=False)

    def log(record: dict) -> None:
        if run_dir is not None:
            with open(run_dir / "metrics.jsonl", "a") as f:
                f.write(json.dumps(record) + "\n")

    def evaluate_now(state: RunState) -> RunState:
        nonlocal interval_start, interval_step
        now = time.perf_counter()
        val = evaluate(model, state.params, data["val"], cfg.eval_batch_size)
        record = {
            "step": state.step,
            "train_loss": state.loss_sum / state.loss_count if state.loss_count else None,
            "val_loss": val["loss"],
            "val_error": val["error"],
            "steps_per_s": (state.step - interval_step) / max(now - interval_start, 1e-9),
            "elapsed_s": now - started,
        }
        if "test" in data:
            test = evaluate(model, state.params, data["test"], cfg.eval_batch_size)
            record.update(test_loss=test["loss"], test_error=test["error"])
        log(record)
        shown["val_err"] = f"{val['error']:.2%}"
        interval_start, interval_step = time.perf_counter(), state.step
        better = (val["error"], val["loss"]) < (state.best_val_error, state.best_val_loss)
        best = {"best_params": state.params, "best_val_error": val["error"], "best_val_loss": val["loss"],
                "best_step": state.step} if better else {}
        return replace(state, loss_sum=0.0, loss_count=0, **best)

    status = "finished"
    try:
        if state.step == 0:
            state = evaluate_now(state)
        while state.step < cfg.steps:
            idx = batch_indices(n, cfg.batch_size, cfg.seed, state.step)
            loss, grads = model.loss_and_grad(state.params, train_split.x[idx], train_split.y[idx])
            if not math.isfinite(loss):
                raise FloatingPointError(
                    f"training loss is {loss} at step {state.step + 1}; try clipping or a lower learning rate"
                )
            grads, _ = clip_by_global_norm(grads, cfg.clip_norm)
            lr = learning_rate(cfg.lr, state.step + 1, cfg.steps, cfg.lr_schedule)
            params, adam = adam_step(state.params, grads, state.adam, replace(hp, lr=lr))
            state = replace(state, step=state.step + 1, params=params, adam=adam,
                            loss_sum=state.loss_sum + loss, loss_count=state.loss_count + 1)
            if state.step % 50 == 0:  # the mean training loss since the last evaluation
                show(state)
            if bar is not None:
                bar.update(1)
            if state.step % cfg.eval_every == 0 or state.step == cfg.steps:
                state = evaluate_now(state)
            if run_dir is not None and (state.step % cfg.checkpoint_every == 0 or state.step == cfg.steps):
                save_checkpoint(run_dir / "checkpoint.npz", replace(state, elapsed_s=time.perf_counter() - started))
    except KeyboardInterrupt:
        status = "interrupted"
        if run_dir is not None:
            save_checkpoint(run_dir / "checkpoint.npz", replace(state, elapsed_s=time.perf_counter() - started))
    finally:
        if bar is not None:
            bar.close()

    elapsed = time.perf_counter() - started
    test = None
    if status == "finished" and "test" in data:
        test = evaluate(model, state.best_params, data["test"], cfg.eval_batch_size)
        log({"step": state.step, "final": True, "best_step": state.best_step, "best_val_error": state.best_val_error,
             "test_loss": test["loss"], "test_error": test["error"], "elapsed_s": elapsed})
    result = TrainResult(status, state.step, state.best_step, state.best_val_error,
                         None if test is None else test["error"], None if test is None else test["loss"],
                         elapsed, state.best_params)
    if run_dir is not None and status == "finished":
        summary = {f.name: getattr(result, f.name) for f in fields(result) if f.name != "params"}
        atomic_write_json(run_dir / "final.json", summary)
    return result


def _progress_bar(total: int, initial: int, enabled: bool):
    if not enabled:
        return None
    from tqdm import tqdm

    return tqdm(total=total, initial=initial, unit="step", dynamic_ncols=True, mininterval=0.5)
