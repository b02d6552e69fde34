"""The batch kernels: every sequence of the batch is independent, so the batch is cut into
one chunk per thread (``prange``) and each chunk runs the per-example code of ``matrix.py``
or ``attention.py`` over the whole sequence, time loop included.

One forward and one backward kernel serve both forms (``matrix`` picks one), so each dtype
compiles two parallel kernels. All arrays are C-contiguous and of one float dtype; arrays
that a call does not use are passed as (1, 1, 1) placeholders.
"""

from __future__ import annotations

import numpy as np
from numba import get_num_threads, njit, prange

from fastweights_np.backends.numba.activation import FASTMATH
from fastweights_np.backends.numba.attention import attention_backward_example, attention_forward_example
from fastweights_np.backends.numba.matrix import matrix_backward_example, matrix_forward_example

CHUNKS_PER_THREAD = 4


def n_chunks(batch: int) -> int:
    """How many pieces the batch is cut into: a few per thread (handed out one at a time, so a
    thread that the OS pauses holds up little), at most one per sequence."""
    return min(batch, CHUNKS_PER_THREAD * get_num_threads())


@njit(cache=True, parallel=True, fastmath=FASTMATH)
def forward_kernel(
    n,
    matrix,
    drive,
    W,
    g,
    beta,
    k,
    power,
    A0,
    with_A0,
    A_T,
    keep_A_T,
    inner_steps,
    layer_norm,
    ln_preliminary,
    past,
    vhat,
    inv_sigma,
    inner,
):
    """Forward over the batch.

    Parameters
    ----------
    n : number of chunks, :func:`n_chunks` (B)
    matrix : True for the matrix form, False for the attention form
    drive : (B, T, H), d_t = C x_t + b
    W (H, H), g (H,), beta (H,), k : scalars (``activation.scalars``), power (T+1,) : λ^k
    A0 : (B, H, H) initial memory when ``with_A0``
    A_T : (B, H, H), receives the matrix form's final A when ``keep_A_T``
    past : (B, T+1, H) with past[:, 0] = h_0; receives h_1..h_T
    vhat, inner : (B, T, S+1, H) and inv_sigma (B, T, S+1): receive the activations' caches
    """
    B, T, H = drive.shape
    for c in prange(n):
        z = np.empty(H, drive.dtype)
        a = np.empty(H, drive.dtype)
        w = np.empty(T, drive.dtype)
        A_chunk = np.empty((H, H), drive.dtype)
        for b in range(c * B // n, (c + 1) * B // n):
            A0_b = A0[b] if with_A0 else A0[0]
            if matrix:
                A = A_T[b] if keep_A_T else A_chunk
                if with_A0:
                    A[:, :] = A0_b
                else:
                    A[:, :] = 0
                matrix_forward_example(
                    drive[b], W, g, beta, k, inner_steps, layer_norm, ln_preliminary, A, past[b], vhat[b],
                    inv_sigma[b], inner[b], z, a,
                )
            else:
                attention_forward_example(
                    drive[b], W, g, beta, k, power, A0_b, with_A0, inner_steps, layer_norm, ln_preliminary, past[b],
                    vhat[b], inv_sigma[b], inner[b], z, a, w,
                )


@njit(cache=True, parallel=True, fastmath=FASTMATH)
def backward_kernel(
    n,
    matrix,
    dpast,
    dA,
    use_dA,
    A0,
    with_A0,
    past,
    vhat,
    inv_sigma,
    inner,
    W,
    g,
    k,
    power,
    dpower,
    inner_steps,
    layer_norm,
    ln_preliminary,
    ddrive,
    dW,
    dg,
    dbeta,
    dscalars,
):
    """Backpropagation through time over the batch.

    Parameters
    ----------
    n, matrix : as for the forward
    dpast : (B, T+1, H), the gradient arriving on h_0..h_T from outside; on exit
        dpast[:, 0] = dh_0
    dA : (B, H, H) when ``use_dA``. Matrix form: on entry the gradient on A_T, on exit dA_0.
        Attention form: dA_0 is added to it (``use_dA`` must equal ``with_A0``).
    A0 : (B, H, H) when ``with_A0``
    past, vhat, inv_sigma, inner, W, g, k, power, inner_steps, ... : as for the forward
    power, dpower : (T+1,) λ^k and k λ^(k-1)
    ddrive : (B, T, H), receives dz_t = dd_t
    dW : (n, H, H), dg, dbeta : (n, H) zeros, receive each chunk's sums
    dscalars : (n, 2) float64 zeros, receive each chunk's (dλ, dη)
    """
    B, T, H = ddrive.shape
    for c in prange(n):
        scratch = np.empty((5, H), ddrive.dtype)
        rs = np.empty((2, T), ddrive.dtype)
        dA_chunk = np.empty((H, H), ddrive.dtype)
        A_hist = np.empty((T + 1 if matrix else 1, H, H), ddrive.dtype)
        ddecay = 0.0
        dfast_lr = 0.0
        for b in range(c * B // n, (c + 1) * B // n):
            A0_b = A0[b] if with_A0 else A0[0]
            if matrix:
                D = dA[b] if use_dA else dA_chunk
                if not use_dA:
                    D[:, :] = 0
                if with_A0:
                    A_hist[0] = A0_b
                else:
                    A_hist[0] = 0
                dd, df = matrix_backward_example(
                    dpast[b], D, A_hist, past[b], vhat[b], inv_sigma[b], inner[b], W, g, k, inner_steps, layer_norm,
                    ln_preliminary, ddrive[b], dW[c], dg[c], dbeta[c], scratch,
                )
            else:
                dA0_b = dA[b] if use_dA else dA[0]
                dd, df = attention_backward_example(
                    dpast[b], past[b], vhat[b], inv_sigma[b], inner[b], W, g, k, power, dpower, A0_b, with_A0, dA0_b,
                    inner_steps, layer_norm, ln_preliminary, ddrive[b], dW[c], dg[c], dbeta[c], scratch, rs,
                )
            ddecay += dd
            dfast_lr += df
        dscalars[c, 0] = ddecay
        dscalars[c, 1] = dfast_lr
