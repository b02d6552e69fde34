"""A linear head: out = W h + b on the last state or on every state (docs/math.md §2).

    h   = select(hs, at)              (B, H) or (B, T, H)
    out = h Wᵀ + b                    (B, O) or (B, T, O)

The canonical model's readout (logits = V h_T + c) is this head with W = V, b = c, at = "last".
"""

from __future__ import annotations

from typing import Any

from fastweights_np.heads.select import select_backward, select_forward
from fastweights_np.ops import affine_backward, affine_forward


def linear_head_forward(hs: Any, W: Any, b: Any, at: str = "last") -> tuple[Any, tuple]:
    """out = W h + b for h = h_T (``at`` = "last") or every h_t ("all").

    Parameters
    ----------
    hs : (B, T, H), the core's states h_1..h_T
    W : (O, H), b : (O,)
    at : "last" or "all"

    Returns
    -------
    out : (B, O) or (B, T, O)
    cache : for :func:`linear_head_backward`
    """
    h, select_cache = select_forward(hs, at)
    out, affine_cache = affine_forward(h, W, b)
    return out, (select_cache, affine_cache)


def linear_head_backward(dout: Any, cache: tuple) -> tuple[Any, Any, Any]:
    """(dhs (B, T, H), dW (O, H), db (O,)) for the upstream gradient ``dout`` on out."""
    select_cache, affine_cache = cache
    dh, dW, db = affine_backward(dout, affine_cache)
    return select_backward(dh, select_cache), dW, db
