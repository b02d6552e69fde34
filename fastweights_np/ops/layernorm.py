"""Layer normalization over the feature axis of ONE example at ONE step (docs/math.md §2.3).

LN(v) = g ⊙ (v − μ) / σ + β,  μ = mean(v),  σ = sqrt(var(v) + ε),
with the mean and the population variance taken over the last axis only: never over the
batch or time axes.
"""

from __future__ import annotations

import numpy as np


def layernorm_forward(
    v: np.ndarray, g: np.ndarray, beta: np.ndarray, eps: float
) -> tuple[np.ndarray, tuple]:
    """LN(v) = g ⊙ v̂ + β with v̂ = (v − μ)/σ per row.

    Parameters
    ----------
    v : (..., H)
    g, beta : (H,) gain and bias
    eps : ε > 0

    Returns
    -------
    out : (..., H)
    cache : (v̂, 1/σ, g)
    """
    mu = v.mean(axis=-1, keepdims=True)
    centred = v - mu
    var = (centred * centred).mean(axis=-1, keepdims=True)
    inv_sigma = 1.0 / np.sqrt(var + eps)
    v_hat = centred * inv_sigma
    return g * v_hat + beta, (v_hat, inv_sigma, g)


def layernorm_backward(
    dout: np.ndarray, cache: tuple
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Gradients of LN.

    With d̂ = dout ⊙ g:
    dv = (1/σ) (d̂ − mean(d̂) − v̂ ⊙ mean(d̂ ⊙ v̂)),  dg = Σ_rows dout ⊙ v̂,  dβ = Σ_rows dout.

    Parameters
    ----------
    dout : (..., H)
    cache : from :func:`layernorm_forward`

    Returns
    -------
    dv : (..., H), dg : (H,), dbeta : (H,)
    """
    v_hat, inv_sigma, g = cache
    d_hat = dout * g
    dv = inv_sigma * (
        d_hat
        - d_hat.mean(axis=-1, keepdims=True)
        - v_hat * (d_hat * v_hat).mean(axis=-1, keepdims=True)
    )
    rows = dout.reshape(-1, dout.shape[-1])
    dg = (rows * v_hat.reshape(rows.shape)).sum(axis=0)
    dbeta = rows.sum(axis=0)
    return dv, dg, dbeta
