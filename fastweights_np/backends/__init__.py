"""Which code computes a core: the one place where a backend is chosen.

- "numpy": the reference (``fastweights_np.cores``), which defines the math;
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

Whatever the backend, :func:`get_core` returns a record whose ``sequence_forward`` and
``sequence_backward`` check their results (:func:`checked_core`): non-finite hidden states, final
state, gradients, dx or dstate0 raise :class:`fastweights_np.finite.NonFiniteError`, naming the
tensor, the time step, the example and (fast-weights core) the inner step, instead of being
returned. For "numpy" it is a copy of the reference record with checked functions; the
reference's own functions (``fastweights_np.cores``) stay unchecked math.
"""

from __future__ import annotations

import dataclasses
import functools
import importlib
from types import ModuleType

from fastweights_np.cores.registry import Core
from fastweights_np.cores.registry import get_core as reference_core
from fastweights_np.finite import check_backward, check_forward, fw_inner_step, quiet_floating_point

BACKENDS = ("numpy", "numba", "cupy")
BACKEND_MODULES = {"numba": "fastweights_np.backends.numba", "cupy": "fastweights_np.backends.cupy"}
# the cores with an inner loop, and how to find the inner step s of a non-finite h_t
# (called with the run's cache, params, x, cfg, state0, overrides, then the example and t)
INNER_STEPS = {"fw": fw_inner_step}


def check_backend(backend: object) -> str:
    """Raise ValueError unless ``backend`` is one of :data:`BACKENDS`; return it."""
    if backend not in BACKENDS:
        raise ValueError(f"backend must be one of {BACKENDS}, got {backend!r}")
    return backend


def backend_module(backend: str) -> ModuleType | None:
    """The module implementing ``backend`` (imported on first use), or None for "numpy"."""
    check_backend(backend)
    return None if backend == "numpy" else importlib.import_module(BACKEND_MODULES[backend])


def checked_core(core: Core) -> Core:
    """A copy of ``core`` whose ``sequence_forward`` / ``sequence_backward`` raise
    :class:`fastweights_np.finite.NonFiniteError` instead of returning a non-finite value.

    The forward checks h_1..h_T and every part of the final state, the backward the gradients,
    dx and dstate0, at one ``isfinite(a).all()`` per array; NumPy's overflow / invalid warnings
    are silenced while they run (:func:`fastweights_np.finite.quiet_floating_point`). Results
    that are finite are returned unchanged (the same objects). The inner step s of a
    fast-weights core is found on failure only (:func:`fastweights_np.finite.fw_inner_step`).
    """
    forward, backward = core.sequence_forward, core.sequence_backward
    where = f"the {core.name!r} core's sequence_{{}} (backend {core.backend!r})"
    inner_step = INNER_STEPS.get(core.name)

    @functools.wraps(forward)
    def sequence_forward(params, x, cfg, state0=None, **overrides):
        with quiet_floating_point():
            (hs, state), cache = forward(params, x, cfg, state0, **overrides)
            locate = None if inner_step is None else functools.partial(
                inner_step, cache, params, x, cfg, state0, overrides
            )
            check_forward(hs, state, where.format("forward"), locate, cfg)
        return (hs, state), cache

    @functools.wraps(backward)
    def sequence_backward(dout, cache):
        with quiet_floating_point():
            grads, dx, dstate0 = backward(dout, cache)
            check_backward(grads, dx, dstate0, where.format("backward"))
        return grads, dx, dstate0

    return dataclasses.replace(core, sequence_forward=sequence_forward, sequence_backward=sequence_backward)


def get_core(name: str, backend: str = "numpy") -> Core:
    """The core called ``name`` computed by ``backend``, with its results checked.

    Parameters
    ----------
    name : one of :data:`fastweights_np.cores.registry.CORE_NAMES`
    backend : one of :data:`BACKENDS`; "numpy" gives a copy of the reference record
        (``fastweights_np.cores.registry.get_core``) with checked functions

    Returns
    -------
    Core : its ``sequence_forward`` / ``sequence_backward`` are the backend's (same signatures
        and results as the reference's), checked (:func:`checked_core`): a non-finite result
        raises :class:`fastweights_np.finite.NonFiniteError`; ``core.backend`` names the backend.
        The fast-weights core's gradients "decay" and "fast_lr" are NumPy scalars of the
        config's dtype, like the arrays.
    """
    reference = reference_core(name)
    module = backend_module(backend)
    return checked_core(reference if module is None else module.core(reference))
