"""Which code computes a core: the one place where a backend is chosen.

- "numpy": the reference itself (``fastweights_np.cores``), which defines the math;
- "numba" (``backends/numba``): compiled, batch-parallel CPU kernels, tested equal to the
  reference, for the fast-weights core (paper timing, ReLU), the IRNN and the LSTM;
- "cupy" (``backends/cupy.py``): the reference's own namespace-generic code run on CuPy arrays
  on a GPU, for the fast-weights core.

The reference never imports this package: the backend is a run-time choice made one floor up
(by a model, a task or the command line), not a field of a core's config, so a saved model or a
golden-vector file describes only the math.

A backend is a module with

    core(reference: Core) -> Core
        a copy of the reference record (``cores/registry.py``) whose ``sequence_forward`` and
        ``sequence_backward`` are the backend's, with the reference's signatures and results;
        its caches are its own. ValueError naming the backend and the cores it has otherwise.
    model_loss_and_grad(params, x, y, cfg, *, decay=None, fast_lr=None)   (optional)
        the canonical model's loss and gradient (``models/canonical.py``), computed by the
        backend in one piece, for inputs checked already

Backends are imported on first use, so nothing imports Numba or CuPy unless asked to.
"""

from __future__ import annotations

import importlib
from types import ModuleType

from fastweights_np.cores.registry import Core
from fastweights_np.cores.registry import get_core as reference_core

BACKENDS = ("numpy", "numba", "cupy")
BACKEND_MODULES = {"numba": "fastweights_np.backends.numba", "cupy": "fastweights_np.backends.cupy"}


def check_backend(backend: object) -> str:
    """Raise ValueError unless ``backend`` is one of :data:`BACKENDS`; return it."""
    if backend not in BACKENDS:
        raise ValueError(f"backend must be one of {BACKENDS}, got {backend!r}")
    return backend


def backend_module(backend: str) -> ModuleType | None:
    """The module implementing ``backend`` (imported on first use), or None for "numpy"."""
    check_backend(backend)
    return None if backend == "numpy" else importlib.import_module(BACKEND_MODULES[backend])


def get_core(name: str, backend: str = "numpy") -> Core:
    """The core called ``name`` computed by ``backend``.

    Parameters
    ----------
    name : one of :data:`fastweights_np.cores.registry.CORE_NAMES`
    backend : one of :data:`BACKENDS`; "numpy" gives the reference record itself

    Returns
    -------
    Core : its ``sequence_forward`` / ``sequence_backward`` are the backend's (same signatures
        and results as the reference's); ``core.backend`` names the backend
    """
    reference = reference_core(name)
    module = backend_module(backend)
    return reference if module is None else module.core(reference)

