"""Embedding lookup e = E[id], the product of a one-hot vector with E (docs/math.md §2.5)."""

from __future__ import annotations

from fastweights_np.array_namespace import namespace


def embedding_forward(ids, E) -> tuple[object, tuple]:
    """e[..., :] = E[ids[...], :], i.e. e = Eᵀ onehot(id) for every id.

    Parameters
    ----------
    ids : (...) integer symbol ids in [0, V)
    E : (V, D) embedding table

    Returns
    -------
    e : (..., D)
    cache : (ids, V)
    """
    xp = namespace(ids, E)
    flat = xp.reshape(ids, (-1,))
    e = xp.take(E, flat, axis=0)
    return xp.reshape(e, (*ids.shape, E.shape[1])), (ids, E.shape[0])


def embedding_backward(de, cache: tuple):
    """dE = Σ_rows onehot(id) deᵀ: row v of dE sums the gradients of every position holding v.

    Parameters
    ----------
    de : (..., D)
    cache : from :func:`embedding_forward`

    Returns
    -------
    dE : (V, D)
    """
    ids, V = cache
    xp = namespace(de, ids)
    flat = xp.reshape(ids, (-1, 1))
    onehot = xp.astype(flat == xp.arange(V, dtype=flat.dtype, device=flat.device)[None, :], de.dtype)
    return xp.matrix_transpose(onehot) @ xp.reshape(de, (-1, de.shape[-1]))
