"""Initialisation as the paper's appendix says; save/load round trip, atomic, self-describing."""

import os

import numpy as np
import pytest

from fastweights_np import FastWeightsConfig, init_params, load_params, param_shapes, save_params
from fastweights_np.atomic import atomic_write_bytes

CFG = FastWeightsConfig(input_size=37, hidden_size=20, output_size=10)


def test_init_keys_shapes_and_values():
    p = init_params(CFG, seed=3)
    assert list(p) == ["W", "C", "b", "g", "beta", "V", "c"]
    assert {k: v.shape for k, v in p.items()} == param_shapes(CFG)
    np.testing.assert_array_equal(p["W"], 0.05 * np.eye(20))
    assert np.all(np.abs(p["C"]) <= 1 / np.sqrt(37)) and p["C"].std() > 0.1 / np.sqrt(37)
    assert np.all(np.abs(p["V"]) <= 1 / np.sqrt(20))
    np.testing.assert_array_equal(p["g"], 1)
    for k in ("b", "beta", "c"):
        np.testing.assert_array_equal(p[k], 0)


def test_init_is_deterministic_and_typed():
    a, b = init_params(CFG, 7), init_params(CFG, 7)
    assert all(np.array_equal(a[k], b[k]) for k in a)
    assert not np.array_equal(a["C"], init_params(CFG, 8)["C"])
    p32 = init_params(CFG.replace(dtype="float32"), 7)
    assert all(v.dtype == np.float32 for v in p32.values())


def test_save_load_round_trip(tmp_path):
    cfg = CFG.replace(form="attention", inner_steps=2, dtype="float32")
    params = init_params(cfg, 1)
    path = save_params(tmp_path / "sub" / "model.npz", params, cfg)
    loaded, loaded_cfg = load_params(path)
    assert loaded_cfg == cfg
    assert all(np.array_equal(loaded[k], params[k]) and loaded[k].dtype == params[k].dtype for k in params)
    with np.load(path, allow_pickle=False) as f:  # readable without pickles, config beside the arrays
        assert "__config__" in f.files


def test_load_rejects_other_files(tmp_path):
    np.savez(tmp_path / "other.npz", W=np.zeros(3))
    with pytest.raises(ValueError, match="is not a fastweights_np.params/1 file"):
        load_params(tmp_path / "other.npz")


def test_save_rejects_bad_params(tmp_path):
    params = init_params(CFG, 0)
    params["W"] = params["W"][:3]
    with pytest.raises(ValueError, match=r"params\['W'\] must have shape \(20, 20\), got \(3, 20\)"):
        save_params(tmp_path / "m.npz", params, CFG)
    assert not (tmp_path / "m.npz").exists()


def test_interrupted_write_leaves_the_old_file(tmp_path):
    target = tmp_path / "m.npz"
    save_params(target, init_params(CFG, 0), CFG)
    before = target.read_bytes()

    def fail_half_way(f):
        f.write(b"partial")
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        atomic_write_bytes(target, fail_half_way)
    assert target.read_bytes() == before
    assert os.listdir(tmp_path) == ["m.npz"]  # no temporary file left behind
