"""One step of the LSTM, optionally layer-normalized (Ba, Kiros & Hinton 2016).

    a_t = N_rec(W h_{t-1}) + d_t,   d_t = N_in(C x_t) + b      (cores/preactivation.py)
    (a_f, a_i, a_o, a_u) = a_t                                  four blocks of H
    f = σ(a_f),  i = σ(a_i),  o = σ(a_o),  u = tanh(a_u)
    c_t = f ⊙ c_{t-1} + i ⊙ u
    h_t = o ⊙ tanh(N_cell(c_t))

N is the identity, or with layer_norm an LN with its own gain and bias (N_cell over the H
cell units). Derivation: ``docs/baselines.md`` §2.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from fastweights_np.cores.lstm.config import LSTMConfig
from fastweights_np.cores.preactivation import recurrent_backward, recurrent_forward
from fastweights_np.ops import (
    layernorm_backward,
    layernorm_forward,
    sigmoid_backward,
    sigmoid_forward,
    tanh_backward,
    tanh_forward,
)


class LSTMState(NamedTuple):
    """The LSTM's state after a step: h_t (B, H) and the cell c_t (B, H)."""

    h: np.ndarray
    c: np.ndarray


def zero_state(cfg: LSTMConfig, batch: int, dtype: np.dtype) -> LSTMState:
    """h_0 = c_0 = 0."""
    H = cfg.hidden_size
    return LSTMState(np.zeros((batch, H), dtype), np.zeros((batch, H), dtype))


def step_forward(
    state: LSTMState, drive: np.ndarray, params: dict[str, np.ndarray], cfg: LSTMConfig
) -> tuple[LSTMState, tuple]:
    """(h_t, c_t) from (h_{t-1}, c_{t-1}) = ``state`` and d_t = ``drive`` (B, 4H).

    Returns
    -------
    state : LSTMState(h_t, c_t)
    cache : for :func:`step_backward`
    """
    h_prev, c_prev = state
    Wh, rec_cache = recurrent_forward(params, h_prev, cfg.layer_norm, cfg.ln_eps)
    a_f, a_i, a_o, a_u = np.split(Wh + drive, 4, axis=-1)
    f, f_cache = sigmoid_forward(a_f)
    i, i_cache = sigmoid_forward(a_i)
    o, o_cache = sigmoid_forward(a_o)
    u, u_cache = tanh_forward(a_u)
    c = f * c_prev + i * u
    cell_ln_cache = None
    n = c
    if cfg.layer_norm:
        n, cell_ln_cache = layernorm_forward(c, params["g_cell"], params["beta_cell"], cfg.ln_eps)
    tanh_n, out_cache = tanh_forward(n)
    h = o * tanh_n
    cache = (rec_cache, c_prev, f, i, o, u, tanh_n, (f_cache, i_cache, o_cache, u_cache, out_cache), cell_ln_cache)
    return LSTMState(h, c), cache


def step_backward(dstate: LSTMState, cache: tuple) -> tuple[LSTMState, np.ndarray, dict]:
    """Backward of :func:`step_forward`.

    do = dh ⊙ tanh(n),  dc_t += N_cell'(tanh'(dh ⊙ o)),
    df = dc_t ⊙ c_{t-1},  di = dc_t ⊙ u,  du = dc_t ⊙ i,  dc_{t-1} = dc_t ⊙ f,
    da = (σ'(df), σ'(di), σ'(do), tanh'(du)),  dd_t = da,  (dh_{t-1}, dW, ...) = N_rec'(da).

    Returns
    -------
    dstate_prev : LSTMState(dh_{t-1}, dc_{t-1}), ddrive : (B, 4H),
    grads : {"W"[, "g_rec", "beta_rec", "g_cell", "beta_cell"]}
    """
    dh, dc = dstate
    rec_cache, c_prev, f, i, o, u, tanh_n, (f_cache, i_cache, o_cache, u_cache, out_cache), cell_ln_cache = cache
    do = dh * tanh_n
    dn = tanh_backward(dh * o, out_cache)
    cell_grads = {}
    if cell_ln_cache is not None:
        dn, cell_grads["g_cell"], cell_grads["beta_cell"] = layernorm_backward(dn, cell_ln_cache)
    dc = dc + dn
    da = np.concatenate(
        (
            sigmoid_backward(dc * c_prev, f_cache),
            sigmoid_backward(dc * u, i_cache),
            sigmoid_backward(do, o_cache),
            tanh_backward(dc * i, u_cache),
        ),
        axis=-1,
    )
    dh_prev, grads = recurrent_backward(da, rec_cache)
    grads.update(cell_grads)
    return LSTMState(dh_prev, dc * f), da, grads
