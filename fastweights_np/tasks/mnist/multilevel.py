"""The multi-level fast-weights recurrence of the glimpse model (paper Sec. 4.2, Fig. 3), as we read it.

Per image h = 0 and A = 0; then, for each quadrant q, the six steps of the schedule
(``glimpses.STEP_KINDS``), with d_t = C x_t + b the drive of glimpse x_t:

    coarse:       h_c = f(LN(W h + d_t))                        slow transition from the last state
    store, wipe:  A ← λ A + η h_c h_cᵀ ;  h ← 0                  the only writes to A (Eq. 1)
    fine (×4):    h = f(LN(W h + d_t))                           slow transitions, no fast read
    integrate:    z = W_int h + d_t ;  h^(0) = f(z) ;
                  h^(s) = f(LN(z + A h^(s-1))), s = 1..S          (Eq. 5, with the integration weights)

and h_T, the state after the last integration, is what the head reads. With
``integration="literal"`` (the figure read literally: the integration step re-reads the coarse
glimpse) the integration is h^(0) = f(d_t), z = W_int h, h^(s) = f(LN(z + A h^(s-1))).
Without layer norm every LN is dropped (Eq. 2); ``ln_preliminary`` puts one on h^(0).

The steps are the core's own pieces: a slow step is the activation the fast-weights core and
the IRNN share (``ops.activation``) on W h + d_t; the store is Eq. 1 (``memory.fast_update_*``)
in the matrix form or appends the key in the attention form (A u = η Σ_τ λ^{q-τ} h_c,τ (h_c,τ · u),
``memory.attention_read_*``); the integration is the fast-weights step's boundary and inner
loop (``step.boundary_*``, ``inner_loop.iterations_*``) with W_int in place of W.
The derivation of each backward is in docs/mnist.md.
"""

from __future__ import annotations

from functools import partial
from typing import Any

import numpy as np

from fastweights_np.cores.fast_weights.config import FastWeightsConfig
from fastweights_np.cores.fast_weights.inner_loop import (
    iterations_backward,
    iterations_forward,
    preliminary_backward,
    preliminary_forward,
)
from fastweights_np.cores.fast_weights.memory import (
    attention_read_backward,
    attention_read_forward,
    fast_update_backward,
    fast_update_forward,
    matrix_read_backward,
    matrix_read_forward,
)
from fastweights_np.cores.fast_weights.params import init_core_params, used_params
from fastweights_np.cores.fast_weights.params import param_shapes as fw_param_shapes
from fastweights_np.cores.fast_weights.sequence import scalar_grads
from fastweights_np.cores.fast_weights.step import boundary_backward, boundary_forward
from fastweights_np.ops import activation_backward, activation_forward, affine_backward, affine_forward
from fastweights_np.tasks.mnist.glimpses import STEP_KINDS

INTEGRATIONS = ("reading", "literal")
PARAM_NAMES = ("W", "W_int", "C", "b", "g", "beta")
Params = dict[str, np.ndarray]


def check_multilevel_config(cfg: FastWeightsConfig, integration: str) -> None:
    """The fast-weights options the multi-level model takes: the paper's timing only (the
    stores are the schedule's, not every step's) and a known ``integration``."""
    if cfg.fast_weight_timing != "paper":
        raise ValueError("the multi-level glimpse model writes A at its store steps only: "
                         f"fast_weight_timing must be 'paper', got {cfg.fast_weight_timing!r}")
    if integration not in INTEGRATIONS:
        raise ValueError(f"integration must be one of {INTEGRATIONS}, got {integration!r}")


# ---------------------------------------------------------------------------- slow step
def slow_step_forward(h_prev, drive, params: Params, cfg: FastWeightsConfig) -> tuple[Any, tuple]:
    """h = f(LN(W h_{prev} + d)) (f(W h_prev + d) without layer norm): a coarse or fine step.

    Parameters
    ----------
    h_prev : (B, H)
    drive : (B, H), d = C x + b
    params : uses W (H, H), g (H,), beta (H,)

    Returns
    -------
    h : (B, H); cache for :func:`slow_step_backward`
    """
    Wh, rec_cache = affine_forward(h_prev, params["W"], None)
    h, act_cache = activation_forward(Wh + drive, params["g"], params["beta"], cfg.layer_norm, cfg.ln_eps,
                                      cfg.activation)
    return h, (rec_cache, act_cache)


def slow_step_backward(dh, cache: tuple) -> tuple:
    """dz = act'(dh), dd = dz, dh_prev = Wᵀ dz, dW = dz h_prevᵀ (summed over the batch).

    Returns
    -------
    dh_prev : (B, H), ddrive : (B, H), grads : {"W", "g", "beta"} (g, beta None without LN)
    """
    rec_cache, act_cache = cache
    dz, dg, dbeta = activation_backward(dh, act_cache)
    dh_prev, dW, _ = affine_backward(dz, rec_cache)
    return dh_prev, dz, {"W": dW, "g": dg, "beta": dbeta}


# ---------------------------------------------------------------------------- the store
def empty_memory(batch: int, cfg: FastWeightsConfig, dtype) -> np.ndarray:
    """A = 0: the (B, H, H) matrix in the matrix form, no keys (B, 0, H) in the attention form."""
    H = cfg.hidden_size
    return np.zeros((batch, H, H) if cfg.form == "matrix" else (batch, 0, H), dtype)


def store_forward(memory, h_c, decay: float, fast_lr: float, cfg: FastWeightsConfig) -> tuple[Any, tuple]:
    """A ← λ A + η h_c h_cᵀ (Eq. 1). Matrix form: memory (B, H, H) → (B, H, H); attention form:
    the keys (B, q, H) → (B, q + 1, H) with h_c appended (λ and η enter at the read)."""
    if cfg.form == "matrix":
        return fast_update_forward(memory, h_c, decay, fast_lr)
    return np.concatenate([memory, h_c[:, None, :]], axis=1), None


def store_backward(dmemory, cache: tuple | None) -> tuple:
    """Backward of :func:`store_forward`: (dmemory_prev, dh_c, ddecay, dfast_lr).

    Matrix form: dA_prev = λ dA, dh_c = η (dA + dAᵀ) h_c, dλ = Σ ⟨dA, A_prev⟩, dη = Σ h_cᵀ dA h_c.
    Attention form: the last key's gradient is dh_c, the others pass through; dλ = dη = 0.
    """
    if cache is not None:
        return fast_update_backward(dmemory, cache)
    return dmemory[:, :-1], dmemory[:, -1], 0.0, 0.0


# ----------------------------------------------------------------------- integration step
def integrate_step_forward(
    h_prev, drive, memory, params: Params, decay: float, fast_lr: float, cfg: FastWeightsConfig,
    integration: str = "reading",
) -> tuple[Any, tuple]:
    """The integration step: the inner loop reading A with the integration weights W_int.

    "reading":  z = W_int h_prev + d,  h^(0) = f(z)      (f(LN(z)) with ln_preliminary)
    "literal":  z = W_int h_prev,      h^(0) = f(d)
    then h^(s) = f(LN(z + A h^(s-1))) for s = 1..S and h = h^(S).

    Parameters
    ----------
    h_prev : (B, H), the state after the quadrant's last fine step
    drive : (B, H), d = C g_q + b
    memory : (B, H, H) A (matrix form) or (B, q, H) the stored coarse states (attention form)
    params : uses W_int (H, H), g (H,), beta (H,)
    decay, fast_lr : λ and η

    Returns
    -------
    h : (B, H); cache for :func:`integrate_step_backward`
    """
    if integration == "reading":
        boundary_params = {"W": params["W_int"], "g": params["g"], "beta": params["beta"]}
        (z, h0, _), first = boundary_forward(h_prev, drive, boundary_params, cfg)
    else:
        z, rec_cache = affine_forward(h_prev, params["W_int"], None)
        h0, prelim_cache = preliminary_forward(drive, params["g"], params["beta"], cfg)
        first = (rec_cache, prelim_cache)
    if cfg.form == "matrix":
        read, read_backward = partial(matrix_read_forward, memory), matrix_read_backward
    else:
        read = partial(attention_read_forward, memory, decay=decay, fast_lr=fast_lr)
        read_backward = attention_read_backward
    h, loop_cache = iterations_forward(z, h0, read, params["g"], params["beta"], cfg)
    return h, (integration, cfg.form, first, loop_cache, read_backward)


def integrate_step_backward(dh, cache: tuple) -> tuple:
    """Backward of :func:`integrate_step_forward`.

    The iterations give dz, dh^(0) and the memory's gradient (matrix: Σ_s da^(s) h^(s-1)ᵀ;
    attention: the keys', λ's and η's); then "reading": the boundary's backward with W_int
    (dz_0 = dz + f'(dh^(0)), dh_prev = W_intᵀ dz_0, dd = dz_0); "literal": dh_prev = W_intᵀ dz,
    dd = f'(dh^(0)).

    Returns
    -------
    dh_prev : (B, H), ddrive : (B, H), dmemory : like the memory,
    grads : {"W_int", "g", "beta", "decay", "fast_lr"}
    """
    integration, form, first, loop_cache, read_backward = cache
    dz, dh0, dg, dbeta, memory_grads = iterations_backward(dh, loop_cache, read_backward)
    ddecay = dfast_lr = 0.0
    dmemory = None
    for grads_s in memory_grads:
        dmem_s = grads_s[0]
        dmemory = dmem_s if dmemory is None else dmemory + dmem_s
        if form == "attention":
            ddecay += grads_s[1]
            dfast_lr += grads_s[2]
    if integration == "reading":
        dh_prev, ddrive, boundary_grads = boundary_backward(dz, dh0, None, first)
        dW_int, dg0, dbeta0 = boundary_grads["W"], boundary_grads["g"], boundary_grads["beta"]
    else:
        rec_cache, prelim_cache = first
        dh_prev, dW_int, _ = affine_backward(dz, rec_cache)
        ddrive, dg0, dbeta0 = preliminary_backward(dh0, prelim_cache)
    if dg0 is not None:
        dg, dbeta = dg + dg0, dbeta + dbeta0
    grads = {"W_int": dW_int, "g": dg, "beta": dbeta, "decay": ddecay, "fast_lr": dfast_lr}
    return dh_prev, ddrive, dmemory, grads


# -------------------------------------------------------------------------- the sequence
def multilevel_forward(
    params: Params, x, cfg: FastWeightsConfig, integration: str = "reading",
    schedule: tuple[str, ...] = STEP_KINDS, *, decay: float | None = None, fast_lr: float | None = None,
) -> tuple[Any, tuple]:
    """h_T of the multi-level recurrence over the glimpse sequence ``x``.

    Parameters
    ----------
    params : W (H, H), W_int (H, H), C (H, I), b (H,), g (H,), beta (H,)
    x : (B, T, I), the glimpses (I = 49), T = len(schedule)
    cfg : λ = cfg.decay, η = cfg.fast_lr, S = cfg.inner_steps, the form and LN options
    integration : "reading" or "literal" (module docstring)
    schedule : the kind of every step, "coarse", "fine" or "integrate" (the paper's 24 by default)
    decay, fast_lr : override cfg's λ and η without validation, as the core's sequence_forward
        does (gradient checks differentiate with respect to them at λ = 1)

    Returns
    -------
    h_T : (B, H), the state after the last step
    cache : for :func:`multilevel_backward`
    """
    check_multilevel_config(cfg, integration)
    if x.ndim != 3 or x.shape[1] != len(schedule):
        raise ValueError(f"x must have shape (B, {len(schedule)}, I) for a schedule of {len(schedule)} steps, "
                         f"got {x.shape}")
    lam = cfg.decay if decay is None else decay
    eta = cfg.fast_lr if fast_lr is None else fast_lr
    drive, drive_cache = affine_forward(x, params["C"], params["b"])  # d_t = C x_t + b, (B, T, H)
    B = x.shape[0]
    h = np.zeros((B, cfg.hidden_size), drive.dtype)
    memory = empty_memory(B, cfg, drive.dtype)
    steps = []
    for t, kind in enumerate(schedule):
        if kind == "coarse":
            h_c, slow_cache = slow_step_forward(h, drive[:, t], params, cfg)
            memory, store_cache = store_forward(memory, h_c, lam, eta, cfg)
            h = np.zeros_like(h_c)  # wipe
            steps.append((slow_cache, store_cache))
        elif kind == "fine":
            h, slow_cache = slow_step_forward(h, drive[:, t], params, cfg)
            steps.append(slow_cache)
        elif kind == "integrate":
            h, integrate_cache = integrate_step_forward(h, drive[:, t], memory, params, lam, eta,
                                                        cfg, integration)
            steps.append(integrate_cache)
        else:
            raise ValueError(f"schedule step {t} is {kind!r}; the kinds are 'coarse', 'fine' and 'integrate'")
    return h, (schedule, steps, drive_cache, memory.shape)


def multilevel_backward(dh_T, cache: tuple) -> tuple[dict, Any]:
    """Backward of :func:`multilevel_forward` for an upstream gradient ``dh_T`` (B, H).

    Back through the schedule: an integration step sends dh_prev back and adds its memory
    gradient to dA (matrix form) or to the stored keys' (attention form); a fine step sends
    dh_prev back; the store turns the memory's gradient into dh_c (the wipe cuts the path from
    the next fine step, whose dh_prev is dropped), and the coarse step sends dh_prev back.

    Returns
    -------
    grads : {"W", "W_int", "C", "b", "g", "beta"} arrays (g and beta zero where no layer norm is
        used) and {"decay", "fast_lr"} NumPy scalars, all of dh_T's dtype
    dx : (B, T, I)
    """
    schedule, steps, drive_cache, memory_shape = cache
    B, H = dh_T.shape
    dtype = dh_T.dtype
    dmemory = np.zeros(memory_shape, dtype)
    ddrive = np.zeros((B, len(schedule), H), dtype)
    grads = {"W": np.zeros((H, H), dtype), "W_int": np.zeros((H, H), dtype),
             "g": np.zeros(H, dtype), "beta": np.zeros(H, dtype), "decay": 0.0, "fast_lr": 0.0}

    def add(step_grads: dict) -> None:
        for name, value in step_grads.items():
            if value is not None:
                grads[name] = grads[name] + value

    dh = dh_T
    for t in range(len(schedule) - 1, -1, -1):
        kind = schedule[t]
        if kind == "integrate":
            dh, ddrive[:, t], dmem, step_grads = integrate_step_backward(dh, steps[t])
            if dmem is not None:  # the memory this step read is the memory held now: same shape
                dmemory = dmemory + dmem
            add(step_grads)
        elif kind == "fine":
            dh, ddrive[:, t], step_grads = slow_step_backward(dh, steps[t])
            add(step_grads)
        else:
            slow_cache, store_cache = steps[t]
            dmemory, dh_c, ddecay, dfast_lr = store_backward(dmemory, store_cache)
            add({"decay": ddecay, "fast_lr": dfast_lr})
            dh, ddrive[:, t], step_grads = slow_step_backward(dh_c, slow_cache)  # dh from the wipe is dropped
            add(step_grads)
    dx, dC, db = affine_backward(ddrive, drive_cache)
    grads.update(C=dC, b=db)
    return scalar_grads(grads, dh_T), dx



# ------------------------------------------------------------------------ as an encoder
class MultiLevelEncoder:
    """The multi-level recurrence as an encoder of ``models.classifier`` (the head reads h_T).

    Parameters: the fast-weights core's W, C, b, g, beta (initialised as the core is: W = 0.05·I,
    C uniform in ±1/sqrt(I), b = 0, g = 1, β = 0) and the integration weights W_int, initialised
    like W (0.05·I; the paper does not say, this is our choice).
    """

    def __init__(self, cfg: FastWeightsConfig, integration: str = "reading",
                 schedule: tuple[str, ...] = STEP_KINDS):
        check_multilevel_config(cfg, integration)
        self.cfg, self.integration, self.schedule = cfg, integration, schedule
        self.hidden_size = cfg.hidden_size

    def param_shapes(self) -> dict[str, tuple[int, ...]]:
        shapes = fw_param_shapes(self.cfg)
        return {"W": shapes["W"], "W_int": shapes["W"], **{k: v for k, v in shapes.items() if k != "W"}}

    def init_params(self, seed: int) -> Params:
        params = init_core_params(self.cfg, seed)
        return {"W": params["W"], "W_int": params["W"].copy(), **{k: v for k, v in params.items() if k != "W"}}

    def param_count(self) -> int:
        """Every parameter; g and β only where layer norm is used."""
        shapes = self.param_shapes()
        used = ("W_int", *used_params(self.cfg))
        return int(sum(np.prod(shapes[name]) for name in used))

    def forward(self, params: Params, x: np.ndarray) -> tuple[np.ndarray, tuple]:
        """hs = h_T as a sequence of one state, (B, 1, H), for x (B, T, I)."""
        h, cache = multilevel_forward(params, x, self.cfg, self.integration, self.schedule)
        return h[:, None, :], cache

    def backward(self, dhs: np.ndarray, cache: tuple) -> tuple[dict, np.ndarray]:
        grads, dx = multilevel_backward(dhs[:, -1, :], cache)
        return {name: grads[name] for name in self.param_shapes()}, dx
