"""Configuration of the IRNN core (Le, Jaitly & Hinton 2015)."""

from __future__ import annotations

from dataclasses import dataclass

from fastweights_np.config_base import check_real, store_plain
from fastweights_np.cores.baseline_config import BaselineConfig


@dataclass(frozen=True)
class IRNNConfig(BaselineConfig):
    """IRNN: h_t = ReLU(W h_{t-1} + C x_t + b), or ReLU(LN(·)) with ``layer_norm``.

    Parameters
    ----------
    input_size, hidden_size : int
        I and H, positive integers.
    layer_norm : bool
        Layer-normalize the pre-activation, as the fast-weights net does (default False).
    ln_eps : float
        ε in LN, > 0 (default 1e-5).
    dtype : {"float32", "float64"}
    identity_scale : float
        W is initialised to identity_scale · I; 0.5 in the fast-weights paper's appendix
        (Le et al. use 1). Any finite real number.
    """

    identity_scale: float = 0.5

    def __post_init__(self) -> None:
        super().__post_init__()
        check_real("identity_scale", self.identity_scale)
        store_plain(self, floats=("identity_scale",))
