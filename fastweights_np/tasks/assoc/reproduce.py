"""Table 1 of the paper: every core at R in {20, 50, 100} on associative retrieval (K = 4).

Every (core, R, seed) is one ``fastweights-np train assoc`` run; ``fastweights-np reproduce
table1`` runs the grid and writes table1.md (our test error beside the paper's, and one row per
run) and table1_curves.png (test NLL against updates).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from fastweights_np.cores.registry import CORE_NAMES
from fastweights_np.tasks.experiment import Experiment, GridRun, first_below
from fastweights_np.tasks.options import DISPLAY_NAMES, Option, positive_int

# docs/model.md, Table 1: test error (%) of the paper.
PAPER_TABLE1 = {
    "irnn": {20: 62.11, 50: 60.23, 100: 0.34},
    "lstm": {20: 60.81, 50: 1.85, 100: 0.0},
    "alstm": {20: 60.13, 50: 1.62, 100: 0.0},
    "fw": {20: 1.81, 50: 0.0, 100: 0.0},
}
# Longest runs first, so the last ones to finish are short (per-step cost: A-LSTM >> LSTM ~ fw > IRNN).
COST_RANK = {"alstm": 0, "lstm": 1, "fw": 2, "irnn": 3}
TABLE_ORDER = ("irnn", "lstm", "alstm", "fw")


def run_name(core: str, hidden: int, seed: int) -> str:
    return f"{core}-R{hidden}-s{seed}"


def grid(options: dict) -> list[GridRun]:
    """The (core, R, seed) runs, the costliest first."""
    cells = [(c, r, s) for c in options["cores"] for r in options["sizes"] for s in options["seeds"]]
    cells.sort(key=lambda g: (COST_RANK.get(g[0], len(COST_RANK)), -g[1]))
    return [GridRun(run_name(c, r, s), ("--core", c, "--hidden", str(r), "--seed", str(s))) for c, r, s in cells]


def collect(out: Path, cores: list[str], sizes: list[int], seeds: list[int]) -> dict:
    """{(core, R): [test error of each finished seed]} from the runs' final.json."""
    results: dict = {}
    for core in cores:
        for hidden in sizes:
            errors = []
            for seed in seeds:
                final = out / run_name(core, hidden, seed) / "final.json"
                if final.exists():
                    errors.append(json.loads(final.read_text())["test_error"])
            results[(core, hidden)] = errors
    return results


def table_markdown(
    results: dict, cores: list[str], sizes: list[int], steps: int, seeds: list[int], test_size: int,
    extra: list[str] | tuple = (),
) -> str:
    """Our test error (mean over seeds, and the range when there are several) beside the paper's;
    ``extra`` are the further ``train`` options every run had (named in the note under the table)."""
    header = "| model | " + " | ".join(f"R={r} ours | R={r} paper" for r in sizes) + " |"
    lines = [header, "|---|" + "---|---|" * len(sizes)]
    for core in TABLE_ORDER:
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
            paper = PAPER_TABLE1.get(core, {}).get(r)
            cells += [ours, "–" if paper is None else f"{paper:g}"]
        lines.append(f"| {DISPLAY_NAMES[core]} | " + " | ".join(cells) + " |")
    note = (f"\nTest error (%) on {test_size:,} sequences (K = 4); {steps:,} Adam updates of batch 128 per run, "
            f"the parameters with the best validation error; seeds {', '.join(map(str, seeds))}"
            + (f"; every run with `{' '.join(extra)}`" if extra else "") + ".\n")
    return "\n".join(lines) + "\n" + note


def runs_markdown(out: Path, cores: list[str], sizes: list[int], seeds: list[int], threshold: float = 0.01) -> str:
    """One row per finished run: test error, best step, when validation error first reached
    ``threshold``, and the run's wall time (from its final.json and metrics.jsonl)."""
    lines = [f"| run | test error | best step | first update with val. error ≤ {threshold:.0%} | its wall time "
             "| run wall time | backend |", "|---|---|---|---|---|---|---|"]
    for core in TABLE_ORDER:
        for hidden in sizes if core in cores else []:
            for seed in seeds:
                run_dir = out / run_name(core, hidden, seed)
                if not (run_dir / "final.json").exists():
                    continue
                final = json.loads((run_dir / "final.json").read_text())
                hit = first_below(run_dir / "metrics.jsonl", "val_error", threshold)
                info = json.loads((run_dir / "run.json").read_text())
                backend = info["options"].get("backend") or info["model"]["core_options"].get("backend", "numpy")
                lines.append(
                    f"| {run_name(core, hidden, seed)} | {100 * final['test_error']:.2f} % | {final['best_step']:,} | "
                    + (f"{hit['step']:,} | {hit['elapsed_s'] / 60:.1f} min" if hit else "never | –")
                    + f" | {final['elapsed_s'] / 60:.1f} min | {backend} |"
                )
    return "\n".join(lines) + "\n"


def report(out: Path, options: dict) -> str:
    """table1.md: the table beside the paper's, then one row per finished run."""
    cores, sizes, seeds = options["cores"], options["sizes"], options["seeds"]
    first = out / run_name(cores[0], sizes[0], seeds[0]) / "run.json"
    test_size = json.loads(first.read_text())["data"]["sizes"]["test"] if first.exists() else 0
    text = table_markdown(collect(out, cores, sizes, seeds), cores, sizes, options["steps"], seeds, test_size,
                          options["extra"])
    jobs = options["jobs"]
    text += "\nEach run (one thread each" + (f", {jobs} at a time" if jobs > 1 else "") + "):\n\n"
    return text + runs_markdown(out, cores, sizes, seeds)


def figure_runs(options: dict) -> list[str]:
    """The first seed's run of every (core, R)."""
    return [run_name(c, r, options["seeds"][0]) for c in options["cores"] for r in options["sizes"]]


TABLE1 = Experiment(
    name="table1",
    help="the paper's Table 1: every core at R = 20, 50, 100 on associative retrieval",
    description=(
        "Every (core, R, seed) is one 'fastweights-np train assoc' run in its own directory under --out; a "
        "finished run is reused, an interrupted one resumed, so the command can be stopped and started again. "
        "Several runs go at once (--jobs), each on one thread. At the end it writes table1.md (our test error "
        "beside the paper's) and table1_curves.png (test NLL against updates)."
    ),
    options=(
        Option("cores", ["irnn", "lstm", "alstm", "fw"], "the cores", choices=CORE_NAMES, many=True,
               default_text="irnn lstm alstm fw"),
        Option("sizes", [20, 50, 100], "R values", positive_int, many=True, default_text="20 50 100"),
    ),
    runs=grid,
    report=report,
    figure_runs=figure_runs,
    defaults={"steps": 30_000, "eval_every": 1000, "seeds": [0]},
    quick={"steps": 1500, "eval_every": 250},
    figure={"metric": "test_loss", "log_y": True, "title": "Associative retrieval: test NLL"},
)
