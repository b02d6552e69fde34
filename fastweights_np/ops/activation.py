"""The activation of a recurrent layer, f(LN(v)) or f(v), with f = ReLU or tanh.

    out = f(LN(v; g, β))      with layer norm (statistics over the last axis of one example)
    out = f(v)                without

Shared by the fast-weights core (the preliminary vector and every inner iteration, Eq. 5) and
the IRNN (its whole step). Backward: LN's (docs/math.md §2.3) after f's (§2.2; tanh:
docs/variants.md).
"""

from __future__ import annotations

from fastweights_np.ops.layernorm import layernorm_backward, layernorm_forward
from fastweights_np.ops.relu import relu_backward, relu_forward
from fastweights_np.ops.tanh import tanh_backward, tanh_forward

NONLINEARITIES = {"relu": (relu_forward, relu_backward), "tanh": (tanh_forward, tanh_backward)}


def activation_forward(v, g, beta, use_ln: bool, eps: float, activation: str = "relu") -> tuple[object, tuple]:
    """f(LN(v)) if ``use_ln`` else f(v), with f = ReLU or tanh. Shapes (..., H) → (..., H).

    ``g``, ``beta`` (H,) are LN's gain and bias (unused without LN).
    """
    ln_cache = None
    if use_ln:
        v, ln_cache = layernorm_forward(v, g, beta, eps)
    f_forward, _ = NONLINEARITIES[activation]
    out, f_cache = f_forward(v)
    return out, (ln_cache, activation, f_cache)


def activation_backward(dout, cache: tuple) -> tuple:
    """Backward of :func:`activation_forward`: (dv, dg, dbeta); dg, dbeta are None without LN."""
    ln_cache, activation, f_cache = cache
    _, f_backward = NONLINEARITIES[activation]
    dv = f_backward(dout, f_cache)
    if ln_cache is None:
        return dv, None, None
    return layernorm_backward(dv, ln_cache)
