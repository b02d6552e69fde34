"""Layer normalization over the feature axis of ONE example at ONE step (docs/math.md §2.3).

LN(v) = g ⊙ (v − μ) / σ + β,  μ = mean(v),  σ = sqrt(var(v) + ε),
with the mean and the population variance taken over the last axis only: never over the
batch or time axes.

ε may be 0 (the choice of much public code; TensorFlow's default is 1e-12). Then a row whose
variance is exactly 0 (all units equal: H = 1, or an input of zeros) would give 0/0: instead of
returning NaN (which ReLU would silently turn into 0), :func:`layernorm_forward` raises
:class:`fastweights_np.finite.NonFiniteError` naming the rows (:func:`zero_variance_error`).
Every backend raises the same error for the same inputs.

:func:`layernorm_batch_forward` / :func:`layernorm_batch_backward` take the statistics over the
batch axis instead (``ln_axis="batch"``, docs/variants.md §5): batch normalisation without
running averages, which some public code computes by mistake.
"""

from __future__ import annotations

import numpy as np

from fastweights_np.array_namespace import array_to_numpy, namespace
from fastweights_np.errors import NonFiniteError


def zero_variance_error(index: tuple[int, ...], shape: tuple[int, ...], count: int) -> FloatingPointError:
    """The error for a layer-norm input with variance exactly 0 while ε = 0.

    Parameters
    ----------
    index : the first row with variance 0 (its index over the leading axes of the input; for
        the fast-weights core's (B, H) input, (example,))
    shape : the input's shape (..., H)
    count : how many rows have variance 0

    Returns
    -------
    fastweights_np.finite.NonFiniteError : (a FloatingPointError) whose message names the
        tensor, the row (the example), B and H, and what to do
    """
    *lead, H = shape
    if len(lead) == 1:
        row = f"example {index[0]} of B = {lead[0]}"
    else:
        row = f"row {tuple(index)} of the leading axes {tuple(lead)}"
    others = f" ({count} rows of {int(np.prod(lead, dtype=np.int64))} have variance 0)" if count > 1 else ""
    return NonFiniteError(
        "layer norm with ln_eps = 0 would divide 0 by 0",
        detail=f"its input v (shape {tuple(shape)}) has variance exactly 0 "
        f"over its H = {H} units (all equal) in {row}{others}, so (v - mean(v)) / sqrt(var(v) + ln_eps) is 0/0. "
        "Use ln_eps > 0 (this package's and PyTorch's default is 1e-5, TensorFlow's 1e-12), or inputs and "
        "parameters for which the units differ (H > 1, not all zero)."
    )


def check_variance(var, shape: tuple[int, ...]) -> None:
    """Raise :func:`zero_variance_error` if any entry of ``var`` (..., 1) is exactly 0."""
    xp = namespace(var)
    zero = var == 0
    if not bool(xp.any(zero)):
        return
    rows = np.argwhere(np.reshape(array_to_numpy(zero), tuple(shape[:-1])))
    raise zero_variance_error(tuple(int(i) for i in rows[0]), tuple(shape), len(rows))


def layernorm_forward(v, g, beta, eps: float) -> tuple[object, tuple]:
    """LN(v) = g ⊙ v̂ + β with v̂ = (v − μ)/σ per row.

    Parameters
    ----------
    v : (..., H)
    g, beta : (H,) gain and bias, or (1,) broadcast over the units (ln_params="scalar")
    eps : ε >= 0

    Returns
    -------
    out : (..., H)
    cache : (v̂, 1/σ, g)

    Raises
    ------
    fastweights_np.finite.NonFiniteError : ε = 0 and a row of ``v`` has variance exactly 0
        (:func:`zero_variance_error`; checked only when ε = 0)
    """
    xp = namespace(v, g, beta)
    mu = xp.mean(v, axis=-1, keepdims=True)
    centred = v - mu
    var = xp.mean(centred * centred, axis=-1, keepdims=True)
    if eps == 0:
        check_variance(var, tuple(v.shape))
    inv_sigma = 1.0 / xp.sqrt(var + eps)
    v_hat = centred * inv_sigma
    return g * v_hat + beta, (v_hat, inv_sigma, g)


def layernorm_backward(dout, cache: tuple) -> tuple:
    """Gradients of LN.

    With d̂ = dout ⊙ g:
    dv = (1/σ) (d̂ − mean(d̂) − v̂ ⊙ mean(d̂ ⊙ v̂)),  dg = Σ_rows dout ⊙ v̂,  dβ = Σ_rows dout.

    Parameters
    ----------
    dout : (..., H)
    cache : from :func:`layernorm_forward`

    Returns
    -------
    dv : (..., H), dg : (H,), dbeta : (H,); (1,) each for a (1,) g (summed over the units)
    """
    v_hat, inv_sigma, g = cache
    xp = namespace(dout, v_hat)
    d_hat = dout * g
    dv = inv_sigma * (
        d_hat
        - xp.mean(d_hat, axis=-1, keepdims=True)
        - v_hat * xp.mean(d_hat * v_hat, axis=-1, keepdims=True)
    )
    rows = xp.reshape(dout, (-1, dout.shape[-1]))
    dg = xp.sum(rows * xp.reshape(v_hat, rows.shape), axis=0)
    dbeta = xp.sum(rows, axis=0)
    return dv, _reduce_to(dg, g), _reduce_to(dbeta, g)  # (1,) for a scalar g, β (ln_params="scalar")


def _reduce_to(grad, like):
    """Sum ``grad`` (H,) to the shape of ``like`` when that is (1,) (a scalar gain or bias,
    broadcast over the units: ln_params="scalar"); otherwise return it unchanged."""
    if tuple(like.shape) == tuple(grad.shape):
        return grad
    xp = namespace(grad)
    return xp.reshape(xp.sum(grad), tuple(like.shape))


# ------------------------------------------------------------- statistics over the batch axis
def batch_zero_variance_error(unit: int, shape: tuple[int, ...], count: int) -> FloatingPointError:
    """The error for a batch-axis layer-norm input (ln_axis="batch") whose variance over the
    batch is exactly 0 for some unit while ε = 0.

    Parameters
    ----------
    unit : the first unit j with variance 0 over the batch
    shape : the input's shape (B, H)
    count : how many units have variance 0

    Returns
    -------
    fastweights_np.finite.NonFiniteError : naming the unit, B and H, and what to do
    """
    B, *_, H = shape
    others = f" ({count} of the H = {H} units have variance 0)" if count > 1 else ""
    single = " (with B = 1 every unit has: a single example is always its own mean)" if B == 1 else ""
    return NonFiniteError(
        "layer norm over the batch axis (ln_axis='batch') with ln_eps = 0 would divide 0 by 0",
        detail=f"its input v "
        f"(shape {tuple(shape)}) has variance exactly 0 over the B = {B} examples for unit {unit}{others}{single}, "
        "so (v - mean_b(v)) / sqrt(var_b(v) + ln_eps) is 0/0. Use ln_eps > 0, a batch whose examples differ "
        "(B > 1), or ln_axis='example' (the paper's)."
    )


def layernorm_batch_forward(v, g, beta, eps: float) -> tuple[object, tuple]:
    """Layer norm with its statistics over the BATCH axis (ln_axis="batch"; docs/math.md §9.1).

    For every unit j (and every other non-batch index), over the B examples b:
    μ_j = (1/B) Σ_b v_bj,  σ_j = sqrt((1/B) Σ_b (v_bj − μ_j)² + ε),  v̂_bj = (v_bj − μ_j)/σ_j,
    y_bj = g_j v̂_bj + β_j.

    This is batch normalisation without running averages, the bug of some public code
    (docs/variants.md §5): example b's output depends on every other example of the batch.

    Parameters
    ----------
    v : (B, ..., H), statistics over axis 0
    g, beta : (H,) or (1,) gain and bias
    eps : ε >= 0

    Returns
    -------
    out : (B, ..., H)
    cache : (v̂, 1/σ, g, beta) for :func:`layernorm_batch_backward`

    Raises
    ------
    fastweights_np.finite.NonFiniteError : ε = 0 and a unit's variance over the batch is exactly
        0 (always so for B = 1; :func:`batch_zero_variance_error`)
    """
    xp = namespace(v, g, beta)
    mu = xp.mean(v, axis=0, keepdims=True)
    centred = v - mu
    var = xp.mean(centred * centred, axis=0, keepdims=True)
    if eps == 0:
        zero = var == 0
        if bool(xp.any(zero)):
            units = np.argwhere(np.reshape(array_to_numpy(zero), (-1,)))
            raise batch_zero_variance_error(int(units[0][0]) % v.shape[-1], tuple(v.shape), len(units))
    inv_sigma = 1.0 / xp.sqrt(var + eps)
    v_hat = centred * inv_sigma
    return g * v_hat + beta, (v_hat, inv_sigma, g, beta)


def layernorm_batch_backward(dout, cache: tuple) -> tuple:
    """Gradients of :func:`layernorm_batch_forward` (docs/math.md §9.1).

    With d̂ = dout ⊙ g and means over the batch axis:
    dv = (1/σ) (d̂ − mean_b(d̂) − v̂ ⊙ mean_b(d̂ ⊙ v̂)),  dg = Σ_rows dout ⊙ v̂,  dβ = Σ_rows dout.
    The first two terms couple the examples: dv of example b depends on every example's dout.

    Parameters
    ----------
    dout : (B, ..., H)
    cache : from :func:`layernorm_batch_forward`

    Returns
    -------
    dv : (B, ..., H), dg, dbeta : of g's and beta's shapes ((H,) or (1,))
    """
    v_hat, inv_sigma, g, beta = cache
    xp = namespace(dout, v_hat)
    d_hat = dout * g
    dv = inv_sigma * (
        d_hat
        - xp.mean(d_hat, axis=0, keepdims=True)
        - v_hat * xp.mean(d_hat * v_hat, axis=0, keepdims=True)
    )
    rows = xp.reshape(dout, (-1, dout.shape[-1]))
    dg = xp.sum(rows * xp.reshape(v_hat, rows.shape), axis=0)
    dbeta = xp.sum(rows, axis=0)
    return dv, _reduce_to(dg, g), _reduce_to(dbeta, beta)
