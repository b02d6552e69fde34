"""The Catch agent (tasks/catch/agent.py): acting step by step with a carried state computes what
one forward over the episode computes; its gradient, with the sampled actions and the advantage
held fixed, against finite differences in float64 for every core."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from strategies import examples

from fastweights_np.gradcheck import check_gradients
from fastweights_np.ops.actor_critic import entropy_forward, log_prob_forward, value_loss_forward
from fastweights_np.tasks.catch.agent import ACTIONS, AgentConfig, CatchAgent

CORES = ("fw", "irnn", "lstm")


def _agent(core, screen=3, hidden=4, dtype="float64", backend="numpy", **options):
    return CatchAgent(AgentConfig(screen=screen, core=core, hidden_size=hidden, input_size=5, dtype=dtype,
                                  core_options=options), backend=backend)


def _frames(rng, E, T, screen):
    return (rng.random((E, T, screen * screen)) < 0.3).astype(np.float64)


@pytest.mark.parametrize("core", CORES)
def test_acting_step_by_step_equals_the_forward_over_the_episode(core):
    agent = _agent(core)
    rng = np.random.default_rng(0)
    params = agent.init_params(0)
    frames = _frames(rng, 2, 5, 3)
    whole, _ = agent.forward(params, frames)
    state = agent.zero_state(2)
    for t in range(5):
        step = agent.act(params, frames[:, t], state)
        np.testing.assert_allclose(step.logits, whole.logits[:, t], rtol=1e-12, atol=1e-14)
        np.testing.assert_allclose(step.values, whole.values[:, t], rtol=1e-12, atol=1e-14)
        state = step.state
    for part, final in zip(state, whole.state, strict=True):
        np.testing.assert_allclose(part, final, rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("core", CORES)
@settings(max_examples=examples(4), deadline=None)
@given(seed=st.integers(0, 2**16), E=st.integers(1, 3), T=st.integers(1, 4), beta=st.floats(0, 0.1),
       c=st.floats(0.1, 1))
def test_agent_gradients_with_actions_and_advantage_held_fixed(core, seed, E, T, beta, c):
    agent = _agent(core)
    rng = np.random.default_rng(seed)
    params = {k: v + 0.1 * rng.standard_normal(v.shape) for k, v in agent.init_params(seed).items()}
    frames = _frames(rng, E, T, 3)
    actions = rng.integers(0, ACTIONS, (E, T))
    returns = rng.choice([-1.0, 1.0], (E, T))
    loss, grads, terms = agent.loss_and_grad(params, frames, actions, returns, entropy_weight=beta, value_weight=c)
    assert set(grads) == set(params) and set(terms) == {"policy", "entropy", "value"}
    advantage = returns - agent.forward(params, frames)[0].values  # a constant of the policy term

    def f(p):
        out, _ = agent.forward(p, frames)
        return float(np.mean(-advantage * log_prob_forward(out.logits, actions)[0]
                             - beta * entropy_forward(out.logits)[0] + c * value_loss_forward(out.values, returns)[0]))

    assert np.isclose(f(params), loss, rtol=1e-12)
    report = check_gradients(f, params, grads, mode="direction", directions=2, seed=seed)
    assert report.passed, "\n" + str(report)


def test_agent_sizes_and_bad_inputs():
    agent = _agent("fw", screen=4, hidden=6)
    shapes = agent.param_shapes()
    assert shapes["in.W"] == (5, 16) and shapes["pi.W"] == (3, 6) and shapes["v.W"] == (1, 6)
    assert agent.param_count() == 5 * 16 + 5 + agent.core.param_count(agent.core_cfg) + 3 * 6 + 3 + 6 + 1
    params = agent.init_params(0)
    frames = np.zeros((2, 3, 16))
    with pytest.raises(ValueError, match=r"frames must have shape \(any, any, 16\)"):
        agent.forward(params, np.zeros((2, 3, 9)))
    with pytest.raises(ValueError, match="actions must be integers of shape"):
        agent.loss_and_grad(params, frames, np.zeros((2, 2), int), np.zeros((2, 3)), entropy_weight=0.01,
                            value_weight=0.5)
    with pytest.raises(ValueError, match=r"actions must be in \[0, 3\)"):
        agent.loss_and_grad(params, frames, np.full((2, 3), 3), np.zeros((2, 3)), entropy_weight=0.01,
                            value_weight=0.5)


@pytest.mark.parametrize("core", CORES)
def test_the_numba_agent_equals_the_reference(core):
    pytest.importorskip("numba")
    rng = np.random.default_rng(1)
    ref, fast = _agent(core), _agent(core, backend="numba")
    params = ref.init_params(3)
    frames, actions, returns = _frames(rng, 3, 4, 3), rng.integers(0, 3, (3, 4)), rng.choice([-1.0, 1.0], (3, 4))
    a = ref.loss_and_grad(params, frames, actions, returns, entropy_weight=0.01, value_weight=0.5)
    b = fast.loss_and_grad(params, frames, actions, returns, entropy_weight=0.01, value_weight=0.5)
    assert np.isclose(a[0], b[0], rtol=1e-10)
    for name in a[1]:
        np.testing.assert_allclose(b[1][name], a[1][name], rtol=1e-8, atol=1e-12, err_msg=name)
