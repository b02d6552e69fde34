"""One suite for every recurrent core in the registry (fw, irnn, lstm, alstm): gradients against
finite differences, one run = two half runs, batch independence, bad inputs, configs, counts."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from strategies import examples

from fastweights_np.cli import main
from fastweights_np.core_gradcheck import check_core
from fastweights_np.cores.alstm.permutations import copy_index
from fastweights_np.cores.registry import CORE_NAMES, CORES, get_core, param_count_table
from fastweights_np.models import core_readout
from fastweights_np.models.canonical import init_params, loss_and_grad

TOL = 1e-6
seeds = st.integers(0, 2**16)


# ------------------------------------------------------------------------------- problems
def random_state(core, cfg, batch: int, rng: np.random.Generator):
    """A random initial state; the fast weights' A is kept small (without LN a large A0 drives
    the activity to 1e12, where no finite difference resolves anything)."""
    zero = core.zero_state(cfg, batch, cfg.np_dtype)
    scales = {"A": 0.1 / cfg.hidden_size}
    parts = zip(zero._fields, zero, strict=True)
    return core.state_class(*(scales.get(field, 0.5) * rng.standard_normal(part.shape) for field, part in parts))


def make_point(core, cfg, batch: int, steps: int, output: int, seed: int, with_state: bool, scale: float = 0.3):
    """(params incl. readout, x, y, state0 or None): the initialisation plus Gaussian noise."""
    rng = np.random.default_rng(seed)
    params = core_readout.init_model_params(core, cfg, output, seed)
    params = {k: (v + scale * rng.standard_normal(v.shape)).astype(cfg.np_dtype) for k, v in params.items()}
    x = rng.standard_normal((batch, steps, cfg.input_size)).astype(cfg.np_dtype)
    y = rng.integers(0, output, batch)
    state0 = random_state(core, cfg, batch, rng) if with_state else None
    return params, x, y, state0


@st.composite
def configs(draw, name: str):
    """Small configs of core ``name``. Where LN acts on the H hidden units (fw, irnn, the LSTM's
    cell) H <= 2 is skipped with LN: over H = 1 LN is constant (the LSTM's h then ignores its
    cell, leaving gradients of 1e-5 that central differences cannot resolve to 1e-6), over
    H = 2 its Jacobian is that small (see the reference's tests). The A-LSTM's LNs act on
    R >= 9 units."""
    core = get_core(name)
    layer_norm = draw(st.booleans())
    options: dict = {"layer_norm": layer_norm}
    if name == "alstm":
        hidden = 2 * draw(st.integers(1, 3))
        options.update(
            n_copies=draw(st.integers(1, 3)), n_heads=draw(st.integers(1, 2)), permutation_seed=draw(st.integers(0, 9))
        )
    else:
        hidden = draw(st.sampled_from([3, 4, 5] if layer_norm else [1, 2, 3, 4, 5]))
    if name == "fw":
        options.update(form=draw(st.sampled_from(["matrix", "attention"])), inner_steps=draw(st.integers(0, 2)))
    return core.make_config(draw(st.integers(1, 3)), hidden, 3, **options)


@st.composite
def problems(draw, name: str, min_steps: int = 1, min_batch: int = 1):
    core = get_core(name)
    cfg = draw(configs(name))
    batch = draw(st.integers(min_batch, 3))
    steps = draw(st.integers(min_steps, 4))
    point = make_point(core, cfg, batch, steps, 3, draw(seeds), with_state=draw(st.booleans()))
    return core, cfg, *point


def core_params(params: dict) -> dict:
    return {k: v for k, v in params.items() if k not in core_readout.READOUT_NAMES}


def assert_states_close(a, b, **tol):
    assert type(a) is type(b)
    for field, u, v in zip(a._fields, a, b, strict=True):
        np.testing.assert_allclose(u, v, err_msg=field, **tol)


def assert_grads_close(a: dict, b: dict, **tol):
    assert set(a) == set(b)
    for name in a:
        np.testing.assert_allclose(a[name], b[name], err_msg=name, **tol)


# ------------------------------------------------------------------------------- gradients
@pytest.mark.parametrize("name", CORE_NAMES)
@settings(max_examples=examples(80))
@given(data=st.data())
def test_whole_sequence_gradients(name, data):
    """Every parameter, V, c and each part of the initial state, along random directions."""
    core, cfg, params, x, y, state0 = data.draw(problems(name))
    report = check_core(core, params, x, y, cfg, state0, mode="direction", directions=2, tol=TOL)
    assert report.passed, f"\n{cfg}\n{report}"
    expected_rows = set(params) | {f"state0.{f}" for f in (core.state_class._fields if state0 else ())}
    assert expected_rows | {"(all)"} == {row.name for row in report.rows}


@pytest.mark.parametrize("name", CORE_NAMES)
def test_check_core_names_a_wrong_gradient(name):
    """A backward that is off by 1e-4 in one parameter and in one part of dstate0 fails the
    check on exactly those rows."""
    core = get_core(name)
    cfg = core.make_config(2, 4, 3, layer_norm=True)
    params, x, y, state0 = make_point(core, cfg, 2, 3, 3, seed=3, with_state=True)

    def wrong_backward(dout, cache):
        grads, dx, dstate0 = core.sequence_backward(dout, cache)
        grads = {**grads, "W": grads["W"] * (1 + 1e-4)}
        return grads, dx, dstate0._replace(h=dstate0.h * (1 + 1e-4))

    wrong = dataclasses.replace(core, sequence_backward=wrong_backward)
    report = check_core(wrong, params, x, y, cfg, state0, mode="entry")
    assert {row.name for row in report.failures()} == {"W", "state0.h"}, str(report)


@pytest.mark.parametrize("layer_norm", [False, True])
def test_alstm_gradient_check_covers_both_sides_of_the_bound(layer_norm):
    """At this point the bound is the identity for some complex entries and a projection onto
    the unit circle for others, in the keys, the values and the read; the check covers both."""
    core = get_core("alstm")
    cfg = core.make_config(2, 6, 3, layer_norm=layer_norm, n_copies=3, n_heads=2)
    params, x, y, state0 = make_point(core, cfg, 2, 3, 3, seed=5, with_state=True, scale=0.6)
    _, cache = core.sequence_forward(core_params(params), x, cfg, state0)
    steps = cache[3]
    for step in steps:
        bound_caches = (*step.bounds, step.read_bound)  # u, r_i, r_o, the read
        outside = np.concatenate([c[2].ravel() for c in bound_caches])
        assert outside.any() and not outside.all()
    report = check_core(core, params, x, y, cfg, state0, mode="both", directions=2)
    assert report.passed, str(report)


# ---------------------------------------------------------------------- carried state
@pytest.mark.parametrize("name", CORE_NAMES)
@settings(max_examples=40)
@given(data=st.data())
def test_one_run_equals_two_half_runs(name, data):
    """Values: running x[:, :t1] then x[:, t1:] from the carried state is the full run.
    Gradients: the second half's dstate0 fed into the first half's backward gives the full
    run's gradients (parameters summed over halves, dx concatenated, same dstate0)."""
    core, cfg, params, x, _, state0 = data.draw(problems(name, min_steps=2))
    t1 = data.draw(st.integers(1, x.shape[1] - 1))
    p = core_params(params)
    tol = {"rtol": 1e-10, "atol": 1e-12}

    (hs, state), cache = core.sequence_forward(p, x, cfg, state0)
    (hs1, mid), cache1 = core.sequence_forward(p, x[:, :t1], cfg, state0)
    (hs2, end), cache2 = core.sequence_forward(p, x[:, t1:], cfg, mid)
    np.testing.assert_allclose(np.concatenate((hs1, hs2), axis=1), hs, **tol)
    assert_states_close(end, state, **tol)

    rng = np.random.default_rng(data.draw(seeds))
    dhs = rng.standard_normal(hs.shape)
    dstate = core.state_class(*(rng.standard_normal(part.shape) for part in state))
    grads, dx, dstate0 = core.sequence_backward((dhs, dstate), cache)
    grads2, dx2, dmid = core.sequence_backward((dhs[:, t1:], dstate), cache2)
    grads1, dx1, dstate0_halves = core.sequence_backward((dhs[:, :t1], dmid), cache1)
    assert_grads_close(grads, {k: np.asarray(grads1[k]) + grads2[k] for k in grads}, **tol)
    np.testing.assert_allclose(np.concatenate((dx1, dx2), axis=1), dx, **tol)
    if state0 is None:
        assert dstate0 is None and dstate0_halves is None
    else:
        assert_states_close(dstate0_halves, dstate0, **tol)


@pytest.mark.parametrize("name", CORE_NAMES)
def test_zero_state_is_the_default(name):
    core = get_core(name)
    cfg = core.make_config(2, 4, 3)
    params, x, _, _ = make_point(core, cfg, 2, 3, 3, seed=1, with_state=False)
    p = core_params(params)
    (hs, state), cache = core.sequence_forward(p, x, cfg)
    (hs_z, state_z), cache_z = core.sequence_forward(p, x, cfg, core.zero_state(cfg, 2, cfg.np_dtype))
    np.testing.assert_array_equal(hs, hs_z)
    assert_states_close(state, state_z, rtol=0, atol=0)
    dhs = np.ones_like(hs)
    grads, dx, dstate0 = core.sequence_backward((dhs, None), cache)
    grads_z, dx_z, dstate0_z = core.sequence_backward((dhs, None), cache_z)
    assert dstate0 is None and isinstance(dstate0_z, core.state_class)
    assert_grads_close(grads, grads_z, rtol=0, atol=0)
    np.testing.assert_array_equal(dx, dx_z)


# -------------------------------------------------------------------- batch independence
@pytest.mark.parametrize("name", CORE_NAMES)
@settings(max_examples=40)
@given(data=st.data())
def test_batch_independence(name, data):
    """Permuting the batch permutes every output and input gradient; splitting it changes nothing."""
    core, cfg, params, x, _, state0 = data.draw(problems(name, min_batch=2))
    p = core_params(params)
    B = x.shape[0]
    tol = {"rtol": 1e-12, "atol": 1e-13}
    rng = np.random.default_rng(data.draw(seeds))
    perm = rng.permutation(B)

    def take(state, rows):
        return None if state is None else core.state_class(*(part[rows] for part in state))

    (hs, state), cache = core.sequence_forward(p, x, cfg, state0)
    (hs_p, state_p), cache_p = core.sequence_forward(p, x[perm], cfg, take(state0, perm))
    np.testing.assert_allclose(hs_p, hs[perm], **tol)
    assert_states_close(state_p, take(state, perm), **tol)

    dhs = rng.standard_normal(hs.shape)
    grads, dx, dstate0 = core.sequence_backward((dhs, None), cache)
    grads_p, dx_p, dstate0_p = core.sequence_backward((dhs[perm], None), cache_p)
    np.testing.assert_allclose(dx_p, dx[perm], **tol)
    assert_grads_close(grads_p, grads, **tol)
    if state0 is not None:
        assert_states_close(dstate0_p, take(dstate0, perm), **tol)

    k = data.draw(st.integers(1, B - 1))
    (hs_a, state_a), _ = core.sequence_forward(p, x[:k], cfg, take(state0, slice(0, k)))
    (hs_b, state_b), _ = core.sequence_forward(p, x[k:], cfg, take(state0, slice(k, B)))
    np.testing.assert_allclose(np.concatenate((hs_a, hs_b)), hs, **tol)
    for field, a, b, whole in zip(state._fields, state_a, state_b, state, strict=True):
        np.testing.assert_allclose(np.concatenate((a, b)), whole, err_msg=field, **tol)


# --------------------------------------------------------------------------------- dtypes
@pytest.mark.parametrize("name", CORE_NAMES)
def test_float32_follows_float64(name):
    core = get_core(name)
    cfg64 = core.make_config(3, 4, 3, layer_norm=True)
    cfg32 = cfg64.replace(dtype="float32")
    params, x, y, state0 = make_point(core, cfg64, 2, 4, 3, seed=2, with_state=True)
    loss64, grads64, dstate64 = core_readout.loss_and_grad(core, params, x, y, cfg64, state0)
    cast = {k: v.astype(np.float32) for k, v in params.items()}
    state32 = core.state_class(*(part.astype(np.float32) for part in state0))
    loss32, grads32, dstate32 = core_readout.loss_and_grad(core, cast, x.astype(np.float32), y, cfg32, state32)
    assert loss32 == pytest.approx(loss64, rel=1e-5)
    for name_, g in grads32.items():
        assert g.dtype == np.float32, name_
        np.testing.assert_allclose(g, grads64[name_], rtol=1e-3, atol=1e-4, err_msg=name_)
    assert all(part.dtype == np.float32 for part in dstate32)


# ------------------------------------------------------------------ equations, independently
def _sigmoid(v):
    return 1.0 / (1.0 + np.exp(-v))


def _layernorm(v, g, beta, eps):
    mu = v.mean(-1, keepdims=True)
    return g * (v - mu) / np.sqrt(((v - mu) ** 2).mean(-1, keepdims=True) + eps) + beta


@pytest.mark.parametrize("layer_norm", [False, True])
def test_lstm_matches_its_equations(layer_norm):
    core = get_core("lstm")
    cfg = core.make_config(3, 4, 2, layer_norm=layer_norm)
    params, x, _, state0 = make_point(core, cfg, 2, 3, 2, seed=4, with_state=True)
    p = core_params(params)
    H, eps = 4, cfg.ln_eps

    def N(v, which):
        return _layernorm(v, p[f"g_{which}"], p[f"beta_{which}"], eps) if layer_norm else v

    h, c = state0
    for t in range(x.shape[1]):
        a = N(h @ p["W"].T, "rec") + N(x[:, t] @ p["C"].T, "in") + p["b"]
        f, i, o = (_sigmoid(a[:, k * H : (k + 1) * H]) for k in range(3))
        u = np.tanh(a[:, 3 * H :])
        c = f * c + i * u
        h = o * np.tanh(N(c, "cell"))
    (_, state), _ = core.sequence_forward(p, x, cfg, state0)
    np.testing.assert_allclose(state.h, h, rtol=1e-12)
    np.testing.assert_allclose(state.c, c, rtol=1e-12)


def test_irnn_matches_its_equations_and_init():
    core = get_core("irnn")
    cfg = core.make_config(3, 5, 2)
    init = core.init_core_params(cfg, 0)
    np.testing.assert_array_equal(init["W"], 0.5 * np.eye(5))
    params, x, _, state0 = make_point(core, cfg, 2, 3, 2, seed=6, with_state=True)
    p = core_params(params)
    h = state0.h
    for t in range(x.shape[1]):
        h = np.maximum(h @ p["W"].T + x[:, t] @ p["C"].T + p["b"], 0.0)
    (_, state), _ = core.sequence_forward(p, x, cfg, state0)
    np.testing.assert_allclose(state.h, h, rtol=1e-12)


def _bound(z):
    return z / np.maximum(1.0, np.abs(z))


@pytest.mark.parametrize("n_heads", [1, 3])
def test_alstm_matches_the_paper_in_complex_arithmetic(n_heads):
    """The A-LSTM's equations written with NumPy complex numbers (K = 1 is the paper's Sec. 4)."""
    core = get_core("alstm")
    cfg = core.make_config(3, 6, 2, n_copies=4, n_heads=n_heads, permutation_seed=3)
    params, x, _, state0 = make_point(core, cfg, 2, 3, 2, seed=8, with_state=True, scale=0.6)
    p = core_params(params)
    m, S = 3, 4
    perms = copy_index(m, S, 3)[:, :m]  # π_s: (P_s r)_j = r_{π_s(j)}
    h = state0.h
    c = state0.c[..., :m] + 1j * state0.c[..., m:]  # (B, S, m)
    for t in range(x.shape[1]):
        a = h @ p["W"].T + x[:, t] @ p["C"].T + p["b"]
        g_f, g_o = _sigmoid(a[:, :m]), _sigmoid(a[:, m : 2 * m])
        heads = a[:, 2 * m :].reshape(-1, n_heads, 7 * m)
        g_i = _sigmoid(heads[..., :m])

        def cplx(block, heads=heads):
            return heads[..., block * m : (block + 1) * m] + 1j * heads[..., (block + 1) * m : (block + 2) * m]

        u, r_i, r_o = _bound(cplx(1)), _bound(cplx(3)), _bound(cplx(5))
        write = sum(r_i[:, k][:, perms] * (g_i[:, k] * u[:, k])[:, None] for k in range(n_heads))  # (B, S, m)
        c = g_f[:, None] * c + write
        read = sum((r_o[:, k][:, perms] * c).mean(axis=1) for k in range(n_heads))
        hc = g_o * _bound(read)
        h = np.concatenate((hc.real, hc.imag), axis=-1)
    (_, state), _ = core.sequence_forward(p, x, cfg, state0)
    np.testing.assert_allclose(state.h, h, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(state.c, np.concatenate((c.real, c.imag), axis=-1), rtol=1e-12, atol=1e-14)


def test_alstm_permutations_come_from_the_config():
    core = get_core("alstm")
    cfg = core.make_config(2, 8, 2, n_copies=2, n_heads=1)
    params, x, _, _ = make_point(core, cfg, 2, 3, 2, seed=9, with_state=False)
    p = core_params(params)
    (hs, _), _ = core.sequence_forward(p, x, cfg)
    (hs_same, _), _ = core.sequence_forward(p, x, cfg.replace())
    (hs_other, _), _ = core.sequence_forward(p, x, cfg.replace(permutation_seed=1))
    np.testing.assert_array_equal(hs, hs_same)
    assert not np.allclose(hs, hs_other)
    assert type(cfg).from_json(cfg.to_json()) == cfg


def test_fw_core_model_is_the_canonical_model():
    """With the fw core and no state0, core_readout computes the canonical loss_and_grad's loss and grads."""
    core = get_core("fw")
    cfg = core.make_config(3, 4, 2)
    params = {k: v + 0.1 for k, v in init_params(cfg, 0).items()}
    x = np.random.default_rng(0).standard_normal((2, 3, 3))
    y = np.array([0, 1])
    loss, grads = loss_and_grad(params, x, y, cfg)
    loss_c, grads_c, dstate0 = core_readout.loss_and_grad(core, params, x, y, cfg)
    assert loss_c == loss and dstate0 is None
    assert_grads_close(grads_c, {k: grads[k] for k in params}, rtol=0, atol=0)


# ----------------------------------------------------------------- parameters and counts
@pytest.mark.parametrize("name", CORE_NAMES)
def test_init_core_params(name):
    core = get_core(name)
    for layer_norm in (False, True):
        cfg = core.make_config(3, 6, 2, layer_norm=layer_norm, dtype="float32")
        params = core.init_core_params(cfg, 7)
        assert {k: v.shape for k, v in params.items()} == core.param_shapes(cfg)
        assert all(v.dtype == np.float32 for v in params.values())
        again = core.init_core_params(cfg, 7)
        assert all(np.array_equal(params[k], again[k]) for k in params)
        assert not np.array_equal(params["C"], core.init_core_params(cfg, 8)["C"])


def test_forget_bias_and_fw_core_params():
    lstm = get_core("lstm")
    cfg = lstm.make_config(2, 3, 2, forget_bias=2.0)
    b = lstm.init_core_params(cfg, 0)["b"]
    np.testing.assert_array_equal(b, np.r_[np.full(3, 2.0), np.zeros(9)])
    alstm = get_core("alstm")
    cfg = alstm.make_config(2, 4, 2)  # m = 2: b = [f (2) | o (2) | ...] with f = forget_bias
    b = alstm.init_core_params(cfg, 0)["b"]
    np.testing.assert_array_equal(b[:2], [1.0, 1.0])
    assert not b[2:].any()
    fw = get_core("fw")
    cfg = fw.make_config(3, 4, 2)
    full = init_params(cfg, 5)
    core_only = fw.init_core_params(cfg, 5)
    assert set(core_only) == {"W", "C", "b", "g", "beta"}
    assert all(np.array_equal(core_only[k], full[k]) for k in core_only)


@pytest.mark.parametrize("H", [2, 20, 50, 100])
def test_param_counts(H):
    I = 7
    ln_lstm = 4 * (4 * H) + 2 * H
    expected = {
        ("fw", True): H * H + H * I + 3 * H,
        ("irnn", False): H * H + H * I + H,
        ("irnn", True): H * H + H * I + 3 * H,
        ("lstm", False): 4 * H * (H + I + 1),
        ("lstm", True): 4 * H * (H + I + 1) + ln_lstm,
    }
    for (name, layer_norm), count in expected.items():
        assert get_core(name).param_count(get_core(name).make_config(I, H, 2, layer_norm=layer_norm)) == count
    for heads in (1, 3):
        R = H // 2 * (2 + 7 * heads)
        alstm = get_core("alstm")
        assert alstm.param_count(alstm.make_config(I, H, 2, n_heads=heads)) == R * (H + I + 1)
        assert alstm.param_count(alstm.make_config(I, H, 2, n_heads=heads, layer_norm=True)) == R * (H + I + 5)
    fw = get_core("fw")
    assert fw.param_count(fw.make_config(I, H, 2, layer_norm=False)) == H * H + H * I + H  # g, β unused


def test_param_count_table_and_command(capsys):
    rows = param_count_table(100, [20, 50, 100])
    assert {name for name, _, _ in rows} == set(CORE_NAMES)
    assert all(len(counts) == 3 for _, _, counts in rows)
    assert main(["param-count", "--input", "100", "--hidden", "20", "50", "100"]) == 0
    out = capsys.readouterr().out
    assert "| lstm | layer_norm=False | 9,680 | 30,200 | 80,400 |" in out


# ---------------------------------------------------------------------------- bad inputs
def _good(name):
    core = get_core(name)
    cfg = core.make_config(3, 4, 2)
    params, x, y, state0 = make_point(core, cfg, 2, 3, 2, seed=0, with_state=True)
    return core, cfg, params, x, y, state0


def _without(d, key):
    return {k: v for k, v in d.items() if k != key}


BAD_INPUTS = {
    "x not an array": (lambda p, x, y, s: (p, x.tolist(), y, s), TypeError, "x must be a numpy.ndarray"),
    "x integer": (lambda p, x, y, s: (p, x.astype(int), y, s), TypeError, "x must have a real floating dtype"),
    "x wrong input size": (lambda p, x, y, s: (p, x[..., :2], y, s), ValueError, r"x must have shape \(any, any, 3\)"),
    "x two-dimensional": (lambda p, x, y, s: (p, x[:, 0], y, s), ValueError, "x must have shape"),
    "x no steps": (lambda p, x, y, s: (p, x[:, :0], y, s), ValueError, "x must not have an empty axis"),
    "x not finite": (lambda p, x, y, s: (p, np.where(x > 1, np.nan, x), y, s), ValueError, "x must be finite"),
    "param missing": (lambda p, x, y, s: (_without(p, "W"), x, y, s), ValueError, r"missing \['W'\]"),
    "param extra": (lambda p, x, y, s: ({**p, "Z": p["b"]}, x, y, s), ValueError, r"unexpected \['Z'\]"),
    "param shape": (lambda p, x, y, s: ({**p, "C": p["C"][:, :2]}, x, y, s), ValueError, r"params\['C'\] must have"),
    "param dtype": (lambda p, x, y, s: ({**p, "b": p["b"].astype(np.float32)}, x, y, s), TypeError, "dtype float32"),
    "readout missing": (lambda p, x, y, s: (_without(p, "V"), x, y, s), ValueError, r"missing \['V'\]"),
    "readout shape": (lambda p, x, y, s: ({**p, "V": p["V"][:, :3]}, x, y, s), ValueError, r"params\['V'\] must have"),
    "labels out of range": (lambda p, x, y, s: (p, x, y + 5, s), ValueError, r"y values must be in \[0, 2\)"),
    "labels wrong batch": (lambda p, x, y, s: (p, x, y[:1], s), ValueError, r"y must have shape \(2,\)"),
    "state not a tuple": (lambda p, x, y, s: (p, x, y, s.h), TypeError, "state0 must be a"),
    "state wrong length": (lambda p, x, y, s: (p, x, y, (*s, s.h)), TypeError, "state0 must be a"),
    "state wrong batch": (lambda p, x, y, s: (p, x, y, type(s)(*(a[:1] for a in s))), ValueError, "state0.h must have"),
    "state not finite": (lambda p, x, y, s: (p, x, y, s._replace(h=s.h * np.inf)), ValueError, "state0.h must be fin"),
}


@pytest.mark.parametrize("name", CORE_NAMES)
@pytest.mark.parametrize("case", list(BAD_INPUTS))
def test_bad_inputs_are_named(name, case):
    core, cfg, params, x, y, state0 = _good(name)
    change, error, message = BAD_INPUTS[case]
    params, x, y, state0 = change(params, x, y, state0)
    with pytest.raises(error, match=message):
        core_readout.loss_and_grad(core, params, x, y, cfg, state0)


@pytest.mark.parametrize("name", CORE_NAMES)
def test_wrong_config_type_is_named(name):
    core, cfg, params, x, y, state0 = _good(name)
    other = get_core("irnn" if name != "irnn" else "lstm").make_config(3, 4, 2)
    with pytest.raises(TypeError, match=f"cfg must be a {core.config_class.__name__}"):
        core.check_inputs(core_params(params), x, other)


BAD_CONFIGS = [
    ("hidden_size", 0, "hidden_size must be a positive integer, got 0"),
    ("input_size", 1.5, "input_size must be a positive integer, got 1.5"),
    ("layer_norm", 1, "layer_norm must be True or False, got 1"),
    ("ln_eps", 0.0, "ln_eps must be > 0, got 0.0"),
    ("dtype", "float16", r"dtype must be one of \('float32', 'float64'\), got 'float16'"),
]
CORE_BAD_CONFIGS = [
    ("irnn", "identity_scale", float("nan"), "identity_scale must be a finite real number"),
    ("lstm", "forget_bias", float("inf"), "forget_bias must be a finite real number"),
    ("alstm", "hidden_size", 5, "hidden_size must be even for the A-LSTM .*, got 5"),
    ("alstm", "n_copies", 0, "n_copies must be a positive integer, got 0"),
    ("alstm", "n_heads", True, "n_heads must be a positive integer, got True"),
    ("alstm", "permutation_seed", -1, "permutation_seed must be a non-negative integer, got -1"),
    ("alstm", "forget_bias", "1", "forget_bias must be a finite real number, got '1'"),
]


@pytest.mark.parametrize("name", [n for n in CORE_NAMES if n != "fw"])
@pytest.mark.parametrize(("field", "value", "message"), BAD_CONFIGS)
def test_bad_baseline_config_values_are_named(name, field, value, message):
    core = get_core(name)
    fields = {"input_size": 3, "hidden_size": 4, field: value}
    with pytest.raises(ValueError, match=message):
        core.config_class(**fields)


@pytest.mark.parametrize(("name", "field", "value", "message"), CORE_BAD_CONFIGS)
def test_bad_core_specific_config_values_are_named(name, field, value, message):
    fields = {"input_size": 3, "hidden_size": 4, field: value}
    with pytest.raises(ValueError, match=message):
        get_core(name).config_class(**fields)


@pytest.mark.parametrize("name", CORE_NAMES)
def test_config_json_round_trip(name):
    core = get_core(name)
    cfg = core.make_config(3, 4, 2, layer_norm=True, dtype="float32")
    assert type(cfg).from_json(cfg.to_json()) == cfg
    assert json.loads(cfg.to_json())["hidden_size"] == 4
    with pytest.raises(ValueError, match="unknown config fields"):
        type(cfg).from_json(json.dumps({**json.loads(cfg.to_json()), "colour": 1}))


def test_registry_names_and_sizes():
    assert CORE_NAMES == ("fw", "irnn", "lstm", "alstm")
    assert all(CORES[name].name == name for name in CORE_NAMES)
    with pytest.raises(ValueError, match=r"core must be one of \('fw', 'irnn', 'lstm', 'alstm'\), got 'gru'"):
        get_core("gru")
    with pytest.raises(ValueError, match="output_size must be a positive integer, got 0"):
        get_core("lstm").make_config(3, 4, 0)


# ----------------------------------------------------------------------------------- CLI
@pytest.mark.parametrize("name", ["irnn", "lstm", "alstm"])
def test_gradcheck_command(name, capsys):
    argv = ["gradcheck", "--model", name, "--hidden", "4", "--steps", "3", "--batch", "2", "--mode", "direction"]
    argv += ["--copies", "2", "--heads", "2"] if name == "alstm" else []
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert out.count("gradient check PASSED") == 2  # without and with layer norm
    assert "state0.h" in out


def test_gradcheck_command_names_a_bad_size(capsys):
    assert main(["gradcheck", "--model", "alstm", "--hidden", "5"]) == 2
    assert "hidden_size must be even" in capsys.readouterr().err
