"""Every op and every step against central finite differences, float64, random upstream gradient."""

from functools import partial

import numpy as np
import pytest
from helpers_steps import attention_step_backward, attention_step_forward, inner_loop_backward, inner_loop_forward
from hypothesis import given, settings
from hypothesis import strategies as st
from strategies import configs, examples, hidden_sizes, unit_scalars

from fastweights_np.cores.fast_weights.memory import (
    attention_memory_backward,
    attention_memory_forward,
    attention_read_backward,
    attention_read_forward,
    fast_update_backward,
    fast_update_forward,
    matrix_read_backward,
    matrix_read_forward,
)
from fastweights_np.cores.fast_weights.step import matrix_step_backward, matrix_step_forward
from fastweights_np.gradcheck import check_gradients, check_op
from fastweights_np.ops import (
    affine_backward,
    affine_forward,
    layernorm_backward,
    layernorm_forward,
    relu_backward,
    relu_forward,
    softmax_xent_backward,
    softmax_xent_forward,
)

TOL = 1e-6
seeds = st.integers(0, 2**16)
dims = st.integers(1, 5)


def _assert(report):
    assert report.passed, "\n" + str(report)


@settings(max_examples=examples(30))
@given(seeds, dims, dims, dims, st.booleans())
def test_affine(seed, rows, n_in, n_out, bias):
    rng = np.random.default_rng(seed)
    inputs = {"x": rng.standard_normal((rows, 2, n_in)), "W": rng.standard_normal((n_out, n_in))}
    inputs["b"] = rng.standard_normal(n_out) if bias else None
    if not bias:
        inputs.pop("b")
        forward = partial(affine_forward, b=None)
    else:
        forward = affine_forward
    _assert(check_op(forward, affine_backward, inputs, ["x", "W", "b"], seed=seed))


@settings(max_examples=examples(20))
@given(seeds, dims, dims)
def test_relu(seed, rows, n):
    # values kept away from the kink at 0, where the derivative is a convention
    rng = np.random.default_rng(seed)
    v = rng.uniform(0.1, 1.0, (rows, n)) * rng.choice([-1, 1], (rows, n))
    _assert(check_op(lambda v: relu_forward(v), relu_backward, {"v": v}, ["v"], seed=seed))


@settings(max_examples=examples(30))
@given(seeds, dims, hidden_sizes(6, layer_norm=True), st.sampled_from([1e-5, 1e-2]))
def test_layernorm(seed, rows, H, eps):
    rng = np.random.default_rng(seed)
    inputs = {"v": rng.standard_normal((rows, 2, H)), "g": rng.standard_normal(H), "beta": rng.standard_normal(H)}
    _assert(check_op(partial(layernorm_forward, eps=eps), layernorm_backward, inputs, ["v", "g", "beta"], seed=seed))


@pytest.mark.parametrize("seed", range(5))
def test_layernorm_two_units(seed):
    """H = 2 where the two inputs differ by about sqrt(ε), so the Jacobian is not negligible."""
    rng = np.random.default_rng(seed)
    inputs = {"v": 3e-3 * rng.standard_normal((3, 2)), "g": rng.standard_normal(2), "beta": rng.standard_normal(2)}
    _assert(check_op(partial(layernorm_forward, eps=1e-5), layernorm_backward, inputs, ["v", "g", "beta"]))


def test_layernorm_statistics_are_per_example():
    v = np.random.default_rng(0).standard_normal((4, 7)) * np.arange(1, 5)[:, None]
    out, _ = layernorm_forward(v, np.ones(7), np.zeros(7), 1e-5)
    np.testing.assert_allclose(out.mean(axis=-1), 0, atol=1e-12)
    np.testing.assert_allclose(out.var(axis=-1), 1, rtol=1e-4)
    alone, _ = layernorm_forward(v[2:3], np.ones(7), np.zeros(7), 1e-5)
    np.testing.assert_array_equal(alone, out[2:3])


@settings(max_examples=examples(30))
@given(seeds, st.integers(1, 5), st.integers(1, 6))
def test_softmax_xent(seed, B, O):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, O, B)

    def forward(logits):
        loss, cache = softmax_xent_forward(logits, y)
        return np.array(loss), cache

    def backward(d, cache):
        return softmax_xent_backward(float(d), cache)

    _assert(check_op(forward, backward, {"logits": rng.standard_normal((B, O))}, ["logits"], seed=seed))


def test_softmax_xent_is_stable_for_large_logits():
    loss, _ = softmax_xent_forward(np.array([[1000.0, 0.0]]), np.array([1]))
    assert loss == pytest.approx(1000.0)
    # a confident right answer keeps its tiny loss exp(-80) instead of rounding to 0
    loss, cache = softmax_xent_forward(np.array([[80.0, 0.0, -1.0]]), np.array([0]))
    assert loss == pytest.approx(np.exp(-80) + np.exp(-81), rel=1e-12)
    np.testing.assert_allclose(softmax_xent_backward(1.0, cache)[0, 0], -loss, rtol=1e-12)


@settings(max_examples=examples(30))
@given(seeds, dims, dims, unit_scalars, unit_scalars)
def test_fast_update(seed, B, H, decay, fast_lr):
    rng = np.random.default_rng(seed)
    inputs = {"A_prev": rng.standard_normal((B, H, H)), "h_prev": rng.standard_normal((B, H)),
              "decay": decay, "fast_lr": fast_lr}
    _assert(check_op(fast_update_forward, fast_update_backward, inputs, ["A_prev", "h_prev", "decay", "fast_lr"]))


@settings(max_examples=examples(20))
@given(seeds, dims, dims)
def test_matrix_read(seed, B, H):
    rng = np.random.default_rng(seed)
    inputs = {"A": rng.standard_normal((B, H, H)), "u": rng.standard_normal((B, H))}
    _assert(check_op(matrix_read_forward, matrix_read_backward, inputs, ["u", "A"]))


@settings(max_examples=examples(40))
@given(seeds, dims, st.integers(1, 5), dims, unit_scalars, unit_scalars, st.booleans())
def test_attention_read(seed, B, t, H, decay, fast_lr, with_A0):
    rng = np.random.default_rng(seed)
    inputs = {"past": rng.standard_normal((B, t, H)), "u": rng.standard_normal((B, H)),
              "decay": decay, "fast_lr": fast_lr}
    wrt = ["u", "past", "decay", "fast_lr", "A0"]
    if with_A0:
        inputs["A0"] = rng.standard_normal((B, H, H))
    _assert(check_op(attention_read_forward, attention_read_backward, inputs, wrt))


@settings(max_examples=examples(40))
@given(seeds, dims, st.integers(1, 5), dims, unit_scalars, unit_scalars, st.booleans())
def test_attention_memory(seed, B, t, H, decay, fast_lr, with_A0):
    rng = np.random.default_rng(seed)
    inputs = {"past": rng.standard_normal((B, t, H)), "decay": decay, "fast_lr": fast_lr}
    if with_A0:
        inputs["A0"] = rng.standard_normal((B, H, H))
    _assert(check_op(attention_memory_forward, attention_memory_backward, inputs, ["past", "decay", "fast_lr", "A0"]))


@settings(max_examples=examples(20))
@given(seeds, dims, st.integers(1, 5), dims, unit_scalars, unit_scalars)
def test_attention_read_equals_matrix_read(seed, B, t, H, decay, fast_lr):
    """Eq. 4 = Eq. 1 then A u: the two forms of one read give the same numbers."""
    rng = np.random.default_rng(seed)
    past, u, A0 = rng.standard_normal((B, t, H)), rng.standard_normal((B, H)), rng.standard_normal((B, H, H))
    A = A0
    for tau in range(t):
        A, _ = fast_update_forward(A, past[:, tau], decay, fast_lr)
    y_matrix, _ = matrix_read_forward(A, u)
    y_attention, _ = attention_read_forward(past, u, decay, fast_lr, A0)
    np.testing.assert_allclose(y_attention, y_matrix, rtol=1e-10, atol=1e-10)
    A_formed, _ = attention_memory_forward(past, decay, fast_lr, A0)
    np.testing.assert_allclose(A_formed, A, rtol=1e-10, atol=1e-10)


# ------------------------------------------------------------------------- inner loop and steps
@st.composite
def step_cases(draw):
    return draw(seeds), draw(st.integers(1, 3)), draw(configs())


def _step_tensors(rng, B, H, t):
    return {
        "past": rng.standard_normal((B, t, H)),
        "A_prev": rng.standard_normal((B, H, H)) * 0.3,
        "drive": rng.standard_normal((B, H)),
        "W": rng.standard_normal((H, H)) * 0.5,
        "g": 1 + 0.3 * rng.standard_normal(H),
        "beta": 0.3 * rng.standard_normal(H),
    }


@settings(max_examples=examples(40))
@given(step_cases())
def test_inner_loop(case):
    seed, B, cfg = case
    rng = np.random.default_rng(seed)
    H = cfg.hidden_size
    theta = {"z": rng.standard_normal((B, H)), "A": rng.standard_normal((B, H, H)) * 0.5,
             "g": 1 + 0.3 * rng.standard_normal(H), "beta": 0.3 * rng.standard_normal(H)}
    dh = rng.standard_normal((B, H))

    def f(t):
        h, _ = inner_loop_forward(t["z"], partial(matrix_read_forward, t["A"]), t["g"], t["beta"], cfg)
        return float(np.sum(h * dh))

    _, cache = inner_loop_forward(theta["z"], partial(matrix_read_forward, theta["A"]), theta["g"], theta["beta"], cfg)
    dz, dg, dbeta, memory_grads = inner_loop_backward(dh, cache, matrix_read_backward)
    dA = sum((m[0] for m in memory_grads), np.zeros_like(theta["A"]))
    _assert(check_gradients(f, theta, {"z": dz, "A": dA, "g": dg, "beta": dbeta}))


@settings(max_examples=examples(40))
@given(step_cases())
def test_matrix_step(case):
    seed, B, cfg = case
    rng = np.random.default_rng(seed)
    theta = _step_tensors(rng, B, cfg.hidden_size, 1)
    theta["h_prev"] = theta.pop("past")[:, 0]
    theta.update(decay=cfg.decay, fast_lr=cfg.fast_lr)
    dh, dA = rng.standard_normal(theta["h_prev"].shape), rng.standard_normal(theta["A_prev"].shape)

    def run(t):
        params = {"W": t["W"], "g": t["g"], "beta": t["beta"]}
        decay, fast_lr = float(t["decay"]), float(t["fast_lr"])
        return matrix_step_forward(t["h_prev"], t["A_prev"], t["drive"], params, decay, fast_lr, cfg)

    def f(t):
        (h, A), _ = run(t)
        return float(np.sum(h * dh) + np.sum(A * dA))

    _, cache = run(theta)
    dh_prev, dA_prev, ddrive, grads = matrix_step_backward((dh, dA), cache)
    analytic = dict(grads, h_prev=dh_prev, A_prev=dA_prev, drive=ddrive)
    _assert(check_gradients(f, theta, analytic))


@settings(max_examples=examples(40))
@given(step_cases(), st.integers(1, 4), st.booleans())
def test_attention_step(case, t, with_A0):
    seed, B, cfg = case
    rng = np.random.default_rng(seed)
    theta = _step_tensors(rng, B, cfg.hidden_size, t)
    theta.update(decay=cfg.decay, fast_lr=cfg.fast_lr)
    if not with_A0:
        theta.pop("A_prev")
    dh = rng.standard_normal((B, cfg.hidden_size))

    def run(t):
        params = {"W": t["W"], "g": t["g"], "beta": t["beta"]}
        return attention_step_forward(t["past"], t["drive"], params, float(t["decay"]), float(t["fast_lr"]),
                                      t.get("A_prev"), cfg)

    def f(t):
        h, _ = run(t)
        return float(np.sum(h * dh))

    _, cache = run(theta)
    dpast, ddrive, grads, dA0 = attention_step_backward(dh, cache)
    analytic = dict(grads, past=dpast, drive=ddrive)
    if with_A0:
        analytic["A_prev"] = dA0 if dA0 is not None else np.zeros_like(theta["A_prev"])
    _assert(check_gradients(f, theta, analytic))
