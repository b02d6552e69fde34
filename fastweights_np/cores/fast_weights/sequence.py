"""The fast-weights RNN over a whole sequence: forward, and backpropagation through time.

For t = 1..T, from the initial state (h_0, A_0) (zero unless given):

    A_t = λ A_{t-1} + η k_t k_tᵀ,  k_t = h_{t-1}    (h_t^(0) in the "preliminary" timing)
    z_t = W h_{t-1} + C x_t + b
    h_t = inner loop (Eq. 5) reading A_t            (A_{t-1} in the "lagged" timing)

The state carried between runs is (h_t, A_t): A_t is the memory after step t's write, so a run
continued from (h_T, A_T) computes exactly what one longer run would, in every timing.
Derivation of the backward, including how dA_t feeds every past h: ``docs/math.md`` §5–§6;
the timings: ``docs/variants.md``. Arrays may come from any array namespace. This is the
reference: compiled versions of the same functions are obtained with
``fastweights_np.backends.get_core("fw", backend=...)``.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from fastweights_np.array_namespace import namespace, zeros
from fastweights_np.cores import recurrence
from fastweights_np.cores.fast_weights.config import FastWeightsConfig
from fastweights_np.cores.fast_weights.memory import attention_memory_backward, attention_memory_forward
from fastweights_np.cores.fast_weights.params import CORE_PARAM_NAMES, PRELIMINARY_LN_NAMES
from fastweights_np.cores.fast_weights.step import (
    attention_keys_step_backward,
    attention_keys_step_forward,
    matrix_step_backward,
    matrix_step_forward,
    step_inner_states,
)
from fastweights_np.errors import NonFiniteError
from fastweights_np.ops import affine_backward, affine_forward
from fastweights_np.validation import check_float_array


class FastWeightsState(NamedTuple):
    """The recurrent state after a step: h_t (B, H) and the fast weights A_t (B, H, H)."""

    h: np.ndarray
    A: np.ndarray


class SequenceCache(NamedTuple):
    """What :func:`sequence_forward` keeps for :func:`sequence_backward`: the form, every step's
    cache (:func:`sequence_inner_states` reads them) and the rest (the matrix form: the shared
    driver's cache; the attention form: the drive's and the final memory's caches, whether a
    state was given, the parameters)."""

    form: str
    steps: list
    rest: tuple


def zero_state(cfg: FastWeightsConfig, batch: int, dtype: np.dtype) -> FastWeightsState:
    """h_0 = 0 (B, H) and A_0 = 0 (B, H, H)."""
    H = cfg.hidden_size
    return FastWeightsState(np.zeros((batch, H), dtype), np.zeros((batch, H, H), dtype))


def _check_cache(cache: object) -> SequenceCache:
    if not isinstance(cache, SequenceCache):
        raise TypeError(
            f"cache must be the reference's SequenceCache from fastweights_np.cores.fast_weights.sequence_forward, "
            f"got {type(cache).__name__} (a backend's cache goes back to the same backend's core)"
        )
    return cache


SCALAR_GRAD_NAMES = ("decay", "fast_lr")


def zero_grads(params: dict[str, np.ndarray]) -> dict:
    """Zero gradients for the core parameters (with g0, beta0 when ``params`` holds them:
    ln_params="separate"), plus 0.0 for decay and fast_lr (Python floats while the steps add up
    their parts; :func:`scalar_grads` gives them the arrays' dtype at the end)."""
    xp = namespace(*(params[name] for name in CORE_PARAM_NAMES))
    names = CORE_PARAM_NAMES + tuple(name for name in PRELIMINARY_LN_NAMES if name in params)
    grads: dict = {name: xp.zeros_like(params[name]) for name in names}
    grads["decay"] = 0.0
    grads["fast_lr"] = 0.0
    return grads


def scalar_grads(grads: dict, like) -> dict:
    """``grads`` with dL/dλ ("decay") and dL/dη ("fast_lr") as NumPy scalars of the dtype of the
    array ``like`` (np.float32 or np.float64, whatever its namespace), in place; returns it.

    They are summed as Python floats (float64) over the steps and rounded once, here: a float32
    model's gradients are all float32, a float64 model's all float64, and ``float(g)`` works.
    """
    dtype = np.dtype(str(like.dtype).rpartition(".")[2])  # CuPy's dtypes are NumPy's; array-api-strict's by name
    for name in SCALAR_GRAD_NAMES:
        grads[name] = dtype.type(grads[name])
    return grads


def _drive_forward(params: dict, x, cfg: FastWeightsConfig) -> tuple[object, tuple]:
    """d_t = C x_t + b for all t at once: (B, T, I) -> (B, T, H)."""
    return affine_forward(x, params["C"], params["b"])


def _drive_backward(ddrive, cache: tuple) -> tuple[object, dict]:
    """(dx (B, T, I), {"C", "b"}) from dd (B, T, H)."""
    dx, dC, db = affine_backward(ddrive, cache)
    return dx, {"C": dC, "b": db}


def _matrix_step_forward(state: FastWeightsState, drive_t, params: dict, cfg: FastWeightsConfig, *, decay, fast_lr):
    (h, A), cache = matrix_step_forward(state.h, state.A, drive_t, params, decay, fast_lr, cfg)
    return FastWeightsState(h, A), cache


def _matrix_step_backward(dstate: FastWeightsState, cache: tuple):
    dh, dA, ddrive, grads = matrix_step_backward((dstate.h, dstate.A), cache)
    return FastWeightsState(dh, dA), ddrive, grads


# The matrix form's state (h_t, A_t) has a fixed size: it runs in the shared BPTT driver.
MATRIX_RECURRENCE = recurrence.Recurrence(
    _drive_forward, _drive_backward, _matrix_step_forward, _matrix_step_backward, zero_state, zero_grads
)


def check_state(name: str, state: object, batch: int, hidden: int, dtype) -> FastWeightsState:
    """Check a carried state: a FastWeightsState (or (h, A) pair) of shapes (B, H), (B, H, H).

    NumPy arrays get every check of :func:`fastweights_np.validation.check_float_array`; arrays of
    another namespace (on a GPU, say) get the shape and dtype checks only.
    """
    if not isinstance(state, tuple) or len(state) != 2:
        raise TypeError(f"{name} must be a FastWeightsState(h, A) or an (h, A) pair, got {type(state).__name__}")
    if namespace(*state) is not np:
        for part, a, shape in (("h", state[0], (batch, hidden)), ("A", state[1], (batch, hidden, hidden))):
            if tuple(a.shape) != shape or a.dtype != dtype:
                raise ValueError(f"{name}.{part} must be {dtype} of shape {shape}, got {a.dtype} {tuple(a.shape)}")
        return FastWeightsState(*state)
    h = check_float_array(f"{name}.h", state[0], (batch, hidden), dtype)
    A = check_float_array(f"{name}.A", state[1], (batch, hidden, hidden), dtype)
    return FastWeightsState(h, A)


def sequence_forward(
    params: dict,
    x,
    cfg: FastWeightsConfig,
    state0: FastWeightsState | None = None,
    *,
    decay: float | None = None,
    fast_lr: float | None = None,
) -> tuple[tuple, tuple]:
    """Run the core over x_1..x_T from (h_0, A_0).

    Parameters
    ----------
    params : W (H, H), C (H, I), b (H,), g (H,), beta (H,) in the config's dtype
    x : (B, T, I)
    cfg : the model's options; ``cfg.form`` picks the matrix or the attention form,
        ``cfg.fast_weight_timing`` the timing of the memory
    state0 : (h_0 (B, H), A_0 (B, H, H)), or None for zeros
    decay, fast_lr : override cfg's λ and η without validation (gradient checks use this
        to differentiate with respect to them at the ends of their range)

    Returns
    -------
    (hs, state) : hs (B, T, H) holds h_1..h_T; state = (h_T, A_T)
    cache : for :func:`sequence_backward` (and :func:`sequence_inner_states`)
    """
    lam = cfg.decay if decay is None else decay
    eta = cfg.fast_lr if fast_lr is None else fast_lr
    B = x.shape[0]
    if state0 is not None:
        state0 = check_state("state0", state0, B, cfg.hidden_size, x.dtype)
    if cfg.form == "matrix":
        (hs, state), driver_cache = recurrence.sequence_forward(
            MATRIX_RECURRENCE, params, x, cfg, state0, {"decay": lam, "fast_lr": eta}
        )
        return (hs, state), SequenceCache("matrix", driver_cache[3], driver_cache)
    return _attention_forward(params, x, cfg, state0, lam, eta)


def _attention_forward(params: dict, x, cfg: FastWeightsConfig, state0: FastWeightsState | None, lam, eta):
    """The attention form's loop: step t reads the keys k_1..k_{t-1} of the steps before it."""
    xp = namespace(x, *(params[name] for name in CORE_PARAM_NAMES))
    B, T, _ = x.shape
    H = cfg.hidden_size
    drive, drive_cache = _drive_forward(params, x, cfg)
    h = zeros(xp, (B, H), x) if state0 is None else state0.h
    A0 = None if state0 is None else state0.A
    hs = []
    steps = []
    # keys[:, τ-1] = k_τ, the vector step τ wrote into the memory; step t reads keys[:, :t-1]
    # (a view: later writes go to later positions only).
    keys = zeros(xp, (B, T, H), x)
    for t in range(T):
        try:
            (h, key), step_cache = attention_keys_step_forward(h, keys[:, :t, :], drive[:, t, :], params, lam, eta,
                                                               A0, cfg)
        except NonFiniteError as exc:  # layer norm's 0/0 at ln_eps = 0: say at which step
            raise exc.located(f"time step t = {t + 1} of T = {T}") from None
        keys[:, t, :] = key
        hs.append(h)
        steps.append(step_cache)
    A_T, memory_cache = attention_memory_forward(keys, lam, eta, A0)
    cache = SequenceCache("attention", steps, (drive_cache, memory_cache, state0 is not None, params))
    return (xp.stack(hs, axis=1), FastWeightsState(h, A_T)), cache


def sequence_backward(dout: tuple, cache: tuple) -> tuple[dict, object, FastWeightsState | None]:
    """Backpropagation through time for :func:`sequence_forward`.

    Parameters
    ----------
    dout : (dhs, dstate): dhs (B, T, H) the gradient on every h_t; dstate the gradient on
        the final state (dh_T (B, H), dA_T (B, H, H)), or None
    cache : from :func:`sequence_forward`

    Returns
    -------
    grads : {"W", "C", "b", "g", "beta"} arrays (and "g0", "beta0" with ln_params="separate")
        and {"decay", "fast_lr"} NumPy scalars
        (dL/dλ, dL/dη), all of the parameters' dtype
    dx : (B, T, I), the gradient with respect to the inputs
    dstate0 : (dh_0, dA_0), or None when the forward started from zeros
    """
    cache = _check_cache(cache)
    if cache.form == "matrix":
        grads, dx, dstate0 = recurrence.sequence_backward(dout, cache.rest)
    else:
        grads, dx, dstate0 = _attention_backward(dout, cache)
    return scalar_grads(grads, grads["W"]), dx, dstate0


def _attention_backward(dout: tuple, cache: SequenceCache) -> tuple[dict, object, FastWeightsState | None]:
    dhs, dstate = dout
    dstate = None if dstate is None else FastWeightsState(*dstate)  # a plain (dh_T, dA_T) pair too
    steps = cache.steps
    drive_cache, memory_cache, had_state0, params = cache.rest
    xp = namespace(dhs)
    B, T, H = dhs.shape
    grads = zero_grads(params)
    ddrives = []  # dd_T, ..., dd_1
    dh = zeros(xp, (B, H), dhs) if dstate is None else dstate.h
    # dkeys[:, τ-1] collects the gradient on k_τ; it is complete when step τ is reached
    # because every later step has already deposited its share.
    dkeys = zeros(xp, (B, T, H), dhs)
    dA0 = None
    if dstate is not None:
        dkeys_A, ddecay, dfast_lr, dA0 = attention_memory_backward(dstate.A, memory_cache)
        dkeys = dkeys + dkeys_A
        recurrence.accumulate(grads, {"decay": ddecay, "fast_lr": dfast_lr})
    for t in reversed(range(T)):
        dh, dkeys_prev, ddrive, step_grads, dA0_t = attention_keys_step_backward(
            (dhs[:, t, :] + dh, dkeys[:, t, :]), steps[t]
        )
        dkeys[:, :t, :] += dkeys_prev
        ddrives.append(ddrive)
        recurrence.accumulate(grads, step_grads)
        if dA0_t is not None:
            dA0 = dA0_t if dA0 is None else dA0 + dA0_t
    if had_state0 and dA0 is None:
        dA0 = zeros(xp, (B, H, H), dhs)
    dx, drive_grads = _drive_backward(xp.stack(ddrives[::-1], axis=1), drive_cache)
    grads.update(drive_grads)
    return grads, dx, (FastWeightsState(dh, dA0) if had_state0 else None)


def sequence_inner_states(cache: tuple):
    """Every inner-loop state of a run, read from :func:`sequence_forward`'s cache.

    Returns
    -------
    states : (B, T, S+1, H) with states[:, t-1, s] = h_t^(s); states[:, :, 0] are the
        preliminary vectors and states[:, :, S] = hs.
    """
    if not isinstance(cache, SequenceCache):
        raise ValueError("inner-loop states are recorded by the reference only: use the reference core (backend numpy)")
    steps = cache.steps
    xp = namespace(*step_inner_states(steps[0]))
    return xp.stack([xp.stack(step_inner_states(c), axis=1) for c in steps], axis=1)
