"""Adam (Kingma & Ba 2015, Algorithm 1) over a dict of named arrays, and what the optimisers share.

For every named parameter θ with gradient g, at step k = 1, 2, ...:

    m_k = β1 m_{k-1} + (1 − β1) g
    v_k = β2 v_{k-1} + (1 − β2) g ⊙ g
    θ_k = θ_{k-1} − α m̂_k / (sqrt(v̂_k) + ε),   m̂_k = m_k / (1 − β1^k),  v̂_k = v_k / (1 − β2^k)

This is the form PyTorch's ``torch.optim.Adam`` computes (up to rounding). TensorFlow/Keras
put ε outside the bias correction (θ −= α sqrt(1 − β2^k)/(1 − β1^k) · m_k / (sqrt(v_k) + ε̂)),
which differs when sqrt(v̂) is near ε.

The step is a pure function: it returns new parameters and a new state and never runs the
model. Arrays may come from any array namespace. The state saves to and loads from an
``.npz`` (atomic, no pickles).

The helpers at the end (:func:`check_hyperparameters`, :func:`check_step_inputs`,
:func:`save_optimiser_state`, :func:`load_optimiser_state`) are shared with the other
optimisers of this package (:mod:`fastweights_np.optim.rmsprop`): an optimiser is a frozen
config, a state of a step count and per-parameter statistics, a pure step, and a tagged
``.npz`` file "<statistic>.<name>" per array plus a JSON entry of the step and the config.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any, TypeVar

import numpy as np

from fastweights_np.array_namespace import namespace, to_numpy
from fastweights_np.atomic import atomic_save_npz
from fastweights_np.files import FileFormatError, read_tagged_npz

ADAM_FORMAT = "fastweights_np.adam/1"
ADAM_EXPECTED = f"a {ADAM_FORMAT} file of Adam's state (written by save_adam)"

Config = TypeVar("Config")


@dataclass(frozen=True)
class AdamConfig:
    """Adam's hyperparameters: α ``lr``, ``beta1``, ``beta2``, ``eps``.

    Raises
    ------
    ValueError
        naming the field: a value that is not a finite number (bool included), ``lr`` or
        ``eps`` <= 0, ``beta1`` or ``beta2`` outside [0, 1)
    """

    lr: float = 1e-3
    beta1: float = 0.9
    beta2: float = 0.999
    eps: float = 1e-8

    def __post_init__(self) -> None:
        check_hyperparameters(self, "Adam", positive=("lr", "eps"), unit_interval=("beta1", "beta2"))


@dataclass(frozen=True)
class AdamState:
    """The number of steps taken and the moment estimates m, v (one array per parameter name)."""

    step: int
    m: dict
    v: dict


def adam_init(params: Mapping) -> AdamState:
    """Step 0: m = v = 0 with each parameter's shape, dtype and namespace.

    Parameters
    ----------
    params : name → array (a non-empty dict)

    Returns
    -------
    AdamState
        ``step`` 0 and zero moments
    """
    check_arrays("params", params)
    m = {name: namespace(p).zeros_like(p) for name, p in params.items()}
    v = {name: namespace(p).zeros_like(p) for name, p in params.items()}
    return AdamState(0, m, v)


def adam_step(params: Mapping, grads: Mapping, state: AdamState, hp: AdamConfig) -> tuple[dict, AdamState]:
    """One Adam step (module docstring). Returns ``(new_params, new_state)``; nothing is modified.

    Parameters
    ----------
    params : name → array
    grads : name → array of the same shape, for every name of ``params``; names that are not
        parameters (e.g. the "decay" and "fast_lr" of :func:`fastweights_np.loss_and_grad`,
        which stay fixed) are ignored
    state : from :func:`adam_init` or a previous step, for the same names
    hp : the hyperparameters

    Raises
    ------
    TypeError
        ``params`` is not a non-empty dict of arrays, ``state`` not an AdamState
    ValueError
        ``state`` is for other names, ``grads`` lacks a parameter or has another shape for one
    """
    check_step_inputs(params, grads, state, AdamState, ("m", "v"))
    k = state.step + 1
    correction1 = 1.0 - hp.beta1**k
    correction2 = 1.0 - hp.beta2**k
    new_params, new_m, new_v = {}, {}, {}
    for name, theta in params.items():
        g = grads[name]
        xp = namespace(theta, g)
        m = hp.beta1 * state.m[name] + (1.0 - hp.beta1) * g
        v = hp.beta2 * state.v[name] + (1.0 - hp.beta2) * (g * g)
        m_hat = m / correction1
        v_hat = v / correction2
        new_params[name] = theta - hp.lr * m_hat / (xp.sqrt(v_hat) + hp.eps)
        new_m[name], new_v[name] = m, v
    return new_params, AdamState(k, new_m, new_v)


def save_adam(path: str | os.PathLike, state: AdamState, hp: AdamConfig) -> Path:
    """Write the state and hyperparameters to one ``.npz`` atomically (arrays "m.<name>", "v.<name>").

    Returns
    -------
    pathlib.Path
        the file written
    """
    return save_optimiser_state(path, ADAM_FORMAT, "__adam__", state.step, hp, {"m": state.m, "v": state.v})


def load_adam(path: str | os.PathLike) -> tuple[AdamState, AdamConfig]:
    """Read a file written by :func:`save_adam`: ``(state, hp)`` as NumPy arrays.

    Raises
    ------
    fastweights_np.files.FileFormatError
        naming the file: it is missing, not a readable ``.npz`` without pickles, of another
        format, or its state is incomplete or invalid
    """
    step, hp, stats = load_optimiser_state(path, ADAM_FORMAT, ADAM_EXPECTED, "__adam__", AdamConfig, ("m", "v"))
    return AdamState(step, stats["m"], stats["v"]), hp


# What the optimisers share --------------------------------------------------------------------


def check_hyperparameters(config: Any, optimiser: str, *, positive: tuple[str, ...] = (),
                          unit_interval: tuple[str, ...] = ()) -> None:
    """Validate the fields of a frozen config dataclass in place (call from ``__post_init__``).

    Every field must be a finite ``int`` or ``float`` (not a bool); it is stored as a float.

    Parameters
    ----------
    config : the dataclass instance
    optimiser : its name for the messages, e.g. "Adam"
    positive : fields that must be > 0
    unit_interval : fields that must lie in [0, 1)

    Raises
    ------
    ValueError
        "<optimiser> <field> must be ..., got <value>"
    """
    for f in fields(config):
        value = getattr(config, f.name)
        if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
            raise ValueError(f"{optimiser} {f.name} must be a finite number, got {value!r}")
        object.__setattr__(config, f.name, float(value))
    for name in positive:
        if getattr(config, name) <= 0:
            raise ValueError(f"{optimiser} {name} must be > 0, got {getattr(config, name)!r}")
    for name in unit_interval:
        if not 0.0 <= getattr(config, name) < 1.0:
            raise ValueError(f"{optimiser} {name} must be in [0, 1), got {getattr(config, name)!r}")


def check_arrays(name: str, arrays: object) -> None:
    """Raise TypeError unless ``arrays`` is a non-empty mapping whose values have a shape and dtype."""
    if not isinstance(arrays, Mapping) or not arrays:
        raise TypeError(f"{name} must be a non-empty dict of arrays, got {type(arrays).__name__}")
    for key, a in arrays.items():
        if not hasattr(a, "shape") or not hasattr(a, "dtype"):
            raise TypeError(f"{name}[{key!r}] must be an array, got {type(a).__name__}")


def check_step_inputs(params: object, grads: object, state: object, state_type: type,
                      statistics: tuple[str, ...]) -> None:
    """The checks before a step: params, the state's type and names, a gradient of each parameter's shape.

    Parameters
    ----------
    params, grads, state : the step's arguments
    state_type : the class ``state`` must be
    statistics : the attributes of ``state`` that are per-parameter dicts (e.g. ``("m", "v")``),
        each of which must have exactly the names of ``params``

    Raises
    ------
    TypeError
        ``params`` is not a non-empty dict of arrays, ``grads`` not a dict, ``state`` not a
        ``state_type``, or a parameter's gradient is not an array
    ValueError
        ``state`` is for other names; ``grads`` lacks parameters (the message lists them) or has
        another shape for one. Extra names in ``grads`` are allowed (gradients of values that
        are not trained).
    """
    check_arrays("params", params)
    if not isinstance(state, state_type):
        raise TypeError(f"state must be an {state_type.__name__}, got {type(state).__name__}")
    for attribute in statistics:
        stat = getattr(state, attribute)
        if set(stat) != set(params):
            raise ValueError(f"state is for parameters {sorted(stat)}, but params has {sorted(params)}")
    if not isinstance(grads, Mapping):
        raise TypeError(f"grads must be a dict of arrays, got {type(grads).__name__}")
    missing = sorted(set(params) - set(grads))
    if missing:
        raise ValueError(f"grads has no gradient for parameters {missing}")
    for name, theta in params.items():
        g = grads[name]
        if not hasattr(g, "shape"):
            raise TypeError(f"grads[{name!r}] must be an array, got {type(g).__name__}")
        if tuple(g.shape) != tuple(theta.shape):
            raise ValueError(
                f"grads[{name!r}] has shape {tuple(g.shape)}, but params[{name!r}] has {tuple(theta.shape)}"
            )


def save_optimiser_state(path: str | os.PathLike, tag: str, meta_key: str, step: int, hp: Any,
                         statistics: Mapping[str, Mapping]) -> Path:
    """Write an optimiser's state atomically as one ``.npz`` without pickles.

    Parameters
    ----------
    path : the file
    tag : the format, stored as ``__format__`` (e.g. "fastweights_np.adam/1")
    meta_key : the entry holding JSON ``{"step": step, <every field of hp>}`` (e.g. "__adam__")
    step : the number of steps taken
    hp : the config dataclass
    statistics : prefix → (name → array), stored as arrays "<prefix>.<name>" (as NumPy arrays)

    Returns
    -------
    pathlib.Path
        the file written
    """
    arrays = {}
    for prefix, stat in statistics.items():
        arrays.update({f"{prefix}.{name}": a for name, a in to_numpy(dict(stat)).items()})
    arrays["__format__"] = np.array(tag)
    arrays[meta_key] = np.array(json.dumps({"step": step, **asdict(hp)}))
    return atomic_save_npz(path, arrays)


def load_optimiser_state(path: str | os.PathLike, tag: str, expected: str, meta_key: str,
                         config_type: Callable[..., Config],
                         prefixes: tuple[str, ...]) -> tuple[int, Config, dict[str, dict[str, np.ndarray]]]:
    """Read a file written by :func:`save_optimiser_state`.

    Parameters
    ----------
    path, tag, meta_key : as given to :func:`save_optimiser_state`
    expected : what the file should be, for the error messages
    config_type : the config dataclass, built from the JSON entry's fields (and validated)
    prefixes : the statistics the file must hold, all for the same parameter names

    Returns
    -------
    (step, hp, statistics)
        statistics: prefix → (name → NumPy array)

    Raises
    ------
    fastweights_np.files.FileFormatError
        naming the file: it is missing, not a readable ``.npz`` without pickles, of another
        format, its statistics are for different names or shapes, or the JSON entry is missing,
        lacks a field, or holds an invalid value (a config the config rejects, a step that is
        not a non-negative integer)
    """

    def bad(problem: str) -> FileFormatError:
        return FileFormatError(f"{os.fspath(path)} {problem}; expected {expected}")

    arrays = read_tagged_npz(path, tag, expected)
    stats = {p: {k[len(p) + 1:]: a for k, a in arrays.items() if k.startswith(p + ".")} for p in prefixes}
    first = prefixes[0]
    for p in prefixes[1:]:
        if set(stats[p]) != set(stats[first]):
            raise bad(f"has {first} for parameters {sorted(stats[first])} but {p} for {sorted(stats[p])}")
        for name, a in stats[p].items():
            if a.shape != stats[first][name].shape:
                raise bad(f"has {first}.{name} of shape {stats[first][name].shape} but {p}.{name} of shape {a.shape}")
    try:
        meta = json.loads(str(arrays[meta_key]))
        hp = config_type(**{f.name: meta[f.name] for f in fields(config_type)})
        step = meta["step"]
        if isinstance(step, bool) or not isinstance(step, int) or step < 0:
            raise ValueError(f"step must be a non-negative integer, got {step!r}")
    except KeyError as exc:
        raise bad(f"lacks {exc.args[0]!r} (in {meta_key} or as an entry)") from None
    except (TypeError, ValueError) as exc:  # JSONDecodeError is a ValueError
        raise bad(f"has an invalid {meta_key} entry ({exc})") from None
    return step, hp, stats
