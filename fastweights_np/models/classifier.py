"""A recurrent classifier: an encoder over an input sequence, then the MLP head on its last state.

    hs     = encoder(x_1..x_T)             (B, T', H): a registered core's hidden states, or any
                                            recurrence with the same forward / backward pair
    a      = ReLU(U h_T + u)               the head's hidden layer (100 ReLU units in the paper)
    logits = V a + c                       a softmax over the classes

The task models (associative retrieval, MNIST glimpses) are this classifier with their own input
layer in front. Parameters are one flat dict: "core.<name>" for the encoder's, "fc.W" (F, H),
"fc.b" (F,), "out.W" (O, F), "out.b" (O,) for the head's. :class:`Classifier` gives any model
with ``forward`` / ``backward`` on logits its ``logits`` and ``loss_and_grad`` (batch-mean
cross-entropy). Backward of the head: docs/math.md §2; of the cores: their own docs.
"""

from __future__ import annotations

from typing import Any, Protocol

import numpy as np

from fastweights_np.cores.registry import Core
from fastweights_np.heads import mlp_head_backward, mlp_head_forward
from fastweights_np.ops import softmax_xent_backward, softmax_xent_forward
from fastweights_np.validation import check_labels

Params = dict[str, np.ndarray]
CORE_PREFIX = "core."


class Encoder(Protocol):
    """A recurrence over (B, T, I) inputs with its parameters (unprefixed names)."""

    hidden_size: int

    def param_shapes(self) -> dict[str, tuple[int, ...]]: ...

    def init_params(self, seed: int) -> Params: ...

    def param_count(self) -> int: ...

    def forward(self, params: Params, x: np.ndarray) -> tuple[np.ndarray, Any]: ...

    def backward(self, dhs: np.ndarray, cache: Any) -> tuple[dict, np.ndarray]: ...


class CoreEncoder:
    """A registered core (``fastweights_np.backends.get_core``) as an :class:`Encoder`:
    forward = ``sequence_forward`` from the zero state, backward = ``sequence_backward``."""

    def __init__(self, core: Core, cfg: Any):
        self.core, self.cfg = core, cfg
        self.hidden_size = cfg.hidden_size

    def param_shapes(self) -> dict[str, tuple[int, ...]]:
        return self.core.param_shapes(self.cfg)

    def init_params(self, seed: int) -> Params:
        return self.core.init_core_params(self.cfg, seed)

    def param_count(self) -> int:
        return self.core.param_count(self.cfg)

    def forward(self, params: Params, x: np.ndarray) -> tuple[np.ndarray, Any]:
        (hs, _), cache = self.core.sequence_forward(params, x, self.cfg)
        return hs, cache

    def backward(self, dhs: np.ndarray, cache: Any) -> tuple[dict, np.ndarray]:
        grads, dx, _ = self.core.sequence_backward((dhs, None), cache)
        return {name: grads[name] for name in self.param_shapes()}, dx


class Classifier:
    """``logits`` and ``loss_and_grad`` of a model with ``forward(params, x) -> (logits, cache)``
    and ``backward(dlogits, cache) -> grads``."""

    def forward(self, params: Params, x: Any) -> tuple[np.ndarray, Any]:
        raise NotImplementedError

    def backward(self, dlogits: np.ndarray, cache: Any) -> dict[str, np.ndarray]:
        raise NotImplementedError

    def logits(self, params: Params, x: Any) -> np.ndarray:
        return self.forward(params, x)[0]

    def loss_and_grad(self, params: Params, x: Any, y: np.ndarray) -> tuple[float, dict[str, np.ndarray]]:
        """Batch-mean cross-entropy of the classes ``y`` (B,) and the gradient of every parameter."""
        logits, cache = self.forward(params, x)
        y = check_labels("y", y, logits.shape[0], logits.shape[1])
        loss, xent_cache = softmax_xent_forward(logits, y)
        return loss, self.backward(softmax_xent_backward(1.0, xent_cache), cache)


class RecurrentClassifier(Classifier):
    """An :class:`Encoder` under the MLP head; x (B, T, I) floating → logits (B, O)."""

    def __init__(self, encoder: Encoder, fc_size: int, num_classes: int, dtype: str):
        self.encoder, self.fc_size, self.num_classes, self.dtype = encoder, fc_size, num_classes, np.dtype(dtype)

    def param_shapes(self) -> dict[str, tuple[int, ...]]:
        H, F, O = self.encoder.hidden_size, self.fc_size, self.num_classes
        shapes = {CORE_PREFIX + k: v for k, v in self.encoder.param_shapes().items()}
        shapes.update({"fc.W": (F, H), "fc.b": (F,), "out.W": (O, F), "out.b": (O,)})
        return shapes

    def init_params(self, seed: int, rng: np.random.Generator | None = None) -> Params:
        """The encoder's parameters from ``seed``; U and V uniform in ±1/sqrt(fan-in) drawn from
        ``rng`` (in that order; default ``default_rng([seed, 1])``), biases 0."""
        rng = np.random.default_rng([seed, 1]) if rng is None else rng
        H, F, O, dt = self.encoder.hidden_size, self.fc_size, self.num_classes, self.dtype
        params = {CORE_PREFIX + k: v for k, v in self.encoder.init_params(seed).items()}
        params["fc.W"] = (rng.uniform(-1, 1, (F, H)) / np.sqrt(H)).astype(dt)
        params["fc.b"] = np.zeros(F, dt)
        params["out.W"] = (rng.uniform(-1, 1, (O, F)) / np.sqrt(F)).astype(dt)
        params["out.b"] = np.zeros(O, dt)
        return params

    def param_count(self) -> int:
        """The encoder's parameters (as it counts them) and the head's."""
        H, F, O = self.encoder.hidden_size, self.fc_size, self.num_classes
        return self.encoder.param_count() + F * H + F + O * F + O

    def forward(self, params: Params, x: np.ndarray) -> tuple[np.ndarray, tuple]:
        """logits (B, O) for inputs x (B, T, I), and the cache for :meth:`backward`."""
        core_params = {k[len(CORE_PREFIX) :]: v for k, v in params.items() if k.startswith(CORE_PREFIX)}
        hs, encoder_cache = self.encoder.forward(core_params, x)
        logits, head_cache = mlp_head_forward(hs, params["fc.W"], params["fc.b"], params["out.W"],
                                              params["out.b"], at="last")
        return logits, (encoder_cache, head_cache)

    def backward(self, dlogits: np.ndarray, cache: tuple) -> dict[str, np.ndarray]:
        """Gradients of every parameter for an upstream gradient on the logits."""
        return self.backward_input(dlogits, cache)[0]

    def backward_input(self, dlogits: np.ndarray, cache: tuple) -> tuple[dict[str, np.ndarray], np.ndarray]:
        """(gradients of every parameter, dx (B, T, I)) for an upstream gradient on the logits."""
        encoder_cache, head_cache = cache
        dhs, d_fcW, d_fcb, d_outW, d_outb = mlp_head_backward(dlogits, head_cache)
        core_grads, dx = self.encoder.backward(dhs, encoder_cache)
        grads = {CORE_PREFIX + k: v for k, v in core_grads.items()}
        grads.update({"fc.W": d_fcW, "fc.b": d_fcb, "out.W": d_outW, "out.b": d_outb})
        return grads, dx
