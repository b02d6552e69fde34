"""Compiled LN(v), f(LN(v)) and their backward for ONE example's vector, and the W h products.

The same math as :func:`fastweights_np.ops.layernorm_forward` and
:func:`fastweights_np.ops.activation_forward` (LN over the units of
one example at one step, then ReLU), written as loops so that the kernels can call them per
example without allocating.

Scalars reach every kernel in one small array ``scalars`` of the computation's dtype (indices
below), so that float32 kernels never mix in float64 literals.
"""

from __future__ import annotations

import numpy as np
from numba import njit

LAM, ETA, EPS, ZERO, ONE, INV_H = range(6)
N_SCALARS = 6

# Reassociation lets LLVM vectorise the dot products and sums; no flag that assumes away
# NaN or infinity and none that approximates division or square roots.
FASTMATH = {"reassoc", "contract", "nsz"}

# The per-example functions (here, in ``attention.py`` and ``matrix.py``) allocate nothing and
# are compiled without Numba's runtime (the private flag ``_nrt=False``, Numba 0.68): with it,
# every view they take (past[t], inner[t-1, s], ...) atomically increments and decrements its
# array's reference count, a sizeable share of a training step at small H, and threads wait on
# each other's counts (docs/performance.md, "Products with W as BLAS calls per chunk", item 3).
# Numba refuses to compile an allocation in them.
nrt_free = njit(cache=True, fastmath=FASTMATH, _nrt=False)


def scalar_array(decay: float, fast_lr: float, eps: float, hidden: int, dtype: np.dtype) -> np.ndarray:
    """The array ``scalars`` every kernel takes: λ, η, ε, 0, 1 and 1/H in ``dtype``."""
    return np.array([decay, fast_lr, eps, 0.0, 1.0, 1.0 / hidden], dtype=dtype)


@nrt_free
def copy_into(dst, src):
    """dst[:] = src for vectors of one length, as a loop (a slice assignment may copy through
    a new array, which functions compiled without Numba's runtime cannot allocate)."""
    for i in range(dst.shape[0]):
        dst[i] = src[i]


@nrt_free
def add_into(dst, src):
    """dst += src for vectors of one length, as a loop."""
    for i in range(dst.shape[0]):
        dst[i] += src[i]


@nrt_free
def ln_forward(v, g, beta, scalars, vhat, out):
    """out = LN(v) = g ⊙ v̂ + β with v̂ = (v − μ)/σ, σ = sqrt(var(v) + ε), over the n entries
    of v (scalars[INV_H] must be 1/n); v, g, beta, vhat, out are (n,). Writes v̂ into ``vhat`` and
    returns 1/σ. ``out`` may be ``v`` itself."""
    n = v.shape[0]
    mu = scalars[ZERO]
    for i in range(n):
        mu += v[i]
    mu *= scalars[INV_H]
    var = scalars[ZERO]
    for i in range(n):
        c = v[i] - mu
        var += c * c
    var *= scalars[INV_H]
    inv_sigma = scalars[ONE] / np.sqrt(var + scalars[EPS])
    for i in range(n):
        vh = (v[i] - mu) * inv_sigma
        vhat[i] = vh
        out[i] = g[i] * vh + beta[i]
    return inv_sigma


@nrt_free
def ln_backward(dout, vhat, inv_sigma, g, scalars, dv, dg, dbeta):
    """Backward of :func:`ln_forward`: writes dv (may be ``dout`` itself), adds to dg, dbeta.

    With d̂ = dout ⊙ g: dv = (1/σ)(d̂ − mean(d̂) − v̂ ⊙ mean(d̂ ⊙ v̂)),  dg += dout ⊙ v̂,  dβ += dout.
    """
    n = dout.shape[0]
    m1 = scalars[ZERO]
    m2 = scalars[ZERO]
    for i in range(n):
        d = dout[i]
        dg[i] += d * vhat[i]
        dbeta[i] += d
        dh = d * g[i]
        dv[i] = dh
        m1 += dh
        m2 += dh * vhat[i]
    m1 *= scalars[INV_H]
    m2 *= scalars[INV_H]
    for i in range(n):
        dv[i] = inv_sigma * (dv[i] - m1 - vhat[i] * m2)


@nrt_free
def act_forward(v, g, beta, use_ln, scalars, vhat, out):
    """out = f(LN(v)) if use_ln else f(v), with f = ReLU; v, g, beta, vhat, out are (H,).

    LN as in :func:`ln_forward` (writes v̂ into ``vhat``). Returns 1/σ (1 without LN).
    """
    H = v.shape[0]
    zero = scalars[ZERO]
    if not use_ln:
        for i in range(H):
            out[i] = v[i] if v[i] > zero else zero
        return scalars[ONE]
    inv_sigma = ln_forward(v, g, beta, scalars, vhat, out)
    for i in range(H):
        out[i] = out[i] if out[i] > zero else zero
    return inv_sigma


@nrt_free
def act_backward(dout, out, vhat, inv_sigma, g, use_ln, scalars, dv, dg, dbeta):
    """Backward of :func:`act_forward`: writes dv (may be ``dout`` itself), adds to dg, dbeta.

    The ReLU mask is out > 0 (the same as LN(v) > 0): d = dout ⊙ mask, then LN's backward.
    """
    H = dout.shape[0]
    zero = scalars[ZERO]
    for i in range(H):
        dv[i] = dout[i] if out[i] > zero else zero
    if use_ln:
        ln_backward(dv, vhat, inv_sigma, g, scalars, dv, dg, dbeta)


@nrt_free
def recurrent_drive(W, h_prev, drive, z):
    """z = W h_{t-1} + d_t for one example; W (R, H), h_prev (H,), drive, z (R,).

    Four rows at a time, so that each h_{t-1}[j] loaded serves four dot products.
    """
    R = z.shape[0]
    H = h_prev.shape[0]
    i = 0
    while i + 4 <= R:
        a0, a1, a2, a3 = drive[i], drive[i + 1], drive[i + 2], drive[i + 3]
        for j in range(H):
            hj = h_prev[j]
            a0 += W[i, j] * hj
            a1 += W[i + 1, j] * hj
            a2 += W[i + 2, j] * hj
            a3 += W[i + 3, j] * hj
        z[i], z[i + 1], z[i + 2], z[i + 3] = a0, a1, a2, a3
        i += 4
    for r in range(i, R):
        acc = drive[r]
        for j in range(H):
            acc += W[r, j] * h_prev[j]
        z[r] = acc


@nrt_free
def transposed_product_add(W, dz, dh_prev):
    """dh_{t-1} += Wᵀ dz for one example (the backward of :func:`recurrent_drive` to h_{t-1});
    W (R, H), dz (R,), dh_prev (H,). Four rows at a time, so that each dh_prev[j] is loaded and
    stored once per four rows."""
    R = dz.shape[0]
    H = dh_prev.shape[0]
    i = 0
    while i + 4 <= R:
        d0, d1, d2, d3 = dz[i], dz[i + 1], dz[i + 2], dz[i + 3]
        for j in range(H):
            dh_prev[j] += W[i, j] * d0 + W[i + 1, j] * d1 + W[i + 2, j] * d2 + W[i + 3, j] * d3
        i += 4
    for r in range(i, R):
        dr = dz[r]
        for j in range(H):
            dh_prev[j] += W[r, j] * dr
