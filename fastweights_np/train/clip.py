"""Gradient clipping by global norm, applied outside the function whose gradient is checked."""

from __future__ import annotations

import math

import numpy as np


def global_norm(grads: dict[str, np.ndarray]) -> float:
    """sqrt(Σ_name ‖g_name‖²) over the array-valued gradients."""
    return math.sqrt(sum(float(np.sum(np.square(g))) for g in grads.values() if isinstance(g, np.ndarray)))


def clip_by_global_norm(grads: dict, max_norm: float | None) -> tuple[dict, float]:
    """Scale every array gradient by min(1, max_norm / global_norm); returns (grads, norm before).

    ``max_norm=None`` leaves the gradients as they are. Non-array entries (the "decay" and
    "fast_lr" floats) are passed through unscaled.
    """
    norm = global_norm(grads)
    if max_norm is None or norm <= max_norm:
        return grads, norm
    scale = max_norm / norm
    return {k: (g * scale if isinstance(g, np.ndarray) else g) for k, g in grads.items()}, norm
