"""``fastweights-np plot RUN [RUN ...]``: learning curves to a PNG (matplotlib, an optional extra)."""

from __future__ import annotations

import argparse
from pathlib import Path

from fastweights_np.files import FileFormatError, read_jsonl
from fastweights_np.tasks.options import DISPLAY_NAMES  # the cores' names in figures (the paper's)
from fastweights_np.tasks.paper_table import RUN_EXPECTED, read_record

METRICS_EXPECTED = "the metrics.jsonl of a 'fastweights-np train' run (one JSON object per line)"

METRICS = ("test_loss", "test_error", "val_loss", "val_error", "train_loss", "mean_reward", "eval_reward",
           "catch_rate")
LABELS = {
    "test_loss": "test negative log-likelihood",
    "test_error": "test error",
    "val_loss": "validation negative log-likelihood",
    "val_error": "validation error",
    "train_loss": "training loss (mean since the previous evaluation)",
    "mean_reward": "mean episode reward (since the previous record)",
    "eval_reward": "mean episode reward (evaluation)",
    "catch_rate": "catch rate (evaluation)",
}
X_AXES = {"updates": "step", "frames": "frames"}  # --x: the records' key
REWARD_METRICS = ("mean_reward", "eval_reward", "catch_rate")  # an actor-critic run's: against frames


def add_parser(subparsers) -> None:
    p = subparsers.add_parser(
        "plot",
        help="draw learning curves of training runs to a PNG (needs matplotlib: pip install '.[plot]')",
        description="Plots a metric of metrics.jsonl against updates for each run, one line per run "
        "(the paper's Figure 2 shows the test negative log-likelihood).",
    )
    p.add_argument("runs", nargs="+", type=Path, help="run directories written by 'fastweights-np train'")
    p.add_argument("--out", type=Path, required=True, help="the PNG to write")
    p.add_argument("--metric", choices=METRICS, default="test_loss",
                   help="default test_loss; a Catch run's are mean_reward, eval_reward, catch_rate")
    p.add_argument("--x", choices=tuple(X_AXES), default=None,
                   help="the x axis (default: frames for the reward metrics, updates otherwise)")
    p.add_argument("--log-y", action="store_true", help="logarithmic y axis")
    p.add_argument("--title", default=None, help="figure title")
    p.set_defaults(handler=run)


def read_curve(run_dir: Path, metric: str, x: str = "updates") -> tuple[list[int], list[float]]:
    """(x, values) of ``metric`` in run_dir/metrics.jsonl, x the updates or the environment frames
    (``x`` a key of :data:`X_AXES`), evaluations only. A torn last line,
    which a run interrupted while logging leaves, is skipped; FileFormatError naming the file and
    the line for any other line that is not a JSON object."""
    path = run_dir / "metrics.jsonl"
    if not path.exists():
        raise ValueError(f"{run_dir} is not a training run: metrics.jsonl is missing")
    steps, values = [], []
    for record in read_jsonl(path, METRICS_EXPECTED):
        if not record.get("final") and record.get(metric) is not None:
            if X_AXES[x] not in record:
                raise ValueError(f"{path} has no {X_AXES[x]!r} in its records: plot it against updates (--x updates)")
            steps.append(record[X_AXES[x]])
            values.append(record[metric])
    return steps, values


def run_key(run_dir: Path) -> tuple[str, int | None, int | None]:
    """(core, R, seed) of a run from its run.json; (directory name, None, None) when that cannot be read
    (the legend then names the directory)."""
    try:
        options = read_record(run_dir / "run.json", RUN_EXPECTED, ("options",))["options"]
        return options["core"], options["hidden"], options.get("seed")
    except (FileFormatError, KeyError, TypeError, AttributeError):
        return run_dir.name, None, None


def run_labels(keys: list[tuple]) -> list[str]:
    """Legend entries: "<core> R=<R>", with the seed when several runs share a core and R."""
    pairs = [(core, hidden) for core, hidden, _ in keys]
    labels = []
    for (core, hidden, seed), pair in zip(keys, pairs, strict=True):
        label = core if hidden is None else f"{DISPLAY_NAMES.get(core, core)} R={hidden}"
        labels.append(label + (f" seed {seed}" if pairs.count(pair) > 1 and seed is not None else ""))
    return labels


LINE_STYLES = ("-", "--", ":", "-.")


def line_styles(keys: list[tuple]) -> list[dict]:
    """Matplotlib style of each run (keys from ``run_key``): one colour per core and one line
    style per R, so that a grid of cores × sizes stays readable; one colour per run when all
    runs share a core or several share a core and R (seeds)."""
    pairs = [(core, hidden) for core, hidden, _ in keys]
    cores = list(dict.fromkeys(core for core, _ in pairs))
    sizes = list(dict.fromkeys(hidden for _, hidden in pairs))
    if len(cores) == 1 or len(set(pairs)) < len(pairs):
        return [{"color": f"C{i % 10}"} for i in range(len(keys))]
    return [{"color": f"C{cores.index(core) % 10}", "linestyle": LINE_STYLES[sizes.index(hidden) % len(LINE_STYLES)]}
            for core, hidden in pairs]


def plot_curves(runs: list[Path], out: Path, metric: str = "test_loss", log_y: bool = False,
                title: str | None = None, x: str | None = None) -> Path:
    """Draw ``metric`` against updates or frames (``x``; default frames for the reward metrics)
    for every run into the PNG ``out``."""
    x = x or ("frames" if metric in REWARD_METRICS else "updates")
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        raise ValueError("plotting needs matplotlib: pip install 'fastweights_np[plot]'") from None
    fig, ax = plt.subplots(figsize=(8.5, 4.5))
    keys = [run_key(run_dir) for run_dir in runs]
    for run_dir, label, style in zip(runs, run_labels(keys), line_styles(keys), strict=True):
        steps, values = read_curve(run_dir, metric, x)
        ax.plot(steps, values, label=label, **style)
    ax.set_xlabel("environment frames" if x == "frames" else "updates")
    ax.set_ylabel(LABELS[metric])
    if log_y:
        ax.set_yscale("log")
    if title:
        ax.set_title(title)
    ax.grid(alpha=0.3)
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize="small")
    fig.tight_layout()
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=120)
    plt.close(fig)
    return out


def run(args: argparse.Namespace) -> int:
    print(f"wrote {plot_curves(args.runs, args.out, args.metric, args.log_y, args.title, args.x)}")
    return 0
