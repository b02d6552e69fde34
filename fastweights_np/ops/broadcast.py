"""Gradients of broadcast operands: sum the upstream gradient back to the operand's shape."""

from __future__ import annotations

import numpy as np


def unbroadcast(grad: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """The gradient of an operand of ``shape`` that NumPy broadcast to ``grad.shape``.

    Broadcasting copies the operand along the axes it lacks or has with length 1; the
    gradient of a copy is the sum over the copies.
    """
    extra = grad.ndim - len(shape)
    grad = grad.sum(axis=tuple(range(extra))) if extra > 0 else grad
    stretched = tuple(i for i, n in enumerate(shape) if n == 1 and grad.shape[i] != 1)
    return grad.sum(axis=stretched, keepdims=True) if stretched else grad
