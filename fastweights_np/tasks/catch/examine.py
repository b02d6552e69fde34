"""What ``fastweights-np eval`` reports of a Catch run: the mean reward and the catch rate over
many fresh episodes, and a few episodes drawn as frame strips with the agent's actions (text, and
RUN/episodes.png where matplotlib is installed)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from fastweights_np.tasks.catch.env import ACTIONS
from fastweights_np.tasks.catch.render import render_image, render_text, save_png
from fastweights_np.tasks.rollout import evaluate, play
from fastweights_np.tasks.task import ActorCriticRun

EVAL_SEED = 20161205  # episodes drawn apart from training's ([seed, 1, k]) and its evaluations' ([seed, 2, k])


def evaluate_run(run: ActorCriticRun, params: dict, out_dir: Path, episodes: int, show: int) -> list[str]:
    """Lines for ``eval``: the mean reward and catch rate of ``episodes`` episodes, then ``show``
    episodes as strips of the frames the agent saw, each under the action it took."""
    result = evaluate(run.agent, params, run.make_env, episodes, np.random.default_rng([EVAL_SEED, 0]))
    lines = [f"{run.label}: mean episode reward {result['eval_reward']:+.3f}, catch rate {result['catch_rate']:.1%} "
             f"over {episodes:,} episodes"]
    if not show:
        return lines
    played = play(run.agent, params, run.make_env(show), show, np.random.default_rng([EVAL_SEED, 1]))
    size = int(round(np.sqrt(played.frames.shape[2])))
    frames = played.frames.reshape(show, -1, size, size)
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
