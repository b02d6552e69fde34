"""The inner loop of one time step (paper Eq. 5; Eq. 2 without layer norm).

    h^(0) = f(z)            (or f(LN(z)) with ln_preliminary)   the preliminary vector
    h^(s) = f(LN(z + A_t h^(s-1))),   s = 1..S                  the iterations
    h_t   = h^(S)

f is ReLU, or tanh with ``activation="tanh"``. The loop does not know how A_t u is computed:
it is handed a ``read`` function (u ↦ (A_t u, cache)) and, in the backward, the matching
``read_backward``. The matrix and attention forms share this code. The preliminary vector and
the iterations are separate functions because the "preliminary" timing writes h^(0) into the
memory between them (docs/variants.md §1): a step calls :func:`preliminary_forward` from
``step.boundary_forward`` and then :func:`iterations_forward` (backward: ``step.boundary_backward``
calls :func:`preliminary_backward` after :func:`iterations_backward`). Derivation: ``docs/math.md`` §4.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

from fastweights_np.array_namespace import namespace, zeros
from fastweights_np.cores.fast_weights.config import FastWeightsConfig
from fastweights_np.errors import NonFiniteError
from fastweights_np.ops import activation_backward, activation_forward
from fastweights_np.ops.activation import NONLINEARITIES
from fastweights_np.ops.layernorm import layernorm_batch_backward, layernorm_batch_forward

Read = Callable[[object], tuple[object, tuple]]
ReadBackward = Callable[[object, tuple], tuple]


class BatchLNActivationCache(NamedTuple):
    """The cache of f(LN_batch(v)) (``ln_axis="batch"``): the batch-axis LN's and f's."""

    ln_cache: tuple
    activation: str
    f_cache: object


def layer_activation_forward(v, g, beta, use_ln: bool, cfg: FastWeightsConfig) -> tuple[object, tuple]:
    """f(LN(v)) if ``use_ln`` else f(v), with LN's statistics over ``cfg.ln_axis``.

    "example" (the paper's): :func:`fastweights_np.ops.activation_forward`, statistics over the
    H units of each example. "batch": :func:`fastweights_np.ops.layernorm.layernorm_batch_forward`,
    statistics of each unit over the B examples (docs/variants.md §5). Shapes (B, H) → (B, H);
    g, beta (H,) or (1,).
    """
    if not use_ln or cfg.ln_axis == "example":
        return activation_forward(v, g, beta, use_ln, cfg.ln_eps, cfg.activation)
    normed, ln_cache = layernorm_batch_forward(v, g, beta, cfg.ln_eps)
    out, f_cache = NONLINEARITIES[cfg.activation][0](normed)
    return out, BatchLNActivationCache(ln_cache, cfg.activation, f_cache)


def layer_activation_backward(dout, cache: tuple) -> tuple:
    """Backward of :func:`layer_activation_forward`: (dv, dg, dbeta); dg, dbeta are None without LN."""
    if not isinstance(cache, BatchLNActivationCache):
        return activation_backward(dout, cache)
    dnormed = NONLINEARITIES[cache.activation][1](dout, cache.f_cache)
    return layernorm_batch_backward(dnormed, cache.ln_cache)


def preliminary_forward(z, g, beta, cfg: FastWeightsConfig) -> tuple[object, tuple]:
    """h^(0) = f(z), or f(LN(z)) with ``cfg.ln_preliminary``. Shapes (B, H) → (B, H).

    With ``ln_params="separate"`` the caller passes g0, beta0 as ``g``, ``beta``.
    """
    try:
        return layer_activation_forward(z, g, beta, cfg.ln_preliminary, cfg)
    except NonFiniteError as exc:  # layer norm's 0/0 at ln_eps = 0: say which application
        raise exc.located("the preliminary vector h_t^(0) (s = 0)") from None


def preliminary_backward(dh0, cache: tuple) -> tuple:
    """Backward of :func:`preliminary_forward`: (dz, dg, dbeta); dg, dbeta are None without LN."""
    return layer_activation_backward(dh0, cache)


def iterations_forward(z, h0, read: Read, g, beta, cfg: FastWeightsConfig) -> tuple[object, tuple]:
    """h^(s) = f(LN(z + A_t h^(s-1))) for s = 1..S, from h^(0) = ``h0``.

    Parameters
    ----------
    z : (B, H), the sustained boundary condition
    h0 : (B, H), the preliminary vector h^(0)
    read : u ↦ (A_t u, cache)
    g, beta : (H,), or (1,) with ln_params="scalar"
    cfg : uses inner_steps, layer_norm, ln_eps, ln_axis, activation

    Returns
    -------
    h : (B, H), h^(S) (= h0 when S = 0)
    cache : the caches of each iteration, g's shape, and the states (h^(0), ..., h^(S))
        themselves (references to arrays that exist anyway; :func:`inner_states` reads them)
    """
    h = h0
    iterations = []
    states = [h0]
    for s in range(1, cfg.inner_steps + 1):
        Ah, read_cache = read(h)
        try:
            h, act_cache = layer_activation_forward(z + Ah, g, beta, cfg.layer_norm, cfg)
        except NonFiniteError as exc:  # layer norm's 0/0 at ln_eps = 0: say which inner step
            raise exc.located(f"inner step s = {s} of S = {cfg.inner_steps}") from None
        iterations.append((read_cache, act_cache))
        states.append(h)
    g_shape = (z.shape[-1],) if g is None else tuple(g.shape)
    return h, (iterations, g_shape, tuple(states))


def iterations_backward(dh, cache: tuple, read_backward: ReadBackward) -> tuple:
    """Backward of :func:`iterations_forward`.

    Going s = S..1 with dh^(S) = dh and a^(s) = z + A_t h^(s-1):
    da^(s) = act'(dh^(s)),  dz += da^(s),  (dh^(s-1), d-memory) = read_backward(da^(s)).

    Returns
    -------
    dz : (B, H), dh0 : (B, H)
    dg, dbeta : of g's shape, (H,) or (1,)
    memory_grads : for each iteration (in the order s = S..1) the tuple read_backward
        returned after du, i.e. the gradient with respect to the memory in the form's own
        terms; the caller adds them up.
    """
    iterations, g_shape, _ = cache
    xp = namespace(dh)
    dz = xp.zeros_like(dh)
    dg = zeros(xp, g_shape, dh)
    dbeta = xp.zeros_like(dg)
    memory_grads = []
    for read_cache, act_cache in reversed(iterations):
        da, dg_s, dbeta_s = layer_activation_backward(dh, act_cache)
        if dg_s is not None:
            dg = dg + dg_s
            dbeta = dbeta + dbeta_s
        dz = dz + da
        dh, *dmemory = read_backward(da, read_cache)
        memory_grads.append(tuple(dmemory))
    return dz, dh, dg, dbeta, memory_grads


def inner_states(cache: tuple) -> tuple:
    """The states (h^(0), h^(1), ..., h^(S)) recorded in the cache of :func:`iterations_forward`,
    each (B, H)."""
    return cache[-1]

