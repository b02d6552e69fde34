"""The Numba backend's entry points, with the reference's signatures and return structures.

``sequence_forward`` / ``sequence_backward`` are drop-in replacements for the reference's
(``fastweights_np.cores.fast_weights.sequence``), and ``loss_and_grad`` for
``fastweights_np.model.loss_and_grad_unchecked``; the reference hands calls over to them when
``cfg.backend == "numba"`` (``fastweights_np.backends``). The math lives in the compiled
kernels (``kernels.py``); this module checks shapes (the kernels do no bounds checks),
prepares contiguous arrays and puts the results together. Products that BLAS does best stay
in NumPy: the attention form's final A_T and its backward reuse the reference's vectorised
functions.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from fastweights_np.backends import BackendCache
from fastweights_np.backends.numba.activation import scalars
from fastweights_np.backends.numba.arrays import (
    chunk_gradient_arrays,
    contiguous,
    placeholder,
    powers,
    summed_chunk_gradients,
)
from fastweights_np.backends.numba.inputs import InputCache, drive_backward, drive_forward
from fastweights_np.backends.numba.kernels import backward_kernel, forward_kernel, loss_and_grad_kernel, n_chunks
from fastweights_np.backends.numba.threads import kernel_threads
from fastweights_np.backends.numba.workspace import FRESH, Fresh, Workspace, thread_workspace
from fastweights_np.config import FastWeightsConfig
from fastweights_np.cores.fast_weights.memory import attention_memory_backward, attention_memory_forward
from fastweights_np.cores.fast_weights.sequence import CORE_PARAM_NAMES, FastWeightsState, check_state
from fastweights_np.params import param_shapes
from fastweights_np.validation import check_float_array, check_params

BACKEND = "numba"


class ForwardCache(NamedTuple):
    """Everything the backward kernel needs (the data of the :class:`BackendCache`)."""

    cfg: FastWeightsConfig
    W: np.ndarray
    g: np.ndarray
    k: np.ndarray
    power: np.ndarray
    dpower: np.ndarray
    A0: np.ndarray | None
    past: np.ndarray
    vhat: np.ndarray
    inv_sigma: np.ndarray
    inner: np.ndarray
    inputs: InputCache
    memory_cache: tuple | None


def check_core_params(params: object, cfg: FastWeightsConfig) -> dict[str, np.ndarray]:
    """The core's parameters W, C, b, g, beta, checked like the reference's params."""
    if not isinstance(params, dict):
        raise TypeError(f"params must be a dict of arrays, got {type(params).__name__}")
    shapes = param_shapes(cfg)
    core = {name: params[name] for name in CORE_PARAM_NAMES if name in params}
    check_params(core, {name: shapes[name] for name in CORE_PARAM_NAMES}, cfg.np_dtype)
    return core


def require_shapes(params: object, x: object, cfg: FastWeightsConfig) -> None:
    """The cheap part of the checks, for entry points whose inputs were checked already: the
    shapes the kernels rely on (they do no bounds checks). Raises the full checks' errors."""
    shapes = param_shapes(cfg)
    if not (
        isinstance(params, dict)
        and all(np.shape(params.get(name)) == shapes[name] for name in CORE_PARAM_NAMES)
        and isinstance(x, np.ndarray)
        and x.ndim == 3
        and x.shape[-1] == cfg.input_size
    ):
        check_core_params(params, cfg)
        check_float_array("x", x, (None, None, cfg.input_size), cfg.np_dtype)


def step_scalars(
    cfg: FastWeightsConfig, T: int, decay: float | None, fast_lr: float | None
) -> tuple[float, float, np.ndarray, np.ndarray, np.ndarray]:
    """(λ, η, k, power, dpower) of a call: cfg's λ and η unless overridden, the kernels' scalar
    array ``k`` (``activation.scalars``) and λ^k, k λ^(k-1) for k = 0..T (``arrays.powers``)."""
    dtype = cfg.np_dtype
    lam = cfg.decay if decay is None else decay
    eta = cfg.fast_lr if fast_lr is None else fast_lr
    power, dpower = powers(lam, T, dtype)
    return lam, eta, scalars(lam, eta, cfg.ln_eps, cfg.hidden_size, dtype), power, dpower


def state_arrays(
    memory: Workspace | Fresh, cfg: FastWeightsConfig, B: int, T: int, h0: np.ndarray | None
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(past, vhat, inv_sigma, inner) from ``memory`` for the forward to fill, past[:, 0] = h_0
    (zero when ``h0`` is None); shapes as in ``kernels.forward_kernel``."""
    dtype, H, S = cfg.np_dtype, cfg.hidden_size, cfg.inner_steps
    past = memory.empty("past", (B, T + 1, H), dtype)
    past[:, 0] = 0 if h0 is None else h0
    vhat = memory.empty("vhat", (B, T, S + 1, H), dtype)
    inv_sigma = memory.empty("inv_sigma", (B, T, S + 1), dtype)
    inner = memory.empty("inner", (B, T, S + 1, H), dtype)
    return past, vhat, inv_sigma, inner


def core_forward(
    params: dict[str, np.ndarray],
    x: np.ndarray,
    cfg: FastWeightsConfig,
    state0: FastWeightsState | None,
    decay: float | None,
    fast_lr: float | None,
    final_A: bool,
    memory: Workspace | Fresh = FRESH,
) -> tuple[np.ndarray, np.ndarray | None, ForwardCache]:
    """Run the forward kernel on checked inputs. Returns (past (B, T+1, H), A_T or None, cache);
    past and the cache's arrays come from ``memory`` (``workspace.py``), A_T is always new."""
    dtype = cfg.np_dtype
    B, T, _ = x.shape
    H, S = cfg.hidden_size, cfg.inner_steps
    matrix = cfg.form == "matrix"
    W, C, b, g, beta = (contiguous(params[name], dtype) for name in CORE_PARAM_NAMES)
    drive, inputs = drive_forward(contiguous(x, dtype), C, b, memory)
    lam, eta, k, power, dpower = step_scalars(cfg, T, decay, fast_lr)
    A0 = None if state0 is None else contiguous(state0.A, dtype)
    past, vhat, inv_sigma, inner = state_arrays(memory, cfg, B, T, None if state0 is None else state0.h)
    keep_A_T = matrix and final_A
    A_T = np.empty((B, H, H), dtype) if keep_A_T else placeholder(3, dtype)
    with kernel_threads():
        forward_kernel(
            n_chunks(B),
            matrix,
            drive,
            W,
            g,
            beta,
            k,
            power,
            placeholder(3, dtype) if A0 is None else A0,
            A0 is not None,
            A_T,
            keep_A_T,
            S,
            cfg.layer_norm,
            cfg.ln_preliminary,
            past,
            vhat,
            inv_sigma,
            inner,
        )
    memory_cache = None
    if not final_A:
        A_T = None
    elif not matrix:
        A_T, memory_cache = attention_memory_forward(past[:, :T], lam, eta, A0)
    cache = ForwardCache(cfg, W, g, k, power, dpower, A0, past, vhat, inv_sigma, inner, inputs, memory_cache)
    return past, A_T, cache


def core_backward(
    dpast: np.ndarray,
    dA_T: np.ndarray | None,
    cache: ForwardCache,
    need_dx: bool,
    memory: Workspace | Fresh = FRESH,
) -> tuple[dict, np.ndarray | None, FastWeightsState | None]:
    """Run the backward kernel. ``dpast`` (B, T+1, H) holds the gradient on h_1..h_T in
    dpast[:, 1:] (it is overwritten); ``dA_T`` the gradient on the final A or None. The
    kernel's buffers come from ``memory``; what is returned is new (or dpast[:, 0])."""
    cfg, W, g, k, power, dpower, A0, past, vhat, inv_sigma, inner, inputs, memory_cache = cache
    dtype = cfg.np_dtype
    B, T1, H = past.shape
    T = T1 - 1
    matrix = cfg.form == "matrix"
    memory_scalars = (0.0, 0.0)  # (dλ, dη) through the final A of the attention form
    dpast[:, 0] = 0
    if matrix:
        use_dA = A0 is not None or dA_T is not None
        dA = (np.zeros((B, H, H), dtype) if dA_T is None else np.array(dA_T, dtype)) if use_dA else None
    else:
        use_dA = A0 is not None
        dA = np.zeros((B, H, H), dtype) if use_dA else None
        if dA_T is not None:
            dpast_A, ddecay, dfast_lr, dA0_memory = attention_memory_backward(dA_T, memory_cache)
            dpast[:, :T] += dpast_A
            memory_scalars = (ddecay, dfast_lr)
            if dA0_memory is not None:
                dA += dA0_memory
    n = n_chunks(B)
    ddrive = memory.empty("drive", (B, T, H), dtype)  # the forward's drive is dead: its buffer takes dd
    dW, dg, dbeta, dscalars = chunk_gradient_arrays(memory, n, H, dtype)
    with kernel_threads():
        backward_kernel(
            n,
            matrix,
            dpast,
            placeholder(3, dtype) if dA is None else dA,
            use_dA,
            placeholder(3, dtype) if A0 is None else A0,
            A0 is not None,
            past,
            vhat,
            inv_sigma,
            inner,
            W,
            g,
            k,
            power,
            dpower,
            cfg.inner_steps,
            cfg.layer_norm,
            cfg.ln_preliminary,
            ddrive,
            dW,
            dg,
            dbeta,
            dscalars,
        )
    grads = summed_chunk_gradients(dW, dg, dbeta, dscalars)
    grads["decay"] += memory_scalars[0]
    grads["fast_lr"] += memory_scalars[1]
    dx, grads["C"], grads["b"] = drive_backward(ddrive, inputs, need_dx)
    dstate0 = None if A0 is None else FastWeightsState(dpast[:, 0], dA)
    return {name: grads[name] for name in (*CORE_PARAM_NAMES, "decay", "fast_lr")}, dx, dstate0


def sequence_forward(
    params: dict[str, np.ndarray],
    x: np.ndarray,
    cfg: FastWeightsConfig,
    state0: FastWeightsState | None = None,
    *,
    decay: float | None = None,
    fast_lr: float | None = None,
) -> tuple[tuple[np.ndarray, FastWeightsState], BackendCache]:
    """:func:`fastweights_np.sequence_forward` computed by the Numba kernels (same arguments,
    same results); the inputs are checked first."""
    core_params = check_core_params(params, cfg)
    x = check_float_array("x", x, (None, None, cfg.input_size), cfg.np_dtype)
    B, T, _ = x.shape
    if state0 is not None:
        state0 = check_state("state0", state0, B, cfg.hidden_size, cfg.np_dtype)
    past, A_T, cache = core_forward(core_params, x, cfg, state0, decay, fast_lr, final_A=True)
    return (past[:, 1:], FastWeightsState(past[:, T], A_T)), BackendCache(BACKEND, cache)


def sequence_backward(
    dout: tuple[np.ndarray, FastWeightsState | None], cache: BackendCache
) -> tuple[dict, np.ndarray, FastWeightsState | None]:
    """:func:`fastweights_np.sequence_backward` for a cache made by this backend's forward."""
    dhs, dstate = dout
    data: ForwardCache = cache.data
    B, T1, H = data.past.shape
    dtype = data.cfg.np_dtype
    dhs = check_float_array("dhs", dhs, (B, T1 - 1, H), dtype)
    dpast = np.empty((B, T1, H), dtype)
    dpast[:, 1:] = dhs
    dA_T = None
    if dstate is not None:
        dstate = check_state("dstate", dstate, B, H, dtype)
        dpast[:, -1] += dstate.h
        dA_T = dstate.A
    return core_backward(dpast, dA_T, data, need_dx=True)


def loss_and_grad(
    params: dict[str, np.ndarray],
    x: np.ndarray,
    y: np.ndarray,
    cfg: FastWeightsConfig,
    *,
    decay: float | None = None,
    fast_lr: float | None = None,
) -> tuple[float, dict]:
    """:func:`fastweights_np.model.loss_and_grad_unchecked` in one parallel kernel
    (``kernels.loss_and_grad_kernel``): per chunk of the batch the core's forward, the readout
    V h_T + c with softmax cross-entropy and its backward (``readout.py``), then the core's
    backward, skipping what the loss does not need (the final A, dx). The drive's forward and
    backward (C x_t + b, dC, db) run before and after it."""
    require_shapes(params, x, cfg)
    memory = thread_workspace()
    dtype = cfg.np_dtype
    B, T, _ = x.shape
    H, O = cfg.hidden_size, cfg.output_size
    W, C, b, g, beta = (contiguous(params[name], dtype) for name in CORE_PARAM_NAMES)
    V, c = contiguous(params["V"], dtype), contiguous(params["c"], dtype)
    _, _, k, power, dpower = step_scalars(cfg, T, decay, fast_lr)
    past, vhat, inv_sigma, inner = state_arrays(memory, cfg, B, T, None)
    n = n_chunks(B)
    dW, dg, dbeta, dscalars = chunk_gradient_arrays(memory, n, H, dtype)
    dV = memory.empty("dV", (n, O, H), dtype)
    dc = memory.empty("dc", (n, O), dtype)
    with kernel_threads():  # once for the whole call (the drive's backward calls BLAS too)
        drive, inputs = drive_forward(contiguous(x, dtype), C, b, memory)
        loss = loss_and_grad_kernel(
            n, cfg.form == "matrix", drive, W, g, beta, k, power, dpower, cfg.inner_steps, cfg.layer_norm,
            cfg.ln_preliminary, V, c, np.asarray(y, np.intp), past, vhat, inv_sigma, inner,
            memory.empty("dpast", past.shape, dtype), dW, dg, dbeta, dscalars, dV, dc,
        )
        _, dC, db = drive_backward(drive, inputs, need_dx=False)  # drive now holds dz_t
    grads = summed_chunk_gradients(dW, dg, dbeta, dscalars)
    grads.update(C=dC, b=db, V=dV.sum(axis=0), c=dc.sum(axis=0))
    return float(loss), {name: grads[name] for name in (*CORE_PARAM_NAMES, "V", "c", "decay", "fast_lr")}
