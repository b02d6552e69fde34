"""The tasks: name -> :class:`~fastweights_np.tasks.task.Task`, one record per folder ``tasks/<name>/``.

The command line builds ``fastweights-np train NAME`` from a task's option declarations, trains
it with the trainer kind it names (``fastweights_np.train.registry.TRAINERS``), evaluates and
shows examples with ``eval`` and runs its experiments with ``reproduce``. Adding a task adds a
folder with a ``task.py`` and one line in :data:`TASKS`; nothing in ``cli/`` changes.
"""

from __future__ import annotations

from fastweights_np.tasks.assoc.task import TASK as ASSOC
from fastweights_np.tasks.catch.task import TASK as CATCH
from fastweights_np.tasks.experiment import Experiment
from fastweights_np.tasks.mnist.task import TASK as MNIST
from fastweights_np.tasks.task import Task

TASKS: dict[str, Task] = {task.name: task for task in (ASSOC, MNIST, CATCH)}
TASK_NAMES: tuple[str, ...] = tuple(TASKS)


def get_task(name: str) -> Task:
    """The task called ``name``; ValueError naming the known tasks otherwise."""
    if name not in TASKS:
        raise ValueError(f"unknown task {name!r}; the tasks are {sorted(TASKS)}")
    return TASKS[name]


def experiments() -> dict[str, tuple[Task, Experiment]]:
    """Every registered task's experiments: name -> (task, experiment)."""
    found: dict[str, tuple[Task, Experiment]] = {}
    for task in TASKS.values():
        for name, experiment in task.experiments.items():
            if name in found:
                raise ValueError(f"experiment {name!r} is declared by tasks {found[name][0].name!r} and {task.name!r}")
            found[name] = (task, experiment)
    return found
