"""The readout and loss of ``loss_and_grad`` in one compiled pass: logits = V h_T + c, softmax
cross-entropy averaged over the batch, and their backward.

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
NumPy ops spend most of their time calling; here they cost one call: the products V h, Vᵀ dl
and dl hᵀ as three BLAS calls for the batch (until 777d948 they were loops per example, which
without ``fastmath`` do not vectorise the dot products; `bench_call_parts.py` "readout"
41 / 61 / 101 µs → 30 / 45 / 60 µs at H = 20 / 50 / 100), the softmax per example.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit


@njit(cache=True)
def readout_xent(h, V, c, y, dh, dV, dc):
    """Loss (float) of logits = V h + c against labels ``y``; writes dh, dV, dc.

    h (B, H), V (O, H), c (O,), y (B,) integers in [0, O); dh (B, H), dV (O, H), dc (O,).
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
    inv_B = 1.0 / B
    for b in range(B):
        if y[b] < 0 or y[b] >= O:
            raise ValueError("readout_xent: a label is outside [0, O)")
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
