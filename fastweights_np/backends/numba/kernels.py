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

Each form has its own kernels, built from a chunk's forward and backward
(:func:`matrix_forward_chunk`, :func:`matrix_backward_chunk`, :func:`attention_forward_chunk`,
:func:`attention_backward_chunk`):

- ``*_forward_kernel`` and ``*_backward_kernel``: ``sequence_forward`` / ``sequence_backward``,
  with every option (a carried state, a final state, a gradient on it);
- ``*_loss_and_grad_kernel``: a training step of the canonical model in one parallel loop
  (forward, readout and loss, backward per chunk), so that the threads start once per step
  (docs/performance.md, "One parallel loop per training step").

So each dtype compiles six parallel kernels. The arguments come grouped (``arguments.py``):
the weights, the options, the forward's tape, the chunks' gradients, the optional fast-weight
matrices; all arrays are C-contiguous and of one float dtype, and arrays that a call does not
use are (1, 1, 1) placeholders (an unused ``arguments.Memory``).
"""

from __future__ import annotations

import numpy as np
from numba import get_num_threads, njit, prange

from fastweights_np.backends.numba.activation import FASTMATH, nrt_free
from fastweights_np.backends.numba.arguments import Memory, Tape
from fastweights_np.backends.numba.attention import attention_backward_step, attention_forward_step
from fastweights_np.backends.numba.matrix import matrix_backward_example, matrix_forward_example
from fastweights_np.backends.numba.readout import check_labels_in_range, readout_rows

# Two, not more: fewer chunks make the attention form's per-step products with W bigger, and
# two were faster than four in both forms (docs/performance.md, "Chunks per thread").
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
def example_tape(tape, b):
    """Example b's part of the batch's ``tape``: the same fields without the batch axis."""
    return Tape(tape.past[b], tape.vhat[b], tape.inv_sigma[b], tape.inner[b])


@njit(cache=True, fastmath=FASTMATH)
def store_chunk_gradients(c, b0, b1, ddrive, past, ddecay, dfast_lr, grads):
    """The end of a chunk's backward: dW[c] from the chunk's dz_t (``ddrive``) and h_{t-1}
    (``past``), and its (dλ, dη) into grads.dscalars[c]."""
    weight_gradient(ddrive, past, b0, b1, grads.dW[c])
    grads.dscalars[c, 0] = ddecay
    grads.dscalars[c, 1] = dfast_lr


@njit(cache=True, fastmath=FASTMATH)
def readout_chunk(c, n, tape, readout, y, dpast, dreadout):
    """The canonical model's readout and loss for chunk c of n, between its forward and its
    backward: reads h_T from ``tape.past``, writes the rows' dpast (zeros but dh_T) and the
    chunk's shares dreadout.V[c], dreadout.c[c]; returns the chunk's share of the batch-mean loss."""
    B, T1, H = tape.past.shape
    T = T1 - 1
    b0, b1 = chunk_rows(c, n, B)
    h_T = np.empty((b1 - b0, H), tape.past.dtype)
    dh_T = np.empty((b1 - b0, H), tape.past.dtype)
    gather_states(tape.past, b0, b1, T, h_T)
    loss = readout_rows(h_T, readout.V, readout.c, y[b0:b1], 1.0 / B, dh_T, dreadout.V[c], dreadout.c[c])
    dpast[b0:b1] = 0
    add_states(dpast, b0, b1, T, dh_T)
    return loss


# ------------------------------------------------------------------------------ matrix form
@njit(cache=True, fastmath=FASTMATH)
def matrix_forward_chunk(c, n, drive, weights, options, A0, A_T, tape):
    """Chunk c of n of :func:`matrix_forward_kernel` (its arguments): the sequences
    ``chunk_rows(c, n, B)`` over every time step, one example after the other."""
    B, T, H = drive.shape
    b0, b1 = chunk_rows(c, n, B)
    z = np.empty(H, drive.dtype)
    a = np.empty(H, drive.dtype)
    A_chunk = np.empty((H, H), drive.dtype)
    for b in range(b0, b1):
        A = A_T.A[b] if A_T.used else A_chunk
        if A0.used:
            A[:, :] = A0.A[b]
        else:
            A[:, :] = 0
        matrix_forward_example(drive[b], weights, options, A, example_tape(tape, b), z, a)


@njit(cache=True, parallel=True, fastmath=FASTMATH)
def matrix_forward_kernel(n, drive, weights, options, A0, A_T, tape):
    """Forward over the batch in the matrix form.

    Parameters
    ----------
    n : number of chunks, :func:`n_chunks` (B)
    drive : (B, T, H), d_t = C x_t + b
    weights, options : ``arguments.Weights``, ``arguments.Options``
    A0 : ``arguments.Memory``, the initial A_0 (zero when unused)
    A_T : ``arguments.Memory``, receives the final A_T when used
    tape : ``arguments.Tape``, with past[:, 0] = h_0; receives h_1..h_T and the activations' caches
    """
    for c in prange(n):
        matrix_forward_chunk(c, n, drive, weights, options, A0, A_T, tape)


@njit(cache=True, fastmath=FASTMATH)
def matrix_backward_chunk(c, n, dpast, dA, A0, tape, weights, options, ddrive, grads):
    """Chunk c of n of :func:`matrix_backward_kernel` (its arguments): the sequences
    ``chunk_rows(c, n, B)``, writing row c of every field of ``grads``."""
    B, T, H = ddrive.shape
    b0, b1 = chunk_rows(c, n, B)
    scratch = np.empty((5, H), ddrive.dtype)
    dA_chunk = np.empty((H, H), ddrive.dtype)
    A_hist = np.empty((T + 1, H, H), ddrive.dtype)
    ddecay = 0.0
    dfast_lr = 0.0
    for b in range(b0, b1):
        D = dA.A[b] if dA.used else dA_chunk
        if not dA.used:
            D[:, :] = 0
        if A0.used:
            A_hist[0] = A0.A[b]
        else:
            A_hist[0] = 0
        dd, df = matrix_backward_example(
            dpast[b], D, A_hist, example_tape(tape, b), weights, options, ddrive[b], grads.dg[c], grads.dbeta[c],
            scratch,
        )
        ddecay += dd
        dfast_lr += df
    store_chunk_gradients(c, b0, b1, ddrive, tape.past, ddecay, dfast_lr, grads)


@njit(cache=True, parallel=True, fastmath=FASTMATH)
def matrix_backward_kernel(n, dpast, dA, A0, tape, weights, options, ddrive, grads):
    """Backpropagation through time over the batch in the matrix form.

    Parameters
    ----------
    n, tape, weights, options : as for the forward (``tape`` as it filled it)
    dpast : (B, T+1, H), the gradient arriving on h_1..h_T from outside; on exit dpast[:, 0] = dh_0
    dA : ``arguments.Memory``: when used, the gradient on A_T on entry and dA_0 on exit
    A0 : ``arguments.Memory``, the forward's A_0
    ddrive : (B, T, H), receives dz_t = dd_t
    grads : ``arguments.ChunkGrads``, receive each chunk's sums
    """
    for c in prange(n):
        matrix_backward_chunk(c, n, dpast, dA, A0, tape, weights, options, ddrive, grads)


@njit(cache=True, parallel=True, fastmath=FASTMATH)
def matrix_loss_and_grad_kernel(n, drive, weights, options, readout, y, tape, dpast, grads, dreadout):
    """A training step's core, readout and backward in one parallel loop, matrix form: each
    chunk runs :func:`matrix_forward_chunk`, the readout and loss of its rows
    (:func:`readout_chunk`), then :func:`matrix_backward_chunk`, from h_0 = 0, A_0 = 0, with no
    final state. Every example's step is independent of the others' until the parameter
    gradients, which each chunk writes as its own share.

    Parameters
    ----------
    n, drive, weights, options, tape, grads : as for the two kernels above (past[:, 0] = 0)
    readout : ``arguments.Readout`` V (O, H), c (O,); y (B,) : labels, checked to be in [0, O)
        before the loop
    dpast : (B, T+1, H), any contents (each chunk zeroes its rows); on exit dpast[:, 0] = dh_0
    drive also receives dz_t = dd_t: each chunk overwrites its own rows after its forward has
        read them, so the step needs no second (B, T, H) array
    dreadout : ``arguments.Readout`` of (n, O, H), (n, O): receive each chunk's share of dV and dc

    Returns the loss (the sum of the chunks' shares).
    """
    check_labels_in_range(y, readout.V.shape[0])
    # no A_0, A_T or dA; made here with Memory itself, which the parallel loop's code must name
    unused = Memory(np.empty((1, 1, 1), drive.dtype), False)
    losses = np.empty(n, np.float64)
    for c in prange(n):
        matrix_forward_chunk(c, n, drive, weights, options, unused, unused, tape)
        losses[c] = readout_chunk(c, n, tape, readout, y, dpast, dreadout)
        matrix_backward_chunk(c, n, dpast, unused, unused, tape, weights, options, drive, grads)
    return losses.sum()


# --------------------------------------------------------------------------- attention form
@njit(cache=True, fastmath=FASTMATH)
def attention_forward_chunk(c, n, drive, weights, options, A0, tape):
    """Chunk c of n of :func:`attention_forward_kernel` (its arguments): the sequences
    ``chunk_rows(c, n, B)``, one time step at a time for all of them."""
    B, T, H = drive.shape
    b0, b1 = chunk_rows(c, n, B)
    a = np.empty(H, drive.dtype)
    w = np.empty(T, drive.dtype)
    h_prev = np.empty((b1 - b0, H), drive.dtype)
    z_chunk = np.empty((b1 - b0, H), drive.dtype)
    WT = weights.W.T
    for t in range(1, T + 1):
        gather_states(tape.past, b0, b1, t - 1, h_prev)
        np.dot(h_prev, WT, z_chunk)  # W h_{t-1} for the chunk
        attention_forward_step(t, b0, b1, z_chunk, drive, weights, options, A0, tape, a, w)


@njit(cache=True, parallel=True, fastmath=FASTMATH)
def attention_forward_kernel(n, drive, weights, options, A0, tape):
    """Forward over the batch in the attention form: the arguments of
    :func:`matrix_forward_kernel` but A_T (the caller makes it from the tape, if needed)."""
    for c in prange(n):
        attention_forward_chunk(c, n, drive, weights, options, A0, tape)


@njit(cache=True, fastmath=FASTMATH)
def attention_backward_chunk(c, n, dpast, A0, dA0, tape, weights, options, ddrive, grads):
    """Chunk c of n of :func:`attention_backward_kernel` (its arguments): the sequences
    ``chunk_rows(c, n, B)``, writing row c of every field of ``grads``."""
    B, T, H = ddrive.shape
    b0, b1 = chunk_rows(c, n, B)
    scratch = np.empty((5, H), ddrive.dtype)
    rs = np.empty((2, T), ddrive.dtype)
    dz_chunk = np.empty((b1 - b0, H), ddrive.dtype)
    dh_chunk = np.empty((b1 - b0, H), ddrive.dtype)
    ddecay = 0.0
    dfast_lr = 0.0
    for t in range(T, 0, -1):
        dd, df = attention_backward_step(
            t, b0, b1, dpast, tape, weights, options, A0, dA0, ddrive, dz_chunk, grads.dg[c], grads.dbeta[c], scratch,
            rs,
        )
        ddecay += dd
        dfast_lr += df
        np.dot(dz_chunk, weights.W, dh_chunk)  # (Wᵀ dz_t)ᵀ for the chunk
        add_states(dpast, b0, b1, t - 1, dh_chunk)
    store_chunk_gradients(c, b0, b1, ddrive, tape.past, ddecay, dfast_lr, grads)


@njit(cache=True, parallel=True, fastmath=FASTMATH)
def attention_backward_kernel(n, dpast, A0, dA0, tape, weights, options, ddrive, grads):
    """Backpropagation through time over the batch in the attention form: the arguments of
    :func:`matrix_backward_kernel`, with ``dA0`` (B, H, H) instead of ``dA``: when ``A0.used``
    dA_0 is added to it (the gradient on A_T reaches the caller's NumPy code, not this kernel),
    else a placeholder."""
    for c in prange(n):
        attention_backward_chunk(c, n, dpast, A0, dA0, tape, weights, options, ddrive, grads)


@njit(cache=True, parallel=True, fastmath=FASTMATH)
def attention_loss_and_grad_kernel(n, drive, weights, options, readout, y, tape, dpast, grads, dreadout):
    """:func:`matrix_loss_and_grad_kernel` in the attention form (the same arguments)."""
    check_labels_in_range(y, readout.V.shape[0])
    # no A_0, A_T or dA; made here with Memory itself, which the parallel loop's code must name
    unused = Memory(np.empty((1, 1, 1), drive.dtype), False)
    losses = np.empty(n, np.float64)
    for c in prange(n):
        attention_forward_chunk(c, n, drive, weights, options, unused, tape)
        losses[c] = readout_chunk(c, n, tape, readout, y, dpast, dreadout)
        attention_backward_chunk(c, n, dpast, unused, unused.A, tape, weights, options, drive, grads)
    return losses.sum()
