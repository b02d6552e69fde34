"""Logistic sigmoid σ(v) = 1 / (1 + e^(−v)), the LSTM's gate nonlinearity (docs/baselines.md §1)."""

from __future__ import annotations

from fastweights_np.array_namespace import namespace


def sigmoid_forward(v) -> tuple[object, object]:
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
    xp = namespace(v)
    e = xp.exp(-xp.abs(v))
    out = xp.where(v >= 0, xp.ones_like(e), e) / (1.0 + e)
    return out, out


def sigmoid_backward(dout, cache):
    """dv = dout ⊙ σ(v) ⊙ (1 − σ(v))."""
    s = cache
    return dout * s * (1.0 - s)
