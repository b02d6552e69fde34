"""Any registered core with a linear readout of h_T and softmax cross-entropy.

    hs, state_T = core(x, state0)                (cores/registry.py; any backend)
    logits      = V h_T + c                      (B, O)    the linear head at the last step
    loss        = mean_b −log softmax(logits_b)[y_b]

The parameters are one flat dict: the core's slow parameters plus the readout's V (O, H) and
c (O,). With the "fw" core and no state0 this is the canonical model of ``model.py``; that
module stays the reference for it (and also differentiates with respect to λ and η).
The core record says which code computes the core (:func:`fastweights_np.backends.get_core`).
"""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np

from fastweights_np.cores.registry import Core
from fastweights_np.heads import linear_head_backward, linear_head_forward
from fastweights_np.ops import softmax_xent_backward, softmax_xent_forward
from fastweights_np.validation import check_float_array, check_labels

Params = dict[str, np.ndarray]
READOUT_NAMES = ("V", "c")


def init_model_params(core: Core, cfg: Any, output_size: int, seed: int = 0) -> Params:
    """``core.init_core_params(cfg, seed)`` plus V uniform in ±1/sqrt(H) and c = 0.

    V is drawn from ``numpy.random.default_rng((seed, 1))``, so the core's parameters are the
    same arrays as ``core.init_core_params(cfg, seed)`` gives alone.
    """
    H = cfg.hidden_size
    rng = np.random.default_rng((seed, 1))
    params = dict(core.init_core_params(cfg, seed))
    params["V"] = (rng.uniform(-1.0, 1.0, (output_size, H)) / np.sqrt(H)).astype(cfg.np_dtype)
    params["c"] = np.zeros(output_size, cfg.np_dtype)
    return params


def split_params(params: object) -> tuple[Params, Params]:
    """(core parameters, readout parameters {V, c}); TypeError / ValueError if V or c is missing."""
    if not isinstance(params, dict):
        raise TypeError(f"params must be a dict of arrays, got {type(params).__name__}")
    missing = [name for name in READOUT_NAMES if name not in params]
    if missing:
        raise ValueError(f"params must hold the readout's V and c besides the core's parameters; missing {missing}")
    core_params = {k: v for k, v in params.items() if k not in READOUT_NAMES}
    return core_params, {name: params[name] for name in READOUT_NAMES}


def check_model_inputs(
    core: Core, params: object, x: object, y: object, cfg: object, state0: object = None
) -> tuple[np.ndarray, np.ndarray, NamedTuple | None]:
    """Check everything :func:`loss_and_grad` takes; return x, y, state0 converted.

    Errors (TypeError / ValueError) name the argument, what was expected and what was given.
    """
    core_params, readout = split_params(params)
    x, state0 = core.check_inputs(core_params, x, cfg, state0)
    V = check_float_array("params['V']", readout["V"], (None, cfg.hidden_size))
    check_float_array("params['c']", readout["c"], (V.shape[0],))
    for name, value in readout.items():
        if value.dtype != cfg.np_dtype:
            raise TypeError(f"params[{name!r}] has dtype {value.dtype}, but the config's dtype is {cfg.np_dtype}")
    y = check_labels("y", y, x.shape[0], V.shape[0])
    return x, y, state0


def loss_forward(
    core: Core, params: Params, x: np.ndarray, y: np.ndarray, cfg: Any, state0: NamedTuple | None = None
) -> tuple[float, tuple]:
    """The loss, without input checks, and the cache for :func:`loss_backward`."""
    core_params, readout = split_params(params)
    (hs, _), core_cache = core.sequence_forward(core_params, x, cfg, state0)
    logits, head_cache = linear_head_forward(hs, readout["V"], readout["c"], "last")
    loss, xent_cache = softmax_xent_forward(logits, y)
    return loss, (core, tuple(core_params), core_cache, head_cache, xent_cache)


def loss_backward(cache: tuple) -> tuple[dict, NamedTuple | None]:
    """(grads with the keys of params, dstate0 or None when the forward started from zeros)."""
    core, core_names, core_cache, head_cache, xent_cache = cache
    dhs, dV, dc = linear_head_backward(softmax_xent_backward(1.0, xent_cache), head_cache)
    core_grads, _, dstate0 = core.sequence_backward((dhs, None), core_cache)
    grads = {name: core_grads[name] for name in core_names}
    grads.update(V=dV, c=dc)
    return grads, dstate0


def loss_and_grad(
    core: Core, params: Params, x: np.ndarray, y: np.ndarray, cfg: Any, state0: NamedTuple | None = None
) -> tuple[float, dict, NamedTuple | None]:
    """Batch-mean softmax cross-entropy of logits = V h_T + c, and its gradient.

    Parameters
    ----------
    core : a record from :data:`fastweights_np.cores.registry.CORES`
    params : the core's parameters plus V (O, H) and c (O,), in cfg's dtype
    x : (B, T, input_size), real floating, finite
    y : (B,) integer labels in [0, O)
    cfg : the core's config
    state0 : the initial state (``core.state_class``), or None for zeros

    Returns
    -------
    loss : float
    grads : one array per key of ``params``
    dstate0 : the gradient with respect to state0 (same type), or None without state0
    """
    x, y, state0 = check_model_inputs(core, params, x, y, cfg, state0)
    loss, cache = loss_forward(core, params, x, y, cfg, state0)
    grads, dstate0 = loss_backward(cache)
    return loss, grads, dstate0
