"""Logistic sigmoid σ(v) = 1 / (1 + e^(−v)), the LSTM's gate nonlinearity (docs/baselines.md §1)."""

from __future__ import annotations

import numpy as np


def sigmoid_forward(v: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """σ(v) elementwise, computed without overflow for any finite v.

    With e = exp(−|v|): σ(v) = 1/(1 + e) for v >= 0 and e/(1 + e) for v < 0.

    Parameters
    ----------
    v : any shape

    Returns
    -------
    out : same shape as ``v``, in (0, 1)
    cache : ``out``
    """
    e = np.exp(-np.abs(v))
    out = np.where(v >= 0, 1.0, e) / (1.0 + e)
    return out, out


def sigmoid_backward(dout: np.ndarray, cache: np.ndarray) -> np.ndarray:
    """dv = dout ⊙ σ(v) ⊙ (1 − σ(v))."""
    s = cache
    return dout * s * (1.0 - s)
