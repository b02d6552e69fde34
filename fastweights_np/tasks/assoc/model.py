"""The associative-retrieval model of the paper (Sec. 4.1), around any registered core.

    e_t    = E[x_t]                          input embedding, (B, T, D), D = 100
    hs     = core(e_1..e_T)                  one recurrent layer of R units (fw, irnn, lstm, alstm)
    a      = ReLU(U h_T + u)                 100 ReLU units
    logits = V a + c                         softmax over the 10 digits

Parameters are one flat dict: "embed.E" (vocab, D), then those of the recurrent classifier
(``fastweights_np.models.classifier``): "core.<name>" for the core's, "fc.W" (F, R), "fc.b" (F,),
"out.W" (O, F), "out.b" (O,) for the MLP head on h_T. Backward: docs/math.md §2 for the ops, the
core's own docs for the core.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from fastweights_np.backends import get_core
from fastweights_np.models.classifier import Classifier, CoreEncoder, RecurrentClassifier
from fastweights_np.ops import embedding_backward, embedding_forward
from fastweights_np.tasks.assoc.data import NUM_CLASSES, VOCAB_SIZE

Params = dict[str, np.ndarray]

# The paper's fast-weights settings for this task (Sec. 4.1): λ = 0.9, η = 0.5, S = 1.
FW_TASK_DEFAULTS = {"decay": 0.9, "fast_lr": 0.5, "inner_steps": 1}


@dataclass(frozen=True)
class AssocModelConfig:
    """Sizes and the core: ``core`` in {"fw", "irnn", "lstm", "alstm"}, R = ``hidden_size``.

    ``core_options`` are fields of the core's config (for fw: decay, fast_lr, inner_steps,
    layer_norm, form, ...); for fw the task's defaults λ = 0.9, η = 0.5, S = 1 apply
    unless given.
    """

    core: str = "fw"
    hidden_size: int = 50
    embed_size: int = 100
    fc_size: int = 100
    vocab_size: int = VOCAB_SIZE
    num_classes: int = NUM_CLASSES
    dtype: str = "float64"
    core_options: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict:
        return asdict(self)


class AssocModel(Classifier):
    """The model of :class:`AssocModelConfig`, with forward and backward (a trainer's Trainable):
    the embedding in front of a :class:`~fastweights_np.models.classifier.RecurrentClassifier`."""

    def __init__(self, cfg: AssocModelConfig, backend: str = "numpy"):
        self.cfg = cfg
        self.core = core = get_core(cfg.core, backend=backend)  # the Core record (core.backend says which)
        options = dict(FW_TASK_DEFAULTS if cfg.core == "fw" else {}, dtype=cfg.dtype)
        options.update(cfg.core_options)
        self.core_cfg = core_cfg = core.make_config(cfg.embed_size, cfg.hidden_size, cfg.num_classes, **options)
        for name in ("embed_size", "fc_size", "vocab_size", "num_classes"):
            value = getattr(cfg, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be a positive integer, got {value!r}")
        self.net = RecurrentClassifier(CoreEncoder(core, core_cfg), cfg.fc_size, cfg.num_classes, cfg.dtype)

    # ------------------------------------------------------------------------------ params
    def param_shapes(self) -> dict[str, tuple[int, ...]]:
        return {"embed.E": (self.cfg.vocab_size, self.cfg.embed_size), **self.net.param_shapes()}

    def init_params(self, seed: int) -> Params:
        """E uniform in ±1 (a lookup has fan-in 1), the core as its registry says, U and V uniform
        in ±1/sqrt(fan-in), biases 0."""
        c = self.cfg
        rng = np.random.default_rng([seed, 1])
        params = {"embed.E": rng.uniform(-1, 1, (c.vocab_size, c.embed_size)).astype(c.dtype)}
        params.update(self.net.init_params(seed, rng))
        return params

    def param_count(self) -> int:
        """Trained parameters: embedding, the core's (as the registry counts them), the two layers."""
        return self.cfg.vocab_size * self.cfg.embed_size + self.net.param_count()

    def check_ids(self, x: object) -> np.ndarray:
        """x must be integer symbol ids of shape (B, T) in [0, vocab_size)."""
        if not isinstance(x, np.ndarray) or not np.issubdtype(x.dtype, np.integer):
            kind = x.dtype if isinstance(x, np.ndarray) else type(x).__name__
            raise TypeError(f"x must be a numpy array of integer symbol ids, got {kind}")
        if x.ndim != 2 or 0 in x.shape:
            raise ValueError(f"x must have shape (B, T) with B, T >= 1, got {x.shape}")
        if x.min() < 0 or x.max() >= self.cfg.vocab_size:
            raise ValueError(f"x values must be in [0, {self.cfg.vocab_size}), found {int(x.min())}..{int(x.max())}")
        return x

    # ----------------------------------------------------------------------------- forward
    def forward(self, params: Params, x: np.ndarray) -> tuple[np.ndarray, tuple]:
        """logits (B, O) for symbol ids x (B, T), and the cache for :meth:`backward`."""
        e, embed_cache = embedding_forward(x, params["embed.E"])
        logits, net_cache = self.net.forward(params, e)
        return logits, (embed_cache, net_cache)

    def backward(self, dlogits: np.ndarray, cache: tuple) -> dict[str, np.ndarray]:
        """Gradients of every parameter for an upstream gradient on the logits."""
        embed_cache, net_cache = cache
        grads, de = self.net.backward_input(dlogits, net_cache)
        return {"embed.E": embedding_backward(de, embed_cache), **grads}
