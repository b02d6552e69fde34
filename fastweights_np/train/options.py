"""The trainers' options, declared once (fastweights_np.tasks.options.Option): the pieces every
trainer kind takes (the budget, the seed, Adam's learning rate and schedule, clipping, how often
to checkpoint) and the supervised trainer's group. A task changes only their defaults
(``Task.trainer_defaults``); the command line builds its arguments from these declarations."""

from __future__ import annotations

from fastweights_np.optim.schedule import SCHEDULES
from fastweights_np.tasks.options import Option, integer, nonneg_float, positive_float, positive_int, unit_interval

STEPS = Option("steps", 30_000, "Adam updates", positive_int)
SEED = Option("seed", 0, "seed of initialisation and batch order", integer)
LR = Option("lr", 1e-3, "Adam learning rate", positive_float)
LR_SCHEDULE = Option("lr_schedule", "constant", "constant, or cosine: from --lr down to 0 over the --steps updates",
                     choices=SCHEDULES)
CLIP = Option("clip", None, "clip gradients to this global norm", positive_float, default_text="none")
EVAL_EVERY = Option("eval_every", 500, "steps between evaluations", positive_int)
CHECKPOINT_EVERY = Option("checkpoint_every", 1000, "steps between checkpoints", positive_int)
BATCH_SIZE = Option("batch_size", 128, "mini-batch size", positive_int)

# The supervised trainer's options, in the order of ``train TASK --help``.
SUPERVISED_OPTIONS = (STEPS, SEED, LR, LR_SCHEDULE, BATCH_SIZE, CLIP, EVAL_EVERY, CHECKPOINT_EVERY)

# The actor-critic trainer's options (defaults: docs/catch.md, ours where the paper is silent).
ACTOR_CRITIC_OPTIONS = (
    Option("frames", 2_000_000, "environment frames to train on (observations; E·N per update)", positive_int),
    SEED,
    Option("lr", 7e-4, "the optimiser's learning rate", positive_float),
    Option("optimizer", "rmsprop", "rmsprop (shared statistics, α = 0.99) or adam", choices=("rmsprop", "adam")),
    Option("episodes", 32, "E, episodes played in step for each update", positive_int),
    Option("gamma", 0.99, "γ, the discount", unit_interval),
    Option("entropy_weight", 0.01, "β, the entropy bonus's weight", nonneg_float),
    Option("value_weight", 0.5, "c, the value loss's weight", nonneg_float),
    Option("clip", 5.0, "clip gradients to this global norm", positive_float),
    Option("log_every", 50, "updates between records of metrics.jsonl", positive_int),
    Option("eval_every", 500, "updates between evaluations", positive_int),
    Option("eval_episodes", 1000, "episodes per evaluation", positive_int),
    CHECKPOINT_EVERY,
)
