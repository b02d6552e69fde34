"""Frames per second of Catch training on the machine's cores: one ``fastweights-np train catch``
alone, then K of them side by side (what ``reproduce fig5 --jobs K`` runs), each one thread.

    PYTHONPATH=$PWD python benchmarks/bench_catch_parallel.py [--core fw] [--size 16] [--jobs 2] [--rounds 3]

Each measurement starts real training runs (child processes, ``python -m fastweights_np train
catch ... --no-progress``, one BLAS and one Numba thread each, the evaluation only at the end),
and reads the training speed from each run's own metrics.jsonl: the frames between its first and
its last record over the seconds between them (compiling and the final evaluation outside). A
round is one run alone, then K runs at once; the table gives the medians over the rounds: frames
per second of one run alone, of each run among K, and of the K together. Not a test: it asserts
nothing.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import machine  # noqa: E402

SINGLE_THREAD = {"OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "NUMBA_NUM_THREADS": "1"}


def speed(run_dir: Path) -> float:
    """Training frames per second of a finished run, from its metrics.jsonl: from the first to the
    last record without an evaluation (the first and the last record have one)."""
    records = [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()]
    timed = [r for r in records if "eval_reward" not in r]
    first, last = timed[0], timed[-1]
    return (last["frames"] - first["frames"]) / (last["elapsed_s"] - first["elapsed_s"])


def train_at_once(count: int, args: argparse.Namespace, root: Path, tag: str) -> list[float]:
    """Start ``count`` runs at once and wait for all; their training frames per second."""
    runs, procs = [], []
    for i in range(count):
        run_dir = root / f"{tag}-{i}"
        cmd = [sys.executable, "-m", "fastweights_np", "train", "catch", "--core", args.core, "--size",
               str(args.size), "--blank-after", str(args.blank_after), "--frames", str(args.frames),
               "--eval-every", "1000000", "--eval-episodes", "32", "--log-every", "20", "--seed", str(i),
               "--out", str(run_dir), "--no-progress"]
        procs.append(subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                      env=dict(os.environ, **SINGLE_THREAD)))
        runs.append(run_dir)
    for p in procs:
        _, err = p.communicate()
        if p.returncode != 0:
            raise RuntimeError(f"a training run failed: {err.decode()[-2000:]}")
    return [speed(r) for r in runs]


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--core", default="fw", choices=("fw", "irnn", "lstm"))
    p.add_argument("--size", type=int, default=16)
    p.add_argument("--blank-after", type=int, default=3)
    p.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    p.add_argument("--frames", type=int, default=400_000)
    p.add_argument("--rounds", type=int, default=3)
    args = p.parse_args(argv)
    alone, each, together = [], [], []
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        train_at_once(1, args, root, "warm")  # compile and fill the Numba cache
        for k in range(args.rounds):
            alone += train_at_once(1, args, root, f"alone{k}")
            speeds = train_at_once(args.jobs, args, root, f"side{k}")
            each += speeds
            together.append(sum(speeds))
    print(f"# {machine()}; {args.core} on Catch N = {args.size}, M = {args.blank_after}, E = 32, float32; "
          f"each run one thread, {args.frames:,} frames; median of {args.rounds} rounds\n")
    print("| runs at once | frames per second of a run | of all together |")
    print("|---:|---:|---:|")
    print(f"| 1 | {np.median(alone):,.0f} | {np.median(alone):,.0f} |")
    print(f"| {args.jobs} | {np.median(each):,.0f} | {np.median(together):,.0f} |")
    print(f"\n{args.jobs} together / 1 alone: {np.median(together) / np.median(alone):.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
