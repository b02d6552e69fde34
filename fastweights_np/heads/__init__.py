"""Heads on a core's hidden states: read the last state or every state, and map it to outputs.

- ``select``: h_T (B, H) or every h_t (B, T, H) from hs, and the gradient on every h_t back;
- ``linear``: out = W h + b on the selected states;
- ``mlp``: out = W₂ ReLU(W₁ h + b₁) + b₂ on the selected states (the 100 ReLU units of Sec. 4.1).

Each head's backward returns dhs (B, T, H), the gradient on every hidden state, which is what a
core's ``sequence_backward`` takes; models never build it themselves.
"""

from fastweights_np.heads.linear import linear_head_backward, linear_head_forward
from fastweights_np.heads.mlp import mlp_head_backward, mlp_head_forward
from fastweights_np.heads.select import READ_AT, select_backward, select_forward

__all__ = [
    "READ_AT",
    "linear_head_backward",
    "linear_head_forward",
    "mlp_head_backward",
    "mlp_head_forward",
    "select_backward",
    "select_forward",
]
