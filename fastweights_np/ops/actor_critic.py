"""The actor-critic's losses per step, each an op: the log-probability of the action taken, the
policy's entropy and the value's squared error (docs/math.md §2.6), and their weighted mean.

Shapes: any leading axes (..., e.g. (E, T): episodes × steps) and A actions on the last axis of
the logits. The actions are data (sampled, then held fixed), the returns are targets: neither
has a gradient.
"""

from __future__ import annotations

from fastweights_np.array_namespace import namespace
from fastweights_np.ops.softmax_xent import log_softmax, one_hot


def log_prob_forward(logits, actions) -> tuple:
    """ℓ = log π(a) = log softmax(logits)[a].

    Parameters
    ----------
    logits : (..., A)
    actions : (...) integers in [0, A)

    Returns
    -------
    log_prob : (...)
    cache : (log π (..., A), actions)
    """
    xp = namespace(logits, actions)
    log_pi = log_softmax(logits)
    taken = one_hot(actions, logits.shape[-1], xp)
    return xp.sum(xp.where(taken, log_pi, xp.zeros_like(log_pi)), axis=-1), (log_pi, actions)


def log_prob_backward(dlog_prob, cache: tuple):
    """dlogits = dℓ · (onehot(a) − π), (..., A)."""
    log_pi, actions = cache
    xp = namespace(log_pi)
    taken = one_hot(actions, log_pi.shape[-1], xp)
    return dlog_prob[..., None] * (xp.astype(taken, log_pi.dtype) - xp.exp(log_pi))


def entropy_forward(logits) -> tuple:
    """H = −Σ_j π_j log π_j, π = softmax(logits).

    Parameters
    ----------
    logits : (..., A)

    Returns
    -------
    H : (...)
    cache : (log π (..., A), H)
    """
    xp = namespace(logits)
    log_pi = log_softmax(logits)
    H = -xp.sum(xp.exp(log_pi) * log_pi, axis=-1)
    return H, (log_pi, H)


def entropy_backward(dH, cache: tuple):
    """dlogits_j = −dH · π_j (log π_j + H), (..., A)."""
    log_pi, H = cache
    xp = namespace(log_pi)
    return -dH[..., None] * xp.exp(log_pi) * (log_pi + H[..., None])


def value_loss_forward(values, returns) -> tuple:
    """e = ½ (R − V)².

    Parameters
    ----------
    values : (...), the critic's V
    returns : (...), the targets R (no gradient)

    Returns
    -------
    e : (...)
    cache : V − R
    """
    diff = values - returns
    return 0.5 * diff * diff, diff


def value_loss_backward(de, cache):
    """dV = de · (V − R)."""
    return de * cache


def actor_critic_loss_forward(logits, values, actions, returns, *, entropy_weight: float,
                              value_weight: float) -> tuple[float, tuple]:
    """L = (1/n) Σ [ −Â ℓ − β H + c ½ (R − V)² ] over the n = E·T steps, with Â = R − V held
    fixed (the advantage is a weight of the policy gradient, not differentiated), β =
    ``entropy_weight``, c = ``value_weight``.

    Parameters
    ----------
    logits : (E, T, A); values, returns : (E, T); actions : (E, T) integers in [0, A)

    Returns
    -------
    loss : float
    cache : for :func:`actor_critic_loss_backward`; its last entry holds the three terms' means
        {"policy", "entropy", "value"} (what a trainer logs)
    """
    xp = namespace(logits, values)
    advantage = returns - values  # held fixed
    log_prob, lp_cache = log_prob_forward(logits, actions)
    H, h_cache = entropy_forward(logits)
    e, v_cache = value_loss_forward(values, returns)
    n = values.shape[0] * values.shape[1]
    terms = {"policy": -float(xp.mean(advantage * log_prob)), "entropy": float(xp.mean(H)),
             "value": float(xp.mean(e))}
    loss = terms["policy"] - entropy_weight * terms["entropy"] + value_weight * terms["value"]
    return loss, (advantage, lp_cache, h_cache, v_cache, n, entropy_weight, value_weight, terms)


def actor_critic_loss_backward(dloss: float, cache: tuple) -> tuple:
    """(dlogits (E, T, A), dvalues (E, T)):

        dlogits = (dL/n) [ −Â · dℓ/dlogits − β dH/dlogits ],   dvalues = (dL/n) c (V − R)
    """
    advantage, lp_cache, h_cache, v_cache, n, beta, c, _ = cache
    scale = dloss / n
    dlogits = log_prob_backward(-scale * advantage, lp_cache) + entropy_backward(
        -scale * beta * namespace(advantage).ones_like(advantage), h_cache)
    dvalues = value_loss_backward(scale * c, v_cache)
    return dlogits, dvalues
