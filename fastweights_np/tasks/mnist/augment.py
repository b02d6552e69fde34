"""Random translations of the training images: an option of ours, not the paper's (docs/mnist.md).

Every training image of mini-batch k is moved by (dy, dx), each drawn uniformly from
{-s, ..., s}, with zeros shifted in; the shifts come from ``default_rng([seed, k, SHIFT_STREAM])``,
so a resumed run draws the same ones. Evaluation reads the images as they are.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from fastweights_np.tasks.mnist.glimpses import IMAGE_SIZE, check_images

SHIFT_STREAM = 0x5817


def shift_images(images: np.ndarray, dy: np.ndarray, dx: np.ndarray) -> np.ndarray:
    """out[b, i, j] = images[b, i - dy_b, j - dx_b] where that lies in the image, else 0.

    Parameters
    ----------
    images : (B, 28, 28)
    dy, dx : (B,) integers, each |shift| <= 27
    """
    images = check_images(images)
    s = int(max(np.abs(dy).max(initial=0), np.abs(dx).max(initial=0)))
    if s >= IMAGE_SIZE:
        raise ValueError(f"shifts must be smaller than the image ({IMAGE_SIZE} pixels), got {s}")
    padded = np.pad(images, ((0, 0), (s, s), (s, s)))
    windows = np.lib.stride_tricks.sliding_window_view(padded, (IMAGE_SIZE, IMAGE_SIZE), axis=(1, 2))
    return windows[np.arange(len(images)), s - dy, s - dx].copy()


def with_random_shifts(batches: Callable[[int, int], tuple], max_shift: int) -> Callable[[int, int], tuple]:
    """``batches(seed, step) -> (images, labels)`` with every image shifted by up to ``max_shift``
    pixels in each direction (a pure function of (seed, step), like ``batches``)."""
    if isinstance(max_shift, bool) or not isinstance(max_shift, int) or not 0 <= max_shift < IMAGE_SIZE:
        raise ValueError(f"max_shift must be an integer in [0, {IMAGE_SIZE}), got {max_shift!r}")

    def shifted(seed: int, step: int) -> tuple:
        images, labels = batches(seed, step)
        rng = np.random.default_rng([seed, step, SHIFT_STREAM])
        dy, dx = rng.integers(-max_shift, max_shift + 1, (2, len(images)))
        return shift_images(images, dy, dx), labels

    return shifted
