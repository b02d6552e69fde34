"""A faster way for the Catch agent to act step by step with the fast-weights core on the
Numba kernels (matrix form): :class:`MatrixActor`, what ``CatchAgent.actor`` returns there.

It computes, bit for bit, the logits that :meth:`CatchAgent.act` computes step after step from
the zero state (tests/test_catch_fast_path.py holds them equal):

    u_t = ReLU(W_in o_t + b_in)      (E, 1, F), the same NumPy ops on the same (E, 1, N²) view
    h_t = core step (u_t; h_{t-1}, A_{t-1})       ``backends/numba/stepping.py``, A in place
    l_t = W_π h_t + b_π              (E, 3), the head on the (E, 1, H) view of h_t

What it leaves out is work around the numbers: the core's inputs are checked once per episode
(at the start, with the parameters), not at every step; the (E, H, H) state is updated in place
instead of copied into a new array at every step; the value head is not computed (playing only
samples from the policy). The hidden states are checked finite at every step
(NonFiniteError, as the checked core raises); the final A_T is checked by the learning pass's
forward over the episode.

This module imports the Numba backend; the reference (``agent.py``, ``rollout.py``) does not
import it.
"""

from __future__ import annotations

import numpy as np

from fastweights_np.backends.numba.stepping import MatrixStepper
from fastweights_np.finite import check_forward, quiet_floating_point
from fastweights_np.heads import linear_head_forward
from fastweights_np.models.classifier import CORE_PREFIX
from fastweights_np.ops import affine_forward, relu_forward
from fastweights_np.validation import check_float_array


def fast_acting(agent: object) -> bool:
    """Whether :class:`MatrixActor` computes ``agent``'s steps: the fw core on the Numba
    backend, in the matrix form, the paper's model (ReLU, ``fast_weight_timing="paper"``)."""
    cfg = getattr(agent, "core_cfg", None)
    core = getattr(agent, "core", None)
    return (getattr(core, "name", None), getattr(core, "backend", None)) == ("fw", "numba") and (
        getattr(cfg, "form", None), getattr(cfg, "fast_weight_timing", None), getattr(cfg, "activation", None)
    ) == ("matrix", "paper", "relu")


class MatrixActor:
    """``agent`` (a ``CatchAgent`` for which :func:`fast_acting` holds) acting on ``episodes``
    episodes in step from the zero state with ``params``, which must not change while it acts.

    The core's parameters are checked here, once (``Core.check_sequence_inputs``: TypeError /
    ValueError naming the parameter, the expected and the actual shape, dtype or value).
    """

    def __init__(self, agent, params: dict[str, np.ndarray], episodes: int):
        if not fast_acting(agent):
            raise ValueError("MatrixActor acts for the fw core on the Numba backend in the matrix form (paper "
                             f"model) only, got core {agent.core.name!r} on {agent.core.backend!r}, "
                             f"cfg {agent.core_cfg}")
        self.agent, self.params, self.episodes = agent, params, episodes
        cfg = agent.core_cfg
        core_params = {k[len(CORE_PREFIX):]: v for k, v in params.items() if k.startswith(CORE_PREFIX)}
        probe = np.zeros((episodes, 1, cfg.input_size), agent.dtype)
        core_params, _, _ = agent.core.check_sequence_inputs(core_params, probe, cfg, agent.zero_state(episodes))
        self.stepper = MatrixStepper(core_params, cfg, episodes)
        self.where = f"the 'fw' core's sequence_forward (backend 'numba'), acting ({type(self).__name__})"

    def act(self, frame: np.ndarray) -> np.ndarray:
        """The logits (E, 3) for the frames (E, N²), the state carried to the next call."""
        agent, params = self.agent, self.params
        frames = check_float_array("frames", frame[:, None, :], (None, None, agent.pixels), agent.dtype)
        pre, _ = affine_forward(frames, params["in.W"], params["in.b"])
        u, _ = relu_forward(pre)
        x = check_float_array("x", u, (self.episodes, 1, agent.core_cfg.input_size), agent.dtype)
        with quiet_floating_point():  # as the checked core runs its forward
            hs = self.stepper.step(x)
            check_forward(hs, None, self.where, None, agent.core_cfg)
        logits, _ = linear_head_forward(hs, params["pi.W"], params["pi.b"], at="all")
        return logits[:, 0]
