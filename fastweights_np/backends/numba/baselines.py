"""The Numba backend's entry points for the baseline cores IRNN and LSTM.

``baseline_sequence_forward`` / ``baseline_sequence_backward`` take and return what the
reference's ``sequence_forward`` / ``sequence_backward`` of ``cores/irnn`` and ``cores/lstm``
take and return; the shared BPTT loop (``cores/recurrence.py``) hands calls over to them when
``cfg.backend == "numba"``. The math is the reference's (docs/baselines.md):

- IRNN: h_t = ReLU(W h_{t-1} + C x_t + b), or ReLU(LN(·)), is the fast-weights step with
  η = 0 and S = 0 (the reference reuses that core's activation for it), so it runs in the
  fast-weights kernels (``kernels.py``, attention form, no inner loop, LN as the preliminary
  vector's): no kernel of its own, no extra compiled signature. The drive C x_t + b is the
  fast-weights backend's (``inputs.py``: a gather for one-hot inputs).
- LSTM: the compiled step of ``lstm.py``; the drive N_in(C x_t) + b for all t and its backward
  (dx, dC, db and the input LN's gradients) are the reference's own vectorised functions, and
  dW is one matrix product over all (B·T) rows after the kernel.

The kernels do no bounds checks, so the shapes are checked first (the registry's checks, and
its errors, when anything is off); a forward cache is a :class:`BackendCache`.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from fastweights_np.backends import BackendCache
from fastweights_np.backends.numba.activation import scalars
from fastweights_np.backends.numba.arrays import chunk_gradient_arrays, contiguous, placeholder, summed_chunk_gradients
from fastweights_np.backends.numba.inputs import InputCache, drive_backward, drive_forward
from fastweights_np.backends.numba.kernels import backward_kernel, forward_kernel, n_chunks
from fastweights_np.backends.numba.lstm import lstm_backward_kernel, lstm_forward_kernel
from fastweights_np.backends.numba.threads import kernel_threads
from fastweights_np.backends.numba.workspace import FRESH
from fastweights_np.cores.irnn import IRNNConfig, IRNNState
from fastweights_np.cores.lstm import LSTMConfig, LSTMState
from fastweights_np.cores.preactivation import config_drive_forward, input_drive_backward
from fastweights_np.cores.registry import Core, get_core
from fastweights_np.validation import check_float_array

BACKEND = "numba"
CORE_OF_CONFIG = {IRNNConfig: "irnn", LSTMConfig: "lstm"}


def _core_of(cfg: object) -> Core:
    try:
        return get_core(CORE_OF_CONFIG[type(cfg)])
    except KeyError:
        raise TypeError(f"the Numba backend runs the IRNN and the LSTM, got a {type(cfg).__name__}") from None


def check_shapes(core: Core, params: object, x: object, cfg: object, state0: object) -> None:
    """Make sure the kernels get the shapes they index by: the parameters of ``core``, x
    (B, T, I) with B, T >= 1 and state0. Anything else raises the registry's named error."""
    shapes = core.param_shapes(cfg)
    zero = core.zero_state(cfg, np.shape(x)[0] if np.ndim(x) == 3 else 1, cfg.np_dtype)
    ok = (
        isinstance(params, dict)
        and set(params) == set(shapes)
        and all(isinstance(params[name], np.ndarray) and params[name].shape == shapes[name] for name in shapes)
        and isinstance(x, np.ndarray)
        and x.ndim == 3
        and x.shape[0] >= 1
        and x.shape[1] >= 1
        and x.shape[2] == cfg.input_size
        and (
            state0 is None
            or isinstance(state0, tuple)
            and len(state0) == len(zero)
            and all(np.shape(part) == like.shape for part, like in zip(state0, zero, strict=True))
        )
    )
    if not ok:
        core.check_inputs(params, x, cfg, state0)
        raise ValueError(f"params, x or state0 do not fit {cfg}")  # not reached: the check above names the error


class IRNNCache(NamedTuple):
    """What the IRNN's backward needs."""

    cfg: IRNNConfig
    names: tuple[str, ...]
    W: np.ndarray
    g: np.ndarray
    k: np.ndarray
    power: np.ndarray
    past: np.ndarray
    vhat: np.ndarray
    inv_sigma: np.ndarray
    inner: np.ndarray
    inputs: InputCache
    with_state0: bool


class LSTMCache(NamedTuple):
    """What the LSTM's backward needs."""

    cfg: LSTMConfig
    names: tuple[str, ...]
    W: np.ndarray
    ln: tuple[np.ndarray, ...]
    k: np.ndarray
    k4: np.ndarray
    past: np.ndarray
    cells: np.ndarray
    gates: np.ndarray
    tanh_n: np.ndarray
    ln_cache: tuple[np.ndarray, ...]
    drive_cache: tuple
    with_state0: bool


# ----------------------------------------------------------------------------------- IRNN
def irnn_forward(params: dict, x: np.ndarray, cfg: IRNNConfig, state0: IRNNState | None):
    """The IRNN over x in the fast-weights kernels (S = 0, LN as the preliminary vector's)."""
    dtype = cfg.np_dtype
    B, T, _ = x.shape
    H = cfg.hidden_size
    W, C, b = (contiguous(params[name], dtype) for name in ("W", "C", "b"))
    g, beta = (
        (contiguous(params["g"], dtype), contiguous(params["beta"], dtype))
        if cfg.layer_norm
        else (placeholder(1, dtype), placeholder(1, dtype))
    )
    drive, inputs = drive_forward(contiguous(x, dtype), C, b)
    k = scalars(0.0, 0.0, cfg.ln_eps, H, dtype)
    power = np.ones(T + 1, dtype)  # λ^k of the fast weights: not read with S = 0
    past = np.empty((B, T + 1, H), dtype)
    past[:, 0] = 0 if state0 is None else state0.h
    vhat = np.empty((B, T, 1, H), dtype)
    inner = np.empty((B, T, 1, H), dtype)
    inv_sigma = np.empty((B, T, 1), dtype)
    unused = placeholder(3, dtype)
    with kernel_threads():
        forward_kernel(
            n_chunks(B), False, drive, W, g, beta, k, power, unused, False, unused, False, 0, False, cfg.layer_norm,
            past, vhat, inv_sigma, inner,
        )
    cache = IRNNCache(cfg, tuple(params), W, g, k, power, past, vhat, inv_sigma, inner, inputs, state0 is not None)
    return (past[:, 1:], IRNNState(past[:, T])), cache


def irnn_backward(dpast: np.ndarray, dstate: IRNNState | None, cache: IRNNCache):
    """BPTT for :func:`irnn_forward`; dpast (B, T+1, H) holds dhs in [:, 1:] (overwritten)."""
    cfg, names, W, g, k, power, past, vhat, inv_sigma, inner, inputs, with_state0 = cache
    dtype = cfg.np_dtype
    B, T1, H = past.shape
    if dstate is not None:
        dpast[:, -1] += dstate.h
    n = n_chunks(B)
    ddrive = np.empty((B, T1 - 1, H), dtype)
    dW, dg, dbeta, dscalars = chunk_gradient_arrays(FRESH, n, H, dtype)
    unused = placeholder(3, dtype)
    with kernel_threads():
        backward_kernel(
            n, False, dpast, unused, False, unused, False, past, vhat, inv_sigma, inner, W, g, k, power, power, 0,
            False, cfg.layer_norm, ddrive, dW, dg, dbeta, dscalars,
        )
    grads = summed_chunk_gradients(dW, dg, dbeta, dscalars)
    dx, grads["C"], grads["b"] = drive_backward(ddrive, inputs, need_dx=True)
    return {name: grads[name] for name in names}, dx, (IRNNState(dpast[:, 0]) if with_state0 else None)


# ----------------------------------------------------------------------------------- LSTM
LSTM_LN_PARAMS = ("g_rec", "beta_rec", "g_cell", "beta_cell")


def lstm_forward(params: dict, x: np.ndarray, cfg: LSTMConfig, state0: LSTMState | None):
    """The LSTM over x: the reference's drive for all t, then the compiled recurrence."""
    dtype = cfg.np_dtype
    B, T, _ = x.shape
    H = cfg.hidden_size
    ln = cfg.layer_norm
    W = contiguous(params["W"], dtype)
    ln_params = tuple(contiguous(params[name], dtype) if ln else placeholder(1, dtype) for name in LSTM_LN_PARAMS)
    drive, drive_cache = config_drive_forward(params, contiguous(x, dtype), cfg)
    drive = contiguous(drive, dtype)
    k = scalars(0.0, 0.0, cfg.ln_eps, H, dtype)
    k4 = scalars(0.0, 0.0, cfg.ln_eps, 4 * H, dtype)
    past = np.empty((B, T + 1, H), dtype)
    cells = np.empty((B, T + 1, H), dtype)
    past[:, 0] = 0 if state0 is None else state0.h
    cells[:, 0] = 0 if state0 is None else state0.c
    gates = np.empty((B, T, 4 * H), dtype)
    tanh_n = np.empty((B, T, H), dtype)
    if ln:
        ln_cache = (np.empty((B, T, 4 * H), dtype), np.empty((B, T), dtype), np.empty((B, T, H), dtype),
                    np.empty((B, T), dtype))
    else:
        ln_cache = (placeholder(3, dtype), placeholder(2, dtype), placeholder(3, dtype), placeholder(2, dtype))
    g_rec, beta_rec, g_cell, beta_cell = ln_params
    with kernel_threads():
        lstm_forward_kernel(
            n_chunks(B), drive, W, g_rec, beta_rec, g_cell, beta_cell, k, k4, ln, past, cells, gates, tanh_n, *ln_cache
        )
    cache = LSTMCache(
        cfg, tuple(params), W, ln_params, k, k4, past, cells, gates, tanh_n, ln_cache, drive_cache, state0 is not None
    )
    return (past[:, 1:], LSTMState(past[:, T], cells[:, T])), cache


def lstm_backward(dpast: np.ndarray, dstate: LSTMState | None, cache: LSTMCache):
    """BPTT for :func:`lstm_forward`; dpast (B, T+1, H) holds dhs in [:, 1:] (overwritten)."""
    cfg, names, W, ln_params, k, k4, past, cells, gates, tanh_n, ln_cache, drive_cache, with_state0 = cache
    dtype = cfg.np_dtype
    B, T1, H = past.shape
    ln = cfg.layer_norm
    dc = np.zeros((B, H), dtype)
    if dstate is not None:
        dpast[:, -1] += dstate.h
        dc[:] = dstate.c
    n = n_chunks(B)
    ddrive = np.empty((B, T1 - 1, 4 * H), dtype)
    drec = np.empty_like(ddrive) if ln else placeholder(3, dtype)
    sums = [np.zeros((n, 4 * H if i < 2 else H) if ln else (1, 1), dtype) for i in range(4)]
    g_rec, _, g_cell, _ = ln_params
    with kernel_threads():
        lstm_backward_kernel(
            n, dpast, dc, past, cells, gates, tanh_n, *ln_cache, W, g_rec, g_cell, k, k4, ln, ddrive, drec, *sums
        )
    dx, grads = input_drive_backward(ddrive, drive_cache)
    da_rec = drec if ln else ddrive
    grads["W"] = da_rec.reshape(-1, 4 * H).T @ past[:, :-1].reshape(-1, H)
    if ln:
        grads.update(zip(LSTM_LN_PARAMS, (s.sum(axis=0) for s in sums), strict=True))
    return {name: grads[name] for name in names}, dx, (LSTMState(dpast[:, 0], dc) if with_state0 else None)


# ----------------------------------------------------------------------------- entry points
FORWARD = {"irnn": irnn_forward, "lstm": lstm_forward}
BACKWARD = {IRNNCache: irnn_backward, LSTMCache: lstm_backward}


def baseline_sequence_forward(
    params: dict[str, np.ndarray], x: np.ndarray, cfg: IRNNConfig | LSTMConfig, state0: NamedTuple | None = None
) -> tuple[tuple[np.ndarray, NamedTuple], BackendCache]:
    """The IRNN's or the LSTM's ``sequence_forward`` (as ``cfg`` says), computed by the kernels.

    Returns ((hs (B, T, H), state_T), cache), as the reference does.
    """
    core = _core_of(cfg)
    check_shapes(core, params, x, cfg, state0)
    (hs, state), cache = FORWARD[core.name](params, x, cfg, state0)
    return (hs, state), BackendCache(BACKEND, cache)


def baseline_sequence_backward(
    dout: tuple[np.ndarray, NamedTuple | None], cache: BackendCache
) -> tuple[dict, np.ndarray, NamedTuple | None]:
    """BPTT for a cache of :func:`baseline_sequence_forward`: (dhs, dstate_T or None) ->
    (grads, dx (B, T, I), dstate0 or None), as the reference's ``sequence_backward``."""
    dhs, dstate = dout
    data = cache.data
    cfg = data.cfg
    B, T1, H = data.past.shape
    dtype = cfg.np_dtype
    dhs = check_float_array("dhs", dhs, (B, T1 - 1, H), dtype)
    if dstate is not None:
        dstate = _core_of(cfg).check_state("dstate", dstate, B, cfg)
    dpast = np.empty((B, T1, H), dtype)
    dpast[:, 0] = 0
    dpast[:, 1:] = dhs
    return BACKWARD[type(data)](dpast, dstate, data)
