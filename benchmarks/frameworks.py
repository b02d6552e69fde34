"""The canonical model (fastweights_np.models.canonical) written in PyTorch and in JAX, for timing only.

Both follow the reference step for step: A_t = λ A_{t-1} + η h_{t-1} h_{t-1}ᵀ (matrix form)
or the attention read over the stored past (Eq. 4); z_t = W h_{t-1} + C x_t + b with the
one-hot input as a row gather (an embedding lookup, as a user of these frameworks would
write it); S inner iterations of ReLU(LN(z + A h)); logits = V h_T + c; mean cross-entropy.
A step returns the loss and the gradients of W, C, b, g, beta, V, c, λ and η.

Each ``make_*`` returns None when its framework is not installed, so the benchmark runs
without them. ``check_*`` compares a framework's loss with the reference's.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

Step = Callable[[], object]


def _torch():
    try:
        import torch
    except ImportError:
        return None
    return torch


def _jax():
    try:
        import jax
    except ImportError:
        return None
    return jax


def make_torch_step(params, idx, y, cfg, compiled: bool) -> Step | None:
    """A zero-argument function running one PyTorch training step (eager or torch.compile)."""
    torch = _torch()
    if torch is None:
        return None
    dtype = getattr(torch, cfg.dtype)
    p = {k: torch.tensor(v, dtype=dtype, requires_grad=True) for k, v in params.items()}
    lam = torch.tensor(cfg.decay, dtype=dtype, requires_grad=True)
    eta = torch.tensor(cfg.fast_lr, dtype=dtype, requires_grad=True)
    idx_t = torch.tensor(idx, dtype=torch.long)
    y_t = torch.tensor(y, dtype=torch.long)
    H, S, eps = cfg.hidden_size, cfg.inner_steps, cfg.ln_eps
    F = torch.nn.functional

    def loss_fn(W, C, b, g, beta, V, c, lam, eta):
        B, T = idx_t.shape
        drive = C.T[idx_t] + b  # (B, T, H): one-hot C x_t as a gather
        h = torch.zeros(B, H, dtype=dtype)
        A = torch.zeros(B, H, H, dtype=dtype)
        past = [h]
        for t in range(T):
            z = h @ W.T + drive[:, t]
            u = F.layer_norm(z, (H,), g, beta, eps).relu() if cfg.ln_preliminary else z.relu()
            if cfg.form == "matrix":
                A = lam * A + eta * (h[:, :, None] * h[:, None, :])
            else:
                P = torch.stack(past, 1)  # (B, t, H): h_0 .. h_{t-1}
                w = eta * lam ** torch.arange(t, -1, -1, dtype=dtype)
            for _ in range(S):
                if cfg.form == "matrix":
                    Au = torch.bmm(A, u[:, :, None])[:, :, 0]
                else:
                    Au = torch.einsum("bt,bth->bh", w * torch.einsum("bth,bh->bt", P, u), P)
                a = z + Au
                u = (F.layer_norm(a, (H,), g, beta, eps) if cfg.layer_norm else a).relu()
            h = u
            past.append(h)
        logits = h @ V.T + c
        return F.cross_entropy(logits, y_t)

    if compiled:
        loss_fn = torch.compile(loss_fn)
    leaves = [p[k] for k in ("W", "C", "b", "g", "beta", "V", "c")] + [lam, eta]

    def step():
        for leaf in leaves:
            leaf.grad = None
        loss = loss_fn(*leaves)
        loss.backward()
        return loss.item()

    return step


def make_jax_step(params, idx, y, cfg) -> Step | None:
    """A zero-argument function running one jax.jit-compiled training step."""
    jax = _jax()
    if jax is None:
        return None
    jax.config.update("jax_enable_x64", True)
    jnp = jax.numpy
    dtype = jnp.dtype(cfg.dtype)
    H, S, eps = cfg.hidden_size, cfg.inner_steps, cfg.ln_eps

    def ln(v, g, beta):
        mu = v.mean(-1, keepdims=True)
        var = ((v - mu) ** 2).mean(-1, keepdims=True)
        return g * (v - mu) / jnp.sqrt(var + eps) + beta

    def loss_fn(p, lam, eta, idx, y):
        B, T = idx.shape
        drive = p["C"].T[idx] + p["b"]
        h = jnp.zeros((B, H), dtype)
        A = jnp.zeros((B, H, H), dtype)
        past = [h]
        for t in range(T):
            z = h @ p["W"].T + drive[:, t]
            u = jax.nn.relu(ln(z, p["g"], p["beta"]) if cfg.ln_preliminary else z)
            if cfg.form == "matrix":
                A = lam * A + eta * (h[:, :, None] * h[:, None, :])
            else:
                P = jnp.stack(past, 1)
                w = eta * lam ** jnp.arange(t, -1, -1, dtype=dtype)
            for _ in range(S):
                if cfg.form == "matrix":
                    Au = jnp.einsum("bij,bj->bi", A, u)
                else:
                    Au = jnp.einsum("bt,bth->bh", w * jnp.einsum("bth,bh->bt", P, u), P)
                a = z + Au
                u = jax.nn.relu(ln(a, p["g"], p["beta"]) if cfg.layer_norm else a)
            h = u
            past.append(h)
        logits = h @ p["V"].T + p["c"]
        logp = jax.nn.log_softmax(logits)
        return -jnp.take_along_axis(logp, y[:, None], 1).mean()

    grad_fn = jax.jit(jax.value_and_grad(loss_fn, argnums=(0, 1, 2)))
    p = {k: jnp.asarray(v, dtype) for k, v in params.items()}
    lam, eta = jnp.asarray(cfg.decay, dtype), jnp.asarray(cfg.fast_lr, dtype)
    idx_j, y_j = jnp.asarray(idx), jnp.asarray(y)

    def step():
        loss, grads = grad_fn(p, lam, eta, idx_j, y_j)
        jax.block_until_ready(grads)
        return float(loss)

    return step


def framework_steps(params, idx, y, cfg, with_compile: bool) -> dict[str, Step]:
    """The installed frameworks' steps by name ("torch eager", "torch.compile", "jax.jit")."""
    steps = {
        "torch eager": make_torch_step(params, idx, y, cfg, compiled=False),
        "torch.compile": make_torch_step(params, idx, y, cfg, compiled=True) if with_compile else None,
        "jax.jit": make_jax_step(params, idx, y, cfg),
    }
    return {name: step for name, step in steps.items() if step is not None}


def one_hot(idx: np.ndarray, size: int, dtype: str) -> np.ndarray:
    """(B, T) integer symbols → (B, T, size) one-hot vectors."""
    return np.eye(size, dtype=dtype)[idx]
