"""A number the tools print belongs to the options printed beside it: ``reproduce`` reuses a run
only when its options are the ones asked for and captions from the runs' run.json; a resume
changes nothing but the budget (upwards), refuses an edited run.json before touching a file,
and leaves a run finished with this budget alone; one process trains in a run directory at a
time; files get the umask's permissions."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from fastweights_np.cli import main

SMALL = ["--hidden", "4", "--train-size", "200", "--val-size", "50", "--test-size", "50", "--backend", "numpy",
         "--no-progress"]
GRID = ["reproduce", "table1", "--cores", "fw", "--sizes", "4", "--jobs", "1", "--steps", "20", "--eval-every", "10"]
GRID_DATA = ["--extra", "--train-size", "200", "--val-size", "50", "--test-size", "50", "--backend", "numpy"]


def train(run: Path, *args: str) -> int:
    return main(["train", "assoc", "--out", str(run), *args])


def snapshot(run: Path) -> dict[str, bytes]:
    """Every file of a run directory, byte for byte."""
    return {p.name: p.read_bytes() for p in sorted(run.iterdir()) if p.is_file() and p.name != ".lock"}


# ------------------------------------------------------------------ reproduce
def test_reproduce_refuses_to_reuse_runs_made_with_other_options(tmp_path, capsys):
    out = tmp_path / "grid"
    assert main([*GRID, "--out", str(out), *GRID_DATA]) == 0
    table = (out / "table1.md").read_text()
    assert "20 Adam updates" in table
    assert "every run with `--train-size 200 --val-size 50 --test-size 50 --backend numpy`" in table
    before = snapshot(out / "fw-R4-s0")
    capsys.readouterr()
    assert main([*GRID, "--out", str(out), *GRID_DATA, "--lr", "3e-3"]) == 2
    err = capsys.readouterr().err
    assert "fw-R4-s0: lr: 0.001 there, 0.003 asked" in err and "not reused" in err, err
    assert main([*GRID[:-4], "--steps", "10", "--eval-every", "10", "--out", str(out), *GRID_DATA]) == 2
    assert "steps: 20 there, 10 asked" in capsys.readouterr().err
    assert snapshot(out / "fw-R4-s0") == before  # refused before anything ran


def test_reproduce_captions_from_the_runs_own_run_json(tmp_path):
    out = tmp_path / "grid"
    assert main([*GRID, "--out", str(out), *GRID_DATA, "--lr", "3e-3"]) == 0
    assert json.loads((out / "fw-R4-s0" / "run.json").read_text())["options"]["lr"] == 0.003
    table = (out / "table1.md").read_text()
    assert "every run with `--train-size 200 --val-size 50 --test-size 50 --backend numpy --lr 0.003`" in table, table


def test_reproduce_quick_with_steps_runs_the_steps_asked_for(tmp_path):
    out = tmp_path / "grid"
    assert main(["reproduce", "table1", "--quick", "--steps", "12", "--cores", "irnn", "--sizes", "4", "--jobs", "1",
                 "--out", str(out), *GRID_DATA]) == 0
    assert json.loads((out / "irnn-R4-s0" / "final.json").read_text())["step"] == 12
    assert "12 Adam updates" in (out / "table1.md").read_text()


def test_reproduce_refuses_unknown_extra_options_before_running(tmp_path, capsys):
    out = tmp_path / "grid"
    assert main([*GRID, "--out", str(out), "--extra", "--bogus"]) == 2
    assert "has no option --bogus" in capsys.readouterr().err
    assert not out.exists()


# ------------------------------------------------------------------ resume
@pytest.fixture
def finished(tmp_path) -> Path:
    run = tmp_path / "run"
    assert train(run, *SMALL, "--steps", "20", "--eval-every", "10") == 0
    return run


@pytest.mark.parametrize(("field", "value", "named"), [
    ("lr", 0.01, "options.lr"),
    ("hidden", 6, "options.hidden"),
])
def test_a_resume_refuses_an_edited_run_json_before_touching_a_file(finished, capsys, field, value, named):
    info = json.loads((finished / "run.json").read_text())
    info["options"][field] = value
    (finished / "run.json").write_text(json.dumps(info))
    before = snapshot(finished)
    assert train(finished, "--resume", "--steps", "30", "--no-progress") == 2
    err = capsys.readouterr().err
    assert "run.json was changed after the checkpoint was written" in err and named in err, err
    assert snapshot(finished) == before


def test_a_resume_may_raise_the_budget_only(finished, capsys):
    before = snapshot(finished)
    assert train(finished, "--resume", "--steps", "10", "--no-progress") == 2
    assert "a resume may only raise it" in capsys.readouterr().err
    assert train(finished, "--resume", "--lr", "0.01", "--no-progress") == 2
    assert "cannot change --lr" in capsys.readouterr().err
    assert snapshot(finished) == before
    assert train(finished, "--resume", "--steps", "30", "--no-progress") == 0
    assert json.loads((finished / "run.json").read_text())["options"]["steps"] == 30
    records = [json.loads(line) for line in (finished / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in records] == [0, 10, 20, 30, 30] and records[-1]["final"]


def test_resuming_a_run_finished_with_this_budget_changes_nothing(finished, capsys):
    before = snapshot(finished)
    assert train(finished, "--resume", "--no-progress") == 0
    captured = capsys.readouterr()
    assert "had finished with this budget already; nothing was changed" in captured.err
    assert "test error" in captured.out
    assert snapshot(finished) == before


# ------------------------------------------------------------------ one writer per run directory
def test_two_processes_cannot_train_in_one_run_directory(tmp_path):
    run = tmp_path / "run"
    cmd = [sys.executable, "-m", "fastweights_np", "train", "assoc", "--out", str(run), *SMALL, "--steps", "1500",
           "--eval-every", "500"]
    env = dict(os.environ, OPENBLAS_NUM_THREADS="1")
    first = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=env)
    try:
        deadline = time.time() + 60
        while not (run / "checkpoint.npz").exists() and time.time() < deadline:
            time.sleep(0.05)
        second = subprocess.run([*cmd[:5], "--out", str(run), "--resume", "--no-progress"], capture_output=True,
                                text=True, env=env, timeout=120)
        assert second.returncode == 2, second.stderr
        assert f"{run} is in use: another process (pid {first.pid})" in second.stderr
        assert "Traceback" not in second.stderr
    finally:
        first.terminate()
        first.communicate(timeout=60)
    assert first.returncode == 130  # SIGTERM saved the checkpoint
    assert train(run, "--resume", "--no-progress") == 0  # the dead process's lock does not block
    steps = [json.loads(line)["step"] for line in (run / "metrics.jsonl").read_text().splitlines()]
    assert steps == [0, 500, 1000, 1500, 1500]  # each evaluation once


# ------------------------------------------------------------------ file modes
@pytest.mark.skipif(os.name != "posix", reason="POSIX permissions")
@pytest.mark.parametrize("mask", [0o022, 0o077])
def test_files_get_the_umasks_permissions(tmp_path, mask):
    import fastweights_np as fw
    from fastweights_np.oracle import golden_vectors, save_golden

    old = os.umask(mask)
    try:
        run = tmp_path / "run"
        assert train(run, *SMALL, "--steps", "4", "--eval-every", "2") == 0
        cfg = fw.FastWeightsConfig(input_size=3, hidden_size=2, output_size=2)
        fw.save_params(tmp_path / "params.npz", fw.init_params(cfg, 0), cfg)
        save_golden(tmp_path / "golden.npz", golden_vectors(cfg, batch=1, steps=2))
    finally:
        os.umask(old)
    paths = [run / "run.json", run / "checkpoint.npz", run / "final.json", run / "metrics.jsonl",
             tmp_path / "params.npz", tmp_path / "golden.npz"]
    assert {p.name: oct(p.stat().st_mode & 0o777) for p in paths} == {p.name: oct(0o666 & ~mask) for p in paths}
