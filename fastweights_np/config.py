"""The model's configuration: one frozen, validated record of every choice the math depends on.

Symbols (``../shared/DESIGN.md`` section 1): λ → ``decay``, η → ``fast_lr``,
S → ``inner_steps``, ε → ``ln_eps``.
"""

from __future__ import annotations

import dataclasses
import json
import numbers
from dataclasses import dataclass
from typing import Any

import numpy as np

FORMS = ("matrix", "attention")
DTYPES = ("float32", "float64")
BACKENDS = ("numpy", "numba")


def _positive_int(name: str, value: Any) -> None:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
        raise ValueError(f"{name} must be a positive integer, got {value!r}")


def _real(name: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not np.isfinite(value):
        raise ValueError(f"{name} must be a finite real number, got {value!r}")
    return float(value)


def _flag(name: str, value: Any) -> None:
    if not isinstance(value, (bool, np.bool_)):
        raise ValueError(f"{name} must be True or False, got {value!r}")


@dataclass(frozen=True)
class FastWeightsConfig:
    """Configuration of the fast-weights RNN with layer normalization.

    Parameters
    ----------
    input_size, hidden_size, output_size : int
        I, H and O: sizes of x_t, h_t and the logits. Positive integers.
    decay : float
        λ in A_t = λ A_{t-1} + η h_{t-1} h_{t-1}ᵀ. In [0, 1]; default 0.95.
    fast_lr : float
        η, the fast learning rate. >= 0; default 0.5.
    inner_steps : int
        S, iterations of h^(s) = f(LN(z + A h^(s-1))). >= 0; 0 means no fast-weight
        iteration at all (a plain ReLU RNN, h_t = h_t^(0)). Default 1.
    layer_norm : bool
        Apply LN inside the inner loop (paper Eq. 5); False gives Eq. 2.
    ln_preliminary : bool
        Also apply LN to the preliminary vector: h^(0) = f(LN(z)) instead of f(z).
    ln_eps : float
        ε in LN's sqrt(var + ε). > 0; default 1e-5.
    form : {"matrix", "attention"}
        How A_t u is computed: from an explicit H×H matrix per sequence, or from the stored
        past hidden states (paper Eq. 4) without forming A. Same numbers to rounding.
    dtype : {"float32", "float64"}
        Floating type of parameters and computation.
    backend : {"numpy", "numba"}
        Which code computes the core: the readable NumPy reference, or the compiled kernels of
        :mod:`fastweights_np.backends.numba` (tested equal to the reference). Default "numpy".
    """

    input_size: int
    hidden_size: int
    output_size: int
    decay: float = 0.95
    fast_lr: float = 0.5
    inner_steps: int = 1
    layer_norm: bool = True
    ln_preliminary: bool = False
    ln_eps: float = 1e-5
    form: str = "matrix"
    dtype: str = "float64"
    backend: str = "numpy"

    def __post_init__(self) -> None:
        for name in ("input_size", "hidden_size", "output_size"):
            _positive_int(name, getattr(self, name))
        decay = _real("decay", self.decay)
        if not 0.0 <= decay <= 1.0:
            raise ValueError(f"decay must be in [0, 1], got {self.decay!r}")
        if _real("fast_lr", self.fast_lr) < 0.0:
            raise ValueError(f"fast_lr must be >= 0, got {self.fast_lr!r}")
        s = self.inner_steps
        if isinstance(s, bool) or not isinstance(s, numbers.Integral) or s < 0:
            raise ValueError(f"inner_steps must be a non-negative integer, got {s!r}")
        _flag("layer_norm", self.layer_norm)
        _flag("ln_preliminary", self.ln_preliminary)
        if _real("ln_eps", self.ln_eps) <= 0.0:
            raise ValueError(f"ln_eps must be > 0, got {self.ln_eps!r}")
        if self.form not in FORMS:
            raise ValueError(f"form must be one of {FORMS}, got {self.form!r}")
        if self.dtype not in DTYPES:
            raise ValueError(f"dtype must be one of {DTYPES}, got {self.dtype!r}")
        if self.backend not in BACKENDS:
            raise ValueError(f"backend must be one of {BACKENDS}, got {self.backend!r}")
        # Store plain Python scalars so that equality, hashing and JSON are predictable.
        for name in ("decay", "fast_lr", "ln_eps"):
            object.__setattr__(self, name, float(getattr(self, name)))
        for name in ("input_size", "hidden_size", "output_size", "inner_steps"):
            object.__setattr__(self, name, int(getattr(self, name)))
        for name in ("layer_norm", "ln_preliminary"):
            object.__setattr__(self, name, bool(getattr(self, name)))

    @property
    def np_dtype(self) -> np.dtype:
        """The NumPy dtype named by ``dtype``."""
        return np.dtype(self.dtype)

    def replace(self, **changes: Any) -> FastWeightsConfig:
        """A copy with ``changes`` applied (validated like a new config)."""
        return dataclasses.replace(self, **changes)

    def to_json(self) -> str:
        """The config as a JSON object string (every field, by name)."""
        return json.dumps(dataclasses.asdict(self), sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> FastWeightsConfig:
        """Inverse of :meth:`to_json`; unknown or missing fields raise ``ValueError``."""
        fields = json.loads(text)
        if not isinstance(fields, dict):
            raise ValueError(f"config JSON must be an object, got {type(fields).__name__}")
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(fields) - known)
        if unknown:
            raise ValueError(f"unknown config fields {unknown}; known fields are {sorted(known)}")
        try:
            return cls(**fields)
        except TypeError as exc:  # a required field is missing
            raise ValueError(f"incomplete config {fields}: {exc}") from None
