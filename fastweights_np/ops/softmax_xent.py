"""Softmax cross-entropy, averaged over the batch (docs/math.md §2.4)."""

from __future__ import annotations

from fastweights_np.array_namespace import namespace


def one_hot(labels, n_classes: int, xp):
    """(..., O) boolean array, True at [..., labels[...]]."""
    return labels[..., None] == xp.arange(n_classes, dtype=labels.dtype, device=labels.device)


def log_softmax(logits):
    """log p = log softmax(logits) over the last axis, (..., O).

    log Σ_j exp(l_j) is taken as m + log1p(Σ_{j≠k} exp(l_j − m)) with k = argmax, m = l_k, so a
    confident prediction keeps its tiny loss (≈ Σ_{j≠k} exp(l_j − m)) instead of rounding it
    to 0 while its gradient p − onehot(y) is still resolved.
    """
    xp = namespace(logits)
    n_classes = logits.shape[-1]
    zero = xp.zeros_like(logits)
    is_max = one_hot(xp.argmax(logits, axis=-1), n_classes, xp)  # k = argmax
    m = xp.sum(xp.where(is_max, logits, zero), axis=-1, keepdims=True)  # m = l_k
    shifted = logits - m
    others = xp.where(is_max, zero, xp.exp(shifted))  # exp(l_j − m), j ≠ k
    return shifted - xp.log1p(xp.sum(others, axis=-1, keepdims=True))


def softmax_xent_forward(logits, y) -> tuple[float, tuple]:
    """L = −(1/B) Σ_b log softmax(logits_b)[y_b] (log softmax: :func:`log_softmax`).

    Parameters
    ----------
    logits : (B, O)
    y : (B,) integer labels in [0, O)

    Returns
    -------
    loss : float
    cache : (log p, y) with log p = log softmax(logits), (B, O)
    """
    xp = namespace(logits, y)
    log_p = log_softmax(logits)
    picked = xp.sum(xp.where(one_hot(y, logits.shape[-1], xp), log_p, xp.zeros_like(log_p)), axis=-1)
    loss = -float(xp.mean(picked))
    return loss, (log_p, y)


def softmax_xent_backward(dloss: float, cache: tuple):
    """dlogits = dloss · (p − onehot(y)) / B, shape (B, O).

    p_y − 1 is taken as expm1(log p_y), which keeps it when p_y rounds to 1.
    """
    log_p, y = cache
    xp = namespace(log_p, y)
    dlogits = xp.where(one_hot(y, log_p.shape[-1], xp), xp.expm1(log_p), xp.exp(log_p))
    return dlogits * (dloss / log_p.shape[0])
