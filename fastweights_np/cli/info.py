"""``fastweights-np info``: versions, Numba's threading, and whether CuPy and a GPU are usable."""

from __future__ import annotations

import argparse
import importlib.metadata
import platform

from fastweights_np import __version__
from fastweights_np.backends.cupy import cupy_status

PACKAGES = ("numpy", "scipy", "numba", "llvmlite", "array-api-compat", "array-api-strict", "cupy", "torch")


def add_parser(subparsers) -> None:
    p = subparsers.add_parser(
        "info",
        help="print versions, Numba's threading layer and threads, and whether CuPy and a GPU are usable",
        description="Prints the versions of Python and of the packages fastweights_np uses or can use, "
        "the threading layer Numba actually runs a parallel loop on and its thread count, and whether "
        "the CuPy backend can run here (and if not, why).",
    )
    p.set_defaults(handler=run)


def package_versions() -> dict[str, str]:
    """Installed version of each of :data:`PACKAGES` (CuPy under any of its wheel names)."""
    versions = {}
    for name in PACKAGES:
        candidates = [name]
        if name == "cupy":
            candidates += [d.metadata["Name"] for d in importlib.metadata.distributions()
                           if (d.metadata["Name"] or "").lower().startswith("cupy-cuda")]
        for candidate in candidates:
            try:
                versions[name] = f"{importlib.metadata.version(candidate)}" + (
                    f" ({candidate})" if candidate != name else "")
                break
            except importlib.metadata.PackageNotFoundError:
                continue
        else:
            versions[name] = "not installed"
    return versions


def numba_threading() -> str:
    """The threading layer Numba uses for a parallel loop, and its thread count (or why not)."""
    try:
        import numba
        import numpy as np
    except ImportError as exc:
        return f"Numba is not importable: {exc}"

    @numba.njit(parallel=True, cache=False)
    def _parallel_sum(a):
        total = 0.0
        for i in numba.prange(a.shape[0]):
            total += a[i]
        return total

    try:
        _parallel_sum(np.ones(8))
        layer = numba.threading_layer()
    except Exception as exc:  # no usable threading layer
        return f"no threading layer could run a parallel loop: {type(exc).__name__}: {exc}"
    return (f"layer {layer} (requested: {numba.config.THREADING_LAYER}), "
            f"{numba.get_num_threads()} threads of NUMBA_NUM_THREADS={numba.config.NUMBA_NUM_THREADS}")


def run(args: argparse.Namespace) -> int:
    rows = {"fastweights_np": __version__,
            "python": f"{platform.python_version()} ({platform.python_implementation()}, {platform.machine()})"}
    rows.update(package_versions())
    rows["numba threading"] = numba_threading()
    usable, reason = cupy_status()
    rows["cupy backend"] = f"{'usable' if usable else 'NOT usable'}: {reason}"
    width = max(len(name) for name in rows) + 2
    for name, value in rows.items():
        print(f"{name:<{width}}{value}")
    return 0
