"""The MNIST convolutional baseline (fastweights_np.tasks.mnist.convnet): each layer and the whole
loss against finite differences (float64), its forward against a direct loop over the equations,
which glimpse steps it reads, its inputs' checks, and its parameters."""

import re

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from strategies import examples

from fastweights_np.gradcheck import check_gradients, check_op
from fastweights_np.tasks.mnist.convnet import (
    PATCH_STEPS,
    ConvNet,
    ConvNetConfig,
    image_layer_backward,
    image_layer_forward,
    patch_layer_backward,
    patch_layer_forward,
    quadrant_layer_backward,
    quadrant_layer_forward,
    select_patches,
)
from fastweights_np.tasks.mnist.glimpses import STEP_KINDS, glimpses

seeds = st.integers(0, 2**16)
batches = st.integers(1, 4)
widths = st.integers(1, 6)


def _assert(report):
    assert report.passed, "\n" + str(report)


def _weights(rng, n_out, n_in):
    """Gaussian weights of fan-in n_in and a positive bias, so most ReLUs are active and the
    checks test something (a dead layer has zero gradients, which finite differences agree with)."""
    return rng.standard_normal((n_out, n_in)) / np.sqrt(n_in), rng.uniform(0.1, 0.5, n_out)


def _model_point(K, seed):
    """A float64 model, a point near its initialisation with positive biases, and random glimpses."""
    model = ConvNet(ConvNetConfig(hidden_size=K, dtype="float64"))
    rng = np.random.default_rng(seed)
    params = {
        name: (rng.uniform(0.1, 0.5, p.shape) if p.ndim == 1 else p + 0.1 * rng.standard_normal(p.shape))
        for name, p in model.init_params(seed).items()
    }
    return model, params, rng


def _random_glimpses(rng, B):
    return glimpses(rng.integers(0, 256, (B, 28, 28), dtype=np.uint8), dtype="float64")


# ---------------------------------------------------------------------------- layer gradients
@settings(max_examples=examples(10))
@given(seeds, batches, widths)
def test_patch_layer_gradients(seed, B, K):
    rng = np.random.default_rng(seed)
    F, f = _weights(rng, K, 49)
    inputs = {"patches": rng.uniform(0, 1, (B, 4, 5, 49)), "F": F, "f": f}
    _assert(check_op(patch_layer_forward, patch_layer_backward, inputs, ["patches", "F", "f"], seed=seed))


@settings(max_examples=examples(15))
@given(seeds, batches, widths, widths)
def test_quadrant_layer_gradients(seed, B, K, K_out):
    rng = np.random.default_rng(seed)
    W, b = _weights(rng, K_out, 5 * K)
    inputs = {"a": rng.uniform(0, 1, (B, 4, 5, K)), "W": W, "b": b}
    _assert(check_op(quadrant_layer_forward, quadrant_layer_backward, inputs, ["a", "W", "b"], seed=seed))


@settings(max_examples=examples(15))
@given(seeds, batches, widths, widths)
def test_image_layer_gradients(seed, B, K, K_out):
    rng = np.random.default_rng(seed)
    W, b = _weights(rng, K_out, 4 * K)
    inputs = {"u": rng.uniform(0, 1, (B, 4, K)), "W": W, "b": b}
    _assert(check_op(image_layer_forward, image_layer_backward, inputs, ["u", "W", "b"], seed=seed))


# ---------------------------------------------------------------------------- model gradients
def _model_check(model, params, g, y, grads, seed):
    def loss(t):
        return model.loss_and_grad(t, g, y)[0]

    return check_gradients(loss, params, grads, mode="direction", directions=2, seed=seed)


@settings(max_examples=examples(10))
@given(seeds, batches, widths)
def test_model_loss_gradients_along_random_directions(seed, B, K):
    model, params, rng = _model_point(K, seed)
    g, y = _random_glimpses(rng, B), rng.integers(0, 10, B)
    _, grads = model.loss_and_grad(params, g, y)
    report = _model_check(model, params, g, y, grads, seed)
    _assert(report)
    assert [row.name for row in report.rows] == [*model.param_shapes(), "(all)"]


@pytest.mark.parametrize("wrong", ["conv.F", "quadrant.b", "image.W", "out.W"])
def test_model_check_catches_a_wrong_gradient(wrong):
    """The point of the model check has live units: a gradient off by 1e-3 is caught and named."""
    model, params, rng = _model_point(3, 0)
    g, y = _random_glimpses(rng, 3), rng.integers(0, 10, 3)
    _, grads = model.loss_and_grad(params, g, y)
    grads[wrong] = grads[wrong] * (1 + 1e-3)
    report = _model_check(model, params, g, y, grads, 0)
    failed = [row.name for row in report.failures()]
    assert wrong in failed and set(failed) <= {wrong, "(all)"}, "\n" + str(report)  # "(all)" may dilute it


# ------------------------------------------------------------------------------------ forward
def test_forward_matches_a_loop_over_the_equations():
    model, params, rng = _model_point(4, 1)
    g = _random_glimpses(rng, 2)
    relu = lambda v: np.maximum(v, 0)  # noqa: E731
    for b in range(2):
        u = []
        for q in range(4):
            steps = [6 * q + j for j in range(5)]  # g_q, then p_q1..p_q4
            a = [relu(params["conv.F"] @ g[b, s] + params["conv.f"]) for s in steps]
            u.append(relu(params["quadrant.W"] @ np.concatenate(a) + params["quadrant.b"]))
        v = relu(params["image.W"] @ np.concatenate(u) + params["image.b"])
        expected = params["out.W"] @ v + params["out.b"]
        np.testing.assert_allclose(model.logits(params, g)[b], expected, rtol=1e-12, atol=1e-12)


def test_patch_steps_are_the_coarse_and_fine_steps():
    assert PATCH_STEPS.shape == (4, 5)
    assert sorted(PATCH_STEPS.ravel()) == [s for s, kind in enumerate(STEP_KINDS) if kind in ("coarse", "fine")]
    assert [STEP_KINDS[s] for s in PATCH_STEPS[:, 0]] == ["coarse"] * 4
    g = np.random.default_rng(0).uniform(0, 1, (2, 24, 49))
    np.testing.assert_array_equal(select_patches(g)[:, 2, 3], g[:, 15])


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_shapes_and_dtypes(dtype):
    model = ConvNet(ConvNetConfig(hidden_size=7, dtype=dtype))
    params = model.init_params(0)
    g = glimpses(np.zeros((3, 28, 28), np.uint8), dtype="float64")
    logits, _ = model.forward(params, g)
    assert logits.shape == (3, 10) and logits.dtype == np.dtype(dtype)
    loss, grads = model.loss_and_grad(params, g, np.array([0, 5, 9]))
    assert np.isfinite(loss) and isinstance(loss, float)
    assert list(grads) == list(params)
    for name, p in params.items():
        assert grads[name].shape == p.shape and grads[name].dtype == np.dtype(dtype), name


def test_integrate_steps_are_not_read_and_every_patch_step_is():
    model = ConvNet(ConvNetConfig(hidden_size=50, dtype="float64"))
    params = model.init_params(3)
    rng = np.random.default_rng(3)
    g = _random_glimpses(rng, 2)
    logits = model.logits(params, g)
    changed = g.copy()
    changed[:, 5::6] = rng.uniform(0, 1, changed[:, 5::6].shape)
    np.testing.assert_array_equal(model.logits(params, changed), logits)
    for step in PATCH_STEPS.ravel():
        changed = g.copy()
        changed[:, step] = rng.uniform(0, 1, (2, 49))
        assert np.abs(model.logits(params, changed) - logits).max() > 1e-6, f"step {step} is not read"


# ------------------------------------------------------------------------------ input checks
@pytest.mark.parametrize("shape", [(2, 23, 49), (2, 24, 48), (24, 49), (2, 4, 6, 49)])
def test_wrong_glimpse_shape_is_rejected(shape):
    model = ConvNet(ConvNetConfig(hidden_size=2))
    with pytest.raises(ValueError, match=r"g must .*\(any, 24, 49\).*got " + re.escape(str(shape))):
        model.forward(model.init_params(0), np.zeros(shape, np.float32))


def test_empty_batch_is_rejected():
    model = ConvNet(ConvNetConfig(hidden_size=2))
    with pytest.raises(ValueError, match=r"g must not have an empty axis, got shape \(0, 24, 49\)"):
        model.forward(model.init_params(0), np.zeros((0, 24, 49), np.float32))


def test_non_floating_glimpses_are_rejected():
    model = ConvNet(ConvNetConfig(hidden_size=2))
    with pytest.raises(TypeError, match="g must have a real floating dtype.*int64"):
        model.forward(model.init_params(0), np.zeros((2, 24, 49), np.int64))
    with pytest.raises(TypeError, match="g must be a numpy.ndarray, got list"):
        model.forward(model.init_params(0), [[[0.0] * 49] * 24])


def test_bad_labels_are_rejected():
    model = ConvNet(ConvNetConfig(hidden_size=2))
    g = np.zeros((2, 24, 49), np.float32)
    with pytest.raises(ValueError, match=r"y must have shape \(2,\)"):
        model.loss_and_grad(model.init_params(0), g, np.array([1, 2, 3]))
    with pytest.raises(ValueError, match=r"y values must be in \[0, 10\), found 10"):
        model.loss_and_grad(model.init_params(0), g, np.array([1, 10]))


@pytest.mark.parametrize(
    "kwargs, field",
    [({"hidden_size": 0}, "hidden_size"), ({"hidden_size": True}, "hidden_size"), ({"hidden_size": 2.0}, "hidden_size"),
     ({"num_classes": -1}, "num_classes"), ({"dtype": "float16"}, "dtype")],
)
def test_bad_config_is_rejected(kwargs, field):
    with pytest.raises(ValueError, match=field):
        ConvNetConfig(**kwargs)


def test_config_to_dict():
    assert ConvNetConfig(hidden_size=50).to_dict() == {"hidden_size": 50, "num_classes": 10, "dtype": "float32"}


# -------------------------------------------------------------------------------- parameters
def test_init_is_deterministic_and_scaled_by_fan_in():
    model = ConvNet(ConvNetConfig(hidden_size=100))
    first, again, other = model.init_params(7), model.init_params(7), model.init_params(8)
    assert list(first) == ["conv.F", "conv.f", "quadrant.W", "quadrant.b", "image.W", "image.b", "out.W", "out.b"]
    for name, p in first.items():
        assert p.dtype == np.float32 and p.shape == model.param_shapes()[name], name
        np.testing.assert_array_equal(p, again[name])
        if p.ndim == 1:
            assert not p.any(), f"{name} is a bias and starts at 0"
        else:
            assert not np.array_equal(p, other[name]), f"{name} does not depend on the seed"
            bound = 1 / np.sqrt(p.shape[1])
            assert 0.95 * bound < np.abs(p).max() <= bound, name
    assert ConvNet(ConvNetConfig(hidden_size=3, dtype="float64")).init_params(0)["out.W"].dtype == np.float64
    # the documented stream: conv.F is the first draw of default_rng([seed, 2])
    expected = np.random.default_rng([7, 2]).uniform(-1, 1, (100, 49)) / 7
    np.testing.assert_array_equal(first["conv.F"], expected.astype(np.float32))


@pytest.mark.parametrize("K", [1, 50, 100, 200])
def test_param_count(K):
    model = ConvNet(ConvNetConfig(hidden_size=K))
    assert model.param_count() == sum(p.size for p in model.init_params(0).values())
    assert model.param_count() == 9 * K * K + 62 * K + 10  # 49K+K + 5K²+K + 4K²+K + 10K+10
