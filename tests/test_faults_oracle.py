"""Golden vectors are finite, and a golden file's manifest tells the truth about its arrays.

``oracle export`` of a problem that overflows (no layer norm, λ = η = 1, T = 50: h_t goes
infinite at t = 9 and the gradients are NaN while the loss looks finite) refuses with an error
naming the non-finite arrays and the first non-finite h_t, exit status 2, and writes nothing.
``load_golden`` and ``compare`` refuse a file whose manifest misstates a shape or dtype, lists
an array that is absent or omits one that is present, naming the array, the claimed and the
stored shape and dtype; ``describe`` prints what is stored and flags each disagreement.
"""

from __future__ import annotations

import json
import re

import numpy as np
import pytest

from fastweights_np import FastWeightsConfig
from fastweights_np.cli import main
from fastweights_np.finite import NonFiniteError
from fastweights_np.oracle import (
    MANIFEST_KEY,
    OracleFileError,
    compare,
    golden_vectors,
    load_golden,
    read_arrays,
    save_golden,
)

DIVERGING = ["--no-layer-norm", "--inner-steps", "2", "--decay", "1", "--fast-lr", "1", "--steps", "50",
             "--hidden", "4", "--batch", "2", "--adam-steps", "0"]
DIVERGING_CFG = FastWeightsConfig(input_size=4, hidden_size=4, output_size=3, decay=1.0, fast_lr=1.0,
                                  layer_norm=False, inner_steps=2)  # DIVERGING with the CLI's other defaults


def _cli(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


@pytest.fixture
def golden_file(tmp_path):
    return save_golden(tmp_path / "golden.npz", golden_vectors(FastWeightsConfig(3, 4, 2), steps=3, batch=2))


def lying_file(golden_file, tmp_path, change) -> str:
    """The golden file re-saved with numpy.savez after ``change(arrays, manifest_arrays)``."""
    arrays = read_arrays(golden_file)
    manifest = json.loads(str(arrays[MANIFEST_KEY]))
    change(arrays, manifest["arrays"])
    arrays[MANIFEST_KEY] = np.array(json.dumps(manifest))
    path = tmp_path / "lying.npz"
    np.savez(path, **arrays)
    return str(path)


def claim_shape(arrays, entries):
    entries["hs"]["shape"] = [2, 3, 5]


def claim_dtype(arrays, entries):
    entries["grad.W"]["dtype"] = "float32"


def list_an_absent_array(arrays, entries):
    del arrays["A_T"]


def omit_a_stored_array(arrays, entries):
    del entries["logits"]


LIES = {
    "shape": (claim_shape, "'hs': stored as float64 (2, 3, 4), the manifest says float64 (2, 3, 5)"),
    "dtype": (claim_dtype, "'grad.W': stored as float64 (4, 4), the manifest says float32 (4, 4)"),
    "absent": (list_an_absent_array, "'A_T': listed in the manifest (float64 (2, 4, 4)) but not stored"),
    "unlisted": (omit_a_stored_array, "'logits': stored as float64 (2, 2), not in the manifest"),
}


# ----------------------------------------------------------------------------- export
def test_a_diverging_export_is_refused_and_writes_nothing(capsys, tmp_path):
    out = tmp_path / "golden.npz"
    code, stdout, err = _cli(capsys, "oracle", "export", *DIVERGING, "--out", str(out))
    assert code == 2 and stdout == ""
    assert err.startswith("fastweights-np oracle export: error: non-finite golden vectors")
    for part in ("h_t is inf at t = 9 of T = 50, example 0 of B = 2", "hs holds inf", "h_inner holds inf",
                 "grad.W holds nan", "grad.decay is nan", "golden vectors must be finite",
                 f"Nothing was written to {out}."):
        assert part in err, part
    assert "Traceback" not in err and "RuntimeWarning" not in err
    assert not out.exists() and list(tmp_path.iterdir()) == []


def test_a_diverging_export_leaves_an_existing_file_alone(capsys, tmp_path, golden_file):
    before = golden_file.read_bytes()
    code, _, _ = _cli(capsys, "oracle", "export", *DIVERGING, "--out", str(golden_file))
    assert code == 2 and golden_file.read_bytes() == before


def test_golden_vectors_raise_non_finite_error(tmp_path):
    with pytest.raises(NonFiniteError, match=r"non-finite golden vectors .* h_t is inf at t = 9 of T = 50"):
        golden_vectors(DIVERGING_CFG, steps=50, batch=2, adam_steps=0)


def test_save_golden_refuses_non_finite_arrays(tmp_path, golden_file):
    golden = load_golden(golden_file)
    golden["hs"] = golden["hs"].copy()
    golden["hs"][1, 2, 3] = np.nan
    with pytest.raises(ValueError, match=r"golden vectors must be finite, but hs holds nan at index \(1, 2, 3\)"):
        save_golden(tmp_path / "g.npz", golden)
    assert not (tmp_path / "g.npz").exists()


def test_a_non_finite_golden_file_is_refused_by_load_and_compare(capsys, tmp_path, golden_file):
    def poison(arrays, entries):
        arrays["grad.decay"] = np.array(np.nan)

    path = lying_file(golden_file, tmp_path, poison)
    with pytest.raises(OracleFileError, match="golden vectors must be finite, but grad.decay is nan"):
        load_golden(path)
    code, _, err = _cli(capsys, "oracle", "compare", path, path)
    assert code == 2 and "grad.decay is nan" in err


# ------------------------------------------------------------------- lying manifests
@pytest.mark.parametrize("lie", list(LIES))
def test_a_lying_manifest_is_refused_by_load_golden_and_compare(capsys, tmp_path, golden_file, lie):
    change, message = LIES[lie]
    path = lying_file(golden_file, tmp_path, change)
    with pytest.raises(OracleFileError, match="the manifest disagrees with the arrays") as info:
        load_golden(path)
    assert message in str(info.value) and path in str(info.value)
    arrays = read_arrays(path)
    with pytest.raises(OracleFileError) as info:
        compare(arrays, arrays)
    assert message in str(info.value)
    code, out, err = _cli(capsys, "oracle", "compare", path, str(golden_file))
    assert code == 2 and out == "" and message in err


@pytest.mark.parametrize("lie", list(LIES))
def test_describe_shows_the_stored_arrays_and_flags_the_manifest(capsys, tmp_path, golden_file, lie):
    change, message = LIES[lie]
    path = lying_file(golden_file, tmp_path, change)
    code, out, err = _cli(capsys, "oracle", "describe", path)
    assert code == 2
    flagged = [line for line in out.splitlines() if "<- MANIFEST:" in line]
    assert len(flagged) == 1
    name, problem = message.split(": ", 1)
    assert flagged[0].split()[0] == name.strip("'") and flagged[0].endswith(problem)
    assert "compare and load_golden refuse this file" in err
    if lie == "shape":  # the stored shape is printed, not the claimed one
        assert "(2, 3, 4)" in flagged[0].split("<-")[0] and "(2, 3, 5)" not in flagged[0].split("<-")[0]
    if lie == "absent":
        assert "(absent)" in flagged[0]


def test_describe_of_a_good_file_prints_the_stored_arrays(capsys, golden_file):
    code, out, err = _cli(capsys, "oracle", "describe", str(golden_file))
    assert code == 0 and err == "" and "<-" not in out
    arrays = load_golden(golden_file)
    rows = [line for line in out.splitlines() if line.startswith("  ")]
    assert [line.split()[0] for line in rows] == [name for name in arrays if name != MANIFEST_KEY]
    for line, (name, a) in zip(rows, ((n, a) for n, a in arrays.items() if n != MANIFEST_KEY), strict=True):
        assert re.match(rf"  {re.escape(name)} +{a.dtype} +{re.escape(str(a.shape))} ", line), line


def test_describe_flags_a_non_finite_array(capsys, tmp_path, golden_file):
    def poison(arrays, entries):
        arrays["loss"] = np.array(np.inf)

    code, out, _ = _cli(capsys, "oracle", "describe", lying_file(golden_file, tmp_path, poison))
    assert code == 2 and any(line.split()[0] == "loss" and "<- NON-FINITE: loss is inf" in line
                             for line in out.splitlines() if line.startswith("  "))
