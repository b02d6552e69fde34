"""Adam (Kingma & Ba 2015, Algorithm 1) over a dict of named arrays.

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
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from fastweights_np.array_namespace import namespace, to_numpy
from fastweights_np.atomic import atomic_save_npz
from fastweights_np.files import FileFormatError, read_tagged_npz

ADAM_FORMAT = "fastweights_np.adam/1"
ADAM_EXPECTED = f"a {ADAM_FORMAT} file of Adam's state (written by save_adam)"


@dataclass(frozen=True)
class AdamConfig:
    """Adam's hyperparameters: α ``lr``, ``beta1``, ``beta2``, ``eps``."""

    lr: float = 1e-3
    beta1: float = 0.9
    beta2: float = 0.999
    eps: float = 1e-8

    def __post_init__(self) -> None:
        for name in ("lr", "beta1", "beta2", "eps"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
                raise ValueError(f"Adam {name} must be a finite number, got {value!r}")
            object.__setattr__(self, name, float(value))
        if self.lr <= 0:
            raise ValueError(f"Adam lr must be > 0, got {self.lr!r}")
        for name in ("beta1", "beta2"):
            if not 0.0 <= getattr(self, name) < 1.0:
                raise ValueError(f"Adam {name} must be in [0, 1), got {getattr(self, name)!r}")
        if self.eps <= 0:
            raise ValueError(f"Adam eps must be > 0, got {self.eps!r}")


@dataclass(frozen=True)
class AdamState:
    """The number of steps taken and the moment estimates m, v (one array per parameter name)."""

    step: int
    m: dict
    v: dict


def adam_init(params: Mapping) -> AdamState:
    """Step 0: m = v = 0 with each parameter's shape, dtype and namespace."""
    _check_arrays("params", params)
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
    """
    _check_arrays("params", params)
    if not isinstance(state, AdamState):
        raise TypeError(f"state must be an AdamState, got {type(state).__name__}")
    if set(state.m) != set(params) or set(state.v) != set(params):
        raise ValueError(f"state is for parameters {sorted(state.m)}, but params has {sorted(params)}")
    missing = sorted(set(params) - set(grads))
    if missing:
        raise ValueError(f"grads has no gradient for parameters {missing}")
    k = state.step + 1
    correction1 = 1.0 - hp.beta1**k
    correction2 = 1.0 - hp.beta2**k
    new_params, new_m, new_v = {}, {}, {}
    for name, theta in params.items():
        g = grads[name]
        if tuple(g.shape) != tuple(theta.shape):
            raise ValueError(
                f"grads[{name!r}] has shape {tuple(g.shape)}, but params[{name!r}] has {tuple(theta.shape)}"
            )
        xp = namespace(theta, g)
        m = hp.beta1 * state.m[name] + (1.0 - hp.beta1) * g
        v = hp.beta2 * state.v[name] + (1.0 - hp.beta2) * (g * g)
        m_hat = m / correction1
        v_hat = v / correction2
        new_params[name] = theta - hp.lr * m_hat / (xp.sqrt(v_hat) + hp.eps)
        new_m[name], new_v[name] = m, v
    return new_params, AdamState(k, new_m, new_v)


def save_adam(path: str | os.PathLike, state: AdamState, hp: AdamConfig) -> Path:
    """Write the state and hyperparameters to one ``.npz`` atomically (arrays "m.<name>", "v.<name>")."""
    arrays = {f"m.{name}": a for name, a in to_numpy(state.m).items()}
    arrays.update({f"v.{name}": a for name, a in to_numpy(state.v).items()})
    arrays["__format__"] = np.array(ADAM_FORMAT)
    arrays["__adam__"] = np.array(json.dumps({"step": state.step, "lr": hp.lr, "beta1": hp.beta1,
                                              "beta2": hp.beta2, "eps": hp.eps}))
    return atomic_save_npz(path, arrays)


def load_adam(path: str | os.PathLike) -> tuple[AdamState, AdamConfig]:
    """Read a file written by :func:`save_adam`: ``(state, hp)`` as NumPy arrays.

    Raises
    ------
    fastweights_np.files.FileFormatError
        naming the file: it is missing, not a readable ``.npz`` without pickles, of another
        format, or its state is incomplete or invalid
    """

    def bad(problem: str) -> FileFormatError:
        return FileFormatError(f"{path} {problem}; expected {ADAM_EXPECTED}")

    arrays = read_tagged_npz(path, ADAM_FORMAT, ADAM_EXPECTED)
    m = {k[2:]: a for k, a in arrays.items() if k.startswith("m.")}
    v = {k[2:]: a for k, a in arrays.items() if k.startswith("v.")}
    if set(m) != set(v):
        raise bad(f"has m for parameters {sorted(m)} but v for {sorted(v)}")
    try:
        meta = json.loads(str(arrays["__adam__"]))
        hp = AdamConfig(lr=meta["lr"], beta1=meta["beta1"], beta2=meta["beta2"], eps=meta["eps"])
        step = int(meta["step"])
    except KeyError as exc:
        raise bad(f"lacks {exc.args[0]!r} (in __adam__ or as an entry)") from None
    except (TypeError, ValueError) as exc:  # JSONDecodeError is a ValueError
        raise bad(f"has an invalid __adam__ entry ({exc})") from None
    return AdamState(step, m, v), hp


def _check_arrays(name: str, arrays: object) -> None:
    if not isinstance(arrays, Mapping) or not arrays:
        raise TypeError(f"{name} must be a non-empty dict of arrays, got {type(arrays).__name__}")
    for key, a in arrays.items():
        if not hasattr(a, "shape") or not hasattr(a, "dtype"):
            raise TypeError(f"{name}[{key!r}] must be an array, got {type(a).__name__}")
