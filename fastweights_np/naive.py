"""The fast-weights RNN straight from the equations: the model to read first.

For every example n of the batch and every step t (docs/model.md §1; the timings:
docs/variants.md §1), with h = h_{t-1} and A = A_{t-1} of that one example:

    A_t     = λ A + η h hᵀ                   (Eq. 1)
    z_t     = W h + C x_t + b                 (the sustained boundary condition)
    h^(0)   = f(z_t)                          (or f(LN(z_t)) with ln_preliminary)
    h^(s)   = f(LN(z_t + A_t h^(s-1)))        s = 1..S   (Eq. 5; without layer_norm: Eq. 2)
    h_t     = h^(S)

f is ReLU (tanh with ``activation="tanh"``), LN normalises the H units of this one example at
this one step. The "lagged" timing reads A_{t-1} instead of A_t; the "preliminary" timing
writes h^(0) instead of h_{t-1} and sustains W h^(0) + C x_t + b.

Written to be read and to serve as an independent oracle: one example at a time, one explicit
H×H matrix, a plain loop per example and per step, no batching, no caches and no backward
pass. It imports NumPy only and shares no code with the reference (``fastweights_np.cores``),
whose step and sequence functions the tests check against it. ``cfg`` is anything with the
fields of ``FastWeightsConfig`` used below; ``params`` a dict of NumPy arrays named as in
docs/model.md.
"""

import numpy as np


def naive_run(params, x, cfg, h0=None, A0=None):
    """The core's forward pass, example by example and step by step.

    Parameters
    ----------
    params : uses W (H, H), C (H, I), b (H,), g (H,), beta (H,)
    x : (B, T, I)
    cfg : uses hidden_size, inner_steps, decay (λ), fast_lr (η), layer_norm, ln_preliminary,
        ln_eps, activation, fast_weight_timing
    h0, A0 : (B, H) and (B, H, H), a carried-in state, or None for zeros

    Returns
    -------
    hs : (B, T, H), h_1 .. h_T
    inner : (B, T, S+1, H), h_t^(0) .. h_t^(S) of every step
    h_T : (B, H), A_T : (B, H, H), the state after the last step
    """
    W, C, b, g, beta = (params[k] for k in ("W", "C", "b", "g", "beta"))
    f = np.tanh if cfg.activation == "tanh" else (lambda v: np.maximum(v, 0.0))
    lam, eta = cfg.decay, cfg.fast_lr

    def ln(v):
        return g * (v - v.mean()) / np.sqrt(v.var() + cfg.ln_eps) + beta

    B, T, _ = x.shape
    H = cfg.hidden_size
    hs = np.zeros((B, T, H))
    inner = np.zeros((B, T, cfg.inner_steps + 1, H))
    h_T = np.zeros((B, H))
    A_T = np.zeros((B, H, H))
    for n in range(B):
        h = np.zeros(H) if h0 is None else h0[n].copy()
        A = np.zeros((H, H)) if A0 is None else A0[n].copy()
        for t in range(T):
            d = C @ x[n, t] + b
            z = W @ h + d
            p = f(ln(z)) if cfg.ln_preliminary else f(z)  # h_t^(0)
            if cfg.fast_weight_timing == "paper":
                A_new = lam * A + eta * np.outer(h, h)
                M, sustained = A_new, z
            elif cfg.fast_weight_timing == "lagged":
                A_new = lam * A + eta * np.outer(h, h)
                M, sustained = A, z
            else:  # preliminary
                A_new = lam * A + eta * np.outer(p, p)
                M, sustained = A_new, W @ p + d
            u = p
            inner[n, t, 0] = u
            for s in range(1, cfg.inner_steps + 1):
                a = sustained + M @ u
                u = f(ln(a)) if cfg.layer_norm else f(a)
                inner[n, t, s] = u
            h, A = u, A_new
            hs[n, t] = h
        h_T[n], A_T[n] = h, A
    return hs, inner, h_T, A_T


def naive_loss(params, x, y, cfg):
    """The canonical model's loss: logits = V h_T + c, L = −(1/B) Σ_n log softmax(logits_n)[y_n].

    params : as in :func:`naive_run`, plus V (O, H) and c (O,); y : (B,) integer labels.
    Returns (L, logits (B, O)).
    """
    _, _, h_T, _ = naive_run(params, x, cfg)
    logits = h_T @ params["V"].T + params["c"]
    losses = []
    for n in range(x.shape[0]):
        row = logits[n]
        log_p = row - row.max() - np.log(np.sum(np.exp(row - row.max())))
        losses.append(-log_p[y[n]])
    return float(np.mean(losses)), logits
