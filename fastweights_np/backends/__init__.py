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
        its caches are its own (tuples, NamedTuples included). ValueError naming the backend
        and the cores it has otherwise; :class:`BackendUnavailableError` when it cannot run here.
    model_loss_and_grad(params, x, y, cfg, *, decay=None, fast_lr=None)   (optional)
        the canonical model's loss and gradient (``models/canonical.py``), computed by the
        backend in one piece, for inputs checked already

Backends are imported on first use, so nothing imports Numba or CuPy unless asked to.

Whatever the backend, :func:`get_core` returns a record whose ``sequence_forward`` and
``sequence_backward`` check their inputs and their results (:func:`checked_core`), with the
same code for every backend: the inputs by the core record's own checks
(``Core.check_sequence_inputs``, ``Core.check_dout``: TypeError / ValueError naming the argument, the
expected and the actual shape, dtype or value), the results for non-finite values (hidden
states, final state, gradients, dx or dstate0 raise :class:`fastweights_np.finite.NonFiniteError`,
naming the tensor, the time step, the example and (fast-weights core) the inner step). For
"numpy" it is a copy of the reference record with checked functions; the reference's own
functions (``fastweights_np.cores``) stay unchecked math.

A backend that cannot run here (Numba not installed; CuPy or a GPU missing) raises
:class:`BackendUnavailableError` from :func:`get_core` (and from :func:`backend_module`) with
the reason: nothing falls back to another backend.
"""

from __future__ import annotations

import dataclasses
import functools
import importlib
import inspect
from types import ModuleType
from typing import Any, NamedTuple

from fastweights_np.config_base import check_real
from fastweights_np.cores.registry import Core
from fastweights_np.cores.registry import get_core as reference_core
from fastweights_np.finite import check_backward, check_forward, fw_inner_step, quiet_floating_point

BACKENDS = ("numpy", "numba", "cupy")
BACKEND_MODULES = {"numba": "fastweights_np.backends.numba", "cupy": "fastweights_np.backends.cupy"}
# the cores with an inner loop, and how to find the inner step s of a non-finite h_t
# (called with the run's cache, params, x, cfg, state0, overrides, then the example and t)
INNER_STEPS = {"fw": fw_inner_step}

FORWARD_DOC = """
Checked (``fastweights_np.backends.checked_core``, every backend alike): cfg must be the
core's config; params every key of the core (others, such as a readout's V and c, are left
out) with its shape and cfg's dtype, finite; x a real floating array (B, T, I) with B, T >= 1
and I = cfg.input_size, finite (float32 / float64 converted to cfg's dtype; integer, complex
and bool refused); state0 None or the core's state (its NamedTuple or a plain tuple of its
arrays) of the shapes of zero_state(cfg, B), finite; decay / fast_lr overrides finite real
numbers. A bad input raises TypeError / ValueError
naming the argument, the expected and the actual shape, dtype or value; a non-finite h_t or
final state raises fastweights_np.finite.NonFiniteError. The cache remembers the forward
(core, backend, cfg, B, T) for sequence_backward."""

BACKWARD_DOC = """
Checked (``fastweights_np.backends.checked_core``, every backend alike): cache must come from
the same checked core's sequence_forward (TypeError otherwise); dout = (dhs, dstate): dhs
(B, T, H) of the forward's B and T, dstate None or the final state's gradient, the core's state
NamedTuple or a plain tuple of its arrays (converted), both finite, in cfg's dtype (the other
float dtype converted). A non-finite gradient, dx or dstate0 raises
fastweights_np.finite.NonFiniteError."""


class BackendUnavailableError(ValueError):
    """The backend asked for cannot run here; the message says why (nothing falls back)."""


class Forward(NamedTuple):
    """What a checked ``sequence_forward`` ran, kept on its cache for the backward's checks."""

    core: str
    backend: str
    cfg: Any
    batch: int
    steps: int


FORWARD_ATTRIBUTE = "checked_forward"  # the :class:`Forward` on a checked forward's cache


def check_backend(backend: object) -> str:
    """Raise ValueError unless ``backend`` is one of :data:`BACKENDS`; return it."""
    if backend not in BACKENDS:
        raise ValueError(f"backend must be one of {BACKENDS}, got {backend!r}")
    return backend


def backend_module(backend: str) -> ModuleType | None:
    """The module implementing ``backend`` (imported on first use), or None for "numpy".

    Raises :class:`BackendUnavailableError` when a package it needs is not installed."""
    check_backend(backend)
    if backend == "numpy":
        return None
    try:
        return importlib.import_module(BACKEND_MODULES[backend])
    except ModuleNotFoundError as exc:
        if (exc.name or "").startswith("fastweights_np"):
            raise
        raise BackendUnavailableError(f"backend={backend!r} cannot run here: {exc} (pip install {exc.name})") from exc


@functools.cache
def _remembering(cache_class: type) -> type:
    """A subclass of the tuple class ``cache_class`` whose instances can hold a :class:`Forward`."""
    return type(cache_class.__name__, (cache_class,), {"__module__": cache_class.__module__,
                                                       "__qualname__": cache_class.__qualname__})


def remember_forward(cache: tuple, forward: Forward) -> tuple:
    """``cache`` as an instance of a subclass of its own class (so the backend's backward, a
    NamedTuple's fields and ``isinstance`` see what they saw) that holds ``forward``."""
    if not isinstance(cache, tuple):
        raise TypeError(f"a core's cache must be a tuple, the {forward.core!r} core's (backend "
                        f"{forward.backend!r}) is a {type(cache).__name__}")
    remembered = tuple.__new__(_remembering(type(cache)), cache)
    setattr(remembered, FORWARD_ATTRIBUTE, forward)
    return remembered


def forward_of(core: Core, cache: object) -> Forward:
    """The :class:`Forward` of a cache made by ``core``'s checked forward; TypeError otherwise."""
    forward = getattr(cache, FORWARD_ATTRIBUTE, None)
    if isinstance(forward, Forward) and (forward.core, forward.backend) == (core.name, core.backend):
        return forward
    made_by = (
        "not a cache from a checked sequence_forward (fastweights_np.get_core)" if not isinstance(forward, Forward)
        else f"one from the {forward.core!r} core's sequence_forward (backend {forward.backend!r})"
    )
    raise TypeError(
        f"cache must be what the {core.name!r} core's sequence_forward (backend {core.backend!r}) returned, "
        f"got a {type(cache).__name__}, {made_by} (a cache goes back to the core that made it)"
    )


def _checked_doc(function: Any, checks: str) -> str:
    return f"{inspect.cleandoc(function.__doc__ or '')}\n{checks}"


def checked_core(core: Core) -> Core:
    """A copy of ``core`` whose ``sequence_forward`` / ``sequence_backward`` check their inputs
    and raise :class:`fastweights_np.finite.NonFiniteError` instead of returning a non-finite value.

    The same checks for every backend. Inputs: the forward's by ``core.check_sequence_inputs``
    (cfg, params, x, state0; the backend gets the core's own params, x and state0 converted to
    cfg's dtype, state0 as the core's state NamedTuple) and finite λ, η overrides; the
    backward's cache must come from this record's forward (:func:`forward_of`) and dout is
    checked against that forward by ``core.check_dout`` (dhs (B, T, H); dstate a NamedTuple or
    a plain tuple, converted).
    Results: the forward checks h_1..h_T and every part of the final state, the backward the
    gradients, dx and dstate0, at one ``isfinite(a).all()`` per array; NumPy's overflow /
    invalid warnings are silenced while they run
    (:func:`fastweights_np.finite.quiet_floating_point`). Finite results are returned
    unchanged (the same objects); the cache is the backend's, as an instance of a subclass of
    its class that remembers the forward (:func:`remember_forward`). The inner step s of a
    fast-weights core is found on failure only (:func:`fastweights_np.finite.fw_inner_step`).
    """
    forward, backward = core.sequence_forward, core.sequence_backward
    where = f"the {core.name!r} core's sequence_{{}} (backend {core.backend!r})"
    inner_step = INNER_STEPS.get(core.name)

    @functools.wraps(forward)
    def sequence_forward(params, x, cfg, state0=None, **overrides):
        params, x, state0 = core.check_sequence_inputs(params, x, cfg, state0)
        for name, value in overrides.items():
            if value is not None:
                check_real(name, value)
        with quiet_floating_point():
            (hs, state), cache = forward(params, x, cfg, state0, **overrides)
            locate = None if inner_step is None else functools.partial(
                inner_step, cache, params, x, cfg, state0, overrides
            )
            check_forward(hs, state, where.format("forward"), locate, cfg)
        return (hs, state), remember_forward(cache, Forward(core.name, core.backend, cfg, *x.shape[:2]))

    @functools.wraps(backward)
    def sequence_backward(dout, cache):
        run = forward_of(core, cache)
        dout = core.check_dout(dout, run.cfg, run.batch, run.steps)
        with quiet_floating_point():
            grads, dx, dstate0 = backward(dout, cache)
            check_backward(grads, dx, dstate0, where.format("backward"))
        return grads, dx, dstate0

    sequence_forward.__doc__ = _checked_doc(forward, FORWARD_DOC)
    sequence_backward.__doc__ = _checked_doc(backward, BACKWARD_DOC)
    return dataclasses.replace(core, sequence_forward=sequence_forward, sequence_backward=sequence_backward)


def get_core(name: str, backend: str = "numpy") -> Core:
    """The core called ``name`` computed by ``backend``, with its inputs and results checked.

    Parameters
    ----------
    name : one of :data:`fastweights_np.cores.registry.CORE_NAMES`
    backend : one of :data:`BACKENDS`; "numpy" gives a copy of the reference record
        (``fastweights_np.cores.registry.get_core``) with checked functions

    Returns
    -------
    Core : its ``sequence_forward`` / ``sequence_backward`` are the backend's (same signatures
        and results as the reference's), checked (:func:`checked_core`): a bad input raises
        TypeError / ValueError naming it, a non-finite result
        :class:`fastweights_np.finite.NonFiniteError`; ``core.backend`` names the backend.
        The fast-weights core's gradients "decay" and "fast_lr" are NumPy scalars of the
        config's dtype, like the arrays.

    Raises
    ------
    ValueError : an unknown core or backend, or a backend without this core
    BackendUnavailableError : (a ValueError) the backend cannot run here (Numba not installed,
        CuPy or a GPU missing), with the reason; raised here, before any computation, so that
        nothing is set up for a run that cannot happen, and nothing falls back to NumPy
    """
    reference = reference_core(name)
    module = backend_module(backend)
    return checked_core(reference if module is None else module.core(reference))
