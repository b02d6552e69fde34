"""``fastweights-np train TASK``: train a model on a registered task (fastweights_np.tasks.registry).

Each task gets its own sub-command, built from the task's option declarations: the task's own
(its data), its model's and its trainer kind's (fastweights_np.train.registry), with the task's
defaults. Adding a task changes nothing here.
"""

from __future__ import annotations

import argparse
import contextlib
import shlex
import signal
import sys
from pathlib import Path

from fastweights_np.atomic import atomic_write_json
from fastweights_np.cli.args import add_options
from fastweights_np.files import read_json
from fastweights_np.tasks.options import default_options, with_defaults
from fastweights_np.tasks.registry import TASKS, get_task
from fastweights_np.tasks.task import Task
from fastweights_np.train.registry import get_trainer
from fastweights_np.train.run_dir import RUN_JSON, check_run_dir


def add_parser(subparsers) -> None:
    p = subparsers.add_parser(
        "train",
        help="train a model on a task of the paper ("
        + "; ".join(f"{task.name}: {task.help}" for task in TASKS.values()) + ")",
        description="Train a model on a task of the paper; 'fastweights-np train TASK --help' lists the task's "
        "options. The run directory gets run.json, metrics.jsonl, checkpoint.npz (atomic) and final.json; "
        "Ctrl-C saves and stops; --resume continues exactly where the run stopped.",
    )
    tasks = p.add_subparsers(dest="task", metavar="TASK", required=True)
    for task in TASKS.values():
        add_task_arguments(tasks.add_parser(task.name, help=task.help, description=task.description), task)


def add_task_arguments(t: argparse.ArgumentParser, task: Task) -> None:
    """The arguments of ``fastweights-np train TASK``."""
    trainer = get_trainer(task.trainer)
    t.add_argument("--out", required=True, type=Path, help="run directory")
    t.add_argument("--resume", action="store_true",
                   help=f"continue the run in --out (only {', '.join('--' + k for k in trainer.resumable)} "
                   "may change, upwards)")
    add_options(t.add_argument_group("task options"), task.options)
    add_options(t.add_argument_group("model options"), task.model_options)
    add_options(t.add_argument_group(f"trainer options ({trainer.name})"), trainer.options, task.trainer_defaults)
    t.add_argument("--no-progress", action="store_true", help="no progress bar")
    t.set_defaults(handler=run, task=task.name)


def options_of_command(task_name: str, argv: list[str]) -> dict:
    """The complete options a ``fastweights-np train TASK ARGV`` run (not a resume) would have.

    ValueError with argparse's message for arguments that are not the task's options.
    """
    task = get_task(task_name)
    parser = argparse.ArgumentParser(prog=f"fastweights-np train {task.name}", exit_on_error=False, add_help=False)
    add_task_arguments(parser, task)
    try:
        args, unknown = parser.parse_known_args(argv)
    except (argparse.ArgumentError, SystemExit) as exc:
        raise ValueError(f"'fastweights-np train {task.name} {' '.join(argv)}': {exc}") from None
    if unknown:
        raise ValueError(f"'fastweights-np train {task.name}' has no option {' '.join(unknown)}")
    return resolve_options(args)


def declared_options(task: Task) -> tuple:
    """Every option of ``task``'s runs, with the task's defaults: its own, its model's, its trainer's."""
    trainer = get_trainer(task.trainer)
    return (*task.options, *task.model_options, *with_defaults(trainer.options, task.trainer_defaults))


def resolve_options(args: argparse.Namespace) -> dict:
    """The run's options: run.json's on --resume (where only the trainer's resumable options,
    --steps, may change), else the command line's with defaults filled in."""
    task = get_task(args.task)
    trainer = get_trainer(task.trainer)
    declared = declared_options(task)
    given = {o.name: getattr(args, o.name) for o in declared if getattr(args, o.name, None) is not None}
    if not args.resume:
        return task.resolve(dict(default_options(declared), **given))
    check_run_dir(args.out)
    info_path = args.out / "run.json"
    if not info_path.exists():
        raise ValueError(f"cannot resume: {info_path} does not exist (start the run without --resume)")
    info = read_json(info_path, RUN_JSON)
    if info.get("task") != task.name:
        raise ValueError(f"cannot resume: {args.out} holds a run of task {info.get('task')!r}, not {task.name!r}")
    upgraded = task.upgrade_run_info(info)
    if upgraded != info:  # written by an earlier version: today's form, so that the resume matches it
        info = upgraded
        atomic_write_json(info_path, info)
    options = info["options"]
    changed = sorted(k for k, v in given.items() if k not in trainer.resumable and v != options.get(k))
    if changed:
        raise ValueError(f"cannot change {', '.join('--' + k.replace('_', '-') for k in changed)} of an existing run")
    # the budget (the trainer checks that it only goes up, and records it once the checkpoint is checked)
    return dict(options, **{k: v for k, v in given.items() if k in trainer.resumable})


def build_run(task_name: str, options: dict):
    """(what the task builds, the trainer's config, run.json's content) from complete options."""
    task = get_task(task_name)
    built = task.build(options)
    config = get_trainer(task.trainer).config(options)
    return built, config, {"task": task.name, "options": options, **built.info}


@contextlib.contextmanager
def terminate_as_interrupt():
    """SIGTERM (what ``kill``, a scheduler or a container stop sends) stops training as Ctrl-C
    does: the trainer saves its checkpoint and the command exits 130."""

    def interrupt(signum, frame):
        raise KeyboardInterrupt

    try:
        previous = signal.signal(signal.SIGTERM, interrupt)
    except ValueError:  # not the main thread: leave signals alone
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def run(args: argparse.Namespace) -> int:
    task = get_task(args.task)
    trainer = get_trainer(task.trainer)
    check_run_dir(args.out)
    options = resolve_options(args)
    built, config, info = build_run(task.name, options)
    print(f"{built.title}; {trainer.describe(config)}; run directory {args.out}", file=sys.stderr)
    blas = contextlib.nullcontext()
    if options.get("backend") == "numba":  # keep BLAS off the cores Numba's threads spin on
        from fastweights_np.backends.numba.threads import one_blas_thread

        blas = one_blas_thread()
    with blas, terminate_as_interrupt():
        result = trainer.train(task, built, config, args.out, run_info=info, resume=args.resume,
                               progress=not args.no_progress)
    if result.status == "interrupted":
        print(f"interrupted at step {result.step}; checkpoint saved. Continue with:\n"
              f"  fastweights-np train {task.name} --out {shlex.quote(str(args.out))} --resume", file=sys.stderr)
        return 130
    if result.status == "unchanged":
        print(f"{args.out} had finished with this budget already; nothing was changed", file=sys.stderr)
    print(trainer.report(result))
    return 0
