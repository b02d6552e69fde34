"""What ``fastweights-np eval`` reports of a Catch run: the mean reward and the catch rate over
many fresh episodes, and a few episodes drawn as frame strips with the agent's actions (text, and
RUN/episodes.png where matplotlib is installed). For the fast-weights core also the attention of
each step on the past steps, mean |a_{t,τ}| over the evaluated episodes (``attention.py``), as
digits and as RUN/attention.png (that mean and one panel per shown episode)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from fastweights_np.tasks.catch.attention import attention_reads, attention_text, describe, save_attention_png
from fastweights_np.tasks.catch.env import ACTIONS
from fastweights_np.tasks.catch.render import render_image, render_text, save_png
from fastweights_np.tasks.rollout import evaluate, play
from fastweights_np.tasks.task import ActorCriticRun

EVAL_SEED = 20161205  # episodes drawn apart from training's ([seed, 1, k]) and its evaluations' ([seed, 2, k])


def evaluate_run(run: ActorCriticRun, params: dict, out_dir: Path, episodes: int, show: int) -> list[str]:
    """Lines for ``eval``: the mean reward and catch rate of ``episodes`` episodes, then ``show``
    episodes as strips of the frames the agent saw, each under the action it took; for a fw agent
    then its attention on past steps, mean |a_{t,τ}| over the ``episodes`` episodes, as digits
    (and RUN/attention.png)."""
    result = evaluate(run.agent, params, run.make_env, episodes, np.random.default_rng([EVAL_SEED, 0]))
    lines = [f"{run.label}: mean episode reward {result['eval_reward']:+.3f}, catch rate {result['catch_rate']:.1%} "
             f"over {episodes:,} episodes"]
    played = None
    if show:
        played = play(run.agent, params, run.make_env(show), show, np.random.default_rng([EVAL_SEED, 1]))
        lines += _episode_lines(played, out_dir)
    if run.agent.cfg.core == "fw":
        # the evaluated episodes again: the same generator's draws, so the same frames
        evaluated = play(run.agent, params, run.make_env(episodes), episodes, np.random.default_rng([EVAL_SEED, 0]))
        lines += _attention_lines(run, params, evaluated.frames, None if played is None else played.frames, out_dir)
    return lines


def _episode_lines(played, out_dir: Path) -> list[str]:
    """Each episode played as its actions and its frames (text), and RUN/episodes.png."""
    show = len(played.frames)
    size = int(round(np.sqrt(played.frames.shape[2])))
    frames = played.frames.reshape(show, -1, size, size)
    lines = []
    for e in range(show):
        total = played.rewards[e].sum()
        lines.append(f"episode {e + 1}: reward {total:+.0f}; actions "
                     + " ".join(ACTIONS[a] for a in played.actions[e]))
        lines.append(render_text(frames[e:e + 1], 0))
    try:
        strips = [render_image(frames[e:e + 1], 0) for e in range(show)]
        gap = np.zeros((4, strips[0].shape[1], 3), np.uint8)
        image = np.concatenate([part for strip in strips for part in (strip, gap)][:-1], axis=0)
        lines.append(f"wrote {save_png(out_dir / 'episodes.png', image)} (the frames each episode showed, a row each)")
    except ValueError as exc:  # matplotlib missing: the text above is the drawing
        lines.append(f"no image: {exc}")
    return lines


def _attention_lines(run: ActorCriticRun, params: dict, evaluated: np.ndarray, shown: np.ndarray | None,
                     out_dir: Path) -> list[str]:
    """The mean |a_{t,τ}| over the evaluated episodes' frames (E, T, N²) as digits, and
    RUN/attention.png with that mean and a panel for each shown episode's |a| (frames ``shown``)."""
    timing = run.agent.core_cfg.fast_weight_timing
    blank_after = run.info["game"]["blank_after"]
    try:
        reads = attention_reads(run.agent, params, evaluated)
    except ValueError as exc:  # S = 0: the core never reads its fast weights
        return [f"no attention heat map: {exc}"]
    mean = np.abs(reads.weights).mean(axis=0)
    lines = [describe(timing, reads.inner_step, len(evaluated)), attention_text(mean, timing, blank_after)]
    per_episode = [] if shown is None else list(attention_reads(run.agent, params, shown).weights)
    try:
        path = save_attention_png(out_dir / "attention.png", mean, per_episode, timing=timing,
                                  blank_after=blank_after, mean_title=f"mean |a| over {len(evaluated):,} episodes")
        lines.append(f"wrote {path} (mean |a_t,τ| over the episodes, then each shown episode's)")
    except ValueError as exc:  # matplotlib missing: the digits above are the drawing
        lines.append(f"no image: {exc}")
    return lines
