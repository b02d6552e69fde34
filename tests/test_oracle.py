"""The oracle: golden vectors (export), their file format, and the comparison (compare)."""

import itertools
import json

import numpy as np
import pytest

from fastweights_np import FastWeightsConfig, hidden_states, loss_and_grad
from fastweights_np.cli import main
from fastweights_np.cores.fast_weights.config import ACTIVATIONS, TIMINGS
from fastweights_np.models.canonical import PARAM_NAMES
from fastweights_np.naive import naive_run
from fastweights_np.optim import AdamConfig, adam_init, adam_step
from fastweights_np.oracle import (
    FORMAT_VERSION,
    MANIFEST_KEY,
    OracleFileError,
    compare,
    compare_tensor,
    draw_problem,
    golden_from_inputs,
    golden_vectors,
    load_golden,
    read_manifest,
    save_golden,
)

CFG = FastWeightsConfig(input_size=4, hidden_size=6, output_size=3, inner_steps=2)


@pytest.fixture(scope="module")
def golden():
    return golden_vectors(CFG, batch=3, steps=5, seed=7)


def _params(g, prefix="params."):
    return {name: g[prefix + name] for name in PARAM_NAMES}


def _without_manifest(g):
    return {k: v for k, v in g.items() if k != MANIFEST_KEY}


def _cli(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err
    return code, out, err


# -------------------------------------------------------------------------- contents
def test_manifest_describes_every_array(golden):
    manifest = read_manifest(golden)
    assert manifest["format"] == FORMAT_VERSION
    assert FastWeightsConfig(**manifest["config"]) == CFG
    assert manifest["settings"]["seed"] == 7 and manifest["settings"]["adam"]["steps"] == 3
    assert set(manifest["arrays"]) == set(golden) - {MANIFEST_KEY}
    for name, entry in manifest["arrays"].items():
        assert entry["shape"] == list(golden[name].shape) and entry["dtype"] == str(golden[name].dtype)
        assert entry["meaning"]
    B, T, S, H = 3, 5, CFG.inner_steps, CFG.hidden_size
    assert golden["h_inner"].shape == (B, T, S + 1, H) and golden["A_T"].shape == (B, H, H)
    assert {"grad.decay", "grad.fast_lr", "adam.loss"} <= set(golden)


def test_paper_golden_equals_loss_and_grad(golden):
    params = _params(golden)
    loss, grads = loss_and_grad(params, golden["x"], golden["y"], CFG)
    assert float(golden["loss"]) == loss
    for name, g in grads.items():
        np.testing.assert_array_equal(golden[f"grad.{name}"], g)
    np.testing.assert_array_equal(golden["hs"], hidden_states(params, golden["x"], CFG))
    np.testing.assert_array_equal(golden["h_inner"][:, :, -1], golden["hs"])
    logits = golden["hs"][:, -1] @ params["V"].T + params["c"]
    np.testing.assert_allclose(golden["logits"], logits, rtol=1e-14)


@pytest.mark.parametrize("timing, activation", list(itertools.product(TIMINGS, ACTIVATIONS)))
def test_inner_states_and_memory_of_every_variant(timing, activation):
    cfg = CFG.replace(fast_weight_timing=timing, activation=activation, ln_preliminary=activation == "tanh")
    g = golden_vectors(cfg, adam_steps=0)
    hs, inner, _, A_T = naive_run(_params(g), g["x"], cfg)
    np.testing.assert_allclose(g["h_inner"], inner, rtol=1e-12, atol=1e-13)
    np.testing.assert_allclose(g["hs"], hs, rtol=1e-12, atol=1e-13)
    np.testing.assert_allclose(g["A_T"], A_T, rtol=1e-12, atol=1e-13)
    assert not any(k.startswith("adam.") for k in g)


@pytest.mark.parametrize("timing", TIMINGS)
def test_the_two_forms_give_the_same_golden_vectors(timing):
    cfg = CFG.replace(fast_weight_timing=timing, activation="tanh")
    matrix = golden_vectors(cfg)
    attention = golden_vectors(cfg.replace(form="attention"))
    report = compare(matrix, _without_manifest(attention))
    assert report.passed, str(report)


def test_adam_arrays_are_k_steps_of_adam(golden):
    params, x, y = _params(golden), golden["x"], golden["y"]
    state = adam_init(params)
    losses = []
    for _ in range(3):
        loss, grads = loss_and_grad(params, x, y, CFG)
        losses.append(loss)
        params, state = adam_step(params, grads, state, AdamConfig())
    losses.append(loss_and_grad(params, x, y, CFG)[0])
    np.testing.assert_array_equal(golden["adam.loss"], losses)
    for name in PARAM_NAMES:
        np.testing.assert_array_equal(golden[f"adam.params.{name}"], params[name])
    assert golden["adam.loss"][-1] < golden["adam.loss"][0]


def test_golden_from_inputs_checks_its_inputs(golden):
    with pytest.raises(ValueError, match="x must have shape"):
        golden_from_inputs(_params(golden), golden["x"][:, :, :2], golden["y"], CFG)
    with pytest.raises(ValueError, match="adam_steps"):
        golden_from_inputs(_params(golden), golden["x"], golden["y"], CFG, adam_steps=-1)
    with pytest.raises(ValueError, match="batch"):
        golden_vectors(CFG, batch=0)


# --------------------------------------------------------------------------- the file
def test_save_and_load_round_trip(tmp_path, golden):
    path = save_golden(tmp_path / "golden.npz", golden)
    loaded = load_golden(path)
    assert set(loaded) == set(golden)
    for k in golden:
        np.testing.assert_array_equal(loaded[k], golden[k])
    with np.load(path, allow_pickle=False) as f:  # plain NumPy reads it without pickles
        assert json.loads(str(f[MANIFEST_KEY]))["format"] == FORMAT_VERSION
    assert sorted(p.name for p in tmp_path.iterdir()) == ["golden.npz"]


def test_save_refuses_a_manifest_that_does_not_match(tmp_path, golden):
    broken = dict(golden)
    broken["extra"] = np.zeros(2)
    with pytest.raises(ValueError, match="extra"):
        save_golden(tmp_path / "g.npz", broken)
    assert not list(tmp_path.iterdir())


# ------------------------------------------------------------------------ comparison
def test_float32_run_passes_against_the_float64_golden(golden):
    cfg32 = CFG.replace(dtype="float32")
    params = {k: v.astype(np.float32) for k, v in _params(golden).items()}
    theirs = golden_from_inputs(params, golden["x"].astype(np.float32), golden["y"], cfg32)
    report = compare(golden, theirs)
    assert report.passed, str(report)
    assert not compare(golden, theirs, rtol=1e-7, atol=1e-10).passed  # float64 tolerances would fail it


def test_an_epsilon_sized_difference_fails_in_float64(golden):
    params, x, y = draw_problem(CFG, seed=7)
    theirs = golden_from_inputs(params, x, y, CFG.replace(ln_eps=1e-6))
    report = compare(golden, theirs)
    assert not report.passed and "h_inner" in {r.name for r in report.failures()}
    assert report.failures()[0].max_rel_error > 1e-7


def test_compare_names_the_perturbed_tensor_and_index(golden):
    theirs = _without_manifest(golden)
    theirs["grad.W"] = golden["grad.W"].copy()
    theirs["grad.W"][2, 3] *= 1 + 1e-5
    report = compare(golden, theirs)
    (bad,) = report.failures()
    assert (bad.name, bad.status, bad.first_index, bad.mismatches) == ("grad.W", "mismatch", (2, 3), 1)
    assert bad.max_rel_error == pytest.approx(1e-5, rel=1e-6)
    assert "grad.W" in str(report) and "[2, 3]" in str(report)


def test_compare_reports_missing_unexpected_shape_and_dtype(golden):
    theirs = _without_manifest(golden)
    del theirs["A_T"]
    theirs["hs"] = theirs["hs"][:, :-1]
    theirs["loss"] = np.array("1.5")
    theirs["mine"] = np.zeros(3)
    report = compare(golden, theirs)
    status = {r.name: r.status for r in report.failures()}
    assert status == {"A_T": "missing", "hs": "shape", "loss": "dtype", "mine": "unexpected"}
    text = str(report)
    for word in ("MISSING", "SHAPE", "DTYPE", "UNEXPECTED", "compare FAILED: 4 of"):
        assert word in text


def test_compare_only_selects_tensors(golden):
    theirs = {k: golden[k] for k in ("hs", "loss", "grad.W", "grad.b")}
    theirs["mine"] = np.zeros(2)  # outside the selection: ignored
    report = compare(golden, theirs, only=["hs", "loss", "grad.W", "grad.b"])
    assert report.passed and len(report.rows) == 4
    assert {r.name for r in compare(golden, theirs, only=["grad"]).failures()} == {
        f"grad.{n}" for n in (*PARAM_NAMES, "decay", "fast_lr") if n not in ("W", "b")}
    assert not compare(golden, theirs, only=["nothing*"]).passed


def test_compare_tensor_edge_cases():
    golden = np.array([1.0, 0.0, -2.0])
    assert compare_tensor("t", golden, golden.astype(np.float32)).passed
    nan = compare_tensor("t", golden, np.array([1.0, np.nan, -2.0]))
    assert nan.status == "mismatch" and nan.first_index == (1,) and nan.max_abs_error == float("inf")
    tiny = compare_tensor("t", golden, np.array([1.0, 1e-12, -2.0]))
    assert tiny.passed and tiny.max_rel_error == 0.0  # zero golden entries fall under atol
    labels = compare_tensor("y", np.array([0, 2]), np.array([0, 1]))
    assert (labels.status, labels.first_index, labels.golden_value, labels.their_value) == ("mismatch", (1,), 2, 1)
    assert compare_tensor("s", np.array(1.0), np.array(1.0 + 1e-6)).status == "mismatch"


def test_compare_refuses_other_format_versions(golden):
    theirs = dict(golden)
    theirs[MANIFEST_KEY] = np.array(json.dumps({"format": "fastweights_np.oracle/0"}))
    with pytest.raises(OracleFileError, match="format version 'fastweights_np.oracle/0'"):
        compare(golden, theirs)
    with pytest.raises(OracleFileError, match="no __manifest__"):
        compare(_without_manifest(golden), golden)


# ------------------------------------------------------------------------------- CLI
@pytest.fixture(scope="module")
def golden_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("oracle") / "golden.npz"
    assert main(["oracle", "export", "--hidden", "5", "--steps", "4", "--inner-steps", "2", "--timing", "lagged",
                 "--activation", "tanh", "--form", "attention", "--out", str(path)]) == 0
    return path


def test_cli_export_then_compare_with_itself_passes(capsys, golden_file):
    code, out, _ = _cli(capsys, "oracle", "compare", str(golden_file), str(golden_file))
    assert code == 0 and "compare PASSED" in out
    manifest = read_manifest(load_golden(golden_file))
    assert manifest["config"]["fast_weight_timing"] == "lagged" and manifest["config"]["hidden_size"] == 5


def test_cli_compare_fails_on_a_perturbed_file_naming_the_tensor(capsys, tmp_path, golden_file):
    arrays = dict(load_golden(golden_file))
    arrays["h_inner"] = arrays["h_inner"].copy()
    arrays["h_inner"][1, 2, 0, 3] += 1e-3
    np.savez(tmp_path / "theirs.npz", **arrays)
    code, out, _ = _cli(capsys, "oracle", "compare", str(golden_file), str(tmp_path / "theirs.npz"))
    assert code == 1
    assert "h_inner" in out and "MISMATCH" in out and "[1, 2, 0, 3]" in out


def test_cli_compare_reports_a_missing_array_by_name(capsys, tmp_path, golden_file):
    arrays = {k: v for k, v in load_golden(golden_file).items() if k not in ("grad.decay", MANIFEST_KEY)}
    np.savez(tmp_path / "theirs.npz", **arrays)
    code, out, _ = _cli(capsys, "oracle", "compare", str(golden_file), str(tmp_path / "theirs.npz"))
    assert code == 1 and "grad.decay" in out and "MISSING" in out
    code, out, _ = _cli(capsys, "oracle", "compare", str(golden_file), str(tmp_path / "theirs.npz"),
                        "--only", "hs", "--only", "grad.W")
    assert code == 0


@pytest.mark.parametrize("case", ["wrong version", "no manifest", "not a zip", "no file", "pickled", "npy"])
def test_cli_unusable_files_give_a_named_error_and_status_2(capsys, tmp_path, golden_file, case):
    arrays = dict(load_golden(golden_file))
    bad = tmp_path / "bad.npz"
    golden_arg, their_arg = str(golden_file), str(bad)
    if case == "wrong version":
        arrays[MANIFEST_KEY] = np.array(json.dumps({"format": "fastweights_np.oracle/99"}))
        np.savez(bad, **arrays)
        expected = "format version 'fastweights_np.oracle/99'"
    elif case == "no manifest":
        del arrays[MANIFEST_KEY]
        np.savez(bad, **arrays)
        golden_arg, their_arg = str(bad), str(golden_file)
        expected = "no __manifest__ entry"
    elif case == "not a zip":
        bad.write_text("not numbers")
        expected = "is text, not an .npz archive"
    elif case == "no file":
        expected = "no such file"
    elif case == "pickled":
        np.savez(bad, obj=np.array([{"a": 1}], dtype=object))
        expected = "array 'obj' of Python objects, which cannot be read without pickles"
    else:
        np.save(tmp_path / "bad.npy", np.zeros(3))
        bad.write_bytes((tmp_path / "bad.npy").read_bytes())
        expected = "is a single .npy array (numpy.save), not an .npz archive"
    code, _, err = _cli(capsys, "oracle", "compare", golden_arg, their_arg)
    assert code == 2 and expected in err, err


def test_cli_describe_lists_the_meanings(capsys, golden_file):
    code, out, _ = _cli(capsys, "oracle", "describe", str(golden_file))
    assert code == 0 and "h_t^(s)" in out and "fast_weight_timing=lagged" in out


def test_cli_export_reports_bad_options_without_traceback(capsys, tmp_path):
    with pytest.raises(SystemExit) as exc:
        main(["oracle", "export", "--timing", "late", "--out", str(tmp_path / "g.npz")])
    assert exc.value.code == 2 and "invalid choice: 'late'" in capsys.readouterr().err
    assert not (tmp_path / "g.npz").exists()


def test_cli_export_reports_an_unwritable_path(capsys, tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    code, _, err = _cli(capsys, "oracle", "export", "--out", str(blocker / "golden.npz"))
    assert code == 2 and "cannot write" in err
