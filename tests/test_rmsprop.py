"""RMSProp (fastweights_np/optim/rmsprop.py): by hand, entry by entry, against torch.optim.RMSprop, and its files."""

import json
import math

import numpy as np
import pytest

from fastweights_np.files import FileFormatError
from fastweights_np.optim import (
    AdamConfig,
    RMSPropConfig,
    RMSPropState,
    adam_init,
    load_rmsprop,
    rmsprop_init,
    rmsprop_step,
    save_adam,
    save_rmsprop,
)
from fastweights_np.optim.rmsprop import RMSPROP_FORMAT


def _scalar_rmsprop(theta: float, grads: list[float], lr: float, alpha: float, eps: float) -> list[float]:
    """The module docstring's update, one scalar at a time, in plain Python floats."""
    v = 0.0
    out = []
    for g in grads:
        v = alpha * v + (1 - alpha) * g * g
        theta = theta - lr * g / (math.sqrt(v) + eps)
        out.append(theta)
    return out


def test_two_steps_by_hand():
    # alpha = 0.75, eps = 1, lr = 0.3, chosen so that every square root is exact:
    # step 1: g = (2, -4):  v = 0.25 g² = (1, 4);  sqrt(v) + eps = (2, 3);  θ -= 0.3 (2/2, -4/3) = (0.3, -0.4)
    # step 2: g = (-1, 2):  v = 0.75 (1, 4) + 0.25 (1, 4) = (1, 4);  sqrt(v) + eps = (2, 3);
    #                       θ -= 0.3 (-1/2, 2/3) = (-0.15, 0.2)
    # With eps inside the root (TensorFlow's form) step 1 would divide by sqrt(1 + 1), sqrt(4 + 1) instead.
    hp = RMSPropConfig(lr=0.3, alpha=0.75, eps=1.0)
    params = {"w": np.array([1.0, 1.0])}
    state = rmsprop_init(params)
    p1, state = rmsprop_step(params, {"w": np.array([2.0, -4.0])}, state, hp)
    np.testing.assert_allclose(state.v["w"], [1.0, 4.0], rtol=1e-15)
    np.testing.assert_allclose(p1["w"], [0.7, 1.4], rtol=1e-15)
    p2, state = rmsprop_step(p1, {"w": np.array([-1.0, 2.0])}, state, hp)
    np.testing.assert_allclose(state.v["w"], [1.0, 4.0], rtol=1e-15)
    np.testing.assert_allclose(p2["w"], [0.85, 1.2], rtol=1e-15)
    assert state.step == 2


def test_defaults_are_a2c_s():
    assert RMSPropConfig() == RMSPropConfig(lr=7e-4, alpha=0.99, eps=1e-5)


def test_matches_the_update_entry_by_entry():
    rng = np.random.default_rng(0)
    hp = RMSPropConfig(lr=0.01, alpha=0.9, eps=1e-6)
    params = {"W": rng.standard_normal((2, 3)), "b": rng.standard_normal(3)}
    grad_seq = [{k: rng.standard_normal(v.shape) * 10.0 ** rng.integers(-4, 2) for k, v in params.items()}
                for _ in range(5)]
    state = rmsprop_init(params)
    history = []
    p = params
    for grads in grad_seq:
        p, state = rmsprop_step(p, grads, state, hp)
        history.append(p)
    assert state.step == 5
    for name, theta0 in params.items():
        for index in np.ndindex(theta0.shape):
            want = _scalar_rmsprop(float(theta0[index]), [float(g[name][index]) for g in grad_seq],
                                   hp.lr, hp.alpha, hp.eps)
            got = [float(h[name][index]) for h in history]
            np.testing.assert_allclose(got, want, rtol=1e-14, atol=1e-16)


def test_step_is_pure_keeps_dtype_and_ignores_gradients_of_non_parameters():
    params = {"w": np.ones(2, dtype=np.float32)}
    grads = {"w": np.ones(2, dtype=np.float32), "decay": 0.3, "fast_lr": -1.0}
    state = rmsprop_init(params)
    new, new_state = rmsprop_step(params, grads, state, RMSPropConfig())
    np.testing.assert_array_equal(params["w"], np.ones(2))
    assert state.step == 0 and not np.any(state.v["w"])
    assert new["w"].dtype == np.float32 and new_state.v["w"].dtype == np.float32
    assert isinstance(new_state, RMSPropState)


def test_matches_torch_rmsprop_when_torch_is_installed():
    torch = pytest.importorskip("torch", reason="torch is not installed; no comparison with torch.optim.RMSprop")
    rng = np.random.default_rng(2)
    hp = RMSPropConfig(lr=0.05)
    theta = rng.standard_normal((3, 4))
    # small gradients too, where sqrt(v) is near eps and the placement of eps matters
    grads = [rng.standard_normal((3, 4)) * 10.0 ** rng.integers(-4, 1, (3, 4)) for _ in range(6)]
    t = torch.tensor(theta, requires_grad=True)
    opt = torch.optim.RMSprop([t], lr=hp.lr, alpha=hp.alpha, eps=hp.eps, centered=False, momentum=0)
    p, state = {"t": theta}, rmsprop_init({"t": theta})
    for g in grads:
        t.grad = torch.tensor(g)
        opt.step()
        p, state = rmsprop_step(p, {"t": g}, state, hp)
        np.testing.assert_allclose(state.v["t"], opt.state[t]["square_avg"].numpy(), rtol=1e-14, atol=1e-300)
    np.testing.assert_allclose(p["t"], t.detach().numpy(), rtol=1e-13, atol=1e-15)


def test_under_array_api_strict_equals_numpy():
    xps = pytest.importorskip("array_api_strict", reason="array-api-strict is not installed (pip install '.[test]')")
    from fastweights_np.array_namespace import to_namespace, to_numpy

    rng = np.random.default_rng(3)
    params = {"W": rng.standard_normal((3, 3)), "b": rng.standard_normal(3)}
    grads = {k: rng.standard_normal(v.shape) for k, v in params.items()}
    hp = RMSPropConfig(lr=0.01)
    new, state = rmsprop_step(params, grads, rmsprop_init(params), hp)
    s_params = to_namespace(params, xps)
    s_new, s_state = rmsprop_step(s_params, to_namespace(grads, xps), rmsprop_init(s_params), hp)
    for k in params:
        np.testing.assert_allclose(to_numpy(s_new[k]), new[k], rtol=1e-15)
        np.testing.assert_allclose(to_numpy(s_state.v[k]), state.v[k], rtol=1e-15)


def test_bad_steps_are_named():
    params = {"w": np.ones(2), "b": np.ones(3)}
    state = rmsprop_init(params)
    hp = RMSPropConfig()
    with pytest.raises(ValueError, match=r"grads has no gradient for parameters \['b'\]"):
        rmsprop_step(params, {"w": np.ones(2), "W": np.ones(3)}, state, hp)
    with pytest.raises(ValueError, match=r"grads\['w'\] has shape \(3,\), but params\['w'\] has \(2,\)"):
        rmsprop_step(params, {"w": np.ones(3), "b": np.ones(3)}, state, hp)
    with pytest.raises(TypeError, match=r"grads\['w'\] must be an array, got float"):
        rmsprop_step(params, {"w": 1.0, "b": np.ones(3)}, state, hp)
    with pytest.raises(TypeError, match="grads must be a dict"):
        rmsprop_step(params, [np.ones(2), np.ones(3)], state, hp)
    with pytest.raises(ValueError, match=r"state is for parameters \['b', 'w'\], but params has \['w'\]"):
        rmsprop_step({"w": np.ones(2)}, {"w": np.ones(2)}, state, hp)
    with pytest.raises(TypeError, match="state must be an RMSPropState, got AdamState"):
        rmsprop_step(params, params, adam_init(params), hp)
    with pytest.raises(TypeError, match="params"):
        rmsprop_init({"w": [1.0, 2.0]})
    with pytest.raises(TypeError, match="non-empty"):
        rmsprop_init({})


@pytest.mark.parametrize(
    "kw, match",
    [({"lr": 0.0}, "RMSProp lr must be > 0"), ({"lr": -1e-3}, "RMSProp lr must be > 0"),
     ({"lr": float("nan")}, "RMSProp lr must be a finite number"), ({"lr": True}, "RMSProp lr must be a finite"),
     ({"lr": "7e-4"}, "RMSProp lr must be a finite number"), ({"alpha": 1.0}, r"RMSProp alpha must be in \[0, 1\)"),
     ({"alpha": -0.1}, r"RMSProp alpha must be in \[0, 1\)"), ({"alpha": float("inf")}, "RMSProp alpha must be a"),
     ({"eps": 0.0}, "RMSProp eps must be > 0"), ({"eps": None}, "RMSProp eps must be a finite number")],
)
def test_bad_hyperparameters_are_named(kw, match):
    with pytest.raises(ValueError, match=match):
        RMSPropConfig(**kw)


def test_hyperparameters_are_stored_as_floats():
    hp = RMSPropConfig(lr=1, alpha=0, eps=1)
    assert (type(hp.lr), type(hp.alpha), type(hp.eps)) == (float, float, float)
    assert hp == RMSPropConfig(lr=1.0, alpha=0.0, eps=1.0)


def test_save_load_then_continue_equals_an_uninterrupted_run(tmp_path):
    rng = np.random.default_rng(1)
    hp = RMSPropConfig(lr=3e-3, alpha=0.95, eps=1e-7)
    params = {"a": rng.standard_normal(4), "B": rng.standard_normal((2, 2))}
    grads = [{k: rng.standard_normal(v.shape) for k, v in params.items()} for _ in range(4)]
    p, state = params, rmsprop_init(params)
    for g in grads:
        p, state = rmsprop_step(p, g, state, hp)
    q, s = params, rmsprop_init(params)
    for g in grads[:2]:
        q, s = rmsprop_step(q, g, s, hp)
    assert save_rmsprop(tmp_path / "rmsprop.npz", s, hp) == tmp_path / "rmsprop.npz"
    s2, hp2 = load_rmsprop(tmp_path / "rmsprop.npz")
    assert hp2 == hp and s2.step == 2 and sorted(s2.v) == ["B", "a"]
    for g in grads[2:]:
        q, s2 = rmsprop_step(q, g, s2, hp2)
    for k in params:
        np.testing.assert_array_equal(q[k], p[k])
    assert [f.name for f in tmp_path.iterdir()] == ["rmsprop.npz"]


def _arrays(path):
    with np.load(path, allow_pickle=False) as npz:
        return dict(npz)


def test_damaged_files_are_refused_with_the_path(tmp_path):
    params = {"w": np.ones(3)}
    good = save_rmsprop(tmp_path / "good.npz", rmsprop_init(params), RMSPropConfig())
    data = good.read_bytes()

    cut = tmp_path / "cut.npz"
    cut.write_bytes(data[: len(data) // 2])
    with pytest.raises(FileFormatError, match=r"cut\.npz is a truncated or damaged \.npz archive.*"
                                              r"expected a fastweights_np\.rmsprop/1 file"):
        load_rmsprop(cut)

    with pytest.raises(FileFormatError, match="does not exist"):
        load_rmsprop(tmp_path / "missing.npz")

    adam = save_adam(tmp_path / "adam.npz", adam_init(params), AdamConfig())
    with pytest.raises(FileFormatError,
                       match=r"is not a fastweights_np\.rmsprop/1 file \(format: fastweights_np\.adam/1\)"):
        load_rmsprop(adam)

    arrays = _arrays(good)
    no_meta = tmp_path / "no_meta.npz"
    np.savez(no_meta, **{k: a for k, a in arrays.items() if k != "__rmsprop__"})
    with pytest.raises(FileFormatError, match=r"no_meta\.npz lacks '__rmsprop__'"):
        load_rmsprop(no_meta)

    for name, meta, match in [
        ("no_alpha", {"step": 0, "lr": 1e-3, "eps": 1e-5}, "lacks 'alpha'"),
        ("bad_alpha", {"step": 0, "lr": 1e-3, "alpha": 1.5, "eps": 1e-5}, r"invalid __rmsprop__ entry \(RMSProp alpha"),
        ("bad_step", {"step": -1, "lr": 1e-3, "alpha": 0.9, "eps": 1e-5}, r"invalid __rmsprop__ entry \(step must"),
    ]:
        bad = tmp_path / f"{name}.npz"
        np.savez(bad, **{**arrays, "__rmsprop__": np.array(json.dumps(meta))})
        with pytest.raises(FileFormatError, match=match):
            load_rmsprop(bad)

    not_json = tmp_path / "not_json.npz"
    np.savez(not_json, **{**arrays, "__rmsprop__": np.array("{step: 0")})
    with pytest.raises(FileFormatError, match=r"invalid __rmsprop__ entry"):
        load_rmsprop(not_json)


def test_file_layout(tmp_path):
    state = RMSPropState(7, {"w": np.arange(3.0)})
    arrays = _arrays(save_rmsprop(tmp_path / "r.npz", state, RMSPropConfig(lr=0.5)))
    assert sorted(arrays) == ["__format__", "__rmsprop__", "v.w"]
    assert str(arrays["__format__"]) == RMSPROP_FORMAT == "fastweights_np.rmsprop/1"
    assert json.loads(str(arrays["__rmsprop__"])) == {"step": 7, "lr": 0.5, "alpha": 0.99, "eps": 1e-5}
    np.testing.assert_array_equal(arrays["v.w"], np.arange(3.0))
