"""The fast-weights RNN over a whole sequence: forward, and backpropagation through time.

For t = 1..T, from the initial state (h_0, A_0) (zero unless given):

    A_t = λ A_{t-1} + η h_{t-1} h_{t-1}ᵀ
    z_t = W h_{t-1} + C x_t + b
    h_t = inner loop (Eq. 5)

The state carried between runs is (h_t, A_t): A_t is the memory that step t used, so a run
continued from (h_T, A_T) computes exactly what one longer run would. Derivation of the
backward, including how dA_t feeds every past h: ``docs/math.md`` §5–§6.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from fastweights_np.backends import backend_for, backend_of_cache
from fastweights_np.config import FastWeightsConfig
from fastweights_np.cores.fast_weights.memory import attention_memory_backward, attention_memory_forward
from fastweights_np.cores.fast_weights.step import (
    attention_step_backward,
    attention_step_forward,
    matrix_step_backward,
    matrix_step_forward,
)
from fastweights_np.ops import affine_backward, affine_forward
from fastweights_np.validation import check_float_array

CORE_PARAM_NAMES = ("W", "C", "b", "g", "beta")


class FastWeightsState(NamedTuple):
    """The recurrent state after a step: h_t (B, H) and the fast weights A_t (B, H, H)."""

    h: np.ndarray
    A: np.ndarray


def zero_grads(params: dict[str, np.ndarray]) -> dict:
    """Zero gradients for the core parameters, plus 0.0 for decay and fast_lr."""
    grads: dict = {name: np.zeros_like(params[name]) for name in CORE_PARAM_NAMES}
    grads["decay"] = 0.0
    grads["fast_lr"] = 0.0
    return grads


def _accumulate(total: dict, part: dict) -> None:
    for name, value in part.items():
        total[name] = total[name] + value


def check_state(name: str, state: object, batch: int, hidden: int, dtype: np.dtype) -> FastWeightsState:
    """Check a carried state: a FastWeightsState (or (h, A) pair) of shapes (B, H), (B, H, H)."""
    if not isinstance(state, tuple) or len(state) != 2:
        raise TypeError(f"{name} must be a FastWeightsState(h, A) or an (h, A) pair, got {type(state).__name__}")
    h = check_float_array(f"{name}.h", state[0], (batch, hidden), dtype)
    A = check_float_array(f"{name}.A", state[1], (batch, hidden, hidden), dtype)
    return FastWeightsState(h, A)


def sequence_forward(
    params: dict[str, np.ndarray],
    x: np.ndarray,
    cfg: FastWeightsConfig,
    state0: FastWeightsState | None = None,
    *,
    decay: float | None = None,
    fast_lr: float | None = None,
) -> tuple[tuple[np.ndarray, FastWeightsState], tuple]:
    """Run the core over x_1..x_T from (h_0, A_0).

    Parameters
    ----------
    params : W (H, H), C (H, I), b (H,), g (H,), beta (H,) in the config's dtype
    x : (B, T, I)
    cfg : the model's options; ``cfg.form`` picks the matrix or the attention form
    state0 : (h_0 (B, H), A_0 (B, H, H)), or None for zeros
    decay, fast_lr : override cfg's λ and η without validation (gradient checks use this
        to differentiate with respect to them at the ends of their range)

    Returns
    -------
    (hs, state) : hs (B, T, H) holds h_1..h_T; state = (h_T, A_T)
    cache : for :func:`sequence_backward`
    """
    backend = backend_for(cfg)
    if backend is not None:
        return backend.sequence_forward(params, x, cfg, state0, decay=decay, fast_lr=fast_lr)
    lam = cfg.decay if decay is None else decay
    eta = cfg.fast_lr if fast_lr is None else fast_lr
    B, T, _ = x.shape
    H = cfg.hidden_size
    dtype = x.dtype
    drive, drive_cache = affine_forward(x, params["C"], params["b"])  # d_t = C x_t + b, all t
    h0 = np.zeros((B, H), dtype) if state0 is None else state0.h
    A0 = None if state0 is None else state0.A

    if cfg.form == "matrix":
        h, A = h0, np.zeros((B, H, H), dtype) if A0 is None else A0
        hs = np.empty((B, T, H), dtype)
        steps = []
        for t in range(T):
            (h, A), step_cache = matrix_step_forward(h, A, drive[:, t], params, lam, eta, cfg)
            hs[:, t] = h
            steps.append(step_cache)
        state = FastWeightsState(h, A)
        memory_cache = None
    else:
        # past[:, τ] = h_τ for τ = 0..T; step t reads h_0..h_{t-1} = past[:, :t].
        past = np.empty((B, T + 1, H), dtype)
        past[:, 0] = h0
        steps = []
        for t in range(1, T + 1):
            h, step_cache = attention_step_forward(past[:, :t], drive[:, t - 1], params, lam, eta, A0, cfg)
            past[:, t] = h
            steps.append(step_cache)
        hs = past[:, 1:]
        A_T, memory_cache = attention_memory_forward(past[:, :T], lam, eta, A0)
        state = FastWeightsState(past[:, T], A_T)
    cache = (cfg.form, drive_cache, steps, memory_cache, state0 is not None, params)
    return (hs, state), cache


def sequence_backward(
    dout: tuple[np.ndarray, FastWeightsState | None], cache: tuple
) -> tuple[dict, np.ndarray, FastWeightsState | None]:
    """Backpropagation through time for :func:`sequence_forward`.

    Parameters
    ----------
    dout : (dhs, dstate): dhs (B, T, H) the gradient on every h_t; dstate the gradient on
        the final state (dh_T (B, H), dA_T (B, H, H)), or None
    cache : from :func:`sequence_forward`

    Returns
    -------
    grads : {"W", "C", "b", "g", "beta"} arrays and {"decay", "fast_lr"} floats
    dx : (B, T, I), the gradient with respect to the inputs
    dstate0 : (dh_0, dA_0), or None when the forward started from zeros
    """
    backend = backend_of_cache(cache)
    if backend is not None:
        return backend.sequence_backward(dout, cache)
    dhs, dstate = dout
    form, drive_cache, steps, memory_cache, had_state0, params = cache
    B, T, H = dhs.shape
    grads = zero_grads(params)
    ddrive = np.empty_like(dhs)

    if form == "matrix":
        dh = np.zeros((B, H), dhs.dtype) if dstate is None else dstate.h
        dA = np.zeros((B, H, H), dhs.dtype) if dstate is None else dstate.A
        for t in reversed(range(T)):
            dh, dA, ddrive[:, t], step_grads = matrix_step_backward((dhs[:, t] + dh, dA), steps[t])
            _accumulate(grads, step_grads)
        dh0, dA0 = dh, dA
    else:
        # dpast[:, τ] collects the gradient on h_τ; it is complete when step τ is reached
        # because every step t > τ has already deposited its share.
        dpast = np.zeros((B, T + 1, H), dhs.dtype)
        dpast[:, 1:] = dhs
        dA0 = None
        if dstate is not None:
            dpast[:, T] += dstate.h
            dpast_A, ddecay, dfast_lr, dA0 = attention_memory_backward(dstate.A, memory_cache)
            dpast[:, :T] += dpast_A
            _accumulate(grads, {"decay": ddecay, "fast_lr": dfast_lr})
        for t in reversed(range(1, T + 1)):
            dpast_t, ddrive[:, t - 1], step_grads, dA0_t = attention_step_backward(dpast[:, t], steps[t - 1])
            dpast[:, :t] += dpast_t
            _accumulate(grads, step_grads)
            if dA0_t is not None:
                dA0 = dA0_t if dA0 is None else dA0 + dA0_t
        dh0 = dpast[:, 0]
        if had_state0 and dA0 is None:
            dA0 = np.zeros((B, H, H), dhs.dtype)

    dx, grads["C"], grads["b"] = affine_backward(ddrive, drive_cache)
    return grads, dx, (FastWeightsState(dh0, dA0) if had_state0 else None)
