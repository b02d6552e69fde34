"""Redundant copies of a complex key under fixed permutations (Danihelka et al. 2016, Sec. 3;
docs/baselines.md §3.1). Complex layout: see :mod:`fastweights_np.ops.complex_mul`."""

from __future__ import annotations

from fastweights_np.array_namespace import namespace


def copy_permute_forward(r, index) -> tuple[object, object]:
    """r_s = P_s r for every copy s: out[..., s, j] = r[..., index[s, j]].

    Parameters
    ----------
    r : (..., 2m) complex keys in [Re | Im] layout
    index : (S, 2m) integer; row s is the permutation P_s of the 2m real coordinates (for the
        A-LSTM, [π_s | π_s + m], the same permutation π_s of the m complex entries applied
        to the real and the imaginary parts); an array of the same namespace as ``r``

    Returns
    -------
    out : (..., S, 2m)
    cache : ``index``
    """
    xp = namespace(r, index)
    out = xp.take(r, xp.reshape(index, (-1,)), axis=-1)  # a gather: r[..., index] in NumPy
    return xp.reshape(out, (*r.shape[:-1], *index.shape)), index


def copy_permute_backward(dout, cache):
    """dr = Σ_s P_sᵀ dout_s: coordinate index[s, j] of r receives dout[..., s, j].

    Each row of ``index`` must be a permutation (which :func:`copy_permute_forward` does not
    check), so P_sᵀ = P_s⁻¹ is a gather with the inverse permutation.

    Returns
    -------
    dr : (..., 2m)
    """
    xp = namespace(dout, cache)
    inverse = xp.argsort(cache, axis=-1)
    return xp.sum(xp.take_along_axis(dout, xp.broadcast_to(inverse, dout.shape), axis=-1), axis=-2)
