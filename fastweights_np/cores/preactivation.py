"""Pre-activations of the baseline cores: a linear map, optionally layer-normalized.

The LSTM and the A-LSTM compute every gate, key and value pre-activation at once as

    a_t = N_rec(W h_{t-1}) + N_in(C x_t) + b

where N is the identity, or with layer normalization (Ba, Kiros & Hinton 2016, "Layer
Normalization", the layer-normalized LSTM) a separate LN for each term, with its own gain and
bias, statistics over the whole R-vector of ONE example at ONE step. The input term
d_t = N_in(C x_t) + b does not depend on the recurrence, so it is computed for all t at once.
The IRNN uses the same input term without LN (its LN acts on the sum, see ``cores/irnn``).
Derivation: ``docs/baselines.md`` §1.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from fastweights_np.ops import affine_backward, affine_forward, layernorm_backward, layernorm_forward


def projection_forward(
    v: np.ndarray, M: np.ndarray, gain: np.ndarray | None, bias: np.ndarray | None, eps: float
) -> tuple[np.ndarray, tuple]:
    """N(M v): M v, or LN(M v; gain, bias) when ``gain`` is given.

    Parameters
    ----------
    v : (..., n_in)
    M : (R, n_in)
    gain, bias : (R,) layer-norm gain and bias, or both None for no LN
    eps : LN's ε

    Returns
    -------
    out : (..., R)
    cache : (affine cache, LN cache or None)
    """
    Mv, affine_cache = affine_forward(v, M, None)
    if gain is None:
        return Mv, (affine_cache, None)
    out, ln_cache = layernorm_forward(Mv, gain, bias, eps)
    return out, (affine_cache, ln_cache)


def projection_backward(
    dout: np.ndarray, cache: tuple
) -> tuple[np.ndarray, np.ndarray, np.ndarray | None, np.ndarray | None]:
    """Backward of :func:`projection_forward`: (dv, dM, dgain, dbias); the last two are None without LN."""
    affine_cache, ln_cache = cache
    dgain = dbias = None
    if ln_cache is not None:
        dout, dgain, dbias = layernorm_backward(dout, ln_cache)
    dv, dM, _ = affine_backward(dout, affine_cache)
    return dv, dM, dgain, dbias


def input_drive_forward(
    params: dict[str, np.ndarray], x: np.ndarray, layer_norm: bool, eps: float
) -> tuple[np.ndarray, tuple]:
    """d_t = N_in(C x_t) + b for every t.

    Parameters
    ----------
    params : C (R, I), b (R,), and g_in, beta_in (R,) when ``layer_norm``
    x : (B, T, I)
    layer_norm : use LN(·; g_in, beta_in) for N_in

    Returns
    -------
    drive : (B, T, R)
    cache : for :func:`input_drive_backward`
    """
    gain, bias = (params["g_in"], params["beta_in"]) if layer_norm else (None, None)
    Cx, cache = projection_forward(x, params["C"], gain, bias, eps)
    return Cx + params["b"], cache


def input_drive_backward(ddrive: np.ndarray, cache: tuple) -> tuple[np.ndarray, dict]:
    """Backward of :func:`input_drive_forward`: dx (B, T, I) and {"C", "b"[, "g_in", "beta_in"]}."""
    dx, dC, dgain, dbias = projection_backward(ddrive, cache)
    grads = {"C": dC, "b": ddrive.reshape(-1, ddrive.shape[-1]).sum(axis=0)}
    if dgain is not None:
        grads.update(g_in=dgain, beta_in=dbias)
    return dx, grads


def config_drive_forward(params: dict[str, np.ndarray], x: np.ndarray, cfg: Any) -> tuple[np.ndarray, tuple]:
    """:func:`input_drive_forward` with LN as ``cfg.layer_norm`` says (the LSTM's and the A-LSTM's drive)."""
    return input_drive_forward(params, x, cfg.layer_norm, cfg.ln_eps)


def recurrent_forward(
    params: dict[str, np.ndarray], h_prev: np.ndarray, layer_norm: bool, eps: float
) -> tuple[np.ndarray, tuple]:
    """N_rec(W h_{t-1}).

    Parameters
    ----------
    params : W (R, H), and g_rec, beta_rec (R,) when ``layer_norm``
    h_prev : (B, H)

    Returns
    -------
    out : (B, R)
    cache : for :func:`recurrent_backward`
    """
    gain, bias = (params["g_rec"], params["beta_rec"]) if layer_norm else (None, None)
    return projection_forward(h_prev, params["W"], gain, bias, eps)


def recurrent_backward(dout: np.ndarray, cache: tuple) -> tuple[np.ndarray, dict]:
    """Backward of :func:`recurrent_forward`: dh_prev (B, H) and {"W"[, "g_rec", "beta_rec"]}."""
    dh_prev, dW, dgain, dbias = projection_backward(dout, cache)
    grads = {"W": dW}
    if dgain is not None:
        grads.update(g_rec=dgain, beta_rec=dbias)
    return dh_prev, grads
