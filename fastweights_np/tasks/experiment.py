"""An experiment of the paper: a grid of training runs of one task and the table it makes.

``fastweights-np reproduce NAME`` runs every :class:`GridRun` of the experiment (as
``fastweights-np train TASK ...``, several at once, finished runs reused and interrupted ones
resumed), then writes ``NAME.md`` from the experiment's ``report`` and ``NAME_curves.png``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from fastweights_np.files import read_jsonl
from fastweights_np.tasks.options import Option


@dataclass(frozen=True)
class GridRun:
    """One run of a grid: its directory name and its ``fastweights-np train TASK`` options
    (beside the budget, --eval-every, --out and --no-progress, which the command line adds);
    ``budget`` replaces the grid's budget for this run (None: the grid's)."""

    name: str
    args: tuple[str, ...]
    budget: int | None = None


@dataclass(frozen=True)
class Experiment:
    """What ``fastweights-np reproduce NAME`` needs.

    name : the command's argument, e.g. "table1"
    help, description : the sub-command's help line and paragraph
    options : the grid's own options (e.g. cores and sizes); every experiment also gets
        --out, --seeds, the budget (--steps), --eval-every, --jobs, --scheduler, --quick and --extra
    defaults : defaults of the common options: the budget ("steps"), "eval_every", "seeds"
    quick : the budget and "eval_every" of --quick (a budget that finishes in minutes)
    runs : options -> the grid, in the order to start the runs (longest first)
    report : (out directory, options) -> the Markdown of the finished runs (table and notes)
    figure_runs : options -> the names of the runs whose curves are drawn
    figure : keyword arguments of the figure: metric, log_y, title
    budget : the train option that is a run's budget ("steps"; the actor-critic trainer's "frames")
    done_key : the key of final.json that says how much of the budget a finished run spent
    budget_help, seeds_help : the help of the budget and --seeds options
    draw : (out directory, options, path) -> writes the figure (None: ``plot_curves`` of figure_runs)
    """

    name: str
    help: str
    description: str
    options: tuple[Option, ...]
    runs: Callable[[dict], list[GridRun]]
    report: Callable[[Path, dict], str]
    figure_runs: Callable[[dict], list[str]]
    defaults: dict = field(default_factory=lambda: {"steps": 30_000, "eval_every": 1000, "seeds": [0]})
    quick: dict = field(default_factory=lambda: {"steps": 1500, "eval_every": 250})
    figure: dict = field(default_factory=lambda: {"metric": "test_loss", "log_y": True, "title": None})
    budget: str = "steps"
    done_key: str = "step"
    budget_help: str = "updates per run"
    seeds_help: str = "seeds per cell"
    draw: Callable[[Path, dict, Path], Path] | None = None


def first_below(metrics_path: Path, key: str, threshold: float) -> dict | None:
    """The first evaluation in a metrics log whose ``key`` is <= threshold (None if there is none)."""
    for record in read_jsonl(metrics_path, "a run's metrics log (one JSON object per line)"):
        if record.get(key) is not None and record[key] <= threshold:
            return record
    return None
