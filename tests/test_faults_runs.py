"""Nothing lost when a run is interrupted: SIGKILL or Ctrl-C at any moment, then ``--resume``,
gives the metrics log and the result of an uninterrupted run (timings aside); a run killed
before its first checkpoint resumes from the start; a training step that overflows stops the run
with an error that names it and keeps the last good checkpoint; bad run directories are errors."""

from __future__ import annotations

import json
import os
import random
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from helpers_train import InterruptAt
from toy_task import LinearModel, blobs

from fastweights_np.cli import main
from fastweights_np.finite import NonFiniteError
from fastweights_np.ops import softmax_xent_forward
from fastweights_np.train.checkpoint import load_checkpoint
from fastweights_np.train.supervised import TrainConfig, train

TIMINGS = ("elapsed_s", "steps_per_s")  # the only fields a resumed run may change
TRAIN = [sys.executable, "-m", "fastweights_np", "train", "assoc"]
OPTIONS = ["--hidden", "8", "--steps", "150", "--eval-every", "20", "--checkpoint-every", "30", "--train-size",
           "300", "--val-size", "100", "--test-size", "100", "--backend", "numpy", "--no-progress"]
ENV = dict(os.environ, OPENBLAS_NUM_THREADS="1")


def log_of(run: Path) -> list[dict]:
    """metrics.jsonl without its timings."""
    lines = (run / "metrics.jsonl").read_text().splitlines()
    return [{k: v for k, v in json.loads(line).items() if k not in TIMINGS} for line in lines]


def result_of(run: Path) -> dict:
    return {k: v for k, v in json.loads((run / "final.json").read_text()).items() if k not in TIMINGS}


def start(run: Path) -> subprocess.Popen:
    """``fastweights-np train`` as a user runs it: --resume once the directory holds a run."""
    args = ["--out", str(run), "--resume", "--no-progress"] if (run / "run.json").exists() else ["--out", str(run),
                                                                                                  *OPTIONS]
    return subprocess.Popen(TRAIN + args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=ENV)


@pytest.fixture(scope="module")
def straight(tmp_path_factory) -> tuple[Path, float]:
    """An uninterrupted run and its wall time (imports included)."""
    run = tmp_path_factory.mktemp("straight") / "run"
    began = time.perf_counter()
    proc = start(run)
    _, err = proc.communicate(timeout=300)
    assert proc.returncode == 0, err
    return run, time.perf_counter() - began


def interrupt_and_resume(run: Path, signum: int, moments: list[float]) -> list[int]:
    """Start the run, send ``signum`` after each of ``moments`` seconds (a restart each time),
    then let it finish; the exit statuses of the interrupted starts."""
    statuses = []
    for moment in moments:
        proc = start(run)
        try:
            proc.wait(timeout=moment)
        except subprocess.TimeoutExpired:
            proc.send_signal(signum)
        _, err = proc.communicate(timeout=120)
        assert "Traceback" not in err, err
        statuses.append(proc.returncode)
    proc = start(run)
    _, err = proc.communicate(timeout=300)
    assert proc.returncode == 0, err
    return statuses


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_sigkill_at_random_moments_then_resume_equals_an_uninterrupted_run(tmp_path, straight, seed):
    reference, duration = straight
    rng = random.Random(seed)
    run = tmp_path / "run"
    for attempt in range(1, 5):  # until a kill lands before the run ends (the machine's speed varies)
        shutil.rmtree(run, ignore_errors=True)
        moments = [rng.uniform(0.2, 0.8 * duration / attempt) for _ in range(2)]
        statuses = interrupt_and_resume(run, signal.SIGKILL, moments)
        if -signal.SIGKILL in statuses:
            break
    assert -signal.SIGKILL in statuses  # at least one start was really killed
    assert log_of(run) == log_of(reference)
    assert result_of(run) == result_of(reference)


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_ctrl_c_or_sigterm_between_checkpoints_then_resume_equals_an_uninterrupted_run(tmp_path, straight, signum):
    reference, duration = straight
    run = tmp_path / "run"
    statuses = interrupt_and_resume(run, signum, [0.6 * duration])
    assert statuses == [130]  # saved and stopped cleanly
    assert log_of(run) == log_of(reference)
    assert result_of(run) == result_of(reference)


def test_a_torn_last_metrics_line_and_a_lost_checkpoint_are_recovered(tmp_path, straight):
    """A run directory with run.json but no checkpoint (killed before its first one) resumes from
    step 0; a half-written last line of the log is dropped."""
    reference, _ = straight
    run = tmp_path / "run"
    interrupt_and_resume(run, signal.SIGKILL, [])
    (run / "checkpoint.npz").unlink()
    (run / "final.json").unlink()
    with open(run / "metrics.jsonl", "a") as f:
        f.write('{"step": 150, "train_lo')
    proc = start(run)
    _, err = proc.communicate(timeout=300)
    assert proc.returncode == 0, err
    assert log_of(run) == log_of(reference)
    assert result_of(run) == result_of(reference)


# ------------------------------------------------------------------ in process, deterministic
SPLITS = {"val": blobs(60, 3, 1), "test": blobs(40, 3, 2)}
TRAIN_SPLIT = blobs(64, 3, 0)
CFG = TrainConfig(steps=12, eval_every=4, checkpoint_every=4, seed=5, lr=0.1)


def batches(seed: int, step: int):
    rows = np.random.default_rng([seed, step]).integers(0, 64, 8)
    return TRAIN_SPLIT.x[rows], TRAIN_SPLIT.y[rows]


def metric(model, params, split, batch_size):
    logits = model.logits(params, split.x)
    loss, _ = softmax_xent_forward(logits, split.y)
    return {"loss": float(loss), "error": float(np.mean(np.argmax(logits, 1) != split.y))}


class InterruptInEvaluation:
    """A metric that raises KeyboardInterrupt in its ``call``-th call (the evaluation is where a
    Ctrl-C usually lands: it is the slow part)."""

    def __init__(self, call: int):
        self.call, self.calls = call, 0

    def __call__(self, *args):
        self.calls += 1
        if self.calls == self.call:
            raise KeyboardInterrupt
        return metric(*args)


def run_toy(run_dir: Path, model=None, evaluate=metric, resume=False):
    return train(model or LinearModel(3), batches, evaluate, SPLITS, CFG, run_dir, resume=resume, progress=False)


@pytest.mark.parametrize("call", [1, 2, 3, 4, 7, 8])  # val or test evaluation at steps 0, 4, 8
def test_ctrl_c_in_an_evaluation_at_a_checkpoint_step_then_resume_logs_it(tmp_path, call):
    """The issue's case: Ctrl-C during the evaluation at a checkpoint step lost that step's record
    and mixed two intervals' training losses. Now the evaluation is redone on resume."""
    run_toy(tmp_path / "straight")
    stopped = run_toy(tmp_path / "run", evaluate=InterruptInEvaluation(call))
    assert stopped.status == "interrupted"
    resumed = run_toy(tmp_path / "run", resume=True)
    assert log_of(tmp_path / "run") == log_of(tmp_path / "straight")
    assert resumed.test_loss == json.loads((tmp_path / "straight" / "final.json").read_text())["test_loss"]


@pytest.mark.parametrize("step", [1, 3, 6, 12])
def test_ctrl_c_in_a_step_then_resume_equals_an_uninterrupted_run(tmp_path, step):
    run_toy(tmp_path / "straight")
    assert run_toy(tmp_path / "run", InterruptAt(LinearModel(3), step)).status == "interrupted"
    run_toy(tmp_path / "run", resume=True)
    assert log_of(tmp_path / "run") == log_of(tmp_path / "straight")
    assert result_of(tmp_path / "run") == result_of(tmp_path / "straight")


def test_resuming_twice_logs_one_final_record(tmp_path):
    run_toy(tmp_path / "run")
    run_toy(tmp_path / "run", resume=True)
    assert sum(1 for r in log_of(tmp_path / "run") if r.get("final")) == 1


class Crash(Exception):
    """Stands for the process dying (no except clause of the trainer's catches it)."""


class CrashAt(InterruptAt):
    def loss_and_grad(self, params, x, y):
        self.calls += 1
        if self.calls == self.step:
            raise Crash
        return self.model.loss_and_grad(params, x, y)


def test_a_run_has_a_checkpoint_from_step_0(tmp_path):
    with pytest.raises(Crash):
        run_toy(tmp_path / "run", CrashAt(LinearModel(3), 1))
    state = load_checkpoint(tmp_path / "run" / "checkpoint.npz")
    assert state.step == 0 and state.last_eval_step == 0
    run_toy(tmp_path / "straight")
    run_toy(tmp_path / "run", resume=True)
    assert log_of(tmp_path / "run") == log_of(tmp_path / "straight")


class OverflowAt(InterruptAt):
    """A model whose gradient of W overflows in its ``step``-th training step."""

    def __init__(self, model, step, value=np.inf):
        super().__init__(model, step)
        self.value = value

    def loss_and_grad(self, params, x, y):
        self.calls += 1
        loss, grads = self.model.loss_and_grad(params, x, y)
        if self.calls == self.step:
            grads["W"] = grads["W"].copy()
            grads["W"][1, 2] = self.value
        return loss, grads


@pytest.mark.parametrize("value", [np.inf, np.nan])
def test_an_overflowing_step_stops_the_run_naming_it_and_keeps_the_last_good_checkpoint(tmp_path, value):
    with pytest.raises(NonFiniteError) as raised:
        run_toy(tmp_path / "run", OverflowAt(LinearModel(3), 7, value))
    message = str(raised.value)
    assert "training step 7" in message and "'W'" in message and "step 4" in message, message
    assert "clip" in message
    state = load_checkpoint(tmp_path / "run" / "checkpoint.npz")
    assert state.step == 4 and all(np.isfinite(v).all() for v in state.params.values())
    assert not (tmp_path / "run" / "final.json").exists()


def test_the_cli_reports_an_overflow_without_a_traceback(tmp_path, capsys, monkeypatch):
    from fastweights_np.tasks.assoc.model import AssocModel

    original = AssocModel.loss_and_grad

    def overflowing(self, params, x, y):
        loss, grads = original(self, params, x, y)
        return float("nan"), grads

    monkeypatch.setattr(AssocModel, "loss_and_grad", overflowing)
    run = tmp_path / "run"
    assert main(["train", "assoc", "--out", str(run), *OPTIONS]) == 1
    err = capsys.readouterr().err
    assert "training step 1" in err and "nan" in err and "checkpoint.npz keeps the last good state (step 0)" in err


def test_out_naming_a_file_is_a_clear_error(tmp_path, capsys):
    path = tmp_path / "a-file"
    path.write_text("x")
    for extra in ([], ["--resume"]):
        assert main(["train", "assoc", "--out", str(path), *extra, "--steps", "2"]) == 2
        err = capsys.readouterr().err
        assert f"{path} is a file, not a directory" in err, err
    assert main(["train", "assoc", "--out", str(path / "run"), "--steps", "2"]) == 2
    assert f"{path} is a file" in capsys.readouterr().err


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0, reason="root may write anywhere")
def test_an_unwritable_directory_is_a_clear_error(tmp_path, capsys):
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o500)
    try:
        assert main(["train", "assoc", "--out", str(locked / "run"), "--steps", "2"]) == 2
        assert "permission denied" in capsys.readouterr().err
    finally:
        locked.chmod(0o700)


def test_a_damaged_checkpoint_says_what_to_do(tmp_path, capsys):
    run = tmp_path / "run"
    assert main(["train", "assoc", "--out", str(run), *OPTIONS, "--steps", "3"]) == 0  # the last --steps counts
    data = (run / "checkpoint.npz").read_bytes()
    (run / "checkpoint.npz").write_bytes(data[: len(data) // 2])
    assert main(["train", "assoc", "--out", str(run), "--resume", "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert "checkpoint.npz is a truncated or damaged .npz archive" in err and "Delete it" in err, err
    (run / "checkpoint.npz").unlink()
    assert main(["train", "assoc", "--out", str(run), "--resume", "--no-progress"]) == 0
