"""Softmax cross-entropy, averaged over the batch (docs/math.md §2.4)."""

from __future__ import annotations

from fastweights_np.array_namespace import namespace


def _one_hot(y, n_classes: int, xp):
    """(B, O) boolean array, True at [b, y_b]."""
    return y[:, None] == xp.arange(n_classes, dtype=y.dtype, device=y.device)[None, :]


def softmax_xent_forward(logits, y) -> tuple[float, tuple]:
    """L = −(1/B) Σ_b log softmax(logits_b)[y_b].

    Parameters
    ----------
    logits : (B, O)
    y : (B,) integer labels in [0, O)

    Returns
    -------
    loss : float
    cache : (p, y) with p = softmax(logits), (B, O)
    """
    xp = namespace(logits, y)
    shifted = logits - xp.max(logits, axis=-1, keepdims=True)
    log_z = xp.log(xp.sum(xp.exp(shifted), axis=-1, keepdims=True))
    log_p = shifted - log_z
    picked = xp.sum(xp.where(_one_hot(y, logits.shape[-1], xp), log_p, xp.zeros_like(log_p)), axis=-1)
    loss = -float(xp.mean(picked))  # log p[b, y_b], averaged over b
    return loss, (xp.exp(log_p), y)


def softmax_xent_backward(dloss: float, cache: tuple):
    """dlogits = dloss · (p − onehot(y)) / B, shape (B, O)."""
    p, y = cache
    xp = namespace(p, y)
    one_hot = xp.astype(_one_hot(y, p.shape[-1], xp), p.dtype)
    return (p - one_hot) * (dloss / p.shape[0])
