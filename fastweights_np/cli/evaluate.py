"""``fastweights-np eval RUN``: the error of a run's best parameters, with a few sequences."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from fastweights_np.cli.args import nonneg_int, positive_int
from fastweights_np.cli.train import build_run
from fastweights_np.tasks.assoc_data import decode
from fastweights_np.train.checkpoint import load_checkpoint
from fastweights_np.train.loop import evaluate


def add_parser(subparsers) -> None:
    p = subparsers.add_parser(
        "eval",
        help="evaluate a training run's best parameters and show a few predictions",
        description="Rebuilds the run's model and data from RUN/run.json, loads the parameters with the best "
        "validation error from RUN/checkpoint.npz, prints the error on --split and shows --show sequences "
        "with the prediction.",
    )
    p.add_argument("run_dir", type=Path, help="a run directory written by 'fastweights-np train'")
    p.add_argument("--split", choices=("train", "val", "test"), default="test", help="default test")
    p.add_argument("--show", type=nonneg_int, default=8, help="sequences to show (default 8)")
    p.add_argument("--batch-size", type=positive_int, default=1000, help="evaluation batch (default 1000)")
    p.set_defaults(handler=run)


def load_run(run_dir: Path):
    """(model, data, options, best params) of a run directory."""
    for name in ("run.json", "checkpoint.npz"):
        if not (run_dir / name).exists():
            raise ValueError(f"{run_dir} is not a training run: {name} is missing")
    options = json.loads((run_dir / "run.json").read_text())["options"]
    model, data, _, _ = build_run(options)
    state = load_checkpoint(run_dir / "checkpoint.npz")
    return model, data, options, state


def run(args: argparse.Namespace) -> int:
    model, data, options, state = load_run(args.run_dir)
    split = data[args.split]
    result = evaluate(model, state.best_params, split, args.batch_size)
    print(f"{options['core']} R={options['hidden']}: {args.split} error {result['error']:.2%}, "
          f"loss {result['loss']:.4f} on {len(split):,} sequences "
          f"(parameters of step {state.best_step} of {state.step})")
    if args.show:
        x, y = split.x[: args.show], split.y[: args.show]
        predicted = np.argmax(model.logits(state.best_params, x), axis=1)
        for row, target, guess in zip(x, y, predicted, strict=True):
            mark = "ok" if guess == target else "WRONG"
            print(f"  {decode(row)} -> {guess}  (target {target})  {mark}")
    return 0
