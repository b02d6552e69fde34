"""The Catch agent's fast acting path (tasks/catch/acting.py, backends/numba/stepping.py) for
the fw core on the Numba backend, matrix form: it computes bit for bit what the reference
acting (``StepActor`` over ``CatchAgent.act``) computes, so played episodes, losses, gradients
and updates are unchanged; equal to the NumPy reference to the usual tolerances; checks and
errors; and the agent's backward without the frames' gradient."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from strategies import examples

from fastweights_np.finite import NonFiniteError
from fastweights_np.ops import affine_backward, affine_forward
from fastweights_np.tasks.catch.agent import AgentConfig, CatchAgent, _affine_weight_grads
from fastweights_np.tasks.catch.env import CatchConfig, CatchEnv
from fastweights_np.tasks.rollout import ReferenceActing, StepActor, play
from fastweights_np.train import actor_critic as ac

pytest.importorskip("numba")

from fastweights_np.backends.numba.stepping import MatrixStepper  # noqa: E402
from fastweights_np.tasks.catch.acting import MatrixActor, fast_acting  # noqa: E402

TOL = {"float64": dict(rtol=1e-10, atol=1e-10), "float32": dict(rtol=1e-4, atol=1e-4)}


def _agent(screen=4, hidden=8, dtype="float64", backend="numba", **options):
    options = {"form": "matrix", **options}
    return CatchAgent(AgentConfig(screen=screen, core="fw", hidden_size=hidden, input_size=6, dtype=dtype,
                                  core_options=options), backend=backend)


def _params(agent, seed, scale=0.3):
    """The agent's initialisation plus noise (no bias at exactly 0)."""
    rng = np.random.default_rng([seed, 7])
    return {k: (v + scale * rng.standard_normal(v.shape)).astype(v.dtype) for k, v in agent.init_params(seed).items()}


def _step_both(agent, params, E, seed):
    """The logits of the reference and of the agent's actor over one random episode."""
    screen = agent.cfg.screen
    env = CatchEnv(CatchConfig(size=screen, blank_after=2), E, agent.cfg.dtype)
    frame = env.reset(seed=seed)
    rng = np.random.default_rng(seed)
    reference, fast = StepActor(agent, params, E), agent.actor(params, E)
    out = []
    done = False
    while not done:
        observed = frame.reshape(E, -1)
        out.append((reference.act(observed), fast.act(observed)))
        frame, _, done = env.step(rng.integers(0, 3, E))
    return out, reference, fast


@settings(max_examples=examples(12), deadline=None)
@given(seed=st.integers(0, 2**16), E=st.integers(1, 9), dtype=st.sampled_from(["float32", "float64"]),
       hidden=st.sampled_from([4, 8, 16]), inner_steps=st.integers(0, 2), layer_norm=st.booleans())
def test_actor_is_bit_for_bit_the_reference_acting(seed, E, dtype, hidden, inner_steps, layer_norm):
    agent = _agent(screen=4, hidden=hidden, dtype=dtype, inner_steps=inner_steps, layer_norm=layer_norm)
    params = _params(agent, seed)
    steps, reference, fast = _step_both(agent, params, E, seed)
    assert isinstance(fast, MatrixActor)
    for ref, got in steps:
        assert got.dtype == ref.dtype and got.shape == ref.shape == (E, 3)
        np.testing.assert_array_equal(got, ref)
    np.testing.assert_array_equal(fast.stepper.h, reference.state.h)
    np.testing.assert_array_equal(fast.stepper.A, reference.state.A)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_actor_equals_the_numpy_reference_agent(dtype):
    fast_agent = _agent(dtype=dtype)
    numpy_agent = _agent(dtype=dtype, backend="numpy")
    params = _params(fast_agent, 3)
    E = 5
    env = CatchEnv(CatchConfig(size=4), E, dtype)
    frame = env.reset(seed=1)
    fast, reference = fast_agent.actor(params, E), StepActor(numpy_agent, params, E)
    assert isinstance(reference.agent.actor(params, E), StepActor)
    for t in range(3):
        observed = frame.reshape(E, -1)
        np.testing.assert_allclose(fast.act(observed), reference.act(observed), **TOL[dtype])
        frame, _, _ = env.step(np.full(E, t % 3))
    np.testing.assert_allclose(fast.stepper.A, reference.state.A, **TOL[dtype])


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_stepper_is_the_checked_core_of_one_step(dtype):
    agent = _agent(dtype=dtype, hidden=16)
    cfg = agent.core_cfg
    params = {k[len("core."):]: v for k, v in _params(agent, 5).items() if k.startswith("core.")}
    rng = np.random.default_rng(2)
    E = 6
    stepper = MatrixStepper(params, cfg, E)
    state = agent.zero_state(E)
    for _ in range(4):
        x = np.abs(rng.standard_normal((E, 1, cfg.input_size))).astype(dtype)
        (hs, state), _ = agent.core.sequence_forward(params, x, cfg, state)
        got = stepper.step(x)
        assert got.shape == (E, 1, cfg.hidden_size)
        np.testing.assert_array_equal(got, hs)
    np.testing.assert_array_equal(stepper.A, state.A)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_play_and_update_unchanged_by_the_fast_actor(dtype):
    agent = _agent(screen=5, hidden=8, dtype=dtype)
    cfg = ac.ActorCriticConfig(episodes=6, lr=1e-2)
    _, update = ac._optimizer(cfg)
    env = CatchEnv(CatchConfig(size=5, blank_after=2), cfg.episodes, dtype)
    states = {}
    for name, who in (("reference", ReferenceActing(agent)), ("fast", agent)):
        state = ac._fresh(who, cfg, {})
        for _ in range(3):
            state = ac._update(who, env, cfg, update, state, None, None)
        states[name] = state
        played = play(who, state.params, env, cfg.episodes, np.random.default_rng(4))
        states[name + " played"] = played
    assert states["reference"].sums == states["fast"].sums
    for k, v in states["reference"].params.items():
        np.testing.assert_array_equal(states["fast"].params[k], v, err_msg=k)
    for field in ("frames", "actions", "rewards"):
        np.testing.assert_array_equal(getattr(states["fast played"], field), getattr(states["reference played"], field))


def test_fast_acting_only_for_the_matrix_form_on_numba():
    assert fast_acting(_agent())
    for agent in (_agent(backend="numpy"), _agent(form="attention")):
        assert not fast_acting(agent)
        assert isinstance(agent.actor(agent.init_params(0), 2), StepActor)
    with pytest.raises(ValueError, match="MatrixActor acts for the fw core"):
        MatrixActor(_agent(form="attention"), _agent().init_params(0), 2)


def test_actor_checks_the_core_parameters_once():
    agent = _agent()
    params = agent.init_params(0)
    bad = dict(params, **{"core.W": params["core.W"][:, :-1]})
    with pytest.raises(ValueError, match="W"):
        agent.actor(bad, 2)
    nan = dict(params, **{"core.C": np.full_like(params["core.C"], np.nan)})
    with pytest.raises(ValueError, match="C"):
        agent.actor(nan, 2)


def test_actor_raises_on_a_non_finite_hidden_state():
    agent = _agent()
    params = agent.init_params(0)
    huge = {name: np.full_like(params[name], 1e308) for name in ("core.g", "core.beta")}  # finite, h_t is not
    params = dict(params, **huge)
    frame = np.ones((2, agent.pixels))
    with pytest.raises(NonFiniteError, match="non-finite hidden state"):  # as the reference acting
        agent.act(params, frame, agent.zero_state(2))
    with pytest.raises(NonFiniteError, match="non-finite hidden state.*acting"):
        agent.actor(params, 2).act(frame)


def test_actor_frames_checked():
    agent = _agent()
    actor = agent.actor(agent.init_params(0), 2)
    with pytest.raises(ValueError, match="frames"):
        actor.act(np.ones((2, agent.pixels + 1)))


@settings(max_examples=examples(10), deadline=None)
@given(seed=st.integers(0, 2**16), shape=st.sampled_from([(3, 5), (2, 4, 5), (1, 1, 5)]),
       dtype=st.sampled_from(["float32", "float64"]))
def test_affine_weight_grads_are_those_of_affine_backward(seed, shape, dtype):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(shape).astype(dtype)
    W, b = rng.standard_normal((7, shape[-1])).astype(dtype), rng.standard_normal(7).astype(dtype)
    y, cache = affine_forward(x, W, b)
    dy = rng.standard_normal(y.shape).astype(dtype)
    _, dW, db = affine_backward(dy, cache)
    got_dW, got_db = _affine_weight_grads(dy, cache)
    np.testing.assert_array_equal(got_dW, dW)
    np.testing.assert_array_equal(got_db, db)


@pytest.mark.parametrize("backend", ["numpy", "numba"])
def test_eps_zero_with_a_variance_of_zero_raises_the_references_error_at_its_step(backend):
    """ln_eps = 0, W = 0, b = 0 and an input layer with negative biases: a blank frame gives
    x_t = 0, so at step 2 every unit's layer-norm input is 0 (z_2 = 0, h^(0) = 0) and layer norm
    would divide 0 by 0. The actor raises the reference's error naming step 2, on either backend
    (on Numba, not the kernel's SystemError); step 1 (a lit frame) is fine."""
    agent = _agent(hidden=6, backend=backend, ln_eps=0.0, inner_steps=1)
    params = _params(agent, 3)
    params["core.W"], params["core.b"] = np.zeros_like(params["core.W"]), np.zeros_like(params["core.b"])
    params["in.b"] = -np.abs(params["in.b"]) - 0.1
    E, pixels = 3, agent.cfg.screen**2
    actor = agent.actor(params, E)
    assert np.isfinite(actor.act(np.ones((E, pixels)))).all()
    with pytest.raises(NonFiniteError) as caught:
        actor.act(np.zeros((E, pixels)))
    message = str(caught.value)
    assert message.startswith("layer norm with ln_eps = 0 would divide 0 by 0 at time step t = 2, inner step "
                              "s = 1 of S = 1: its input v (shape (3, 6)) has variance exactly 0"), message
