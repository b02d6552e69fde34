"""The readout every model shares: logits = V h_T + c, loss = batch-mean softmax cross-entropy.

    logits = V h_T + c              (B, O)
    loss   = mean_b −log softmax(logits_b)[y_b]
"""

from __future__ import annotations

import numpy as np

from fastweights_np.ops import affine_backward, affine_forward, softmax_xent_backward, softmax_xent_forward


def readout_loss_forward(
    h_T: np.ndarray, V: np.ndarray, c: np.ndarray, y: np.ndarray
) -> tuple[float, tuple]:
    """The loss of logits = V h_T + c against labels y.

    Parameters
    ----------
    h_T : (B, H), V : (O, H), c : (O,), y : (B,) integer labels in [0, O)

    Returns
    -------
    loss : float
    cache : for :func:`readout_loss_backward`
    """
    logits, affine_cache = affine_forward(h_T, V, c)
    loss, xent_cache = softmax_xent_forward(logits, y)
    return loss, (affine_cache, xent_cache, logits)


def readout_logits(cache: tuple) -> np.ndarray:
    """The logits (B, O) that :func:`readout_loss_forward` computed, read from its cache."""
    return cache[2]


def readout_loss_backward(cache: tuple) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(dh_T (B, H), dV (O, H), dc (O,)) for a loss gradient of 1."""
    affine_cache, xent_cache, _ = cache
    dh_T, dV, dc = affine_backward(softmax_xent_backward(1.0, xent_cache), affine_cache)
    return dh_T, dV, dc
