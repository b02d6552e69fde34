"""The sweep runner (cli/sweep.py): trials on the local pool and on a Dask cluster give the same
results; reproduce takes --scheduler for every experiment; a scheduler that is not there is a
clear error."""

import json

import pytest

from fastweights_np.cli import main
from fastweights_np.cli.sweep import SINGLE_THREAD, SchedulerError, Trial, connect, run_trials

TIMINGS = ("elapsed_s", "frames_per_s")


def _trials(out, names=("a", "b")):
    trials = []
    for seed, name in enumerate(names):
        run_dir = out / name
        args = ("train", "catch", "--size", "5", "--blank-after", "2", "--hidden", "6", "--input-units", "4",
                "--episodes", "4", "--frames", "400", "--eval-every", "10", "--log-every", "5",
                "--eval-episodes", "20", "--seed", str(seed), "--out", str(run_dir), "--no-progress")
        trials.append(Trial(name, args, str(run_dir), str(out / f"{name}.log"), SINGLE_THREAD))
    return trials


def _without_timings(record: dict) -> dict:
    return {k: v for k, v in record.items() if k not in TIMINGS}


def _metrics(run_dir) -> list[dict]:
    return [_without_timings(json.loads(line)) for line in (run_dir / "metrics.jsonl").read_text().splitlines()]


def test_trials_run_on_the_local_pool(tmp_path):
    seen = []
    results = run_trials(_trials(tmp_path), jobs=2, on_done=lambda r: seen.append(r.name))
    assert sorted(seen) == ["a", "b"] and all(r.returncode == 0 for r in results.values())
    assert results["a"].final["frames"] >= 400 and results["a"].final["eval_reward"] is not None
    assert results["a"].final != results["b"].final  # other seeds, other runs


def test_a_failing_trial_is_reported_with_its_log(tmp_path):
    bad = Trial("bad", ("train", "catch", "--size", "2", "--out", str(tmp_path / "bad")), str(tmp_path / "bad"),
                str(tmp_path / "bad.log"))
    result = run_trials([bad])["bad"]
    assert result.returncode == 2 and result.final is None
    assert "size (N) must be an integer >= 3, got 2" in (tmp_path / "bad.log").read_text()


def test_the_dask_path_returns_what_the_local_pool_does(tmp_path):
    distributed = pytest.importorskip("distributed", reason="the Dask path needs dask.distributed "
                                                            "(pip install 'fastweights_np[dask]')")
    local = run_trials(_trials(tmp_path / "local"), jobs=2)
    with distributed.LocalCluster(n_workers=1, threads_per_worker=2, processes=True, dashboard_address=None,
                                  silence_logs=40) as cluster:
        remote = run_trials(_trials(tmp_path / "dask"), scheduler=cluster.scheduler_address)
    assert sorted(remote) == sorted(local)
    for name in local:
        assert remote[name].returncode == local[name].returncode == 0
        assert _without_timings(remote[name].final) == _without_timings(local[name].final)
        assert _metrics(tmp_path / "dask" / name) == _metrics(tmp_path / "local" / name)


def test_reproduce_runs_its_grid_on_a_dask_cluster(tmp_path, capsys):
    distributed = pytest.importorskip("distributed", reason="the Dask path needs dask.distributed")
    out = tmp_path / "t1"
    with distributed.LocalCluster(n_workers=1, threads_per_worker=2, processes=True, dashboard_address=None,
                                  silence_logs=40) as cluster:
        code = main(["reproduce", "table1", "--cores", "irnn", "fw", "--sizes", "4", "--steps", "20",
                     "--eval-every", "10", "--out", str(out), "--scheduler", cluster.scheduler_address,
                     "--extra", "--train-size", "200", "--val-size", "50", "--test-size", "50"])
    assert code == 0
    err = capsys.readouterr().err
    assert f"on the Dask cluster at {cluster.scheduler_address}" in err and "[2/2]" in err
    assert json.loads((out / "fw-R4-s0" / "final.json").read_text())["step"] == 20
    assert "on the Dask cluster at" in (out / "table1.md").read_text()


def test_a_scheduler_that_does_not_answer_is_a_clear_error(tmp_path, capsys):
    pytest.importorskip("distributed", reason="the Dask path needs dask.distributed")
    with pytest.raises(SchedulerError, match="no Dask scheduler answers at 'tcp://127.0.0.1:9'"):
        connect("tcp://127.0.0.1:9", timeout="2s")
    code = main(["reproduce", "fig5", "--quick", "--games", "5x2", "--budget-scale", "1", "--cores", "irnn",
                 "--trials", "1", "--out", str(tmp_path / "f5"), "--scheduler", "tcp://127.0.0.1:9"])
    assert code == 2 and "no Dask scheduler answers at 'tcp://127.0.0.1:9'" in capsys.readouterr().err
    assert not (tmp_path / "f5").exists()  # nothing written before the scheduler answered


def test_without_dask_the_scheduler_option_says_what_to_install(monkeypatch):
    import builtins

    real_import = builtins.__import__

    def no_distributed(name, *args, **kwargs):
        if name == "distributed" or name.startswith("distributed."):
            raise ImportError("no distributed")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_distributed)
    with pytest.raises(SchedulerError, match=r"pip install 'fastweights_np\[dask\]'"):
        connect("tcp://127.0.0.1:8786")
