"""Counterexamples hypothesis found, pinned by name so they stay fixed."""

import numpy as np
from strategies import random_batch, random_params

from fastweights_np import FastWeightsConfig, FastWeightsState, loss_and_grad, sequence_backward, sequence_forward
from fastweights_np.gradcheck import check_gradients, check_model


def test_saturated_softmax_keeps_its_tiny_loss_and_gradient():
    """Logits (69.2, −11.1) with the right label: log Σ exp rounded the loss to exactly 0 and
    exp(log p_y) − 1 rounded p_y − 1 to 0, while the other gradients (≈ 1e-35) were still
    resolved, so the check failed on every tensor. Fixed with log1p / expm1 in softmax_xent."""
    cfg = FastWeightsConfig(input_size=2, hidden_size=4, output_size=2, decay=0.0, fast_lr=1.0,
                            inner_steps=2, layer_norm=False, ln_preliminary=True)
    params = {
        "W": np.array([[-0.04639906, -0.14569844, 0.50401744, 0.59115806],
                       [0.0465551, -0.32732963, 0.06006552, 0.0126159],
                       [-0.26340494, 0.45882237, 0.34866115, -0.42277192],
                       [0.26503024, -0.42864201, -0.13004183, -0.21645641]]),
        "C": np.array([[-0.02902929, -0.32526334], [-0.79127403, -0.77856756],
                       [0.83704915, 0.49343032], [0.27762508, -0.1359878]]),
        "b": np.array([0.057766, 0.20913085, 0.03706268, -0.17644023]),
        "g": np.array([1.31531741, 1.4358042, 1.04503015, 1.47985902]),
        "beta": np.array([0.39522051, 0.08466657, 0.10499041, 0.29807056]),
        "V": np.array([[0.22893512, 0.12214231, 0.26152745, -0.13610187],
                       [-0.06212832, -0.46979374, 0.01155631, -0.21281295]]),
        "c": np.array([0.2297156, 0.37005749]),
    }
    x = np.array([[[1.34362575, 0.86713778], [-0.17834334, 0.05511197], [-0.28320206, -0.24653845]]])
    y = np.array([0])
    loss, grads = loss_and_grad(params, x, y, cfg)
    assert 1e-36 < loss < 1e-34
    assert grads["c"][0] == -grads["c"][1] != 0.0
    report = check_model(params, x, y, cfg, mode="entry")
    assert report.passed, "\n" + str(report)


def test_relu_kink_within_two_eps_of_the_point():
    """A hidden unit at 1.02e-5, within 2ε of ReLU's kink: the five-point quotient averaged the
    two slopes and C looked 35% wrong. Fixed in gradcheck by retrying a failing tensor at ε/10."""
    cfg = FastWeightsConfig(input_size=1, hidden_size=3, output_size=1, decay=0.0, fast_lr=0.0,
                            inner_steps=0, layer_norm=False)
    params = random_params(cfg, 20)
    x, _ = random_batch(cfg, 1, 3, 20)
    core = {k: params[k] for k in ("W", "C", "b", "g", "beta")}
    rng = np.random.default_rng(129)
    h0, A0 = rng.standard_normal((1, 3)), 0.3 * rng.standard_normal((1, 3, 3))
    dhs = rng.standard_normal((1, 3, 3))
    dstate = FastWeightsState(rng.standard_normal((1, 3)), rng.standard_normal((1, 3, 3)))
    (hs, _), cache = sequence_forward(core, x, cfg, FastWeightsState(h0, A0))
    assert 0 < hs[0, 2, 1] < 2e-5  # the unit next to the kink

    def f(t):
        (hs, state), _ = sequence_forward(dict(core, C=t["C"]), x, cfg, FastWeightsState(h0, A0))
        return float(np.sum(hs * dhs) + np.sum(state.h * dstate.h) + np.sum(state.A * dstate.A))

    grads, _, _ = sequence_backward((dhs, dstate), cache)
    report = check_gradients(f, {"C": core["C"]}, {"C": grads["C"]}, mode="entry")
    assert report.passed, "\n" + str(report)
    assert report.rows[0].eps < 1e-5  # passed only after the smaller step


def test_op_check_resolves_a_tiny_gradient_under_a_sum_that_cancels():
    """attention_memory with λ = 0.125, t = 5: dA_T/dA_0 = λ^5 ≈ 3e-5, so d f/d A_0 is tiny next
    to the terms of f = Σ A_T ⊙ dout, which cancel. The rounding of f scales with those terms,
    not with |f|: the check's resolution bound was 2× too small and A_0 failed at a relative
    2.5e-4 (found by hypothesis in test_ops.test_attention_memory). check_op now bounds the
    rounding by Σ|terms|."""
    from fastweights_np.cores.fast_weights.memory import attention_memory_backward, attention_memory_forward
    from fastweights_np.gradcheck import check_op

    rng = np.random.default_rng(13420)
    inputs = {"past": rng.standard_normal((3, 5, 5)), "decay": 0.125, "fast_lr": 1.0}
    inputs["A0"] = rng.standard_normal((3, 5, 5))
    report = check_op(attention_memory_forward, attention_memory_backward, inputs, ["past", "decay", "fast_lr", "A0"])
    assert report.passed, str(report)
    # a wrong gradient is still caught: the bound is the rounding's, not a blanket tolerance
    wrong = check_op(attention_memory_forward,
                     lambda dout, cache: (*attention_memory_backward(dout, cache)[:3],
                                          1.01 * attention_memory_backward(dout, cache)[3]),
                     inputs, ["past", "decay", "fast_lr", "A0"])
    assert not wrong.passed
