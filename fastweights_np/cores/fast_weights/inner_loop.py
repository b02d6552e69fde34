"""The inner loop of one time step (paper Eq. 5; Eq. 2 without layer norm).

    h^(0) = f(z)            (or f(LN(z)) with ln_preliminary)
    h^(s) = f(LN(z + A_t h^(s-1))),   s = 1..S
    h_t   = h^(S)

The loop does not know how A_t u is computed: it is handed a ``read`` function
(u ↦ (A_t u, cache)) and, in the backward, the matching ``read_backward``. The matrix and
attention forms share this code. Derivation: ``docs/math.md`` §4.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from fastweights_np.config import FastWeightsConfig
from fastweights_np.ops import layernorm_backward, layernorm_forward, relu_backward, relu_forward

Read = Callable[[np.ndarray], tuple[np.ndarray, tuple]]
ReadBackward = Callable[[np.ndarray, tuple], tuple]


def activation_forward(
    v: np.ndarray, g: np.ndarray, beta: np.ndarray, use_ln: bool, eps: float
) -> tuple[np.ndarray, tuple]:
    """f(LN(v)) if ``use_ln`` else f(v), with f = ReLU. Shapes (B, H) → (B, H)."""
    ln_cache = None
    if use_ln:
        v, ln_cache = layernorm_forward(v, g, beta, eps)
    out, relu_cache = relu_forward(v)
    return out, (ln_cache, relu_cache)


def activation_backward(
    dout: np.ndarray, cache: tuple
) -> tuple[np.ndarray, np.ndarray | None, np.ndarray | None]:
    """Backward of :func:`activation_forward`: (dv, dg, dbeta); dg, dbeta are None without LN."""
    ln_cache, relu_cache = cache
    dv = relu_backward(dout, relu_cache)
    if ln_cache is None:
        return dv, None, None
    return layernorm_backward(dv, ln_cache)


def inner_loop_forward(
    z: np.ndarray, read: Read, g: np.ndarray, beta: np.ndarray, cfg: FastWeightsConfig
) -> tuple[np.ndarray, tuple]:
    """h_t from the boundary condition z_t = W h_{t-1} + C x_t + b (Eq. 5).

    Parameters
    ----------
    z : (B, H)
    read : u ↦ (A_t u, cache), u and A_t u of shape (B, H)
    g, beta : (H,) layer-norm gain and bias, shared by every iteration
    cfg : uses inner_steps, layer_norm, ln_preliminary, ln_eps

    Returns
    -------
    h : (B, H), h_t = h^(S)
    cache : the caches of h^(0) and of each iteration s = 1..S
    """
    h, first = activation_forward(z, g, beta, cfg.ln_preliminary, cfg.ln_eps)
    iterations = []
    for _ in range(cfg.inner_steps):
        Ah, read_cache = read(h)
        h, act_cache = activation_forward(z + Ah, g, beta, cfg.layer_norm, cfg.ln_eps)
        iterations.append((read_cache, act_cache))
    return h, (first, iterations)


def inner_loop_backward(
    dh: np.ndarray, cache: tuple, read_backward: ReadBackward
) -> tuple[np.ndarray, np.ndarray, np.ndarray, list[tuple]]:
    """Backward of :func:`inner_loop_forward`.

    Going s = S..1 with dh^(S) = dh_t and a^(s) = z + A_t h^(s-1):
    da^(s) = act'(dh^(s)),  dz += da^(s),  (dh^(s-1), d-memory) = read_backward(da^(s)),
    and finally dz += act'(dh^(0)) for the preliminary vector.

    Returns
    -------
    dz : (B, H)
    dg, dbeta : (H,)
    memory_grads : for each iteration (in the order s = S..1) the tuple read_backward
        returned after du, i.e. the gradient with respect to the memory A_t in the form's
        own terms; the caller adds them up.
    """
    first, iterations = cache
    dz = np.zeros_like(dh)
    dg = np.zeros(dh.shape[-1], dtype=dh.dtype)
    dbeta = np.zeros_like(dg)
    memory_grads = []
    for read_cache, act_cache in reversed(iterations):
        da, dg_s, dbeta_s = activation_backward(dh, act_cache)
        if dg_s is not None:
            dg += dg_s
            dbeta += dbeta_s
        dz += da
        dh, *dmemory = read_backward(da, read_cache)
        memory_grads.append(tuple(dmemory))
    dz0, dg_0, dbeta_0 = activation_backward(dh, first)
    if dg_0 is not None:
        dg += dg_0
        dbeta += dbeta_0
    return dz + dz0, dg, dbeta, memory_grads
