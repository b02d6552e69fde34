"""The readout and loss of ``loss_and_grad``, compiled: logits = V h_T + c, softmax
cross-entropy averaged over the batch, and their backward, for the rows of one chunk of the
batch (``kernels.readout_chunk`` runs it between a chunk's forward and backward, in the
``*_loss_and_grad_kernel`` of each form).

The same math as the reference's ops (:func:`fastweights_np.ops.affine_forward`,
:func:`fastweights_np.ops.softmax_xent_forward` and their backward; docs/math.md §2.1, §2.4),
with the same care for confident predictions: with k = argmax_j l_j and m = l_k,

    log p_j = (l_j − m) − log1p(Σ_{j≠k} exp(l_j − m)),
    L = −(1/B) Σ_b log p_{b, y_b},
    dl_j = (p_j − [j = y]) / B, with p_y − 1 taken as expm1(log p_y),
    dh_T = Vᵀ dl,  dV = Σ_b dl h_Tᵀ,  dc = Σ_b dl.

The bracket matters: l_j − m is exact, while m + log1p(·) rounds a tiny log1p against a large
m, as the reference never does (a 5e-9 loss from logits near 1e4:
tests/test_numba_backend.py::test_confident_prediction_with_large_logits_keeps_its_loss_digits).

At the paper's sizes (B = 128, O = 10) these are a few hundred thousand operations, which the
NumPy ops spend most of their time calling; here the products V h, Vᵀ dl and dl hᵀ are three
BLAS calls for a chunk's rows (loops per example, without ``fastmath``, do not vectorise the
dot products: docs/performance.md, "Products with W as BLAS calls per chunk"), the softmax per
example.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit


@njit(cache=True)
def check_labels_in_range(y, O):
    """Raise ValueError if a label is outside [0, O) (the loops below do no bounds checks)."""
    for b in range(y.shape[0]):
        if y[b] < 0 or y[b] >= O:
            raise ValueError("y: a label is outside [0, O), O = output_size (the rows of V)")


# fastmath=False stated, not left to the default: a function without the option that a
# fastmath kernel calls is compiled with the kernel's flags (numba/numba#7168), and
# reassociation undoes the bracket above (the pinned test failed at relative 5e-9 that way).
@njit(cache=True, fastmath=False)
def readout_rows(h, V, c, y, inv_B, dh, dV, dc):
    """The loss and its backward for the rows of a batch of B (``inv_B`` = 1/B): returns the
    rows' share of the batch-mean loss of logits = V h + c against labels ``y`` and writes their
    dh and their shares of dV, dc. h (rows, H), V (O, H), c (O,), y (rows,) integers in [0, O)
    (unchecked here: :func:`check_labels_in_range` runs before), dh (rows, H), dV (O, H), dc (O,).

    The three products with V and h are BLAS calls (SciPy's, as in the kernels); the softmax
    and its gradient run per example, in float64.
    """
    B, H = h.shape
    O = V.shape[0]
    Vh = np.dot(h, V.T)  # (B, O): V h_b for every example
    dl = np.empty((B, O), h.dtype)
    logits = np.empty(O, np.float64)
    dc[:] = 0
    total = 0.0
    for b in range(B):
        k = 0
        for o in range(O):
            logits[o] = Vh[b, o] + c[o]
            if logits[o] > logits[k]:
                k = o
        m = logits[k]
        others = 0.0
        for o in range(O):
            if o != k:
                others += math.exp(logits[o] - m)
        log_sum = math.log1p(others)  # log Σ_j exp(l_j − m); l_j − m is exact, m + log_sum is not
        total -= (logits[y[b]] - m) - log_sum
        for o in range(O):
            log_p = (logits[o] - m) - log_sum
            d = (math.expm1(log_p) if o == y[b] else math.exp(log_p)) * inv_B
            dl[b, o] = d
            dc[o] += d
    np.dot(dl, V, dh)  # dh_b = Vᵀ dl_b
    np.dot(dl.T, h, dV)  # dV = Σ_b dl_b h_bᵀ
    return total * inv_B
