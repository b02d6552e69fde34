"""One step of the Associative LSTM (Danihelka et al. 2016, Sec. 4), with K read/write heads.

m = H/2 complex units; complex vectors are real arrays in [Re | Im] layout (``ops/complex_mul``).

    a_t = N_rec(W h_{t-1}) + d_t,   d_t = N_in(C x_t) + b          (cores/preactivation.py)
    (â_f, â_o, and per head k: â_{i,k}, û_k, r̂_{i,k}, r̂_{o,k}) = a_t     (layout: alstm/params.py)
    g_f = σ(â_f),  g_o = σ(â_o),  g_{i,k} = σ(â_{i,k})                 real, m each
    u_k = bound(û_k),  r_{i,k} = bound(r̂_{i,k}),  r_{o,k} = bound(r̂_{o,k})   complex, |·| <= 1
    r_{i,k,s} = P_s r_{i,k},  r_{o,k,s} = P_s r_{o,k}                  fixed permutations
    c_{s,t} = g_f ⊙ c_{s,t-1} + Σ_k r_{i,k,s} ⊛ (g_{i,k} ⊙ u_k)        s = 1..N_copies
    h_t = g_o ⊙ bound( Σ_k (1/N_copies) Σ_s r_{o,k,s} ⊛ c_{s,t} )

With K = 1 these are the paper's equations. Derivation: ``docs/baselines.md`` §3.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from fastweights_np.cores.alstm.config import ALSTMConfig
from fastweights_np.cores.alstm.memory import (
    memory_read_backward,
    memory_read_forward,
    memory_write_backward,
    memory_write_forward,
)
from fastweights_np.cores.alstm.permutations import copy_index
from fastweights_np.cores.preactivation import recurrent_backward, recurrent_forward
from fastweights_np.ops import (
    complex_bound_backward,
    complex_bound_forward,
    complex_scale_backward,
    complex_scale_forward,
    copy_permute_backward,
    copy_permute_forward,
    sigmoid_backward,
    sigmoid_forward,
)


class StepCache(NamedTuple):
    """What :func:`step_backward` needs from :func:`step_forward`: the ops' caches."""

    recurrent: tuple
    index: np.ndarray
    gates: tuple  # σ caches of g_f, g_o, g_i
    bounds: tuple  # bound caches of u, r_i, r_o
    values: tuple
    write: tuple
    read: tuple
    read_bound: tuple
    output: tuple


class ALSTMState(NamedTuple):
    """The A-LSTM's state after a step: h_t (B, H) and the memory copies c_t (B, N_copies, H)."""

    h: np.ndarray
    c: np.ndarray


def zero_state(cfg: ALSTMConfig, batch: int, dtype: np.dtype) -> ALSTMState:
    """h_0 = 0 and every copy c_{s,0} = 0."""
    H = cfg.hidden_size
    return ALSTMState(np.zeros((batch, H), dtype), np.zeros((batch, cfg.n_copies, H), dtype))


def split_preactivation(a: np.ndarray, m: int, n_heads: int) -> tuple[np.ndarray, ...]:
    """(â_f (B, m), â_o (B, m), â_i (B, K, m), û (B, K, 2m), r̂_i (B, K, 2m), r̂_o (B, K, 2m)) from a (B, R)."""
    heads = a[:, 2 * m :].reshape(a.shape[0], n_heads, 7 * m)
    a_i, u_hat, ri_hat, ro_hat = np.split(heads, [m, 3 * m, 5 * m], axis=-1)
    return a[:, :m], a[:, m : 2 * m], a_i, u_hat, ri_hat, ro_hat


def join_preactivation(
    a_f: np.ndarray, a_o: np.ndarray, a_i: np.ndarray, u: np.ndarray, r_i: np.ndarray, r_o: np.ndarray
) -> np.ndarray:
    """Inverse of :func:`split_preactivation`: the (B, R) array."""
    heads = np.concatenate((a_i, u, r_i, r_o), axis=-1).reshape(a_f.shape[0], -1)
    return np.concatenate((a_f, a_o, heads), axis=-1)


def step_forward(
    state: ALSTMState, drive: np.ndarray, params: dict[str, np.ndarray], cfg: ALSTMConfig
) -> tuple[ALSTMState, tuple]:
    """(h_t, c_t) from (h_{t-1}, c_{t-1}) = ``state`` and d_t = ``drive`` (B, R).

    Returns
    -------
    state : ALSTMState(h_t (B, H), c_t (B, N_copies, H))
    cache : for :func:`step_backward`
    """
    h_prev, c_prev = state
    index = copy_index(cfg.complex_size, cfg.n_copies, cfg.permutation_seed)
    a, rec_cache = recurrent_forward(params, h_prev, cfg.layer_norm, cfg.ln_eps)
    a_f, a_o, a_i, u_hat, ri_hat, ro_hat = split_preactivation(a + drive, cfg.complex_size, cfg.n_heads)
    g_f, f_cache = sigmoid_forward(a_f)
    g_o, o_cache = sigmoid_forward(a_o)
    g_i, i_cache = sigmoid_forward(a_i)
    u, u_cache = complex_bound_forward(u_hat)
    r_i, ri_cache = complex_bound_forward(ri_hat)
    r_o, ro_cache = complex_bound_forward(ro_hat)
    values, values_cache = complex_scale_forward(g_i, u)  # w_k = g_{i,k} ⊙ u_k
    keys_in, _ = copy_permute_forward(r_i, index)  # (B, K, S, 2m)
    keys_out, _ = copy_permute_forward(r_o, index)
    c, write_cache = memory_write_forward(c_prev, g_f, keys_in, values)
    v, read_cache = memory_read_forward(c, keys_out)
    read, read_bound_cache = complex_bound_forward(v)
    h, out_cache = complex_scale_forward(g_o, read)
    cache = StepCache(
        rec_cache,
        index,
        (f_cache, o_cache, i_cache),
        (u_cache, ri_cache, ro_cache),
        values_cache,
        write_cache,
        read_cache,
        read_bound_cache,
        out_cache,
    )
    return ALSTMState(h, c), cache


def step_backward(dstate: ALSTMState, cache: StepCache) -> tuple[ALSTMState, np.ndarray, dict]:
    """Backward of :func:`step_forward`, each line the backward of one forward line, in reverse
    (docs/baselines.md §3.3); the memory gradient dc_t collects the read's share before it
    flows through the write into dc_{t-1}.

    Returns
    -------
    dstate_prev : ALSTMState(dh_{t-1}, dc_{t-1}), ddrive : (B, R), grads : {"W"[, "g_rec", "beta_rec"]}
    """
    dh, dc = dstate
    f_cache, o_cache, i_cache = cache.gates
    u_cache, ri_cache, ro_cache = cache.bounds
    dg_o, dread = complex_scale_backward(dh, cache.output)
    dv = complex_bound_backward(dread, cache.read_bound)
    dc_read, dkeys_out = memory_read_backward(dv, cache.read)
    dc_prev, dg_f, dkeys_in, dvalues = memory_write_backward(dc + dc_read, cache.write)
    dr_o = copy_permute_backward(dkeys_out, cache.index)
    dr_i = copy_permute_backward(dkeys_in, cache.index)
    dg_i, du = complex_scale_backward(dvalues, cache.values)
    da = join_preactivation(
        sigmoid_backward(dg_f, f_cache),
        sigmoid_backward(dg_o, o_cache),
        sigmoid_backward(dg_i, i_cache),
        complex_bound_backward(du, u_cache),
        complex_bound_backward(dr_i, ri_cache),
        complex_bound_backward(dr_o, ro_cache),
    )
    dh_prev, grads = recurrent_backward(da, cache.recurrent)
    return ALSTMState(dh_prev, dc_prev), da, grads
