"""Affine map y = W x + b on the last axis (docs/math.md §2.1)."""

from __future__ import annotations

import numpy as np


def affine_forward(x: np.ndarray, W: np.ndarray, b: np.ndarray | None) -> tuple[np.ndarray, tuple]:
    """y = W x + b, applied to every row of ``x``.

    Parameters
    ----------
    x : (..., n_in)
    W : (n_out, n_in)
    b : (n_out,) or None (no bias)

    Returns
    -------
    y : (..., n_out)
    cache : (x, W, has_bias)
    """
    y = x @ W.T
    if b is not None:
        y = y + b
    return y, (x, W, b is not None)


def affine_backward(
    dy: np.ndarray, cache: tuple
) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """Gradients of y = W x + b.

    dx = W dy,  dW = Σ_rows dy xᵀ,  db = Σ_rows dy.

    Parameters
    ----------
    dy : (..., n_out)
    cache : from :func:`affine_forward`

    Returns
    -------
    dx : (..., n_in), dW : (n_out, n_in), db : (n_out,) or None
    """
    x, W, has_bias = cache
    dx = dy @ W
    dy2 = dy.reshape(-1, dy.shape[-1])
    dW = dy2.T @ x.reshape(-1, x.shape[-1])
    db = dy2.sum(axis=0) if has_bias else None
    return dx, dW, db
