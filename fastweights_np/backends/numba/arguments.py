"""The fast-weights kernels' arguments, grouped by what they mean.

Each group is a NamedTuple, which Numba takes as one argument (a tuple of its fields' types),
so a kernel call names five to nine groups instead of twenty-odd arrays and flags, and a
kernel reads ``tape.past`` where it read ``past``. The fields' types are part of a compiled
signature as the separate arguments were: every array is C-contiguous, writeable and of the
call's dtype (``arrays.contiguous``), every flag a bool and ``inner_steps`` an int, so that each
dtype compiles one signature per kernel (the constructors below coerce the flags and counts).

Shapes: B examples, T time steps, H hidden units, S inner steps, n chunks of the batch
(``kernels.n_chunks``). The LSTM's groups are in ``lstm.py``.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np


class Weights(NamedTuple):
    """The core's recurrent weights: W (H, H), and layer norm's gain g and bias β (H,)
    (placeholders (1,) where no layer norm runs)."""

    W: np.ndarray
    g: np.ndarray
    beta: np.ndarray


class Options(NamedTuple):
    """What a call's step does, besides its weights.

    scalars : (N_SCALARS,) λ, η, ε, 0, 1 and 1/H in the call's dtype (``activation.scalar_array``)
    power, dpower : (T+1,) λ^j and j λ^(j-1) for j = 0..T (``arrays.powers``)
    inner_steps : S, the iterations of the inner loop
    layer_norm : layer norm in the inner loop (s = 1..S)
    ln_preliminary : layer norm on the preliminary vector h^(0)
    """

    scalars: np.ndarray
    power: np.ndarray
    dpower: np.ndarray
    inner_steps: int
    layer_norm: bool
    ln_preliminary: bool


def options(
    scalars: np.ndarray, power: np.ndarray, dpower: np.ndarray, inner_steps: int, layer_norm: bool, ln_preliminary: bool
) -> Options:
    """:class:`Options` with the count an int and the flags bools (one compiled signature)."""
    return Options(scalars, power, dpower, int(inner_steps), bool(layer_norm), bool(ln_preliminary))


class Tape(NamedTuple):
    """What the forward keeps for the backward (docs/model.md):

    past (B, T+1, H) : past[b, 0] = h_0, past[b, t] = h_t
    vhat (B, T, S+1, H), inv_sigma (B, T, S+1) : layer norm's v̂ and 1/σ of every activation
        (unused without layer norm)
    inner (B, T, S+1, H) : inner[b, t-1, s] = h_t^(s)

    ``kernels.example_tape`` gives one example's: the same fields without the batch axis.
    """

    past: np.ndarray
    vhat: np.ndarray
    inv_sigma: np.ndarray
    inner: np.ndarray


class Memory(NamedTuple):
    """A fast-weight matrix per example that a call may or may not have: A (B, H, H) when
    ``used``, else a (1, 1, 1) placeholder (:func:`memory_of`)."""

    A: np.ndarray
    used: bool


def memory_of(A: np.ndarray | None, dtype: np.dtype) -> Memory:
    """``A`` as a used :class:`Memory`, or an unused one (a placeholder of ``dtype``) for None."""
    if A is None:
        return Memory(np.zeros((1, 1, 1), dtype), False)
    return Memory(A, True)


class ChunkGrads(NamedTuple):
    """The backward's parameter gradients, each chunk's share in its own row (added up
    afterwards: ``arrays.summed_chunk_gradients``):

    dW (n, H, H) : overwritten;  dg, dbeta (n, H) : zeros, added to;
    dscalars (n, 2) float64 : receives (dλ, dη)
    """

    dW: np.ndarray
    dg: np.ndarray
    dbeta: np.ndarray
    dscalars: np.ndarray


class Readout(NamedTuple):
    """The canonical model's readout logits = V h_T + c: V (O, H), c (O,); as the fused
    kernel's gradient output, each chunk's share: dV (n, O, H), dc (n, O)."""

    V: np.ndarray
    c: np.ndarray
