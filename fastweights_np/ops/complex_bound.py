"""The A-LSTM's bound: every complex entry's modulus is limited to 1 (Danihelka et al. 2016,
Sec. 4; docs/baselines.md §3.1). Complex layout: see :mod:`fastweights_np.ops.complex_mul`."""

from __future__ import annotations

import numpy as np

from fastweights_np.ops.complex_mul import join_complex, split_complex


def complex_bound_forward(v: np.ndarray) -> tuple[np.ndarray, tuple]:
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
    v_re, v_im = split_complex(v)
    modulus = np.sqrt(v_re * v_re + v_im * v_im)
    outside = modulus > 1.0
    d = np.where(outside, modulus, 1.0)
    out = v / join_complex(d, d)
    return out, (out, d, outside)


def complex_bound_backward(dout: np.ndarray, cache: tuple) -> np.ndarray:
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
    out_re, out_im = split_complex(out)
    dout_re, dout_im = split_complex(dout)
    p = np.where(outside, out_re * dout_re + out_im * dout_im, 0.0)
    return (dout - out * join_complex(p, p)) / join_complex(d, d)
