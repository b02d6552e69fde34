"""One time step of the fast-weights RNN, in the matrix and the attention form.

Both steps compute, for every sequence of the batch (docs/math.md §5):

    A_t = λ A_{t-1} + η h_{t-1} h_{t-1}ᵀ                   (Eq. 1)
    z_t = W h_{t-1} + d_t,   d_t = C x_t + b               (the sustained boundary condition)
    h_t = inner loop on z_t with A_t                       (Eq. 5)

The input drive d_t does not depend on the recurrence, so the sequence level computes it for
all t at once and hands each step its slice.
"""

from __future__ import annotations

from functools import partial

import numpy as np

from fastweights_np.config import FastWeightsConfig
from fastweights_np.cores.fast_weights.inner_loop import inner_loop_backward, inner_loop_forward
from fastweights_np.cores.fast_weights.memory import (
    attention_read_backward,
    attention_read_forward,
    fast_update_backward,
    fast_update_forward,
    matrix_read_backward,
    matrix_read_forward,
)
from fastweights_np.ops import affine_backward, affine_forward

Params = dict[str, np.ndarray]


def matrix_step_forward(
    h_prev: np.ndarray,
    A_prev: np.ndarray,
    drive: np.ndarray,
    params: Params,
    decay: float,
    fast_lr: float,
    cfg: FastWeightsConfig,
) -> tuple[tuple[np.ndarray, np.ndarray], tuple]:
    """One step with an explicit fast-weight matrix per sequence.

    Parameters
    ----------
    h_prev : (B, H), h_{t-1}
    A_prev : (B, H, H), A_{t-1}
    drive : (B, H), d_t = C x_t + b
    params : uses W (H, H), g (H,), beta (H,)
    decay, fast_lr : λ and η
    cfg : inner-loop options

    Returns
    -------
    (h, A) : h_t (B, H) and A_t (B, H, H)
    cache : for :func:`matrix_step_backward`
    """
    A, update_cache = fast_update_forward(A_prev, h_prev, decay, fast_lr)
    Wh, rec_cache = affine_forward(h_prev, params["W"], None)
    read = partial(matrix_read_forward, A)
    h, loop_cache = inner_loop_forward(Wh + drive, read, params["g"], params["beta"], cfg)
    return (h, A), (update_cache, rec_cache, loop_cache)


def matrix_step_backward(
    dout: tuple[np.ndarray, np.ndarray], cache: tuple
) -> tuple[np.ndarray, np.ndarray, np.ndarray, dict]:
    """Backward of :func:`matrix_step_forward`.

    dout = (dh_t, dA_t) where dA_t is the gradient reaching A_t from later steps
    (λ dA_{t+1}) or from the final state. The inner loop adds Σ_s da^(s) h^(s-1)ᵀ to dA_t
    before it flows through Eq. 1 into h_{t-1} and A_{t-1}.

    Returns
    -------
    dh_prev : (B, H), dA_prev : (B, H, H), ddrive : (B, H)
    grads : {"W", "g", "beta", "decay", "fast_lr"}
    """
    dh, dA = dout
    update_cache, rec_cache, loop_cache = cache
    dz, dg, dbeta, memory_grads = inner_loop_backward(dh, loop_cache, matrix_read_backward)
    for (dA_s,) in memory_grads:
        dA = dA + dA_s
    dh_prev, dW, _ = affine_backward(dz, rec_cache)
    dA_prev, dh_prev_fast, ddecay, dfast_lr = fast_update_backward(dA, update_cache)
    grads = {"W": dW, "g": dg, "beta": dbeta, "decay": ddecay, "fast_lr": dfast_lr}
    return dh_prev + dh_prev_fast, dA_prev, dz, grads


def attention_step_forward(
    past: np.ndarray,
    drive: np.ndarray,
    params: Params,
    decay: float,
    fast_lr: float,
    A0: np.ndarray | None,
    cfg: FastWeightsConfig,
) -> tuple[np.ndarray, tuple]:
    """One step in the attention form: A_t u is computed from ``past`` (Eq. 4).

    Parameters
    ----------
    past : (B, t, H), h_0 .. h_{t-1}; h_{t-1} = past[:, -1]
    drive : (B, H), d_t = C x_t + b
    params : uses W (H, H), g (H,), beta (H,)
    decay, fast_lr : λ and η
    A0 : (B, H, H) initial memory, or None for zero
    cfg : inner-loop options

    Returns
    -------
    h : (B, H), h_t
    cache : for :func:`attention_step_backward`
    """
    Wh, rec_cache = affine_forward(past[:, -1], params["W"], None)
    read = partial(attention_read_forward, past, decay=decay, fast_lr=fast_lr, A0=A0)
    h, loop_cache = inner_loop_forward(Wh + drive, read, params["g"], params["beta"], cfg)
    return h, (past.shape, rec_cache, loop_cache)


def attention_step_backward(
    dh: np.ndarray, cache: tuple
) -> tuple[np.ndarray, np.ndarray, dict, np.ndarray | None]:
    """Backward of :func:`attention_step_forward`.

    Every read A_t u sends gradient straight to the past states it was computed from
    (dh_τ = w_τ (s_τ da + r_τ u), docs/math.md §3.3), so no dA_t is ever formed.

    Returns
    -------
    dpast : (B, t, H), ddrive : (B, H)
    grads : {"W", "g", "beta", "decay", "fast_lr"}
    dA0 : (B, H, H) or None
    """
    past_shape, rec_cache, loop_cache = cache
    dz, dg, dbeta, memory_grads = inner_loop_backward(dh, loop_cache, attention_read_backward)
    dpast = np.zeros(past_shape, dtype=dh.dtype)
    ddecay = dfast_lr = 0.0
    dA0 = None
    for dpast_s, ddecay_s, dfast_lr_s, dA0_s in memory_grads:
        dpast += dpast_s
        ddecay += ddecay_s
        dfast_lr += dfast_lr_s
        if dA0_s is not None:
            dA0 = dA0_s if dA0 is None else dA0 + dA0_s
    dh_prev, dW, _ = affine_backward(dz, rec_cache)
    dpast[:, -1] += dh_prev
    grads = {"W": dW, "g": dg, "beta": dbeta, "decay": ddecay, "fast_lr": dfast_lr}
    return dpast, dz, grads, dA0
