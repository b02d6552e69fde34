"""Attention form, compiled: one time step of the forward and of backpropagation through time
for the examples b0..b1-1 of a chunk (``kernels.py`` runs the time loop and the products with W).

The same math as ``cores/fast_weights/memory.py`` (attention read) and the attention step:
A_t is never formed; with the past states h_0..h_{t-1} and w_τ = η λ^{t-1-τ} (paper Eq. 4),

    A_t u = λ^t A_0 u + Σ_{τ=0}^{t-1} w_τ h_τ (h_τ · u),

the A_0 term only when a state is carried in. Memory per example is O(T H) (plus A_0 and its
gradient, H×H, when a state is carried in): no H×H array per time step, ever.

The steps take the batch's ``arguments.Tape`` (``past`` (B, T+1, H), ``inner``/``vhat``
(B, T, S+1, H), ``inv_sigma`` (B, T, S+1)); :func:`attention_read` and its backward take one
example's ``past`` (T+1, H). ``options.power[j]`` = λ^j and ``options.dpower[j]`` = j λ^(j-1)
for j = 0..T (``arguments.Options``).
"""

from __future__ import annotations

from fastweights_np.backends.numba.activation import (
    ETA,
    ZERO,
    act_backward,
    act_forward,
    add_into,
    copy_into,
    nrt_free,
)


@nrt_free
def attention_read(past, t, options, A0, with_A0, z, u, a, w):
    """a = z + A_t u from past[0..t-1] (Eq. 4), plus λ^t A_0 u when ``with_A0``.

    Two passes: every weight w_τ (h_τ · u) first, into ``w`` (at least t long), then the sum of
    the w_τ (h_τ · u) h_τ. The same operations in the same order as one pass that takes each
    dot product just before its term, but the t dot products no longer wait for each other's
    terms, which made that one pass latency-bound at H = 20–100.
    """
    H = u.shape[0]
    scalars, power = options.scalars, options.power
    zero = scalars[ZERO]
    for tau in range(t):
        h = past[tau]
        score = zero
        for j in range(H):
            score += h[j] * u[j]
        w[tau] = scalars[ETA] * power[t - 1 - tau] * score
    copy_into(a, z)
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


@nrt_free
def attention_read_backward(past, t, options, A0, with_A0, da, u, dpast, du, dA0, rs):
    """Backward of :func:`attention_read` for the upstream gradient ``da``.

    With r_τ = h_τ · da and s_τ = h_τ · u:  du = Σ_τ w_τ r_τ h_τ + λ^t A_0ᵀ da,
    dpast[τ] += w_τ (s_τ da + r_τ u),  dA_0 += λ^t da uᵀ.
    Returns (dλ, dη) of this read: (η Σ_τ (t-1-τ) λ^(t-2-τ) r_τ s_τ + t λ^(t-1) da·A_0 u,
    Σ_τ λ^(t-1-τ) r_τ s_τ). Two passes as in the forward: every r_τ, s_τ first (into ``rs``,
    (2, at least t)), then the terms.
    """
    H = u.shape[0]
    scalars, power, dpower = options.scalars, options.power, options.dpower
    zero = scalars[ZERO]
    eta = scalars[ETA]
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


@nrt_free
def attention_forward_step(t, b0, b1, z, drive, weights, options, A0, tape, a, w):
    """Step t of sequences b0..b1-1, given W h_{t-1} in z[b - b0] (overwritten):
    z_t = W h_{t-1} + d_t, h^(0) = f(LN(z_t)), h^(s) = f(LN(z_t + A_t h^(s-1))) with the read
    of :func:`attention_read` (A_0 from ``A0``, an ``arguments.Memory``, when used); fills
    tape.inner[b, t-1], tape.vhat[b, t-1], tape.inv_sigma[b, t-1] and tape.past[b, t] = h^(S).
    a (H,) and w (at least t long) are scratch."""
    g, beta = weights.g, weights.beta
    scalars, S = options.scalars, options.inner_steps
    for b in range(b0, b1):
        z_b = z[b - b0]
        add_into(z_b, drive[b, t - 1])
        A0_b = A0.A[b] if A0.used else A0.A[0]
        past_b, vhat_b, inv_sigma_b, inner_b = tape.past[b], tape.vhat[b], tape.inv_sigma[b], tape.inner[b]
        inv_sigma_b[t - 1, 0] = act_forward(
            z_b, g, beta, options.ln_preliminary, scalars, vhat_b[t - 1, 0], inner_b[t - 1, 0]
        )
        for s in range(1, S + 1):
            attention_read(past_b, t, options, A0_b, A0.used, z_b, inner_b[t - 1, s - 1], a, w)
            inv_sigma_b[t - 1, s] = act_forward(
                a, g, beta, options.layer_norm, scalars, vhat_b[t - 1, s], inner_b[t - 1, s]
            )
        copy_into(past_b[t], inner_b[t - 1, S])


@nrt_free
def attention_backward_step(t, b0, b1, dpast, tape, weights, options, A0, dA0, ddrive, dz, dg, dbeta, scratch, rs):
    """Backward of :func:`attention_forward_step` at step t for sequences b0..b1-1, down to
    dz_t (the gradient on z_t = W h_{t-1} + d_t), written into ddrive[b, t-1] and dz[b - b0];
    the product's own backward (dh_{t-1} += Wᵀ dz_t, dW += dz_t h_{t-1}ᵀ) is left to the caller.

    dpast[b, t] must hold the whole gradient on h_t: from outside, from the reads of later
    steps (each read at step t adds to dpast[b, 0..t-1]) and from z_{t+1}. Adds to
    dpast[b, 0..t-1], dg, dbeta and (when ``A0.used``) dA0[b] (B, H, H; a placeholder
    otherwise). ``scratch`` is (3, H) and ``rs`` (2, at least t). Returns the steps' (dλ, dη).
    """
    g = weights.g
    scalars, S = options.scalars, options.inner_steps
    dcur, da, du = scratch[0], scratch[1], scratch[2]
    ddecay = 0.0
    dfast_lr = 0.0
    for b in range(b0, b1):
        dz_b = ddrive[b, t - 1]
        dpast_b, past_b = dpast[b], tape.past[b]
        vhat_b, inv_sigma_b, inner_b = tape.vhat[b], tape.inv_sigma[b], tape.inner[b]
        A0_b = A0.A[b] if A0.used else A0.A[0]
        dA0_b = dA0[b] if A0.used else dA0[0]
        dz_b[:] = 0
        copy_into(dcur, dpast_b[t])
        for s in range(S, 0, -1):
            act_backward(
                dcur, inner_b[t - 1, s], vhat_b[t - 1, s], inv_sigma_b[t - 1, s], g, options.layer_norm, scalars, da,
                dg, dbeta,
            )
            add_into(dz_b, da)
            dd, df = attention_read_backward(
                past_b, t, options, A0_b, A0.used, da, inner_b[t - 1, s - 1], dpast_b, du, dA0_b, rs
            )
            ddecay += dd
            dfast_lr += df
            copy_into(dcur, du)
        act_backward(
            dcur, inner_b[t - 1, 0], vhat_b[t - 1, 0], inv_sigma_b[t - 1, 0], g, options.ln_preliminary, scalars, da,
            dg, dbeta,
        )
        add_into(dz_b, da)
        copy_into(dz[b - b0], dz_b)
    return ddecay, dfast_lr
