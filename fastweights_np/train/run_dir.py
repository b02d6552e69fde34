"""A run directory: what a trainer writes and a resume reads back.

    run.json        what was trained and how (written once; a resume must match it)
    metrics.jsonl   one JSON object per line (evaluations; the trainer decides the fields)
    checkpoint.npz  everything needed to continue (fastweights_np.train.checkpoint)
    final.json      the result, once the run has finished
    .lock           held (an advisory lock) by the one process training in it
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TypeVar

from fastweights_np.atomic import atomic_write_bytes, atomic_write_json
from fastweights_np.files import read_json, read_jsonl

RUN_JSON = "the run.json 'fastweights-np train' writes (what the run trains, and how)"
METRICS_JSONL = "the metrics log 'fastweights-np train' writes (one JSON object per line)"
LOCK = ".lock"  # held by the process training in the directory
_MISSING = object()
Result = TypeVar("Result")


def check_run_dir(run_dir: Path) -> None:
    """ValueError unless ``run_dir`` is a directory this process can write to, or can be created."""
    if run_dir.exists() and not run_dir.is_dir():
        raise ValueError(f"the run directory {run_dir} is a file, not a directory; choose another --out")
    existing = next((p for p in (run_dir, *run_dir.parents) if p.exists()), None)
    if existing is not None and not existing.is_dir():
        raise ValueError(f"cannot create the run directory {run_dir}: {existing} is a file")
    if existing is not None and not os.access(existing, os.W_OK | os.X_OK):
        raise ValueError(f"cannot write to {existing} (permission denied); choose another --out")


@contextlib.contextmanager
def run_dir_lock(run_dir: Path) -> Iterator[None]:
    """Hold an advisory lock on ``run_dir``/.lock for the block: one writer per run directory.

    ValueError naming the holder's pid when another process holds it. The operating system
    drops the lock when its process exits or is killed, so the lock of a dead process never
    blocks (its file stays and is reused). Where advisory locks do not exist (Windows) the
    block runs unguarded.
    """
    check_run_dir(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    try:
        import fcntl
    except ImportError:
        yield
        return
    with open(run_dir / LOCK, "a+") as f:
        try:
            fcntl.flock(f.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            f.seek(0)
            holder = f.read().strip() or "unknown"
            raise ValueError(f"{run_dir} is in use: another process (pid {holder}) is training in it; wait for it "
                             "to finish or stop it") from None
        f.seek(0)
        f.truncate()
        f.write(f"{os.getpid()}\n")
        f.flush()
        yield  # closing the file releases the lock


def in_run_dir(run_dir: Path | None, body: Callable[[Path | None], Result]) -> Result:
    """``body(run_dir)``, holding ``run_dir``'s lock (:func:`run_dir_lock`) while it runs (no lock
    for None: a run without files)."""
    if run_dir is None:
        return body(None)
    with run_dir_lock(run_dir):
        return body(run_dir)


def changed_fields(saved: dict, info: dict, resumable: tuple[str, ...] = ()) -> list[str]:
    """The dotted paths at which two run descriptions differ (e.g. "options.lr", "train.lr"),
    leaving out the ``resumable`` option names under "options" and "train"."""

    def flat(d: object, prefix: str = "") -> dict:
        if not isinstance(d, dict):
            return {prefix: d}
        out = {}
        for k, v in d.items():
            out.update(flat(v, f"{prefix}{k}."))
        return out if out or not prefix else {prefix: d}

    a, b = flat(saved), flat(json.loads(json.dumps(info)))
    skip = {f"{group}.{name}." for group in ("options", "train") for name in resumable}
    return sorted(k.rstrip(".") for k in set(a) | set(b) if k not in skip and a.get(k, _MISSING) != b.get(k, _MISSING))


def prepare_run_dir(run_dir: Path, run_info: dict, resume: bool) -> dict:
    """A new run: create ``run_dir`` with run.json and an empty metrics log (ValueError if it
    already holds a run). A resume: check that run.json exists; nothing is written (the trainer
    compares it with the run and the checkpoint, and rewrites it once they are checked). Its
    checkpoint may not exist yet (a run killed before its first one starts again from step 0).

    Returns run.json's content.
    """
    check_run_dir(run_dir)
    info_path = run_dir / "run.json"
    if resume:
        if not info_path.exists():
            raise ValueError(f"cannot resume: {run_dir} has no run.json (start the run without --resume)")
        return read_json(info_path, RUN_JSON)
    if info_path.exists():
        raise ValueError(f"{run_dir} already holds a run; pass --resume to continue it or choose another --out")
    run_dir.mkdir(parents=True, exist_ok=True)
    (run_dir / "metrics.jsonl").write_text("")
    write_run_info(run_dir, run_info)  # last: a directory with run.json is a complete start
    return json.loads(json.dumps(run_info))


def write_run_info(run_dir: Path, run_info: dict) -> Path:
    """run.json, atomically."""
    return atomic_write_json(run_dir / "run.json", run_info)


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
