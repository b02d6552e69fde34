"""oracle diagnose and oracle problem (issue 18, item 3): every variant, exported with the default
problem's inputs and parameters, is named exactly, with its plain-words sentence; a transposed
W; noise at one step is located; the problem file; the CLI's exit statuses."""

import json

import numpy as np
import pytest

from fastweights_np import FastWeightsConfig
from fastweights_np.cli import main
from fastweights_np.oracle import (
    MANIFEST_KEY,
    OracleFileError,
    diagnose,
    draw_problem,
    golden_from_inputs,
    golden_vectors,
    load_golden,
    problem_vectors,
    read_manifest,
    save_golden,
)
from fastweights_np.oracle.compare import is_echo
from fastweights_np.oracle.diagnose import explain

# The CLI's default problem: H = 8, I = 4, O = 3, S = 2, B = 3, T = 5.
CFG = FastWeightsConfig(input_size=4, hidden_size=8, output_size=3, inner_steps=2)

# changes to CFG -> (the variant diagnose must name, a phrase its sentences must contain)
VARIANTS = {
    "lagged": ({"fast_weight_timing": "lagged"}, "the fast weights lag one step: step t reads A_{t-1}"),
    "preliminary": ({"fast_weight_timing": "preliminary"}, "written with the preliminary vector"),
    "ln_preliminary": ({"ln_preliminary": True}, "the preliminary vector is layer-normalised too"),
    "ln_axis_batch": ({"ln_axis": "batch"}, "layer-norm statistics are taken over the batch axis: this is batch "
                                            "normalisation; examples in a batch are not independent"),
    "eps_0": ({"ln_eps": 0.0}, "layer norm uses ε = 0 (no ε), the golden file 1e-5"),
    "eps_1e-12": ({"ln_eps": 1e-12}, "layer norm uses ε = 1e-12 (TensorFlow's default), the golden file 1e-5"),
    "eps_1e-6": ({"ln_eps": 1e-6}, "layer norm uses ε = 1e-6, the golden file 1e-5"),
    "eps_1e-3": ({"ln_eps": 1e-3}, "layer norm uses ε = 0.001 (Keras's LayerNormalization default)"),
    "ln_params_scalar": ({"ln_params": "scalar"}, "layer norm's gain and bias are scalars (shape (1,)"),
    "ln_params_separate": ({"ln_preliminary": True, "ln_params": "separate"}, "its own gain and bias g0, β0"),
    "tanh": ({"activation": "tanh"}, "the nonlinearity f is tanh, not relu"),
    "sum": ({"loss_reduction": "sum"}, "the loss is summed over the batch, not averaged: every gradient is B = 3 "
                                       "times the paper's"),
    "no_inner_loop": ({"no_inner_loop": True, "inner_steps": 1},
                      "there is no preliminary vector and no inner loop: h_t = f(LN(W h_{t-1} + C x_t + b + "
                      "A_t h_{t-1}))"),
    "inner_steps_1": ({"inner_steps": 1}, "the inner loop runs S = 1 iteration, the golden file's 2"),
    "inner_steps_3": ({"inner_steps": 3}, "the inner loop runs S = 3 iterations, the golden file's 2"),
    "no_layer_norm": ({"layer_norm": False}, "the inner loop has no layer norm"),
    # combinations of two
    "lagged_eps_1e-12": ({"fast_weight_timing": "lagged", "ln_eps": 1e-12}, "ε = 1e-12 (TensorFlow's default)"),
    "batch_axis_sum": ({"ln_axis": "batch", "loss_reduction": "sum"}, "this is batch normalisation"),
}


def _outputs(g: dict, keep: tuple = ()) -> dict:
    """What an implementation computes: the arrays but the echoes (x, y, params.*), and ``keep``."""
    return {k: v for k, v in g.items() if k != MANIFEST_KEY and (not is_echo(k) or k in keep)}


@pytest.fixture(scope="module")
def golden():
    return golden_vectors(CFG)


@pytest.fixture(scope="module")
def exported():
    """Each variant's golden file, exported from the same seed as the default's."""
    return {name: golden_vectors(CFG.replace(**changes)) for name, (changes, _) in VARIANTS.items()}


def test_every_variant_is_exported_with_the_default_problems_inputs_and_parameters(golden, exported):
    for name, arrays in exported.items():
        for key in [k for k in golden if is_echo(k)]:
            expected = golden[key]
            if name == "ln_params_scalar" and key in ("params.g", "params.beta"):
                expected = golden[key][:1]  # the first of the (H,) draws
            np.testing.assert_array_equal(arrays[key], expected, err_msg=f"{name}: {key}")
        assert set(arrays) - set(golden) <= {"params.g0", "params.beta0", "grad.g0", "grad.beta0",
                                             "adam.params.g0", "adam.params.beta0"}, name


@pytest.mark.parametrize("name", list(VARIANTS))
def test_each_variant_is_named_exactly_with_its_sentence(golden, exported, name):
    changes, phrase = VARIANTS[name]
    theirs = _outputs(exported[name], keep=("params.g0", "params.beta0"))
    found = diagnose(golden, theirs)
    assert found.matched, str(found)
    assert found.variant == changes
    assert found.transposed == ()
    assert any(phrase in sentence for sentence in found.explanation), found.explanation
    # one sentence per differing option (no_inner_loop's covers its inner_steps = 1)
    assert len(found.explanation) == len(changes) - (name == "no_inner_loop")
    assert found.report.passed and {r.name for r in found.report.rows} == set(_outputs(exported[name]))
    assert "MATCH" in found.summary() and "NO MATCH" not in found.summary()


def test_the_default_against_itself_is_the_papers_model(golden):
    found = diagnose(golden, _outputs(golden))
    assert found.matched and found.variant == {} and found.transposed == () and found.explanation == []
    assert "the paper's model" in found.summary()
    assert found.first_mismatch is None


def test_a_golden_file_of_a_variant_against_itself_names_that_variant_as_its_own(exported):
    lagged = exported["lagged"]
    found = diagnose(lagged, _outputs(lagged))
    assert found.matched and found.variant == {}
    assert "the golden file's model (fast_weight_timing='lagged')" in found.summary()
    assert "the paper's model" not in found.summary()


def _transposed_w_outputs() -> dict:
    """What code that computes h W (Wᵀ h) from the golden W outputs: its gradients are
    with respect to its stored W, i.e. the transposes of the reference's at Wᵀ."""
    params, x, y = draw_problem(CFG)
    arrays = _outputs(golden_from_inputs(dict(params, W=np.ascontiguousarray(params["W"].T)), x, y, CFG))
    for key in ("grad.W", "adam.params.W"):
        arrays[key] = np.ascontiguousarray(arrays[key].T)
    return arrays


def test_a_transposed_w_is_diagnosed_as_transposed(golden):
    found = diagnose(golden, _transposed_w_outputs())
    assert found.matched, str(found)
    assert found.transposed == ("W",) and found.variant == {}
    assert found.explanation == ["W is used transposed (h W instead of W h: z_t = Wᵀ h_{t-1} + C x_t + b)"]
    assert "W transposed" in found.summary()


def test_a_transposed_w_without_its_gradient_layout_fix_is_not_a_match(golden):
    theirs = _transposed_w_outputs()
    theirs["grad.W"] = theirs["grad.W"].T  # the gradient at Wᵀ, not at their W: not what autograd gives
    found = diagnose(golden, theirs)
    assert not found.matched
    assert found.first_mismatch.tensor == "grad.W"


@pytest.mark.parametrize(("tensor", "where", "step", "inner"), [
    ("h_inner", (1, 2, 1), 3, 1),  # example 1, t = 3, s = 1
    ("h_inner", (0, 3, 0), 4, 0),  # the preliminary vector at t = 4
    ("hs", (2, 4), 5, None),
])
def test_noise_at_one_step_is_the_first_mismatch(golden, tensor, where, step, inner):
    theirs = _outputs(golden)
    theirs[tensor] = theirs[tensor].copy()
    theirs[tensor][where] += 1e-4
    found = diagnose(golden, theirs)
    assert not found.matched
    assert found.variant == {} and found.transposed == ()  # the closest is the golden model itself
    m = found.first_mismatch
    assert (m.tensor, m.time_step, m.inner_step, m.example) == (tensor, step, inner, where[0])
    assert f"time step t = {step} of T = 5" in m.text
    assert "NO MATCH" in found.summary() and "first mismatch under it" in str(found)


def test_noise_in_a_tensor_without_a_time_axis_names_the_tensor_and_index(golden):
    theirs = _outputs(golden)
    theirs["grad.C"] = theirs["grad.C"].copy()
    theirs["grad.C"][5, 2] *= 1.01
    found = diagnose(golden, theirs)
    assert not found.matched and found.first_mismatch.tensor == "grad.C"
    assert found.first_mismatch.index == (5, 2) and found.first_mismatch.time_step is None


def test_the_closest_variant_when_a_variant_has_noise(golden, exported):
    theirs = _outputs(exported["ln_axis_batch"])
    theirs["hs"] = theirs["hs"].copy()
    theirs["hs"][0, 1, 3] += 1e-3
    found = diagnose(golden, theirs)
    assert not found.matched and found.variant == {"ln_axis": "batch"}
    assert (found.first_mismatch.tensor, found.first_mismatch.time_step) == ("hs", 2)


def test_subsets_forward_only_and_gradients_only(golden, exported):
    only_hs = {"hs": exported["lagged"]["hs"]}
    assert diagnose(golden, only_hs).variant == {"fast_weight_timing": "lagged"}
    grads = {k: v for k, v in exported["batch_axis_sum"].items() if k.startswith("grad.")}
    found = diagnose(golden, grads)
    assert found.matched and found.variant == {"ln_axis": "batch", "loss_reduction": "sum"}


def test_a_float32_implementation_is_diagnosed_with_float32_tolerances(golden):
    theirs = _outputs(golden_vectors(CFG.replace(fast_weight_timing="preliminary", dtype="float32")))
    found = diagnose(golden, theirs)
    assert found.matched and found.variant == {"fast_weight_timing": "preliminary"}
    assert "float32" in found.report.summary()


def test_separate_ln_params_need_g0_and_beta0_from_somewhere(golden, exported):
    theirs = _outputs(exported["ln_params_separate"])  # without params.g0, params.beta0
    found = diagnose(golden, theirs)
    assert not found.matched
    assert any("ln_params='separate' was not tried" in note for note in found.notes)


def test_the_problem_file_holds_only_the_inputs_and_parameters(golden, exported, tmp_path):
    problem = problem_vectors(CFG)
    names = {k for k in problem if k != MANIFEST_KEY}
    assert names == {k for k in golden if is_echo(k)}
    for name in names:
        np.testing.assert_array_equal(problem[name], golden[name])
    path = save_golden(tmp_path / "problem.npz", problem)
    manifest = read_manifest(load_golden(path))
    assert manifest["settings"]["problem_only"] is True and set(manifest["arrays"]) == names
    found = diagnose(path, _outputs(exported["lagged_eps_1e-12"]))
    assert found.matched and found.variant == {"fast_weight_timing": "lagged", "ln_eps": 1e-12}
    assert found.golden_name == str(path)


def test_bad_input_is_an_error_naming_what_is_wrong(golden):
    with pytest.raises(ValueError, match=r"must hold some of the arrays diagnose compares.*it holds: x, y"):
        diagnose(golden, {"x": golden["x"], "y": golden["y"]})
    lacking = {k: v for k, v in golden.items() if k != "params.W"}
    with pytest.raises(OracleFileError, match="manifest disagrees"):
        diagnose(lacking, _outputs(golden))
    with pytest.raises(TypeError, match="theirs must be a path or a dict of arrays, got int"):
        diagnose(golden, 3)
    with pytest.raises(ValueError, match=r"name must be one of .* got 'colour'"):
        explain("colour", "red", CFG, batch=3)


def _cli(capsys, *argv):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err
    return code, out, err


def test_cli_problem_and_diagnose_exit_statuses(tmp_path, capsys, exported, golden):
    problem = tmp_path / "problem.npz"
    code, out, _ = _cli(capsys, "oracle", "problem", "--out", problem)
    assert code == 0 and "the problem only" in out and "oracle diagnose" in out
    assert {k for k in load_golden(problem) if k != MANIFEST_KEY} == {k for k in golden if is_echo(k)}

    lagged = save_golden(tmp_path / "lagged.npz", exported["lagged"])
    code, out, _ = _cli(capsys, "oracle", "diagnose", problem, lagged)
    assert code == 0
    assert out.startswith("diagnose MATCH:") and "fast_weight_timing='lagged'" in out
    assert "step t reads A_{t-1}" in out and "compare PASSED" in out

    noisy = _outputs(golden)
    noisy["hs"] = noisy["hs"] + 1e-3
    noisy_path = tmp_path / "noisy.npz"
    np.savez(noisy_path, **noisy)
    code, out, _ = _cli(capsys, "oracle", "diagnose", problem, noisy_path, "--json")
    assert code == 1
    data = json.loads(out)
    assert data["matched"] is False and data["first_mismatch"]["tensor"] == "hs"
    assert data["first_mismatch"]["time_step"] == 1 and data["report"]["passed"] is False

    text = tmp_path / "theirs.npz"
    text.write_text("not an archive")
    code, _, err = _cli(capsys, "oracle", "diagnose", problem, text)
    assert code == 2 and "not an .npz archive" in err
    code, _, err = _cli(capsys, "oracle", "diagnose", problem, problem)
    assert code == 2 and "must hold some of the arrays diagnose compares" in err
    code, _, err = _cli(capsys, "oracle", "diagnose", tmp_path / "missing.npz", lagged)
    assert code == 2 and "missing.npz" in err
