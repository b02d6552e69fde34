"""reproduce fig5: the random search's draws, its grid, the top-5 report, and a tiny search end to end."""

import json

import numpy as np
import pytest

from fastweights_np.cli import main
from fastweights_np.tasks.catch import reproduce as fig5

OPTIONS = {"games": ["16x3", "24x5"], "budget_scale": [1.0, 3.0], "cores": ["fw", "irnn", "lstm"], "trials": 8,
           "seeds": [0], "frames": 1000}


def test_draws_are_seeded_within_their_ranges_and_shared_across_cores():
    draws = [fig5.draw_trial(0, (16, 3), i, "fw") for i in range(200)]
    assert draws == [fig5.draw_trial(0, (16, 3), i, "fw") for i in range(200)]
    lr = np.array([d["lr"] for d in draws])
    assert lr.min() >= 1e-4 * 0.999 and lr.max() <= 1e-2 * 1.001
    assert 0.3 < np.mean(np.log10(lr) < -3) < 0.7  # log-uniform: half below the geometric middle
    assert {d["inner_steps"] for d in draws} == {1, 2, 3}
    assert all(0.1 * 0.999 <= d["fast_lr"] <= 1.001 and 0.85 <= d["decay"] <= 0.99 for d in draws)
    # the baselines get the same learning rate as fast weights' trial i, and nothing else
    assert fig5.draw_trial(0, (16, 3), 3, "lstm") == {"lr": draws[3]["lr"]}
    assert fig5.draw_trial(1, (16, 3), 3, "fw") != draws[3]  # another search seed draws afresh
    assert fig5.draw_trial(0, (24, 5), 3, "fw") != draws[3]


def test_the_grid_names_every_trial_with_its_draw_and_budget():
    grid = fig5.grid(OPTIONS)
    assert len(grid) == 2 * 3 * 8 and len({g.name for g in grid}) == len(grid)
    assert grid[0].name == "24x5-fw-s0-t0" and grid[-1].name == "16x3-irnn-s0-t7"  # costliest first
    first = dict(zip(grid[0].args[::2], grid[0].args[1::2], strict=True))
    drawn = fig5.draw_trial(0, (24, 5), 0, "fw")
    assert first["--size"] == "24" and first["--blank-after"] == "5" and first["--seed"] == "0"
    assert float(first["--lr"]) == drawn["lr"] and int(first["--inner-steps"]) == drawn["inner_steps"]
    assert grid[0].budget == 3000 and grid[-1].budget == 1000
    assert "--inner-steps" not in grid[-1].args


@pytest.mark.parametrize("change, message", [
    ({"games": ["16-3", "24x5"]}, "expected a game NxM, e.g. 16x3"),
    ({"games": ["16x17", "24x5"]}, "N >= 3 and 1 <= M <= N, got '16x17'"),
    ({"budget_scale": [1.0]}, "--budget-scale takes one value per game: 2 games"),
])
def test_bad_games_are_named(change, message):
    with pytest.raises(ValueError, match=message):
        fig5.grid(dict(OPTIONS, **change))


def test_bad_games_on_the_command_line_are_usage_errors(tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["reproduce", "fig5", "--games", "16by3", "--out", str(tmp_path)])
    assert exit_.value.code == 2
    assert "expected a game NxM, e.g. 16x3" in capsys.readouterr().err


def _trial(out, name, eval_reward, rewards, options):
    run = out / name
    run.mkdir(parents=True)
    (run / "run.json").write_text(json.dumps({"options": options}))
    (run / "final.json").write_text(json.dumps({"eval_reward": eval_reward, "elapsed_s": 60.0, "frames": 300}))
    lines = [{"step": 0, "frames": 0, "mean_reward": None}]
    lines += [{"step": 10 * (k + 1), "frames": 100 * (k + 1), "mean_reward": r} for k, r in enumerate(rewards)]
    (run / "metrics.jsonl").write_text("".join(json.dumps(line) + "\n" for line in lines))


def test_the_report_averages_the_top_five_and_finds_the_frames_to_each_value(tmp_path):
    options = {"games": ["5x2"], "budget_scale": [1.0], "cores": ["fw", "lstm"], "trials": 6, "seeds": [0],
               "frames": 300}
    fw = {"core": "fw", "lr": 1e-3, "inner_steps": 1, "fast_lr": 0.5, "decay": 0.9}
    # six fw trials: the worst (t5) is left out; t0 and t1 tie on the last evaluation, t1 learns faster
    curves = {0: [0.0, 0.5, 1.0], 1: [0.5, 1.0, 1.0], 2: [0.0, 0.7, 0.9], 3: [0.2, 0.6, 0.9], 4: [0.1, 0.8, 0.8],
              5: [-1.0, -1.0, -1.0]}
    finals = {0: 1.0, 1: 1.0, 2: 0.9, 3: 0.9, 4: 0.8, 5: -1.0}
    for i, curve in curves.items():
        _trial(tmp_path, f"5x2-fw-s0-t{i}", finals[i], curve, fw)
    best = fig5.top_trials(fig5.collect(tmp_path, options)[("5x2", "fw")])
    assert [b.name for b in best] == ["5x2-fw-s0-t1", "5x2-fw-s0-t0", "5x2-fw-s0-t3", "5x2-fw-s0-t2", "5x2-fw-s0-t4"]
    frames, mean = fig5.mean_curve(best)
    assert frames.tolist() == [100, 200, 300]
    assert np.allclose(mean, [0.16, 0.72, 0.92])
    assert fig5.frames_to_reach(frames, mean, 0.5) == 200 and fig5.frames_to_reach(frames, mean, 0.9) == 300
    assert fig5.frames_to_reach(frames, mean, 0.95) is None
    for i in range(3):  # three LSTM trials: fewer than five finished
        _trial(tmp_path, f"5x2-lstm-s0-t{i}", 0.5, [0.0, 0.2, 0.5], {"core": "lstm", "lr": 1e-3})
    text = fig5.report(tmp_path, options)
    assert "| Fast weights | 6 | +0.940 | 0.00 M | 0.00 M | 0.00 M |" not in text  # frames are printed in M
    assert "| Fast weights | 6 | +0.920 |" in text and "| LSTM | 3 | fewer than 5 finished |" in text
    assert "| 5x2-fw-s0-t1 ★ | 0.001 | 1 | 0.5 | 0.9 | +1.000 |" in text
    assert "| 5x2-fw-s0-t5 | 0.001 |" in text  # not in the top five: no star


def test_curves_logged_at_other_frames_are_not_averaged(tmp_path):
    options = {"games": ["5x2"], "budget_scale": [1.0], "cores": ["irnn"], "trials": 2, "seeds": [0], "frames": 300}
    _trial(tmp_path, "5x2-irnn-s0-t0", 0.5, [0.1, 0.2], {"core": "irnn", "lr": 1e-3})
    _trial(tmp_path, "5x2-irnn-s0-t1", 0.5, [0.1, 0.2], {"core": "irnn", "lr": 1e-3})
    lines = (tmp_path / "5x2-irnn-s0-t1" / "metrics.jsonl").read_text().replace('"frames": 200', '"frames": 250')
    (tmp_path / "5x2-irnn-s0-t1" / "metrics.jsonl").write_text(lines)
    with pytest.raises(ValueError, match="logged at different frames"):
        fig5.mean_curve(fig5.collect(tmp_path, options)[("5x2", "irnn")])


def test_a_tiny_search_end_to_end(tmp_path, capsys):
    out = tmp_path / "f5"
    args = ["reproduce", "fig5", "--games", "5x2", "--budget-scale", "1", "--cores", "fw", "irnn", "--trials", "5",
            "--frames", "1200", "--eval-every", "20", "--out", str(out), "--jobs", "2",
            "--extra", "--hidden", "8", "--input-units", "8", "--episodes", "8", "--log-every", "5",
            "--eval-episodes", "50"]
    assert main(args) == 0
    text = (out / "fig5.md").read_text()
    assert "### N = 5, M = 2 (1,200 frames per trial)" in text
    assert "| Fast weights | 5 |" in text and "| ReLU RNN | 5 |" in text
    assert text.count(" ★ |") == 10 and "Wall time of this invocation" in text
    final = json.loads((out / "5x2-fw-s0-t0" / "final.json").read_text())
    assert final["frames"] >= 1200
    run = json.loads((out / "5x2-fw-s0-t0" / "run.json").read_text())["options"]
    drawn = fig5.draw_trial(0, (5, 2), 0, "fw")
    assert {k: run[k] for k in drawn} == drawn and run["hidden"] == 8
    capsys.readouterr()
    assert main(args) == 0  # a second call reuses every finished trial
    assert "(10 already done)" in capsys.readouterr().err
    pytest.importorskip("matplotlib")
    assert (out / "fig5_curves.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
