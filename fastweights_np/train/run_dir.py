"""A run directory: what a trainer writes and a resume reads back.

    run.json        what was trained and how (written once; a resume must match it)
    metrics.jsonl   one JSON object per line (evaluations; the trainer decides the fields)
    checkpoint.npz  everything needed to continue (fastweights_np.train.checkpoint)
    final.json      the result, once the run has finished
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from fastweights_np.atomic import atomic_write_bytes, atomic_write_json
from fastweights_np.files import read_json, read_jsonl

RUN_JSON = "the run.json 'fastweights-np train' writes (what the run trains, and how)"
METRICS_JSONL = "the metrics log 'fastweights-np train' writes (one JSON object per line)"


def check_run_dir(run_dir: Path) -> None:
    """ValueError unless ``run_dir`` is a directory this process can write to, or can be created."""
    if run_dir.exists() and not run_dir.is_dir():
        raise ValueError(f"the run directory {run_dir} is a file, not a directory; choose another --out")
    existing = next((p for p in (run_dir, *run_dir.parents) if p.exists()), None)
    if existing is not None and not existing.is_dir():
        raise ValueError(f"cannot create the run directory {run_dir}: {existing} is a file")
    if existing is not None and not os.access(existing, os.W_OK | os.X_OK):
        raise ValueError(f"cannot write to {existing} (permission denied); choose another --out")


def prepare_run_dir(run_dir: Path, run_info: dict, resume: bool) -> None:
    """A new run: create ``run_dir`` with run.json and an empty metrics log (ValueError if it
    already holds a run). A resume: check that run.json exists and equals ``run_info``
    (ValueError naming the keys that differ); its checkpoint may not exist yet (a run killed
    before its first one starts again from step 0)."""
    check_run_dir(run_dir)
    info_path = run_dir / "run.json"
    if resume:
        if not info_path.exists():
            raise ValueError(f"cannot resume: {run_dir} has no run.json (start the run without --resume)")
        saved = read_json(info_path, RUN_JSON)
        if saved != json.loads(json.dumps(run_info)):
            diffs = sorted(k for k in set(saved) | set(run_info) if saved.get(k) != run_info.get(k))
            raise ValueError(f"cannot resume {run_dir}: its run.json differs from this run in {diffs}")
        return
    if info_path.exists():
        raise ValueError(f"{run_dir} already holds a run; pass --resume to continue it or choose another --out")
    run_dir.mkdir(parents=True, exist_ok=True)
    (run_dir / "metrics.jsonl").write_text("")
    atomic_write_json(info_path, run_info)  # last: a directory with run.json is a complete start


def truncate_metrics(path: Path, last_eval_step: int) -> None:
    """The log as it was when the checkpoint was written: the evaluations up to and including
    ``last_eval_step`` (-1: none). Dropped: later records (they will be logged again), the
    closing "final" record, and a last line torn by an interruption while it was written."""
    records = read_jsonl(path, METRICS_JSONL) if path.exists() else []
    kept = [r for r in records if r.get("step", 0) <= last_eval_step and not r.get("final")]
    atomic_write_bytes(path, lambda f: f.write("".join(json.dumps(r) + "\n" for r in kept).encode()))


def append_metrics(run_dir: Path | None, record: dict) -> None:
    """One line of run_dir/metrics.jsonl (nothing when ``run_dir`` is None)."""
    if run_dir is not None:
        with open(run_dir / "metrics.jsonl", "a") as f:
            f.write(json.dumps(record) + "\n")


def write_final(run_dir: Path, summary: dict) -> Path:
    """final.json, written atomically once the run has finished."""
    return atomic_write_json(run_dir / "final.json", summary)
