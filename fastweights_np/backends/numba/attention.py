"""Attention form, compiled, for ONE example: forward and backpropagation through time.

The same math as ``cores/fast_weights/memory.py`` (attention read) and the attention step:
A_t is never formed; with the past states h_0..h_{t-1} and w_τ = η λ^{t-1-τ} (paper Eq. 4),

    A_t u = λ^t A_0 u + Σ_{τ=0}^{t-1} w_τ h_τ (h_τ · u),

the A_0 term only when a state is carried in. Memory per example is O(T H) (plus A_0 and its
gradient, H×H, when a state is carried in): no H×H array per time step, ever.

Per example arrays as in ``matrix.py``: ``past`` (T+1, H), ``inner``/``vhat`` (T, S+1, H),
``inv_sigma`` (T, S+1). ``power[k]`` = λ^k and ``dpower[k]`` = k λ^(k-1) for k = 0..T.
"""

from __future__ import annotations

from numba import njit

from fastweights_np.backends.numba.activation import (
    ETA,
    FASTMATH,
    ZERO,
    act_backward,
    act_forward,
    recurrent_drive,
    recurrent_drive_backward,
)


@njit(cache=True, fastmath=FASTMATH)
def attention_read(past, t, power, A0, with_A0, k, z, u, a, w):
    """a = z + A_t u from past[0..t-1] (Eq. 4), plus λ^t A_0 u when ``with_A0``.

    Two passes: every weight w_τ (h_τ · u) first, into ``w`` (at least t long), then the sum of
    the w_τ (h_τ · u) h_τ. The same operations in the same order as one pass that takes each
    dot product just before its term, but the t dot products no longer wait for each other's
    terms, which made that one pass latency-bound at H = 20–100.
    """
    H = u.shape[0]
    zero = k[ZERO]
    for tau in range(t):
        h = past[tau]
        score = zero
        for j in range(H):
            score += h[j] * u[j]
        w[tau] = k[ETA] * power[t - 1 - tau] * score
    a[:] = z
    for tau in range(t):
        h = past[tau]
        c = w[tau]
        for j in range(H):
            a[j] += c * h[j]
    if with_A0:
        c = power[t]
        for i in range(H):
            acc = zero
            for j in range(H):
                acc += A0[i, j] * u[j]
            a[i] += c * acc


@njit(cache=True, fastmath=FASTMATH)
def attention_read_backward(past, t, power, dpower, A0, with_A0, k, da, u, dpast, du, dA0, rs):
    """Backward of :func:`attention_read` for the upstream gradient ``da``.

    With r_τ = h_τ · da and s_τ = h_τ · u:  du = Σ_τ w_τ r_τ h_τ + λ^t A_0ᵀ da,
    dpast[τ] += w_τ (s_τ da + r_τ u),  dA_0 += λ^t da uᵀ.
    Returns (dλ, dη) of this read: (η Σ_τ (t-1-τ) λ^(t-2-τ) r_τ s_τ + t λ^(t-1) da·A_0 u,
    Σ_τ λ^(t-1-τ) r_τ s_τ). Two passes as in the forward: every r_τ, s_τ first (into ``rs``,
    (2, at least t)), then the terms.
    """
    H = u.shape[0]
    zero = k[ZERO]
    eta = k[ETA]
    for tau in range(t):
        h = past[tau]
        r = zero
        s = zero
        for j in range(H):
            r += h[j] * da[j]
            s += h[j] * u[j]
        rs[0, tau] = r
        rs[1, tau] = s
    du[:] = 0
    rs_power = zero
    rs_dpower = zero
    for tau in range(t):
        h = past[tau]
        r = rs[0, tau]
        s = rs[1, tau]
        w = eta * power[t - 1 - tau]
        wr = w * r
        ws = w * s
        dh = dpast[tau]
        for j in range(H):
            du[j] += wr * h[j]
            dh[j] += ws * da[j] + wr * u[j]
        rs_power += power[t - 1 - tau] * (r * s)
        rs_dpower += dpower[t - 1 - tau] * (r * s)
    ddecay = eta * rs_dpower
    if with_A0:
        c = power[t]
        da_A0u = zero
        for i in range(H):
            dai = da[i]
            cdai = c * dai
            acc = zero
            for j in range(H):
                du[j] += A0[i, j] * cdai
                acc += A0[i, j] * u[j]
                dA0[i, j] += cdai * u[j]
            da_A0u += dai * acc
        ddecay += dpower[t] * da_A0u
    return ddecay, rs_power


@njit(cache=True, fastmath=FASTMATH)
def attention_forward_example(
    drive, W, g, beta, k, power, A0, with_A0, inner_steps, layer_norm, ln_preliminary, past, vhat, inv_sigma, inner,
    z, a, w
):
    """Run one sequence from past[0] = h_0 (and A_0 when ``with_A0``); fills past[1:], inner, ...
    z, a (H,) and w (T,) are scratch."""
    T = drive.shape[0]
    for t in range(1, T + 1):
        recurrent_drive(W, past[t - 1], drive[t - 1], z)
        inv_sigma[t - 1, 0] = act_forward(z, g, beta, ln_preliminary, k, vhat[t - 1, 0], inner[t - 1, 0])
        for s in range(1, inner_steps + 1):
            attention_read(past, t, power, A0, with_A0, k, z, inner[t - 1, s - 1], a, w)
            inv_sigma[t - 1, s] = act_forward(a, g, beta, layer_norm, k, vhat[t - 1, s], inner[t - 1, s])
        past[t, :] = inner[t - 1, inner_steps]


@njit(cache=True, fastmath=FASTMATH)
def attention_backward_example(
    dpast,
    past,
    vhat,
    inv_sigma,
    inner,
    W,
    g,
    k,
    power,
    dpower,
    A0,
    with_A0,
    dA0,
    inner_steps,
    layer_norm,
    ln_preliminary,
    ddrive,
    dW,
    dg,
    dbeta,
    scratch,
    rs,
):
    """BPTT for one sequence of :func:`attention_forward_example`.

    On entry dpast[t] holds the gradient arriving on h_t from outside (t = 0..T); every read
    at step t adds to dpast[0..t-1], so dpast[t] is complete when step t is reached. On exit
    dpast[0] = dh_0, ddrive[t-1] = dz_t; dW, dg, dbeta and (with A_0) dA0 are added to.
    ``scratch`` is (3, H) and ``rs`` (2, T). Returns this sequence's (dλ, dη).
    """
    T = ddrive.shape[0]
    dcur, da, du = scratch[0], scratch[1], scratch[2]
    ddecay = 0.0
    dfast_lr = 0.0
    for t in range(T, 0, -1):
        dz = ddrive[t - 1]
        dz[:] = 0
        dcur[:] = dpast[t]
        for s in range(inner_steps, 0, -1):
            act_backward(dcur, inner[t - 1, s], vhat[t - 1, s], inv_sigma[t - 1, s], g, layer_norm, k, da, dg, dbeta)
            dz += da
            dd, df = attention_read_backward(
                past, t, power, dpower, A0, with_A0, k, da, inner[t - 1, s - 1], dpast, du, dA0, rs
            )
            ddecay += dd
            dfast_lr += df
            dcur[:] = du
        act_backward(dcur, inner[t - 1, 0], vhat[t - 1, 0], inv_sigma[t - 1, 0], g, ln_preliminary, k, da, dg, dbeta)
        dz += da
        recurrent_drive_backward(W, dz, past[t - 1], dpast[t - 1], dW)
    return ddecay, dfast_lr
