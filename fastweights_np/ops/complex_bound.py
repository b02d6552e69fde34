"""The A-LSTM's bound: every complex entry's modulus is limited to 1 (Danihelka et al. 2016,
Sec. 4; docs/baselines.md §3.1). Complex layout: see :mod:`fastweights_np.ops.complex_mul`."""

from __future__ import annotations

from fastweights_np.array_namespace import namespace
from fastweights_np.ops.complex_mul import join_complex, split_complex


def complex_bound_forward(v) -> tuple[object, tuple]:
    """bound(v) = v ⊘ d with d_j = max(1, |v_j|), |v_j| = sqrt(Re v_j² + Im v_j²);
    the same d_j divides both parts of entry j.

    Parameters
    ----------
    v : (..., 2m) complex in [Re | Im] layout

    Returns
    -------
    out : (..., 2m), every entry of modulus <= 1
    cache : (out, d, outside) with d (..., m) and the mask outside = |v| > 1
    """
    xp = namespace(v)
    v_re, v_im = split_complex(v)
    modulus = xp.sqrt(v_re * v_re + v_im * v_im)
    outside = modulus > 1.0
    d = xp.where(outside, modulus, xp.ones_like(modulus))
    out = v / join_complex(d, d)
    return out, (out, d, outside)


def complex_bound_backward(dout, cache: tuple):
    """Gradient of bound.

    Where |v_j| <= 1, bound is the identity: dv_j = dout_j. Where |v_j| > 1, out_j = v_j/|v_j|
    and, with the real inner product p_j = Re out_j Re dout_j + Im out_j Im dout_j,
    dv_j = (dout_j − out_j p_j) / |v_j|  (the radial part of dout is removed).
    At |v_j| = 1 exactly the inside formula is used.

    Returns
    -------
    dv : (..., 2m)
    """
    out, d, outside = cache
    xp = namespace(dout, out)
    out_re, out_im = split_complex(out)
    dout_re, dout_im = split_complex(dout)
    p = out_re * dout_re + out_im * dout_im
    p = xp.where(outside, p, xp.zeros_like(p))
    return (dout - out * join_complex(p, p)) / join_complex(d, d)
