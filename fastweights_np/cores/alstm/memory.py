"""The A-LSTM's holographic memory: writing to and reading from N_copies permuted copies
(Danihelka et al. 2016, Sec. 3-4; docs/baselines.md §3).

Shapes: B sequences, K heads, S = N_copies copies, m complex units in [Re | Im] layout (2m
reals). The memory is c (B, S, 2m), one complex trace per copy. The keys arrive already
permuted per copy, r[:, k, s] = P_s r_k, shape (B, K, S, 2m).

    write:  c_{s,t} = g_f ⊙ c_{s,t-1} + Σ_k r_{i,k,s} ⊛ w_k          (w_k = g_{i,k} ⊙ u_k)
    read:   v_t     = Σ_k (1/S) Σ_s r_{o,k,s} ⊛ c_{s,t}
"""

from __future__ import annotations

import numpy as np

from fastweights_np.ops import (
    complex_mul_backward,
    complex_mul_forward,
    complex_scale_backward,
    complex_scale_forward,
)


def memory_write_forward(
    c_prev: np.ndarray, forget: np.ndarray, keys_in: np.ndarray, values: np.ndarray
) -> tuple[np.ndarray, tuple]:
    """c_{s,t} = g_f ⊙ c_{s,t-1} + Σ_k r_{i,k,s} ⊛ w_k for every copy s.

    Parameters
    ----------
    c_prev : (B, S, 2m), c_{t-1}
    forget : (B, m), the real forget gate g_f (the same for every copy)
    keys_in : (B, K, S, 2m), the permuted input keys r_{i,k,s}
    values : (B, K, 2m), the gated values w_k

    Returns
    -------
    c : (B, S, 2m)
    cache : for :func:`memory_write_backward`
    """
    kept, keep_cache = complex_scale_forward(forget[:, None, :], c_prev)
    bound, bind_cache = complex_mul_forward(keys_in, values[:, :, None, :])  # (B, K, S, 2m)
    return kept + bound.sum(axis=1), (keep_cache, bind_cache)


def memory_write_backward(
    dc: np.ndarray, cache: tuple
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """dc_{t-1} = g_f ⊙ dc,  dg_f = Σ_s Re/Im inner product of dc_s with c_{s,t-1},
    dr_{i,k,s} = dc_s ⊛ conj(w_k),  dw_k = Σ_s dc_s ⊛ conj(r_{i,k,s}).

    Returns
    -------
    dc_prev : (B, S, 2m), dforget : (B, m), dkeys_in : (B, K, S, 2m), dvalues : (B, K, 2m)
    """
    keep_cache, bind_cache = cache
    dforget, dc_prev = complex_scale_backward(dc, keep_cache)
    dkeys_in, dvalues = complex_mul_backward(np.broadcast_to(dc[:, None], bind_cache[0].shape), bind_cache)
    return dc_prev, dforget[:, 0], dkeys_in, dvalues[:, :, 0]


def memory_read_forward(c: np.ndarray, keys_out: np.ndarray) -> tuple[np.ndarray, tuple]:
    """v = Σ_k (1/S) Σ_s r_{o,k,s} ⊛ c_s: each head's retrieval averaged over the copies,
    summed over the heads.

    Parameters
    ----------
    c : (B, S, 2m)
    keys_out : (B, K, S, 2m), the permuted output keys r_{o,k,s}

    Returns
    -------
    v : (B, 2m)
    cache : for :func:`memory_read_backward`
    """
    retrieved, cache = complex_mul_forward(keys_out, c[:, None])  # (B, K, S, 2m)
    return retrieved.mean(axis=2).sum(axis=1), cache


def memory_read_backward(dv: np.ndarray, cache: tuple) -> tuple[np.ndarray, np.ndarray]:
    """With e = dv / S on every (k, s):  dr_{o,k,s} = e ⊛ conj(c_s),  dc_s = Σ_k e ⊛ conj(r_{o,k,s}).

    Returns
    -------
    dc : (B, S, 2m), dkeys_out : (B, K, S, 2m)
    """
    keys_out = cache[0]
    S = keys_out.shape[2]
    e = np.broadcast_to(dv[:, None, None, :] / S, keys_out.shape)
    dkeys_out, dc = complex_mul_backward(e, cache)
    return dc[:, 0], dkeys_out
