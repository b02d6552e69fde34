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
    (beside --steps, --eval-every, --out and --no-progress, which the command line adds)."""

    name: str
    args: tuple[str, ...]


@dataclass(frozen=True)
class Experiment:
    """What ``fastweights-np reproduce NAME`` needs.

    name : the command's argument, e.g. "table1"
    help, description : the sub-command's help line and paragraph
    options : the grid's own options (e.g. cores and sizes); every experiment also gets
        --out, --seeds, --steps, --eval-every, --jobs, --quick and --extra
    defaults : defaults of the common options "steps", "eval_every", "seeds"
    quick : "steps" and "eval_every" of --quick (a budget that finishes in minutes)
    runs : options -> the grid, in the order to start the runs (longest first)
    report : (out directory, options) -> the Markdown of the finished runs (table and notes)
    figure_runs : options -> the names of the runs whose curves are drawn
    figure : keyword arguments of the figure: metric, log_y, title
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


def first_below(metrics_path: Path, key: str, threshold: float) -> dict | None:
    """The first evaluation in a metrics log whose ``key`` is <= threshold (None if there is none)."""
    for record in read_jsonl(metrics_path, "a run's metrics log (one JSON object per line)"):
        if record.get(key) is not None and record[key] <= threshold:
            return record
    return None
