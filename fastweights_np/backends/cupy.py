"""The CuPy backend: the reference's namespace-generic code run on GPU arrays.

Nothing here defines math. ``get_core("fw", backend="cupy")`` gives the fast-weights core whose
forward moves its (NumPy) inputs to the GPU, runs the reference's ``sequence_forward`` there and
returns NumPy states, keeping its cache on the GPU for the backward, which does the same.
``backend="cupy"`` in :func:`fastweights_np.loss_and_grad` and :func:`fastweights_np.hidden_states`
runs the whole reference model there (:func:`run_reference`). Code that keeps its arrays on the
GPU calls the reference's functions (``sequence_forward``, ``loss_forward``/``loss_backward``,
...) with CuPy arrays directly: the namespace is taken from the inputs. See docs/cupy.md.

Without CuPy or a GPU, ``get_core(name, "cupy")`` (:func:`core`) and every ``backend="cupy"``
call raise :class:`fastweights_np.backends.BackendUnavailableError` with the reason
(:func:`cupy_status`); nothing falls back to NumPy.

Inputs and results are checked one floor up, on the host: ``get_core`` wraps :func:`core`'s
record (``fastweights_np.backends.checked_core``: the inputs before they move, the results
after they come back) and ``loss_and_grad`` checks its inputs, the loss and the gradients
(``fastweights_np.models.canonical``); a non-finite value raises
``fastweights_np.finite.NonFiniteError``, located in the GPU-side reference cache (the inner step
s) or, for ``loss_and_grad``, by replaying the reference on NumPy.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from types import ModuleType
from typing import Any

from fastweights_np.array_namespace import run_in_namespace, to_namespace, to_numpy
from fastweights_np.backends import BackendUnavailableError
from fastweights_np.cores.registry import Core

BACKEND = "cupy"
CORES = ("fw",)  # the cores whose reference code is namespace-generic


def cupy_status() -> tuple[bool, str]:
    """Whether CuPy can run here, and a one-line reason (versions and GPU, or what is missing)."""
    try:
        import cupy
    except ImportError as exc:
        return False, f"CuPy is not installed ({exc}); install a cupy-cudaXXx wheel matching the CUDA driver"
    except Exception as exc:  # a broken CUDA install can fail at import time
        return False, f"CuPy failed to import: {type(exc).__name__}: {exc}"
    try:
        n_devices = cupy.cuda.runtime.getDeviceCount()
    except Exception as exc:
        return False, f"CuPy {cupy.__version__} is installed but no CUDA device is usable: {type(exc).__name__}: {exc}"
    if n_devices < 1:
        return False, f"CuPy {cupy.__version__} is installed but reports no CUDA device"
    try:
        import array_api_compat  # noqa: F401
    except ImportError:
        return False, "CuPy needs array-api-compat here (pip install array-api-compat)"
    try:
        name = cupy.cuda.runtime.getDeviceProperties(0)["name"]
        name = name.decode() if isinstance(name, bytes) else str(name)
        (cupy.arange(3.0) * 2.0).sum().item()  # compiles and runs a kernel
    except Exception as exc:
        return False, f"CuPy {cupy.__version__} sees {n_devices} GPU(s) but cannot run a kernel: {exc}"
    return True, f"CuPy {cupy.__version__}, {n_devices} GPU(s), device 0: {name}"


def cupy_namespace() -> ModuleType:
    """The array namespace of CuPy arrays (``array_api_compat.cupy``); raises
    :class:`BackendUnavailableError` (``fastweights_np.backends``) with the reason when CuPy
    or a GPU is missing."""
    usable, reason = cupy_status()
    if not usable:
        raise BackendUnavailableError(f"backend='cupy' cannot run here: {reason}")
    import array_api_compat.cupy

    return array_api_compat.cupy


def run_on_cupy(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """``fn(*args, **kwargs)`` with NumPy arrays moved to the GPU and the results moved back."""
    return run_in_namespace(cupy_namespace(), fn, *args, **kwargs)


run_reference = run_on_cupy  # the backend interface's name (fastweights_np.backends)


def core(reference: Core) -> Core:
    """The reference core ``reference`` run on the GPU: NumPy in and out, caches on the GPU
    (unchecked: ``fastweights_np.backends.get_core`` adds the input and non-finite checks).

    Raises
    ------
    ValueError : for a core whose reference code is not namespace-generic (the baselines)
    BackendUnavailableError : when CuPy or a GPU is missing (:func:`cupy_status` says why),
        here, when the core is asked for, rather than at its first call: a model or a trainer
        built on it fails before it sets anything up, and nothing runs on NumPy instead
    """
    if reference.name not in CORES:
        raise ValueError(f"backend 'cupy' has the cores {CORES}, not {reference.name!r}: use backend 'numpy'")
    xp = cupy_namespace()

    def sequence_forward(params, x, cfg, state0=None, **overrides):
        out, cache = reference.sequence_forward(*to_namespace((params, x, cfg, state0), xp), **overrides)
        return to_numpy(out), cache

    def sequence_backward(dout, cache):
        return to_numpy(reference.sequence_backward(to_namespace(dout, xp), cache))

    sequence_forward.__doc__ = reference.sequence_forward.__doc__  # the same arguments and results
    sequence_backward.__doc__ = reference.sequence_backward.__doc__
    return dataclasses.replace(
        reference, backend=BACKEND, sequence_forward=sequence_forward, sequence_backward=sequence_backward
    )
