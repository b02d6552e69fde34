"""What every core's configuration shares: field checks and the frozen-record behaviour.

Each check names the field, the value given and what is allowed, and raises ``ValueError``.
:class:`ConfigRecord` gives a frozen dataclass ``np_dtype``, ``replace``, ``to_json`` and
``from_json``; the configs of the fast-weights core and of every baseline derive from it.
"""

from __future__ import annotations

import dataclasses
import json
import numbers
from typing import Any, TypeVar

import numpy as np

DTYPES = ("float32", "float64")
LEGACY_BACKEND_FIELD = "backend"

Config = TypeVar("Config", bound="ConfigRecord")


def check_positive_int(name: str, value: Any) -> None:
    """Raise unless ``value`` is an integer >= 1 (bool is not an integer here)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
        raise ValueError(f"{name} must be a positive integer, got {value!r}")


def check_real(name: str, value: Any) -> float:
    """Raise unless ``value`` is a finite real number; return it as a float."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not np.isfinite(value):
        raise ValueError(f"{name} must be a finite real number, got {value!r}")
    return float(value)


def check_positive_real(name: str, value: Any) -> float:
    """Raise unless ``value`` is a finite real number > 0; return it as a float."""
    if check_real(name, value) <= 0.0:
        raise ValueError(f"{name} must be > 0, got {value!r}")
    return float(value)


def check_flag(name: str, value: Any) -> None:
    """Raise unless ``value`` is True or False."""
    if not isinstance(value, (bool, np.bool_)):
        raise ValueError(f"{name} must be True or False, got {value!r}")


def check_choice(name: str, value: Any, allowed: tuple) -> None:
    """Raise unless ``value`` is one of ``allowed``."""
    if value not in allowed:
        raise ValueError(f"{name} must be one of {allowed}, got {value!r}")


def check_dtype(name: str, value: Any) -> None:
    """Raise unless ``value`` names one of :data:`DTYPES`."""
    check_choice(name, value, DTYPES)


def store_plain(record: Any, ints: tuple = (), floats: tuple = (), flags: tuple = ()) -> None:
    """Store the named fields of a frozen dataclass as plain int / float / bool, so that
    equality, hashing and JSON do not depend on whether NumPy scalars were passed."""
    for kind, names in ((int, ints), (float, floats), (bool, flags)):
        for name in names:
            object.__setattr__(record, name, kind(getattr(record, name)))


class ConfigRecord:
    """Behaviour shared by the frozen config dataclasses (mix in, then ``@dataclass(frozen=True)``)."""

    @property
    def np_dtype(self) -> np.dtype:
        """The NumPy dtype named by ``dtype``."""
        return np.dtype(self.dtype)

    def replace(self: Config, **changes: Any) -> Config:
        """A copy with ``changes`` applied (validated like a new config)."""
        return dataclasses.replace(self, **changes)

    def to_json(self) -> str:
        """The config as a JSON object string (every field, by name)."""
        return json.dumps(dataclasses.asdict(self), sort_keys=True)

    @classmethod
    def from_json(cls: type[Config], text: str) -> Config:
        """Inverse of :meth:`to_json`; unknown or missing fields raise ``ValueError``.

        A "backend" field, which files written before the backend became a run-time choice
        hold, is dropped: it said how the numbers were computed, not what was computed.
        """
        fields = json.loads(text)
        if not isinstance(fields, dict):
            raise ValueError(f"config JSON must be an object, got {type(fields).__name__}")
        fields.pop(LEGACY_BACKEND_FIELD, None)
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(fields) - known)
        if unknown:
            raise ValueError(f"unknown config fields {unknown}; known fields are {sorted(known)}")
        try:
            return cls(**fields)
        except TypeError as exc:  # a required field is missing
            raise ValueError(f"incomplete config {fields}: {exc}") from None
