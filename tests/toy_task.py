"""A toy task for the plug-in tests: softmax regression on Gaussian blobs, registered as "toy"
with one option of its own (--width) and the supervised trainer."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from fastweights_np.ops import softmax_xent_backward, softmax_xent_forward
from fastweights_np.tasks.batches import split_batches
from fastweights_np.tasks.metrics import classification_metric
from fastweights_np.tasks.options import Option, integer, positive_int
from fastweights_np.tasks.task import SupervisedRun, Task

CLASSES = 3


@dataclass(frozen=True)
class Split:
    x: np.ndarray
    y: np.ndarray

    def __len__(self) -> int:
        return len(self.y)


class LinearModel:
    """logits = x W + b, with the gradient of the mean cross-entropy."""

    def __init__(self, width: int):
        self.width = width

    def init_params(self, seed: int) -> dict:
        rng = np.random.default_rng(seed)
        return {"W": 0.1 * rng.standard_normal((self.width, CLASSES)), "b": np.zeros(CLASSES)}

    def param_count(self) -> int:
        return (self.width + 1) * CLASSES

    def logits(self, params: dict, x: np.ndarray) -> np.ndarray:
        return x @ params["W"] + params["b"]

    def loss_and_grad(self, params: dict, x: np.ndarray, y: np.ndarray):
        loss, cache = softmax_xent_forward(self.logits(params, x), y)
        d = softmax_xent_backward(1.0, cache)
        return loss, {"W": x.T @ d, "b": d.sum(axis=0)}


def blobs(n: int, width: int, seed: int) -> Split:
    rng = np.random.default_rng(seed)
    y = rng.integers(0, CLASSES, n)
    centres = np.random.default_rng(12345).standard_normal((CLASSES, width)) * 3
    return Split(centres[y] + rng.standard_normal((n, width)), y)


def build(o: dict) -> SupervisedRun:
    splits = {name: blobs(o["examples"], o["width"], o["data_seed"] * 3 + i)
              for i, name in enumerate(("train", "val", "test"))}
    model = LinearModel(o["width"])
    return SupervisedRun(model=model, splits=splits, batches=split_batches(splits["train"], o["batch_size"]),
                         info={"data": {"width": o["width"], "examples": o["examples"]}},
                         label=f"linear W={o['width']}", title=f"toy blobs: {model.param_count()} parameters")


def show(model, params, split, n):
    guesses = np.argmax(model.logits(params, split.x[:n]), axis=1)
    return [f"  toy example -> {g} (target {t})" for g, t in zip(guesses, split.y[:n], strict=True)]


TOY = Task(
    name="toy",
    help="a toy task of the tests",
    description="Softmax regression on Gaussian blobs (a test of the task plug-ins).",
    trainer="supervised",
    options=(Option("width", 4, "input features of the toy", positive_int),
             Option("examples", 200, "examples per split", positive_int),
             Option("data_seed", 0, "seed of the blobs", integer)),
    model_options=(),
    trainer_defaults={"steps": 40, "batch_size": 16, "eval_every": 20, "lr": 0.05},
    build=build,
    metric=classification_metric,
    show=show,
)
