"""Configuration of the Associative LSTM core (Danihelka, Wayne, Uria, Kalchbrenner & Graves
2016, "Associative Long Short-Term Memory", arXiv:1602.03032)."""

from __future__ import annotations

import numbers
from dataclasses import dataclass

from fastweights_np.config_base import check_positive_int, check_real, store_plain
from fastweights_np.cores.baseline_config import BaselineConfig


@dataclass(frozen=True)
class ALSTMConfig(BaselineConfig):
    """Associative LSTM: a complex holographic memory kept in redundant permuted copies.

    h_t holds m = H/2 complex numbers (real parts first), so ``hidden_size`` must be even.

    Parameters
    ----------
    input_size, hidden_size : int
        I and H, positive integers; H even.
    layer_norm : bool
        Separate LNs on W h_{t-1} and on C x_t (over all gate, key and value
        pre-activations), as in the layer-normalized LSTM (default False).
    ln_eps : float
        ε in LN, > 0 (default 1e-5).
    dtype : {"float32", "float64"}
    n_copies : int
        N_copies, the number of memory copies, each under its own fixed permutation of the
        keys; default 4 (the fast-weights paper's A-LSTM baseline). Positive integer.
    n_heads : int
        Read/write heads; default 3 (the fast-weights paper's A-LSTM baseline). Positive integer.
    forget_bias : float
        Initial value of the forget gate's bias (trained); default 1.0.
    permutation_seed : int
        Seed of the fixed random permutations (not trained); default 0. Non-negative integer.
    """

    n_copies: int = 4
    n_heads: int = 3
    forget_bias: float = 1.0
    permutation_seed: int = 0

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.hidden_size % 2:
            raise ValueError(
                f"hidden_size must be even for the A-LSTM (H/2 complex units), got {self.hidden_size!r}"
            )
        check_positive_int("n_copies", self.n_copies)
        check_positive_int("n_heads", self.n_heads)
        check_real("forget_bias", self.forget_bias)
        seed = self.permutation_seed
        if isinstance(seed, bool) or not isinstance(seed, numbers.Integral) or seed < 0:
            raise ValueError(f"permutation_seed must be a non-negative integer, got {seed!r}")
        store_plain(self, ints=("n_copies", "n_heads", "permutation_seed"), floats=("forget_bias",))

    @property
    def complex_size(self) -> int:
        """m = H/2, the number of complex units."""
        return self.hidden_size // 2

    @property
    def preactivation_size(self) -> int:
        """R = 2m + 7m·n_heads: f and o (m each), then per head i (m), u, r_i, r_o (2m each)."""
        return self.complex_size * (2 + 7 * self.n_heads)
