"""The canonical model the oracle pins down: the fast-weights core, then a linear readout of h_T.

    hs, (h_T, A_T) = core(x)                  (docs/math.md §5)
    logits         = V h_T + c                (B, O)
    loss           = mean_b −log softmax(logits_b)[y_b]
"""

from __future__ import annotations

import numpy as np

from fastweights_np.array_namespace import namespace, zeros
from fastweights_np.backends import backend_for
from fastweights_np.backends.cupy import run_on_cupy
from fastweights_np.config import FastWeightsConfig
from fastweights_np.cores.fast_weights import CORE_PARAM_NAMES, sequence_backward, sequence_forward
from fastweights_np.cores.fast_weights.sequence import sequence_inner_states
from fastweights_np.params import check_model_params
from fastweights_np.readout import readout_logits, readout_loss_backward, readout_loss_forward
from fastweights_np.validation import check_float_array, check_labels

Params = dict[str, np.ndarray]


def check_inputs(params: Params, x: object, cfg: FastWeightsConfig) -> np.ndarray:
    """Check ``cfg``, ``params`` and ``x`` (B, T, input_size) together; return x in cfg's dtype."""
    if not isinstance(cfg, FastWeightsConfig):
        raise TypeError(f"cfg must be a FastWeightsConfig, got {type(cfg).__name__}")
    check_model_params(params, cfg)
    return check_float_array("x", x, (None, None, cfg.input_size), cfg.np_dtype)


def hidden_states(params: Params, x: np.ndarray, cfg: FastWeightsConfig) -> np.ndarray:
    """h_1..h_T of the core from zero initial state.

    Parameters
    ----------
    params : dict from :func:`fastweights_np.init_params`
    x : (B, T, input_size), real floating, finite
    cfg : the model's config

    Returns
    -------
    hs : (B, T, hidden_size) in cfg's dtype
    """
    x = check_inputs(params, x, cfg)
    if cfg.backend == "cupy":
        return run_on_cupy(_hidden_states_unchecked, params, x, cfg)
    return _hidden_states_unchecked(params, x, cfg)


def _hidden_states_unchecked(params: Params, x, cfg: FastWeightsConfig):
    (hs, _), _ = sequence_forward(params, x, cfg)
    return hs


def loss_and_grad(params: Params, x: np.ndarray, y: np.ndarray, cfg: FastWeightsConfig) -> tuple[float, dict]:
    """Batch-mean softmax cross-entropy of logits = V h_T + c, and its gradient.

    Parameters
    ----------
    params : W, C, b, g, beta, V, c (shapes in :func:`fastweights_np.params.param_shapes`)
    x : (B, T, input_size), real floating, finite
    y : (B,) integer labels in [0, output_size)
    cfg : the model's config

    Returns
    -------
    loss : float
    grads : the same keys as ``params`` (arrays of the same shapes), plus "decay" and
        "fast_lr" (floats): dL/dλ and dL/dη
    """
    x = check_inputs(params, x, cfg)
    y = check_labels("y", y, x.shape[0], cfg.output_size)
    if cfg.backend == "cupy":
        return run_on_cupy(loss_and_grad_unchecked, params, x, y, cfg)
    return loss_and_grad_unchecked(params, x, y, cfg)


def loss_forward(
    params: Params,
    x: np.ndarray,
    y: np.ndarray,
    cfg: FastWeightsConfig,
    *,
    decay: float | None = None,
    fast_lr: float | None = None,
) -> tuple[float, tuple]:
    """The loss of the canonical model, without input checks, and the cache for its backward.

    ``decay`` and ``fast_lr`` override cfg's λ and η without validation (gradient checks use
    them to differentiate at decay = 0 or 1).
    """
    (hs, state), core_cache = sequence_forward(params, x, cfg, decay=decay, fast_lr=fast_lr)
    loss, readout_cache = readout_loss_forward(hs[:, -1, :], params["V"], params["c"], y)
    return loss, (core_cache, readout_cache, hs, state)


def forward_record(cache: tuple) -> dict:
    """What the forward of :func:`loss_forward` computed, read from its cache (no recomputation).

    Returns
    -------
    dict with
        "h_inner" (B, T, S+1, H): every inner-loop state, h_inner[:, t-1, s] = h_t^(s)
        "hs" (B, T, H): h_1..h_T
        "A_T" (B, H, H): the fast weights after the last step (the state's A)
        "logits" (B, O)
    """
    core_cache, readout_cache, hs, state = cache
    logits = readout_logits(readout_cache)
    return {"h_inner": sequence_inner_states(core_cache), "hs": hs, "A_T": state.A, "logits": logits}


def loss_backward(cache: tuple) -> dict:
    """The gradient of :func:`loss_forward`'s loss: params' keys plus "decay" and "fast_lr"."""
    core_cache, readout_cache, hs, _ = cache
    dh_T, dV, dc = readout_loss_backward(readout_cache)
    dhs = zeros(namespace(dh_T), hs.shape, dh_T)
    dhs[:, -1, :] = dh_T
    core_grads, _, _ = sequence_backward((dhs, None), core_cache)
    grads = {name: core_grads[name] for name in CORE_PARAM_NAMES}
    grads.update(V=dV, c=dc, decay=core_grads["decay"], fast_lr=core_grads["fast_lr"])
    return grads


def loss_and_grad_unchecked(
    params: Params, x: np.ndarray, y: np.ndarray, cfg: FastWeightsConfig, **overrides: float | None
) -> tuple[float, dict]:
    """:func:`loss_and_grad` without input checks (for callers that checked them already)."""
    backend = backend_for(cfg)
    if backend is not None:
        return backend.loss_and_grad(params, x, y, cfg, **overrides)
    loss, cache = loss_forward(params, x, y, cfg, **overrides)
    return loss, loss_backward(cache)
