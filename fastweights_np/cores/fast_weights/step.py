"""One time step of the fast-weights RNN, in the matrix and the attention form.

Both steps compute, for every sequence of the batch (docs/math.md §5; the timings:
docs/variants.md §1):

    z_t     = W h_{t-1} + d_t,   d_t = C x_t + b           (the sustained boundary condition)
    h_t^(0) = f(z_t)  (or f(LN(z_t)))                      (the preliminary vector)
    A_t     = λ A_{t-1} + η k_t k_tᵀ                        (Eq. 1, writing the key k_t)
    h_t     = iterations h^(s) = f(LN(z_t + M_t h^(s-1)))  (Eq. 5)

with, per ``cfg.fast_weight_timing``:

    "paper"        k_t = h_{t-1},    M_t = A_t
    "lagged"       k_t = h_{t-1},    M_t = A_{t-1}
    "preliminary"  k_t = h_t^(0),    M_t = A_t,  and the sustained term is z_t' = W h_t^(0) + d_t

With ``cfg.no_inner_loop`` there is no preliminary vector: h_t^(0) = h_{t-1}, k_t = h_{t-1} and
S = 1, so h_t = f(LN(z_t + M_t h_{t-1})) (docs/variants.md §8).

The input drive d_t does not depend on the recurrence, so the sequence level computes it for
all t at once and hands each step its slice.
"""

from __future__ import annotations

from functools import partial

from fastweights_np.array_namespace import namespace, zeros
from fastweights_np.cores.fast_weights.config import FastWeightsConfig
from fastweights_np.cores.fast_weights.inner_loop import (
    inner_states,
    iterations_backward,
    iterations_forward,
    preliminary_backward,
    preliminary_forward,
)
from fastweights_np.cores.fast_weights.memory import (
    attention_read_backward,
    attention_read_forward,
    attention_read_with_write_backward,
    attention_read_with_write_forward,
    fast_update_backward,
    fast_update_forward,
    matrix_read_backward,
    matrix_read_forward,
)
from fastweights_np.ops import affine_backward, affine_forward

Params = dict
PRELIMINARY_SHARED = ("g", "beta")  # the preliminary LN's parameter names (ln_params "shared", "scalar")
PRELIMINARY_SEPARATE = ("g0", "beta0")  # ln_params="separate"
NO_PRELIMINARY = ()  # no_inner_loop: there is no preliminary vector


# ------------------------------------------------------------------- before the memory read
def boundary_forward(h_prev, drive, params: Params, cfg: FastWeightsConfig) -> tuple[tuple, tuple]:
    """Everything of a step that comes before the memory is read.

    z_t = W h_{t-1} + d_t and h_t^(0) = f(z_t) (f(LN(z_t)) with ln_preliminary). The key written
    into A is k_t = h_{t-1} and the sustained term is z_t, except in the "preliminary" timing:
    k_t = h_t^(0) and the sustained term is W h_t^(0) + d_t.

    Parameters
    ----------
    h_prev : (B, H), h_{t-1}
    drive : (B, H), d_t = C x_t + b
    params : uses W (H, H), g (H,), beta (H,); g0, beta0 (H,) instead of g, beta with
        ``ln_params="separate"``
    cfg : uses fast_weight_timing, no_inner_loop and the preliminary vector's options

    Returns
    -------
    (z, h0, key) : the sustained term, h_t^(0) and k_t, each (B, H); with ``no_inner_loop``
        h0 = key = h_{t-1} (the one application reads A_t h_{t-1})
    cache : for :func:`boundary_backward`
    """
    Wh, rec_cache = affine_forward(h_prev, params["W"], None)
    z = Wh + drive
    if getattr(cfg, "no_inner_loop", False):  # h_t^(0) = h_{t-1}: no preliminary vector (docs/variants.md §8)
        return (z, h_prev, h_prev), (rec_cache, None, None, NO_PRELIMINARY)
    separate = getattr(cfg, "ln_params", "shared") == "separate"  # g0, β0 (docs/variants.md §6)
    g, beta = (params["g0"], params["beta0"]) if separate else (params["g"], params["beta"])
    h0, first = preliminary_forward(z, g, beta, cfg)
    names = PRELIMINARY_SEPARATE if separate else PRELIMINARY_SHARED
    if cfg.fast_weight_timing == "preliminary":
        Wh0, sustained_cache = affine_forward(h0, params["W"], None)
        return (Wh0 + drive, h0, h0), (rec_cache, first, sustained_cache, names)
    return (z, h0, h_prev), (rec_cache, first, None, names)


def boundary_backward(dz, dh0, dkey, cache: tuple) -> tuple:
    """Backward of :func:`boundary_forward`, given the gradients on (z, h0, key) (docs/variants.md §3.1).

    "paper"/"lagged": dz_t = dz + act'(dh0), dh_{t-1} = Wᵀ dz_t + dkey, dW = dz_t h_{t-1}ᵀ.
    "preliminary": dh0 += Wᵀ dz + dkey, dz_t = act'(dh0), dh_{t-1} = Wᵀ dz_t,
    dW = dz h_t^(0)ᵀ + dz_t h_{t-1}ᵀ, dd_t = dz + dz_t.

    "no_inner_loop" (h0 = key = h_{t-1}): dh_{t-1} = Wᵀ dz + dh0 + dkey, dW = dz h_{t-1}ᵀ, dd_t = dz.

    Returns
    -------
    dh_prev : (B, H), ddrive : (B, H)
    grads : {"W", "g", "beta"}; g and beta are None without ln_preliminary; with
        ``ln_params="separate"`` the preliminary LN's are "g0", "beta0" (and g, beta are None)
    """
    rec_cache, first, sustained_cache, names = cache
    if names == NO_PRELIMINARY:  # h0 = key = h_{t-1}: dh_{t-1} = Wᵀ dz + dh0 + dkey
        dh_prev, dW, _ = affine_backward(dz, rec_cache)
        dh_prev = dh_prev + dh0
        if dkey is not None:
            dh_prev = dh_prev + dkey
        return dh_prev, dz, {"W": dW, "g": None, "beta": None}
    if sustained_cache is None:
        dz0, dg, dbeta = preliminary_backward(dh0, first)
        dz_t = dz + dz0
        dh_prev, dW, _ = affine_backward(dz_t, rec_cache)
        if dkey is not None:
            dh_prev = dh_prev + dkey
        return dh_prev, dz_t, _boundary_grads(dW, dg, dbeta, names)
    dh0_sustained, dW_sustained, _ = affine_backward(dz, sustained_cache)
    dh0 = dh0 + dh0_sustained
    if dkey is not None:
        dh0 = dh0 + dkey
    dz_t, dg, dbeta = preliminary_backward(dh0, first)
    dh_prev, dW, _ = affine_backward(dz_t, rec_cache)
    return dh_prev, dz + dz_t, _boundary_grads(dW + dW_sustained, dg, dbeta, names)


def _boundary_grads(dW, dg, dbeta, names: tuple[str, str]) -> dict:
    """{"W", "g", "beta"}, with the preliminary LN's gradients under ``names``: ("g", "beta")
    (shared), or ("g0", "beta0") with g and beta None (ln_params="separate")."""
    grads = {"W": dW, "g": None, "beta": None}
    grads.update({names[0]: dg, names[1]: dbeta})
    return grads


def _step_grads(dg, dbeta, boundary_grads: dict, ddecay: float, dfast_lr: float) -> dict:
    """{"W", "g", "beta", "decay", "fast_lr"}: the iterations' dg, dbeta plus the boundary's
    (and "g0", "beta0", the boundary's own, with ln_params="separate")."""
    if boundary_grads["g"] is not None:
        dg = dg + boundary_grads["g"]
        dbeta = dbeta + boundary_grads["beta"]
    grads = {"W": boundary_grads["W"], "g": dg, "beta": dbeta, "decay": ddecay, "fast_lr": dfast_lr}
    if "g0" in boundary_grads:
        grads.update(g0=boundary_grads["g0"], beta0=boundary_grads["beta0"])
    return grads


def step_inner_states(cache: tuple) -> tuple:
    """(h_t^(0), ..., h_t^(S)), each (B, H), from the cache of any step function here."""
    return inner_states(cache[-1])


# ----------------------------------------------------------------------------- matrix form
def matrix_step_forward(
    h_prev, A_prev, drive, params: Params, decay: float, fast_lr: float, cfg: FastWeightsConfig
) -> tuple[tuple, tuple]:
    """One step with an explicit fast-weight matrix per sequence.

    Parameters
    ----------
    h_prev : (B, H), h_{t-1}
    A_prev : (B, H, H), A_{t-1}
    drive : (B, H), d_t = C x_t + b
    params : uses W (H, H), g (H,), beta (H,)
    decay, fast_lr : λ and η
    cfg : timing and inner-loop options

    Returns
    -------
    (h, A) : h_t (B, H) and A_t (B, H, H), the memory after this step's write
    cache : for :func:`matrix_step_backward`
    """
    (z, h0, key), boundary_cache = boundary_forward(h_prev, drive, params, cfg)
    A, update_cache = fast_update_forward(A_prev, key, decay, fast_lr)
    lagged = cfg.fast_weight_timing == "lagged"
    read = partial(matrix_read_forward, A_prev if lagged else A)
    h, loop_cache = iterations_forward(z, h0, read, params["g"], params["beta"], cfg)
    return (h, A), (lagged, boundary_cache, update_cache, loop_cache)


def matrix_step_backward(dout: tuple, cache: tuple) -> tuple:
    """Backward of :func:`matrix_step_forward`.

    dout = (dh_t, dA_t) where dA_t is the gradient reaching A_t from later steps
    (λ dA_{t+1}) or from the final state. The iterations add Σ_s da^(s) h^(s-1)ᵀ to the
    memory they read: to dA_t before it flows through Eq. 1 into k_t and A_{t-1}, or, in the
    "lagged" timing, straight to dA_{t-1}.

    Returns
    -------
    dh_prev : (B, H), dA_prev : (B, H, H), ddrive : (B, H)
    grads : {"W", "g", "beta", "decay", "fast_lr"}
    """
    dh, dA = dout
    lagged, boundary_cache, update_cache, loop_cache = cache
    dz, dh0, dg, dbeta, memory_grads = iterations_backward(dh, loop_cache, matrix_read_backward)
    if not lagged:
        for (dA_s,) in memory_grads:
            dA = dA + dA_s
    dA_prev, dkey, ddecay, dfast_lr = fast_update_backward(dA, update_cache)
    if lagged:
        for (dA_s,) in memory_grads:
            dA_prev = dA_prev + dA_s
    dh_prev, ddrive, boundary_grads = boundary_backward(dz, dh0, dkey, boundary_cache)
    grads = _step_grads(dg, dbeta, boundary_grads, ddecay, dfast_lr)
    return dh_prev, dA_prev, ddrive, grads


# -------------------------------------------------------------------------- attention form
def attention_keys_step_forward(
    h_prev, keys_prev, drive, params: Params, decay: float, fast_lr: float, A0, cfg: FastWeightsConfig
) -> tuple[tuple, tuple]:
    """One step in the attention form: the memory is the list of keys written so far (Eq. 4).

    A_{t-1} u is read from ``keys_prev`` = k_1..k_{t-1}; the memory after this step's write,
    A_t u = λ A_{t-1} u + η k_t (k_t · u), is read without forming A_t. The "lagged" timing
    reads A_{t-1}.

    Parameters
    ----------
    h_prev : (B, H), h_{t-1}
    keys_prev : (B, t-1, H), the keys written by steps 1..t-1 (t-1 may be 0)
    drive : (B, H), d_t = C x_t + b
    params : uses W (H, H), g (H,), beta (H,)
    decay, fast_lr : λ and η
    A0 : (B, H, H) initial memory, or None for zero
    cfg : timing and inner-loop options

    Returns
    -------
    (h, key) : h_t (B, H) and the key k_t (B, H) this step wrote
    cache : for :func:`attention_keys_step_backward`
    """
    (z, h0, key), boundary_cache = boundary_forward(h_prev, drive, params, cfg)
    lagged = cfg.fast_weight_timing == "lagged"
    if lagged:
        read = partial(attention_read_forward, keys_prev, decay=decay, fast_lr=fast_lr, A0=A0)
    else:
        read = partial(attention_read_with_write_forward, keys_prev, key, decay=decay, fast_lr=fast_lr, A0=A0)
    h, loop_cache = iterations_forward(z, h0, read, params["g"], params["beta"], cfg)
    return (h, key), (lagged, keys_prev.shape, boundary_cache, loop_cache)


def attention_keys_step_backward(dout: tuple, cache: tuple) -> tuple:
    """Backward of :func:`attention_keys_step_forward`.

    dout = (dh_t, dk_t): dk_t is the gradient that later steps' reads sent to this step's key
    (None for none). Every read sends gradient straight to the keys it was computed from
    (dk_τ = w_τ (s_τ da + r_τ u), docs/math.md §3.3), so no dA_t is ever formed.

    Returns
    -------
    dh_prev : (B, H), dkeys_prev : (B, t-1, H), ddrive : (B, H)
    grads : {"W", "g", "beta", "decay", "fast_lr"}
    dA0 : (B, H, H) or None
    """
    dh, dkey = dout
    lagged, keys_shape, boundary_cache, loop_cache = cache
    read_backward = attention_read_backward if lagged else attention_read_with_write_backward
    dz, dh0, dg, dbeta, memory_grads = iterations_backward(dh, loop_cache, read_backward)
    xp = namespace(dh)
    dkeys_prev = zeros(xp, keys_shape, dh)
    ddecay = dfast_lr = 0.0
    dA0 = None
    for grads_s in memory_grads:
        if lagged:
            dkeys_s, ddecay_s, dfast_lr_s, dA0_s = grads_s
        else:
            dkeys_s, dkey_s, ddecay_s, dfast_lr_s, dA0_s = grads_s
            dkey = dkey_s if dkey is None else dkey + dkey_s
        dkeys_prev = dkeys_prev + dkeys_s
        ddecay += ddecay_s
        dfast_lr += dfast_lr_s
        if dA0_s is not None:
            dA0 = dA0_s if dA0 is None else dA0 + dA0_s
    dh_prev, ddrive, boundary_grads = boundary_backward(dz, dh0, dkey, boundary_cache)
    grads = _step_grads(dg, dbeta, boundary_grads, ddecay, dfast_lr)
    return dh_prev, dkeys_prev, ddrive, grads, dA0

