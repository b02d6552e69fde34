"""Affine map y = W x + b on the last axis (docs/math.md §2.1)."""

from __future__ import annotations

from fastweights_np.array_namespace import namespace


def affine_forward(x, W, b) -> tuple[object, tuple]:
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


def affine_backward(dy, cache: tuple) -> tuple:
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
    xp = namespace(dy, x)
    dx = dy @ W
    dy2 = xp.reshape(dy, (-1, dy.shape[-1]))  # every row of every leading axis
    dW = dy2.T @ xp.reshape(x, (-1, x.shape[-1]))
    db = xp.sum(dy2, axis=0) if has_bias else None
    return dx, dW, db
