"""Learning-rate schedules: the step size α_k of update k = 1, ..., K.

    constant:  α_k = α
    cosine:    α_k = α · (1 + cos(π (k − 1) / K)) / 2          (α_1 = α, falling towards 0 at k = K)

The cosine form is SGDR's without restarts (Loshchilov & Hutter 2017; PyTorch's
``CosineAnnealingLR`` with ``eta_min=0`` and ``T_max=K``). It depends on the budget K, so a run
whose budget is extended on resume follows the longer schedule from there on.
"""

from __future__ import annotations

import math

SCHEDULES = ("constant", "cosine")


def learning_rate(lr: float, step: int, total_steps: int, schedule: str = "constant") -> float:
    """α_k for update ``step`` = k (1-based) of ``total_steps`` = K (module docstring).

    Parameters
    ----------
    lr : α, the base learning rate (> 0)
    step : k, 1 ≤ k ≤ K
    total_steps : K
    schedule : one of :data:`SCHEDULES`
    """
    if schedule not in SCHEDULES:
        raise ValueError(f"schedule must be one of {SCHEDULES}, got {schedule!r}")
    if not 1 <= step <= total_steps:
        raise ValueError(f"step must be in [1, total_steps={total_steps}], got {step}")
    if schedule == "constant":
        return lr
    return lr * 0.5 * (1.0 + math.cos(math.pi * (step - 1) / total_steps))
