"""ln_axis (issue 18): layer norm's statistics over the H units of each example (the paper's,
default) or over the batch axis for each unit ("batch": batch normalisation without running
averages, a bug of some public code; the examples of a batch are then not independent).

Checked: the op against a direct formula and finite differences (its backward couples the
examples), the core against an independent loop, the model and the sequence against finite
differences in float64, the zero-variance error, the oracle, and the Numba backend's refusal.
"""

import itertools
import re

import numpy as np
import pytest

import fastweights_np as fw
from fastweights_np.cli import main
from fastweights_np.cores.fast_weights import FastWeightsState, sequence_backward, sequence_forward
from fastweights_np.finite import NonFiniteError
from fastweights_np.gradcheck import check_gradients, check_model, check_op
from fastweights_np.ops.layernorm import layernorm_batch_backward, layernorm_batch_forward
from fastweights_np.oracle import compare, golden_vectors, load_golden, read_manifest

FORMS = ("matrix", "attention")
TIMINGS = ("paper", "lagged", "preliminary")
CORE = ("W", "C", "b", "g", "beta")


def _cfg(**kw):
    return fw.FastWeightsConfig(**{"input_size": 3, "hidden_size": 5, "output_size": 3, "inner_steps": 2,
                                   "ln_axis": "batch", **kw})


def _problem(cfg, B=3, T=4, seed=0):
    rng = np.random.default_rng(seed)
    params = {k: v + 0.1 * rng.standard_normal(v.shape) for k, v in fw.init_params(cfg, seed).items()}
    return params, rng.standard_normal((B, T, cfg.input_size)), rng.integers(0, cfg.output_size, B)


def test_default_is_per_example_and_bad_values_name_the_field():
    assert fw.FastWeightsConfig(input_size=1, hidden_size=2, output_size=2).ln_axis == "example"
    with pytest.raises(ValueError, match=re.escape("ln_axis must be one of ('example', 'batch'), got 'time'")):
        _cfg(ln_axis="time")


# ---------------------------------------------------------------------------------- the op
def test_batch_op_normalises_each_unit_over_the_batch():
    rng = np.random.default_rng(0)
    v, g, beta = rng.standard_normal((6, 4)), rng.standard_normal(4), rng.standard_normal(4)
    out, _ = layernorm_batch_forward(v, g, beta, 1e-5)
    want = g * (v - v.mean(axis=0)) / np.sqrt(v.var(axis=0) + 1e-5) + beta
    np.testing.assert_allclose(out, want, rtol=1e-13, atol=1e-14)


@pytest.mark.parametrize("shape, gain", [((4, 3), (3,)), ((5, 2, 3), (3,)), ((4, 3), (1,))])
def test_batch_op_gradient(shape, gain):
    rng = np.random.default_rng(1)
    inputs = {"v": rng.standard_normal(shape), "g": 1 + 0.3 * rng.standard_normal(gain),
              "beta": rng.standard_normal(gain), "eps": 1e-5}
    report = check_op(layernorm_batch_forward, layernorm_batch_backward, inputs, ["v", "g", "beta"])
    assert report.passed, "\n" + str(report)


def test_batch_op_backward_couples_the_examples():
    rng = np.random.default_rng(2)
    v, g, beta = rng.standard_normal((4, 3)), rng.standard_normal(3), rng.standard_normal(3)
    _, cache = layernorm_batch_forward(v, g, beta, 1e-5)
    dout = np.zeros((4, 3))
    dout[1] = rng.standard_normal(3)  # a gradient on example 1 only
    dv, _, _ = layernorm_batch_backward(dout, cache)
    assert np.all(np.abs(dv[[0, 2, 3]]) > 1e-3)  # reaches every other example


def test_batch_op_zero_variance_with_zero_eps_is_an_error_and_b1_gives_beta():
    beta = np.array([0.5, -1.0, 2.0])
    out, _ = layernorm_batch_forward(np.array([[1.0, 2.0, 3.0]]), np.ones(3), beta, 1e-5)
    np.testing.assert_array_equal(out, [beta])  # B = 1: each unit is its own mean
    with pytest.raises(NonFiniteError) as info:
        layernorm_batch_forward(np.array([[1.0, 2.0, 3.0]]), np.ones(3), beta, 0.0)
    assert str(info.value) == (
        "layer norm over the batch axis (ln_axis='batch') with ln_eps = 0 would divide 0 by 0: its input v "
        "(shape (1, 3)) has variance exactly 0 over the B = 1 examples for unit 0 (3 of the H = 3 units have "
        "variance 0) (with B = 1 every unit has: a single example is always its own mean), so (v - mean_b(v)) / "
        "sqrt(var_b(v) + ln_eps) is 0/0. Use ln_eps > 0, a batch whose examples differ (B > 1), or "
        "ln_axis='example' (the paper's)."
    )
    v = np.array([[1.0, 2.0, 3.0], [1.0, 5.0, 0.0]])  # unit 0 is equal over the batch
    with pytest.raises(NonFiniteError, match="for unit 0, so"):
        layernorm_batch_forward(v, np.ones(3), beta, 0.0)


# -------------------------------------------------------------------------- the recurrence
def _batch_ln(v, g, beta, eps):
    mu = v.mean(axis=0)
    return g * (v - mu) / np.sqrt(((v - mu) ** 2).mean(axis=0) + eps) + beta


def _naive_paper(params, x, cfg):
    """The paper timing written out with one explicit H×H matrix per example and batch-axis LN."""
    B, T, _ = x.shape
    H = cfg.hidden_size
    f = np.tanh if cfg.activation == "tanh" else (lambda v: np.maximum(v, 0.0))
    h, A = np.zeros((B, H)), np.zeros((B, H, H))
    hs = []
    for t in range(T):
        A = np.stack([cfg.decay * A[n] + cfg.fast_lr * np.outer(h[n], h[n]) for n in range(B)])
        z = h @ params["W"].T + x[:, t] @ params["C"].T + params["b"]
        hi = f(_batch_ln(z, params["g"], params["beta"], cfg.ln_eps)) if cfg.ln_preliminary else f(z)
        for _ in range(cfg.inner_steps):
            a = z + np.stack([A[n] @ hi[n] for n in range(B)])
            hi = f(_batch_ln(a, params["g"], params["beta"], cfg.ln_eps))
        h = hi
        hs.append(h)
    return np.stack(hs, axis=1), A


@pytest.mark.parametrize("form, ln_preliminary, activation",
                         list(itertools.product(FORMS, (False, True), ("relu", "tanh"))))
def test_core_matches_an_independent_loop(form, ln_preliminary, activation):
    cfg = _cfg(form=form, ln_preliminary=ln_preliminary, activation=activation)
    params, x, _ = _problem(cfg, B=4, T=5)
    (hs, state), _ = sequence_forward(params, x, cfg)
    want_hs, want_A = _naive_paper(params, x, cfg)
    np.testing.assert_allclose(hs, want_hs, rtol=1e-12, atol=1e-13)
    np.testing.assert_allclose(state.A, want_A, rtol=1e-12, atol=1e-13)


def test_the_examples_of_a_batch_are_not_independent():
    for axis, coupled in (("example", False), ("batch", True)):
        cfg = _cfg(ln_axis=axis)
        params, x, _ = _problem(cfg)
        hs = fw.hidden_states(params, x, cfg)
        x2 = x.copy()
        x2[2] += 1.0  # change example 2 only
        hs2 = fw.hidden_states(params, x2, cfg)
        assert np.allclose(hs2[:2], hs[:2]) is not coupled, axis
        np.testing.assert_array_equal(fw.hidden_states(params, x[:1], cfg.replace(ln_axis="example"))[0],
                                      fw.hidden_states(params, x, cfg.replace(ln_axis="example"))[0])


def test_b_cancels_where_every_use_of_it_is_batch_normalised():
    """With ln_preliminary, z_t + b only ever enters batch-axis LN, which removes a per-unit shift."""
    cfg = _cfg(ln_preliminary=True)
    params, x, y = _problem(cfg)
    _, grads = fw.loss_and_grad(params, x, y, cfg)
    assert np.max(np.abs(grads["b"])) < 1e-12 * np.max(np.abs(grads["C"]))
    np.testing.assert_allclose(fw.hidden_states(dict(params, b=params["b"] + 3.0), x, cfg),
                               fw.hidden_states(params, x, cfg), rtol=1e-9, atol=1e-11)


# ----------------------------------------------------------------------- gradients (float64)
@pytest.mark.parametrize("timing, form", list(itertools.product(TIMINGS, FORMS)))
def test_model_gradients(timing, form):
    for ln_preliminary, ln_params in ((False, "shared"), (True, "shared"), (True, "separate"), (False, "scalar")):
        cfg = _cfg(fast_weight_timing=timing, form=form, ln_preliminary=ln_preliminary, ln_params=ln_params)
        params, x, y = _problem(cfg, B=3, seed=1 + ln_preliminary)
        report = check_model(params, x, y, cfg, mode="both")
        assert report.passed, f"{timing}/{form}/ln_preliminary={ln_preliminary}/{ln_params}\n{report}"


@pytest.mark.parametrize("form", FORMS)
def test_sequence_gradients_with_a_carried_state(form):
    cfg = _cfg(form=form, ln_preliminary=True, activation="tanh")
    params, x, _ = _problem(cfg, T=3)
    rng = np.random.default_rng(7)
    B, T, H = 3, 3, cfg.hidden_size
    point = {k: params[k] for k in CORE}
    point.update(x=x, h0=rng.standard_normal((B, H)), A0=0.3 * rng.standard_normal((B, H, H)))
    dhs, dh_T, dA_T = rng.standard_normal((B, T, H)), rng.standard_normal((B, H)), rng.standard_normal((B, H, H))

    def run(t):
        return sequence_forward({k: t[k] for k in CORE}, t["x"], cfg, FastWeightsState(t["h0"], t["A0"]))

    def f(t):
        (hs, state), _ = run(t)
        return float(np.sum(hs * dhs) + np.sum(state.h * dh_T) + np.sum(state.A * dA_T))

    grads, dx, dstate0 = sequence_backward((dhs, FastWeightsState(dh_T, dA_T)), run(point)[1])
    analytic = {k: grads[k] for k in CORE}
    analytic.update(x=dx, h0=dstate0.h, A0=dstate0.A)
    report = check_gradients(f, point, analytic, mode="entry")
    assert report.passed, "\n" + str(report)


def test_zero_eps_and_a_single_example_raise_in_the_model():
    cfg = _cfg(ln_eps=0.0)
    params, x, y = _problem(cfg, B=1)
    with pytest.raises(NonFiniteError, match=re.escape("over the B = 1 examples for unit 0")):
        fw.loss_and_grad(params, x, y, cfg)


# ------------------------------------------------------------------------------------ oracle
def test_the_oracle_exports_the_batch_axis_from_python_and_the_cli(tmp_path, capsys):
    golden = golden_vectors(_cfg(), batch=3, steps=4, seed=3)
    assert read_manifest(golden)["config"]["ln_axis"] == "batch"
    paper = golden_vectors(_cfg(ln_axis="example"), batch=3, steps=4, seed=3)
    np.testing.assert_array_equal(golden["x"], paper["x"])
    assert compare(golden, golden).passed and not compare(golden, paper).passed
    path = tmp_path / "batch.npz"
    assert main(["oracle", "export", "--hidden", "4", "--steps", "3", "--ln-axis", "batch", "--out", str(path)]) == 0
    assert read_manifest(load_golden(path))["config"]["ln_axis"] == "batch"
    assert main(["oracle", "compare", str(path), str(path)]) == 0
    assert "compare PASSED" in capsys.readouterr().out


def test_numba_refuses():
    cfg = _cfg()
    params, x, y = _problem(cfg)
    message = ("backend 'numba' computes the paper's model only (ln_axis='example'), got ln_axis='batch'; "
               "use backend 'numpy' for the variants (docs/variants.md)")
    for run in (lambda: fw.loss_and_grad(params, x, y, cfg, backend="numba"),
                lambda: fw.hidden_states(params, x, cfg, backend="numba")):
        with pytest.raises(ValueError, match=re.escape(message)):
            run()


# ------------------------------------------------------------------------ array namespaces
VARIANTS = [dict(ln_axis="batch", ln_preliminary=True),
            dict(ln_params="separate", ln_preliminary=True, ln_axis="batch"),
            dict(ln_params="scalar", ln_axis="example"), dict(loss_reduction="sum", ln_axis="example"),
            dict(no_inner_loop=True, inner_steps=1, ln_params="scalar")]


@pytest.mark.parametrize("variant", VARIANTS, ids=lambda v: ",".join(f"{k}={v[k]}" for k in v))
@pytest.mark.parametrize("form", FORMS)
def test_every_new_variant_runs_under_array_api_strict(variant, form):
    """The reference stays namespace-generic (CuPy runs this code): same numbers as NumPy."""
    xps = pytest.importorskip("array_api_strict")
    from fastweights_np.array_namespace import namespace, to_namespace, to_numpy
    from fastweights_np.models.canonical import forward_record, loss_backward, loss_forward

    cfg = _cfg(form=form, **variant)
    params, x, y = _problem(cfg)
    loss, cache = loss_forward(params, x, y, cfg)
    s_loss, s_cache = loss_forward(*to_namespace((params, x, y), xps), cfg)
    assert namespace(forward_record(s_cache)["hs"]) is xps
    assert s_loss == pytest.approx(loss, rel=1e-14)
    for part, want, got in (("record", forward_record(cache), forward_record(s_cache)),
                            ("grads", loss_backward(cache), loss_backward(s_cache))):
        got = to_numpy(got)
        assert set(got) == set(want), part
        for name in want:
            np.testing.assert_allclose(np.asarray(got[name]), np.asarray(want[name]), rtol=1e-12, atol=1e-14,
                                       err_msg=f"{part} {name}")
