"""tanh, the nonlinearity of the ``activation="tanh"`` variant (docs/variants.md §2)."""

from __future__ import annotations

from fastweights_np.array_namespace import namespace


def tanh_forward(v) -> tuple[object, object]:
    """f(v) = tanh(v) elementwise.

    Parameters
    ----------
    v : any shape

    Returns
    -------
    out : same shape as ``v``
    cache : out itself (the derivative is 1 − tanh²)
    """
    out = namespace(v).tanh(v)
    return out, out


def tanh_backward(dout, cache):
    """dv = dout ⊙ (1 − tanh(v)²)."""
    return dout * (1.0 - cache * cache)
