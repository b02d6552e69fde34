"""ReLU f(v) = max(v, 0), the paper's nonlinearity (docs/math.md §2.2)."""

from __future__ import annotations

import numpy as np


def relu_forward(v: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """f(v) = max(v, 0) elementwise.

    Parameters
    ----------
    v : any shape

    Returns
    -------
    out : same shape as ``v``
    cache : the mask v > 0
    """
    mask = v > 0
    return v * mask, mask


def relu_backward(dout: np.ndarray, cache: np.ndarray) -> np.ndarray:
    """dv = dout ⊙ [v > 0] (the derivative at 0 is taken as 0)."""
    return dout * cache
