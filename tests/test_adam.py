"""Adam (fastweights_np/optim/adam.py) against Algorithm 1 of Kingma & Ba written out per entry."""

import math

import numpy as np
import pytest

from fastweights_np.optim import AdamConfig, AdamState, adam_init, adam_step, load_adam, save_adam


def _scalar_adam(theta: float, grads: list[float], lr, beta1, beta2, eps) -> list[float]:
    """Algorithm 1, one scalar at a time, in plain Python floats."""
    m = v = 0.0
    out = []
    for k, g in enumerate(grads, start=1):
        m = beta1 * m + (1 - beta1) * g
        v = beta2 * v + (1 - beta2) * g * g
        theta = theta - lr * (m / (1 - beta1**k)) / (math.sqrt(v / (1 - beta2**k)) + eps)
        out.append(theta)
    return out


def test_matches_algorithm_1_entry_by_entry():
    rng = np.random.default_rng(0)
    hp = AdamConfig(lr=0.01, beta1=0.8, beta2=0.99, eps=1e-6)
    params = {"W": rng.standard_normal((2, 3)), "b": rng.standard_normal(3)}
    grad_seq = [{k: rng.standard_normal(v.shape) * 10.0 ** rng.integers(-4, 2) for k, v in params.items()}
                for _ in range(5)]
    state = adam_init(params)
    history = []
    p = params
    for grads in grad_seq:
        p, state = adam_step(p, grads, state, hp)
        history.append(p)
    assert state.step == 5
    for name, theta0 in params.items():
        for index in np.ndindex(theta0.shape):
            want = _scalar_adam(float(theta0[index]), [float(g[name][index]) for g in grad_seq],
                                hp.lr, hp.beta1, hp.beta2, hp.eps)
            got = [float(h[name][index]) for h in history]
            np.testing.assert_allclose(got, want, rtol=1e-14, atol=1e-16)


def test_first_step_moves_each_entry_by_about_lr():
    params = {"w": np.array([1.0, -2.0, 3.0])}
    grads = {"w": np.array([0.5, -4.0, 1e-3])}
    new, _ = adam_step(params, grads, adam_init(params), AdamConfig(lr=0.1))
    np.testing.assert_allclose(new["w"], params["w"] - 0.1 * grads["w"] / (np.abs(grads["w"]) + 1e-8), rtol=1e-15)


def test_step_is_pure_and_ignores_gradients_of_non_parameters():
    params = {"w": np.ones(2)}
    grads = {"w": np.ones(2), "decay": 0.3, "fast_lr": -1.0}
    state = adam_init(params)
    adam_step(params, grads, state, AdamConfig())
    np.testing.assert_array_equal(params["w"], np.ones(2))
    assert state.step == 0 and not np.any(state.m["w"]) and not np.any(state.v["w"])


def test_save_load_then_continue_equals_an_uninterrupted_run(tmp_path):
    rng = np.random.default_rng(1)
    hp = AdamConfig(lr=3e-3)
    params = {"a": rng.standard_normal(4), "B": rng.standard_normal((2, 2))}
    grads = [{k: rng.standard_normal(v.shape) for k, v in params.items()} for _ in range(4)]
    p, state = params, adam_init(params)
    for g in grads:
        p, state = adam_step(p, g, state, hp)
    q, s = params, adam_init(params)
    for g in grads[:2]:
        q, s = adam_step(q, g, s, hp)
    save_adam(tmp_path / "adam.npz", s, hp)
    s2, hp2 = load_adam(tmp_path / "adam.npz")
    assert hp2 == hp and s2.step == 2
    for g in grads[2:]:
        q, s2 = adam_step(q, g, s2, hp2)
    for k in params:
        np.testing.assert_array_equal(q[k], p[k])
    assert [f.name for f in tmp_path.iterdir()] == ["adam.npz"]


def test_load_refuses_other_files(tmp_path):
    np.savez(tmp_path / "x.npz", a=np.zeros(2))
    with pytest.raises(ValueError, match="not a fastweights_np.adam/1 file"):
        load_adam(tmp_path / "x.npz")


@pytest.mark.parametrize(
    "kw, match",
    [({"lr": 0.0}, "lr"), ({"lr": float("nan")}, "lr"), ({"beta1": 1.0}, "beta1"), ({"beta2": -0.1}, "beta2"),
     ({"eps": 0.0}, "eps"), ({"lr": True}, "lr")],
)
def test_bad_hyperparameters_are_named(kw, match):
    with pytest.raises(ValueError, match=match):
        AdamConfig(**kw)


def test_bad_steps_are_named():
    params = {"w": np.ones(2), "b": np.ones(3)}
    state = adam_init(params)
    with pytest.raises(ValueError, match=r"no gradient for parameters \['b'\]"):
        adam_step(params, {"w": np.ones(2)}, state, AdamConfig())
    with pytest.raises(ValueError, match=r"grads\['w'\] has shape \(3,\)"):
        adam_step(params, {"w": np.ones(3), "b": np.ones(3)}, state, AdamConfig())
    with pytest.raises(ValueError, match="state is for parameters"):
        adam_step({"w": np.ones(2)}, {"w": np.ones(2)}, state, AdamConfig())
    with pytest.raises(TypeError, match="AdamState"):
        adam_step(params, params, (0, {}, {}), AdamConfig())
    with pytest.raises(TypeError, match="params"):
        adam_init({"w": [1.0, 2.0]})
    assert isinstance(state, AdamState)


def test_matches_torch_adam_when_torch_is_installed():
    torch = pytest.importorskip("torch", reason="torch is not installed; no comparison with torch.optim.Adam")
    rng = np.random.default_rng(2)
    hp = AdamConfig(lr=0.05)
    theta = rng.standard_normal((3, 4))
    grads = [rng.standard_normal((3, 4)) for _ in range(6)]
    t = torch.tensor(theta, requires_grad=True)
    opt = torch.optim.Adam([t], lr=hp.lr, betas=(hp.beta1, hp.beta2), eps=hp.eps)
    p, state = {"t": theta}, adam_init({"t": theta})
    for g in grads:
        t.grad = torch.tensor(g)
        opt.step()
        p, state = adam_step(p, {"t": g}, state, hp)
    np.testing.assert_allclose(p["t"], t.detach().numpy(), rtol=1e-13, atol=1e-15)
