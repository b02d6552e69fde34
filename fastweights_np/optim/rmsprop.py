"""RMSProp as A3C uses it (Mnih et al. 2016), with one set of statistics, over a dict of named arrays.

For every named parameter θ with gradient g, at step k = 1, 2, ... (v_0 = 0):

    v_k = α v_{k-1} + (1 − α) g ⊙ g
    θ_k = θ_{k-1} − lr · g / (sqrt(v_k) + ε)

This is the non-centered RMSProp without momentum that A3C chose ("RMSProp with shared
statistics": the mean square v is shared by all the actor-learner threads, rather than one
per thread). A synchronous trainer has one learner and so one set of statistics: the state
here is that shared set.

Where ε goes
------------
The form above is PyTorch's ``torch.optim.RMSprop`` with ``centered=False, momentum=0``
(and ``weight_decay=0``), up to rounding: ε is added *outside* the square root, and v starts
at zero. TensorFlow 1's ``tf.train.RMSPropOptimizer`` (the ``ApplyRMSProp`` kernel) puts ε
*inside*, θ −= lr · g / sqrt(v + ε), and starts v at one rather than zero. The A3C paper
writes its update as θ ← θ − η Δθ / sqrt(g + ε), i.e. with ε inside the square root, the
TensorFlow placement. The two agree when v ≫ ε; they differ for parameters whose gradients
are about sqrt(ε) or smaller (sqrt(1e-5) ≈ 3e-3 for the default ε).

The defaults α = 0.99 (the A3C paper's decay factor), ε = 1e-5 and lr = 7e-4 are those of
OpenAI Baselines' A2C, the synchronous variant of A3C (PyTorch's own defaults are lr = 1e-2,
ε = 1e-8).

The step is a pure function: it returns new parameters and a new state and never runs the
model. Arrays may come from any array namespace. The state saves to and loads from an
``.npz`` (atomic, no pickles), like Adam's (:mod:`fastweights_np.optim.adam`, which holds
the checks and the file code both share).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from fastweights_np.array_namespace import namespace
from fastweights_np.optim.adam import (
    check_arrays,
    check_hyperparameters,
    check_step_inputs,
    load_optimiser_state,
    save_optimiser_state,
)

RMSPROP_FORMAT = "fastweights_np.rmsprop/1"
RMSPROP_EXPECTED = f"a {RMSPROP_FORMAT} file of RMSProp's state (written by save_rmsprop)"


@dataclass(frozen=True)
class RMSPropConfig:
    """RMSProp's hyperparameters: the learning rate ``lr``, the decay ``alpha``, ``eps`` (outside the root).

    Raises
    ------
    ValueError
        naming the field: a value that is not a finite number (bool included), ``lr`` or
        ``eps`` <= 0, ``alpha`` outside [0, 1)
    """

    lr: float = 7e-4
    alpha: float = 0.99
    eps: float = 1e-5

    def __post_init__(self) -> None:
        check_hyperparameters(self, "RMSProp", positive=("lr", "eps"), unit_interval=("alpha",))


@dataclass(frozen=True)
class RMSPropState:
    """The number of steps taken and the mean squares v of the gradients (one array per parameter name)."""

    step: int
    v: dict


def rmsprop_init(params: Mapping) -> RMSPropState:
    """Step 0: v = 0 with each parameter's shape, dtype and namespace.

    Parameters
    ----------
    params : name → array (a non-empty dict)

    Returns
    -------
    RMSPropState
        ``step`` 0 and zero mean squares
    """
    check_arrays("params", params)
    return RMSPropState(0, {name: namespace(p).zeros_like(p) for name, p in params.items()})


def rmsprop_step(params: Mapping, grads: Mapping, state: RMSPropState,
                 hp: RMSPropConfig) -> tuple[dict, RMSPropState]:
    """One RMSProp step (module docstring). Returns ``(new_params, new_state)``; nothing is modified.

    Parameters
    ----------
    params : name → array
    grads : name → array of the same shape, for every name of ``params``; names that are not
        parameters (e.g. the "decay" and "fast_lr" of :func:`fastweights_np.loss_and_grad`,
        which stay fixed) are ignored
    state : from :func:`rmsprop_init` or a previous step, for the same names
    hp : the hyperparameters

    Raises
    ------
    TypeError
        ``params`` is not a non-empty dict of arrays, ``state`` not an RMSPropState
    ValueError
        ``state`` is for other names, ``grads`` lacks a parameter or has another shape for one
    """
    check_step_inputs(params, grads, state, RMSPropState, ("v",))
    new_params, new_v = {}, {}
    for name, theta in params.items():
        g = grads[name]
        xp = namespace(theta, g)
        v = hp.alpha * state.v[name] + (1.0 - hp.alpha) * (g * g)
        new_params[name] = theta - hp.lr * g / (xp.sqrt(v) + hp.eps)
        new_v[name] = v
    return new_params, RMSPropState(state.step + 1, new_v)


def save_rmsprop(path: str | os.PathLike, state: RMSPropState, hp: RMSPropConfig) -> Path:
    """Write the state and hyperparameters to one ``.npz`` atomically.

    The file holds arrays "v.<name>", ``__format__`` = "fastweights_np.rmsprop/1" and
    ``__rmsprop__``, JSON of the step, ``lr``, ``alpha`` and ``eps``.

    Returns
    -------
    pathlib.Path
        the file written
    """
    return save_optimiser_state(path, RMSPROP_FORMAT, "__rmsprop__", state.step, hp, {"v": state.v})


def load_rmsprop(path: str | os.PathLike) -> tuple[RMSPropState, RMSPropConfig]:
    """Read a file written by :func:`save_rmsprop`: ``(state, hp)`` as NumPy arrays.

    Raises
    ------
    fastweights_np.files.FileFormatError
        naming the file: it is missing, not a readable ``.npz`` without pickles, of another
        format, or its state is incomplete or invalid
    """
    step, hp, stats = load_optimiser_state(path, RMSPROP_FORMAT, RMSPROP_EXPECTED, "__rmsprop__",
                                           RMSPropConfig, ("v",))
    return RMSPropState(step, stats["v"]), hp
