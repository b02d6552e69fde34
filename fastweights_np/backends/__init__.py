"""Where the model runs, chosen by ``FastWeightsConfig.backend``.

- "numpy": the reference itself (``fastweights_np.cores``, ``fastweights_np.model``);
- "numba" (``backends/numba``): compiled CPU kernels with the reference's signatures;
- "cupy" (``backends/cupy.py``): the reference's own namespace-generic code run on CuPy
  arrays; it defines nothing, so it needs no hand-over below.

The NumPy reference (``fastweights_np.cores``, ``fastweights_np.model``) defines the math; a
backend computes the same numbers faster and is tested against it. This module is the one
place where the reference hands work to a backend:

- ``sequence_forward`` and ``loss_and_grad_unchecked`` ask :func:`backend_for` for the
  config's backend and, when it is a compiled one, return what the backend returns;
- a backend's forward wraps its cache in :class:`BackendCache`, so ``sequence_backward``
  can send the cache back to the backend that made it (:func:`backend_of_cache`).

A backend is a module with three functions of the reference's signatures:
``sequence_forward(params, x, cfg, state0, *, decay, fast_lr)``,
``sequence_backward(dout, cache)`` and ``loss_and_grad(params, x, y, cfg, *, decay, fast_lr)``
(the last one called with checked inputs); one that also runs baseline cores has
``baseline_sequence_forward(params, x, cfg, state0)`` and ``baseline_sequence_backward(dout,
cache)``, to which the baselines' shared loop (``cores/recurrence.py``) hands over. Backends
are imported on first use, so the reference never imports Numba unless asked to.
"""

from __future__ import annotations

import importlib
from types import ModuleType
from typing import NamedTuple

BACKEND_MODULES = {"numba": "fastweights_np.backends.numba"}


class BackendCache(NamedTuple):
    """A forward cache made by a backend: the backend's name and its own data."""

    backend: str
    data: object


def backend_module(name: str) -> ModuleType:
    """The module implementing backend ``name`` (imported on first use)."""
    try:
        return importlib.import_module(BACKEND_MODULES[name])
    except KeyError:
        raise ValueError(f"backend must be one of {sorted(BACKEND_MODULES)}, got {name!r}") from None


def backend_for(cfg: object) -> ModuleType | None:
    """The compiled backend module for ``cfg.backend``, or None when the reference's code runs
    (backend "numpy", or "cupy", which runs the reference's code on GPU arrays)."""
    name = getattr(cfg, "backend", "numpy")
    return backend_module(name) if name in BACKEND_MODULES else None


def backend_of_cache(cache: object) -> ModuleType | None:
    """The backend module that made a forward ``cache``, or None for a reference cache."""
    return backend_module(cache.backend) if isinstance(cache, BackendCache) else None
