"""loss_reduction (issue 18): the canonical model's batch loss as a mean (default) or a sum.

L_sum = Σ_b ℓ_b = B · L_mean, so every gradient is B times the mean's. Checked against an
independent sum of per-example cross-entropies, against finite differences in float64, through
the oracle (CLI and Python), and the Numba backend's refusal.
"""

import re

import numpy as np
import pytest

import fastweights_np as fw
from fastweights_np.cli import main
from fastweights_np.gradcheck import check_model
from fastweights_np.models.canonical import PARAM_NAMES, loss_scale
from fastweights_np.oracle import compare, golden_vectors, load_golden, read_manifest

FORMS = ("matrix", "attention")


def _cfg(**kw):
    return fw.FastWeightsConfig(**{"input_size": 3, "hidden_size": 5, "output_size": 3, "inner_steps": 2, **kw})


def _problem(cfg, B=3, T=4, seed=0):
    rng = np.random.default_rng(seed)
    params = {k: v + 0.1 * rng.standard_normal(v.shape) for k, v in fw.init_params(cfg, seed).items()}
    return params, rng.standard_normal((B, T, cfg.input_size)), rng.integers(0, cfg.output_size, B)


def test_default_is_the_mean_and_bad_values_name_the_field():
    assert _cfg().loss_reduction == "mean"
    assert loss_scale(_cfg(), 7) == 1.0 and loss_scale(_cfg(loss_reduction="sum"), 7) == 7.0
    with pytest.raises(ValueError, match=re.escape("loss_reduction must be one of ('mean', 'sum'), got 'total'")):
        _cfg(loss_reduction="total")


@pytest.mark.parametrize("form", FORMS)
def test_sum_is_the_sum_of_the_per_example_losses(form):
    cfg = _cfg(form=form, loss_reduction="sum")
    params, x, y = _problem(cfg)
    hs = fw.hidden_states(params, x, cfg)
    logits = hs[:, -1] @ params["V"].T + params["c"]
    shifted = logits - logits.max(axis=1, keepdims=True)
    per_example = -(shifted[np.arange(3), y] - np.log(np.exp(shifted).sum(axis=1)))
    loss, _ = fw.loss_and_grad(params, x, y, cfg)
    assert loss == pytest.approx(float(np.sum(per_example)), rel=1e-13)


@pytest.mark.parametrize("form", FORMS)
def test_sum_gradients_are_batch_times_the_mean_gradients(form):
    cfg = _cfg(form=form)
    params, x, y = _problem(cfg, B=4)
    loss_mean, g_mean = fw.loss_and_grad(params, x, y, cfg)
    loss_sum, g_sum = fw.loss_and_grad(params, x, y, cfg.replace(loss_reduction="sum"))
    assert loss_sum == pytest.approx(4 * loss_mean, rel=1e-14)
    for name in (*PARAM_NAMES, "decay", "fast_lr"):
        np.testing.assert_allclose(g_sum[name], 4 * np.asarray(g_mean[name]), rtol=1e-13, atol=1e-16, err_msg=name)


@pytest.mark.parametrize("form", FORMS)
@pytest.mark.parametrize("timing", ["paper", "preliminary"])
def test_sum_gradients_match_finite_differences(form, timing):
    cfg = _cfg(form=form, fast_weight_timing=timing, loss_reduction="sum", ln_preliminary=timing == "preliminary")
    params, x, y = _problem(cfg, seed=3)
    report = check_model(params, x, y, cfg, mode="both")
    assert report.passed, "\n" + str(report)


def test_the_oracle_exports_a_summed_loss_from_python():
    mean = golden_vectors(_cfg(), batch=3, steps=4, seed=2)
    summed = golden_vectors(_cfg(loss_reduction="sum"), batch=3, steps=4, seed=2)
    np.testing.assert_array_equal(summed["x"], mean["x"])
    np.testing.assert_allclose(summed["loss"], 3 * mean["loss"], rtol=1e-14)
    np.testing.assert_allclose(summed["grad.W"], 3 * mean["grad.W"], rtol=1e-13)
    manifest = read_manifest(summed)
    assert manifest["config"]["loss_reduction"] == "sum"
    assert manifest["arrays"]["loss"]["meaning"].startswith("sum over the batch")
    assert read_manifest(mean)["arrays"]["loss"]["meaning"].startswith("mean over the batch")
    assert compare(summed, summed).passed and not compare(summed, mean).passed


def test_cli_exports_a_summed_loss(tmp_path, capsys):
    path = tmp_path / "sum.npz"
    assert main(["oracle", "export", "--hidden", "4", "--steps", "3", "--loss-reduction", "sum",
                 "--out", str(path)]) == 0
    golden = load_golden(path)
    assert read_manifest(golden)["config"]["loss_reduction"] == "sum"
    assert main(["oracle", "compare", str(path), str(path)]) == 0
    assert "compare PASSED" in capsys.readouterr().out


def test_numba_refuses_a_summed_loss_but_runs_the_core():
    cfg = _cfg(loss_reduction="sum")
    params, x, y = _problem(cfg)
    with pytest.raises(ValueError) as info:
        fw.loss_and_grad(params, x, y, cfg, backend="numba")
    assert str(info.value) == (
        "backend 'numba' computes the paper's model only (loss_reduction='mean'), got loss_reduction='sum'; "
        "use backend 'numpy' for the variants (docs/variants.md)"
    )
    # the core does not reduce over the batch: its states are the paper's
    np.testing.assert_allclose(fw.hidden_states(params, x, cfg, backend="numba"), fw.hidden_states(params, x, cfg),
                               rtol=1e-12, atol=1e-14)
