"""ReLU f(v) = max(v, 0), the paper's nonlinearity (docs/math.md §2.2)."""

from __future__ import annotations

from fastweights_np.array_namespace import namespace


def relu_forward(v) -> tuple[object, object]:
    """f(v) = max(v, 0) elementwise.

    Parameters
    ----------
    v : any shape

    Returns
    -------
    out : same shape as ``v``
    cache : the mask v > 0
    """
    xp = namespace(v)
    mask = v > 0
    return xp.where(mask, v, xp.zeros_like(v)), mask


def relu_backward(dout, cache):
    """dv = dout ⊙ [v > 0] (the derivative at 0 is taken as 0)."""
    xp = namespace(dout)
    return xp.where(cache, dout, xp.zeros_like(dout))
