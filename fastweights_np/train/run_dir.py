"""A run directory: what a trainer writes and a resume reads back.

    run.json        what was trained and how (written once; a resume must match it)
    metrics.jsonl   one JSON object per line (evaluations; the trainer decides the fields)
    checkpoint.npz  everything needed to continue (fastweights_np.train.checkpoint)
    final.json      the result, once the run has finished
"""

from __future__ import annotations

import json
from pathlib import Path

from fastweights_np.atomic import atomic_write_bytes, atomic_write_json


def prepare_run_dir(run_dir: Path, run_info: dict, resume: bool) -> None:
    """A new run: create ``run_dir`` with run.json and an empty metrics log (ValueError if it
    already holds a run). A resume: check that run.json and checkpoint.npz exist and that
    run.json equals ``run_info`` (ValueError naming the keys that differ)."""
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


def truncate_metrics(path: Path, step: int) -> None:
    """Drop records logged after the checkpoint's ``step`` (they will be logged again), and a
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


def append_metrics(run_dir: Path | None, record: dict) -> None:
    """One line of run_dir/metrics.jsonl (nothing when ``run_dir`` is None)."""
    if run_dir is not None:
        with open(run_dir / "metrics.jsonl", "a") as f:
            f.write(json.dumps(record) + "\n")


def write_final(run_dir: Path, summary: dict) -> Path:
    """final.json, written atomically once the run has finished."""
    return atomic_write_json(run_dir / "final.json", summary)
