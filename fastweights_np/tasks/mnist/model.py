"""The glimpse models of the MNIST task (paper Sec. 4.2): an image's 24 glimpses, a recurrence, a head.

    x      = glimpses(image)                 (B, 24, 49), ``tasks.mnist.glimpses``
    h_T    = encoder(x)                      "fw": the multi-level fast-weights recurrence
                                             (``tasks.mnist.multilevel``); "irnn", "lstm": the
                                             registered core over the same 24 glimpses
    logits = V ReLU(U h_T + u) + c           the MLP head of Sec. 4.1 (``models.classifier``)

or "convnet": the ConvNet baseline on the same patches (``tasks.mnist.convnet``) in place of
encoder and head. Images are uint8 (B, 28, 28); the glimpses are computed in the model's dtype.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from fastweights_np.backends import get_core
from fastweights_np.models.classifier import Classifier, CoreEncoder, RecurrentClassifier
from fastweights_np.tasks.mnist.convnet import ConvNet, ConvNetConfig
from fastweights_np.tasks.mnist.glimpses import GLIMPSE_PIXELS, glimpses
from fastweights_np.tasks.mnist.multilevel import MultiLevelEncoder

NUM_CLASSES = 10
RECURRENT_CORES = ("fw", "irnn", "lstm")
MODELS = (*RECURRENT_CORES, "convnet")
# The paper's settings for this task, "comparable to the associative retrieval task"; the attention
# form, since A holds at most four states (cheaper than the (B, H, H) matrix).
FW_TASK_DEFAULTS = {"decay": 0.9, "fast_lr": 0.5, "inner_steps": 1, "form": "attention"}
Params = dict[str, np.ndarray]


@dataclass(frozen=True)
class GlimpseModelConfig:
    """``core`` in {"fw", "irnn", "lstm", "convnet"} with ``hidden_size`` units (the ConvNet's
    filters and the units of each of its layers; ``fc_size`` does not apply); ``core_options`` are fields
    of the core's config (fw: decay, fast_lr, inner_steps, layer_norm, form, ...; the task's
    defaults λ = 0.9, η = 0.5, S = 1 apply unless given); ``integration`` is the fw model's
    integration step, "reading" or "literal" (``tasks.mnist.multilevel``)."""

    core: str = "fw"
    hidden_size: int = 100
    fc_size: int = 100
    num_classes: int = NUM_CLASSES
    dtype: str = "float32"
    core_options: dict[str, Any] = field(default_factory=dict)
    integration: str = "reading"

    def to_dict(self) -> dict:
        return asdict(self)


class GlimpseModel(Classifier):
    """The model of :class:`GlimpseModelConfig` on uint8 images (B, 28, 28) (a trainer's Trainable)."""

    def __init__(self, cfg: GlimpseModelConfig, backend: str = "numpy"):
        if cfg.core not in MODELS:
            raise ValueError(f"core must be one of {MODELS}, got {cfg.core!r}")
        if cfg.core in ("fw", "convnet") and backend != "numpy":
            raise ValueError(f"the {cfg.core} model runs on the NumPy reference only, got backend {backend!r}")
        if cfg.core != "fw" and cfg.integration != "reading":
            raise ValueError(f"integration applies to the fw core only, not to {cfg.core}")
        self.cfg = cfg
        if cfg.core == "convnet":
            if cfg.core_options:
                raise ValueError(f"the convnet takes no core options, got {sorted(cfg.core_options)}")
            self.net: Classifier = ConvNet(ConvNetConfig(cfg.hidden_size, cfg.num_classes, cfg.dtype))
            return
        core = get_core(cfg.core, backend=backend)
        options = dict(FW_TASK_DEFAULTS if cfg.core == "fw" else {}, dtype=cfg.dtype)
        options.update(cfg.core_options)
        core_cfg = core.make_config(GLIMPSE_PIXELS, cfg.hidden_size, cfg.num_classes, **options)
        encoder = MultiLevelEncoder(core_cfg, cfg.integration) if cfg.core == "fw" else CoreEncoder(core, core_cfg)
        self.net = RecurrentClassifier(encoder, cfg.fc_size, cfg.num_classes, cfg.dtype)

    def param_shapes(self) -> dict[str, tuple[int, ...]]:
        return self.net.param_shapes()

    def init_params(self, seed: int) -> Params:
        """The encoder's parameters (``tasks.mnist.multilevel`` or the core's registry), U and V
        uniform in ±1/sqrt(fan-in), biases 0; the ConvNet's as ``tasks.mnist.convnet`` says."""
        return self.net.init_params(seed)

    def param_count(self) -> int:
        return self.net.param_count()

    def forward(self, params: Params, x: np.ndarray) -> tuple[np.ndarray, tuple]:
        """logits (B, 10) for images x (B, 28, 28), and the cache for :meth:`backward`."""
        return self.net.forward(params, glimpses(x, self.cfg.dtype))

    def backward(self, dlogits: np.ndarray, cache: tuple) -> dict[str, np.ndarray]:
        return self.net.backward(dlogits, cache)
