"""The canonical model the oracle pins down: the fast-weights core, then a linear readout of h_T.

    hs, (h_T, A_T) = core(x)                  (docs/math.md §5)
    logits         = V h_T + c                (B, O)    the linear head, read at the last step
    loss           = mean_b −log softmax(logits_b)[y_b]   (Σ_b with cfg.loss_reduction = "sum")

Which code computes it is a run-time choice (``backend=``, :mod:`fastweights_np.backends`); the
functions without ``backend`` are the reference. :func:`loss_and_grad`, :func:`loss_and_grad_unchecked`
and :func:`hidden_states` never return a non-finite value: they raise
:class:`fastweights_np.finite.NonFiniteError` naming where it appeared (docs/robustness.md).
"""

from __future__ import annotations

import functools

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
from fastweights_np.finite import inner_step_in_cache, model_error, model_finite, quiet_floating_point
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
    """Check ``cfg``, ``params`` and ``x`` (B, T, input_size) together; return x in cfg's dtype
    (the rule of :func:`fastweights_np.validation.check_float_array`)."""
    if not isinstance(cfg, FastWeightsConfig):
        raise TypeError(f"cfg must be a FastWeightsConfig, got {type(cfg).__name__}")
    check_model_params(params, cfg)
    return check_float_array("x", x, (None, None, cfg.input_size), cfg.np_dtype)


def hidden_states(params: Params, x: np.ndarray, cfg: FastWeightsConfig, *, backend: str = "numpy") -> np.ndarray:
    """h_1..h_T of the core from zero initial state.

    Parameters
    ----------
    params : dict from :func:`init_params`
    x : (B, T, input_size), real floating, finite; float32 / float64 is converted to cfg's dtype
    cfg : the model's config
    backend : which code computes it (:data:`fastweights_np.backends.BACKENDS`)

    Returns
    -------
    hs : (B, T, hidden_size) in cfg's dtype

    Raises
    ------
    NonFiniteError : (``fastweights_np.finite``) when a hidden state or the final state is
        non-finite, naming h_t, the time step t of T, the example and the inner step s of S
    """
    x = check_inputs(params, x, cfg)
    core = get_core("fw", backend)
    (hs, _), _ = core.sequence_forward({name: params[name] for name in core_param_shapes(cfg)}, x, cfg)
    return hs


def loss_and_grad(
    params: Params, x: np.ndarray, y: np.ndarray, cfg: FastWeightsConfig, *, backend: str = "numpy"
) -> tuple[float, dict]:
    """Batch-mean softmax cross-entropy of logits = V h_T + c (its batch sum with
    ``cfg.loss_reduction = "sum"``), and its gradient.

    Parameters
    ----------
    params : W, C, b, g, beta, V, c (shapes in :func:`param_shapes`), in cfg's dtype
    x : (B, T, input_size), finite, of a real floating dtype: x of the other float dtype
        (float64 for a float32 config, or float32 for float64) is converted to cfg's dtype,
        a copy; integer, complex and bool arrays and non-finite values are refused (TypeError,
        ValueError)
    y : (B,) integer labels in [0, output_size)
    cfg : the model's config
    backend : which code computes it (:data:`fastweights_np.backends.BACKENDS`): the reference
        ("numpy"), the Numba kernels or CuPy; the same numbers to rounding

    Returns
    -------
    loss : float
    grads : the same keys as ``params`` (arrays of the same shapes and cfg's dtype), plus
        "decay" and "fast_lr", dL/dλ and dL/dη, as NumPy scalars of cfg's dtype (np.float32
        or np.float64; ``float(g)`` gives a Python float)

    Raises
    ------
    NonFiniteError : (``fastweights_np.finite``, a FloatingPointError) when the loss, a hidden
        state h_t or a gradient is non-finite; the message names the tensor, the time step t of
        T, the example, the inner step s of S, the non-finite gradients, and what to try.
        NumPy's overflow warnings are silenced meanwhile (the error replaces them).
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
    scale = loss_scale(cfg, logits.shape[0])
    if scale != 1.0:
        loss = loss * scale
    return loss, (core_cache, head_cache, (xent_cache, scale), logits, hs, state)


def loss_scale(cfg: FastWeightsConfig, batch: int) -> float:
    """dL/d(batch-mean loss): 1 for ``cfg.loss_reduction = "mean"``, B for ``"sum"``
    (L = Σ_b ℓ_b = B · mean_b ℓ_b, so every gradient is B times the mean's; docs/variants.md §7)."""
    return float(batch) if cfg.loss_reduction == "sum" else 1.0


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


def loss_backward_with_dx(cache: tuple) -> tuple[dict, np.ndarray]:
    """:func:`loss_backward`'s gradients, and dL/dx (B, T, input_size), which the core's backward
    computes anyway (the checks read it to say at which step a gradient became non-finite)."""
    core_cache, head_cache, (xent_cache, scale), _, _, _ = cache
    dhs, dV, dc = linear_head_backward(softmax_xent_backward(scale, xent_cache), head_cache)
    core_grads, dx, _ = sequence_backward((dhs, None), core_cache)
    grads = {name: value for name, value in core_grads.items() if name not in ("decay", "fast_lr")}
    grads.update(V=dV, c=dc, decay=core_grads["decay"], fast_lr=core_grads["fast_lr"])
    return grads, dx


def loss_backward(cache: tuple) -> dict:
    """The gradient of :func:`loss_forward`'s loss: params' keys (arrays) plus "decay" and
    "fast_lr" (NumPy scalars), all of the parameters' dtype."""
    return loss_backward_with_dx(cache)[0]


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
    """:func:`loss_and_grad` without input checks (for callers that checked them already); its
    results are checked all the same (NonFiniteError).

    A backend with its own ``model_loss_and_grad`` (Numba: one parallel kernel) computes the
    whole model; one with ``run_reference`` (CuPy) runs the reference's functions on its arrays.
    Those return no hidden states: a non-finite loss or gradient is located by running the
    reference again on NumPy (on failure only).
    """
    module = backend_module(backend)
    context = f"loss_and_grad (backend {backend!r})"
    with quiet_floating_point():
        if module is None:
            loss, cache = loss_forward(params, x, y, cfg, **overrides)
            grads, dx = loss_backward_with_dx(cache)
            _check_run(loss, grads, cache, dx, cfg, context)
            return loss, grads
        fused = getattr(module, "model_loss_and_grad", None)
        if fused is not None:
            loss, grads = fused(params, x, y, cfg, **overrides)
        else:
            loss, grads = module.run_reference(reference_loss_and_grad, params, x, y, cfg, **overrides)
        if not model_finite(loss, None, grads):
            with np.errstate(all="ignore"):  # the reference's replay, on NumPy, to locate the values
                _, cache = loss_forward(params, x, y, cfg, **overrides)
                dx = loss_backward_with_dx(cache)[1]
            _check_run(loss, grads, cache, dx, cfg, context)
    return loss, grads


def _check_run(loss: float, grads: dict, cache: tuple, dx: np.ndarray, cfg: FastWeightsConfig, context: str) -> None:
    """Raise NonFiniteError unless ``loss``, ``grads`` and the hidden states of ``cache`` (the
    reference's, from :func:`loss_forward`: the run's own, or a replay of it) are finite."""
    core_cache, _, _, _, hs, _ = cache
    if not model_finite(loss, hs, grads):
        raise model_error(loss, grads, hs, dx, context, functools.partial(inner_step_in_cache, core_cache), cfg)
