"""Elementwise product of complex vectors carried as real arrays (docs/baselines.md §3.1).

Complex layout used by every complex op here: a complex vector of m entries is a real array
whose last axis has length 2m, real parts first, imaginary parts second:
v = [Re v_1 .. Re v_m | Im v_1 .. Im v_m].
"""

from __future__ import annotations

from fastweights_np.array_namespace import namespace
from fastweights_np.ops.broadcast import unbroadcast


def split_complex(v) -> tuple[object, object]:
    """(Re v, Im v) of a complex vector in the layout above; views of shape (..., m)."""
    m = v.shape[-1] // 2
    return v[..., :m], v[..., m:]


def join_complex(re, im):
    """Inverse of :func:`split_complex`: [re | im] along the last axis."""
    return namespace(re, im).concat((re, im), axis=-1)


def complex_mul_forward(a, b) -> tuple[object, tuple]:
    """z = a ⊛ b, the complex product entry by entry:

    Re z = Re a Re b − Im a Im b,   Im z = Re a Im b + Im a Re b.

    Parameters
    ----------
    a, b : (..., 2m) complex vectors in [Re | Im] layout; their leading axes broadcast

    Returns
    -------
    z : (..., 2m), the broadcast shape
    cache : (a, b)
    """
    a_re, a_im = split_complex(a)
    b_re, b_im = split_complex(b)
    z = join_complex(a_re * b_re - a_im * b_im, a_re * b_im + a_im * b_re)
    return z, (a, b)


def complex_mul_backward(dz, cache: tuple) -> tuple[object, object]:
    """Gradients of z = a ⊛ b:  da = dz ⊛ conj(b),  db = dz ⊛ conj(a), i.e.

    Re da = Re dz Re b + Im dz Im b,   Im da = Im dz Re b − Re dz Im b   (and a ↔ b for db),

    each summed back over the axes along which its operand was broadcast.

    Returns
    -------
    da : shape of a, db : shape of b
    """
    a, b = cache
    a_re, a_im = split_complex(a)
    b_re, b_im = split_complex(b)
    dz_re, dz_im = split_complex(dz)
    da = join_complex(dz_re * b_re + dz_im * b_im, dz_im * b_re - dz_re * b_im)
    db = join_complex(dz_re * a_re + dz_im * a_im, dz_im * a_re - dz_re * a_im)
    return unbroadcast(da, a.shape), unbroadcast(db, b.shape)
