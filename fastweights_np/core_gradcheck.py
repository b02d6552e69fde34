"""Gradient check of any registered core inside :mod:`fastweights_np.models.core_readout`.

Every parameter of the core, the readout's V and c, and every part of the initial state (rows
"state0.h", "state0.c", "state0.A", ...) is compared with finite differences of the loss by
:func:`fastweights_np.gradcheck.check_gradients`, in float64, one row per named tensor.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np

from fastweights_np.cores.registry import Core
from fastweights_np.gradcheck import DEFAULT_EPS, DEFAULT_TOL, GradcheckReport, Tensors, check_gradients
from fastweights_np.models import core_readout

STATE_PREFIX = "state0."


def check_core(
    core: Core,
    params: dict,
    x: np.ndarray,
    y: np.ndarray,
    cfg: Any,
    state0: NamedTuple | None = None,
    *,
    mode: str = "direction",
    eps: float = DEFAULT_EPS,
    tol: float = DEFAULT_TOL,
    directions: int = 3,
    seed: int = 0,
) -> GradcheckReport:
    """Check :func:`fastweights_np.models.core_readout.loss_and_grad` for every parameter and state0 part.

    Runs in float64 whatever ``cfg.dtype`` says (params, x and state0 are converted).
    ``mode`` is "entry", "direction" or "both" (see :mod:`fastweights_np.gradcheck`).
    """
    cfg = cfg.replace(dtype="float64")
    params = {k: np.asarray(v, dtype=np.float64) for k, v in params.items()}
    if state0 is not None:
        state0 = core.state_class(*(np.asarray(part, dtype=np.float64) for part in state0))
    x = np.asarray(x, dtype=np.float64) if isinstance(x, np.ndarray) else x
    x, y, state0 = core_readout.check_model_inputs(core, params, x, y, cfg, state0)
    loss_cache = core_readout.loss_forward(core, params, x, y, cfg, state0)[1]
    grads, dstate0 = core_readout.loss_backward(loss_cache)
    point = dict(params)
    analytic = dict(grads)
    if state0 is not None:
        for field, value, grad in zip(core.state_class._fields, state0, dstate0, strict=True):
            point[STATE_PREFIX + field] = value
            analytic[STATE_PREFIX + field] = grad

    def f(t: Tensors) -> float:
        p = {k: v for k, v in t.items() if not k.startswith(STATE_PREFIX)}
        s0 = None
        if state0 is not None:
            s0 = core.state_class(*(t[STATE_PREFIX + field] for field in core.state_class._fields))
        return core_readout.loss_forward(core, p, x, y, cfg, s0)[0]

    return check_gradients(f, point, analytic, mode=mode, eps=eps, tol=tol, directions=directions, seed=seed)
