"""Redundant copies of a complex key under fixed permutations (Danihelka et al. 2016, Sec. 3;
docs/baselines.md §3.1). Complex layout: see :mod:`fastweights_np.ops.complex_mul`."""

from __future__ import annotations

import numpy as np


def copy_permute_forward(r: np.ndarray, index: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """r_s = P_s r for every copy s: out[..., s, j] = r[..., index[s, j]].

    Parameters
    ----------
    r : (..., 2m) complex keys in [Re | Im] layout
    index : (S, 2m) integer; row s is the permutation P_s of the 2m real coordinates (for the
        A-LSTM, [π_s | π_s + m], the same permutation π_s of the m complex entries applied
        to the real and the imaginary parts)

    Returns
    -------
    out : (..., S, 2m)
    cache : ``index``
    """
    return r[..., index], index


def copy_permute_backward(dout: np.ndarray, cache: np.ndarray) -> np.ndarray:
    """dr = Σ_s P_sᵀ dout_s: coordinate index[s, j] of r receives dout[..., s, j].

    Each row of ``index`` must be a permutation (which :func:`copy_permute_forward` does not
    check), so P_sᵀ = P_s⁻¹ is a gather with the inverse permutation.

    Returns
    -------
    dr : (..., 2m)
    """
    inverse = np.argsort(cache, axis=-1)
    return np.take_along_axis(dout, np.broadcast_to(inverse, dout.shape), axis=-1).sum(axis=-2)
