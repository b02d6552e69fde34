"""What the kernels index by, made sure of before they run: shapes and types, no pass over values.

The compiled kernels do no bounds checks. The records of ``fastweights_np.get_core(name,
"numba")`` check every input before this backend sees it (``fastweights_np.backends.checked_core``,
with the core record's ``check_sequence_inputs`` / ``check_dout``, the same checks for every backend).
The entry points here are public too, so each first makes sure, cheaply, that the arrays it
will index have the shapes it indexes them by; when they do not, it runs those same checks,
whose error names the argument (and when they pass, as for a plain-tuple state, it goes on
with what they return: the state as the core's NamedTuple, arrays in cfg's dtype).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, NamedTuple

import numpy as np

from fastweights_np.cores.registry import Core


def _arrays_fit(arrays: Iterable[object], shapes: Iterable[tuple]) -> bool:
    return all(isinstance(a, np.ndarray) and a.shape == shape for a, shape in zip(arrays, shapes, strict=True))


def _state_fits(core: Core, state: object, cfg: Any, batch: int) -> bool:
    """None, or the core's state NamedTuple with the shapes of its zero state."""
    return state is None or (
        isinstance(state, core.state_class)
        and _arrays_fit(state, (part.shape for part in core.zero_state(cfg, batch, cfg.np_dtype)))
    )


def fit_inputs(
    core: Core, params: object, x: object, cfg: object, state0: object = None
) -> tuple[dict[str, np.ndarray], np.ndarray, NamedTuple | None]:
    """(the core's params, x, state0) as given when cfg is ``core``'s config, params hold its
    parameters (and maybe others, left out) of their shapes, x is (B, T, I) with B, T >= 1 and
    state0 is None or the core's state of the right shapes; otherwise what
    ``core.check_sequence_inputs`` returns, or its TypeError / ValueError."""
    own = core.own_params(params, cfg)
    if (
        isinstance(cfg, core.config_class)
        and isinstance(own, dict)
        and isinstance(x, np.ndarray)
        and x.ndim == 3
        and x.shape[0] >= 1
        and x.shape[1] >= 1
        and x.shape[2] == cfg.input_size
    ):
        shapes = core.param_shapes(cfg)
        if (
            own.keys() == shapes.keys()
            and _arrays_fit((own[name] for name in shapes), shapes.values())
            and _state_fits(core, state0, cfg, x.shape[0])
        ):
            return own, x, state0
    return core.check_sequence_inputs(params, x, cfg, state0)


def fit_dout(core: Core, dout: object, cfg: Any, batch: int, steps: int) -> tuple[np.ndarray, NamedTuple | None]:
    """dout = (dhs, dstate) as given when dhs is (B, T, H) and dstate None or the core's state
    of the right shapes; otherwise what ``core.check_dout`` returns, or its TypeError / ValueError."""
    if (
        isinstance(dout, tuple)
        and len(dout) == 2
        and _arrays_fit(dout[:1], [(batch, steps, cfg.hidden_size)])
        and _state_fits(core, dout[1], cfg, batch)
    ):
        return dout
    return core.check_dout(dout, cfg, batch, steps)
