"""A real gate times a complex vector: both parts of entry j scaled by the same g_j
(docs/baselines.md §3.1). Complex layout: see :mod:`fastweights_np.ops.complex_mul`."""

from __future__ import annotations

from fastweights_np.ops.broadcast import unbroadcast
from fastweights_np.ops.complex_mul import join_complex, split_complex


def complex_scale_forward(g, v) -> tuple[object, tuple]:
    """y = g ⊙ v with g real:  Re y = g ⊙ Re v,  Im y = g ⊙ Im v.

    Parameters
    ----------
    g : (..., m) real
    v : (..., 2m) complex in [Re | Im] layout; leading axes broadcast with g's

    Returns
    -------
    y : (..., 2m)
    cache : (g, v)
    """
    return join_complex(g, g) * v, (g, v)


def complex_scale_backward(dy, cache: tuple) -> tuple[object, object]:
    """Gradients of y = g ⊙ v:  dg = Re dy ⊙ Re v + Im dy ⊙ Im v,  dv = [g | g] ⊙ dy
    (each summed back over broadcast axes).

    Returns
    -------
    dg : shape of g, dv : shape of v
    """
    g, v = cache
    dy_re, dy_im = split_complex(dy)
    v_re, v_im = split_complex(v)
    dg = dy_re * v_re + dy_im * v_im
    dv = join_complex(g, g) * dy
    return unbroadcast(dg, g.shape), unbroadcast(dv, v.shape)
