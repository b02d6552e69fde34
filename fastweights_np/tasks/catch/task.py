"""The Catch task's record (paper Sec. 4.4): the game's options, the agent's, and how a run is
built from them for the actor-critic trainer (``fastweights_np.train.actor_critic``)."""

from __future__ import annotations

from fastweights_np.tasks.catch import CORES
from fastweights_np.tasks.catch.agent import FW_AGENT_DEFAULTS, AgentConfig, CatchAgent
from fastweights_np.tasks.catch.env import PADDLE_STARTS, CatchConfig, CatchEnv
from fastweights_np.tasks.catch.examine import evaluate_run
from fastweights_np.tasks.catch.reproduce import FIG5
from fastweights_np.tasks.options import (
    Option,
    backend_of,
    core_options,
    model_options,
    positive_int,
    resolve_model_options,
)
from fastweights_np.tasks.task import ActorCriticRun, Task

OPTIONS = (
    Option("size", 16, "N, the screen's side (an episode is N frames)", positive_int),
    Option("blank_after", 3, "M, frames shown before the screen goes blank", positive_int),
    Option("paddle_start", "centre", "where the paddle starts", choices=PADDLE_STARTS),
)
MODEL_OPTIONS = (
    Option("input_units", 128, "ReLU units between the frame and the core", positive_int),
    *model_options(core="fw", hidden=128, dtype="float32", fw_defaults=FW_AGENT_DEFAULTS, cores=CORES),
)
TRAINER_DEFAULTS: dict = {}


def resolve(options: dict) -> dict:
    """The model group's derived defaults, but the matrix form for fw on the Numba kernels: the
    agent carries A_t from step to step while it acts, which the attention form recomputes from
    its keys at every step (benchmarks/bench_catch.py: 1.4× the frames per second at N = 16)."""
    options = dict(options)
    if options["core"] == "fw" and options["form"] is None and (options["backend"] or "numba") == "numba":
        options["form"] = "matrix"
    return resolve_model_options(options)


def build(options: dict) -> ActorCriticRun:
    """The agent and the game named by complete options."""
    o = options
    game = CatchConfig(size=o["size"], blank_after=o["blank_after"], paddle_start=o["paddle_start"])
    agent_cfg = AgentConfig(screen=o["size"], core=o["core"], hidden_size=o["hidden"], input_size=o["input_units"],
                            dtype=o["dtype"], core_options=core_options(o))
    agent = CatchAgent(agent_cfg, backend=backend_of(o))
    label = f"{o['core']} H={o['hidden']}"

    def make_env(episodes: int) -> CatchEnv:
        return CatchEnv(game, num_episodes=episodes, dtype=o["dtype"])

    return ActorCriticRun(
        agent=agent,
        make_env=make_env,
        info={"model": agent_cfg.to_dict(), "game": {"size": game.size, "blank_after": o["blank_after"],
                                                      "paddle_start": game.paddle_start}},
        label=label,
        title=f"Catch N={game.size} M={o['blank_after']}: {label}, {agent.param_count():,} parameters",
    )


TASK = Task(
    name="catch",
    help="partially observable Catch, an agent with memory (paper Sec. 4.4, Fig. 5)",
    description=(
        "Train an agent on Catch whose screen goes blank after the M-th frame (paper Sec. 4.4): a frame "
        "→ 128 ReLU units → a recurrent core (fw, irnn as the paper's ReLU RNN, lstm) → a policy over "
        "left / stay / right and a value, at every step; synchronous advantage actor-critic over E "
        "episodes played in step (docs/catch.md). metrics.jsonl holds the mean episode reward against "
        "environment frames and, every --eval-every updates, the evaluation's mean reward and catch rate. "
        "Ctrl-C or SIGTERM saves and stops; --resume continues exactly where the run stopped."
    ),
    trainer="actor_critic",
    options=OPTIONS,
    model_options=MODEL_OPTIONS,
    trainer_defaults=TRAINER_DEFAULTS,
    resolve=resolve,
    build=build,
    metric=None,
    show=None,
    evaluate_run=evaluate_run,
    experiments={FIG5.name: FIG5},
)
