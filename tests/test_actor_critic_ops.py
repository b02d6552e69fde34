"""The actor-critic's loss ops (ops/actor_critic.py) against finite differences in float64, with
the sampled actions held fixed; the composite loss with the advantage held fixed."""

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from strategies import examples

from fastweights_np.gradcheck import check_gradients, check_op
from fastweights_np.ops.actor_critic import (
    actor_critic_loss_backward,
    actor_critic_loss_forward,
    entropy_backward,
    entropy_forward,
    log_prob_backward,
    log_prob_forward,
    value_loss_backward,
    value_loss_forward,
)

seeds = st.integers(0, 2**16)
dims = st.integers(1, 4)
actions_n = st.integers(2, 5)


def _assert(report):
    assert report.passed, "\n" + str(report)


@settings(max_examples=examples(20))
@given(seeds, dims, dims, actions_n)
def test_log_prob(seed, E, T, A):
    rng = np.random.default_rng(seed)
    actions = rng.integers(0, A, (E, T))
    _assert(check_op(lambda logits: log_prob_forward(logits, actions), log_prob_backward,
                     {"logits": 2 * rng.standard_normal((E, T, A))}, ["logits"], seed=seed))


@settings(max_examples=examples(20))
@given(seeds, dims, dims, actions_n)
def test_entropy(seed, E, T, A):
    rng = np.random.default_rng(seed)
    _assert(check_op(entropy_forward, entropy_backward, {"logits": 2 * rng.standard_normal((E, T, A))}, ["logits"],
                     seed=seed))


@settings(max_examples=examples(20))
@given(seeds, dims, dims)
def test_value_loss(seed, E, T):
    rng = np.random.default_rng(seed)
    returns = rng.standard_normal((E, T))
    _assert(check_op(lambda values: value_loss_forward(values, returns), value_loss_backward,
                     {"values": rng.standard_normal((E, T))}, ["values"], seed=seed))


def test_entropy_and_log_prob_values():
    uniform = np.zeros((1, 1, 3))
    np.testing.assert_allclose(entropy_forward(uniform)[0], np.log(3), rtol=1e-15)
    np.testing.assert_allclose(log_prob_forward(uniform, np.array([[2]]))[0], -np.log(3), rtol=1e-15)
    sure = np.array([[[50.0, 0.0, 0.0]]])  # a confident policy keeps a tiny, resolved entropy
    H = entropy_forward(sure)[0]
    assert 0 < H[0, 0] < 1e-19


@settings(max_examples=examples(20))
@given(seeds, dims, dims, actions_n, st.floats(0, 0.1), st.floats(0, 1))
def test_actor_critic_loss_with_the_advantage_held_fixed(seed, E, T, A, beta, c):
    rng = np.random.default_rng(seed)
    logits, values = rng.standard_normal((E, T, A)), rng.standard_normal((E, T))
    actions, returns = rng.integers(0, A, (E, T)), rng.standard_normal((E, T))
    loss, cache = actor_critic_loss_forward(logits, values, actions, returns, entropy_weight=beta, value_weight=c)
    dlogits, dvalues = actor_critic_loss_backward(1.0, cache)
    advantage = returns - values  # a constant of the policy term

    def f(t):
        lp = log_prob_forward(t["logits"], actions)[0]
        H = entropy_forward(t["logits"])[0]
        e = value_loss_forward(t["values"], returns)[0]
        return float(np.mean(-advantage * lp - beta * H + c * e))

    assert np.isclose(f({"logits": logits, "values": values}), loss, rtol=1e-14, atol=1e-15)
    _assert(check_gradients(f, {"logits": logits, "values": values}, {"logits": dlogits, "values": dvalues},
                            mode="both", seed=seed))
    terms = cache[-1]
    assert np.isclose(loss, terms["policy"] - beta * terms["entropy"] + c * terms["value"])
