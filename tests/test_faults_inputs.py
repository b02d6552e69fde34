"""Every public entry point checks its inputs, on every backend, with the same checks.

``get_core(name, backend).sequence_forward`` / ``sequence_backward`` (and the package-level
``fastweights_np.sequence_forward`` / ``sequence_backward``, the checked NumPy fw core) refuse
non-finite, integer, complex and bool x, x of the wrong rank, size or with T = 0, parameters
missing or of the wrong shapes or dtype (other keys, a readout's V and c, are left out), a bad
state0, and a dout that does not fit the forward, with a TypeError / ValueError that names the
argument, the expected and the actual shape, dtype or value, the same message on every backend
(``backends.checked_core``: ``Core.check_sequence_inputs`` / ``check_dout``). A plain tuple is
a state. A backend that cannot run here raises at ``get_core``. ``gradcheck`` refuses the
fast-weights options for a baseline model.
"""

from __future__ import annotations

import re

import numpy as np
import pytest

import fastweights_np
from fastweights_np.backends import BACKEND_MODULES, BackendUnavailableError, get_core
from fastweights_np.backends import numba as numba_backend
from fastweights_np.backends.cupy import cupy_status
from fastweights_np.cli import main
from fastweights_np.cores import fast_weights
from fastweights_np.cores.registry import CORE_NAMES

CASES = [("numpy", name) for name in CORE_NAMES] + [("numba", name) for name in numba_backend.CORES]
B, T, I, H = 2, 3, 3, 4


def problem(backend: str, name: str, dtype: str = "float64"):
    """(core, cfg, params, x, state0) of a small run of core ``name`` on ``backend``."""
    core = get_core(name, backend)
    cfg = core.make_config(I, H, 2, dtype=dtype)
    rng = np.random.default_rng(0)
    params = core.init_core_params(cfg, 0)
    x = rng.standard_normal((B, T, I)).astype(dtype)
    zero = core.zero_state(cfg, B, cfg.np_dtype)
    state0 = core.state_class(*(0.3 * rng.standard_normal(part.shape).astype(dtype) for part in zero))
    return core, cfg, params, x, state0


def refused(call, error: type, message: str) -> str:
    """``call()`` raises ``error`` whose message holds the exact text ``message``; returns it."""
    with pytest.raises(error, match=re.escape(message)) as info:
        call()
    return str(info.value)


def with_nan(x: np.ndarray, value: float) -> np.ndarray:
    x = x.copy()
    x[1, 2, 0] = value
    return x


# ------------------------------------------------------------------------------ x
BAD_X = {
    "nan": (lambda x: with_nan(x, np.nan), ValueError, "x must be finite, found nan at index (1, 2, 0)"),
    "inf": (lambda x: with_nan(x, -np.inf), ValueError, "x must be finite, found -inf at index (1, 2, 0)"),
    "int": (lambda x: x.astype(np.int64), TypeError,
            "x must have a real floating dtype (float32 or float64), got int64"),
    "complex": (lambda x: x.astype(np.complex128), TypeError,
                "x must have a real floating dtype (float32 or float64), got complex128"),
    "bool": (lambda x: x > 0, TypeError, "x must have a real floating dtype (float32 or float64), got bool"),
    "list": (lambda x: x.tolist(), TypeError, "x must be a numpy.ndarray, got list"),
    "2-d": (lambda x: x[:, 0], ValueError, f"x must have shape (any, any, {I}), got ({B}, {I})"),
    "T = 0": (lambda x: x[:, :0], ValueError, f"x must not have an empty axis, got shape ({B}, 0, {I})"),
    "B = 0": (lambda x: x[:0], ValueError, f"x must not have an empty axis, got shape (0, {T}, {I})"),
    "wrong I": (lambda x: x[..., :2], ValueError, f"x must have shape (any, any, {I}), got ({B}, {T}, 2)"),
}


@pytest.mark.parametrize(("backend", "name"), CASES)
@pytest.mark.parametrize("case", list(BAD_X))
def test_bad_x_is_refused_by_name(backend, name, case):
    core, cfg, params, x, _ = problem(backend, name)
    change, error, message = BAD_X[case]
    refused(lambda: core.sequence_forward(params, change(x), cfg), error, message)


def test_a_float32_x_is_converted_for_a_float64_core():
    core, cfg, params, x, _ = problem("numpy", "fw")
    (hs, _), _ = core.sequence_forward(params, x.astype(np.float32), cfg)
    (expected, _), _ = core.sequence_forward(params, x.astype(np.float32).astype(np.float64), cfg)
    assert hs.dtype == np.float64
    np.testing.assert_array_equal(hs, expected)


# ------------------------------------------------------------------------- params
def bad_params(params: dict) -> dict:
    """case -> (params, error, message)"""
    first = next(iter(params))
    return {
        "not a dict": (list(params.values()), TypeError, "params must be a dict of arrays, got list"),
        "missing W": ({k: v for k, v in params.items() if k != "W"}, ValueError,
                      f"core's parameters {sorted(params)} (other keys are left out); missing ['W']"),
        "shape": (dict(params, W=params["W"][:, :2]), ValueError,
                  f"params['W'] must have shape {params['W'].shape}, got {params['W'][:, :2].shape}"),
        "dtype": (dict(params, W=params["W"].astype(np.float32)), TypeError,
                  "params['W'] has dtype float32, but the config's dtype is float64"),
        "int": (dict(params, W=params["W"].astype(np.int64)), TypeError,
                "params['W'] must have a real floating dtype (float32 or float64), got int64"),
        "nan": (dict(params, **{first: params[first] * np.nan}), ValueError, f"params[{first!r}] must be finite"),
    }


@pytest.mark.parametrize(("backend", "name"), CASES)
def test_bad_params_are_refused_by_name(backend, name):
    core, cfg, params, x, _ = problem(backend, name)
    for case, (given, error, message) in bad_params(params).items():
        assert refused(lambda given=given: core.sequence_forward(given, x, cfg), error, message), case


@pytest.mark.parametrize(("backend", "name"), CASES)
def test_other_keys_in_params_are_left_out(backend, name):
    """The canonical model's params (the core's plus V and c) run the core: V and c are not its."""
    core, cfg, params, x, _ = problem(backend, name)
    (hs, _), cache = core.sequence_forward(params, x, cfg)
    (hs_model, _), cache_model = core.sequence_forward(dict(params, V=np.zeros((2, H)), c=np.zeros(2)), x, cfg)
    np.testing.assert_array_equal(hs_model, hs)
    grads, _, _ = core.sequence_backward((hs, None), cache_model)
    assert set(grads) - {"decay", "fast_lr"} == set(params)


@pytest.mark.parametrize(("backend", "name"), CASES)
def test_another_config_or_override_is_refused(backend, name):
    core, cfg, params, x, _ = problem(backend, name)
    refused(lambda: core.sequence_forward(params, x, "cfg"), TypeError,
            f"cfg must be a {core.config_class.__name__} for core {name!r}, got str")
    if name == "fw":
        refused(lambda: core.sequence_forward(params, x, cfg, decay=float("nan")), ValueError,
                "decay must be a finite real number, got nan")


# ------------------------------------------------------------------------- state0
@pytest.mark.parametrize(("backend", "name"), CASES)
def test_bad_state0_is_refused_by_name(backend, name):
    core, cfg, params, x, state0 = problem(backend, name)
    kind = f"state0 must be a {core.state_class.__name__}({', '.join(core.state_class._fields)}) or a tuple of"
    h = state0.h
    cases = [
        (h, TypeError, f"{kind} {len(state0)} arrays, got ndarray"),
        ((*state0, h), TypeError, f"{kind} {len(state0)} arrays, got tuple of length {len(state0) + 1}"),
        (state0._replace(h=h[:1]), ValueError, f"state0.h must have shape ({B}, {H}), got (1, {H})"),
        (state0._replace(h=h * np.inf), ValueError, "state0.h must be finite, found inf"),
        (state0._replace(h=h.astype(np.int64)), TypeError, "state0.h must have a real floating dtype"),
    ]
    for given, error, message in cases:
        refused(lambda given=given: core.sequence_forward(params, x, cfg, given), error, message)


# ------------------------------------------------------------------------ backward
@pytest.mark.parametrize(("backend", "name"), CASES)
def test_plain_tuples_are_states(backend, name):
    """state0 and dstate as plain tuples work and give what the NamedTuples give."""
    core, cfg, params, x, state0 = problem(backend, name)
    (hs, state), cache = core.sequence_forward(params, x, cfg, state0)
    (hs_t, state_t), cache_t = core.sequence_forward(params, x, cfg, tuple(state0))
    np.testing.assert_array_equal(hs_t, hs)
    dstate = type(state)(*(np.ones_like(part) for part in state))
    named = core.sequence_backward((hs, dstate), cache)
    plain = core.sequence_backward((hs, tuple(dstate)), cache_t)
    assert named[0].keys() == plain[0].keys()
    for key in named[0]:
        np.testing.assert_array_equal(plain[0][key], named[0][key])
    np.testing.assert_array_equal(plain[1], named[1])
    assert type(plain[2]) is core.state_class
    for a, b in zip(plain[2], named[2], strict=True):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize(("backend", "name"), CASES)
def test_bad_dout_is_refused_by_name(backend, name):
    core, cfg, params, x, _ = problem(backend, name)
    (hs, state), cache = core.sequence_forward(params, x, cfg)
    dstate_kind = f"dstate must be a {core.state_class.__name__}("
    cases = [
        ((hs[..., :2], None), ValueError, f"dhs must have shape ({B}, {T}, {H}), got ({B}, {T}, 2)"),
        ((hs[:, :2], None), ValueError, f"dhs must have shape ({B}, {T}, {H}), got ({B}, 2, {H})"),
        ((hs[0], None), ValueError, f"dhs must have shape ({B}, {T}, {H}), got ({T}, {H})"),
        ((with_nan(hs, np.nan), None), ValueError, "dhs must be finite, found nan at index (1, 2, 0)"),
        ((hs.astype(np.complex128), None), TypeError, "dhs must have a real floating dtype"),
        ((hs, state.h), TypeError, dstate_kind),
        ((hs, state._replace(h=state.h[:1])), ValueError, f"dstate.h must have shape ({B}, {H}), got (1, {H})"),
        (hs, TypeError, "dout must be a pair (dhs, dstate or None), got ndarray"),
        ((hs, None, None), TypeError, "dout must be a pair (dhs, dstate or None), got tuple of length 3"),
    ]
    for dout, error, message in cases:
        refused(lambda dout=dout: core.sequence_backward(dout, cache), error, message)


@pytest.mark.parametrize(("backend", "name"), CASES)
def test_a_cache_goes_back_to_its_own_core(backend, name):
    core, cfg, params, x, _ = problem(backend, name)
    (hs, _), cache = core.sequence_forward(params, x, cfg)
    where = f"cache must be what the {name!r} core's sequence_forward (backend {backend!r}) returned, got a"
    refused(lambda: core.sequence_backward((hs, None), tuple(cache)), TypeError,
            f"{where} tuple, not a cache from a checked sequence_forward")
    other = "numba" if backend == "numpy" else "numpy"
    if name in numba_backend.CORES:
        _, foreign = get_core(name, other).sequence_forward(params, x, cfg)
        refused(lambda: core.sequence_backward((hs, None), foreign), TypeError,
                f"one from the {name!r} core's sequence_forward (backend {other!r})")
    other_core, other_cfg, other_params, _, _ = problem(backend, "irnn" if name != "irnn" else "lstm")
    _, foreign = other_core.sequence_forward(other_params, x, other_cfg)
    refused(lambda: core.sequence_backward((hs, None), foreign), TypeError,
            f"one from the {other_core.name!r} core's sequence_forward (backend {backend!r})")


# -------------------------------------------------------------- one check, every backend
@pytest.mark.parametrize("name", numba_backend.CORES)
def test_every_backend_gives_the_same_message(name):
    """The same bad input gives the same error on numpy and numba, through get_core and
    through the Numba entry points called directly (they run the same checks when a shape
    does not fit their kernels)."""
    numpy_core, cfg, params, x, state0 = problem("numpy", name)
    numba_core = get_core(name, "numba")
    raw_forward, _ = numba_backend.CORE_FUNCTIONS[name]
    bad = [
        (params, x[..., :2], None),
        (params, x[:, :0], None),
        (dict(params, W=params["W"][:1]), x, None),
        ({k: v for k, v in params.items() if k != "b"}, x, None),
        (params, x, state0._replace(h=state0.h[:1])),
    ]
    for args in bad:
        messages = set()
        for forward in (numpy_core.sequence_forward, numba_core.sequence_forward, raw_forward):
            with pytest.raises(ValueError) as info:
                forward(*args[:2], cfg, args[2])
            messages.add(str(info.value))
        assert len(messages) == 1, messages


def test_the_package_level_functions_are_checked_and_the_reference_is_not():
    core, cfg, params, x, _ = problem("numpy", "fw")
    nan_x = with_nan(x, np.nan)
    refused(lambda: fastweights_np.sequence_forward(params, nan_x, cfg), ValueError, "x must be finite")
    refused(lambda: fastweights_np.sequence_forward(params, x.astype(int), cfg), TypeError, "got int64")
    (hs, state), cache = fastweights_np.sequence_forward(params, x, cfg)
    refused(lambda: fastweights_np.sequence_backward((hs[:, :1], None), cache), ValueError, "dhs must have shape")
    _, dx, _ = fastweights_np.sequence_backward((hs, tuple(state)), cache)  # the docstring's (dh_T, dA_T)
    assert dx.shape == x.shape
    for function in (fastweights_np.sequence_forward, fastweights_np.sequence_backward):
        assert "Checked (" in function.__doc__
    # the reference, pure math, checks nothing: a ReLU maps NaN to 0
    (raw_hs, _), _ = fast_weights.sequence_forward(params, nan_x, cfg)
    assert fast_weights.sequence_forward is not fastweights_np.sequence_forward
    assert raw_hs.shape == hs.shape


# ------------------------------------------------------------ backends that cannot run
@pytest.mark.skipif(cupy_status()[0], reason="CuPy is usable here; this checks the error where it is not")
def test_cupy_without_cupy_raises_at_get_core():
    with pytest.raises(BackendUnavailableError, match=r"backend='cupy' cannot run here: .*CuPy"):
        get_core("fw", "cupy")
    with pytest.raises(ValueError, match=r"backend 'cupy' has the cores \('fw',\), not 'lstm'"):
        get_core("lstm", "cupy")


def test_a_backend_that_cannot_be_imported_raises_at_get_core(monkeypatch):
    monkeypatch.setitem(BACKEND_MODULES, "numba", "a_package_that_is_not_installed")
    with pytest.raises(BackendUnavailableError, match="backend='numba' cannot run here: No module named"):
        get_core("fw", "numba")


# ------------------------------------------------------------------------ gradcheck
@pytest.mark.parametrize(
    ("model", "option"),
    [("lstm", ["--decay", "0.5"]), ("irnn", ["--fast-lr", "0.5"]), ("alstm", ["--inner-steps", "1"]),
     ("lstm", ["--form", "matrix"]), ("irnn", ["--timing", "lagged"]), ("lstm", ["--ln-preliminary"]),
     ("lstm", ["--decay", "0.95"])],  # the default value, given: refused too
)
def test_gradcheck_refuses_fast_weights_options_for_a_baseline(capsys, model, option):
    code = main(["gradcheck", "--model", model, *option])
    err = capsys.readouterr().err
    assert code == 2
    assert f"fastweights-np gradcheck: error: {option[0]} applies to the fw core only, not to {model}" in err


def test_gradcheck_takes_the_fast_weights_options_for_fw_and_none_for_a_baseline(capsys):
    assert main(["gradcheck", "--steps", "2", "--batch", "1", "--hidden", "3", "--form", "matrix",
                 "--mode", "direction", "--decay", "0.5"]) == 0
    out = capsys.readouterr().out
    assert "form=matrix" in out and "decay=0.5 fast_lr=0.5" in out and "S=1" in out  # given, and defaults
    assert main(["gradcheck", "--model", "irnn", "--steps", "2", "--batch", "1", "--hidden", "3",
                 "--no-layer-norm", "--mode", "direction"]) == 0
