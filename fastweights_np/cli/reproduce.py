"""``fastweights-np reproduce EXPERIMENT``: an experiment of the paper, e.g. table1.

An experiment (fastweights_np.tasks.experiment) belongs to a task and is a grid of runs: each
is one ``fastweights-np train TASK`` run in its own directory under --out; a finished run is
reused, an interrupted one resumed, so the command can be stopped and started again. Several
runs go at once (--jobs), each on one thread. At the end it writes EXPERIMENT.md (the
experiment's report) and EXPERIMENT_curves.png (its learning curves).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor, as_completed
from pathlib import Path

from fastweights_np.atomic import atomic_write_bytes
from fastweights_np.cli.args import add_options, integer, positive_int
from fastweights_np.tasks.paper_table import FINAL_EXPECTED, read_record
from fastweights_np.tasks.registry import experiments

SINGLE_THREAD = {name: "1" for name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS",
                                        "NUMBA_NUM_THREADS")}


def add_parser(subparsers) -> None:
    found = experiments()
    p = subparsers.add_parser(
        "reproduce",
        help="reproduce a table of the paper ("
        + "; ".join(f"{name}: {experiment.help}" for name, (_, experiment) in found.items()) + ")",
        description=__doc__.split("\n\n", 1)[1],
    )
    sub = p.add_subparsers(dest="experiment", metavar="EXPERIMENT", required=True)
    for name, (task, experiment) in found.items():
        e = sub.add_parser(name, help=experiment.help, description=experiment.description)
        e.add_argument("--out", type=Path, default=Path("runs") / name,
                       help=f"directory of the runs (default runs/{name})")
        add_options(e, experiment.options, parser_defaults=True)
        d, quick = experiment.defaults, experiment.quick
        e.add_argument("--seeds", nargs="+", type=integer, default=d["seeds"],
                       help=f"seeds per cell (default {' '.join(map(str, d['seeds']))})")
        e.add_argument("--steps", type=positive_int, default=d["steps"], help=f"updates per run (default {d['steps']})")
        e.add_argument("--eval-every", type=positive_int, default=d["eval_every"], help=f"default {d['eval_every']}")
        e.add_argument("--jobs", type=positive_int, default=os.cpu_count() or 1, help="runs at once (default: cores)")
        e.add_argument("--quick", action="store_true",
                       help=f"a small budget ({quick['steps']} steps per run) that finishes in minutes")
        e.add_argument("--extra", nargs=argparse.REMAINDER, default=[],
                       help=f"further options for every 'fastweights-np train {task.name}' run (e.g. --lr 3e-3)")
        e.set_defaults(handler=run)


def train_command(task: str, run_dir: Path, args: tuple[str, ...], steps: int, eval_every: int,
                  extra: list[str]) -> list[str]:
    """The ``fastweights-np train`` command of one run of the grid (a resume when it has a checkpoint)."""
    train = [sys.executable, "-m", "fastweights_np", "train", task]
    if (run_dir / "checkpoint.npz").exists():  # continue an interrupted run (its run.json holds the rest)
        return [*train, "--out", str(run_dir), "--resume", "--steps", str(steps), "--no-progress"]
    return [*train, *args, "--steps", str(steps), "--eval-every", str(eval_every), "--out", str(run_dir),
            "--no-progress", *extra]


def _run_one(cmd: list[str], log_path: Path, threads_env: dict) -> int:
    with open(log_path, "a") as log:
        return subprocess.run(cmd, stdout=log, stderr=subprocess.STDOUT, env=dict(os.environ, **threads_env)).returncode


def _finished(run_dir: Path, steps: int) -> bool:
    final = run_dir / "final.json"
    return final.exists() and read_record(final, FINAL_EXPECTED, ("step",))["step"] >= steps


def run(args: argparse.Namespace) -> int:
    name = args.experiment
    task, experiment = experiments()[name]
    steps = experiment.quick["steps"] if args.quick else args.steps
    eval_every = experiment.quick["eval_every"] if args.quick else args.eval_every
    options = {o.name: getattr(args, o.name) for o in experiment.options}
    options.update(seeds=args.seeds, steps=steps, eval_every=eval_every, extra=args.extra, jobs=args.jobs)
    args.out.mkdir(parents=True, exist_ok=True)
    grid = experiment.runs(options)
    todo = [g for g in grid if not _finished(args.out / g.name, steps)]
    print(f"{name}: {len(grid)} runs of {steps:,} steps ({len(grid) - len(todo)} already done), "
          f"{args.jobs} at a time, in {args.out}", file=sys.stderr)
    threads_env = SINGLE_THREAD if args.jobs > 1 else {}
    started = time.perf_counter()
    failed = []
    with ThreadPoolExecutor(max_workers=args.jobs) as pool:
        futures = {}
        for g in todo:
            run_dir = args.out / g.name
            run_dir.mkdir(parents=True, exist_ok=True)
            cmd = train_command(task.name, run_dir, g.args, steps, eval_every, args.extra)
            futures[pool.submit(_run_one, cmd, args.out / f"{g.name}.log", threads_env)] = g.name
        try:
            for done, future in enumerate(as_completed(futures), 1):
                run_name = futures[future]
                if future.result() != 0:
                    failed.append(run_name)
                    print(f"[{done}/{len(todo)}] {run_name} FAILED (see {args.out / (run_name + '.log')})",
                          file=sys.stderr)
                    continue
                final = read_record(args.out / run_name / "final.json", FINAL_EXPECTED, ("elapsed_s",))
                result = "finished" if final.get("test_error") is None else f"test error {final['test_error']:.2%}"
                print(f"[{done}/{len(todo)}] {run_name}: {result} ({final['elapsed_s']:.0f} s); "
                      f"{time.perf_counter() - started:.0f} s so far", file=sys.stderr)
        except KeyboardInterrupt:
            print("interrupted: each run saved its checkpoint; run the same command again to continue",
                  file=sys.stderr)
            for future in futures:
                future.cancel()
            return 130
    wall = time.perf_counter() - started
    text = experiment.report(args.out, options)
    if todo:
        text += f"\nWall time of this invocation: {wall / 60:.1f} min with {args.jobs} runs at a time.\n"
    else:
        text += "\nEvery run was finished before this invocation; the run wall times are above.\n"
    table = args.out / f"{name}.md"
    atomic_write_bytes(table, lambda f: f.write(text.encode()))
    print(text)
    try:
        from fastweights_np.cli.plot import plot_curves

        runs = [args.out / run_name for run_name in experiment.figure_runs(options)]
        figure = args.out / f"{name}_curves.png"
        plot_curves([r for r in runs if (r / "metrics.jsonl").exists()], figure, **experiment.figure)
        print(f"wrote {table} and {figure}")
    except ValueError as exc:  # matplotlib missing: the table is still written
        print(f"wrote {table}; no figure: {exc}")
    return 1 if failed else 0
