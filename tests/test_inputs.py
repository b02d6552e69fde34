"""Every bad input raises the documented error, naming the argument and what was expected."""

import numpy as np
import pytest

from fastweights_np import (
    FastWeightsConfig,
    FastWeightsState,
    hidden_states,
    init_params,
    loss_and_grad,
    sequence_forward,
)
from fastweights_np.cores.fast_weights import check_state

CFG = FastWeightsConfig(input_size=3, hidden_size=4, output_size=2)
PARAMS = init_params(CFG, 0)
X = np.zeros((2, 5, 3))
Y = np.array([0, 1])


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("input_size", 0, "input_size must be a positive integer, got 0"),
        ("hidden_size", 2.5, "hidden_size must be a positive integer, got 2.5"),
        ("output_size", True, "output_size must be a positive integer, got True"),
        ("decay", 1.5, r"decay must be in \[0, 1\], got 1.5"),
        ("decay", -0.1, r"decay must be in \[0, 1\], got -0.1"),
        ("decay", float("nan"), "decay must be a finite real number, got nan"),
        ("fast_lr", -1.0, "fast_lr must be >= 0, got -1.0"),
        ("fast_lr", "0.5", "fast_lr must be a finite real number, got '0.5'"),
        ("inner_steps", -1, "inner_steps must be a non-negative integer, got -1"),
        ("inner_steps", 1.0, "inner_steps must be a non-negative integer, got 1.0"),
        ("layer_norm", 1, "layer_norm must be True or False, got 1"),
        ("ln_preliminary", "yes", "ln_preliminary must be True or False, got 'yes'"),
        ("ln_eps", -1e-3, "ln_eps must be >= 0, got -0.001"),
        ("form", "dense", r"form must be one of \('matrix', 'attention'\), got 'dense'"),
        ("dtype", "float16", r"dtype must be one of \('float32', 'float64'\), got 'float16'"),
    ],
)
def test_config_rejects(field, value, message):
    with pytest.raises(ValueError, match=message):
        CFG.replace(**{field: value})


def test_config_accepts_the_edges():
    for kw in ({"decay": 0.0}, {"decay": 1}, {"fast_lr": 0}, {"inner_steps": 0}, {"inner_steps": np.int64(3)}):
        cfg = CFG.replace(**kw)
        assert isinstance(cfg.decay, float) and isinstance(cfg.inner_steps, int)


def test_config_json_round_trip_and_errors():
    cfg = CFG.replace(form="attention", inner_steps=3, dtype="float32")
    assert FastWeightsConfig.from_json(cfg.to_json()) == cfg
    with pytest.raises(ValueError, match="unknown config fields \\['colour'\\]"):
        FastWeightsConfig.from_json('{"colour": 1, "input_size": 1, "hidden_size": 1, "output_size": 1}')
    with pytest.raises(ValueError, match="incomplete config"):
        FastWeightsConfig.from_json('{"input_size": 1}')


@pytest.mark.parametrize(
    ("x", "error", "message"),
    [
        ([[[0.0] * 3]], TypeError, "x must be a numpy.ndarray, got list"),
        (np.zeros((2, 5, 3), dtype=np.int64), TypeError, "x must have a real floating dtype .* got int64"),
        (np.zeros((2, 5, 3), dtype=complex), TypeError, "x must have a real floating dtype .* got complex128"),
        (np.zeros((2, 5)), ValueError, r"x must have shape \(any, any, 3\), got \(2, 5\)"),
        (np.zeros((2, 5, 4)), ValueError, r"x must have shape \(any, any, 3\), got \(2, 5, 4\)"),
        (np.zeros((0, 5, 3)), ValueError, r"x must not have an empty axis, got shape \(0, 5, 3\)"),
        (np.zeros((2, 0, 3)), ValueError, r"x must not have an empty axis, got shape \(2, 0, 3\)"),
        (np.full((2, 5, 3), np.nan), ValueError, r"x must be finite, found nan at index \(0, 0, 0\)"),
        (np.pad(np.zeros((2, 5, 2)), ((0, 0), (0, 0), (0, 1)), constant_values=np.inf), ValueError,
         r"x must be finite, found inf at index \(0, 0, 2\)"),
    ],
)
def test_bad_x(x, error, message):
    with pytest.raises(error, match=message):
        loss_and_grad(PARAMS, x, Y, CFG)
    with pytest.raises(error, match=message):
        hidden_states(PARAMS, x, CFG)


@pytest.mark.parametrize(
    ("y", "error", "message"),
    [
        ([0, 1], TypeError, "y must be a numpy.ndarray of integer labels, got list"),
        (np.array([0.0, 1.0]), TypeError, "y must have an integer dtype, got float64"),
        (np.array([0, 1, 1]), ValueError, r"y must have shape \(2,\) to match the batch of x, got \(3,\)"),
        (np.array([[0, 1]]), ValueError, r"y must have shape \(2,\) to match the batch of x, got \(1, 2\)"),
        (np.array([0, 2]), ValueError, r"y values must be in \[0, 2\), found 2"),
        (np.array([-1, 0]), ValueError, r"y values must be in \[0, 2\), found -1"),
    ],
)
def test_bad_y(y, error, message):
    with pytest.raises(error, match=message):
        loss_and_grad(PARAMS, X, y, CFG)


def test_bad_params():
    with pytest.raises(TypeError, match="params must be a dict of arrays, got list"):
        loss_and_grad([], X, Y, CFG)
    missing = {k: v for k, v in PARAMS.items() if k != "V"}
    with pytest.raises(ValueError, match=r"missing \['V'\], unexpected \[\]"):
        loss_and_grad(missing, X, Y, CFG)
    with pytest.raises(ValueError, match=r"missing \[\], unexpected \['U'\]"):
        loss_and_grad(dict(PARAMS, U=np.zeros(1)), X, Y, CFG)
    with pytest.raises(ValueError, match=r"params\['W'\] must have shape \(4, 4\), got \(4, 3\)"):
        loss_and_grad(dict(PARAMS, W=np.zeros((4, 3))), X, Y, CFG)
    with pytest.raises(TypeError, match=r"params\['C'\] has dtype float32, but the config's dtype is float64"):
        loss_and_grad(dict(PARAMS, C=PARAMS["C"].astype(np.float32)), X, Y, CFG)
    with pytest.raises(ValueError, match=r"params\['b'\] must be finite, found nan at index \(1,\)"):
        loss_and_grad(dict(PARAMS, b=np.array([0, np.nan, 0, 0.0])), X, Y, CFG)
    with pytest.raises(TypeError, match="cfg must be a FastWeightsConfig, got dict"):
        loss_and_grad(PARAMS, X, Y, {"hidden_size": 4})


def test_bad_state():
    with pytest.raises(TypeError, match="state0 must be a FastWeightsState"):
        check_state("state0", np.zeros((2, 4)), 2, 4, np.float64)
    with pytest.raises(ValueError, match=r"state0.A must have shape \(2, 4, 4\), got \(2, 4\)"):
        check_state("state0", FastWeightsState(np.zeros((2, 4)), np.zeros((2, 4))), 2, 4, np.float64)
    with pytest.raises(ValueError, match=r"state0.h must have shape \(2, 4\), got \(3, 4\)"):
        check_state("state0", (np.zeros((3, 4)), np.zeros((2, 4, 4))), 2, 4, np.float64)


def test_float32_inputs_are_converted_to_the_config_dtype():
    loss64, _ = loss_and_grad(PARAMS, X.astype(np.float32), Y, CFG)
    assert isinstance(loss64, float)
    cfg32 = CFG.replace(dtype="float32")
    params32 = init_params(cfg32, 0)
    _, grads = loss_and_grad(params32, X, Y, cfg32)
    assert all(grads[k].dtype == np.float32 for k in params32)
    assert hidden_states(params32, X, cfg32).dtype == np.float32


def test_sequence_forward_checks_its_state():
    core = {k: PARAMS[k] for k in ("W", "C", "b", "g", "beta")}
    with pytest.raises(ValueError, match=r"state0.h must have shape \(2, 4\), got \(2, 3\)"):
        sequence_forward(core, X, CFG, FastWeightsState(np.zeros((2, 3)), np.zeros((2, 4, 4))))
