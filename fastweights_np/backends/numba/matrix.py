"""Matrix form, compiled, for ONE example: forward and backpropagation through time.

The same math as ``cores/fast_weights/step.py`` (matrix step) run over t = 1..T by
``kernels.py`` (the matrix-form kernels): an explicit H×H fast-weight matrix A_t per sequence,

    A_t = λ A_{t-1} + η h_{t-1} h_{t-1}ᵀ                  (Eq. 1)
    z_t = W h_{t-1} + d_t
    h^(0) = f(z_t) (or f(LN(z_t))),  h^(s) = f(LN(z_t + A_t h^(s-1))),  h_t = h^(S)

One example's tape (``arguments.Tape`` without the batch axis, ``kernels.example_tape``):

- ``past`` (T+1, H): past[0] = h_0, past[t] = h_t
- ``inner`` (T, S+1, H): inner[t-1, s] = h_t^(s);  ``vhat`` (T, S+1, H) and
  ``inv_sigma`` (T, S+1): layer-norm v̂ and 1/σ of every activation (unused without LN)

The forward keeps one running A; the backward rebuilds A_0..A_T into ``A_hist``
(T+1, H, H), a per-thread buffer, because ⟨dA_t, A_{t-1}⟩ and A_tᵀ da need them. Each H×H
pass is fused: the update with the first read in the forward, and in the backward the
first read's backward with the whole of Eq. 1's backward.
"""

from __future__ import annotations

from fastweights_np.backends.numba.activation import (
    ETA,
    LAM,
    ZERO,
    act_backward,
    act_forward,
    add_into,
    copy_into,
    nrt_free,
    recurrent_drive,
    transposed_product_add,
)


@nrt_free
def fast_update(A_out, A_in, h_prev, scalars):
    """A_out = λ A_in + η h_{t-1} h_{t-1}ᵀ (Eq. 1); A_out may be A_in."""
    H = h_prev.shape[0]
    lam = scalars[LAM]
    for i in range(H):
        c = scalars[ETA] * h_prev[i]
        for j in range(H):
            A_out[i, j] = lam * A_in[i, j] + c * h_prev[j]


@nrt_free
def fast_update_read(A, h_prev, scalars, z, u, a):
    """In place A ← λ A + η h_{t-1} h_{t-1}ᵀ, and a = z + A u with the new A (one pass)."""
    H = h_prev.shape[0]
    lam = scalars[LAM]
    for i in range(H):
        c = scalars[ETA] * h_prev[i]
        acc = scalars[ZERO]
        for j in range(H):
            v = lam * A[i, j] + c * h_prev[j]
            A[i, j] = v
            acc += v * u[j]
        a[i] = z[i] + acc


@nrt_free
def read(A, scalars, z, u, a):
    """a = z + A u."""
    H = u.shape[0]
    for i in range(H):
        acc = scalars[ZERO]
        for j in range(H):
            acc += A[i, j] * u[j]
        a[i] = z[i] + acc


@nrt_free
def read_backward(A, da, u, dA, du):
    """Backward of y = A u: du = Aᵀ da, dA += da uᵀ."""
    H = u.shape[0]
    du[:] = 0
    for i in range(H):
        dai = da[i]
        for j in range(H):
            du[j] += A[i, j] * dai
            dA[i, j] += dai * u[j]


@nrt_free
def read_update_backward(dA, A, A_prev, h_prev, da, u, with_read, scalars, du, gh, gth):
    """The first read's backward fused with Eq. 1's backward, in one pass over H×H.

    With G = dA + da uᵀ (the gradient on A_t once the read of iteration s = 1 is added;
    G = dA when ``with_read`` is False, S = 0):
    du = A_tᵀ da,  gh = G h_{t-1},  gth = Gᵀ h_{t-1},  and dA ← λ G (the gradient on A_{t-1}).

    Returns (⟨G, A_{t-1}⟩, h_{t-1}ᵀ G h_{t-1}): this step's share of dλ and dη.
    """
    H = h_prev.shape[0]
    lam = scalars[LAM]
    zero = scalars[ZERO]
    du[:] = 0
    gth[:] = 0
    ddecay = zero
    for i in range(H):
        dai = da[i] if with_read else zero
        hpi = h_prev[i]
        acc = zero
        for j in range(H):
            gij = dA[i, j] + dai * u[j]
            du[j] += A[i, j] * dai
            acc += gij * h_prev[j]
            gth[j] += gij * hpi
            ddecay += gij * A_prev[i, j]
            dA[i, j] = lam * gij
        gh[i] = acc
    dfast_lr = zero
    for i in range(H):
        dfast_lr += h_prev[i] * gh[i]
    return ddecay, dfast_lr


@nrt_free
def matrix_forward_example(drive, weights, options, A, tape, z, a):
    """Run one sequence from (tape.past[0], A) = (h_0, A_0); fills the rest of ``tape``, one
    example's (``kernels.example_tape``).

    drive (T, H) is d_t = C x_t + b; A (H, H) holds A_0 on entry and A_T on exit; z, a (H,) are
    scratch. ``weights``, ``options``: ``arguments.Weights``, ``arguments.Options``.
    """
    T = drive.shape[0]
    W, g, beta = weights
    scalars, S = options.scalars, options.inner_steps
    past, vhat, inv_sigma, inner = tape
    for t in range(1, T + 1):
        h_prev = past[t - 1]
        recurrent_drive(W, h_prev, drive[t - 1], z)
        inv_sigma[t - 1, 0] = act_forward(
            z, g, beta, options.ln_preliminary, scalars, vhat[t - 1, 0], inner[t - 1, 0]
        )
        if S == 0:
            fast_update(A, A, h_prev, scalars)
        for s in range(1, S + 1):
            if s == 1:
                fast_update_read(A, h_prev, scalars, z, inner[t - 1, 0], a)
            else:
                read(A, scalars, z, inner[t - 1, s - 1], a)
            inv_sigma[t - 1, s] = act_forward(a, g, beta, options.layer_norm, scalars, vhat[t - 1, s], inner[t - 1, s])
        copy_into(past[t], inner[t - 1, S])


@nrt_free
def matrix_backward_example(dpast, dA, A_hist, tape, weights, options, ddrive, dg, dbeta, scratch):
    """BPTT for one sequence of :func:`matrix_forward_example` (``tape`` as there).

    On entry dpast[t] (t = 1..T) holds the gradient arriving on h_t from outside (dhs, and
    dh_T from the final state), dA the gradient on A_T (zero without one), A_hist[0] = A_0.
    On exit dpast[0] = dh_0, dA = dA_0, ddrive[t-1] = dz_t; dg, dbeta are added to (dW is
    left to the caller: Σ_t dz_t h_{t-1}ᵀ, from ddrive and past).
    ``scratch`` is (5, H). Returns this sequence's (dλ, dη).
    """
    T = ddrive.shape[0]
    W, g = weights.W, weights.g
    scalars, S = options.scalars, options.inner_steps
    layer_norm, ln_preliminary = options.layer_norm, options.ln_preliminary
    past, vhat, inv_sigma, inner = tape
    dcur, da, du, gh, gth = scratch[0], scratch[1], scratch[2], scratch[3], scratch[4]
    for t in range(1, T + 1):
        fast_update(A_hist[t], A_hist[t - 1], past[t - 1], scalars)
    ddecay = 0.0
    dfast_lr = 0.0
    for t in range(T, 0, -1):
        dz = ddrive[t - 1]
        dz[:] = 0
        copy_into(dcur, dpast[t])
        for s in range(S, 0, -1):
            act_backward(
                dcur, inner[t - 1, s], vhat[t - 1, s], inv_sigma[t - 1, s], g, layer_norm, scalars, da, dg, dbeta
            )
            add_into(dz, da)
            if s > 1:
                read_backward(A_hist[t], da, inner[t - 1, s - 1], dA, dcur)
        dd, df = read_update_backward(
            dA, A_hist[t], A_hist[t - 1], past[t - 1], da, inner[t - 1, 0], S > 0, scalars, du, gh, gth
        )
        ddecay += dd
        dfast_lr += df
        if S > 0:
            copy_into(dcur, du)
        act_backward(
            dcur, inner[t - 1, 0], vhat[t - 1, 0], inv_sigma[t - 1, 0], g, ln_preliminary, scalars, da, dg, dbeta
        )
        add_into(dz, da)
        dh_prev = dpast[t - 1]
        eta = scalars[ETA]
        for j in range(dh_prev.shape[0]):
            dh_prev[j] += eta * (gh[j] + gth[j])
        transposed_product_add(W, dz, dh_prev)
    return ddecay, dfast_lr
