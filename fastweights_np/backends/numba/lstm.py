"""The LSTM core, compiled: one example's forward and BPTT, and the batch-parallel kernels.

The same math as ``cores/lstm/step.py`` (docs/baselines.md §2), optionally layer-normalized:

    a_t = N_rec(W h_{t-1}) + d_t          d_t = N_in(C x_t) + b comes in computed (all t at once)
    f, i, o = σ(a_f), σ(a_i), σ(a_o),   u = tanh(a_u)        blocks of H, in this order
    c_t = f ⊙ c_{t-1} + i ⊙ u,          h_t = o ⊙ tanh(N_cell(c_t))

Per example the kernels keep ``past`` (T+1, H) = h_0..h_T, ``cells`` (T+1, H) = c_0..c_T,
``gates`` (T, 4H) = (f, i, o, u) and ``tanh_n`` (T, H) = tanh(N_cell(c_t)); with layer norm
also the LNs' normalised inputs (``rhat`` (T, 4H), ``chat`` (T, H)) and 1/σ (``inv_rec``,
``inv_cell`` (T,)). The backward leaves N_rec'(da_t) in ``drec`` (T, 4H) so that dW is one
matrix product over all (B·T) rows afterwards, in NumPy. Scalars come in ``scalars`` (LN over the
H cell units: scalars[INV_H] = 1/H) and ``scalars4`` (LN over the 4H gate pre-activations: 1/(4H)).
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from fastweights_np.backends.numba.activation import (
    FASTMATH,
    ONE,
    ZERO,
    add_into,
    copy_into,
    ln_backward,
    ln_forward,
    nrt_free,
    recurrent_drive,
    transposed_product_add,
)


@nrt_free
def sigmoid(v, scalars):
    """σ(v) without overflow, as ``ops/sigmoid.py``: e = exp(−|v|); 1/(1 + e) or e/(1 + e)."""
    e = np.exp(-abs(v))
    return (scalars[ONE] if v >= scalars[ZERO] else e) / (scalars[ONE] + e)


@nrt_free
def lstm_forward_example(
    drive, W, g_rec, beta_rec, g_cell, beta_cell, scalars, scalars4, layer_norm, past, cells, gates, tanh_n, rhat,
    inv_rec, chat, inv_cell, a, n, zero
):
    """Run one sequence from (past[0], cells[0]) = (h_0, c_0); fills the rest of the arrays
    above. ``a`` (4H,), ``n`` (H,) are scratch, ``zero`` (4H,) holds zeros."""
    T = drive.shape[0]
    H = past.shape[1]
    for t in range(1, T + 1):
        if layer_norm:
            recurrent_drive(W, past[t - 1], zero, a)
            inv_rec[t - 1] = ln_forward(a, g_rec, beta_rec, scalars4, rhat[t - 1], a)
            add_into(a, drive[t - 1])
        else:
            recurrent_drive(W, past[t - 1], drive[t - 1], a)
        gate = gates[t - 1]
        c_prev = cells[t - 1]
        c = cells[t]
        for j in range(H):
            f = sigmoid(a[j], scalars)
            i = sigmoid(a[H + j], scalars)
            gate[j] = f
            gate[H + j] = i
            gate[2 * H + j] = sigmoid(a[2 * H + j], scalars)
            u = np.tanh(a[3 * H + j])
            gate[3 * H + j] = u
            c[j] = f * c_prev[j] + i * u
        if layer_norm:
            inv_cell[t - 1] = ln_forward(c, g_cell, beta_cell, scalars, chat[t - 1], n)
        else:
            copy_into(n, c)
        tn = tanh_n[t - 1]
        h = past[t]
        for j in range(H):
            tn[j] = np.tanh(n[j])
            h[j] = gate[2 * H + j] * tn[j]


@nrt_free
def lstm_backward_example(
    dpast, dc, past, cells, gates, tanh_n, rhat, inv_rec, chat, inv_cell, W, g_rec, g_cell, scalars, scalars4,
    layer_norm, ddrive, drec, dg_rec, dbeta_rec, dg_cell, dbeta_cell, dn
):
    """BPTT for one sequence of :func:`lstm_forward_example` (docs/baselines.md §2).

    On entry dpast[t] (t = 1..T) holds the gradient arriving on h_t from outside (dhs, plus
    dh_T from the final state) and ``dc`` the gradient on c_T (zeros without one); on exit
    dpast[0] = dh_0 and dc = dc_0. Writes da_t into ddrive[t-1] and, with layer norm,
    N_rec'(da_t) into drec[t-1]; adds to the LN gains' and biases' gradients.
    """
    T = ddrive.shape[0]
    H = past.shape[1]
    one = scalars[ONE]
    for t in range(T, 0, -1):
        dh = dpast[t]
        gate = gates[t - 1]
        tn = tanh_n[t - 1]
        for j in range(H):
            dn[j] = dh[j] * gate[2 * H + j] * (one - tn[j] * tn[j])
        if layer_norm:
            ln_backward(dn, chat[t - 1], inv_cell[t - 1], g_cell, scalars, dn, dg_cell, dbeta_cell)
        da = ddrive[t - 1]
        c_prev = cells[t - 1]
        for j in range(H):
            dcj = dc[j] + dn[j]
            f = gate[j]
            i = gate[H + j]
            o = gate[2 * H + j]
            u = gate[3 * H + j]
            da[j] = dcj * c_prev[j] * f * (one - f)
            da[H + j] = dcj * u * i * (one - i)
            da[2 * H + j] = dh[j] * tn[j] * o * (one - o)
            da[3 * H + j] = dcj * i * (one - u * u)
            dc[j] = dcj * f
        if layer_norm:
            dr = drec[t - 1]
            ln_backward(da, rhat[t - 1], inv_rec[t - 1], g_rec, scalars4, dr, dg_rec, dbeta_rec)
            transposed_product_add(W, dr, dpast[t - 1])
        else:
            transposed_product_add(W, da, dpast[t - 1])


@njit(cache=True, parallel=True, fastmath=FASTMATH)
def lstm_forward_kernel(
    n_chunks, drive, W, g_rec, beta_rec, g_cell, beta_cell, scalars, scalars4, layer_norm, past, cells, gates, tanh_n,
    rhat, inv_rec, chat, inv_cell
):
    """Forward over the batch, one chunk of examples per ``prange`` iteration.

    drive (B, T, 4H) is d_t; past, cells (B, T+1, H) hold h_0, c_0 in [:, 0] and receive the
    rest; gates (B, T, 4H), tanh_n (B, T, H) receive the caches; with ``layer_norm`` so do
    rhat (B, T, 4H), inv_rec (B, T), chat (B, T, H), inv_cell (B, T) (otherwise they and the
    LN parameters are placeholders of the right number of dimensions).
    """
    B, T, R = drive.shape
    H = past.shape[2]
    for c in prange(n_chunks):
        a = np.empty(R, drive.dtype)
        n = np.empty(H, drive.dtype)
        zero = np.zeros(R, drive.dtype)
        for b in range(c * B // n_chunks, (c + 1) * B // n_chunks):
            lstm_forward_example(
                drive[b], W, g_rec, beta_rec, g_cell, beta_cell, scalars, scalars4, layer_norm, past[b], cells[b],
                gates[b], tanh_n[b], rhat[b if layer_norm else 0], inv_rec[b if layer_norm else 0],
                chat[b if layer_norm else 0], inv_cell[b if layer_norm else 0], a, n, zero,
            )


@njit(cache=True, parallel=True, fastmath=FASTMATH)
def lstm_backward_kernel(
    n_chunks, dpast, dc, past, cells, gates, tanh_n, rhat, inv_rec, chat, inv_cell, W, g_rec, g_cell, scalars, scalars4,
    layer_norm, ddrive, drec, dg_rec, dbeta_rec, dg_cell, dbeta_cell
):
    """BPTT over the batch (see :func:`lstm_backward_example` for dpast, dc (B, H), ddrive, drec).

    dg_rec, dbeta_rec (n_chunks, 4H) and dg_cell, dbeta_cell (n_chunks, H) are zeros that
    receive each chunk's sums (with layer norm; placeholders otherwise).
    """
    B, T, R = ddrive.shape
    H = past.shape[2]
    for c in prange(n_chunks):
        dn = np.empty(H, ddrive.dtype)
        sums = c if layer_norm else c - c  # the row of the LN sums (c - c: 0 of the prange index's type)
        for b in range(c * B // n_chunks, (c + 1) * B // n_chunks):
            lb = b if layer_norm else 0
            lstm_backward_example(
                dpast[b], dc[b], past[b], cells[b], gates[b], tanh_n[b], rhat[lb], inv_rec[lb], chat[lb], inv_cell[lb],
                W, g_rec, g_cell, scalars, scalars4, layer_norm, ddrive[b], drec[lb], dg_rec[sums], dbeta_rec[sums],
                dg_cell[sums], dbeta_cell[sums], dn,
            )
