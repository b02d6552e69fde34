"""Layer normalization over the feature axis of ONE example at ONE step (docs/math.md §2.3).

LN(v) = g ⊙ (v − μ) / σ + β,  μ = mean(v),  σ = sqrt(var(v) + ε),
with the mean and the population variance taken over the last axis only: never over the
batch or time axes.
"""

from __future__ import annotations

from fastweights_np.array_namespace import namespace


def layernorm_forward(v, g, beta, eps: float) -> tuple[object, tuple]:
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
    xp = namespace(v, g, beta)
    mu = xp.mean(v, axis=-1, keepdims=True)
    centred = v - mu
    var = xp.mean(centred * centred, axis=-1, keepdims=True)
    inv_sigma = 1.0 / xp.sqrt(var + eps)
    v_hat = centred * inv_sigma
    return g * v_hat + beta, (v_hat, inv_sigma, g)


def layernorm_backward(dout, cache: tuple) -> tuple:
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
    xp = namespace(dout, v_hat)
    d_hat = dout * g
    dv = inv_sigma * (
        d_hat
        - xp.mean(d_hat, axis=-1, keepdims=True)
        - v_hat * xp.mean(d_hat * v_hat, axis=-1, keepdims=True)
    )
    rows = xp.reshape(dout, (-1, dout.shape[-1]))
    dg = xp.sum(rows * xp.reshape(v_hat, rows.shape), axis=0)
    dbeta = xp.sum(rows, axis=0)
    return dv, dg, dbeta
