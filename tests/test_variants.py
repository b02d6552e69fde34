"""The public variants (fast_weight_timing, activation): equations, gradients, state semantics.

Each variant is checked (1) against fastweights_np/naive.py, an independent per-sequence
loop written from docs/variants.md, in both forms; (2) against central finite differences at
the model level and at the sequence level with a carried state; (3) for the run-splitting
property that defines the carried state (h_T, A_T).
"""

import itertools
import json

import numpy as np
import pytest
from helpers_steps import attention_step_backward, attention_step_forward
from hypothesis import given, settings
from hypothesis import strategies as st

from fastweights_np import FastWeightsConfig, init_params, loss_and_grad
from fastweights_np.cores.fast_weights import FastWeightsState, sequence_backward, sequence_forward
from fastweights_np.cores.fast_weights.config import ACTIVATIONS, TIMINGS
from fastweights_np.cores.fast_weights.memory import (
    attention_read_with_write_backward,
    attention_read_with_write_forward,
)
from fastweights_np.cores.fast_weights.sequence import sequence_inner_states
from fastweights_np.gradcheck import check_gradients, check_model, check_op
from fastweights_np.naive import naive_loss, naive_run
from fastweights_np.ops import tanh_backward, tanh_forward

FORMS = ("matrix", "attention")
CORE = ("W", "C", "b", "g", "beta")


def _problem(cfg, B=2, T=4, seed=0):
    rng = np.random.default_rng(seed)
    params = {k: v + 0.1 * rng.standard_normal(v.shape) for k, v in init_params(cfg, seed).items()}
    x = rng.standard_normal((B, T, cfg.input_size))
    y = rng.integers(0, cfg.output_size, B)
    return params, x, y, rng


def _cfg(**kw):
    base = dict(input_size=3, hidden_size=5, output_size=3, inner_steps=2)
    base.update(kw)
    return FastWeightsConfig(**base)


# ------------------------------------------------------------------------------ config
def test_defaults_are_the_paper():
    cfg = _cfg()
    assert (cfg.fast_weight_timing, cfg.activation) == ("paper", "relu")
    assert not hasattr(cfg, "backend")  # which code computes the model is a run-time choice


@pytest.mark.parametrize(
    "field, value",
    [("fast_weight_timing", "late"), ("fast_weight_timing", None), ("activation", "sigmoid")],
)
def test_bad_variant_values_name_the_field(field, value):
    with pytest.raises(ValueError, match=field):
        _cfg(**{field: value})


def test_config_json_without_the_new_fields_loads_the_defaults():
    old = json.loads(_cfg().to_json())
    for name in ("fast_weight_timing", "activation"):
        del old[name]
    assert FastWeightsConfig.from_json(json.dumps(old)) == _cfg()
    old["backend"] = "numba"  # files written while the backend was a config field: it is dropped
    assert FastWeightsConfig.from_json(json.dumps(old)) == _cfg()
    cfg = _cfg(fast_weight_timing="lagged", activation="tanh")
    assert FastWeightsConfig.from_json(cfg.to_json()) == cfg


# ------------------------------------------------------------------ equations, per variant
VARIANTS = list(itertools.product(TIMINGS, ACTIVATIONS, FORMS))


@pytest.mark.parametrize("timing, activation, form", VARIANTS)
def test_sequence_matches_the_naive_equations(timing, activation, form):
    cfg = _cfg(fast_weight_timing=timing, activation=activation, form=form, ln_preliminary=form == "attention")
    params, x, _, rng = _problem(cfg, B=3, T=5)
    h0 = rng.standard_normal((3, 5))
    A0 = rng.standard_normal((3, 5, 5)) * 0.2
    for state0 in (None, FastWeightsState(h0, A0)):
        (hs, state), cache = sequence_forward(params, x, cfg, state0)
        want = naive_run(params, x, cfg, *(state0 or (None, None)))
        np.testing.assert_allclose(hs, want[0], rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(sequence_inner_states(cache), want[1], rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(state.h, want[2], rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(state.A, want[3], rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("timing, activation", list(itertools.product(TIMINGS, ACTIVATIONS)))
def test_loss_matches_the_naive_model(timing, activation):
    cfg = _cfg(fast_weight_timing=timing, activation=activation)
    params, x, y, _ = _problem(cfg, B=3, T=5)
    loss, _ = loss_and_grad(params, x, y, cfg)
    assert loss == pytest.approx(naive_loss(params, x, y, cfg)[0], rel=1e-12, abs=1e-14)


def test_the_timings_differ_from_each_other():
    outs = {}
    for timing in TIMINGS:
        cfg = _cfg(fast_weight_timing=timing)
        params, x, _, _ = _problem(cfg)
        outs[timing] = sequence_forward(params, x, cfg)[0][0]
    for a, b in itertools.combinations(TIMINGS, 2):
        assert not np.allclose(outs[a], outs[b]), (a, b)


def test_lagged_equals_paper_when_the_memory_is_silent():
    # η = 0: A stays 0 in both, so reading A_{t-1} or A_t makes no difference.
    hs = {}
    for timing in ("paper", "lagged"):
        cfg = _cfg(fast_weight_timing=timing, fast_lr=0.0)
        params, x, _, _ = _problem(cfg)
        hs[timing] = sequence_forward(params, x, cfg)[0][0]
    np.testing.assert_array_equal(hs["paper"], hs["lagged"])


def test_tanh_without_iterations_is_a_tanh_rnn():
    cfg = _cfg(activation="tanh", inner_steps=0)
    params, x, _, _ = _problem(cfg)
    hs = sequence_forward(params, x, cfg)[0][0]
    h = np.zeros((x.shape[0], cfg.hidden_size))
    for t in range(x.shape[1]):
        h = np.tanh(h @ params["W"].T + x[:, t] @ params["C"].T + params["b"])
        np.testing.assert_allclose(hs[:, t], h, rtol=1e-13, atol=1e-15)


# ------------------------------------------------------------------------ state semantics
@settings(max_examples=20)
@given(
    timing=st.sampled_from(TIMINGS),
    form=st.sampled_from(FORMS),
    split=st.integers(1, 4),
    seed=st.integers(0, 2**16),
)
def test_one_run_equals_two_runs_carrying_the_state(timing, form, split, seed):
    cfg = _cfg(fast_weight_timing=timing, form=form)
    params, x, _, _ = _problem(cfg, B=2, T=5, seed=seed)
    (hs, state), _ = sequence_forward(params, x, cfg)
    (hs1, state1), _ = sequence_forward(params, x[:, :split], cfg)
    (hs2, state2), _ = sequence_forward(params, x[:, split:], cfg, state1)
    np.testing.assert_allclose(np.concatenate([hs1, hs2], axis=1), hs, rtol=1e-11, atol=1e-12)
    np.testing.assert_allclose(state2.A, state.A, rtol=1e-11, atol=1e-12)


# ------------------------------------------------------------------- gradients (float64)
@pytest.mark.parametrize("timing, activation, form", VARIANTS)
def test_model_gradients_of_every_variant(timing, activation, form):
    for ln_preliminary in (False, True):
        cfg = _cfg(fast_weight_timing=timing, activation=activation, form=form, ln_preliminary=ln_preliminary)
        params, x, y, _ = _problem(cfg, seed=1 + ln_preliminary)
        report = check_model(params, x, y, cfg, mode="both")
        assert report.passed, f"{timing}/{activation}/{form}/ln_preliminary={ln_preliminary}\n{report}"


@pytest.mark.parametrize("timing, form", list(itertools.product(TIMINGS, FORMS)))
def test_sequence_gradients_with_a_carried_state(timing, form):
    """Every input of sequence_forward, including h_0, A_0, λ and η, with gradients arriving
    on every h_t and on the final (h_T, A_T)."""
    cfg = _cfg(fast_weight_timing=timing, form=form, activation="tanh" if form == "matrix" else "relu",
               layer_norm=timing != "lagged", inner_steps=1 + (timing == "preliminary"))
    params, x, _, rng = _problem(cfg, B=2, T=3)
    B, T, H = 2, 3, cfg.hidden_size
    point = {k: params[k] for k in CORE}
    point.update(x=x, h0=rng.standard_normal((B, H)), A0=0.3 * rng.standard_normal((B, H, H)),
                 decay=cfg.decay, fast_lr=cfg.fast_lr)
    dhs, dh_T, dA_T = rng.standard_normal((B, T, H)), rng.standard_normal((B, H)), rng.standard_normal((B, H, H))

    def run(t):
        p = {k: t[k] for k in CORE}
        state0 = FastWeightsState(t["h0"], t["A0"])
        return sequence_forward(p, t["x"], cfg, state0, decay=float(t["decay"]), fast_lr=float(t["fast_lr"]))

    def f(t):
        (hs, state), _ = run(t)
        return float(np.sum(hs * dhs) + np.sum(state.h * dh_T) + np.sum(state.A * dA_T))

    _, cache = run(point)
    grads, dx, dstate0 = sequence_backward((dhs, FastWeightsState(dh_T, dA_T)), cache)
    analytic = {k: grads[k] for k in CORE}
    analytic.update(x=dx, h0=dstate0.h, A0=dstate0.A, decay=grads["decay"], fast_lr=grads["fast_lr"])
    report = check_gradients(f, point, analytic, mode="entry")
    assert report.passed, f"{timing}/{form}\n{report}"


def test_gradients_at_the_ends_of_decay():
    for timing, decay in itertools.product(TIMINGS, (0.0, 1.0)):
        cfg = _cfg(fast_weight_timing=timing, decay=decay, form="attention")
        params, x, y, _ = _problem(cfg)
        report = check_model(params, x, y, cfg, mode="direction")
        assert report.passed, f"{timing} decay={decay}\n{report}"


# ------------------------------------------------------------------------ ops of the variants
def test_tanh_op_gradient():
    v = np.random.default_rng(0).standard_normal((3, 4))
    assert check_op(lambda v: tanh_forward(v), tanh_backward, {"v": v}, ["v"]).passed


@pytest.mark.parametrize("with_A0", [False, True])
@pytest.mark.parametrize("t", [1, 3])
def test_attention_read_with_write_gradient(t, with_A0):
    """A_t u = λ (A_{t-1} u) + η k_t (k_t · u), with t-1 earlier keys (0 of them for t = 1)."""
    rng = np.random.default_rng(t)
    B, H = 2, 4
    inputs = {"keys_prev": rng.standard_normal((B, t - 1, H)), "key": rng.standard_normal((B, H)),
              "u": rng.standard_normal((B, H)), "decay": 0.8, "fast_lr": 0.6,
              "A0": rng.standard_normal((B, H, H)) if with_A0 else None}
    wrt = ["u", "keys_prev", "key", "decay", "fast_lr", "A0"]
    if not with_A0:
        inputs.pop("A0")
    report = check_op(attention_read_with_write_forward, attention_read_with_write_backward, inputs, wrt)
    assert report.passed, str(report)


@pytest.mark.parametrize("timing", ["paper", "lagged"])
def test_attention_step_interface_over_past_states(timing):
    """The step that takes past hidden states as its keys still works, and its gradient is right."""
    cfg = _cfg(fast_weight_timing=timing, form="attention")
    params, _, _, rng = _problem(cfg)
    core = {k: params[k] for k in ("W", "g", "beta")}
    past, drive = rng.standard_normal((2, 3, 5)), rng.standard_normal((2, 5))

    def forward(past, drive):
        return attention_step_forward(past, drive, core, cfg.decay, cfg.fast_lr, None, cfg)

    def backward(dh, cache):
        dpast, ddrive, _, _ = attention_step_backward(dh, cache)
        return dpast, ddrive

    assert check_op(forward, backward, {"past": past, "drive": drive}, ["past", "drive"]).passed


def test_attention_step_over_past_states_refuses_the_preliminary_timing():
    cfg = _cfg(fast_weight_timing="preliminary", form="attention")
    params, _, _, rng = _problem(cfg)
    with pytest.raises(ValueError, match="preliminary"):
        attention_step_forward(rng.standard_normal((2, 3, 5)), rng.standard_normal((2, 5)), params,
                               0.9, 0.5, None, cfg)


def test_loss_and_grad_runs_every_variant_in_float32():
    for timing, activation in itertools.product(TIMINGS, ACTIVATIONS):
        cfg = _cfg(fast_weight_timing=timing, activation=activation, dtype="float32")
        params, x, y, _ = _problem(cfg.replace(dtype="float64"))
        params = {k: v.astype(np.float32) for k, v in params.items()}
        loss, grads = loss_and_grad(params, x.astype(np.float32), y, cfg)
        assert np.isfinite(loss) and all(grads[k].dtype == np.float32 for k in params)
