"""The command line: gradcheck passes, fails with exit 1 on a wrong gradient, rejects bad flags."""

import json
import subprocess
import sys

import pytest

import fastweights_np.gradcheck as gradcheck_module
from fastweights_np.cli import main


def test_gradcheck_passes_and_prints_a_table(capsys):
    assert main(["gradcheck", "--steps", "3", "--hidden", "5"]) == 0
    out = capsys.readouterr().out
    for form in ("form=matrix", "form=attention"):
        assert form in out
    for name in ("W", "C", "b", "g", "beta", "V", "c", "decay", "fast_lr", "(all)"):
        assert f"\n{name} " in out
    assert out.count("gradient check PASSED") == 2


def test_gradcheck_options(capsys):
    args = ["gradcheck", "--form", "attention", "--no-layer-norm", "--ln-preliminary", "--inner-steps", "0",
            "--mode", "direction", "--decay", "0", "--fast-lr", "0"]
    assert main(args) == 0
    out = capsys.readouterr().out
    assert "form=attention" in out and "layer_norm=False ln_preliminary=True" in out and "S=0" in out
    assert " entry " not in out


def test_gradcheck_exits_1_on_a_wrong_gradient(monkeypatch, capsys):
    right = gradcheck_module.loss_and_grad_unchecked

    def wrong(*args, **kwargs):
        loss, grads = right(*args, **kwargs)
        grads["W"] = grads["W"] * 1.001
        return loss, grads

    monkeypatch.setattr(gradcheck_module, "loss_and_grad_unchecked", wrong)
    assert main(["gradcheck", "--steps", "2", "--form", "matrix"]) == 1
    assert "FAILED: W" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("flag", "value", "message"),
    [
        ("--hidden", "0", "argument --hidden: expected a positive integer, got '0'"),
        ("--steps", "x", "argument --steps: expected a positive integer, got 'x'"),
        ("--inner-steps", "-1", "argument --inner-steps: expected a non-negative integer, got '-1'"),
        ("--decay", "1.5", "argument --decay: expected a number in [0, 1], got '1.5'"),
        ("--fast-lr", "-2", "argument --fast-lr: expected a non-negative number, got '-2'"),
        ("--form", "dense", "argument --form: invalid choice: 'dense'"),
    ],
)
def test_bad_flags_exit_2_with_a_message(flag, value, message, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["gradcheck", flag, value])
    assert exit_info.value.code == 2
    assert message in capsys.readouterr().err


def test_no_command_prints_help(capsys):
    assert main([]) == 2
    assert "gradcheck" in capsys.readouterr().err


def test_python_dash_m_entry_point():
    result = subprocess.run([sys.executable, "-m", "fastweights_np", "gradcheck", "--steps", "2", "--hidden", "3"],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert "gradient check PASSED" in result.stdout


def test_the_task_registry_lists_assoc_mnist_and_catch():
    from fastweights_np.tasks.registry import TASK_NAMES, TASKS, experiments, get_task
    from fastweights_np.train.registry import TRAINERS

    assert "assoc" in TASKS and "assoc" in TASK_NAMES and get_task("assoc").trainer == "supervised"
    assert get_task("mnist").trainer == "supervised" and get_task("catch").trainer == "actor_critic"
    assert all(task.trainer in TRAINERS for task in TASKS.values())
    assert experiments()["table1"][0] is TASKS["assoc"]
    assert experiments()["table2"][0] is TASKS["mnist"]
    with pytest.raises(ValueError, match=r"unknown task 'pong'; the tasks are \['assoc', 'catch', 'mnist'\]"):
        get_task("pong")


def test_a_registered_task_becomes_a_train_subcommand(monkeypatch, tmp_path, capsys):
    """The plug-in claim: a task added to the registry (here a toy one) is trained, resumed and
    evaluated by the command line, with its own options and defaults, and nothing in cli/ names it."""
    from pathlib import Path

    from toy_task import TOY

    from fastweights_np.tasks.registry import TASKS

    monkeypatch.setitem(TASKS, "toy", TOY)
    with pytest.raises(SystemExit) as exit_info:
        main(["train", "toy", "--help"])
    assert exit_info.value.code == 0
    help_text = capsys.readouterr().out
    assert "--width WIDTH" in help_text and "input features of the toy (default 4)" in help_text
    assert "Adam updates (default 40)" in help_text and "--core" not in help_text

    run = tmp_path / "run"
    assert main(["train", "toy", "--width", "3", "--out", str(run), "--no-progress"]) == 0
    captured = capsys.readouterr()
    assert "toy blobs: 12 parameters; 40 steps of batch 16" in captured.err and "test error" in captured.out
    info = json.loads((run / "run.json").read_text())
    assert info["task"] == "toy" and info["options"]["width"] == 3 and info["data"] == {"width": 3, "examples": 200}
    assert info["train"]["steps"] == 40 and info["train"]["lr"] == 0.05
    assert main(["eval", str(run), "--show", "3"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("linear W=3: test error") and out.count("toy example") == 3
    assert main(["train", "toy", "--out", str(run), "--resume", "--steps", "60", "--no-progress"]) == 0
    assert json.loads((run / "final.json").read_text())["step"] == 60
    assert main(["train", "toy", "--out", str(run), "--resume", "--width", "5"]) == 2
    assert "cannot change --width of an existing run" in capsys.readouterr().err
    assert main(["train", "assoc", "--out", str(run), "--resume"]) == 2
    assert "holds a run of task 'toy', not 'assoc'" in capsys.readouterr().err
    cli = Path(__file__).resolve().parents[1] / "fastweights_np" / "cli"
    assert not any("toy" in path.read_text() for path in cli.glob("*.py"))


@pytest.mark.parametrize(("args", "message"), [
    (["train"], "the following arguments are required: TASK"),
    (["train", "pong", "--out", "x"], "argument TASK: invalid choice: 'pong' (choose from 'assoc', 'mnist', 'catch')"),
    (["reproduce", "table9"], "argument EXPERIMENT: invalid choice: 'table9' (choose from 'table1', 'table2', 'fig5')"),
])
def test_train_and_reproduce_name_a_known_task_and_experiment(capsys, args, message):
    with pytest.raises(SystemExit) as exit_info:
        main(args)
    assert exit_info.value.code == 2
    assert message in capsys.readouterr().err
