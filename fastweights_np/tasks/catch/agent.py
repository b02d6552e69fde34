"""The Catch agent of the paper (Sec. 4.4, App. A.3), around any registered core.

    u_t    = ReLU(W_in o_t + b_in)            the frame o_t (N² pixels) → F = 128 ReLU units
    hs     = core(u_1..u_T)                   one recurrent layer of H = 128 units (fw, irnn, lstm)
    l_t    = W_π h_t + b_π                    the policy's logits over the 3 actions, every step
    V_t    = w_v · h_t + b_v                  the value, every step

It acts step by step (:meth:`CatchAgent.act`: one frame, the carried state in and out) and
learns from a whole episode at once (:meth:`CatchAgent.loss_and_grad`: the forward over every
frame from the zero state, which computes what the steps computed, then one backward through
the episode). The loss is the actor-critic's of ``ops/actor_critic.py`` (docs/math.md §2.6).

Parameters are one flat dict: "in.W" (F, N²), "in.b" (F,), "core.<name>" for the core's,
"pi.W" (3, H), "pi.b" (3,), "v.W" (1, H), "v.b" (1,).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, NamedTuple

import numpy as np

from fastweights_np.backends import get_core
from fastweights_np.config_base import check_positive_int
from fastweights_np.heads import linear_head_backward, linear_head_forward
from fastweights_np.models.classifier import CORE_PREFIX
from fastweights_np.ops import affine_forward, relu_backward, relu_forward
from fastweights_np.ops.actor_critic import actor_critic_loss_backward, actor_critic_loss_forward
from fastweights_np.tasks.catch.env import NUM_ACTIONS
from fastweights_np.tasks.rollout import Actor, StepActor
from fastweights_np.validation import check_float_array

Params = dict[str, np.ndarray]
ACTIONS = NUM_ACTIONS  # left, stay, right
# Our defaults for the fast-weights core (the paper searches S, η and λ at random).
FW_AGENT_DEFAULTS = {"decay": 0.9, "fast_lr": 0.5, "inner_steps": 1}


@dataclass(frozen=True)
class AgentConfig:
    """The agent's sizes and core: frames of ``screen`` × ``screen`` pixels, ``input_size`` ReLU
    units, a ``core`` ("fw", "irnn", "lstm") of ``hidden_size`` units; ``core_options`` are fields
    of the core's config (for fw the defaults :data:`FW_AGENT_DEFAULTS` apply unless given)."""

    screen: int
    core: str = "fw"
    hidden_size: int = 128
    input_size: int = 128
    dtype: str = "float32"
    core_options: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for name in ("screen", "hidden_size", "input_size"):
            check_positive_int(name, getattr(self, name))

    def to_dict(self) -> dict:
        return asdict(self)


class AgentOutput(NamedTuple):
    """What the agent computes on frames (E, T, N²): logits (E, T, 3), values (E, T), the core's
    state after the last frame."""

    logits: np.ndarray
    values: np.ndarray
    state: tuple


def _affine_weight_grads(dy: np.ndarray, cache: tuple) -> tuple[np.ndarray, np.ndarray]:
    """(dW, db) of ``ops.affine_backward`` without its dx = W dy: dW = Σ_rows dy xᵀ (n_out, n_in),
    db = Σ_rows dy (n_out,), for dy (..., n_out) and the cache of ``affine_forward`` (with a
    bias); the same operations as there, so the same numbers."""
    x, _, _ = cache
    dy2 = dy.reshape(-1, dy.shape[-1])
    return dy2.T @ x.reshape(-1, x.shape[-1]), np.sum(dy2, axis=0)


class CatchAgent:
    """The agent of :class:`AgentConfig` (a core from ``backends.get_core(cfg.core, backend)``)."""

    def __init__(self, cfg: AgentConfig, backend: str = "numpy"):
        self.cfg = cfg
        self.core = get_core(cfg.core, backend=backend)
        options = dict(FW_AGENT_DEFAULTS, **cfg.core_options) if cfg.core == "fw" else dict(cfg.core_options)
        self.core_cfg = self.core.make_config(cfg.input_size, cfg.hidden_size, ACTIONS, dtype=cfg.dtype, **options)
        self.dtype = np.dtype(cfg.dtype)

    @property
    def pixels(self) -> int:
        return self.cfg.screen * self.cfg.screen

    def param_shapes(self) -> dict[str, tuple[int, ...]]:
        F, H = self.cfg.input_size, self.cfg.hidden_size
        shapes = {"in.W": (F, self.pixels), "in.b": (F,)}
        shapes.update({CORE_PREFIX + k: v for k, v in self.core.param_shapes(self.core_cfg).items()})
        shapes.update({"pi.W": (ACTIONS, H), "pi.b": (ACTIONS,), "v.W": (1, H), "v.b": (1,)})
        return shapes

    def param_count(self) -> int:
        shapes = self.param_shapes()
        own = sum(int(np.prod(s)) for k, s in shapes.items() if not k.startswith(CORE_PREFIX))
        return own + self.core.param_count(self.core_cfg)

    def init_params(self, seed: int) -> Params:
        """The core's own initialisation from ``seed``; the other weights uniform in
        ±1/sqrt(fan-in) from ``default_rng([seed, 1])`` (in, pi, v, in that order), biases 0."""
        rng = np.random.default_rng([seed, 1])
        params = {CORE_PREFIX + k: v for k, v in self.core.init_core_params(self.core_cfg, seed).items()}
        for name in ("in", "pi", "v"):
            rows, cols = self.param_shapes()[f"{name}.W"]
            params[f"{name}.W"] = (rng.uniform(-1, 1, (rows, cols)) / np.sqrt(cols)).astype(self.dtype)
            params[f"{name}.b"] = np.zeros(rows, self.dtype)
        return {k: params[k] for k in self.param_shapes()}

    def zero_state(self, episodes: int) -> tuple:
        """The core's state before the first frame, for ``episodes`` episodes."""
        return self.core.zero_state(self.core_cfg, episodes, self.dtype)

    def forward(self, params: Params, frames: np.ndarray, state0: tuple | None = None) -> tuple[AgentOutput, tuple]:
        """The agent on frames (E, T, N²) from ``state0`` (None: the zero state).

        Returns
        -------
        AgentOutput (logits (E, T, 3), values (E, T), state after frame T), and the cache for
        :meth:`backward`
        """
        frames = check_float_array("frames", frames, (None, None, self.pixels), self.dtype)
        pre, in_cache = affine_forward(frames, params["in.W"], params["in.b"])
        u, relu_cache = relu_forward(pre)
        core_params = {k[len(CORE_PREFIX):]: v for k, v in params.items() if k.startswith(CORE_PREFIX)}
        (hs, state), core_cache = self.core.sequence_forward(core_params, u, self.core_cfg, state0)
        logits, pi_cache = linear_head_forward(hs, params["pi.W"], params["pi.b"], at="all")
        values, v_cache = linear_head_forward(hs, params["v.W"], params["v.b"], at="all")
        return AgentOutput(logits, values[..., 0], state), (in_cache, relu_cache, core_cache, pi_cache, v_cache)

    def actor(self, params: Params, episodes: int) -> Actor:
        """What plays ``episodes`` episodes in step with ``params`` (unchanged while it acts):
        ``actor.act(frame (E, N²)) -> logits (E, 3)``, the state carried from the zero state.

        :class:`fastweights_np.tasks.rollout.StepActor` (:meth:`act` step after step), or, for
        the fw core on the Numba backend in the matrix form, ``tasks/catch/acting.MatrixActor``,
        which computes the same logits bit for bit with less work around them (its docstring).
        """
        if self.core.backend == "numba":
            from fastweights_np.tasks.catch.acting import MatrixActor, fast_acting

            if fast_acting(self):
                return MatrixActor(self, params, episodes)
        return StepActor(self, params, episodes)

    def act(self, params: Params, frame: np.ndarray, state: tuple) -> AgentOutput:
        """One step: the frame (E, N²) and the carried state → logits (E, 3), values (E,), the
        next state."""
        out, _ = self.forward(params, frame[:, None, :], state)
        return AgentOutput(out.logits[:, 0], out.values[:, 0], out.state)

    def backward(self, dlogits: np.ndarray, dvalues: np.ndarray, cache: tuple) -> dict[str, np.ndarray]:
        """Every parameter's gradient for upstream gradients on the logits (E, T, 3) and the values (E, T)."""
        in_cache, relu_cache, core_cache, pi_cache, v_cache = cache
        dhs_pi, dW_pi, db_pi = linear_head_backward(dlogits, pi_cache)
        dhs_v, dW_v, db_v = linear_head_backward(dvalues[..., None], v_cache)
        core_grads, du, _ = self.core.sequence_backward((dhs_pi + dhs_v, None), core_cache)
        dframes_pre = relu_backward(du, relu_cache)
        dW_in, db_in = _affine_weight_grads(dframes_pre, in_cache)  # the frames need no gradient
        grads = {"in.W": dW_in, "in.b": db_in}
        grads.update({CORE_PREFIX + k: core_grads[k] for k in self.core.param_shapes(self.core_cfg)})
        grads.update({"pi.W": dW_pi, "pi.b": db_pi, "v.W": dW_v, "v.b": db_v})
        return grads

    def loss_and_grad(self, params: Params, frames: np.ndarray, actions: np.ndarray, returns: np.ndarray, *,
                      entropy_weight: float, value_weight: float) -> tuple[float, dict[str, np.ndarray], dict]:
        """The actor-critic loss of episodes played (frames (E, T, N²), the actions taken (E, T),
        their returns (E, T)) from the zero state, every parameter's gradient, and the loss's terms
        {"policy", "entropy", "value"} (means over the E·T steps)."""
        out, cache = self.forward(params, frames)
        E, T = out.values.shape
        actions = np.asarray(actions)
        if actions.shape != (E, T) or not np.issubdtype(actions.dtype, np.integer):
            raise ValueError(f"actions must be integers of shape {(E, T)}, got {actions.dtype} {actions.shape}")
        if actions.min() < 0 or actions.max() >= ACTIONS:
            raise ValueError(f"actions must be in [0, {ACTIONS}), found {int(actions.min())}..{int(actions.max())}")
        returns = check_float_array("returns", returns, (E, T), self.dtype)
        loss, loss_cache = actor_critic_loss_forward(out.logits, out.values, actions, returns,
                                                     entropy_weight=entropy_weight, value_weight=value_weight)
        dlogits, dvalues = actor_critic_loss_backward(1.0, loss_cache)
        return loss, self.backward(dlogits, dvalues, cache), loss_cache[-1]
