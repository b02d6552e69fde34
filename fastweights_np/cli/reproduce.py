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
from fastweights_np.cli.train import options_of_command
from fastweights_np.tasks.experiment import GridRun
from fastweights_np.tasks.paper_table import FINAL_EXPECTED, RUN_EXPECTED, read_record
from fastweights_np.tasks.registry import experiments
from fastweights_np.tasks.task import Task
from fastweights_np.train.run_dir import changed_fields

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
        e.add_argument("--steps", type=positive_int, help=f"updates per run (default {d['steps']}; "
                       f"{quick['steps']} with --quick)")
        e.add_argument("--eval-every", type=positive_int,
                       help=f"default {d['eval_every']} ({quick['eval_every']} with --quick)")
        e.add_argument("--jobs", type=positive_int, default=os.cpu_count() or 1, help="runs at once (default: cores)")
        e.add_argument("--quick", action="store_true",
                       help=f"a small budget ({quick['steps']} steps per run) that finishes in minutes; "
                       "--steps and --eval-every, when given, override it")
        e.add_argument("--extra", nargs=argparse.REMAINDER, default=[],
                       help=f"further options for every 'fastweights-np train {task.name}' run (e.g. --lr 3e-3)")
        e.set_defaults(handler=run)


def train_arguments(g: GridRun, run_dir: Path, steps: int, eval_every: int, extra: list[str]) -> list[str]:
    """The arguments of ``fastweights-np train TASK`` that start one run of the grid."""
    return [*g.args, "--steps", str(steps), "--eval-every", str(eval_every), "--out", str(run_dir), "--no-progress",
            *extra]


def train_command(task: str, run_dir: Path, arguments: list[str], steps: int) -> list[str]:
    """The ``fastweights-np train`` command of one run of the grid: a resume once the directory
    holds a run (its run.json holds the options; the budget may only go up)."""
    train = [sys.executable, "-m", "fastweights_np", "train", task]
    if (run_dir / "run.json").exists():
        return [*train, "--out", str(run_dir), "--resume", "--steps", str(steps), "--no-progress"]
    return [*train, *arguments]


def reuse_problems(task: Task, run_dir: Path, requested: dict) -> list[str]:
    """Why the run already in ``run_dir`` is not the requested one: every option that differs
    (the budget may be smaller: a resume raises it), as "name: value there, value asked". A
    run.json of an earlier version is read in today's form (``task.upgrade_run_info``)."""
    if not (run_dir / "run.json").exists():
        return []
    there = task.upgrade_run_info(read_record(run_dir / "run.json", RUN_EXPECTED, ("options",)))["options"]
    names = [k.removeprefix("options.") for k in changed_fields({"options": there}, {"options": requested}, ("steps",))]
    if there.get("steps", 0) > requested["steps"]:
        names.append("steps")
    return [f"{k}: {there.get(k)!r} there, {requested.get(k)!r} asked" for k in sorted(names)]


def _run_one(cmd: list[str], log_path: Path, threads_env: dict) -> int:
    with open(log_path, "a") as log:
        return subprocess.run(cmd, stdout=log, stderr=subprocess.STDOUT, env=dict(os.environ, **threads_env)).returncode


def _finished(run_dir: Path, steps: int) -> bool:
    final = run_dir / "final.json"
    return final.exists() and read_record(final, FINAL_EXPECTED, ("step",))["step"] >= steps


def run(args: argparse.Namespace) -> int:
    name = args.experiment
    task, experiment = experiments()[name]
    budget = experiment.quick if args.quick else experiment.defaults
    steps = budget["steps"] if args.steps is None else args.steps
    eval_every = budget["eval_every"] if args.eval_every is None else args.eval_every
    options = {o.name: getattr(args, o.name) for o in experiment.options}
    options.update(seeds=args.seeds, steps=steps, eval_every=eval_every, extra=args.extra, jobs=args.jobs)
    grid = experiment.runs(options)
    arguments = {g.name: train_arguments(g, args.out / g.name, steps, eval_every, args.extra) for g in grid}
    # every run's complete options, before anything runs: a bad --extra is an error here
    requested = {n: options_of_command(task.name, a) for n, a in arguments.items()}
    options["defaults"] = {g.name: options_of_command(task.name, train_arguments(g, args.out / g.name, steps,
                                                                                 eval_every, []))
                           for g in grid}
    problems = {n: reuse_problems(task, args.out / n, requested[n]) for n in requested}
    if any(problems.values()):
        raise ValueError(f"{args.out} holds runs whose options differ from the ones asked for; they are not reused:\n"
                         + "\n".join(f"  {n}: {'; '.join(p)}" for n, p in problems.items() if p)
                         + "\nchoose another --out, or ask for the options they were run with")
    args.out.mkdir(parents=True, exist_ok=True)
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
            cmd = train_command(task.name, run_dir, arguments[g.name], steps)
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
