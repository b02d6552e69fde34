"""Arrays as the compiled kernels take them: C-contiguous, writeable, of one float dtype, so
that each dtype compiles one signature; placeholders for the arguments a call does not use; and
the per-chunk gradient arrays of the backward kernels, with their sum."""

from __future__ import annotations

import functools

import numpy as np

from fastweights_np.backends.numba.arguments import ChunkGrads
from fastweights_np.backends.numba.workspace import Fresh, Workspace
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
    """(power, dpower), (steps + 1,) each: power[j] = λ^j and dpower[j] = j λ^(j-1) for
    j = 0..steps, from the reference's ``decay_powers`` (which lists j = steps..0). Computed once
    for the last few (λ, steps, dtype), since a training run asks for the same ones at every step;
    each call gets its own copies, as they end up in forward caches that callers hold."""
    power, dpower = _powers(float(decay), int(steps), np.dtype(dtype))
    return power.copy(), dpower.copy()


def chunk_gradient_arrays(memory: Workspace | Fresh, n: int, H: int, dtype: np.dtype) -> ChunkGrads:
    """(dW, dg, dbeta, dscalars) from ``memory``: each of the n chunks' share of dW, dg, dβ and
    (dλ, dη), as the backward kernels take them (dg, dbeta, dscalars zeroed)."""
    dW = memory.empty("dW", (n, H, H), dtype)
    dg = memory.zeros("dg", (n, H), dtype)
    dbeta = memory.zeros("dbeta", (n, H), dtype)
    dscalars = memory.zeros("dscalars", (n, 2), np.dtype(np.float64))
    return ChunkGrads(dW, dg, dbeta, dscalars)


def summed_chunk_gradients(grads: ChunkGrads) -> dict:
    """W, g, beta (new arrays), decay and fast_lr (Python floats, summed in float64): the chunks'
    shares added up. The fast-weights entry points round dλ and dη to the model's dtype last
    (``cores.fast_weights.sequence.scalar_grads``), after adding the final memory's share."""
    dW, dg, dbeta, dscalars = grads
    return {
        "W": dW.sum(axis=0),
        "g": dg.sum(axis=0),
        "beta": dbeta.sum(axis=0),
        "decay": float(dscalars[:, 0].sum()),
        "fast_lr": float(dscalars[:, 1].sum()),
    }
