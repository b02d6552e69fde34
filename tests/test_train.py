"""Training on associative retrieval: the task model's gradients, a short run that learns,
exact resume after an interruption, Ctrl-C, and the command line's errors."""

import contextlib
import json

import numpy as np
import pytest
from helpers_train import InterruptAt
from hypothesis import given, settings
from hypothesis import strategies as st
from strategies import examples

from fastweights_np.cli import main
from fastweights_np.cores.registry import CORE_NAMES
from fastweights_np.gradcheck import check_gradients
from fastweights_np.ops import softmax_xent_forward
from fastweights_np.optim import AdamConfig, adam_step, learning_rate
from fastweights_np.tasks.assoc.data import make_assoc, make_assoc_splits
from fastweights_np.tasks.assoc.model import AssocModel, AssocModelConfig
from fastweights_np.tasks.batches import batch_indices, split_batches
from fastweights_np.tasks.metrics import classification_metric
from fastweights_np.train.checkpoint import load_checkpoint
from fastweights_np.train.clip import clip_by_global_norm, global_norm
from fastweights_np.train.supervised import TrainConfig, train

SMALL = {"train": 512, "val": 256, "test": 256}


def _small_model(core="fw", hidden=8, dtype="float64"):
    return AssocModel(AssocModelConfig(core=core, hidden_size=hidden, embed_size=6, fc_size=7, dtype=dtype))


def _train(model, data, cfg, run_dir, **kwargs):
    """The supervised trainer on in-memory splits, as the assoc task runs it."""
    return train(model, split_batches(data["train"], cfg.batch_size), classification_metric, data, cfg, run_dir,
                 **kwargs)


@pytest.mark.parametrize("core", CORE_NAMES)
@settings(max_examples=examples(4))
@given(seed=st.integers(0, 2**16), num_pairs=st.integers(1, 3))
def test_task_model_gradients(core, seed, num_pairs):
    model = _small_model(core, hidden=4)
    rng = np.random.default_rng(seed)
    params = {k: v + 0.1 * rng.standard_normal(v.shape) for k, v in model.init_params(seed).items()}
    data = make_assoc(3, num_pairs, seed)
    _, grads = model.loss_and_grad(params, data.x, data.y)
    assert set(grads) == set(params)

    def loss(p):
        return softmax_xent_forward(model.logits(p, data.x), data.y)[0]

    report = check_gradients(loss, params, grads, mode="direction", directions=2)
    assert report.passed, "\n" + str(report)


def test_a_short_run_learns(tmp_path):
    """A few hundred steps must bring the training loss well below log(10) ≈ 2.30."""
    data = make_assoc_splits(seed=0, sizes=SMALL)
    result = _train(_small_model(hidden=16), data, TrainConfig(steps=300, eval_every=100, lr=3e-3), tmp_path / "run",
                    progress=False)
    records = [json.loads(line) for line in (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()]
    losses = [r["train_loss"] for r in records if r.get("train_loss") is not None]
    assert losses[-1] < 0.8 * np.log(10)
    assert result.status == "finished" and result.test_error is not None
    assert json.loads((tmp_path / "run" / "final.json").read_text())["test_error"] == result.test_error


@pytest.mark.parametrize("lr_schedule", ["constant", "cosine"])
@pytest.mark.parametrize("interrupt_at", [7, 20])  # before and after the first checkpoint (10)
def test_resume_equals_an_uninterrupted_run(tmp_path, interrupt_at, lr_schedule):
    data = make_assoc_splits(seed=1, sizes=SMALL)
    cfg = TrainConfig(steps=30, eval_every=5, checkpoint_every=10, seed=3, lr_schedule=lr_schedule)
    straight = _train(_small_model(), data, cfg, tmp_path / "straight", progress=False)

    stopped = _train(InterruptAt(_small_model(), interrupt_at), data, cfg, tmp_path / "resumed", progress=False)
    assert stopped.status == "interrupted" and stopped.step == interrupt_at - 1
    assert load_checkpoint(tmp_path / "resumed" / "checkpoint.npz").step == interrupt_at - 1
    resumed = _train(_small_model(), data, cfg, tmp_path / "resumed", resume=True, progress=False)

    assert resumed.status == "finished" and resumed.step == 30
    for name, value in straight.params.items():
        np.testing.assert_array_equal(resumed.params[name], value, err_msg=name)
    assert resumed.test_error == straight.test_error and resumed.best_step == straight.best_step
    final_a = load_checkpoint(tmp_path / "straight" / "checkpoint.npz")
    final_b = load_checkpoint(tmp_path / "resumed" / "checkpoint.npz")
    for name in final_a.params:
        np.testing.assert_array_equal(final_b.params[name], final_a.params[name])
        np.testing.assert_array_equal(final_b.adam.m[name], final_a.adam.m[name])

    def metrics(run):
        lines = (tmp_path / run / "metrics.jsonl").read_text().splitlines()
        return [{k: v for k, v in json.loads(line).items() if k not in ("steps_per_s", "elapsed_s")} for line in lines]

    assert metrics("resumed") == metrics("straight")


def test_the_cosine_schedule_is_what_the_updates_use(tmp_path):
    """The run's last update (k = K = 4) uses α (1 + cos(π (K−1)/K)) / 2: checked by replaying it
    from the checkpoint before it with that rate (learning_rate's values: test_learning_rate_schedules)."""
    data = make_assoc_splits(seed=1, sizes=SMALL)
    cfg = TrainConfig(steps=4, eval_every=2, checkpoint_every=3, seed=0, lr=1e-2, lr_schedule="cosine")
    model = _small_model()
    _train(InterruptAt(model, 4), data, cfg, tmp_path / "run", progress=False)  # stops after 3 updates
    before = load_checkpoint(tmp_path / "run" / "checkpoint.npz")
    done = _train(model, data, cfg, tmp_path / "run", resume=True, progress=False)
    after = load_checkpoint(tmp_path / "run" / "checkpoint.npz")
    idx = batch_indices(len(data["train"].y), cfg.batch_size, cfg.seed, 3)
    _, grads = model.loss_and_grad(before.params, data["train"].x[idx], data["train"].y[idx])
    alpha = 1e-2 * 0.5 * (1 + np.cos(np.pi * 3 / 4))
    replayed, _ = adam_step(before.params, grads, before.adam, AdamConfig(lr=alpha))
    for name, value in replayed.items():
        np.testing.assert_array_equal(after.params[name], value, err_msg=name)
    assert done.step == 4


def test_learning_rate_schedules():
    assert [learning_rate(2.0, k, 4) for k in (1, 4)] == [2.0, 2.0]
    cosine = [learning_rate(2.0, k, 4, "cosine") for k in range(1, 5)]
    assert cosine[0] == 2.0 and cosine[2] == pytest.approx(1.0) and 0 < cosine[3] < cosine[2] < cosine[1] < 2.0
    with pytest.raises(ValueError, match=r"schedule must be one of \('constant', 'cosine'\), got 'linear'"):
        learning_rate(1.0, 1, 4, "linear")
    with pytest.raises(ValueError, match=r"step must be in \[1, total_steps=4\], got 5"):
        learning_rate(1.0, 5, 4)
    with pytest.raises(ValueError, match="lr_schedule must be one of"):
        TrainConfig(lr_schedule="step")


def test_batches_are_a_function_of_seed_and_step():
    seen = np.concatenate([batch_indices(100, 30, seed=4, step=k) for k in range(3)])
    assert len(set(seen.tolist())) == 90  # an epoch draws without replacement
    np.testing.assert_array_equal(batch_indices(100, 30, 4, 5), batch_indices(100, 30, 4, 5))
    assert not np.array_equal(batch_indices(100, 30, 4, 3), batch_indices(100, 30, 4, 0))
    with pytest.raises(ValueError, match=r"batch_size must be in \[1, 100\]"):
        batch_indices(100, 101, 0, 0)


def test_clip_by_global_norm():
    grads = {"a": np.array([3.0, 0.0]), "b": np.array([[4.0]]), "decay": 1.5}
    assert global_norm(grads) == 5.0
    clipped, norm = clip_by_global_norm(grads, 1.0)
    assert norm == 5.0 and global_norm(clipped) == pytest.approx(1.0) and clipped["decay"] == 1.5
    assert clip_by_global_norm(grads, None)[0] is grads


def test_cli_train_eval_resume(tmp_path, capsys):
    run = tmp_path / "run"
    args = ["train", "assoc", "--hidden", "8", "--steps", "20", "--eval-every", "10", "--train-size", "300",
            "--val-size", "100", "--test-size", "100", "--out", str(run), "--no-progress"]
    assert main(args) == 0
    assert "test error" in capsys.readouterr().out
    assert main(["eval", str(run), "--show", "2"]) == 0
    out = capsys.readouterr().out
    assert "test error" in out and out.count("(target") == 2
    # extending the budget on resume is allowed; changing anything else is not
    assert main(["train", "assoc", "--out", str(run), "--resume", "--steps", "30", "--no-progress"]) == 0
    assert json.loads((run / "final.json").read_text())["step"] == 30
    assert main(["train", "assoc", "--out", str(run), "--resume", "--hidden", "9"]) == 2
    assert "cannot change --hidden of an existing run" in capsys.readouterr().err


def test_cli_resumes_a_run_whose_run_json_names_the_backend_in_the_core_config(tmp_path, capsys):
    """run.json of an earlier version had "backend" in the model's core_options; a resume drops
    the key (it stays in "options") and continues."""
    run = tmp_path / "run"
    args = ["train", "assoc", "--hidden", "6", "--steps", "10", "--eval-every", "5", "--train-size", "200",
            "--val-size", "50", "--test-size", "50", "--backend", "numpy", "--out", str(run), "--no-progress"]
    assert main(args) == 0
    info = json.loads((run / "run.json").read_text())
    assert "backend" not in info["model"]["core_options"] and info["options"]["backend"] == "numpy"
    info["model"]["core_options"]["backend"] = "numpy"
    (run / "run.json").write_text(json.dumps(info))
    assert main(["train", "assoc", "--out", str(run), "--resume", "--steps", "15", "--no-progress"]) == 0
    assert json.loads((run / "final.json").read_text())["step"] == 15
    assert "backend" not in json.loads((run / "run.json").read_text())["model"]["core_options"]
    capsys.readouterr()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--hidden", "0"], "argument --hidden: expected a positive integer, got '0'"),
        (["--core", "gru"], "argument --core: invalid choice: 'gru'"),
        (["--lr", "-1"], "argument --lr: expected a positive number, got '-1'"),
        (["--lr-schedule", "linear"], "argument --lr-schedule: invalid choice: 'linear'"),
        (["--core", "lstm", "--decay", "0.5"], "--decay applies to the fw core only, not to lstm"),
        (["--num-pairs", "27"], r"num_pairs must be an integer in [1, 26]"),
        (["--batch-size", "1000", "--train-size", "500"], "batch_size must be in [1, 500]"),
    ],
)
def test_cli_bad_arguments(tmp_path, capsys, args, message):
    with pytest.raises(SystemExit) if "argument" in message else contextlib.nullcontext():
        code = main(["train", "assoc", "--out", str(tmp_path / "r"), "--steps", "2", "--no-progress", *args])
        assert code == 2
    assert message in capsys.readouterr().err


@pytest.mark.parametrize(("core", "numba"), [("fw", True), ("irnn", False)])
def test_cli_runs_blas_on_one_thread_beside_numba(tmp_path, monkeypatch, core, numba):
    """With the Numba kernels (fw's default backend), training runs with one BLAS thread; with the
    NumPy reference, BLAS keeps its threads."""
    from threadpoolctl import threadpool_info, threadpool_limits

    import fastweights_np.train.supervised as supervised

    def blas_threads():
        return {pool["filepath"]: pool["num_threads"] for pool in threadpool_info() if pool["user_api"] == "blas"}

    seen = []

    def recording_train(*args, **kwargs):
        seen.append(blas_threads())
        return real_train(*args, **kwargs)

    real_train = supervised.train
    monkeypatch.setattr(supervised, "train", recording_train)
    args = ["train", "assoc", "--core", core, "--hidden", "4", "--steps", "2", "--train-size", "200",
            "--val-size", "50", "--test-size", "50", "--out", str(tmp_path / "r"), "--no-progress"]
    import scipy.linalg.cython_blas  # noqa: F401  (loaded by Numba's first kernel call)

    with threadpool_limits(limits=2, user_api="blas"):  # two threads outside, even on a one-core machine
        outside = blas_threads()
        assert main(args) == 0
        after = blas_threads()
    assert outside and set(outside.values()) == {2}, "NumPy's BLAS is not visible to threadpoolctl"
    (during,) = seen
    assert set(during.values()) == {1} if numba else during == outside
    assert after == outside  # restored afterwards


def test_cli_refuses_to_overwrite_or_resume_nothing(tmp_path, capsys):
    run = tmp_path / "run"
    base = ["train", "assoc", "--out", str(run), "--steps", "2", "--train-size", "200", "--val-size", "50",
            "--test-size", "50", "--no-progress"]
    assert main(["train", "assoc", "--out", str(run), "--resume"]) == 2
    assert "cannot resume" in capsys.readouterr().err
    assert main(base) == 0
    assert main(base) == 2
    assert "already holds a run; pass --resume" in capsys.readouterr().err


def test_ctrl_c_saves_and_exits_cleanly(tmp_path):
    """A real SIGINT to a running `fastweights-np train`: exit 130, a checkpoint, no traceback,
    and --resume finishes the run."""
    import signal
    import subprocess
    import sys
    import time

    run = tmp_path / "run"
    args = [sys.executable, "-m", "fastweights_np", "train", "assoc", "--hidden", "8", "--steps", "5000",
            "--eval-every", "50", "--train-size", "300", "--val-size", "100", "--test-size", "100",
            "--out", str(run), "--no-progress"]
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 60
    while time.time() < deadline and len((run / "metrics.jsonl").read_text().splitlines() if
                                         (run / "metrics.jsonl").exists() else []) < 2:
        time.sleep(0.1)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert "Traceback" not in err and "--resume" in err
    state = load_checkpoint(run / "checkpoint.npz")
    assert state.step >= 50
    resume = [sys.executable, "-m", "fastweights_np", "train", "assoc", "--out", str(run), "--resume",
              "--steps", "5010", "--no-progress"]  # a resume may raise the budget
    done = subprocess.run(resume, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert json.loads((run / "final.json").read_text())["step"] == 5010


def test_the_supervised_trainer_reads_batches_of_seed_and_step(tmp_path):
    """The trainer draws batch k as batches(seed, k), also after a resume, and evaluates with the
    metric it is given (its values are what metrics.jsonl holds)."""
    from toy_task import LinearModel, blobs

    splits = {"val": blobs(50, 3, 1), "test": blobs(40, 3, 2)}
    train_split = blobs(64, 3, 0)
    calls = []

    def batches(seed, step):
        calls.append((seed, step))
        rows = np.random.default_rng([seed, step]).integers(0, 64, 8)
        return train_split.x[rows], train_split.y[rows]

    def metric(model, params, split, batch_size):
        return {"loss": float(len(split)), "error": 1.0 / len(split)}

    cfg = TrainConfig(steps=6, eval_every=3, checkpoint_every=2, seed=5, lr=0.1)
    model = LinearModel(3)
    stopped = train(InterruptAt(model, 4), batches, metric, splits, cfg, tmp_path / "run", progress=False)
    assert stopped.status == "interrupted" and calls == [(5, 0), (5, 1), (5, 2), (5, 3)]
    resumed = train(model, batches, metric, splits, cfg, tmp_path / "run", resume=True, progress=False)
    assert calls[4:] == [(5, 3), (5, 4), (5, 5)]  # from the checkpoint Ctrl-C saved after 3 updates
    records = [json.loads(line) for line in (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in records] == [0, 3, 6, 6]
    assert all(r["val_loss"] == 50.0 and r["test_error"] == 1 / 40 for r in records[:3])
    assert resumed.status == "finished" and resumed.test_loss == 40.0 and resumed.best_step == 0

    calls.clear()
    straight = train(model, batches, metric, splits, cfg, None, progress=False)
    assert calls == [(5, k) for k in range(6)]
    for name, value in straight.params.items():  # best_step 0: the initial parameters, either way
        np.testing.assert_array_equal(resumed.params[name], value)
