"""One step of the IRNN (Le, Jaitly & Hinton 2015), optionally layer-normalized.

    z_t = W h_{t-1} + d_t,     d_t = C x_t + b (computed for all t by the sequence)
    h_t = ReLU(z_t)            or ReLU(LN(z_t; g, beta)) with layer_norm

This is the fast-weights step with the fast weights removed (η = 0): the nonlinearity is the
activation that core uses too (``ops.activation_forward``). Derivation: ``docs/baselines.md`` §1.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from fastweights_np.cores.irnn.config import IRNNConfig
from fastweights_np.cores.preactivation import recurrent_backward, recurrent_forward
from fastweights_np.ops import activation_backward, activation_forward


class IRNNState(NamedTuple):
    """The IRNN's state after a step: h_t (B, H)."""

    h: np.ndarray


def zero_state(cfg: IRNNConfig, batch: int, dtype: np.dtype) -> IRNNState:
    """h_0 = 0."""
    return IRNNState(np.zeros((batch, cfg.hidden_size), dtype))


def step_forward(
    state: IRNNState, drive: np.ndarray, params: dict[str, np.ndarray], cfg: IRNNConfig
) -> tuple[IRNNState, tuple]:
    """h_t from h_{t-1} = state.h and d_t = ``drive`` (B, H).

    Returns
    -------
    state : IRNNState(h_t)
    cache : for :func:`step_backward`
    """
    Wh, rec_cache = recurrent_forward(params, state.h, False, cfg.ln_eps)
    g, beta = (params["g"], params["beta"]) if cfg.layer_norm else (None, None)
    h, act_cache = activation_forward(Wh + drive, g, beta, cfg.layer_norm, cfg.ln_eps)
    return IRNNState(h), (rec_cache, act_cache)


def step_backward(dstate: IRNNState, cache: tuple) -> tuple[IRNNState, np.ndarray, dict]:
    """dz = act'(dh_t);  dd_t = dz;  dh_{t-1} = Wᵀ dz;  dW = dz h_{t-1}ᵀ.

    Returns
    -------
    dstate_prev : IRNNState(dh_{t-1}), ddrive : (B, H), grads : {"W"[, "g", "beta"]}
    """
    rec_cache, act_cache = cache
    dz, dg, dbeta = activation_backward(dstate.h, act_cache)
    dh_prev, grads = recurrent_backward(dz, rec_cache)
    if dg is not None:
        grads.update(g=dg, beta=dbeta)
    return IRNNState(dh_prev), dz, grads
