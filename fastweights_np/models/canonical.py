"""The canonical model the oracle pins down: the fast-weights core, then a linear readout of h_T.

    hs, (h_T, A_T) = core(x)                  (docs/math.md §5)
    logits         = V h_T + c                (B, O)    the linear head, read at the last step
    loss           = mean_b −log softmax(logits_b)[y_b]

Which code computes it is a run-time choice (``backend=``, :mod:`fastweights_np.backends`); the
functions without ``backend`` are the reference.
"""

from __future__ import annotations

import numpy as np

from fastweights_np.backends import backend_module, get_core
from fastweights_np.cores.fast_weights import (
    CORE_PARAM_NAMES,
    FastWeightsConfig,
    sequence_backward,
    sequence_forward,
)
from fastweights_np.cores.fast_weights import (
    param_shapes as core_param_shapes,
)
from fastweights_np.cores.fast_weights.params import draw_core_params
from fastweights_np.cores.fast_weights.sequence import sequence_inner_states
from fastweights_np.heads import linear_head_backward, linear_head_forward
from fastweights_np.ops import softmax_xent_backward, softmax_xent_forward
from fastweights_np.validation import check_float_array, check_labels, check_params

Params = dict[str, np.ndarray]
PARAM_NAMES = (*CORE_PARAM_NAMES, "V", "c")


def param_shapes(cfg: FastWeightsConfig) -> dict[str, tuple[int, ...]]:
    """Shape of every parameter: W (H, H), C (H, I), b (H,), g (H,), beta (H,), V (O, H), c (O,)."""
    H, O = cfg.hidden_size, cfg.output_size
    return {**core_param_shapes(cfg), "V": (O, H), "c": (O,)}


def init_params(cfg: FastWeightsConfig, seed: int = 0) -> Params:
    """The paper's initialisation (appendix), in ``cfg.dtype``.

    W = 0.05·I; C and V uniform in ±1/sqrt(fan-in) (fan-in I and H); g = 1; b, beta, c = 0.

    Parameters
    ----------
    cfg : sizes and dtype
    seed : seed of ``numpy.random.default_rng``; the same seed gives the same arrays

    Returns
    -------
    dict with exactly the keys W, C, b, g, beta, V, c
    """
    rng = np.random.default_rng(seed)
    H, O = cfg.hidden_size, cfg.output_size
    params = draw_core_params(cfg, rng)
    params["V"] = rng.uniform(-1.0, 1.0, (O, H)) / np.sqrt(H)
    params["c"] = np.zeros(O)
    return {k: v.astype(cfg.np_dtype) for k, v in params.items()}


def check_model_params(params: object, cfg: FastWeightsConfig) -> None:
    """Raise if ``params`` lacks a key, has an extra one, a wrong shape, dtype or a non-finite value."""
    check_params(params, param_shapes(cfg), cfg.np_dtype)


def check_inputs(params: Params, x: object, cfg: FastWeightsConfig) -> np.ndarray:
    """Check ``cfg``, ``params`` and ``x`` (B, T, input_size) together; return x in cfg's dtype."""
    if not isinstance(cfg, FastWeightsConfig):
        raise TypeError(f"cfg must be a FastWeightsConfig, got {type(cfg).__name__}")
    check_model_params(params, cfg)
    return check_float_array("x", x, (None, None, cfg.input_size), cfg.np_dtype)


def hidden_states(params: Params, x: np.ndarray, cfg: FastWeightsConfig, *, backend: str = "numpy") -> np.ndarray:
    """h_1..h_T of the core from zero initial state.

    Parameters
    ----------
    params : dict from :func:`init_params`
    x : (B, T, input_size), real floating, finite
    cfg : the model's config
    backend : which code computes it (:data:`fastweights_np.backends.BACKENDS`)

    Returns
    -------
    hs : (B, T, hidden_size) in cfg's dtype
    """
    x = check_inputs(params, x, cfg)
    core = get_core("fw", backend)
    (hs, _), _ = core.sequence_forward({name: params[name] for name in CORE_PARAM_NAMES}, x, cfg)
    return hs


def loss_and_grad(
    params: Params, x: np.ndarray, y: np.ndarray, cfg: FastWeightsConfig, *, backend: str = "numpy"
) -> tuple[float, dict]:
    """Batch-mean softmax cross-entropy of logits = V h_T + c, and its gradient.

    Parameters
    ----------
    params : W, C, b, g, beta, V, c (shapes in :func:`param_shapes`)
    x : (B, T, input_size), real floating, finite
    y : (B,) integer labels in [0, output_size)
    cfg : the model's config
    backend : which code computes it (:data:`fastweights_np.backends.BACKENDS`): the reference
        ("numpy"), the Numba kernels or CuPy; the same numbers to rounding

    Returns
    -------
    loss : float
    grads : the same keys as ``params`` (arrays of the same shapes), plus "decay" and
        "fast_lr" (floats): dL/dλ and dL/dη
    """
    x = check_inputs(params, x, cfg)
    y = check_labels("y", y, x.shape[0], cfg.output_size)
    return loss_and_grad_unchecked(params, x, y, cfg, backend=backend)


def loss_forward(
    params: Params,
    x: np.ndarray,
    y: np.ndarray,
    cfg: FastWeightsConfig,
    *,
    decay: float | None = None,
    fast_lr: float | None = None,
) -> tuple[float, tuple]:
    """The reference loss of the canonical model, without input checks, and the cache for its backward.

    ``decay`` and ``fast_lr`` override cfg's λ and η without validation (gradient checks use
    them to differentiate at decay = 0 or 1).
    """
    (hs, state), core_cache = sequence_forward(params, x, cfg, decay=decay, fast_lr=fast_lr)
    logits, head_cache = linear_head_forward(hs, params["V"], params["c"], "last")
    loss, xent_cache = softmax_xent_forward(logits, y)
    return loss, (core_cache, head_cache, xent_cache, logits, hs, state)


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
    core_cache, _, _, logits, hs, state = cache
    return {"h_inner": sequence_inner_states(core_cache), "hs": hs, "A_T": state.A, "logits": logits}


def loss_backward(cache: tuple) -> dict:
    """The gradient of :func:`loss_forward`'s loss: params' keys plus "decay" and "fast_lr"."""
    core_cache, head_cache, xent_cache, _, _, _ = cache
    dhs, dV, dc = linear_head_backward(softmax_xent_backward(1.0, xent_cache), head_cache)
    core_grads, _, _ = sequence_backward((dhs, None), core_cache)
    grads = {name: core_grads[name] for name in CORE_PARAM_NAMES}
    grads.update(V=dV, c=dc, decay=core_grads["decay"], fast_lr=core_grads["fast_lr"])
    return grads


def reference_loss_and_grad(
    params: Params, x: np.ndarray, y: np.ndarray, cfg: FastWeightsConfig, **overrides: float | None
) -> tuple[float, dict]:
    """The reference's loss and gradient without input checks (any array namespace)."""
    loss, cache = loss_forward(params, x, y, cfg, **overrides)
    return loss, loss_backward(cache)


def loss_and_grad_unchecked(
    params: Params,
    x: np.ndarray,
    y: np.ndarray,
    cfg: FastWeightsConfig,
    *,
    backend: str = "numpy",
    **overrides: float | None,
) -> tuple[float, dict]:
    """:func:`loss_and_grad` without input checks (for callers that checked them already).

    A backend with its own ``model_loss_and_grad`` (Numba: one parallel kernel) computes the
    whole model; one with ``run_reference`` (CuPy) runs the reference's functions on its arrays.
    """
    module = backend_module(backend)
    if module is None:
        return reference_loss_and_grad(params, x, y, cfg, **overrides)
    fused = getattr(module, "model_loss_and_grad", None)
    if fused is not None:
        return fused(params, x, y, cfg, **overrides)
    return module.run_reference(reference_loss_and_grad, params, x, y, cfg, **overrides)
