"""tanh, the nonlinearity of the ``activation="tanh"`` variant (docs/variants.md §2)."""

from __future__ import annotations

from fastweights_np.array_namespace import namespace


def tanh_forward(v) -> tuple[object, object]:
    """out = tanh(v) elementwise, for ``v`` of any shape; the cache is ``out`` itself, since
    the derivative is 1 − tanh(v)²."""
    out = namespace(v).tanh(v)
    return out, out


def tanh_backward(dout, cache):
    """dv = dout ⊙ (1 − tanh(v)²), from the cached tanh(v)."""
    return dout * (1.0 - cache * cache)
