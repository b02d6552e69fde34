"""The records a task is made of: :class:`Task` (what the command line and the trainers see)
and :class:`SupervisedRun` (what a supervised task builds from a run's options). The registry of
tasks is ``fastweights_np.tasks.registry``."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from fastweights_np.tasks.experiment import Experiment
from fastweights_np.tasks.options import Option


@dataclass(frozen=True)
class SupervisedRun:
    """What a task builds from a run's options, for the "supervised" trainer.

    model : ``init_params(seed) -> params``, ``loss_and_grad(params, x, y) -> (loss, grads)``,
        ``param_count()``, and whatever the task's metric and show use (e.g. ``logits``)
    splits : every split by name: "train", "val" (selects the best parameters), "test" (reported)
    batches : ``batches(seed, step) -> (x, y)``, training mini-batch number ``step`` (0-based),
        a pure function so that a resumed run draws the batches an uninterrupted one would
    info : JSON-able description of the model and the data, written to run.json beside the options
    label : a short name of the model, e.g. "fw R=20"
    title : one line on what is trained, e.g. "associative retrieval K=4: fw R=20, 9,270 parameters"
    """

    model: Any
    splits: dict[str, Any]
    batches: Callable[[int, int], tuple]
    info: dict
    label: str
    title: str


@dataclass(frozen=True)
class ActorCriticRun:
    """What a task builds from a run's options, for the "actor_critic" trainer.

    agent : ``init_params``, ``zero_state``, ``act``, ``loss_and_grad``, ``param_count``
        (``fastweights_np.train.actor_critic.Agent``)
    make_env : episodes -> an environment of that many episodes in step
    info, label, title : as in :class:`SupervisedRun`
    """

    agent: Any
    make_env: Callable[[int], Any]
    info: dict
    label: str
    title: str


@dataclass(frozen=True)
class Task:
    """One task of the paper, as the command line and the trainers see it.

    name : ``fastweights-np train NAME``; run.json's "task"
    help : the one-line help of ``train NAME``
    description : the paragraph of ``train NAME --help``
    trainer : the trainer kind, a key of ``fastweights_np.train.registry.TRAINERS`` ("supervised",
        "actor_critic")
    options : the task's own options (its data: sizes, seeds, ...)
    model_options : the model's options (e.g. ``tasks.options.model_options()``)
    trainer_defaults : the task's defaults for the trainer's options (e.g. {"steps": 30000})
    resolve : complete options -> options with derived defaults filled in (given options kept)
    build : complete options (the task's, the model's and the trainer's) -> the run the trainer
        takes (a :class:`SupervisedRun` for "supervised", an :class:`ActorCriticRun` for
        "actor_critic"); ValueError on inconsistent options
    metric : ``metric(model, params, split, batch_size) -> {"loss", "error"}``, the evaluation of
        a supervised task (None for a task evaluated by its trainer, whose records hold it)
    show : ``show(model, params, split, n) -> lines``, ``eval``'s examples with the prediction
        (None with ``metric``)
    examine : ``examine(model, params, split, out_dir, split_name) -> lines``, what ``eval`` prints
        and writes (into the run directory) beyond the error, e.g. a confusion matrix and a
        figure; None for nothing more
    experiments : name -> :class:`Experiment`, what ``fastweights-np reproduce NAME`` runs
    evaluate_run : for a task without ``metric`` (an agent's): ``evaluate_run(run, params,
        out_dir, episodes, show) -> lines``, what ``eval`` prints (and writes into the run directory)
    upgrade_run_info : run.json written by an earlier version -> today's form (a resume
        compares run.json with what it would write; the command line rewrites an upgraded one)
    """

    name: str
    help: str
    description: str
    trainer: str
    options: tuple[Option, ...]
    model_options: tuple[Option, ...]
    build: Callable[[dict], Any]
    metric: Callable[[Any, dict, Any, int], dict] | None
    show: Callable[[Any, dict, Any, int], list[str]] | None
    trainer_defaults: dict = field(default_factory=dict)
    resolve: Callable[[dict], dict] = dict
    examine: Callable[..., list[str]] | None = None
    experiments: dict[str, Experiment] = field(default_factory=dict)
    upgrade_run_info: Callable[[dict], dict] = dict
    evaluate_run: Callable[..., list[str]] | None = None
