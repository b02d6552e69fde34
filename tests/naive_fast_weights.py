"""A deliberately naive forward of every fast_weight_timing, written straight from the equations
in docs/variants.md: one sequence at a time, one explicit H×H matrix, plain loops. Tests use it
as an independent check of the reference's step and sequence code (it is not a test file)."""

import numpy as np


def naive_run(params, x, cfg, h0=None, A0=None):
    """Returns (hs (B, T, H), inner (B, T, S+1, H), h_T (B, H), A_T (B, H, H))."""
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
