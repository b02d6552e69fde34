"""The CuPy backend: the reference's namespace-generic code run on GPU arrays.

Nothing here defines math. ``backend="cupy"`` makes :func:`fastweights_np.loss_and_grad` and
:func:`fastweights_np.hidden_states` move their (already checked) NumPy inputs to the GPU, run
the same functions as the NumPy path there (batched over sequences, as on the CPU), and return
NumPy results. Code that keeps its arrays on the GPU calls the unchecked functions
(``sequence_forward``, ``loss_forward``/``loss_backward``, ...) with CuPy arrays directly: the
namespace is taken from the inputs. See docs/cupy.md.
"""

from __future__ import annotations

from collections.abc import Callable
from types import ModuleType
from typing import Any

from fastweights_np.array_namespace import run_in_namespace


class BackendUnavailableError(ValueError):
    """The configured backend cannot run here; the message says why."""


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
    :class:`BackendUnavailableError` with the reason when CuPy or a GPU is missing."""
    usable, reason = cupy_status()
    if not usable:
        raise BackendUnavailableError(f"backend='cupy' cannot run here: {reason}")
    import array_api_compat.cupy

    return array_api_compat.cupy


def run_on_cupy(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """``fn(*args, **kwargs)`` with NumPy arrays moved to the GPU and the results moved back."""
    return run_in_namespace(cupy_namespace(), fn, *args, **kwargs)
