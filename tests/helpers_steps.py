"""Compositions of the reference's step pieces that only the tests use (it is not a test file).

- :func:`inner_loop_forward` / :func:`inner_loop_backward`: the preliminary vector and the
  iterations of Eq. 5 on ONE boundary condition z, i.e. a step of the "paper" or "lagged"
  timing with the boundary affine left out. The step functions call the two pieces themselves
  (``step.boundary_forward`` computes h^(0), ``inner_loop.iterations_forward`` the
  iterations), because the "preliminary" timing writes h^(0) into the memory between them.
- :func:`attention_step_forward` / :func:`attention_step_backward`: an attention-form step
  whose keys are the past hidden states, h_0 .. h_{t-1} (the "paper" and "lagged" timings),
  over ``step.attention_keys_step_forward``, which the sequence calls.
"""

from fastweights_np.array_namespace import namespace
from fastweights_np.cores.fast_weights.inner_loop import (
    iterations_backward,
    iterations_forward,
    preliminary_backward,
    preliminary_forward,
)
from fastweights_np.cores.fast_weights.step import attention_keys_step_backward, attention_keys_step_forward


def inner_loop_forward(z, read, g, beta, cfg):
    """h_t = h^(S) from h^(0) = f(z) (or f(LN(z))) and h^(s) = f(LN(z + A_t h^(s-1))) (Eq. 5).

    z : (B, H); read : u ↦ (A_t u, cache); g, beta : (H,). Returns (h, cache).
    """
    h0, first = preliminary_forward(z, g, beta, cfg)
    h, loop_cache = iterations_forward(z, h0, read, g, beta, cfg)
    return h, (first, loop_cache)


def inner_loop_backward(dh, cache, read_backward):
    """Backward of :func:`inner_loop_forward`: (dz, dg, dbeta, memory_grads), memory_grads as in
    ``inner_loop.iterations_backward``."""
    first, loop_cache = cache
    dz, dh0, dg, dbeta, memory_grads = iterations_backward(dh, loop_cache, read_backward)
    dz0, dg_0, dbeta_0 = preliminary_backward(dh0, first)
    if dg_0 is not None:
        dg = dg + dg_0
        dbeta = dbeta + dbeta_0
    return dz + dz0, dg, dbeta, memory_grads


def attention_step_forward(past, drive, params, decay, fast_lr, A0, cfg):
    """One attention-form step with h_{t-1} = past[:, -1] and keys_prev = past[:, :-1].

    past : (B, t, H), h_0 .. h_{t-1}; the rest as in ``step.attention_keys_step_forward``.
    Returns (h_t (B, H), cache).
    """
    if cfg.fast_weight_timing == "preliminary":
        raise ValueError(
            "attention_step_forward reads the past hidden states as keys, but the 'preliminary' timing "
            "writes h_t^(0); use attention_keys_step_forward"
        )
    (h, _), cache = attention_keys_step_forward(
        past[:, -1, :], past[:, :-1, :], drive, params, decay, fast_lr, A0, cfg
    )
    return h, cache


def attention_step_backward(dh, cache):
    """Backward of :func:`attention_step_forward`: (dpast (B, t, H), ddrive (B, H), grads, dA0)."""
    dh_prev, dkeys_prev, ddrive, grads, dA0 = attention_keys_step_backward((dh, None), cache)
    xp = namespace(dh)
    return xp.concat([dkeys_prev, dh_prev[:, None, :]], axis=1), ddrive, grads, dA0
