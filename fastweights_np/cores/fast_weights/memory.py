"""The fast-weight memory A_t: its update (paper Eq. 1) and the product A_t u in two forms.

Matrix form: A_t is held as a (B, H, H) array per step.
Attention form (paper Eq. 4): A_t is never formed; with the past hidden states
P = [h_0, ..., h_{t-1}] of shape (B, t, H),

    A_t u = λ^t A_0 u + η Σ_{τ=0}^{t-1} λ^{t-1-τ} h_τ (h_τ · u),

where A_0 is the initial memory (absent, i.e. zero, unless a state is carried in).
Derivations of every backward here: ``docs/math.md`` §3.
"""

from __future__ import annotations

import numpy as np


def _powers(decay: float, exponents: np.ndarray, dtype: np.dtype) -> tuple[np.ndarray, np.ndarray]:
    """λ^k and d(λ^k)/dλ = k λ^(k-1) for integer k >= 0 (with 0·λ^(-1) read as 0 at λ = 0)."""
    k = exponents.astype(dtype)
    power = np.power(dtype.type(decay), k)
    dpower = k * np.power(dtype.type(decay), np.maximum(k - 1, 0))
    return power, dpower


# ----------------------------------------------------------------------------------- Eq. 1
def fast_update_forward(
    A_prev: np.ndarray, h_prev: np.ndarray, decay: float, fast_lr: float
) -> tuple[np.ndarray, tuple]:
    """A_t = λ A_{t-1} + η h_{t-1} h_{t-1}ᵀ  (paper Eq. 1), one matrix per sequence.

    Parameters
    ----------
    A_prev : (B, H, H)
    h_prev : (B, H)
    decay, fast_lr : λ and η

    Returns
    -------
    A : (B, H, H)
    cache : (A_prev, h_prev, decay, fast_lr)
    """
    A = decay * A_prev + fast_lr * (h_prev[:, :, None] * h_prev[:, None, :])
    return A, (A_prev, h_prev, decay, fast_lr)


def fast_update_backward(
    dA: np.ndarray, cache: tuple
) -> tuple[np.ndarray, np.ndarray, float, float]:
    """Gradients of Eq. 1.

    dA_{t-1} = λ dA_t,  dh_{t-1} = η (dA_t + dA_tᵀ) h_{t-1},
    dλ = Σ_b ⟨dA_t, A_{t-1}⟩,  dη = Σ_b h_{t-1}ᵀ dA_t h_{t-1}.

    Returns
    -------
    dA_prev : (B, H, H), dh_prev : (B, H), ddecay : float, dfast_lr : float
    """
    A_prev, h_prev, decay, fast_lr = cache
    dA_h = np.einsum("bij,bj->bi", dA, h_prev)
    dAT_h = np.einsum("bji,bj->bi", dA, h_prev)
    dh_prev = fast_lr * (dA_h + dAT_h)
    ddecay = float(np.sum(dA * A_prev))
    dfast_lr = float(np.sum(h_prev * dA_h))
    return decay * dA, dh_prev, ddecay, dfast_lr


# ----------------------------------------------------------------------------- matrix form
def matrix_read_forward(A: np.ndarray, u: np.ndarray) -> tuple[np.ndarray, tuple]:
    """y = A_t u per sequence.

    Parameters
    ----------
    A : (B, H, H)
    u : (B, H)

    Returns
    -------
    y : (B, H)
    cache : (A, u)
    """
    return np.einsum("bij,bj->bi", A, u), (A, u)


def matrix_read_backward(dy: np.ndarray, cache: tuple) -> tuple[np.ndarray, np.ndarray]:
    """Gradients of y = A u:  du = Aᵀ dy,  dA = dy uᵀ.

    Returns
    -------
    du : (B, H), dA : (B, H, H)
    """
    A, u = cache
    return np.einsum("bij,bi->bj", A, dy), dy[:, :, None] * u[:, None, :]


# -------------------------------------------------------------------------- attention form
def attention_read_forward(
    past: np.ndarray,
    u: np.ndarray,
    decay: float,
    fast_lr: float,
    A0: np.ndarray | None = None,
) -> tuple[np.ndarray, tuple]:
    """y = A_t u without forming A_t (paper Eq. 4), t = past.shape[1].

    y = λ^t A_0 u + Σ_{τ=0}^{t-1} w_τ h_τ (h_τ · u),  w_τ = η λ^{t-1-τ}.

    Parameters
    ----------
    past : (B, t, H), the hidden states h_0 .. h_{t-1}
    u : (B, H)
    decay, fast_lr : λ and η
    A0 : (B, H, H) or None (zero initial memory)

    Returns
    -------
    y : (B, H)
    cache : everything the backward needs; O(B t) numbers besides the inputs
    """
    t = past.shape[1]
    power, dpower = _powers(decay, np.arange(t - 1, -1, -1), past.dtype)
    scores = np.einsum("bth,bh->bt", past, u)  # s_τ = h_τ · u
    y = np.einsum("bt,bth->bh", (fast_lr * power) * scores, past)
    if A0 is not None:
        y = y + decay**t * np.einsum("bij,bj->bi", A0, u)
    return y, (past, u, scores, power, dpower, decay, fast_lr, A0)


def attention_read_backward(
    dy: np.ndarray, cache: tuple
) -> tuple[np.ndarray, np.ndarray, float, float, np.ndarray | None]:
    """Gradients of the attention-form read.

    With r_τ = h_τ · dy and s_τ = h_τ · u:
    du = Σ_τ w_τ r_τ h_τ + λ^t A_0ᵀ dy,     dh_τ = w_τ (s_τ dy + r_τ u),
    dη = Σ_τ λ^{t-1-τ} r_τ s_τ,            dλ = η Σ_τ (t-1-τ) λ^{t-2-τ} r_τ s_τ + t λ^{t-1} dy·(A_0 u),
    dA_0 = λ^t dy uᵀ.

    Returns
    -------
    du : (B, H), dpast : (B, t, H), ddecay : float, dfast_lr : float, dA0 : (B, H, H) or None
    """
    past, u, scores, power, dpower, decay, fast_lr, A0 = cache
    t = past.shape[1]
    r = np.einsum("bth,bh->bt", past, dy)
    weighted_r = (fast_lr * power) * r
    du = np.einsum("bt,bth->bh", weighted_r, past)
    dpast = (fast_lr * power * scores)[:, :, None] * dy[:, None, :] + weighted_r[:, :, None] * u[:, None, :]
    rs = np.sum(r * scores, axis=0)  # Σ_b r_τ s_τ, shape (t,)
    dfast_lr = float(np.dot(power, rs))
    ddecay = float(fast_lr * np.dot(dpower, rs))
    dA0 = None
    if A0 is not None:
        du = du + decay**t * np.einsum("bij,bi->bj", A0, dy)
        ddecay += float(t * decay ** (t - 1) * np.sum(dy * np.einsum("bij,bj->bi", A0, u)))
        dA0 = decay**t * (dy[:, :, None] * u[:, None, :])
    return du, dpast, ddecay, dfast_lr, dA0


def attention_memory_forward(
    past: np.ndarray, decay: float, fast_lr: float, A0: np.ndarray | None = None
) -> tuple[np.ndarray, tuple]:
    """Form A_t once from the past (used for the final state only, never per step).

    A_t = λ^t A_0 + η Σ_{τ=0}^{t-1} λ^{t-1-τ} h_τ h_τᵀ,  t = past.shape[1].

    Returns
    -------
    A : (B, H, H)
    cache : (past, power, dpower, decay, fast_lr, A0)
    """
    t = past.shape[1]
    power, dpower = _powers(decay, np.arange(t - 1, -1, -1), past.dtype)
    A = np.swapaxes(past * (fast_lr * power)[None, :, None], 1, 2) @ past
    if A0 is not None:
        A = A + decay**t * A0
    return A, (past, power, dpower, decay, fast_lr, A0)


def attention_memory_backward(
    dA: np.ndarray, cache: tuple
) -> tuple[np.ndarray, float, float, np.ndarray | None]:
    """Gradients of :func:`attention_memory_forward`.

    With q_τ = h_τᵀ dA h_τ:  dh_τ = η λ^{t-1-τ} (dA + dAᵀ) h_τ,  dη = Σ_τ λ^{t-1-τ} q_τ,
    dλ = η Σ_τ (t-1-τ) λ^{t-2-τ} q_τ + t λ^{t-1} ⟨dA, A_0⟩,  dA_0 = λ^t dA.

    Returns
    -------
    dpast : (B, t, H), ddecay : float, dfast_lr : float, dA0 : (B, H, H) or None
    """
    past, power, dpower, decay, fast_lr, A0 = cache
    t = past.shape[1]
    sym = dA + np.swapaxes(dA, 1, 2)
    dpast = (fast_lr * power)[None, :, None] * (past @ sym)  # sym is symmetric
    q = np.sum((past @ dA) * past, axis=(0, 2))  # q_τ = Σ_b h_τᵀ dA h_τ
    dfast_lr = float(np.dot(power, q))
    ddecay = float(fast_lr * np.dot(dpower, q))
    dA0 = None
    if A0 is not None:
        ddecay += float(t * decay ** (t - 1) * np.sum(dA * A0))
        dA0 = decay**t * dA
    return dpast, ddecay, dfast_lr, dA0
