"""The actor-critic trainer: synchronous advantage actor-critic (A2C, the synchronous form of
A3C, Mnih et al. 2016) over a batch of episodes that run in step.

One update k = 0, 1, ...:

1. play E episodes: reset the environment and sample every action from the agent's policy,
   both drawn from ``default_rng([seed, 1, k])``, the agent acting step by step with its state;
2. the returns R_t = Σ_{j ≥ t} γ^{j−t} r_j of every step (the episodes end: no bootstrap);
3. the actor-critic loss of the episodes and its gradient (the agent's ``loss_and_grad``, one
   backward through each whole episode), checked finite, clipped by global norm;
4. one RMSProp (shared statistics, α = 0.99) or Adam step.

Every ``log_every`` updates a record goes to metrics.jsonl: the environment frames seen so far
(E·N per update), the mean episode reward and the loss's terms since the last record, the frames
per second; every ``eval_every`` updates also the mean reward and the catch rate of
``eval_episodes`` fresh episodes (drawn from ``default_rng([seed, 2, k])``). The run directory,
its lock, the checkpoint (from update 0 on), resume, Ctrl-C and the non-finite checks are the
supervised trainer's (``train/run_dir.py``, ``train/resume.py``, ``train/checkpoint.py``); a
resumed run logs what an uninterrupted one would (timings aside).
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from fastweights_np.files import read_json
from fastweights_np.optim.adam import AdamConfig, AdamState, adam_init, adam_step
from fastweights_np.optim.rmsprop import RMSPropConfig, RMSPropState, rmsprop_init, rmsprop_step
from fastweights_np.tasks.rollout import Agent, Env, MakeEnv, evaluate, play
from fastweights_np.train.checkpoint import checkpoint_path, load_groups, save_groups
from fastweights_np.train.clip import clip_by_global_norm
from fastweights_np.train.loop import check_update, run_loop
from fastweights_np.train.progress import Progress
from fastweights_np.train.resume import start_state
from fastweights_np.train.run_dir import append_metrics, in_run_dir, write_final

CHECKPOINT_FORMAT = "fastweights_np.actor_critic_checkpoint/1"
OPTIMIZERS = ("rmsprop", "adam")
RESUMABLE = ("frames",)  # what a resume may change (raise the budget)
LOSS_TERMS = ("loss", "policy", "entropy", "value")  # logged as means over the updates since the last record


@dataclass(frozen=True)
class ActorCriticConfig:
    """How to train: updates on ``episodes`` episodes played in step until ``frames``
    environment frames (observations) have been seen (E·N per update on Catch).

    lr : the optimiser's learning rate; optimizer : "rmsprop" (α = ``rmsprop_alpha``, ε =
        ``rmsprop_eps``) or "adam"
    gamma : the discount γ; entropy_weight β and value_weight c of the loss (docs/math.md §2.6)
    clip_norm : clip gradients by global norm (None: no clipping)
    log_every, eval_every, checkpoint_every : in updates; eval_episodes : episodes per evaluation
    seed : parameters, episodes and actions
    """

    frames: int = 2_000_000
    episodes: int = 32
    lr: float = 7e-4
    optimizer: str = "rmsprop"
    rmsprop_alpha: float = 0.99
    rmsprop_eps: float = 1e-5
    gamma: float = 0.99
    entropy_weight: float = 0.01
    value_weight: float = 0.5
    clip_norm: float | None = 5.0
    log_every: int = 50
    eval_every: int = 500
    eval_episodes: int = 1000
    checkpoint_every: int = 500
    seed: int = 0

    def __post_init__(self) -> None:
        for name in ("frames", "episodes", "log_every", "eval_every", "eval_episodes", "checkpoint_every"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be a positive integer, got {value!r}")
        if self.optimizer not in OPTIMIZERS:
            raise ValueError(f"optimizer must be one of {OPTIMIZERS}, got {self.optimizer!r}")
        for name, low, high in (("lr", 0.0, math.inf), ("gamma", 0.0, 1.0), ("entropy_weight", 0.0, math.inf),
                                ("value_weight", 0.0, math.inf)):
            value = getattr(self, name)
            ok = isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
            if not ok or not (low <= value <= high) or (name == "lr" and value == 0):
                raise ValueError(f"{name} must be a number in [{low}, {high}]" + (" above 0" if name == "lr" else "")
                                 + f", got {value!r}")
        if self.clip_norm is not None and not (math.isfinite(self.clip_norm) and self.clip_norm > 0):
            raise ValueError(f"clip_norm must be a positive number or None, got {self.clip_norm!r}")
        RMSPropConfig(lr=self.lr, alpha=self.rmsprop_alpha, eps=self.rmsprop_eps)  # validates them


@dataclass
class ACState:
    """The complete state of an actor-critic run after ``step`` updates (its checkpoint)."""

    step: int
    params: dict[str, np.ndarray]
    opt_step: int
    opt: dict[str, dict[str, np.ndarray]]  # the optimiser's arrays: {"v": ...} (RMSProp), {"m", "v"} (Adam)
    sums: dict[str, float] = field(default_factory=dict)  # since the last record: reward, episodes, terms
    frames: int = 0
    elapsed_s: float = 0.0
    last_eval_step: int = -1  # the step of the last record logged
    run_info: dict | None = None


def discounted_returns(rewards: np.ndarray, gamma: float) -> np.ndarray:
    """R_t = Σ_{j ≥ t} γ^{j−t} r_j for rewards (E, T) of episodes that end at T."""
    returns = np.zeros_like(rewards)
    running = np.zeros(rewards.shape[0], rewards.dtype)
    for t in range(rewards.shape[1] - 1, -1, -1):
        running = rewards[:, t] + gamma * running
        returns[:, t] = running
    return returns


@dataclass(frozen=True)
class ACResult:
    status: str  # "finished", "interrupted", or "unchanged" (a resume of a run finished with this budget)
    step: int
    frames: int
    eval_reward: float | None  # the last evaluation's mean episode reward
    catch_rate: float | None
    elapsed_s: float
    params: dict[str, np.ndarray]


def _optimizer(cfg: ActorCriticConfig):
    """(init(params) -> (step, arrays), step(params, grads, step, arrays) -> (params, step, arrays))."""
    if cfg.optimizer == "adam":
        hp = AdamConfig(lr=cfg.lr)

        def init(params):
            s = adam_init(params)
            return s.step, {"m": s.m, "v": s.v}

        def update(params, grads, k, arrays):
            params, s = adam_step(params, grads, AdamState(k, arrays["m"], arrays["v"]), hp)
            return params, s.step, {"m": s.m, "v": s.v}
    else:
        hp = RMSPropConfig(lr=cfg.lr, alpha=cfg.rmsprop_alpha, eps=cfg.rmsprop_eps)

        def init(params):
            s = rmsprop_init(params)
            return s.step, {"v": s.v}

        def update(params, grads, k, arrays):
            params, s = rmsprop_step(params, grads, RMSPropState(k, arrays["v"]), hp)
            return params, s.step, {"v": s.v}
    return init, update


def save_state(path: Path, state: ACState) -> Path:
    groups = {"params": state.params, **{f"opt.{k}": v for k, v in state.opt.items()}}
    meta = {"step": state.step, "opt_step": state.opt_step, "sums": state.sums, "frames": state.frames,
            "elapsed_s": state.elapsed_s, "last_eval_step": state.last_eval_step, "run": state.run_info}
    return save_groups(path, CHECKPOINT_FORMAT, groups, meta)


def load_state(path: Path) -> ACState:
    g, meta = load_groups(path, CHECKPOINT_FORMAT, ("params", "opt.m", "opt.v"))
    opt = {k[len("opt."):]: v for k, v in g.items() if k.startswith("opt.") and v}
    return ACState(int(meta["step"]), g["params"], int(meta["opt_step"]), opt, dict(meta["sums"]),
                   int(meta["frames"]), float(meta["elapsed_s"]), int(meta["last_eval_step"]), meta.get("run"))


def train(
    agent: Agent,
    make_env: MakeEnv,
    cfg: ActorCriticConfig,
    run_dir: str | Path | None = None,
    *,
    run_info: dict | None = None,
    resume: bool = False,
    progress: bool = True,
) -> ACResult:
    """Train ``agent`` on the episodes of ``make_env`` (module docstring).

    Parameters
    ----------
    agent : an :class:`Agent`
    make_env : episodes -> an :class:`Env` of that many episodes in step
    cfg : the schedule and the loss's weights
    run_dir : where run.json, metrics.jsonl, checkpoint.npz and final.json go (None: nowhere)
    run_info : JSON-able description of the run, written to run.json with "train": asdict(cfg)
    resume : continue the run in ``run_dir`` exactly (only ``frames`` may change, upwards)
    progress : a progress bar with frames per second and the mean reward

    Returns
    -------
    ACResult; status "interrupted" after Ctrl-C (the checkpoint saved), "unchanged" for a resume
    of a run that had finished with this budget

    Raises
    ------
    NonFiniteError : a non-finite loss or gradient (the update is not applied; the last
        checkpoint is kept and named)
    ValueError : another process trains in ``run_dir``, or a resume that does not match the run
    """
    run_dir = None if run_dir is None else Path(run_dir)
    info = json.loads(json.dumps(dict(run_info or {}, train=asdict(cfg))))
    return in_run_dir(run_dir, lambda run_dir: _train(agent, make_env, cfg, run_dir, info, resume, progress))


def _fresh(agent: Agent, cfg: ActorCriticConfig, info: dict) -> ACState:
    params = agent.init_params(cfg.seed)
    opt_step, opt = _optimizer(cfg)[0](params)
    return ACState(0, params, opt_step, opt, run_info=info)


def _train(agent: Agent, make_env: MakeEnv, cfg: ActorCriticConfig, run_dir: Path | None, info: dict,
           resume: bool, progress: bool) -> ACResult:
    def spent(state: ACState) -> bool:
        return state.frames >= cfg.frames

    state = start_state(run_dir, info, resume, fresh=lambda: _fresh(agent, cfg, info), load=load_state,
                        budget=("frames", cfg.frames), finished=spent, resumable=RESUMABLE)
    if state is None:
        final = read_json(run_dir / "final.json", "the final.json of a finished run")
        return ACResult("unchanged", final["step"], final["frames"], final["eval_reward"], final["catch_rate"],
                        final["elapsed_s"], load_state(checkpoint_path(run_dir)).params)
    _, update = _optimizer(cfg)
    env = make_env(cfg.episodes)
    saved_step = state.step if resume and checkpoint_path(run_dir).exists() else None
    started = time.perf_counter() - state.elapsed_s
    interval = {"start": time.perf_counter(), "frames": state.frames}
    last_eval: dict = {}
    bar = Progress(cfg.frames, state.frames, progress, unit="frame")

    def log_now(state: ACState) -> ACState:
        now = time.perf_counter()
        sums = state.sums
        record = {"step": state.step, "frames": state.frames,
                  "mean_reward": sums["reward"] / sums["episodes"] if sums.get("episodes") else None,
                  **{k: sums[k] / sums["updates"] for k in LOSS_TERMS if sums.get("updates")},
                  "frames_per_s": (state.frames - interval["frames"]) / max(now - interval["start"], 1e-9),
                  "elapsed_s": now - started}
        if state.step % cfg.eval_every == 0 or spent(state):
            last_eval.update(evaluate(agent, state.params, make_env, cfg.eval_episodes,
                                      np.random.default_rng([cfg.seed, 2, state.step])))
            record.update(last_eval)
        append_metrics(run_dir, record)
        bar.show(fps=f"{record['frames_per_s']:,.0f}", reward="-" if record["mean_reward"] is None
                 else f"{record['mean_reward']:+.3f}")
        interval.update(start=time.perf_counter(), frames=state.frames)
        return replace(state, sums={}, last_eval_step=state.step)

    def save(state: ACState) -> None:
        save_state(checkpoint_path(run_dir), replace(state, elapsed_s=time.perf_counter() - started))

    def update_state(state: ACState, saved_step: int | None) -> ACState:
        new = _update(agent, env, cfg, update, state, run_dir, saved_step)
        bar.update(new.frames - state.frames)
        return new

    try:
        state, status = run_loop(
            state,
            record_due=lambda s: s.step % cfg.log_every == 0 or s.step % cfg.eval_every == 0 or spent(s),
            record=log_now, checkpoint_due=lambda s: s.step % cfg.checkpoint_every == 0 or spent(s),
            save=None if run_dir is None else save, done=spent, update=update_state, saved_step=saved_step)
    finally:
        bar.close()
    elapsed = time.perf_counter() - started
    result = ACResult(status, state.step, state.frames, last_eval.get("eval_reward"), last_eval.get("catch_rate"),
                      elapsed, state.params)
    if run_dir is not None and status == "finished":
        write_final(run_dir, {k: v for k, v in asdict(result).items() if k != "params"})
    return result


def _update(agent: Agent, env: Env, cfg: ActorCriticConfig, update: Callable, state: ACState,
            run_dir: Path | None, saved_step: int | None) -> ACState:
    """One update (module docstring); NonFiniteError naming it and the checkpoint that is kept."""
    rng = np.random.default_rng([cfg.seed, 1, state.step])
    played = play(agent, state.params, env, cfg.episodes, rng)
    returns = discounted_returns(played.rewards, cfg.gamma)
    loss, grads, terms = agent.loss_and_grad(state.params, played.frames, played.actions, returns,
                                             entropy_weight=cfg.entropy_weight, value_weight=cfg.value_weight)
    check_update(loss, grads, "update", state.step + 1, run_dir, saved_step)
    grads, _ = clip_by_global_norm(grads, cfg.clip_norm)
    params, opt_step, opt = update(state.params, grads, state.opt_step, state.opt)
    sums = dict(state.sums)
    for key, value in (("reward", float(played.rewards.sum())), ("episodes", cfg.episodes), ("updates", 1),
                       ("loss", loss), *terms.items()):
        sums[key] = sums.get(key, 0.0) + value
    return replace(state, step=state.step + 1, params=params, opt_step=opt_step, opt=opt, sums=sums,
                   frames=state.frames + played.seen)


def config_from_options(options: dict) -> ActorCriticConfig:
    """The ActorCriticConfig named by a run's options (the keys of
    :data:`fastweights_np.train.options.ACTOR_CRITIC_OPTIONS`)."""
    o = options
    return ActorCriticConfig(
        frames=o["frames"], episodes=o["episodes"], lr=o["lr"], optimizer=o["optimizer"], gamma=o["gamma"],
        entropy_weight=o["entropy_weight"], value_weight=o["value_weight"], clip_norm=o["clip"],
        log_every=o["log_every"], eval_every=o["eval_every"], eval_episodes=o["eval_episodes"],
        checkpoint_every=o["checkpoint_every"], seed=o["seed"],
    )


def train_task(task: Any, run: Any, cfg: ActorCriticConfig, run_dir: Path | None = None, **kwargs) -> ACResult:
    """:func:`train` on what a task built (an ActorCriticRun)."""
    return train(run.agent, run.make_env, cfg, run_dir, **kwargs)


def describe(cfg: ActorCriticConfig) -> str:
    return f"{cfg.frames:,} frames, {cfg.episodes} episodes an update ({cfg.optimizer}, lr {cfg.lr:g})"


def report(result: ACResult) -> str:
    """One line on a finished run."""
    if result.eval_reward is None:
        return f"{result.step:,} updates, {result.frames:,} frames; {result.elapsed_s:.0f} s"
    return (f"mean episode reward {result.eval_reward:+.3f} (catch rate {result.catch_rate:.1%}) after "
            f"{result.step:,} updates, {result.frames:,} frames; {result.elapsed_s:.0f} s")
