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

from fastweights_np.backends.numba.workspace import FRESH, Fresh, Workspace
from fastweights_np.ops import affine_backward, affine_forward


@njit(cache=True)
def one_hot_drive(x, table, idx, drive):
    """True if every x[b, t] is one-hot; then idx[b, t] is the position of its 1 and
    drive[b, t] = table[idx[b, t]]. x (B, T, I), table (I, H), idx (B, T), drive (B, T, H).

    Counts per row, without an early exit inside it, so that the loop over I vectorises; a NaN
    counts as a nonzero entry.
    """
    B, T, I = x.shape
    for b in range(B):
        for t in range(T):
            row = x[b, t]
            nonzero = 0
            ones = 0
            pos = 0
            for i in range(I):
                v = row[i]
                one = v == 1
                nonzero += v != 0
                ones += one
                pos += i * one
            if nonzero != 1 or ones != 1:
                return False
            idx[b, t] = pos
            out = drive[b, t]
            source = table[pos]
            for j in range(out.shape[0]):
                out[j] = source[j]
    return True


@njit(cache=True)
def one_hot_drive_backward(ddrive, idx, dCT, db):
    """dCT[idx[b, t]] += dd[b, t] and db = Σ_{b,t} dd[b, t]: ddrive (B, T, H), idx (B, T),
    dCT (I, H) zeros, db (H,). db is summed in float64 (B·T terms)."""
    B, T, H = ddrive.shape
    total = np.zeros(H, np.float64)
    for b in range(B):
        for t in range(T):
            row = ddrive[b, t]
            out = dCT[idx[b, t]]
            for j in range(H):
                out[j] += row[j]
                total[j] += row[j]
    db[:] = total


class InputCache(NamedTuple):
    """What the drive's backward needs: the one-hot positions (B, T) and C, or the affine op's cache."""

    idx: np.ndarray | None
    C: np.ndarray
    affine_cache: tuple | None


def drive_forward(
    x: np.ndarray, C: np.ndarray, b: np.ndarray, memory: Workspace | Fresh = FRESH
) -> tuple[np.ndarray, InputCache]:
    """d = C x_t + b for all (b, t): x (B, T, I), C (H, I), b (H,) → (B, T, H), C-contiguous.
    For one-hot x the drive and the positions come from ``memory`` (``workspace.py``)."""
    idx = memory.empty("one_hot_idx", x.shape[:2], np.dtype(np.intp))
    drive = memory.empty("drive", (*x.shape[:2], C.shape[0]), C.dtype)
    if one_hot_drive(x, np.ascontiguousarray(C.T + b), idx, drive):
        return drive, InputCache(idx, C, None)
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
    dCT = np.zeros((C.shape[1], H), ddrive.dtype)
    db = np.empty(H, ddrive.dtype)
    one_hot_drive_backward(ddrive, idx, dCT, db)
    dx = ddrive @ C if need_dx else None
    return dx, np.ascontiguousarray(dCT.T), db
