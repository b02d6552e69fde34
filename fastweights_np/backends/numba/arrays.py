"""Arrays as the compiled kernels take them: C-contiguous, writeable, of one float dtype, so
that each dtype compiles one signature; and placeholders for the arguments a call does not use."""

from __future__ import annotations

import functools

import numpy as np

from fastweights_np.cores.fast_weights.memory import decay_powers


def contiguous(a: np.ndarray, dtype: np.dtype) -> np.ndarray:
    """``a`` itself when it is already a C-contiguous, writeable array of ``dtype``, else a copy that is."""
    if isinstance(a, np.ndarray) and a.dtype == dtype and a.flags.c_contiguous and a.flags.writeable:
        return a
    return np.require(a, dtype, ["C", "W"])


def placeholder(ndim: int, dtype: np.dtype) -> np.ndarray:
    """An unused array argument: right dtype and number of dimensions, one element."""
    return np.zeros((1,) * ndim, dtype)


@functools.lru_cache(maxsize=64)
def _powers(decay: float, steps: int, dtype: np.dtype) -> tuple[np.ndarray, np.ndarray]:
    power, dpower = (np.ascontiguousarray(a[::-1]) for a in decay_powers(decay, steps + 1, np.empty(0, dtype)))
    return power, dpower


def powers(decay: float, steps: int, dtype: np.dtype) -> tuple[np.ndarray, np.ndarray]:
    """(power, dpower), (steps + 1,) each: power[k] = λ^k and dpower[k] = k λ^(k-1) for
    k = 0..steps, from the reference's ``decay_powers`` (which lists k = steps..0). Computed once
    for the last few (λ, steps, dtype), since a training run asks for the same ones at every step;
    each call gets its own copies, as they end up in forward caches that callers hold."""
    power, dpower = _powers(float(decay), int(steps), np.dtype(dtype))
    return power.copy(), dpower.copy()
