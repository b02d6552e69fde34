"""Fig. 5 of the paper: agents with memory on partially observable Catch, by random search.

For each game (N, M) and each core, ``trials`` runs of ``fastweights-np train catch`` with
hyperparameters drawn at random, as the paper does it (Sec. 4.4: "random search over the learning
rate, the number of inner (Hebbian) steps, η and λ"; the curves are the mean of the top 5). Trial
i of search seed s draws, from ``default_rng([5, s, N, M, i])``:

    lr ~ log-uniform [1e-4, 1e-2]                     every core (the same lr for each core's trial i)
    S ~ uniform {1, 2, 3}, η ~ log-uniform [0.1, 1],  fast weights only, drawn after lr
    λ ~ uniform [0.85, 0.99]

each rounded to 3 significant digits, and trains with seed 1000 s + i. The ranges of S, η and λ
are ours (the paper gives none); the learning rate's is the A3C paper's. A trial's score is its
last evaluation's mean reward (``--eval-episodes`` fresh episodes), ties broken by the mean of its
training curve (the faster learner first); the top 5 of each (game, core) make its curve, the mean
of their training mean reward (``mean_reward``, logged every ``--log-every`` updates) against
environment frames, and the table: the frames at which that curve first reaches 0.5, 0.8, 0.9.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from fastweights_np.files import read_jsonl
from fastweights_np.tasks.catch import CORES
from fastweights_np.tasks.experiment import Experiment, GridRun
from fastweights_np.tasks.options import DISPLAY_NAMES, Option, positive_float, positive_int
from fastweights_np.tasks.paper_table import FINAL_EXPECTED, RUN_EXPECTED, read_record

TOP = 5  # the paper's curves: the mean of the top 5 models
THRESHOLDS = (0.5, 0.8, 0.9)
LR_RANGE = (1e-4, 1e-2)
INNER_STEPS = (1, 2, 3)
FAST_LR_RANGE = (0.1, 1.0)
DECAY_RANGE = (0.85, 0.99)
# Read from the paper's Fig. 5 (its x axis has no unit): where each curve stands.
PAPER_FIG5 = {
    (16, 3): "fast weights ≈ 0.95 by step 4, LSTM ≈ 0.95 by 6, ReLU RNN ≈ 0.87 at 8",
    (24, 5): "fast weights ≈ 0.9 by step 12 and ≈ 1 by ~19, LSTM ≈ 1 by ~25, ReLU RNN ≈ 0.65 at 31",
}
NAMES = {"irnn": "ReLU RNN", "lstm": "LSTM", "fw": "Fast weights"}


@dataclass(frozen=True)
class Game:
    """A game of the search: the screen N, the blank-after M, and how many times the grid's frame
    budget its trials get (a larger screen takes more frames to learn)."""

    size: int
    blank_after: int
    scale: float = 1.0

    @property
    def name(self) -> str:
        return f"{self.size}x{self.blank_after}"


def parse_game(text: str) -> tuple[int, int]:
    """"16x3" -> (16, 3); ValueError naming the form otherwise."""
    try:
        n, m = (int(part) for part in text.lower().split("x"))
    except ValueError:
        raise ValueError(f"expected a game NxM, e.g. 16x3 (N the screen, M the frames shown), got {text!r}") from None
    if n < 3 or not 1 <= m <= n:
        raise ValueError(f"expected a game NxM with N >= 3 and 1 <= M <= N, got {text!r}")
    return n, m


def _significant(value: float, digits: int = 3) -> float:
    return float(f"{value:.{digits}g}")


def draw_trial(search_seed: int, game: tuple[int, int], trial: int, core: str) -> dict:
    """The hyperparameters of trial ``trial`` of ``core`` on ``game`` (module docstring)."""
    rng = np.random.default_rng([5, search_seed, game[0], game[1], trial])
    drawn = {"lr": _significant(math.exp(rng.uniform(math.log(LR_RANGE[0]), math.log(LR_RANGE[1]))))}
    inner = int(rng.choice(INNER_STEPS))
    fast_lr = _significant(math.exp(rng.uniform(math.log(FAST_LR_RANGE[0]), math.log(FAST_LR_RANGE[1]))))
    decay = _significant(rng.uniform(*DECAY_RANGE))
    if core == "fw":
        drawn.update(inner_steps=inner, fast_lr=fast_lr, decay=decay)
    return drawn


def trial_name(game: Game, core: str, seed: int, trial: int) -> str:
    """The directory of one trial, e.g. "16x3-fw-s0-t4"."""
    return f"{game.name}-{core}-s{seed}-t{trial}"


def games_of(options: dict) -> list[Game]:
    """The games of options "games" (["16x3", ...]) and "budget_scale" (one per game)."""
    scales = options["budget_scale"]
    if len(scales) != len(options["games"]):
        raise ValueError(f"--budget-scale takes one value per game: {len(options['games'])} games "
                         f"({' '.join(options['games'])}), {len(scales)} values given")
    return [Game(*parse_game(g), scale) for g, scale in zip(options["games"], scales, strict=True)]


def grid(options: dict) -> list[GridRun]:
    """Every trial of every (game, core, search seed), the costliest (larger screen, fast weights) first."""
    cost = {"fw": 0, "lstm": 1, "irnn": 2}
    runs = []
    for game in sorted(games_of(options), key=lambda g: -g.size * g.scale):
        for core in sorted(options["cores"], key=lambda c: cost.get(c, 3)):
            for seed in options["seeds"]:
                for i in range(options["trials"]):
                    drawn = draw_trial(seed, (game.size, game.blank_after), i, core)
                    args = ["--core", core, "--size", str(game.size), "--blank-after", str(game.blank_after),
                            "--seed", str(1000 * seed + i)]
                    for key, value in drawn.items():
                        args += [f"--{key.replace('_', '-')}", str(value)]
                    runs.append(GridRun(trial_name(game, core, seed, i), tuple(args),
                                        budget=int(round(options["frames"] * game.scale))))
    return runs


# ------------------------------------------------------------------------------- the report
@dataclass(frozen=True)
class TrialOutcome:
    name: str
    options: dict
    eval_reward: float
    curve_mean: float
    frames: np.ndarray  # (K,) the records' frames
    rewards: np.ndarray  # (K,) their mean training reward
    elapsed_s: float


def read_trial(run_dir: Path) -> TrialOutcome | None:
    """A finished trial's options, last evaluation and training curve (None if not finished)."""
    if not (run_dir / "final.json").exists():
        return None
    final = read_record(run_dir / "final.json", FINAL_EXPECTED, ("eval_reward", "elapsed_s"))
    info = read_record(run_dir / "run.json", RUN_EXPECTED, ("options",))
    records = [r for r in read_jsonl(run_dir / "metrics.jsonl", "a run's metrics log (one JSON object per line)")
               if r.get("mean_reward") is not None]
    frames = np.array([r["frames"] for r in records], dtype=np.int64)
    rewards = np.array([r["mean_reward"] for r in records])
    return TrialOutcome(run_dir.name, info["options"], float(final["eval_reward"]),
                        float(rewards.mean()) if len(rewards) else -1.0, frames, rewards, float(final["elapsed_s"]))


def top_trials(outcomes: list[TrialOutcome], top: int = TOP) -> list[TrialOutcome]:
    """The ``top`` best trials: last evaluation's mean reward, then the mean of the training curve."""
    return sorted(outcomes, key=lambda o: (-o.eval_reward, -o.curve_mean, o.name))[:top]


def mean_curve(outcomes: list[TrialOutcome]) -> tuple[np.ndarray, np.ndarray]:
    """(frames, mean reward over the trials) on the records every trial has (the shortest's)."""
    length = min(len(o.frames) for o in outcomes)
    frames = outcomes[0].frames[:length]
    for o in outcomes:
        if not np.array_equal(o.frames[:length], frames):
            raise ValueError(f"trials {outcomes[0].name} and {o.name} logged at different frames; "
                             "they cannot be averaged (were they run with other --episodes or --log-every?)")
    return frames, np.mean([o.rewards[:length] for o in outcomes], axis=0)


def frames_to_reach(frames: np.ndarray, curve: np.ndarray, threshold: float) -> int | None:
    """The frames of the first record whose value is >= threshold (None if none is)."""
    hit = np.flatnonzero(curve >= threshold)
    return int(frames[hit[0]]) if len(hit) else None


def collect(out: Path, options: dict) -> dict[tuple[str, str], list[TrialOutcome]]:
    """{(game name, core): the finished trials}."""
    found: dict = {}
    for game in games_of(options):
        for core in options["cores"]:
            trials = [read_trial(out / trial_name(game, core, s, i))
                      for s in options["seeds"] for i in range(options["trials"])]
            found[(game.name, core)] = [t for t in trials if t is not None]
    return found


def _millions(frames: int | None) -> str:
    return "not reached" if frames is None else f"{frames / 1e6:.2f} M"


def report(out: Path, options: dict) -> str:
    """Per game: each core's top-5 mean curve's frames to 0.5 / 0.8 / 0.9, its final evaluation,
    the ratio of frames (LSTM / fast weights, ReLU RNN / fast weights) at 0.8; then every trial."""
    found = collect(out, options)
    lines = [f"Random search on partially observable Catch: {options['trials']} trials per core and game, "
             f"search seeds {', '.join(map(str, options['seeds']))}; the mean of the top {TOP} by the last "
             f"evaluation's mean reward (ties: the faster learner). Frames: environment frames (observations) "
             f"at which the top-{TOP} mean training reward first reaches the value.", ""]
    for game in games_of(options):
        header = " | ".join(f"frames to {t}" for t in THRESHOLDS)
        lines += [f"### N = {game.size}, M = {game.blank_after} ({options['frames'] * game.scale:,.0f} frames per "
                  "trial)", "", f"| agent | finished trials | top-5 last evaluation | {header} |",
                  "|---|---:|---:|" + "---:|" * len(THRESHOLDS)]
        reach: dict = {}
        for core in [c for c in ("fw", "lstm", "irnn") if c in options["cores"]]:
            trials = found[(game.name, core)]
            if len(trials) < TOP:
                lines.append(f"| {NAMES.get(core, core)} | {len(trials)} | fewer than {TOP} finished | "
                             + " | ".join("–" for _ in THRESHOLDS) + " |")
                continue
            best = top_trials(trials)
            frames, curve = mean_curve(best)
            reach[core] = {t: frames_to_reach(frames, curve, t) for t in THRESHOLDS}
            lines.append(f"| {NAMES.get(core, core)} | {len(trials)} | {np.mean([b.eval_reward for b in best]):+.3f} | "
                         + " | ".join(_millions(reach[core][t]) for t in THRESHOLDS) + " |")
        lines.append("")
        if "fw" in reach and reach["fw"][0.8]:
            ratios = [f"{NAMES[c]} / fast weights = {reach[c][0.8] / reach['fw'][0.8]:.2f}"
                      for c in ("lstm", "irnn") if c in reach and reach[c][0.8]]
            missing = [NAMES[c] for c in ("lstm", "irnn") if c in reach and not reach[c][0.8]]
            lines.append("Frames to reach 0.8: " + "; ".join(ratios + [f"{m} never reached it" for m in missing])
                         + ".")
        paper = PAPER_FIG5.get((game.size, game.blank_after))
        if paper:
            lines.append(f"The paper's Fig. 5 (read from the plot, x unit unknown): {paper}.")
        lines.append("")
    lines += ["Every trial (the top 5 of each group marked ★):", "",
              "| trial | lr | S | η | λ | last evaluation | mean of the curve | frames to 0.8 | wall time |",
              "|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for (_, _core), trials in found.items():
        best = {t.name for t in top_trials(trials)} if len(trials) >= TOP else set()
        for t in sorted(trials, key=lambda t: t.name):
            o = t.options
            fw = o.get("core") == "fw"
            lines.append(f"| {t.name}{' ★' if t.name in best else ''} | {o['lr']:g} | "
                         + (f"{o['inner_steps']} | {o['fast_lr']:g} | {o['decay']:g}" if fw else "– | – | –")
                         + f" | {t.eval_reward:+.3f} | {t.curve_mean:+.3f} | "
                         f"{_millions(frames_to_reach(t.frames, t.rewards, 0.8))} | {t.elapsed_s / 60:.1f} min |")
    return "\n".join(lines) + "\n"


def draw(out: Path, options: dict, path: Path) -> Path:
    """One panel per game: each core's top-5 mean training reward against frames, the range of the
    five shaded. Needs matplotlib (ValueError without it)."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        raise ValueError("plotting needs matplotlib: pip install 'fastweights_np[plot]'") from None
    from fastweights_np.atomic import atomic_write_bytes

    found = collect(out, options)
    games = games_of(options)
    fig, axes = plt.subplots(1, len(games), figsize=(5.5 * len(games), 4.2), squeeze=False)
    for ax, game in zip(axes[0], games, strict=True):
        for i, core in enumerate(c for c in ("fw", "lstm", "irnn") if c in options["cores"]):
            trials = found[(game.name, core)]
            if len(trials) < TOP:
                continue
            best = top_trials(trials)
            frames, curve = mean_curve(best)
            runs = np.array([b.rewards[:len(frames)] for b in best])
            ax.plot(frames / 1e6, curve, color=f"C{i}", label=DISPLAY_NAMES.get(core, core) if core != "irnn"
                    else NAMES[core])
            ax.fill_between(frames / 1e6, runs.min(axis=0), runs.max(axis=0), color=f"C{i}", alpha=0.15)
        ax.set_title(f"Catch N = {game.size}, blank after M = {game.blank_after}")
        ax.set_xlabel("environment frames (millions)")
        ax.set_ylabel(f"mean episode reward (top {TOP} of {options['trials']})")
        ax.set_ylim(-1.05, 1.05)
        ax.grid(alpha=0.3)
        ax.legend(loc="lower right", fontsize="small")
    fig.tight_layout()
    atomic_write_bytes(path, lambda f: fig.savefig(f, format="png", dpi=120))
    plt.close(fig)
    return path


def _game_text(text: str) -> str:
    parse_game(text)
    return text.lower()


FIG5 = Experiment(
    name="fig5",
    help="the paper's Fig. 5: random search of fw, LSTM and ReLU RNN agents on Catch N=16 M=3 and N=24 M=5",
    description=(
        "Random search as the paper does it: for each game and agent, --trials runs of 'fastweights-np train "
        "catch' with the learning rate drawn log-uniform in [1e-4, 1e-2] and, for fast weights, S in {1, 2, 3}, "
        "η log-uniform in [0.1, 1], λ uniform in [0.85, 0.99] (docs/catch.md). Each trial is a run in its own "
        "directory under --out; finished trials are reused, interrupted ones resumed. At the end it writes "
        "fig5.md (frames to reach mean reward 0.5, 0.8, 0.9 of each agent's top 5, and every trial) and "
        "fig5_curves.png (the top-5 mean reward against frames)."
    ),
    options=(
        Option("games", ["16x3", "24x5"], "the games NxM (N the screen, M the frames shown)", _game_text, many=True,
               default_text="16x3 24x5"),
        Option("budget_scale", [1.0, 1.0], "each game's frames per trial as a multiple of --frames",
               positive_float, many=True, default_text="1 1"),
        Option("cores", list(CORES), "the agents' cores (irnn: the paper's ReLU RNN)", choices=CORES, many=True,
               default_text="fw irnn lstm"),
        Option("trials", 8, "trials per game and agent", positive_int),
    ),
    runs=grid,
    report=report,
    figure_runs=lambda options: [],
    defaults={"frames": 4_500_000, "eval_every": 500, "seeds": [0]},
    quick={"frames": 60_000, "eval_every": 50},  # about 4 minutes on 2 cores
    budget="frames",
    done_key="frames",
    budget_help="environment frames per trial, times each game's --budget-scale",
    seeds_help="search seeds (trial i of seed s trains with seed 1000 s + i)",
    draw=draw,
)
