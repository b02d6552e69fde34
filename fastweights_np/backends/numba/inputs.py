"""The input drive d_t = C x_t + b for all t, and its backward, without a dense product for
one-hot inputs.

When every x_t is a one-hot vector (all entries 0 except a single 1), C x_t is column
``idx`` of C, so the drive is a row gather from the table Cᵀ + b (bit for bit what
``x @ C.T + b`` gives, since the other products are exact zeros) and dC is a scatter-add of
dz_t into those columns. Any other x goes through the reference's affine op.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from numba import njit

from fastweights_np.ops import affine_backward, affine_forward


@njit(cache=True)
def one_hot_indices(x, idx):
    """True, with idx[b, t] = the position of the 1 in x[b, t], if every x[b, t] is one-hot."""
    B, T, I = x.shape
    for b in range(B):
        for t in range(T):
            found = -1
            for i in range(I):
                v = x[b, t, i]
                if v == 1:
                    if found >= 0:
                        return False
                    found = i
                elif v != 0:
                    return False
            if found < 0:
                return False
            idx[b, t] = found
    return True


@njit(cache=True)
def scatter_rows(rows, idx, out):
    """out[idx[n]] += rows[n] for every n: (N, H) rows into (I, H) ``out``."""
    for n in range(rows.shape[0]):
        r = out[idx[n]]
        for j in range(rows.shape[1]):
            r[j] += rows[n, j]


class InputCache(NamedTuple):
    """What the drive's backward needs: the one-hot positions (B, T) and C, or the affine op's cache."""

    idx: np.ndarray | None
    C: np.ndarray
    affine_cache: tuple | None


def drive_forward(x: np.ndarray, C: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, InputCache]:
    """d = C x_t + b for all (b, t): x (B, T, I), C (H, I), b (H,) → (B, T, H), C-contiguous."""
    idx = np.empty(x.shape[:2], np.intp)
    if one_hot_indices(x, idx):
        return (C.T + b)[idx], InputCache(idx, C, None)
    drive, affine_cache = affine_forward(x, C, b)
    return np.ascontiguousarray(drive), InputCache(None, C, affine_cache)


def drive_backward(
    ddrive: np.ndarray, cache: InputCache, need_dx: bool
) -> tuple[np.ndarray | None, np.ndarray, np.ndarray]:
    """(dx, dC, db) from dd (B, T, H). For one-hot x, dx is only formed when ``need_dx``
    (None otherwise) and dC is a scatter-add; any other x uses the affine op's backward."""
    idx, C, affine_cache = cache
    if idx is None:
        return affine_backward(ddrive, affine_cache)
    H = ddrive.shape[-1]
    rows = ddrive.reshape(-1, H)
    dCT = np.zeros((C.shape[1], H), ddrive.dtype)
    scatter_rows(rows, idx.reshape(-1), dCT)
    dx = ddrive @ C if need_dx else None
    return dx, np.ascontiguousarray(dCT.T), rows.sum(axis=0)
