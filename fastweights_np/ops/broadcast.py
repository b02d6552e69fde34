"""Gradients of broadcast operands: sum the upstream gradient back to the operand's shape."""

from __future__ import annotations

from fastweights_np.array_namespace import namespace


def unbroadcast(grad, shape: tuple[int, ...]):
    """The gradient of an operand of ``shape`` that was broadcast to ``grad.shape``.

    Broadcasting copies the operand along the axes it lacks or has with length 1; the
    gradient of a copy is the sum over the copies.
    """
    xp = namespace(grad)
    extra = grad.ndim - len(shape)
    grad = xp.sum(grad, axis=tuple(range(extra))) if extra > 0 else grad
    stretched = tuple(i for i, n in enumerate(shape) if n == 1 and grad.shape[i] != 1)
    return xp.sum(grad, axis=stretched, keepdims=True) if stretched else grad
