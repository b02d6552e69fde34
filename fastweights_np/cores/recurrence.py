"""Forward and backpropagation through time shared by the cores whose state is fixed-size.

A core is described by a :class:`Recurrence`: an input drive computed for all steps at once
(d_t = C x_t + b, or N_in(C x_t) + b), and a step

    state_t = step(state_{t-1}, d_t),      h_t = state_t.h

whose state is a NamedTuple of arrays with h as its first field. Backward, for t = T..1:

    dstate_t.h += dhs[:, t]                      (the output at t is h_t)
    (dstate_{t-1}, dd_t, grads_t) = step'(dstate_t)

then dx and the input weights' gradients come from the drive's backward with all dd_t at
once. Every parameter's gradient is the sum of its per-step parts (the weights are shared by
all steps). Derivation: ``docs/baselines.md`` §0.

Users: the IRNN, the LSTM, the A-LSTM and the fast-weights core's matrix form (state (h_t, A_t)).
The fast-weights attention form keeps its own loop (``cores/fast_weights/sequence.py``): its
state is the whole past h_1..h_{t-1}, which grows with t. Arrays may come from any array
namespace.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, NamedTuple

import numpy as np

from fastweights_np.array_namespace import namespace, zeros
from fastweights_np.errors import NonFiniteError

Params = dict[str, np.ndarray]


@dataclass(frozen=True)
class Recurrence:
    """The pieces :func:`sequence_forward` / :func:`sequence_backward` combine.

    drive_forward(params, x, cfg) -> (drive (B, T, R), cache)
    drive_backward(ddrive, cache) -> (dx (B, T, I), grads)
    step_forward(state, drive_t (B, R), params, cfg, **step_options) -> (state, cache)
    step_backward(dstate, cache) -> (dstate_prev, ddrive_t (B, R), grads)
    zero_state(cfg, batch, dtype) -> the all-zero state (NumPy arrays; moved to x's namespace)
    zero_grads(params) -> the gradients' zeros (default: one zero array per parameter)
    """

    drive_forward: Callable[[Params, np.ndarray, Any], tuple[np.ndarray, Any]]
    drive_backward: Callable[[np.ndarray, Any], tuple[np.ndarray, dict]]
    step_forward: Callable[[NamedTuple, np.ndarray, Params, Any], tuple[NamedTuple, Any]]
    step_backward: Callable[[NamedTuple, Any], tuple[NamedTuple, np.ndarray, dict]]
    zero_state: Callable[[Any, int, np.dtype], NamedTuple]
    zero_grads: Callable[[Params], dict] | None = None


def zero_param_grads(params: Params) -> dict:
    """One zero array per parameter, in the parameters' namespace."""
    return {name: namespace(value).zeros_like(value) for name, value in params.items()}


def accumulate(total: dict, part: dict) -> None:
    """total[name] += part[name] for every name in ``part``."""
    for name, value in part.items():
        total[name] = total[name] + value


def sequence_forward(
    rec: Recurrence,
    params: Params,
    x: np.ndarray,
    cfg: Any,
    state0: NamedTuple | None = None,
    step_options: dict | None = None,
) -> tuple[tuple[np.ndarray, NamedTuple], tuple]:
    """Run ``rec`` over x_1..x_T from ``state0`` (zeros when None).

    ``step_options`` are passed to every ``rec.step_forward`` call as keywords (the fast-weights
    core passes λ and η there).

    Returns
    -------
    (hs, state_T) : hs (B, T, H) holds h_1..h_T
    cache : for :func:`sequence_backward`
    """
    xp = namespace(x)
    B, T, _ = x.shape
    drive, drive_cache = rec.drive_forward(params, x, cfg)
    if state0 is None:
        zero = rec.zero_state(cfg, B, cfg.np_dtype)  # for its shapes; the arrays are made in x's namespace
        state = type(zero)(*(zeros(xp, part.shape, x) for part in zero))
    else:
        state = state0
    hs = zeros(xp, (B, T, cfg.hidden_size), x)
    steps = []
    for t in range(T):
        try:
            state, step_cache = rec.step_forward(state, drive[:, t, ...], params, cfg, **(step_options or {}))
        except NonFiniteError as exc:  # e.g. layer norm's 0/0 at ln_eps = 0: say at which step
            raise exc.located(f"time step t = {t + 1} of T = {T}") from None
        hs[:, t, ...] = state.h
        steps.append(step_cache)
    zero_dstate = type(state)(*(xp.zeros_like(part) for part in state))
    return (hs, state), (rec, drive.shape, drive_cache, steps, zero_dstate, state0 is not None, params)


def sequence_backward(
    dout: tuple[np.ndarray, NamedTuple | None], cache: tuple
) -> tuple[dict, np.ndarray, NamedTuple | None]:
    """Backpropagation through time for :func:`sequence_forward`.

    Parameters
    ----------
    dout : (dhs (B, T, H), dstate_T or None)
    cache : from :func:`sequence_forward`

    Returns
    -------
    grads : one array per parameter, the same keys and shapes as ``params``
    dx : (B, T, I)
    dstate0 : the gradient on the initial state (same type), or None when the forward
        started from zeros
    """
    dhs, dstate = dout
    rec, drive_shape, drive_cache, steps, zero_dstate, had_state0, params = cache
    grads = (rec.zero_grads or zero_param_grads)(params)
    dstate = zero_dstate if dstate is None else type(zero_dstate)(*dstate)  # a plain tuple too
    ddrive = zeros(namespace(dhs), drive_shape, dhs)
    for t in reversed(range(len(steps))):
        dstate = dstate._replace(h=dstate.h + dhs[:, t, ...])
        dstate, ddrive[:, t, ...], step_grads = rec.step_backward(dstate, steps[t])
        accumulate(grads, step_grads)
    dx, drive_grads = rec.drive_backward(ddrive, drive_cache)
    accumulate(grads, drive_grads)
    return grads, dx, (dstate if had_state0 else None)
