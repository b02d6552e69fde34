"""``fastweights-np train catch`` through the task registry: a tiny run, an exact resume after
Ctrl-C, the budget raised on resume, and clear errors for bad options."""

import json

import pytest

from fastweights_np.cli import main

TINY = ["--size", "5", "--blank-after", "2", "--hidden", "8", "--input-units", "8", "--episodes", "8",
        "--frames", "1600", "--log-every", "10", "--eval-every", "20", "--eval-episodes", "50",
        "--checkpoint-every", "15", "--backend", "numpy", "--no-progress"]


def _log(run):
    return [{k: v for k, v in json.loads(line).items() if k not in ("elapsed_s", "frames_per_s")}
            for line in (run / "metrics.jsonl").read_text().splitlines()]


@pytest.mark.parametrize("core", ["fw", "irnn", "lstm"])
def test_train_catch_runs_and_resumes_exactly(tmp_path, capsys, monkeypatch, core):
    straight, run = tmp_path / "straight", tmp_path / "run"
    assert main(["train", "catch", "--core", core, "--out", str(straight), *TINY]) == 0
    assert "mean episode reward" in capsys.readouterr().out
    final = json.loads((straight / "final.json").read_text())
    assert final["frames"] == 1600 and final["step"] == 40 and final["status"] == "finished"

    from fastweights_np.tasks.catch.agent import CatchAgent

    original, calls = CatchAgent.loss_and_grad, []

    def interrupted(self, *args, **kwargs):
        calls.append(1)
        if len(calls) == 23:
            raise KeyboardInterrupt
        return original(self, *args, **kwargs)

    monkeypatch.setattr(CatchAgent, "loss_and_grad", interrupted)
    assert main(["train", "catch", "--core", core, "--out", str(run), *TINY]) == 130
    monkeypatch.setattr(CatchAgent, "loss_and_grad", original)
    assert main(["train", "catch", "--out", str(run), "--resume", "--no-progress"]) == 0
    assert _log(run) == _log(straight)
    assert main(["train", "catch", "--out", str(run), "--resume", "--frames", "2000", "--no-progress"]) == 0
    assert json.loads((run / "final.json").read_text())["frames"] == 2000


@pytest.mark.parametrize(("args", "message"), [
    (["--size", "5", "--blank-after", "6"], "blank_after"),
    (["--size", "2"], "size"),
    (["--core", "lstm", "--decay", "0.5"], "--decay applies to the fw core only"),
])
def test_bad_catch_options_are_clear_errors(tmp_path, capsys, args, message):
    assert main(["train", "catch", "--out", str(tmp_path / "run"), "--frames", "100", *args]) == 2
    assert message in capsys.readouterr().err


def test_a_core_the_task_has_not_is_refused(tmp_path, capsys):
    with pytest.raises(SystemExit) as exited:
        main(["train", "catch", "--out", str(tmp_path / "run"), "--core", "alstm"])
    assert exited.value.code == 2 and "invalid choice: 'alstm'" in capsys.readouterr().err


def test_eval_plays_a_catch_run(tmp_path, capsys):
    run = tmp_path / "run"
    assert main(["train", "catch", "--out", str(run), *TINY, "--frames", "400"]) == 0
    capsys.readouterr()
    assert main(["eval", str(run), "--episodes", "200", "--show", "2"]) == 0
    out = capsys.readouterr().out
    assert "parameters of update 10 (400 frames)" in out and "over 200 episodes" in out and "catch rate" in out
    assert out.count("\nepisode ") == 2 and "actions " in out and " | " in out  # two strips of frames
    if (run / "episodes.png").exists():
        assert (run / "episodes.png").stat().st_size > 100


def test_plot_draws_the_reward_against_frames(tmp_path, capsys):
    pytest.importorskip("matplotlib")
    from fastweights_np.cli.plot import read_curve

    runs = []
    for core in ("fw", "lstm"):
        runs.append(tmp_path / core)
        assert main(["train", "catch", "--core", core, "--out", str(runs[-1]), *TINY]) == 0
    frames, rewards = read_curve(runs[0], "mean_reward", "frames")
    assert frames == [400, 800, 1200, 1600] and len(rewards) == 4  # a record every 10 updates of 8 × 5 frames
    assert main(["plot", *map(str, runs), "--metric", "mean_reward", "--out", str(tmp_path / "c.png")]) == 0
    assert (tmp_path / "c.png").stat().st_size > 1000
    assert main(["plot", str(runs[0]), "--metric", "catch_rate", "--x", "updates", "--out",
                 str(tmp_path / "d.png")]) == 0
