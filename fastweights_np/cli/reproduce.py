"""``fastweights-np reproduce table1``: the paper's Table 1 grid on associative retrieval.

Every (core, R, seed) is one ``fastweights-np train assoc`` run in its own directory under
--out; a finished run is reused, an interrupted one resumed, so the command can be stopped and
started again. Several runs go at once (--jobs), each on one thread. At the end it writes
table1.md (our test error beside the paper's) and table1_curves.png (test NLL against updates).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor, as_completed
from pathlib import Path

import numpy as np

from fastweights_np.atomic import atomic_write_bytes
from fastweights_np.cli.args import positive_int
from fastweights_np.cli.plot import DISPLAY_NAMES
from fastweights_np.cores.registry import CORE_NAMES

# DESIGN.md §2, Table 1: test error (%) of the paper.
PAPER_TABLE1 = {
    "irnn": {20: 62.11, 50: 60.23, 100: 0.34},
    "lstm": {20: 60.81, 50: 1.85, 100: 0.0},
    "alstm": {20: 60.13, 50: 1.62, 100: 0.0},
    "fw": {20: 1.81, 50: 0.0, 100: 0.0},
}
QUICK = {"steps": 1500, "eval_every": 250}
# Longest runs first, so the last ones to finish are short (per-step cost: A-LSTM >> LSTM ~ fw > IRNN).
COST_RANK = {"alstm": 0, "lstm": 1, "fw": 2, "irnn": 3}
SINGLE_THREAD = {name: "1" for name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS",
                                        "NUMBA_NUM_THREADS")}


def add_parser(subparsers) -> None:
    p = subparsers.add_parser(
        "reproduce",
        help="reproduce a table of the paper (table1: associative retrieval)",
        description=__doc__.split("\n\n", 1)[1],
    )
    p.add_argument("table", choices=("table1",), help="which table")
    p.add_argument("--out", type=Path, default=Path("runs/table1"), help="directory of the runs (default runs/table1)")
    p.add_argument("--cores", nargs="+", choices=CORE_NAMES, default=["irnn", "lstm", "alstm", "fw"])
    p.add_argument("--sizes", nargs="+", type=positive_int, default=[20, 50, 100], help="R values (default 20 50 100)")
    p.add_argument("--seeds", nargs="+", type=int, default=[0], help="seeds per cell (default 0)")
    p.add_argument("--steps", type=positive_int, default=30_000, help="updates per run (default 30000)")
    p.add_argument("--eval-every", type=positive_int, default=1000, help="default 1000")
    p.add_argument("--jobs", type=positive_int, default=os.cpu_count() or 1, help="runs at once (default: cores)")
    p.add_argument("--quick", action="store_true",
                   help=f"a small budget ({QUICK['steps']} steps per run) that finishes in minutes")
    p.add_argument("--extra", nargs=argparse.REMAINDER, default=[],
                   help="further options for every 'fastweights-np train assoc' run (e.g. --lr 3e-3)")
    p.set_defaults(handler=run)


def run_name(core: str, hidden: int, seed: int) -> str:
    return f"{core}-R{hidden}-s{seed}"


def train_command(run_dir: Path, core: str, hidden: int, seed: int, steps: int, eval_every: int,
                  extra: list[str]) -> list[str]:
    cmd = [sys.executable, "-m", "fastweights_np", "train", "assoc", "--core", core, "--hidden", str(hidden),
           "--seed", str(seed), "--steps", str(steps), "--eval-every", str(eval_every), "--out", str(run_dir),
           "--no-progress", *extra]
    if (run_dir / "checkpoint.npz").exists():  # continue an interrupted run (its run.json holds the rest)
        cmd = [sys.executable, "-m", "fastweights_np", "train", "assoc", "--out", str(run_dir), "--resume",
               "--steps", str(steps), "--no-progress"]
    return cmd


def _run_one(cmd: list[str], log_path: Path, threads_env: dict) -> int:
    with open(log_path, "a") as log:
        return subprocess.run(cmd, stdout=log, stderr=subprocess.STDOUT, env=dict(os.environ, **threads_env)).returncode


def collect(out: Path, cores: list[str], sizes: list[int], seeds: list[int]) -> dict:
    """{(core, R): [test error of each finished seed]} from the runs' final.json."""
    results: dict = {}
    for core in cores:
        for hidden in sizes:
            errors = []
            for seed in seeds:
                final = out / run_name(core, hidden, seed) / "final.json"
                if final.exists():
                    errors.append(json.loads(final.read_text())["test_error"])
            results[(core, hidden)] = errors
    return results


def table_markdown(
    results: dict, cores: list[str], sizes: list[int], steps: int, seeds: list[int], test_size: int,
    extra: list[str] | tuple = (),
) -> str:
    """Our test error (mean over seeds, and the range when there are several) beside the paper's;
    ``extra`` are the further ``train`` options every run had (named in the note under the table)."""
    header = "| model | " + " | ".join(f"R={r} ours | R={r} paper" for r in sizes) + " |"
    lines = [header, "|---|" + "---|---|" * len(sizes)]
    for core in ["irnn", "lstm", "alstm", "fw"]:
        if core not in cores:
            continue
        cells = []
        for r in sizes:
            errors = results.get((core, r), [])
            if not errors:
                ours = "not run"
            elif len(errors) == 1:
                ours = f"{100 * errors[0]:.2f}"
            else:
                ours = f"{100 * np.mean(errors):.2f} ({100 * min(errors):.2f}–{100 * max(errors):.2f})"
            paper = PAPER_TABLE1.get(core, {}).get(r)
            cells += [ours, "–" if paper is None else f"{paper:g}"]
        lines.append(f"| {DISPLAY_NAMES[core]} | " + " | ".join(cells) + " |")
    note = (f"\nTest error (%) on {test_size:,} sequences (K = 4); {steps:,} Adam updates of batch 128 per run, "
            f"the parameters with the best validation error; seeds {', '.join(map(str, seeds))}"
            + (f"; every run with `{' '.join(extra)}`" if extra else "") + ".\n")
    return "\n".join(lines) + "\n" + note


def first_below(metrics_path: Path, key: str, threshold: float) -> dict | None:
    """The first evaluation in a metrics log whose ``key`` is <= threshold (None if there is none)."""
    for line in metrics_path.read_text().splitlines():
        record = json.loads(line)
        if record.get(key) is not None and record[key] <= threshold:
            return record
    return None


def runs_markdown(out: Path, cores: list[str], sizes: list[int], seeds: list[int], threshold: float = 0.01) -> str:
    """One row per finished run: test error, best step, when validation error first reached
    ``threshold``, and the run's wall time (from its final.json and metrics.jsonl)."""
    lines = [f"| run | test error | best step | first update with val. error ≤ {threshold:.0%} | its wall time "
             "| run wall time | backend |", "|---|---|---|---|---|---|---|"]
    for core in ["irnn", "lstm", "alstm", "fw"]:
        for hidden in sizes if core in cores else []:
            for seed in seeds:
                run_dir = out / run_name(core, hidden, seed)
                if not (run_dir / "final.json").exists():
                    continue
                final = json.loads((run_dir / "final.json").read_text())
                hit = first_below(run_dir / "metrics.jsonl", "val_error", threshold)
                model = json.loads((run_dir / "run.json").read_text())["model"]
                backend = model["core_options"].get("backend", "numpy")
                lines.append(
                    f"| {run_name(core, hidden, seed)} | {100 * final['test_error']:.2f} % | {final['best_step']:,} | "
                    + (f"{hit['step']:,} | {hit['elapsed_s'] / 60:.1f} min" if hit else "never | –")
                    + f" | {final['elapsed_s'] / 60:.1f} min | {backend} |"
                )
    return "\n".join(lines) + "\n"


def run(args: argparse.Namespace) -> int:
    steps = QUICK["steps"] if args.quick else args.steps
    eval_every = QUICK["eval_every"] if args.quick else args.eval_every
    args.out.mkdir(parents=True, exist_ok=True)
    grid = [(c, r, s) for c in args.cores for r in args.sizes for s in args.seeds]
    todo = [g for g in grid if not (args.out / run_name(*g) / "final.json").exists()
            or json.loads((args.out / run_name(*g) / "final.json").read_text())["step"] < steps]
    todo.sort(key=lambda g: (COST_RANK.get(g[0], len(COST_RANK)), -g[1]))
    print(f"table1: {len(grid)} runs of {steps:,} steps ({len(grid) - len(todo)} already done), "
          f"{args.jobs} at a time, in {args.out}", file=sys.stderr)
    threads_env = SINGLE_THREAD if args.jobs > 1 else {}
    started = time.perf_counter()
    failed = []
    with ThreadPoolExecutor(max_workers=args.jobs) as pool:
        futures = {}
        for core, hidden, seed in todo:
            run_dir = args.out / run_name(core, hidden, seed)
            run_dir.mkdir(parents=True, exist_ok=True)
            cmd = train_command(run_dir, core, hidden, seed, steps, eval_every, args.extra)
            futures[pool.submit(_run_one, cmd, args.out / f"{run_name(core, hidden, seed)}.log", threads_env)] = (
                core, hidden, seed)
        try:
            for done, future in enumerate(as_completed(futures), 1):
                core, hidden, seed = futures[future]
                name = run_name(core, hidden, seed)
                if future.result() != 0:
                    failed.append(name)
                    print(f"[{done}/{len(todo)}] {name} FAILED (see {args.out / (name + '.log')})", file=sys.stderr)
                    continue
                final = json.loads((args.out / name / "final.json").read_text())
                print(f"[{done}/{len(todo)}] {name}: test error {final['test_error']:.2%} "
                      f"({final['elapsed_s']:.0f} s); {time.perf_counter() - started:.0f} s so far", file=sys.stderr)
        except KeyboardInterrupt:
            print("interrupted: each run saved its checkpoint; run the same command again to continue",
                  file=sys.stderr)
            for future in futures:
                future.cancel()
            return 130
    wall = time.perf_counter() - started
    results = collect(args.out, args.cores, args.sizes, args.seeds)
    first = args.out / run_name(args.cores[0], args.sizes[0], args.seeds[0]) / "run.json"
    test_size = json.loads(first.read_text())["data"]["sizes"]["test"] if first.exists() else 0
    text = table_markdown(results, args.cores, args.sizes, steps, args.seeds, test_size, args.extra)
    text += "\nEach run (one thread each" + (f", {args.jobs} at a time" if args.jobs > 1 else "") + "):\n\n"
    text += runs_markdown(args.out, args.cores, args.sizes, args.seeds)
    if todo:
        text += f"\nWall time of this invocation: {wall / 60:.1f} min with {args.jobs} runs at a time.\n"
    else:
        text += "\nEvery run was finished before this invocation; the run wall times are above.\n"
    atomic_write_bytes(args.out / "table1.md", lambda f: f.write(text.encode()))
    print(text)
    try:
        from fastweights_np.cli.plot import plot_curves

        runs = [args.out / run_name(c, r, args.seeds[0]) for c in args.cores for r in args.sizes]
        plot_curves([r for r in runs if (r / "metrics.jsonl").exists()], args.out / "table1_curves.png",
                    "test_loss", log_y=True, title="Associative retrieval: test NLL")
        print(f"wrote {args.out / 'table1.md'} and {args.out / 'table1_curves.png'}")
    except ValueError as exc:  # matplotlib missing: the table is still written
        print(f"wrote {args.out / 'table1.md'}; no figure: {exc}")
    return 1 if failed else 0
