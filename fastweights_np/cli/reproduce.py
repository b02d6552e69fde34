"""``fastweights-np reproduce EXPERIMENT``: an experiment of the paper, e.g. table1.

An experiment (fastweights_np.tasks.experiment) belongs to a task and is a grid of runs: each
is one ``fastweights-np train TASK`` run in its own directory under --out; a finished run is
reused, an interrupted one resumed, so the command can be stopped and started again. Several
runs go at once (--jobs), each on one thread, or on a Dask cluster (--scheduler ADDRESS; the
sweep runner, ``cli/sweep.py``). At the end it writes EXPERIMENT.md (the experiment's report)
and EXPERIMENT_curves.png (its learning curves).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

from fastweights_np.atomic import atomic_write_bytes
from fastweights_np.cli.args import add_options, integer, positive_int
from fastweights_np.cli.sweep import SINGLE_THREAD, Trial, TrialResult, connect, run_trials
from fastweights_np.cli.train import options_of_command
from fastweights_np.tasks.experiment import GridRun
from fastweights_np.tasks.paper_table import FINAL_EXPECTED, RUN_EXPECTED, read_record
from fastweights_np.tasks.registry import experiments
from fastweights_np.tasks.task import Task
from fastweights_np.train.run_dir import changed_fields


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
        d, quick, budget = experiment.defaults, experiment.quick, experiment.budget
        e.add_argument("--seeds", nargs="+", type=integer, default=d["seeds"],
                       help=f"{experiment.seeds_help} (default {' '.join(map(str, d['seeds']))})")
        e.add_argument(f"--{budget}", type=positive_int, help=f"{experiment.budget_help} (default {d[budget]:,}; "
                       f"{quick[budget]:,} with --quick)")
        e.add_argument("--eval-every", type=positive_int,
                       help=f"default {d['eval_every']} ({quick['eval_every']} with --quick)")
        e.add_argument("--jobs", type=positive_int, default=os.cpu_count() or 1,
                       help="runs at once on this machine (default: cores)")
        e.add_argument("--scheduler", metavar="ADDRESS",
                       help="run the trials on the Dask cluster of this scheduler (e.g. tcp://10.0.0.5:8786; "
                       "needs 'fastweights_np[dask]' on every machine and --out on a filesystem they share)")
        e.add_argument("--quick", action="store_true",
                       help=f"a small budget ({quick[budget]:,} {budget} per run) that finishes in minutes; "
                       f"--{budget} and --eval-every, when given, override it")
        e.add_argument("--extra", nargs=argparse.REMAINDER, default=[],
                       help=f"further options for every 'fastweights-np train {task.name}' run (e.g. --lr 3e-3)")
        e.set_defaults(handler=run)


def train_arguments(g: GridRun, run_dir: Path, budget: tuple[str, int], eval_every: int,
                    extra: list[str]) -> list[str]:
    """The arguments of ``fastweights-np train TASK`` that start one run of the grid; ``budget`` is
    (the option, e.g. "steps", and the grid's value, which the run's own ``g.budget`` replaces)."""
    name, value = budget
    value = value if g.budget is None else g.budget
    return [*g.args, f"--{name}", str(value), "--eval-every", str(eval_every), "--out", str(run_dir),
            "--no-progress", *extra]


def train_command(task: str, run_dir: Path, arguments: list[str], budget: tuple[str, int]) -> list[str]:
    """The arguments of ``python -m fastweights_np`` for one run of the grid: a resume once the
    directory holds a run (its run.json holds the options; the budget may only go up)."""
    if (run_dir / "run.json").exists():
        return ["train", task, "--out", str(run_dir), "--resume", f"--{budget[0]}", str(budget[1]), "--no-progress"]
    return ["train", task, *arguments]


def reuse_problems(task: Task, run_dir: Path, requested: dict, budget: str = "steps") -> list[str]:
    """Why the run already in ``run_dir`` is not the requested one: every option that differs
    (the budget, option ``budget``, may be smaller: a resume raises it), as "name: value there,
    value asked". A run.json of an earlier version is read in today's form (``task.upgrade_run_info``)."""
    if not (run_dir / "run.json").exists():
        return []
    there = task.upgrade_run_info(read_record(run_dir / "run.json", RUN_EXPECTED, ("options",)))["options"]
    names = [k.removeprefix("options.") for k in changed_fields({"options": there}, {"options": requested}, (budget,))]
    if there.get(budget, 0) > requested[budget]:
        names.append(budget)
    return [f"{k}: {there.get(k)!r} there, {requested.get(k)!r} asked" for k in sorted(names)]


def _finished(run_dir: Path, budget: int, key: str = "step") -> bool:
    """Whether the run in ``run_dir`` finished with at least ``budget`` (its final.json's ``key``)."""
    final = run_dir / "final.json"
    return final.exists() and read_record(final, FINAL_EXPECTED, (key,))[key] >= budget


def _summary(result: TrialResult) -> str:
    final = result.final or {}
    if final.get("test_error") is not None:
        return f"test error {final['test_error']:.2%}"
    if final.get("eval_reward") is not None:
        return f"mean reward {final['eval_reward']:+.3f}"
    return "finished"


def run(args: argparse.Namespace) -> int:
    name = args.experiment
    task, experiment = experiments()[name]
    budget_name = experiment.budget
    budget = experiment.quick if args.quick else experiment.defaults
    amount = budget[budget_name] if getattr(args, budget_name) is None else getattr(args, budget_name)
    eval_every = budget["eval_every"] if args.eval_every is None else args.eval_every
    options = {o.name: getattr(args, o.name) for o in experiment.options}
    options.update(seeds=args.seeds, eval_every=eval_every, extra=args.extra, jobs=args.jobs,
                   scheduler=args.scheduler, budget=budget_name, **{budget_name: amount})
    grid = experiment.runs(options)
    arguments = {g.name: train_arguments(g, args.out / g.name, (budget_name, amount), eval_every, args.extra)
                 for g in grid}
    # every run's complete options, before anything runs: a bad --extra is an error here
    requested = {n: options_of_command(task.name, a) for n, a in arguments.items()}
    options["defaults"] = {g.name: options_of_command(task.name, train_arguments(
        g, args.out / g.name, (budget_name, amount), eval_every, [])) for g in grid}
    problems = {n: reuse_problems(task, args.out / n, requested[n], budget_name) for n in requested}
    if any(problems.values()):
        raise ValueError(f"{args.out} holds runs whose options differ from the ones asked for; they are not reused:\n"
                         + "\n".join(f"  {n}: {'; '.join(p)}" for n, p in problems.items() if p)
                         + "\nchoose another --out, or ask for the options they were run with")
    client = None if args.scheduler is None else connect(args.scheduler)  # before anything is written
    try:
        return _run_grid(args, task, experiment, grid, arguments, requested, options, client)
    finally:
        if client is not None:
            client.close()


def _run_grid(args, task, experiment, grid, arguments, requested, options, client) -> int:
    name, budget_name = args.experiment, experiment.budget
    args.out.mkdir(parents=True, exist_ok=True)
    todo = [g for g in grid if not _finished(args.out / g.name, requested[g.name][budget_name], experiment.done_key)]
    where = f"on the Dask cluster at {args.scheduler}" if args.scheduler else f"{args.jobs} at a time"
    print(f"{name}: {len(grid)} runs ({len(grid) - len(todo)} already done), {where}, in {args.out}", file=sys.stderr)
    threads_env = SINGLE_THREAD if args.jobs > 1 or args.scheduler else {}
    trials = []
    for g in todo:
        run_dir = args.out / g.name
        run_dir.mkdir(parents=True, exist_ok=True)
        command = train_command(task.name, run_dir, arguments[g.name], (budget_name, requested[g.name][budget_name]))
        trials.append(Trial(g.name, tuple(command), str(run_dir), str(args.out / f"{g.name}.log"), threads_env))
    started = time.perf_counter()
    finished: list[str] = []
    failed: list[str] = []

    def report(result: TrialResult) -> None:
        ok = result.returncode == 0 and result.final is not None
        (finished if ok else failed).append(result.name)
        done = f"[{len(finished) + len(failed)}/{len(todo)}] {result.name}"
        if not ok:
            print(f"{done} FAILED (see {args.out / (result.name + '.log')})", file=sys.stderr)
            return
        print(f"{done}: {_summary(result)} ({result.final['elapsed_s']:.0f} s); "
              f"{time.perf_counter() - started:.0f} s so far", file=sys.stderr)

    try:
        run_trials(trials, args.jobs, client, on_done=report)
    except KeyboardInterrupt:
        print("interrupted: each run saved its checkpoint; run the same command again to continue", file=sys.stderr)
        return 130
    wall = time.perf_counter() - started
    text = experiment.report(args.out, options)
    if todo:
        text += f"\nWall time of this invocation: {wall / 60:.1f} min, " + (
            f"on the Dask cluster at {args.scheduler}.\n" if args.scheduler else f"with {args.jobs} runs at a time.\n")
    else:
        text += "\nEvery run was finished before this invocation; the run wall times are above.\n"
    table = args.out / f"{name}.md"
    atomic_write_bytes(table, lambda f: f.write(text.encode()))
    print(text)
    figure = args.out / f"{name}_curves.png"
    try:
        if experiment.draw is not None:
            experiment.draw(args.out, options, figure)
        else:
            from fastweights_np.cli.plot import plot_curves

            found = [args.out / run_name for run_name in experiment.figure_runs(options)]
            plot_curves([r for r in found if (r / "metrics.jsonl").exists()], figure, **experiment.figure)
        print(f"wrote {table} and {figure}")
    except ValueError as exc:  # matplotlib missing: the table is still written
        print(f"wrote {table}; no figure: {exc}")
    return 1 if failed else 0
