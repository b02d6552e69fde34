"""Configuration of the LSTM core (Hochreiter & Schmidhuber 1997; layer-normalized as in
Ba, Kiros & Hinton 2016)."""

from __future__ import annotations

from dataclasses import dataclass

from fastweights_np.config_base import check_real, store_plain
from fastweights_np.cores.baseline_config import BaselineConfig


@dataclass(frozen=True)
class LSTMConfig(BaselineConfig):
    """LSTM with forget gate, optionally layer-normalized.

    Parameters
    ----------
    input_size, hidden_size : int
        I and H, positive integers.
    layer_norm : bool
        The layer-normalized LSTM of Ba, Kiros & Hinton: separate LNs on W h_{t-1} and on
        C x_t (over the 4H gate pre-activations) and on the cell c_t (default False).
    ln_eps : float
        ε in LN, > 0 (default 1e-5).
    dtype : {"float32", "float64"}
    forget_bias : float
        Initial value of the forget gate's bias (a trained parameter); default 1.0. Any
        finite real number.
    """

    forget_bias: float = 1.0

    def __post_init__(self) -> None:
        super().__post_init__()
        check_real("forget_bias", self.forget_bias)
        store_plain(self, floats=("forget_bias",))
