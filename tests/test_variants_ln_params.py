"""ln_params (issue 18): layer norm's g, β shared (default), separate for the preliminary vector
(g0, β0) and the inner loop (g, β), or scalar (shape (1,), broadcast over the units).

Checked by reduction to the shared model (separate with g0 = g, β0 = β; scalar with g, β filled
with one value), per op and for the whole model and the sequence against finite differences in
float64, through the oracle, and the Numba backend's refusal.
"""

import itertools
import re

import numpy as np
import pytest

import fastweights_np as fw
from fastweights_np.cli import main
from fastweights_np.cores.fast_weights import (
    FastWeightsState,
    param_names,
    param_shapes,
    sequence_backward,
    sequence_forward,
    used_params,
)
from fastweights_np.gradcheck import check_gradients, check_model, check_op
from fastweights_np.ops.layernorm import layernorm_backward, layernorm_forward
from fastweights_np.oracle import compare, draw_problem, golden_vectors, load_golden, read_manifest

FORMS = ("matrix", "attention")
TIMINGS = ("paper", "lagged", "preliminary")


def _cfg(**kw):
    return fw.FastWeightsConfig(**{"input_size": 3, "hidden_size": 5, "output_size": 3, "inner_steps": 2, **kw})


SEPARATE = _cfg(ln_params="separate", ln_preliminary=True)
SCALAR = _cfg(ln_params="scalar")


def _problem(cfg, B=2, T=4, seed=0):
    rng = np.random.default_rng(seed)
    params = {k: v + 0.1 * rng.standard_normal(v.shape) for k, v in fw.init_params(cfg, seed).items()}
    return params, rng.standard_normal((B, T, cfg.input_size)), rng.integers(0, cfg.output_size, B)


# ------------------------------------------------------------------------------ config, shapes
def test_shapes_and_names_of_each_variant():
    H = 5
    assert param_shapes(_cfg())["g"] == (H,) and "g0" not in param_shapes(_cfg())
    assert param_shapes(SCALAR)["g"] == (1,) and param_shapes(SCALAR)["beta"] == (1,)
    assert param_names(SEPARATE) == ("W", "C", "b", "g", "beta", "g0", "beta0")
    assert param_shapes(SEPARATE)["g0"] == (H,) and param_shapes(SEPARATE)["beta0"] == (H,)
    assert set(fw.init_params(SEPARATE)) == {"W", "C", "b", "g", "beta", "g0", "beta0", "V", "c"}
    assert fw.init_params(SCALAR)["g"].tolist() == [1.0]
    assert used_params(SEPARATE.replace(inner_steps=0)) == ("W", "C", "b", "g0", "beta0")
    expected = "ln_params must be one of ('shared', 'separate', 'scalar'), got 'per-step'"
    with pytest.raises(ValueError, match=re.escape(expected)):
        _cfg(ln_params="per-step")


def test_separate_needs_the_preliminary_layer_norm():
    with pytest.raises(ValueError, match=re.escape(
            "ln_params='separate' gives the preliminary vector's layer norm its own g0, beta0: it needs "
            "ln_preliminary=True, got ln_preliminary=False")):
        _cfg(ln_params="separate")


def test_params_of_the_wrong_variant_are_refused_by_name():
    params, x, y = _problem(_cfg())
    with pytest.raises(ValueError, match=re.escape("missing ['beta0', 'g0']")):
        fw.loss_and_grad(params, x, y, SEPARATE)
    with pytest.raises(ValueError, match=re.escape("params['g'] must have shape (1), got (5,)")):
        fw.loss_and_grad(params, x, y, SCALAR)


# ---------------------------------------------------------------------- reduction to "shared"
@pytest.mark.parametrize("timing, form", list(itertools.product(TIMINGS, FORMS)))
def test_separate_with_equal_parameters_is_shared(timing, form):
    cfg = SEPARATE.replace(fast_weight_timing=timing, form=form)
    shared_cfg = cfg.replace(ln_params="shared")
    params, x, y = _problem(shared_cfg)
    separate = dict(params, g0=params["g"].copy(), beta0=params["beta"].copy())
    loss_s, g_s = fw.loss_and_grad(params, x, y, shared_cfg)
    loss_p, g_p = fw.loss_and_grad(separate, x, y, cfg)
    assert loss_p == loss_s
    np.testing.assert_allclose(g_p["g"] + g_p["g0"], g_s["g"], rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(g_p["beta"] + g_p["beta0"], g_s["beta"], rtol=1e-12, atol=1e-15)
    for name in ("W", "C", "b", "V", "c", "decay", "fast_lr"):
        np.testing.assert_allclose(g_p[name], g_s[name], rtol=1e-12, atol=1e-15, err_msg=name)
    # and the two sets do differ in their effect: moving g0 changes the preliminary vector only
    moved = dict(separate, g0=separate["g0"] * 1.5)
    h_moved = fw.hidden_states(moved, x, cfg)
    assert not np.allclose(h_moved, fw.hidden_states(separate, x, cfg))


@pytest.mark.parametrize("form", FORMS)
def test_scalar_is_shared_with_every_unit_equal(form):
    cfg = SCALAR.replace(form=form, ln_preliminary=True)
    params, x, y = _problem(cfg)
    H = cfg.hidden_size
    shared = dict(params, g=np.full(H, params["g"][0]), beta=np.full(H, params["beta"][0]))
    loss_c, g_c = fw.loss_and_grad(params, x, y, cfg)
    loss_s, g_s = fw.loss_and_grad(shared, x, y, cfg.replace(ln_params="shared"))
    assert loss_c == loss_s
    assert g_c["g"].shape == (1,) and g_c["beta"].shape == (1,)
    np.testing.assert_allclose(g_c["g"], [g_s["g"].sum()], rtol=1e-12)
    np.testing.assert_allclose(g_c["beta"], [g_s["beta"].sum()], rtol=1e-12)


# ----------------------------------------------------------------------- gradients (float64)
@pytest.mark.parametrize("shape", [(4, 5), (2, 3, 5)])
def test_layernorm_op_gradient_with_a_scalar_gain_and_bias(shape):
    rng = np.random.default_rng(1)
    inputs = {"v": rng.standard_normal(shape), "g": np.array([1.3]), "beta": np.array([-0.4]), "eps": 1e-5}
    report = check_op(layernorm_forward, layernorm_backward, inputs, ["v", "g", "beta"])
    assert report.passed, "\n" + str(report)


@pytest.mark.parametrize("variant, timing, form", list(itertools.product(("separate", "scalar"), TIMINGS, FORMS)))
def test_model_gradients(variant, timing, form):
    cfg = (SEPARATE if variant == "separate" else SCALAR.replace(ln_preliminary=form == "attention"))
    cfg = cfg.replace(fast_weight_timing=timing, form=form)
    params, x, y = _problem(cfg, seed=4)
    report = check_model(params, x, y, cfg, mode="both")
    assert report.passed, "\n" + str(report)


@pytest.mark.parametrize("variant, form", list(itertools.product(("separate", "scalar"), FORMS)))
def test_sequence_gradients_with_a_carried_state(variant, form):
    cfg = (SEPARATE if variant == "separate" else SCALAR.replace(ln_preliminary=True)).replace(
        form=form, fast_weight_timing="preliminary" if form == "matrix" else "paper")
    params, x, _ = _problem(cfg, T=3)
    rng = np.random.default_rng(5)
    B, T, H = 2, 3, cfg.hidden_size
    names = param_names(cfg)
    point = {k: params[k] for k in names}
    point.update(x=x, h0=rng.standard_normal((B, H)), A0=0.3 * rng.standard_normal((B, H, H)))
    dhs, dh_T, dA_T = rng.standard_normal((B, T, H)), rng.standard_normal((B, H)), rng.standard_normal((B, H, H))

    def run(t):
        return sequence_forward({k: t[k] for k in names}, t["x"], cfg, FastWeightsState(t["h0"], t["A0"]))

    def f(t):
        (hs, state), _ = run(t)
        return float(np.sum(hs * dhs) + np.sum(state.h * dh_T) + np.sum(state.A * dA_T))

    grads, dx, dstate0 = sequence_backward((dhs, FastWeightsState(dh_T, dA_T)), run(point)[1])
    analytic = {k: grads[k] for k in names}
    analytic.update(x=dx, h0=dstate0.h, A0=dstate0.A)
    report = check_gradients(f, point, analytic, mode="entry")
    assert report.passed, "\n" + str(report)


# ------------------------------------------------------------------------------------ oracle
def test_the_oracle_exports_the_new_parameters_from_python():
    golden = golden_vectors(SEPARATE, batch=3, steps=4, seed=1)
    for prefix in ("params.", "grad.", "adam.params."):
        assert {prefix + "g0", prefix + "beta0"} <= set(golden), prefix
    meanings = read_manifest(golden)["arrays"]
    assert "preliminary vector" in meanings["params.g0"]["meaning"]
    assert compare(golden, golden).passed
    scalar = golden_vectors(SCALAR, batch=3, steps=4, seed=1)
    assert scalar["params.g"].shape == (1,) and scalar["grad.beta"].shape == (1,)
    assert "(1,)" in read_manifest(scalar)["arrays"]["params.g"]["meaning"]
    # the variants' problems hold the default's draws: x, y and the other parameters agree
    base = draw_problem(_cfg(), seed=1)
    for cfg in (SEPARATE, SCALAR):
        params, x, y = draw_problem(cfg, seed=1)
        np.testing.assert_array_equal(x, base[1])
        np.testing.assert_array_equal(y, base[2])
        for name in ("W", "C", "b", "V", "c"):
            np.testing.assert_array_equal(params[name], base[0][name])
    params, _, _ = draw_problem(SEPARATE, seed=1, unit_gain=True)
    assert (params["g0"] == 1).all() and (params["beta0"] == 0).all()


@pytest.mark.parametrize("flags, names", [(["--ln-params", "separate", "--ln-preliminary"], ("g0", "beta0")),
                                          (["--ln-params", "scalar"], ())])
def test_cli_exports_each_variant(tmp_path, capsys, flags, names):
    path = tmp_path / "g.npz"
    assert main(["oracle", "export", "--hidden", "4", "--steps", "3", *flags, "--out", str(path)]) == 0
    golden = load_golden(path)
    assert read_manifest(golden)["config"]["ln_params"] == flags[1]
    assert all(f"grad.{n}" in golden for n in names)
    assert main(["oracle", "compare", str(path), str(path)]) == 0
    assert "compare PASSED" in capsys.readouterr().out


def test_cli_refuses_separate_without_the_preliminary_layer_norm(tmp_path, capsys):
    assert main(["oracle", "export", "--ln-params", "separate", "--out", str(tmp_path / "g.npz")]) == 2
    assert "needs ln_preliminary=True" in capsys.readouterr().err


@pytest.mark.parametrize("cfg", [SEPARATE, SCALAR], ids=["separate", "scalar"])
def test_numba_refuses(cfg):
    params, x, y = _problem(cfg)
    message = (f"backend 'numba' computes the paper's model only (ln_params='shared'), "
               f"got ln_params={cfg.ln_params!r}; use backend 'numpy' for the variants (docs/variants.md)")
    with pytest.raises(ValueError, match=re.escape(message)):
        fw.loss_and_grad(params, x, y, cfg, backend="numba")
    with pytest.raises(ValueError, match=re.escape(message)):
        fw.hidden_states(params, x, cfg, backend="numba")
