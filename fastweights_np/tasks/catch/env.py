"""The partially observable Catch game (paper Sec. 4.4, App. A.3), E episodes at once (docs/catch.md).

An N×N binary screen; an episode is N frames (observations) and N − 1 actions. A one-pixel ball
appears in row 0 at a column drawn uniformly from 0..N−1 and falls one row a frame: frame t
(t = 1..N) shows it in row t − 1. A two-pixel paddle in row N − 1 covers columns x and x + 1,
x ∈ [0, N − 2], starting at x = N // 2 − 1 ("centre") or uniformly in [0, N − 2] ("random").
Action a ∈ {0 = left, 1 = stay, 2 = right} moves x by a − 1, then x is clamped to [0, N − 2].

``reset`` returns frame 1; the k-th ``step`` (k = 1..N − 1) moves the paddles, lets the balls fall
one row and returns frame k + 1, the rewards and done. The reward is 0 until step N − 1, then +1
where the ball (now in row N − 1) is in column x or x + 1 and −1 elsewhere; done after step N − 1.
Frames M + 1..N are blank: all zeros, the paddle not drawn either (M = ``blank_after``).

Every episode of a batch runs in step, so the arrays are (E, N, N) frames and (E,) actions and
rewards, computed without a Python loop over episodes. Randomness (ball columns, then random
paddle starts, in that order) comes only from the generator given to ``reset``.
"""

from __future__ import annotations

import numbers
from dataclasses import dataclass

import numpy as np

from fastweights_np.config_base import check_choice, check_dtype, check_positive_int, store_plain

LEFT, STAY, RIGHT = 0, 1, 2
ACTIONS = ("left", "stay", "right")  # ACTIONS[a] names action a; it moves the paddle by a - 1
NUM_ACTIONS = len(ACTIONS)
PADDLE_STARTS = ("centre", "random")
PADDLE_WIDTH = 2
MIN_SIZE = 3

Seed = int | np.random.Generator | None


@dataclass(frozen=True)
class CatchConfig:
    """The game's options: the screen side N = ``size`` (>= 3), frames shown M = ``blank_after``
    (1 <= M <= N; None means N, nothing blanked), and where the paddle starts (``PADDLE_STARTS``)."""

    size: int = 24
    blank_after: int | None = None
    paddle_start: str = "centre"

    def __post_init__(self) -> None:
        if isinstance(self.size, bool) or not isinstance(self.size, numbers.Integral) or self.size < MIN_SIZE:
            raise ValueError(f"size (N) must be an integer >= {MIN_SIZE}, got {self.size!r}")
        if self.blank_after is None:
            object.__setattr__(self, "blank_after", self.size)
        m = self.blank_after
        if isinstance(m, bool) or not isinstance(m, numbers.Integral) or not 1 <= m <= self.size:
            raise ValueError(f"blank_after (M) must be an integer with 1 <= M <= N = {self.size}, got {m!r}")
        check_choice("paddle_start", self.paddle_start, PADDLE_STARTS)
        store_plain(self, ints=("size", "blank_after"))

    @property
    def num_steps(self) -> int:
        """Actions in an episode: N − 1."""
        return self.size - 1

    @property
    def centre(self) -> int:
        """The centred paddle start x = N // 2 − 1."""
        return self.size // 2 - 1


@dataclass(frozen=True)
class CatchState:
    """Where a batch stands after frame ``frame`` (1..N) was returned; read-only arrays.

    Attributes
    ----------
    config : the game's options
    frame : int, the number t of the frame last returned (the ball is in row t − 1)
    ball_col : (E,) int, the balls' columns
    paddle_x : (E,) int, the paddles' left columns
    """

    config: CatchConfig
    frame: int
    ball_col: np.ndarray
    paddle_x: np.ndarray

    @property
    def ball_row(self) -> int:
        return self.frame - 1

    @property
    def num_episodes(self) -> int:
        return len(self.ball_col)


def draw(ball_row: int, ball_col: np.ndarray, paddle_x: np.ndarray, size: int, dtype: np.dtype | str,
         ball: float = 1, paddle: float = 1) -> np.ndarray:
    """The screens of E episodes: ``paddle`` at (N − 1, x) and (N − 1, x + 1), then ``ball`` at
    (ball_row, ball_col) (over the paddle where they meet), zeros elsewhere.

    Parameters
    ----------
    ball_row : int in [0, N)
    ball_col, paddle_x : (E,) ints
    size : N

    Returns
    -------
    screens : (E, N, N) of ``dtype``
    """
    episodes = np.arange(len(ball_col))
    screens = np.zeros((len(ball_col), size, size), dtype)
    for dx in range(PADDLE_WIDTH):
        screens[episodes, size - 1, paddle_x + dx] = paddle
    screens[episodes, ball_row, ball_col] = ball
    return screens


def check_actions(actions: object, num_episodes: int) -> np.ndarray:
    """``actions`` as an (E,) integer array of values in {0, 1, 2}; TypeError for a non-integer
    dtype, ValueError for a wrong shape or value, each naming the expected and the actual."""
    a = np.asarray(actions)
    if a.dtype.kind not in "iu":
        raise TypeError(f"actions must have an integer dtype (0 = left, 1 = stay, 2 = right), got {a.dtype}")
    if a.shape != (num_episodes,):
        raise ValueError(f"actions must have shape (E,) = ({num_episodes},), one per episode, got {a.shape}")
    bad = (a < 0) | (a >= NUM_ACTIONS)
    if bad.any():
        e = int(np.flatnonzero(bad)[0])
        raise ValueError(f"actions must be 0 (left), 1 (stay) or 2 (right), found {a[e]} for episode {e}")
    return a.astype(np.intp, copy=False)


def as_generator(seed: object, current: np.random.Generator | None) -> np.random.Generator:
    """The generator ``reset(seed)`` draws from: a new PCG64 one for an integer seed, ``seed`` itself
    for a Generator (shared, not copied), ``current`` (or a new unseeded one) for None."""
    if isinstance(seed, np.random.Generator):
        return seed
    if seed is None:
        return current if current is not None else np.random.default_rng()
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral):
        raise TypeError(f"seed must be None, a non-negative integer or a numpy.random.Generator, got {seed!r}")
    if seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed!r}")
    return np.random.default_rng(int(seed))


class CatchEnv:
    """E Catch episodes run in step (module docstring; docs/catch.md).

    Parameters
    ----------
    config : the game's options (:class:`CatchConfig`)
    num_episodes : E >= 1
    dtype : the frames' and rewards' dtype, "float32" or "float64"
    """

    def __init__(self, config: CatchConfig | None = None, num_episodes: int = 1, dtype: str = "float32"):
        config = CatchConfig() if config is None else config
        if not isinstance(config, CatchConfig):
            raise TypeError(f"config must be a CatchConfig, got {type(config).__name__}")
        check_positive_int("num_episodes", num_episodes)
        check_dtype("dtype", dtype)
        self.config, self.num_episodes, self.dtype = config, int(num_episodes), np.dtype(dtype)
        self._rng: np.random.Generator | None = None
        self._frame: int | None = None  # the number of the frame last returned; None before reset
        self._ball_col = np.zeros(0, np.intp)  # (E,) once reset
        self._paddle_x = np.zeros(0, np.intp)  # (E,) once reset

    @property
    def done(self) -> bool:
        """True once the last frame (N) was returned."""
        return self._frame == self.config.size

    @property
    def state(self) -> CatchState:
        """A read-only copy of the current state; RuntimeError before :meth:`reset`."""
        self._check_started("state")
        ball_col, paddle_x = self._ball_col.copy(), self._paddle_x.copy()
        ball_col.flags.writeable = paddle_x.flags.writeable = False
        return CatchState(self.config, self._frame, ball_col, paddle_x)

    def reset(self, seed: Seed = None) -> np.ndarray:
        """Start E new episodes; return their first frames.

        Parameters
        ----------
        seed : an integer (a new generator, ``default_rng(seed)``), a ``numpy.random.Generator``
            (drawn from, so advanced), or None (the generator of the previous reset, or an unseeded
            one at the first)

        Returns
        -------
        frames : (E, N, N), frame 1 (ball in row 0)
        """
        self._rng = as_generator(seed, self._rng)
        cfg, E = self.config, self.num_episodes
        self._ball_col = self._rng.integers(0, cfg.size, E).astype(np.intp)
        if cfg.paddle_start == "random":
            self._paddle_x = self._rng.integers(0, cfg.size - 1, E).astype(np.intp)
        else:
            self._paddle_x = np.full(E, cfg.centre, np.intp)
        self._frame = 1
        return self._observe()

    def step(self, actions: np.ndarray) -> tuple[np.ndarray, np.ndarray, bool]:
        """Move the paddles by ``actions``, let the balls fall one row.

        Parameters
        ----------
        actions : (E,) integers, 0 = left, 1 = stay, 2 = right

        Returns
        -------
        frames : (E, N, N), the next frame (all zeros after frame M)
        rewards : (E,), 0 before the last step; at it +1 for a caught ball, −1 for a missed one
        done : bool, True after step N − 1 (then call :meth:`reset`)
        """
        self._check_started("step()")
        cfg = self.config
        if self.done:
            raise RuntimeError(f"step() after the episodes ended: an episode has N - 1 = {cfg.num_steps} steps; "
                               "call reset() to start new ones")
        moves = check_actions(actions, self.num_episodes) - STAY
        self._paddle_x = np.clip(self._paddle_x + moves, 0, cfg.size - PADDLE_WIDTH)
        self._frame += 1
        rewards = np.zeros(self.num_episodes, self.dtype)
        if self.done:
            caught = (self._ball_col >= self._paddle_x) & (self._ball_col < self._paddle_x + PADDLE_WIDTH)
            rewards[:] = np.where(caught, 1, -1)
        return self._observe(), rewards, self.done

    def _observe(self) -> np.ndarray:
        """(E, N, N): the current frame, blank after frame M."""
        cfg = self.config
        if self._frame > cfg.blank_after:
            return np.zeros((self.num_episodes, cfg.size, cfg.size), self.dtype)
        return draw(self._frame - 1, self._ball_col, self._paddle_x, cfg.size, self.dtype)

    def _check_started(self, what: str) -> None:
        if self._frame is None:
            raise RuntimeError(f"{what} before reset(): call reset(seed) to start the episodes first")
