"""``fastweights-np eval RUN``: the error of a run's best parameters, with a few examples; for an
agent's run (Catch) the mean reward and catch rate of its last parameters, with a few episodes.

The task is run.json's "task" (fastweights_np.tasks.registry); its metric evaluates and its
``show`` prints the examples, or, for a task without a metric, its ``evaluate_run`` does both."""

from __future__ import annotations

import argparse
from pathlib import Path

from fastweights_np.cli.args import nonneg_int, positive_int
from fastweights_np.cli.train import build_run
from fastweights_np.tasks.paper_table import RUN_EXPECTED, read_record
from fastweights_np.tasks.registry import get_task
from fastweights_np.train.actor_critic import load_state
from fastweights_np.train.checkpoint import load_checkpoint


def add_parser(subparsers) -> None:
    p = subparsers.add_parser(
        "eval",
        help="evaluate a training run's best parameters and show a few predictions",
        description="Rebuilds the run's model and data from RUN/run.json, loads the parameters with the best "
        "validation error from RUN/checkpoint.npz, prints the error on --split and shows --show examples "
        "with the prediction, and what the task shows beyond that (MNIST: the confusion matrix, and "
        "RUN/misclassified_SPLIT.png with a few misclassified digits and their glimpses).",
    )
    p.add_argument("run_dir", type=Path, help="a run directory written by 'fastweights-np train'")
    p.add_argument("--split", choices=("train", "val", "test"), default="test", help="default test")
    p.add_argument("--show", type=nonneg_int, default=8, help="examples to show (default 8)")
    p.add_argument("--batch-size", type=positive_int, default=1000, help="evaluation batch (default 1000)")
    p.add_argument("--episodes", type=positive_int, default=1000,
                   help="an agent's run (catch): episodes to evaluate on (default 1000)")
    p.set_defaults(handler=run)


def run_info(run_dir: Path) -> dict:
    """run.json of a run directory that has a checkpoint (ValueError naming what is missing)."""
    for name in ("run.json", "checkpoint.npz"):
        if not (run_dir / name).exists():
            raise ValueError(f"{run_dir} is not a training run: {name} is missing")
    return read_record(run_dir / "run.json", RUN_EXPECTED, ("options",))


def load_run(run_dir: Path):
    """(task, what the task builds, options, checkpoint state) of a supervised run directory."""
    info = run_info(run_dir)
    task = get_task(info.get("task"))
    built, _, _ = build_run(task.name, info["options"])
    return task, built, info["options"], load_checkpoint(run_dir / "checkpoint.npz")


def evaluate_agent(args: argparse.Namespace, task, built) -> int:
    """An agent's run: the parameters of its last checkpoint, played on --episodes episodes."""
    state = load_state(args.run_dir / "checkpoint.npz")
    print(f"parameters of update {state.step:,} ({state.frames:,} frames)")
    for line in task.evaluate_run(built, state.params, args.run_dir, args.episodes, min(args.show, 8)):
        print(line)
    return 0


def run(args: argparse.Namespace) -> int:
    info = run_info(args.run_dir)
    task = get_task(info.get("task"))
    if task.metric is None:
        return evaluate_agent(args, task, build_run(task.name, info["options"])[0])
    task, built, _, state = load_run(args.run_dir)
    if args.split not in built.splits:
        raise ValueError(f"the {task.name} task has no {args.split!r} split; it has {sorted(built.splits)}")
    split = built.splits[args.split]
    result = task.metric(built.model, state.best_params, split, args.batch_size)
    print(f"{built.label}: {args.split} error {result['error']:.2%}, loss {result['loss']:.4f} on {len(split):,} "
          f"examples (parameters of step {state.best_step} of {state.step})")
    for line in task.show(built.model, state.best_params, split, args.show) if args.show else []:
        print(line)
    if task.examine is not None:
        for line in task.examine(built.model, state.best_params, split, args.run_dir, args.split):
            print(line)
    return 0
