"""The trainer kinds: name -> :class:`Trainer`. A task names its kind (``Task.trainer``); the
command line takes the kind's options, builds its config and runs it through this record.
A second kind (the actor-critic for Catch) adds a module beside supervised.py and a line here,
sharing optim/, clip.py, checkpoint.py, run_dir.py and progress.py."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from fastweights_np.tasks.options import Option
from fastweights_np.train import actor_critic, supervised
from fastweights_np.train.options import ACTOR_CRITIC_OPTIONS


@dataclass(frozen=True)
class Trainer:
    """One trainer kind.

    name : the kind: "supervised", "actor_critic"
    options : its options (a task may change their defaults: ``Task.trainer_defaults``)
    resumable : the options a resume may change (the others must equal run.json's)
    config : options -> its config (a dataclass, written to run.json as "train")
    train : ``train(task, run, config, run_dir, *, run_info, resume, progress) -> result``, where
        ``run`` is what ``task.build`` made; the result has ``status`` ("finished" or
        "interrupted") and ``step``
    describe : config -> a few words on the budget, e.g. "30,000 steps of batch 128"
    report : a finished result -> one line
    """

    name: str
    options: tuple[Option, ...]
    resumable: tuple[str, ...]
    config: Callable[[dict], Any]
    train: Callable[..., Any]
    describe: Callable[[Any], str]
    report: Callable[[Any], str]


SUPERVISED = Trainer(
    name="supervised",
    options=supervised.OPTIONS,
    resumable=supervised.RESUMABLE,
    config=supervised.config_from_options,
    train=lambda *args, **kwargs: supervised.train_task(*args, **kwargs),  # looked up at call time
    describe=supervised.describe,
    report=supervised.report,
)

ACTOR_CRITIC = Trainer(
    name="actor_critic",
    options=ACTOR_CRITIC_OPTIONS,
    resumable=actor_critic.RESUMABLE,
    config=actor_critic.config_from_options,
    train=lambda *args, **kwargs: actor_critic.train_task(*args, **kwargs),
    describe=actor_critic.describe,
    report=actor_critic.report,
)

TRAINERS: dict[str, Trainer] = {trainer.name: trainer for trainer in (SUPERVISED, ACTOR_CRITIC)}


def get_trainer(name: str) -> Trainer:
    """The trainer kind called ``name``; ValueError naming the known kinds otherwise."""
    if name not in TRAINERS:
        raise ValueError(f"unknown trainer {name!r}; the trainers are {sorted(TRAINERS)}")
    return TRAINERS[name]
