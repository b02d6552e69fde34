"""Softmax cross-entropy, averaged over the batch (docs/math.md §2.4)."""

from __future__ import annotations

import numpy as np


def softmax_xent_forward(logits: np.ndarray, y: np.ndarray) -> tuple[float, tuple]:
    """L = −(1/B) Σ_b log softmax(logits_b)[y_b].

    log Σ_j exp(l_j) is taken as m + log1p(Σ_{j≠k} exp(l_j − m)) with k = argmax, m = l_k, so a
    confident prediction keeps its tiny loss (≈ Σ_{j≠k} exp(l_j − m)) instead of rounding it
    to 0 while its gradient p − onehot(y) is still resolved.

    Parameters
    ----------
    logits : (B, O)
    y : (B,) integer labels in [0, O)

    Returns
    -------
    loss : float
    cache : (log p, y) with log p = log softmax(logits), (B, O)
    """
    rows = np.arange(logits.shape[0])
    k = logits.argmax(axis=-1)
    shifted = logits - logits[rows, k][:, None]
    others = np.exp(shifted)
    others[rows, k] = 0.0
    log_p = shifted - np.log1p(others.sum(axis=-1, keepdims=True))
    loss = -float(log_p[rows, y].mean())
    return loss, (log_p, y)


def softmax_xent_backward(dloss: float, cache: tuple) -> np.ndarray:
    """dlogits = dloss · (p − onehot(y)) / B, shape (B, O).

    p_y − 1 is taken as expm1(log p_y), which keeps it when p_y rounds to 1.
    """
    log_p, y = cache
    rows = np.arange(log_p.shape[0])
    dlogits = np.exp(log_p)
    dlogits[rows, y] = np.expm1(log_p[rows, y])
    return dlogits * (dloss / log_p.shape[0])
