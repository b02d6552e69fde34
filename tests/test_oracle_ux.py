"""compare's usability and export's choices (issue 18, items 1 and 2): groups, torch.save files,
a (1,)-shaped scalar, hints for a constant gradient factor and a transposed matrix, --only
without a match, the tolerances on the summary line, --json, and export's zero biases, unit
gain, batch size and dtype."""

import json
import pickle
import zipfile

import numpy as np
import pytest

from fastweights_np import FastWeightsConfig
from fastweights_np.cli import main
from fastweights_np.models.canonical import PARAM_NAMES
from fastweights_np.oracle import MANIFEST_KEY, OracleFileError, compare, golden_vectors, load_golden, read_manifest
from fastweights_np.oracle.compare import GROUPS, is_echo, unmatched_selections
from fastweights_np.oracle.format import TORCH_LEGACY_MAGIC, read_arrays

CFG = FastWeightsConfig(input_size=4, hidden_size=6, output_size=3, inner_steps=2)


@pytest.fixture(scope="module")
def golden():
    return golden_vectors(CFG, batch=4, steps=5, seed=3)


def _outputs(g):
    """What an implementation computes: the golden arrays but the echoes (x, y, params.*)."""
    return {k: v for k, v in g.items() if k != MANIFEST_KEY and not is_echo(k)}


def _cli(capsys, *argv):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err
    return code, out, err


@pytest.fixture(scope="module")
def golden_file(tmp_path_factory, golden):
    from fastweights_np.oracle import save_golden

    return save_golden(tmp_path_factory.mktemp("ux") / "golden.npz", golden)


# ------------------------------------------------------------------------------ groups
def test_outputs_group_is_everything_computed_and_nothing_echoed(golden):
    theirs = _outputs(golden)
    assert not compare(golden, theirs).passed  # the echoes are demanded without a group
    report = compare(golden, theirs, groups=["outputs"])
    assert report.passed, str(report)
    assert {r.name for r in report.rows} == set(theirs)
    computed = {"h_inner", "hs", "A_T", "logits", "loss", "grad.W", "grad.decay", "adam.loss", "adam.params.W"}
    assert computed <= set(theirs)


def test_grads_and_adam_groups_and_their_union_with_only(golden):
    theirs = _outputs(golden)
    grads = {r.name for r in compare(golden, theirs, groups=["grads"]).rows}
    assert grads == {f"grad.{n}" for n in (*PARAM_NAMES, "decay", "fast_lr")}
    adam = {r.name for r in compare(golden, theirs, groups=["adam"]).rows}
    assert adam == {"adam.loss"} | {f"adam.params.{n}" for n in PARAM_NAMES}
    both = {r.name for r in compare(golden, theirs, groups=["adam"], only=["hs"]).rows}
    assert both == adam | {"hs"}
    with pytest.raises(ValueError, match=r"groups must be among \('outputs', 'grads', 'adam'\), got 'grad'"):
        compare(golden, theirs, groups=["grad"])
    assert set(GROUPS) == {"outputs", "grads", "adam"}


def test_missing_echoes_get_a_hint_towards_outputs(golden):
    report = compare(golden, _outputs(golden), their_name="theirs.npz")
    assert any("only echo the problem's inputs and parameters" in h and "--outputs" in h for h in report.hints)
    assert compare(golden, _outputs(golden), only=["hs"]).hints == []


def test_cli_groups(capsys, tmp_path, golden_file, golden):
    theirs = tmp_path / "theirs.npz"
    np.savez(theirs, **_outputs(golden))
    code, out, _ = _cli(capsys, "oracle", "compare", golden_file, theirs)
    assert code == 1 and "MISSING" in out and "hint:" in out
    code, out, _ = _cli(capsys, "oracle", "compare", golden_file, theirs, "--outputs")
    assert code == 0 and "compare PASSED: all 22 tensors" in out
    code, out, _ = _cli(capsys, "oracle", "compare", golden_file, theirs, "--grads", "--adam")
    assert code == 0 and "all 17 tensors" in out


# ----------------------------------------------------------------- --only without a match
def test_only_matching_nothing_is_a_usage_error_naming_the_arrays(capsys, golden_file):
    code, out, err = _cli(capsys, "oracle", "compare", golden_file, golden_file, "--only", "hs", "--only", "grads.W")
    assert code == 2 and out == ""
    assert "error: --only 'grads.W' matches no array of" in err
    assert "the arrays are: x, y, params.W" in err and "grad.W" in err
    assert unmatched_selections({"hs": 1}, {"loss": 1}, ["hs", "loss", "h*", "nope"], ["adam"]) == ["nope", "adam"]


# --------------------------------------------------------------------- torch.save files
def _torch_zip(path):
    """The layout of torch.save's zip format (PyTorch >= 1.6), written without PyTorch."""
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("theirs/data.pkl", pickle.dumps({"hs": "a tensor"}, protocol=2))
        archive.writestr("theirs/byteorder", "little")
        archive.writestr("theirs/data/0", b"\0" * 16)
        archive.writestr("theirs/version", "3\n")


def _torch_legacy(path):
    """torch.save's legacy format: pickles of the magic number, the protocol version, ... ."""
    path.write_bytes(pickle.dumps(0x1950A86A20F9469CFC6C, protocol=2) + pickle.dumps(1001, protocol=2))


ZIP_FORMAT = "the zip-based format of PyTorch >= 1.6: its member 'theirs/data.pkl' is not a .npy array"


@pytest.mark.parametrize(("write", "which"), [(_torch_zip, ZIP_FORMAT), (_torch_legacy, "the legacy pickle format")])
def test_a_torch_save_file_is_named_with_what_to_do(capsys, tmp_path, golden_file, write, which):
    path = tmp_path / "theirs.npz"
    write(path)
    assert TORCH_LEGACY_MAGIC in path.read_bytes()[:32] or zipfile.is_zipfile(path)
    with pytest.raises(OracleFileError) as info:
        read_arrays(path)
    message = str(info.value)
    assert f"{path}: this is a PyTorch torch.save file ({which}), not an .npz archive; save with numpy.savez" in message
    code, out, err = _cli(capsys, "oracle", "compare", golden_file, path)
    assert code == 2 and out == "" and "this is a PyTorch torch.save file" in err and "UNEXPECTED" not in out + err


def test_a_plain_pickle_is_not_called_a_torch_file(tmp_path):
    path = tmp_path / "theirs.npz"
    path.write_bytes(pickle.dumps({"hs": [1.0]}, protocol=4))
    with pytest.raises(OracleFileError, match="is a Python pickle") as info:
        read_arrays(path)
    assert "this is a PyTorch" not in str(info.value)


# ------------------------------------------------------------------- a (1,)-shaped scalar
def test_a_shape_1_scalar_is_compared_with_a_note(golden):
    theirs = _outputs(golden)
    theirs["loss"] = golden["loss"].reshape(1)
    theirs["grad.decay"] = golden["grad.decay"].reshape(1, 1)
    report = compare(golden, theirs, groups=["outputs"])
    assert report.passed, str(report)
    row = next(r for r in report.rows if r.name == "loss")
    assert row.note == "theirs has shape (1,), compared as the golden scalar ()"
    assert "ok (theirs has shape (1,), compared as the golden scalar ())" in str(report)
    theirs["loss"] = golden["loss"].reshape(1) + 1e-3
    bad = next(r for r in compare(golden, theirs, only=["loss"]).rows)
    assert bad.status == "mismatch" and "compared as the golden scalar" in bad.describe()
    theirs["loss"] = np.zeros(2)
    assert next(r for r in compare(golden, theirs, only=["loss"]).rows).status == "shape"


# ------------------------------------------------------------------------------ hints
@pytest.mark.parametrize(("factor", "expected"), [
    (4.0, "every gradient (9 grad.* tensors) is 4.0 × the golden one (B = 4): a summed, not averaged, batch loss?"),
    (0.5, "every gradient (9 grad.* tensors) is 0.5 × the golden one: a scaled loss?"),
])
def test_one_factor_on_every_gradient_is_named(golden, factor, expected):
    theirs = {k: (v * factor if k.startswith("grad.") else v) for k, v in _outputs(golden).items()}
    report = compare(golden, theirs, groups=["outputs"])
    assert not report.passed and report.hints == [expected]
    assert f"hint: {expected}" in str(report)


def test_no_factor_hint_when_the_gradients_differ_otherwise(golden):
    theirs = {k: (v * 4.0 if k.startswith("grad.") else v) for k, v in _outputs(golden).items()}
    theirs["grad.W"] = golden["grad.W"] * 3.0
    assert compare(golden, theirs, groups=["outputs"]).hints == []
    theirs = _outputs(golden)
    theirs["grad.W"] = golden["grad.W"] * 4.0  # one gradient alone: no common factor to name
    assert compare(golden, theirs, groups=["outputs"]).hints == []


@pytest.mark.parametrize(("name", "how"), [("grad.W", "transposed"), ("params.C", "transposed"),
                                           ("A_T", "with its last two axes swapped (each matrix transposed)")])
def test_a_transposed_matrix_is_named(golden, name, how):
    theirs = {k: v for k, v in golden.items() if k != MANIFEST_KEY}
    swapped = np.swapaxes(golden[name], -1, -2).copy()
    if name == "A_T":  # A_T is symmetric in the paper's timing: make it not, in both
        golden = dict(golden)
        golden[name] = golden[name] + np.triu(np.ones(golden[name].shape[-2:]))
        swapped = np.swapaxes(golden[name], -1, -2).copy()
    theirs[name] = swapped
    row = next(r for r in compare(golden, theirs, only=[name]).rows)
    assert row.status == ("shape" if name == "params.C" else "mismatch")
    assert row.hint == f"{name} matches the golden {name} {how}"
    assert f"hint: {name} matches the golden {name}" in row.describe()


def test_no_transposed_hint_for_an_unrelated_mismatch(golden):
    theirs = {k: v for k, v in golden.items() if k != MANIFEST_KEY}
    theirs["grad.W"] = golden["grad.W"] + 1e-3
    assert next(r for r in compare(golden, theirs, only=["grad.W"]).rows).hint == ""


# ------------------------------------------------------------------ tolerances and JSON
def test_the_summary_line_names_the_tolerances(golden):
    theirs = _outputs(golden)
    assert str(compare(golden, theirs, groups=["outputs"])).endswith(
        "compare PASSED: all 22 tensors of theirs match golden; tolerances rtol 1e-07, atol 1e-10 (float64)")
    f32 = {k: (v.astype(np.float32) if v.dtype.kind == "f" else v) for k, v in theirs.items()}
    line = str(compare(golden, f32, groups=["outputs"])).splitlines()[-1]
    assert line == ("compare PASSED: all 22 tensors of theirs match golden; tolerances rtol 0.001, atol 1e-05 "
                    "(float32: looser than float64's rtol 1e-07, atol 1e-10, since a side is float32)")
    line = str(compare(golden, theirs, only=["hs"], rtol=1e-3, atol=0.0)).splitlines()[-1]
    assert line.endswith("tolerances rtol 0.001, atol 0 (given)")
    theirs["hs"] = theirs["hs"] + 1.0
    assert str(compare(golden, theirs, only=["hs", "y"])).splitlines()[-1] == (
        "compare FAILED: 2 of 2 tensors (y, hs); tolerances rtol 1e-07, atol 1e-10 (float64)")


def test_json_output_for_ci(capsys, tmp_path, golden_file, golden):
    theirs = {k: (v * 4.0 if k.startswith("grad.") else v) for k, v in _outputs(golden).items()}
    theirs["loss"] = golden["loss"].reshape(1)
    theirs["hs"] = golden["hs"].copy()
    theirs["hs"][0, 0, 0] = np.nan
    path = tmp_path / "theirs.npz"
    np.savez(path, **theirs)
    code, out, _ = _cli(capsys, "oracle", "compare", golden_file, path, "--outputs", "--json")
    assert code == 1
    data = json.loads(out)  # one JSON object, standard JSON (no NaN literals)
    assert data["passed"] is False and data["golden"] == str(golden_file) and data["theirs"] == str(path)
    assert data["summary"].startswith("compare FAILED: 10 of 22 tensors (hs, grad.W")
    assert data["tolerances"] == [{"rtol": 1e-7, "atol": 1e-10, "source": "float64", "tensors": 22}]
    assert data["hints"] == ["every gradient (9 grad.* tensors) is 4.0 × the golden one (B = 4): "
                             "a summed, not averaged, batch loss?"]
    rows = {r["name"]: r for r in data["rows"]}
    assert rows["hs"]["status"] == "mismatch" and rows["hs"]["max_abs_error"] == "inf"
    assert rows["hs"]["their_value"] == "nan" and rows["hs"]["first_index"] == [0, 0, 0]
    assert rows["loss"]["passed"] is True and rows["loss"]["note"].startswith("theirs has shape (1,)")
    assert rows["grad.W"]["description"].startswith("MISMATCH")
    code, out, _ = _cli(capsys, "oracle", "compare", golden_file, golden_file, "--json")
    assert code == 0 and json.loads(out)["passed"] is True


# ------------------------------------------------------------------------- export choices
@pytest.mark.parametrize(("options", "check"), [
    (["--zero-biases"], lambda a: not a["params.b"].any() and not a["params.c"].any() and a["params.beta"].any()),
    (["--unit-gain"], lambda a: (a["params.g"] == 1).all() and not a["params.beta"].any() and a["params.b"].any()),
    (["--zero-biases", "--unit-gain"], lambda a: not (a["params.b"].any() or a["params.c"].any()
                                                      or a["params.beta"].any()) and (a["params.g"] == 1).all()),
    (["--batch", "1"], lambda a: a["x"].shape == (1, 5, 4) and a["y"].shape == (1,) and a["hs"].shape == (1, 5, 8)),
    (["--batch", "7"], lambda a: a["x"].shape[0] == 7 and a["A_T"].shape == (7, 8, 8) and a["logits"].shape == (7, 3)),
    (["--dtype", "float32"], lambda a: all(v.dtype == np.float32 for k, v in a.items()
                                           if k not in ("y", MANIFEST_KEY))),
])
def test_export_choices_store_what_they_say_and_pass_against_themselves(capsys, tmp_path, options, check):
    path = tmp_path / "golden.npz"
    code, out, _ = _cli(capsys, "oracle", "export", *options, "--out", path)
    assert code == 0 and out.startswith(f"wrote {path}")
    arrays = load_golden(path)
    assert check(arrays)
    settings = read_manifest(arrays)["settings"]
    assert settings["zero_biases"] == ("--zero-biases" in options)
    assert settings["unit_gain"] == ("--unit-gain" in options)
    code, out, _ = _cli(capsys, "oracle", "compare", path, path)
    assert code == 0 and "compare PASSED" in out


def test_export_choices_change_only_the_parameters_they_name(golden):
    plain = golden_vectors(CFG, batch=4, steps=5, seed=3)
    fixed = golden_vectors(CFG, batch=4, steps=5, seed=3, zero_biases=True, unit_gain=True)
    for name in ("x", "y", "params.W", "params.C", "params.V"):
        np.testing.assert_array_equal(fixed[name], plain[name])
    assert not np.array_equal(fixed["hs"], plain["hs"])
    with pytest.raises(ValueError, match="zero_biases must be True or False, got 1"):
        golden_vectors(CFG, zero_biases=1)


def test_a_float32_export_against_the_float64_one(capsys, tmp_path):
    """The same draw in float32 passes against float64 with the float32 tolerances, and says so."""
    g64, g32 = tmp_path / "g64.npz", tmp_path / "g32.npz"
    assert main(["oracle", "export", "--out", str(g64)]) == 0
    assert main(["oracle", "export", "--dtype", "float32", "--out", str(g32)]) == 0
    capsys.readouterr()
    code, out, _ = _cli(capsys, "oracle", "compare", g64, g32, "--outputs")
    assert code == 0 and "(float32: looser than float64's" in out.splitlines()[-1]
