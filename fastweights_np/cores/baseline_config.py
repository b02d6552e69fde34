"""The fields every baseline core's config has (IRNN, LSTM, A-LSTM); each core adds its own.

    input_size  I, size of x_t                     positive integer
    hidden_size H, size of h_t                     positive integer
    layer_norm  layer normalization on or off      bool, default False (the plain baselines)
    ln_eps      ε in LN's sqrt(var + ε)            > 0, default 1e-5
    dtype       "float32" or "float64"             default "float64"

Which code computes a core (the reference or compiled kernels) is not part of its config: it is
chosen when the core is obtained (:func:`fastweights_np.backends.get_core`).
"""

from __future__ import annotations

from dataclasses import dataclass

from fastweights_np.config_base import (
    ConfigRecord,
    check_dtype,
    check_flag,
    check_positive_int,
    check_positive_real,
    store_plain,
)


@dataclass(frozen=True)
class BaselineConfig(ConfigRecord):
    """Fields shared by the baseline cores' configs (see the module docstring)."""

    input_size: int
    hidden_size: int
    layer_norm: bool = False
    ln_eps: float = 1e-5
    dtype: str = "float64"

    def __post_init__(self) -> None:
        check_positive_int("input_size", self.input_size)
        check_positive_int("hidden_size", self.hidden_size)
        check_flag("layer_norm", self.layer_norm)
        check_positive_real("ln_eps", self.ln_eps)
        check_dtype("dtype", self.dtype)
        store_plain(self, ints=("input_size", "hidden_size"), floats=("ln_eps",), flags=("layer_norm",))
