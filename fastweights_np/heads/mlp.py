"""An MLP head: one hidden ReLU layer, then a linear layer (the 100 ReLU units of paper Sec. 4.1).

    h   = select(hs, at)              (B, H) or (B, T, H)
    a   = ReLU(W₁ h + b₁)             (…, F)
    out = W₂ a + b₂                   (…, O)

Backward: docs/math.md §2 (affine and ReLU), then :func:`fastweights_np.heads.select_backward`.
"""

from __future__ import annotations

from typing import Any

from fastweights_np.heads.select import select_backward, select_forward
from fastweights_np.ops import affine_backward, affine_forward, relu_backward, relu_forward


def mlp_head_forward(hs: Any, W1: Any, b1: Any, W2: Any, b2: Any, at: str = "last") -> tuple[Any, tuple]:
    """out = W₂ ReLU(W₁ h + b₁) + b₂ for h = h_T (``at`` = "last") or every h_t ("all").

    Parameters
    ----------
    hs : (B, T, H)
    W1 : (F, H), b1 : (F,), W2 : (O, F), b2 : (O,)
    at : "last" or "all"

    Returns
    -------
    out : (B, O) or (B, T, O)
    cache : for :func:`mlp_head_backward`
    """
    h, select_cache = select_forward(hs, at)
    pre, hidden_cache = affine_forward(h, W1, b1)
    a, relu_cache = relu_forward(pre)
    out, out_cache = affine_forward(a, W2, b2)
    return out, (select_cache, hidden_cache, relu_cache, out_cache)


def mlp_head_backward(dout: Any, cache: tuple) -> tuple[Any, Any, Any, Any, Any]:
    """(dhs (B, T, H), dW1, db1, dW2, db2) for the upstream gradient ``dout`` on out."""
    select_cache, hidden_cache, relu_cache, out_cache = cache
    da, dW2, db2 = affine_backward(dout, out_cache)
    dpre = relu_backward(da, relu_cache)
    dh, dW1, db1 = affine_backward(dpre, hidden_cache)
    return select_backward(dh, select_cache), dW1, db1, dW2, db2
