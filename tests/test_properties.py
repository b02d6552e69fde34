"""Properties the math implies: two forms agree, runs compose, examples are independent,
η = 0 is a plain layer-normalised RNN, λ = 0 keeps only the last outer product."""

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from strategies import examples, random_params, stable_problems

from fastweights_np import (
    FastWeightsConfig,
    FastWeightsState,
    hidden_states,
    loss_and_grad,
    sequence_backward,
    sequence_forward,
)

CORE = ("W", "C", "b", "g", "beta")


def _core(params):
    return {k: params[k] for k in CORE}


def _assert_grads_close(a, b, rtol=1e-9, atol=1e-12):
    assert set(a) == set(b)
    for k in a:
        np.testing.assert_allclose(a[k], b[k], rtol=rtol, atol=atol, err_msg=k)


@settings(max_examples=examples(40))
@given(stable_problems(max_batch=3, max_steps=6, max_hidden=6, form="matrix"))
def test_matrix_form_equals_attention_form(problem):
    cfg, params, x, y = problem
    loss_m, grads_m = loss_and_grad(params, x, y, cfg)
    loss_a, grads_a = loss_and_grad(params, x, y, cfg.replace(form="attention"))
    assert abs(loss_m - loss_a) <= 1e-10 * max(1.0, abs(loss_m))
    _assert_grads_close(grads_m, grads_a, rtol=1e-8, atol=1e-10)


@settings(max_examples=examples(40))
@given(stable_problems(max_batch=3, max_steps=6, max_hidden=5), st.data())
def test_one_run_equals_two_half_runs(problem, data):
    """Carrying (h_T, A_T) into a second run reproduces the one long run, values and gradients
    (the second run's dstate0 feeds the first run's backward)."""
    cfg, params, x, _ = problem
    T = x.shape[1]
    if T < 2:
        x = np.concatenate([x, x], axis=1)
        T = 2
    split = data.draw(st.integers(1, T - 1))
    rng = np.random.default_rng(split)
    dhs = rng.standard_normal((x.shape[0], T, cfg.hidden_size))
    core = _core(params)

    (hs, state), cache = sequence_forward(core, x, cfg)
    (hs1, state1), cache1 = sequence_forward(core, x[:, :split], cfg)
    (hs2, state2), cache2 = sequence_forward(core, x[:, split:], cfg, state1)
    np.testing.assert_allclose(np.concatenate([hs1, hs2], axis=1), hs, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(state2.A, state.A, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(state2.h, state.h, rtol=1e-10, atol=1e-12)

    grads, dx, _ = sequence_backward((dhs, None), cache)
    grads2, dx2, dstate_mid = sequence_backward((dhs[:, split:], None), cache2)
    grads1, dx1, dstate0 = sequence_backward((dhs[:, :split], dstate_mid), cache1)
    assert dstate0 is None
    summed = {k: grads1[k] + grads2[k] for k in grads}
    _assert_grads_close(summed, grads, rtol=1e-8, atol=1e-10)
    np.testing.assert_allclose(np.concatenate([dx1, dx2], axis=1), dx, rtol=1e-8, atol=1e-10)


@settings(max_examples=examples(30))
@given(stable_problems(max_batch=4, max_steps=4, max_hidden=5), st.data())
def test_batch_permutation_and_split(problem, data):
    """Each example's outputs depend on that example only: permuting the batch permutes them,
    and the batch loss and gradient are the means of the single-example ones (this fails if
    layer norm takes its statistics over the batch)."""
    cfg, params, x, y = problem
    B = x.shape[0]
    perm = np.array(data.draw(st.permutations(range(B))))
    hs = hidden_states(params, x, cfg)
    np.testing.assert_allclose(hidden_states(params, x[perm], cfg), hs[perm], rtol=1e-12, atol=1e-14)

    loss, grads = loss_and_grad(params, x, y, cfg)
    singles = [loss_and_grad(params, x[i : i + 1], y[i : i + 1], cfg) for i in range(B)]
    np.testing.assert_allclose(np.concatenate([hidden_states(params, x[i : i + 1], cfg) for i in range(B)]), hs,
                               rtol=1e-12, atol=1e-14)
    assert abs(np.mean([s[0] for s in singles]) - loss) <= 1e-12 * max(1.0, abs(loss))
    mean_grads = {k: np.mean([s[1][k] for s in singles], axis=0) for k in grads}
    _assert_grads_close(mean_grads, grads, rtol=1e-9, atol=1e-12)


def _plain_ln_rnn(params, x, eps):
    """h_t = ReLU(LN(W h_{t-1} + C x_t + b)), written out independently of the package."""
    B, T, _ = x.shape
    h = np.zeros((B, params["W"].shape[0]))
    out = []
    for t in range(T):
        a = h @ params["W"].T + x[:, t] @ params["C"].T + params["b"]
        mu = a.mean(axis=1, keepdims=True)
        var = ((a - mu) ** 2).mean(axis=1, keepdims=True)
        h = np.maximum(params["g"] * (a - mu) / np.sqrt(var + eps) + params["beta"], 0.0)
        out.append(h)
    return np.stack(out, axis=1)


@settings(max_examples=examples(20))
@given(st.integers(0, 2**16), st.integers(1, 3), st.sampled_from(["matrix", "attention"]))
def test_zero_fast_lr_is_a_layer_normalised_rnn(seed, inner_steps, form):
    cfg = FastWeightsConfig(3, 6, 2, fast_lr=0.0, inner_steps=inner_steps, form=form)
    params = random_params(cfg, seed)
    x = np.random.default_rng(seed).standard_normal((3, 5, 3))
    np.testing.assert_allclose(hidden_states(params, x, cfg), _plain_ln_rnn(params, x, cfg.ln_eps),
                               rtol=1e-12, atol=1e-14)


@settings(max_examples=examples(20))
@given(st.integers(0, 2**16), st.integers(1, 3), st.sampled_from(["matrix", "attention"]))
def test_zero_decay_keeps_only_the_last_outer_product(seed, inner_steps, form):
    """λ = 0: A_t = η h_{t-1} h_{t-1}ᵀ, whatever came before."""
    cfg = FastWeightsConfig(3, 5, 2, decay=0.0, fast_lr=0.7, inner_steps=inner_steps, form=form)
    params = random_params(cfg, seed)
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((2, 6, 3))
    state0 = FastWeightsState(rng.standard_normal((2, 5)), rng.standard_normal((2, 5, 5)))
    (hs, state), _ = sequence_forward(_core(params), x, cfg, state0)
    h_prev = hs[:, -2]
    np.testing.assert_allclose(state.A, 0.7 * h_prev[:, :, None] * h_prev[:, None, :], rtol=1e-12, atol=1e-14)
    # and the last step only saw that memory: rerunning it alone from (h_{T-1}, anything) agrees
    (hs_last, _), _ = sequence_forward(_core(params), x[:, -1:], cfg, FastWeightsState(h_prev, 5.0 * state0.A))
    np.testing.assert_allclose(hs_last[:, 0], hs[:, -1], rtol=1e-12, atol=1e-14)


def test_zero_inner_steps_is_a_plain_relu_rnn():
    cfg = FastWeightsConfig(3, 4, 2, inner_steps=0, layer_norm=True)
    params = random_params(cfg, 1)
    x = np.random.default_rng(1).standard_normal((2, 4, 3))
    h = np.zeros((2, 4))
    for t in range(4):
        h = np.maximum(h @ params["W"].T + x[:, t] @ params["C"].T + params["b"], 0)
    np.testing.assert_allclose(hidden_states(params, x, cfg)[:, -1], h, rtol=1e-12)


def test_first_step_fast_weights_hold_h0():
    """A_1 = λ A_0 + η h_0 h_0ᵀ: the memory used at step t already contains h_{t-1}."""
    cfg = FastWeightsConfig(2, 3, 2, decay=0.5, fast_lr=0.25)
    params = random_params(cfg, 2)
    rng = np.random.default_rng(2)
    h0, A0 = rng.standard_normal((1, 3)), rng.standard_normal((1, 3, 3))
    (_, state), _ = sequence_forward(_core(params), rng.standard_normal((1, 1, 2)), cfg, FastWeightsState(h0, A0))
    np.testing.assert_allclose(state.A, 0.5 * A0 + 0.25 * h0[:, :, None] * h0[:, None, :], rtol=1e-14)
