"""The Numba backend's entry points for the baseline cores IRNN and LSTM.

``baseline_sequence_forward`` / ``baseline_sequence_backward`` take and return what the
reference's ``sequence_forward`` / ``sequence_backward`` of ``cores/irnn`` and ``cores/lstm``
take and return; ``get_core("irnn", backend="numba")`` and ``get_core("lstm", backend="numba")``
(``fastweights_np.backends``) give the core records with them (:func:`core_functions`). The
math is the reference's (docs/baselines.md):

- IRNN: h_t = ReLU(W h_{t-1} + C x_t + b), or ReLU(LN(·)), is the fast-weights step with
  η = 0 and S = 0 (the reference reuses that core's activation for it), so it runs in the
  fast-weights kernels (``kernels.py``, attention form, no inner loop, LN as the preliminary
  vector's): no kernel of its own, no extra compiled signature. The drive C x_t + b is the
  fast-weights backend's (``inputs.py``: a gather for one-hot inputs).
- LSTM: the compiled step of ``lstm.py``; the drive N_in(C x_t) + b for all t and its backward
  (dx, dC, db and the input LN's gradients) are the reference's own vectorised functions, and
  dW is one matrix product over all (B·T) rows after the kernel.

The kernels do no bounds checks, so the shapes they index by are made sure of first
(``guards.py``: the registry's checks, and their errors, when anything is off; ``get_core``
runs those checks in full before any backend); a forward cache is this backend's own
:class:`IRNNCache` or :class:`LSTMCache`.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from fastweights_np.backends.numba.activation import scalar_array
from fastweights_np.backends.numba.arguments import Options, Tape, Weights, memory_of, options
from fastweights_np.backends.numba.arrays import chunk_gradient_arrays, contiguous, placeholder, summed_chunk_gradients
from fastweights_np.backends.numba.guards import fit_dout, fit_inputs
from fastweights_np.backends.numba.inputs import InputCache, drive_backward, drive_forward
from fastweights_np.backends.numba.kernels import attention_backward_kernel, attention_forward_kernel, n_chunks
from fastweights_np.backends.numba.lstm import lstm_backward_kernel, lstm_forward_kernel
from fastweights_np.backends.numba.threads import kernel_threads
from fastweights_np.backends.numba.workspace import FRESH
from fastweights_np.cores.irnn import IRNNConfig, IRNNState
from fastweights_np.cores.lstm import LSTMConfig, LSTMState
from fastweights_np.cores.preactivation import config_drive_forward, input_drive_backward
from fastweights_np.cores.registry import Core, get_core

BACKEND = "numba"
CORE_OF_CONFIG = {IRNNConfig: "irnn", LSTMConfig: "lstm"}


def _core_of(cfg: object) -> Core:
    try:
        return get_core(CORE_OF_CONFIG[type(cfg)])
    except KeyError:
        raise TypeError(f"the Numba backend runs the IRNN and the LSTM, got a {type(cfg).__name__}") from None


class IRNNCache(NamedTuple):
    """What the IRNN's backward needs."""

    cfg: IRNNConfig
    names: tuple[str, ...]
    weights: Weights
    options: Options
    tape: Tape
    inputs: InputCache
    with_state0: bool


class LSTMCache(NamedTuple):
    """What the LSTM's backward needs."""

    cfg: LSTMConfig
    names: tuple[str, ...]
    W: np.ndarray
    ln: tuple[np.ndarray, ...]
    scalars: np.ndarray
    scalars4: np.ndarray
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
    weights = Weights(W, g, beta)
    power = np.ones(T + 1, dtype)  # λ^j of the fast weights: not read with S = 0
    # S = 0, no layer norm in the (absent) inner loop, LN (if any) as the preliminary vector's
    opts = options(scalar_array(0.0, 0.0, cfg.ln_eps, H, dtype), power, power, 0, False, cfg.layer_norm)
    past = np.empty((B, T + 1, H), dtype)
    past[:, 0] = 0 if state0 is None else state0.h
    tape = Tape(past, np.empty((B, T, 1, H), dtype), np.empty((B, T, 1), dtype), np.empty((B, T, 1, H), dtype))
    with kernel_threads():
        attention_forward_kernel(n_chunks(B), drive, weights, opts, memory_of(None, dtype), tape)
    cache = IRNNCache(cfg, tuple(params), weights, opts, tape, inputs, state0 is not None)
    return (past[:, 1:], IRNNState(past[:, T])), cache


def irnn_backward(dpast: np.ndarray, dstate: IRNNState | None, cache: IRNNCache):
    """BPTT for :func:`irnn_forward`; dpast (B, T+1, H) holds dhs in [:, 1:] (overwritten)."""
    cfg, names, weights, opts, tape, inputs, with_state0 = cache
    dtype = cfg.np_dtype
    B, T1, H = tape.past.shape
    if dstate is not None:
        dpast[:, -1] += dstate.h
    n = n_chunks(B)
    ddrive = np.empty((B, T1 - 1, H), dtype)
    chunk_grads = chunk_gradient_arrays(FRESH, n, H, dtype)
    with kernel_threads():
        attention_backward_kernel(
            n, dpast, memory_of(None, dtype), placeholder(3, dtype), tape, weights, opts, ddrive, chunk_grads
        )
    grads = summed_chunk_gradients(chunk_grads)
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
    scalars = scalar_array(0.0, 0.0, cfg.ln_eps, H, dtype)
    scalars4 = scalar_array(0.0, 0.0, cfg.ln_eps, 4 * H, dtype)
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
            n_chunks(B), drive, W, g_rec, beta_rec, g_cell, beta_cell, scalars, scalars4, ln, past, cells, gates,
            tanh_n, *ln_cache,
        )
    cache = LSTMCache(
        cfg, tuple(params), W, ln_params, scalars, scalars4, past, cells, gates, tanh_n, ln_cache, drive_cache,
        state0 is not None,
    )
    return (past[:, 1:], LSTMState(past[:, T], cells[:, T])), cache


def lstm_backward(dpast: np.ndarray, dstate: LSTMState | None, cache: LSTMCache):
    """BPTT for :func:`lstm_forward`; dpast (B, T+1, H) holds dhs in [:, 1:] (overwritten)."""
    cfg, names, W, ln_params, scalars, scalars4, past, cells, gates, tanh_n, ln_cache, drive_cache, with_state0 = cache
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
            n, dpast, dc, past, cells, gates, tanh_n, *ln_cache, W, g_rec, g_cell, scalars, scalars4, ln, ddrive, drec,
            *sums,
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
) -> tuple[tuple[np.ndarray, NamedTuple], IRNNCache | LSTMCache]:
    """The IRNN's or the LSTM's ``sequence_forward`` (as ``cfg`` says), computed by the kernels.

    Returns ((hs (B, T, H), state_T), cache), as the reference does.
    """
    core = _core_of(cfg)
    params, x, state0 = fit_inputs(core, params, x, cfg, state0)
    return FORWARD[core.name](params, x, cfg, state0)


def baseline_sequence_backward(
    dout: tuple[np.ndarray, NamedTuple | None], cache: IRNNCache | LSTMCache
) -> tuple[dict, np.ndarray, NamedTuple | None]:
    """BPTT for a cache of :func:`baseline_sequence_forward`: (dhs, dstate_T or None) ->
    (grads, dx (B, T, I), dstate0 or None), as the reference's ``sequence_backward``."""
    backward = next((fn for cache_class, fn in BACKWARD.items() if isinstance(cache, cache_class)), None)
    if backward is None:
        raise TypeError(
            f"cache must be the Numba backend's IRNNCache or LSTMCache from its sequence_forward, got "
            f"{type(cache).__name__} (a cache goes back to the core that made it)"
        )
    cfg = cache.cfg
    B, T1, H = (cache.tape if isinstance(cache, IRNNCache) else cache).past.shape
    dhs, dstate = fit_dout(_core_of(cfg), dout, cfg, B, T1 - 1)
    dpast = np.empty((B, T1, H), cfg.np_dtype)
    dpast[:, 0] = 0
    dpast[:, 1:] = dhs
    return backward(dpast, dstate, cache)


def core_functions(name: str) -> tuple:
    """(sequence_forward, sequence_backward) of the core ``name`` ("irnn" or "lstm"): the
    functions above, the forward refusing another core's config with the reference's TypeError."""
    reference = get_core(name)

    def sequence_forward(params, x, cfg, state0=None):
        reference.check_config(cfg)
        return baseline_sequence_forward(params, x, cfg, state0)

    sequence_forward.__doc__ = f"The {name} core's ``sequence_forward``: :func:`baseline_sequence_forward`."
    return sequence_forward, baseline_sequence_backward
