"""Metrics of a supervised task: what a trainer evaluates on a split.

A metric is ``metric(model, params, split, batch_size) -> {"loss": ..., "error": ...}``; the
supervised trainer keeps the parameters with the lowest validation (error, loss).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from fastweights_np.ops import softmax_xent_forward


def classification_metric(model: Any, params: dict, split: Any, batch_size: int) -> dict[str, float]:
    """Mean cross-entropy and argmax error rate of ``model.logits(params, x)`` on ``split``
    (with .x and .y), in batches of ``batch_size``."""
    n = len(split.y)
    loss_sum = 0.0
    wrong = 0
    for start in range(0, n, batch_size):
        x, y = split.x[start : start + batch_size], split.y[start : start + batch_size]
        logits = model.logits(params, x)
        loss, _ = softmax_xent_forward(logits, y)
        loss_sum += loss * len(y)
        wrong += int(np.sum(np.argmax(logits, axis=1) != y))
    return {"loss": loss_sum / n, "error": wrong / n}
