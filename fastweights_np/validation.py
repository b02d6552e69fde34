"""Input checks shared by every public entry point.

Each check names the argument, what was expected and what was given, and raises
``TypeError`` for a wrong kind of object or dtype and ``ValueError`` for a wrong shape or value.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np


def check_float_array(name: str, a: object, shape: tuple, dtype: np.dtype | None = None) -> np.ndarray:
    """Check that ``a`` is a real floating NumPy array of ``shape`` with finite values.

    ``shape`` may hold None for an axis of any positive length.

    The dtype rule of every entry point: a real floating array (float32 or float64; float16
    too) is accepted, and with ``dtype`` it is returned converted to it, silently: an array
    of the other float dtype becomes a copy in ``dtype`` (an array already of ``dtype`` is
    returned as it is). Integer, complex and bool arrays are refused (TypeError), as are
    non-finite values (ValueError). Finiteness is checked after the conversion, so a float64
    value beyond float32's range (|a| > 3.4e38) given to a float32 model is refused too.
    """
    if not isinstance(a, np.ndarray):
        raise TypeError(f"{name} must be a numpy.ndarray, got {type(a).__name__}")
    if a.dtype.kind != "f":  # the real floating dtypes (np.floating)
        raise TypeError(f"{name} must have a real floating dtype (float32 or float64), got {a.dtype}")
    if a.ndim != len(shape) or any(s is not None and s != n for s, n in zip(shape, a.shape, strict=False)):
        expected = "(" + ", ".join("any" if s is None else str(s) for s in shape) + ")"
        raise ValueError(f"{name} must have shape {expected}, got {a.shape}")
    if 0 in a.shape:
        raise ValueError(f"{name} must not have an empty axis, got shape {a.shape}")
    with np.errstate(over="ignore"):  # a value beyond dtype's range is reported below
        converted = a if dtype is None else a.astype(dtype, copy=False)
    if not np.isfinite(converted).all():
        bad = tuple(int(i) for i in np.argwhere(~np.isfinite(converted))[0])
        if np.isfinite(a[bad]):
            raise ValueError(f"{name} must be finite in {np.dtype(dtype)}, found {a[bad]} at index {bad}, "
                             f"beyond {np.dtype(dtype)}'s range")
        raise ValueError(f"{name} must be finite, found {a[bad]} at index {bad}")
    return converted


def check_labels(name: str, y: object, batch: int, n_classes: int) -> np.ndarray:
    """Check integer class labels of shape (batch,) with values in [0, n_classes)."""
    if not isinstance(y, np.ndarray):
        raise TypeError(f"{name} must be a numpy.ndarray of integer labels, got {type(y).__name__}")
    if not np.issubdtype(y.dtype, np.integer):
        raise TypeError(f"{name} must have an integer dtype, got {y.dtype}")
    if y.shape != (batch,):
        raise ValueError(f"{name} must have shape ({batch},) to match the batch of x, got {y.shape}")
    if y.size and (y.min() < 0 or y.max() >= n_classes):
        bad = int(y[(y < 0) | (y >= n_classes)][0])
        raise ValueError(f"{name} values must be in [0, {n_classes}), found {bad}")
    return y.astype(np.intp, copy=False)


def check_params(params: object, shapes: Mapping[str, tuple], dtype: np.dtype) -> None:
    """Check a parameter dict: exactly the keys of ``shapes``, those shapes, ``dtype``, finite."""
    if not isinstance(params, Mapping):
        raise TypeError(f"params must be a dict of arrays, got {type(params).__name__}")
    missing = sorted(set(shapes) - set(params))
    extra = sorted(set(params) - set(shapes))
    if missing or extra:
        raise ValueError(
            f"params must have exactly the keys {sorted(shapes)}; missing {missing}, unexpected {extra}"
        )
    for key, shape in shapes.items():
        a = check_float_array(f"params[{key!r}]", params[key], shape)
        if a.dtype != dtype:
            raise TypeError(f"params[{key!r}] has dtype {a.dtype}, but the config's dtype is {dtype}")
