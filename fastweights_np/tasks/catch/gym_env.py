"""Catch as a Gymnasium environment: one episode of :class:`~fastweights_np.tasks.catch.env.CatchEnv`.

Gymnasium is optional (``pip install 'fastweights_np[gym]'``): nothing in the package imports
this module; importing it imports gymnasium. :func:`register` adds ``fastweights_np/Catch-v0``
to Gymnasium's registry, with the keyword arguments ``size`` (N), ``blank_after`` (M) and
``paddle_start``::

    from fastweights_np.tasks.catch import gym_env
    gym_env.register()
    env = gymnasium.make("fastweights_np/Catch-v0", size=8, blank_after=4)

Observation: the (N, N) float32 frame, Box(0, 1). Action: Discrete(3), 0 = left, 1 = stay,
2 = right. An episode terminates after N − 1 steps (never truncates); the reward is 0 until
then, ±1 at the last step. Randomness comes from Gymnasium's ``self.np_random``, so
``reset(seed=s)`` repeats an episode.
"""

from __future__ import annotations

from typing import Any

import numpy as np

try:
    import gymnasium
    from gymnasium import spaces
except ImportError:
    raise ImportError("the Gymnasium environment needs gymnasium: pip install 'fastweights_np[gym]' "
                      "(gymnasium>=1.2,<2)") from None

from fastweights_np.tasks.catch.env import NUM_ACTIONS, CatchConfig, CatchEnv
from fastweights_np.tasks.catch.render import render_image, render_text

ENV_ID = "fastweights_np/Catch-v0"
ENTRY_POINT = "fastweights_np.tasks.catch.gym_env:CatchGymEnv"


class CatchGymEnv(gymnasium.Env):
    """One Catch episode at a time (module docstring). ``render_mode`` "ansi" renders the true
    screen as text, "rgb_array" as an (8N, 8N, 3) uint8 image (``render.py``)."""

    metadata = {"render_modes": ["ansi", "rgb_array"], "render_fps": 4}

    def __init__(self, size: int = 24, blank_after: int | None = None, paddle_start: str = "centre",
                 render_mode: str | None = None):
        if render_mode is not None and render_mode not in self.metadata["render_modes"]:
            raise ValueError(f"render_mode must be None or one of {self.metadata['render_modes']}, got {render_mode!r}")
        self.config = CatchConfig(size=size, blank_after=blank_after, paddle_start=paddle_start)
        self.render_mode = render_mode
        self.observation_space = spaces.Box(0.0, 1.0, (size, size), np.float32)
        self.action_space = spaces.Discrete(NUM_ACTIONS)
        self._env = CatchEnv(self.config, num_episodes=1, dtype="float32")

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None) -> tuple[np.ndarray, dict]:
        """The first frame (N, N) and an empty info; ``options`` are not used."""
        super().reset(seed=seed)
        return self._env.reset(self.np_random)[0], {}

    def step(self, action: int) -> tuple[np.ndarray, float, bool, bool, dict]:
        """(next frame (N, N), reward, terminated, truncated = False, info = {}) for ``action``."""
        a = np.asarray(action)
        if a.shape != ():
            raise ValueError(f"action must be a single integer 0, 1 or 2, got shape {a.shape}")
        frames, rewards, done = self._env.step(a.reshape(1))
        return frames[0], float(rewards[0]), done, False, {}

    def render(self) -> str | np.ndarray | None:
        """The current screen (ball and paddle even in a blanked frame) as text or RGB; None
        without a render mode."""
        if self.render_mode == "ansi":
            return render_text(self._env.state)
        if self.render_mode == "rgb_array":
            return render_image(self._env.state)
        return None


def register() -> None:
    """Add ``ENV_ID`` to Gymnasium's registry (once; calling again does nothing)."""
    if ENV_ID not in gymnasium.registry:
        gymnasium.register(id=ENV_ID, entry_point=ENTRY_POINT)
