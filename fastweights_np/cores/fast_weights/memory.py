"""The fast-weight memory A_t: its update (paper Eq. 1) and the product A_t u in two forms.

Matrix form: A_t is held as a (B, H, H) array per step.
Attention form (paper Eq. 4): A_t is never formed; with the keys written so far
K = [k_1, ..., k_t] (the vectors of Eq. 1: k_τ = h_{τ-1} in the paper's timing) of shape (B, t, H),

    A_t u = λ^t A_0 u + η Σ_{τ=1}^{t} λ^{t-τ} k_τ (k_τ · u),

where A_0 is the initial memory (absent, i.e. zero, unless a state is carried in).
Arrays may come from any array namespace (``fastweights_np.array_namespace``); ``M @ u[..., None]``
is the batched matrix-vector product y_i = Σ_j M_ij u_j.
Derivations of every backward here: ``docs/math.md`` §3; of the write-then-read form used by the
attention step: ``docs/variants.md`` §3.3.
"""

from __future__ import annotations

from fastweights_np.array_namespace import namespace, scalar


def _matvec(M, u):
    """y_i = Σ_j M_ij u_j for every leading index: M (B, m, n), u (B, n) → (B, m)."""
    return (M @ u[..., None])[..., 0]


def decay_powers(decay: float, t: int, like) -> tuple:
    """λ^k and d(λ^k)/dλ = k λ^(k-1) for k = t-1, ..., 0 (with 0·λ^(-1) read as 0 at λ = 0).

    Shapes (t,), in ``like``'s namespace, dtype and device.
    """
    xp = namespace(like)
    k = xp.astype(xp.arange(t - 1, -1, -1, device=like.device), like.dtype)
    lam = scalar(xp, decay, like)
    power = xp.pow(lam, k)
    dpower = k * xp.pow(lam, xp.maximum(k - 1, xp.zeros_like(k)))
    return power, dpower


# ----------------------------------------------------------------------------------- Eq. 1
def fast_update_forward(A_prev, h_prev, decay: float, fast_lr: float) -> tuple[object, tuple]:
    """A_t = λ A_{t-1} + η h_{t-1} h_{t-1}ᵀ  (paper Eq. 1), one matrix per sequence.

    Parameters
    ----------
    A_prev : (B, H, H)
    h_prev : (B, H), the vector written (h_{t-1}, or h_t^(0) in the "preliminary" timing)
    decay, fast_lr : λ and η

    Returns
    -------
    A : (B, H, H)
    cache : (A_prev, h_prev, decay, fast_lr)
    """
    A = decay * A_prev + fast_lr * (h_prev[:, :, None] * h_prev[:, None, :])
    return A, (A_prev, h_prev, decay, fast_lr)


def fast_update_backward(dA, cache: tuple) -> tuple[object, object, float, float]:
    """Gradients of Eq. 1.

    dA_{t-1} = λ dA_t,  dh_{t-1} = η (dA_t + dA_tᵀ) h_{t-1},
    dλ = Σ_b ⟨dA_t, A_{t-1}⟩,  dη = Σ_b h_{t-1}ᵀ dA_t h_{t-1}.

    Returns
    -------
    dA_prev : (B, H, H), dh_prev : (B, H), ddecay : float, dfast_lr : float
    """
    A_prev, h_prev, decay, fast_lr = cache
    xp = namespace(dA, h_prev)
    dA_h = _matvec(dA, h_prev)  # dA_t h_{t-1}
    dAT_h = _matvec(xp.matrix_transpose(dA), h_prev)  # dA_tᵀ h_{t-1}
    dh_prev = fast_lr * (dA_h + dAT_h)
    ddecay = float(xp.sum(dA * A_prev))
    dfast_lr = float(xp.sum(h_prev * dA_h))
    return decay * dA, dh_prev, ddecay, dfast_lr


# ----------------------------------------------------------------------------- matrix form
def matrix_read_forward(A, u) -> tuple[object, tuple]:
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
    return _matvec(A, u), (A, u)


def matrix_read_backward(dy, cache: tuple) -> tuple:
    """Gradients of y = A u:  du = Aᵀ dy,  dA = dy uᵀ.

    Returns
    -------
    du : (B, H), dA : (B, H, H)
    """
    A, u = cache
    xp = namespace(dy, A)
    return _matvec(xp.matrix_transpose(A), dy), dy[:, :, None] * u[:, None, :]


# -------------------------------------------------------------------------- attention form
def attention_read_forward(past, u, decay: float, fast_lr: float, A0=None) -> tuple[object, tuple]:
    """y = A_t u without forming A_t (paper Eq. 4), t = past.shape[1].

    y = λ^t A_0 u + Σ_{τ=0}^{t-1} w_τ h_τ (h_τ · u),  w_τ = η λ^{t-1-τ}.

    Parameters
    ----------
    past : (B, t, H), the keys h_0 .. h_{t-1} (t may be 0)
    u : (B, H)
    decay, fast_lr : λ and η
    A0 : (B, H, H) or None (zero initial memory)

    Returns
    -------
    y : (B, H)
    cache : everything the backward needs; O(B t) numbers besides the inputs
    """
    xp = namespace(past, u, A0)
    t = past.shape[1]
    power, dpower = decay_powers(decay, t, past)
    scores = _matvec(past, u)  # s_τ = h_τ · u, (B, t)
    y = _matvec(xp.matrix_transpose(past), (fast_lr * power) * scores)  # Σ_τ w_τ s_τ h_τ
    if A0 is not None:
        y = y + decay**t * _matvec(A0, u)
    return y, (past, u, scores, power, dpower, decay, fast_lr, A0)


def attention_read_backward(dy, cache: tuple) -> tuple:
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
    xp = namespace(dy, past)
    t = past.shape[1]
    r = _matvec(past, dy)  # r_τ = h_τ · dy, (B, t)
    weighted_r = (fast_lr * power) * r
    du = _matvec(xp.matrix_transpose(past), weighted_r)  # Σ_τ w_τ r_τ h_τ
    dpast = (fast_lr * power * scores)[:, :, None] * dy[:, None, :] + weighted_r[:, :, None] * u[:, None, :]
    rs = xp.sum(r * scores, axis=0)  # Σ_b r_τ s_τ, shape (t,)
    dfast_lr = float(xp.sum(power * rs))
    ddecay = float(fast_lr * xp.sum(dpower * rs))
    dA0 = None
    if A0 is not None:
        du = du + decay**t * _matvec(xp.matrix_transpose(A0), dy)
        ddecay += float(t * decay ** (t - 1) * xp.sum(dy * _matvec(A0, u))) if t > 0 else 0.0
        dA0 = decay**t * (dy[:, :, None] * u[:, None, :])
    return du, dpast, ddecay, dfast_lr, dA0


def attention_read_with_write_forward(
    keys_prev, key, u, decay: float, fast_lr: float, A0=None
) -> tuple[object, tuple]:
    """y = A_t u where A_t = λ A_{t-1} + η k_t k_tᵀ (Eq. 1 applied to u), without forming A.

    y = λ (A_{t-1} u) + η k_t (k_t · u), with A_{t-1} u read from the earlier keys by Eq. 4
    (:func:`attention_read_forward`). This is how an attention-form step reads the memory
    that already holds its own key k_t.

    Parameters
    ----------
    keys_prev : (B, t-1, H), the keys k_1 .. k_{t-1} (t-1 may be 0)
    key : (B, H), k_t
    u : (B, H)
    decay, fast_lr : λ and η
    A0 : (B, H, H) or None

    Returns
    -------
    y : (B, H)
    cache : for :func:`attention_read_with_write_backward`
    """
    xp = namespace(keys_prev, key, u)
    y_prev, prev_cache = attention_read_forward(keys_prev, u, decay, fast_lr, A0)
    score = xp.sum(key * u, axis=-1)  # k_t · u, (B,)
    y = decay * y_prev + fast_lr * score[:, None] * key
    return y, (prev_cache, y_prev, key, u, score, decay, fast_lr)


def attention_read_with_write_backward(dy, cache: tuple) -> tuple:
    """Gradients of :func:`attention_read_with_write_forward`.

    With r = k_t · dy and s = k_t · u:
    du = λ du_prev + η r k_t,  dk_t = η (s dy + r u),  dλ = Σ_b dy · (A_{t-1} u) + dλ_prev,
    dη = Σ_b s r + dη_prev, where the "_prev" terms are the attention read's backward applied
    to λ dy (docs/variants.md §3.3).

    Returns
    -------
    du : (B, H), dkeys_prev : (B, t-1, H), dkey : (B, H), ddecay : float, dfast_lr : float,
    dA0 : (B, H, H) or None
    """
    prev_cache, y_prev, key, u, score, decay, fast_lr = cache
    xp = namespace(dy, key)
    du_prev, dkeys_prev, ddecay, dfast_lr, dA0 = attention_read_backward(decay * dy, prev_cache)
    r = xp.sum(key * dy, axis=-1)  # k_t · dy, (B,)
    du = du_prev + fast_lr * r[:, None] * key
    dkey = fast_lr * (score[:, None] * dy + r[:, None] * u)
    ddecay += float(xp.sum(dy * y_prev))
    dfast_lr += float(xp.sum(score * r))
    return du, dkeys_prev, dkey, ddecay, dfast_lr, dA0


def attention_memory_forward(past, decay: float, fast_lr: float, A0=None) -> tuple[object, tuple]:
    """Form A_t once from the past (used for the final state only, never per step).

    A_t = λ^t A_0 + η Σ_{τ=0}^{t-1} λ^{t-1-τ} h_τ h_τᵀ,  t = past.shape[1].

    Returns
    -------
    A : (B, H, H)
    cache : (past, power, dpower, decay, fast_lr, A0)
    """
    xp = namespace(past, A0)
    t = past.shape[1]
    power, dpower = decay_powers(decay, t, past)
    A = xp.matrix_transpose(past * (fast_lr * power)[None, :, None]) @ past  # Σ_τ w_τ h_τ h_τᵀ
    if A0 is not None:
        A = A + decay**t * A0
    return A, (past, power, dpower, decay, fast_lr, A0)


def attention_memory_backward(dA, cache: tuple) -> tuple:
    """Gradients of :func:`attention_memory_forward`.

    With q_τ = h_τᵀ dA h_τ:  dh_τ = η λ^{t-1-τ} (dA + dAᵀ) h_τ,  dη = Σ_τ λ^{t-1-τ} q_τ,
    dλ = η Σ_τ (t-1-τ) λ^{t-2-τ} q_τ + t λ^{t-1} ⟨dA, A_0⟩,  dA_0 = λ^t dA.

    Returns
    -------
    dpast : (B, t, H), ddecay : float, dfast_lr : float, dA0 : (B, H, H) or None
    """
    past, power, dpower, decay, fast_lr, A0 = cache
    xp = namespace(dA, past)
    t = past.shape[1]
    sym = dA + xp.matrix_transpose(dA)
    dpast = (fast_lr * power)[None, :, None] * (past @ sym)  # sym is symmetric
    q = xp.sum((past @ dA) * past, axis=(0, 2))  # q_τ = Σ_b h_τᵀ dA h_τ
    dfast_lr = float(xp.sum(power * q))
    ddecay = float(fast_lr * xp.sum(dpower * q))
    dA0 = None
    if A0 is not None:
        ddecay += float(t * decay ** (t - 1) * xp.sum(dA * A0)) if t > 0 else 0.0
        dA0 = decay**t * dA
    return dpast, ddecay, dfast_lr, dA0
