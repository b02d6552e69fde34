"""Export options beyond the canonical model (issue 18): λ and η trained by the Adam steps
(train_scalars / --train-scalars), integer token inputs with an embedding (tokens / --tokens V)
and the paper's MLP readout (readout="mlp" / --readout mlp). Each exports, passes compare
against itself, is recorded in the manifest, leaves the default export as it was, and its
gradients agree with finite differences in float64; diagnose refuses what it does not search."""

import json

import numpy as np
import pytest

from fastweights_np.cli import main
from fastweights_np.cores.fast_weights.config import FastWeightsConfig
from fastweights_np.oracle import (
    compare,
    diagnose,
    golden_from_inputs,
    golden_vectors,
    load_golden,
    problem_vectors,
    save_golden,
)
from fastweights_np.oracle.export import _extended_loss, draw_problem
from fastweights_np.oracle.format import OracleFileError

CFG = FastWeightsConfig(input_size=4, hidden_size=8, output_size=3, inner_steps=2)
OPTIONS = {
    "train_scalars": {"train_scalars": True},
    "tokens": {"tokens": 6},
    "mlp": {"readout": "mlp", "readout_hidden": 7},
    "all": {"train_scalars": True, "tokens": 5, "readout": "mlp", "readout_hidden": 4},
}


def _settings(golden: dict) -> dict:
    return json.loads(str(golden["__manifest__"]))["settings"]


def _loss(params: dict, x, y, cfg: FastWeightsConfig, readout: str) -> float:
    return float(golden_from_inputs(params, x, y, cfg, adam_steps=0, readout=readout)["loss"])


def _finite_difference(params: dict, x, y, cfg, readout: str, name: str, index: tuple, h: float = 1e-6) -> float:
    plus = {k: v.copy() for k, v in params.items()}
    minus = {k: v.copy() for k, v in params.items()}
    plus[name][index] += h
    minus[name][index] -= h
    return (_loss(plus, x, y, cfg, readout) - _loss(minus, x, y, cfg, readout)) / (2 * h)


@pytest.mark.parametrize("option", OPTIONS)
def test_each_option_exports_and_passes_compare_against_itself(tmp_path, option):
    golden = golden_vectors(CFG, **OPTIONS[option])
    path = save_golden(tmp_path / "golden.npz", golden)
    loaded = load_golden(path)
    report = compare(loaded, golden)
    assert report.passed and len(report.rows) == len(golden) - 1, str(report)
    perturbed = dict(golden, **{"grad.decay": golden["grad.decay"] * (1 + 1e-5)})
    assert not compare(loaded, perturbed).passed  # the comparison can fail


def test_the_default_export_records_no_new_setting_and_keeps_its_arrays():
    default = golden_vectors(CFG)
    settings = _settings(default)
    assert "train_scalars" not in settings["adam"] and "tokens" not in settings and "readout" not in settings
    assert not any(name.endswith((".E", ".W1", ".b1", "params.decay", "params.fast_lr")) for name in default)
    explicit = golden_vectors(CFG, train_scalars=False, tokens=None, readout="linear")
    assert explicit.keys() == default.keys()
    assert all(np.array_equal(explicit[k], default[k]) for k in default)


def test_the_extended_model_without_options_is_the_canonical_model():
    params, x, y = draw_problem(CFG)
    default = golden_vectors(CFG, adam_steps=0)
    loss, record, grads = _extended_loss(params, x, y, CFG, "linear")
    assert float(loss) == pytest.approx(float(default["loss"]), rel=1e-14)
    for name in ("h_inner", "A_T", "logits"):
        np.testing.assert_allclose(record[name], default[name], rtol=1e-13, atol=1e-15)
    for name in ("W", "C", "b", "g", "beta", "V", "c", "decay", "fast_lr"):
        np.testing.assert_allclose(grads[name], default[f"grad.{name}"], rtol=1e-12, atol=1e-15)


# ---- trained λ and η ------------------------------------------------------------------------
def test_train_scalars_exports_trained_decay_and_fast_lr_and_moves_the_adam_steps():
    default, trained = golden_vectors(CFG), golden_vectors(CFG, train_scalars=True)
    assert _settings(trained)["adam"]["train_scalars"] is True
    assert trained["adam.params.decay"].shape == () and trained["adam.params.fast_lr"].shape == ()
    assert float(trained["adam.params.decay"]) != CFG.decay and float(trained["adam.params.fast_lr"]) != CFG.fast_lr
    for name in ("loss", "grad.W", "grad.decay", "params.W"):  # before any step: the same
        assert np.array_equal(trained[name], default[name])
    assert trained["adam.loss"][0] == default["adam.loss"][0]
    assert not np.allclose(trained["adam.loss"][1:], default["adam.loss"][1:], rtol=1e-9, atol=0)
    assert not np.allclose(trained["adam.params.W"], default["adam.params.W"], rtol=1e-9, atol=0)


def test_one_adam_step_on_decay_and_fast_lr_is_the_hand_computation():
    golden = golden_vectors(CFG, train_scalars=True, adam_steps=1)
    lr, eps = 1e-3, 1e-8
    for name, start in (("decay", CFG.decay), ("fast_lr", CFG.fast_lr)):
        g = float(golden[f"grad.{name}"])
        m_hat, v_hat = (1 - 0.9) * g / (1 - 0.9), (1 - 0.999) * g * g / (1 - 0.999)  # bias-corrected, k = 1
        assert float(golden[f"adam.params.{name}"]) == pytest.approx(start - lr * m_hat / (np.sqrt(v_hat) + eps),
                                                                     rel=1e-15)
    # the second loss is the reference's at the stepped weights and the stepped λ, η
    weights = {k[len("adam.params."):]: golden[k] for k in golden if k.startswith("adam.params.")}
    cfg = CFG.replace(decay=float(weights.pop("decay")), fast_lr=float(weights.pop("fast_lr")))
    again = golden_from_inputs(weights, golden["x"], golden["y"], cfg, adam_steps=0)
    assert float(golden["adam.loss"][1]) == pytest.approx(float(again["loss"]), rel=1e-14)


def test_diagnose_retrains_decay_and_fast_lr_when_the_golden_file_did():
    problem = problem_vectors(CFG, train_scalars=True)
    theirs = golden_vectors(CFG.replace(fast_weight_timing="lagged"), train_scalars=True)
    found = diagnose(problem, theirs)
    assert found.matched and found.variant == {"fast_weight_timing": "lagged"}, str(found)
    assert "adam.params.decay" in [r.name for r in found.report.rows]
    fixed = diagnose(problem_vectors(CFG), theirs)  # a golden file whose Adam steps hold λ, η fixed
    assert not fixed.matched


# ---- token inputs with an embedding ---------------------------------------------------------
def test_tokens_are_ids_embedded_by_E_and_match_the_model_on_the_embedded_inputs():
    golden = golden_vectors(CFG, tokens=6, adam_steps=0)
    x, E = golden["x"], golden["params.E"]
    assert x.shape == (3, 5) and x.dtype.kind == "i" and 0 <= x.min() and x.max() < 6 and E.shape == (6, 4)
    assert _settings(golden)["tokens"] == 6
    params = {k[len("params."):]: v for k, v in golden.items() if k.startswith("params.") and k != "params.E"}
    embedded = golden_from_inputs(params, E[x], golden["y"], CFG, adam_steps=0)
    for name in ("h_inner", "A_T", "logits", "loss", "grad.W", "grad.decay"):
        np.testing.assert_allclose(golden[name], embedded[name], rtol=1e-13, atol=1e-15)
    unused = sorted(set(range(6)) - set(x.ravel().tolist()))
    assert all(not golden["grad.E"][v].any() for v in unused)


def test_grad_E_agrees_with_finite_differences():
    params, x, y = draw_problem(CFG, tokens=6)
    golden = golden_from_inputs(params, x, y, CFG, adam_steps=0)
    for index in [(int(x[0, 0]), 0), (int(x[2, 4]), 3), (int(x[1, 2]), 1)]:
        fd = _finite_difference(params, x, y, CFG, "linear", "E", index)
        assert golden["grad.E"][index] == pytest.approx(fd, rel=1e-6, abs=1e-9)


def test_tokens_refuse_bad_ids_and_a_bad_vocabulary_by_name():
    params, x, y = draw_problem(CFG, tokens=6)
    with pytest.raises(ValueError, match=r"x must hold token ids in \[0, V = 6\).*got 6"):
        golden_from_inputs(params, np.where(x == x[0, 0], 6, x), y, CFG)
    with pytest.raises(ValueError, match=r"x must be integer token ids of shape \(B, T\).*float64"):
        golden_from_inputs(params, params["E"][x], y, CFG)
    with pytest.raises(ValueError, match="tokens must be None or a positive integer V.*got 0"):
        golden_vectors(CFG, tokens=0)


# ---- the MLP readout ------------------------------------------------------------------------
def test_mlp_readout_logits_are_the_paper_readout_of_h_T():
    golden = golden_vectors(CFG, readout="mlp", adam_steps=0)
    assert golden["params.W1"].shape == (100, 8) and golden["params.V"].shape == (3, 100)
    assert _settings(golden)["readout"] == "mlp" and _settings(golden)["readout_hidden"] == 100
    h_T = golden["hs"][:, -1]
    a = np.maximum(h_T @ golden["params.W1"].T + golden["params.b1"], 0)
    np.testing.assert_allclose(golden["logits"], a @ golden["params.V"].T + golden["params.c"], rtol=1e-13)
    np.testing.assert_array_equal(golden["hs"], golden_vectors(CFG, adam_steps=0)["hs"])  # the same core
    assert 0 < (a > 0).mean() < 1  # some units on, some off: the ReLU's two branches are exercised


@pytest.mark.parametrize("name, index", [("W1", (2, 5)), ("b1", (1,)), ("V", (0, 3)), ("c", (2,)), ("W", (1, 4)),
                                         ("g", (6,))])
def test_mlp_readout_gradients_agree_with_finite_differences(name, index):
    params, x, y = draw_problem(CFG, readout="mlp", readout_hidden=5)
    golden = golden_from_inputs(params, x, y, CFG, adam_steps=0, readout="mlp")
    fd = _finite_difference(params, x, y, CFG, "mlp", name, index)
    assert golden[f"grad.{name}"][index] == pytest.approx(fd, rel=1e-6, abs=1e-9)


def test_mlp_readout_refuses_a_bad_readout_by_name():
    with pytest.raises(ValueError, match=r"readout must be one of \('linear', 'mlp'\), got 'MLP'"):
        golden_vectors(CFG, readout="MLP")
    params, x, y = draw_problem(CFG)  # linear-readout parameters: no W1, b1
    with pytest.raises(ValueError, match="W1"):
        golden_from_inputs(params, x, y, CFG, readout="mlp")


# ---- the command line -----------------------------------------------------------------------
def test_cli_exports_the_options_compares_them_and_diagnose_says_it_does_not_search_them(tmp_path, capsys):
    out = tmp_path / "golden.npz"
    assert main(["oracle", "export", "--train-scalars", "--tokens", "5", "--readout", "mlp", "--readout-hidden", "4",
                 "--out", str(out)]) == 0
    assert "train-scalars tokens=5 readout=mlp F=4" in capsys.readouterr().out
    golden = load_golden(out)
    settings = _settings(golden)
    assert settings["tokens"] == 5 and settings["readout"] == "mlp" and settings["readout_hidden"] == 4
    assert settings["adam"]["train_scalars"] is True
    assert {"params.E", "grad.E", "params.W1", "grad.b1", "adam.params.decay"} <= set(golden)
    assert main(["oracle", "compare", str(out), str(out)]) == 0
    capsys.readouterr()
    assert main(["oracle", "diagnose", str(out), str(out)]) == 2
    err = capsys.readouterr().err
    assert "tokens=5, readout='mlp'" in err and "does not search" in err and "oracle compare" in err
    with pytest.raises(OracleFileError, match="does not search"):
        diagnose(golden, golden)


def test_cli_problem_writes_the_token_problem(tmp_path, capsys):
    out = tmp_path / "problem.npz"
    assert main(["oracle", "problem", "--tokens", "4", "--out", str(out)]) == 0
    problem = load_golden(out)
    assert problem["x"].dtype.kind == "i" and problem["params.E"].shape == (4, 4) and "loss" not in problem
    np.testing.assert_array_equal(problem["x"], golden_vectors(CFG, tokens=4)["x"])
