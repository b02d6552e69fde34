"""The batch kernels: every sequence of the batch is independent, so the batch is cut into
chunks handed to threads (``prange``), and each chunk runs the code of ``matrix.py`` or
``attention.py`` over the whole sequence, time loop included.

The products with W go to BLAS (``np.dot``; Numba calls SciPy's BLAS, which the callers keep
on one thread per call, ``threads.kernel_threads``) as matrix products over a chunk's
examples: the attention form runs its chunk one time step at a time, z_t = W h_{t-1} + d_t for
all the chunk's examples in one product, forward and backward (dh_{t-1} = Wᵀ dz_t). The matrix
form runs each example's whole sequence in turn (an H×H A_t per example of a whole chunk would
not stay in cache), with per-example products. In both, dW = Σ_{b,t} dz_t h_{t-1}ᵀ is one
product per chunk at the end. docs/performance.md, "Products with W as BLAS calls per chunk".

A chunk's forward and backward are functions of their own (:func:`forward_chunk`,
:func:`backward_chunk`), run by three parallel kernels: :func:`forward_kernel` and
:func:`backward_kernel` (``sequence_forward`` / ``sequence_backward``, with every option) and
:func:`loss_and_grad_kernel`, a training step in one parallel loop (forward, readout and loss,
backward per chunk; in the attention form 0.83–0.98 of the time of the three calls it replaced,
in the matrix form 0.91–0.99, over three runs of ``benchmarks/bench_fused.py``). Each serves both forms (``matrix``
picks one), so each dtype compiles three parallel kernels. All arrays are C-contiguous and of
one float dtype; arrays that a call does not use are passed as (1, 1, 1) placeholders.
"""

from __future__ import annotations

import numpy as np
from numba import get_num_threads, njit, prange

from fastweights_np.backends.numba.activation import FASTMATH, nrt_free
from fastweights_np.backends.numba.attention import attention_backward_step, attention_forward_step
from fastweights_np.backends.numba.matrix import matrix_backward_example, matrix_forward_example
from fastweights_np.backends.numba.readout import check_labels_in_range, readout_rows

# Two, not more: fewer chunks make the attention form's per-step products with W bigger. At
# B = 128, T = 11, float32 on 2 threads, a step with 2 chunks per thread took 0.89–0.94 of the
# time with 4 in the attention form and the same in the matrix form (benchmarks/bench_chunks.py).
CHUNKS_PER_THREAD = 2


def n_chunks(batch: int) -> int:
    """How many pieces the batch is cut into: two per thread (handed out one at a time, so a
    thread that the OS pauses holds up only part of the batch), at most one per sequence."""
    return min(batch, CHUNKS_PER_THREAD * get_num_threads())


@nrt_free
def chunk_rows(c, n, B):
    """The rows b0..b1-1 of the batch that chunk c of n takes."""
    return c * B // n, (c + 1) * B // n


@nrt_free
def gather_states(past, b0, b1, t, out):
    """out[b - b0] = past[b, t] for b = b0..b1-1: a chunk's states at one step, contiguous."""
    for b in range(b0, b1):
        for j in range(out.shape[1]):
            out[b - b0, j] = past[b, t, j]


@nrt_free
def add_states(dpast, b0, b1, t, d):
    """dpast[b, t] += d[b - b0] for b = b0..b1-1."""
    for b in range(b0, b1):
        for j in range(d.shape[1]):
            dpast[b, t, j] += d[b - b0, j]


@nrt_free
def gather_history(past, b0, b1, out):
    """out[(b - b0) T + t] = past[b, t] for b = b0..b1-1, t = 0..T-1: h_0..h_{T-1} of a chunk
    as rows that line up with ddrive[b0:b1] reshaped to (rows, H)."""
    T = past.shape[1] - 1
    for b in range(b0, b1):
        for t in range(T):
            for j in range(out.shape[1]):
                out[(b - b0) * T + t, j] = past[b, t, j]


@njit(cache=True, fastmath=FASTMATH)
def weight_gradient(ddrive, past, b0, b1, dW):
    """dW = Σ_{b=b0}^{b1-1} Σ_t dz_t h_{t-1}ᵀ (overwritten) for one chunk, as one matrix
    product: ddrive (B, T, H) holds dz, past (B, T+1, H) the states."""
    B, T, H = ddrive.shape
    h_prev = np.empty(((b1 - b0) * T, H), ddrive.dtype)
    gather_history(past, b0, b1, h_prev)
    np.dot(ddrive[b0:b1].reshape((b1 - b0) * T, H).T, h_prev, dW)


@njit(cache=True, fastmath=FASTMATH)
def forward_chunk(
    c, n, matrix, drive, W, g, beta, k, power, A0, with_A0, A_T, keep_A_T, inner_steps, layer_norm, ln_preliminary,
    past, vhat, inv_sigma, inner,
):
    """Chunk c of n of :func:`forward_kernel` (its arguments): the sequences ``chunk_rows(c, n, B)``
    over every time step."""
    B, T, H = drive.shape
    b0, b1 = chunk_rows(c, n, B)
    a = np.empty(H, drive.dtype)
    if matrix:
        z = np.empty(H, drive.dtype)
        A_chunk = np.empty((H, H), drive.dtype)
        for b in range(b0, b1):
            A = A_T[b] if keep_A_T else A_chunk
            if with_A0:
                A[:, :] = A0[b]
            else:
                A[:, :] = 0
            matrix_forward_example(
                drive[b], W, g, beta, k, inner_steps, layer_norm, ln_preliminary, A, past[b], vhat[b],
                inv_sigma[b], inner[b], z, a,
            )
    else:
        w = np.empty(T, drive.dtype)
        h_prev = np.empty((b1 - b0, H), drive.dtype)
        z_chunk = np.empty((b1 - b0, H), drive.dtype)
        WT = W.T
        for t in range(1, T + 1):
            gather_states(past, b0, b1, t - 1, h_prev)
            np.dot(h_prev, WT, z_chunk)  # W h_{t-1} for the chunk
            attention_forward_step(
                t, b0, b1, z_chunk, drive, g, beta, k, power, A0, with_A0, inner_steps, layer_norm,
                ln_preliminary, past, vhat, inv_sigma, inner, a, w,
            )


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
    for c in prange(n):
        forward_chunk(
            c, n, matrix, drive, W, g, beta, k, power, A0, with_A0, A_T, keep_A_T, inner_steps, layer_norm,
            ln_preliminary, past, vhat, inv_sigma, inner,
        )


@njit(cache=True, fastmath=FASTMATH)
def backward_chunk(
    c, n, matrix, dpast, dA, use_dA, A0, with_A0, past, vhat, inv_sigma, inner, W, g, k, power, dpower, inner_steps,
    layer_norm, ln_preliminary, ddrive, dW, dg, dbeta, dscalars,
):
    """Chunk c of n of :func:`backward_kernel` (its arguments): the sequences ``chunk_rows(c, n, B)``,
    writing dW[c], dg[c], dbeta[c] and dscalars[c]."""
    B, T, H = ddrive.shape
    b0, b1 = chunk_rows(c, n, B)
    scratch = np.empty((5, H), ddrive.dtype)
    ddecay = 0.0
    dfast_lr = 0.0
    if matrix:
        dA_chunk = np.empty((H, H), ddrive.dtype)
        A_hist = np.empty((T + 1, H, H), ddrive.dtype)
        for b in range(b0, b1):
            D = dA[b] if use_dA else dA_chunk
            if not use_dA:
                D[:, :] = 0
            if with_A0:
                A_hist[0] = A0[b]
            else:
                A_hist[0] = 0
            dd, df = matrix_backward_example(
                dpast[b], D, A_hist, past[b], vhat[b], inv_sigma[b], inner[b], W, g, k, inner_steps, layer_norm,
                ln_preliminary, ddrive[b], dg[c], dbeta[c], scratch,
            )
            ddecay += dd
            dfast_lr += df
    else:
        rs = np.empty((2, T), ddrive.dtype)
        dz_chunk = np.empty((b1 - b0, H), ddrive.dtype)
        dh_chunk = np.empty((b1 - b0, H), ddrive.dtype)
        for t in range(T, 0, -1):
            dd, df = attention_backward_step(
                t, b0, b1, dpast, past, vhat, inv_sigma, inner, g, k, power, dpower, A0, with_A0, dA,
                inner_steps, layer_norm, ln_preliminary, ddrive, dz_chunk, dg[c], dbeta[c], scratch, rs,
            )
            ddecay += dd
            dfast_lr += df
            np.dot(dz_chunk, W, dh_chunk)  # (Wᵀ dz_t)ᵀ for the chunk
            add_states(dpast, b0, b1, t - 1, dh_chunk)
    weight_gradient(ddrive, past, b0, b1, dW[c])
    dscalars[c, 0] = ddecay
    dscalars[c, 1] = dfast_lr


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
    dW : (n, H, H) receives each chunk's sum; dg, dbeta : (n, H) zeros, receive each chunk's sums
    dscalars : (n, 2) float64 zeros, receive each chunk's (dλ, dη)
    """
    for c in prange(n):
        backward_chunk(
            c, n, matrix, dpast, dA, use_dA, A0, with_A0, past, vhat, inv_sigma, inner, W, g, k, power, dpower,
            inner_steps, layer_norm, ln_preliminary, ddrive, dW, dg, dbeta, dscalars,
        )


@njit(cache=True, parallel=True, fastmath=FASTMATH)
def loss_and_grad_kernel(
    n,
    matrix,
    drive,
    W,
    g,
    beta,
    k,
    power,
    dpower,
    inner_steps,
    layer_norm,
    ln_preliminary,
    V,
    c_out,
    y,
    past,
    vhat,
    inv_sigma,
    inner,
    dpast,
    dW,
    dg,
    dbeta,
    dscalars,
    dV,
    dc,
):
    """A training step's core, readout and backward in one parallel loop: each chunk runs
    :func:`forward_chunk`, the readout and loss of its rows (``readout.readout_rows``), then
    :func:`backward_chunk`, from h_0 = 0, A_0 = 0, with no final state. Every example's step is
    independent of the others' until the parameter gradients, which each chunk writes as its own
    share.

    Parameters
    ----------
    n, matrix, drive, W, g, beta, k, power, dpower, inner_steps, ... : as for the two kernels above
    V (O, H), c_out (O,) : the readout; y (B,) : labels, checked to be in [0, O) before the loop
    past : (B, T+1, H) with past[:, 0] = 0; vhat, inv_sigma, inner : as for the forward
    dpast : (B, T+1, H), any contents (each chunk zeroes its rows); on exit dpast[:, 0] = dh_0
    drive also receives dz_t = dd_t: each chunk overwrites its own rows after its forward has
        read them, so the step needs no second (B, T, H) array
    dW (n, H, H), dg, dbeta (n, H) zeros, dscalars (n, 2) float64 zeros : as for the backward
    dV (n, O, H), dc (n, O) : receive each chunk's share of dV and dc

    Returns the loss (the sum of the chunks' shares).
    """
    B, T, H = drive.shape
    check_labels_in_range(y, V.shape[0])
    none = np.empty((1, 1, 1), drive.dtype)  # A_0, A_T and dA: not used
    inv_B = 1.0 / B
    losses = np.empty(n, np.float64)
    for c in prange(n):
        forward_chunk(
            c, n, matrix, drive, W, g, beta, k, power, none, False, none, False, inner_steps, layer_norm,
            ln_preliminary, past, vhat, inv_sigma, inner,
        )
        b0, b1 = chunk_rows(c, n, B)
        h_T = np.empty((b1 - b0, H), drive.dtype)
        dh_T = np.empty((b1 - b0, H), drive.dtype)
        gather_states(past, b0, b1, T, h_T)
        losses[c] = readout_rows(h_T, V, c_out, y[b0:b1], inv_B, dh_T, dV[c], dc[c])
        dpast[b0:b1] = 0
        add_states(dpast, b0, b1, T, dh_T)
        backward_chunk(
            c, n, matrix, dpast, none, False, none, False, past, vhat, inv_sigma, inner, W, g, k, power, dpower,
            inner_steps, layer_norm, ln_preliminary, drive, dW, dg, dbeta, dscalars,
        )
    return losses.sum()
