"""Playing episodes with an agent: what the actor-critic trainer learns from and what ``eval``
of an agent's run reports. A batch of E episodes runs in step; the agent acts step by step,
carrying its state, and every action is sampled from its policy with one uniform draw of the
generator given.

An agent may offer ``actor(params, episodes)``, an object that acts on a batch of episodes
from the zero state and carries the state itself (``act(frame) -> logits``): a faster path
that computes what :class:`StepActor`, the reference over ``agent.act``, computes (the Catch
agent's, ``tasks/catch/acting.py``, bit for bit)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple, Protocol

import numpy as np

from fastweights_np.errors import NonFiniteError
from fastweights_np.ops.softmax_xent import log_softmax


class Agent(Protocol):
    """What the trainer needs from an agent (``tasks/catch/agent.py``)."""

    def init_params(self, seed: int) -> dict[str, np.ndarray]: ...

    def zero_state(self, episodes: int) -> tuple: ...

    def act(self, params: dict, frame: np.ndarray, state: tuple) -> tuple: ...

    def loss_and_grad(self, params: dict, frames: np.ndarray, actions: np.ndarray, returns: np.ndarray, *,
                      entropy_weight: float, value_weight: float) -> tuple[float, dict, dict]: ...


class Env(Protocol):
    """A batch of episodes in step: ``reset(seed) -> frames (E, ...)``, ``step(actions (E,)) ->
    (frames, rewards (E,), done)``."""

    def reset(self, seed: Any = None) -> np.ndarray: ...

    def step(self, actions: np.ndarray) -> tuple[np.ndarray, np.ndarray, bool]: ...


class Actor(Protocol):
    """Acts on a batch of E episodes in step: ``act(frame (E, P)) -> logits (E, A)``, the
    agent's state carried from one call to the next (from the zero state)."""

    def act(self, frame: np.ndarray) -> np.ndarray: ...


class StepActor:
    """The reference :class:`Actor`: ``agent.act(params, frame, state)`` step after step from
    ``agent.zero_state(episodes)``, the state it returns carried to the next step (a
    ``NonFiniteError`` of a step names that step's number, t = 1 the first)."""

    def __init__(self, agent: Agent, params: dict, episodes: int):
        self.agent, self.params, self.state = agent, params, agent.zero_state(episodes)
        self.t = 0

    def act(self, frame: np.ndarray) -> np.ndarray:
        self.t += 1
        try:
            logits, _, self.state = self.agent.act(self.params, frame, self.state)
        except NonFiniteError as exc:
            raise exc.at_time_step(self.t) from None
        return logits


class ReferenceActing:
    """``agent`` without its ``actor``: :func:`play` then acts by :class:`StepActor` (the
    reference that an agent's faster actor is tested against, and the benchmarks' baseline)."""

    def __init__(self, agent: Agent):
        self._agent = agent

    def __getattr__(self, name: str):
        if name == "actor":
            raise AttributeError(name)
        return getattr(self._agent, name)


MakeEnv = Callable[[int], Env]  # episodes -> an environment of that many episodes in step


class Episodes(NamedTuple):
    """E episodes of T steps: the frames the agent acted on (E, T, P), its actions (E, T), the
    rewards (E, T), and the frames seen (observations, the last one included)."""

    frames: np.ndarray
    actions: np.ndarray
    rewards: np.ndarray
    seen: int


def sample_actions(logits: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """One action per row of ``logits`` (E, A) drawn from softmax(logits) with one uniform each."""
    p = np.exp(log_softmax(logits.astype(np.float64)))
    u = rng.random(logits.shape[0])
    return np.minimum((np.cumsum(p, axis=1) < u[:, None]).sum(axis=1), logits.shape[1] - 1)


def play(agent: Agent, params: dict, env: Env, episodes: int, rng: np.random.Generator) -> Episodes:
    """Play ``episodes`` episodes to their end, the agent acting step by step (its state
    carried): by ``agent.actor(params, episodes)`` where the agent has one, else by
    :class:`StepActor`."""
    frame = env.reset(seed=rng)
    actor = agent.actor(params, episodes) if hasattr(agent, "actor") else StepActor(agent, params, episodes)
    frames, actions, rewards = [], [], []
    done = False
    while not done:
        observed = frame.reshape(episodes, -1)
        logits = actor.act(observed)
        action = sample_actions(logits, rng)
        frame, reward, done = env.step(action)
        frames.append(observed)
        actions.append(action)
        rewards.append(reward)
    T = len(frames)
    return Episodes(np.stack(frames, 1), np.stack(actions, 1), np.stack(rewards, 1).astype(np.float64),
                    episodes * (T + 1))


def evaluate(agent: Agent, params: dict, make_env: MakeEnv, episodes: int, rng: np.random.Generator) -> dict:
    """Mean episode reward and catch rate (the share of episodes whose reward is > 0) of
    ``episodes`` episodes played with the agent's policy."""
    played = play(agent, params, make_env(episodes), episodes, rng)
    total = played.rewards.sum(axis=1)
    return {"eval_reward": float(total.mean()), "catch_rate": float((total > 0).mean())}
