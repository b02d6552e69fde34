"""Hyperbolic tangent, the LSTM's cell nonlinearity (docs/baselines.md §1)."""

from __future__ import annotations

import numpy as np


def tanh_forward(v: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """tanh(v) elementwise.

    Parameters
    ----------
    v : any shape

    Returns
    -------
    out : same shape as ``v``, in (−1, 1)
    cache : ``out``
    """
    out = np.tanh(v)
    return out, out


def tanh_backward(dout: np.ndarray, cache: np.ndarray) -> np.ndarray:
    """dv = dout ⊙ (1 − tanh(v)²)."""
    t = cache
    return dout * (1.0 - t * t)
