"""Softmax cross-entropy, averaged over the batch (docs/math.md §2.4)."""

from __future__ import annotations

import numpy as np


def softmax_xent_forward(logits: np.ndarray, y: np.ndarray) -> tuple[float, tuple]:
    """L = −(1/B) Σ_b log softmax(logits_b)[y_b].

    Parameters
    ----------
    logits : (B, O)
    y : (B,) integer labels in [0, O)

    Returns
    -------
    loss : float
    cache : (p, y) with p = softmax(logits), (B, O)
    """
    shifted = logits - logits.max(axis=-1, keepdims=True)
    log_z = np.log(np.exp(shifted).sum(axis=-1, keepdims=True))
    log_p = shifted - log_z
    rows = np.arange(logits.shape[0])
    loss = -float(log_p[rows, y].mean())
    return loss, (np.exp(log_p), y)


def softmax_xent_backward(dloss: float, cache: tuple) -> np.ndarray:
    """dlogits = dloss · (p − onehot(y)) / B, shape (B, O)."""
    p, y = cache
    dlogits = p.copy()
    dlogits[np.arange(p.shape[0]), y] -= 1.0
    return dlogits * (dloss / p.shape[0])
