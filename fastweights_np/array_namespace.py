"""Array namespaces: the reference's array code runs on whatever arrays it is given.

The ops, the fast-weights core and the model's loss are written against the Python array API
standard (https://data-apis.org/array-api/): they look up the namespace ``xp`` of their inputs
with :func:`namespace` and call only ``xp.*`` functions and the standard's operators. NumPy
arrays get NumPy itself (NumPy >= 2 follows the standard for everything used here), so the
NumPy path runs exactly NumPy's code; any other array (array-api-strict in the tests, CuPy on a
GPU) gets its namespace from ``array_api_compat``, which is needed only then.

Conversions between namespaces (:func:`to_namespace`, :func:`to_numpy`) walk dicts, tuples and
lists, so parameter dicts and (h, A) states move in one call.
"""

from __future__ import annotations

from collections.abc import Callable
from types import ModuleType
from typing import Any

import numpy as np


def namespace(*arrays: Any) -> ModuleType:
    """The array namespace of ``arrays`` (None entries and Python scalars are ignored).

    All NumPy arrays → ``numpy``. Otherwise ``array_api_compat.array_namespace``, which raises
    ``TypeError`` for arrays of different libraries.
    """
    arrays = tuple(a for a in arrays if a is not None and not isinstance(a, (int, float, bool)))
    if all(isinstance(a, np.ndarray | np.generic) for a in arrays):
        return np
    try:
        import array_api_compat
    except ImportError as exc:  # pragma: no cover - depends on the environment
        kinds = sorted({type(a).__module__ + "." + type(a).__name__ for a in arrays})
        raise TypeError(
            f"arrays of type {kinds} need the package array-api-compat (pip install array-api-compat)"
        ) from exc
    return array_api_compat.array_namespace(*arrays)


def zeros(xp: ModuleType, shape: tuple[int, ...], like: Any) -> Any:
    """Zeros of ``shape`` with the dtype and on the device of the array ``like``."""
    return xp.zeros(shape, dtype=like.dtype, device=like.device)


def scalar(xp: ModuleType, value: float, like: Any) -> Any:
    """The Python number ``value`` as a 0-d array of ``like``'s dtype and device."""
    return xp.asarray(value, dtype=like.dtype, device=like.device)


def _map_arrays(tree: Any, fn: Callable[[Any], Any], is_array: Callable[[Any], bool]) -> Any:
    if isinstance(tree, dict):
        return {k: _map_arrays(v, fn, is_array) for k, v in tree.items()}
    if isinstance(tree, tuple) and hasattr(tree, "_fields"):  # NamedTuple, e.g. FastWeightsState
        return type(tree)(*(_map_arrays(v, fn, is_array) for v in tree))
    if isinstance(tree, tuple | list):
        return type(tree)(_map_arrays(v, fn, is_array) for v in tree)
    return fn(tree) if is_array(tree) else tree


def to_namespace(tree: Any, xp: ModuleType) -> Any:
    """Every NumPy array in ``tree`` (dicts, tuples, lists) converted to an array of ``xp``."""
    if xp is np:
        return tree
    return _map_arrays(tree, xp.asarray, lambda a: isinstance(a, np.ndarray))


def _is_foreign_array(a: Any) -> bool:
    return hasattr(a, "__array_namespace__") and not isinstance(a, np.ndarray | np.generic)


def array_to_numpy(a: Any) -> np.ndarray:
    """One array of any namespace as a NumPy array (a copy from device memory for CuPy)."""
    if isinstance(a, np.ndarray):
        return a
    if hasattr(a, "get") and type(a).__module__.startswith("cupy"):
        return a.get()  # device → host
    return np.from_dlpack(a)


def to_numpy(tree: Any) -> Any:
    """Every non-NumPy array in ``tree`` converted to a NumPy array; other leaves unchanged."""
    return _map_arrays(tree, array_to_numpy, _is_foreign_array)


def run_in_namespace(xp: ModuleType, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """``fn(*args, **kwargs)`` with every NumPy array of the arguments moved to ``xp`` first and
    every array of the result moved back to NumPy. With ``xp`` = numpy it is just the call."""
    if xp is np:
        return fn(*args, **kwargs)
    return to_numpy(fn(*to_namespace(args, xp), **to_namespace(kwargs, xp)))
