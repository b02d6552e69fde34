"""The model's configuration: one frozen, validated record of every choice the math depends on.

Symbols (docs/model.md): λ → ``decay``, η → ``fast_lr``, S → ``inner_steps``, ε → ``ln_eps``.
The config describes only the math: which code computes it (the NumPy reference, the Numba
kernels, CuPy) is chosen when the core is obtained (:func:`fastweights_np.backends.get_core`).
"""

from __future__ import annotations

import numbers
from dataclasses import dataclass

from fastweights_np.config_base import DTYPES, ConfigRecord
from fastweights_np.config_base import check_flag as _flag
from fastweights_np.config_base import check_positive_int as _positive_int
from fastweights_np.config_base import check_real as _real

FORMS = ("matrix", "attention")
TIMINGS = ("paper", "lagged", "preliminary")
ACTIVATIONS = ("relu", "tanh")
LN_AXES = ("example", "batch")
LN_PARAMS = ("shared", "separate", "scalar")
LOSS_REDUCTIONS = ("mean", "sum")

__all__ = [
    "ACTIVATIONS",
    "DTYPES",
    "FORMS",
    "LN_AXES",
    "LN_PARAMS",
    "LOSS_REDUCTIONS",
    "TIMINGS",
    "FastWeightsConfig",
]


@dataclass(frozen=True)
class FastWeightsConfig(ConfigRecord):
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
        ε in LN's sqrt(var + ε). Finite and >= 0; default 1e-5. ε = 0 (what much public code
        uses; TensorFlow's default is 1e-12) is allowed: a layer-norm input whose variance is
        exactly 0 then raises :class:`fastweights_np.finite.NonFiniteError` naming where
        (:func:`fastweights_np.ops.layernorm.zero_variance_error`) instead of returning 0/0.
    form : {"matrix", "attention"}
        How A_t u is computed: from an explicit H×H matrix per sequence, or from the stored
        past hidden states (paper Eq. 4) without forming A. Same numbers to rounding.
    dtype : {"float32", "float64"}
        Floating type of parameters and computation.
    fast_weight_timing : {"paper", "lagged", "preliminary"}
        Which vector is written into A and when (docs/variants.md §1). "paper": A_t holds
        h_1..h_{t-1} and is read at step t. "lagged": step t reads A_{t-1}, which holds only
        h_1..h_{t-2}. "preliminary": A_t is written with the preliminary vector h_t^(0) before
        the inner loop, and the sustained term is W h_t^(0) + C x_t + b.
    activation : {"relu", "tanh"}
        The nonlinearity f (the paper's is ReLU).
    ln_axis : {"example", "batch"}
        Which axis every layer norm takes its mean and variance over (docs/variants.md §5).
        "example" (the paper's): the H units of one example at one step. "batch": each unit over
        the B examples of the batch at one step, i.e. batch normalisation without running
        averages, a bug some public code has: the examples of a batch are then not independent.
    ln_params : {"shared", "separate", "scalar"}
        Layer norm's parameters (docs/variants.md §6). "shared" (the paper's): one g, β (H,) for
        the preliminary vector's LN and the inner loop's. "separate": g0, β0 (H,) for the
        preliminary vector's LN (needs ``ln_preliminary=True``), g, β for the inner loop.
        "scalar": g, β of shape (1,), broadcast over the H units.
    loss_reduction : {"mean", "sum"}
        How the canonical model (:mod:`fastweights_np.models.canonical`) reduces the per-example
        cross-entropies over the batch: their mean (default) or their sum (docs/variants.md §7).
    no_inner_loop : bool
        h_t = f(LN(W h_{t-1} + C x_t + b + M_t h_{t-1})) with M_t = A_t ("paper" timing) or
        A_{t-1} ("lagged"): no preliminary vector, the one application reads the memory with
        h_{t-1} itself (docs/variants.md §8). Needs inner_steps=1, ln_preliminary=False and
        fast_weight_timing "paper" or "lagged". Default False.
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
    fast_weight_timing: str = "paper"
    activation: str = "relu"
    ln_axis: str = "example"
    ln_params: str = "shared"
    loss_reduction: str = "mean"
    no_inner_loop: bool = False

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
        if _real("ln_eps", self.ln_eps) < 0.0:
            raise ValueError(f"ln_eps must be >= 0, got {self.ln_eps!r}")
        if self.form not in FORMS:
            raise ValueError(f"form must be one of {FORMS}, got {self.form!r}")
        if self.dtype not in DTYPES:
            raise ValueError(f"dtype must be one of {DTYPES}, got {self.dtype!r}")
        if self.fast_weight_timing not in TIMINGS:
            raise ValueError(f"fast_weight_timing must be one of {TIMINGS}, got {self.fast_weight_timing!r}")
        if self.activation not in ACTIVATIONS:
            raise ValueError(f"activation must be one of {ACTIVATIONS}, got {self.activation!r}")
        for name, allowed in (("ln_axis", LN_AXES), ("ln_params", LN_PARAMS), ("loss_reduction", LOSS_REDUCTIONS)):
            if getattr(self, name) not in allowed:
                raise ValueError(f"{name} must be one of {allowed}, got {getattr(self, name)!r}")
        _flag("no_inner_loop", self.no_inner_loop)
        if self.ln_params == "separate" and not self.ln_preliminary:
            raise ValueError(
                "ln_params='separate' gives the preliminary vector's layer norm its own g0, beta0: it needs "
                f"ln_preliminary=True, got ln_preliminary={self.ln_preliminary!r}"
            )
        if self.no_inner_loop:
            wrong = [
                f"{name}={value!r} (expected {expected})"
                for name, value, expected, ok in (
                    ("inner_steps", s, "1", s == 1),
                    ("ln_preliminary", self.ln_preliminary, "False", not self.ln_preliminary),
                    ("fast_weight_timing", self.fast_weight_timing, "'paper' or 'lagged'",
                     self.fast_weight_timing in ("paper", "lagged")),
                )
                if not ok
            ]
            if wrong:
                raise ValueError(
                    "no_inner_loop=True computes h_t = f(LN(W h_{t-1} + C x_t + b + A_t h_{t-1})) once per step, "
                    f"with no preliminary vector: it needs inner_steps=1, ln_preliminary=False and fast_weight_timing "
                    f"'paper' or 'lagged', got {', '.join(wrong)}"
                )
        # Store plain Python scalars so that equality, hashing and JSON are predictable.
        for name in ("decay", "fast_lr", "ln_eps"):
            object.__setattr__(self, name, float(getattr(self, name)))
        for name in ("input_size", "hidden_size", "output_size", "inner_steps"):
            object.__setattr__(self, name, int(getattr(self, name)))
        for name in ("layer_norm", "ln_preliminary", "no_inner_loop"):
            object.__setattr__(self, name, bool(getattr(self, name)))
