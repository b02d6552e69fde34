"""A table of the paper as a grid of (model, size, seed) training runs, and its Markdown report.

Table 1 (associative retrieval) and Table 2 (MNIST glimpses) are both "test error (%) of each
model at each hidden size": :class:`PaperTable` holds what differs (the paper's numbers, the
row order, what a size is called, what the examples are) and builds the grid, the table beside
the paper's and one row per run, for :class:`fastweights_np.tasks.experiment.Experiment`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from fastweights_np.files import FileFormatError, read_json
from fastweights_np.tasks.experiment import Experiment, GridRun, first_below
from fastweights_np.tasks.options import DISPLAY_NAMES, Option, positive_int

FINAL_EXPECTED = "the final.json of a finished 'fastweights-np train' run"
RUN_EXPECTED = "the run.json of a 'fastweights-np train' run"


def run_name(model: str, hidden: int, seed: int, letter: str = "R") -> str:
    """The directory of one run, e.g. "fw-R20-s0"."""
    return f"{model}-{letter}{hidden}-s{seed}"


def read_record(path: Path, expected: str, keys: tuple[str, ...]) -> dict:
    """The JSON object in ``path`` (:func:`fastweights_np.files.read_json`) with every key of ``keys``;
    FileFormatError naming the file, what it lacks and ``expected`` otherwise."""
    record = read_json(path, expected)
    if not isinstance(record, dict):
        raise FileFormatError(f"{path} holds no JSON object; expected {expected}")
    missing = [key for key in keys if key not in record]
    if missing:
        raise FileFormatError(f"{path} has no {', '.join(map(repr, missing))}; expected {expected}")
    return record


@dataclass(frozen=True)
class PaperTable:
    """What one table of the paper is made of.

    paper : {model: {size: test error (%)}} as the paper prints it
    order : the rows, top to bottom (the paper's order)
    cost_rank : model -> rank, the costliest (started first) lowest; unknown models last
    letter : what a size is called in names and headers ("R", "H")
    examples : what the test set holds, e.g. "sequences (K = 4)"
    threshold : the validation error whose first crossing the per-run rows report
    display : model -> name in the table (the paper's names)
    """

    paper: dict[str, dict[int, float]]
    order: tuple[str, ...]
    cost_rank: dict[str, int]
    letter: str
    examples: str
    threshold: float = 0.01
    display: dict[str, str] = field(default_factory=lambda: dict(DISPLAY_NAMES))

    def name(self, model: str, hidden: int, seed: int) -> str:
        return run_name(model, hidden, seed, self.letter)

    def grid(self, options: dict) -> list[GridRun]:
        """The (model, size, seed) runs of options "cores", "sizes", "seeds", the costliest first."""
        cells = [(c, r, s) for c in options["cores"] for r in options["sizes"] for s in options["seeds"]]
        cells.sort(key=lambda g: (self.cost_rank.get(g[0], len(self.cost_rank)), -g[1]))
        return [GridRun(self.name(c, r, s), ("--core", c, "--hidden", str(r), "--seed", str(s))) for c, r, s in cells]

    def collect(self, out: Path, cores: list[str], sizes: list[int], seeds: list[int]) -> dict:
        """{(model, size): [test error of each finished seed]} from the runs' final.json."""
        results: dict = {}
        for core in cores:
            for hidden in sizes:
                errors = []
                for seed in seeds:
                    final = out / self.name(core, hidden, seed) / "final.json"
                    if final.exists():
                        errors.append(read_record(final, FINAL_EXPECTED, ("test_error",))["test_error"])
                results[(core, hidden)] = errors
        return results

    def table_markdown(
        self, results: dict, cores: list[str], sizes: list[int], budget: str, seeds: list[int], test_size: int,
        extra: str = "",
    ) -> str:
        """Our test error (mean over seeds, and the range when there are several) beside the
        paper's; ``budget`` names the runs' updates ("30,000"), ``extra`` the options in which they
        differ from the task's defaults (both read from the runs' run.json: :meth:`caption`)."""
        L = self.letter
        header = "| model | " + " | ".join(f"{L}={r} ours | {L}={r} paper" for r in sizes) + " |"
        lines = [header, "|---|" + "---|---|" * len(sizes)]
        for core in self.order:
            if core not in cores:
                continue
            cells = []
            for r in sizes:
                errors = results.get((core, r), [])
                if not errors:
                    ours = "not run"
                elif len(errors) == 1:
                    ours = f"{100 * errors[0]:.2f}"
                else:
                    ours = f"{100 * np.mean(errors):.2f} ({100 * min(errors):.2f}–{100 * max(errors):.2f})"
                paper = self.paper.get(core, {}).get(r)
                cells += [ours, "–" if paper is None else f"{paper:g}"]
            lines.append(f"| {self.display.get(core, core)} | " + " | ".join(cells) + " |")
        note = (f"\nTest error (%) on {test_size:,} {self.examples}; {budget} Adam updates of batch 128 per run, "
                f"the parameters with the best validation error; seeds {', '.join(map(str, seeds))}"
                + (f"; {extra}" if extra else "") + ".\n")
        return "\n".join(lines) + "\n" + note

    def caption(self, out: Path, names: list[str], defaults: dict[str, dict]) -> tuple[str, str, int]:
        """(the updates per run, the options the runs differ in from ``defaults[name]``, the test
        set's size), read from the finished runs' own run.json."""
        infos = {n: read_record(out / n / "run.json", RUN_EXPECTED, ("options", "data"))
                 for n in names if (out / n / "final.json").exists()}
        if not infos:
            return "no", "", 0
        steps = sorted({info["options"]["steps"] for info in infos.values()})
        budget = f"{steps[0]:,}" if len(steps) == 1 else f"{steps[0]:,} to {steps[-1]:,} (see each run)"
        def differences(n: str, there: dict) -> tuple:  # in the order the options are declared
            default = defaults.get(n, {})
            keys = [*default, *(k for k in there if k not in default)]
            return tuple((k, there[k]) for k in keys
                         if k in there and k != "steps" and there[k] != default.get(k, there[k]))

        differs = {n: differences(n, info["options"]) for n, info in infos.items()}
        shared = set(differs.values())

        def flags(items: tuple) -> str:
            return " ".join(f"--{k.replace('_', '-')} {v}" for k, v in items)

        if shared == {()}:
            extra = ""
        elif len(shared) == 1:
            extra = f"every run with `{flags(shared.pop())}`"
        else:
            extra = "the runs differ from the defaults: " + "; ".join(
                f"{n} `{flags(d)}`" if d else f"{n} none" for n, d in differs.items())
        test_sizes = {info["data"]["sizes"]["test"] for info in infos.values()}
        return budget, extra, max(test_sizes)

    def runs_markdown(self, out: Path, cores: list[str], sizes: list[int], seeds: list[int]) -> str:
        """One row per finished run: test error, best step, when validation error first reached
        the threshold, and the run's wall time (from its final.json and metrics.jsonl)."""
        lines = [f"| run | test error | best step | first update with val. error ≤ {self.threshold:.0%} "
                 "| its wall time | run wall time | backend |", "|---|---|---|---|---|---|---|"]
        for core in self.order:
            for hidden in sizes if core in cores else []:
                for seed in seeds:
                    run_dir = out / self.name(core, hidden, seed)
                    if not (run_dir / "final.json").exists():
                        continue
                    final = read_record(run_dir / "final.json", FINAL_EXPECTED,
                                        ("test_error", "best_step", "elapsed_s"))
                    hit = first_below(run_dir / "metrics.jsonl", "val_error", self.threshold)
                    info = read_record(run_dir / "run.json", RUN_EXPECTED, ("options", "model"))
                    backend = (info["options"].get("backend")
                               or info["model"].get("core_options", {}).get("backend", "numpy"))
                    lines.append(
                        f"| {self.name(core, hidden, seed)} | {100 * final['test_error']:.2f} % | "
                        f"{final['best_step']:,} | "
                        + (f"{hit['step']:,} | {hit['elapsed_s'] / 60:.1f} min" if hit else "never | –")
                        + f" | {final['elapsed_s'] / 60:.1f} min | {backend} |"
                    )
        return "\n".join(lines) + "\n"

    def report(self, out: Path, options: dict) -> str:
        """The table beside the paper's, then one row per finished run; the caption from the runs'
        own run.json, against ``options["defaults"]`` (run name -> its options without --extra)."""
        cores, sizes, seeds = options["cores"], options["sizes"], options["seeds"]
        names = [self.name(c, r, s) for c in cores for r in sizes for s in seeds]
        budget, extra, test_size = self.caption(out, names, options.get("defaults", {}))
        text = self.table_markdown(self.collect(out, cores, sizes, seeds), cores, sizes, budget, seeds,
                                   test_size, extra)
        jobs = options["jobs"]
        text += "\nEach run (one thread each" + (f", {jobs} at a time" if jobs > 1 else "") + "):\n\n"
        return text + self.runs_markdown(out, cores, sizes, seeds)

    def figure_runs(self, options: dict) -> list[str]:
        """The first seed's run of every (model, size)."""
        return [self.name(c, r, options["seeds"][0]) for c in options["cores"] for r in options["sizes"]]

    def experiment(
        self, name: str, task: str, help: str, models: tuple[str, ...], sizes: list[int], curve: str, **fields
    ) -> Experiment:
        """The :class:`Experiment` of this table: ``reproduce NAME`` over ``models`` × ``sizes``
        (the defaults of --cores and --sizes), each run a ``fastweights-np train TASK``, the
        figure of ``curve`` (its words in the description); ``fields`` are the Experiment's defaults,
        quick and figure."""
        L = self.letter
        description = (
            f"Every (model, {L}, seed) is one 'fastweights-np train {task}' run in its own directory under --out; a "
            "finished run is reused, an interrupted one resumed, so the command can be stopped and started again. "
            f"Several runs go at once (--jobs), each on one thread. At the end it writes {name}.md (our test error "
            f"beside the paper's) and {name}_curves.png ({curve} against updates)."
        )
        order = [m for m in self.order if m in models]
        options = (
            Option("cores", order, "the models", choices=models, many=True, default_text=" ".join(order)),
            Option("sizes", sizes, f"{L} values", positive_int, many=True, default_text=" ".join(map(str, sizes))),
        )
        return Experiment(name=name, help=help, description=description, options=options, runs=self.grid,
                          report=self.report, figure_runs=self.figure_runs, **fields)
