"""Non-finite values are found, never returned: the checks and the messages.

A recurrence that overflows (no layer norm, λ = η = 1, large inputs or weights) turns h_t into
inf or NaN at some step, and everything downstream follows: the gradients become NaN while the
loss may still look plausible (a ReLU maps NaN to 0, so h_T can be finite). The functions here
say *where* it happened instead:

- :func:`check_gradients` (called by the trainer on every step, and by the checks below):
  every non-finite gradient, by name, with its first bad value and index;
- :func:`check_forward`: the first time step t (1-based, of T) at which h_t is non-finite, the
  example, and for the fast-weights core the inner step s (of S) where it first appears
  (:func:`fw_inner_step`); otherwise the part of the final state that is non-finite;
- :func:`check_backward`: the non-finite gradients, dx and dstate0, and the time step at which
  the gradient first became non-finite going backwards (the largest t at which dx is
  non-finite);
- :func:`model_error`: the same for the canonical model's loss, hidden states and gradients.

Each raises :class:`NonFiniteError` (a ``FloatingPointError``) with the context, the location
and what to try. When everything is finite a check costs one ``isfinite(a).all()`` per array;
the location is worked out only on failure. :func:`quiet_floating_point` silences NumPy's own
overflow / invalid warnings while a checked computation runs, since the error replaces them.

Arrays may be NumPy, CuPy or any array-API arrays (they are copied to the host only on
failure), and scalars Python or NumPy numbers. This module imports the reference cores only
(for the fast-weights core's inner states and their replay), never a backend.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Callable, Iterator, Mapping
from typing import Any

import numpy as np

from fastweights_np.array_namespace import array_to_numpy, namespace
from fastweights_np.cores.fast_weights.params import CORE_PARAM_NAMES
from fastweights_np.cores.fast_weights.sequence import FastWeightsState, SequenceCache, sequence_forward
from fastweights_np.cores.fast_weights.step import step_inner_states
from fastweights_np.errors import NonFiniteError

GRADIENT_ADVICE = (
    "Try: gradient clipping (--clip), a lower learning rate, layer norm (layer_norm=True), "
    "a smaller decay λ or fast_lr η."
)

# (example, t) -> (s, S): the first inner step s (0 = the preliminary vector h_t^(0)) at which
# h_t^(s) of that example is non-finite (None when it cannot be found), and S.
InnerStep = Callable[[int, int], tuple[int | None, int]]




def forward_advice(cfg: object | None = None) -> str:
    """What to try against non-finite hidden states, for the config ``cfg`` (None: everything):
    layer_norm=True (unless it is on), a smaller decay λ or fast_lr η (a fast-weights config),
    smaller inputs or weights, and in training gradient clipping and a lower learning rate."""
    tips = [] if getattr(cfg, "layer_norm", False) else ["layer_norm=True"]
    if cfg is None or hasattr(cfg, "fast_lr"):
        tips.append("a smaller decay λ or fast_lr η")
    tips += ["smaller inputs x (or weights)", "in training, gradient clipping (--clip) and a lower learning rate"]
    return "Try: " + ", ".join(tips) + "."


def non_finite_error(what: str, context: str, where: str, advice: str) -> NonFiniteError:
    """The error '<what> in <context>: <where>. <advice>'."""
    return NonFiniteError(f"{what} in {context}: {where}. {advice}")


@contextlib.contextmanager
def quiet_floating_point() -> Iterator[None]:
    """NumPy's divide / overflow / invalid warnings silenced inside the block ("warn" and
    "print" become "ignore"); a caller's "raise", "call" or "log" is kept, as is underflow."""
    settings = {kind: ("ignore" if mode in ("warn", "print") else mode) for kind, mode in np.geterr().items()}
    with np.errstate(**settings):
        yield


# --------------------------------------------------------------------------- single arrays
def is_finite(a: Any) -> bool:
    """Whether every value of ``a`` is finite: a Python or NumPy number, a NumPy array, or an
    array of another namespace (CuPy: one reduction on the device)."""
    if isinstance(a, int | float):
        return math.isfinite(a)
    if isinstance(a, np.ndarray | np.generic):
        return bool(np.isfinite(a).all())
    xp = namespace(a)
    return bool(xp.all(xp.isfinite(a)))


def to_host(a: Any) -> np.ndarray:
    """``a`` as a NumPy array (a number as a 0-d array; a device array copied to the host)."""
    return np.asarray(a) if isinstance(a, int | float | np.ndarray | np.generic) else array_to_numpy(a)


def describe_array(name: str, a: Any) -> str:
    """'<name> holds nan at index (i, j) (3 of 12 values non-finite)' for a non-finite ``a``."""
    host = to_host(a)
    bad = ~np.isfinite(host)
    index = tuple(int(i) for i in np.argwhere(bad)[0])
    if not index:
        return f"{name} is {float(host)}"
    return f"{name} holds {float(host[index])} at index {index} ({int(bad.sum())} of {bad.size} values non-finite)"


def _first_true(flags: np.ndarray, last: bool = False) -> int:
    """Index of the first (or the last) True of the 1-d ``flags``."""
    indices = np.flatnonzero(flags)
    return int(indices[-1] if last else indices[0])


def _parts(prefix: str, state: tuple | None) -> list[tuple[str, Any]]:
    """(prefix + field name, array) for each part of a state (a NamedTuple, or a plain tuple:
    its positions), none for None."""
    if state is None:
        return []
    fields = getattr(state, "_fields", None) or [str(i) for i in range(len(state))]
    return [(prefix + field, part) for field, part in zip(fields, state, strict=True)]


def _locate_step(a: np.ndarray, last: bool = False) -> tuple[int, int]:
    """(t, example) of a non-finite (B, T, ...) array: the first (or last) 0-based step t with
    a non-finite value in any example, and the first such example at that step."""
    bad = ~np.isfinite(a.reshape(a.shape[0], a.shape[1], -1))
    t = _first_true(bad.any(axis=(0, 2)), last)
    return t, _first_true(bad[:, t].any(axis=1))


# ------------------------------------------------------------------------------- gradients
def non_finite_gradients(grads: Mapping[str, Any]) -> list[str]:
    """One :func:`describe_array` line per non-finite gradient of ``grads`` (empty: all finite)."""
    return [describe_array(f"grads[{name!r}]", g) for name, g in grads.items() if not is_finite(g)]


def check_gradients(grads: Mapping[str, Any], context: str) -> None:
    """Raise :class:`NonFiniteError` unless every gradient in ``grads`` is finite.

    Parameters
    ----------
    grads : name -> array (NumPy, CuPy, ...) or number (Python or NumPy), e.g. what
        ``loss_and_grad`` returns
    context : where the gradients come from, for the message (e.g. "training step 1234")

    Raises
    ------
    NonFiniteError : naming every non-finite gradient with its first bad value and index,
        the context, and what to try. Costs one ``isfinite(g).all()`` per array otherwise.
    """
    if all(is_finite(g) for g in grads.values()):
        return
    raise non_finite_error("non-finite gradient", context, "; ".join(non_finite_gradients(grads)), GRADIENT_ADVICE)


# ---------------------------------------------------------------------- hidden states (forward)
def states_finite(hs: Any, state: tuple | None = None) -> bool:
    """Whether h_1..h_T (``hs``) and every part of the final ``state`` are finite."""
    return is_finite(hs) and (state is None or all(is_finite(part) for part in state))


def describe_inner_step(s: int | None, S: int) -> str:
    """Where in the inner loop of step t the non-finite value first appears."""
    if s is None:
        return f"; the inner step s (of S = {S}) was not found (a replay on the reference stays finite)"
    which = "the preliminary vector h_t^(0)" if s == 0 else f"h_t^({s})"
    return f"; inside step t it first appears at inner step s = {s} of S = {S} ({which})"


def describe_states(hs: Any, state: tuple | None = None, inner_step: InnerStep | None = None) -> str | None:
    """Where the first non-finite hidden state is, or None when all are finite.

    Parameters
    ----------
    hs : (B, T, H), h_1..h_T
    state : the final state (a NamedTuple such as (h_T, A_T)), or None
    inner_step : for a core with an inner loop, finds its step s (only called on failure)

    Returns
    -------
    'h_t is inf at t = 12 of T = 2000, example 1 of B = 2 (unit 0); inside step t ...', or,
    with h_1..h_T finite, which part of the final state is not (e.g. A_T).
    """
    if not is_finite(hs):
        host = to_host(hs)
        B, T = host.shape[:2]
        t, example = _locate_step(host)
        unit = tuple(int(i) for i in np.argwhere(~np.isfinite(host[example, t]))[0])
        text = (
            f"h_t is {float(host[example, t][unit])} at t = {t + 1} of T = {T}, example {example} of B = {B} "
            f"(unit {unit[0] if len(unit) == 1 else unit})"
        )
        return text + ("" if inner_step is None else describe_inner_step(*inner_step(example, t + 1)))
    for field, part in _parts("", state):
        if not is_finite(part):
            found = describe_array(f"{field}_T", part)
            return f"h_1..h_T are finite, but the final state's {field} is not: {found} (index 0: the example)"
    return None


def check_forward(
    hs: Any, state: tuple | None, context: str, inner_step: InnerStep | None = None, cfg: object | None = None
) -> None:
    """Raise :class:`NonFiniteError` unless h_1..h_T and the final state are finite.

    The message names the tensor (h_t, or a part of the final state), the first time step t of
    T, the example, the inner step s of S when ``inner_step`` is given (:func:`describe_states`),
    ``context``, and what to try for the config ``cfg`` (:func:`forward_advice`)."""
    if states_finite(hs, state):
        return
    where = describe_states(hs, state, inner_step)
    raise non_finite_error("non-finite hidden state", context, where, forward_advice(cfg))


# ------------------------------------------------------------------- gradients (backward)
def describe_time_step(dx: Any) -> str:
    """Going backwards, where the gradient first became non-finite: the largest t (1-based)
    at which dx (B, T, I) is non-finite, and the first example non-finite there."""
    host = to_host(dx)
    t, example = _locate_step(host, last=True)
    return (
        f"; going backwards the gradient first becomes non-finite at t = {t + 1} of T = {host.shape[1]} "
        f"(the largest t at which dx is non-finite; example {example})"
    )


def describe_backward(grads: Mapping[str, Any], dx: Any = None, dstate0: tuple | None = None) -> str | None:
    """Which of a backward's results are non-finite, and the time step (:func:`describe_time_step`);
    None when all are finite."""
    named = [("dx", dx), *_parts("dstate0.", dstate0)]
    parts = non_finite_gradients(grads) + [
        describe_array(name, a) for name, a in named if a is not None and not is_finite(a)
    ]
    if not parts:
        return None
    when = describe_time_step(dx) if dx is not None and not is_finite(dx) else ""
    return "; ".join(parts) + when


def check_backward(grads: Mapping[str, Any], dx: Any, dstate0: tuple | None, context: str) -> None:
    """Raise :class:`NonFiniteError` unless the gradients, dx and dstate0 are all finite
    (the message: :func:`describe_backward`, ``context`` and what to try)."""
    arrays = (*grads.values(), *(() if dx is None else (dx,)), *(dstate0 or ()))
    if all(is_finite(a) for a in arrays):
        return
    raise non_finite_error("non-finite gradient", context, describe_backward(grads, dx, dstate0), GRADIENT_ADVICE)


# ------------------------------------------------------------------------ a model's results
def model_finite(loss: Any, hs: Any, grads: Mapping[str, Any]) -> bool:
    """Whether the loss, h_1..h_T (None: not available) and every gradient are finite."""
    return is_finite(loss) and (hs is None or is_finite(hs)) and all(is_finite(g) for g in grads.values())


def model_error(
    loss: Any,
    grads: Mapping[str, Any],
    hs: Any,
    dx: Any,
    context: str,
    inner_step: InnerStep | None = None,
    cfg: object | None = None,
) -> NonFiniteError:
    """The error for a model run with a non-finite loss, hidden state or gradient.

    ``loss`` and ``grads`` are what the run returned; ``hs`` (B, T, H) and ``dx`` (B, T, I)
    are the same run's, or a reference replay's for a backend that returns neither (None:
    unknown). It names the first non-finite h_t if there is one (with ``inner_step``'s s) and
    which gradients follow; else the non-finite loss or gradients, with the time step at which
    the gradient became non-finite going backwards.
    """
    forward = None if hs is None else describe_states(hs, None, inner_step)
    if forward is not None:
        names = ", ".join(name for name, g in grads.items() if not is_finite(g)) or "none"
        where = f"{forward}; the loss is {float(loss)}; non-finite gradients: {names}"
        return non_finite_error("non-finite hidden state", context, where, forward_advice(cfg))
    gradients = describe_backward(grads, dx) or "; ".join(non_finite_gradients(grads))
    gradients = f"; non-finite gradients: {gradients}" if gradients else ""
    if not is_finite(loss):
        where = f"the loss is {float(loss)} while h_1..h_T are finite (the readout V h_T + c overflows){gradients}"
        return non_finite_error("non-finite loss", context, where, GRADIENT_ADVICE)
    return non_finite_error("non-finite gradient", context, f"the loss and h_1..h_T are finite{gradients}",
                            GRADIENT_ADVICE)


# --------------------------------------------------------- the fast-weights core's inner loop
def inner_step_in_cache(cache: SequenceCache, example: int, t: int) -> tuple[int | None, int]:
    """(s, S) for h_t of ``example`` (t 1-based), read from the reference's cache (any namespace).

    s is the first inner step with a non-finite h_t^(s) (0: the preliminary vector), None when
    all are finite."""
    inner = step_inner_states(cache.steps[t - 1])  # h_t^(0), ..., h_t^(S), each (B, H)
    states = to_host(namespace(*inner).stack(inner, axis=1)[example, ...])  # (S+1, H)
    bad = ~np.isfinite(states).all(axis=1)
    return (_first_true(bad) if bad.any() else None), states.shape[0] - 1


def fw_inner_step(
    cache: Any, params: Mapping[str, Any], x: Any, cfg: Any, state0: tuple | None, overrides: Mapping[str, Any],
    example: int, t: int,
) -> tuple[int | None, int]:
    """(s, S) for h_t of ``example`` in a run of the fast-weights core (an :data:`InnerStep`
    once the run's arguments are bound).

    A reference cache (NumPy or CuPy) is read (:func:`inner_step_in_cache`); another backend's
    cache (Numba) has no inner states, so the reference forward is run again on NumPy, in the
    config's dtype, for that example up to step t, with the same parameters, initial state and
    λ, η overrides."""
    if isinstance(cache, SequenceCache):
        return inner_step_in_cache(cache, example, t)
    one = slice(example, example + 1)
    dtype = cfg.np_dtype
    core_params = {name: to_host(params[name]).astype(dtype, copy=False) for name in CORE_PARAM_NAMES}
    x1 = to_host(x)[one, :t].astype(dtype, copy=False)
    state1 = None if state0 is None else FastWeightsState(*(to_host(p)[one].astype(dtype, copy=False) for p in state0))
    with np.errstate(all="ignore"):  # a diagnosis: it must not stop at the overflow it looks for
        _, replay = sequence_forward(core_params, x1, cfg, state1, **overrides)
    return inner_step_in_cache(replay, 0, t)
