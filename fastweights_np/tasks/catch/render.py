"""Catch screens as text or as an RGB image: one episode's frames side by side (docs/catch.md).

Two kinds of input, each for the episode ``episode`` of a batch:

* frames, what the agent sees: (N, N) one frame, (E, N, N) a frame of each episode (what
  ``CatchEnv.reset`` / ``step`` return) or (E, T, N, N) T frames of each episode (a strip).
  A lit pixel is the ball above row N − 1 and the paddle in it (so a ball that reached the bottom
  row reads as paddle); an all-zero frame is a blank one (a shown frame always holds the paddle).
* a :class:`~fastweights_np.tasks.catch.env.CatchState`, what is: its screen drawn whether or
  not the frame is blanked, the ball drawn over the paddle where they meet.

Both become a (T, N, N) grid of codes (EMPTY, BALL, PADDLE, BLANK), written as ``SYMBOLS`` or
painted in ``COLOURS``.
"""

from __future__ import annotations

import numbers
import os
from pathlib import Path

import numpy as np

from fastweights_np.atomic import atomic_write_bytes
from fastweights_np.config_base import check_positive_int
from fastweights_np.tasks.catch.env import MIN_SIZE, CatchState, draw

EMPTY, BALL, PADDLE, BLANK = range(4)
SYMBOLS = ".o= "  # SYMBOLS[code]: empty, ball, paddle, blank
COLOURS = np.array([[0, 0, 0], [255, 255, 255], [64, 160, 255], [48, 48, 48]], np.uint8)  # COLOURS[code]
GAP_COLOUR = np.array([128, 128, 128], np.uint8)
SEPARATOR = " | "  # between the frames of a text strip


def _check_episode(episode: object, num_episodes: int) -> int:
    if isinstance(episode, bool) or not isinstance(episode, numbers.Integral) or not 0 <= episode < num_episodes:
        raise ValueError(f"episode must be an integer in [0, E) = [0, {num_episodes}), got {episode!r}")
    return int(episode)


def _frames_codes(frames: np.ndarray, episode: int) -> np.ndarray:
    """(T, N, N) codes of one episode's frames, from (N, N), (E, N, N) or (E, T, N, N) frames."""
    if frames.ndim not in (2, 3, 4) or frames.shape[-1] != frames.shape[-2] or frames.shape[-1] < MIN_SIZE:
        raise ValueError(f"frames must have shape (N, N), (E, N, N) or (E, T, N, N) with N >= {MIN_SIZE}, "
                         f"got {frames.shape}")
    if frames.dtype.kind not in "biuf":
        raise TypeError(f"frames must be a real or boolean array of 0s and 1s, got dtype {frames.dtype}")
    lit = frames == 1
    if not (lit | (frames == 0)).all():
        bad = tuple(int(i) for i in np.argwhere(~lit & (frames != 0))[0])
        raise ValueError(f"frames must hold only 0 and 1, found {frames[bad]} at index {bad}")
    lit = lit.reshape((-1, *frames.shape[-3:]) if frames.ndim == 4 else (-1, 1, *frames.shape[-2:]))
    lit = lit[_check_episode(episode, len(lit))]
    codes = np.where(lit, BALL, EMPTY).astype(np.int8)
    codes[:, -1][lit[:, -1]] = PADDLE
    codes[~lit.any(axis=(1, 2))] = BLANK
    return codes


def _state_codes(state: CatchState, episode: int) -> np.ndarray:
    """(1, N, N) codes of the true screen of one episode of ``state``."""
    e = _check_episode(episode, state.num_episodes)
    return draw(state.ball_row, state.ball_col[[e]], state.paddle_x[[e]], state.config.size, np.int8,
                ball=BALL, paddle=PADDLE)


def screen_codes(x: np.ndarray | CatchState, episode: int = 0) -> np.ndarray:
    """The codes (EMPTY, BALL, PADDLE, BLANK) of one episode's frames or of its state.

    Parameters
    ----------
    x : frames (N, N), (E, N, N) or (E, T, N, N) of 0s and 1s, or a CatchState
    episode : which of the E episodes (0 for an (N, N) frame)

    Returns
    -------
    codes : (T, N, N) int8, T = 1 except for (E, T, N, N) frames
    """
    if isinstance(x, CatchState):
        return _state_codes(x, episode)
    if not isinstance(x, np.ndarray):
        raise TypeError(f"x must be a numpy.ndarray of frames or a CatchState, got {type(x).__name__}")
    return _frames_codes(x, episode)


def render_text(x: np.ndarray | CatchState, episode: int = 0) -> str:
    """One episode's frames side by side as N lines of text: '.' empty, 'o' ball, '=' paddle, a
    blank frame as spaces; frames separated by " | ". ``x``, ``episode``: :func:`screen_codes`."""
    symbols = np.array(list(SYMBOLS))[screen_codes(x, episode)]  # (T, N, N)
    return "\n".join(SEPARATOR.join("".join(row) for row in symbols[:, i]) for i in range(symbols.shape[1]))


def render_image(x: np.ndarray | CatchState, episode: int = 0, scale: int = 8, gap: int = 2) -> np.ndarray:
    """One episode's frames side by side as an RGB image, each pixel a ``scale``×``scale`` square
    coloured by ``COLOURS`` (black empty, white ball, blue paddle, dark grey blank), frames
    ``gap`` grey columns apart. ``x``, ``episode``: :func:`screen_codes`.

    Returns
    -------
    image : (N·scale, T·N·scale + (T − 1)·gap, 3) uint8
    """
    check_positive_int("scale", scale)
    if isinstance(gap, bool) or not isinstance(gap, numbers.Integral) or gap < 0:
        raise ValueError(f"gap must be an integer >= 0, got {gap!r}")
    pixels = COLOURS[screen_codes(x, episode)].repeat(scale, axis=1).repeat(scale, axis=2)  # (T, H, W, 3)
    T, H, W, _ = pixels.shape
    strip = np.empty((H, T, W + gap, 3), np.uint8)
    strip[:] = GAP_COLOUR
    strip[:, :, :W] = pixels.transpose(1, 0, 2, 3)
    return strip.reshape(H, T * (W + gap), 3)[:, : T * (W + gap) - gap]


def save_png(path: str | os.PathLike, image: np.ndarray) -> Path:
    """Write an (H, W, 3) or (H, W) uint8 ``image`` (e.g. of :func:`render_image`) to ``path`` as a
    PNG, atomically. Needs matplotlib (an optional extra); ValueError without it."""
    if not isinstance(image, np.ndarray) or image.dtype != np.uint8 or image.ndim not in (2, 3) \
            or (image.ndim == 3 and image.shape[2] != 3):
        raise ValueError("image must be a uint8 array of shape (H, W) or (H, W, 3), got "
                         f"{getattr(image, 'dtype', type(image).__name__)} {getattr(image, 'shape', '')}")
    try:
        from matplotlib import image as mpimg  # no pyplot, so no backend is chosen
    except ImportError:
        raise ValueError("writing a PNG needs matplotlib: pip install 'fastweights_np[plot]'") from None

    def write(f) -> None:
        mpimg.imsave(f, image, format="png", cmap="gray" if image.ndim == 2 else None, vmin=0, vmax=255)

    return atomic_write_bytes(path, write)
