"""The Numba backend's entry points, with the reference's signatures and return structures.

``sequence_forward`` / ``sequence_backward`` are drop-in replacements for the reference's
(``fastweights_np.cores.fast_weights.sequence``): ``get_core("fw", backend="numba")`` gives the
core record with them (``fastweights_np.backends``). ``model_loss_and_grad`` replaces
``fastweights_np.models.canonical.loss_and_grad_unchecked``: ``fastweights_np.loss_and_grad(...,
backend="numba")`` calls it. Both compute the paper's model only (:func:`check_paper_model`).
The math lives in the compiled
kernels (``kernels.py``); this module makes sure of the shapes the kernels index by
(``guards.py``: the kernels do no bounds checks; the full input checks are ``get_core``'s, the
same for every backend), prepares contiguous arrays and puts the results together. Products that BLAS does best stay
in NumPy: the attention form's final A_T and its backward reuse the reference's vectorised
functions.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from fastweights_np.backends.numba.activation import scalar_array
from fastweights_np.backends.numba.arguments import Options, Readout, Tape, Weights, memory_of, options
from fastweights_np.backends.numba.arrays import (
    chunk_gradient_arrays,
    contiguous,
    placeholder,
    powers,
    summed_chunk_gradients,
)
from fastweights_np.backends.numba.guards import fit_dout, fit_inputs
from fastweights_np.backends.numba.inputs import InputCache, drive_backward, drive_forward
from fastweights_np.backends.numba.kernels import (
    attention_backward_kernel,
    attention_forward_kernel,
    attention_loss_and_grad_kernel,
    matrix_backward_kernel,
    matrix_forward_kernel,
    matrix_loss_and_grad_kernel,
    n_chunks,
)
from fastweights_np.backends.numba.threads import kernel_threads
from fastweights_np.backends.numba.workspace import FRESH, Fresh, Workspace, thread_workspace
from fastweights_np.cores.fast_weights.config import FastWeightsConfig
from fastweights_np.cores.fast_weights.memory import attention_memory_backward, attention_memory_forward
from fastweights_np.cores.fast_weights.sequence import CORE_PARAM_NAMES, FastWeightsState, scalar_grads
from fastweights_np.cores.registry import get_core

BACKEND = "numba"
FW = get_core("fw")  # the reference record: its checks (Core.check_inputs, check_dout) and shapes


class ForwardCache(NamedTuple):
    """Everything the backward kernel needs: the cache of :func:`sequence_forward`."""

    cfg: FastWeightsConfig
    weights: Weights
    options: Options
    A0: np.ndarray | None
    tape: Tape
    inputs: InputCache
    memory_cache: tuple | None


# The recurrence options whose non-default values the kernels do not compute (docs/variants.md
# §5, §6, §8), with the paper's value; the loss's reduction is checked by the fused model only.
PAPER_CORE_OPTIONS = (("ln_axis", "example"), ("ln_params", "shared"), ("no_inner_loop", False))
PAPER_LOSS_OPTIONS = (("loss_reduction", "mean"),)


def check_paper_model(cfg: object, *, loss: bool = False) -> None:
    """Raise ValueError unless ``cfg`` is the paper's model (``fast_weight_timing="paper"``,
    ``activation="relu"``, and the defaults of :data:`PAPER_CORE_OPTIONS`; with ``loss``, of
    :data:`PAPER_LOSS_OPTIONS` too), the one the kernels compute (docs/variants.md has the others)."""
    timing, activation = getattr(cfg, "fast_weight_timing", "paper"), getattr(cfg, "activation", "relu")
    if (timing, activation) != ("paper", "relu"):
        raise ValueError(
            f"backend {BACKEND!r} computes the paper's model only (fast_weight_timing='paper', activation='relu'), "
            f"got fast_weight_timing={timing!r}, activation={activation!r}; use backend 'numpy' for the variants"
        )
    for name, paper in PAPER_CORE_OPTIONS + (PAPER_LOSS_OPTIONS if loss else ()):
        value = getattr(cfg, name, paper)
        if value != paper:
            raise ValueError(
                f"backend {BACKEND!r} computes the paper's model only ({name}={paper!r}), got {name}={value!r}; "
                "use backend 'numpy' for the variants (docs/variants.md)"
            )


# What a kernel raises when LN divides by a zero σ (ε = 0 and a variance of exactly 0): Numba's
# ZeroDivisionError, which reaches Python as a SystemError from the kernels compiled without
# Numba's runtime.
KERNEL_DIVISION_ERRORS = (ZeroDivisionError, SystemError)


def raise_zero_variance(
    params: dict[str, np.ndarray],
    x: np.ndarray,
    cfg: FastWeightsConfig,
    state0: FastWeightsState | None,
    decay: float | None,
    fast_lr: float | None,
) -> None:
    """After a kernel failed dividing by zero: when ``cfg.ln_eps`` is 0 and layer norm is on,
    run the reference forward (NumPy) on the same inputs, which raises its error for a
    layer-norm input of variance exactly 0 (``fastweights_np.ops.layernorm.zero_variance_error``:
    the same class and message as backend "numpy"). Returns when that does not apply or the
    reference finds no such input (the caller then re-raises the kernel's error)."""
    if cfg.ln_eps != 0 or not (cfg.layer_norm or cfg.ln_preliminary):
        return
    core_params = {name: params[name] for name in CORE_PARAM_NAMES}
    try:
        with np.errstate(all="ignore"):
            FW.sequence_forward(core_params, x, cfg, state0, decay=decay, fast_lr=fast_lr)
    except FloatingPointError as exc:  # the reference's NonFiniteError
        raise exc from None


def step_options(
    cfg: FastWeightsConfig, T: int, decay: float | None, fast_lr: float | None
) -> tuple[float, float, Options]:
    """(λ, η, options) of a call: cfg's λ and η unless overridden, and the kernels'
    ``arguments.Options`` (the scalar array of ``activation.scalar_array``, λ^j and j λ^(j-1)
    for j = 0..T from ``arrays.powers``, S and the layer-norm flags)."""
    dtype = cfg.np_dtype
    lam = cfg.decay if decay is None else decay
    eta = cfg.fast_lr if fast_lr is None else fast_lr
    power, dpower = powers(lam, T, dtype)
    scalars = scalar_array(lam, eta, cfg.ln_eps, cfg.hidden_size, dtype)
    return lam, eta, options(scalars, power, dpower, cfg.inner_steps, cfg.layer_norm, cfg.ln_preliminary)


def new_tape(store: Workspace | Fresh, cfg: FastWeightsConfig, B: int, T: int, h0: np.ndarray | None) -> Tape:
    """The ``arguments.Tape`` from ``store`` for the forward to fill, past[:, 0] = h_0 (zero
    when ``h0`` is None)."""
    dtype, H, S = cfg.np_dtype, cfg.hidden_size, cfg.inner_steps
    past = store.empty("past", (B, T + 1, H), dtype)
    past[:, 0] = 0 if h0 is None else h0
    vhat = store.empty("vhat", (B, T, S + 1, H), dtype)
    inv_sigma = store.empty("inv_sigma", (B, T, S + 1), dtype)
    inner = store.empty("inner", (B, T, S + 1, H), dtype)
    return Tape(past, vhat, inv_sigma, inner)


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
    H = cfg.hidden_size
    W, C, b, g, beta = (contiguous(params[name], dtype) for name in CORE_PARAM_NAMES)
    weights = Weights(W, g, beta)
    drive, inputs = drive_forward(contiguous(x, dtype), C, b, memory)
    lam, eta, opts = step_options(cfg, T, decay, fast_lr)
    A0 = None if state0 is None else contiguous(state0.A, dtype)
    tape = new_tape(memory, cfg, B, T, None if state0 is None else state0.h)
    A_T = None
    try:
        with kernel_threads():
            if cfg.form == "matrix":
                A_T = np.empty((B, H, H), dtype) if final_A else None
                matrix_forward_kernel(n_chunks(B), drive, weights, opts, memory_of(A0, dtype), memory_of(A_T, dtype),
                                      tape)
            else:
                attention_forward_kernel(n_chunks(B), drive, weights, opts, memory_of(A0, dtype), tape)
    except KERNEL_DIVISION_ERRORS:
        raise_zero_variance(params, x, cfg, state0, decay, fast_lr)
        raise
    memory_cache = None
    if final_A and cfg.form == "attention":
        A_T, memory_cache = attention_memory_forward(tape.past[:, :T], lam, eta, A0)
    return tape.past, A_T, ForwardCache(cfg, weights, opts, A0, tape, inputs, memory_cache)


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
    cfg, weights, opts, A0, tape, inputs, memory_cache = cache
    dtype = cfg.np_dtype
    B, T1, H = tape.past.shape
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
    chunk_grads = chunk_gradient_arrays(memory, n, H, dtype)
    with kernel_threads():
        if matrix:
            matrix_backward_kernel(
                n, dpast, memory_of(dA, dtype), memory_of(A0, dtype), tape, weights, opts, ddrive, chunk_grads
            )
        else:
            dA0 = placeholder(3, dtype) if dA is None else dA
            attention_backward_kernel(n, dpast, memory_of(A0, dtype), dA0, tape, weights, opts, ddrive, chunk_grads)
    grads = summed_chunk_gradients(chunk_grads)
    grads["decay"] += memory_scalars[0]
    grads["fast_lr"] += memory_scalars[1]
    dx, grads["C"], grads["b"] = drive_backward(ddrive, inputs, need_dx)
    dstate0 = None if A0 is None else FastWeightsState(dpast[:, 0], dA)
    grads = scalar_grads(grads, grads["W"])
    return {name: grads[name] for name in (*CORE_PARAM_NAMES, "decay", "fast_lr")}, dx, dstate0


def sequence_forward(
    params: dict[str, np.ndarray],
    x: np.ndarray,
    cfg: FastWeightsConfig,
    state0: FastWeightsState | None = None,
    *,
    decay: float | None = None,
    fast_lr: float | None = None,
) -> tuple[tuple[np.ndarray, FastWeightsState], ForwardCache]:
    """:func:`fastweights_np.cores.fast_weights.sequence_forward` computed by the Numba kernels
    (same arguments, same results; the cache is a :class:`ForwardCache`), for the paper's model
    (:func:`check_paper_model`); params may hold the readout's V and c too (they are left
    out). ``get_core("fw", "numba")`` checks the inputs first; called directly, inputs that do
    not fit the kernels get those checks' errors (``guards.fit_inputs``)."""
    check_paper_model(cfg)
    params, x, state0 = fit_inputs(FW, params, x, cfg, state0)
    B, T, _ = x.shape
    past, A_T, cache = core_forward(params, x, cfg, state0, decay, fast_lr, final_A=True)
    return (past[:, 1:], FastWeightsState(past[:, T], A_T)), cache


def sequence_backward(
    dout: tuple[np.ndarray, FastWeightsState | None], cache: ForwardCache
) -> tuple[dict, np.ndarray, FastWeightsState | None]:
    """:func:`fastweights_np.cores.fast_weights.sequence_backward` for a cache made by this
    backend's forward; dout that does not fit it gets ``Core.check_dout``'s errors."""
    if not isinstance(cache, ForwardCache):
        raise TypeError(
            f"cache must be the Numba backend's ForwardCache from its fw sequence_forward, got "
            f"{type(cache).__name__} (a cache goes back to the core that made it)"
        )
    B, T1, H = cache.tape.past.shape
    dhs, dstate = fit_dout(FW, dout, cache.cfg, B, T1 - 1)
    dpast = np.empty((B, T1, H), cache.cfg.np_dtype)
    dpast[:, 1:] = dhs
    dA_T = None
    if dstate is not None:
        dpast[:, -1] += dstate.h
        dA_T = dstate.A
    return core_backward(dpast, dA_T, cache, need_dx=True)


def model_loss_and_grad(
    params: dict[str, np.ndarray],
    x: np.ndarray,
    y: np.ndarray,
    cfg: FastWeightsConfig,
    *,
    decay: float | None = None,
    fast_lr: float | None = None,
) -> tuple[float, dict]:
    """:func:`fastweights_np.models.canonical.loss_and_grad_unchecked` in one parallel kernel
    (``kernels.matrix_loss_and_grad_kernel`` or ``attention_loss_and_grad_kernel``): per chunk
    of the batch the core's forward, the readout
    V h_T + c with softmax cross-entropy and its backward (``readout.py``), then the core's
    backward, skipping what the loss does not need (the final A, dx). The drive's forward and
    backward (C x_t + b, dC, db) run before and after it. The paper's model only
    (:func:`check_paper_model`)."""
    check_paper_model(cfg, loss=True)
    _, x, _ = fit_inputs(FW, params, x, cfg)  # the core's parameters; V and c are the readout's
    store = thread_workspace()
    dtype = cfg.np_dtype
    B, T, _ = x.shape
    H, O = cfg.hidden_size, cfg.output_size
    W, C, b, g, beta = (contiguous(params[name], dtype) for name in CORE_PARAM_NAMES)
    weights = Weights(W, g, beta)
    readout = Readout(contiguous(params["V"], dtype), contiguous(params["c"], dtype))
    _, _, opts = step_options(cfg, T, decay, fast_lr)
    tape = new_tape(store, cfg, B, T, None)
    n = n_chunks(B)
    chunk_grads = chunk_gradient_arrays(store, n, H, dtype)
    dreadout = Readout(store.empty("dV", (n, O, H), dtype), store.empty("dc", (n, O), dtype))
    kernel = matrix_loss_and_grad_kernel if cfg.form == "matrix" else attention_loss_and_grad_kernel
    try:
        with kernel_threads():  # once for the whole call (the drive's backward calls BLAS too)
            drive, inputs = drive_forward(contiguous(x, dtype), C, b, store)
            dpast = store.empty("dpast", tape.past.shape, dtype)
            loss = kernel(n, drive, weights, opts, readout, np.asarray(y, np.intp), tape, dpast, chunk_grads, dreadout)
            _, dC, db = drive_backward(drive, inputs, need_dx=False)  # drive now holds dz_t
    except KERNEL_DIVISION_ERRORS:
        raise_zero_variance(params, x, cfg, None, decay, fast_lr)
        raise
    grads = summed_chunk_gradients(chunk_grads)
    grads.update(C=dC, b=db, V=dreadout.V.sum(axis=0), c=dreadout.c.sum(axis=0))
    grads = scalar_grads(grads, grads["W"])
    return float(loss), {name: grads[name] for name in (*CORE_PARAM_NAMES, "V", "c", "decay", "fast_lr")}
