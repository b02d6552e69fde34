"""Which hidden states a head reads: the last one, or every one.

    at = "last":  h = h_T              (B, H);     dhs[:, t] = 0 for t < T, dhs[:, T] = dh
    at = "all":   h = hs = h_1..h_T    (B, T, H);  dhs = dh

This is the one place where the gradient on the states a head read becomes the gradient on
every hidden state (the upstream gradient of a core's BPTT). Arrays may come from any array
namespace.
"""

from __future__ import annotations

from typing import Any, NamedTuple

from fastweights_np.array_namespace import namespace, zeros

READ_AT = ("last", "all")


class SelectCache(NamedTuple):
    at: str
    shape: tuple[int, ...]


def select_forward(hs: Any, at: str) -> tuple[Any, SelectCache]:
    """h_T (B, H) when ``at`` is "last", hs (B, T, H) itself when "all"."""
    if at not in READ_AT:
        raise ValueError(f"at must be one of {READ_AT}, got {at!r}")
    return (hs[:, -1, ...] if at == "last" else hs), SelectCache(at, tuple(hs.shape))


def select_backward(dh: Any, cache: SelectCache) -> Any:
    """dhs (B, T, H) from the gradient on what :func:`select_forward` returned."""
    if cache.at == "all":
        return dh
    dhs = zeros(namespace(dh), cache.shape, dh)
    dhs[:, -1, ...] = dh
    return dhs
