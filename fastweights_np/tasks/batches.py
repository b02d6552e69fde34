"""Mini-batches of an in-memory data set as a pure function of (seed, step), so a resumed run
draws exactly the batches an uninterrupted one would, with no random-generator state to save."""

from __future__ import annotations

import numpy as np


def batch_indices(n: int, batch_size: int, seed: int, step: int) -> np.ndarray:
    """Indices of the examples in mini-batch number ``step`` (0-based).

    Each epoch visits a fresh permutation of the n examples, drawn from
    ``default_rng([seed, epoch])``, in n // batch_size batches (the remainder is left out of that
    epoch). Step k is batch k mod (n // batch_size) of epoch k // (n // batch_size).
    """
    if batch_size < 1 or batch_size > n:
        raise ValueError(f"batch_size must be in [1, {n}] (the training set's size), got {batch_size}")
    per_epoch = n // batch_size
    epoch, k = divmod(step, per_epoch)
    order = np.random.default_rng([seed, epoch]).permutation(n)
    return order[k * batch_size : (k + 1) * batch_size]


def split_batches(split, batch_size: int):
    """The ``batches(seed, step) -> (x, y)`` function of an in-memory split (with .x and .y):
    the examples :func:`batch_indices` picks. ValueError now if ``batch_size`` exceeds the split."""
    n = len(split.y)
    if batch_size < 1 or batch_size > n:
        raise ValueError(f"batch_size must be in [1, {n}] (the training set's size), got {batch_size}")

    def batches(seed: int, step: int):
        idx = batch_indices(n, batch_size, seed, step)
        return split.x[idx], split.y[idx]

    return batches
