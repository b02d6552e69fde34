"""no_inner_loop (issue 18): h_t = f(LN(W h_{t-1} + C x_t + b + A_t h_{t-1})) with
A_t = λ A_{t-1} + η h_{t-1} h_{t-1}ᵀ: no preliminary vector, one application per step
(A_{t-1} instead of A_t with the "lagged" timing).

Checked against an independent loop, against finite differences in float64 (model and sequence
with a carried state), through the oracle, and the Numba backend's refusal.
"""

import itertools
import re

import numpy as np
import pytest

import fastweights_np as fw
from fastweights_np.cli import main
from fastweights_np.cores.fast_weights import FastWeightsState, sequence_backward, sequence_forward
from fastweights_np.cores.fast_weights.sequence import sequence_inner_states
from fastweights_np.gradcheck import check_gradients, check_model
from fastweights_np.oracle import compare, golden_vectors, load_golden, read_manifest

FORMS = ("matrix", "attention")
CORE = ("W", "C", "b", "g", "beta")


def _cfg(**kw):
    return fw.FastWeightsConfig(**{"input_size": 3, "hidden_size": 5, "output_size": 3, "inner_steps": 1,
                                   "no_inner_loop": True, **kw})


def _problem(cfg, B=2, T=5, seed=0):
    rng = np.random.default_rng(seed)
    params = {k: v + 0.1 * rng.standard_normal(v.shape) for k, v in fw.init_params(cfg, seed).items()}
    return params, rng.standard_normal((B, T, cfg.input_size)), rng.integers(0, cfg.output_size, B)


def test_config_needs_one_step_no_preliminary_ln_and_a_timing_that_writes_h():
    assert not fw.FastWeightsConfig(input_size=1, hidden_size=2, output_size=2).no_inner_loop
    with pytest.raises(ValueError, match=re.escape(
            "no_inner_loop=True computes h_t = f(LN(W h_{t-1} + C x_t + b + A_t h_{t-1})) once per step, with no "
            "preliminary vector: it needs inner_steps=1, ln_preliminary=False and fast_weight_timing 'paper' or "
            "'lagged', got inner_steps=2 (expected 1)")):
        _cfg(inner_steps=2)
    with pytest.raises(ValueError, match=re.escape("got ln_preliminary=True (expected False), "
                                                   "fast_weight_timing='preliminary' (expected 'paper' or 'lagged')")):
        _cfg(ln_preliminary=True, fast_weight_timing="preliminary")
    with pytest.raises(ValueError, match="no_inner_loop must be True or False"):
        _cfg(no_inner_loop="yes")


def _ln(v, g, beta, eps):
    mu = v.mean(axis=-1, keepdims=True)
    return g * (v - mu) / np.sqrt(((v - mu) ** 2).mean(axis=-1, keepdims=True) + eps) + beta


def _naive(params, x, cfg, h0=None, A0=None):
    """One example at a time, with an explicit matrix: the equation of the module docstring."""
    B, T, _ = x.shape
    H = cfg.hidden_size
    f = np.tanh if cfg.activation == "tanh" else (lambda v: np.maximum(v, 0.0))
    hs, A_T = np.zeros((B, T, H)), np.zeros((B, H, H))
    for n in range(B):
        h = np.zeros(H) if h0 is None else h0[n]
        A = np.zeros((H, H)) if A0 is None else A0[n]
        for t in range(T):
            A_new = cfg.decay * A + cfg.fast_lr * np.outer(h, h)
            M = A if cfg.fast_weight_timing == "lagged" else A_new
            a = params["W"] @ h + params["C"] @ x[n, t] + params["b"] + M @ h
            h = f(_ln(a, params["g"], params["beta"], cfg.ln_eps) if cfg.layer_norm else a)
            A = A_new
            hs[n, t] = h
        A_T[n] = A
    return hs, A_T


@pytest.mark.parametrize("timing, form, activation, layer_norm",
                         list(itertools.product(("paper", "lagged"), FORMS, ("relu", "tanh"), (True, False))))
def test_core_matches_the_equation(timing, form, activation, layer_norm):
    cfg = _cfg(fast_weight_timing=timing, form=form, activation=activation, layer_norm=layer_norm)
    params, x, _ = _problem(cfg, B=3)
    rng = np.random.default_rng(1)
    h0, A0 = rng.standard_normal((3, 5)), 0.2 * rng.standard_normal((3, 5, 5))
    for state0 in (None, FastWeightsState(h0, A0)):
        (hs, state), cache = sequence_forward(params, x, cfg, state0)
        want_hs, want_A = _naive(params, x, cfg, *(state0 or (None, None)))
        np.testing.assert_allclose(hs, want_hs, rtol=1e-12, atol=1e-13)
        np.testing.assert_allclose(state.A, want_A, rtol=1e-12, atol=1e-13)
        inner = sequence_inner_states(cache)  # (B, T, 2, H): h_t^(0) = h_{t-1}, h_t^(1) = h_t
        previous = np.concatenate([(np.zeros((3, 1, 5)) if state0 is None else h0[:, None]), hs[:, :-1]], axis=1)
        np.testing.assert_array_equal(inner[:, :, 0], previous)
        np.testing.assert_array_equal(inner[:, :, 1], hs)


def test_with_a_silent_memory_it_is_a_layer_normalised_rnn():
    cfg = _cfg(fast_lr=0.0)
    params, x, _ = _problem(cfg)
    hs = fw.hidden_states(params, x, cfg)
    h = np.zeros((2, 5))
    for t in range(x.shape[1]):
        h = np.maximum(_ln(h @ params["W"].T + x[:, t] @ params["C"].T + params["b"], params["g"], params["beta"],
                           cfg.ln_eps), 0.0)
        np.testing.assert_allclose(hs[:, t], h, rtol=1e-12, atol=1e-14)


def test_it_differs_from_the_paper_with_one_inner_step():
    cfg = _cfg()
    params, x, _ = _problem(cfg)
    paper = fw.hidden_states(params, x, cfg.replace(no_inner_loop=False))
    assert not np.allclose(fw.hidden_states(params, x, cfg), paper)


# ----------------------------------------------------------------------- gradients (float64)
@pytest.mark.parametrize("timing, form, ln_params", list(itertools.product(("paper", "lagged"), FORMS,
                                                                            ("shared", "scalar"))))
def test_model_gradients(timing, form, ln_params):
    for activation, ln_axis in (("relu", "example"), ("tanh", "batch")):
        cfg = _cfg(fast_weight_timing=timing, form=form, ln_params=ln_params, activation=activation, ln_axis=ln_axis)
        params, x, y = _problem(cfg, B=3, seed=2)
        report = check_model(params, x, y, cfg, mode="both")
        assert report.passed, f"{timing}/{form}/{ln_params}/{activation}/{ln_axis}\n{report}"


@pytest.mark.parametrize("timing, form", list(itertools.product(("paper", "lagged"), FORMS)))
def test_sequence_gradients_with_a_carried_state(timing, form):
    cfg = _cfg(fast_weight_timing=timing, form=form, activation="tanh")
    params, x, _ = _problem(cfg, T=3)
    rng = np.random.default_rng(3)
    B, T, H = 2, 3, cfg.hidden_size
    point = {k: params[k] for k in CORE}
    point.update(x=x, h0=rng.standard_normal((B, H)), A0=0.3 * rng.standard_normal((B, H, H)),
                 decay=cfg.decay, fast_lr=cfg.fast_lr)
    dhs, dh_T, dA_T = rng.standard_normal((B, T, H)), rng.standard_normal((B, H)), rng.standard_normal((B, H, H))

    def run(t):
        return sequence_forward({k: t[k] for k in CORE}, t["x"], cfg, FastWeightsState(t["h0"], t["A0"]),
                                decay=float(t["decay"]), fast_lr=float(t["fast_lr"]))

    def f(t):
        (hs, state), _ = run(t)
        return float(np.sum(hs * dhs) + np.sum(state.h * dh_T) + np.sum(state.A * dA_T))

    grads, dx, dstate0 = sequence_backward((dhs, FastWeightsState(dh_T, dA_T)), run(point)[1])
    analytic = {k: grads[k] for k in CORE}
    analytic.update(x=dx, h0=dstate0.h, A0=dstate0.A, decay=grads["decay"], fast_lr=grads["fast_lr"])
    report = check_gradients(f, point, analytic, mode="entry")
    assert report.passed, f"{timing}/{form}\n{report}"


# ------------------------------------------------------------------------------------ oracle
def test_the_oracle_exports_it_from_python_and_the_cli(tmp_path, capsys):
    golden = golden_vectors(_cfg(), batch=3, steps=4, seed=5)
    assert read_manifest(golden)["config"]["no_inner_loop"] is True
    assert golden["h_inner"].shape == (3, 4, 2, 5)
    assert read_manifest(golden)["arrays"]["h_inner"]["meaning"].startswith("h_inner[b, t-1, 0] = h_{t-1}")
    assert compare(golden, golden).passed
    path = tmp_path / "noloop.npz"
    assert main(["oracle", "export", "--hidden", "4", "--steps", "3", "--inner-steps", "1", "--no-inner-loop",
                 "--out", str(path)]) == 0
    assert read_manifest(load_golden(path))["config"]["no_inner_loop"] is True
    assert main(["oracle", "compare", str(path), str(path)]) == 0
    assert "compare PASSED" in capsys.readouterr().out
    # with the CLI's default --inner-steps (1, the config's) it needs no more; with S = 2 the error says what is
    assert main(["oracle", "export", "--no-inner-loop", "--out", str(tmp_path / "default.npz")]) == 0
    assert read_manifest(load_golden(tmp_path / "default.npz"))["config"]["inner_steps"] == 1
    capsys.readouterr()
    assert main(["oracle", "export", "--no-inner-loop", "--inner-steps", "2", "--out", str(tmp_path / "bad.npz")]) == 2
    assert "it needs inner_steps=1" in capsys.readouterr().err
    assert not (tmp_path / "bad.npz").exists()


def test_numba_refuses():
    cfg = _cfg()
    params, x, y = _problem(cfg)
    message = ("backend 'numba' computes the paper's model only (no_inner_loop=False), got no_inner_loop=True; "
               "use backend 'numpy' for the variants (docs/variants.md)")
    for run in (lambda: fw.loss_and_grad(params, x, y, cfg, backend="numba"),
                lambda: fw.hidden_states(params, x, cfg, backend="numba")):
        with pytest.raises(ValueError, match=re.escape(message)):
            run()
