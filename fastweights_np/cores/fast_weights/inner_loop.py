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

from fastweights_np.array_namespace import namespace, zeros
from fastweights_np.cores.fast_weights.config import FastWeightsConfig
from fastweights_np.ops import activation_backward, activation_forward

Read = Callable[[object], tuple[object, tuple]]
ReadBackward = Callable[[object, tuple], tuple]

def preliminary_forward(z, g, beta, cfg: FastWeightsConfig) -> tuple[object, tuple]:
    """h^(0) = f(z), or f(LN(z)) with ``cfg.ln_preliminary``. Shapes (B, H) → (B, H)."""
    return activation_forward(z, g, beta, cfg.ln_preliminary, cfg.ln_eps, cfg.activation)


def preliminary_backward(dh0, cache: tuple) -> tuple:
    """Backward of :func:`preliminary_forward`: (dz, dg, dbeta); dg, dbeta are None without LN."""
    return activation_backward(dh0, cache)


def iterations_forward(z, h0, read: Read, g, beta, cfg: FastWeightsConfig) -> tuple[object, tuple]:
    """h^(s) = f(LN(z + A_t h^(s-1))) for s = 1..S, from h^(0) = ``h0``.

    Parameters
    ----------
    z : (B, H), the sustained boundary condition
    h0 : (B, H), the preliminary vector h^(0)
    read : u ↦ (A_t u, cache)
    g, beta : (H,)
    cfg : uses inner_steps, layer_norm, ln_eps, activation

    Returns
    -------
    h : (B, H), h^(S) (= h0 when S = 0)
    cache : the caches of each iteration, and the states (h^(0), ..., h^(S)) themselves
        (references to arrays that exist anyway; :func:`inner_states` reads them)
    """
    h = h0
    iterations = []
    states = [h0]
    for _ in range(cfg.inner_steps):
        Ah, read_cache = read(h)
        h, act_cache = activation_forward(z + Ah, g, beta, cfg.layer_norm, cfg.ln_eps, cfg.activation)
        iterations.append((read_cache, act_cache))
        states.append(h)
    return h, (iterations, tuple(states))


def iterations_backward(dh, cache: tuple, read_backward: ReadBackward) -> tuple:
    """Backward of :func:`iterations_forward`.

    Going s = S..1 with dh^(S) = dh and a^(s) = z + A_t h^(s-1):
    da^(s) = act'(dh^(s)),  dz += da^(s),  (dh^(s-1), d-memory) = read_backward(da^(s)).

    Returns
    -------
    dz : (B, H), dh0 : (B, H)
    dg, dbeta : (H,)
    memory_grads : for each iteration (in the order s = S..1) the tuple read_backward
        returned after du, i.e. the gradient with respect to the memory in the form's own
        terms; the caller adds them up.
    """
    iterations, _ = cache
    xp = namespace(dh)
    dz = xp.zeros_like(dh)
    dg = zeros(xp, (dh.shape[-1],), dh)
    dbeta = xp.zeros_like(dg)
    memory_grads = []
    for read_cache, act_cache in reversed(iterations):
        da, dg_s, dbeta_s = activation_backward(dh, act_cache)
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

